"""System checks of the flows' settings: PASSWORD_RESET_METHOD (E023), FRONTEND_URLS (E024,
E025)."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from django_securetokens.checks_frontends import check_flows


def ids(debug=False, **securetokens):
    with override_settings(DEBUG=debug, SECURETOKENS=securetokens):
        return [m.id for m in check_flows()]


def test_the_defaults_pass():
    assert ids() == []


@pytest.mark.parametrize("method", ["link", "code", "both"])
def test_every_method_passes(method):
    assert ids(PASSWORD_RESET_METHOD=method) == []


@pytest.mark.parametrize("method", ["Link", "", None, "email", ["code"]])
def test_a_bad_method(method):
    assert ids(PASSWORD_RESET_METHOD=method) == ["securetokens.E023"]


def test_frontend_urls_for_every_flow_pass():
    urls = {
        "password_reset": "https://app.example.com/reset/{token}",
        "email_verification": "https://app.example.com/verify?t={token}",
        "email_change": "https://app.example.com/#/email/{token}",
    }
    assert ids(FRONTEND_URLS=urls) == []


@pytest.mark.parametrize(
    "urls",
    [
        {"password_reset": "https://app.example.com/reset/"},  # no {token}
        {"password_reset": None},
        {"passwordreset": "https://app.example.com/{token}"},  # a typo of the flow
        {"api_key": "https://app.example.com/{token}"},
        "https://app.example.com/{token}",  # not a dict
    ],
)
def test_malformed_frontend_urls(urls):
    assert ids(FRONTEND_URLS=urls) == ["securetokens.E024"]


@pytest.mark.parametrize(
    "template", ["http://app.example.com/{token}", "//app.example.com/{token}", "/reset/{token}"]
)
def test_frontend_urls_need_https_outside_debug(template):
    assert ids(FRONTEND_URLS={"password_reset": template}) == ["securetokens.E025"]


def test_http_frontend_urls_are_allowed_while_debugging():
    urls = {"password_reset": "http://localhost:5173/reset/{token}"}
    assert ids(debug=True, FRONTEND_URLS=urls) == []
    assert ids(debug=True, FRONTEND_URLS={"password_reset": "/r/{token}"}) == ["securetokens.E025"]


def test_manage_py_check_reports_them():
    with (
        override_settings(SECURETOKENS={"PASSWORD_RESET_METHOD": "sms"}),
        pytest.raises(SystemCheckError, match="securetokens.E023"),
    ):
        call_command("check")
