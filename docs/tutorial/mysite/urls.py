# [site]
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import TemplateView

urlpatterns = [
    path("", TemplateView.as_view(template_name="home.html"), name="home"),
    # Only sign-in and sign-out from django.contrib.auth: its password-reset views would
    # answer next to the app's, with Django's own flow.
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/", include("django_securetokens.urls")),
    path("admin/", admin.site.urls),
]
# [/site]

# [api]
from . import api

urlpatterns += [
    path("api/whoami/", api.whoami, name="api_whoami"),
    path("api/orders/", api.orders, name="api_orders"),
]
# [/api]
