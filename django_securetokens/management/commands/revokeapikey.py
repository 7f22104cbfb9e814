"""``manage.py revokeapikey``: deprecated, use ``manage.py apikey revoke --secret -``.

Kept for one release; it warns on standard error and does what it always did: revoke the
leaked key read from standard input (or ``--key``) (R-58).
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from .apikey import revoke_leaked


class Command(BaseCommand):
    help = "Deprecated: use `manage.py apikey revoke --secret -`."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--key", help="the leaked key (prefer standard input)")

    def handle(self, *args: Any, key: str | None, **options: Any) -> None:
        self.stderr.write(
            "revokeapikey is deprecated and goes in the next release; "
            "use `manage.py apikey revoke --secret -`."
        )
        revoke_leaked(self, key if key is not None else sys.stdin.readline().strip())
