"""``path("accounts/", include("django_securetokens.urls"))``; namespace ``securetokens``."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from .views import email_verification

app_name = "securetokens"

urlpatterns: list[URLPattern | URLResolver] = []

# --- email verification and email change --------------------------------------------------
urlpatterns += [
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
        email_verification.EmailVerificationConfirmView.as_view(),
        name="email_verification_confirm",
    ),
    path(
        "email/verified/",
        email_verification.EmailVerificationCompleteView.as_view(),
        name="email_verification_complete",
    ),
    path("email/change/", email_verification.EmailChangeView.as_view(), name="email_change"),
    path(
        "email/change/confirm/<str:token>/",
        email_verification.EmailChangeConfirmView.as_view(),
        name="email_change_confirm",
    ),
]
