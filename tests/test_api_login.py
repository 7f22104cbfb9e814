"""Passwordless sign-in over JSON (issue 14): ``login`` and ``login_confirm``, the session
signed in, ``LOGIN_RESPONSE``, one error for every failure, and bad input never a 500."""

from __future__ import annotations

import pytest
from django.contrib.auth import SESSION_KEY, user_login_failed
from django.core import mail
from django.urls import reverse
from rest_framework.test import APIClient

from django_securetokens.flows import login as flow

from .factories import UserFactory
from .login_support import code_and_token, login_on, wrong  # noqa: F401 - fixture

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("login_on", "frozen_clock")]

LOGIN = reverse("securetokens_api:login")
CONFIRM = reverse("securetokens_api:login_confirm")


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def alice(db):
    return UserFactory(username="alice", email="alice@example.com")


def mailed(api, email="alice@example.com"):
    response = api.post(LOGIN, {"email": email}, format="json")
    assert response.status_code == 202
    return code_and_token(mail.outbox[-1])


@pytest.mark.parametrize("url", [LOGIN, CONFIRM])
def test_404_while_off(api, settings, url):
    settings.SECURETOKENS = {**settings.SECURETOKENS, "PASSWORDLESS_LOGIN": False}
    response = api.post(url, {"email": "alice@example.com"}, format="json")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"


def test_the_same_answer_for_every_address_and_mail_only_for_an_account(api, alice):
    known = api.post(LOGIN, {"email": "alice@example.com"}, format="json")
    unknown = APIClient().post(LOGIN, {"email": "nobody@example.com"}, format="json")
    assert (known.status_code, known.content) == (unknown.status_code, unknown.content)
    assert known.status_code == 202
    assert "no-store" in known["Cache-Control"]
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]


def test_confirm_by_token_signs_the_session_in(api, alice):
    _, token = mailed(api)
    response = api.post(CONFIRM, {"token": token}, format="json")
    assert response.status_code == 200
    assert set(response.json()) == {"detail"}
    assert api.session[SESSION_KEY] == str(alice.pk)
    again = APIClient().post(CONFIRM, {"token": token}, format="json")
    assert (again.status_code, again.json()["code"]) == (400, "invalid_token")


def test_confirm_by_code_with_login_response(api, alice, settings):
    settings.SECURETOKENS = {
        **settings.SECURETOKENS,
        "LOGIN_RESPONSE": "tests.login_support.project_token",
    }
    code, _ = mailed(api)
    response = api.post(CONFIRM, {"email": "alice@example.com", "code": code}, format="json")
    assert response.status_code == 200
    assert response.json()["token"] == f"project-token-for-{alice.pk}"
    assert response.json()["path"] == CONFIRM  # the hook gets the request
    assert api.session[SESSION_KEY] == str(alice.pk)


def test_a_wrong_code_is_invalid_token_and_user_login_failed(api, alice):
    failures = []

    def failed(sender, credentials, request, **kwargs):
        failures.append((credentials, request.path))

    code, _ = mailed(api)
    user_login_failed.connect(failed)
    try:
        response = api.post(
            CONFIRM, {"email": "alice@example.com", "code": wrong(code)}, format="json"
        )
    finally:
        user_login_failed.disconnect(failed)
    assert (response.status_code, response.json()["code"]) == (400, "invalid_token")
    assert failures == [({"username": "alice@example.com"}, CONFIRM)]
    assert SESSION_KEY not in api.session


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"token": "x", "code": "1"},
        {"email": "alice@example.com"},
        {"email": 7, "code": "123456"},
        {"email": "a" * 300 + "@example.com", "code": "123456"},
        {"email": "alice@example.com", "code": "12\x003456"},
        {"email": "alice@example.com", "code": ["123456"]},
        {"token": "é" * 10_000},
        {"token": None},
        [],
    ],
)
def test_bad_input_is_a_4xx(api, alice, body):
    response = api.post(CONFIRM, body, format="json")
    assert 400 <= response.status_code < 500
    assert SESSION_KEY not in api.session


def test_a_lone_surrogate_is_a_4xx(api, alice):
    for field in ('"token"', '"email": "alice@example.com", "code"'):
        body = ("{" + field + ': "\\ud800"}').encode()
        response = api.post(CONFIRM, body, content_type="application/json")
        assert 400 <= response.status_code < 500
    body = b'{"email": "\\ud800@example.com"}'
    assert api.post(LOGIN, body, content_type="application/json").status_code == 400


@pytest.mark.parametrize("body", [{}, {"email": "not an address"}, {"email": ["a@b.c"]}])
def test_bad_login_input_is_a_400(api, body):
    assert api.post(LOGIN, body, format="json").status_code == 400
    assert mail.outbox == []


def test_csrf_is_enforced_for_a_signed_in_session(alice):
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(alice)
    response = browser.post(LOGIN, {"email": "alice@example.com"}, format="json")
    assert response.status_code == 403
    assert mail.outbox == []


def test_over_the_code_limit_answers_429(api, alice, settings):
    settings.SECURETOKENS = {**settings.SECURETOKENS, "LOGIN_CODE_RATE_PER_EMAIL": ((1, 60),)}
    code, _ = mailed(api)
    body = {"email": "alice@example.com", "code": wrong(code)}
    assert api.post(CONFIRM, body, format="json").status_code == 400
    response = APIClient().post(CONFIRM, {**body, "code": code}, format="json")
    assert response.status_code == 429  # per address, from another client
    assert "Retry-After" in response


def test_the_flow_refuses_a_malformed_address():
    for email in (None, "", "a\x00b@example.com", "x" * 255):
        with pytest.raises(flow.InvalidToken):
            flow.verify_code(email, "123456", client="test")
