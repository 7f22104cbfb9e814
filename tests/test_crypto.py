"""The pure crypto layer: no database, no Django settings."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import zlib

import pytest

from django_securetokens import crypto
from django_securetokens.exceptions import InvalidToken


def test_crypto_and_recipes_import_no_django():
    """The pure layer stays pure (DESIGN layers)."""
    code = (
        "import sys, django_securetokens.crypto, django_securetokens.recipes;"
        "bad = [m for m in sys.modules if m == 'django' or m.startswith('django.')];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_verifier_is_token_urlsafe_of_requested_size():
    """R-01, R-02: token_urlsafe, 256 bits, 43 characters."""
    for nbytes in (16, 32, 48):
        verifier = crypto.new_verifier(nbytes)
        assert len(verifier) == crypto.verifier_length(nbytes)
        assert re.fullmatch(r"[A-Za-z0-9_-]+", verifier)
    assert crypto.verifier_length(32) == 43


def test_selectors_are_lowercase_hex_and_unique():
    selectors = {crypto.new_selector() for _ in range(2000)}
    assert len(selectors) == 2000
    assert all(re.fullmatch(r"[0-9a-f]{16}", s) for s in selectors)


def test_split_token_round_trip():
    selector, verifier = crypto.new_selector(), crypto.new_verifier(32)
    assert crypto.split_token(selector + verifier, 32) == (selector, verifier)


@pytest.mark.parametrize(
    "value",
    [
        None,
        b"0123456789abcdef" + b"a" * 43,
        123,
        "",
        "0123456789abcdef" + "a" * 42,
        "0123456789abcdef" + "a" * 44,
        "0123456789ABCDEF" + "a" * 43,  # selectors are lowercase hex
        "0123456789abcdef" + "a" * 42 + "=",
        "0123456789abcdef" + "a" * 42 + "\0",
        "0123456789abcdef" + "a" * 42 + "é",
        "0123456789abcdef" + "a" * 42 + "\udc80",
        "0123456789abcdef" + "a" * 43 + "\n",
        "x" * 10_000_000,
    ],
)
def test_split_token_rejects_bad_input(value):
    """R-70, R-71, R-73, R-74, R-75: syntax first, bounded work."""
    with pytest.raises(InvalidToken):
        crypto.split_token(value, 32)


def test_derived_keys_are_separated_by_purpose_and_secret():
    """R-09, R-60: one key per purpose."""
    a = crypto.derive_key("secret", "password_reset")
    assert len(a) == 32
    assert a != crypto.derive_key("secret", "email_verification")
    assert a != crypto.derive_key("other", "password_reset")
    assert a == crypto.derive_key(b"secret", "password_reset")
    assert crypto.key_id(a) != crypto.key_id(crypto.derive_key("other", "password_reset"))


def test_digest_is_keyed_and_length_prefixed():
    """R-07: keyed HMAC-SHA-256, not a plain hash."""
    key = crypto.derive_key("secret", "p")
    d = crypto.digest(key, b"ab", b"c")
    assert len(d) == 32
    assert d != crypto.digest(key, b"a", b"bc")
    assert d != crypto.digest(crypto.derive_key("other", "p"), b"ab", b"c")
    assert d != hashlib.sha256(b"abc").digest()


@pytest.mark.parametrize("stored", [None, "None", "", b"", b"x" * 31, bytearray(32), 0, "é" * 32])
def test_digests_match_never_raises_on_bad_stored_values(stored):
    """R-71, R-72: bytes only, no None == 'None'."""
    assert crypto.digests_match(b"\0" * 32, stored) is False


def test_digests_match_accepts_memoryview():
    d = b"\1" * 32
    assert crypto.digests_match(d, memoryview(d))
    assert not crypto.digests_match(d, memoryview(b"\2" * 32))


def test_codes_are_zero_padded_ascii_digits():
    """R-03: randbelow, zero-padded, ~10% leading zeros."""
    codes = [crypto.new_code(6) for _ in range(4000)]
    assert all(re.fullmatch(r"[0-9]{6}", c) for c in codes)
    leading_zero = sum(c[0] == "0" for c in codes) / len(codes)
    assert 0.07 < leading_zero < 0.13
    assert len(crypto.new_code(10)) == 10


@pytest.mark.parametrize("value", ["123456", "123 456", "123-456", " 12-34 56 "])
def test_normalize_code_drops_spaces_and_hyphens(value):
    assert crypto.normalize_code(value, 6) == "123456"


@pytest.mark.parametrize(
    "value",
    [
        "١٢٣٤٥٦",
        "１２３４５６",
        "12345６",
        "12345",
        "1234567",
        "12345a",
        "123\t456",
        None,
        123456,
        "1" * 300,
        "123_456",
        "123456\n",
    ],
)
def test_normalize_code_accepts_only_ascii_digits(value):
    """R-34: no Arabic-Indic or fullwidth digits."""
    with pytest.raises(InvalidToken):
        crypto.normalize_code(value, 6)


def test_api_key_format_and_checksum():
    """R-51: prefix, base62 body, CRC32 checksum."""
    keys = set()
    for _ in range(1000):
        selector, verifier, key = crypto.new_api_key("sk_live", 43)
        keys.add(key)
        assert re.fullmatch(r"sk_live_[0-9A-Za-z]{43}[0-9A-Za-z]{6}", key)
        body = key[len("sk_live_") : -6]
        assert body == selector + verifier
        assert len(selector) == crypto.API_KEY_SELECTOR_LENGTH
        checksum = key[-6:]
        number = 0
        for char in checksum:
            number = number * 62 + crypto.BASE62.index(char)
        assert number == zlib.crc32(body.encode())
        assert crypto.split_api_key(key, "sk_live", 43) == (selector, verifier)
    assert len(keys) == 1000


def test_api_key_rejects_flipped_checksum_and_wrong_prefix():
    """R-53: format checked without I/O."""
    _, _, key = crypto.new_api_key("sk_live", 43)
    flipped = key[:-1] + ("A" if key[-1] != "A" else "B")
    for bad in (flipped, "sk_test" + key[7:], key + "0", key[:-1], key.upper(), None, b"x"):
        with pytest.raises(InvalidToken):
            crypto.split_api_key(bad, "sk_live", 43)


def test_scanner_pattern_matches_keys_and_not_random_strings():
    """R-52: a scanner regex."""
    pattern = re.compile(crypto.api_key_pattern("sk_live", 43))
    assert all(pattern.search(crypto.new_api_key("sk_live", 43)[2]) for _ in range(200))
    body = "".join(crypto.BASE62[i % 62] for i in range(49))
    assert not pattern.search(body)
    assert not pattern.search("sk_test_" + body)


@pytest.mark.parametrize("prefix", ["sk", "acme", "acme_live", "a1b2c3d4e5_test"])
def test_valid_prefixes(prefix):
    assert crypto.is_valid_prefix(prefix)


@pytest.mark.parametrize("prefix", ["s", "SK", "sk-live", "sk_", "a_b", "abcdefghijk", None, "é1"])
def test_invalid_prefixes(prefix):
    assert not crypto.is_valid_prefix(prefix)


def test_a_rotated_api_key_keeps_its_selector_and_only_the_verifier_is_new():
    selector, verifier, key = crypto.new_api_key("sk", 43)
    same, new_verifier, new_key = crypto.new_api_key("sk", 43, selector=selector)
    assert same == selector and new_verifier != verifier and len(new_key) == len(key)
    assert crypto.split_api_key(new_key, "sk", 43) == (selector, new_verifier)
    assert crypto.api_key_digest(b"k" * 32, selector, verifier) == crypto.digest(
        b"k" * 32, selector.encode(), verifier.encode()
    )
