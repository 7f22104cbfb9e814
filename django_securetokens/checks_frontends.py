"""System checks of the flows' settings: the origin and sender of their mail, links to a front
end, the reset method, passwordless sign-in, personal API keys, the user admin's action and
the pages' base template.

They use the table-driven rules of :mod:`.checks`.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning
from django.template import TemplateDoesNotExist, TemplateSyntaxError
from django.template.loader import get_template

from .api_keys import is_scope
from .checks import (
    _DAY,
    _check_shape,
    _dotted_callable,
    _integer,
    _or_none,
    _positive_duration,
    _Rule,
)
from .conf import EMAIL_CHANGE, EMAIL_VERIFICATION, LOGIN, PASSWORD_RESET, get_settings
from .flows.password_reset import METHODS

_LOGIN_BACKEND = "django_securetokens.backends.LoginTokenBackend"
# The flows that mail a link, and so may point it at a front end (FRONTEND_URLS).
_LINK_FLOWS = (PASSWORD_RESET, EMAIL_VERIFICATION, EMAIL_CHANGE, LOGIN)


def _origin(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("https://", "http://"))


def _scope_names(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and all(is_scope(scope) for scope in value)


_RULES = (
    _Rule(
        "securetokens.E015",
        ("BASE_URL",),
        _or_none(_origin),
        "None or an origin such as 'https://example.com'",
    ),
    _Rule(
        "securetokens.E017", ("EMAIL_SENDER",), _dotted_callable, "the dotted path of a callable"
    ),
    _Rule(
        "securetokens.E023",
        ("PASSWORD_RESET_METHOD",),
        METHODS.__contains__,
        "'link', 'code' or 'both'",
    ),
    _Rule(
        "securetokens.E026",
        ("SELF_SERVICE_API_KEY_SCOPES",),
        _scope_names,
        "a list of scope names (RFC 6750 scope characters)",
    ),
    _Rule(
        "securetokens.E026",
        ("SELF_SERVICE_API_KEY_LIMIT",),
        _integer(1, 1000),
        "an integer from 1 to 1000",
    ),
    _Rule(
        "securetokens.E026",
        ("SELF_SERVICE_REAUTH_AGE",),
        lambda value: _positive_duration(value) and value <= _DAY,
        "a timedelta above zero and at most 24 hours",
    ),
    _Rule(
        "securetokens.E029",
        ("LOGIN_RESPONSE",),
        _or_none(_dotted_callable),
        "None or the dotted path of a callable(request, user) returning a dict",
    ),
)


def check_flows(**kwargs: Any) -> list[CheckMessage]:
    """Check the flows' settings: the rules above, where mailed links point, and what the
    features that are on need from the rest of the project."""
    if _check_shape():
        return []  # check_settings reports it; nothing here can be read
    merged = get_settings()
    messages = [message for rule in _RULES for message in rule.check(merged)]
    messages += _check_base_url(merged["BASE_URL"])
    messages += _check_frontend_urls(merged["FRONTEND_URLS"])
    return messages + _check_requirements(merged)


def _check_base_url(base_url: Any) -> list[CheckMessage]:
    """Where links in mail take their origin from outside DEBUG (R-45); a value that is no
    origin at all is E015, a rule."""
    if settings.DEBUG:
        return []
    if isinstance(base_url, str) and base_url.startswith("http://"):
        return [
            Warning(
                "SECURETOKENS['BASE_URL'] is not https: emailed links would travel in clear.",
                id="securetokens.W003",
            )
        ]
    if base_url:
        return []
    messages: list[CheckMessage] = []
    wildcard = [h for h in settings.ALLOWED_HOSTS if h == "*" or h.startswith(".")]
    if wildcard and base_url is None:
        messages.append(
            Error(
                "Links in email would be built from the request's Host header, which "
                f"ALLOWED_HOSTS does not pin down ({', '.join(wildcard)}).",
                hint="Set SECURETOKENS['BASE_URL'] to your site's https origin.",
                id="securetokens.E014",
            )
        )
    messages.append(
        Warning(
            "SECURETOKENS['BASE_URL'] is not set: links in email take their host from "
            "each request (validated against ALLOWED_HOSTS).",
            hint="Set it to the site's canonical https:// origin (R-45).",
            id="securetokens.W004",
        )
    )
    return messages


def _check_frontend_urls(urls: Any) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
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
    return messages


def _check_requirements(merged: dict[str, Any]) -> list[CheckMessage]:
    """Features that are on, and what they need from the rest of the project."""
    messages: list[CheckMessage] = []
    if merged["PASSWORDLESS_LOGIN"] and _LOGIN_BACKEND not in settings.AUTHENTICATION_BACKENDS:
        messages.append(
            Error(
                "SECURETOKENS['PASSWORDLESS_LOGIN'] is on, but AUTHENTICATION_BACKENDS lacks "
                f"{_LOGIN_BACKEND!r}: no sign-in link or code could sign anyone in.",
                hint=f"Add {_LOGIN_BACKEND!r} to AUTHENTICATION_BACKENDS.",
                id="securetokens.E028",
            )
        )
    if merged["SELF_SERVICE_API_KEYS"] and not apps.is_installed("django.contrib.sessions"):
        messages.append(
            Error(
                "SECURETOKENS['SELF_SERVICE_API_KEYS'] is on, but django.contrib.sessions, "
                "where the pages keep the time of the password check, is not installed.",
                id="securetokens.E026",
            )
        )
    if merged["ADMIN_USER_ACTION"] and apps.is_installed("django.contrib.admin"):
        from .admin_users import send_password_reset_email, user_admin

        model_admin = user_admin()
        if model_admin is not None and send_password_reset_email not in (
            model_admin.actions or ()
        ):
            messages.append(
                Warning(
                    "The user admin lacks the 'send password reset email' action.",
                    hint="Put 'django.contrib.admin' before 'django_securetokens' in "
                    "INSTALLED_APPS, add django_securetokens.admin_users."
                    "send_password_reset_email to your UserAdmin.actions, or set "
                    "SECURETOKENS['ADMIN_USER_ACTION'] = False.",
                    id="securetokens.W005",
                )
            )
    return messages


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
