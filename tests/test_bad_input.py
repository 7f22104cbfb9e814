"""Hostile input against every public entry point: a TokenError, nothing else (R-70…R-76)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext

from django_securetokens.exceptions import TokenError
from django_securetokens.models import APIKey, SecureToken

pytestmark = pytest.mark.django_db

HOSTILE = [
    None,
    0,
    1.5,
    [],
    {},
    object(),
    b"",
    b"0123456789abcdef" + b"A" * 43,
    bytearray(b"123456"),
    "",
    " ",
    "None",
    "null",
    "\0",
    "0123456789abcdef" + "A" * 42 + "\0",
    "%00",
    "%ZZ",
    "\n",
    "é" * 59,
    "😀" * 59,
    "ÿ" * 59,
    "\udc80" * 59,
    "\ud800",
    "A" * 257,
    "A" * 10_000,
    "A" * 10 * 1024 * 1024,
    "0123456789abcdef" + "A" * 44,
    "١٢٣٤٥٦",
    "１２３４５６",
    "sk_live_" + "A" * 49,
    "' OR 1=1 --",
]


@pytest.mark.parametrize("value", HOSTILE, ids=lambda v: repr(v)[:30])
def test_token_entry_points(reset_token, value):
    token, _ = reset_token
    for call in (SecureToken.objects.verify, SecureToken.objects.consume):
        with pytest.raises(TokenError):
            call(value, purpose="password_reset")
        with pytest.raises(TokenError):
            call(value, purpose=value)
    token.refresh_from_db()
    assert token.used_at is None and token.revoked_at is None


@pytest.mark.parametrize("value", HOSTILE, ids=lambda v: repr(v)[:30])
def test_code_entry_points(code_token, user, value):
    for call in (SecureToken.objects.verify_code, SecureToken.objects.consume_code):
        with pytest.raises(TokenError):
            call(value, purpose="email_verification", user=user)
        with pytest.raises(TokenError):
            call("123456", purpose="email_verification", email=value)
        with pytest.raises(TokenError):
            call("123456", purpose=value, user=user)


@pytest.mark.parametrize("value", HOSTILE, ids=lambda v: repr(v)[:30])
def test_api_key_entry_points_issue_no_query(api_key, value):
    with CaptureQueriesContext(connection) as queries:
        for call in (APIKey.objects.authenticate, APIKey.objects.revoke_secret):
            with pytest.raises(TokenError):
                call(value)
    assert len(queries) == 0


@pytest.mark.parametrize("value", HOSTILE, ids=lambda v: repr(v)[:30])
def test_malformed_tokens_issue_no_query(db, value):
    with CaptureQueriesContext(connection) as queries, pytest.raises(TokenError):
        SecureToken.objects.verify(value, purpose="password_reset")
    assert len(queries) == 0


@pytest.mark.parametrize("email", ["İ" * 200 + "@example.com", "a" * 255])
def test_addresses_that_grow_when_lowercased_are_refused(email):
    """R-70: lower-casing 'İ' doubles its length; the cap is checked after it."""
    with pytest.raises(TokenError):
        SecureToken.objects.issue_code(purpose="email_verification", email=email)


@pytest.mark.parametrize("bad_user", [object(), "alice", 1, Group(name="g")])
def test_wrong_user_types_are_token_errors(bad_user):
    with pytest.raises(TokenError):
        SecureToken.objects.verify_code("123456", purpose="email_verification", user=bad_user)
    with pytest.raises(TokenError):
        SecureToken.objects.issue(bad_user, purpose="password_reset")
