"""The code page says when a code is used up and when a new one can be sent (issue 16).

Both messages are judged from what this browser session itself did, so they tell nobody
about another person's codes, requests or accounts.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from django_securetokens.models import SecureToken
from django_securetokens.resend import remember, seconds_to_wait

from .conftest import mailed_code_and_link
from .factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_cache", "mail_now")]

START = reverse("securetokens:email_verification")
CODE = reverse("securetokens:email_verification_code")
COMPLETE = reverse("securetokens:email_verification_complete")
SIGNUP = reverse("signup")
USED_UP = "This code is used up"
NOT_VALID = "This code is not valid"
WAIT = re.compile(r"A new code can be sent in (\d+) minutes?\.")


def wrong(code):
    return f"{(int(code) + 1) % 10**6:06d}"


def page(response, *hide):
    """The page's HTML without its CSRF token, the code typed and the given values, for
    comparing pages."""
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())
    html = re.sub(r'name="code" value="\d+"', "", html)
    for value in hide:
        html = html.replace(value, "ADDRESS")
    return html


def signed_up(email, ip="192.0.2.1"):
    """A browser at *ip* that started a sign-up for *email*: its verification is pending."""
    client = Client(REMOTE_ADDR=ip)
    assert client.post(SIGNUP, {"email": email})["Location"] == CODE
    return client


@pytest.fixture
def started(client, user, frozen_clock):
    # The limits count in fixed windows: start just after the hour turns, so the tests' five
    # minutes of requests all fall in one hour's window whatever the time of day.
    next_hour = timezone.now().replace(minute=0, second=1, microsecond=0) + timedelta(hours=1)
    frozen_clock.move_to(next_hour)
    client.force_login(user)
    client.post(START)
    return client, mailed_code_and_link(mail.outbox[-1])[0]


# --- a used-up code ----------------------------------------------------------------------


def test_the_right_code_after_too_many_wrong_ones_is_called_used_up(started, frozen_clock):
    client, code = started
    for _ in range(5):
        assert NOT_VALID in client.post(CODE, {"code": wrong(code)}).content.decode()

    html = client.post(CODE, {"code": code}).content.decode()

    assert USED_UP in html and NOT_VALID not in html
    assert 'name="resend"' in html  # and the way to a new code is right there
    frozen_clock.shift(61)
    client.post(START, {"resend": "1"})
    new_code, _ = mailed_code_and_link(mail.outbox[-1])
    assert client.post(CODE, {"code": new_code})["Location"] == COMPLETE


def test_used_up_reveals_nothing_about_another_persons_code(frozen_clock):
    """Someone else's live code for the address is used up by this browser's guesses; as
    this browser was never sent a code, it hears "not valid", exactly as for an address
    that has no code at all."""
    signed_up("victim@example.com")  # the victim's own browser gets the code
    [victim_mail] = mail.outbox
    victim_code, _ = mailed_code_and_link(victim_mail)
    attacker = signed_up("victim@example.com", "192.0.2.2")  # within the minute: no code
    nobody = signed_up("nobody@example.com", "192.0.2.3")
    SecureToken.objects.filter(email="nobody@example.com").delete()  # no code at all
    mail.outbox.clear()
    first = attacker.post(CODE, {"code": wrong(victim_code)})
    for _ in range(4):
        attacker.post(CODE, {"code": wrong(victim_code)})

    attacked = attacker.post(CODE, {"code": victim_code})
    unknown = nobody.post(CODE, {"code": victim_code})

    assert NOT_VALID in attacked.content.decode() and USED_UP not in attacked.content.decode()
    assert page(attacked) == page(first)
    assert page(attacked, "victim@example.com") == page(unknown, "nobody@example.com")
    assert mail.outbox == []


# --- a resend within the cooldown --------------------------------------------------------


def test_a_resend_within_the_minute_says_when_one_can_be_sent(started, frozen_clock):
    client, code = started

    response = client.post(START, {"resend": "1"}, follow=True)

    assert len(mail.outbox) == 1  # nothing sent, as before
    assert WAIT.search(response.content.decode()).group(1) == "1"
    frozen_clock.shift(61)
    assert not WAIT.search(client.get(CODE).content.decode())
    client.post(START, {"resend": "1"})
    assert len(mail.outbox) == 2


def test_after_five_mails_the_page_names_the_rest_of_the_hour(started, frozen_clock):
    client, _ = started
    for _ in range(4):
        frozen_clock.shift(61)
        client.post(START, {"resend": "1"})
    assert len(mail.outbox) == 5

    frozen_clock.shift(61)
    response = client.post(START, {"resend": "1"}, follow=True)

    # Every request counts, the refused sixth too, as it does for the limit itself: the
    # second one (at 61 s) must leave the hour, 3,661 - 305 s from now, rounded up.
    assert WAIT.search(response.content.decode()).group(1) == "56"
    assert len(mail.outbox) == 5


def test_the_wait_reveals_nothing_about_others_requests_or_accounts(frozen_clock):
    """Another browser asked for the address a moment ago, and an account has it: this
    browser's page is the same as for an address nobody asked for and nobody has."""
    UserFactory(email="taken@example.com")
    signed_up("taken@example.com")
    mail.outbox.clear()

    second = signed_up("taken@example.com")  # suppressed by the per-address limit
    fresh = signed_up("free@example.com")  # sent

    assert len(mail.outbox) == 1
    taken_page, free_page = second.get(CODE), fresh.get(CODE)
    assert page(taken_page, "taken@example.com") == page(free_page, "free@example.com")
    # Each shows only its own minute, whatever the real limit knows.
    assert WAIT.search(taken_page.content.decode()).group(1) == "1"


# --- the session's own history -----------------------------------------------------------


def test_remember_keeps_only_recent_numbers_from_the_session():
    rates = ((1, 60), (5, 3600))

    assert remember(None, 10_000, rates) == [10_000]
    assert remember("junk", 10_000, rates) == [10_000]
    assert remember([1, "x", None, 9_000.5, 9_999], 10_000, rates) == [9_000, 9_999, 10_000]
    assert remember([5], 10, None) == [10]


def test_seconds_to_wait_follows_every_pair():
    rates = ((1, 60), (5, 3600))

    assert seconds_to_wait(None, 100, rates) == 0
    assert seconds_to_wait([100], 100, None) == 0
    assert seconds_to_wait([100, "x"], 130, rates) == 30
    assert seconds_to_wait([100], 160, rates) == 0
    assert seconds_to_wait([0, 100, 200, 300, 400.5], 500, rates) == 3100
    assert seconds_to_wait([100], 100.5, ((0, 60),)) == 0  # a zero limit is no limit here
