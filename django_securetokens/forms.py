"""Forms of the HTTP flows. Setting the new password reuses Django's ``SetPasswordForm``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .flows.password_reset import find_users

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise


class PasswordResetRequestForm(forms.Form):
    """The "forgot your password?" form: one field, ``email``.

    It never says whether an account exists; the view answers every valid submission the
    same way and leaves the lookup (:meth:`get_users`) to a job off the request path.
    """

    email = forms.EmailField(
        label=_("Email address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )

    def get_users(self, email: str) -> Iterator[AbstractBaseUser]:
        """The accounts that should receive a reset link for *email*.

        Django's semantics (``PasswordResetForm.get_users``): active users with a usable
        password, found case-insensitively by the user model's email field, then kept only
        if the stored address equals *email* under NFKC + casefold (R-41). The mail goes to
        the address stored on each account, never to the submitted string. Override this
        to change who may reset.
        """
        return find_users(email)


class LoginRequestForm(forms.Form):
    """The passwordless sign-in form: the same ``email`` field; the view answers every valid
    submission alike and the mail job looks the account up (R-35, R-84)."""

    email = PasswordResetRequestForm.base_fields["email"]


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
        "used_up": _(
            "This code is used up: it was entered wrongly too many times. Ask for a new code "
            "below."
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


def _encodable(value: str) -> bool:
    try:
        value.encode()
    except UnicodeError:
        return False
    return True


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
        # A lone surrogate cannot be UTF-8 encoded, so Django's hashers would raise
        # UnicodeEncodeError (an HTTP 500); no stored password can contain one.
        if not _encodable(password) or not self.user.check_password(password):
            raise ValidationError(
                self.error_messages["password_incorrect"], code="password_incorrect"
            )
        return password
