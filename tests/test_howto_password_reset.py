"""docs/howto/password_reset.rst's warning about a Redis cache without its client library."""

from __future__ import annotations

import logging
import sys

import pytest
from django.core import mail
from django.core.cache import caches
from django.urls import reverse

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
    assert any(r.levelno == logging.WARNING for r in caplog.records)


def test_the_howtos_cache_probe_fails_loudly(broken_redis):
    """The one-line probe the how-to gives raises instead of printing nothing."""
    with pytest.raises(Exception):  # noqa: B017 - ImportError or a connection error
        caches["default"].set("ping", 1, 5)
