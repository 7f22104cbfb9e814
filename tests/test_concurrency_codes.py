"""Racing guesses and confirmations in the email-verification flow (R-18, R-20, R-33).

``test_concurrency.py`` races the engine (exact attempt counts, the cap, single use); this
module races what the flow adds: the defaults end to end (T-20), address-bound codes, and
the HTTP views, whose one transaction must still let exactly one request win (T-18).
"""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client

from django_securetokens.exceptions import TooManyAttempts
from django_securetokens.models import SecureToken

from .conftest import mailed_code_and_link, server_database_only, slot_of
from .factories import UserFactory
from .test_concurrency import race

pytestmark = [
    pytest.mark.concurrency,
    server_database_only(),
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("mail_now", "fresh_cache"),
]

PURPOSE = "email_verification"


def wrong_codes(code, count):
    return [f"{(int(code) + i) % 10**6:06d}" for i in range(1, count + 1)]


def test_fifty_racing_wrong_guesses_then_the_right_code():
    """T-20 with the defaults: 5 attempts per code and a cap of 20 failures per owner."""
    user = UserFactory()
    token, code = SecureToken.objects.issue_code(user=user)
    guesses = wrong_codes(code, 50)

    outcomes = race(50, lambda i: SecureToken.objects.verify_code(guesses[i], PURPOSE, user=user))

    assert sorted(outcomes) == ["InvalidToken"] * 5 + ["TooManyAttempts"] * 45
    assert SecureToken.objects.get(pk=token.pk).attempts == 5
    slot = slot_of(user, PURPOSE)
    assert slot.failures == 20
    with pytest.raises(TooManyAttempts):
        SecureToken.objects.verify_code(code, PURPOSE, user=user)
    # a new code does not reset the cap; the link works, and its success does.
    _, code = SecureToken.objects.issue_code(user=user)
    with pytest.raises(TooManyAttempts):
        SecureToken.objects.verify_code(code, PURPOSE, user=user)
    _, secret = SecureToken.objects.issue(user, purpose=PURPOSE, email=user.email)
    SecureToken.objects.consume(secret, PURPOSE)
    _, code = SecureToken.objects.issue_code(user=user)
    assert SecureToken.objects.consume_code(code, PURPOSE, user=user)


def test_racing_guesses_on_an_address_bound_code():
    """Before sign-up the owner is the address; its counters are exact too."""
    token, code = SecureToken.objects.issue_code(email="racer@example.com")
    guesses = wrong_codes(code, 12)

    outcomes = race(
        12,
        lambda i: SecureToken.objects.verify_code(guesses[i], PURPOSE, email="racer@example.com"),
    )

    assert sorted(outcomes) == ["InvalidToken"] * 5 + ["TooManyAttempts"] * 7
    assert SecureToken.objects.get(pk=token.pk).attempts == 5
    assert slot_of("racer@example.com", PURPOSE).failures == 12


def started_client(user):
    """A signed-in client that asked for a verification mail, with its code and link."""
    client = Client()
    client.force_login(user)
    client.post("/accounts/email/verify/")
    return (client, *mailed_code_and_link(mail.outbox[-1]))


def test_racing_right_codes_on_the_code_page_verify_once(verified_events):
    """T-18 for codes: one browser session, eight simultaneous submissions of the code."""
    user = UserFactory()
    client, code, _ = started_client(user)
    cookie = client.cookies["sessionid"].value

    def submit(i):
        browser = Client()
        browser.cookies["sessionid"] = cookie
        return browser.post("/accounts/email/verify/code/", {"code": code}).status_code

    outcomes = race(8, submit)

    assert sorted(outcomes) == [200] * 7 + [302]
    assert [event["email"] for event in verified_events] == [user.email]


def test_racing_link_confirmations_verify_once(verified_events):
    """T-18 for links: one success and one signal, whatever the interleaving."""
    user = UserFactory()
    _, _, link = started_client(user)

    outcomes = race(8, lambda i: Client().post(link).status_code)

    assert sorted(outcomes) == [200] * 7 + [302]
    assert [event["email"] for event in verified_events] == [user.email]
    assert not SecureToken.objects.live().filter(user=user).exists()
