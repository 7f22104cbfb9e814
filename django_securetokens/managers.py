"""Managers own the life of every secret: issue, verify, consume, revoke and purge.

Each change that must happen once (consume, attempt counting, revoke) is a single
conditional ``UPDATE`` whose row count decides the outcome, or runs under a row lock, so
concurrent requests on PostgreSQL and MySQL/MariaDB cannot both win (R-18, R-20).
Time is always ``timezone.now()`` from Python, never the database clock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple, cast
from weakref import WeakKeyDictionary

from asgiref.sync import sync_to_async
from django.apps import apps
from django.db import connections, models, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from . import crypto, signals
from .conf import API_KEY_PURPOSE, current_key, get_policy, hmac_keys, setting
from .exceptions import (
    ExpiredToken,
    InvalidToken,
    RevokedToken,
    TokenError,
    TooManyAttempts,
    UsedToken,
)

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.db.backends.base.base import BaseDatabaseWrapper

    from .models import APIKey, SecureToken, TokenSlot

logger = logging.getLogger("django_securetokens")

# Digest of nothing in particular, compared against when no row matches so that the
# not-found path does the same HMAC work as the found path.
_DUMMY_KEY = b"\0" * 32


def _check_purpose(purpose: object) -> str:
    if not isinstance(purpose, str) or not 0 < len(purpose) <= 64:
        raise InvalidToken("bad purpose")
    return purpose


def _normalize_email(email: object) -> str:
    if not isinstance(email, str) or not 0 < len(email) <= 254 or "\0" in email:
        raise InvalidToken("bad email")
    return email.strip().lower()


def _owner(user: AbstractBaseUser | None, email: str | None) -> tuple[str, str]:
    """The slot owner key and the bound address for a (user, email) pair."""
    normalized = _normalize_email(email) if email is not None else ""
    if user is not None:
        if getattr(user, "pk", None) is None:
            raise InvalidToken("user must be a saved user")
        return f"user:{user.pk}", normalized
    if not normalized:
        raise InvalidToken("a user or an email address is required")
    return f"email:{normalized}", normalized


def _owner_filter(user: AbstractBaseUser | None, email: str) -> Q:
    return Q(user=user) if user is not None else Q(user__isnull=True, email=email)


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


def _expiry(ttl: object, default: timedelta, now: datetime) -> datetime:
    ttl = default if ttl is None else ttl
    if not isinstance(ttl, timedelta) or ttl <= timedelta(0):
        raise ValueError("ttl must be a positive datetime.timedelta")
    return now + ttl


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

    # --- issuing ------------------------------------------------------------------------

    def _create(
        self,
        *,
        kind: str,
        user: AbstractBaseUser | None,
        email: str | None,
        purpose: str,
        ttl: timedelta | None,
        data: Any,
        make_secret: Callable[[SecureToken, bytes], tuple[str, bytes, bytes | None]],
    ) -> tuple[SecureToken, str]:
        """Lock the owner's slot, supersede live secrets of the same kind, insert the row.

        *make_secret(token, key)* returns ``(secret, digest, salt)`` for the unsaved row.
        """
        purpose = _check_purpose(purpose)
        owner, email = _owner(user, email)
        policy = get_policy(purpose)
        now = timezone.now()
        key_id, key = current_key(purpose)
        token = self.model(
            user=user,
            email=email,
            purpose=purpose,
            kind=kind,
            selector=crypto.new_selector(),
            key_id=key_id,
            user_state=_user_state(key, user),
            data=data,
            created_at=now,
            expires_at=_expiry(ttl, policy.ttl if kind == "link" else policy.code_ttl, now),
        )
        secret, token.digest, token.salt = make_secret(token, key)
        slot, _ = _slots().get_or_create(purpose=purpose, owner=owner)
        # The slot's row lock serialises concurrent issues for one owner and purpose, so
        # exactly one of them is left live.
        with transaction.atomic(using=self.db):
            _slots().select_for_update().filter(pk=slot.pk).first()
            self.live(now).filter(_owner_filter(user, email), purpose=purpose, kind=kind).update(
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
        """Issue a URL token for *user* (or an *email* address) and *purpose*.

        Returns ``(token, secret)``. The secret exists only in this return value: send it,
        store it nowhere. Earlier live tokens for the same owner and purpose are superseded.
        *ttl* (a ``timedelta``) defaults to the purpose's configured ``TTL``; *data* is any
        JSON-serialisable value kept on the row (never put a secret in it).
        """

        def make_secret(token: SecureToken, key: bytes) -> tuple[str, bytes, None]:
            verifier = crypto.new_verifier(setting("TOKEN_BYTES"))
            digest = crypto.digest(key, token.selector.encode(), verifier.encode())
            return token.selector + verifier, digest, None

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

        def make_secret(token: SecureToken, key: bytes) -> tuple[str, bytes, bytes]:
            code = crypto.new_code(get_policy(token.purpose).code_digits)
            salt = crypto.new_salt()
            return code, self._code_digest(key, salt, token, code), salt

        return self._create(
            kind="code",
            user=user,
            email=email,
            purpose=purpose,
            ttl=ttl,
            data=None,
            make_secret=make_secret,
        )

    @staticmethod
    def _code_digest(key: bytes, salt: bytes, token: SecureToken, code: str) -> bytes:
        owner = str(token.user_id or "").encode()
        return crypto.digest(
            key, salt, token.purpose.encode(), owner, token.email.encode(), code.encode()
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
        """Raise the precise TokenError for a genuine token that may no longer be used."""
        if token.revoked_at is not None:
            raise RevokedToken("revoked")
        if token.used_at is not None:
            raise UsedToken("already used")
        if token.expires_at <= now:
            raise ExpiredToken("expired")
        if token.user_id is not None:
            user = token.user
            if not user.is_active:  # type: ignore[union-attr]
                raise InvalidToken("inactive user")
            expected = _user_state(key, user)
            if expected is None or not crypto.digests_match(expected, token.user_state):
                raise RevokedToken("password or email changed since issue")

    def verify(self, secret: object, purpose: object = "password_reset") -> SecureToken:
        """Return the live token for *secret* and *purpose*, or raise a :class:`TokenError`.

        Verifying never consumes: call :meth:`consume` for that.
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
            key = hmac_keys(purpose).get(token.key_id) if token else None
            candidate = crypto.digest(key or _DUMMY_KEY, selector.encode(), verifier.encode())
            if token is None or key is None or not crypto.digests_match(candidate, token.digest):
                raise InvalidToken("unknown token")
            self._check_state(token, key, timezone.now())
        except TokenError as error:
            raise self._reject(error, purpose, token) from None
        return token

    def use(self, token: SecureToken) -> SecureToken:
        """Mark a verified *token* used, exactly once, or raise :class:`UsedToken`.

        Call it inside the transaction that applies the protected change, so both happen or
        neither does (R-19). The ``UPDATE`` is conditional and only a row count of one wins,
        so among concurrent callers exactly one succeeds (R-18).
        """
        now = timezone.now()
        won = self.live(now).filter(pk=token.pk).update(used_at=now)
        if won != 1:
            raise self._reject(UsedToken("lost a race or no longer live"), token.purpose, token)
        token.used_at = now
        owner, _ = _owner(token.user, token.email or None)
        _slots().filter(purpose=token.purpose, owner=owner).update(failures=0)
        signals.token_consumed.send(sender=self.model, token=token)
        return token

    def consume(self, secret: object, purpose: object = "password_reset") -> SecureToken:
        """Like :meth:`verify`, and mark the token used: succeeds exactly once."""
        return self.use(self.verify(secret, purpose))

    def verify_code(
        self,
        code: object,
        purpose: object = "email_verification",
        user: AbstractBaseUser | None = None,
        email: str | None = None,
    ) -> SecureToken:
        """Check *code* against the live code of (*user* or *email*, *purpose*).

        Every call counts as an attempt, atomically and *before* the code is judged, both on
        the code (``CODE_MAX_ATTEMPTS``) and on the owner across all codes
        (``CODE_MAX_FAILURES``), so racing guesses cannot exceed either limit (R-20, R-32,
        R-33). The code is looked up by owner and purpose, never by value (R-14, R-31).
        """
        token = None
        try:
            purpose = _check_purpose(purpose)
            owner, bound_email = _owner(user, email)
            policy = get_policy(purpose)
            now = timezone.now()
            token = (
                self.select_related("user")
                .live(now)
                .filter(_owner_filter(user, bound_email), purpose=purpose, kind="code")
                .first()
            )
            counted = _slots().filter(
                purpose=purpose, owner=owner, failures__lt=policy.code_max_failures
            )
            counted_ok = counted.update(failures=F("failures") + 1) == 1
            key = hmac_keys(purpose).get(token.key_id) if token else None
            if token is None or key is None:
                crypto.digest(_DUMMY_KEY, b"", b"")
                raise InvalidToken("no live code")
            if not counted_ok:
                raise TooManyAttempts("too many failures for this owner and purpose")
            attempted = (
                self.filter(pk=token.pk, attempts__lt=policy.code_max_attempts)
                .live(now)
                .update(attempts=F("attempts") + 1)
            )
            if attempted != 1:
                raise TooManyAttempts("too many attempts on this code")
            candidate = self._code_digest(
                key,
                bytes(token.salt or b""),
                token,
                crypto.normalize_code(code, policy.code_digits),
            )
            if not crypto.digests_match(candidate, token.digest):
                raise InvalidToken("wrong code")
            self._check_state(token, key, now)
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

    def revoke_for(self, user: AbstractBaseUser, purpose: str | None = None) -> int:
        """Revoke every live token and code of *user* (optionally of one *purpose*)."""
        tokens = self.live().filter(user=user)
        if purpose is not None:
            tokens = tokens.filter(purpose=purpose)
        return tokens.update(revoked_at=timezone.now())

    def purge(self, batch_size: int = 1000) -> int:
        """Delete used, revoked and expired rows older than ``RETENTION``; return the count.

        Deletes in batches of primary keys so memory stays flat however many rows match.
        """
        cutoff = timezone.now() - setting("RETENTION")
        stale = self.filter(
            Q(expires_at__lt=cutoff) | Q(used_at__lt=cutoff) | Q(revoked_at__lt=cutoff)
        )
        deleted = 0
        while batch := list(stale.values_list("pk", flat=True)[:batch_size]):
            deleted += self.filter(pk__in=batch).delete()[0]
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

    async def apurge(self, *args: Any, **kwargs: Any) -> int:
        return await sync_to_async(self.purge)(*args, **kwargs)

    # Type-checkers see QuerySet methods through the manager via get_queryset().
    def live(self, now: datetime | None = None) -> SecureTokenQuerySet:
        return self.get_queryset().live(now)


class APIKeyManager(models.Manager["APIKey"]):
    """Issue, authenticate, rotate and revoke API keys."""

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
            user=cast(Any, user),  # AUTH_USER_MODEL, whatever the stubs assume
            prefix=prefix,
            selector=selector,
            digest=crypto.digest(key, selector.encode(), verifier.encode()),
            key_id=key_id,
            scopes=list(scopes),
            expires_at=None if never_expires else expires_at,
        )
        signals.api_key_issued.send(sender=self.model, api_key=api_key)
        return api_key, secret

    # The secret and its verifier must not reach an error report's frame variables if the
    # database fails mid-call; sensitive_variables hides them from Django's reporter.
    @sensitive_variables()
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

    def _match(
        self, api_key: APIKey | None, selector: str, verifier: str, now: datetime
    ) -> tuple[APIKey, str]:
        """Return *api_key* and the id of the HMAC key whose digest matches it, or raise
        InvalidToken. The not-found path computes one HMAC too, so both take alike (R-14)."""
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
        """Throttled ``last_used_at``, and a transparent re-hash under the current key (R-62)."""
        changes: dict[str, Any] = {}
        interval = setting("API_KEY_LAST_USED_INTERVAL")
        if api_key.last_used_at is None or api_key.last_used_at <= now - interval:
            changes["last_used_at"] = now
        current_id, current = current_key(API_KEY_PURPOSE)
        if key_id == api_key.key_id != current_id:
            logger.info("API key %s verified through a fallback key; re-hashing", selector)
            changes["key_id"] = current_id
            changes["digest"] = crypto.digest(current, selector.encode(), verifier.encode())
        if changes:
            self.filter(pk=api_key.pk).update(**changes)
            for field, value in changes.items():
                setattr(api_key, field, value)

    def rotate(self, api_key: APIKey, grace: timedelta | None = None) -> tuple[APIKey, str]:
        """Give *api_key* a new secret in place (name, owner and scopes are kept).

        The old secret keeps working for *grace* (a ``timedelta``), or stops at once.
        Returns ``(api_key, new_secret)``.
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
        self.filter(pk=api_key.pk).update(**changes)
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

    @sensitive_variables()
    def revoke_secret(self, secret: object) -> APIKey:
        """Revoke the key whose plaintext is *secret* (a leaked key); return it.

        Works for expired and already revoked keys too; raises InvalidToken when *secret*
        is not a key of ours.
        """
        selector, verifier = crypto.split_api_key(
            secret, setting("API_KEY_PREFIX"), setting("API_KEY_BODY_LENGTH")
        )
        api_key, _ = self._match(
            self.filter(selector=selector).first(), selector, verifier, timezone.now()
        )
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
    elif model in plans:
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
    if (
        list(params) == ["?"]
        and info.get("select_fields") == list(range(split))
        and len(related) == 1
        and not related[0].get("related_klass_infos")
        and related[0].get("select_fields") == list(range(split, len(columns)))
        and isinstance(user_model, type)
    ):
        names = [column.target.attname for column in columns]
        key_fields, user_fields = names[:split], names[split:]
        if key_fields == [f.attname for f in model._meta.concrete_fields] and user_fields == [
            f.attname for f in user_model._meta.concrete_fields
        ]:
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
