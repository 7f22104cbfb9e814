"""conf.py: defaults, override_settings, PURPOSES merged per key, and the HMAC keys."""

from __future__ import annotations

from datetime import timedelta

from django.test import override_settings

from django_securetokens import conf, crypto


def test_defaults_follow_the_security_table():
    reset = conf.get_policy("password_reset")
    assert reset.ttl == timedelta(hours=1)
    assert reset.code_ttl == timedelta(minutes=10)
    assert reset.code_digits == 6
    assert reset.code_max_attempts == 5
    assert reset.code_max_failures == 20
    assert conf.get_policy("email_verification").ttl == timedelta(hours=24)
    assert conf.setting("TOKEN_BYTES") == 32


def test_override_settings_is_seen_and_purposes_merge_per_key():
    with override_settings(
        SECURETOKENS={
            "CODE_DIGITS": 8,
            "PURPOSES": {"password_reset": {"TTL": timedelta(minutes=5)}},
        }
    ):
        reset = conf.get_policy("password_reset")
        assert reset.ttl == timedelta(minutes=5)
        assert reset.code_ttl == timedelta(minutes=10)
        assert reset.code_digits == 8
        assert conf.get_policy("email_verification").ttl == timedelta(hours=24)
    assert conf.get_policy("password_reset").ttl == timedelta(hours=1)


def test_unknown_purposes_take_the_global_defaults():
    policy = conf.get_policy("invite")
    assert policy.ttl == timedelta(hours=1)


def test_keys_come_from_secret_key_and_fallbacks():
    with override_settings(SECRET_KEY="new" * 20, SECRET_KEY_FALLBACKS=["old" * 20]):
        keys = list(conf.hmac_keys("password_reset").values())
        assert keys == [
            crypto.derive_key("new" * 20, "password_reset"),
            crypto.derive_key("old" * 20, "password_reset"),
        ]
        assert conf.current_key("password_reset")[1] == keys[0]


def test_dedicated_hmac_keys_win_over_secret_key():
    with override_settings(SECURETOKENS={"HMAC_KEYS": ["k" * 40, "j" * 40]}):
        keys = list(conf.hmac_keys("api_key").values())
        assert keys[0] == crypto.derive_key("k" * 40, "api_key")
        assert len(keys) == 2
