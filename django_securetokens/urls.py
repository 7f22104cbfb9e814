"""``path("accounts/", include("django_securetokens.urls"))``; namespace ``securetokens``.

Only ``reset/<token>/`` carries a secret, so it is the one prefix to scrub from access logs
(see the password-reset how-to, R-66).
"""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path, re_path

from .views import password_reset

app_name = "securetokens"

urlpatterns: list[URLPattern | URLResolver] = [
    path(
        "password-reset/",
        password_reset.PasswordResetView.as_view(),
        name="password_reset",
    ),
    path(
        "password-reset/sent/",
        password_reset.PasswordResetSentView.as_view(),
        name="password_reset_sent",
    ),
    path(
        "password-reset/set-password/",
        password_reset.PasswordResetSetView.as_view(),
        name="password_reset_set",
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
]
