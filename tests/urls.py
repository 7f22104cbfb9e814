from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from . import views

urlpatterns = [
    path("accounts/", include("django_securetokens.urls")),
    path("admin/", admin.site.urls),
    path("signup/", include("tests.signup_views")),
    path("api/whoami/", views.whoami, name="whoami"),
    path("api/orders/", views.orders, name="orders"),
    path("api/async-whoami/", views.async_whoami, name="async_whoami"),
    path("api/cbv-orders/", views.OrdersView.as_view(), name="cbv_orders"),
    path("api/async-cbv-orders/", views.AsyncOrdersView.as_view(), name="async_cbv_orders"),
    path("api/stream/", views.stream, name="stream"),
    path("open/", views.open_view, name="open"),
]

try:
    from . import drf_views
except ImportError:  # DRF is optional; its tests skip without it
    pass
else:
    urlpatterns += [
        path("drf/whoami/", drf_views.WhoAmI.as_view(), name="drf_whoami"),
        path("drf/orders/", drf_views.Orders.as_view(), name="drf_orders"),
        path("api/auth/", include("django_securetokens.api.urls")),
    ]
