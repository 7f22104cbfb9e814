"""End to end in headless Chromium: make a personal API key, copy it, use it, revoke it.

See ``conftest.py`` here for what it needs, and when it is skipped.
"""

from __future__ import annotations

import pytest

from tests.factories import UserFactory

from .conftest import BROWSER_TESTS

pytestmark = [*BROWSER_TESTS, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"


def test_make_copy_use_and_revoke_a_personal_key(settings, live_server, browser):
    settings.SECURETOKENS = {
        **settings.SECURETOKENS,
        "SELF_SERVICE_API_KEYS": True,
        "SELF_SERVICE_API_KEY_SCOPES": ["orders:read"],
    }
    UserFactory(username="keymaker", is_staff=True)
    # The copy button writes to the clipboard, which the test then reads back.
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        # Sign in (the test site's only sign-in page is the admin's), then open the keys page.
        page.goto(f"{live_server.url}/admin/login/?next=/accounts/api-keys/")
        page.fill("input[name=username]", "keymaker")
        page.fill("input[name=password]", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url("**/accounts/api-keys/")
        assert "You have no API keys yet." in page.content()

        # Create one: sudo mode asks for the password.
        page.fill("input[name=name]", "browser script")
        page.check("input[value='orders:read']")
        page.fill("input[name=expires_in_days]", "7")
        page.fill("input[name=password]", PASSWORD)
        page.click("text=Create key")
        page.wait_for_selector("#id_new_api_key")
        shown = page.input_value("#id_new_api_key")
        assert shown.startswith("sk_live_")

        # Copy it with the button, and read the clipboard back.
        page.click("#copy_api_key")
        page.wait_for_selector("#copy_api_key:has-text('Copied')")
        key = page.evaluate("navigator.clipboard.readText()")
        assert key == shown

        # Call the API with it, as a script would.
        whoami = f"{live_server.url}/api/whoami/"
        response = context.request.get(whoami, headers={"Authorization": f"Bearer {key}"})
        assert response.status == 200 and response.json()["user"] == "keymaker"

        # Back on the list the key shows by its id, never in full; revoke it.
        page.click("text=I have copied it")
        page.wait_for_url("**/accounts/api-keys/")
        row = page.locator("tr", has_text="browser script")
        assert key not in page.content() and key[:20] in row.inner_text()
        row.locator("button", has_text="Revoke").click()
        page.wait_for_url("**/accounts/api-keys/")
        assert "revoked" in page.locator("tr", has_text="browser script").inner_text()

        # The call now fails.
        response = context.request.get(whoami, headers={"Authorization": f"Bearer {key}"})
        assert response.status == 401
        assert 'error="invalid_token"' in response.headers["www-authenticate"]
    finally:
        context.close()
