"""Forms of the personal API-key pages: create a key, with sudo mode's password check.

Creating a key needs the password re-entered within ``SELF_SERVICE_REAUTH_AGE`` (R-85). That
check goes through :func:`django.contrib.auth.authenticate`, so ``user_login_failed`` fires
and the project's authentication backends (lockouts included) see every guess, and it is
throttled per user and per client before the password is even looked at (R-79).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from . import limits
from .conf import setting
from .forms import ReauthenticationMixin
from .models import APIKey

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise

# Without an API_KEY_MAX_AGE, a user may still ask for at most ten years.
_LONGEST_DAYS = 3650


def max_days() -> int:
    """The longest lifetime, in days, a user may give a personal key."""
    max_age: timedelta | None = setting("API_KEY_MAX_AGE")
    return max(1, max_age.days) if max_age is not None else _LONGEST_DAYS


def live_keys(user: Any) -> int:
    """How many of *user*'s keys are neither revoked nor expired."""
    now = timezone.now()
    keys = APIKey.objects.filter(user=user, revoked_at__isnull=True)
    return keys.exclude(expires_at__lte=now).count()


class APIKeyCreateForm(ReauthenticationMixin, forms.Form):
    """Name, scopes from ``SELF_SERVICE_API_KEY_SCOPES``, lifetime in days capped by
    ``API_KEY_MAX_AGE``; and ``password`` when the last password entry is not recent."""

    error_messages: dict[str, _StrPromise] = {
        "password_incorrect": _("Your password was entered incorrectly. Please enter it again."),
        "throttled": _("Too many wrong passwords. Try again in a few minutes."),
        "limit": ngettext_lazy(
            "You already have %(limit)d live key, the most allowed. Revoke one first.",
            "You already have %(limit)d live keys, the most allowed. Revoke one first.",
            "limit",
        ),
    }
    reauth_limits = (limits.REAUTH_USER, limits.REAUTH_IP)

    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("What the key is for, such as “laptop” or “backup script”."),
    )
    scopes = forms.MultipleChoiceField(
        label=_("Scopes"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Grant only what the key needs."),
    )
    expires_in_days = forms.IntegerField(label=_("Expires in (days)"), min_value=1)
    password = forms.CharField(
        label=_("Your password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text=_("Creating a key needs your password once every few minutes."),
    )

    def __init__(self, request: HttpRequest, *args: Any, needs_password: bool, **kwargs: Any):
        self.request = request
        self.user: Any = request.user
        super().__init__(*args, **kwargs)
        allowed = list(setting("SELF_SERVICE_API_KEY_SCOPES"))
        self.fields["scopes"].choices = [(scope, scope) for scope in allowed]  # type: ignore[attr-defined]
        if not allowed:
            del self.fields["scopes"]
        # The cap is a setting, read per form rather than frozen into the class at import.
        days = self.fields["expires_in_days"]
        days.validators.append(MaxValueValidator(max_days()))
        days.widget.attrs["max"] = str(max_days())
        days.initial = min(90, max_days())
        if not needs_password:
            del self.fields["password"]

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        limit: int = setting("SELF_SERVICE_API_KEY_LIMIT")
        if live_keys(self.user) >= limit:
            raise ValidationError(
                self.error_messages["limit"], code="limit", params={"limit": limit}
            )
        return cleaned
