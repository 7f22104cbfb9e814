"""Forms of the HTTP flows. Setting the new password reuses Django's ``SetPasswordForm``."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.utils.translation import gettext_lazy as _


def normalize_email(email: str) -> str:
    """*email* under Unicode compatibility normalisation and case folding (NFKC + casefold).

    Two addresses are the same for this app when their normalised forms are equal: the
    comparison Django adopted for CVE-2019-19844 (Unicode TR 36), also used for the rate-limit
    key so that ``Victim@…`` and ``victim@…`` share one counter.
    """
    return unicodedata.normalize("NFKC", email).casefold()


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
        user_model = get_user_model()
        field = user_model.get_email_field_name()
        candidates = user_model._default_manager.filter(
            **{f"{field}__iexact": email, "is_active": True}
        )
        wanted = normalize_email(email)
        for user in candidates:
            stored: Any = getattr(user, field)
            if user.has_usable_password() and stored and normalize_email(stored) == wanted:
                yield user
