"""The password-reset flow in a real headless Chromium, as a person would go through it.

See ``conftest.py`` here for what it needs, and when it is skipped.
"""

from __future__ import annotations

import re
import time

import pytest
from django.core import mail

from django_securetokens import tasks
from tests.factories import UserFactory

from .conftest import BROWSER_TESTS

pytestmark = BROWSER_TESTS


@pytest.fixture
def walker(transactional_db):
    """The user, created before Playwright starts (see the ``browser`` fixture)."""
    return UserFactory(username="walker", email="walker@example.com", is_staff=True)


def wait_for_mail(count, timeout=10.0):
    """Mail is sent by the background thread: wait for it as a person waits for email."""
    deadline = time.monotonic() + timeout
    while len(mail.outbox) < count and time.monotonic() < deadline:
        tasks.join(timeout=0.5)
    assert len(mail.outbox) >= count, "no mail arrived"
    return mail.outbox[count - 1]


@pytest.mark.django_db(transaction=True)
def test_request_mail_link_new_password_and_sign_in(live_server, settings, walker, browser):
    settings.SECURETOKENS = {**settings.SECURETOKENS, "BASE_URL": live_server.url}
    page = browser.new_page()
    seen_urls = []
    page.on("request", lambda request: seen_urls.append(request.url))

    # 1. Ask for a link.
    page.goto(f"{live_server.url}/accounts/password-reset/")
    page.fill("input[name=email]", "Walker@Example.com")
    page.click("button[type=submit]")
    page.wait_for_url("**/accounts/password-reset/sent/")
    assert "Check your email" in page.content()

    # 2. Read the mail; it goes to the stored address.
    message = wait_for_mail(1)
    assert message.to == ["walker@example.com"]
    link = re.search(r"(http://\S+/accounts/reset/\S+/)", message.body).group(1)
    secret = link.rstrip("/").rsplit("/", 1)[1]

    # 3. Open it: the token leaves the address bar before the form shows.
    page.goto(link)
    page.wait_for_url("**/accounts/password-reset/set-password/")
    assert secret not in page.url and secret not in page.content()

    # 4. Choose a new password.
    page.fill("input[name=new_password1]", "a fresh walk in the park 9")
    page.fill("input[name=new_password2]", "a fresh walk in the park 9")
    page.click("button[type=submit]")
    page.wait_for_url("**/accounts/password-reset/complete/")
    assert "Your password has been changed" in page.content()

    # 5. Not logged in; the notification arrives; the link is dead.
    page.goto(f"{live_server.url}/admin/")
    assert "/admin/login/" in page.url
    notification = wait_for_mail(2)
    assert "changed" in notification.subject
    page.goto(link)
    assert "invalid or has expired" in page.content()

    # 6. Sign in with the new password.
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("input[name=username]", "walker")
    page.fill("input[name=password]", "a fresh walk in the park 9")
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")
    assert "Site administration" in page.content()

    # The page made no request to another origin.
    assert all(url.startswith(live_server.url) for url in seen_urls), seen_urls


@pytest.mark.django_db(transaction=True)
def test_reset_by_the_mailed_code(live_server, settings, walker, browser):
    """PASSWORD_RESET_METHOD = "code": the sent page leads to the code page, the code to the
    new-password page; the code is never in a URL and the session key changes (R-78)."""
    settings.SECURETOKENS = {
        **settings.SECURETOKENS,
        "BASE_URL": live_server.url,
        "PASSWORD_RESET_METHOD": "code",
        # The request page writes the session here, which the mail job's writes in a
        # background thread would race on the in-memory SQLite database shared between
        # threads (see test_email_verification_flow.py): the job runs in the request.
        "EMAIL_SENDER": "tests.conftest.run_immediately",
    }
    page = browser.new_page()

    page.goto(f"{live_server.url}/accounts/password-reset/")
    page.fill("input[name=email]", "walker@example.com")
    page.click("button[type=submit]")
    page.wait_for_url("**/accounts/password-reset/sent/")
    session_before = {c["name"]: c["value"] for c in page.context.cookies()}["sessionid"]
    page.click("text=Enter the code from the email")
    page.wait_for_url("**/accounts/password-reset/code/")
    assert "walker@example.com" in page.content()

    message = wait_for_mail(1)
    assert "/accounts/reset/" not in message.body  # a code, no link
    code = re.search(r"\b(\d{3} \d{3})\b", message.body).group(1)
    page.fill("input[name=code]", code)
    page.click("button[type=submit]")
    page.wait_for_url("**/accounts/password-reset/set-password/")
    session_after = {c["name"]: c["value"] for c in page.context.cookies()}["sessionid"]
    assert session_after != session_before

    page.fill("input[name=new_password1]", "a code-set walk 12")
    page.fill("input[name=new_password2]", "a code-set walk 12")
    page.click("button[type=submit]")
    page.wait_for_url("**/accounts/password-reset/complete/")
    walker.refresh_from_db()
    assert walker.check_password("a code-set walk 12")
    assert code.replace(" ", "") not in page.url
