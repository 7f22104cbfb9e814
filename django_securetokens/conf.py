"""Settings: one ``SECURETOKENS`` dict, read lazily so ``override_settings`` just works.

Everything reads settings through :func:`get_settings`, :func:`get_policy` and
:func:`hmac_keys`; nothing captures a value at import time. The cached objects are dropped
whenever ``SECURETOKENS``, ``SECRET_KEY`` or ``SECRET_KEY_FALLBACKS`` change.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.translation import gettext

from . import crypto

PASSWORD_RESET = "password_reset"  # noqa: S105 -- a purpose name, not a password
EMAIL_VERIFICATION = "email_verification"
EMAIL_CHANGE = "email_change"
API_KEY_PURPOSE = "api_key"
LOGIN = "login"


def purpose_label(purpose: str) -> str:
    """A readable name of *purpose* for the admin; a project's own purposes show as named."""
    labels = {
        PASSWORD_RESET: gettext("Password reset"),
        EMAIL_VERIFICATION: gettext("Email verification"),
        EMAIL_CHANGE: gettext("Email change"),
        LOGIN: gettext("Passwordless sign-in"),
    }
    return labels.get(purpose, purpose)


#: Every key of ``settings.SECURETOKENS`` with its default. Durations are ``timedelta``. The
#: range each value must be in is its rule in :mod:`.checks` or :mod:`.checks_frontends`.
DEFAULTS: dict[str, Any] = {
    # Origin for links in email, such as "https://example.com". None: the request's host,
    # validated against ALLOWED_HOSTS, with https unless DEBUG is on.
    "BASE_URL": None,
    # Master secrets for digests, newest first. None: SECRET_KEY, then SECRET_KEY_FALLBACKS.
    # A dedicated list lets SECRET_KEY be rotated without revoking API keys.
    "HMAC_KEYS": None,
    # Random bytes in the verifier of a URL token; 32 bytes = 256 bits.
    "TOKEN_BYTES": 32,
    # Lifetime of URL tokens and of codes for purposes not listed in PURPOSES.
    "TTL": timedelta(hours=1),
    "CODE_TTL": timedelta(minutes=10),
    # Digits in a numeric code.
    "CODE_DIGITS": 6,
    # Wrong guesses that kill one code.
    "CODE_MAX_ATTEMPTS": 5,
    # Consecutive wrong guesses per (owner, purpose) across all codes; only a success resets
    # the count.
    "CODE_MAX_FAILURES": 20,
    # Per-purpose overrides of the settings in POLICY_KEYS (below).
    "PURPOSES": {
        PASSWORD_RESET: {"TTL": timedelta(hours=1), "CODE_TTL": timedelta(minutes=10)},
        EMAIL_VERIFICATION: {"TTL": timedelta(hours=24), "CODE_TTL": timedelta(minutes=10)},
        # Proves a new address before it replaces the account's own; the user is at the
        # keyboard, having just re-entered their password, so the link lives an hour.
        EMAIL_CHANGE: {"TTL": timedelta(hours=1), "CODE_TTL": timedelta(minutes=10)},
        # Passwordless sign-in: the link and the code of one mail both live 15 minutes
        # whoever reads the mailbox is signed in, so the window stays short.
        LOGIN: {"TTL": timedelta(minutes=15), "CODE_TTL": timedelta(minutes=15)},
    },
    # How long used, expired and revoked rows are kept (for audit) before purge deletes them.
    "RETENTION": timedelta(days=7),
    # API keys read "<prefix>_<body><checksum>".
    "API_KEY_PREFIX": "sk_live",
    # Base62 characters in the body: the selector, then the verifier, which
    # carries at least 119 bits at the smallest length the checks allow.
    "API_KEY_BODY_LENGTH": 43,
    # Default lifetime of a new API key; None makes "never expires" the default.
    "API_KEY_MAX_AGE": timedelta(days=365),
    # `manage.py apikey notify-expiring` warns owners of keys that expire within this many
    # days (each key once per expiry date).
    "API_KEY_EXPIRY_NOTICE_DAYS": 7,
    # last_used_at is written at most once per this interval per key.
    "API_KEY_LAST_USED_INTERVAL": timedelta(minutes=1),
    "API_KEY_FAILURE_RATE_PER_IP": ((60, 60),),
    # Reverse proxies in front of the site that append to X-Forwarded-For; 0 trusts none and
    # uses REMOTE_ADDR.
    "TRUSTED_PROXY_COUNT": 0,
    # Alias in CACHES that holds rate-limit counters; must be shared across processes.
    "CACHE": "default",
    # Every *_RATE_* key is a rate limit: (most requests, window in seconds) pairs, every one
    # of which must hold. Its entry in limits.py says what it counts, what happens over it,
    # and what it does while the cache is down.
    # --- password reset ---
    "PASSWORD_RESET_RATE_PER_EMAIL": ((1, 60), (5, 3600)),
    "PASSWORD_RESET_RATE_PER_IP": ((20, 60),),
    "PASSWORD_RESET_CONFIRM_RATE_PER_IP": ((20, 60),),
    # What the reset mail carries: "link", "code" (typed on the password_reset_code page or
    # sent to the JSON API) or "both".
    "PASSWORD_RESET_METHOD": "link",
    "PASSWORD_RESET_CODE_RATE_PER_IP": ((10, 60),),
    # Dotted path of a callable(task: str, kwargs: dict) that runs a mail job off the request
    # path, so response times do not tell whether an account exists. The default
    # runs it in a background thread once the transaction commits; point it at your task
    # queue to send from a worker (see the password-reset how-to).
    "EMAIL_SENDER": "django_securetokens.tasks.run_in_thread",
    # Add the "send password reset email" action to the user admin of admin.site.
    "ADMIN_USER_ACTION": True,
    # Template the pages are drawn in, such as "base.html": the site's own, with a "content"
    # block (and a "title" block, if it has one). None: a standalone page with the site's
    # name and a link home.
    "BASE_TEMPLATE": None,
    # --- email verification and email change ---
    "EMAIL_VERIFICATION_RATE_PER_EMAIL": ((1, 60), (5, 3600)),
    "EMAIL_VERIFICATION_RATE_PER_REQUESTER": ((3, 60), (10, 3600)),
    "EMAIL_VERIFICATION_RATE_PER_IP": ((10, 60), (50, 3600)),
    "EMAIL_VERIFICATION_CODE_RATE_PER_IP": ((10, 60),),
    "EMAIL_VERIFICATION_CONFIRM_RATE_PER_IP": ((20, 60),),
    "EMAIL_CHANGE_REAUTH_RATE_PER_USER": ((5, 300),),
    "EMAIL_CHANGE_REAUTH_RATE_PER_IP": ((20, 300),),
    # --- passwordless sign-in (the login pages and JSON endpoints) ---
    # Sign in by an emailed link or code; off, every login* URL answers 404.
    "PASSWORDLESS_LOGIN": False,
    "LOGIN_RATE_PER_EMAIL": ((1, 60), (5, 3600)),
    "LOGIN_RATE_PER_IP": ((20, 60),),
    "LOGIN_CONFIRM_RATE_PER_IP": ((20, 60),),
    "LOGIN_CODE_RATE_PER_IP": ((10, 60),),
    "LOGIN_CODE_RATE_PER_EMAIL": ((10, 600),),
    # Dotted path of a callable(request, user) -> dict whose items the JSON login_confirm
    # endpoint adds to its answer, e.g. a token of the project's own; None adds nothing.
    "LOGIN_RESPONSE": None,
    # --- front ends ---
    # Per flow that mails a link ("password_reset", "email_verification", "email_change",
    # "login"), a URL template containing "{token}" that the mail's link points to instead of
    # this app's page, such as "https://app.example.com/reset/{token}" for a single-page or
    # mobile app.
    "FRONTEND_URLS": {},
    # --- personal API keys (the api_keys pages) ---
    # Let signed-in users create and revoke their own keys; off, the pages answer 404.
    "SELF_SERVICE_API_KEYS": False,
    # Scopes a user may grant their own keys; empty: personal keys carry no scope.
    "SELF_SERVICE_API_KEY_SCOPES": (),
    # Live (unrevoked, unexpired) personal keys per user.
    "SELF_SERVICE_API_KEY_LIMIT": 10,
    # Creating a key needs the password entered within this time (sudo mode, R-85).
    "SELF_SERVICE_REAUTH_AGE": timedelta(minutes=10),
    "SELF_SERVICE_REAUTH_RATE_PER_USER": ((5, 300),),
    "SELF_SERVICE_REAUTH_RATE_PER_IP": ((20, 300),),
}

# Longest lifetimes allowed; anything not listed is capped at 24 hours. A
# verification link configured above its ceiling is only warned about.
_TTL_CEILINGS = {
    (PASSWORD_RESET, "CODE_TTL"): timedelta(minutes=10),
    (LOGIN, "TTL"): timedelta(hours=1),
    (LOGIN, "CODE_TTL"): timedelta(hours=1),
}


def ttl_ceiling(purpose: str, name: str) -> timedelta:
    """The longest ``TTL`` or ``CODE_TTL`` (*name*) that *purpose* may have."""
    return _TTL_CEILINGS.get((purpose, name), timedelta(hours=24))


#: The settings a ``PURPOSES`` entry may override, in the order of :class:`Policy`'s fields.
POLICY_KEYS = ("TTL", "CODE_TTL", "CODE_DIGITS", "CODE_MAX_ATTEMPTS", "CODE_MAX_FAILURES")


@dataclass(frozen=True)
class Policy:
    """The effective rules for one purpose."""

    purpose: str
    ttl: timedelta
    code_ttl: timedelta
    code_digits: int
    code_max_attempts: int
    code_max_failures: int


def user_settings() -> dict[str, Any]:
    """The project's raw ``SECURETOKENS`` dict (empty when unset)."""
    value = getattr(settings, "SECURETOKENS", {})
    return value if isinstance(value, dict) else {}


@functools.cache
def get_settings() -> dict[str, Any]:
    """Defaults overlaid with the project's ``SECURETOKENS``; ``PURPOSES`` is merged per
    purpose and key, so overriding one purpose's ``TTL`` keeps everything else."""
    merged = {**DEFAULTS, **user_settings()}
    purposes = {name: dict(rules) for name, rules in DEFAULTS["PURPOSES"].items()}
    for name, rules in user_settings().get("PURPOSES", {}).items():
        purposes.setdefault(name, {}).update(rules)
    merged["PURPOSES"] = purposes
    return merged


def setting(name: str) -> Any:
    """One effective setting by name."""
    return get_settings()[name]


@functools.cache
def get_policy(purpose: str) -> Policy:
    """The policy for *purpose*: its ``PURPOSES`` entry over the global defaults."""
    merged = get_settings()
    rules = {key: merged[key] for key in POLICY_KEYS}
    rules.update(merged["PURPOSES"].get(purpose, {}))
    return Policy(purpose, *(rules[key] for key in POLICY_KEYS))


def master_secrets() -> list[str | bytes]:
    """The master secrets, current first: ``HMAC_KEYS`` or ``SECRET_KEY`` + fallbacks."""
    keys = setting("HMAC_KEYS")
    if keys:
        return list(keys)
    return [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]


@functools.cache
def hmac_keys(purpose: str) -> dict[str, bytes]:
    """Derived keys for *purpose* by key id, in order: the first is the current key (R-61)."""
    keys = (crypto.derive_key(secret, purpose) for secret in master_secrets())
    return {crypto.key_id(key): key for key in keys}


def current_key(purpose: str) -> tuple[str, bytes]:
    """``(key_id, key)`` that new digests for *purpose* are made with."""
    return next(iter(hmac_keys(purpose).items()))


@receiver(setting_changed)
def _reload(*, setting: str, **kwargs: Any) -> None:
    if setting in {"SECURETOKENS", "SECRET_KEY", "SECRET_KEY_FALLBACKS"}:
        get_settings.cache_clear()
        get_policy.cache_clear()
        hmac_keys.cache_clear()
