"""Database models. They store selectors and keyed digests, never a usable secret."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import crypto
from .api_keys import APIKeyManager
from .tokens import SecureTokenManager

if TYPE_CHECKING:
    from datetime import datetime


class State(models.TextChoices):
    """Where a secret is in its life, as the admin shows it."""

    LIVE = "live", _("live")
    USED = "used", _("used")
    EXPIRED = "expired", _("expired")
    REVOKED = "revoked", _("revoked")
    SUPERSEDED = "superseded", _("superseded")


# The rule of token state is written twice, once per language, side by side: in SQL by the
# querysets below and in Python by the models' state() methods. The tests hold every
# state of both to the same rows.


class SecureTokenQuerySet(models.QuerySet["SecureToken"]):
    """Tokens by :class:`State`. A token ends once: used, revoked, superseded or expired."""

    def unspent(self) -> SecureTokenQuerySet:
        """Tokens neither used nor revoked: live, or expired."""
        return self.filter(used_at__isnull=True, revoked_at__isnull=True)

    def live(self, now: datetime | None = None) -> SecureTokenQuerySet:
        """Tokens that are neither used, revoked nor expired at *now*."""
        return self.unspent().filter(expires_at__gt=now or timezone.now())

    def expired(self, now: datetime | None = None) -> SecureTokenQuerySet:
        """Tokens never used nor revoked whose time ran out by *now*."""
        return self.unspent().filter(expires_at__lte=now or timezone.now())

    def used(self) -> SecureTokenQuerySet:
        """Tokens used once; nothing else counts after that."""
        return self.filter(used_at__isnull=False)

    def revoked(self) -> SecureTokenQuerySet:
        """Revoked by hand (an admin, a password change), not by a newer secret."""
        return self.filter(used_at__isnull=True, revoked_at__isnull=False, superseded=False)

    def superseded(self) -> SecureTokenQuerySet:
        """Tokens revoked because a newer secret was issued for the same owner (R-05)."""
        return self.filter(used_at__isnull=True, revoked_at__isnull=False, superseded=True)

    def in_state(self, state: State, now: datetime | None = None) -> SecureTokenQuerySet:
        """The tokens whose :meth:`SecureToken.state` at *now* is *state*."""
        if state == State.LIVE:
            return self.live(now)
        if state == State.EXPIRED:
            return self.expired(now)
        if state == State.USED:
            return self.used()
        return self.revoked() if state == State.REVOKED else self.superseded()


class APIKeyQuerySet(models.QuerySet["APIKey"]):
    """API keys by :class:`State`: live, expired or revoked."""

    def live(self, now: datetime | None = None) -> APIKeyQuerySet:
        """Keys neither revoked nor expired at *now*."""
        unexpired = models.Q(expires_at__isnull=True) | models.Q(
            expires_at__gt=now or timezone.now()
        )
        return self.filter(unexpired, revoked_at__isnull=True)

    def expired(self, now: datetime | None = None) -> APIKeyQuerySet:
        """Unrevoked keys whose expiry passed by *now*."""
        return self.filter(revoked_at__isnull=True, expires_at__lte=now or timezone.now())

    def revoked(self) -> APIKeyQuerySet:
        """Revoked keys, expired or not."""
        return self.filter(revoked_at__isnull=False)

    def in_state(self, state: State, now: datetime | None = None) -> APIKeyQuerySet:
        """The keys whose :meth:`APIKey.state` at *now* is *state*."""
        if state == State.REVOKED:
            return self.revoked()
        return self.live(now) if state == State.LIVE else self.expired(now)


class SecureToken(models.Model):
    """A short-lived, single-use secret for one purpose: a URL token or a numeric code.

    A URL token reads ``selector + verifier``; the row keeps the selector (to find itself)
    and an HMAC of both under a key derived for its purpose. A code is found by its owner
    and purpose and stored as an HMAC with a per-row salt.
    """

    class Kind(models.TextChoices):
        LINK = "link", _("link")
        CODE = "code", _("code")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("user"),
    )
    email = models.EmailField(_("email address"), blank=True)
    # SHA-256 hex of the user or address: the lookup key, immune to collations (see owners).
    owner = models.CharField(max_length=64, editable=False)
    purpose = models.CharField(_("purpose"), max_length=64)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    selector = models.CharField(_("selector"), max_length=crypto.SELECTOR_LENGTH, unique=True)
    digest = models.BinaryField(max_length=32, editable=False)
    salt = models.BinaryField(max_length=16, null=True, editable=False)
    user_state = models.BinaryField(max_length=32, null=True, editable=False)
    key_id = models.CharField(_("key id"), max_length=16, editable=False)
    data = models.JSONField(_("data"), null=True, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"), db_index=True)
    used_at = models.DateTimeField(_("used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    superseded = models.BooleanField(_("superseded"), default=False)

    objects: ClassVar[SecureTokenManager] = SecureTokenManager.from_queryset(SecureTokenQuerySet)()

    class Meta:
        verbose_name = _("secure token")
        verbose_name_plural = _("secure tokens")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["owner", "purpose", "kind"], name="securetokens_owner"),
        ]

    def __str__(self) -> str:
        return f"{self.purpose} {self.kind} {self.selector}"

    def state(self, now: datetime | None = None) -> State:
        """This token's :class:`State` at *now* (default: the current time)."""
        if self.used_at is not None:
            return State.USED
        if self.revoked_at is not None:
            return State.SUPERSEDED if self.superseded else State.REVOKED
        if self.expires_at <= (now or timezone.now()):
            return State.EXPIRED
        return State.LIVE

    def revoke(self) -> bool:
        """Revoke this token if it is still live; return whether it was."""
        return SecureToken.objects.revoke(self)


class TokenSlot(models.Model):
    """One row per (purpose, owner), the owner being a user or an email address.

    It is row-locked while a new secret is issued, so at most one secret of each kind is live
    per owner and purpose (R-05), and it counts consecutive wrong codes across all codes,
    which only a success resets (R-33).
    """

    purpose = models.CharField(max_length=64)
    owner = models.CharField(max_length=64)  # as SecureToken.owner
    failures = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("token slot")
        constraints = [
            models.UniqueConstraint(fields=["purpose", "owner"], name="securetokens_slot_unique")
        ]

    def __str__(self) -> str:
        return f"{self.purpose} {self.owner}"


class APIKey(models.Model):
    """A long-lived, named, revocable API key ``<prefix>_<body><checksum>``.

    The body's first characters are the selector, which finds the row in one indexed query;
    the rest is the verifier, of which only an HMAC is stored.
    """

    name = models.CharField(_("name"), max_length=100)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="securetokens_api_keys",
        verbose_name=_("owner"),
    )
    prefix = models.CharField(_("prefix"), max_length=21, editable=False)
    selector = models.CharField(
        _("key id"), max_length=crypto.API_KEY_SELECTOR_LENGTH, unique=True, editable=False
    )
    digest = models.BinaryField(max_length=32, editable=False)
    key_id = models.CharField(_("HMAC key id"), max_length=16, editable=False)
    scopes = models.JSONField(_("scopes"), default=list, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True, db_index=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    # After a rotation the previous secret keeps working until previous_expires_at.
    previous_digest = models.BinaryField(max_length=32, null=True, editable=False)
    previous_key_id = models.CharField(max_length=16, blank=True, editable=False)
    previous_expires_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects: ClassVar[APIKeyManager] = APIKeyManager.from_queryset(APIKeyQuerySet)()

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}_{self.selector}…)"

    def state(self, now: datetime | None = None) -> State:
        """This key's :class:`State` at *now* (default: the current time)."""
        if self.revoked_at is not None:
            return State.REVOKED
        if self.expires_at is not None and self.expires_at <= (now or timezone.now()):
            return State.EXPIRED
        return State.LIVE

    def has_scopes(self, *scopes: str) -> bool:
        """Whether this key grants every one of *scopes*."""
        return set(scopes) <= set(self.scopes or ())

    def revoke(self) -> bool:
        """Revoke this key now; return whether it was still unrevoked."""
        return APIKey.objects.revoke(self)


class APIKeyExpiryNotice(models.Model):
    """One expiry notice sent for one key and one expiry date.

    ``manage.py apikey notify-expiring`` writes a row before it mails, so a daily cron job
    warns once per key, not once a day; a key whose expiry is moved gets a new notice.
    """

    api_key = models.ForeignKey(APIKey, on_delete=models.CASCADE, related_name="+")
    expires_at = models.DateTimeField()
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("API key expiry notice")
        constraints = [
            models.UniqueConstraint(
                fields=["api_key", "expires_at"], name="securetokens_expiry_notice_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.api_key_id} {self.expires_at:%Y-%m-%d}"
