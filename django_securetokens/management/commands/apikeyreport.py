"""``manage.py apikeyreport``: list API keys whose digest is still under an old HMAC key.

Removing a fallback from ``SECRET_KEY_FALLBACKS`` (or ``HMAC_KEYS``) silently revokes these
keys; each is re-hashed under the current key the next time it is used (R-62).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from django_securetokens.models import APIKey


class Command(BaseCommand):
    help = "List API keys still hashed under an old HMAC key version."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--fail", action="store_true", help="exit with status 1 when any key is listed"
        )

    def handle(self, *args: Any, fail: bool, **options: Any) -> None:
        old = APIKey.objects.on_old_keys().filter(revoked_at__isnull=True)
        for api_key in old.select_related("user"):
            self.stdout.write(
                f"{api_key.prefix}_{api_key.selector}  {api_key.name}  "
                f"owner={api_key.user_id or '-'}  key_id={api_key.key_id}"
            )
        count = old.count()
        self.stdout.write(f"{count} API key(s) on an old key version.")
        if fail and count:
            raise SystemExit(1)
