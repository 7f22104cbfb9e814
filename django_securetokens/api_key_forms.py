"""Forms of the personal API-key pages: create a key, with sudo mode's password check.

The rules are :mod:`django_securetokens.flows.api_keys`'s, the JSON API's too: the fields
carry its validators, :meth:`APIKeyCreateForm.clean` its limit. Creating a key needs the
password re-entered within ``SELF_SERVICE_REAUTH_AGE`` (R-85), checked by
:class:`~django_securetokens.forms.ReauthenticationMixin` under the flow's limits (R-79).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from .flows import api_keys, reauth
from .forms import ReauthenticationMixin

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise


class APIKeyCreateForm(ReauthenticationMixin, forms.Form):
    """Name, scopes from ``SELF_SERVICE_API_KEY_SCOPES``, lifetime in days capped by
    ``API_KEY_MAX_AGE``; and ``password`` when the last password entry is not recent."""

    error_messages: dict[str, _StrPromise] = dict(reauth.MESSAGES)
    reauth_limits = api_keys.REAUTH_LIMITS

    name = forms.CharField(
        label=_("Name"),
        validators=[api_keys.validate_name],
        widget=forms.TextInput(attrs={"maxlength": api_keys.NAME_MAX_LENGTH}),
        help_text=_("What the key is for, such as “laptop” or “backup script”."),
    )
    scopes = forms.MultipleChoiceField(
        label=_("Scopes"),
        required=False,
        validators=[api_keys.validate_scopes],
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Grant only what the key needs."),
    )
    expires_in_days = forms.IntegerField(
        label=_("Expires in (days)"),
        validators=[api_keys.validate_expires_in_days],
        widget=forms.NumberInput(attrs={"min": 1}),
    )
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
        allowed = api_keys.allowed_scopes()
        self.fields["scopes"].choices = [(scope, scope) for scope in allowed]  # type: ignore[attr-defined]
        if not allowed:
            del self.fields["scopes"]
        # The cap is a setting, read per form rather than frozen into the class at import.
        days = self.fields["expires_in_days"]
        days.widget.attrs["max"] = str(api_keys.max_days())
        days.initial = min(90, api_keys.max_days())
        if not needs_password:
            del self.fields["password"]

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        api_keys.check_limit(self.user)
        return cleaned
