from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("signup/account/", views.signup_account, name="signup_account"),
    path("profile/", views.profile, name="profile"),
    # A key-protected JSON endpoint, and the same answer without authentication, so the
    # load benchmark can report what API-key authentication costs per request.
    path("api/whoami/", views.api_whoami, name="api_whoami"),
    path("api/ping/", views.api_ping, name="api_ping"),
]
