"""``manage.py purgesecuretokens`` as cron runs it (docs/howto/purging.rst)."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.utils import timezone

from django_securetokens.models import SecureToken

from .factories import UserFactory

ROOT = Path(__file__).resolve().parent.parent


def _expired_token() -> SecureToken:
    token, _ = SecureToken.objects.issue(UserFactory(), purpose="password_reset")
    SecureToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(days=30))
    return token


@pytest.mark.django_db
@pytest.mark.parametrize(("verbosity", "expected"), [(0, ""), (1, "Deleted 1 secure token(s).\n")])
def test_verbosity_zero_prints_nothing_and_still_purges(verbosity, expected):
    _expired_token()
    out, err = io.StringIO(), io.StringIO()
    call_command("purgesecuretokens", verbosity=verbosity, stdout=out, stderr=err)
    assert (out.getvalue(), err.getvalue()) == (expected, "")
    assert not SecureToken.objects.exists()


@pytest.mark.django_db
def test_the_howtos_cron_line_prints_nothing():
    """Cron mails whatever a job prints, so the documented daily line must print nothing."""
    howto = (ROOT / "docs" / "howto" / "purging.rst").read_text()
    (line,) = [line for line in howto.splitlines() if "manage.py purgesecuretokens --" in line]
    name, *args = line.split("manage.py ", 1)[1].split()
    _expired_token()
    out, err = io.StringIO(), io.StringIO()
    call_command(name, *args, stdout=out, stderr=err)
    assert (out.getvalue(), err.getvalue()) == ("", "")
    assert not SecureToken.objects.exists()


@pytest.mark.django_db
def test_a_negative_retention_stops_the_command_with_the_check_the_howto_names(settings):
    """From the command line Django runs the system checks first (``skip_checks=False``)."""
    settings.SECURETOKENS = {"RETENTION": timedelta(days=-1)}
    token = _expired_token()
    with pytest.raises(SystemCheckError) as refused:
        call_command("purgesecuretokens", skip_checks=False, stdout=io.StringIO())
    (check_id,) = re.findall(r"securetokens\.E\d{3}", str(refused.value))
    assert f"check ``{check_id}``" in (ROOT / "docs" / "howto" / "purging.rst").read_text()
    assert SecureToken.objects.filter(pk=token.pk).exists()
