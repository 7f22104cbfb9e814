"""System checks of the front ends' settings: the reset method, links to a front end,
passwordless sign-in, personal API keys and the pages' base template (``E023`` to ``E029``).

They use the table-driven rules of :mod:`.checks`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.checks import CheckMessage, Error
from django.template import TemplateDoesNotExist, TemplateSyntaxError
from django.template.loader import get_template

from .checks import _DAY, _check_shape, _dotted_callable, _Rule
from .conf import EMAIL_CHANGE, EMAIL_VERIFICATION, LOGIN, PASSWORD_RESET, get_settings
from .flows.password_reset import METHODS

_LOGIN_BACKEND = "django_securetokens.backends.LoginTokenBackend"

_LOGIN_RESPONSE_RULE = _Rule(
    "securetokens.E029",
    ("LOGIN_RESPONSE",),
    lambda value: value is None or _dotted_callable(value),
    "None or the dotted path of a callable(request, user) returning a dict",
)


def _check_login(merged: dict[str, Any]) -> list[CheckMessage]:
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


_RESET_METHOD_RULE = _Rule(
    "securetokens.E023",
    ("PASSWORD_RESET_METHOD",),
    METHODS.__contains__,
    "'link', 'code' or 'both'",
)

# The flows that mail a link, and so may point it at a front end (FRONTEND_URLS).
_LINK_FLOWS = (PASSWORD_RESET, EMAIL_VERIFICATION, EMAIL_CHANGE, LOGIN)


def check_flows(**kwargs: Any) -> list[CheckMessage]:
    """Check the front ends' settings: ``PASSWORD_RESET_METHOD``, ``FRONTEND_URLS``,
    passwordless sign-in and personal API keys."""
    if _check_shape():
        return []  # check_settings reports it; nothing here can be read
    merged = get_settings()
    messages = _RESET_METHOD_RULE.check("SECURETOKENS", merged)
    urls = merged["FRONTEND_URLS"]
    if not isinstance(urls, dict):
        urls = {None: urls}
    for flow, template in urls.items():
        name = f"SECURETOKENS['FRONTEND_URLS'][{flow!r}]"
        if flow not in _LINK_FLOWS or not isinstance(template, str) or "{token}" not in template:
            messages.append(
                Error(
                    f"{name} must map one of {', '.join(_LINK_FLOWS)} to a URL template "
                    "containing '{token}'.",
                    id="securetokens.E024",
                )
            )
        elif not template.startswith("https://") and not (
            settings.DEBUG and template.startswith("http://")
        ):
            messages.append(
                Error(
                    f"{name} is not an https:// URL: the link carries a secret (R-45).",
                    hint="http:// is allowed only while DEBUG is on.",
                    id="securetokens.E025",
                )
            )
    return messages + _check_login(merged) + _check_self_service(merged)


def _check_self_service(merged: dict[str, Any]) -> list[CheckMessage]:
    """The personal API-key settings (R-79, R-85): securetokens.E026."""
    from .http import _SCOPE_TOKEN  # RFC 6750 scope characters, as the challenges use

    scopes = merged["SELF_SERVICE_API_KEY_SCOPES"]
    limit = merged["SELF_SERVICE_API_KEY_LIMIT"]
    age = merged["SELF_SERVICE_REAUTH_AGE"]
    problems = []
    if not isinstance(scopes, (list, tuple)) or not all(
        isinstance(s, str) and _SCOPE_TOKEN.fullmatch(s) for s in scopes
    ):
        problems.append("SELF_SERVICE_API_KEY_SCOPES must be a list of scope names")
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 1000:
        problems.append("SELF_SERVICE_API_KEY_LIMIT must be an integer from 1 to 1000")
    if not isinstance(age, timedelta) or not timedelta(0) < age <= _DAY:
        problems.append("SELF_SERVICE_REAUTH_AGE must be a timedelta from 1 second to 24 hours")
    if merged["SELF_SERVICE_API_KEYS"] and not apps.is_installed("django.contrib.sessions"):
        problems.append("SELF_SERVICE_API_KEYS needs django.contrib.sessions")
    return [Error(f"SECURETOKENS: {problem}.", id="securetokens.E026") for problem in problems]


def check_base_template(**kwargs: Any) -> list[CheckMessage]:
    """Check that ``BASE_TEMPLATE``, when set, names a template that loads."""
    if _check_shape():
        return []  # check_settings reports it; nothing here can be read
    name = get_settings()["BASE_TEMPLATE"]
    if name is None:
        return []
    problem = "must be a template name or None"
    if isinstance(name, str):
        try:
            get_template(name)
        except (TemplateDoesNotExist, TemplateSyntaxError) as error:
            problem = f"cannot be loaded ({type(error).__name__})"
        else:
            return []
    return [
        Error(
            f"SECURETOKENS['BASE_TEMPLATE'] = {name!r} {problem}.",
            hint="Name the site's base template, which must have a 'content' block, or set "
            "it to None for the app's standalone pages.",
            id="securetokens.E027",
        )
    ]
