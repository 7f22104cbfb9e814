"""Passwordless sign-in in headless Chromium, from the example project's login page: by the
mailed code in one browser, by the mailed link in another.

See ``conftest.py`` here for what it needs, and when it is skipped.
"""

from __future__ import annotations

import pytest
from django.core import mail

from tests.factories import UserFactory
from tests.login_support import BACKENDS, code_and_token

from .conftest import BROWSER_TESTS, serve_example_pages
from .test_password_reset_flow import wait_for_mail

pytestmark = [*BROWSER_TESTS, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def site(settings, live_server):
    """The live server with the example project's login page and the feature on, as the
    example project has them."""
    serve_example_pages(settings, "tests.browser.login_urls")
    settings.AUTHENTICATION_BACKENDS = BACKENDS
    settings.LOGIN_REDIRECT_URL = "/whoami/"
    settings.SECURETOKENS = {
        **settings.SECURETOKENS,
        "BASE_URL": live_server.url,
        "PASSWORDLESS_LOGIN": True,
        "LOGIN_RATE_PER_EMAIL": ((5, 60),),  # two mails in a row
        # The request page writes the session, which the mail job's writes in a background
        # thread would race on the in-memory SQLite database the threads share ("database
        # table is locked"; see test_email_verification_flow.py): the job runs in the request.
        "EMAIL_SENDER": "tests.conftest.run_immediately",
    }
    UserFactory(username="mailer", email="mailer@example.com")
    return live_server.url


@pytest.fixture
def new_page(browser):
    contexts = []

    def make():
        context = browser.new_context()
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def ask_for_mail(page, site, count):
    page.goto(f"{site}/accounts/login/")
    page.click("text=Email me a sign-in link")
    page.wait_for_url("**/accounts/email-login/")
    page.fill("input[name=email]", "mailer@example.com")
    page.click("button[type=submit]")
    page.wait_for_url("**/accounts/email-login/code/")
    return code_and_token(wait_for_mail(count))


def test_sign_in_by_code_then_by_link(site, new_page):
    page = new_page()
    code, _ = ask_for_mail(page, site, 1)
    page.fill("input[name=code]", f"{code[:3]} {code[3:]}")  # as the mail shows it
    page.click("button[type=submit]")
    page.wait_for_url("**/whoami/")
    assert "signed in as mailer" in page.inner_text("body")

    other = new_page()
    other.goto(f"{site}/whoami/")
    assert "anonymous" in other.inner_text("body")
    mail.outbox.clear()
    _, token = ask_for_mail(other, site, 1)
    other.goto(f"{site}/accounts/email-login/confirm/{token}/")
    assert "anonymous" not in other.content()
    other.click("button[type=submit]")  # the GET alone signed nobody in
    other.wait_for_url("**/whoami/")
    assert "signed in as mailer" in other.inner_text("body")
