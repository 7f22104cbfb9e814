"""R-81: the code-guessing budget of an address is shared by every account proving it.

Two accounts asking to prove one new address each had a cap of their own, so the address
got twice the guesses. Codes bound to an account and an address now count on both.
"""

from __future__ import annotations

import pytest
from django.test import override_settings

from django_securetokens.exceptions import InvalidToken, TooManyAttempts
from django_securetokens.models import SecureToken

from .conftest import server_database_only, slot_of
from .factories import UserFactory
from .test_concurrency import race

PURPOSE = "email_change"
ADDRESS = "shared@example.com"
CAP = {"CODE_MAX_FAILURES": 6}


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def issue(user):
    return SecureToken.objects.issue_code(user=user, purpose=PURPOSE, email=ADDRESS)[1]


def guess(user, code):
    return SecureToken.objects.verify_code(code, PURPOSE, user=user, email=ADDRESS)


@pytest.mark.django_db
@override_settings(SECURETOKENS=CAP)
def test_two_accounts_share_the_address_cap():
    first, second = UserFactory(), UserFactory()
    first_code, second_code = issue(first), issue(second)
    for _ in range(3):
        with pytest.raises(InvalidToken):
            guess(first, wrong(first_code))
        with pytest.raises(InvalidToken):
            guess(second, wrong(second_code))

    # Six wrong guesses in all: each account is at half its own cap, the address is at its.
    assert slot_of(first, PURPOSE).failures == 3
    assert slot_of(second, PURPOSE).failures == 3
    assert slot_of(ADDRESS, PURPOSE).failures == 6
    for user, code in ((first, first_code), (second, second_code)):
        with pytest.raises(TooManyAttempts):
            guess(user, code)  # even the right code: the address has no guess left
    assert slot_of(ADDRESS, PURPOSE).failures == 6


@pytest.mark.django_db
@override_settings(SECURETOKENS=CAP)
def test_codes_bound_to_the_address_alone_count_in_the_same_budget():
    """A sign-up's code (no account yet) has the address as its owner: the same slot."""
    member = UserFactory()
    _, anonymous = SecureToken.objects.issue_code(purpose=PURPOSE, email=ADDRESS)
    member_code = issue(member)
    for _ in range(4):
        with pytest.raises(InvalidToken):
            SecureToken.objects.verify_code(wrong(anonymous), PURPOSE, email=ADDRESS)
    for _ in range(2):
        with pytest.raises(InvalidToken):
            guess(member, wrong(member_code))
    with pytest.raises(TooManyAttempts):
        guess(member, member_code)


@pytest.mark.django_db
@override_settings(SECURETOKENS=CAP)
def test_a_right_code_or_link_resets_the_address_count():
    first, second = UserFactory(), UserFactory()
    code = issue(first)
    for _ in range(2):
        with pytest.raises(InvalidToken):
            guess(second, wrong(issue(second)))
    guess(first, code)
    assert slot_of(ADDRESS, PURPOSE).failures == 0
    assert slot_of(first, PURPOSE).failures == 0

    for _ in range(2):
        with pytest.raises(InvalidToken):
            guess(second, wrong(issue(second)))
    _, secret = SecureToken.objects.issue(first, purpose=PURPOSE, email=ADDRESS)
    SecureToken.objects.use(SecureToken.objects.verify(secret, PURPOSE))
    assert slot_of(ADDRESS, PURPOSE).failures == 0


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
@server_database_only()
@pytest.mark.usefixtures("fresh_cache")
@override_settings(SECURETOKENS={"CODE_MAX_FAILURES": 7})
def test_racing_guesses_from_two_accounts_stop_at_the_address_cap():
    """Each guess is counted by a conditional UPDATE before it is judged, on the account
    and on the address, so sixteen racing guesses cannot pass seven judged ones."""
    users = [UserFactory(), UserFactory()]
    codes = [wrong(issue(user)) for user in users]
    results = race(16, lambda i: guess(users[i % 2], codes[i % 2]))

    assert set(results) <= {"InvalidToken", "TooManyAttempts"}
    assert results.count("InvalidToken") <= 7
    assert slot_of(ADDRESS, PURPOSE).failures == 7
