"""Lifetimes are spans of real time in every zone: across a daylight-saving change and with a
half-hour offset (issue 13 item 7). ``make test-timezones`` runs this module, and the other
time-related ones, with ``TIME_ZONE`` set to such zones on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from django_securetokens.exceptions import ExpiredToken, TokenError
from django_securetokens.models import APIKey, SecureToken

pytestmark = pytest.mark.django_db

UTC = ZoneInfo("UTC")
HOUR = timedelta(hours=1)
SECOND = timedelta(seconds=1)
# (zone, an instant in UTC): half an hour before New York's clocks spring forward (01:30 EST
# becomes 03:30 EDT an hour later) and fall back (01:30 EDT, then 01:30 EST an hour later),
# and Kolkata's +05:30, whose local midnight is a half hour in UTC.
MOMENTS = [
    pytest.param(("America/New_York", datetime(2026, 3, 8, 6, 30, tzinfo=UTC)), id="spring"),
    pytest.param(("America/New_York", datetime(2026, 11, 1, 5, 30, tzinfo=UTC)), id="fall"),
    pytest.param(("Asia/Kolkata", datetime(2025, 12, 31, 18, 0, tzinfo=UTC)), id="half-hour"),
]


@pytest.fixture(params=MOMENTS)
def clock(request):
    """The clock stopped at the moment, with its zone active, as a request would have it."""
    zone, start = request.param
    with timezone.override(zone), time_machine.travel(start, tick=False) as traveller:
        yield traveller


@pytest.mark.parametrize("kind", ["link", "code"])
def test_a_secret_lives_exactly_its_ttl(clock, user, kind):
    if kind == "link":
        _, secret = SecureToken.objects.issue(user, purpose="password_reset", ttl=HOUR)

        def verify():
            return SecureToken.objects.verify(secret, purpose="password_reset")
    else:
        _, secret = SecureToken.objects.issue_code(user=user, ttl=HOUR)

        def verify():
            return SecureToken.objects.verify_code(secret, user=user)

    clock.shift(HOUR - SECOND)
    verify()
    clock.shift(2 * SECOND)
    with pytest.raises(TokenError):  # an expired code is no longer looked up at all
        verify()


def test_an_api_key_expires_at_the_instant_it_was_given_in_local_time(clock, user):
    # An hour from now, written in the active zone: its own offset, on either side of a change.
    local_expiry = (timezone.now() + HOUR).astimezone(timezone.get_current_timezone())
    key, secret = APIKey.objects.issue(name="ci", user=user, expires_at=local_expiry)
    key.refresh_from_db()
    # The same instant (compared as timestamps: Python never calls an instant in a repeated
    # hour equal to one written in another zone).
    assert key.expires_at.timestamp() == local_expiry.timestamp()

    clock.shift(HOUR - SECOND)
    assert APIKey.objects.authenticate(secret) == key
    clock.shift(2 * SECOND)
    with pytest.raises(ExpiredToken):
        APIKey.objects.authenticate(secret)


def test_purge_keeps_a_row_for_exactly_its_retention(clock, user, settings):
    settings.SECURETOKENS = {**settings.SECURETOKENS, "RETENTION": HOUR}
    SecureToken.objects.issue(user, purpose="password_reset", ttl=SECOND)

    clock.shift(HOUR)  # expired a second after it was issued: one second of retention left
    assert SecureToken.objects.purge() == 0
    clock.shift(2 * SECOND)
    assert SecureToken.objects.purge() == 1
