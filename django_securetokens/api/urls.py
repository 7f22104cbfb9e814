"""URLs of the JSON API: ``path("api/auth/", include("django_securetokens.api.urls"))``.

Every endpoint takes ``POST`` with a JSON body, and ``api_keys`` also ``GET`` for the list;
the names are the public contract of DESIGN.md ("Public contract (JSON API)").
"""

from __future__ import annotations

from importlib.util import find_spec

from django.urls import path

from . import api_keys, email_change, email_verification, login, password_reset

if find_spec("drf_spectacular"):  # pragma: no branch - the test extra installs it
    # Registers the endpoints' OpenAPI descriptions with drf-spectacular (the openapi extra).
    from . import openapi  # noqa: F401

app_name = "securetokens_api"

urlpatterns = [
    path("password-reset/", password_reset.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password-reset/verify/",
        password_reset.PasswordResetVerifyView.as_view(),
        name="password_reset_verify",
    ),
    path(
        "password-reset/complete/",
        password_reset.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path(
        "email-verification/",
        email_verification.EmailVerificationView.as_view(),
        name="email_verification",
    ),
    path(
        "email-verification/confirm/",
        email_verification.EmailVerificationConfirmView.as_view(),
        name="email_verification_confirm",
    ),
    path("email-change/", email_change.EmailChangeView.as_view(), name="email_change"),
    path(
        "email-change/confirm/",
        email_change.EmailChangeConfirmView.as_view(),
        name="email_change_confirm",
    ),
    path("login/", login.LoginView.as_view(), name="login"),
    path("login/confirm/", login.LoginConfirmView.as_view(), name="login_confirm"),
    path("api-keys/", api_keys.APIKeysView.as_view(), name="api_keys"),
    path(
        "api-keys/<str:pk>/revoke/",
        api_keys.APIKeyRevokeView.as_view(),
        name="api_key_revoke",
    ),
]
