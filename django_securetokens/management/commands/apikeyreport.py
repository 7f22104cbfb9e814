"""``manage.py apikeyreport``: deprecated, use ``manage.py apikey report``.

Kept for one release; it warns on standard error and lists the API keys whose digest is
still under an old HMAC key (R-62), as it always did.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from .apikey import report_old_keys


class Command(BaseCommand):
    help = "Deprecated: use `manage.py apikey report`."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--fail", action="store_true", help="exit with status 1 when any key is listed"
        )

    def handle(self, *args: Any, fail: bool, **options: Any) -> None:
        self.stderr.write(
            "apikeyreport is deprecated and goes in the next release; "
            "use `manage.py apikey report`."
        )
        report_old_keys(self, fail)
