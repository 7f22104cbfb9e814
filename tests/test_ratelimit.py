"""ratelimit: fixed windows in the shared cache, keyed by digests; the client IP (R-37…R-40)."""

from __future__ import annotations

import time

import pytest
from django.core.cache import caches
from django.test import RequestFactory

from django_securetokens import ratelimit

pytestmark = pytest.mark.usefixtures("fresh_cache")


def test_hit_allows_up_to_the_limit():
    assert [ratelimit.hit("test", "k", 3, 60) for _ in range(5)] == [True] * 3 + [False] * 2


def test_scopes_keys_and_periods_count_apart():
    assert ratelimit.hit("a", "k", 1, 60)
    assert ratelimit.hit("b", "k", 1, 60)
    assert ratelimit.hit("a", "other", 1, 60)
    assert ratelimit.hit("a", "k", 1, 3600)
    assert not ratelimit.hit("a", "k", 1, 60)


def test_window_expires():
    assert ratelimit.hit("short", "k", 1, 1)
    assert not ratelimit.hit("short", "k", 1, 1)
    time.sleep(1.1)
    assert ratelimit.hit("short", "k", 1, 1)


def test_hit_all_counts_every_window_even_after_a_refusal():
    rates = [(1, 60), (3, 3600)]
    assert ratelimit.hit_all("both", "k", rates)
    assert not ratelimit.hit_all("both", "k", rates)
    # The refused call still counted in the hour: a third call is the hour's last.
    assert ratelimit.hit_all("both", "k", [(100, 60), (3, 3600)])
    assert not ratelimit.hit_all("both", "k", [(100, 60), (3, 3600)])


def test_cache_keys_hold_no_address():
    cache = caches["default"]
    key = ratelimit._cache_key("password_reset_email", "victim@example.com", 60)
    ratelimit.hit("password_reset_email", "victim@example.com", 1, 60)

    assert "victim" not in key and "example" not in key
    assert cache.get(key) == 1


@pytest.mark.parametrize(
    ("count", "forwarded", "expected"),
    [
        (0, "203.0.113.1", "192.0.2.10"),
        (1, "203.0.113.1", "203.0.113.1"),
        (1, "198.51.100.66, 203.0.113.1", "203.0.113.1"),
        (2, "198.51.100.66, 203.0.113.1, 10.0.0.2", "203.0.113.1"),
        (2, "203.0.113.1", "192.0.2.10"),
        (1, "", "192.0.2.10"),
    ],
)
def test_client_ip(settings, count, forwarded, expected):
    settings.SECURETOKENS = {**settings.SECURETOKENS, "TRUSTED_PROXY_COUNT": count}
    request = RequestFactory().get("/", REMOTE_ADDR="192.0.2.10", HTTP_X_FORWARDED_FOR=forwarded)

    assert ratelimit.client_ip(request) == expected


def test_a_window_that_expires_between_add_and_incr_starts_again(monkeypatch):
    cache = caches["default"]
    real_incr = cache.incr
    calls = []

    def flaky_incr(key, delta=1, version=None):
        calls.append(key)
        if len(calls) == 1:
            cache.delete(key)
            raise ValueError("key expired")
        return real_incr(key, delta, version)

    monkeypatch.setattr(cache, "incr", flaky_incr)

    assert ratelimit.hit("race", "k", 1, 60)
    assert not ratelimit.hit("race", "k", 1, 60)
