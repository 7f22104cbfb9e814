from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from django_securetokens.checks import check_settings


def ids(**securetokens):
    with override_settings(SECURETOKENS=securetokens):
        return [m.id for m in check_settings()]


def test_defaults_pass():
    assert ids() == ["securetokens.W001"]  # the test settings use LocMemCache with DEBUG off


def test_locmem_is_fine_in_debug():
    with override_settings(DEBUG=True):
        assert [m.id for m in check_settings()] == []


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"NOPE": 1}, "securetokens.E001"),
        ({"TOKEN_BYTES": 15}, "securetokens.E002"),
        ({"TOKEN_BYTES": "32"}, "securetokens.E002"),
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
def test_each_check_id(settings, expected):
    assert expected in ids(**settings)


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
