"""The registry of rate limits: one entry per limit, and every entry wired to its setting."""

from __future__ import annotations

import pytest
from django.test import override_settings

from django_securetokens import conf, limits

from .conftest import cache_entries

DOWN = {"default": {"BACKEND": "tests.faults.DownCache"}}


def test_every_entry_is_listed_once_with_its_own_scope_and_setting():
    assert len(limits.ALL) == 19
    assert len({limit.scope for limit in limits.ALL}) == len(limits.ALL)
    assert len({limit.setting for limit in limits.ALL}) == len(limits.ALL)


def test_the_registry_and_the_rate_settings_are_the_same_list():
    """A rate setting without an entry would be checked by nothing, and an entry without a
    default would crash on first use."""
    rate_settings = {name for name in conf.DEFAULTS if "_RATE_" in name}
    assert {limit.setting for limit in limits.ALL} == rate_settings


@pytest.mark.usefixtures("frozen_clock")
@pytest.mark.parametrize("limit", limits.ALL, ids=lambda limit: limit.scope)
def test_each_entry_counts_in_its_own_scope_by_its_own_setting(limit):
    other = limits.ALL[limits.ALL.index(limit) - 1]
    with override_settings(SECURETOKENS={limit.setting: ((2, 60),), other.setting: None}):
        assert limit.rates() == ((2, 60),)
        assert [limit.hit("k") for _ in range(3)] == [True, True, False]
        assert limit.exceeded("k") == 60
        assert other.hit("k") and other.exceeded("k") is None
    assert len(cache_entries()) == 1


@pytest.mark.parametrize("limit", limits.ALL, ids=lambda limit: limit.scope)
def test_each_entry_fails_open_or_closed_as_registered(limit):
    with override_settings(CACHES=DOWN, SECURETOKENS={limit.setting: ((2, 60), (5, 3600))}):
        assert limit.hit("k") is limit.fail_open
        assert limit.exceeded("k") == (None if limit.fail_open else 3600)


def test_only_the_mail_and_password_check_limits_fail_closed():
    """R-35 makes suppressed mail invisible, so every limit on verification mail (per
    address, requester and client, R-77) may fail closed, and a password check must never
    go unthrottled (R-79); anything else failing closed is an outage."""
    closed = {limit for limit in limits.ALL if not limit.fail_open}
    assert closed == {
        limits.PASSWORD_RESET_EMAIL,
        limits.VERIFICATION_MAIL,
        limits.LOGIN_EMAIL,
        limits.VERIFICATION_MAIL_REQUESTER,
        limits.VERIFICATION_MAIL_IP,
        limits.REAUTH_USER,
        limits.REAUTH_IP,
        limits.EMAIL_CHANGE_REAUTH_USER,
        limits.EMAIL_CHANGE_REAUTH_IP,
    }
