"""Who a secret belongs to: a user, an email address, or a user proving an address.

Every rule about owners lives here: how an address is normalised for binding and lookup,
how a user's address is read, the collation-proof key that indexes an owner, and the
fingerprint that ties a token to the user's password and address at issue time.
"""

from __future__ import annotations

import contextlib
import hashlib
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from . import crypto
from .exceptions import InvalidToken

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser


def normalize_email(email: object) -> str:
    """Lower-case an address for binding and lookup.

    Refuse what no address can contain (control characters, lone surrogates) before it
    reaches a query, and check the length after lower-casing, which can lengthen a string
    (R-73, R-74). Raises :class:`~django_securetokens.exceptions.InvalidToken`.
    """
    if not isinstance(email, str) or len(email) > 254 or not email.isprintable():
        raise InvalidToken("bad email")
    try:
        email.encode("utf-8")
    except UnicodeEncodeError:  # pragma: no cover - isprintable() already refuses surrogates
        raise InvalidToken("bad email") from None
    normalized = email.strip().lower()
    if not 0 < len(normalized) <= 254:
        raise InvalidToken("bad email")
    return normalized


def canonical_email(email: str) -> str:
    """*email* as one mailbox: NFKC, case-folded, and its domain IDNA-encoded (R-77).

    Two addresses are one mailbox for the flows when their canonical forms are equal: the
    comparison Django adopted for CVE-2019-19844 (Unicode TR 36), plus the ASCII domain
    Django's mail backend sends to, so ``owner@ｅxample.com`` (full-width letters), which
    is delivered to ``owner@example.com``, is that address too. Rate limits count by it,
    verification secrets are bound to it and its mail goes to it. A domain IDNA cannot
    encode keeps its Unicode form: no mail backend can deliver to it either.
    :func:`normalize_email` is the check a bound address must pass; :func:`mailbox` both.
    """
    folded = unicodedata.normalize("NFKC", email).casefold()
    local, at, domain = folded.rpartition("@")
    with contextlib.suppress(UnicodeError):
        # The codec also splits on the ideographic full stop, as resolvers do.
        domain = domain.encode("idna").decode("ascii")
    return f"{local}{at}{domain}"


def mailbox(email: object) -> str:
    """The canonical form (:func:`canonical_email`) of *email* that a flow counts, binds
    and mails, checked by :func:`normalize_email` before and after canonicalising, since
    NFKC can lengthen a string. Raises
    :class:`~django_securetokens.exceptions.InvalidToken` like :func:`normalize_email`.
    """
    return normalize_email(canonical_email(normalize_email(email)))


def validate_mailbox(value: object) -> None:
    """A form and serializer validator: refuse an address :func:`mailbox` refuses, such as
    one with a soft hyphen or a zero-width joiner in its domain, which Django's
    ``EmailField`` accepts (R-80). The same rule, so a form error comes before the
    engine's :class:`~django_securetokens.exceptions.InvalidToken` could."""
    try:
        mailbox(value)
    except InvalidToken:
        raise ValidationError(_("Enter a valid email address."), code="invalid") from None


def email_of(user: AbstractBaseUser) -> str:
    """The address stored on *user*, whatever its model calls the field; ``""`` if none."""
    return getattr(user, user.get_email_field_name(), "") or ""


def owner_key(user_pk: object, email: str) -> str:
    """The index key for an owner: a SHA-256 of ``user:<pk>`` or ``email:<address>``.

    Lowercase hex, so no database collation (MySQL's are case- and accent-insensitive)
    can make two owners look alike, and no address needs storing in the slot table.
    """
    identity = f"user:{user_pk}" if user_pk is not None else f"email:{email}"
    return hashlib.sha256(identity.encode()).hexdigest()


def user_state(key: bytes, user: AbstractBaseUser | None) -> bytes | None:
    """A keyed fingerprint of the user's password hash and email address.

    Stored at issue time and compared at use time, so a token dies when either changes by
    any path, ``QuerySet.update()`` included, with no signal handlers to miss it (R-26).
    """
    if user is None:
        return None
    return crypto.digest(key, b"user-state", user.password.encode(), email_of(user).encode())


@dataclass(frozen=True)
class Owner:
    """Who a secret belongs to: a user, an address, or a user proving a (new) address."""

    user: AbstractBaseUser | None
    email: str  # the bound address, normalised; "" when only a user is given
    key: str  # see owner_key

    @classmethod
    def of(cls, user: object, email: object) -> Owner:
        """The owner for a caller's *user* and/or *email*; raise InvalidToken if neither
        is given or *user* is not a saved instance of ``AUTH_USER_MODEL``."""
        normalized = normalize_email(email) if email is not None else ""
        if user is None:
            if not normalized:
                raise InvalidToken("a user or an email address is required")
            return cls(None, normalized, owner_key(None, normalized))
        # _state.adding, not pk: a UUID primary key has a value before the row exists.
        if not isinstance(user, get_user_model()) or user._state.adding:
            raise InvalidToken("user must be a saved instance of AUTH_USER_MODEL")
        return cls(user, normalized, owner_key(user.pk, normalized))
