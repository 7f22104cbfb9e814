from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from django_securetokens.checks import check_settings

SHARED_CACHE = {
    "default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "cache"}
}
LOCMEM = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


def ids(**securetokens):
    with override_settings(SECURETOKENS=securetokens, CACHES=SHARED_CACHE):
        return [m.id for m in check_settings()]


def test_defaults_pass():
    assert ids() == []


def test_per_process_cache_warns_unless_debug():
    with override_settings(CACHES=LOCMEM, DEBUG=False):
        assert [m.id for m in check_settings()] == ["securetokens.W001"]
    with override_settings(CACHES=LOCMEM, DEBUG=True):
        assert [m.id for m in check_settings()] == []


@pytest.mark.parametrize(
    ("securetokens", "expected"),
    [
        ({"NOPE": 1}, "securetokens.E001"),
        ({"TOKEN_BYTES": 15}, "securetokens.E002"),
        ({"TOKEN_BYTES": "32"}, "securetokens.E002"),
        ({"TOKEN_BYTES": 129}, "securetokens.E002"),
        ({"PURPOSES": {"password_reset": {"TTTL": timedelta(hours=1)}}}, "securetokens.E001"),
        ({"RETENTION": -timedelta(days=1)}, "securetokens.E013"),
        ({"API_KEY_MAX_AGE": 365}, "securetokens.E013"),
        ({"API_KEY_LAST_USED_INTERVAL": None}, "securetokens.E013"),
        ({"BASE_URL": "example.com"}, "securetokens.E015"),
        ({"BASE_URL": "http://example.com"}, "securetokens.W003"),
        ({"CODE_DIGITS": 5}, "securetokens.E003"),
        ({"CODE_DIGITS": 11}, "securetokens.E003"),
        ({"PURPOSES": {"password_reset": {"TTL": timedelta(hours=25)}}}, "securetokens.E004"),
        (
            {"PURPOSES": {"password_reset": {"CODE_TTL": timedelta(minutes=11)}}},
            "securetokens.E004",
        ),
        ({"TTL": 3600}, "securetokens.E005"),
        ({"API_KEY_PREFIX": "Sk-Live"}, "securetokens.E006"),
        ({"CODE_MAX_ATTEMPTS": 11}, "securetokens.E007"),
        ({"CODE_MAX_ATTEMPTS": 0}, "securetokens.E007"),
        ({"CODE_MAX_FAILURES": 101}, "securetokens.E008"),
        ({"API_KEY_BODY_LENGTH": 31}, "securetokens.E009"),
        ({"HMAC_KEYS": ["short"]}, "securetokens.E010"),
        ({"HMAC_KEYS": []}, "securetokens.E010"),
        ({"CACHE": "missing"}, "securetokens.E011"),
        ({"PURPOSES": {"email_verification": {"TTL": timedelta(hours=48)}}}, "securetokens.W002"),
    ],
)
def test_each_check_id(securetokens, expected):
    assert expected in ids(**securetokens)


def test_securetokens_must_be_a_dict():
    with override_settings(SECURETOKENS=["BASE_URL"]):
        assert [m.id for m in check_settings()] == ["securetokens.E001"]


@pytest.mark.parametrize("hosts", [["*"], [".example.com"]])
def test_wildcard_hosts_need_a_base_url(hosts):
    with override_settings(SECURETOKENS={}, ALLOWED_HOSTS=hosts, CACHES=SHARED_CACHE):
        assert [m.id for m in check_settings()] == ["securetokens.E014"]
    with override_settings(
        SECURETOKENS={"BASE_URL": "https://example.com"}, ALLOWED_HOSTS=hosts, CACHES=SHARED_CACHE
    ):
        assert [m.id for m in check_settings()] == []


def test_dummy_cache_is_an_error():
    with override_settings(
        CACHES={"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    ):
        assert [m.id for m in check_settings()] == ["securetokens.E012"]


def test_checks_are_registered_with_the_check_framework():
    with (
        override_settings(SECURETOKENS={"TOKEN_BYTES": 8}),
        pytest.raises(SystemCheckError, match="securetokens.E002"),
    ):
        call_command("check", "--tag", "security")
