"""The test site plus the example project's login page (tests/browser/test_login_flow.py)."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.urls import path

from tests.urls import urlpatterns as site


def whoami(request: HttpRequest) -> HttpResponse:
    user = request.user
    text = f"signed in as {user.get_username()}" if user.is_authenticated else "anonymous"
    return HttpResponse(text, content_type="text/plain")


# As example_project/example_project/urls.py serves the login page; its base template links
# to these names.
urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    *site,
    path("whoami/", whoami, name="home"),
    path("profile/", whoami, name="profile"),
    path("signup-page/", whoami, name="signup"),
]
