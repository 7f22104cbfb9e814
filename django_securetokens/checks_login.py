"""System checks of passwordless sign-in (R-84): ``securetokens.E028`` and ``E029``.

Run by :func:`~django_securetokens.checks.check_flows`, whose table-driven rules they use.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error

from .checks import _dotted_callable, _Rule

_LOGIN_BACKEND = "django_securetokens.backends.LoginTokenBackend"

_LOGIN_RESPONSE_RULE = _Rule(
    "securetokens.E029",
    ("LOGIN_RESPONSE",),
    lambda value: value is None or _dotted_callable(value),
    "None or the dotted path of a callable(request, user) returning a dict",
)


def check_login(merged: dict[str, Any]) -> list[CheckMessage]:
    """Passwordless sign-in (R-84): its backend when on (E028), ``LOGIN_RESPONSE`` (E029)."""
    messages = _LOGIN_RESPONSE_RULE.check("SECURETOKENS", merged)
    if merged["PASSWORDLESS_LOGIN"] and _LOGIN_BACKEND not in settings.AUTHENTICATION_BACKENDS:
        messages.append(
            Error(
                "SECURETOKENS['PASSWORDLESS_LOGIN'] is on, but AUTHENTICATION_BACKENDS lacks "
                f"{_LOGIN_BACKEND!r}: no sign-in link or code could sign anyone in.",
                hint=f"Add {_LOGIN_BACKEND!r} to AUTHENTICATION_BACKENDS.",
                id="securetokens.E028",
            )
        )
    return messages
