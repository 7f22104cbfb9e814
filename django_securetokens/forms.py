"""Forms for the HTTP flows.

Error messages live in an overridable ``error_messages`` dict on each form, with
``gettext_lazy`` strings, so a site can reword them without rewriting a method.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.utils.functional import _StrPromise


# --- email verification and email change -------------------------------------------------


class VerificationCodeForm(forms.Form):
    """The code-entry form: a single ``code`` field.

    Who the code belongs to is kept server-side, in the session that asked for it, never
    taken from the form (R-31). The field does no format checks of its own: every non-empty
    submission must reach :meth:`~SecureTokenManager.verify_code`, which counts it as an
    attempt before judging it, and normalises it (spaces and hyphens dropped, ASCII digits
    only) (R-20, R-34, R-76). Django's NUL-byte validator is removed for the same reason.
    """

    error_messages: dict[str, _StrPromise] = {
        "invalid_code": _(
            "This code is not valid. Check the email we sent, or ask for a new code."
        ),
        "throttled": _("Too many attempts from your network. Wait a minute and try again."),
    }

    code = forms.CharField(
        label=_("Code"),
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "autocapitalize": "off",
                "spellcheck": "false",
                "autofocus": True,
            }
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["code"].validators = []


class EmailChangeForm(forms.Form):
    """Ask for a new address, and the current password to prove it is the owner (R-30).

    Valid data changes nothing yet: the view mails the new address a code and a link, and
    the account's address changes only once one of them is used.
    """

    error_messages: dict[str, _StrPromise] = {
        "password_incorrect": _("Your password was entered incorrectly. Please enter it again."),
        "same_email": _("This is already the email address of your account."),
    }

    email = forms.EmailField(
        label=_("New email address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )
    password = forms.CharField(
        label=_("Current password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, user: AbstractBaseUser, *args: Any, **kwargs: Any) -> None:
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_email(self) -> str:
        email: str = self.cleaned_data["email"]
        current = getattr(self.user, self.user.get_email_field_name(), "") or ""
        if email.casefold() == current.casefold():
            raise ValidationError(self.error_messages["same_email"], code="same_email")
        return email

    def clean_password(self) -> str:
        password: str = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise ValidationError(
                self.error_messages["password_incorrect"], code="password_incorrect"
            )
        return password
