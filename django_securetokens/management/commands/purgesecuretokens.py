"""``manage.py purgesecuretokens``: delete used, expired and revoked rows past retention."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from django_securetokens.models import SecureToken


class Command(BaseCommand):
    help = "Delete used, expired and revoked secure tokens older than SECURETOKENS['RETENTION']."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=1000)

    def handle(self, *args: Any, batch_size: int, verbosity: int, **options: Any) -> None:
        deleted = SecureToken.objects.purge(batch_size=batch_size)
        # Cron mails whatever a job prints: --verbosity 0 must print nothing.
        if verbosity > 0:
            self.stdout.write(f"Deleted {deleted} secure token(s).")
