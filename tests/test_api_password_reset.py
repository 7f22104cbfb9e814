"""The JSON password reset (``securetokens_api:password_reset*``) through DRF's APIClient."""

from __future__ import annotations

import logging

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.core import mail
from django.test import Client
from django.utils import translation

from django_securetokens import signals
from django_securetokens.models import SecureToken

from .api_support import NEW_PASSWORD, APIClient, answer, assert_no_store, post, reset_secret
from .conftest import cache_entries, flip_last
from .factories import UserFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("mail_now", "fresh_cache", "frozen_clock"),
]

INVALID = {"code": "invalid_token", "detail": "This link or code is invalid or has expired."}


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def victim():
    return UserFactory(email="victim@example.com")


def reset_link(api, email="victim@example.com") -> str:
    assert post(api, "password_reset", {"email": email}).status_code == 202
    return reset_secret(mail.outbox[-1])


def test_request_answers_202_and_mails_a_link(api, victim):
    response = post(api, "password_reset", {"email": "victim@example.com"})
    assert response.status_code == 202
    assert set(response.json()) == {"detail"}
    assert_no_store(response)
    assert [m.to for m in mail.outbox] == [["victim@example.com"]]


def test_every_address_gets_a_byte_identical_answer(api, victim, settings):
    UserFactory(email="inactive@example.com", is_active=False)
    UserFactory(email="nopassword@example.com", password=None)
    known = answer(post(api, "password_reset", {"email": "victim@example.com"}))
    for email in [
        "unknown@example.com",
        "inactive@example.com",
        "nopassword@example.com",
        "victim@example.com",  # now over the per-address limit
    ]:
        assert answer(post(api, "password_reset", {"email": email})) == known
    assert len(mail.outbox) == 1


def test_over_the_per_ip_limit_the_answer_is_the_same(api, victim, settings):
    settings.SECURETOKENS = {**settings.SECURETOKENS, "PASSWORD_RESET_RATE_PER_IP": [(1, 60)]}
    first = answer(post(api, "password_reset", {"email": "other@example.com"}))
    assert answer(post(api, "password_reset", {"email": "victim@example.com"})) == first
    assert mail.outbox == []


def test_the_request_makes_no_database_query(api, victim, settings, django_assert_num_queries):
    settings.SECURETOKENS = {
        **settings.SECURETOKENS,
        "EMAIL_SENDER": "django_securetokens.tasks.run_in_thread",
    }
    with django_assert_num_queries(0):
        assert post(api, "password_reset", {"email": "victim@example.com"}).status_code == 202


def test_link_verify_then_complete(api, victim):
    secret = reset_link(api)
    response = post(api, "password_reset_verify", {"token": secret})
    assert response.status_code == 200
    assert_no_store(response)
    assert SecureToken.objects.get(purpose="password_reset").used_at is None
    response = post(
        api, "password_reset_complete", {"token": secret, "new_password": NEW_PASSWORD}
    )
    assert response.status_code == 200
    victim.refresh_from_db()
    assert victim.check_password(NEW_PASSWORD)
    assert SecureToken.objects.get(purpose="password_reset").used_at is not None
    assert "_auth_user_id" not in api.session  # nobody is signed in
    assert post(api, "password_reset_verify", {"token": secret}).json() == INVALID
    assert mail.outbox[-1].to == ["victim@example.com"]  # "your password was changed"


def test_complete_ends_the_users_other_sessions(api, victim):
    browser = Client()
    browser.force_login(victim)
    secret = reset_link(api)
    post(api, "password_reset_complete", {"token": secret, "new_password": NEW_PASSWORD})
    assert browser.get("/admin/").status_code == 302  # signed out: sent to the login page


def test_code_verify_then_complete(api, victim, settings):
    settings.SECURETOKENS = {**settings.SECURETOKENS, "PASSWORD_RESET_METHOD": "code"}
    _, code = SecureToken.objects.issue_code(user=victim, purpose="password_reset")
    proof = {"email": "Victim@Example.com", "code": f"{code[:3]} {code[3:]}"}
    assert post(api, "password_reset_verify", proof).status_code == 200
    response = post(api, "password_reset_complete", {**proof, "new_password": NEW_PASSWORD})
    assert response.status_code == 200, response.content
    victim.refresh_from_db()
    assert victim.check_password(NEW_PASSWORD)


def test_a_code_for_another_address_is_refused(api, victim):
    UserFactory(email="other@example.com")
    _, code = SecureToken.objects.issue_code(user=victim, purpose="password_reset")
    proof = {"email": "other@example.com", "code": code}
    assert post(api, "password_reset_verify", proof).json() == INVALID


def test_wrong_codes_count_and_kill_the_code(api, victim):
    _, code = SecureToken.objects.issue_code(user=victim, purpose="password_reset")
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        response = post(api, "password_reset_verify", {"email": victim.email, "code": wrong})
        assert response.json() == INVALID
    assert post(api, "password_reset_verify", {"email": victim.email, "code": code}).json() == (
        INVALID
    )


def test_a_weak_password_is_a_field_error_and_spends_nothing(api, victim, settings):
    settings.AUTH_PASSWORD_VALIDATORS = [
        {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"}
    ]
    secret = reset_link(api)
    response = post(api, "password_reset_complete", {"token": secret, "new_password": "short"})
    assert response.status_code == 400
    assert list(response.json()) == ["new_password"]
    assert response.json()["new_password"]
    assert post(api, "password_reset_verify", {"token": secret}).status_code == 200
    victim.refresh_from_db()
    assert victim.check_password("correct horse battery staple")


@pytest.mark.parametrize("how", ["unknown", "tampered", "used", "expired", "revoked", "inactive"])
def test_every_dead_token_gets_one_identical_answer(api, victim, how, frozen_clock):
    secret = reset_link(api)
    token = SecureToken.objects.get(purpose="password_reset")
    if how == "unknown":
        secret = "x" * 43
    elif how == "tampered":
        secret = flip_last(secret)
    elif how == "used":
        SecureToken.objects.use(token)
    elif how == "expired":
        frozen_clock.shift(2 * 3600)
    elif how == "revoked":
        SecureToken.objects.revoke(token)
    else:
        get_user_model().objects.filter(pk=victim.pk).update(is_active=False)
    for name in ["password_reset_verify", "password_reset_complete"]:
        response = post(api, name, {"token": secret, "new_password": NEW_PASSWORD})
        assert (response.status_code, response.json()) == (400, INVALID)
        assert_no_store(response)
    victim.refresh_from_db()
    assert not victim.check_password(NEW_PASSWORD)


def test_over_the_link_limit_429_with_retry_after(api, settings):
    settings.SECURETOKENS = {
        **settings.SECURETOKENS,
        "PASSWORD_RESET_CONFIRM_RATE_PER_IP": [(2, 60)],
    }
    for _ in range(2):
        assert post(api, "password_reset_verify", {"token": "x"}).status_code == 400
    response = post(api, "password_reset_verify", {"token": "x"})
    assert response.status_code == 429
    assert response["Retry-After"] == "60"
    assert_no_store(response)


def test_over_the_code_limit_429(api, victim, settings):
    settings.SECURETOKENS = {**settings.SECURETOKENS, "PASSWORD_RESET_CODE_RATE_PER_IP": [(1, 60)]}
    proof = {"email": victim.email, "code": "123456"}
    assert post(api, "password_reset_verify", proof).status_code == 400
    response = post(api, "password_reset_complete", {**proof, "new_password": NEW_PASSWORD})
    assert response.status_code == 429
    assert int(response["Retry-After"]) == 60


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"email": "victim@example.com"},
        {"code": "123456"},
        {"token": "x", "code": "123456"},
        {"token": "x", "email": "victim@example.com", "code": "123456"},
    ],
)
def test_a_proof_is_a_token_or_an_address_and_a_code(api, body):
    response = post(api, "password_reset_verify", body)
    assert response.status_code == 400
    assert "non_field_errors" in response.json()


def test_losing_the_race_is_an_invalid_token(api, victim, monkeypatch):
    secret = reset_link(api)
    real_use = SecureToken.objects.use

    def used_meanwhile(token):
        real_use(token)  # another request got there first
        return real_use(token)

    monkeypatch.setattr(SecureToken.objects, "use", used_meanwhile)
    body = {"token": secret, "new_password": NEW_PASSWORD}
    assert post(api, "password_reset_complete", body).json() == INVALID
    victim.refresh_from_db()
    assert not victim.check_password(NEW_PASSWORD)


def test_completed_signal_names_the_api_view(api, victim):
    events = []

    def receiver(sender, **kwargs):
        events.append(sender)

    signals.password_reset_completed.connect(receiver)
    try:
        secret = reset_link(api)
        post(api, "password_reset_complete", {"token": secret, "new_password": NEW_PASSWORD})
    finally:
        signals.password_reset_completed.disconnect(receiver)
    assert [sender.__name__ for sender in events] == ["PasswordResetCompleteView"]


def test_only_post(api):
    response = api.get("/api/auth/password-reset/")
    assert response.status_code == 405
    assert_no_store(response)


def test_answers_are_translated(api, victim):
    with translation.override("fr"):
        accepted = post(api, "password_reset", {"email": "victim@example.com"})
        refused = post(api, "password_reset_verify", {"token": "x"})
    assert (
        accepted.json()["detail"]
        == "Si un compte a cette adresse, nous lui avons envoyé un message."
    )
    assert refused.json() == {
        "code": "invalid_token",  # the code stays as it is, for clients to test
        "detail": "Ce lien ou ce code n’est pas valide ou a expiré.",
    }


def test_no_secret_reaches_a_log_the_session_table_or_the_cache(api, victim, caplog):
    caplog.set_level(logging.DEBUG)
    secret = reset_link(api)
    _, code = SecureToken.objects.issue_code(user=victim, purpose="password_reset")
    post(api, "password_reset_verify", {"token": flip_last(secret)})
    post(api, "password_reset_verify", {"email": victim.email, "code": code})
    post(api, "password_reset_complete", {"token": secret, "new_password": NEW_PASSWORD})
    stored = [
        *(record.getMessage() for record in caplog.records),
        *(str(s.get_decoded()) for s in Session.objects.all()),
        *(repr(value) for _, value in cache_entries()),
    ]
    assert caplog.records  # the flow did log
    assert not [text for text in stored if secret in text or code in text]


def test_csrf_is_enforced_when_a_session_signs_the_client_in(victim):
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(UserFactory())
    secret = reset_link(APIClient())
    body = {"token": secret, "new_password": NEW_PASSWORD}
    response = post(browser, "password_reset_complete", body)
    assert response.status_code == 403
    assert_no_store(response)
    victim.refresh_from_db()
    assert not victim.check_password(NEW_PASSWORD)
