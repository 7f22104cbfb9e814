"""What the app's admin lists share: times short enough for a list that fits 1280 px, a
filter by :class:`~django_securetokens.models.State`, and a list of dates (``date_hierarchy``)
only where the database can draw it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol, cast

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.db import connections
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from .models import State

#: "Nov 30, 14:05" within the current year, "Nov 30, 2027" beyond it (an API key's expiry);
#: the full date and time are in the tooltip.
THIS_YEAR, OTHER_YEAR = "M j, H:i", "M j, Y"


def moment(value: datetime | None) -> SafeString | str:
    """*value* as a short local time, with the full one in its ``title``; "—" for None."""
    if value is None:
        return "—"
    local = timezone.localtime(value)
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        local.isoformat(),
        formats.date_format(local, "DATETIME_FORMAT"),
        formats.date_format(
            local, THIS_YEAR if local.year == timezone.localtime().year else OTHER_YEAR
        ),
    )


def time_column(field: str, description: Any) -> Callable[[Any, Any], SafeString | str]:
    """A list column showing *field* with :func:`moment`, sorted by the field itself."""

    @admin.display(description=description, ordering=field)
    def column(model_admin: Any, obj: Any) -> SafeString | str:
        return moment(getattr(obj, field))

    return column


@admin.display(description=_("state"))
def state_column(model_admin: Any, obj: Any) -> str:
    """A list column showing the row's :class:`State`."""
    return str(obj.state().label)


class _ByState(Protocol):
    """The queryset of a model that has a :class:`State`: tokens' or API keys'."""

    def in_state(self, state: State) -> QuerySet[Any]: ...


class StateFilter(admin.SimpleListFilter):
    """Rows by state, through the queryset's ``in_state()``, the one definition of each state.
    A model that never reaches some states lists only its own in *states*."""

    title = _("state")
    parameter_name = "state"
    states: tuple[State, ...] = tuple(State)

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [(state.value, state.label) for state in self.states]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value not in self.states:
            return queryset
        return cast("_ByState", queryset).in_state(State(value))


def database_converts_time_zones(using: str) -> bool:
    """Whether database *using* can truncate a timestamp in the current time zone."""
    connection = connections[using]
    return (
        connection.features.has_zoneinfo_database
        or not settings.USE_TZ
        or timezone.get_current_timezone_name() == connection.timezone_name
    )


class DateHierarchyWhereSupported:
    """A ``ModelAdmin`` mixin: its ``date_hierarchy`` only where the database can draw it.

    Listing the years, months and days that hold rows means truncating each timestamp in the
    current time zone. MySQL and MariaDB do that with ``CONVERT_TZ()``, which returns NULL for
    every named zone until the server's time-zone tables are loaded, and they are empty on a
    fresh server: Django then fails the whole changelist with "Database returned an invalid
    datetime value". Filtering by a date needs no conversion (the range is computed in
    Python), so the changelists keep their date filters and only the list of dates is left out.
    """

    def get_changelist_instance(self, request: HttpRequest) -> ChangeList:
        parent: Any = super()
        changelist: ChangeList = parent.get_changelist_instance(request)
        if not database_converts_time_zones(changelist.queryset.db):
            changelist.date_hierarchy = None
        return changelist
