"""``manage.py apikey``: issue, list, revoke, rotate and report API keys from scripts.

Every subcommand exits with status 0 on success and 1 with a one-line error on bad input,
usage errors included, so deploy scripts can rely on ``$?``. Secrets are printed only by
``issue`` and ``rotate``, once; ``--quiet`` prints the key alone for ``$(...)`` capture. A
leaked key to revoke is read from standard input, so it never lands in shell history.
"""

from __future__ import annotations

import re
import sys
from datetime import timedelta
from typing import Any, NoReturn

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from django_securetokens import crypto, expiry
from django_securetokens.api_keys import is_scope
from django_securetokens.databases import write_alias
from django_securetokens.exceptions import TokenError
from django_securetokens.models import APIKey, State


class _Parser(CommandParser):
    """A subcommand's parser: usage errors raise CommandError, not argparse's exit 2."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["called_from_command_line"] = False
        super().__init__(**kwargs)


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError(value)
    return number


_positive.__name__ = "positive integer"  # argparse names the type in its error message


def key_label(api_key: APIKey) -> str:
    """How a key is named everywhere outside its one showing: prefix and selector."""
    return f"{api_key.prefix}_{api_key.selector}"


def find_key(ident: str) -> APIKey:
    """The key whose id (``sk_live_<selector>`` or the bare selector) is *ident*, read
    where it is about to be revoked or rotated, not on a replica that may lag."""
    selector = ident.rstrip("…").rsplit("_", 1)[-1]
    api_key = None
    # Base62 only: anything else (NUL bytes included, which PostgreSQL refuses) is no id.
    if len(selector) == crypto.API_KEY_SELECTOR_LENGTH and re.fullmatch("[0-9A-Za-z]+", selector):
        keys = APIKey.objects.using(write_alias(APIKey.objects))
        api_key = keys.filter(selector=selector).select_related("user").first()
    if api_key is None:
        raise CommandError(f"No API key has the id {ident!r}; see `manage.py apikey list`.")
    return api_key


@sensitive_variables("secret")
def revoke_leaked(command: BaseCommand, secret: str) -> None:
    """Revoke the key whose plaintext is *secret*; shared with the old ``revokeapikey``."""
    try:
        api_key = APIKey.objects.revoke_secret(secret)
    except TokenError:
        raise CommandError("That is not a key issued by this site.") from None
    command.stdout.write(f"Revoked {key_label(api_key)} ({api_key.name}).")


def report_old_keys(command: BaseCommand, fail: bool) -> None:
    """List live keys still hashed under an old HMAC key (R-62); shared with ``apikeyreport``."""
    old = APIKey.objects.on_old_keys().filter(revoked_at__isnull=True)
    for api_key in old.select_related("user"):
        command.stdout.write(
            f"{key_label(api_key)}  {api_key.name}  "
            f"owner={api_key.user_id or '-'}  key_id={api_key.key_id}"
        )
    count = old.count()
    command.stdout.write(f"{count} API key(s) on an old key version.")
    if fail and count:
        raise CommandError(f"{count} API key(s) still on an old key version.")


class Command(BaseCommand):
    help = "Issue, list, revoke, rotate and report API keys; warn owners before keys expire."

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.called_from_command_line = False
        return parser

    def run_from_argv(self, argv: list[str]) -> None:
        try:
            super().run_from_argv(argv)
        except CommandError as error:  # a usage error: raised while parsing, before execute()
            self._fail(error)

    def _fail(self, error: CommandError) -> NoReturn:
        self.stderr.write(f"CommandError: {error}")
        sys.exit(1)

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, parser_class=_Parser)

        issue = actions.add_parser("issue", help="issue a key and print it once")
        issue.add_argument("--user", required=True, help="username of the key's owner")
        issue.add_argument("--name", required=True, help="what the key is for, e.g. 'ci'")
        issue.add_argument(
            "--scope",
            action="append",
            default=[],
            dest="scopes",
            help="a scope the key grants (repeat for several)",
        )
        lifetime = issue.add_mutually_exclusive_group()
        lifetime.add_argument(
            "--expires-in-days",
            type=_positive,
            help="lifetime in days (default: the API_KEY_MAX_AGE setting)",
        )
        lifetime.add_argument(
            "--never-expires", action="store_true", help="a key without an expiry date"
        )
        issue.add_argument("--quiet", action="store_true", help="print only the key")

        listing = actions.add_parser("list", help="list keys (never a secret)")
        listing.add_argument("--user", help="only this user's keys")

        revoke = actions.add_parser("revoke", help="revoke a key by id, or a leaked key")
        target = revoke.add_mutually_exclusive_group(required=True)
        target.add_argument("id", nargs="?", help="the key's id, as `apikey list` shows it")
        target.add_argument(
            "--secret",
            choices=["-"],
            help="'-': read the leaked key from standard input (never from the command line)",
        )

        rotate = actions.add_parser("rotate", help="give a key a new secret, print it once")
        rotate.add_argument("id", help="the key's id, as `apikey list` shows it")
        rotate.add_argument(
            "--grace-hours",
            type=_positive,
            help="hours the old secret keeps working (default: it stops at once)",
        )
        rotate.add_argument("--quiet", action="store_true", help="print only the new key")

        notify = actions.add_parser(
            "notify-expiring", help="mail owners of keys that expire soon, once per key"
        )
        notify.add_argument(
            "--days",
            type=_positive,
            help="notice window in days (default: the API_KEY_EXPIRY_NOTICE_DAYS setting)",
        )

        report = actions.add_parser("report", help="keys still hashed under an old HMAC key")
        report.add_argument(
            "--fail", action="store_true", help="exit with status 1 when any key is listed"
        )

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        handler = getattr(self, f"_{action.replace('-', '_')}")
        handler(**options)

    def _user(self, username: str) -> Any:
        user_model = get_user_model()
        try:
            if "\x00" in username:  # no stored name has one, and PostgreSQL refuses them
                raise user_model.DoesNotExist
            return user_model._default_manager.get_by_natural_key(username)
        except user_model.DoesNotExist:
            raise CommandError(f"No user has the username {username!r}.") from None

    @sensitive_variables("secret")
    def _issue(
        self,
        *,
        user: str,
        name: str,
        scopes: list[str],
        expires_in_days: int | None,
        never_expires: bool,
        quiet: bool,
        **options: Any,
    ) -> None:
        name = name.strip()
        longest = APIKey._meta.get_field("name").max_length or 0
        if not name or len(name) > longest or "\x00" in name:
            raise CommandError(f"--name must be 1 to {longest} characters, without NUL.")
        bad = [scope for scope in scopes if not is_scope(scope)]
        if bad:
            raise CommandError(
                f"--scope {bad[0]!r} is not a scope name (1 to 64 RFC 6750 characters)."
            )
        owner = self._user(user)
        expires_at = None
        if expires_in_days is not None:
            expires_at = timezone.now() + timedelta(days=expires_in_days)
        api_key, secret = APIKey.objects.issue(
            name, owner, expires_at, scopes=scopes, never_expires=never_expires
        )
        expires = f"{api_key.expires_at:%Y-%m-%d %H:%M %Z}" if api_key.expires_at else "never"
        self._show(
            secret,
            quiet,
            f"Issued {key_label(api_key)} ({api_key.name}) for {owner.get_username()}, "
            f"expires {expires}.",
        )

    def _show(self, secret: str, quiet: bool, summary: str) -> None:
        if not quiet:
            self.stdout.write(summary)
            self.stdout.write("Copy the key now; it is not stored and is never shown again:")
        self.stdout.write(secret)

    def _list(self, *, user: str | None, **options: Any) -> None:
        keys = APIKey.objects.select_related("user").order_by("created_at", "pk")
        if user is not None:
            keys = keys.filter(user=self._user(user))
        now = timezone.now()
        rows = [("ID", "NAME", "OWNER", "SCOPES", "CREATED", "LAST USED", "EXPIRES", "STATE")]
        for k in keys:
            rows.append(
                (
                    key_label(k),
                    k.name,
                    str(k.user.get_username()) if k.user else "-",
                    ",".join(k.scopes or ()) or "-",
                    f"{k.created_at:%Y-%m-%d}",
                    f"{k.last_used_at:%Y-%m-%d %H:%M}" if k.last_used_at else "never",
                    f"{k.expires_at:%Y-%m-%d}" if k.expires_at else "never",
                    str(State(k.state(now)).value),
                )
            )
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for row in rows:
            self.stdout.write(
                "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
            )

    def _revoke(self, *, id: str | None, secret: str | None, **options: Any) -> None:
        if secret == "-":  # noqa: S105 -- the stdin marker, not a password
            revoke_leaked(self, sys.stdin.readline().strip())
            return
        api_key = find_key(str(id))
        if not api_key.revoke():
            raise CommandError(f"{key_label(api_key)} was already revoked.")
        self.stdout.write(f"Revoked {key_label(api_key)} ({api_key.name}).")

    @sensitive_variables("secret")
    def _rotate(self, *, id: str, grace_hours: int | None, quiet: bool, **options: Any) -> None:
        api_key = find_key(id)
        state = api_key.state()
        if state != State.LIVE:
            raise CommandError(f"{key_label(api_key)} is {state.label}; issue a new key.")
        grace = timedelta(hours=grace_hours) if grace_hours else None
        api_key, secret = APIKey.objects.rotate(api_key, grace)
        old = (
            f"the old secret works until {api_key.previous_expires_at:%Y-%m-%d %H:%M %Z}"
            if grace
            else "the old secret no longer works"
        )
        self._show(secret, quiet, f"Rotated {key_label(api_key)} ({api_key.name}); {old}.")

    def _notify_expiring(self, *, days: int | None, **options: Any) -> None:
        outcome = expiry.notify_expiring(days)
        self.stdout.write(
            f"Noticed {outcome.keys} expiring API key(s); sent {outcome.mails} mail(s)."
        )
        if outcome.failed:
            raise CommandError(f"{outcome.failed} mail(s) failed; the next run retries them.")

    def _report(self, *, fail: bool, **options: Any) -> None:
        report_old_keys(self, fail)
