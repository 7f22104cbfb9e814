"""Races with real threads on a real server database: once-only must hold (R-05, R-18, R-20,
R-33), in the engine and in the email-verification flow built on it."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connections
from django.test import Client, override_settings

from django_securetokens.exceptions import TokenError, TooManyAttempts
from django_securetokens.flows import api_keys
from django_securetokens.models import SecureToken, TokenSlot

from .conftest import mailed_code_and_link, server_database_only, slot_of
from .factories import UserFactory

pytestmark = [
    pytest.mark.concurrency,
    pytest.mark.django_db(transaction=True),
    server_database_only(),
    pytest.mark.usefixtures("mail_now", "fresh_cache"),
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


# --- the email-verification flow: the defaults end to end (T-20), address-bound codes, and
# the HTTP views, whose one transaction must still let exactly one request win (T-18).

PURPOSE = "email_verification"


def wrong_codes(code, count):
    return [f"{(int(code) + i) % 10**6:06d}" for i in range(1, count + 1)]


def test_fifty_racing_wrong_guesses_then_the_right_code():
    """T-20 with the defaults: 5 attempts per code and a cap of 20 failures per owner."""
    user = UserFactory()
    token, code = SecureToken.objects.issue_code(user=user)
    guesses = wrong_codes(code, 50)

    outcomes = race(50, lambda i: SecureToken.objects.verify_code(guesses[i], PURPOSE, user=user))

    assert sorted(outcomes) == ["InvalidToken"] * 5 + ["TooManyAttempts"] * 45
    assert SecureToken.objects.get(pk=token.pk).attempts == 5
    slot = slot_of(user, PURPOSE)
    assert slot.failures == 20
    with pytest.raises(TooManyAttempts):
        SecureToken.objects.verify_code(code, PURPOSE, user=user)
    # a new code does not reset the cap; the link works, and its success does.
    _, code = SecureToken.objects.issue_code(user=user)
    with pytest.raises(TooManyAttempts):
        SecureToken.objects.verify_code(code, PURPOSE, user=user)
    _, secret = SecureToken.objects.issue(user, purpose=PURPOSE, email=user.email)
    SecureToken.objects.consume(secret, PURPOSE)
    _, code = SecureToken.objects.issue_code(user=user)
    assert SecureToken.objects.consume_code(code, PURPOSE, user=user)


def test_racing_guesses_on_an_address_bound_code():
    """Before sign-up the owner is the address; its counters are exact too."""
    token, code = SecureToken.objects.issue_code(email="racer@example.com")
    guesses = wrong_codes(code, 12)

    outcomes = race(
        12,
        lambda i: SecureToken.objects.verify_code(guesses[i], PURPOSE, email="racer@example.com"),
    )

    assert sorted(outcomes) == ["InvalidToken"] * 5 + ["TooManyAttempts"] * 7
    assert SecureToken.objects.get(pk=token.pk).attempts == 5
    assert slot_of("racer@example.com", PURPOSE).failures == 12


def started_client(user):
    """A signed-in client that asked for a verification mail, with its code and link."""
    client = Client()
    client.force_login(user)
    client.post("/accounts/email/verify/")
    return (client, *mailed_code_and_link(mail.outbox[-1]))


def test_racing_right_codes_on_the_code_page_verify_once(verified_events):
    """T-18 for codes: one browser session, eight simultaneous submissions of the code."""
    user = UserFactory()
    client, code, _ = started_client(user)
    cookie = client.cookies["sessionid"].value

    def submit(i):
        browser = Client()
        browser.cookies["sessionid"] = cookie
        return browser.post("/accounts/email/verify/code/", {"code": code}).status_code

    outcomes = race(8, submit)

    assert sorted(outcomes) == [200] * 7 + [302]
    assert [event["email"] for event in verified_events] == [user.email]


def test_racing_link_confirmations_verify_once(verified_events):
    """T-18 for links: one success and one signal, whatever the interleaving."""
    user = UserFactory()
    _, _, link = started_client(user)

    outcomes = race(8, lambda i: Client().post(link).status_code)

    assert sorted(outcomes) == [200] * 7 + [302]
    assert [event["email"] for event in verified_events] == [user.email]
    assert not SecureToken.objects.live().filter(user=user).exists()


@override_settings(SECURETOKENS={"SELF_SERVICE_API_KEY_LIMIT": 3})
def test_racing_personal_keys_stop_at_the_limit():
    """R-85: the user's row lock makes the limit hold under concurrent creates."""
    user = UserFactory()
    api_keys.create(user, name="first", scopes=[], expires_in_days=1)

    def create(i: int) -> Any:
        try:
            return api_keys.create(user, name=f"key {i}", scopes=[], expires_in_days=1)
        except ValidationError as error:
            return error.code

    outcomes = race(THREADS, create)
    assert Counter(o if isinstance(o, str) else "created" for o in outcomes) == {
        "created": 2,
        "limit": THREADS - 2,
    }, outcomes
    assert api_keys.live_keys(user) == 3
