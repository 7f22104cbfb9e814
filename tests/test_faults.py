"""Fault injection: the cache (Redis) stopping, the mail server failing or hanging, the
database failing between consuming a token and saving the password, and SECRET_KEY rotation.

What each fault must not do: answer with a traceback or an HTTP 500 where a clean answer is
possible, leave a change half-applied, or weaken a limit that keeps a secret unguessable.
The cache policy tested here (fail open or closed per limit) is documented in
``django_securetokens.ratelimit`` and in docs/topics/threat_model.rst.
"""

from __future__ import annotations

import logging

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import DatabaseError
from django.test import Client, override_settings
from django.urls import reverse

from django_securetokens import tasks
from django_securetokens.conf import current_key
from django_securetokens.exceptions import TokenError
from django_securetokens.models import APIKey, SecureToken

from .conftest import flip_last, mailed_code_and_link, use_mail_backend
from .factories import UserFactory
from .faults import HangingBackend

pytestmark = pytest.mark.django_db

RESET = reverse("securetokens:password_reset")
SENT = reverse("securetokens:password_reset_sent")
SET = reverse("securetokens:password_reset_set")
START = reverse("securetokens:email_verification")
CODE = reverse("securetokens:email_verification_code")
WHOAMI = reverse("whoami")
OLD_PASSWORD = "correct horse battery staple"


def stop_cache(settings):
    """Point every cache alias at :class:`tests.faults.DownCache`, as if Redis had died."""
    settings.CACHES = {alias: {"BACKEND": "tests.faults.DownCache"} for alias in settings.CACHES}


def cache_warnings(caplog):
    return [r.getMessage() for r in caplog.records if "Rate-limit cache unavailable" in r.msg]


# --- the cache stops mid-run -------------------------------------------------------------


@pytest.mark.usefixtures("mail_now")
def test_cache_down_reset_request_answers_identically_and_fails_closed_on_mail(
    client, settings, caplog
):
    """Per-IP limit: open (availability). Per-address mail limit: closed (no inbox
    flooding), which R-35 makes invisible: the answer is the usual redirect."""
    UserFactory(email="user@example.com")
    stop_cache(settings)
    caplog.set_level(logging.WARNING, logger="django_securetokens")

    known = client.post(RESET, {"email": "user@example.com"})
    unknown = client.post(RESET, {"email": "nobody@example.com"})

    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"] == SENT
    assert mail.outbox == [] and not SecureToken.objects.exists()
    warnings = cache_warnings(caplog)
    assert (
        "Rate-limit cache unavailable for password_reset_ip (ConnectionError); failing open"
        in warnings
    )
    assert (
        "Rate-limit cache unavailable for password_reset_email (ConnectionError); failing closed"
        in warnings
    )


@pytest.mark.usefixtures("mail_now")
def test_cache_down_an_emailed_link_still_opens(client, settings):
    UserFactory(email="user@example.com")
    client.post(RESET, {"email": "user@example.com"})
    [message] = mail.outbox
    path = message.body.split("https://testserver.example", 1)[1].split()[0]
    stop_cache(settings)

    response = client.get(path)

    assert response.status_code == 302 and response["Location"] == SET
    assert client.get(SET).status_code == 200


@pytest.mark.usefixtures("mail_now")
def test_cache_down_code_guessing_is_still_capped_by_the_database(client, settings, user):
    """The per-IP code limit fails open, but the per-code attempt limit (R-32) is a database
    counter, so a brute-force run against a code still stops after 5 wrong guesses."""
    client.force_login(user)
    client.post(START)
    code, _ = mailed_code_and_link(mail.outbox[-1])
    stop_cache(settings)

    wrong = f"{(int(code) + 1) % 10**6:06d}"
    statuses = [client.post(CODE, {"code": wrong}).status_code for _ in range(5)]
    last = client.post(CODE, {"code": code})

    assert all(status < 500 for status in statuses)
    assert last.status_code < 500 and last.status_code != 302  # the right code came too late
    user.refresh_from_db()
    token = SecureToken.objects.get(purpose="email_verification", salt__isnull=False)
    assert token.used_at is None


def test_cache_down_api_keys_still_authenticate_and_refuse(client, settings, api_key):
    _, secret = api_key
    stop_cache(settings)

    ok = client.get(WHOAMI, HTTP_AUTHORIZATION=f"Bearer {secret}")
    bad = client.get(WHOAMI, HTTP_AUTHORIZATION=f"Bearer {flip_last(secret)}")

    assert ok.status_code == 200 and ok.json()["user"]
    assert bad.status_code == 401


# --- the mail server fails or hangs -------------------------------------------------------


@pytest.mark.usefixtures("mail_now", "fresh_cache")
def test_mail_backend_raising_changes_nothing_in_the_answer(client, settings, caplog):
    UserFactory(email="user@example.com")
    use_mail_backend(settings, "tests.mailbackends.FailingBackend")

    failing = client.post(RESET, {"email": "user@example.com"})
    unknown = client.post(RESET, {"email": "nobody@example.com"})

    assert failing.status_code == unknown.status_code == 302
    assert failing["Location"] == unknown["Location"] == SENT


@pytest.mark.usefixtures("fresh_cache")
@pytest.mark.django_db(transaction=True)
def test_hanging_mail_backend_does_not_block_the_request(settings):
    """The default sender runs mail jobs in a background thread, so a mail server that never
    answers costs the response nothing."""
    settings.SECURETOKENS = {
        **settings.SECURETOKENS,
        "EMAIL_SENDER": tasks.name_of(tasks.run_in_thread),
    }
    use_mail_backend(settings, "tests.faults.HangingBackend")
    UserFactory(email="hang@example.com")
    HangingBackend.release.clear()
    try:
        response = Client().post(RESET, {"email": "hang@example.com"})
        # The response is here while the mail server still holds the message: nothing has
        # been sent and the job has not finished. Were the mail sent in the request, the
        # response would only come back once the server let go (and the job would be done).
        assert response.status_code == 302
        assert mail.outbox == []
        assert not tasks.join(timeout=0.2)
    finally:
        HangingBackend.release.set()
    assert tasks.join(timeout=30)
    assert [m.to for m in mail.outbox] == [["hang@example.com"]]


# --- the database fails between consume and the password change (R-19) --------------------


@pytest.mark.usefixtures("mail_now", "fresh_cache")
def test_database_failure_while_saving_the_password_applies_nothing(settings, monkeypatch):
    """The token is consumed and the password saved in one transaction; when the save fails
    the whole transaction rolls back. The answer is Django's generic 500 page (no traceback,
    no secret), and the same link then works."""
    user = UserFactory(email="user@example.com")
    client = Client(raise_request_exception=False)
    client.post(RESET, {"email": "user@example.com"})
    path = mail.outbox[-1].body.split("https://testserver.example", 1)[1].split()[0]
    secret = path.rstrip("/").rsplit("/", 1)[1]
    client.get(path)

    def broken_save(self, *args, **kwargs):
        raise DatabaseError("could not write: disk full")

    monkeypatch.setattr(get_user_model(), "save", broken_save)
    response = client.post(
        SET, {"new_password1": "new passphrase 42!", "new_password2": "new passphrase 42!"}
    )
    monkeypatch.undo()

    assert response.status_code == 500
    assert secret.encode() not in response.content and b"Traceback" not in response.content
    assert SecureToken.objects.get(purpose="password_reset").used_at is None
    user.refresh_from_db()
    assert user.check_password(OLD_PASSWORD)
    ok = client.post(
        SET, {"new_password1": "new passphrase 42!", "new_password2": "new passphrase 42!"}
    )
    assert ok.status_code == 302
    user.refresh_from_db()
    assert user.check_password("new passphrase 42!")


# --- SECRET_KEY rotation (R-61, R-62) -----------------------------------------------------

NEW_KEY = "a-rotated-secret-key-for-the-fault-tests-0123456789-abcdefghijklmnop"
ROTATED = 20


def _issue_many():
    users = [UserFactory() for _ in range(ROTATED)]
    links = [SecureToken.objects.issue(u, purpose="password_reset")[1] for u in users]
    codes = [
        (u, SecureToken.objects.issue_code(user=u, purpose="email_verification")[1]) for u in users
    ]
    return links, codes


def _share_verified(links, codes):
    ok = 0
    for secret in links:
        try:
            SecureToken.objects.verify(secret, purpose="password_reset")
            ok += 1
        except TokenError:
            pass
    for user, code in codes:
        try:
            SecureToken.objects.verify_code(code, purpose="email_verification", user=user)
            ok += 1
        except TokenError:
            pass
    return ok / (len(links) + len(codes))


def test_secret_key_rotated_with_fallback_verifies_everything(settings):
    links, codes = _issue_many()
    with override_settings(SECRET_KEY=NEW_KEY, SECRET_KEY_FALLBACKS=[settings.SECRET_KEY]):
        assert _share_verified(links, codes) == 1.0


def test_secret_key_rotated_without_fallback_verifies_nothing():
    links, codes = _issue_many()
    with override_settings(SECRET_KEY=NEW_KEY, SECRET_KEY_FALLBACKS=[]):
        assert _share_verified(links, codes) == 0.0


def test_api_keys_are_rehashed_on_use_after_rotation(settings, user):
    keys = [APIKey.objects.issue(name=f"k{i}", user=user) for i in range(5)]
    with override_settings(SECRET_KEY=NEW_KEY, SECRET_KEY_FALLBACKS=[settings.SECRET_KEY]):
        for _, secret in keys[:3]:
            APIKey.objects.authenticate(secret)
        current = current_key("api_key")[0]
        assert {k.pk for k in APIKey.objects.on_old_keys()} == {k.pk for k, _ in keys[3:]}
        assert all(APIKey.objects.get(pk=k.pk).key_id == current for k, _ in keys[:3])
    with override_settings(SECRET_KEY=NEW_KEY, SECRET_KEY_FALLBACKS=[]):
        for _, secret in keys[:3]:
            APIKey.objects.authenticate(secret)
        for _, secret in keys[3:]:
            with pytest.raises(TokenError):
                APIKey.objects.authenticate(secret)
