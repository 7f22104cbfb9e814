"""R-77 and R-80: one mailbox, one budget; addresses the flows refuse are form errors.

Django's mail backend IDNA-encodes a domain when it sends, so ``owner@ｅxample.com``
(full-width letters) reaches ``owner@example.com``. Every spelling of one mailbox is now
counted, bound and mailed in one canonical form, and verification mail is limited per
session (or user) and per client as well, so no account is needed to be limited.
"""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client, override_settings
from django.urls import reverse

from django_securetokens.exceptions import InvalidToken
from django_securetokens.owners import canonical_email, mailbox, validate_mailbox
from django_securetokens.sessions import verified_email

from .conftest import mailed_code_and_link
from .factories import UserFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("mail_now", "fresh_cache", "frozen_clock"),
]

SIGNUP = reverse("signup")
CODE = reverse("securetokens:email_verification_code")
CHANGE = reverse("securetokens:email_change")
START = reverse("securetokens:email_verification")
PASSWORD = "correct horse battery staple"  # the factory's

#: Five spellings Django's EmailField accepts and its mail backend delivers to one mailbox.
SPELLINGS = [
    "owner@example.com",
    "Owner@Example.com",
    "owner@\uff45xample.com",  # a full-width e
    "OWNER@\uff25\uff38\uff21\uff2d\uff30\uff2c\uff25.com",  # full-width EXAMPLE
    "owner@exampl\uff45.COM",
]
#: Accepted by Django's EmailField, refused by the engine: a soft hyphen and a zero-width
#: joiner in the domain (R-80).
INVISIBLE = ["owner@ex\u00adample.com", "owner@exa\u200dmple.com"]


def visitor(number: int) -> Client:
    """A browser of its own, from an address of its own: only the per-address limit is
    shared between visitors."""
    return Client(REMOTE_ADDR=f"192.0.2.{number}")


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_every_spelling_has_one_canonical_form(spelling):
    assert canonical_email(spelling) == "owner@example.com"
    assert mailbox(spelling) == "owner@example.com"


def test_an_internationalised_domain_is_counted_as_sent():
    assert canonical_email("Owner@B\u00fccher.de") == "owner@xn--bcher-kva.de"


def test_a_domain_idna_cannot_encode_keeps_its_unicode_form():
    # An empty label: no backend can deliver there, so any stable key will do.
    assert canonical_email("owner@b\u00fccher..de") == "owner@b\u00fccher..de"


@pytest.mark.parametrize("address", INVISIBLE)
def test_the_validator_refuses_what_the_engine_refuses(address):
    with pytest.raises(InvalidToken):
        mailbox(address)
    with pytest.raises(ValidationError) as raised:
        validate_mailbox(address)
    assert raised.value.code == "invalid"
    validate_mailbox(SPELLINGS[3])


def test_five_spellings_of_one_mailbox_within_a_minute_send_one_mail():
    """The regression test of issue 13, item 1, through the documented sign-up recipe."""
    answers = [
        visitor(n).post(SIGNUP, {"email": spelling}) for n, spelling in enumerate(SPELLINGS)
    ]

    assert [m.to for m in mail.outbox] == [["owner@example.com"]]
    assert {(answer.status_code, answer["Location"]) for answer in answers} == {(302, CODE)}


def test_the_code_proves_the_canonical_address():
    browser = visitor(1)
    browser.post(SIGNUP, {"email": SPELLINGS[3]})
    code, _ = mailed_code_and_link(mail.outbox[0])

    response = browser.post(CODE, {"code": code})
    assert response.status_code == 302 and response["Location"] == reverse("signup_account")
    request = response.wsgi_request
    assert verified_email(request) == "owner@example.com"


@override_settings(
    SECURETOKENS={
        "EMAIL_SENDER": "tests.conftest.run_immediately",
        "EMAIL_VERIFICATION_RATE_PER_REQUESTER": ((2, 60),),
    }
)
def test_one_session_is_limited_whatever_the_addresses():
    browser = visitor(1)
    for n in range(5):
        assert browser.post(SIGNUP, {"email": f"person{n}@example.com"}).status_code == 302
    # The first request had no session yet (the per-client limit counts it); the session
    # the pending verification created then allows two.
    assert [m.to for m in mail.outbox] == [[f"person{n}@example.com"] for n in range(3)]


@override_settings(
    SECURETOKENS={
        "EMAIL_SENDER": "tests.conftest.run_immediately",
        "EMAIL_VERIFICATION_RATE_PER_IP": ((2, 60),),
    }
)
def test_one_client_is_limited_even_without_cookies():
    for n in range(4):
        # A new Client each time: no session cookie is kept, but the address is the same.
        visitor(7).post(SIGNUP, {"email": f"person{n}@example.com"})
    assert len(mail.outbox) == 2


@override_settings(
    SECURETOKENS={
        "EMAIL_SENDER": "tests.conftest.run_immediately",
        "EMAIL_VERIFICATION_RATE_PER_REQUESTER": ((2, 60),),
    }
)
def test_one_account_is_limited_across_new_addresses(client, user):
    client.force_login(user)
    for n in range(4):
        client.post(CHANGE, {"email": f"moved{n}@example.com", "password": PASSWORD})
    assert len(mail.outbox) == 2


@pytest.mark.parametrize("address", INVISIBLE)
def test_signup_refuses_an_address_the_flows_cannot_mail(client, address):
    response = client.post(SIGNUP, {"email": address})
    assert response.status_code == 200
    assert b"Enter a valid email address." in response.content
    assert mail.outbox == []


@pytest.mark.parametrize("address", INVISIBLE)
def test_email_change_page_refuses_it_with_a_form_error(client, user, address):
    client.force_login(user)
    response = client.post(CHANGE, {"email": address, "password": PASSWORD})
    assert response.status_code == 200
    assert response.context["form"].errors["email"] == ["Enter a valid email address."]
    assert mail.outbox == []


@pytest.mark.parametrize("address", INVISIBLE)
def test_verification_page_with_such_a_stored_address_sends_nothing(client, address):
    """An address stored before the rule: no mail can be bound to it, and no 500."""
    client.force_login(UserFactory(email=address))
    response = client.post(START)
    assert response.status_code == 200
    assert mail.outbox == []


def test_another_spelling_of_the_current_address_is_the_current_address(client):
    client.force_login(UserFactory(email="owner@example.com"))
    response = client.post(CHANGE, {"email": SPELLINGS[2], "password": PASSWORD})
    assert response.context["form"].errors["email"] == [
        "This is already the email address of your account."
    ]
    assert mail.outbox == []
