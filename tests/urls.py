from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("accounts/", include("django_securetokens.urls")),
    path("admin/", admin.site.urls),
    path("accounts/", include("django_securetokens.urls")),
    path("signup/", include("tests.signup_views")),
]
