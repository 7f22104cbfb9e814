"""Numeric codes: issued by owner and purpose, judged with every guess counted first.

A code is looked up by its owner and purpose, never by its value (R-14, R-31), and stored as
an HMAC with a per-row salt (R-08). Each guess is counted atomically before it is judged, on
the code and on the owner across all codes, and for a code bound to an account and an
address on the address too (R-20, R-32, R-33, R-81).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from asgiref.sync import sync_to_async
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from . import crypto, signals
from .conf import get_policy
from .databases import write_alias
from .exceptions import InvalidToken, TokenError, TooManyAttempts, UsedToken
from .lookup import Lookup, Update
from .owners import Owner, owner_key
from .token_engine import (
    DUMMY_KEY,
    MARK_USED,
    RESET_FAILURES,
    TokenEngine,
    check_purpose,
    failure_counts,
    slot_manager,
    slots,
    token_keys,
)

if TYPE_CHECKING:
    from datetime import datetime, timedelta

    from django.contrib.auth.base_user import AbstractBaseUser

    from .models import SecureToken


@sensitive_variables("code")
def _code_digest(key: bytes, salt: bytes, token: SecureToken, code: str) -> bytes:
    owner = owner_key(token.user_id, token.email)
    return crypto.digest(
        key, salt, token.purpose.encode(), owner.encode(), token.email.encode(), code.encode()
    )


# The owner's newest unspent code. One code at most is live per owner and purpose,
# and issuing supersedes it, so an expired newest code means no live one; the expiry is
# checked in Python, which keeps every value that changes per call a plain string.
_BY_OWNER: Lookup[SecureToken] = Lookup(
    "owner", "purpose", ordered=True, kind="code", used_at__isnull=True, revoked_at__isnull=True
)


# Each guess is counted before it is judged: on the owner across codes, then on the
# code, each a conditional UPDATE whose row count says whether the limit still allowed it.
_COUNT_FAILURE = Update(
    lambda slots, v: slots.filter(purpose=v["purpose"], owner=v["owner"], failures__lt=v["cap"]),
    lambda v: {"failures": F("failures") + 1},
    purpose="purpose",
    owner="owner",
    cap="failures",
)
_COUNT_ATTEMPT = Update(
    lambda tokens, v: tokens.live(v["now"]).filter(pk=v["pk"], attempts__lt=v["cap"]),
    lambda v: {"attempts": F("attempts") + 1},
    now="expires_at",
    pk="id",
    cap="attempts",
)


class CodeEngine(TokenEngine):
    """The numeric-code half of :class:`~django_securetokens.tokens.SecureTokenManager`."""

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
        R-33); with both *user* and *email*, on the address's own count as well, shared by
        every account proving it (R-81). A correct code resets the counts. The code is looked
        up by owner and purpose, never by value (R-14, R-31). The counts commit in one
        transaction of their own, whatever the verdict; called inside a transaction that
        rolls back on failure, they would roll back too. Then :meth:`use` the token.
        """
        return self._judge_code(code, purpose, user, email, consume=False)

    @sensitive_variables("code")
    def consume_code(
        self,
        code: object,
        purpose: object = "email_verification",
        user: AbstractBaseUser | None = None,
        email: str | None = None,
    ) -> SecureToken:
        """Like :meth:`verify_code`, and mark the code used in the same transaction:
        succeeds exactly once."""
        return self._judge_code(code, purpose, user, email, consume=True)

    @sensitive_variables("code")
    def _judge_code(
        self,
        code: object,
        purpose: object,
        user: AbstractBaseUser | None,
        email: str | None,
        *,
        consume: bool,
    ) -> SecureToken:
        token = None
        try:
            purpose = check_purpose(purpose)
            owner = Owner.of(user, email)
            now = timezone.now()
            alias = write_alias(self)
            token = _BY_OWNER.first(self, owner.key, purpose, using=alias)
            if token is not None and token.expires_at <= now:
                token = None  # not live: the same answer as no code at all
            counted = failure_counts(owner.user.pk if owner.user else None, owner.email)
            # The address's count lives in the slot of codes bound to the address alone,
            # which need not exist yet; the owner's exists since its code was issued.
            for counted_owner in counted[1:]:
                slots(alias).get_or_create(purpose=purpose, owner=counted_owner)
            # Counting, judging and resetting share one transaction, committed whatever the
            # verdict: a guess costs one durable write, not one per count.
            with transaction.atomic(using=alias):
                try:
                    verdict: SecureToken | TokenError = self._count_and_judge(
                        code, purpose, token, owner, counted, now, consume, alias
                    )
                except TokenError as error:
                    verdict = error
            if isinstance(verdict, TokenError):
                raise verdict
        except TokenError as error:
            raise self._reject(error, purpose, token) from None
        if consume:
            verdict.used_at = now
            signals.token_consumed.send(sender=self.model, token=verdict)
        return verdict

    @sensitive_variables("code")
    def _count_and_judge(
        self,
        code: object,
        purpose: str,
        token: SecureToken | None,
        owner: Owner,
        counted: list[str],
        now: datetime,
        consume: bool,
        alias: str,
    ) -> SecureToken:
        """Count the guess on *counted* owners and on the code, then judge it: return the
        token, or raise the TokenError of a failed guess. A correct one resets the counts
        and, with *consume*, marks the code used: only a row count of one wins (R-18)."""
        policy = get_policy(purpose)
        allowed = [
            _COUNT_FAILURE.run(
                slot_manager(),
                using=alias,
                purpose=purpose,
                owner=counted_owner,
                cap=policy.code_max_failures,
            )
            for counted_owner in counted
        ]
        key = token_keys(purpose).get(token.key_id) if token else None
        # An address, when given, must match exactly, compared here rather than by a
        # database collation that may ignore case or accents.
        if token is None or key is None or (owner.email and token.email != owner.email):
            self._as_a_guess(now, alias)
            raise InvalidToken("no live code")
        if not all(allowed):
            # The code is not even looked at, which the statements must not show either:
            # the cap is one a guesser can reach.
            self._as_a_guess(now, alias)
            raise TooManyAttempts("too many failures for this owner and purpose")
        cap = policy.code_max_attempts
        if _COUNT_ATTEMPT.run(self, using=alias, now=now, pk=token.pk, cap=cap) != 1:
            raise TooManyAttempts("too many attempts on this code")
        normalized = crypto.normalize_code(code, policy.code_digits)
        candidate = _code_digest(key, bytes(token.salt or b""), token, normalized)
        if not crypto.digests_match(candidate, token.digest):
            raise InvalidToken("wrong code")
        self._check_state(token, key, now)
        for counted_owner in counted:
            RESET_FAILURES.run(slot_manager(), using=alias, purpose=purpose, owner=counted_owner)
        if consume and MARK_USED.run(self, using=alias, now=now, pk=token.pk) != 1:
            raise UsedToken("lost a race or no longer live")
        return token

    def _as_a_guess(self, now: datetime, alias: str) -> None:
        """The statement and HMAC of a judged guess, for a refusal without one, so timing
        does not tell whether this owner has a live code (R-14)."""
        _COUNT_ATTEMPT.run(self, using=alias, now=now, pk=-1, cap=0)  # "attempts < 0": none
        crypto.digest(DUMMY_KEY, b"", b"", b"", b"", b"")

    async def aissue_code(self, *args: Any, **kwargs: Any) -> tuple[SecureToken, str]:
        return await sync_to_async(self.issue_code)(*args, **kwargs)

    async def averify_code(self, *args: Any, **kwargs: Any) -> SecureToken:
        return await sync_to_async(self.verify_code)(*args, **kwargs)

    async def aconsume_code(self, *args: Any, **kwargs: Any) -> SecureToken:
        return await sync_to_async(self.consume_code)(*args, **kwargs)
