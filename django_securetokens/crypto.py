"""The pure cryptographic core: generate, split, digest and compare secrets.

Nothing here imports Django or reads settings: keys and sizes arrive as arguments, so this
module can be read, tested and audited on its own. Every function that takes untrusted input
checks its type, length and alphabet *before* any hashing, and raises
:class:`~django_securetokens.exceptions.InvalidToken` on anything unexpected (R-70 to R-75).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import zlib

from .exceptions import InvalidToken

#: Untrusted input longer than this is refused before any work is done on it (R-70, R-75).
MAX_INPUT_LENGTH = 256

#: Selectors are 8 random bytes in lowercase hex. Hex, not base64, so that a case-insensitive
#: database collation can never make two different selectors look alike.
SELECTOR_LENGTH = 16

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
API_KEY_CHECKSUM_LENGTH = 6
API_KEY_SELECTOR_LENGTH = 12

_URLSAFE = "A-Za-z0-9_-"
_SELECTOR_RE = f"[0-9a-f]{{{SELECTOR_LENGTH}}}"
_PREFIX_RE = re.compile(r"[a-z0-9]{2,10}(?:_[a-z0-9]{2,10})?")
_CODE_SEPARATORS = str.maketrans("", "", " -")


def _untrusted_str(value: object) -> str:
    """Return *value* if it is a str short enough to look at, else raise InvalidToken."""
    if not isinstance(value, str) or len(value) > MAX_INPUT_LENGTH:
        raise InvalidToken("not a string of acceptable length")
    return value


# --- keys -------------------------------------------------------------------------------------


def derive_key(secret: str | bytes, purpose: str) -> bytes:
    """Derive the 256-bit HMAC key for one purpose from a master secret (R-60).

    The purpose is the HMAC message and the master secret the HMAC key, so keys for different
    purposes are independent, and none of them can collide with Django's own ``salted_hmac``
    signatures, whose salts never start with our namespace.
    """
    if isinstance(secret, str):
        secret = secret.encode()
    label = f"django-securetokens.{purpose}.v1".encode()
    return hmac.new(secret, label, hashlib.sha256).digest()


def key_id(key: bytes) -> str:
    """A short, non-secret fingerprint of *key*, stored with each digest it made (R-10)."""
    return hmac.new(key, b"key-id", hashlib.sha256).hexdigest()[:16]


def digest(key: bytes, *parts: bytes) -> bytes:
    """HMAC-SHA-256 of *parts* under *key*; each part is length-prefixed so none can bleed
    into its neighbour (``"ab" + "c"`` and ``"a" + "bc"`` give different digests)."""
    mac = hmac.new(key, digestmod=hashlib.sha256)
    for part in parts:
        mac.update(len(part).to_bytes(4, "big"))
        mac.update(part)
    return mac.digest()


def digests_match(presented: bytes, stored: object) -> bool:
    """Compare two digests in constant time.

    Only ``bytes`` of equal length reach :func:`secrets.compare_digest`: a NULL or mistyped
    stored value is a mismatch, never a ``TypeError`` and never Django's ``force_bytes``
    coercion that makes ``None`` equal ``"None"`` (R-71, R-72).
    """
    if isinstance(stored, memoryview):  # PostgreSQL hands BinaryField values back this way
        stored = stored.tobytes()
    if not isinstance(stored, bytes) or len(stored) != len(presented):
        return False
    return secrets.compare_digest(presented, stored)


def new_salt() -> bytes:
    """A 128-bit random per-row salt for short codes (R-08)."""
    return secrets.token_bytes(16)


# --- URL tokens -------------------------------------------------------------------------------


def verifier_length(nbytes: int) -> int:
    """Length in characters of ``secrets.token_urlsafe(nbytes)`` (unpadded base64)."""
    return (nbytes * 4 + 2) // 3


def new_selector() -> str:
    """A new selector: independent random data used only to find a row.

    Because it is not part of the secret, looking it up in a database index (whose
    comparisons exit early) reveals nothing about the verifier, the part that proves
    possession and of which only a digest is stored.
    """
    return secrets.token_hex(SELECTOR_LENGTH // 2)


def new_verifier(nbytes: int) -> str:
    """A new verifier of *nbytes* random bytes; the URL token is ``selector + verifier``."""
    return secrets.token_urlsafe(nbytes)


def split_token(token: object, nbytes: int) -> tuple[str, str]:
    """Split a presented URL token into ``(selector, verifier)``, or raise InvalidToken."""
    token = _untrusted_str(token)
    pattern = f"{_SELECTOR_RE}[{_URLSAFE}]{{{verifier_length(nbytes)}}}"
    if not re.fullmatch(pattern, token):
        raise InvalidToken("malformed token")
    return token[:SELECTOR_LENGTH], token[SELECTOR_LENGTH:]


# --- numeric codes ----------------------------------------------------------------------------


def new_code(digits: int) -> str:
    """A uniformly random code of exactly *digits* ASCII digits, leading zeros kept (R-03)."""
    return f"{secrets.randbelow(10**digits):0{digits}d}"


def normalize_code(value: object, digits: int) -> str:
    """Drop ASCII spaces and hyphens, then require exactly *digits* ASCII digits (R-34).

    ``str.isdigit``, ``int()`` and an un-flagged ``\\d`` all accept Arabic-Indic and fullwidth
    digits, so the check is an explicit ``[0-9]`` class.
    """
    value = _untrusted_str(value).translate(_CODE_SEPARATORS)
    if not re.fullmatch(f"[0-9]{{{digits}}}", value):
        raise InvalidToken("malformed code")
    return value


# --- API keys ---------------------------------------------------------------------------------


def is_valid_prefix(prefix: object) -> bool:
    """Whether *prefix* is a valid API-key prefix: ``[a-z0-9]{2,10}``, optionally followed by
    one ``_segment`` of the same form (``acme`` or ``acme_live``)."""
    return isinstance(prefix, str) and _PREFIX_RE.fullmatch(prefix) is not None


def _base62(number: int, width: int) -> str:
    chars = []
    while number:
        number, rem = divmod(number, 62)
        chars.append(BASE62[rem])
    return "".join(reversed(chars)).rjust(width, "0")


def api_key_checksum(body: str) -> str:
    """CRC32 of *body* in 6 base62 characters: a typo and scanner filter, not a security
    control, since anyone can compute it (R-51, R-53)."""
    return _base62(zlib.crc32(body.encode("ascii")), API_KEY_CHECKSUM_LENGTH)


def new_api_key(
    prefix: str, body_length: int, selector: str | None = None
) -> tuple[str, str, str]:
    """Return ``(selector, verifier, key)`` for a new API key ``<prefix>_<body><checksum>``.

    The body is *body_length* base62 characters from the CSPRNG; its first
    ``API_KEY_SELECTOR_LENGTH`` characters are the selector, the rest the verifier. A
    rotation passes the key's existing *selector*, so only the verifier is new.
    """
    body = "".join(secrets.choice(BASE62) for _ in range(body_length))
    if selector is not None:
        body = selector + body[API_KEY_SELECTOR_LENGTH:]
    key = f"{prefix}_{body}{api_key_checksum(body)}"
    return body[:API_KEY_SELECTOR_LENGTH], body[API_KEY_SELECTOR_LENGTH:], key


def api_key_digest(key: bytes, selector: str, verifier: str) -> bytes:
    """The stored digest of an API key: HMAC-SHA-256 of its selector and verifier."""
    return digest(key, selector.encode(), verifier.encode())


def split_api_key(key: object, prefix: str, body_length: int) -> tuple[str, str]:
    """Check an API key's prefix, length, alphabet and checksum without any I/O, and return
    ``(selector, verifier)``; raise InvalidToken on any failure."""
    key = _untrusted_str(key)
    head = f"{prefix}_"
    if len(key) != len(head) + body_length + API_KEY_CHECKSUM_LENGTH or not key.startswith(head):
        raise InvalidToken("malformed API key")
    rest = key[len(head) :]
    if not re.fullmatch("[0-9A-Za-z]+", rest):
        raise InvalidToken("malformed API key")
    body, checksum = rest[:body_length], rest[body_length:]
    if not secrets.compare_digest(api_key_checksum(body), checksum):
        raise InvalidToken("bad API key checksum")
    return body[:API_KEY_SELECTOR_LENGTH], body[API_KEY_SELECTOR_LENGTH:]


def api_key_pattern(prefix: str, body_length: int) -> str:
    """The regular expression a secret scanner can use to find keys with *prefix* (R-52)."""
    return rf"\b{re.escape(prefix)}_[0-9A-Za-z]{{{body_length + API_KEY_CHECKSUM_LENGTH}}}\b"
