"""``manage.py revokeapikey``: revoke a leaked API key given its plaintext (R-58).

The key is read from standard input by default so it never lands in shell history.
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from django_securetokens.exceptions import TokenError
from django_securetokens.models import APIKey


class Command(BaseCommand):
    help = "Revoke the API key whose plaintext is read from standard input (or --key)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--key", help="the leaked key (prefer standard input)")

    def handle(self, *args: Any, key: str | None, **options: Any) -> None:
        secret = key if key is not None else sys.stdin.readline().strip()
        try:
            api_key = APIKey.objects.revoke_secret(secret)
        except TokenError:
            raise CommandError("That is not a key issued by this site.") from None
        self.stdout.write(f"Revoked {api_key.prefix}_{api_key.selector} ({api_key.name}).")
