"""System checks for misconfiguration, with stable ids (``securetokens.E001`` …).

Ids are never renumbered; ``docs/reference/checks.rst`` lists every one.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning
from django.utils.module_loading import import_string

from . import crypto
from .conf import (
    DEFAULTS,
    EMAIL_CHANGE,
    EMAIL_VERIFICATION,
    PASSWORD_RESET,
    get_settings,
    ttl_ceiling,
    user_settings,
)
from .flows.password_reset import METHODS

_DAY = timedelta(hours=24)
_POLICY_KEYS = {"TTL", "CODE_TTL", "CODE_DIGITS", "CODE_MAX_ATTEMPTS", "CODE_MAX_FAILURES"}
_PER_PROCESS_CACHES = {
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
}


def _range_error(name: str, value: Any, low: int, high: int, id: str) -> list[CheckMessage]:
    if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
        return []
    return [
        Error(
            f"SECURETOKENS[{name!r}] must be an integer from {low} to {high}, not {value!r}.",
            id=id,
        )
    ]


def _check_ttls(merged: dict[str, Any]) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    purposes = {None: merged, **merged["PURPOSES"]}
    for purpose, rules in merged["PURPOSES"].items():
        unknown = sorted(set(rules) - _POLICY_KEYS)
        if unknown:
            messages.append(
                Error(
                    f"Unknown keys in SECURETOKENS['PURPOSES'][{purpose!r}]: "
                    f"{', '.join(unknown)}.",
                    id="securetokens.E001",
                )
            )
    for purpose, rules in purposes.items():
        where = f"SECURETOKENS[{'PURPOSES'!r}][{purpose!r}]" if purpose else "SECURETOKENS"
        for name in ("TTL", "CODE_TTL"):
            if name not in rules:
                continue
            value = rules[name]
            if not isinstance(value, timedelta) or value <= timedelta(0):
                messages.append(
                    Error(
                        f"{where}[{name!r}] must be a positive timedelta.", id="securetokens.E005"
                    )
                )
                continue
            ceiling = ttl_ceiling(purpose or "", name)
            if purpose == EMAIL_VERIFICATION and name == "TTL" and value > _DAY:
                messages.append(
                    Warning(
                        f"{where}[{name!r}] is {value}; verification links should live at "
                        "most 24 hours (NIST SP 800-63A).",
                        id="securetokens.W002",
                    )
                )
            elif value > ceiling:
                messages.append(
                    Error(
                        f"{where}[{name!r}] is {value}, above its maximum of {ceiling}.",
                        id="securetokens.E004",
                    )
                )
        for name, (low, high, id) in {
            "CODE_DIGITS": (6, 10, "securetokens.E003"),
            "CODE_MAX_ATTEMPTS": (1, 10, "securetokens.E007"),
            "CODE_MAX_FAILURES": (1, 100, "securetokens.E008"),
        }.items():
            if name in rules:
                messages += _range_error(name, rules[name], low, high, id)
    return messages


def check_settings(**kwargs: Any) -> list[CheckMessage]:
    """Check ``SECURETOKENS`` and the cache it relies on."""
    messages: list[CheckMessage] = []
    if not isinstance(getattr(settings, "SECURETOKENS", {}), dict):
        return [Error("SECURETOKENS must be a dict.", id="securetokens.E001")]
    unknown = sorted(set(user_settings()) - set(DEFAULTS))
    if unknown:
        messages.append(
            Error(f"Unknown SECURETOKENS keys: {', '.join(unknown)}.", id="securetokens.E001")
        )
    merged = get_settings()
    token_bytes = merged["TOKEN_BYTES"]
    # Above 128 bytes a token would outgrow the 256-character cap on untrusted input.
    if (
        not isinstance(token_bytes, int)
        or isinstance(token_bytes, bool)
        or not (16 <= token_bytes <= 128)
    ):
        messages.append(
            Error(
                "SECURETOKENS['TOKEN_BYTES'] must be an integer from 16 (128 bits) to 128.",
                hint="The default, 32, gives 256-bit tokens.",
                id="securetokens.E002",
            )
        )
    messages += _check_ttls(merged)
    if not crypto.is_valid_prefix(merged["API_KEY_PREFIX"]):
        messages.append(
            Error(
                "SECURETOKENS['API_KEY_PREFIX'] must be 2-10 characters of [a-z0-9], "
                "optionally followed by '_' and another such segment (e.g. 'acme_live').",
                id="securetokens.E006",
            )
        )
    messages += _range_error(
        "API_KEY_BODY_LENGTH", merged["API_KEY_BODY_LENGTH"], 32, 64, "securetokens.E009"
    )
    keys = merged["HMAC_KEYS"]
    if keys is not None and (
        not isinstance(keys, (list, tuple))
        or not keys
        or any(not isinstance(k, (str, bytes)) or len(k) < 32 for k in keys)
    ):
        messages.append(
            Error(
                "SECURETOKENS['HMAC_KEYS'] must be a non-empty list of secrets of at least "
                "32 characters, newest first.",
                id="securetokens.E010",
            )
        )
    messages += _check_durations(merged)
    messages += _check_base_url(merged["BASE_URL"])
    messages += _check_cache(merged["CACHE"])
    return messages


def _check_durations(merged: dict[str, Any]) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    for name, optional in (
        ("RETENTION", False),
        ("API_KEY_MAX_AGE", True),
        ("API_KEY_LAST_USED_INTERVAL", False),
    ):
        value = merged[name]
        if (value is None and optional) or (
            isinstance(value, timedelta) and value >= timedelta(0)
        ):
            continue
        messages.append(
            Error(
                f"SECURETOKENS[{name!r}] must be a timedelta of zero or more"
                + (" or None." if optional else "."),
                id="securetokens.E013",
            )
        )
    return messages


def _check_base_url(base_url: Any) -> list[CheckMessage]:
    if base_url is None:
        wildcard = [h for h in settings.ALLOWED_HOSTS if h == "*" or h.startswith(".")]
        if wildcard and not settings.DEBUG:
            return [
                Error(
                    "Links in email would be built from the request's Host header, which "
                    f"ALLOWED_HOSTS does not pin down ({', '.join(wildcard)}).",
                    hint="Set SECURETOKENS['BASE_URL'] to your site's https origin.",
                    id="securetokens.E014",
                )
            ]
        return []
    if not isinstance(base_url, str) or not base_url.startswith(("https://", "http://")):
        return [
            Error(
                "SECURETOKENS['BASE_URL'] must be an origin such as 'https://example.com'.",
                id="securetokens.E015",
            )
        ]
    if base_url.startswith("http://") and not settings.DEBUG:
        return [
            Warning(
                "SECURETOKENS['BASE_URL'] is not https: emailed links would travel in clear.",
                id="securetokens.W003",
            )
        ]
    return []


def _check_cache(alias: Any) -> list[CheckMessage]:
    caches = getattr(settings, "CACHES", {})
    if alias not in caches:
        return [
            Error(f"SECURETOKENS['CACHE'] names {alias!r}, not in CACHES.", id="securetokens.E011")
        ]
    backend = caches[alias].get("BACKEND", "")
    if backend == "django.core.cache.backends.dummy.DummyCache":
        return [
            Error(
                "Rate limits need a cache that stores data; DummyCache stores nothing.",
                hint="Use Redis, Memcached or the database cache.",
                id="securetokens.E012",
            )
        ]
    if backend in _PER_PROCESS_CACHES and not settings.DEBUG:
        return [
            Warning(
                "Rate-limit counters live in a per-process cache, so each worker counts "
                "alone and limits multiply with the number of processes.",
                hint="Use Redis, Memcached or the database cache in production.",
                id="securetokens.W001",
            )
        ]
    return []


_RATE_SETTINGS = (
    "PASSWORD_RESET_RATE_PER_EMAIL",
    "PASSWORD_RESET_RATE_PER_IP",
    "PASSWORD_RESET_CONFIRM_RATE_PER_IP",
    "PASSWORD_RESET_CODE_RATE_PER_IP",
    "EMAIL_VERIFICATION_RATE_PER_EMAIL",
    "EMAIL_VERIFICATION_CODE_RATE_PER_IP",
    "EMAIL_VERIFICATION_CONFIRM_RATE_PER_IP",
    "API_KEY_FAILURE_RATE_PER_IP",
)


def _is_rate(value: Any) -> bool:
    def positive(n: Any) -> bool:
        return isinstance(n, int) and not isinstance(n, bool) and n > 0

    return (
        isinstance(value, (list, tuple))
        and len(value) > 0
        and all(
            isinstance(pair, (list, tuple)) and len(pair) == 2 and all(map(positive, pair))
            for pair in value
        )
    )


def check_password_reset(**kwargs: Any) -> list[CheckMessage]:
    """Check the flows' settings: rate limits, mail sender, link origin, admin action."""
    messages: list[CheckMessage] = []
    merged = get_settings()
    for name in _RATE_SETTINGS:
        if not _is_rate(merged[name]):
            messages.append(
                Error(
                    f"SECURETOKENS[{name!r}] must be a non-empty list of (most requests, "
                    "window in seconds) pairs of positive integers.",
                    id="securetokens.E016",
                )
            )
    try:
        sender = import_string(merged["EMAIL_SENDER"])
    except (ImportError, AttributeError, TypeError, ValueError):
        sender = None
    if not callable(sender):
        messages.append(
            Error(
                f"SECURETOKENS['EMAIL_SENDER'] = {merged['EMAIL_SENDER']!r} is not the dotted "
                "path of a callable.",
                id="securetokens.E017",
            )
        )
    if not merged["BASE_URL"] and not settings.DEBUG:
        messages.append(
            Warning(
                "SECURETOKENS['BASE_URL'] is not set: links in email take their host from "
                "each request (validated against ALLOWED_HOSTS).",
                hint="Set it to the site's canonical https:// origin (R-45).",
                id="securetokens.W004",
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


# The flows that mail a link, and so may point it at a front end (FRONTEND_URLS).
_LINK_FLOWS = (PASSWORD_RESET, EMAIL_VERIFICATION, EMAIL_CHANGE)


def check_flows(**kwargs: Any) -> list[CheckMessage]:
    """Check the settings of the flows layer: ``PASSWORD_RESET_METHOD``, ``FRONTEND_URLS``."""
    merged = get_settings()
    messages: list[CheckMessage] = []
    method = merged["PASSWORD_RESET_METHOD"]
    if method not in METHODS:
        messages.append(
            Error(
                f"SECURETOKENS['PASSWORD_RESET_METHOD'] = {method!r} is not one of "
                "'link', 'code' or 'both'.",
                id="securetokens.E020",
            )
        )
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
                    id="securetokens.E021",
                )
            )
        elif not template.startswith("https://") and not (
            settings.DEBUG and template.startswith("http://")
        ):
            messages.append(
                Error(
                    f"{name} is not an https:// URL: the link carries a secret (R-45).",
                    hint="http:// is allowed only while DEBUG is on.",
                    id="securetokens.E022",
                )
            )
    return messages
