"""Where this site records that an address was proven."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class VerifiedEmail(models.Model):
    """An address a user proved they receive mail at, and when.

    The user model is left alone: an address counts as verified while it is still the
    user's address, so a change made elsewhere (the admin, say) is unverified by itself.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    email = models.EmailField()
    verified_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "email"], name="accounts_verified_once")
        ]

    def __str__(self) -> str:
        return f"{self.email} ({self.user})"


def is_verified(user: object) -> bool:
    """Whether *user*'s current address was proven."""
    email = getattr(user, "email", "")
    return bool(email) and VerifiedEmail.objects.filter(user=user, email__iexact=email).exists()
