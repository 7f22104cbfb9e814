"""System checks for misconfiguration, one id per problem (``securetokens.E001`` …).

Most checks are rows of a table: the settings a rule covers, the test a value must pass, what
it must be, and the id. This module checks the settings of the engine and of the rate limits
with the cache they count in; :mod:`.checks_frontends` checks those of the flows, their mail
and their pages with the same rules. Ids are never renumbered or reused;
``docs/reference/checks.rst`` lists every one, and ``docs/reference/settings.rst`` cites each
beside its setting.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import cache
from django.core.checks import CheckMessage, Error, Warning
from django.db import router
from django.utils.module_loading import import_string

from . import crypto, limits
from .conf import (
    DEFAULTS,
    EMAIL_VERIFICATION,
    POLICY_KEYS,
    get_settings,
    ttl_ceiling,
    user_settings,
)

_DAY = timedelta(hours=24)
_DUMMY_CACHE = "django.core.cache.backends.dummy.DummyCache"
_PER_PROCESS_CACHE = "django.core.cache.backends.locmem.LocMemCache"


def _integer(low: int, high: int | None = None) -> Callable[[Any], bool]:
    def valid(value: Any) -> bool:
        if not isinstance(value, int) or isinstance(value, bool):
            return False
        return low <= value and (high is None or value <= high)

    return valid


def _duration(value: Any) -> bool:
    return isinstance(value, timedelta) and value >= timedelta(0)


def _positive_duration(value: Any) -> bool:
    return isinstance(value, timedelta) and value > timedelta(0)


def _or_none(valid: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda value: value is None or valid(value)


def _secrets(value: Any) -> bool:
    return (
        isinstance(value, (list, tuple))
        and len(value) > 0
        and all(isinstance(k, (str, bytes)) and len(k) >= 32 for k in value)
    )


def _rates(value: Any) -> bool:
    positive = _integer(1)
    return (
        isinstance(value, (list, tuple))
        and len(value) > 0
        and all(
            isinstance(pair, (list, tuple)) and len(pair) == 2 and all(map(positive, pair))
            for pair in value
        )
    )


def _dotted_callable(value: Any) -> bool:
    try:
        return callable(import_string(value))
    except (ImportError, AttributeError, TypeError, ValueError):
        return False


@dataclass(frozen=True)
class _Rule:
    """Every setting in *names* must pass *valid*; otherwise it "must be" *must*. The
    message quotes the wrong value unless it may be a secret (*quote* off)."""

    id: str
    names: tuple[str, ...]
    valid: Callable[[Any], bool]
    must: str
    hint: str | None = None
    quote: bool = True

    def check(self, values: dict[str, Any], where: str = "SECURETOKENS") -> list[CheckMessage]:
        return [
            Error(
                f"{where}[{name!r}] must be {self.must}"
                + (f", not {values[name]!r}." if self.quote else "."),
                hint=self.hint,
                id=self.id,
            )
            for name in self.names
            if name in values and not self.valid(values[name])
        ]


# Rules for the global settings and for each PURPOSES entry alike.
_POLICY_RULES = (
    _Rule("securetokens.E005", ("TTL", "CODE_TTL"), _positive_duration, "a positive timedelta"),
    _Rule("securetokens.E003", ("CODE_DIGITS",), _integer(6, 10), "an integer from 6 to 10"),
    _Rule("securetokens.E007", ("CODE_MAX_ATTEMPTS",), _integer(1, 10), "an integer from 1 to 10"),
    _Rule(
        "securetokens.E008", ("CODE_MAX_FAILURES",), _integer(1, 100), "an integer from 1 to 100"
    ),
)

_SETTING_RULES = (
    _Rule(
        "securetokens.E002",
        ("TOKEN_BYTES",),
        _integer(16, 128),  # above 128 bytes a token outgrows the cap on untrusted input
        "an integer from 16 (128 bits) to 128",
        hint="The default, 32, gives 256-bit tokens.",
    ),
    _Rule(
        "securetokens.E006",
        ("API_KEY_PREFIX",),
        crypto.is_valid_prefix,
        "2-10 characters of [a-z0-9], optionally followed by '_' and another such segment "
        "(e.g. 'acme_live')",
    ),
    _Rule(
        "securetokens.E009", ("API_KEY_BODY_LENGTH",), _integer(32, 64), "an integer from 32 to 64"
    ),
    _Rule(
        "securetokens.E010",
        ("HMAC_KEYS",),
        _or_none(_secrets),
        "a non-empty list of secrets of at least 32 characters, newest first",
        quote=False,
    ),
    _Rule(
        "securetokens.E013",
        ("RETENTION", "API_KEY_LAST_USED_INTERVAL"),
        _duration,
        "a timedelta of zero or more",
    ),
    _Rule(
        "securetokens.E013",
        ("API_KEY_MAX_AGE",),
        _or_none(_duration),
        "a timedelta of zero or more, or None",
    ),
    _Rule(
        "securetokens.E016",
        tuple(limit.setting for limit in limits.ALL),
        _rates,
        "a non-empty list of (most requests, window in seconds) pairs of positive integers",
    ),
    _Rule(
        "securetokens.E022", ("TRUSTED_PROXY_COUNT",), _integer(0), "an integer of zero or more"
    ),
)


def _check_shape() -> list[CheckMessage]:
    """Problems that leave nothing else checkable: the dict itself and its PURPOSES."""
    raw = getattr(settings, "SECURETOKENS", {})
    if not isinstance(raw, dict):
        return [Error("SECURETOKENS must be a dict.", id="securetokens.E018")]
    purposes = raw.get("PURPOSES", {})
    if not isinstance(purposes, dict) or not all(
        isinstance(rules, dict) for rules in purposes.values()
    ):
        return [
            Error(
                "SECURETOKENS['PURPOSES'] must be a dict of purpose names to dicts.",
                id="securetokens.E020",
            )
        ]
    return []


def check_settings(**kwargs: Any) -> list[CheckMessage]:
    """Check ``SECURETOKENS`` as a whole, the engine's settings, the rate limits and their
    cache."""
    messages = _check_shape()
    if messages:
        return messages
    unknown = sorted(set(user_settings()) - set(DEFAULTS))
    if unknown:
        messages.append(
            Error(f"Unknown SECURETOKENS keys: {', '.join(unknown)}.", id="securetokens.E001")
        )
    merged = get_settings()
    for rule in _SETTING_RULES:
        messages += rule.check(merged)
    return messages + _check_purposes(merged) + _check_cache(merged["CACHE"])


def _check_purposes(merged: dict[str, Any]) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    for purpose, rules in merged["PURPOSES"].items():
        unknown = sorted(set(rules) - set(POLICY_KEYS))
        if unknown:
            messages.append(
                Error(
                    f"Unknown keys in SECURETOKENS['PURPOSES'][{purpose!r}]: "
                    f"{', '.join(unknown)}.",
                    id="securetokens.E019",
                )
            )
    for purpose, rules in {None: merged, **merged["PURPOSES"]}.items():
        where = f"SECURETOKENS['PURPOSES'][{purpose!r}]" if purpose else "SECURETOKENS"
        for rule in _POLICY_RULES:
            messages += rule.check(rules, where)
        for name in ("TTL", "CODE_TTL"):
            value = rules.get(name)
            if not _positive_duration(value):
                continue  # E005 above
            if purpose == EMAIL_VERIFICATION and name == "TTL" and value > _DAY:
                messages.append(
                    Warning(
                        f"{where}[{name!r}] is {value}; verification links should live at "
                        "most 24 hours (NIST SP 800-63A).",
                        id="securetokens.W002",
                    )
                )
            elif value > (ceiling := ttl_ceiling(purpose or "", name)):
                messages.append(
                    Error(
                        f"{where}[{name!r}] is {value}, above its maximum of {ceiling}.",
                        id="securetokens.E004",
                    )
                )
    return messages


def _check_cache(alias: Any) -> list[CheckMessage]:
    configured = getattr(settings, "CACHES", {})
    if not isinstance(alias, str) or alias not in configured:
        return [
            Error(f"SECURETOKENS['CACHE'] names {alias!r}, not in CACHES.", id="securetokens.E011")
        ]
    backend = configured[alias].get("BACKEND", "")
    if backend == _DUMMY_CACHE:
        return [
            Error(
                "Rate limits need a cache that stores data; DummyCache stores nothing.",
                hint="Use Redis, Memcached or the database cache.",
                id="securetokens.E012",
            )
        ]
    try:
        # Backends import their client library (redis, pymemcache) on first use, not when
        # built, so only an actual read proves the cache can work.
        cache.caches[alias].get("securetokens:check")
    except (ImportError, cache.InvalidCacheBackendError) as error:
        return [
            Error(
                f"The rate-limit cache {alias!r} cannot be used: {backend} or its client "
                f"library does not import ({type(error).__name__}: {error}).",
                hint="Install the backend's client library, e.g. pip install redis.",
                id="securetokens.E021",
            )
        ]
    except Exception as error:  # noqa: BLE001 - any backend's outage
        return [
            Warning(
                f"The rate-limit cache {alias!r} did not answer ({type(error).__name__}); "
                "while it is down, reset and verification mail is not sent.",
                hint="Check that the cache server is running and reachable from here.",
                id="securetokens.W006",
            )
        ]
    if backend == _PER_PROCESS_CACHE and not settings.DEBUG:
        return [
            Warning(
                "Rate-limit counters live in a per-process cache, so each worker counts "
                "alone and limits multiply with the number of processes.",
                hint="Use Redis, Memcached or the database cache in production.",
                id="securetokens.W001",
            )
        ]
    return []


def check_databases(**kwargs: Any) -> list[CheckMessage]:
    """The routers must write this app's tables where they write the user model.

    Tokens and keys point at their user with a foreign key and are verified in one query
    that joins the user table, and a spent token commits with the password it protects, so
    a split breaks every flow, silently for a ``user_id`` that names someone else over
    there. Asked without hints, as nothing else is known at start-up; a router that
    decides by hints alone is not judged here.
    """
    user_model = get_user_model()
    users = router.db_for_write(user_model)
    config = apps.get_app_config("django_securetokens")
    elsewhere = [m for m in config.get_models() if router.db_for_write(m) != users]
    if not elsewhere:
        return []
    names = ", ".join(m._meta.label for m in elsewhere)
    return [
        Error(
            f"DATABASE_ROUTERS write {names} to another database than "
            f"{user_model._meta.label} ({users!r}).",
            hint="Route the django_securetokens app to the database of the user model.",
            id="securetokens.E030",
        )
    ]
