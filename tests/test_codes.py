"""Numeric codes in the engine: format, binding, attempts, the failure cap and lifetimes."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from django_securetokens import crypto
from django_securetokens.exceptions import InvalidToken, TokenError, TooManyAttempts
from django_securetokens.models import SecureToken, TokenSlot

from .factories import UserFactory

pytestmark = pytest.mark.django_db

PURPOSE = "email_verification"


def wrong(code):
    return f"{(int(code) + 1) % 10**6:06d}"


def slot_failures(owner):
    return TokenSlot.objects.get(purpose=PURPOSE, owner=owner).failures


def test_codes_are_six_ascii_digits_zero_padded(user, monkeypatch):
    """R-03, T-03: ``randbelow`` values under 100000 keep their leading zeros."""
    monkeypatch.setattr(crypto.secrets, "randbelow", lambda n: 42)

    _, code = SecureToken.objects.issue_code(user=user)

    assert code == "000042"
    assert SecureToken.objects.verify_code("000042", PURPOSE, user=user)


def test_codes_are_random(user):
    codes = {SecureToken.objects.issue_code(user=user)[1] for _ in range(50)}

    assert len(codes) > 45 and all(re.fullmatch(r"[0-9]{6}", c) for c in codes)


@override_settings(SECURETOKENS={"CODE_DIGITS": 8})
def test_code_length_follows_the_setting(user):
    _, code = SecureToken.objects.issue_code(user=user)

    assert re.fullmatch(r"[0-9]{8}", code)


def test_code_is_stored_as_a_salted_keyed_digest(code_token):
    token, code = code_token

    assert code.encode() not in bytes(token.digest)
    assert len(bytes(token.salt)) == 16
    other, _ = SecureToken.objects.issue_code(user=UserFactory())
    assert bytes(other.salt) != bytes(token.salt)


def test_right_code_verifies_without_consuming(code_token, user):
    token, code = code_token

    assert SecureToken.objects.verify_code(code, PURPOSE, user=user) == token
    assert SecureToken.objects.get(pk=token.pk).used_at is None
    SecureToken.objects.consume_code(code, PURPOSE, user=user)
    with pytest.raises(TokenError):
        SecureToken.objects.consume_code(code, PURPOSE, user=user)


@pytest.mark.parametrize("spelling", ["{0} {1}", "{0}-{1}", "{0} - {1}", "  {0}{1}"])
def test_spaces_and_hyphens_are_dropped(code_token, user, spelling):
    """R-34, T-34."""
    _, code = code_token

    assert SecureToken.objects.verify_code(spelling.format(code[:3], code[3:]), PURPOSE, user=user)


ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


@pytest.mark.parametrize(
    "transform",
    [
        lambda c: c.translate(ARABIC_INDIC),
        lambda c: c.translate(FULLWIDTH),
        lambda c: c[:5] + c[5].translate(FULLWIDTH),
        lambda c: c + "\n",
        lambda c: c.replace(c[0], "\u00a0", 1),
        lambda c: c[:3] + "\u2010" + c[3:],  # a Unicode hyphen, not the ASCII one
        lambda c: "\ud800" + c,
        lambda c: c.encode(),
        lambda c: None,
        lambda c: int(c),
        lambda c: c * 100_000,
    ],
    ids=[
        "arabic-indic",
        "fullwidth",
        "one-fullwidth",
        "newline",
        "nbsp",
        "unicode-hyphen",
        "surrogate",
        "bytes",
        "none",
        "int",
        "huge",
    ],
)
def test_anything_but_ascii_digits_fails_and_counts(code_token, user, transform):
    """R-34, T-34, T-71 to T-73: a generic failure, counted as an attempt, never a crash."""
    token, code = code_token

    with pytest.raises(InvalidToken):
        SecureToken.objects.verify_code(transform(code), PURPOSE, user=user)

    assert SecureToken.objects.get(pk=token.pk).attempts == 1
    assert slot_failures(f"user:{user.pk}") == 1


def test_five_failed_attempts_kill_the_code(code_token, user):
    """R-32, T-32: the right code after five wrong ones is refused."""
    token, code = code_token
    for _ in range(5):
        with pytest.raises(InvalidToken):
            SecureToken.objects.verify_code(wrong(code), PURPOSE, user=user)

    with pytest.raises(TooManyAttempts):
        SecureToken.objects.verify_code(code, PURPOSE, user=user)
    assert SecureToken.objects.get(pk=token.pk).attempts == 5


def test_the_right_code_on_the_fifth_attempt_still_works(code_token, user):
    _, code = code_token
    for _ in range(4):
        with pytest.raises(InvalidToken):
            SecureToken.objects.verify_code(wrong(code), PURPOSE, user=user)

    assert SecureToken.objects.consume_code(code, PURPOSE, user=user)
    assert slot_failures(f"user:{user.pk}") == 0


@override_settings(SECURETOKENS={"CODE_MAX_ATTEMPTS": 2})
def test_attempt_limit_follows_the_setting(code_token, user):
    _, code = code_token
    for _ in range(2):
        with pytest.raises(InvalidToken):
            SecureToken.objects.verify_code(wrong(code), PURPOSE, user=user)

    with pytest.raises(TooManyAttempts):
        SecureToken.objects.verify_code(code, PURPOSE, user=user)


def test_failure_cap_spans_codes_and_only_success_resets_it(user, time_machine):
    """R-33, T-33: 4 codes × 5 wrong guesses, then a fresh code is refused, even much later;
    the link path still works, and its success re-opens the code path."""
    for _ in range(4):
        _, code = SecureToken.objects.issue_code(user=user)
        for _ in range(5):
            with pytest.raises(InvalidToken):
                SecureToken.objects.verify_code(wrong(code), PURPOSE, user=user)
    assert slot_failures(f"user:{user.pk}") == 20

    time_machine.move_to(timezone.now() + timedelta(days=30), tick=False)
    _, code = SecureToken.objects.issue_code(user=user)
    with pytest.raises(TooManyAttempts):
        SecureToken.objects.verify_code(code, PURPOSE, user=user)
    assert slot_failures(f"user:{user.pk}") == 20  # capped, not counting past the cap

    _, secret = SecureToken.objects.issue(user, purpose=PURPOSE, email=user.email)
    SecureToken.objects.consume(secret, PURPOSE)
    assert slot_failures(f"user:{user.pk}") == 0
    _, code = SecureToken.objects.issue_code(user=user)
    assert SecureToken.objects.consume_code(code, PURPOSE, user=user)


def test_failure_cap_is_per_owner_and_purpose(user):
    with override_settings(SECURETOKENS={"CODE_MAX_FAILURES": 1}):
        _, code = SecureToken.objects.issue_code(user=user)
        with pytest.raises(InvalidToken):
            SecureToken.objects.verify_code(wrong(code), PURPOSE, user=user)
        with pytest.raises(TooManyAttempts):
            SecureToken.objects.verify_code(code, PURPOSE, user=user)

        other = UserFactory()
        _, other_code = SecureToken.objects.issue_code(user=other)
        assert SecureToken.objects.verify_code(other_code, PURPOSE, user=other)
        _, change_code = SecureToken.objects.issue_code(user=user, purpose="email_change")
        assert SecureToken.objects.verify_code(change_code, "email_change", user=user)


def test_a_new_code_revokes_the_old_one(user):
    """R-05, T-05: one live code per owner and purpose; a link may live beside it."""
    old, old_code = SecureToken.objects.issue_code(user=user)
    SecureToken.objects.issue(user, purpose=PURPOSE)
    new, new_code = SecureToken.objects.issue_code(user=user)

    live = SecureToken.objects.live().filter(user=user, purpose=PURPOSE)
    assert sorted(live.values_list("kind", flat=True)) == ["code", "link"]
    assert SecureToken.objects.get(pk=old.pk).superseded
    if old_code != new_code:
        with pytest.raises(TokenError):
            SecureToken.objects.verify_code(old_code, PURPOSE, user=user)
    assert SecureToken.objects.verify_code(new_code, PURPOSE, user=user) == new


def test_codes_are_bound_to_their_owner(user):
    """R-31, T-31: no global lookup; another user's or address's code never matches."""
    _, code = SecureToken.objects.issue_code(user=user)
    other = UserFactory()
    SecureToken.objects.issue_code(user=other)

    with pytest.raises(InvalidToken):
        SecureToken.objects.verify_code(code, PURPOSE, user=other)
    with pytest.raises(InvalidToken):
        SecureToken.objects.verify_code(code, PURPOSE, email=user.email)
    with pytest.raises(InvalidToken):
        SecureToken.objects.verify_code(code)


def test_codes_for_an_address_without_an_account(db):
    """Pre-sign-up: the code is bound to the address, compared case-insensitively."""
    token, code = SecureToken.objects.issue_code(email="Someone@Example.com")
    SecureToken.objects.issue_code(email="other@example.com")

    assert token.user is None and token.email == "someone@example.com"
    with pytest.raises(InvalidToken):
        SecureToken.objects.verify_code(code, PURPOSE, email="other@example.com")
    assert SecureToken.objects.consume_code(code, PURPOSE, email="SOMEONE@example.com") == token
    assert TokenSlot.objects.get(owner="email:someone@example.com").failures == 0


def test_codes_are_bound_to_their_purpose(user):
    """R-04, T-04."""
    _, code = SecureToken.objects.issue_code(user=user, purpose=PURPOSE)
    SecureToken.objects.issue_code(user=user, purpose="password_reset")

    for purpose in ("password_reset", "email_change"):
        with pytest.raises(TokenError):
            SecureToken.objects.verify_code(code, purpose, user=user)


def test_code_dies_when_the_address_or_password_changes(user):
    """R-26, T-26: codes are bound to the account's address and password."""
    _, code = SecureToken.objects.issue_code(user=user, email=user.email)
    type(user).objects.filter(pk=user.pk).update(email="moved@example.com")
    with pytest.raises(TokenError):
        SecureToken.objects.verify_code(code, PURPOSE, user=user)

    _, code = SecureToken.objects.issue_code(user=user, email="moved@example.com")
    user.set_password("a brand new password")
    user.save()
    with pytest.raises(TokenError):
        SecureToken.objects.verify_code(code, PURPOSE, user=user)


def test_code_lifetime_is_ten_minutes(code_token, user, time_machine):
    """R-24, T-24."""
    token, code = code_token
    assert token.expires_at - token.created_at == timedelta(minutes=10)

    time_machine.move_to(token.created_at + timedelta(seconds=601), tick=False)

    with pytest.raises(TokenError):
        SecureToken.objects.verify_code(code, PURPOSE, user=user)


def test_link_lifetimes(user):
    """R-23, T-23: verification links live 24 h; email-change links an hour."""
    verify, _ = SecureToken.objects.issue(user, purpose=PURPOSE)
    change, _ = SecureToken.objects.issue(user, purpose="email_change", email="n@example.com")
    change_code, _ = SecureToken.objects.issue_code(user=user, purpose="email_change")

    assert verify.expires_at - verify.created_at == timedelta(hours=24)
    assert change.expires_at - change.created_at == timedelta(hours=1)
    assert change_code.expires_at - change_code.created_at == timedelta(minutes=10)


def test_inactive_user_cannot_use_a_code(code_token, user):
    _, code = code_token
    type(user).objects.filter(pk=user.pk).update(is_active=False)

    with pytest.raises(TokenError):
        SecureToken.objects.verify_code(code, PURPOSE, user=user)
