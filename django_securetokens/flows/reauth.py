"""Re-authentication: the signed-in user's password, asked again before a sensitive step.

Every password check outside login goes through :func:`check_password` (R-79), whichever
front end asks: the email-change form and endpoint, and the personal API-key page and
endpoint. Each step passes its own pair of limits from :mod:`django_securetokens.limits`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.auth import authenticate
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables

from django_securetokens.limits import Limit

from .common import encodable, limit

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise

#: What the front ends tell the user, by refusal: a wrong password, and over a limit.
MESSAGES: dict[str, _StrPromise] = {
    "password_incorrect": _("Your password was entered incorrectly. Please enter it again."),
    "throttled": _("Too many wrong passwords. Try again in a few minutes."),
}


class WrongPassword(Exception):
    """The password is not the user's; the failure was counted and reported."""


@sensitive_variables("password")
def check_password(
    user: Any,
    password: str,
    *,
    limits: tuple[Limit, Limit],
    client: str,
    request: HttpRequest | None,
) -> None:
    """Check that *password* is the current password of *user*, the signed-in user.

    *limits* are the per-user and the per-client limit on wrong passwords; *client* is the
    key the per-client one counts by. Over either, even the right password is refused and
    not looked at. The check is :func:`django.contrib.auth.authenticate` with *request*, so
    ``user_login_failed`` fires and the project's backends (lockouts included) see every
    wrong guess, which counts once against both limits.

    :raises RateLimited: over a limit; the password was not looked at.
    :raises WrongPassword: the password is not *user*'s (or cannot be, R-73).
    """
    per_user, per_client = limits
    counted = ((per_user, str(user.pk)), (per_client, client))
    # Each check is counted before the password is looked at, as every guess is, so
    # requests that race cannot all be judged while the hasher works on the first; a right
    # password takes its count back, and the limits hold wrong ones only.
    for entry, key in counted:
        limit(entry, key)
    found = None
    # A lone surrogate cannot be UTF-8 encoded, so Django's hashers would raise
    # UnicodeEncodeError (an HTTP 500); no stored password can contain one.
    if encodable(password):
        found = authenticate(request, username=user.get_username(), password=password)
    if found is None or found.pk != user.pk:
        raise WrongPassword
    for entry, key in counted:
        entry.refund(key)
