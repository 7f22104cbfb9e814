"""Rate-limit counters and the client address they count by (R-37…R-40)."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
import time_machine
from django.core.cache import caches
from django.test import RequestFactory, override_settings

from django_securetokens import ratelimit

from .conftest import cache_entries

MINUTE = ((3, 60),)


@pytest.mark.usefixtures("frozen_clock")
def test_hit_allows_up_to_the_limit_then_refuses():
    assert [ratelimit.hit("t", "k", MINUTE) for _ in range(5)] == [True] * 3 + [False] * 2
    assert ratelimit.hit("t", "other", MINUTE) is True
    assert ratelimit.hit("u", "k", MINUTE) is True  # scopes are separate


@pytest.mark.usefixtures("frozen_clock")
def test_windows_of_different_length_count_apart():
    assert ratelimit.hit("a", "k", ((1, 60),))
    assert ratelimit.hit("a", "k", ((1, 3600),))
    assert not ratelimit.hit("a", "k", ((1, 60),))


@pytest.mark.usefixtures("frozen_clock")
def test_every_window_counts_even_after_a_refusal():
    rates = ((1, 60), (3, 3600))
    assert ratelimit.hit("both", "k", rates)
    assert not ratelimit.hit("both", "k", rates)  # the minute is full; the hour counts 2
    assert ratelimit.hit("both", "k", ((100, 60), (3, 3600)))  # the hour's 3rd
    assert not ratelimit.hit("both", "k", ((100, 60), (3, 3600)))


def test_no_rates_means_no_limit():
    assert all(ratelimit.hit("off", "k", None) for _ in range(100))
    assert ratelimit.exceeded("off", "k", None) is None


@pytest.mark.usefixtures("frozen_clock")
def test_exceeded_peeks_without_counting_and_names_the_longest_full_window():
    rates = ((2, 60), (2, 3600))
    for _ in range(2):
        assert ratelimit.exceeded("t", "k", rates) is None
        ratelimit.hit("t", "k", rates)
    assert ratelimit.exceeded("t", "k", rates) == 3600
    assert ratelimit.exceeded("t", "other", rates) is None


@pytest.mark.usefixtures("frozen_clock")
def test_refund_takes_back_one_event_in_every_window():
    rates = ((2, 60), (3, 3600))
    ratelimit.hit("r", "k", rates)
    ratelimit.hit("r", "k", rates)
    assert ratelimit.exceeded("r", "k", rates) == 60
    ratelimit.refund("r", "k", rates)
    assert ratelimit.exceeded("r", "k", rates) is None
    assert ratelimit.hit("r", "k", rates)  # the minute's 2nd, the hour's 3rd
    assert not ratelimit.hit("r", "k", rates)


def test_refund_without_a_counter_rates_or_cache_changes_nothing(settings):
    ratelimit.refund("r", "never counted", MINUTE)  # as when the window ended meanwhile
    assert ratelimit.exceeded("r", "never counted", MINUTE) is None
    ratelimit.refund("off", "k", None)
    settings.CACHES = {alias: {"BACKEND": "tests.faults.DownCache"} for alias in settings.CACHES}
    ratelimit.refund("r", "k", MINUTE, fail_open=True)


@pytest.mark.parametrize(("fail_open", "expected"), [(True, None), (False, 3600)])
def test_a_cache_outage_fails_open_or_closed_as_asked(settings, fail_open, expected):
    settings.CACHES = {alias: {"BACKEND": "tests.faults.DownCache"} for alias in settings.CACHES}
    rates = ((2, 60), (2, 3600))
    assert ratelimit.exceeded("t", "k", rates, fail_open=fail_open) == expected
    assert ratelimit.hit("t", "k", ((2, 60),), fail_open=fail_open) is (expected is None)


def test_an_unclassified_scope_fails_closed(settings):
    """A limit nobody classified must not silently vanish."""
    settings.CACHES = {alias: {"BACKEND": "tests.faults.DownCache"} for alias in settings.CACHES}
    assert ratelimit.exceeded("unlisted", "k", ((2, 60), (2, 3600))) == 3600
    assert ratelimit.hit("unlisted", "k", ((2, 60),)) is False


def test_failing_closed_is_an_error_once_per_cause_until_the_cache_answers(
    settings, caplog, monkeypatch
):
    """Closed limits suppress mail, so the first failure is loud; repeats stay warnings."""
    monkeypatch.setattr(ratelimit, "_reported", set())
    caches_up = settings.CACHES
    caplog.set_level(logging.WARNING, logger="django_securetokens")
    settings.CACHES = {alias: {"BACKEND": "tests.faults.DownCache"} for alias in caches_up}
    for _ in range(3):
        ratelimit.hit("mail", "k", MINUTE)
        ratelimit.exceeded("mail", "k", MINUTE)
        ratelimit.hit("ip", "k", MINUTE, fail_open=True)
    levels = [(r.args[0], r.levelname) for r in caplog.records]
    assert levels.count(("mail", "ERROR")) == 1
    assert levels.count(("mail", "WARNING")) == 5
    assert levels.count(("ip", "WARNING")) == 3 and ("ip", "ERROR") not in levels

    caplog.clear()
    settings.CACHES = caches_up
    assert ratelimit.hit("mail", "k", MINUTE)  # the cache answers: the next outage is news
    settings.CACHES = {alias: {"BACKEND": "tests.faults.DownCache"} for alias in caches_up}
    ratelimit.hit("mail", "k", MINUTE)
    assert [(r.args[0], r.levelname) for r in caplog.records] == [("mail", "ERROR")]


def test_windows_end():
    with time_machine.travel("2030-01-01 00:00:00", tick=False) as traveller:
        assert ratelimit.hit("t", "k", ((1, 60),))
        assert not ratelimit.hit("t", "k", ((1, 60),))
        traveller.shift(timedelta(seconds=61))
        assert ratelimit.hit("t", "k", ((1, 60),))


def test_an_entry_vanishing_between_add_and_incr_starts_a_fresh_window(monkeypatch):
    backend = caches["default"]  # the instance itself: the proxy is per-thread
    monkeypatch.setattr(backend, "add", lambda *args, **kwargs: False)

    def incr(*args, **kwargs):
        raise ValueError("gone")

    monkeypatch.setattr(backend, "incr", incr)
    assert ratelimit.hit("t", "k", ((1, 60),)) is True


@pytest.mark.usefixtures("frozen_clock")
@pytest.mark.parametrize("key", ["someone@example.com", "203.0.113.9", "\udc80bad", "é" * 300])
def test_cache_keys_never_hold_what_is_counted(key):
    ratelimit.hit("scope", key, MINUTE)
    stored = [stored_key for stored_key, _ in cache_entries()]
    assert len(stored) == 1
    assert key not in stored[0] and "example" not in stored[0]


def _request(remote="198.51.100.7", forwarded=None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


def test_client_ip_ignores_x_forwarded_for_by_default():
    """R-39 (T-39)."""
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
