"""The test site plus the example project's single-page demo (tests/browser/test_api_demo.py)."""

from __future__ import annotations

from django.urls import path
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.generic import TemplateView

from tests.urls import urlpatterns as site

# As example_project/example_project/urls.py serves it.
urlpatterns = [
    *site,
    path("demo/", ensure_csrf_cookie(TemplateView.as_view(template_name="demo.html"))),
]
