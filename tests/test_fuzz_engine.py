"""Property-based fuzzing of the Python API: any input ends as TokenError, never anything else,
and never changes state. A fixed, derandomised budget keeps CI reproducible."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from django_securetokens import crypto
from django_securetokens.exceptions import TokenError
from django_securetokens.models import APIKey, SecureToken

from .strategies import FUZZ, URLSAFE, tampered, well_formed_token

pytestmark = pytest.mark.django_db


anything = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.binary(max_size=300),
    st.text(max_size=300),  # includes control characters and lone surrogates
    st.text(alphabet=URLSAFE, min_size=50, max_size=70),
    st.lists(st.text(max_size=5), max_size=3),
)


def test_verify_and_consume(reset_token):
    token, secret = reset_token

    @FUZZ
    @given(value=st.one_of(anything, well_formed_token(), tampered(secret)))
    def check(value):
        with pytest.raises(TokenError):
            SecureToken.objects.consume(value, purpose="password_reset")

    check()
    token.refresh_from_db()
    assert token.used_at is None and token.revoked_at is None


def test_verify_code(user):
    token, code = SecureToken.objects.issue_code(user=user, purpose="email_verification")

    @FUZZ
    @given(value=anything, email=st.one_of(st.none(), st.text(max_size=40)))
    def check(value, email):
        if value == code:
            return
        with pytest.raises(TokenError):
            SecureToken.objects.verify_code(
                value, purpose="email_verification", user=user, email=email
            )

    check()
    token.refresh_from_db()
    assert token.used_at is None


def test_authenticate_api_key(api_key):
    key, secret = api_key
    prefix_body = st.text(alphabet=crypto.BASE62, min_size=49, max_size=49).map(
        lambda s: "sk_live_" + s
    )

    @FUZZ
    @given(value=st.one_of(anything, prefix_body, tampered(secret)))
    def check(value):
        with pytest.raises(TokenError):
            APIKey.objects.authenticate(value)

    check()
    key.refresh_from_db()
    assert key.revoked_at is None
