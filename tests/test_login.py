"""Passwordless sign-in on the HTML pages (issue 14, R-84): by code and by link, single use,
short-lived, superseded, dead once the account changes, capped, and off by default."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import SESSION_KEY, user_logged_in, user_login_failed
from django.core import mail
from django.test import Client
from django.urls import reverse

from django_securetokens.sessions import LOGIN_SESSION_KEY

from .factories import UserFactory
from .login_support import code_and_token, login_on, relax, wrong  # noqa: F401 - fixture

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("login_on", "frozen_clock")]

LOGIN = reverse("securetokens:login")
CODE = reverse("securetokens:login_code")
PROFILE = "/accounts/profile/"  # Django's default LOGIN_REDIRECT_URL


def confirm(token):
    return reverse("securetokens:login_confirm", kwargs={"token": token})


@pytest.fixture
def alice(db):
    return UserFactory(username="alice", email="alice@example.com")


@pytest.fixture
def events():
    seen = {"in": [], "failed": []}

    def logged_in(sender, user, **kwargs):
        seen["in"].append(user.pk)

    def failed(sender, credentials, **kwargs):
        seen["failed"].append(credentials)

    user_logged_in.connect(logged_in)
    user_login_failed.connect(failed)
    yield seen
    user_logged_in.disconnect(logged_in)
    user_login_failed.disconnect(failed)


def ask(client, email="alice@example.com", **extra):
    response = client.post(LOGIN, {"email": email, **extra})
    assert response.status_code == 302
    assert response["Location"] == CODE
    return response


def signed_in(client):
    return client.session.get(SESSION_KEY)


@pytest.mark.parametrize(
    "url", [LOGIN, CODE, reverse("securetokens:login_confirm", kwargs={"token": "x"})]
)
def test_every_page_is_404_while_the_feature_is_off(client, settings, url):
    settings.SECURETOKENS = {**settings.SECURETOKENS, "PASSWORDLESS_LOGIN": False}
    assert client.get(url).status_code == 404
    assert client.post(url).status_code == 404


def test_sign_in_by_code(client, alice, events):
    assert client.get(LOGIN).status_code == 200
    ask(client, next="/after/")
    (message,) = mail.outbox
    assert message.to == ["alice@example.com"]
    assert "testserver.example" in message.subject
    assert "15" in message.body and "did not ask" in message.body
    code, _ = code_and_token(message)
    before = client.session.session_key
    page = client.get(CODE)
    assert b"alice@example.com" in page.content
    response = client.post(CODE, {"code": code})
    assert response.status_code == 302
    assert response["Location"] == "/after/"
    assert signed_in(client) == str(alice.pk)
    assert client.session.session_key != before
    assert LOGIN_SESSION_KEY not in client.session
    assert events["in"] == [alice.pk]
    assert code not in str(dict(client.session))


def test_sign_in_by_link_get_consumes_nothing(client, alice, events):
    ask(client)
    _, token = code_and_token(mail.outbox[0])
    scanner = Client()
    for _ in range(3):  # a mail scanner following the link
        page = scanner.get(confirm(token))
        assert page.status_code == 200
        assert b"Sign in" in page.content
    assert signed_in(scanner) is None
    before = client.session.session_key
    response = client.post(confirm(token))
    assert response.status_code == 302
    assert response["Location"] == PROFILE
    assert signed_in(client) == str(alice.pk)
    assert client.session.session_key != before
    assert events["in"] == [alice.pk]


def test_a_link_or_code_works_once_and_spends_its_sibling(client, alice):
    ask(client, next="/after/")
    code, token = code_and_token(mail.outbox[0])
    assert client.post(confirm(token))["Location"] == "/after/"
    again = Client()
    assert b"Invalid or expired" in again.post(confirm(token)).content
    assert signed_in(again) is None
    ask(again)  # the code of the first mail died with its link
    relax_response = again.post(CODE, {"code": code})
    assert relax_response.status_code == 200
    assert signed_in(again) is None


def test_link_and_code_expire_after_fifteen_minutes(client, alice, frozen_clock):
    ask(client)
    code, token = code_and_token(mail.outbox[0])
    frozen_clock.shift(timedelta(minutes=15, seconds=1))
    assert b"Invalid or expired" in client.get(confirm(token)).content
    assert client.post(CODE, {"code": code}).status_code == 200
    assert signed_in(client) is None


def test_a_newer_mail_supersedes_the_older(client, alice, settings):
    relax(settings)
    ask(client)
    ask(client)
    (old_code, old_token), (new_code, new_token) = map(code_and_token, mail.outbox)
    assert b"Invalid or expired" in client.get(confirm(old_token)).content
    assert client.post(CODE, {"code": old_code}).status_code == 200
    assert signed_in(client) is None
    assert client.post(CODE, {"code": new_code}).status_code == 302
    assert signed_in(client) == str(alice.pk)


@pytest.mark.parametrize("change", ["deactivate", "address", "password"])
def test_the_secrets_die_when_the_account_changes(client, alice, change):
    ask(client)
    code, token = code_and_token(mail.outbox[0])
    if change == "deactivate":
        alice.is_active = False
    elif change == "address":
        alice.email = "alice@elsewhere.example"
    else:
        alice.set_password("another passphrase 99")
    alice.save()
    assert b"Invalid or expired" in client.get(confirm(token)).content
    assert b"Invalid or expired" in client.post(confirm(token)).content
    assert client.post(CODE, {"code": code}).status_code == 200
    assert signed_in(client) is None


def test_wrong_codes_exhaust_the_code_and_report_each_failure(client, alice, events):
    ask(client)
    code, _ = code_and_token(mail.outbox[0])
    for _ in range(5):  # CODE_MAX_ATTEMPTS
        response = client.post(CODE, {"code": wrong(code)})
        assert b"This code is not valid" in response.content
    assert client.post(CODE, {"code": code}).status_code == 200
    assert signed_in(client) is None
    assert events["failed"] == [{"username": "alice@example.com"}] * 6
    assert all(code not in str(credentials) for credentials in events["failed"])


def test_wrong_codes_exhaust_the_account_cap_across_codes(client, alice, settings):
    relax(
        settings,
        PURPOSES={"login": {"CODE_MAX_FAILURES": 3, "CODE_MAX_ATTEMPTS": 10}},
    )
    ask(client)
    code, _ = code_and_token(mail.outbox[0])
    for _ in range(3):
        client.post(CODE, {"code": wrong(code)})
    ask(client)  # a fresh code does not reset the account's count
    fresh, _ = code_and_token(mail.outbox[1])
    assert client.post(CODE, {"code": fresh}).status_code == 200
    assert signed_in(client) is None


def test_unknown_inactive_and_shared_addresses_get_the_same_answer_and_no_mail(client, alice):
    UserFactory(username="bob", email="bob@example.com", is_active=False)
    UserFactory(username="c1", email="shared@example.com")
    UserFactory(username="c2", email="shared@example.com")
    known = client.post(LOGIN, {"email": "alice@example.com"})
    mail.outbox.clear()
    for email in ("nobody@example.com", "bob@example.com", "shared@example.com"):
        response = Client().post(LOGIN, {"email": email})
        assert (response.status_code, response["Location"]) == (302, known["Location"])
    assert mail.outbox == []
    from django.contrib.auth import get_user_model

    assert get_user_model().objects.count() == 4  # no account created


def test_an_account_without_a_usable_password_signs_in(client):
    user = UserFactory(username="nopass", email="nopass@example.com", password=None)
    user.set_unusable_password()
    user.save()
    ask(client, "nopass@example.com")
    code, _ = code_and_token(mail.outbox[0])
    assert client.post(CODE, {"code": code}).status_code == 302
    assert signed_in(client) == str(user.pk)


def test_next_to_another_host_is_ignored(client, alice):
    ask(client, next="https://evil.example/")
    code, token = code_and_token(mail.outbox[0])
    assert client.post(CODE, {"code": code})["Location"] == PROFILE
    page = Client().get(LOGIN + "?next=https://evil.example/")
    assert b"evil.example" not in page.content
    assert b'name="next" value="/in/"' in Client().get(LOGIN + "?next=/in/").content


def test_csrf_is_enforced(alice):
    browser = Client(enforce_csrf_checks=True)
    assert browser.post(LOGIN, {"email": "alice@example.com"}).status_code == 403
    assert mail.outbox == []
    ask(Client())
    code, token = code_and_token(mail.outbox[0])
    assert browser.post(confirm(token)).status_code == 403
    assert signed_in(browser) is None


def test_the_code_page_without_a_pending_sign_in(client):
    page = client.get(CODE)
    assert b"There is no sign-in waiting" in page.content
    assert client.post(CODE, {"code": "123456"}).status_code == 200
    assert signed_in(client) is None


def test_per_client_limits_answer_429(client, alice, settings):
    relax(settings, LOGIN_CODE_RATE_PER_IP=((1, 60),), LOGIN_CONFIRM_RATE_PER_IP=((1, 60),))
    ask(client)
    code, token = code_and_token(mail.outbox[0])
    client.post(CODE, {"code": wrong(code)})
    assert client.post(CODE, {"code": code}).status_code == 429
    client.get(confirm(token))
    assert client.get(confirm(token)).status_code == 429
    assert signed_in(client) is None


def test_per_address_request_limit_suppresses_mail(client, alice):
    ask(client)
    ask(client)  # LOGIN_RATE_PER_EMAIL: one a minute
    assert len(mail.outbox) == 1


def test_without_the_backend_nobody_signs_in(client, alice, settings):
    ask(client)
    code, _ = code_and_token(mail.outbox[0])
    settings.AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
    assert client.post(CODE, {"code": code}).status_code == 200
    assert signed_in(client) is None
