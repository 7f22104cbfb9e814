"""Record "verified" when django-securetokens reports a proven address."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver
from django.utils import timezone

from django_securetokens.signals import email_verified

from .models import VerifiedEmail


@receiver(email_verified)
def record_verified_email(sender: type, user: Any, email: str, **kwargs: Any) -> None:
    # Sent inside the transaction that uses the code or link, so this row is written
    # together with it, or not at all. Before sign-up there is no user yet: the sign-up
    # view records the address when it creates the account.
    if user is not None:
        VerifiedEmail.objects.update_or_create(
            user=user, email=email, defaults={"verified_at": timezone.now()}
        )
