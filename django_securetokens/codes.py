"""Numeric codes: issued by owner and purpose, judged with every guess counted first.

A code is looked up by its owner and purpose, never by its value (R-14, R-31), and stored as
an HMAC with a per-row salt (R-08). Each guess is counted atomically before it is judged, on
the code and on the owner across all codes, and for a code bound to an account and an
address on the address too (R-20, R-32, R-33, R-81).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from asgiref.sync import sync_to_async
from django.db.models import F
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from . import crypto
from .conf import get_policy
from .exceptions import InvalidToken, TokenError, TooManyAttempts
from .owners import Owner, owner_key
from .token_engine import DUMMY_KEY, TokenEngine, check_purpose, slots, token_keys

if TYPE_CHECKING:
    from datetime import timedelta

    from django.contrib.auth.base_user import AbstractBaseUser

    from .models import SecureToken


def _code_digest(key: bytes, salt: bytes, token: SecureToken, code: str) -> bytes:
    owner = owner_key(token.user_id, token.email)
    return crypto.digest(
        key, salt, token.purpose.encode(), owner.encode(), token.email.encode(), code.encode()
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
        up by owner and purpose, never by value (R-14, R-31). Call it outside any transaction
        that would roll back on failure, or the counts roll back too; then :meth:`use` the
        token.
        """
        token = None
        try:
            purpose = check_purpose(purpose)
            owner = Owner.of(user, email)
            policy = get_policy(purpose)
            now = timezone.now()
            token = (
                self.live(now)
                .select_related("user")
                .filter(owner=owner.key, purpose=purpose, kind="code")
                .first()
            )
            slot = slots().filter(purpose=purpose, owner=owner.key)
            counted = slot.filter(failures__lt=policy.code_max_failures).update(
                failures=F("failures") + 1
            )
            if owner.user is not None and owner.email:
                # Also the address's own count, the slot of codes bound to it alone,
                # so accounts asking to prove one address share its cap.
                address = owner_key(None, owner.email)
                slots().get_or_create(purpose=purpose, owner=address)
                slot = slots().filter(purpose=purpose, owner__in=[owner.key, address])
                counted &= slot.filter(
                    owner=address, failures__lt=policy.code_max_failures
                ).update(failures=F("failures") + 1)
            key = token_keys(purpose).get(token.key_id) if token else None
            # An address, when given, must match exactly, compared here rather than by a
            # database collation that may ignore case or accents.
            if token is None or key is None or (owner.email and token.email != owner.email):
                # The same statements and HMAC as a real guess, so timing does not tell
                # whether this owner has a live code.
                self.filter(pk__isnull=True).update(attempts=F("attempts") + 1)
                crypto.digest(DUMMY_KEY, b"", b"", b"", b"", b"")
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

    async def aissue_code(self, *args: Any, **kwargs: Any) -> tuple[SecureToken, str]:
        return await sync_to_async(self.issue_code)(*args, **kwargs)

    async def averify_code(self, *args: Any, **kwargs: Any) -> SecureToken:
        return await sync_to_async(self.verify_code)(*args, **kwargs)

    async def aconsume_code(self, *args: Any, **kwargs: Any) -> SecureToken:
        return await sync_to_async(self.consume_code)(*args, **kwargs)
