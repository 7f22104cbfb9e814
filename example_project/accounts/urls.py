from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("signup/account/", views.signup_account, name="signup_account"),
    path("profile/", views.profile, name="profile"),
]
