"""Changing the account's address: re-authenticate, prove the new address, tell the old one."""

from __future__ import annotations

import re
import time

import pytest
from django.contrib.auth.forms import PasswordResetForm
from django.core import mail
from django.test import Client
from django.urls import reverse

from django_securetokens.models import SecureToken
from django_securetokens.sessions import VERIFICATION_SESSION_KEY as SESSION_KEY
from django_securetokens.views.email_change import EmailChangeConfirmView

from .conftest import mailed_code_and_link, use_fresh_cache
from .factories import UserFactory

# The clock stands still so that no rate-limit window can roll over in the middle of a
# test that counts up to a limit.
pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("mail_now", "fresh_cache", "frozen_clock"),
]

CHANGE = reverse("securetokens:email_change")
CODE = reverse("securetokens:email_verification_code")
PASSWORD = "correct horse battery staple"  # the factory's
NEW = "fresh@example.net"
TOKEN_LIKE = re.compile(r"[A-Za-z0-9_-]{20,}")


@pytest.fixture
def signed_in(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def requested(signed_in, user):
    """The user asked to move to NEW: ``(client, code, link)``."""
    response = signed_in.post(CHANGE, {"email": NEW, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == CODE
    return (signed_in, *mailed_code_and_link(mail.outbox[-1]))


def reload(user):
    return type(user).objects.get(pk=user.pk)


def test_needs_a_signed_in_user(client):
    response = client.get(CHANGE)

    assert response.status_code == 302 and "login" in response["Location"]
    client.post(CHANGE, {"email": NEW, "password": PASSWORD})
    assert mail.outbox == []


def test_form_page_headers(signed_in):
    response = signed_in.get(CHANGE)

    assert response.status_code == 200
    assert b'name="password"' in response.content and b'name="email"' in response.content
    assert "no-store" in response["Cache-Control"]


@pytest.mark.parametrize("password", ["", "wrong password"])
def test_without_the_current_password_nothing_happens(signed_in, user, password):
    """R-30, T-30: an email change needs re-authentication."""
    response = signed_in.post(CHANGE, {"email": NEW, "password": password})

    assert response.status_code == 200
    assert mail.outbox == [] and not SecureToken.objects.exists()
    assert reload(user).email == user.email


def test_the_current_address_is_refused(signed_in, user):
    response = signed_in.post(CHANGE, {"email": user.email.upper(), "password": PASSWORD})

    assert response.status_code == 200
    assert b"already the email address" in response.content
    assert mail.outbox == []


def test_request_mails_the_new_address_and_changes_nothing(requested, user):
    client, _, _ = requested

    [message] = mail.outbox
    assert message.to == [NEW]
    assert reload(user).email == user.email
    token = SecureToken.objects.get(kind="link")
    assert (token.user, token.email, token.purpose) == (user, NEW, "email_change")
    assert client.session[SESSION_KEY] == {
        "purpose": "email_change",
        "email": NEW,
        "user": str(user.pk),
        "next": None,
        "asked": [int(time.time())],
        "issued": True,
    }


def test_pending_address_is_no_reset_destination(requested, user, mail_now):
    """R-30, T-30: the new address is stored only on the token until it is proven."""
    reset = reverse("securetokens:password_reset")
    mail.outbox.clear()

    Client().post(reset, {"email": NEW})
    Client().post(reset, {"email": user.email})

    assert [m.to for m in mail.outbox] == [[user.email]]
    assert list(PasswordResetForm().get_users(NEW)) == []


def test_code_changes_the_address_and_tells_the_old_one(
    requested, user, verified_events, django_capture_on_commit_callbacks
):
    client, code, _ = requested
    old = user.email
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(CODE, {"code": code})

    assert response.status_code == 302
    assert reload(user).email == NEW
    [event] = verified_events
    assert (event["user"], event["email"]) == (reload(user), NEW)
    [notice] = mail.outbox
    assert notice.to == [old]
    assert NEW in notice.body
    # R-29, T-29: no secret and no link in the notice.
    for part in (notice.subject, notice.body, notice.alternatives[0][0]):
        assert code not in part and "http" not in part
        assert not TOKEN_LIKE.search(part.replace(old, "").replace(NEW, ""))
    assert not SecureToken.objects.live().exists()  # the link from the mail is spent too


def test_change_revokes_tokens_bound_to_the_old_address(requested, user):
    """R-26, T-26: a reset link and a verification code issued before the change die."""
    client, code, _ = requested
    _, reset = SecureToken.objects.issue(user, purpose="password_reset")
    _, verify = SecureToken.objects.issue_code(user=user, email=user.email)

    client.post(CODE, {"code": code})

    with pytest.raises(Exception):  # noqa: B017, PT011 - any TokenError
        SecureToken.objects.verify(reset, "password_reset")
    with pytest.raises(Exception):  # noqa: B017, PT011
        SecureToken.objects.verify_code(verify, "email_verification", user=user)


def test_password_change_meanwhile_cancels_the_pending_change(requested, user):
    client, code, link = requested
    user.set_password("another password entirely")
    user.save()
    client.force_login(user)
    session = client.session
    session[SESSION_KEY] = {"purpose": "email_change", "email": NEW, "user": str(user.pk)}
    session.save()

    assert client.post(CODE, {"code": code}).status_code == 200
    assert client.post(link).status_code == 200
    assert reload(user).email != NEW


def test_link_needs_the_owner_signed_in(requested, user, verified_events):
    """R-30: whoever holds the link must also be signed in to the account."""
    _, _, link = requested
    anonymous = Client()

    response = anonymous.get(link)
    assert response.status_code == 200 and b"Sign in to the account" in response.content
    assert anonymous.post(link).status_code == 200
    someone_else = Client()
    someone_else.force_login(UserFactory())
    assert someone_else.post(link).status_code == 200
    assert reload(user).email == user.email and verified_events == []


def test_link_changes_the_address_for_the_owner(requested, user, verified_events):
    client, _, link = requested

    page = client.get(link)
    assert b'method="post"' in page.content
    assert page["Referrer-Policy"] == "same-origin"
    response = client.post(link)

    assert response.status_code == 302
    assert reload(user).email == NEW
    assert verified_events[0]["sender"] is EmailChangeConfirmView


def test_change_and_verification_links_are_not_interchangeable(requested, user):
    """R-04, T-04: the purpose is bound into each secret."""
    client, _, link = requested
    secret = link.rsplit("/", 2)[1]
    elsewhere = reverse("securetokens:email_verification_confirm", kwargs={"token": secret})

    assert b"Invalid or expired link" in client.post(elsewhere).content
    _, verify = SecureToken.objects.issue(user, purpose="email_verification", email=user.email)
    wrong_way = reverse("securetokens:email_change_confirm", kwargs={"token": verify})
    assert b"Invalid or expired link" in client.post(wrong_way).content
    assert reload(user).email == user.email


def test_a_second_request_supersedes_the_first(requested, user, settings):
    client, code, link = requested
    use_fresh_cache(settings)  # stands for the cooldown running out
    client.post(CHANGE, {"email": "other@example.org", "password": PASSWORD})

    assert client.post(link).status_code == 200
    assert reload(user).email == user.email
    new_code, _ = mailed_code_and_link(mail.outbox[-1])
    client.post(CODE, {"code": new_code})
    assert reload(user).email == "other@example.org"


def test_user_without_an_old_address_gets_the_change_without_a_notice(client):
    user = UserFactory(email="")
    client.force_login(user)
    client.post(CHANGE, {"email": NEW, "password": PASSWORD})
    code, _ = mailed_code_and_link(mail.outbox[-1])
    mail.outbox.clear()

    client.post(CODE, {"code": code})

    assert reload(user).email == NEW and mail.outbox == []
