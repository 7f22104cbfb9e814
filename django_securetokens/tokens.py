"""URL tokens and the manager of :class:`~django_securetokens.models.SecureToken`.

A URL token reads ``selector + verifier``: the selector finds the row, and only an HMAC of
both, bound to the owner and the address, is stored. Numeric codes are the manager's other
half, in :mod:`.codes`; what both share is in :mod:`.token_engine`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from asgiref.sync import sync_to_async
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from . import crypto
from .codes import CodeEngine
from .conf import setting
from .databases import write_alias
from .exceptions import InvalidToken, TokenError
from .lookup import Lookup
from .owners import Owner, owner_key
from .token_engine import DUMMY_KEY, check_purpose, slots, token_keys

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser

    from .models import SecureToken


@sensitive_variables("verifier")
def _link_digest(key: bytes, token: SecureToken, verifier: str) -> bytes:
    """Binds the selector, the owner and the address: a row edited to point at another user
    or address no longer verifies, so write access to the table cannot redirect a token."""
    owner = owner_key(token.user_id, token.email)
    return crypto.digest(
        key, token.selector.encode(), owner.encode(), token.email.encode(), verifier.encode()
    )


_BY_SELECTOR: Lookup[SecureToken] = Lookup("selector", "purpose", kind="link")


class SecureTokenManager(CodeEngine):
    """Issue and redeem URL tokens and numeric codes."""

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

    @sensitive_variables("secret")
    def verify(self, secret: object, purpose: object = "password_reset") -> SecureToken:
        """Return the live token for *secret* and *purpose*, or raise a :class:`TokenError`.

        Verifying never consumes: call :meth:`consume` (or :meth:`use`) for that.
        """
        return self._verify(secret, purpose, write_alias(self))

    @sensitive_variables("secret", "verifier")
    def _verify(self, secret: object, purpose: object, alias: str) -> SecureToken:
        token = None
        try:
            purpose = check_purpose(purpose)
            selector, verifier = crypto.split_token(secret, setting("TOKEN_BYTES"))
            token = _BY_SELECTOR.first(self, selector, purpose, using=alias)
            key = token_keys(purpose).get(token.key_id) if token else None
            if token is None or key is None:
                crypto.digest(DUMMY_KEY, selector.encode(), verifier.encode())
                raise InvalidToken("unknown token")
            if not crypto.digests_match(_link_digest(key, token, verifier), token.digest):
                raise InvalidToken("unknown token")
            self._check_state(token, key, timezone.now())
        except TokenError as error:
            raise self._reject(error, purpose, token) from None
        return token

    @sensitive_variables("secret")
    def consume(self, secret: object, purpose: object = "password_reset") -> SecureToken:
        """Like :meth:`verify`, and mark the token used: succeeds exactly once."""
        alias = write_alias(self)
        return self._use(self._verify(secret, purpose, alias), alias)

    def reference(self, token: SecureToken) -> str:
        """A value by which a session can point at a verified *token* without the secret.

        Django keeps the plaintext reset token in the session; this keeps ``token.pk`` and
        this value instead (R-06): an HMAC of the stored digest under the purpose's key. It
        proves the holder saw a valid link without being usable as one, and it changes with
        every new token, so an old session cannot point at a newer row.
        """
        key = token_keys(token.purpose).get(token.key_id, DUMMY_KEY)
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
            purpose = check_purpose(purpose)
            if not isinstance(pk, int) or isinstance(pk, bool) or not isinstance(reference, str):
                raise InvalidToken("malformed session reference")
            tokens = self.get_queryset().using(write_alias(self)).select_related("user")
            token = tokens.filter(pk=pk, purpose=purpose, kind="link").first()
            key = token_keys(purpose).get(token.key_id) if token else None
            if token is None or key is None:
                raise InvalidToken("unknown session reference")
            expected = self.reference(token).encode()
            if not crypto.digests_match(expected, reference.encode("ascii", "replace")):
                raise InvalidToken("session reference does not match")
            self._check_state(token, key, timezone.now())
        except TokenError as error:
            raise self._reject(error, purpose, token) from None
        return token

    def revoke(self, token: SecureToken) -> bool:
        """Revoke *token* if still unused and unrevoked; return whether this call did."""
        now = timezone.now()
        tokens = self.get_queryset().using(write_alias(self, token))
        done = tokens.unspent().filter(pk=token.pk).update(revoked_at=now)
        if done:
            token.revoked_at = now
        return done == 1

    def revoke_queryset(self, tokens: models.QuerySet[SecureToken]) -> int:
        """Revoke the live tokens among *tokens*; return how many were revoked.

        *tokens* is read in the same statement, on the manager's database: Django refuses
        a queryset bound to another with ``using()``.
        """
        live = self.get_queryset().using(write_alias(self)).live()
        return live.filter(pk__in=tokens.values("pk")).update(revoked_at=timezone.now())

    def revoke_for(self, user: AbstractBaseUser, purpose: str | None = None) -> int:
        """Revoke every live token and code of *user* (optionally of one *purpose*)."""
        owner = Owner.of(user, None)
        tokens = self.filter(owner=owner.key)
        if purpose is not None:
            tokens = tokens.filter(purpose=check_purpose(purpose))
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
        alias = write_alias(self)
        rows = self.get_queryset().using(alias)
        deleted = 0
        for condition in stale:
            matching = rows.filter(condition).order_by()
            while batch := list(matching.values_list("pk", flat=True)[:batch_size]):
                deleted += rows.filter(pk__in=batch).delete()[0]
        tokens = rows.filter(purpose=OuterRef("purpose"), owner=OuterRef("owner"))
        slots(alias).filter(failures=0).exclude(Exists(tokens)).delete()
        return deleted

    async def aissue(self, *args: Any, **kwargs: Any) -> tuple[SecureToken, str]:
        return await sync_to_async(self.issue)(*args, **kwargs)

    async def averify(self, *args: Any, **kwargs: Any) -> SecureToken:
        return await sync_to_async(self.verify)(*args, **kwargs)

    async def aconsume(self, *args: Any, **kwargs: Any) -> SecureToken:
        return await sync_to_async(self.consume)(*args, **kwargs)

    async def apurge(self, *args: Any, **kwargs: Any) -> int:
        return await sync_to_async(self.purge)(*args, **kwargs)
