"""``path("accounts/", include("django_securetokens.urls"))``; namespace ``securetokens``."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

app_name = "securetokens"

urlpatterns: list[URLPattern | URLResolver] = []
