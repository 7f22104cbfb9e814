"""``manage.py demouser``: make sure the demo superuser exists."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand

USERNAME = "admin"
PASSWORD = "admin"  # noqa: S105 - a demo account on a site bound to 127.0.0.1
EMAIL = "admin@example.com"


class Command(BaseCommand):
    help = f"Create the demo superuser {USERNAME!r} with password {PASSWORD!r} if it is missing."

    def handle(self, *args: Any, **options: Any) -> None:
        if User.objects.filter(username=USERNAME).exists():
            # Leave an existing account alone: whoever tried the password-reset flow on it
            # expects their new password to keep working.
            self.stdout.write(f"Demo superuser {USERNAME!r} already exists; left unchanged.")
            return
        User.objects.create_superuser(username=USERNAME, email=EMAIL, password=PASSWORD)
        self.stdout.write(f"Created demo superuser {USERNAME!r} (password {PASSWORD!r}).")
