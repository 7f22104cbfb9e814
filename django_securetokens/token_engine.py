"""What URL tokens and numeric codes share: purposes and keys, issuing under the owner's
slot lock, judging a genuine token's state, and marking it used exactly once.

Each change that must happen once (consume, attempt counting, revoke) is a single
conditional ``UPDATE`` whose row count decides the outcome, or runs under a row lock, so
concurrent requests on PostgreSQL and MySQL/MariaDB cannot both win (R-18, R-20).
Locks are always taken in one order, the owner's slot row before token rows, so two
transactions can never wait on each other. Every statement of one operation, the slot lock
and the failure counts included, goes to the one database :mod:`.databases` picks. Time is
always ``timezone.now()`` from Python, never the database clock.

Methods that hold a plaintext secret in a local variable are wrapped in
``sensitive_variables()``, so an unexpected exception (a failing signal receiver, a lost
database connection) cannot put the secret into Django's error report.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from asgiref.sync import sync_to_async
from django.apps import apps
from django.db import models, transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from . import crypto, signals
from .conf import current_key, get_policy, hmac_keys, ttl_ceiling
from .databases import load_user, new_row, write_alias
from .exceptions import ExpiredToken, InvalidToken, RevokedToken, TokenError, UsedToken
from .lookup import Update
from .owners import Owner, owner_key, user_state

if TYPE_CHECKING:
    from .models import SecureToken, SecureTokenQuerySet, TokenSlot

logger = logging.getLogger("django_securetokens")

# Key compared against when no row matches, so that the not-found path does the same HMAC
# work as the found path.
DUMMY_KEY = b"\0" * 32

_PURPOSE_RE = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")


def check_purpose(purpose: object) -> str:
    if not isinstance(purpose, str) or not _PURPOSE_RE.fullmatch(purpose):
        raise InvalidToken("bad purpose")
    return purpose


def token_keys(purpose: str) -> dict[str, bytes]:
    # The "token." namespace keeps a SecureToken purpose from ever sharing a key with APIKey.
    return hmac_keys(f"token.{purpose}")


def slots(using: str) -> models.QuerySet[TokenSlot]:
    return apps.get_model("django_securetokens", "TokenSlot").objects.using(using)


def slot_manager() -> models.Manager[TokenSlot]:
    return apps.get_model("django_securetokens", "TokenSlot").objects


# The conditional UPDATEs of issue and use, compiled once per connection (see lookup).
SUPERSEDE = Update(
    lambda tokens, v: tokens.live(v["now"]).filter(
        owner=v["owner"], purpose=v["purpose"], kind=v["kind"]
    ),
    lambda v: {"revoked_at": v["now"], "superseded": True},
    now="expires_at",
    owner="owner",
    purpose="purpose",
    kind="kind",
)
MARK_USED = Update(
    lambda tokens, v: tokens.live(v["now"]).filter(pk=v["pk"]),
    lambda v: {"used_at": v["now"]},
    now="expires_at",
    pk="id",
)
RESET_FAILURES = Update(
    lambda slots, v: slots.filter(purpose=v["purpose"], owner=v["owner"], failures__gt=0),
    lambda v: {"failures": 0},
    purpose="purpose",
    owner="owner",
)


def failure_counts(user_pk: object, email: str) -> list[str]:
    """The owners whose code failures a guess counts on (R-33): the code's owner, and for a
    code bound to an account and an address, the address too, whose count every account
    proving it shares (R-81)."""
    owners = [owner_key(user_pk, email)]
    if user_pk is not None and email:
        owners.append(owner_key(None, email))
    return owners


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


class TokenEngine(models.Manager["SecureToken"]):
    """The half of :class:`~django_securetokens.tokens.SecureTokenManager` that links and
    codes share."""

    def get_queryset(self) -> SecureTokenQuerySet:
        # models.py builds the manager with from_queryset(SecureTokenQuerySet).
        return super().get_queryset()  # type: ignore[return-value]

    def live(self, now: datetime | None = None) -> SecureTokenQuerySet:
        """Tokens that are neither used, revoked nor expired at *now*."""
        return self.get_queryset().live(now)

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
        purpose = check_purpose(purpose)
        owner = Owner.of(user, email)
        now = timezone.now()
        key_id, key = current_key(f"token.{purpose}")
        alias = write_alias(self)
        token = new_row(
            self.model,
            alias,
            owner.user,
            email=owner.email,
            owner=owner.key,
            purpose=purpose,
            kind=kind,
            selector=crypto.new_selector(),
            key_id=key_id,
            user_state=user_state(key, owner.user),
            data=data,
            created_at=now,
            expires_at=_expiry(ttl, purpose, "TTL" if kind == "link" else "CODE_TTL", now),
        )
        secret, token.digest, token.salt = make_secret(token, key)
        slot = slots(alias).filter(purpose=purpose, owner=owner.key)
        while True:
            with transaction.atomic(using=alias):
                # The slot's row lock serialises concurrent issues for one owner and
                # purpose, so exactly one of them is left live.
                if slot.select_for_update().exists():
                    SUPERSEDE.run(
                        self, using=alias, now=now, owner=owner.key, purpose=purpose, kind=kind
                    )
                    token.save(force_insert=True, using=alias)
                    break
            # The owner's first secret for this purpose: the slot is created outside any
            # lock, so two first issues on MySQL cannot deadlock on a missing row's gap lock.
            slots(alias).get_or_create(purpose=purpose, owner=owner.key)
        signals.token_issued.send(sender=self.model, token=token)
        return token, secret

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
        state = token.state(now)
        if state in (state.REVOKED, state.SUPERSEDED):
            raise RevokedToken("revoked")
        if state == state.USED:
            raise UsedToken("already used")
        if state == state.EXPIRED:
            raise ExpiredToken("expired")
        if token.user_id is not None:
            user = token.user
            if user is None or not user.is_active:
                raise InvalidToken("inactive user")
            expected = user_state(key, user)
            if expected is None or not crypto.digests_match(expected, token.user_state):
                raise RevokedToken("password or email changed since issue")

    def use(self, token: SecureToken) -> SecureToken:
        """Mark a verified *token* used, exactly once, or raise a :class:`TokenError`.

        Call it inside the transaction that applies the protected change, so both happen or
        neither does (R-19). It re-checks the token and its user, then marks it used with a
        conditional ``UPDATE``: only a row count of one wins, so among concurrent callers
        exactly one succeeds (R-18). Two or three statements and no transaction of its own: a
        genuine token resets the code-failure counts of its owner (R-33) and of its address
        (R-81), then the ``UPDATE`` decides. They run on the manager's database, else where
        the routers write *token* (:func:`~.databases.write_alias`).
        """
        return self._use(token, write_alias(self, token))

    def _use(self, token: SecureToken, alias: str) -> SecureToken:
        now = timezone.now()
        try:
            key = token_keys(token.purpose).get(token.key_id)
            if key is None:
                raise InvalidToken("digest key retired")
            load_user(token, alias)
            self._check_state(token, key, now)
            # Slot before token, the order _create locks them in, so that inside a caller's
            # transaction the two cannot deadlock. The reset comes before the win because
            # only a holder of the genuine secret gets here, winner or not, and it touches
            # (and on PostgreSQL locks) the slot only when there is a count to reset.
            for owner in failure_counts(token.user_id, token.email):
                RESET_FAILURES.run(slot_manager(), using=alias, purpose=token.purpose, owner=owner)
            if MARK_USED.run(self, using=alias, now=now, pk=token.pk) != 1:
                raise UsedToken("lost a race or no longer live")
        except TokenError as error:
            raise self._reject(error, token.purpose, token) from None
        token.used_at = now
        signals.token_consumed.send(sender=self.model, token=token)
        return token

    async def ause(self, token: SecureToken) -> SecureToken:
        return await sync_to_async(self.use)(token)
