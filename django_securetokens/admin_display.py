"""What the app's admin lists share: times short enough for a list that fits 1280 px."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.contrib import admin
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

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
