"""The no-plaintext audit (R-06, R-54, R-65, R-68; T-06, T-65): run every flow end to end,
then look for every secret it handled everywhere the app or Django might have put one.

Flows: password reset (request, link, new password), email verification by code and by link,
email change, an API key issued through the admin add view, used over HTTP, rotated in the
admin and used again, passwordless sign-in by code (after a wrong one), by link and by code
over JSON, plus a rate-limited reset link and sign-in link (whose 429 Django would log with
its path).

Places: every table of the database, every session decoded, the cache's contents, every log
record of every logger at DEBUG, the admin list and change pages, every cookie set
(``messages`` included) and the technical error pages for a POST carrying a verification or
a sign-in code.

Forms searched: plain, lower-case, hex, base64, URL-safe base64 and percent-encoded, for the
secret part of every token and key (the selector is not a secret; the database holds it by
design). Six-digit codes are searched as whole words in text only, since a dump is full of
timestamps with six-digit fractions. The token in the URL of the link's *first* GET is
outside this audit: Django's error reports and every access log show request paths, which
is why R-66 is documented rather than solved.
"""

from __future__ import annotations

import logging
import re
import sys

import pytest
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.models import Session
from django.core import mail
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone
from django.views.debug import ExceptionReporter
from rest_framework.test import APIClient

from django_securetokens.models import APIKey, SecureToken
from django_securetokens.views.email_verification import EmailVerificationCodeView
from django_securetokens.views.login import LoginCodeView

from .conftest import cache_entries, mailed_code_and_link
from .factories import UserFactory
from .login_support import code_and_token, login_on, wrong  # noqa: F401 - fixture
from .test_storage import dump_cells, encodings

# The clock stands still so that no rate-limit window can roll over in the middle of a
# test that counts up to a limit.
pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("mail_now", "fresh_cache", "frozen_clock", "login_on"),
]

RESET = reverse("securetokens:password_reset")
SET = reverse("securetokens:password_reset_set")
RESET_CODE = reverse("securetokens:password_reset_code")
START = reverse("securetokens:email_verification")
CODE = reverse("securetokens:email_verification_code")
CHANGE = reverse("securetokens:email_change")
LOGIN = reverse("securetokens:login")
LOGIN_CODE = reverse("securetokens:login_code")
API_LOGIN = reverse("securetokens_api:login")
API_LOGIN_CONFIRM = reverse("securetokens_api:login_confirm")
WHOAMI = reverse("whoami")
ADMIN_KEYS = "/admin/django_securetokens/apikey/"
KEY_RE = re.compile(r"sk_live_[0-9A-Za-z]{49}")
PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "an audited new passphrase 77"
# Numbers in the audited text that can look like a code but are not one: timestamps (with
# their microseconds and offset, or as a repr), hex digests and salts, object addresses in
# reprs, and the admin's CSS colours. What is left (an hourly rate-limit window's number)
# matches one of the four codes about four times in a million runs.
NOT_A_CODE = re.compile(
    r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:\.\d+)?(?:[+-]\d\d:?\d\d|Z)?"
    r"|datetime\.datetime\([^)]*"
    r"|\b(?=[0-9a-f]*[a-f])[0-9a-f]{16,}\b"
    r"|\b0x[0-9a-f]+\b"
    r"|#[0-9a-fA-F]{6}\b"
)


def mailed_path(message) -> str:
    return re.search(r"https://testserver\.example(/\S+)", message.body).group(1)


class Audit:
    """Collects the secrets (as ``(what, value)``) and everything that must not hold one."""

    def __init__(self) -> None:
        self.secrets: list[tuple[str, str]] = []
        self.codes: list[str] = []
        self.pages: list[tuple[str, str]] = []
        self.cookies: list[str] = []

    def token(self, what: str, token: str) -> None:
        self.secrets.append((what, token[16:]))  # the verifier; the selector is public

    def key(self, what: str, key: str) -> None:
        self.secrets.append((what, key[20:]))  # prefix and selector are public

    def response(self, where: str, response) -> None:
        self.cookies += [f"{where}: {m.key}={m.value}" for m in response.cookies.values()]


def sessions() -> list[str]:
    return [str(session.get_decoded()) for session in Session.objects.all()]


def run_every_flow(audit: Audit, settings) -> None:
    settings.SECURETOKENS = {
        **settings.SECURETOKENS,
        "EMAIL_VERIFICATION_RATE_PER_EMAIL": None,
        "PASSWORD_RESET_CONFIRM_RATE_PER_IP": ((3, 60),),
    }
    user = UserFactory(email="user@example.com", password=PASSWORD)
    UserFactory(email="coder@example.com", password=PASSWORD)
    admin_user = UserFactory(is_staff=True, is_superuser=True)
    audit.secrets.append(("new password", NEW_PASSWORD))

    # Password reset: request, open the link, set a new password.
    client = Client()
    audit.response("reset request", client.post(RESET, {"email": user.email}))
    path = mailed_path(mail.outbox[-1])
    audit.token("reset link", path.rstrip("/").rsplit("/", 1)[1])
    audit.response("reset link", client.get(path))
    page = client.get(SET)
    audit.pages.append(("set-password page", page.content.decode()))
    done = client.post(SET, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    audit.response("set password", done)
    assert done.status_code == 302
    # A link opened too often: the 429 must not reach the django.request log with its path.
    throttled = [Client().get(path) for _ in range(4)]
    assert throttled[-1].status_code == 429
    for response in throttled:
        audit.response("throttled link", response)

    # Password reset by code, for another account: the code page, then the same set page.
    settings.SECURETOKENS = {**settings.SECURETOKENS, "PASSWORD_RESET_METHOD": "code"}
    by_code = Client()
    audit.response("reset request (code)", by_code.post(RESET, {"email": "coder@example.com"}))
    code = "".join(re.search(r"\b(\d{3}) (\d{3})\b", mail.outbox[-1].body).groups())
    audit.codes.append(code)
    audit.pages.append(("reset code page", by_code.get(RESET_CODE).content.decode()))
    audit.response("reset code", by_code.post(RESET_CODE, {"code": code}))
    done = by_code.post(SET, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302
    audit.cookies += [f"code jar: {c.key}={c.value}" for c in by_code.cookies.values()]
    settings.SECURETOKENS = {**settings.SECURETOKENS, "PASSWORD_RESET_METHOD": "link"}

    # Email verification by code, then by link.
    user.refresh_from_db()  # the new password hash, or the session would be refused
    signed_in = Client()
    signed_in.force_login(user)
    signed_in.post(START)
    code, link = mailed_code_and_link(mail.outbox[-1])
    audit.codes.append(code)
    audit.token("verification link (unused)", link.rstrip("/").rsplit("/", 1)[1])
    audit.pages.append(("code page", signed_in.get(CODE).content.decode()))
    audit.response("code", signed_in.post(CODE, {"code": code}))
    second = Client()
    second.force_login(UserFactory(email="second@example.com"))
    second.post(START)
    code, link = mailed_code_and_link(mail.outbox[-1])
    audit.codes.append(code)
    audit.token("verification link", link.rstrip("/").rsplit("/", 1)[1])
    audit.response("verification link GET", second.get(link))
    audit.response("verification link POST", second.post(link))

    # Email change: ask, then confirm by link.
    signed_in.force_login(user)
    audit.response(
        "email change",
        signed_in.post(CHANGE, {"email": "new@example.com", "password": NEW_PASSWORD}),
    )
    code, link = mailed_code_and_link(mail.outbox[-1])
    audit.codes.append(code)
    audit.token("email change link", link.rstrip("/").rsplit("/", 1)[1])
    audit.response("email change GET", signed_in.get(link))
    audit.response("email change POST", signed_in.post(link))

    # An API key issued in the admin (shown once), used, rotated, used again.
    admin = Client()
    admin.force_login(admin_user)
    issued = admin.post(
        f"{ADMIN_KEYS}add/",
        {"name": "audit", "user": user.pk, "scopes": "", "never_expires": "on"},
    )
    [secret] = set(KEY_RE.findall(issued.content.decode()))
    audit.key("issued API key", secret)
    audit.response("key issue", issued)
    used = Client().get(WHOAMI, HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert used.status_code == 200
    audit.response("key use", used)
    key = APIKey.objects.get()
    rotated = admin.post(f"{ADMIN_KEYS}{key.pk}/rotate/", {"grace": "0"})
    [new_secret] = set(KEY_RE.findall(rotated.content.decode()))
    audit.key("rotated API key", new_secret)
    audit.response("key rotation", rotated)
    assert Client().get(WHOAMI, HTTP_AUTHORIZATION=f"Bearer {new_secret}").status_code == 200
    assert Client().get(WHOAMI, HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 401
    engine_key, engine_secret = APIKey.objects.rotate(key)
    audit.key("engine-rotated API key", engine_secret)

    # The admin pages, after all of it.
    for url in (
        ADMIN_KEYS,
        f"{ADMIN_KEYS}{key.pk}/change/",
        "/admin/django_securetokens/securetoken/",
        *(
            f"/admin/django_securetokens/securetoken/{pk}/change/"
            for pk in SecureToken.objects.values_list("pk", flat=True)
        ),
        f"/admin/auth/user/{user.pk}/change/",
        "/admin/admin/logentry/",
    ):
        response = admin.get(url)
        assert response.status_code in (200, 404), url
        audit.pages.append((url, response.content.decode()))
    audit.cookies += [f"admin jar: {c.key}={c.value}" for c in admin.cookies.values()]
    audit.cookies += [f"user jar: {c.key}={c.value}" for c in signed_in.cookies.values()]
    audit.cookies += [f"reset jar: {c.key}={c.value}" for c in client.cookies.values()]


def sign_in_by_email(audit: Audit, settings) -> None:
    """Passwordless sign-in (R-84) on each of its paths, each for its own account."""
    settings.SECURETOKENS = {**settings.SECURETOKENS, "LOGIN_CONFIRM_RATE_PER_IP": ((3, 60),)}
    for name in ("by-code", "by-link", "by-json"):
        UserFactory(email=f"{name}@example.com")

    # By code, after a wrong one: a mistyped code is close to the real one, so it is
    # searched for too.
    by_code = Client()
    asked = by_code.post(LOGIN, {"email": "by-code@example.com", "next": "/after/"})
    audit.response("sign-in request", asked)
    code, token = code_and_token(mail.outbox[-1])
    audit.codes += [code, wrong(code)]
    audit.token("sign-in link (unused)", token)
    audit.pages.append(("sign-in code page", by_code.get(LOGIN_CODE).content.decode()))
    audit.response("sign-in wrong code", by_code.post(LOGIN_CODE, {"code": wrong(code)}))
    signed_in = by_code.post(LOGIN_CODE, {"code": code})
    assert signed_in.status_code == 302 and SESSION_KEY in by_code.session
    audit.response("sign-in code", signed_in)

    # By link: the GET shows a button, the POST signs in; then the spent link is opened
    # until it is throttled, a 429 Django would log with its path.
    by_link = Client()
    audit.response("sign-in request (link)", by_link.post(LOGIN, {"email": "by-link@example.com"}))
    code, token = code_and_token(mail.outbox[-1])
    audit.codes.append(code)
    audit.token("sign-in link", token)
    path = reverse("securetokens:login_confirm", kwargs={"token": token})
    button = by_link.get(path)
    audit.response("sign-in link GET", button)
    audit.pages.append(("sign-in confirm page", button.content.decode()))
    signed_in = by_link.post(path)
    assert signed_in.status_code == 302 and SESSION_KEY in by_link.session
    audit.response("sign-in link POST", signed_in)
    throttled = [Client().get(path) for _ in range(4)]
    assert throttled[-1].status_code == 429
    for response in throttled:
        audit.response("throttled sign-in link", response)

    # By code over JSON.
    api = APIClient()
    asked = api.post(API_LOGIN, {"email": "by-json@example.com"}, format="json")
    assert asked.status_code == 202
    code, token = code_and_token(mail.outbox[-1])
    audit.codes.append(code)
    audit.token("sign-in link (JSON, unused)", token)
    confirmed = api.post(
        API_LOGIN_CONFIRM, {"email": "by-json@example.com", "code": code}, format="json"
    )
    assert confirmed.status_code == 200 and SESSION_KEY in api.session
    audit.response("sign-in JSON", confirmed)
    audit.pages.append(("sign-in JSON answer", confirmed.content.decode()))

    for jar, visitor in (("code", by_code), ("link", by_link), ("JSON", api)):
        audit.cookies += [
            f"sign-in {jar} jar: {c.key}={c.value}" for c in visitor.cookies.values()
        ]


def error_page_for_a_code_post(view, url: str, code: str, user, session) -> str:
    """Django's technical 500 page for a code submission that blew up inside *view*."""
    request = RequestFactory().post(url, {"code": code})
    request.session = session
    request.user = user
    request._dont_enforce_csrf_checks = True

    def broken(self, form):
        raise RuntimeError("injected fault")

    original = view.form_valid
    view.form_valid = broken
    try:
        with pytest.raises(RuntimeError):
            view.as_view()(request)
        exc_info = sys.exc_info()
    finally:
        view.form_valid = original
    return ExceptionReporter(request, *exc_info).get_traceback_html()


def test_no_secret_is_left_anywhere_after_every_flow(settings, caplog):
    for name in [None, *logging.root.manager.loggerDict]:  # caplog restores every level
        caplog.set_level(logging.DEBUG, logger=name)
    audit = Audit()
    started = timezone.now()
    run_every_flow(audit, settings)
    sign_in_by_email(audit, settings)
    user = UserFactory(email="third@example.com")
    signed = Client()
    signed.force_login(user)
    signed.post(START)
    code, _ = mailed_code_and_link(mail.outbox[-1])
    audit.codes.append(code)
    page = error_page_for_a_code_post(EmailVerificationCodeView, CODE, code, user, signed.session)
    audit.pages.append(("technical 500 page", page))
    UserFactory(email="fourth@example.com")
    visitor = Client()
    visitor.post(LOGIN, {"email": "fourth@example.com"})
    code, token = code_and_token(mail.outbox[-1])
    audit.codes.append(code)
    audit.token("sign-in link (500 page)", token)
    page = error_page_for_a_code_post(
        LoginCodeView, LOGIN_CODE, code, AnonymousUser(), visitor.session
    )
    audit.pages.append(("technical 500 page (sign-in)", page))

    logs = [record.getMessage() for record in caplog.records]
    logs += [str(record.args) for record in caplog.records]
    logs += [record.exc_text or "" for record in caplog.records]
    places: dict[str, list[str]] = {
        "database": dump_cells(),
        "sessions": sessions(),
        "cache": [f"{key} {value!r}" for key, value in cache_entries()],
        "logs": logs,
        "pages": [text for _, text in audit.pages],
        "cookies": audit.cookies,
    }
    assert all(places[p] for p in ("database", "sessions", "logs", "pages", "cookies"))
    assert len(audit.secrets) >= 12 and len(audit.codes) >= 10

    hits = []
    for place, texts in places.items():
        haystack = "\n".join(texts)
        for what, secret in audit.secrets:
            for form in encodings(secret):
                if form in haystack:
                    hits.append(f"{what} in {place} as {form!r}")
        textual = "\n".join(NOT_A_CODE.sub("", t) for t in texts)
        if place == "database":  # only text cells: bytes are dumped as hex and latin-1
            textual = "\n".join(NOT_A_CODE.sub("", c) for c in texts if c.isprintable())
        for code in audit.codes:
            if re.search(rf"(?<!\d){code}(?!\d)", textual):
                hits.append(f"code {code} in {place}")
    assert hits == [], "\n".join(hits)
    assert started <= timezone.now()


def test_every_function_that_holds_a_secret_hides_it_from_error_reports():
    """R-46: a parameter named for a secret (a link's secret, a code, a verifier) is hidden
    from Django's error report in every function of the package that takes one, so a fault
    anywhere below it (a database error, a broken template) cannot report it. crypto and
    recipes import no Django (their callers hide the values); management commands print
    tracebacks without variables."""
    import ast
    from pathlib import Path

    import django_securetokens

    package = Path(django_securetokens.__file__).parent
    exempt = {"crypto.py", "recipes.py"}
    held = ("secret", "code", "verifier")
    bare = []
    for path in sorted(package.rglob("*.py")):
        if path.name in exempt or {"migrations", "management"} & set(path.parts):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            names = [a.arg for a in (*node.args.args, *node.args.kwonlyargs) if a.arg in held]
            hidden = " ".join(
                ast.unparse(d)
                for d in node.decorator_list
                if "sensitive_variables" in ast.unparse(d)
            )
            bare += [
                f"{path.name}:{node.lineno} {node.name}({n})"
                for n in names
                if repr(n) not in hidden and f'"{n}"' not in hidden
            ]
    assert bare == []
