"""``manage.py apikey`` and its deprecated forerunners, on every database of the suite."""

from __future__ import annotations

import io
import sys
from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone

from django_securetokens import signals
from django_securetokens.exceptions import InvalidToken, RevokedToken
from django_securetokens.management.commands.apikey import Command
from django_securetokens.models import APIKey, APIKeyExpiryNotice

from .factories import UserFactory

pytestmark = pytest.mark.django_db


def run(*args: str, stdin: str = "") -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    old, sys.stdin = sys.stdin, io.StringIO(stdin)
    try:
        call_command(*args, stdout=out, stderr=err)
    finally:
        sys.stdin = old
    return out.getvalue(), err.getvalue()


def fails(*args: str, stdin: str = "") -> str:
    """Run a command that must fail; return its one-line message."""
    with pytest.raises(CommandError) as caught:
        run(*args, stdin=stdin)
    assert caught.value.returncode == 1
    message = str(caught.value)
    assert "\n" not in message
    return message


def label(api_key: APIKey) -> str:
    return f"{api_key.prefix}_{api_key.selector}"


def test_issue_prints_the_key_once_and_stores_only_a_digest(user):
    out, _ = run("apikey", "issue", "--user", user.username, "--name", "ci", "--scope", "a:r")
    summary, advice, secret = out.splitlines()
    api_key = APIKey.objects.authenticate(secret)
    assert api_key.user == user and api_key.name == "ci" and api_key.scopes == ["a:r"]
    assert summary.startswith(f"Issued {label(api_key)} (ci) for {user.username}, expires ")
    assert "never shown again" in advice
    assert secret.encode() not in bytes(api_key.digest)


def test_issue_quiet_prints_only_the_key(user):
    out, _ = run(
        "apikey", "issue", "--user", user.username, "--name", "deploy", "--scope", "x", "--scope",
        "y", "--expires-in-days", "3", "--quiet",
    )  # fmt: skip
    api_key = APIKey.objects.authenticate(out.strip())
    assert out.count("\n") == 1
    assert api_key.scopes == ["x", "y"]
    assert abs(api_key.expires_at - timezone.now() - timedelta(days=3)) < timedelta(minutes=1)


def test_issue_never_expires(user):
    out, _ = run("apikey", "issue", "--user", user.username, "--name", "n", "--never-expires")
    assert "expires never." in out
    assert APIKey.objects.get().expires_at is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--user", "nobody", "--name", "ci"], "No user has the username 'nobody'."),
        (["--user", "nul\x00", "--name", "ci"], "No user has the username 'nul\\x00'."),
        (["--user", "{user}", "--name", " "], "--name must be 1 to 100 characters, without NUL."),
        (["--user", "{user}", "--name", "x" * 101], "--name must be 1 to 100 characters"),
        (["--user", "{user}", "--name", "a\x00b"], "--name must be 1 to 100 characters"),
        (["--user", "{user}", "--name", "ci", "--scope", "a b"], "--scope 'a b' is not a scope"),
        (["--user", "{user}", "--name", "ci", "--scope", "\x00"], "is not a scope name"),
        (["--user", "{user}", "--name", "ci", "--scope", "s" * 65], "is not a scope name"),
        (["--user", "{user}", "--name", "ci", "--expires-in-days", "0"], "invalid positive"),
        (["--user", "{user}", "--name", "ci", "--expires-in-days", "x"], "invalid positive"),
        (["--user", "{user}", "--name", "c", "--expires-in-days", "1", "--never-expires"], "not"),
        (["--name", "ci"], "--user"),
    ],
)
def test_issue_refuses_bad_input_in_one_line(user, args, message):
    args = [a.replace("{user}", user.username) for a in args]
    assert message in fails("apikey", "issue", *args)
    assert not APIKey.objects.exists()


def test_list_shows_every_column_and_never_a_secret(user, api_key, frozen_clock):
    key, secret = api_key
    _, other = APIKey.objects.issue(name="svc", never_expires=True, scopes=["a", "b"])
    APIKey.objects.authenticate(other)
    APIKey.objects.revoke_secret(other)
    out, _ = run("apikey", "list")
    header, *rows = out.splitlines()
    assert header.split() == ["ID", "NAME", "OWNER", "SCOPES", "CREATED", "LAST", "USED"] + [
        "EXPIRES",
        "STATE",
    ]
    assert rows[0].split()[:4] == [label(key), "ci", user.username, "-"]
    assert rows[0].split()[-1] == "live"
    assert rows[1].split()[1:4] == ["svc", "-", "a,b"]
    assert rows[1].split()[-2:] == ["never", "revoked"]
    assert secret not in out and other not in out
    only, _ = run("apikey", "list", "--user", user.username)
    assert len(only.splitlines()) == 2
    assert "No user" in fails("apikey", "list", "--user", "nobody")


@pytest.mark.parametrize("form", ["label", "selector", "ellipsis"])
def test_revoke_by_id(api_key, form):
    key, secret = api_key
    ident = {"label": label(key), "selector": key.selector, "ellipsis": label(key) + "…"}[form]
    out, _ = run("apikey", "revoke", ident)
    assert out.strip() == f"Revoked {label(key)} (ci)."
    with pytest.raises(RevokedToken):
        APIKey.objects.authenticate(secret)
    assert fails("apikey", "revoke", ident) == f"{label(key)} was already revoked."


@pytest.mark.parametrize("ident", ["sk_live_AAAAAAAAAAAA", "short", "é" * 12, "\x00" * 12])
def test_revoke_unknown_id(api_key, ident):
    assert "No API key has the id" in fails("apikey", "revoke", ident)
    assert api_key[0].state() == "live"


def test_revoke_a_leaked_key_read_from_stdin(api_key):
    key, secret = api_key
    out, _ = run("apikey", "revoke", "--secret", "-", stdin=secret + "\n")
    assert out.strip() == f"Revoked {label(key)} (ci)."
    with pytest.raises(RevokedToken):
        APIKey.objects.authenticate(secret)


@pytest.mark.parametrize("stdin", ["", "sk_live_nope\n", "x" * 100_000, "\x00\n"])
def test_revoke_refuses_what_is_not_our_key(api_key, stdin):
    assert fails("apikey", "revoke", "--secret", "-", stdin=stdin) == (
        "That is not a key issued by this site."
    )
    assert api_key[0].state() == "live"


def test_revoke_never_takes_a_secret_on_the_command_line(api_key):
    assert "invalid choice" in fails("apikey", "revoke", "--secret", api_key[1])
    assert "one of the arguments" in fails("apikey", "revoke")


def test_rotate_with_grace(api_key, frozen_clock):
    key, old = api_key
    out, _ = run("apikey", "rotate", label(key), "--grace-hours", "2")
    summary, _, new = out.splitlines()
    assert summary.startswith(f"Rotated {label(key)} (ci); the old secret works until ")
    assert APIKey.objects.authenticate(new).pk == key.pk
    assert APIKey.objects.authenticate(old).pk == key.pk
    frozen_clock.shift(timedelta(hours=2, seconds=1))
    with pytest.raises(InvalidToken):
        APIKey.objects.authenticate(old)


def test_rotate_quiet_without_grace(api_key):
    key, old = api_key
    out, _ = run("apikey", "rotate", key.selector, "--quiet")
    assert APIKey.objects.authenticate(out.strip()).pk == key.pk
    with pytest.raises(InvalidToken):
        APIKey.objects.authenticate(old)


def test_rotate_refuses_a_dead_key(api_key):
    key, _ = api_key
    key.revoke()
    assert fails("apikey", "rotate", label(key)) == f"{label(key)} is revoked; issue a new key."
    assert "invalid positive" in fails("apikey", "rotate", label(key), "--grace-hours", "-1")


def test_report_folds_apikeyreport():
    assert run("apikey", "report", "--fail")[0].strip() == "0 API key(s) on an old key version."
    with override_settings(SECRET_KEY="a" * 50):
        APIKey.objects.issue(name="old")
    with override_settings(SECRET_KEY="b" * 50, SECRET_KEY_FALLBACKS=["a" * 50]):
        out, _ = run("apikey", "report")
        assert out.splitlines()[-1] == "1 API key(s) on an old key version."
        assert fails("apikey", "report", "--fail") == "1 API key(s) still on an old key version."


def test_old_command_names_warn_and_still_work(api_key):
    key, secret = api_key
    out, err = run("apikeyreport")
    assert "0 API key(s)" in out and "apikeyreport is deprecated" in err
    out, err = run("revokeapikey", stdin=secret)
    assert "Revoked" in out and "revokeapikey is deprecated" in err
    assert key.__class__.objects.get(pk=key.pk).revoked_at is not None


# --- exit status and usage errors as the shell sees them -----------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["frobnicate"],
        ["issue", "--name", "ci"],
        ["revoke", "a", "--secret", "-"],
        ["list", "--bogus"],
        ["notify-expiring", "--days", "zero"],
    ],
)
def test_usage_errors_exit_1_with_one_line(argv, capsys):
    with pytest.raises(SystemExit) as caught:
        Command().run_from_argv(["manage.py", "apikey", *argv])
    assert caught.value.code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("CommandError: Error: ")


def test_help_exits_0(capsys):
    with pytest.raises(SystemExit) as caught:
        Command().run_from_argv(["manage.py", "apikey", "issue", "--help"])
    assert caught.value.code == 0
    assert "--expires-in-days" in capsys.readouterr().out


# --- expiry notices ------------------------------------------------------------------------


@pytest.fixture
def expiring(user, frozen_clock):
    now = timezone.now()
    soon, _ = APIKey.objects.issue(name="build-bot", user=user, expires_at=now + timedelta(days=2))
    later, _ = APIKey.objects.issue(
        name="deploy-bot", user=user, expires_at=now + timedelta(days=6)
    )
    APIKey.objects.issue(name="far-bot", user=user, expires_at=now + timedelta(days=30))
    APIKey.objects.issue(name="gone", user=user, expires_at=now + timedelta(days=1))[0].revoke()
    APIKey.objects.issue(name="forever", user=user, never_expires=True)
    return soon, later


def test_notify_expiring_mails_each_owner_once_per_key(expiring, user, frozen_clock):
    soon, later = expiring
    received = []

    def receiver(**kwargs):
        received.append(kwargs)

    signals.api_key_expiring.connect(receiver)
    try:
        out, _ = run("apikey", "notify-expiring")
        assert out.strip() == "Noticed 2 expiring API key(s); sent 1 mail(s)."
        (message,) = mail.outbox
        assert message.to == [user.email]
        assert message.subject == "2 of your API keys on testserver.example expire soon"
        assert f"build-bot ({label(soon)}…)" in message.body and "deploy-bot" in message.body
        assert "far-bot" not in message.body and "gone" not in message.body
        html = message.alternatives[0][0]
        assert f"<code>{label(soon)}…</code>" in html
        assert [r["api_key"].pk for r in received] == [soon.pk, later.pk]
        assert received[0]["expires_at"] == soon.expires_at
        # A daily cron job: a week of runs, still one mail per key.
        for _ in range(7):
            frozen_clock.shift(timedelta(hours=24))
            assert run("apikey", "notify-expiring")[0].startswith("Noticed 0 ")
        assert len(mail.outbox) == 1 and len(received) == 2
        # "far" enters the 7-day window on day 23, and is noticed then, once.
        frozen_clock.shift(timedelta(days=16))
        run("apikey", "notify-expiring")
        run("apikey", "notify-expiring")
        assert len(mail.outbox) == 2 and "far-bot" in mail.outbox[1].body
        assert mail.outbox[1].subject == "Your API key on testserver.example expires soon"
    finally:
        signals.api_key_expiring.disconnect(receiver)


def test_notify_again_when_the_expiry_moves(expiring, frozen_clock):
    soon, _ = expiring
    run("apikey", "notify-expiring", "--days", "3")
    assert len(mail.outbox) == 1 and "deploy-bot" not in mail.outbox[0].body
    APIKey.objects.filter(pk=soon.pk).update(expires_at=timezone.now() + timedelta(days=1))
    run("apikey", "notify-expiring", "--days", "3")
    assert len(mail.outbox) == 2
    assert mail.outbox[1].subject == "Your API key on testserver.example expires soon"
    assert APIKeyExpiryNotice.objects.filter(api_key=soon).count() == 2


def test_keys_without_an_address_get_the_signal_only(frozen_clock):
    APIKey.objects.issue(name="svc", expires_at=timezone.now() + timedelta(days=1))
    APIKey.objects.issue(
        name="mute", user=UserFactory(email=""), expires_at=timezone.now() + timedelta(days=1)
    )
    APIKey.objects.issue(
        name="idle",
        user=UserFactory(is_active=False),
        expires_at=timezone.now() + timedelta(days=1),
    )
    out, _ = run("apikey", "notify-expiring")
    assert out.strip() == "Noticed 3 expiring API key(s); sent 0 mail(s)."
    assert mail.outbox == []


@override_settings(SECURETOKENS={"BASE_URL": None})
def test_a_failed_mail_is_retried_next_run(expiring, monkeypatch):
    monkeypatch.setattr("django_securetokens.expiry.send_email", lambda *a, **kw: False)
    assert "1 mail(s) failed" in fails("apikey", "notify-expiring")
    assert not APIKeyExpiryNotice.objects.exists()
    monkeypatch.undo()
    run("apikey", "notify-expiring")
    assert mail.outbox[0].subject == "2 of your API keys expire soon"


@override_settings(SECURETOKENS={"API_KEY_EXPIRY_NOTICE_DAYS": 1, "BASE_URL": None})
def test_the_window_defaults_to_the_setting(user, frozen_clock):
    APIKey.objects.issue(name="a", user=user, expires_at=timezone.now() + timedelta(hours=23))
    APIKey.objects.issue(name="b", user=user, expires_at=timezone.now() + timedelta(hours=25))
    run("apikey", "notify-expiring")
    assert mail.outbox[0].subject == "Your API key expires soon"


def test_a_notice_claimed_by_another_run_is_not_sent_twice(expiring, monkeypatch):
    from django_securetokens import expiry

    soon, later = expiring
    # Another run recorded "soon" between this run's query and its claim.
    real_due = expiry.due

    def racing_due(days, using):
        keys = real_due(days, using)
        APIKeyExpiryNotice.objects.create(api_key=soon, expires_at=soon.expires_at)
        return keys

    monkeypatch.setattr(expiry, "due", racing_due)
    assert expiry.notify_expiring(7) == expiry.Outcome(keys=1, mails=1, failed=0)
    assert "build-bot" not in mail.outbox[0].body


def test_a_notice_names_its_key_and_date(api_key):
    key, _ = api_key
    notice = APIKeyExpiryNotice.objects.create(api_key=key, expires_at=key.expires_at)
    assert str(notice) == f"{key.pk} {key.expires_at:%Y-%m-%d}"
