"""End to end in headless Chromium: sign up, read the mail, enter the code, see it verified.

See ``conftest.py`` here for what it needs, and when it is skipped.
"""

from __future__ import annotations

import pytest
from django.core import mail

from tests.conftest import mailed_code_and_link

from .conftest import BROWSER_TESTS

# The mail job runs inside the request (mail_now): with the default background thread, its
# writes would race the request's own session write, and the test's in-memory SQLite
# database, shared between threads, refuses a second writer outright ("database table is
# locked") where a real database waits. That mail leaves the request path is tested apart.
pytestmark = [
    *BROWSER_TESTS,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("mail_now"),
]


@pytest.fixture
def page(browser):
    context = browser.new_context()
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def last_mail_to(address):
    [message] = [m for m in mail.outbox if m.to == [address]][-1:]
    return message


def test_sign_up_with_the_emailed_code(live_server, page):
    page.goto(f"{live_server.url}/signup/")
    page.fill("input[name=email]", "browser@example.com")
    page.click("button[type=submit]")

    page.wait_for_url("**/accounts/email/verify/code/")
    assert "browser@example.com" in page.content()
    code, _ = mailed_code_and_link(last_mail_to("browser@example.com"))

    page.fill("input[name=code]", f"{code[:3]} {code[3:]}")  # as the mail shows it
    page.click("text=Verify")

    page.wait_for_url("**/signup/account/")
    assert "Verified address: browser@example.com" in page.content()
    page.fill("input[name=username]", "browser")
    page.fill("input[name=password1]", "a long browser passphrase")
    page.fill("input[name=password2]", "a long browser passphrase")
    page.click("button[type=submit]")

    page.wait_for_url("**/signup/done/")
    assert "browser: browser@example.com is verified" in page.inner_text("body")


def test_a_wrong_code_is_refused_then_the_link_works_in_another_browser(live_server, page):
    page.goto(f"{live_server.url}/signup/")
    page.fill("input[name=email]", "linker@example.com")
    page.click("button[type=submit]")
    page.wait_for_url("**/accounts/email/verify/code/")
    code, path = mailed_code_and_link(last_mail_to("linker@example.com"))

    page.fill("input[name=code]", f"{(int(code) + 1) % 10**6:06d}")
    page.click("text=Verify")
    assert "This code is not valid" in page.content()

    # The mail's link, opened in a fresh browser context (another device, no session).
    other = page.context.browser.new_context().new_page()
    other.goto(f"{live_server.url}{path}")
    assert other.locator("form[method=post] button").count() == 1  # GET changes nothing
    other.click("form[method=post] button")
    other.wait_for_url("**/signup/account/")
    assert "Verified address: linker@example.com" in other.content()
