"""The ``secrets`` module's recipes, ready to use: tokens, codes, passwords, passphrases,
API keys and signing keys.

Pure Python with no Django import, so it is safe to use anywhere. Every value comes from
:mod:`secrets` (R-01). The ``generatesecret`` management command is a thin shell over it.
"""

from __future__ import annotations

import base64
import secrets
import string
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from . import crypto

#: Characters that are easy to confuse in print or when read aloud.
LOOKALIKES = frozenset("Il1|O0o`'\"")
SYMBOLS = "!#$%&()*+,-./:;<=>?@[]^_{}~"

#: The EFF large word list (7,776 words, 12.9 bits each), shipped with the package.
WORDLIST_PATH = Path(__file__).with_name("data") / "eff_large_wordlist.txt"


def token_urlsafe(nbytes: int = 32) -> str:
    """A URL-safe text token of *nbytes* random bytes (43 characters for 32 bytes)."""
    return secrets.token_urlsafe(nbytes)


def token_hex(nbytes: int = 32) -> str:
    """A hexadecimal token of *nbytes* random bytes."""
    return secrets.token_hex(nbytes)


def code(digits: int = 6) -> str:
    """A numeric code of exactly *digits* digits, leading zeros kept."""
    if not 1 <= digits <= 64:
        raise ValueError("digits must be between 1 and 64")
    return crypto.new_code(digits)


def password(
    length: int = 20,
    *,
    lowercase: int = 1,
    uppercase: int = 1,
    digits: int = 1,
    symbols: int = 1,
    exclude_lookalikes: bool = False,
) -> str:
    """A random password with at least the given number of characters of each class.

    Classes asked for with 0 are left out entirely. The required characters are drawn from
    their class, the rest from the union of the classes, and the whole is shuffled with the
    OS generator, so no class sits at a predictable position.
    """
    minimums = {
        string.ascii_lowercase: lowercase,
        string.ascii_uppercase: uppercase,
        string.digits: digits,
        SYMBOLS: symbols,
    }
    if any(n < 0 for n in minimums.values()) or not any(minimums.values()):
        raise ValueError("class minimums must be >= 0, and at least one must be positive")
    if sum(minimums.values()) > length:
        raise ValueError("length is shorter than the sum of the class minimums")
    classes = {
        "".join(c for c in chars if not (exclude_lookalikes and c in LOOKALIKES)): n
        for chars, n in minimums.items()
        if n
    }
    alphabet = "".join(classes)
    chars = [secrets.choice(pool) for pool, n in classes.items() for _ in range(n)]
    chars += [secrets.choice(alphabet) for _ in range(length - len(chars))]
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)


@cache
def default_wordlist() -> tuple[str, ...]:
    """The shipped EFF large word list."""
    return tuple(WORDLIST_PATH.read_text(encoding="utf-8").split())


def load_wordlist(path: str | Path) -> tuple[str, ...]:
    """Read a word list, one word per line; blank lines and duplicates are dropped."""
    words = dict.fromkeys(Path(path).read_text(encoding="utf-8").split())
    if len(words) < 1000:
        raise ValueError("a word list needs at least 1,000 distinct words")
    return tuple(words)


def passphrase(
    words: int = 6, *, separator: str = "-", wordlist: Sequence[str] | None = None
) -> str:
    """*words* words drawn uniformly from *wordlist* (default: the EFF large list).

    Six EFF words carry about 77.5 bits.
    """
    if words < 1:
        raise ValueError("words must be at least 1")
    choices = default_wordlist() if wordlist is None else wordlist
    return separator.join(secrets.choice(choices) for _ in range(words))


def api_key(prefix: str = "sk_live", body_length: int = 43) -> str:
    """An API key in this package's ``<prefix>_<body><checksum>`` format."""
    if not crypto.is_valid_prefix(prefix):
        raise ValueError("prefix must be [a-z0-9]{2,10}, optionally '_' and another segment")
    return crypto.new_api_key(prefix, body_length)[2]


def signing_key(nbytes: int = 32) -> str:
    """A key for HMAC signing (or a Django ``SECRET_KEY``): *nbytes* random bytes,
    base64-encoded."""
    return base64.b64encode(secrets.token_bytes(nbytes)).decode("ascii")
