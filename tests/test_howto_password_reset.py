"""Claims of docs/howto/password_reset.rst: a Redis cache without its client library, and
who may reset a password."""

from __future__ import annotations

import logging
import sys
from dataclasses import asdict

import pytest
from django.core import mail
from django.core.cache import caches
from django.urls import reverse

from django_securetokens.flows.password_reset import send_password_reset
from django_securetokens.forms import PasswordResetRequestForm
from django_securetokens.views.password_reset import PasswordResetView

from .factories import UserFactory

REDIS = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache"}}


@pytest.fixture(params=["no redis package", "server unreachable"])
def broken_redis(request, settings, monkeypatch):
    if request.param == "no redis package":
        monkeypatch.setitem(sys.modules, "redis", None)  # `import redis` now fails
        location = "redis://127.0.0.1:6379/0"
    else:
        location = "redis://127.0.0.1:9/0"  # the discard port: nothing listens there
    settings.CACHES = {"default": {**REDIS["default"], "LOCATION": location}}
    return request.param


@pytest.mark.django_db
def test_without_a_working_redis_the_page_answers_but_no_reset_mail_goes_out(
    broken_redis, client, caplog
):
    user = UserFactory()
    with caplog.at_level(logging.WARNING, logger="django_securetokens"):
        response = client.post(reverse("securetokens:password_reset"), {"email": user.email})
    assert response.status_code == 302
    assert response["Location"] == reverse("securetokens:password_reset_sent")
    assert mail.outbox == []
    assert any(
        r.name == "django_securetokens" and r.levelno >= logging.WARNING for r in caplog.records
    )


def test_the_howtos_cache_probe_fails_loudly(broken_redis):
    """The one-line probe the how-to gives raises instead of printing nothing."""
    with pytest.raises(Exception):  # noqa: B017 - ImportError or a connection error
        caches["default"].set("ping", 1, 5)


class StaffOnlyForm(PasswordResetRequestForm):
    def get_users(self, email):
        return (user for user in super().get_users(email) if user.is_staff)


class StaffOnlyResetView(PasswordResetView):
    form_class = StaffOnlyForm


@pytest.mark.django_db
@pytest.mark.parametrize("is_staff", [False, True])
def test_a_form_class_set_on_a_view_subclass_decides_who_gets_mail(is_staff):
    """The how-to's recipe: the mail job rebuilds the view from its class, so the subclass's
    form decides, off the request path."""
    user = UserFactory(is_staff=is_staff)
    options = asdict(StaffOnlyResetView().get_mail_options())
    send_password_reset(origin="https://testserver.example", options=options, email=user.email)
    assert [message.to for message in mail.outbox] == ([[user.email]] if is_staff else [])
