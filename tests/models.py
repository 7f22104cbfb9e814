"""User-model variants for the suite's extra legs (see settings_custom_user.py)."""

from __future__ import annotations

import uuid

from django.contrib.auth.models import AbstractUser
from django.db import models


class CustomUser(AbstractUser):
    """A UUID primary key and an email field under another name."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    contact_email = models.EmailField(blank=True)

    EMAIL_FIELD = "contact_email"

    class Meta:
        app_label = "tests"
