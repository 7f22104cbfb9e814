"""Property-based fuzzing of the HTTP entry points and the forms: any body, path or header
ends in a 4xx/2xx/3xx answer, never a 500 or a database error, and changes no state.

The engine is fuzzed in test_fuzz_engine.py; this file drives the same hostile inputs through
Django's test client, so URL routing, percent-decoding, form parsing, the session reference
and the API-key header parsing are all in the path. Django's client re-raises any exception
a view lets escape (a DatabaseError, a UnicodeError, a TypeError), so "no exception" here
means "no HTTP 500". The per-IP rate limits are switched off so every input reaches the
code behind them; that those limits count bad input is tested elsewhere (R-76).

Budget: ``SECURETOKENS_FUZZ_EXAMPLES`` per test (200 by default; ``make fuzz`` sets CI's
fixed, derandomised budget so the two fuzz files generate well over 10,000 inputs).
"""

from __future__ import annotations

from urllib.parse import quote, quote_from_bytes

import pytest
from django.contrib.auth.forms import SetPasswordForm
from django.core import mail
from django.test import Client, RequestFactory
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from django_securetokens import crypto, limits
from django_securetokens.forms import (
    EmailChangeForm,
    PasswordResetRequestForm,
    VerificationCodeForm,
)
from django_securetokens.models import APIKey, SecureToken

from .conftest import mailed_code_and_link
from .factories import UserFactory
from .strategies import FUZZ, URLSAFE, tampered, well_formed_token

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("mail_now")]


PASSWORD = "correct horse battery staple"

RESET = reverse("securetokens:password_reset")
SET = reverse("securetokens:password_reset_set")
RESET_CODE = reverse("securetokens:password_reset_code")
START = reverse("securetokens:email_verification")
CODE = reverse("securetokens:email_verification_code")
WHOAMI = reverse("whoami")

#: Text of every kind: control characters, NUL, lone surrogates, astral and
#: non-ASCII digits, sizes from empty to past the 256-character cap.
hostile_text = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="latin-1"), max_size=80),
    st.text(alphabet=st.characters(categories=["Cs", "Cc", "Nd"]), max_size=20),
    st.text(alphabet=URLSAFE, min_size=40, max_size=70),
    st.sampled_from(["", "None", "null", "0", "١٢٣٤٥٦", "１２３４５６", "123 456", "\x00" * 6]),
    st.integers(min_value=1000, max_value=20000).map(lambda n: "A" * n),
)
hostile_bytes = st.one_of(
    hostile_text.map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.binary(max_size=300),
)


def form_body(**fields: bytes) -> bytes:
    """A urlencoded body from raw bytes, which may be invalid UTF-8."""
    return b"&".join(
        name.encode() + b"=" + quote_from_bytes(value, safe="").encode()
        for name, value in fields.items()
    )


def post_raw(client: Client, path: str, body: bytes):
    return client.post(path, body, content_type="application/x-www-form-urlencoded")


@pytest.fixture(autouse=True)
def _no_ip_limits(settings):
    per_client = {limit.setting: None for limit in limits.ALL if limit.setting.endswith("_PER_IP")}
    settings.SECURETOKENS = {**settings.SECURETOKENS, **per_client}


def snapshot():
    """What must not change: every token and key row, and every password hash."""
    from django.contrib.auth import get_user_model

    tokens = list(
        SecureToken.objects.order_by("pk").values_list("pk", "used_at", "revoked_at", "digest")
    )
    keys = list(APIKey.objects.order_by("pk").values_list("pk", "revoked_at", "digest"))
    users = list(get_user_model().objects.order_by("pk").values_list("pk", "password", "email"))
    return tokens, keys, users


# --- password reset --------------------------------------------------------------------------


def test_reset_request_email_field(client):
    """Unknown and malformed addresses send nothing; the answer is a redirect or the form."""
    UserFactory(email="user@example.com")
    before = snapshot()

    @FUZZ
    @given(email=hostile_bytes)
    def check(email):
        response = post_raw(client, RESET, form_body(email=email))
        assert response.status_code in (200, 302)

    check()
    assert snapshot() == before and mail.outbox == []


def test_reset_link_path(client, reset_token):
    """The token in the path: raw percent-encoded bytes, well-formed and tampered tokens.
    Nothing is consumed on GET, and a bad link is the invalid-link page, never a 404 or 500."""
    _, secret = reset_token
    before = snapshot()
    prefix = "/accounts/reset/"

    @FUZZ
    @given(
        value=st.one_of(
            hostile_bytes.map(lambda b: quote_from_bytes(b, safe="")),
            st.one_of(well_formed_token(), tampered(secret)).map(lambda s: quote(s, safe="")),
            st.sampled_from(["%00", "%0a", "%ZZ", "%", "%%", "..", "a/b", "%2F"]),
        )
    )
    def check(value):
        response = client.get(prefix + value + "/")
        assert response.status_code in (200, 302, 404)
        assert secret not in response.content.decode("utf-8", "replace")

    check()
    assert snapshot() == before


def test_set_password_post_with_a_live_reference(client, reset_token):
    """With a genuine session reference, mismatched passwords of any kind are form errors;
    the token stays unused and the password unchanged."""
    _, secret = reset_token
    assert client.get(f"/accounts/reset/{secret}/").status_code == 302
    before = snapshot()

    @FUZZ
    @given(one=hostile_bytes, two=hostile_bytes)
    def check(one, two):
        if one == two:
            two += b"!"
        response = post_raw(client, SET, form_body(new_password1=one, new_password2=two))
        assert response.status_code == 200

    check()
    assert snapshot() == before


def test_set_password_post_without_a_reference(client, user):
    before = snapshot()

    @FUZZ
    @given(one=hostile_bytes)
    def check(one):
        response = post_raw(client, SET, form_body(new_password1=one, new_password2=one))
        assert response.status_code == 200

    check()
    assert snapshot() == before


def test_reset_code_post_for_an_address_in_the_session(client, user, settings):
    """No submitted code but the mailed one reaches the set-password page, and none changes a
    row (the attempt counters may rise)."""
    settings.SECURETOKENS = {**settings.SECURETOKENS, "PASSWORD_RESET_METHOD": "code"}
    client.post(RESET, {"email": user.email})
    code = "".join(mail.outbox[-1].body.split("\n    ", 1)[1].split()[:2])
    assert code.isdigit() and len(code) == 6
    before = snapshot()

    @FUZZ
    @given(value=hostile_bytes)
    def check(value):
        if value.replace(b" ", b"").replace(b"-", b"") == code.encode():
            return
        response = post_raw(client, RESET_CODE, form_body(code=value))
        assert response.status_code in (200, 400)

    check()
    assert snapshot() == before
    assert client.get(SET).context["form"] is None  # no reference reached the session


# --- email verification ----------------------------------------------------------------------


def test_code_post_with_a_pending_session(client, user):
    """Every submission is an attempt (so the per-code counter may rise), but none verifies."""
    client.force_login(user)
    client.post(START)
    code, _ = mailed_code_and_link(mail.outbox[-1])

    @FUZZ
    @given(value=hostile_bytes)
    def check(value):
        if value.replace(b" ", b"").replace(b"-", b"") == code.encode():
            return
        response = post_raw(client, CODE, form_body(code=value))
        assert response.status_code in (200, 302, 400)
        assert response.status_code != 302 or "verified" not in response["Location"]

    check()
    assert not SecureToken.objects.filter(used_at__isnull=False).exists()


def test_verification_link_get_and_post(client, user):
    client.force_login(user)
    client.post(START)
    _, link = mailed_code_and_link(mail.outbox[-1])
    secret = link.rstrip("/").rsplit("/", 1)[1]
    prefix = link[: -len(secret) - 1]
    before = snapshot()

    @FUZZ
    @given(
        value=st.one_of(
            hostile_bytes.map(lambda b: quote_from_bytes(b, safe="")),
            st.one_of(well_formed_token(), tampered(secret)).map(lambda s: quote(s, safe="")),
        ),
        method=st.sampled_from(["get", "post"]),
    )
    def check(value, method):
        response = getattr(client, method)(prefix + value + "/")
        assert response.status_code in (200, 302, 404, 405)

    check()
    assert snapshot() == before


# --- API-key headers -------------------------------------------------------------------------


def test_api_key_headers(client, api_key):
    _, secret = api_key
    prefix_body = st.text(alphabet=crypto.BASE62, min_size=49, max_size=49).map(
        lambda s: "sk_live_" + s
    )
    values = st.one_of(hostile_text, prefix_body, tampered(secret))
    before = snapshot()

    @FUZZ
    @given(
        value=values,
        header=st.sampled_from(["HTTP_AUTHORIZATION", "HTTP_X_API_KEY"]),
        scheme=st.sampled_from(["Bearer ", "bearer ", "Token ", "Basic ", "", "Bearer  "]),
    )
    def check(value, header, scheme):
        full = scheme + value if header == "HTTP_AUTHORIZATION" else value
        if secret in full:
            return
        response = client.get(WHOAMI, **{header: full})
        assert response.status_code in (400, 401, 403)

    check()
    assert snapshot() == before


# --- the forms, directly ---------------------------------------------------------------------


def test_forms_directly(user):
    before = snapshot()
    values = st.one_of(
        hostile_text,
        st.none(),
        st.integers(),
        st.lists(st.text(max_size=5), max_size=3),
        st.binary(max_size=50),
    )

    @FUZZ
    @given(value=values, other=values)
    def check(value, other):
        PasswordResetRequestForm(data={"email": value}).is_valid()
        VerificationCodeForm(data={"code": value}).is_valid()
        EmailChangeForm(
            user, data={"email": value, "password": other}, request=RequestFactory().post("/")
        ).is_valid()
        assert (
            not SetPasswordForm(
                user, data={"new_password1": value, "new_password2": f"{other}!"}
            ).is_valid()
            or value == f"{other}!"
        )

    check()
    assert snapshot() == before
