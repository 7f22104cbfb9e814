"""Rate-limit counters and the client address they count by."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.core.checks import Error
from django.test import RequestFactory, override_settings

from django_securetokens import ratelimit
from django_securetokens.checks import check_settings
from django_securetokens.conf import rate_limit

MINUTE = timedelta(minutes=1)


@pytest.mark.usefixtures("frozen_clock")
def test_hit_allows_up_to_the_limit_then_refuses():
    assert [ratelimit.hit("t", "k", 3, MINUTE) for _ in range(5)] == [True] * 3 + [False] * 2
    assert ratelimit.hit("t", "other", 3, MINUTE) is True
    assert ratelimit.hit("u", "k", 3, MINUTE) is True  # scopes are separate


@pytest.mark.usefixtures("frozen_clock")
def test_exceeded_peeks_without_counting():
    for _ in range(2):
        assert not ratelimit.exceeded("t", "k", 2, MINUTE)
        ratelimit.hit("t", "k", 2, MINUTE)
    assert ratelimit.exceeded("t", "k", 2, MINUTE)
    ratelimit.clear("t", "k", MINUTE)
    assert not ratelimit.exceeded("t", "k", 2, MINUTE)


def test_windows_end():
    with time_machine.travel("2030-01-01 00:00:00", tick=False) as traveller:
        assert ratelimit.hit("t", "k", 1, MINUTE)
        assert not ratelimit.hit("t", "k", 1, MINUTE)
        traveller.shift(timedelta(seconds=61))
        assert ratelimit.hit("t", "k", 1, MINUTE)


def test_an_entry_vanishing_between_add_and_incr_starts_a_fresh_window(monkeypatch):
    monkeypatch.setattr(cache, "add", lambda *args, **kwargs: False)

    def incr(*args, **kwargs):
        raise ValueError("gone")

    monkeypatch.setattr(cache, "incr", incr)
    assert ratelimit.hit("t", "k", 1, MINUTE) is True


@pytest.mark.usefixtures("frozen_clock")
@pytest.mark.skipif(not hasattr(cache, "_cache"), reason="lists keys of LocMemCache only")
@pytest.mark.parametrize("key", ["someone@example.com", "203.0.113.9", "\udc80bad", "é" * 300])
def test_cache_keys_never_hold_what_is_counted(key):
    ratelimit.hit("scope", key, 5, MINUTE)
    stored = list(cache._cache)  # LocMemCache internals: the only way to list its keys
    assert len(stored) == 1
    assert key not in stored[0] and "example" not in stored[0]


def _request(remote="198.51.100.7", forwarded=None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


def test_client_ip_ignores_x_forwarded_for_by_default():
    assert ratelimit.client_ip(_request(forwarded="203.0.113.1")) == "198.51.100.7"


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (1, "203.0.113.1", "203.0.113.1"),
        (1, "6.6.6.6, 203.0.113.1", "203.0.113.1"),  # the spoofed left entry is ignored
        (2, "6.6.6.6, 203.0.113.1, 10.0.0.2", "203.0.113.1"),
        (2, "203.0.113.1", "198.51.100.7"),  # fewer hops than proxies: misconfigured
        (1, "not-an-ip", "198.51.100.7"),
        (1, "1.2.3.4:5678", "198.51.100.7"),
        (1, "x" * 10_000, "198.51.100.7"),
        (1, "", "198.51.100.7"),
    ],
)
def test_client_ip_behind_trusted_proxies(proxies, forwarded, expected):
    with override_settings(SECURETOKENS={"TRUSTED_PROXY_COUNT": proxies}):
        assert ratelimit.client_ip(_request(forwarded=forwarded)) == expected


@pytest.mark.parametrize(
    ("remote", "expected"),
    [
        ("198.51.100.7", "198.51.100.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"),
        ("::ffff:198.51.100.7", "198.51.100.7"),
        ("", ""),
    ],
)
def test_client_key_groups_an_ipv6_slash_64(remote, expected):
    assert ratelimit.client_key(_request(remote=remote)) == expected


def test_rate_limits_merge_per_scope_and_can_be_turned_off():
    assert rate_limit("api_key") == (60, MINUTE)
    assert rate_limit("nothing") is None
    with override_settings(SECURETOKENS={"RATE_LIMITS": {"other": (5, MINUTE)}}):
        assert rate_limit("api_key") == (60, MINUTE)
        assert rate_limit("other") == (5, MINUTE)
    with override_settings(SECURETOKENS={"RATE_LIMITS": {"api_key": None}}):
        assert rate_limit("api_key") is None


@pytest.mark.parametrize(
    "value", [(0, MINUTE), (5, timedelta(0)), (5, 60), "60/m", (True, MINUTE), (1, MINUTE, 2)]
)
def test_malformed_rate_limits_are_a_check_error(value):
    with override_settings(SECURETOKENS={"RATE_LIMITS": {"api_key": value}}):
        errors = [m for m in check_settings() if m.id == "securetokens.E013"]
    assert len(errors) == 1 and isinstance(errors[0], Error)
    assert "'api_key'" in errors[0].msg
