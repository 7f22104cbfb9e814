from django.dispatch import receiver
from django.utils import timezone

from django_securetokens.signals import email_verified

from .models import VerifiedEmail


@receiver(email_verified)
def record_verified_email(sender, user, email, **kwargs):
    # user is None when an address is proven before its account exists (sign-up).
    if user is not None:
        VerifiedEmail.objects.update_or_create(
            user=user, email=email, defaults={"verified_at": timezone.now()}
        )
