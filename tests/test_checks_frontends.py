"""System checks of the flows' settings (``checks_frontends.py``): the origin and sender of
their mail (E014, E015, E017, W003, W004), PASSWORD_RESET_METHOD (E023), FRONTEND_URLS (E024,
E025), personal API keys (E026), sign-in (E028, E029) and the user admin's action (W005)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from django_securetokens.admin_users import user_admin
from django_securetokens.checks_frontends import check_flows

BASE = {"BASE_URL": "https://example.com"}


def ids(debug=False, **securetokens):
    with override_settings(DEBUG=debug, SECURETOKENS={**BASE, **securetokens}):
        return [m.id for m in check_flows()]


def test_the_defaults_pass():
    assert ids() == []


def test_the_test_settings_pass():
    assert check_flows() == []


@pytest.mark.parametrize("securetokens", [["BASE_URL"], {"PURPOSES": {"password_reset": 1}}])
def test_a_malformed_securetokens_stops_them(securetokens):
    """check_settings reports it (E018, E020) once; nothing here can be read."""
    with override_settings(SECURETOKENS=securetokens):
        assert check_flows() == []


# --- the origin and sender of the mail ------------------------------------------------------


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [
        ("example.com", ["securetokens.E015"]),
        ("", ["securetokens.E015", "securetokens.W004"]),
        (3, ["securetokens.E015"]),
        ("http://example.com", ["securetokens.W003"]),
        (None, ["securetokens.W004"]),
    ],
)
def test_base_url(base_url, expected):
    assert ids(BASE_URL=base_url) == expected


def test_base_url_may_be_http_or_unset_while_debugging():
    assert ids(debug=True, BASE_URL="http://localhost:8000") == []
    assert ids(debug=True, BASE_URL=None) == []
    assert ids(debug=True, BASE_URL="localhost") == ["securetokens.E015"]


@pytest.mark.parametrize("hosts", [["*"], [".example.com"]])
def test_wildcard_hosts_need_a_base_url(hosts):
    with override_settings(ALLOWED_HOSTS=hosts):
        assert ids(BASE_URL=None) == ["securetokens.E014", "securetokens.W004"]
        assert ids() == []


@pytest.mark.parametrize(
    "value", ["nowhere.nothing", "django_securetokens.conf.DEFAULTS", None, 3]
)
def test_email_sender_must_be_a_callable(value):
    assert ids(EMAIL_SENDER=value) == ["securetokens.E017"]


# --- the reset method and links to a front end ----------------------------------------------


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
        "login": "https://app.example.com/login/{token}",
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


# --- personal API keys and sign-in ----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SELF_SERVICE_API_KEY_SCOPES", "orders:read"),
        ("SELF_SERVICE_API_KEY_SCOPES", ["has space"]),
        ("SELF_SERVICE_API_KEY_SCOPES", [1]),
        ("SELF_SERVICE_API_KEY_LIMIT", 0),
        ("SELF_SERVICE_API_KEY_LIMIT", 1001),
        ("SELF_SERVICE_API_KEY_LIMIT", True),
        ("SELF_SERVICE_REAUTH_AGE", 600),
        ("SELF_SERVICE_REAUTH_AGE", timedelta(0)),
        ("SELF_SERVICE_REAUTH_AGE", timedelta(days=2)),
    ],
)
def test_a_wrong_personal_key_setting(name, value):
    with override_settings(SECURETOKENS={**BASE, "SELF_SERVICE_API_KEYS": True, name: value}):
        [error] = check_flows()
    assert error.id == "securetokens.E026"
    assert error.msg.startswith(f"SECURETOKENS[{name!r}] must be ")


def test_personal_key_settings_within_range_pass():
    assert (
        ids(
            SELF_SERVICE_API_KEYS=True,
            SELF_SERVICE_API_KEY_SCOPES=["orders:read", "orders:write"],
            SELF_SERVICE_API_KEY_LIMIT=1000,
            SELF_SERVICE_REAUTH_AGE=timedelta(hours=24),
        )
        == []
    )


def test_personal_keys_need_sessions(settings):
    apps = [app for app in settings.INSTALLED_APPS if app != "django.contrib.sessions"]
    settings.INSTALLED_APPS = apps
    assert ids() == []  # the feature is off
    with override_settings(SECURETOKENS={**BASE, "SELF_SERVICE_API_KEYS": True}):
        [error] = check_flows()
    assert error.id == "securetokens.E026" and "django.contrib.sessions" in error.msg


def test_sign_in_needs_its_backend(settings):
    settings.AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
    assert ids(PASSWORDLESS_LOGIN=True) == ["securetokens.E028"]
    assert ids(PASSWORDLESS_LOGIN=False) == []
    settings.AUTHENTICATION_BACKENDS += ["django_securetokens.backends.LoginTokenBackend"]
    assert ids(PASSWORDLESS_LOGIN=True) == []


@pytest.mark.parametrize("value", ["nowhere.tokens", "django_securetokens.conf.DEFAULTS", 3])
def test_login_response_must_be_none_or_a_callable(value):
    assert ids(LOGIN_RESPONSE=value) == ["securetokens.E029"]
    assert ids(LOGIN_RESPONSE=None) == []


# --- the user admin's action ----------------------------------------------------------------


def test_a_user_admin_without_the_action_is_reported(monkeypatch):
    monkeypatch.setattr(user_admin(), "actions", [])

    assert ids() == ["securetokens.W005"]


def test_the_check_is_quiet_when_the_action_is_turned_off(monkeypatch):
    monkeypatch.setattr(user_admin(), "actions", [])

    assert ids(ADMIN_USER_ACTION=False) == []


def test_manage_py_check_reports_them():
    with (
        override_settings(SECURETOKENS={"PASSWORD_RESET_METHOD": "sms"}),
        pytest.raises(SystemCheckError, match="securetokens.E023"),
    ):
        call_command("check")
