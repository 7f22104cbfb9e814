"""The authentication backend of passwordless sign-in (R-84).

List it in ``AUTHENTICATION_BACKENDS`` next to Django's ``ModelBackend``::

    AUTHENTICATION_BACKENDS = [
        "django.contrib.auth.backends.ModelBackend",
        "django_securetokens.backends.LoginTokenBackend",
    ]

It accepts only a sign-in token that :mod:`django_securetokens.flows.login` verified, and
spends it; it grants no permissions of its own.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import BaseBackend, ModelBackend
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest

from .conf import LOGIN, setting
from .exceptions import TokenError
from .flows import login
from .models import SecureToken


class LoginTokenBackend(BaseBackend):
    """``authenticate(request, login_token=token)`` with a verified sign-in token.

    The keyword holds "token", so Django masks its value in the ``user_login_failed``
    credentials it sends when no backend accepts it.
    """

    def authenticate(  # type: ignore[override]
        self, request: HttpRequest | None, login_token: object = None, **kwargs: Any
    ) -> AbstractBaseUser | None:
        if not setting("PASSWORDLESS_LOGIN"):
            return None
        if not isinstance(login_token, SecureToken) or login_token.purpose != LOGIN:
            return None
        try:
            return login.complete(login_token)
        except TokenError:
            return None

    def get_user(self, user_id: Any) -> AbstractBaseUser | None:  # type: ignore[override]
        # ModelBackend's lookup, active users only, without its permission methods: listing
        # this backend must not grant model permissions a project's own backends refuse.
        user: AbstractBaseUser | None = ModelBackend().get_user(user_id)
        return user
