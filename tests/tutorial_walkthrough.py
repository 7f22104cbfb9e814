"""What a reader of docs/tutorial.rst does in the browser, run inside the tutorial's project.

tests/test_tutorial.py builds that project from the tutorial's own files and runs this script
in it, ``python tutorial_walkthrough.py <part>``, with ``DJANGO_SETTINGS_MODULE`` set to the
project's settings: the settings, URLs, templates and receivers under test are the reader's,
not the test suite's. Each part is one "try it" of the tutorial, run at that point of it. Mail
is read from the files the tutorial's mail settings write, as the reader reads it.
"""

from __future__ import annotations

import email
import re
import sys
from datetime import timedelta
from pathlib import Path

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from django_securetokens import tasks  # noqa: E402

# The reader's superuser, made by `createsuperuser` with the values the test passes.
USERNAME, EMAIL, PASSWORD = sys.argv[2:5]
ORIGIN = "http://127.0.0.1:8000"  # where the tutorial's runserver listens


def browser() -> Client:
    return Client(HTTP_HOST="127.0.0.1:8000")


def expect(response, status: int, location: str | None = None) -> None:
    got = (response.status_code, response.get("Location"))
    if got != (status, location if location is not None else got[1]):
        sys.exit(f"{response.request['PATH_INFO']}: expected {status} {location}, got {got}")


def last_mail() -> str:
    """The newest message the file backend wrote, waiting for the background sender."""
    if not tasks.join(timeout=30):
        sys.exit("the mail job did not finish")
    folder = Path(settings.BASE_DIR) / "sent_mail"
    files = sorted(folder.glob("*.log"), key=lambda f: f.stat().st_mtime_ns)
    if not files:
        sys.exit(f"no mail in {folder}")
    raw = files[-1].read_bytes().split(b"\n" + b"-" * 79 + b"\n")[-2]
    # Django 6 writes bodies as quoted-printable, which wraps long links: read the text part
    # as a mail client does.
    for part in email.message_from_bytes(raw.strip() + b"\n").walk():
        if part.get_content_type() == "text/plain":
            return str(part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8"))
    sys.exit("no text part in the mail")


def link_in(mail: str) -> str:
    links = re.findall(re.escape(ORIGIN) + r"(/\S+/)", mail)
    if not links:
        sys.exit(f"no link to {ORIGIN} in the mail")
    return links[0]


def password_reset() -> None:
    # The user is signed in elsewhere too: the reset must end that session.
    elsewhere = browser()
    elsewhere.force_login(get_user_model().objects.get(username=USERNAME))
    client = browser()
    expect(client.get("/"), 200)
    login_page = client.get("/accounts/login/")
    expect(login_page, 200)
    assert b'href="/accounts/password-reset/"' in login_page.content, "no reset link"
    expect(client.get("/accounts/password-reset/"), 200)
    expect(
        client.post("/accounts/password-reset/", {"email": EMAIL}),
        302,
        "/accounts/password-reset/sent/",
    )
    expect(client.get("/accounts/password-reset/sent/"), 200)
    link = link_in(last_mail())
    # An address without an account gets the very same answer, and no mail.
    unknown = client.post("/accounts/password-reset/", {"email": "nobody@example.com"})
    expect(unknown, 302, "/accounts/password-reset/sent/")
    assert link_in(last_mail()) == link, "a mail went to an address without an account"
    expect(client.get(link), 302, "/accounts/password-reset/set-password/")
    expect(client.get("/accounts/password-reset/set-password/"), 200)
    new_password = PASSWORD + "-renewed"
    expect(
        client.post(
            "/accounts/password-reset/set-password/",
            {"new_password1": new_password, "new_password2": new_password},
        ),
        302,
        "/accounts/password-reset/complete/",
    )
    expect(client.get("/accounts/password-reset/complete/"), 200)
    expect(client.get(link), 200)  # used: the "invalid or expired link" page
    assert b"Signed in as" not in elsewhere.get("/").content, "the other session survived"
    # The new password signs in and lands on the home page (LOGIN_REDIRECT_URL).
    signed_in = client.post(
        "/accounts/login/", {"username": USERNAME, "password": new_password, "next": ""}
    )
    expect(signed_in, 302, "/")
    home = client.get("/")
    assert f"Signed in as {USERNAME}".encode() in home.content, "home page: not signed in"
    expect(client.post("/accounts/logout/"), 302, "/")
    print("password reset: ok")


def email_verification() -> None:
    from accounts.models import VerifiedEmail  # the reader's app, made in step 5

    client = browser()
    expect(
        client.get("/accounts/email/verify/"), 302, "/accounts/login/?next=/accounts/email/verify/"
    )
    user = get_user_model().objects.get(username=USERNAME)
    client.force_login(user)
    expect(client.get("/accounts/email/verify/"), 200)
    expect(client.post("/accounts/email/verify/"), 302, "/accounts/email/verify/code/")
    mail = last_mail()
    codes = re.findall(r"^\s+(\d[\d -]*\d)\s*$", mail, re.MULTILINE)
    if not codes:
        sys.exit("no code in the verification mail")
    expect(client.post("/accounts/email/verify/code/", {"code": codes[0]}), 302)
    row = VerifiedEmail.objects.get(user=user)
    assert row.email == EMAIL, row.email
    # The link instead of the code, for a second account (the first one's mails are
    # rate-limited to one a minute): GET only shows a button, the POST verifies.
    other = get_user_model().objects.create_user("grace", "grace@example.com", PASSWORD)
    client.force_login(other)
    expect(client.post("/accounts/email/verify/"), 302, "/accounts/email/verify/code/")
    link = link_in(last_mail())
    expect(client.get(link), 200)
    assert not VerifiedEmail.objects.filter(user=other).exists(), "a GET verified the address"
    expect(client.post(link), 302)
    assert VerifiedEmail.objects.get(user=other).email == "grace@example.com"
    print("email verification: ok")


def api_keys() -> None:
    admin = browser()
    admin.force_login(get_user_model().objects.get(username=USERNAME))
    expires = timezone.localtime(timezone.now() + timedelta(days=30))
    issued = admin.post(
        "/admin/django_securetokens/apikey/add/",
        {
            "name": "tutorial",
            "user": str(get_user_model().objects.get(username=USERNAME).pk),
            "scopes": "orders:read",
            "expires_at_0": expires.strftime("%Y-%m-%d"),
            "expires_at_1": expires.strftime("%H:%M:%S"),
        },
    )
    expect(issued, 200)
    # The whole key; its first characters (the key id) also show elsewhere on the page.
    keys = set(re.findall(r"sk_live_[0-9A-Za-z]{40,}", issued.content.decode()))
    if len(keys) != 1:
        sys.exit(f"expected the new key shown once on the page, found {len(keys)}")
    key = keys.pop()
    api = browser()
    whoami = api.get("/api/whoami/", HTTP_AUTHORIZATION=f"Bearer {key}")
    expect(whoami, 200)
    assert whoami.json() == {"key": "tutorial", "user": USERNAME}, whoami.json()
    expect(api.get("/api/orders/", HTTP_X_API_KEY=key), 200)
    missing = api.get("/api/whoami/")
    expect(missing, 401)
    assert missing.has_header("WWW-Authenticate"), "401 without WWW-Authenticate"
    tampered = key[:-1] + ("y" if key.endswith("x") else "x")  # never the key itself
    expect(api.get("/api/whoami/", HTTP_AUTHORIZATION=f"Bearer {tampered}"), 401)
    from django_securetokens.models import APIKey

    _, unscoped = APIKey.objects.issue(name="no scopes", user=None)
    expect(api.get("/api/orders/", HTTP_AUTHORIZATION=f"Bearer {unscoped}"), 403)
    # Revoked from the admin's list, it stops working at once.
    revoked = admin.post(
        "/admin/django_securetokens/apikey/",
        {"action": "revoke_keys", "_selected_action": [APIKey.objects.get(name="tutorial").pk]},
    )
    expect(revoked, 302, "/admin/django_securetokens/apikey/")
    assert APIKey.objects.get(name="tutorial").revoked_at is not None, "the action revoked nothing"
    expect(api.get("/api/whoami/", HTTP_AUTHORIZATION=f"Bearer {key}"), 401)
    print("API keys: ok")


PARTS = {
    "password-reset": password_reset,
    "email-verification": email_verification,
    "api-keys": api_keys,
}

if __name__ == "__main__":
    PARTS[sys.argv[1]]()
