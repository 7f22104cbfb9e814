from __future__ import annotations

import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings
from django.utils import timezone

from django_securetokens.exceptions import RevokedToken
from django_securetokens.models import APIKey, SecureToken

from .factories import UserFactory

DOCS = Path(__file__).resolve().parent.parent / "docs"


def run(*args: str, stdin: str | None = None) -> str:
    out = io.StringIO()
    if stdin is not None:
        import sys

        old, sys.stdin = sys.stdin, io.StringIO(stdin)
        try:
            call_command(*args, stdout=out)
        finally:
            sys.stdin = old
    else:
        call_command(*args, stdout=out)
    return out.getvalue().strip()


@pytest.mark.parametrize(
    ("args", "pattern"),
    [
        (["token"], r"[A-Za-z0-9_-]{43}"),
        (["token", "--bytes", "16"], r"[A-Za-z0-9_-]{22}"),
        (["hex"], r"[0-9a-f]{64}"),
        (["code"], r"[0-9]{6}"),
        (["code", "--digits", "8"], r"[0-9]{8}"),
        (["password", "--length", "16", "--symbols", "0"], r"[A-Za-z0-9]{16}"),
        (["passphrase", "--words", "4", "--separator", " "], r"[a-z-]+( [a-z-]+){3}"),
        (["apikey"], r"sk_live_[0-9A-Za-z]{49}"),
        (["apikey", "--prefix", "acme_test"], r"acme_test_[0-9A-Za-z]{49}"),
        (["key"], r"[A-Za-z0-9+/]{43}="),
    ],
)
def test_generatesecret(args, pattern):
    assert re.fullmatch(pattern, run("generatesecret", *args))


@pytest.mark.parametrize(
    "args",
    [
        ["token", "--bytes", "8"],
        ["code", "--digits", "5"],
        ["code", "--digits", "0"],
        ["passphrase", "--words", "3"],
        ["password", "--length", "2"],
        ["apikey", "--prefix", "BAD"],
        ["passphrase", "--wordlist", "/nonexistent"],
    ],
)
def test_generatesecret_refuses_weak_or_bad_requests(args):
    with pytest.raises(CommandError):
        run("generatesecret", *args)


def test_generatesecret_apikey_says_it_is_only_a_sample():
    out, err = io.StringIO(), io.StringIO()
    call_command("generatesecret", "apikey", stdout=out, stderr=err)
    assert re.fullmatch(r"sk_live_[0-9A-Za-z]{49}", out.getvalue().strip())
    assert "not a key" in err.getvalue() and "manage.py apikey issue" in err.getvalue()


@pytest.mark.parametrize(
    ("kind", "shown"),
    [
        ("token", "(default: 32 = 256 bits)"),
        ("code", "(default: 6)"),
        ("password", "(default: 20)"),
        ("passphrase", "(default: 6, about 77 bits)"),
        ("apikey", "(default: the API_KEY_PREFIX setting)"),
        ("key", "(default: 32 = 256 bits)"),
    ],
)
def test_generatesecret_help_shows_every_default(kind, shown, capsys):
    from django_securetokens.management.commands.generatesecret import Command

    with pytest.raises(SystemExit):
        Command().run_from_argv(["manage.py", "generatesecret", kind, "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert shown in out


@pytest.mark.django_db
def test_purgesecuretokens():
    old, _ = SecureToken.objects.issue(UserFactory(), purpose="password_reset")
    SecureToken.objects.issue(UserFactory(), purpose="password_reset")
    SecureToken.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(days=30))
    assert run("purgesecuretokens", "--batch-size", "1") == "Deleted 1 secure token(s)."
    assert SecureToken.objects.count() == 1


def _expired_token() -> SecureToken:
    """A token past retention: expired 30 days ago."""
    token, _ = SecureToken.objects.issue(UserFactory(), purpose="password_reset")
    SecureToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(days=30))
    return token


@pytest.mark.django_db
@pytest.mark.parametrize(("verbosity", "expected"), [(0, ""), (1, "Deleted 1 secure token(s).\n")])
def test_purgesecuretokens_verbosity_zero_prints_nothing_and_still_purges(verbosity, expected):
    _expired_token()
    out, err = io.StringIO(), io.StringIO()
    call_command("purgesecuretokens", verbosity=verbosity, stdout=out, stderr=err)
    assert (out.getvalue(), err.getvalue()) == (expected, "")
    assert not SecureToken.objects.exists()


@pytest.mark.django_db
def test_purgesecuretokens_cron_line_of_the_howto_prints_nothing():
    """Cron mails whatever a job prints, so the documented daily line must print nothing."""
    howto = (DOCS / "howto" / "purging.rst").read_text()
    (line,) = [line for line in howto.splitlines() if "manage.py purgesecuretokens --" in line]
    name, *args = line.split("manage.py ", 1)[1].split()
    _expired_token()
    out, err = io.StringIO(), io.StringIO()
    call_command(name, *args, stdout=out, stderr=err)
    assert (out.getvalue(), err.getvalue()) == ("", "")
    assert not SecureToken.objects.exists()


@pytest.mark.django_db
def test_purgesecuretokens_refuses_a_negative_retention_with_the_check_the_howto_names(settings):
    """From the command line Django runs the system checks first (``skip_checks=False``)."""
    settings.SECURETOKENS = {"RETENTION": timedelta(days=-1)}
    token = _expired_token()
    with pytest.raises(SystemCheckError) as refused:
        call_command("purgesecuretokens", skip_checks=False, stdout=io.StringIO())
    (check_id,) = re.findall(r"securetokens\.E\d{3}", str(refused.value))
    assert f"check ``{check_id}``" in (DOCS / "howto" / "purging.rst").read_text()
    assert SecureToken.objects.filter(pk=token.pk).exists()


@pytest.mark.django_db
def test_purge_memory_stays_flat_with_many_rows():
    import tracemalloc

    user = UserFactory()
    token, _ = SecureToken.objects.issue(user, purpose="password_reset")
    past = timezone.now() - timedelta(days=30)
    rows = []
    for i in range(3000):
        token.pk = None
        token.selector = f"{i:016x}"
        token.expires_at = past
        rows.append(
            SecureToken(
                **{f.attname: getattr(token, f.attname) for f in SecureToken._meta.concrete_fields}
            )
        )
    SecureToken.objects.bulk_create(rows)
    tracemalloc.start()
    deleted = SecureToken.objects.purge(batch_size=500)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert deleted == 3000
    assert peak < 5 * 1024 * 1024


@pytest.mark.django_db
def test_apikeyreport_lists_keys_on_old_key_versions():
    with override_settings(SECRET_KEY="a" * 50):
        _, old_unused = APIKey.objects.issue(name="old-unused")
        _, old_used = APIKey.objects.issue(name="old-used")
    with override_settings(SECRET_KEY="b" * 50, SECRET_KEY_FALLBACKS=["a" * 50]):
        APIKey.objects.issue(name="new")
        APIKey.objects.authenticate(old_used)
        report = run("apikeyreport")
        *listed, total = report.splitlines()
        assert [line.split()[1] for line in listed] == ["old-unused"]
        assert total == "1 API key(s) on an old key version."
        with pytest.raises(CommandError) as failed:
            run("apikeyreport", "--fail")
        assert failed.value.returncode == 1


@pytest.mark.django_db
def test_revokeapikey_reads_the_key_from_stdin():
    key, secret = APIKey.objects.issue(name="leaked")
    assert "Revoked" in run("revokeapikey", stdin=secret + "\n")
    with pytest.raises(RevokedToken):
        APIKey.objects.authenticate(secret)
    with pytest.raises(CommandError):
        run("revokeapikey", "--key", "sk_live_nope")
