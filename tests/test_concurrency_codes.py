"""Racing code guesses and confirmations on a real database server (R-18, R-20, T-18, T-20).

Real threads, each on its own connection, are released together by a barrier. SQLite
serialises writers with a file lock, so these run on PostgreSQL and MariaDB only.
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.core import mail
from django.db import connection, transaction
from django.test import Client

from django_securetokens import signals
from django_securetokens.exceptions import TokenError, TooManyAttempts
from django_securetokens.models import SecureToken, TokenSlot

from .conftest import server_database_only
from .factories import UserFactory

pytestmark = [
    pytest.mark.concurrency,
    server_database_only(),
    pytest.mark.django_db(transaction=True),
]

PURPOSE = "email_verification"


def race(count, work):
    """Run ``work(i)`` in *count* threads released at once; return results or exceptions."""
    barrier = threading.Barrier(count)
    results: list[object] = [None] * count

    def run(i):
        try:
            barrier.wait(timeout=30)
            results[i] = work(i)
        except Exception as error:  # noqa: BLE001 - the result under test
            results[i] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return results


def outcomes(results):
    return Counter(type(result).__name__ for result in results)


def wrong_codes(code, count):
    """*count* distinct wrong codes."""
    return [f"{(int(code) + i) % 10**6:06d}" for i in range(1, count + 1)]


def failures(user, purpose=PURPOSE):
    return TokenSlot.objects.get(purpose=purpose, owner=f"user:{user.pk}").failures


def test_racing_wrong_guesses_are_counted_exactly(settings):
    """With 10 attempts per code, 16 racing wrong guesses: exactly 10 reach the code, all 16
    count toward the owner's cap, and the right code is refused afterwards."""
    settings.SECURETOKENS = {**settings.SECURETOKENS, "CODE_MAX_ATTEMPTS": 10}
    user = UserFactory()
    token, code = SecureToken.objects.issue_code(user=user)
    guesses = wrong_codes(code, 16)

    results = race(16, lambda i: SecureToken.objects.verify_code(guesses[i], PURPOSE, user=user))

    assert outcomes(results) == {"InvalidToken": 10, "TooManyAttempts": 6}
    assert SecureToken.objects.get(pk=token.pk).attempts == 10
    assert failures(user) == 16
    with pytest.raises(TooManyAttempts):
        SecureToken.objects.verify_code(code, PURPOSE, user=user)


def test_fifty_racing_wrong_guesses_then_the_right_code():
    """T-20 with the defaults: 5 attempts per code, a cap of 20 failures per owner."""
    user = UserFactory()
    token, code = SecureToken.objects.issue_code(user=user)
    guesses = wrong_codes(code, 50)

    results = race(50, lambda i: SecureToken.objects.verify_code(guesses[i], PURPOSE, user=user))

    assert outcomes(results) == {"InvalidToken": 5, "TooManyAttempts": 45}
    assert SecureToken.objects.get(pk=token.pk).attempts == 5
    assert failures(user) == 20
    with pytest.raises(TooManyAttempts):
        SecureToken.objects.verify_code(code, PURPOSE, user=user)
    # a new code does not reset the cap ...
    _, code = SecureToken.objects.issue_code(user=user)
    with pytest.raises(TooManyAttempts):
        SecureToken.objects.verify_code(code, PURPOSE, user=user)
    # ... but the link still works, and its success re-opens the code path.
    _, secret = SecureToken.objects.issue(user, purpose=PURPOSE, email=user.email)
    SecureToken.objects.consume(secret, PURPOSE)
    assert failures(user) == 0
    _, code = SecureToken.objects.issue_code(user=user)
    assert SecureToken.objects.consume_code(code, PURPOSE, user=user)


def test_racing_guesses_on_an_address_bound_code():
    token, code = SecureToken.objects.issue_code(email="racer@example.com")
    guesses = wrong_codes(code, 12)

    results = race(
        12,
        lambda i: SecureToken.objects.verify_code(guesses[i], PURPOSE, email="racer@example.com"),
    )

    assert outcomes(results) == {"InvalidToken": 5, "TooManyAttempts": 7}
    assert SecureToken.objects.get(pk=token.pk).attempts == 5
    assert TokenSlot.objects.get(owner="email:racer@example.com").failures == 12


def test_racing_right_codes_succeed_exactly_once():
    """T-18 for codes: verify outside, use inside the transaction, as the views do."""
    user = UserFactory()
    token, code = SecureToken.objects.issue_code(user=user)

    def redeem(i):
        found = SecureToken.objects.verify_code(code, PURPOSE, user=user)
        with transaction.atomic():
            return SecureToken.objects.use(found)

    results = race(10, redeem)

    # The winner; losers either lost the conditional UPDATE (UsedToken), found the attempts
    # spent (TooManyAttempts), or started after the win and found no live code.
    assert outcomes(results)["SecureToken"] == 1
    assert all(isinstance(r, (SecureToken, TokenError)) for r in results), results
    assert SecureToken.objects.get(pk=token.pk).used_at is not None


def test_racing_link_confirmations_verify_once():
    """T-18 for email verification: one success, one signal, whatever the interleaving."""
    user = UserFactory()
    client = Client()
    client.force_login(user)
    client.post("/accounts/email/verify/")
    link = next(
        word for word in mail.outbox[-1].body.split() if "/email/verify/confirm/" in word
    ).removeprefix("https://testserver.example")
    events = []
    lock = threading.Lock()

    def receiver(sender, **kwargs):
        with lock:
            events.append(kwargs["email"])

    signals.email_verified.connect(receiver)
    try:
        results = race(8, lambda i: Client().post(link).status_code)
    finally:
        signals.email_verified.disconnect(receiver)

    assert sorted(results) == [200] * 7 + [302]
    assert events == [user.email]
    assert not SecureToken.objects.live().filter(user=user).exists()


def test_racing_issues_leave_one_live_code():
    """R-05 under concurrency: the slot row lock serialises issuing."""
    user = UserFactory()

    results = race(10, lambda i: SecureToken.objects.issue_code(user=user)[1])

    assert all(isinstance(result, str) for result in results), results
    live = SecureToken.objects.live().filter(user=user, purpose=PURPOSE, kind="code")
    assert live.count() == 1
