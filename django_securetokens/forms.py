"""Forms of the HTTP flows. Setting the new password reuses Django's ``SetPasswordForm``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables

from . import limits
from .flows import RateLimited, reauth
from .flows.password_reset import find_users
from .limits import Limit
from .owners import canonical_email, email_of, validate_mailbox
from .ratelimit import client_key

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


class ReauthenticationMixin:
    """A form's ``password`` field, checked as the signed-in user's current password.

    The check is :func:`django_securetokens.flows.reauth.check_password` under
    :attr:`reauth_limits` (R-79): throttled per user and per client *before* the password
    is looked at, so over a limit even the right password is refused and :attr:`throttled`
    tells the view to answer 429; and made with :func:`django.contrib.auth.authenticate`,
    so ``user_login_failed`` fires and the project's backends (lockouts included) see every
    wrong guess.
    """

    #: The per-user and the per-client limit on wrong passwords.
    reauth_limits: tuple[Limit, Limit]
    request: HttpRequest
    user: Any
    cleaned_data: dict[str, Any]
    error_messages: dict[str, _StrPromise]
    #: Whether the last check was refused by a limit.
    throttled = False

    @sensitive_variables("password")
    def clean_password(self) -> str:
        password: str = self.cleaned_data["password"]
        try:
            reauth.check_password(
                self.user,
                password,
                limits=self.reauth_limits,
                client=client_key(self.request),
                request=self.request,
            )
        except RateLimited:
            self.throttled = True
            raise ValidationError(self.error_messages["throttled"], code="throttled") from None
        except reauth.WrongPassword:
            raise ValidationError(
                self.error_messages["password_incorrect"], code="password_incorrect"
            ) from None
        return password


class EmailChangeForm(ReauthenticationMixin, forms.Form):
    """Ask for a new address, and the current password to prove it is the owner (R-30).

    Valid data changes nothing yet: the view mails the new address a code and a link, and
    the account's address changes only once one of them is used. The address must be one
    the flows can bind and mail (R-80); the password check is throttled (R-79,
    ``EMAIL_CHANGE_REAUTH_RATE_PER_USER`` and ``_PER_IP``).
    """

    error_messages: dict[str, _StrPromise] = {
        **reauth.MESSAGES,
        "same_email": _("This is already the email address of your account."),
    }
    reauth_limits = (limits.EMAIL_CHANGE_REAUTH_USER, limits.EMAIL_CHANGE_REAUTH_IP)

    email = forms.EmailField(
        label=_("New email address"),
        max_length=254,
        validators=[validate_mailbox],
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )
    password = forms.CharField(
        label=_("Current password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(
        self, user: AbstractBaseUser, *args: Any, request: HttpRequest, **kwargs: Any
    ) -> None:
        self.user = user
        self.request = request
        super().__init__(*args, **kwargs)

    def clean_email(self) -> str:
        email: str = self.cleaned_data["email"]
        # The same mailbox however it is spelled: it would mail the current address.
        if canonical_email(email) == canonical_email(email_of(self.user)):
            raise ValidationError(self.error_messages["same_email"], code="same_email")
        return email
