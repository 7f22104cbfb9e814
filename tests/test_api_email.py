"""The JSON email verification and email change (``securetokens_api:email_*``)."""

from __future__ import annotations

import pytest
from django.core import mail
from django.middleware.csrf import _get_new_csrf_string, _mask_cipher_secret

from django_securetokens.models import SecureToken

from .api_support import APIClient, answer, assert_no_store, post
from .conftest import mailed_code_and_link
from .factories import UserFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("mail_now", "fresh_cache", "frozen_clock"),
]

INVALID = {"code": "invalid_token", "detail": "This link or code is invalid or has expired."}
PASSWORD = "correct horse battery staple"


@pytest.fixture
def member():
    return UserFactory(email="member@example.com")


@pytest.fixture
def api(member):
    client = APIClient()
    client.force_login(member)  # a browser session: DRF's SessionAuthentication
    return client


def token_of(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]


# --- email verification ---------------------------------------------------------------


def test_request_mails_a_code_and_a_link_to_the_accounts_address(api):
    response = post(api, "email_verification", {})
    assert response.status_code == 202
    assert_no_store(response)
    assert [m.to for m in mail.outbox] == [["member@example.com"]]
    code, link = mailed_code_and_link(mail.outbox[0])
    assert code and link


def test_a_suppressed_resend_answers_the_same(api):
    first = answer(post(api, "email_verification", {}))
    assert answer(post(api, "email_verification", {})) == first
    assert len(mail.outbox) == 1


def test_signed_out_request_is_refused(member):
    response = post(APIClient(), "email_verification", {})
    assert response.status_code == 403
    assert_no_store(response)
    assert mail.outbox == []


def test_an_account_without_an_address_gets_a_400(member, api):
    member.email = ""
    member.save()
    response = post(api, "email_verification", {})
    assert response.status_code == 400
    assert list(response.json()) == ["non_field_errors"]


def test_confirm_by_code(api, member, verified_events):
    post(api, "email_verification", {})
    code, _ = mailed_code_and_link(mail.outbox[0])
    response = post(api, "email_verification_confirm", {"code": code})
    assert response.status_code == 200
    assert response.json()["email"] == "member@example.com"
    assert [(e["user"], e["email"]) for e in verified_events] == [(member, "member@example.com")]
    # The link of the same mail is revoked with it.
    assert not SecureToken.objects.live().filter(purpose="email_verification").exists()


def test_confirm_by_token_needs_no_session(api, member, verified_events):
    post(api, "email_verification", {})
    _, link = mailed_code_and_link(mail.outbox[0])
    response = post(APIClient(), "email_verification_confirm", {"token": token_of(link)})
    assert response.status_code == 200
    assert response.json()["email"] == "member@example.com"
    assert len(verified_events) == 1


def test_a_code_needs_the_session_it_was_mailed_for(api):
    post(api, "email_verification", {})
    code, _ = mailed_code_and_link(mail.outbox[0])
    assert post(APIClient(), "email_verification_confirm", {"code": code}).status_code == 403
    other = APIClient()
    other.force_login(UserFactory())
    assert post(other, "email_verification_confirm", {"code": code}).json() == INVALID


@pytest.mark.parametrize("body", [{"code": "000000"}, {"token": "x" * 50}, {"code": "١٢٣٤٥٦"}])
def test_wrong_secrets_are_one_invalid_token(api, body, verified_events):
    post(api, "email_verification", {})
    response = post(api, "email_verification_confirm", body)
    assert (response.status_code, response.json()) == (400, INVALID)
    assert verified_events == []


@pytest.mark.parametrize("body", [{}, {"code": "1", "token": "x"}])
def test_confirm_takes_one_proof(api, body):
    response = post(api, "email_verification_confirm", body)
    assert response.status_code == 400
    assert "non_field_errors" in response.json()


def test_code_submissions_are_limited_per_client(api, settings):
    settings.SECURETOKENS = {
        **settings.SECURETOKENS,
        "EMAIL_VERIFICATION_CODE_RATE_PER_IP": [(1, 60)],
    }
    post(api, "email_verification_confirm", {"code": "000000"})
    response = post(api, "email_verification_confirm", {"code": "000000"})
    assert response.status_code == 429
    assert response["Retry-After"] == "60"


# --- CSRF for session-authenticated clients ---------------------------------------------


def test_csrf_is_enforced_for_session_clients(member):
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(member)
    refused = post(browser, "email_verification", {})
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    assert mail.outbox == []
    secret = _get_new_csrf_string()
    browser.cookies["csrftoken"] = secret
    masked = _mask_cipher_secret(secret)
    accepted = post(browser, "email_verification", {}, HTTP_X_CSRFTOKEN=masked)
    assert accepted.status_code == 202


# --- email change ------------------------------------------------------------------------


def test_change_by_code(api, member, verified_events):
    response = post(api, "email_change", {"email": "new@example.com", "password": PASSWORD})
    assert response.status_code == 202
    assert [m.to for m in mail.outbox] == [["new@example.com"]]
    member.refresh_from_db()
    assert member.email == "member@example.com"  # nothing changes yet
    code, _ = mailed_code_and_link(mail.outbox[0])
    response = post(api, "email_change_confirm", {"email": "new@example.com", "code": code})
    assert response.status_code == 200
    assert response.json()["email"] == "new@example.com"
    member.refresh_from_db()
    assert member.email == "new@example.com"
    assert mail.outbox[-1].to == ["member@example.com"]  # the old address is told


def test_change_by_token_only_for_the_owner(api, member):
    post(api, "email_change", {"email": "new@example.com", "password": PASSWORD})
    _, link = mailed_code_and_link(mail.outbox[0])
    intruder = APIClient()
    intruder.force_login(UserFactory())
    assert post(intruder, "email_change_confirm", {"token": token_of(link)}).json() == INVALID
    assert post(APIClient(), "email_change_confirm", {"token": token_of(link)}).status_code == 403
    assert post(api, "email_change_confirm", {"token": token_of(link)}).status_code == 200
    member.refresh_from_db()
    assert member.email == "new@example.com"


def test_a_taken_address_gets_the_same_answer(api):
    UserFactory(email="taken@example.com")
    free = answer(post(api, "email_change", {"email": "free@example.com", "password": PASSWORD}))
    taken = answer(post(api, "email_change", {"email": "taken@example.com", "password": PASSWORD}))
    assert taken == free


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "new@example.com", "password": "wrong"}, "password"),
        ({"email": "MEMBER@example.com", "password": PASSWORD}, "email"),
        # A lone surrogate, which only a raw JSON body can carry.
        ('{"email": "new@example.com", "password": "\\ud800"}', "password"),
    ],
)
def test_wrong_password_or_same_address_is_a_field_error(api, member, body, field):
    response = post(api, "email_change", body)
    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert mail.outbox == []


def test_change_confirm_with_a_wrong_code(api):
    post(api, "email_change", {"email": "new@example.com", "password": PASSWORD})
    body = {"email": "new@example.com", "code": "000000"}
    assert post(api, "email_change_confirm", body).json() == INVALID
