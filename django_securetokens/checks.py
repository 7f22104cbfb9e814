"""System checks for misconfiguration, with stable ids (``securetokens.E001`` …).

Ids are never renumbered; ``docs/reference/checks.rst`` lists every one.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning

from . import crypto
from .conf import DEFAULTS, EMAIL_VERIFICATION, PASSWORD_RESET, get_settings, user_settings

_HOUR = timedelta(hours=1)
_DAY = timedelta(hours=24)

# Hard ceilings on lifetimes: (purpose, setting) -> maximum.
_MAX_TTL = {
    (PASSWORD_RESET, "TTL"): _DAY,
    (PASSWORD_RESET, "CODE_TTL"): timedelta(minutes=10),
    (EMAIL_VERIFICATION, "CODE_TTL"): _DAY,
}
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
            ceiling = _MAX_TTL.get((purpose, name), _DAY)
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
    unknown = sorted(set(user_settings()) - set(DEFAULTS))
    if unknown:
        messages.append(
            Error(f"Unknown SECURETOKENS keys: {', '.join(unknown)}.", id="securetokens.E001")
        )
    merged = get_settings()
    token_bytes = merged["TOKEN_BYTES"]
    if not isinstance(token_bytes, int) or isinstance(token_bytes, bool) or token_bytes < 16:
        messages.append(
            Error(
                "SECURETOKENS['TOKEN_BYTES'] must be at least 16 (128 bits).",
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
    messages += _check_cache(merged["CACHE"])
    messages += _check_rate_limits(merged["RATE_LIMITS"])
    return messages


def _check_rate_limits(limits: Any) -> list[CheckMessage]:
    bad = [
        scope
        for scope, value in limits.items()
        if value is not None
        and not (
            isinstance(value, tuple)
            and len(value) == 2
            and isinstance(value[0], int)
            and not isinstance(value[0], bool)
            and value[0] >= 1
            and isinstance(value[1], timedelta)
            and value[1] >= timedelta(seconds=1)
        )
    ]
    if not bad:
        return []
    return [
        Error(
            f"SECURETOKENS['RATE_LIMITS'] entries must be None or (events >= 1, timedelta of "
            f"at least a second); check {', '.join(map(repr, sorted(bad)))}.",
            id="securetokens.E013",
        )
    ]


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
