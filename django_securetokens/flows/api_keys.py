"""Personal API keys: a signed-in user lists, creates and revokes their own keys (R-85).

Opt-in with ``SECURETOKENS["SELF_SERVICE_API_KEYS"]`` (:func:`enabled`); the front ends
answer 404 while it is off. Steps:

* :func:`keys` — the user's keys, newest first, each with its state.
* The rules of a new key, as Django validators both front ends put on their fields:
  :func:`validate_name`, :func:`validate_scopes` (only ``SELF_SERVICE_API_KEY_SCOPES``) and
  :func:`validate_expires_in_days` (up to ``API_KEY_MAX_AGE``); and :func:`check_limit`,
  at most ``SELF_SERVICE_API_KEY_LIMIT`` live keys.
* :func:`reauthenticate` — the password again (sudo mode), throttled per user and per
  client, through ``authenticate()`` (R-79). When to ask is the front end's business: the
  pages skip it for ``SELF_SERVICE_REAUTH_AGE`` after a password entry, the JSON API asks
  every time.
* :func:`create` — the rules and the limit once more, with the user's row locked so
  concurrent requests cannot pass the limit together, then the key: its secret exists only
  in the return value, for the one answer that shows it (R-06).
* :func:`revoke` — one of the user's own keys; any other id is not found.

Refusals are :class:`~django.core.exceptions.ValidationError` (by field, or for the request
as a whole) and :class:`~django_securetokens.flows.RateLimited`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy
from django.views.decorators.debug import sensitive_variables

from django_securetokens import limits
from django_securetokens.conf import setting
from django_securetokens.databases import write_alias
from django_securetokens.models import APIKey, State

from . import reauth

#: The per-user and the per-client limit on wrong passwords (R-79).
REAUTH_LIMITS = (limits.REAUTH_USER, limits.REAUTH_IP)
#: The longest name, as the table stores it.
NAME_MAX_LENGTH: int = APIKey._meta.get_field("name").max_length  # type: ignore[assignment]
# Without an API_KEY_MAX_AGE, a user may still ask for at most ten years.
_LONGEST_DAYS = 3650

MESSAGES = {
    "name": _("Give the key a name of 1 to %(most)d printable characters."),
    "scopes": _("Choose scopes from this list only: %(allowed)s."),
    "no_scopes": _("Keys made here carry no scopes."),
    "expires_in_days": ngettext_lazy(
        "A key lives from 1 to %(most)d day.", "A key lives from 1 to %(most)d days.", "most"
    ),
    "limit": ngettext_lazy(
        "You already have %(limit)d live key, the most allowed. Revoke one first.",
        "You already have %(limit)d live keys, the most allowed. Revoke one first.",
        "limit",
    ),
}


def enabled() -> bool:
    """Whether users may manage their own keys (``SELF_SERVICE_API_KEYS``)."""
    return bool(setting("SELF_SERVICE_API_KEYS"))


def allowed_scopes() -> list[str]:
    """The scopes a user may grant (``SELF_SERVICE_API_KEY_SCOPES``)."""
    return list(setting("SELF_SERVICE_API_KEY_SCOPES"))


def max_days() -> int:
    """The longest lifetime, in days, a user may give a key (``API_KEY_MAX_AGE``)."""
    max_age: timedelta | None = setting("API_KEY_MAX_AGE")
    return max(1, max_age.days) if max_age is not None else _LONGEST_DAYS


def key_limit() -> int:
    """How many live keys a user may have (``SELF_SERVICE_API_KEY_LIMIT``)."""
    most: int = setting("SELF_SERVICE_API_KEY_LIMIT")
    return most


def _keys() -> models.QuerySet[APIKey]:
    # Where the routers write keys, reads included: a replica may not yet show a key made
    # a moment ago, to the list, to revocation, or to the limit (see databases).
    return APIKey.objects.using(write_alias(APIKey.objects))


def keys(user: Any) -> list[tuple[APIKey, State]]:
    """Every key of *user*, newest first, each with its :class:`~.models.State` now."""
    now = timezone.now()
    found = _keys().filter(user_id=user.pk).order_by("-created_at", "-pk")
    return [(api_key, api_key.state(now)) for api_key in found]


def live_keys(user: Any) -> int:
    """How many of *user*'s keys are neither revoked nor expired."""
    found = _keys().filter(user_id=user.pk, revoked_at__isnull=True)
    return found.exclude(expires_at__lte=timezone.now()).count()


def validate_name(name: str) -> None:
    """A validator: *name* is 1 to :data:`NAME_MAX_LENGTH` printable characters."""
    if not 0 < len(name.strip()) <= NAME_MAX_LENGTH or not name.isprintable():
        raise ValidationError(MESSAGES["name"], code="name", params={"most": NAME_MAX_LENGTH})


def validate_scopes(scopes: list[str]) -> None:
    """A validator: every one of *scopes* is in ``SELF_SERVICE_API_KEY_SCOPES``."""
    allowed = allowed_scopes()
    if set(scopes) <= set(allowed):
        return
    if not allowed:
        raise ValidationError(MESSAGES["no_scopes"], code="scopes")
    raise ValidationError(
        MESSAGES["scopes"], code="scopes", params={"allowed": ", ".join(allowed)}
    )


def validate_expires_in_days(days: int) -> None:
    """A validator: *days* is from 1 to :func:`max_days`."""
    most = max_days()
    if not 1 <= days <= most:
        raise ValidationError(
            MESSAGES["expires_in_days"], code="expires_in_days", params={"most": most}
        )


#: Each field of a new key, and the validator that holds its rule.
RULES: dict[str, Callable[[Any], None]] = {
    "name": validate_name,
    "scopes": validate_scopes,
    "expires_in_days": validate_expires_in_days,
}


def check_limit(user: Any) -> None:
    """Refuse a new key while *user* has ``SELF_SERVICE_API_KEY_LIMIT`` live ones.

    :raises ValidationError: for the request as a whole, code ``limit``.
    """
    most = key_limit()
    if live_keys(user) >= most:
        raise ValidationError(MESSAGES["limit"], code="limit", params={"limit": most})


@sensitive_variables("password")
def reauthenticate(user: Any, password: str, *, client: str, request: HttpRequest | None) -> None:
    """Check that *password* is the signed-in *user*'s, under :data:`REAUTH_LIMITS`
    (``SELF_SERVICE_REAUTH_RATE_PER_USER`` and ``_PER_IP``, counted by *client*).

    :raises RateLimited: over a limit; the password was not looked at.
    :raises ValidationError: on ``password``, code ``password_incorrect``.
    """
    try:
        reauth.check_password(user, password, limits=REAUTH_LIMITS, client=client, request=request)
    except reauth.WrongPassword:
        message = reauth.MESSAGES["password_incorrect"]
        raise ValidationError(
            {"password": ValidationError(message, code="password_incorrect")}
        ) from None


@sensitive_variables("secret")
def create(user: Any, *, name: str, scopes: list[str], expires_in_days: int) -> tuple[APIKey, str]:
    """Issue *user* a key named *name* with *scopes*, expiring in *expires_in_days*; return
    ``(api_key, secret)``. The caller has re-authenticated the user.

    :raises ValidationError: by field when a value breaks its rule, or code ``limit``.
    """
    values = {"name": name, "scopes": scopes, "expires_in_days": expires_in_days}
    errors: dict[str, ValidationError] = {}
    for field, value in values.items():
        try:
            RULES[field](value)
        except ValidationError as error:
            errors[field] = error
    if errors:
        raise ValidationError(errors)
    # One database for the lock, the count and the key: where the routers write keys, which
    # the checks hold to the user model's (securetokens.E030).
    alias = write_alias(APIKey.objects)
    with transaction.atomic(using=alias):
        # The user's row is the lock: two requests cannot both see room for one more key.
        users = get_user_model()._default_manager.db_manager(alias)
        users.select_for_update().filter(pk=user.pk).first()
        check_limit(user)
        now = timezone.now()
        expires_at = now + timedelta(days=expires_in_days)
        max_age: timedelta | None = setting("API_KEY_MAX_AGE")
        if max_age is not None:
            # Users pick whole days, one at the least: a maximum under a day still holds.
            expires_at = min(expires_at, now + max_age)
        return APIKey.objects.db_manager(alias).issue(
            name.strip(), user, expires_at, scopes=list(dict.fromkeys(scopes))
        )


def revoke(user: Any, pk: object) -> APIKey | None:
    """Revoke *user*'s key *pk* and return it (a revoked one stays as it was), or None when
    *user* has no key *pk*: another user's, none at all, or not a key id (any value)."""
    # Past 20 digits no id fits a 64-bit column, and int() would refuse a few thousand.
    if isinstance(pk, str) and pk.isascii() and pk.isdigit() and len(pk) <= 20:
        pk = int(pk)
    if not isinstance(pk, int) or isinstance(pk, bool) or pk < 0:
        return None
    api_key = _keys().filter(pk=pk, user_id=user.pk).first()
    if api_key is not None:
        api_key.revoke()
    return api_key
