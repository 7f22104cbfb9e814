"""System checks (``checks.py``): one id per problem, each raised by the misconfiguration it
names, and the rate limits checked are exactly the registry's. The ids of every check module
are held here to the settings reference; ``test_checks_frontends.py`` tests the flows' own."""

from __future__ import annotations

import re
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from django_securetokens import limits
from django_securetokens.checks import (
    _POLICY_RULES,
    _SETTING_RULES,
    check_databases,
    check_settings,
)
from django_securetokens.checks_frontends import _RULES as FRONTEND_RULES
from django_securetokens.checks_frontends import check_base_template, check_flows

# A cache every process shares, so neither W001 (per process) nor W006 (unreachable) fires.
SHARED_CACHE = {
    "default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": tempfile.mkdtemp(prefix="securetokens-checks-"),
    }
}
LOCMEM = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
DUMMY = "django.core.cache.backends.dummy.DummyCache"
DOWN = "tests.faults.DownCache"


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
        ({"PURPOSES": {"password_reset": {"TTTL": timedelta(hours=1)}}}, "securetokens.E019"),
        ({"PURPOSES": ["password_reset"]}, "securetokens.E020"),
        ({"PURPOSES": {"password_reset": None}}, "securetokens.E020"),
        ({"RETENTION": -timedelta(days=1)}, "securetokens.E013"),
        ({"API_KEY_MAX_AGE": 365}, "securetokens.E013"),
        ({"API_KEY_LAST_USED_INTERVAL": None}, "securetokens.E013"),
        ({"CODE_DIGITS": 5}, "securetokens.E003"),
        ({"CODE_DIGITS": 11}, "securetokens.E003"),
        ({"PURPOSES": {"password_reset": {"TTL": timedelta(hours=25)}}}, "securetokens.E004"),
        (
            {"PURPOSES": {"password_reset": {"CODE_TTL": timedelta(minutes=11)}}},
            "securetokens.E004",
        ),
        ({"TTL": 3600}, "securetokens.E005"),
        ({"PURPOSES": {"invoice": {"CODE_TTL": timedelta(0)}}}, "securetokens.E005"),
        ({"API_KEY_PREFIX": "Sk-Live"}, "securetokens.E006"),
        ({"CODE_MAX_ATTEMPTS": 11}, "securetokens.E007"),
        ({"CODE_MAX_ATTEMPTS": 0}, "securetokens.E007"),
        ({"CODE_MAX_FAILURES": 101}, "securetokens.E008"),
        ({"API_KEY_BODY_LENGTH": 31}, "securetokens.E009"),
        ({"HMAC_KEYS": ["short"]}, "securetokens.E010"),
        ({"HMAC_KEYS": []}, "securetokens.E010"),
        ({"CACHE": "missing"}, "securetokens.E011"),
        ({"CACHE": ["default"]}, "securetokens.E011"),
        ({"TRUSTED_PROXY_COUNT": -1}, "securetokens.E022"),
        ({"TRUSTED_PROXY_COUNT": "1"}, "securetokens.E022"),
        ({"PURPOSES": {"email_verification": {"TTL": timedelta(hours=48)}}}, "securetokens.W002"),
    ],
)
def test_each_check_id(securetokens, expected):
    assert ids(**securetokens) == [expected]


def test_purpose_rules_without_ttls_need_no_ttl_check():
    assert ids(PURPOSES={"invoice": {"CODE_DIGITS": 8}}) == []


def test_securetokens_must_be_a_dict():
    with override_settings(SECURETOKENS=["BASE_URL"]):
        assert [m.id for m in check_settings()] == ["securetokens.E018"]


def test_secrets_are_never_quoted_in_a_check_message():
    secret = "s3cret-but-too-short"
    with override_settings(SECURETOKENS={"HMAC_KEYS": [secret]}, CACHES=SHARED_CACHE):
        [message] = check_settings()
    assert secret not in message.msg


def test_dummy_cache_is_an_error():
    with override_settings(
        CACHES={"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    ):
        assert [m.id for m in check_settings()] == ["securetokens.E012"]


@pytest.mark.parametrize(
    ("backend", "missing"),
    [
        ("django.core.cache.backends.redis.RedisCache", "redis"),
        ("django.core.cache.backends.memcached.PyMemcacheCache", "pymemcache"),
        ("nowhere.Cache", None),
    ],
)
def test_a_cache_whose_backend_or_client_does_not_import_is_an_error(
    backend, missing, monkeypatch
):
    """Without its client library Redis answers every limit with an ImportError, so the
    per-address limits fail closed and no reset mail is ever sent (issue 18)."""
    if missing:
        monkeypatch.setitem(sys.modules, missing, None)
    with override_settings(CACHES={"default": {"BACKEND": backend, "LOCATION": "x:1"}}):
        messages = check_settings()
    assert [m.id for m in messages] == ["securetokens.E021"]
    assert backend in messages[0].msg


def test_a_cache_that_does_not_answer_is_a_warning():
    """Optional: the cache may start after the web process, and the limits fail safe."""
    with override_settings(CACHES={"default": {"BACKEND": "tests.faults.DownCache"}}):
        messages = check_settings()
    assert [m.id for m in messages] == ["securetokens.W006"]
    assert "ConnectionError" in messages[0].msg and "6379" not in messages[0].msg


def test_checks_are_registered_with_the_check_framework():
    with (
        override_settings(SECURETOKENS={"TOKEN_BYTES": 8}),
        pytest.raises(SystemCheckError, match="securetokens.E002"),
    ):
        call_command("check", "--tag", "security")


# --- the rate limits: exactly the registry's ---------------------------------------------


def test_the_checked_rate_limits_are_the_registry_s():
    """Malforming each setting the registry names is caught, and nothing else is a rate."""
    malformed = {limit.setting: ids(**{limit.setting: "1/m"}) for limit in limits.ALL}
    caught = {name for name, raised in malformed.items() if raised == ["securetokens.E016"]}
    assert caught == {limit.setting for limit in limits.ALL}
    assert "API_KEY_FAILURE_RATE_PER_IP" in caught  # the one a hand-kept copy once missed


@pytest.mark.parametrize(
    "value",
    [(), [(1,)], [(0, 60)], [(1, -60)], [("1", 60)], [(True, 60)], "1/m", None, [(1, 60, 3)]],
)
@pytest.mark.parametrize("limit", limits.ALL, ids=lambda limit: limit.setting)
def test_malformed_rate_limits(limit, value):
    assert ids(**{limit.setting: value}) == ["securetokens.E016"]


@pytest.mark.parametrize("value", [((60, 60),), [[5, 60], [50, 3600]]])
@pytest.mark.parametrize("limit", limits.ALL, ids=lambda limit: limit.setting)
def test_rate_limits_may_be_lists_or_tuples(limit, value):
    assert ids(**{limit.setting: value}) == []


# --- every id docs/reference/settings.rst cites is the id its misconfiguration raises -------

SETTINGS_RST = Path(__file__).resolve().parent.parent / "docs" / "reference" / "settings.rst"

# (setting, SECURETOKENS, other Django settings, the id expected). Each case sets one thing
# wrong; everything else is valid for production, so the id must be the only one raised.
_PRODUCTION = {"DEBUG": False, "ALLOWED_HOSTS": ["example.com"], "CACHES": SHARED_CACHE}
_BASE = {"BASE_URL": "https://example.com"}
MISCONFIGURATIONS = [
    ("SECURETOKENS", {**_BASE, "NOPE": 1}, {}, "securetokens.E001"),
    ("SECURETOKENS", ["BASE_URL"], {}, "securetokens.E018"),
    ("BASE_URL", {}, {"ALLOWED_HOSTS": ["*"]}, "securetokens.E014"),
    ("BASE_URL", {"BASE_URL": "example.com"}, {}, "securetokens.E015"),
    ("BASE_URL", {"BASE_URL": "http://example.com"}, {}, "securetokens.W003"),
    ("BASE_URL", {}, {}, "securetokens.W004"),
    ("HMAC_KEYS", {**_BASE, "HMAC_KEYS": []}, {}, "securetokens.E010"),
    ("TOKEN_BYTES", {**_BASE, "TOKEN_BYTES": 8}, {}, "securetokens.E002"),
    ("TTL", {**_BASE, "TTL": 60}, {}, "securetokens.E005"),
    ("CODE_TTL", {**_BASE, "CODE_TTL": timedelta(0)}, {}, "securetokens.E005"),
    ("CODE_DIGITS", {**_BASE, "CODE_DIGITS": 4}, {}, "securetokens.E003"),
    ("CODE_MAX_ATTEMPTS", {**_BASE, "CODE_MAX_ATTEMPTS": 0}, {}, "securetokens.E007"),
    ("CODE_MAX_FAILURES", {**_BASE, "CODE_MAX_FAILURES": 0}, {}, "securetokens.E008"),
    (
        "PURPOSES",
        {**_BASE, "PURPOSES": {"password_reset": {"CODE_TTL": timedelta(hours=1)}}},
        {},
        "securetokens.E004",
    ),
    (
        "PURPOSES",
        {**_BASE, "PURPOSES": {"email_verification": {"TTL": timedelta(days=2)}}},
        {},
        "securetokens.W002",
    ),
    ("PURPOSES", {**_BASE, "PURPOSES": {"invoice": {"TTTL": 1}}}, {}, "securetokens.E019"),
    ("PURPOSES", {**_BASE, "PURPOSES": {"invoice": 1}}, {}, "securetokens.E020"),
    ("RETENTION", {**_BASE, "RETENTION": -timedelta(days=1)}, {}, "securetokens.E013"),
    ("API_KEY_PREFIX", {**_BASE, "API_KEY_PREFIX": "SK"}, {}, "securetokens.E006"),
    ("API_KEY_BODY_LENGTH", {**_BASE, "API_KEY_BODY_LENGTH": 16}, {}, "securetokens.E009"),
    ("API_KEY_MAX_AGE", {**_BASE, "API_KEY_MAX_AGE": 365}, {}, "securetokens.E013"),
    (
        "API_KEY_LAST_USED_INTERVAL",
        {**_BASE, "API_KEY_LAST_USED_INTERVAL": None},
        {},
        "securetokens.E013",
    ),
    *(
        (limit.setting, {**_BASE, limit.setting: "5/m"}, {}, "securetokens.E016")
        for limit in limits.ALL
    ),
    ("TRUSTED_PROXY_COUNT", {**_BASE, "TRUSTED_PROXY_COUNT": "1"}, {}, "securetokens.E022"),
    ("CACHE", {**_BASE, "CACHE": "nope"}, {}, "securetokens.E011"),
    ("CACHE", _BASE, {"CACHES": {"default": {"BACKEND": DUMMY}}}, "securetokens.E012"),
    ("CACHE", _BASE, {"CACHES": LOCMEM}, "securetokens.W001"),
    ("CACHE", _BASE, {"CACHES": {"default": {"BACKEND": "nowhere.Cache"}}}, "securetokens.E021"),
    ("CACHE", _BASE, {"CACHES": {"default": {"BACKEND": DOWN}}}, "securetokens.W006"),
    ("EMAIL_SENDER", {**_BASE, "EMAIL_SENDER": "nowhere.send"}, {}, "securetokens.E017"),
    ("ADMIN_USER_ACTION", _BASE, {}, "securetokens.W005"),  # with the action removed
    (
        "SELF_SERVICE_API_KEY_SCOPES",
        {**_BASE, "SELF_SERVICE_API_KEY_SCOPES": ["has space"]},
        {},
        "securetokens.E026",
    ),
    (
        "SELF_SERVICE_API_KEY_LIMIT",
        {**_BASE, "SELF_SERVICE_API_KEY_LIMIT": 0},
        {},
        "securetokens.E026",
    ),
    (
        "SELF_SERVICE_REAUTH_AGE",
        {**_BASE, "SELF_SERVICE_REAUTH_AGE": 600},
        {},
        "securetokens.E026",
    ),
    ("BASE_TEMPLATE", {**_BASE, "BASE_TEMPLATE": "missing.html"}, {}, "securetokens.E027"),
    ("PASSWORD_RESET_METHOD", {**_BASE, "PASSWORD_RESET_METHOD": "sms"}, {}, "securetokens.E023"),
    (
        "FRONTEND_URLS",
        {**_BASE, "FRONTEND_URLS": {"password_reset": "x"}},
        {},
        "securetokens.E024",
    ),
    (
        "FRONTEND_URLS",
        {**_BASE, "FRONTEND_URLS": {"password_reset": "http://app.test/{token}"}},
        {},
        "securetokens.E025",
    ),
    ("PASSWORDLESS_LOGIN", {**_BASE, "PASSWORDLESS_LOGIN": True}, {}, "securetokens.E028"),
    ("LOGIN_RESPONSE", {**_BASE, "LOGIN_RESPONSE": "nowhere.tokens"}, {}, "securetokens.E029"),
]


def _documented_ids() -> dict[str, set[str]]:
    """The check ids each setting's entry in settings.rst cites, by setting: the entry is the
    ``NAME`` — default line and its indented body; SECURETOKENS is its section's prose."""
    text = SETTINGS_RST.read_text()
    cited: dict[str, set[str]] = {}
    intro = text.split("``SECURETOKENS``\n---", 1)[1].split("~~~", 1)[0]
    cited["SECURETOKENS"] = set(re.findall(r"securetokens\.[EW]\d{3}", intro))
    for name, body in re.findall(r"^``(\w+)`` — default.*\n((?:(?:   .*)?\n)+)", text, re.M):
        cited[name] = set(re.findall(r"securetokens\.[EW]\d{3}", body))
    return cited


def _raised(name, securetokens, django_settings, monkeypatch) -> list[str]:
    if name == "ADMIN_USER_ACTION":
        from django_securetokens.admin_users import user_admin

        monkeypatch.setattr(user_admin(), "actions", [])
    with override_settings(SECURETOKENS=securetokens, **{**_PRODUCTION, **django_settings}):
        return [
            m.id
            for m in (
                *check_settings(),
                *check_flows(),
                *check_base_template(),
            )
        ]


@pytest.mark.parametrize(
    ("name", "securetokens", "django_settings", "expected"),
    MISCONFIGURATIONS,
    ids=[f"{case[0]}-{case[3]}" for case in MISCONFIGURATIONS],
)
def test_the_id_a_misconfiguration_raises_is_the_id_its_setting_cites(
    name, securetokens, django_settings, expected, monkeypatch
):
    """Only the setting's own ids: an unset BASE_URL beside wildcard hosts is both E014 and
    W004, and its entry cites both."""
    raised = _raised(name, securetokens, django_settings, monkeypatch)
    assert expected in raised
    assert set(raised) <= _documented_ids()[name]


def test_every_id_settings_rst_cites_is_raised_by_a_misconfiguration_of_that_setting():
    """So a cited id that no longer matches (E013 for a rate limit, say) fails here."""
    covered: dict[str, set[str]] = {}
    for name, _, _, expected in MISCONFIGURATIONS:
        covered.setdefault(name, set()).add(expected)
    cited = {name: ids for name, ids in _documented_ids().items() if ids}
    assert cited == covered


def test_every_setting_a_check_rule_covers_has_a_documented_misconfiguration():
    ruled = {
        name for rule in (*_SETTING_RULES, *FRONTEND_RULES, *_POLICY_RULES) for name in rule.names
    }
    assert ruled <= {name for name, *_ in MISCONFIGURATIONS}


@pytest.mark.parametrize(
    ("routers", "expected"),
    [
        ([], []),
        (["tests.routers.PrimaryReplicaRouter"], []),
        (["tests.routers.TokensElsewhereRouter"], ["securetokens.E030"]),
    ],
)
def test_routers_that_write_the_app_away_from_the_user_model_are_an_error(routers, expected):
    with override_settings(DATABASE_ROUTERS=routers):
        messages = check_databases()
    assert [m.id for m in messages] == expected
    if messages:
        assert "django_securetokens.SecureToken" in messages[0].msg
        assert "django_securetokens.TokenSlot" in messages[0].msg
        assert "auth.User ('default')" in messages[0].msg
