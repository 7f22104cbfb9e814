"""``manage.py generatesecret``: print a fresh secret from one of the recipes."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from django_securetokens import recipes
from django_securetokens.conf import setting


class Command(BaseCommand):
    help = "Print a new random secret: token, hex, code, password, passphrase, apikey or key."

    def add_arguments(self, parser: CommandParser) -> None:
        kinds = parser.add_subparsers(dest="kind", required=True)
        kinds.add_parser("token", help="URL-safe token").add_argument(
            "--bytes", type=int, default=32
        )
        kinds.add_parser("hex", help="hexadecimal token").add_argument(
            "--bytes", type=int, default=32
        )
        kinds.add_parser("code", help="numeric code").add_argument("--digits", type=int, default=6)
        pw = kinds.add_parser("password", help="password with character-class rules")
        pw.add_argument("--length", type=int, default=20)
        for name in ("lowercase", "uppercase", "digits", "symbols"):
            pw.add_argument(f"--{name}", type=int, default=1, help=f"minimum {name}")
        pw.add_argument("--no-lookalikes", action="store_true", help="leave out Il1O0o etc.")
        pp = kinds.add_parser("passphrase", help="words from the EFF list or your own")
        pp.add_argument("--words", type=int, default=6)
        pp.add_argument("--separator", default="-")
        pp.add_argument("--wordlist", help="path to a word list, one word per line")
        ak = kinds.add_parser("apikey", help="API key in this project's format (not stored)")
        ak.add_argument("--prefix", default=None)
        kinds.add_parser("key", help="HMAC signing key").add_argument(
            "--bytes", type=int, default=32
        )

    def handle(self, *args: Any, kind: str, **options: Any) -> None:
        try:
            self.stdout.write(self._generate(kind, options))
        except (ValueError, OSError) as error:
            raise CommandError(str(error)) from error

    def _generate(self, kind: str, options: dict[str, Any]) -> str:
        if kind in {"token", "hex", "key"} and options["bytes"] < 16:
            raise ValueError("--bytes must be at least 16")
        if kind == "token":
            return recipes.token_urlsafe(options["bytes"])
        if kind == "hex":
            return recipes.token_hex(options["bytes"])
        if kind == "key":
            return recipes.signing_key(options["bytes"])
        if kind == "code":
            return recipes.code(options["digits"])
        if kind == "password":
            return recipes.password(
                options["length"],
                lowercase=options["lowercase"],
                uppercase=options["uppercase"],
                digits=options["digits"],
                symbols=options["symbols"],
                exclude_lookalikes=options["no_lookalikes"],
            )
        if kind == "passphrase":
            wordlist = recipes.load_wordlist(options["wordlist"]) if options["wordlist"] else None
            return recipes.passphrase(
                options["words"], separator=options["separator"], wordlist=wordlist
            )
        return recipes.api_key(
            options["prefix"] or setting("API_KEY_PREFIX"), setting("API_KEY_BODY_LENGTH")
        )
