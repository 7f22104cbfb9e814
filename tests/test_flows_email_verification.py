"""Email verification and email change as plain functions: request, verify, complete."""

from __future__ import annotations

import pytest
from django.core import mail

from django_securetokens.exceptions import InvalidToken, TokenError
from django_securetokens.flows import RateLimited, email_change, email_verification
from django_securetokens.models import SecureToken

from .conftest import mailed_code_and_link
from .factories import UserFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("mail_now", "fresh_cache", "frozen_clock"),
]

ORIGIN = "https://testserver.example"
CLIENT = "192.0.2.1"


def secret_of(path):
    return path.rstrip("/").rsplit("/", 1)[1]


@pytest.fixture
def alice(db):
    return UserFactory(username="alice", email="alice@example.com")


# --- email verification -------------------------------------------------------------------


def test_request_queues_one_mail_with_a_code_and_a_link(alice, settings):
    settings.SECURETOKENS = {**settings.SECURETOKENS, "EMAIL_SENDER": "tests.test_emails.record"}
    from .test_emails import recorded

    recorded.clear()
    assert (
        email_verification.request("alice@example.com", user=alice, origin=ORIGIN, client=CLIENT)
        is True
    )

    ((name, kwargs),) = recorded
    assert name == "django_securetokens.flows._proof.send_proof"
    assert not SecureToken.objects.exists()  # the job issues the secrets, not the request
    assert mail.outbox == []


def test_request_is_limited_per_address(alice):
    assert email_verification.request(
        "alice@example.com", user=alice, origin=ORIGIN, client=CLIENT
    )
    assert not email_verification.request("ALICE@example.com", origin=ORIGIN, client=CLIENT)
    assert len(mail.outbox) == 1


@pytest.mark.parametrize("bad", [None, "a" * 300, "x\x00@example.com", 3])
def test_request_refuses_what_no_address_can_be(bad):
    with pytest.raises(InvalidToken):
        email_verification.request(bad, origin=ORIGIN, client=CLIENT)


def test_code_then_complete_before_sign_up(verified_events):
    email_verification.request("new@example.com", origin=ORIGIN, client=CLIENT, next_url="/next/")
    code, link = mailed_code_and_link(mail.outbox[0])

    token = email_verification.verify_code(code, email="new@example.com", client=CLIENT)
    email_verification.complete(token, sender="tests", request=None)

    assert [(e["sender"], e["user"], e["email"]) for e in verified_events] == [
        ("tests", None, "new@example.com")
    ]
    # The link of the same mail died with it.
    with pytest.raises(TokenError):
        email_verification.verify(secret_of(link), client=CLIENT)


def test_link_then_complete_for_a_user_revokes_the_code(alice, verified_events):
    email_verification.request("alice@example.com", user=alice, origin=ORIGIN, client=CLIENT)
    code, link = mailed_code_and_link(mail.outbox[0])

    token = email_verification.verify(secret_of(link), client=CLIENT)
    assert token.data is None  # no next URL was given
    email_verification.complete(token)

    assert [e["user"] for e in verified_events] == [alice]
    with pytest.raises(TokenError):
        email_verification.verify_code(code, email="alice@example.com", user=alice, client=CLIENT)
    with pytest.raises(TokenError):  # used
        email_verification.complete(token)


def test_the_link_carries_next_and_may_point_at_a_front_end(settings):
    urls = {"email_verification": "https://app.example.com/verify/{token}"}
    settings.SECURETOKENS = {**settings.SECURETOKENS, "FRONTEND_URLS": urls}

    email_verification.request(
        "new@example.com", origin=ORIGIN, client=CLIENT, next_url="/welcome/"
    )

    body = mail.outbox[0].body
    secret = body.split("https://app.example.com/verify/", 1)[1].split()[0]
    assert email_verification.verify(secret, client=CLIENT).data == {"next": "/welcome/"}


def test_code_and_link_checks_are_limited_per_client(settings):
    settings.SECURETOKENS = {
        **settings.SECURETOKENS,
        "EMAIL_VERIFICATION_CODE_RATE_PER_IP": ((1, 60),),
        "EMAIL_VERIFICATION_CONFIRM_RATE_PER_IP": ((1, 60),),
    }
    with pytest.raises(TokenError):
        email_verification.verify_code("123456", email="a@example.com", client=CLIENT)
    with pytest.raises(RateLimited):
        email_verification.verify_code("123456", email="a@example.com", client=CLIENT)
    with pytest.raises(TokenError):
        email_verification.verify("x", client=CLIENT)
    with pytest.raises(RateLimited):
        email_verification.verify("x", client=CLIENT)


# --- email change -------------------------------------------------------------------------


def test_change_by_code_replaces_the_address_and_tells_the_old_one(alice, verified_events):
    assert email_change.request(alice, "moved@example.com", origin=ORIGIN, client=CLIENT)
    (message,) = mail.outbox
    assert message.to == ["moved@example.com"]
    code, _ = mailed_code_and_link(message)

    token = email_change.verify_code(code, email="moved@example.com", user=alice, client=CLIENT)
    email_change.complete(token, alice)

    alice.refresh_from_db()
    assert alice.email == "moved@example.com"
    assert mail.outbox[-1].to == ["alice@example.com"]
    assert "/confirm/" not in mail.outbox[-1].body
    assert [e["email"] for e in verified_events] == ["moved@example.com"]


def test_only_the_owner_completes_a_change(alice, verified_events):
    email_change.request(alice, "moved@example.com", origin=ORIGIN, client=CLIENT)
    _, link = mailed_code_and_link(mail.outbox[0])
    token = email_change.verify(secret_of(link), client=CLIENT)
    other = UserFactory()

    assert email_change.may_complete(token, alice)
    assert not email_change.may_complete(token, other)
    with pytest.raises(TokenError):
        email_change.complete(token, other)

    alice.refresh_from_db()
    assert alice.email == "alice@example.com" and verified_events == []


def test_a_verification_link_is_no_change_link(alice):
    email_verification.request("alice@example.com", user=alice, origin=ORIGIN, client=CLIENT)
    _, link = mailed_code_and_link(mail.outbox[0])

    with pytest.raises(TokenError):
        email_change.verify(secret_of(link), client=CLIENT)


def test_the_notice_job_skips_a_deleted_account(alice):
    pk = str(alice.pk)
    alice.delete()

    email_change.send_email_changed(user_pk=pk, old_email="alice@example.com")

    assert mail.outbox == []


def test_the_mail_job_skips_a_deleted_account(alice):
    from django_securetokens.flows._proof import send_proof

    pk = str(alice.pk)
    alice.delete()

    send_proof(
        purpose="email_verification",
        email="alice@example.com",
        user_pk=pk,
        origin=ORIGIN,
        next_url=None,
    )

    assert mail.outbox == [] and not SecureToken.objects.exists()
