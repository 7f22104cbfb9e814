"""URL tokens: issue, verify, consume, invalidation and purge."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
import time_machine
from asgiref.sync import async_to_sync
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.views.debug import ExceptionReporter

from django_securetokens import conf, crypto, signals
from django_securetokens.conf import current_key
from django_securetokens.exceptions import (
    ExpiredToken,
    InvalidToken,
    RevokedToken,
    TokenError,
    UsedToken,
)
from django_securetokens.models import SecureToken, State, TokenSlot

from .conftest import slot_of
from .factories import UserFactory

pytestmark = pytest.mark.django_db


def test_issue_returns_selector_plus_256_bit_verifier(user):
    token, secret = SecureToken.objects.issue(user, purpose="password_reset")
    assert re.fullmatch(r"[0-9a-f]{16}[A-Za-z0-9_-]{43}", secret)
    assert secret.startswith(token.selector)
    assert token.key_id == current_key("token.password_reset")[0]
    assert abs((token.expires_at - token.created_at) - timedelta(hours=1)) < timedelta(seconds=5)


def test_stored_digest_is_keyed_not_a_plain_hash(reset_token):
    """R-06, R-07: only a keyed digest is stored."""
    token, secret = reset_token
    stored = bytes(SecureToken.objects.get(pk=token.pk).digest)
    assert len(stored) == 32
    verifier = secret[16:]
    for plain in (secret, verifier):
        assert stored != hashlib.sha256(plain.encode()).digest()
        assert stored != hashlib.md5(plain.encode()).digest()  # noqa: S324


def test_verify_does_not_consume_and_consume_works_once(reset_token):
    """R-18, R-21: verify never consumes; consume once."""
    token, secret = reset_token
    assert SecureToken.objects.verify(secret, purpose="password_reset") == token
    assert SecureToken.objects.verify(secret, purpose="password_reset") == token
    assert SecureToken.objects.consume(secret, purpose="password_reset").used_at is not None
    with pytest.raises(UsedToken):
        SecureToken.objects.consume(secret, purpose="password_reset")
    with pytest.raises(UsedToken):
        SecureToken.objects.verify(secret, purpose="password_reset")


def test_purpose_is_bound(user):
    """R-04: purpose binding."""
    _, secret = SecureToken.objects.issue(user, purpose="password_reset")
    with pytest.raises(InvalidToken):
        SecureToken.objects.verify(secret, purpose="email_verification")


def test_digest_copied_into_another_purpose_row_does_not_verify(user):
    """R-04, R-60 (T-60)."""
    reset, reset_secret = SecureToken.objects.issue(user, purpose="password_reset")
    verify, _ = SecureToken.objects.issue(user, purpose="email_verification")
    SecureToken.objects.filter(pk=verify.pk).update(
        digest=reset.digest, key_id=reset.key_id, selector="f" * 16
    )
    forged = "f" * 16 + reset_secret[16:]
    with pytest.raises(InvalidToken):
        SecureToken.objects.verify(forged, purpose="email_verification")


def test_row_with_attacker_planted_sha256_does_not_verify(reset_token):
    """R-07 (T-07): a DB writer cannot mint tokens."""
    token, _ = reset_token
    mine = token.selector + crypto.new_verifier(32)
    SecureToken.objects.filter(pk=token.pk).update(digest=hashlib.sha256(mine.encode()).digest())
    with pytest.raises(InvalidToken):
        SecureToken.objects.verify(mine, purpose="password_reset")


def test_tampered_verifier_fails(reset_token):
    _, secret = reset_token
    tampered = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    with pytest.raises(InvalidToken):
        SecureToken.objects.verify(tampered, purpose="password_reset")


def test_null_digest_row_never_matches(reset_token):
    """R-72 (T-72)."""
    token, secret = reset_token
    SecureToken.objects.filter(pk=token.pk).update(digest=b"")
    with pytest.raises(InvalidToken):
        SecureToken.objects.verify(secret, purpose="password_reset")


def test_new_token_supersedes_the_old_one(user):
    """R-05: one live secret per (user, purpose)."""
    first, first_secret = SecureToken.objects.issue(user, purpose="password_reset")
    _, second_secret = SecureToken.objects.issue(user, purpose="password_reset")
    with pytest.raises(RevokedToken):
        SecureToken.objects.verify(first_secret, purpose="password_reset")
    SecureToken.objects.verify(second_secret, purpose="password_reset")
    first.refresh_from_db()
    assert first.state() == State.SUPERSEDED
    assert SecureToken.objects.live().filter(user=user, purpose="password_reset").count() == 1


def test_tokens_of_other_users_and_purposes_are_not_superseded(user):
    other = UserFactory()
    first, a = SecureToken.objects.issue(user, purpose="password_reset")
    SecureToken.objects.issue(other, purpose="password_reset")
    SecureToken.objects.issue(user, purpose="email_verification")
    assert SecureToken.objects.verify(a, purpose="password_reset").pk == first.pk
    assert SecureToken.objects.live().count() == 3


def test_expired_token_fails_and_time_comes_from_python(reset_token):
    """R-17, R-22."""
    token, secret = reset_token
    with time_machine.travel(token.expires_at - timedelta(seconds=1), tick=False):
        SecureToken.objects.verify(secret, purpose="password_reset")
    with time_machine.travel(token.expires_at + timedelta(seconds=1)):
        with pytest.raises(ExpiredToken):
            SecureToken.objects.verify(secret, purpose="password_reset")
        with pytest.raises(ExpiredToken):
            SecureToken.objects.consume(secret, purpose="password_reset")


def test_custom_ttl(user):
    token, _ = SecureToken.objects.issue(user, purpose="password_reset", ttl=timedelta(minutes=5))
    assert token.expires_at - token.created_at == timedelta(minutes=5)
    for bad in (timedelta(0), -timedelta(seconds=1), 300):
        with pytest.raises(ValueError):
            SecureToken.objects.issue(user, purpose="password_reset", ttl=bad)


def test_password_change_kills_tokens(reset_token, user):
    """R-26."""
    _, secret = reset_token
    user.set_password("a new one")
    user.save()
    with pytest.raises(RevokedToken):
        SecureToken.objects.verify(secret, purpose="password_reset")


def test_email_change_by_queryset_update_kills_tokens(reset_token, user):
    """R-26, by any path."""
    _, secret = reset_token
    type(user).objects.filter(pk=user.pk).update(**{user.get_email_field_name(): "n@example.com"})
    with pytest.raises(RevokedToken):
        SecureToken.objects.verify(secret, purpose="password_reset")


def test_deactivation_kills_tokens_and_reactivation_after_expiry_does_not_revive(
    reset_token, user
):
    """R-16, R-27."""
    token, secret = reset_token
    type(user).objects.filter(pk=user.pk).update(is_active=False)
    with pytest.raises(InvalidToken):
        SecureToken.objects.verify(secret, purpose="password_reset")
    type(user).objects.filter(pk=user.pk).update(is_active=True)
    with (
        time_machine.travel(token.expires_at + timedelta(seconds=1)),
        pytest.raises(ExpiredToken),
    ):
        SecureToken.objects.verify(secret, purpose="password_reset")


def test_deleting_the_user_deletes_tokens(reset_token, user):
    """R-27."""
    _, secret = reset_token
    user.delete()
    with pytest.raises(InvalidToken):
        SecureToken.objects.verify(secret, purpose="password_reset")


def test_revoke(reset_token):
    token, secret = reset_token
    assert token.revoke() is True
    assert token.revoke() is False
    with pytest.raises(RevokedToken):
        SecureToken.objects.verify(secret, purpose="password_reset")
    assert token.state() == State.REVOKED


def test_revoke_for_user(user):
    _, a = SecureToken.objects.issue(user, purpose="password_reset")
    _, code = SecureToken.objects.issue_code(user=user, purpose="password_reset")
    assert SecureToken.objects.revoke_for(user, "password_reset") == 2
    with pytest.raises(RevokedToken):
        SecureToken.objects.verify(a, purpose="password_reset")


def test_email_bound_link_for_address_without_account(db):
    token, secret = SecureToken.objects.issue(
        None, purpose="email_verification", email="New@Example.com"
    )
    assert token.user is None and token.email == "new@example.com"
    assert SecureToken.objects.consume(secret, purpose="email_verification") == token


def test_issue_needs_an_owner(db):
    with pytest.raises(TokenError):
        SecureToken.objects.issue(None, purpose="password_reset")
    with pytest.raises(TokenError):
        SecureToken.objects.issue(UserFactory.build(), purpose="password_reset")


def test_data_is_kept(user):
    token, secret = SecureToken.objects.issue(user, purpose="invite", data={"team": 7})
    assert SecureToken.objects.verify(secret, purpose="invite").data == {"team": 7}


def test_verify_is_one_query(reset_token):
    """R-13: lookup by selector, no plaintext and no LIKE in SQL."""
    _, secret = reset_token
    with CaptureQueriesContext(connection) as queries:
        SecureToken.objects.verify(secret, purpose="password_reset")
    assert len(queries) == 1
    sql = queries[0]["sql"]
    assert secret not in sql and secret[16:] not in sql
    assert "LIKE" not in sql.upper()


def test_malformed_token_issues_no_query(db):
    """R-70."""
    with CaptureQueriesContext(connection) as queries, pytest.raises(InvalidToken):
        SecureToken.objects.verify("x" * 59, purpose="password_reset")
    assert len(queries) == 0


def test_uppercased_and_padded_tokens_fail(user, reset_token):
    """R-11 (T-11)."""
    _, secret = reset_token
    while secret[:16].isdigit():  # about 1 in 1,850: an all-digit selector has no case to change
        _, secret = SecureToken.objects.issue(user, purpose="password_reset")
    for variant in (secret.upper(), secret + " ", " " + secret, secret[:16].upper() + secret[16:]):
        with pytest.raises(InvalidToken):
            SecureToken.objects.verify(variant, purpose="password_reset")


def test_signals(user):
    seen = []

    def record(signal_name):
        def receiver(sender, **kwargs):
            seen.append((signal_name, kwargs))

        return receiver

    handlers = {
        "issued": record("issued"),
        "consumed": record("consumed"),
        "rejected": record("rejected"),
    }
    signals.token_issued.connect(handlers["issued"])
    signals.token_consumed.connect(handlers["consumed"])
    signals.token_rejected.connect(handlers["rejected"])
    try:
        token, secret = SecureToken.objects.issue(user, purpose="password_reset")
        SecureToken.objects.consume(secret, purpose="password_reset")
        with pytest.raises(UsedToken):
            SecureToken.objects.consume(secret, purpose="password_reset")
    finally:
        signals.token_issued.disconnect(handlers["issued"])
        signals.token_consumed.disconnect(handlers["consumed"])
        signals.token_rejected.disconnect(handlers["rejected"])
    assert [name for name, _ in seen] == ["issued", "consumed", "rejected"]
    assert seen[2][1]["reason"] == "UsedToken"
    assert all(secret not in repr(kwargs) for _, kwargs in seen)


def test_secret_key_rotation_with_fallback(user):
    """R-61 (T-61)."""
    with override_settings(SECRET_KEY="a" * 50):
        _, old = SecureToken.objects.issue(user, purpose="password_reset")
    with override_settings(SECRET_KEY="b" * 50, SECRET_KEY_FALLBACKS=["a" * 50]):
        SecureToken.objects.verify(old, purpose="password_reset")
        token, new = SecureToken.objects.issue(UserFactory(), purpose="password_reset")
    with override_settings(SECRET_KEY="b" * 50, SECRET_KEY_FALLBACKS=[]):
        with pytest.raises(InvalidToken):
            SecureToken.objects.verify(old, purpose="password_reset")
        SecureToken.objects.verify(new, purpose="password_reset")


def test_dedicated_hmac_keys_survive_a_secret_key_rotation(user):
    """R-63 (T-63)."""
    keys = {"HMAC_KEYS": ["k" * 40]}
    with override_settings(SECRET_KEY="a" * 50, SECURETOKENS=keys):
        token, secret = SecureToken.objects.issue(user, purpose="password_reset")
    with override_settings(SECRET_KEY="c" * 50, SECURETOKENS=keys):
        assert SecureToken.objects.verify(secret, purpose="password_reset").pk == token.pk


def test_purge_deletes_only_stale_rows(user):
    """R-12."""
    now = timezone.now()
    live, _ = SecureToken.objects.issue(user, purpose="password_reset")
    old_used, _ = SecureToken.objects.issue(UserFactory(), purpose="password_reset")
    old_expired, _ = SecureToken.objects.issue(UserFactory(), purpose="password_reset")
    recent_used, _ = SecureToken.objects.issue(UserFactory(), purpose="password_reset")
    SecureToken.objects.filter(pk=old_used.pk).update(used_at=now - timedelta(days=8))
    SecureToken.objects.filter(pk=old_expired.pk).update(expires_at=now - timedelta(days=8))
    SecureToken.objects.filter(pk=recent_used.pk).update(used_at=now - timedelta(days=1))
    assert SecureToken.objects.purge(batch_size=1) == 2
    assert set(SecureToken.objects.values_list("pk", flat=True)) == {live.pk, recent_used.pk}


def test_slot_row_per_owner_and_purpose(user):
    SecureToken.objects.issue(user, purpose="password_reset")
    SecureToken.objects.issue(user, purpose="password_reset")
    SecureToken.objects.issue_code(user=user, purpose="password_reset")
    SecureToken.objects.issue(user, purpose="email_verification")
    assert TokenSlot.objects.count() == 2
    assert slot_of(user, "password_reset").failures == 0


def test_str_never_contains_the_secret(reset_token):
    token, secret = reset_token
    assert secret[16:] not in str(token)


def test_async_twins(user):
    async_to_sync(_async_twins)(user)


async def _async_twins(user):
    token, secret = await SecureToken.objects.aissue(user, purpose="password_reset")
    assert await SecureToken.objects.averify(secret, purpose="password_reset") == token
    assert (await SecureToken.objects.aconsume(secret, purpose="password_reset")).used_at
    with pytest.raises(UsedToken):
        await SecureToken.objects.aconsume(secret, purpose="password_reset")
    _, code = await SecureToken.objects.aissue_code(user=user, purpose="email_verification")
    await SecureToken.objects.aconsume_code(code, purpose="email_verification", user=user)
    assert await SecureToken.objects.apurge() == 0


def test_each_state_is_the_same_rule_in_sql_and_in_python(user):
    """The querysets and SecureToken.state() agree on every token, at any moment."""
    used, secret = SecureToken.objects.issue(user, purpose="password_reset")
    SecureToken.objects.consume(secret, purpose="password_reset")
    superseded, _ = SecureToken.objects.issue_code(user=user, purpose="email_verification")
    live, _ = SecureToken.objects.issue_code(user=user, purpose="email_verification")
    revoked, _ = SecureToken.objects.issue(user, purpose="email_change", email="n@example.com")
    revoked.revoke()
    expired, _ = SecureToken.objects.issue(user, purpose="invite", ttl=timedelta(minutes=1))
    expected = {
        State.USED: used,
        State.SUPERSEDED: superseded,
        State.LIVE: live,
        State.REVOKED: revoked,
        State.EXPIRED: expired,
    }
    later = timezone.now() + timedelta(minutes=2)
    for state in State:
        rows = list(SecureToken.objects.in_state(state, later))
        assert rows == [expected[state]], state
        assert [row.state(later) for row in rows] == [state]
    now_live = {t.pk for t in SecureToken.objects.in_state(State.LIVE)}
    assert now_live == {live.pk, expired.pk} == {t.pk for t in SecureToken.objects.live()}


def test_async_use(reset_token):
    _, secret = reset_token
    token = SecureToken.objects.verify(secret, purpose="password_reset")
    assert async_to_sync(SecureToken.objects.ause)(token).used_at is not None
    with pytest.raises(TokenError):
        SecureToken.objects.verify(secret, purpose="password_reset")


def test_a_token_whose_digest_key_was_retired_is_refused(reset_token):
    token, secret = reset_token
    verified = SecureToken.objects.verify(secret, purpose="password_reset")
    SecureToken.objects.filter(pk=token.pk).update(key_id="retired")
    verified.key_id = "retired"
    with pytest.raises(InvalidToken):
        SecureToken.objects.use(verified)


def test_revoke_for_every_purpose(user):
    SecureToken.objects.issue(user, purpose="password_reset")
    SecureToken.objects.issue_code(user=user, purpose="email_verification")
    assert SecureToken.objects.revoke_for(user) == 2
    assert not SecureToken.objects.all().live().exists()


def report_leaks(raised, request) -> tuple[int, int]:
    """(secrets held by the traceback's frames, how many of them the HTML report shows).

    A helper, so that the test's own frame (part of the traceback) holds no secret itself.
    """
    held = []
    tb = raised.tb
    while tb:
        value = tb.tb_frame.f_locals.get("secret")
        if isinstance(value, str) and len(value) == 59:
            held.append(value)
        tb = tb.tb_next
    html = ExceptionReporter(request, raised.type, raised.value, raised.tb).get_traceback_html()
    return len(held), sum(s in html or s[16:] in html for s in held)


def test_secret_never_reaches_an_error_report(rf, user):
    """R-06, R-65: a failing receiver must not expose the new secret in the HTML report."""

    def boom(sender, **kwargs):
        raise RuntimeError("receiver failed")

    signals.token_issued.connect(boom)
    try:
        with pytest.raises(RuntimeError) as raised:
            SecureToken.objects.issue(user, purpose="password_reset")
    finally:
        signals.token_issued.disconnect(boom)
    held, shown = report_leaks(raised, rf.get("/"))
    assert held >= 1, "the secret must be in a frame for this test to prove anything"
    assert shown == 0


def test_use_rechecks_the_user(user):
    """R-16, R-27: between the link's GET and the POST the user was deactivated."""
    token, secret = SecureToken.objects.issue(user, purpose="password_reset")
    SecureToken.objects.verify(secret, purpose="password_reset")
    type(user).objects.filter(pk=user.pk).update(is_active=False)
    with pytest.raises(InvalidToken):
        SecureToken.objects.use(SecureToken.objects.select_related("user").get(pk=token.pk))


def test_use_rechecks_the_password(user):
    token, secret = SecureToken.objects.issue(user, purpose="password_reset")
    SecureToken.objects.verify(secret, purpose="password_reset")
    user.set_password("changed meanwhile")
    user.save()
    with pytest.raises(RevokedToken):
        SecureToken.objects.use(SecureToken.objects.get(pk=token.pk))


@pytest.mark.parametrize("field", ["email", "user"])
def test_link_rows_cannot_be_redirected_by_editing_them(user, field):
    """R-07: write access to the table must not retarget a token to another owner."""
    victim = UserFactory()
    if field == "email":
        token, secret = SecureToken.objects.issue(
            None, purpose="email_verification", email="me@x.io"
        )
        SecureToken.objects.filter(pk=token.pk).update(email="ceo@victim.test")
        purpose = "email_verification"
    else:
        token, secret = SecureToken.objects.issue(user, purpose="password_reset")
        victim_row, _ = SecureToken.objects.issue(victim, purpose="password_reset")
        SecureToken.objects.filter(pk=token.pk).update(
            user=victim, user_state=victim_row.user_state
        )
        purpose = "password_reset"
    with pytest.raises(InvalidToken):
        SecureToken.objects.verify(secret, purpose=purpose)


def test_revoke_for_refuses_none(reset_token):
    SecureToken.objects.issue(None, purpose="email_verification", email="a@x.io")
    with pytest.raises(TokenError):
        SecureToken.objects.revoke_for(None)
    assert SecureToken.objects.live().count() == 2


@pytest.mark.parametrize(
    ("purpose", "ttl", "kind"),
    [
        ("password_reset", timedelta(days=30), "link"),
        ("password_reset", timedelta(minutes=11), "code"),
        ("email_verification", timedelta(hours=25), "link"),
    ],
)
def test_per_call_ttl_cannot_exceed_the_ceiling(user, purpose, ttl, kind):
    """R-22, R-24."""
    with pytest.raises(ValueError):
        if kind == "link":
            SecureToken.objects.issue(user, purpose=purpose, ttl=ttl)
        else:
            SecureToken.objects.issue_code(user=user, purpose=purpose, ttl=ttl)


def test_negative_retention_never_purges_live_rows(reset_token):
    with override_settings(SECURETOKENS={"RETENTION": -timedelta(days=30)}):
        SecureToken.objects.purge()
    assert SecureToken.objects.live().count() == 1


def test_purge_drops_empty_slots_but_keeps_counting_ones(user):
    _, code = SecureToken.objects.issue_code(user=user, purpose="email_verification")
    with pytest.raises(InvalidToken):
        SecureToken.objects.verify_code(
            "000000" if code != "000000" else "111111", purpose="email_verification", user=user
        )
    SecureToken.objects.issue(UserFactory(), purpose="password_reset")
    SecureToken.objects.all().update(
        expires_at=SecureToken.objects.first().created_at - timedelta(days=30)
    )
    SecureToken.objects.purge()
    assert SecureToken.objects.count() == 0
    assert list(TokenSlot.objects.all()) == [slot_of(user, "email_verification")]


def test_token_purpose_api_key_has_its_own_key(user):
    """R-60: the SecureToken purpose 'api_key' does not share APIKey's HMAC key."""
    from django_securetokens.token_engine import token_keys

    assert token_keys("api_key") != conf.hmac_keys(conf.API_KEY_PURPOSE)


def _sent(queries):
    """The verbs of *queries* but transaction control, which the test's own transaction turns
    into savepoints, and which only SQLite sends through a cursor."""
    verbs = [q["sql"].split(" ", 1)[0] for q in queries]
    return [verb for verb in verbs if verb not in ("BEGIN", "SAVEPOINT", "RELEASE")]


def test_consume_sends_three_statements_and_no_transaction_of_its_own(user):
    _, secret = SecureToken.objects.issue(user, purpose="password_reset")
    with CaptureQueriesContext(connection) as queries:
        SecureToken.objects.consume(secret, purpose="password_reset")
    assert [q["sql"] for q in queries if q["sql"].startswith(("BEGIN", "SAVEPOINT"))] == []
    assert _sent(queries) == ["SELECT", "UPDATE", "UPDATE"]


def test_issue_locks_supersedes_and_inserts_in_one_transaction(user):
    SecureToken.objects.issue(user, purpose="password_reset")
    with CaptureQueriesContext(connection) as queries:
        SecureToken.objects.issue(user, purpose="password_reset")
    assert _sent(queries) == ["SELECT", "UPDATE", "INSERT"]


@pytest.mark.parametrize("kind", ["link", "code"])
def test_lookups_fall_back_to_the_orm_without_a_compiled_plan(user, kind, monkeypatch):
    from django_securetokens import codes, tokens

    lookup = tokens._BY_SELECTOR if kind == "link" else codes._BY_OWNER
    monkeypatch.setattr(lookup, "plan", lambda manager, connection: None)
    if kind == "link":
        token, secret = SecureToken.objects.issue(user, purpose="password_reset")
        found = SecureToken.objects.verify(secret, purpose="password_reset")
    else:
        token, code = SecureToken.objects.issue_code(user=user, purpose="email_verification")
        found = SecureToken.objects.verify_code(code, purpose="email_verification", user=user)
    assert found == token and found.user == user


def test_verify_runs_the_sql_compiled_for_its_connection(user):
    from django.db import connections

    from django_securetokens import tokens

    _, secret = SecureToken.objects.issue(user, purpose="password_reset")
    with CaptureQueriesContext(connection) as queries:
        SecureToken.objects.verify(secret, purpose="password_reset").user.get_username()
    plan = tokens._BY_SELECTOR.plan(SecureToken.objects, connections["default"])
    assert plan is not None and "ORDER BY" not in plan.sql
    assert len(queries) == 1
    assert queries[0]["sql"].split(" WHERE ")[0] == plan.sql.split(" WHERE ")[0]


def test_updates_fall_back_to_the_orm_without_a_compiled_plan(user, monkeypatch):
    from django_securetokens import lookup

    monkeypatch.setattr(lookup.Update, "plan", lambda self, manager, connection: None)
    first, _ = SecureToken.objects.issue(user, purpose="password_reset")
    token, secret = SecureToken.objects.issue(user, purpose="password_reset")
    assert SecureToken.objects.get(pk=first.pk).state() == State.SUPERSEDED
    code_token, code = SecureToken.objects.issue_code(user=user, purpose="email_verification")
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    with pytest.raises(InvalidToken):
        SecureToken.objects.verify_code(wrong, purpose="email_verification", user=user)
    assert SecureToken.objects.get(pk=code_token.pk).attempts == 1
    assert slot_of(user, "email_verification").failures == 1
    SecureToken.objects.consume_code(code, purpose="email_verification", user=user)
    assert slot_of(user, "email_verification").failures == 0
    assert SecureToken.objects.consume(secret, purpose="password_reset").pk == token.pk
    with pytest.raises(UsedToken):
        SecureToken.objects.consume(secret, purpose="password_reset")


def test_every_conditional_update_compiles_on_this_database(user):
    """The fast path must engage on every backend CI runs, not only fall back."""
    from django.db import connections

    from django_securetokens import codes, token_engine

    SecureToken.objects.issue(user, purpose="password_reset")
    wrapper = connections["default"]
    for update, manager in [
        (token_engine.SUPERSEDE, SecureToken.objects),
        (token_engine.MARK_USED, SecureToken.objects),
        (codes._COUNT_ATTEMPT, SecureToken.objects),
        (token_engine.RESET_FAILURES, TokenSlot.objects),
        (codes._COUNT_FAILURE, TokenSlot.objects),
    ]:
        plan = update.plan(manager, wrapper)
        assert plan is not None and plan.sql.startswith("UPDATE")
        assert all(positions for _, _, positions in plan.slots)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="plans name placeholders on SQLite")
@pytest.mark.parametrize(
    "sql",
    [
        "SELECT %s AS \"50%%\", '%%s'",  # "%" as the ORM escapes it
        'SELECT %s AS "100%"',  # quoted names are not escaped
        'SELECT %s AS "%(p0)s"',
    ],
)
def test_named_placeholders_send_sqlite_what_the_positional_ones_do(sql):
    """lookup.named(): a compiled statement reaches SQLite as Django's own "%s" path sends
    it, whatever "%" signs it holds; else the plan keeps positional placeholders."""
    from django_securetokens.lookup import bind, named

    statement, params, names = named(sql, ["x"], connection)
    with connection.cursor() as cursor:
        cursor.execute(sql, ["x"])
        expected = cursor.fetchone(), [column[0] for column in cursor.description]
        cursor.execute(statement, bind(names, params))
        assert (cursor.fetchone(), [column[0] for column in cursor.description]) == expected


@pytest.mark.skipif(connection.vendor != "sqlite", reason="plans name placeholders on SQLite")
def test_plans_name_their_placeholders_on_sqlite(user):
    from django.db import connections

    from django_securetokens import codes, tokens

    for lookup in (tokens._BY_SELECTOR, codes._BY_OWNER):
        plan = lookup.plan(SecureToken.objects, connections["default"])
        assert plan is not None and plan.names is not None
        assert "%s" not in plan.sql.replace("%%", "")
    assert codes._COUNT_ATTEMPT.plan(SecureToken.objects, connections["default"]).names


def test_a_statement_whose_placeholders_and_params_differ_keeps_its_own(db):
    """lookup.named() names nothing it cannot pair with a parameter: the ORM's own path."""
    from django_securetokens.lookup import named

    assert named("SELECT %s, %s", ["x"], connection) == ("SELECT %s, %s", ["x"], None)
