"""``path("accounts/", include("django_securetokens.urls"))``; namespace ``securetokens``.

Only ``reset/<token>/`` and the email links' ``…/confirm/<token>/`` carry a secret, so they
are the prefixes to scrub from access logs (see the password-reset how-to, R-66).
"""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path, re_path

from .views import (
    api_keys,
    email_change,
    email_verification,
    email_verification_confirm,
    login,
    password_reset,
    password_reset_set,
)

app_name = "securetokens"

urlpatterns: list[URLPattern | URLResolver] = [
    # --- password reset ---------------------------------------------------------------------
    path("password-reset/", password_reset.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password-reset/sent/",
        password_reset.PasswordResetSentView.as_view(),
        name="password_reset_sent",
    ),
    path(
        "password-reset/set-password/",
        password_reset_set.PasswordResetSetView.as_view(),
        name="password_reset_set",
    ),
    path(
        "password-reset/code/",
        password_reset_set.PasswordResetCodeView.as_view(),
        name="password_reset_code",
    ),
    path(
        "password-reset/complete/",
        password_reset.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    # Any junk after reset/ — slashes, newlines, NUL — reaches the view and gets the
    # "invalid link" page rather than a 404 that differs from it.
    re_path(
        r"^reset/(?P<token>[\s\S]+)/\Z",
        password_reset.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    # --- email verification and email change ------------------------------------------------
    path(
        "email/verify/",
        email_verification.EmailVerificationView.as_view(),
        name="email_verification",
    ),
    path(
        "email/verify/code/",
        email_verification.EmailVerificationCodeView.as_view(),
        name="email_verification_code",
    ),
    path(
        "email/verify/confirm/<str:token>/",
        email_verification_confirm.EmailVerificationConfirmView.as_view(),
        name="email_verification_confirm",
    ),
    path(
        "email/verified/",
        email_verification_confirm.EmailVerificationCompleteView.as_view(),
        name="email_verification_complete",
    ),
    path("email/change/", email_change.EmailChangeView.as_view(), name="email_change"),
    path(
        "email/change/confirm/<str:token>/",
        email_change.EmailChangeConfirmView.as_view(),
        name="email_change_confirm",
    ),
    # --- personal API keys (SELF_SERVICE_API_KEYS) ------------------------------------------
    path("api-keys/", api_keys.APIKeysView.as_view(), name="api_keys"),
    path("api-keys/<int:pk>/revoke/", api_keys.APIKeyRevokeView.as_view(), name="api_key_revoke"),
    # --- passwordless sign-in (PASSWORDLESS_LOGIN) ------------------------------------------
    # Not "login/": django.contrib.auth's urls, often mounted under the same accounts/
    # prefix, have it, and the first pattern would shadow the other.
    path("email-login/", login.LoginView.as_view(), name="login"),
    path("email-login/code/", login.LoginCodeView.as_view(), name="login_code"),
    path(
        "email-login/confirm/<str:token>/",
        login.LoginConfirmView.as_view(),
        name="login_confirm",
    ),
]
