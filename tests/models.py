"""User-model variants for the suite's extra legs (see settings_custom_user.py)."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models


class CustomUserManager(BaseUserManager["CustomUser"]):
    def create_user(self, username: str, password: str | None = None, **extra: Any) -> CustomUser:
        user = self.model(username=username, **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user


class CustomUser(AbstractBaseUser):
    """A UUID primary key, and an email field under another name than ``email``: the decoy
    ``email`` field must never be what binds a token."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    username = models.CharField(max_length=150, unique=True)
    email = models.EmailField(blank=True)
    contact_email = models.EmailField(blank=True)
    is_active = models.BooleanField(default=True)

    USERNAME_FIELD = "username"
    EMAIL_FIELD = "contact_email"

    objects = CustomUserManager()

    class Meta:
        app_label = "tests"
