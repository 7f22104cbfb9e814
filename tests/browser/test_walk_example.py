"""Every page of ours in the example project, walked in headless Chromium at 1280 × 800.

The example runs as ``make demo`` runs it (``runserver``, its own settings, its own layout
through ``BASE_TEMPLATE``), on a throw-away database and mail folder. Each page of the app
must offer a way on inside the page itself — a link or a form in ``<main>``, not only the
site's header — and each admin list of ours must fit the window, Created, Expires and State
included. With ``SECURETOKENS_SCREENSHOTS=<dir>`` (``make screenshots``) each page is also
saved as a PNG for the docs.
"""

from __future__ import annotations

import email
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import BROWSER_TESTS

pytestmark = BROWSER_TESTS

EXAMPLE_DIR = Path(__file__).resolve().parents[2] / "example_project"
SHOTS = os.environ.get("SECURETOKENS_SCREENSHOTS")
WIDTH, HEIGHT = 1280, 800
PASSWORD = "a new demo passphrase"


class Example:
    """The example site, running: its URL and the folder its mail is written to."""

    def __init__(self, url: str, mail_dir: Path) -> None:
        self.url, self.mail_dir = url, mail_dir

    def mails(self) -> list[email.message.Message]:
        messages = []
        for log in sorted(self.mail_dir.glob("*.log"), key=lambda p: p.stat().st_mtime_ns):
            for chunk in log.read_bytes().split(b"-" * 79):
                if chunk.strip():
                    messages.append(email.message_from_bytes(chunk.strip() + b"\n"))
        return messages

    def mail_to(self, address: str, count: int, subject: str, *, latest: bool = False) -> str:
        """The text of the *count*-th mail to *address* whose subject starts with *subject*,
        once it is there, or of the latest such mail."""
        deadline = time.monotonic() + 30  # reset mail goes out from a background thread
        while True:
            found = [
                m
                for m in self.mails()
                if m["To"] == address and str(m["Subject"]).startswith(subject)
            ]
            if len(found) >= count:
                break
            assert time.monotonic() < deadline, f"no mail {count} to {address}"
            time.sleep(0.1)
        for part in found[-1 if latest else count - 1].walk():
            if part.get_content_type() == "text/plain":
                return str(part.get_payload(decode=True).decode(part.get_content_charset()))
        raise AssertionError("no text part")

    def link_in(self, text: str) -> str:
        return self.url + re.search(r"http://127\.0\.0\.1:8000(/\S+)", text).group(1)


def code_in(text: str) -> str:
    return "".join(re.search(r"\b(\d{3}) (\d{3})\b", text).groups())


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Example]:
    tmp = tmp_path_factory.mktemp("example")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SECURETOKENS"))}
    env |= {
        "DJANGO_SETTINGS_MODULE": "example_project.settings",
        "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}",
        "SENT_MAIL_DIR": str(tmp / "mail"),
    }

    def manage(*args: str) -> None:
        subprocess.run(  # noqa: S603 - fixed arguments, the current interpreter
            [sys.executable, "manage.py", *args],
            cwd=EXAMPLE_DIR,
            env=env,
            check=True,
            capture_output=True,
        )

    manage("migrate", "--noinput")
    manage("demouser")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=EXAMPLE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/accounts/login/", timeout=5)  # noqa: S310
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, "no example"
                time.sleep(0.2)
        yield Example(url, tmp / "mail")
    finally:
        server.terminate()
        server.wait(timeout=30)


def shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        # Down to the end of the page's content: the docs need no empty window below it.
        box = page.locator("main").first.bounding_box() or {"y": 0, "height": HEIGHT}
        height = min(HEIGHT, int(box["y"] + box["height"]) + 24)
        clip = {"x": 0, "y": 0, "width": WIDTH, "height": max(height, 240)}
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), clip=clip)


def leads_on(page, name: str) -> None:
    """The page's own content offers a next step; the site header does not count."""
    page.wait_for_load_state()
    ways = page.locator("main a[href], main form").count()
    assert ways > 0, f"{name} ({page.url}) is a dead end"
    shot(page, name)


def fits(page, name: str) -> None:
    """Nothing of the admin page scrolls sideways at 1280 px; the dates and state show."""
    page.wait_for_load_state()
    shot(page, name)
    wide = page.evaluate(
        """() => [document.documentElement, ...document.querySelectorAll('.results')]
            .filter(e => e.scrollWidth > e.clientWidth + 1)
            .map(e => `${e.tagName}.${e.className}: ${e.scrollWidth} > ${e.clientWidth}`)"""
    )
    assert wide == [], f"{name} overflows at {WIDTH} px: {wide}"
    for column in ("column-created", "column-expires"):
        box = page.locator(f"#result_list th.{column}").bounding_box()
        assert box is not None and box["x"] + box["width"] <= WIDTH, (name, column)
    state = page.locator("#result_list th[class*=column-state]").bounding_box()
    assert state is not None and state["x"] + state["width"] <= WIDTH, (name, "state")


def new_page(browser):
    context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
    context.set_default_timeout(15_000)
    return context.new_page()


def sign_in(page, example: Example, password: str) -> None:
    page.goto(f"{example.url}/accounts/login/")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", password)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{example.url}/")


def test_every_page_of_ours_leads_on_and_admin_lists_fit(example, browser):
    url = example.url
    page = new_page(browser)

    # --- password reset, signed out ----------------------------------------------------
    page.goto(f"{url}/accounts/password-reset/")
    leads_on(page, "password_reset")
    page.fill("input[name=email]", "admin@example.com")
    page.click("main button[type=submit]")
    page.wait_for_url("**/password-reset/sent/")
    leads_on(page, "password_reset_sent")
    link = example.link_in(example.mail_to("admin@example.com", 1, "Reset"))
    page.goto(link)
    page.wait_for_url("**/password-reset/set-password/")
    leads_on(page, "password_reset_set")
    page.fill("input[name=new_password1]", PASSWORD)
    page.fill("input[name=new_password2]", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/password-reset/complete/")
    leads_on(page, "password_reset_complete")
    page.click("main >> text=Sign in")
    page.wait_for_url("**/accounts/login/")
    assert page.locator("input[name=password]").count() == 1  # a real sign-in page
    page.goto(link)  # used already
    leads_on(page, "password_reset_invalid")

    # --- email verification before sign-up ------------------------------------------------
    page.goto(f"{url}/accounts/email/verify/code/")
    leads_on(page, "email_verification_code_none")
    page.goto(f"{url}/accounts/email/verify/confirm/{'x' * 40}/")
    leads_on(page, "email_verification_invalid")
    page.goto(f"{url}/signup/")
    page.fill("input[name=email]", "newcomer@example.com")
    page.click("main button[type=submit]")
    page.wait_for_url("**/accounts/email/verify/code/")
    assert "newcomer@example.com" in page.inner_text("main")
    leads_on(page, "email_verification_code")
    code = code_in(example.mail_to("newcomer@example.com", 1, "Verify"))
    for _ in range(5):
        page.fill("input[name=code]", f"{(int(code) + 1) % 10**6:06d}")
        page.click("main >> text=Verify")
        assert "This code is not valid" in page.inner_text("main")
    page.fill("input[name=code]", code)
    page.click("main >> text=Verify")
    assert "This code is used up" in page.inner_text("main")
    leads_on(page, "email_verification_code_used_up")
    page.click("main >> text=send a new code")
    page.wait_for_url("**/accounts/email/verify/code/")
    assert re.search(r"A new code can be sent in \d+ minutes?", page.inner_text("main"))
    leads_on(page, "email_verification_code_wait")
    # The latest link: if the limit's window turned over meanwhile, the resend went out.
    page.goto(example.link_in(example.mail_to("newcomer@example.com", 1, "Verify", latest=True)))
    assert "newcomer@example.com" in page.inner_text("main")
    leads_on(page, "email_verification_confirm")
    page.click("main button[type=submit]")
    page.wait_for_url("**/signup/account/")

    # --- signed in: verify, then change the address -----------------------------------------
    page = new_page(browser)
    sign_in(page, example, PASSWORD)
    page.goto(f"{url}/accounts/email/verify/")
    leads_on(page, "email_verification")
    page.click("main button[type=submit]")
    page.wait_for_url("**/accounts/email/verify/code/")
    page.fill("input[name=code]", code_in(example.mail_to("admin@example.com", 1, "Verify")))
    page.click("main >> text=Verify")
    page.wait_for_url("**/accounts/email/verified/")
    leads_on(page, "email_verification_complete")
    page.goto(f"{url}/accounts/email/verify/")
    assert "is verified already" in page.inner_text("main")
    leads_on(page, "email_verification_verified")
    page.goto(f"{url}/accounts/email/change/")
    leads_on(page, "email_change")
    page.fill("input[name=email]", "moved@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/accounts/email/verify/code/")
    change_link = example.link_in(example.mail_to("moved@example.com", 1, "Confirm"))
    signed_out = new_page(browser)
    signed_out.goto(change_link)
    leads_on(signed_out, "email_change_confirm_signed_out")
    page.goto(change_link)
    assert "moved@example.com" in page.inner_text("main")
    leads_on(page, "email_change_confirm")

    # --- the admin ----------------------------------------------------------------------
    page.goto(f"{url}/signup/")  # an owner with a long address, for the list's width
    page.fill("input[name=email]", "someone.with.a.rather.long.address@mail.example.com")
    page.click("main button[type=submit]")
    page.wait_for_url("**/accounts/email/verify/code/")
    admin = "/admin/django_securetokens"
    page.goto(f"{url}{admin}/securetoken/")
    fits(page, "admin_securetoken_list")
    page.goto(f"{url}{admin}/apikey/add/")
    assert page.locator("select[name=user].admin-autocomplete").count() == 1
    page.fill("input[name=name]", "deploy")
    page.fill("input[name=scopes]", "orders:read")
    page.click("input[name=_save]")
    page.wait_for_selector("#id_new_api_key")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.click("[data-securetokens-copy=id_new_api_key]")
    page.wait_for_selector("#id_new_api_key_copied:has-text('Copied')")
    key = page.input_value("#id_new_api_key")
    assert page.evaluate("navigator.clipboard.readText()") == key
    shot(page, "admin_apikey_issued")
    page.goto(f"{url}{admin}/apikey/")
    fits(page, "admin_apikey_list")
    page.click("text=Revoke a leaked key")
    page.fill("input[name=key]", key[:-1] + ("0" if key[-1] != "0" else "1"))
    page.click("input[type=submit]")
    page.wait_for_selector("#key-errors .errorlist")
    assert page.input_value("input[name=key]").startswith("sk_live_")  # kept to correct
    shot(page, "admin_apikey_revoke_leaked")
    page.fill("input[name=key]", key)
    page.click("input[type=submit]")
    page.wait_for_url(f"{url}{admin}/apikey/")
    assert "Revoked API key" in page.inner_text("body")
    assert page.locator("#result_list td.field-state_label").inner_text() == "revoked"


def test_the_code_sign_in_and_personal_key_pages_lead_on(example, browser):
    """The pages that came with reset by code, passwordless sign-in and personal keys."""
    url = example.url
    page = new_page(browser)

    page.goto(f"{url}/accounts/password-reset/code/")  # no address asked for yet
    leads_on(page, "password_reset_code_unasked")
    page.goto(f"{url}/accounts/email-login/confirm/{'x' * 40}/")
    leads_on(page, "login_invalid")

    page.goto(f"{url}/accounts/login/")
    page.click("main >> text=Email me a sign-in link")
    page.wait_for_url("**/accounts/email-login/")
    leads_on(page, "login")
    page.fill("input[name=email]", "admin@example.com")
    page.click("main button[type=submit]")
    page.wait_for_url("**/accounts/email-login/code/")
    leads_on(page, "login_code")
    page.fill("input[name=code]", code_in(example.mail_to("admin@example.com", 1, "Sign in")))
    page.click("main button[type=submit]")
    page.wait_for_url(f"{url}/")

    page.goto(f"{url}/accounts/api-keys/")
    leads_on(page, "api_keys")
