"""``path("accounts/", include("django_securetokens.urls"))``; namespace ``securetokens``."""

from __future__ import annotations

from django.urls import path  # noqa: F401  (flows add their routes below)

app_name = "securetokens"

urlpatterns: list = []
