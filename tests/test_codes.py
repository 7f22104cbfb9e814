"""Numeric codes: issue_code / verify_code / consume_code, attempts and the failure cap."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from asgiref.sync import async_to_sync
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from django_securetokens.conf import get_policy
from django_securetokens.exceptions import (
    ExpiredToken,
    InvalidToken,
    RevokedToken,
    TokenError,
    TooManyAttempts,
    UsedToken,
)
from django_securetokens.models import SecureToken, TokenSlot

from .conftest import failure_report, slot_of
from .factories import UserFactory

pytestmark = pytest.mark.django_db

P = "email_verification"


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10 ** len(code):0{len(code)}d}"


def failures(user) -> int:
    return slot_of(user, P).failures


def test_code_is_six_zero_padded_digits_and_lives_ten_minutes(user):
    """R-03, R-08, R-24."""
    token, code = SecureToken.objects.issue_code(user=user, purpose=P)
    assert re.fullmatch(r"[0-9]{6}", code)
    assert token.expires_at - token.created_at == timedelta(minutes=10)
    assert token.salt is not None and len(token.salt) == 16


def test_salts_differ_between_rows(user):
    """R-08."""
    a, _ = SecureToken.objects.issue_code(user=user, purpose=P)
    b, _ = SecureToken.objects.issue_code(user=UserFactory(), purpose=P)
    assert a.salt != b.salt


def test_consume_code_once(code_token, user):
    token, code = code_token
    assert SecureToken.objects.consume_code(code, purpose=P, user=user) == token
    with pytest.raises(InvalidToken):  # no live code left for this owner
        SecureToken.objects.consume_code(code, purpose=P, user=user)


@pytest.mark.parametrize("fmt", ["{} {}", "{}-{}", " {} - {} "])
def test_spaces_and_hyphens_are_dropped(user, fmt):
    token, code = SecureToken.objects.issue_code(user=user, purpose=P)
    used = SecureToken.objects.consume_code(fmt.format(code[:3], code[3:]), purpose=P, user=user)
    assert used.pk == token.pk and used.used_at is not None


def test_unicode_digits_are_refused_and_counted(user):
    """R-34, R-76."""
    _, code = SecureToken.objects.issue_code(user=user, purpose=P)
    arabic = code.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    fullwidth = code.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    for bad in (arabic, fullwidth, code[:5] + fullwidth[5]):
        with pytest.raises(InvalidToken):
            SecureToken.objects.verify_code(bad, purpose=P, user=user)
    assert SecureToken.objects.get(purpose=P, user=user).attempts == 3
    SecureToken.objects.consume_code(code, purpose=P, user=user)


def test_code_dies_after_max_attempts(user):
    """R-32."""
    _, code = SecureToken.objects.issue_code(user=user, purpose=P)
    for _ in range(5):
        with pytest.raises(InvalidToken):
            SecureToken.objects.verify_code(wrong(code), purpose=P, user=user)
    with pytest.raises(TooManyAttempts):
        SecureToken.objects.consume_code(code, purpose=P, user=user)


@override_settings(SECURETOKENS={"CODE_MAX_ATTEMPTS": 2})
def test_max_attempts_is_configurable(user):
    _, code = SecureToken.objects.issue_code(user=user, purpose=P)
    for _ in range(2):
        with pytest.raises(InvalidToken):
            SecureToken.objects.verify_code(wrong(code), purpose=P, user=user)
    with pytest.raises(TooManyAttempts):
        SecureToken.objects.verify_code(code, purpose=P, user=user)


def test_failure_cap_spans_codes_and_only_success_resets_it(user):
    """R-33 (T-33)."""
    for _ in range(4):
        _, code = SecureToken.objects.issue_code(user=user, purpose=P)
        for _ in range(5):
            with pytest.raises(InvalidToken):
                SecureToken.objects.verify_code(wrong(code), purpose=P, user=user)
    assert failures(user) == 20
    _, code = SecureToken.objects.issue_code(user=user, purpose=P)
    with pytest.raises(TooManyAttempts):
        SecureToken.objects.consume_code(code, purpose=P, user=user)
    with time_machine.travel(timedelta(days=30)):  # time alone does not reset it
        _, code = SecureToken.objects.issue_code(user=user, purpose=P)
        with pytest.raises(TooManyAttempts):
            SecureToken.objects.consume_code(code, purpose=P, user=user)
    # The 256-bit link path stays open, and its success resets the cap.
    _, link = SecureToken.objects.issue(user, purpose=P)
    SecureToken.objects.consume(link, purpose=P)
    assert failures(user) == 0
    _, code = SecureToken.objects.issue_code(user=user, purpose=P)
    SecureToken.objects.consume_code(code, purpose=P, user=user)


def test_success_resets_the_failure_count(user):
    _, code = SecureToken.objects.issue_code(user=user, purpose=P)
    with pytest.raises(InvalidToken):
        SecureToken.objects.verify_code(wrong(code), purpose=P, user=user)
    assert failures(user) == 1
    SecureToken.objects.consume_code(code, purpose=P, user=user)
    assert failures(user) == 0


def test_new_code_revokes_the_old_one(user):
    """R-05."""
    _, old = SecureToken.objects.issue_code(user=user, purpose=P)
    _, new = SecureToken.objects.issue_code(user=user, purpose=P)
    if old != new:
        with pytest.raises(InvalidToken):
            SecureToken.objects.verify_code(old, purpose=P, user=user)
    SecureToken.objects.consume_code(new, purpose=P, user=user)
    assert SecureToken.objects.filter(purpose=P, user=user, kind="code").count() == 2


def test_codes_and_links_coexist(user):
    by_link, link = SecureToken.objects.issue(user, purpose=P)
    by_code, code = SecureToken.objects.issue_code(user=user, purpose=P)
    assert by_link.pk != by_code.pk
    assert SecureToken.objects.verify(link, purpose=P).pk == by_link.pk
    assert SecureToken.objects.verify_code(code, purpose=P, user=user).pk == by_code.pk


def test_code_is_bound_to_owner_and_purpose(user):
    """R-04, R-14, R-31."""
    other = UserFactory()
    _, code = SecureToken.objects.issue_code(user=user, purpose=P)
    SecureToken.objects.issue_code(user=other, purpose=P)
    with pytest.raises(InvalidToken):
        SecureToken.objects.verify_code(code, purpose=P, user=other)
    with pytest.raises(InvalidToken):
        SecureToken.objects.verify_code(code, purpose="password_reset", user=user)
    SecureToken.objects.consume_code(code, purpose=P, user=user)


def test_code_for_an_address(db):
    token, code = SecureToken.objects.issue_code(purpose=P, email="Signup@Example.com")
    with pytest.raises(InvalidToken):
        SecureToken.objects.verify_code(code, purpose=P, email="other@example.com")
    assert SecureToken.objects.consume_code(code, purpose=P, email="signup@example.com") == token


def test_code_bound_to_user_and_new_address(user):
    """R-04: bound to the exact address."""
    _, code = SecureToken.objects.issue_code(
        user=user, purpose="email_change", email="n@example.com"
    )
    with pytest.raises(InvalidToken):
        SecureToken.objects.verify_code(
            code, purpose="email_change", user=user, email="x@example.com"
        )
    SecureToken.objects.consume_code(
        code, purpose="email_change", user=user, email="n@example.com"
    )


def test_expired_code(user):
    token, code = SecureToken.objects.issue_code(user=user, purpose=P)
    with time_machine.travel(token.expires_at + timedelta(seconds=1)):
        with pytest.raises(InvalidToken):
            SecureToken.objects.consume_code(code, purpose=P, user=user)


def test_expired_code_is_reported_precisely_when_judged(user):
    token, code = SecureToken.objects.issue_code(user=user, purpose=P)
    SecureToken.objects.filter(pk=token.pk).update(expires_at=token.created_at)
    with pytest.raises((InvalidToken, ExpiredToken)):
        SecureToken.objects.consume_code(code, purpose=P, user=user)


def test_password_change_kills_codes(user):
    _, code = SecureToken.objects.issue_code(user=user, purpose=P)
    user.set_password("changed")
    user.save()
    with pytest.raises(RevokedToken):
        SecureToken.objects.consume_code(code, purpose=P, user=user)


def test_use_is_exactly_once(user):
    _, code = SecureToken.objects.issue_code(user=user, purpose=P)
    token = SecureToken.objects.verify_code(code, purpose=P, user=user)
    SecureToken.objects.use(token)
    with pytest.raises(UsedToken):
        SecureToken.objects.use(token)


def test_no_identity_is_refused(db):
    with pytest.raises(InvalidToken):
        SecureToken.objects.verify_code("123456", purpose=P)
    with pytest.raises(InvalidToken):
        SecureToken.objects.issue_code(purpose=P)


# --- email verification and email change ---------------------------------------------------


def test_small_random_values_keep_their_leading_zeros(user, monkeypatch):
    """R-03: about 10 % of randbelow(10**6) values have fewer than six digits."""
    from django_securetokens import crypto

    monkeypatch.setattr(crypto.secrets, "randbelow", lambda n: 42)
    _, code = SecureToken.objects.issue_code(user=user, purpose=P)
    assert code == "000042"
    SecureToken.objects.consume_code("000 042", purpose=P, user=user)


def test_the_right_code_on_the_last_allowed_attempt_works(user):
    """R-32: the limit counts attempts, the right one included, not only failures."""
    _, code = SecureToken.objects.issue_code(user=user, purpose=P)
    for _ in range(4):
        with pytest.raises(InvalidToken):
            SecureToken.objects.verify_code(wrong(code), purpose=P, user=user)
    SecureToken.objects.consume_code(code, purpose=P, user=user)


@override_settings(SECURETOKENS={"CODE_MAX_FAILURES": 1})
def test_failure_cap_is_per_owner_and_purpose(user):
    """R-33: one owner's cap neither blocks another owner nor another purpose."""
    _, code = SecureToken.objects.issue_code(user=user, purpose=P)
    with pytest.raises(InvalidToken):
        SecureToken.objects.verify_code(wrong(code), purpose=P, user=user)
    with pytest.raises(TooManyAttempts):
        SecureToken.objects.verify_code(code, purpose=P, user=user)
    other = UserFactory()
    _, other_code = SecureToken.objects.issue_code(user=other, purpose=P)
    SecureToken.objects.consume_code(other_code, purpose=P, user=other)
    _, change = SecureToken.objects.issue_code(user=user, purpose="email_change", email="n@x.org")
    SecureToken.objects.consume_code(change, purpose="email_change", user=user, email="n@x.org")


def test_code_dies_when_the_accounts_address_changes(user):
    """R-26, T-04: a code for the account's address fails once the address changed."""
    field = user.get_email_field_name()
    address = getattr(user, field) or "old@example.com"
    _, code = SecureToken.objects.issue_code(user=user, purpose=P, email=address)
    type(user).objects.filter(pk=user.pk).update(**{field: "moved@example.com"})
    with pytest.raises(RevokedToken):
        SecureToken.objects.verify_code(code, purpose=P, user=user, email=address)


def test_verification_and_email_change_lifetimes(user):
    """R-23, R-24: verification links 24 h, email-change links 1 h, codes 10 min."""
    lifetimes = {
        (purpose, kind): token.expires_at - token.created_at
        for purpose in (P, "email_change")
        for kind, (token, _) in (
            ("link", SecureToken.objects.issue(user, purpose=purpose, email="n@example.com")),
            ("code", SecureToken.objects.issue_code(user, purpose=purpose, email="n@example.com")),
        )
    }
    assert lifetimes == {
        (P, "link"): timedelta(hours=24),
        (P, "code"): timedelta(minutes=10),
        ("email_change", "link"): timedelta(hours=1),
        ("email_change", "code"): timedelta(minutes=10),
    }


def test_async_code_twins(user):
    _, code = SecureToken.objects.issue_code(user=user, purpose="email_verification")
    token = async_to_sync(SecureToken.objects.averify_code)(
        code, purpose="email_verification", user=user
    )
    assert token.used_at is None
    used = async_to_sync(SecureToken.objects.aconsume_code)(
        code, purpose="email_verification", user=user
    )
    assert used.pk == token.pk
    assert used.used_at is not None


def test_code_for_one_address_never_proves_a_lookalike(db):
    """R-04: MySQL's default collation equates jose@ and JOSÉ@; the engine must not."""
    _, code = SecureToken.objects.issue_code(purpose="email_verification", email="jose@x.io")
    SecureToken.objects.issue_code(purpose="email_verification", email="josé@x.io")
    with pytest.raises(InvalidToken):
        SecureToken.objects.verify_code(code, purpose="email_verification", email="JOSÉ@x.io")
    # ...and issuing for the lookalike did not supersede the original.
    used = SecureToken.objects.consume_code(code, purpose="email_verification", email="jose@x.io")
    assert used.email == "jose@x.io" and used.used_at is not None


def test_user_and_email_code_checks_the_address_exactly(user):
    _, code = SecureToken.objects.issue_code(user=user, purpose="email_change", email="new@x.io")
    with pytest.raises(InvalidToken):
        SecureToken.objects.verify_code(code, purpose="email_change", user=user, email="NEW@x.ío")
    used = SecureToken.objects.consume_code(
        code, purpose="email_change", user=user, email="New@x.io"
    )
    assert used.user_id == user.pk and used.used_at is not None


def test_correct_code_resets_the_failure_count(user):
    """R-33: a success resets the count, even before the token is used."""
    _, code = SecureToken.objects.issue_code(user=user, purpose="email_verification")
    SecureToken.objects.verify_code(code, purpose="email_verification", user=user)
    assert slot_of(user, "email_verification").failures == 0


@pytest.mark.parametrize("at_cap", [False, True])
def test_not_found_and_found_code_paths_run_the_same_statements(user, at_cap):
    """R-14: the number of statements must not tell whether a code is pending; nor once the
    owner's failures reach CODE_MAX_FAILURES (R-33), which any guesser can bring about, so
    not whether the password-reset form's address has an account either."""
    other = UserFactory()
    SecureToken.objects.issue(other, purpose="email_verification")  # a slot, no code
    _, code = SecureToken.objects.issue_code(user=user, purpose="email_verification")
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    if at_cap:
        cap = get_policy("email_verification").code_max_failures
        for who in (user, other):
            TokenSlot.objects.filter(pk=slot_of(who, "email_verification").pk).update(failures=cap)
    counts = []
    for who in (user, other):
        with CaptureQueriesContext(connection) as queries, pytest.raises(TokenError):
            SecureToken.objects.verify_code(wrong, purpose="email_verification", user=who)
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_a_consume_that_loses_the_race_to_mark_the_code_used_fails(user, monkeypatch):
    """R-18: another request used the code between this one's judgement and its conditional
    UPDATE (a race only a server database runs for real); this one must not win too, and its
    attempt stays counted."""
    from django_securetokens import codes

    token, code = SecureToken.objects.issue_code(user=user, purpose=P)
    mark_used = codes.MARK_USED

    class WonElsewhereFirst:
        def run(self, manager, **values):
            SecureToken.objects.filter(pk=token.pk).update(used_at=timezone.now())
            return mark_used.run(manager, **values)

    monkeypatch.setattr(codes, "MARK_USED", WonElsewhereFirst())
    with pytest.raises(UsedToken):
        SecureToken.objects.consume_code(code, P, user=user)
    assert SecureToken.objects.get(pk=token.pk).attempts == 1


@pytest.mark.parametrize("operation", ["verify_code", "consume_code"])
def test_an_error_report_of_a_failing_guess_shows_the_code_in_no_frame(
    code_token, user, rf, operation, monkeypatch
):
    """R-46: a fault while a code is judged (here, normalising it) must not put the code into
    Django's error report through any frame of the engine, the public method's included."""
    from django_securetokens import crypto

    _, code = code_token

    def broken(*args, **kwargs):
        raise RuntimeError("injected fault")

    monkeypatch.setattr(crypto, "normalize_code", broken)
    judge = getattr(SecureToken.objects, operation)
    report = failure_report(lambda: judge(code, purpose=P, user=user), rf.get("/"))
    ours = [f for f in report["frames"] if "django_securetokens" in f["filename"]]
    assert {f["function"] for f in ours} >= {operation, "_count_and_judge"}
    assert code not in repr([f["vars"] for f in ours])
