"""Races with real threads on a real server database: once-only must hold (R-05, R-18, R-20)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connections
from django.test import override_settings

from django_securetokens.exceptions import TokenError
from django_securetokens.models import SecureToken, TokenSlot

from .conftest import server_database_only, slot_of
from .factories import UserFactory

pytestmark = [
    pytest.mark.concurrency,
    pytest.mark.django_db(transaction=True),
    server_database_only(),
]

THREADS = 32
ROUNDS = 50  # for consume and issue, the operations whose statements were cut to the fewest


def race(n: int, action: Callable[[int], Any]) -> list[Any]:
    """Run *action(i)* in *n* threads released together by a barrier; return the outcomes
    (the return value, or the exception class name)."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = action(i)
        except TokenError as error:
            results[i] = type(error).__name__
        except Exception as error:  # a deadlock or other database error: fail the test
            results[i] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_exactly_one_of_thirty_two_consumes_wins_in_every_round():
    """R-18 (T-18)."""
    user = UserFactory()
    for _ in range(ROUNDS):
        _, secret = SecureToken.objects.issue(user, purpose="password_reset")
        outcomes = race(
            THREADS,
            lambda i, secret=secret: SecureToken.objects.consume(secret, purpose="password_reset"),
        )
        winners = [o for o in outcomes if isinstance(o, SecureToken)]
        assert len(winners) == 1, outcomes
        assert {o for o in outcomes if not isinstance(o, SecureToken)} <= {"UsedToken"}


# 32 right guesses at once would pass the default cap of 20 counted failures before the
# first of them resets it, and all be refused: that is the cap working, not this race.
@override_settings(SECURETOKENS={"CODE_MAX_FAILURES": 100})
def test_exactly_one_of_thirty_two_code_consumes_wins_in_every_round():
    user = UserFactory()
    for _ in range(ROUNDS):
        _, code = SecureToken.objects.issue_code(user=user, purpose="email_verification")
        outcomes = race(
            THREADS,
            lambda i, code=code: SecureToken.objects.consume_code(
                code, purpose="email_verification", user=user
            ),
        )
        assert sum(isinstance(o, SecureToken) for o in outcomes) == 1, outcomes


def test_concurrent_issues_leave_exactly_one_live_token():
    """R-05 under concurrency."""
    user = UserFactory()
    for _ in range(ROUNDS):
        outcomes = race(
            THREADS, lambda i: SecureToken.objects.issue(user, purpose="password_reset")
        )
        assert all(isinstance(o, tuple) for o in outcomes), outcomes
        live = SecureToken.objects.live().filter(user=user, purpose="password_reset")
        assert live.count() == 1


@override_settings(SECURETOKENS={"CODE_MAX_ATTEMPTS": 10, "CODE_MAX_FAILURES": 100})
def test_attempts_are_counted_exactly_under_racing_wrong_guesses():
    """R-20 (T-20)."""
    user = UserFactory()
    token, code = SecureToken.objects.issue_code(user=user, purpose="email_verification")
    bad = f"{(int(code) + 1) % 10**6:06d}"
    outcomes = race(
        THREADS,
        lambda i: SecureToken.objects.verify_code(bad, purpose="email_verification", user=user),
    )
    counts = Counter(outcomes)
    assert counts == {"InvalidToken": 10, "TooManyAttempts": THREADS - 10}, counts
    token.refresh_from_db()
    assert token.attempts == 10
    slot = slot_of(user, "email_verification")
    assert slot.failures == THREADS
    with pytest.raises(TokenError):
        SecureToken.objects.consume_code(code, purpose="email_verification", user=user)


@override_settings(SECURETOKENS={"CODE_MAX_FAILURES": 7})
def test_failure_cap_cannot_be_exceeded_by_racing():
    """R-20, R-33."""
    user = UserFactory()
    _, code = SecureToken.objects.issue_code(user=user, purpose="email_verification")
    bad = f"{(int(code) + 1) % 10**6:06d}"
    race(
        THREADS,
        lambda i: SecureToken.objects.verify_code(bad, purpose="email_verification", user=user),
    )
    slot = slot_of(user, "email_verification")
    assert slot.failures == 7


def test_consuming_inside_a_transaction_never_deadlocks_with_issuing():
    """R-19 asks callers to consume inside their own transaction; the engine must then take
    its locks in the same order as issue() does, or the two deadlock."""
    from django.db import transaction

    user = UserFactory()
    for round_ in range(ROUNDS):
        _, secret = SecureToken.objects.issue(user, purpose="password_reset")
        # Every other round with failures counted, so consume's reset writes (and locks)
        # the slot inside the caller's transaction too.
        TokenSlot.objects.filter(pk=slot_of(user, "password_reset").pk).update(failures=round_ % 2)

        def act(i, secret=secret):
            if i == 0:
                with transaction.atomic():
                    return SecureToken.objects.consume(secret, purpose="password_reset")
            return SecureToken.objects.issue(user, purpose="password_reset")

        outcomes = race(4, act)
        assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
