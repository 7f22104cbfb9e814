"""API keys: issue, authenticate, last_used_at, rotation, revocation, re-hashing."""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import timedelta

import pytest
import time_machine
from asgiref.sync import async_to_sync
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from django_securetokens import api_keys, crypto, signals
from django_securetokens.conf import API_KEY_PURPOSE, current_key
from django_securetokens.exceptions import ExpiredToken, InvalidToken, RevokedToken, TokenError
from django_securetokens.models import APIKey, State

pytestmark = pytest.mark.django_db

KEY_RE = re.compile(r"sk_live_[0-9A-Za-z]{43}[0-9A-Za-z]{6}")


def _flip(secret, index):
    """*secret* with the character at *index* changed to another base62 character."""
    char = secret[index]
    other = "0" if char != "0" else "1"
    return secret[:index] + other + secret[index + 1 :]


def _fresh(api_key):
    return APIKey.objects.get(pk=api_key.pk)


# --- issuing ----------------------------------------------------------------------------------


def test_issue_format_checksum_and_selector(api_key):
    key, secret = api_key
    assert KEY_RE.fullmatch(secret)
    body, checksum = secret[8:51], secret[51:]
    assert crypto.api_key_checksum(body) == checksum
    assert key.prefix == "sk_live" and key.selector == body[:12]
    assert key.key_id == current_key(API_KEY_PURPOSE)[0]


def test_many_keys_are_unique_and_match_the_documented_scanner_pattern(user):
    secrets = [APIKey.objects.issue(name=f"k{i}", user=user)[1] for i in range(200)]
    assert len(set(secrets)) == 200
    pattern = re.compile(crypto.api_key_pattern("sk_live", 43))
    assert all(pattern.fullmatch(s) for s in secrets)
    # Without the prefix, base62 strings of the same length never match.
    assert not any(pattern.search(s[8:]) for s in secrets)


def test_stored_digest_is_keyed_and_no_secret_is_stored(api_key):
    key, secret = api_key
    row = _fresh(key)
    stored = bytes(row.digest)
    assert len(stored) == 32
    for plain in (secret, secret[8:], secret[20:51]):
        assert stored != hashlib.sha256(plain.encode()).digest()
    for field in APIKey._meta.concrete_fields:
        value = getattr(row, field.attname)
        if isinstance(value, str):
            assert secret[20:51] not in value


def test_expiry_defaults_to_configured_maximum_and_never_is_explicit(user):
    key, _ = APIKey.objects.issue(name="default", user=user)
    assert abs(key.expires_at - (timezone.now() + timedelta(days=365))) < timedelta(seconds=5)
    never, _ = APIKey.objects.issue(name="never", user=user, never_expires=True)
    assert never.expires_at is None
    when = timezone.now() + timedelta(days=3)
    chosen, _ = APIKey.objects.issue(name="chosen", user=user, expires_at=when)
    assert chosen.expires_at == when


@pytest.mark.parametrize("scope", ["", "a b", 'say"hi', "back\\slash", "é", "x" * 65, None, 7])
def test_issue_refuses_what_cannot_name_a_scope(user, scope):
    """One rule for scope names, the engine's: the admin, the command and the checks use it."""
    with pytest.raises(ValueError, match="scope"):
        APIKey.objects.issue("ci", user, scopes=["read", scope])
    assert not APIKey.objects.exists()


def test_issue_refuses_scopes_given_as_one_string(user):
    with pytest.raises(ValueError, match="scope"):
        APIKey.objects.issue("ci", user, scopes="read")


def test_issue_accepts_every_rfc_6750_scope_token_character(user):
    scope = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in '"\\')[:64]
    api_key, _ = APIKey.objects.issue("ci", user, scopes=[scope, "orders:read"])
    assert api_key.scopes == [scope, "orders:read"]


def test_issue_sends_signal_without_secret(user):
    seen = []

    def receiver(sender, **kwargs):
        seen.append(kwargs)

    signals.api_key_issued.connect(receiver)
    try:
        key, secret = APIKey.objects.issue(name="ci", user=user, scopes=["orders:read"])
    finally:
        signals.api_key_issued.disconnect(receiver)
    assert [kw["api_key"] for kw in seen] == [key]
    assert secret not in repr(seen)
    assert key.scopes == ["orders:read"] and key.has_scopes("orders:read")
    assert not key.has_scopes("orders:read", "orders:write")


# --- authenticate -----------------------------------------------------------------------------


def test_authenticate_returns_the_key_with_its_user_in_one_query(api_key, user):
    key, secret = api_key
    APIKey.objects.authenticate(secret)  # the first use writes last_used_at
    with CaptureQueriesContext(connection) as queries:
        found = APIKey.objects.authenticate(secret)
        assert found.user.username == user.username
    assert len(queries) == 1
    assert found == key and found.user == user
    assert found.scopes == [] and found.expires_at == key.expires_at
    assert found._state.adding is False and found._state.db == "default"
    assert "selector" in queries[0]["sql"] and key.selector in queries[0]["sql"]
    assert secret[20:51] not in queries[0]["sql"]


def test_authenticate_matches_the_orm_field_by_field(user):
    key, secret = APIKey.objects.issue(name="x", user=user, scopes=["a", "b"])
    fast = APIKey.objects.authenticate(secret)
    orm = APIKey.objects.select_related("user").get(pk=key.pk)
    for field in APIKey._meta.concrete_fields:
        assert getattr(fast, field.attname) == getattr(orm, field.attname), field.name
    for field in type(user)._meta.concrete_fields:
        assert getattr(fast.user, field.attname) == getattr(orm.user, field.attname), field.name


def test_key_without_owner(db):
    _, secret = APIKey.objects.issue(name="service", never_expires=True)
    APIKey.objects.authenticate(secret)
    with CaptureQueriesContext(connection) as queries:
        found = APIKey.objects.authenticate(secret)
        assert found.user is None
    assert len(queries) == 1


def test_orm_fallback_when_no_compiled_plan(api_key, monkeypatch):
    key, secret = api_key
    monkeypatch.setattr(api_keys._BY_SELECTOR, "plan", lambda manager, connection: None)
    found = APIKey.objects.authenticate(secret)
    assert found == key and found.user == key.user


@pytest.mark.parametrize(
    "bad",
    [
        None,
        b"sk_live_x",
        12345,
        "",
        "sk_live_",
        "x" * 10_000_000,
        "sk_live_" + "é" * 49,
        "sk_live_" + "\0" * 49,
        "sk_live_" + "\udc80" * 49,
        "SK_LIVE_" + "a" * 49,
        "sk_test_" + "a" * 49,
    ],
)
def test_malformed_keys_are_refused_without_any_query(bad):
    with CaptureQueriesContext(connection) as queries, pytest.raises(InvalidToken):
        APIKey.objects.authenticate(bad)
    assert len(queries) == 0


def test_flipped_checksum_or_body_character_is_refused_without_query(api_key):
    _, secret = api_key
    for index in (len(secret) - 1, 8, 30):
        with CaptureQueriesContext(connection) as queries, pytest.raises(InvalidToken):
            APIKey.objects.authenticate(_flip(secret, index))
        assert len(queries) == 0


def test_well_formed_unknown_key_costs_one_query(api_key):
    key, secret = api_key
    _, _, other = crypto.new_api_key("sk_live", 43)
    # Same selector, different verifier: the row is found, the digest does not match.
    body = key.selector + other[20:51]
    forged = f"sk_live_{body}{crypto.api_key_checksum(body)}"
    for candidate in (other, forged):
        with CaptureQueriesContext(connection) as queries, pytest.raises(InvalidToken):
            APIKey.objects.authenticate(candidate)
        assert len(queries) == 1


def test_revoked_key_is_refused_at_once(api_key):
    key, secret = api_key
    assert key.revoke() is True
    assert key.state() == State.REVOKED
    with pytest.raises(RevokedToken):
        APIKey.objects.authenticate(secret)
    assert key.revoke() is False


def test_expired_key_is_refused(user):
    key, secret = APIKey.objects.issue(
        name="short", user=user, expires_at=timezone.now() + timedelta(minutes=5)
    )
    with time_machine.travel(key.expires_at - timedelta(seconds=1), tick=False):
        assert APIKey.objects.authenticate(secret) == key
    with time_machine.travel(key.expires_at + timedelta(seconds=1)):
        assert key.state() == State.EXPIRED
        with pytest.raises(ExpiredToken):
            APIKey.objects.authenticate(secret)


def test_inactive_or_deleted_owner_kills_the_key(api_key, user):
    _, secret = api_key
    type(user).objects.filter(pk=user.pk).update(is_active=False)
    with pytest.raises(InvalidToken):
        APIKey.objects.authenticate(secret)
    type(user).objects.filter(pk=user.pk).update(is_active=True)
    assert APIKey.objects.authenticate(secret)
    user.delete()
    with pytest.raises(InvalidToken):
        APIKey.objects.authenticate(secret)


def test_rejections_send_a_signal_and_log_no_secret(api_key, caplog):
    key, secret = api_key
    reasons = []

    def receiver(sender, reason, purpose, token, **kwargs):
        reasons.append((reason, purpose, token))

    signals.token_rejected.connect(receiver)
    key.revoke()
    try:
        with caplog.at_level(logging.DEBUG, logger="django_securetokens"):
            for bad in (secret, _flip(secret, 56), "junk"):
                with pytest.raises(TokenError):
                    APIKey.objects.authenticate(bad)
    finally:
        signals.token_rejected.disconnect(receiver)
    assert reasons == [
        ("RevokedToken", "api_key", key),
        ("InvalidToken", "api_key", None),
        ("InvalidToken", "api_key", None),
    ]
    assert "Rejected API key" in caplog.text and key.selector in caplog.text
    assert secret[20:] not in caplog.text
    assert [r.levelno for r in caplog.records][0] == logging.INFO


def test_aauthenticate(api_key):
    key, secret = api_key
    assert async_to_sync(APIKey.objects.aauthenticate)(secret) == key
    with pytest.raises(InvalidToken):
        async_to_sync(APIKey.objects.aauthenticate)("nope")


# --- last_used_at -----------------------------------------------------------------------------


def test_last_used_at_is_written_at_most_once_a_minute(api_key):
    key, secret = api_key
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        with CaptureQueriesContext(connection) as queries:
            APIKey.objects.authenticate(secret)
        assert len(queries) == 2 and queries[1]["sql"].startswith("UPDATE")
        assert _fresh(key).last_used_at == start
    with time_machine.travel(start + timedelta(seconds=59), tick=False):
        with CaptureQueriesContext(connection) as queries:
            assert APIKey.objects.authenticate(secret).last_used_at == start
        assert len(queries) == 1
    later = start + timedelta(seconds=61)
    with time_machine.travel(later, tick=False):
        with CaptureQueriesContext(connection) as queries:
            assert APIKey.objects.authenticate(secret).last_used_at == later
        assert len(queries) == 2
    assert _fresh(key).last_used_at == later


@override_settings(SECURETOKENS={"API_KEY_LAST_USED_INTERVAL": timedelta(hours=1)})
def test_last_used_interval_is_configurable(api_key):
    key, secret = api_key
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        APIKey.objects.authenticate(secret)
    with time_machine.travel(start + timedelta(minutes=59), tick=False):
        APIKey.objects.authenticate(secret)
    assert _fresh(key).last_used_at == start


# --- rotation ---------------------------------------------------------------------------------


def test_rotate_without_grace_replaces_the_secret_at_once(user):
    key, old = APIKey.objects.issue(name="ci", user=user, scopes=["orders:read"])
    rotated, new = APIKey.objects.rotate(key)
    assert new != old and KEY_RE.fullmatch(new)
    assert new[8:20] == old[8:20]  # same selector: same row, same key id in the admin
    with pytest.raises(InvalidToken):
        APIKey.objects.authenticate(old)
    found = APIKey.objects.authenticate(new)
    assert (found.pk, found.name, found.user, found.scopes) == (
        key.pk,
        "ci",
        user,
        ["orders:read"],
    )


def test_rotate_with_grace_keeps_the_old_secret_working_until_the_window_ends(api_key):
    key, old = api_key
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        _, new = APIKey.objects.rotate(key, grace=timedelta(hours=1))
    with time_machine.travel(start + timedelta(minutes=59), tick=False):
        assert APIKey.objects.authenticate(old) == key
        assert APIKey.objects.authenticate(new) == key
    with time_machine.travel(start + timedelta(minutes=61), tick=False):
        with pytest.raises(InvalidToken):
            APIKey.objects.authenticate(old)
        assert APIKey.objects.authenticate(new) == key


def test_revoking_a_rotated_key_kills_both_secrets(api_key):
    key, old = api_key
    _, new = APIKey.objects.rotate(key, grace=timedelta(hours=1))
    key.revoke()
    for secret in (old, new):
        with pytest.raises(RevokedToken):
            APIKey.objects.authenticate(secret)


@pytest.mark.parametrize("stale", [False, True], ids=["fresh", "stale-instance"])
def test_a_revoked_key_cannot_be_rotated(api_key, stale):
    key, old = api_key
    if stale:  # revoked elsewhere (the admin, another process) after this instance was read
        APIKey.objects.get(pk=key.pk).revoke()
    else:
        key.revoke()
    digest = APIKey.objects.get(pk=key.pk).digest
    with pytest.raises(RevokedToken):
        APIKey.objects.rotate(key, grace=timedelta(hours=1))
    row = APIKey.objects.get(pk=key.pk)
    assert (row.digest, row.previous_digest) == (digest, None)
    with pytest.raises(RevokedToken):
        APIKey.objects.authenticate(old)


# --- key versions -----------------------------------------------------------------------------


def test_use_through_a_fallback_key_rehashes_under_the_current_key(api_key, settings):
    key, secret = api_key
    old_id = key.key_id
    with override_settings(
        SECRET_KEY="a-brand-new-secret-key-for-this-test-0123456789-abcdefghijklmnop",
        SECRET_KEY_FALLBACKS=[settings.SECRET_KEY],
    ):
        assert list(APIKey.objects.on_old_keys()) == [key]
        found = APIKey.objects.authenticate(secret)
        assert found.key_id != old_id and found.key_id == current_key(API_KEY_PURPOSE)[0]
        assert _fresh(key).key_id == found.key_id
        assert list(APIKey.objects.on_old_keys()) == []
    with override_settings(
        SECRET_KEY="a-brand-new-secret-key-for-this-test-0123456789-abcdefghijklmnop",
        SECRET_KEY_FALLBACKS=[],
    ):
        assert APIKey.objects.authenticate(secret) == key  # survives dropping the fallback


def test_without_the_fallback_old_keys_fail(api_key):
    _, secret = api_key
    with (
        override_settings(SECRET_KEY="another-secret-key-entirely-0123456789-abcdefghijklmnopq"),
        pytest.raises(InvalidToken),
    ):
        APIKey.objects.authenticate(secret)


def test_dedicated_hmac_keys_survive_a_secret_key_change(user):
    keys = {"HMAC_KEYS": ["k" * 40]}
    with override_settings(SECURETOKENS=keys):
        key, secret = APIKey.objects.issue(name="ci", user=user)
    with override_settings(SECURETOKENS=keys, SECRET_KEY="x" * 60):
        assert APIKey.objects.authenticate(secret) == key


# --- leaked keys ------------------------------------------------------------------------------


def test_revoke_secret(api_key):
    key, secret = api_key
    assert APIKey.objects.revoke_secret(secret) == key
    assert _fresh(key).revoked_at is not None
    assert APIKey.objects.revoke_secret(secret) == key  # idempotent
    with pytest.raises(InvalidToken):
        APIKey.objects.revoke_secret(_flip(secret, 30))
    with pytest.raises(InvalidToken):
        APIKey.objects.revoke_secret(crypto.new_api_key("sk_live", 43)[2])


def test_each_key_state_is_the_same_rule_in_sql_and_in_python(user):
    now = timezone.now()
    live, _ = APIKey.objects.issue(name="live", user=user, never_expires=True)
    expiring, _ = APIKey.objects.issue(name="expiring", user=user, expires_at=now + timedelta(1))
    revoked, _ = APIKey.objects.issue(name="revoked", user=user)
    revoked.revoke()
    later = now + timedelta(days=2)
    expected = {State.LIVE: {live}, State.EXPIRED: {expiring}, State.REVOKED: {revoked}}
    for state, keys in expected.items():
        rows = set(APIKey.objects.in_state(state, later))
        assert rows == keys and {key.state(later) for key in rows} == {state}
    assert set(APIKey.objects.live()) == {live, expiring}


def test_async_api_key_twins(user):
    key, secret = async_to_sync(APIKey.objects.aissue)(name="ci", user=user)
    assert async_to_sync(APIKey.objects.aauthenticate)(secret).pk == key.pk
    assert async_to_sync(APIKey.objects.arevoke)(key) is True
    with pytest.raises(TokenError):
        APIKey.objects.authenticate(secret)


def test_rotation_is_not_undone_by_an_in_flight_rehash():
    """R-62: a re-hash computed from the old secret must not overwrite a rotation."""
    with override_settings(SECRET_KEY="a" * 50):
        key, leaked = APIKey.objects.issue(name="k")
    with override_settings(SECRET_KEY="b" * 50, SECRET_KEY_FALLBACKS=["a" * 50]):
        stale = APIKey.objects.get(pk=key.pk)  # what an in-flight request loaded
        selector, verifier = leaked.split("_")[-1][:12], leaked.split("_")[-1][12:-6]
        _, fresh = APIKey.objects.rotate(APIKey.objects.get(pk=key.pk))
        APIKey.objects._after_use(
            stale, selector, verifier, stale.key_id, stale.created_at, "default"
        )
        APIKey.objects.authenticate(fresh)
        with pytest.raises(TokenError):
            APIKey.objects.authenticate(leaked)
