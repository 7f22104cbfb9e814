from django.conf import settings
from django.db import models


class VerifiedEmail(models.Model):
    """An address a user proved they receive mail at, and when."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    email = models.EmailField()
    verified_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "email"], name="verified_email_once")
        ]

    def __str__(self):
        return self.email
