"""``manage.py generatesecret``: print a fresh secret from one of the recipes.

Nothing it prints is stored anywhere. ``apikey`` in particular prints a *sample* of this
site's key format, which no site accepts; real keys come from ``manage.py apikey issue``.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from django_securetokens import recipes
from django_securetokens.conf import setting

#: Below these a secret is too easy to guess to be worth printing (R-03).
MIN_BYTES = 16
MIN_CODE_DIGITS = 6
MIN_PASSPHRASE_WORDS = 4

APIKEY_NOTE = (
    "This is a sample of the API-key format, not a key: nothing stores it, so no site accepts "
    "it. Issue a real key with `manage.py apikey issue --user USERNAME --name NAME`."
)


class Command(BaseCommand):
    help = (
        "Print a new random secret: token, hex, code, password, passphrase or key; "
        "apikey prints a format sample only (real keys: `manage.py apikey issue`)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        kinds = parser.add_subparsers(dest="kind", required=True, metavar="KIND")
        nbytes = f"random bytes, at least {MIN_BYTES} (default: %(default)s = 256 bits)"
        kinds.add_parser("token", help="URL-safe token (43 characters by default)").add_argument(
            "--bytes", type=int, default=32, help=nbytes
        )
        kinds.add_parser("hex", help="hexadecimal token (64 digits by default)").add_argument(
            "--bytes", type=int, default=32, help=nbytes
        )
        kinds.add_parser("code", help="numeric code, zero-padded").add_argument(
            "--digits",
            type=int,
            default=6,
            help=f"digits, {MIN_CODE_DIGITS} to 64 (default: %(default)s)",
        )
        pw = kinds.add_parser("password", help="password with character-class rules")
        pw.add_argument("--length", type=int, default=20, help="characters (default: %(default)s)")
        for name in ("lowercase", "uppercase", "digits", "symbols"):
            pw.add_argument(
                f"--{name}",
                type=int,
                default=1,
                help=f"at least this many {name}; 0 leaves them out (default: %(default)s)",
            )
        pw.add_argument(
            "--no-lookalikes", action="store_true", help="leave out Il1O0o and the like"
        )
        pp = kinds.add_parser("passphrase", help="words from the EFF list or your own")
        pp.add_argument(
            "--words",
            type=int,
            default=6,
            help=f"words, at least {MIN_PASSPHRASE_WORDS} (default: %(default)s, about 77 bits)",
        )
        pp.add_argument("--separator", default="-", help="between words (default: %(default)s)")
        pp.add_argument(
            "--wordlist",
            help="path to a word list, one word per line, at least 1,000 words "
            "(default: the EFF large list shipped with the package)",
        )
        ak = kinds.add_parser(
            "apikey",
            help="a SAMPLE of this site's API-key format, never stored and accepted nowhere; "
            "issue real keys with `manage.py apikey issue`",
        )
        ak.add_argument(
            "--prefix", default=None, help="key prefix (default: the API_KEY_PREFIX setting)"
        )
        kinds.add_parser("key", help="HMAC signing key, base64 (for HMAC_KEYS)").add_argument(
            "--bytes", type=int, default=32, help=nbytes
        )

    def handle(self, *args: Any, kind: str, **options: Any) -> None:
        try:
            self.stdout.write(self._generate(kind, options))
        except (ValueError, OSError) as error:
            raise CommandError(str(error)) from error
        if kind == "apikey":
            self.stderr.write(APIKEY_NOTE)

    def _generate(self, kind: str, options: dict[str, Any]) -> str:
        if kind in {"token", "hex", "key"} and options["bytes"] < MIN_BYTES:
            raise ValueError(f"--bytes must be at least {MIN_BYTES}")
        if kind == "token":
            return recipes.token_urlsafe(options["bytes"])
        if kind == "hex":
            return recipes.token_hex(options["bytes"])
        if kind == "key":
            return recipes.signing_key(options["bytes"])
        if kind == "code":
            if options["digits"] < MIN_CODE_DIGITS:
                raise ValueError(
                    f"--digits must be at least {MIN_CODE_DIGITS}: shorter codes are too easy "
                    "to guess"
                )
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
            if options["words"] < MIN_PASSPHRASE_WORDS:
                raise ValueError(
                    f"--words must be at least {MIN_PASSPHRASE_WORDS}: fewer words are too "
                    "easy to guess"
                )
            wordlist = recipes.load_wordlist(options["wordlist"]) if options["wordlist"] else None
            return recipes.passphrase(
                options["words"], separator=options["separator"], wordlist=wordlist
            )
        return recipes.api_key(
            options["prefix"] or setting("API_KEY_PREFIX"), setting("API_KEY_BODY_LENGTH")
        )
