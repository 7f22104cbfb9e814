"""API keys: issue, authenticate, rotate and revoke.

A key reads ``<prefix>_<body><checksum>`` (see :mod:`.crypto`); the body's first characters
are the selector, which finds the row in one indexed query compiled once per connection
(:mod:`.lookup`), and only an HMAC of selector and verifier is stored.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from asgiref.sync import sync_to_async
from django.db import models
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from . import crypto, signals
from .conf import API_KEY_PURPOSE, current_key, hmac_keys, setting
from .databases import new_row, write_alias
from .exceptions import ExpiredToken, InvalidToken, RevokedToken, TokenError
from .lookup import Lookup
from .token_engine import DUMMY_KEY

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser

    from .models import APIKey

logger = logging.getLogger("django_securetokens")

# A scope: RFC 6750's scope-token characters (printable ASCII but space, quote and
# backslash), so it can stand in a WWW-Authenticate challenge as it is; 64 at most.
_SCOPE = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]{1,64}")


def is_scope(value: object) -> bool:
    """Whether *value* can name an API-key scope."""
    return isinstance(value, str) and _SCOPE.fullmatch(value) is not None


_BY_SELECTOR: Lookup[APIKey] = Lookup("selector")


class APIKeyManager(models.Manager["APIKey"]):
    """Issue, authenticate, rotate and revoke API keys."""

    @sensitive_variables("secret", "verifier")
    def issue(
        self,
        name: str,
        user: AbstractBaseUser | None = None,
        expires_at: datetime | None = None,
        *,
        scopes: Sequence[str] = (),
        never_expires: bool = False,
    ) -> tuple[APIKey, str]:
        """Issue a key; return ``(api_key, secret)``. The secret is shown once and never
        stored. *expires_at* defaults to now + ``API_KEY_MAX_AGE``; pass
        ``never_expires=True`` to make a key that does not expire (R-57). Each of *scopes*
        must be a scope name (:func:`is_scope`), or ValueError is raised."""
        if not isinstance(scopes, (list, tuple)) or not all(is_scope(s) for s in scopes):
            raise ValueError("each scope must be 1 to 64 RFC 6750 scope-token characters")
        if not never_expires and expires_at is None and setting("API_KEY_MAX_AGE") is not None:
            expires_at = timezone.now() + setting("API_KEY_MAX_AGE")
        prefix = setting("API_KEY_PREFIX")
        selector, verifier, secret = crypto.new_api_key(prefix, setting("API_KEY_BODY_LENGTH"))
        key_id, key = current_key(API_KEY_PURPOSE)
        alias = write_alias(self)
        api_key = new_row(
            self.model,
            alias,
            user,
            name=name,
            prefix=prefix,
            selector=selector,
            digest=crypto.api_key_digest(key, selector, verifier),
            key_id=key_id,
            scopes=list(scopes),
            expires_at=None if never_expires else expires_at,
        )
        api_key.save(force_insert=True, using=alias)
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
        alias = write_alias(self)
        try:
            selector, verifier = crypto.split_api_key(
                secret, setting("API_KEY_PREFIX"), setting("API_KEY_BODY_LENGTH")
            )
            found = _BY_SELECTOR.first(self, selector, using=alias)
            now = timezone.now()
            api_key, key_id = self._match(found, selector, verifier, now)
            state = api_key.state(now)
            if state == state.REVOKED:
                raise RevokedToken("revoked")
            if state == state.EXPIRED:
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
        self._after_use(api_key, selector, verifier, key_id, now, alias)
        return api_key

    @sensitive_variables("verifier")
    def _match(
        self, api_key: APIKey | None, selector: str, verifier: str, now: datetime
    ) -> tuple[APIKey, str]:
        """Return *api_key* and the id of the HMAC key whose digest matches it, or raise
        InvalidToken. An unknown selector costs the same HMAC as a known one."""
        keys = hmac_keys(API_KEY_PURPOSE)
        if api_key is None:
            crypto.api_key_digest(DUMMY_KEY, selector, verifier)
            raise InvalidToken("unknown API key")
        key = keys.get(api_key.key_id)
        if key and crypto.digests_match(
            crypto.api_key_digest(key, selector, verifier), api_key.digest
        ):
            return api_key, api_key.key_id
        in_grace = api_key.previous_expires_at is not None and api_key.previous_expires_at > now
        previous = keys.get(api_key.previous_key_id) if in_grace else None
        if previous and crypto.digests_match(
            crypto.api_key_digest(previous, selector, verifier), api_key.previous_digest
        ):
            return api_key, api_key.previous_key_id
        raise InvalidToken("unknown API key")

    @sensitive_variables("verifier")
    def _after_use(
        self, api_key: APIKey, selector: str, verifier: str, key_id: str, now: datetime, alias: str
    ) -> None:
        """Throttled ``last_used_at``, and a transparent re-hash under the current key (R-62).

        The re-hash is conditional on the digest being unchanged, so it can never write back
        the old secret over a rotation that happened while this request was in flight.
        """
        interval = setting("API_KEY_LAST_USED_INTERVAL")
        # A queryset is built only when a write is due: most calls write nothing.
        if api_key.last_used_at is None or api_key.last_used_at <= now - interval:
            self.using(alias).filter(pk=api_key.pk).update(last_used_at=now)
            api_key.last_used_at = now
        current_id, current = current_key(API_KEY_PURPOSE)
        if key_id == api_key.key_id != current_id:
            logger.info("API key %s verified through a fallback key; re-hashing", selector)
            digest = crypto.api_key_digest(current, selector, verifier)
            unchanged = self.using(alias).filter(
                pk=api_key.pk, key_id=api_key.key_id, digest=api_key.digest
            )
            if unchanged.update(key_id=current_id, digest=digest):
                api_key.key_id, api_key.digest = current_id, digest

    @sensitive_variables("secret", "verifier")
    def rotate(self, api_key: APIKey, grace: timedelta | None = None) -> tuple[APIKey, str]:
        """Give *api_key* a new secret in place (name, owner and scopes are kept).

        The old secret keeps working for *grace* (a ``timedelta``), or stops at once.
        Returns ``(api_key, new_secret)``; raises :class:`RevokedToken` for a revoked key.
        """
        prefix = setting("API_KEY_PREFIX")
        _, verifier, secret = crypto.new_api_key(
            prefix, setting("API_KEY_BODY_LENGTH"), selector=api_key.selector
        )
        key_id, key = current_key(API_KEY_PURPOSE)
        now = timezone.now()
        changes = {
            "prefix": prefix,
            "digest": crypto.api_key_digest(key, api_key.selector, verifier),
            "key_id": key_id,
            "previous_digest": api_key.digest if grace else None,
            "previous_key_id": api_key.key_id if grace else "",
            "previous_expires_at": now + grace if grace else None,
        }
        # Judged on the row, not on *api_key*, which may predate a revocation: a revoked
        # key must not hand out a secret that can never authenticate.
        keys = self.get_queryset().using(write_alias(self, api_key))
        if not keys.filter(pk=api_key.pk, revoked_at__isnull=True).update(**changes):
            raise RevokedToken("revoked")
        for field, value in changes.items():
            setattr(api_key, field, value)
        return api_key, secret

    def revoke(self, api_key: APIKey) -> bool:
        """Revoke *api_key*; return whether this call revoked it."""
        now = timezone.now()
        keys = self.get_queryset().using(write_alias(self, api_key))
        done = keys.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=now)
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
        alias = write_alias(self)
        found = self.get_queryset().using(alias).filter(selector=selector).first()
        api_key = self._match(found, selector, verifier, timezone.now())[0]
        self.db_manager(alias).revoke(api_key)
        return api_key

    def on_old_keys(self) -> models.QuerySet[APIKey]:
        """Keys whose digest was made with a key other than the current one (R-62)."""
        return self.exclude(key_id=current_key(API_KEY_PURPOSE)[0])

    async def aissue(self, *args: Any, **kwargs: Any) -> tuple[APIKey, str]:
        return await sync_to_async(self.issue)(*args, **kwargs)

    @sensitive_variables("secret")
    async def aauthenticate(self, secret: object) -> APIKey:
        return await sync_to_async(self.authenticate)(secret)

    async def arevoke(self, api_key: APIKey) -> bool:
        return await sync_to_async(self.revoke)(api_key)
