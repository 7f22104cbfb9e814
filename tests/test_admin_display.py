"""What the admin lists share (``admin_display.py``): short times with the full one in the
tooltip, and both changelists working in any time zone on any database (issue 13 item 7).

MySQL and MariaDB without time-zone tables cannot convert a timestamp to a named zone, and
Django's list of dates then fails the whole page. ``make test-timezones`` runs this module
with non-UTC zones on SQLite, PostgreSQL and MariaDB (whose tables CI never loads)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from django_securetokens.admin_display import database_converts_time_zones, moment
from django_securetokens.models import APIKey, SecureToken

from .factories import UserFactory

pytestmark = pytest.mark.django_db

CHANGELISTS = [
    "admin:django_securetokens_securetoken_changelist",
    "admin:django_securetokens_apikey_changelist",
]


@pytest.fixture
def admin_client(client, user):
    SecureToken.objects.issue(user, purpose="password_reset")
    APIKey.objects.issue(name="ci", user=user)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def without_time_zone_tables(monkeypatch):
    """The database as MariaDB is on a fresh server: no zone but its own can be converted."""
    monkeypatch.setattr(connection.features, "has_zoneinfo_database", False)


@pytest.mark.parametrize("url_name", CHANGELISTS)
def test_the_changelist_lists_dates_where_the_database_can(admin_client, url_name):
    page = admin_client.get(reverse(url_name))
    assert page.status_code == 200
    shown = page.context["cl"].date_hierarchy
    assert shown == ("created_at" if database_converts_time_zones("default") else None)


@pytest.mark.parametrize("url_name", CHANGELISTS)
@pytest.mark.parametrize("zone", ["America/New_York", "Asia/Kolkata"])
@pytest.mark.usefixtures("without_time_zone_tables")
def test_without_time_zone_tables_the_changelist_drops_only_its_list_of_dates(
    admin_client, url_name, zone
):
    with timezone.override(zone):
        page = admin_client.get(reverse(url_name))
        assert page.status_code == 200
        assert page.context["cl"].date_hierarchy is None
        assert page.context["cl"].result_count == 1
        # The date filters compute their ranges in Python, and still work.
        midnight = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
        today = {"created_at__gte": str(midnight), "created_at__lt": str(midnight + timedelta(1))}
        assert admin_client.get(reverse(url_name), today).context["cl"].result_count == 1
        last_year = {"created_at__year": str(midnight.year - 1)}
        assert admin_client.get(reverse(url_name), last_year).context["cl"].result_count == 0


@pytest.mark.usefixtures("without_time_zone_tables")
def test_the_database_s_own_zone_needs_no_tables(settings):
    with timezone.override(connection.timezone_name):
        assert database_converts_time_zones("default")
    settings.USE_TZ = False
    with timezone.override("Asia/Kolkata"):
        assert database_converts_time_zones("default")
    settings.USE_TZ = True
    with timezone.override("Asia/Kolkata"):
        assert not database_converts_time_zones("default")


def test_times_are_short_with_the_full_one_in_the_tooltip():
    now = timezone.localtime()
    later = now.replace(year=now.year + 1)

    assert moment(None) == "—"
    assert f">{now:%b} {now.day}, {now:%H:%M}</time>" in moment(now)
    assert f">{later:%b} {later.day}, {later.year}</time>" in moment(later)
    assert f'datetime="{later.isoformat()}"' in moment(later)
