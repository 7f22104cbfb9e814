"""Regression tests for the engine's first security review: each one failed before its fix."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import DisallowedHost
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.views.debug import ExceptionReporter

from django_securetokens import conf, signals
from django_securetokens.emails import site_origin
from django_securetokens.exceptions import InvalidToken, RevokedToken, TokenError
from django_securetokens.models import APIKey, SecureToken, TokenSlot

from .conftest import slot_of
from .factories import UserFactory

pytestmark = pytest.mark.django_db


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


def test_code_for_one_address_never_proves_a_lookalike(db):
    """R-04: MySQL's default collation equates jose@ and JOSÉ@; the engine must not."""
    _, code = SecureToken.objects.issue_code(purpose="email_verification", email="jose@x.io")
    SecureToken.objects.issue_code(purpose="email_verification", email="josé@x.io")
    with pytest.raises(InvalidToken):
        SecureToken.objects.verify_code(code, purpose="email_verification", email="JOSÉ@x.io")
    # ...and issuing for the lookalike did not supersede the original.
    SecureToken.objects.consume_code(code, purpose="email_verification", email="jose@x.io")


def test_user_and_email_code_checks_the_address_exactly(user):
    _, code = SecureToken.objects.issue_code(user=user, purpose="email_change", email="new@x.io")
    with pytest.raises(InvalidToken):
        SecureToken.objects.verify_code(code, purpose="email_change", user=user, email="NEW@x.ío")
    SecureToken.objects.consume_code(code, purpose="email_change", user=user, email="New@x.io")


@pytest.mark.parametrize("email", ["İ" * 200 + "@example.com", "a" * 255])
def test_addresses_that_grow_when_lowercased_are_refused(email):
    """R-70: lower-casing 'İ' doubles its length; the cap is checked after it."""
    with pytest.raises(TokenError):
        SecureToken.objects.issue_code(purpose="email_verification", email=email)


@pytest.mark.parametrize("bad_user", [object(), "alice", 1, Group(name="g")])
def test_wrong_user_types_are_token_errors(bad_user):
    with pytest.raises(TokenError):
        SecureToken.objects.verify_code("123456", purpose="email_verification", user=bad_user)
    with pytest.raises(TokenError):
        SecureToken.objects.issue(bad_user, purpose="password_reset")


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


def test_correct_code_resets_the_failure_count(user):
    """R-33: a success resets the count, even before the token is used."""
    _, code = SecureToken.objects.issue_code(user=user, purpose="email_verification")
    SecureToken.objects.verify_code(code, purpose="email_verification", user=user)
    assert slot_of(user, "email_verification").failures == 0


def test_not_found_and_found_code_paths_run_the_same_statements(user):
    """R-14: the number of statements must not tell whether a code is pending."""
    other = UserFactory()
    SecureToken.objects.issue(other, purpose="email_verification")  # a slot, no code
    _, code = SecureToken.objects.issue_code(user=user, purpose="email_verification")
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    counts = []
    for who in (user, other):
        with CaptureQueriesContext(connection) as queries, pytest.raises(TokenError):
            SecureToken.objects.verify_code(wrong, purpose="email_verification", user=who)
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_rotation_is_not_undone_by_an_in_flight_rehash():
    """R-62: a re-hash computed from the old secret must not overwrite a rotation."""
    with override_settings(SECRET_KEY="a" * 50):
        key, leaked = APIKey.objects.issue(name="k")
    with override_settings(SECRET_KEY="b" * 50, SECRET_KEY_FALLBACKS=["a" * 50]):
        stale = APIKey.objects.get(pk=key.pk)  # what an in-flight request loaded
        selector, verifier = leaked.split("_")[-1][:12], leaked.split("_")[-1][12:-6]
        _, fresh = APIKey.objects.rotate(APIKey.objects.get(pk=key.pk))
        APIKey.objects._after_use(stale, selector, verifier, stale.key_id, stale.created_at)
        APIKey.objects.authenticate(fresh)
        with pytest.raises(TokenError):
            APIKey.objects.authenticate(leaked)


def test_link_origin_ignores_wildcard_hosts(rf):
    """R-45: with ALLOWED_HOSTS = ['*'] the Host header must not become the link."""
    request = rf.get("/", HTTP_HOST="attacker.example")
    with override_settings(SECURETOKENS={}, ALLOWED_HOSTS=["*"]), pytest.raises(DisallowedHost):
        site_origin(request)
    with override_settings(SECURETOKENS={}, ALLOWED_HOSTS=["*", "shop.example"]):
        assert site_origin(rf.get("/", HTTP_HOST="shop.example")) == "https://shop.example"


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
