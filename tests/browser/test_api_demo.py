"""The example project's single-page demo (plain HTML and fetch) in headless Chromium: a
password reset by code, an address verified by code and a personal API key created, copied
and revoked, through the JSON API only.

See ``conftest.py`` here for what it needs, and when it is skipped.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client

from django_securetokens.models import APIKey
from tests.conftest import mailed_code_and_link
from tests.factories import UserFactory

from .conftest import BROWSER_TESTS, serve_example_pages
from .test_password_reset_flow import wait_for_mail

pytestmark = [*BROWSER_TESTS, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo(settings, live_server):
    """The live server with the demo page at /demo/, as the example project has it."""
    serve_example_pages(settings, "tests.browser.demo_urls")
    settings.SECURETOKENS = {**settings.SECURETOKENS, "PASSWORD_RESET_METHOD": "code"}
    return f"{live_server.url}/demo/"


@pytest.fixture
def page(browser):
    context = browser.new_context()
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def test_reset_a_password_by_code(demo, page):
    user = UserFactory(username="spa", email="spa@example.com")
    api_calls = []
    page.on("request", lambda r: api_calls.append(r.url) if "/api/" in r.url else None)
    page.goto(demo)
    page.fill("#reset-email", "SPA@example.com")
    page.click("#reset-request button")
    page.wait_for_selector("#reset-complete:not([hidden])")
    assert "If an account has this address" in page.inner_text("#reset-answer")

    message = wait_for_mail(1)
    assert message.to == ["spa@example.com"]
    code = "".join(re.search(r"\b(\d{3}) (\d{3})\b", message.body).groups())

    page.fill("#reset-code", "000000" if code != "000000" else "111111")
    page.click("#reset-check")
    page.wait_for_function(
        "document.getElementById('reset-answer').textContent.includes('not valid')"
    )

    page.fill("#reset-code", f"{code[:3]} {code[3:]}")  # as the mail shows it
    page.click("#reset-check")
    page.wait_for_function(
        "document.getElementById('reset-answer').textContent.includes('valid.')"
    )
    page.fill("#reset-password", "a single page of passphrase 7")
    page.click("#reset-complete button[type=submit]")
    page.wait_for_selector("#reset-complete[hidden]", state="attached")
    assert "Your password has been set" in page.inner_text("#reset-answer")

    user.refresh_from_db()
    assert user.check_password("a single page of passphrase 7")
    assert all("/api/auth/" in url for url in api_calls) and len(api_calls) == 4
    assert code not in page.url


def test_verify_the_signed_in_users_address_by_code(demo, page, live_server, verified_events):
    user = UserFactory(username="reader", email="reader@example.com")
    session = Client()
    session.force_login(user)
    cookie = session.cookies["sessionid"]
    page.context.add_cookies(
        [{"name": "sessionid", "value": cookie.value, "url": live_server.url}]
    )
    page.goto(demo)
    page.click("#verify-request button")
    page.wait_for_selector("#verify-confirm:not([hidden])")

    code, _ = mailed_code_and_link(wait_for_mail(1))
    page.fill("#verify-code", code)
    page.click("#verify-confirm button")
    page.wait_for_function(
        "document.getElementById('verify-answer').textContent.includes('is verified')"
    )
    assert page.inner_text("#verify-answer") == "reader@example.com is verified."
    assert [(e["user"], e["email"]) for e in verified_events] == [(user, "reader@example.com")]


def test_signed_out_verification_is_refused_on_the_page(demo, page):
    page.goto(demo)
    page.click("#verify-request button")
    page.wait_for_function("document.getElementById('verify-answer').textContent !== ''")
    assert page.locator("#verify-confirm").is_hidden()
    assert "credentials" in page.inner_text("#verify-answer")


def test_create_copy_and_revoke_a_personal_key(demo, page, live_server, settings):
    settings.SECURETOKENS = {
        **settings.SECURETOKENS,
        "SELF_SERVICE_API_KEYS": True,
        "SELF_SERVICE_API_KEY_SCOPES": ["orders:read"],
    }
    user = UserFactory(username="keyholder")
    session = Client()
    session.force_login(user)
    cookie = session.cookies["sessionid"]
    page.context.add_cookies(
        [{"name": "sessionid", "value": cookie.value, "url": live_server.url}]
    )
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto(demo)
    page.fill("#keys-name", "browser")
    page.fill("#keys-password", "wrong guess")
    page.click("#keys-create button")
    page.wait_for_function(
        "document.getElementById('keys-answer').textContent.includes('incorrectly')"
    )
    assert page.locator("#keys-new").is_hidden()

    page.fill("#keys-password", "correct horse battery staple")
    page.click("#keys-create button")
    page.wait_for_selector("#keys-new:not([hidden])")
    secret = page.inner_text("#keys-secret")
    assert APIKey.objects.authenticate(secret).user == user
    assert page.input_value("#keys-password") == ""
    page.click("#keys-copy")
    assert page.evaluate("navigator.clipboard.readText()") == secret
    page.wait_for_selector("#keys-list li")
    assert "browser (sk_" in page.inner_text("#keys-list") and "live" in page.inner_text(
        "#keys-list"
    )

    page.click("#keys-list button")
    page.wait_for_function("document.getElementById('keys-list').textContent.includes('revoked')")
    assert "has been revoked" in page.inner_text("#keys-answer")
    assert APIKey.objects.get().revoked_at is not None
