"""Managers own the life of every secret: issue, verify, consume, revoke and purge.

Each change that must happen once (consume, attempt counting, revoke) is a single
conditional ``UPDATE`` whose row count decides the outcome, or runs under a row lock, so
concurrent requests on PostgreSQL and MySQL/MariaDB cannot both win (R-18, R-20).
Locks are always taken in one order, the owner's slot row before token rows, so two
transactions can never wait on each other. Time is always ``timezone.now()`` from Python,
never the database clock.

Methods that hold a plaintext secret in a local variable are wrapped in
``sensitive_variables()``, so an unexpected exception (a failing signal receiver, a lost
database connection) cannot put the secret into Django's error report.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple
from weakref import WeakKeyDictionary

from asgiref.sync import sync_to_async
from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import connections, models, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from . import crypto, signals
from .conf import API_KEY_PURPOSE, current_key, get_policy, hmac_keys, setting, ttl_ceiling
from .exceptions import (
    ExpiredToken,
    InvalidToken,
    RevokedToken,
    TokenError,
    TooManyAttempts,
    UsedToken,
)

if TYPE_CHECKING:
    # Users are typed as AbstractBaseUser, what a host's AUTH_USER_MODEL is guaranteed to be.
    # django-stubs binds the foreign keys to the concrete model of the type-checking settings
    # instead, hence the few ignores where a user is written to a row.
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.db.backends.base.base import BaseDatabaseWrapper

    from .models import APIKey, SecureToken, TokenSlot

logger = logging.getLogger("django_securetokens")

# Key compared against when no row matches, so that the not-found path does the same HMAC
# work as the found path.
_DUMMY_KEY = b"\0" * 32

_PURPOSE_RE = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")


def _check_purpose(purpose: object) -> str:
    if not isinstance(purpose, str) or not _PURPOSE_RE.fullmatch(purpose):
        raise InvalidToken("bad purpose")
    return purpose


def _token_keys(purpose: str) -> dict[str, bytes]:
    # The "token." namespace keeps a SecureToken purpose from ever sharing a key with APIKey.
    return hmac_keys(f"token.{purpose}")


def _normalize_email(email: object) -> str:
    """Lower-case an address for binding and lookup. Refuse what no address can contain
    (control characters, lone surrogates) before it reaches a query, and check the length
    after lower-casing, which can lengthen a string (R-73, R-74)."""
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


def _owner_key(user_pk: object, email: str) -> str:
    """The index key for an owner: a SHA-256 of ``user:<pk>`` or ``email:<address>``.

    Lowercase hex, so no database collation (MySQL's are case- and accent-insensitive)
    can make two owners look alike, and no address needs storing in the slot table.
    """
    identity = f"user:{user_pk}" if user_pk is not None else f"email:{email}"
    return hashlib.sha256(identity.encode()).hexdigest()


@dataclass(frozen=True)
class _Owner:
    """Who a secret belongs to: a user, an address, or a user proving a (new) address."""

    user: AbstractBaseUser | None
    email: str  # the bound address, normalised; "" when only a user is given
    key: str  # see _owner_key

    @classmethod
    def of(cls, user: object, email: object) -> _Owner:
        normalized = _normalize_email(email) if email is not None else ""
        if user is None:
            if not normalized:
                raise InvalidToken("a user or an email address is required")
            return cls(None, normalized, _owner_key(None, normalized))
        # _state.adding, not pk: a UUID primary key has a value before the row exists.
        if not isinstance(user, get_user_model()) or user._state.adding:
            raise InvalidToken("user must be a saved instance of AUTH_USER_MODEL")
        return cls(user, normalized, _owner_key(user.pk, normalized))

    @classmethod
    def of_token(cls, token: SecureToken) -> _Owner:
        return cls(token.user, token.email, _owner_key(token.user_id, token.email))


def _user_state(key: bytes, user: AbstractBaseUser | None) -> bytes | None:
    """A keyed fingerprint of the user's password hash and email address.

    Stored at issue time and compared at use time, so a token dies when either changes by
    any path, ``QuerySet.update()`` included, with no signal handlers to miss it (R-26).
    """
    if user is None:
        return None
    email = getattr(user, user.get_email_field_name(), "") or ""
    return crypto.digest(key, b"user-state", user.password.encode(), email.encode())


def _slots() -> models.QuerySet[TokenSlot]:
    return apps.get_model("django_securetokens", "TokenSlot").objects.all()


def _expiry(ttl: object, purpose: str, name: str, now: datetime) -> datetime:
    """``now + ttl``; *ttl* defaults to the purpose's configured value and may not exceed
    the purpose's ceiling (or a longer configured value, which the checks flag)."""
    configured: timedelta = getattr(get_policy(purpose), name.lower())
    ttl = configured if ttl is None else ttl
    if not isinstance(ttl, timedelta) or ttl <= timedelta(0):
        raise ValueError("ttl must be a positive datetime.timedelta")
    if ttl > max(ttl_ceiling(purpose, name), configured):
        raise ValueError(f"ttl may not exceed {ttl_ceiling(purpose, name)} for {purpose}")
    return now + ttl


def _link_digest(key: bytes, token: SecureToken, verifier: str) -> bytes:
    """Binds the selector, the owner and the address: a row edited to point at another user
    or address no longer verifies, so write access to the table cannot redirect a token."""
    owner = _owner_key(token.user_id, token.email)
    return crypto.digest(
        key, token.selector.encode(), owner.encode(), token.email.encode(), verifier.encode()
    )


def _code_digest(key: bytes, salt: bytes, token: SecureToken, code: str) -> bytes:
    owner = _owner_key(token.user_id, token.email)
    return crypto.digest(
        key, salt, token.purpose.encode(), owner.encode(), token.email.encode(), code.encode()
    )


class SecureTokenQuerySet(models.QuerySet["SecureToken"]):
    def live(self, now: datetime | None = None) -> SecureTokenQuerySet:
        """Tokens that are neither used, revoked nor expired."""
        return self.filter(
            used_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now or timezone.now()
        )

    def for_purpose(self, purpose: str) -> SecureTokenQuerySet:
        return self.filter(purpose=purpose)


class SecureTokenManager(models.Manager["SecureToken"]):
    """Issue and redeem URL tokens and numeric codes."""

    def get_queryset(self) -> SecureTokenQuerySet:
        return SecureTokenQuerySet(self.model, using=self._db)

    def live(self, now: datetime | None = None) -> SecureTokenQuerySet:
        """Tokens that are neither used, revoked nor expired at *now*."""
        return self.get_queryset().live(now)

    # --- issuing ------------------------------------------------------------------------

    @sensitive_variables("secret")
    def _create(
        self,
        *,
        kind: str,
        user: object,
        email: object,
        purpose: object,
        ttl: timedelta | None,
        data: Any,
        make_secret: Callable[[SecureToken, bytes], tuple[str, bytes, bytes | None]],
    ) -> tuple[SecureToken, str]:
        """Lock the owner's slot, supersede live secrets of the same kind, insert the row.

        *make_secret(token, key)* returns ``(secret, digest, salt)`` for the unsaved row.
        """
        purpose = _check_purpose(purpose)
        owner = _Owner.of(user, email)
        now = timezone.now()
        key_id, key = current_key(f"token.{purpose}")
        token = self.model(
            user=owner.user,  # type: ignore[misc]  # see the note at the imports
            email=owner.email,
            owner=owner.key,
            purpose=purpose,
            kind=kind,
            selector=crypto.new_selector(),
            key_id=key_id,
            user_state=_user_state(key, owner.user),
            data=data,
            created_at=now,
            expires_at=_expiry(ttl, purpose, "TTL" if kind == "link" else "CODE_TTL", now),
        )
        secret, token.digest, token.salt = make_secret(token, key)
        slot, _ = _slots().get_or_create(purpose=purpose, owner=owner.key)
        # The slot's row lock serialises concurrent issues for one owner and purpose, so
        # exactly one of them is left live.
        with transaction.atomic(using=self.db):
            _slots().select_for_update().filter(pk=slot.pk).first()
            self.live(now).filter(owner=owner.key, purpose=purpose, kind=kind).update(
                revoked_at=now, superseded=True
            )
            token.save(force_insert=True, using=self.db)
        signals.token_issued.send(sender=self.model, token=token)
        return token, secret

    def issue(
        self,
        user: AbstractBaseUser | None,
        purpose: str = "password_reset",
        ttl: timedelta | None = None,
        data: Any = None,
        *,
        email: str | None = None,
    ) -> tuple[SecureToken, str]:
        """Issue a URL token for *user* and/or an *email* address, and *purpose*.

        Returns ``(token, secret)``. The secret exists only in this return value: send it,
        store it nowhere. Earlier live tokens for the same owner and purpose are superseded.
        *ttl* (a ``timedelta``) defaults to the purpose's ``TTL`` and may not exceed its
        ceiling; *data* is any JSON-serialisable value kept on the row (never a secret).
        """

        @sensitive_variables("verifier")
        def make_secret(token: SecureToken, key: bytes) -> tuple[str, bytes, None]:
            verifier = crypto.new_verifier(setting("TOKEN_BYTES"))
            return token.selector + verifier, _link_digest(key, token, verifier), None

        return self._create(
            kind="link",
            user=user,
            email=email,
            purpose=purpose,
            ttl=ttl,
            data=data,
            make_secret=make_secret,
        )

    def issue_code(
        self,
        user: AbstractBaseUser | None = None,
        purpose: str = "email_verification",
        email: str | None = None,
        ttl: timedelta | None = None,
    ) -> tuple[SecureToken, str]:
        """Issue a numeric code for *user* and/or *email* and *purpose*.

        Returns ``(token, code)``: ``code`` is ``CODE_DIGITS`` ASCII digits, zero-padded.
        A code is bound to the user, the exact address and the purpose; an earlier live code
        for the same owner and purpose is superseded.
        """

        @sensitive_variables("code")
        def make_secret(token: SecureToken, key: bytes) -> tuple[str, bytes, bytes]:
            code = crypto.new_code(get_policy(token.purpose).code_digits)
            salt = crypto.new_salt()
            return code, _code_digest(key, salt, token, code), salt

        return self._create(
            kind="code",
            user=user,
            email=email,
            purpose=purpose,
            ttl=ttl,
            data=None,
            make_secret=make_secret,
        )

    # --- redeeming ----------------------------------------------------------------------

    def _reject(self, error: TokenError, purpose: object, token: SecureToken | None) -> TokenError:
        logger.debug(
            "Rejected %s token %s: %s",
            purpose if isinstance(purpose, str) else "?",
            token.selector if token else "-",
            type(error).__name__,
        )
        signals.token_rejected.send(
            sender=self.model, reason=type(error).__name__, purpose=purpose, token=token
        )
        return error

    def _check_state(self, token: SecureToken, key: bytes, now: datetime) -> None:
        """Raise the precise TokenError for a genuine token that may no longer be used,
        re-checking the user's eligibility at use time, not only at issue (R-16)."""
        if token.revoked_at is not None:
            raise RevokedToken("revoked")
        if token.used_at is not None:
            raise UsedToken("already used")
        if token.expires_at <= now:
            raise ExpiredToken("expired")
        if token.user_id is not None:
            user = token.user
            if user is None or not user.is_active:
                raise InvalidToken("inactive user")
            expected = _user_state(key, user)
            if expected is None or not crypto.digests_match(expected, token.user_state):
                raise RevokedToken("password or email changed since issue")

    @sensitive_variables("secret", "verifier")
    def verify(self, secret: object, purpose: object = "password_reset") -> SecureToken:
        """Return the live token for *secret* and *purpose*, or raise a :class:`TokenError`.

        Verifying never consumes: call :meth:`consume` (or :meth:`use`) for that.
        """
        token = None
        try:
            purpose = _check_purpose(purpose)
            selector, verifier = crypto.split_token(secret, setting("TOKEN_BYTES"))
            token = (
                self.select_related("user")
                .filter(selector=selector, purpose=purpose, kind="link")
                .first()
            )
            key = _token_keys(purpose).get(token.key_id) if token else None
            if token is None or key is None:
                crypto.digest(_DUMMY_KEY, selector.encode(), verifier.encode())
                raise InvalidToken("unknown token")
            if not crypto.digests_match(_link_digest(key, token, verifier), token.digest):
                raise InvalidToken("unknown token")
            self._check_state(token, key, timezone.now())
        except TokenError as error:
            raise self._reject(error, purpose, token) from None
        return token

    def use(self, token: SecureToken) -> SecureToken:
        """Mark a verified *token* used, exactly once, or raise a :class:`TokenError`.

        Call it inside the transaction that applies the protected change, so both happen or
        neither does (R-19). It re-checks the token and its user, then marks it used with a
        conditional ``UPDATE``: only a row count of one wins, so among concurrent callers
        exactly one succeeds (R-18). A success resets the owner's code-failure count (R-33).
        """
        now = timezone.now()
        owner = _Owner.of_token(token)
        try:
            key = _token_keys(token.purpose).get(token.key_id)
            if key is None:
                raise InvalidToken("digest key retired")
            with transaction.atomic(using=self.db):
                # Slot first, then token: the order _create takes, so they cannot deadlock.
                slot = _slots().select_for_update().filter(purpose=token.purpose, owner=owner.key)
                slot.first()
                self._check_state(token, key, now)
                if self.live(now).filter(pk=token.pk).update(used_at=now) != 1:
                    raise UsedToken("lost a race or no longer live")
                slot.update(failures=0)
        except TokenError as error:
            raise self._reject(error, token.purpose, token) from None
        token.used_at = now
        signals.token_consumed.send(sender=self.model, token=token)
        return token

    def consume(self, secret: object, purpose: object = "password_reset") -> SecureToken:
        """Like :meth:`verify`, and mark the token used: succeeds exactly once."""
        return self.use(self.verify(secret, purpose))

    def reference(self, token: SecureToken) -> str:
        """A value by which a session can point at a verified *token* without the secret.

        Django keeps the plaintext reset token in the session; this keeps ``token.pk`` and
        this value instead (R-06): an HMAC of the stored digest under the purpose's key. It
        proves the holder saw a valid link without being usable as one, and it changes with
        every new token, so an old session cannot point at a newer row.
        """
        key = _token_keys(token.purpose).get(token.key_id, _DUMMY_KEY)
        return crypto.digest(key, b"session-reference", bytes(token.digest)).hex()

    def verify_reference(
        self, pk: object, reference: object, purpose: object = "password_reset"
    ) -> SecureToken:
        """Return the live token that :meth:`reference` gave *reference* for, or raise.

        Every check of :meth:`verify` is repeated (live, user still active, password and
        email unchanged), so a reference is only as good as the token it points at (R-16).
        """
        token = None
        try:
            purpose = _check_purpose(purpose)
            if not isinstance(pk, int) or isinstance(pk, bool) or not isinstance(reference, str):
                raise InvalidToken("malformed session reference")
            token = self.select_related("user").filter(pk=pk, purpose=purpose, kind="link").first()
            key = _token_keys(purpose).get(token.key_id) if token else None
            if token is None or key is None:
                raise InvalidToken("unknown session reference")
            expected = self.reference(token).encode()
            if not crypto.digests_match(expected, reference.encode("ascii", "replace")):
                raise InvalidToken("session reference does not match")
            self._check_state(token, key, timezone.now())
        except TokenError as error:
            raise self._reject(error, purpose, token) from None
        return token

    @sensitive_variables("code")
    def verify_code(
        self,
        code: object,
        purpose: object = "email_verification",
        user: AbstractBaseUser | None = None,
        email: str | None = None,
    ) -> SecureToken:
        """Check *code* against the live code of (*user* and/or *email*, *purpose*).

        Every call counts as an attempt, atomically and *before* the code is judged, both on
        the code (``CODE_MAX_ATTEMPTS``) and on the owner across all codes
        (``CODE_MAX_FAILURES``), so racing guesses cannot exceed either limit (R-20, R-32,
        R-33); a correct code resets the owner's count. The code is looked up by owner and
        purpose, never by value (R-14, R-31). Call it outside any transaction that would roll
        back on failure, or the counts roll back too; then :meth:`use` the token.
        """
        token = None
        try:
            purpose = _check_purpose(purpose)
            owner = _Owner.of(user, email)
            policy = get_policy(purpose)
            now = timezone.now()
            token = (
                self.live(now)
                .select_related("user")
                .filter(owner=owner.key, purpose=purpose, kind="code")
                .first()
            )
            slot = _slots().filter(purpose=purpose, owner=owner.key)
            counted = slot.filter(failures__lt=policy.code_max_failures).update(
                failures=F("failures") + 1
            )
            key = _token_keys(purpose).get(token.key_id) if token else None
            # An address, when given, must match exactly, compared here rather than by a
            # database collation that may ignore case or accents.
            if token is None or key is None or (owner.email and token.email != owner.email):
                # The same statements and HMAC as a real guess, so timing does not tell
                # whether this owner has a live code.
                self.filter(pk__isnull=True).update(attempts=F("attempts") + 1)
                crypto.digest(_DUMMY_KEY, b"", b"", b"", b"", b"")
                raise InvalidToken("no live code")
            if not counted:
                raise TooManyAttempts("too many failures for this owner and purpose")
            attempted = (
                self.live(now)
                .filter(pk=token.pk, attempts__lt=policy.code_max_attempts)
                .update(attempts=F("attempts") + 1)
            )
            if attempted != 1:
                raise TooManyAttempts("too many attempts on this code")
            normalized = crypto.normalize_code(code, policy.code_digits)
            candidate = _code_digest(key, bytes(token.salt or b""), token, normalized)
            if not crypto.digests_match(candidate, token.digest):
                raise InvalidToken("wrong code")
            self._check_state(token, key, now)
            slot.update(failures=0)
        except TokenError as error:
            raise self._reject(error, purpose, token) from None
        return token

    def consume_code(
        self,
        code: object,
        purpose: object = "email_verification",
        user: AbstractBaseUser | None = None,
        email: str | None = None,
    ) -> SecureToken:
        """Like :meth:`verify_code`, and mark the code used: succeeds exactly once."""
        return self.use(self.verify_code(code, purpose, user=user, email=email))

    def revoke(self, token: SecureToken) -> bool:
        """Revoke *token* if still unused and unrevoked; return whether this call did."""
        now = timezone.now()
        done = self.filter(pk=token.pk, used_at__isnull=True, revoked_at__isnull=True).update(
            revoked_at=now
        )
        if done:
            token.revoked_at = now
        return done == 1

    def revoke_queryset(self, tokens: models.QuerySet[SecureToken]) -> int:
        """Revoke the live tokens among *tokens*; return how many were revoked."""
        return self.live().filter(pk__in=tokens.values("pk")).update(revoked_at=timezone.now())

    def revoke_for(self, user: AbstractBaseUser, purpose: str | None = None) -> int:
        """Revoke every live token and code of *user* (optionally of one *purpose*)."""
        owner = _Owner.of(user, None)
        tokens = self.filter(owner=owner.key)
        if purpose is not None:
            tokens = tokens.filter(purpose=_check_purpose(purpose))
        return self.revoke_queryset(tokens)

    def purge(self, batch_size: int = 1000) -> int:
        """Delete used, revoked and expired rows older than ``RETENTION``; return the count.

        Deletes in batches of primary keys so memory stays flat however many rows match,
        in two passes that each walk the ``expires_at`` index: rows long expired, and the
        few recent rows used or revoked before the cutoff. Slots that count no failures and
        hold no token go too; a slot with failures stays, since time alone must not reset
        the count (R-33).
        """
        cutoff = timezone.now() - max(setting("RETENTION"), timedelta(0))
        stale = (
            Q(expires_at__lt=cutoff),
            Q(expires_at__gte=cutoff) & (Q(used_at__lt=cutoff) | Q(revoked_at__lt=cutoff)),
        )
        deleted = 0
        for condition in stale:
            rows = self.filter(condition).order_by()
            while batch := list(rows.values_list("pk", flat=True)[:batch_size]):
                deleted += self.filter(pk__in=batch).delete()[0]
        tokens = self.filter(purpose=OuterRef("purpose"), owner=OuterRef("owner"))
        _slots().filter(failures=0).exclude(Exists(tokens)).delete()
        return deleted

    # --- async twins --------------------------------------------------------------------

    async def aissue(self, *args: Any, **kwargs: Any) -> tuple[SecureToken, str]:
        return await sync_to_async(self.issue)(*args, **kwargs)

    async def aissue_code(self, *args: Any, **kwargs: Any) -> tuple[SecureToken, str]:
        return await sync_to_async(self.issue_code)(*args, **kwargs)

    async def averify(self, *args: Any, **kwargs: Any) -> SecureToken:
        return await sync_to_async(self.verify)(*args, **kwargs)

    async def aconsume(self, *args: Any, **kwargs: Any) -> SecureToken:
        return await sync_to_async(self.consume)(*args, **kwargs)

    async def averify_code(self, *args: Any, **kwargs: Any) -> SecureToken:
        return await sync_to_async(self.verify_code)(*args, **kwargs)

    async def aconsume_code(self, *args: Any, **kwargs: Any) -> SecureToken:
        return await sync_to_async(self.consume_code)(*args, **kwargs)

    async def ause(self, token: SecureToken) -> SecureToken:
        return await sync_to_async(self.use)(token)

    async def apurge(self, *args: Any, **kwargs: Any) -> int:
        return await sync_to_async(self.purge)(*args, **kwargs)


class APIKeyManager(models.Manager["APIKey"]):
    """Issue, authenticate, rotate and revoke API keys."""

    @sensitive_variables("secret", "verifier")
    def issue(
        self,
        name: str,
        user: AbstractBaseUser | None = None,
        expires_at: datetime | None = None,
        *,
        scopes: list[str] | tuple[str, ...] = (),
        never_expires: bool = False,
    ) -> tuple[APIKey, str]:
        """Issue a key; return ``(api_key, secret)``. The secret is shown once and never
        stored. *expires_at* defaults to now + ``API_KEY_MAX_AGE``; pass
        ``never_expires=True`` to make a key that does not expire (R-57)."""
        if not never_expires and expires_at is None and setting("API_KEY_MAX_AGE") is not None:
            expires_at = timezone.now() + setting("API_KEY_MAX_AGE")
        prefix = setting("API_KEY_PREFIX")
        selector, verifier, secret = crypto.new_api_key(prefix, setting("API_KEY_BODY_LENGTH"))
        key_id, key = current_key(API_KEY_PURPOSE)
        api_key = self.create(
            name=name,
            user=user,  # type: ignore[misc]  # see the note at the imports
            prefix=prefix,
            selector=selector,
            digest=crypto.digest(key, selector.encode(), verifier.encode()),
            key_id=key_id,
            scopes=list(scopes),
            expires_at=None if never_expires else expires_at,
        )
        signals.api_key_issued.send(sender=self.model, api_key=api_key)
        return api_key, secret

    @sensitive_variables("secret", "verifier")
    def authenticate(self, secret: object) -> APIKey:
        """Return the live key (with its user loaded) for *secret*, or raise TokenError.

        Prefix, length, alphabet and checksum are checked before any query (R-53); a valid
        key costs one indexed query, plus a write at most once per
        ``API_KEY_LAST_USED_INTERVAL`` or when its digest is upgraded to the current key.
        Expired, revoked and unknown keys, and keys of inactive users, all raise; callers
        answer every one of them the same way (R-15, R-57).
        """
        found = None
        try:
            selector, verifier = crypto.split_api_key(
                secret, setting("API_KEY_PREFIX"), setting("API_KEY_BODY_LENGTH")
            )
            found = self._lookup(selector)
            now = timezone.now()
            api_key, key_id = self._match(found, selector, verifier, now)
            if api_key.revoked_at is not None:
                raise RevokedToken("revoked")
            if api_key.expires_at is not None and api_key.expires_at <= now:
                raise ExpiredToken("expired")
            if api_key.user is not None and not api_key.user.is_active:
                raise InvalidToken("inactive user")
        except TokenError as error:
            # A genuine key used after its end is a security event; anything else is
            # noise from scanners and typos.
            level = (
                logging.INFO if isinstance(error, (RevokedToken, ExpiredToken)) else logging.DEBUG
            )
            logger.log(
                level,
                "Rejected API key %s: %s",
                found.selector if found else "-",
                type(error).__name__,
            )
            signals.token_rejected.send(
                sender=self.model,
                reason=type(error).__name__,
                purpose=API_KEY_PURPOSE,
                token=found,
            )
            raise
        self._after_use(api_key, selector, verifier, key_id, now)
        return api_key

    def _lookup(self, selector: str) -> APIKey | None:
        """The key with *selector* and its user, in one query, or None.

        This is ``self.select_related("user").filter(selector=selector).first()`` without
        the ORM's per-call cost. Building and compiling that queryset takes several times
        longer than the indexed lookup itself, and this runs on every API request, so the
        SQL and the row layout are compiled once per database connection (see
        :func:`_lookup_plan`); each call only executes the statement, applies the backend's
        converters and builds the two instances with ``Model.from_db``, as the ORM's own
        iterator does. Same SQL, same single query, same objects. No ``ORDER BY`` or
        ``LIMIT`` is needed because ``selector`` is unique.
        """
        alias = self.db
        connection = connections[alias]
        plan = _lookup_plan(self.model, connection)
        if plan is None:
            return self.select_related("user").filter(selector=selector).first()
        with connection.cursor() as cursor:
            cursor.execute(plan.sql, (selector,))
            row = cursor.fetchone()
        if row is None:
            return None
        row = list(row)
        for position, converters, expression in plan.converters:
            value = row[position]
            for converter in converters:
                value = converter(value, expression, connection)
            row[position] = value
        split = plan.split
        api_key = self.model.from_db(alias, plan.key_fields, row[:split])
        user_row = row[split:]
        user = None
        if user_row[plan.user_pk] is not None:
            user = plan.user_model.from_db(alias, plan.user_fields, user_row)
        # What select_related's populator does: fill the relation's cache, no descriptor.
        plan.user_field.set_cached_value(api_key, user)
        return api_key

    @sensitive_variables("verifier", "message")
    def _match(
        self, api_key: APIKey | None, selector: str, verifier: str, now: datetime
    ) -> tuple[APIKey, str]:
        """Return *api_key* and the id of the HMAC key whose digest matches it, or raise
        InvalidToken. An unknown selector costs the same HMAC as a known one."""
        keys = hmac_keys(API_KEY_PURPOSE)
        message = (selector.encode(), verifier.encode())
        if api_key is None:
            crypto.digest(_DUMMY_KEY, *message)
            raise InvalidToken("unknown API key")
        key = keys.get(api_key.key_id)
        if key and crypto.digests_match(crypto.digest(key, *message), api_key.digest):
            return api_key, api_key.key_id
        in_grace = api_key.previous_expires_at is not None and api_key.previous_expires_at > now
        previous = keys.get(api_key.previous_key_id) if in_grace else None
        if previous and crypto.digests_match(
            crypto.digest(previous, *message), api_key.previous_digest
        ):
            return api_key, api_key.previous_key_id
        raise InvalidToken("unknown API key")

    @sensitive_variables("verifier")
    def _after_use(
        self, api_key: APIKey, selector: str, verifier: str, key_id: str, now: datetime
    ) -> None:
        """Throttled ``last_used_at``, and a transparent re-hash under the current key (R-62).

        The re-hash is conditional on the digest being unchanged, so it can never write back
        the old secret over a rotation that happened while this request was in flight.
        """
        interval = setting("API_KEY_LAST_USED_INTERVAL")
        if api_key.last_used_at is None or api_key.last_used_at <= now - interval:
            self.filter(pk=api_key.pk).update(last_used_at=now)
            api_key.last_used_at = now
        current_id, current = current_key(API_KEY_PURPOSE)
        if key_id == api_key.key_id != current_id:
            logger.info("API key %s verified through a fallback key; re-hashing", selector)
            digest = crypto.digest(current, selector.encode(), verifier.encode())
            unchanged = self.filter(pk=api_key.pk, key_id=api_key.key_id, digest=api_key.digest)
            if unchanged.update(key_id=current_id, digest=digest):
                api_key.key_id, api_key.digest = current_id, digest

    @sensitive_variables("secret", "verifier", "body")
    def rotate(self, api_key: APIKey, grace: timedelta | None = None) -> tuple[APIKey, str]:
        """Give *api_key* a new secret in place (name, owner and scopes are kept).

        The old secret keeps working for *grace* (a ``timedelta``), or stops at once.
        Returns ``(api_key, new_secret)``; raises :class:`RevokedToken` for a revoked key.
        """
        prefix = setting("API_KEY_PREFIX")
        body_length = setting("API_KEY_BODY_LENGTH")
        verifier = crypto.new_api_key(prefix, body_length)[1]
        body = api_key.selector + verifier
        secret = f"{prefix}_{body}{crypto.api_key_checksum(body)}"
        key_id, key = current_key(API_KEY_PURPOSE)
        now = timezone.now()
        changes = {
            "prefix": prefix,
            "digest": crypto.digest(key, api_key.selector.encode(), verifier.encode()),
            "key_id": key_id,
            "previous_digest": api_key.digest if grace else None,
            "previous_key_id": api_key.key_id if grace else "",
            "previous_expires_at": now + grace if grace else None,
        }
        # Judged on the row, not on *api_key*, which may predate a revocation: a revoked
        # key must not hand out a secret that can never authenticate.
        if not self.filter(pk=api_key.pk, revoked_at__isnull=True).update(**changes):
            raise RevokedToken("revoked")
        for field, value in changes.items():
            setattr(api_key, field, value)
        return api_key, secret

    def revoke(self, api_key: APIKey) -> bool:
        """Revoke *api_key*; return whether this call revoked it."""
        now = timezone.now()
        done = self.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=now)
        if done:
            api_key.revoked_at = now
            signals.api_key_revoked.send(sender=self.model, api_key=api_key)
        return done == 1

    @sensitive_variables("secret", "verifier")
    def revoke_secret(self, secret: object) -> APIKey:
        """Revoke the key whose plaintext is *secret* (a leaked key); return it.

        Works for expired and already revoked keys too; raises InvalidToken when *secret*
        is not a key of ours.
        """
        selector, verifier = crypto.split_api_key(
            secret, setting("API_KEY_PREFIX"), setting("API_KEY_BODY_LENGTH")
        )
        found = self.filter(selector=selector).first()
        api_key = self._match(found, selector, verifier, timezone.now())[0]
        self.revoke(api_key)
        return api_key

    def on_old_keys(self) -> models.QuerySet[APIKey]:
        """Keys whose digest was made with a key other than the current one (R-62)."""
        return self.exclude(key_id=current_key(API_KEY_PURPOSE)[0])

    async def aissue(self, *args: Any, **kwargs: Any) -> tuple[APIKey, str]:
        return await sync_to_async(self.issue)(*args, **kwargs)

    async def aauthenticate(self, secret: object) -> APIKey:
        return await sync_to_async(self.authenticate)(secret)

    async def arevoke(self, api_key: APIKey) -> bool:
        return await sync_to_async(self.revoke)(api_key)


class _LookupPlan(NamedTuple):
    """An API-key lookup compiled for one database connection."""

    sql: str
    converters: list[tuple[int, list[Any], Any]]
    split: int  # row[:split] is the key, row[split:] its user
    key_fields: list[str]
    user_model: type[models.Model]
    user_fields: list[str]
    user_pk: int
    user_field: Any  # the ForeignKey, whose cache holds the loaded user


# Keyed by connection object: each thread has its own, and converters are bound to it.
_PLANS: WeakKeyDictionary[BaseDatabaseWrapper, dict[type[models.Model], _LookupPlan | None]] = (
    WeakKeyDictionary()
)


def _lookup_plan(model: type[APIKey], connection: BaseDatabaseWrapper) -> _LookupPlan | None:
    """Compile ``select_related("user").filter(selector=…)`` for *connection*, once.

    The SQL comes from the ORM's compiler, and the column layout and value converters from
    the same places Django's ``ModelIterable`` takes them, so backend quirks (SQLite
    datetimes as text, MySQL booleans, user models with UUID keys) stay Django's business.
    Returns None, and the caller uses the plain queryset, when the layout is not the simple
    "every key column, then every user column" one (a multi-table-inherited user model).
    """
    plans = _PLANS.get(connection)
    if plans is None:
        plans = _PLANS[connection] = {}
    elif model in plans:  # pragma: no branch - one model per connection is planned today
        return plans[model]
    queryset = model._default_manager.select_related("user").filter(selector="?").order_by()
    compiler = queryset.query.get_compiler(connection=connection)
    sql, params = compiler.as_sql()
    columns = [column for column, _, _ in compiler.select]
    info = compiler.klass_info or {}
    related = info.get("related_klass_infos", [])
    split = len(model._meta.concrete_fields)
    user_model = model._meta.get_field("user").related_model
    plan = None
    # The fast path needs the exact SQL shape the ORM gives on every backend we test; the
    # ORM fallback (plan None) guards against a future Django changing it.
    if (  # pragma: no branch - the fallback is for SQL shapes no supported Django produces
        list(params) == ["?"]
        and info.get("select_fields") == list(range(split))
        and len(related) == 1
        and not related[0].get("related_klass_infos")
        and related[0].get("select_fields") == list(range(split, len(columns)))
        and isinstance(user_model, type)
    ):
        names = [column.target.attname for column in columns]
        key_fields, user_fields = names[:split], names[split:]
        if key_fields == [  # pragma: no branch - as above: a guard against future ORM changes
            f.attname for f in model._meta.concrete_fields
        ] and user_fields == [f.attname for f in user_model._meta.concrete_fields]:
            converters = compiler.get_converters(columns)
            plan = _LookupPlan(
                sql=sql,
                converters=[(pos, convs, expr) for pos, (convs, expr) in converters.items()],
                split=split,
                key_fields=key_fields,
                user_model=user_model,
                user_fields=user_fields,
                user_pk=user_fields.index(user_model._meta.pk.attname),
                user_field=model._meta.get_field("user"),
            )
    plans[model] = plan
    return plan
