"""URLs of the example project."""

from __future__ import annotations

from accounts.models import is_verified
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.generic import TemplateView

from django_securetokens.views.email_verification import EmailVerificationView

from . import api

urlpatterns = [
    path("", TemplateView.as_view(template_name="home.html"), name="home"),
    # Only login and logout from django.contrib.auth: its password-reset views would shadow
    # the ones django-securetokens mounts under the same accounts/ prefix.
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # django-securetokens' pages (namespace "securetokens"). The home page links to each flow
    # as soon as its URL exists.
    # The app cannot know which addresses this site counts as verified: tell its "verify
    # your address" page, so it does not offer to verify one that is.
    path(
        "accounts/email/verify/",
        EmailVerificationView.as_view(is_verified=is_verified),
    ),
    path("accounts/", include("django_securetokens.urls")),
    # Sign-up (address first, proven by code), profile page.
    path("", include("accounts.urls")),
    path("admin/", admin.site.urls),
    # JSON endpoints behind API keys issued in the admin (see api.py).
    path("api/whoami/", api.whoami, name="api_whoami"),
    path("api/orders/", api.orders, name="api_orders"),
    path("api/ping/", api.ping, name="api_ping"),
    # The JSON API (namespace "securetokens_api"), and a single-page demo that uses only it.
    path("api/auth/", include("django_securetokens.api.urls")),
    path(
        "demo/", ensure_csrf_cookie(TemplateView.as_view(template_name="demo.html")), name="demo"
    ),
]
