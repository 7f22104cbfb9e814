"""System checks of the password-reset flow (securetokens.E016, E017, W004, W005)."""

from __future__ import annotations

import pytest
from django.test import override_settings

from django_securetokens.checks import check_password_reset


def ids(debug=False, **securetokens):
    with override_settings(DEBUG=debug, SECURETOKENS=securetokens):
        return [m.id for m in check_password_reset()]


def test_the_test_settings_pass():
    assert [m.id for m in check_password_reset()] == []


@pytest.mark.parametrize(
    "value",
    [(), [(1,)], [(0, 60)], [(1, -60)], [("1", 60)], [(True, 60)], "1/m", None, [(1, 60, 3)]],
)
@pytest.mark.parametrize(
    "name",
    [
        "PASSWORD_RESET_RATE_PER_EMAIL",
        "PASSWORD_RESET_RATE_PER_IP",
        "PASSWORD_RESET_CONFIRM_RATE_PER_IP",
        "PASSWORD_RESET_CODE_RATE_PER_IP",
        "EMAIL_VERIFICATION_RATE_PER_EMAIL",
        "EMAIL_VERIFICATION_CODE_RATE_PER_IP",
        "EMAIL_VERIFICATION_CONFIRM_RATE_PER_IP",
    ],
)
def test_malformed_rate_limits(name, value):
    assert ids(BASE_URL="https://example.com", **{name: value}) == ["securetokens.E016"]


def test_rate_limits_may_be_lists():
    assert (
        ids(BASE_URL="https://example.com", PASSWORD_RESET_RATE_PER_IP=[[10, 60], [100, 3600]])
        == []
    )


@pytest.mark.parametrize(
    "value", ["nowhere.nothing", "django_securetokens.conf.DEFAULTS", None, 3]
)
def test_email_sender_must_be_a_callable(value):
    assert ids(BASE_URL="https://example.com", EMAIL_SENDER=value) == ["securetokens.E017"]


def test_base_url_unset_in_production():
    assert ids() == ["securetokens.W004"]
    assert ids(debug=True) == []
