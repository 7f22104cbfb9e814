"""The admin's list of dates (``date_hierarchy``), shown only where the database can draw it.

Listing the years, months and days that hold rows means truncating each timestamp in the
current time zone. MySQL and MariaDB do that with ``CONVERT_TZ()``, which returns NULL for
every named zone until the server's time-zone tables are loaded, and they are empty on a fresh
server: Django then fails the whole changelist with "Database returned an invalid datetime
value". Filtering by a date needs no conversion (the range is computed in Python), so the
changelists keep their date filters and only the list of dates is left out.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.admin.views.main import ChangeList
from django.db import connections
from django.http import HttpRequest
from django.utils import timezone


def database_converts_time_zones(using: str) -> bool:
    """Whether database *using* can truncate a timestamp in the current time zone."""
    connection = connections[using]
    return (
        connection.features.has_zoneinfo_database
        or not settings.USE_TZ
        or timezone.get_current_timezone_name() == connection.timezone_name
    )


class DateHierarchyWhereSupported:
    """A ``ModelAdmin`` mixin: its ``date_hierarchy`` only where the database can draw it."""

    def get_changelist_instance(self, request: HttpRequest) -> ChangeList:
        parent: Any = super()
        changelist: ChangeList = parent.get_changelist_instance(request)
        if not database_converts_time_zones(changelist.queryset.db):
            changelist.date_hierarchy = None
        return changelist
