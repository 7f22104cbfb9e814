from __future__ import annotations

import hashlib
import re
import secrets
import threading
from unittest import mock

import pytest
import time_machine
from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_login_failed
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.db import connection
from django.utils import timezone

from django_securetokens import signals, tasks
from django_securetokens.models import APIKey, SecureToken

from .factories import UserFactory


@pytest.fixture(autouse=True)
def _fresh_caches(settings):
    """Rate-limit counters live in the cache; no test may inherit another's. A per-process
    cache is emptied; a shared one (Redis) gets a key prefix of this test's own instead of
    being flushed, so other users of that server are left alone."""
    for cache in caches.all():
        if isinstance(cache, LocMemCache):
            cache.clear()
        else:
            use_fresh_cache(settings)


@pytest.fixture(autouse=True)
def _background_jobs_end_with_their_test():
    """The default mail sender runs jobs in a thread of this process. A job still running
    when its test ends would drop its mail into the next test's outbox, so every test waits
    for the jobs it started."""
    yield
    assert tasks.join(timeout=30), "a background mail job outlived its test"


@pytest.fixture
def frozen_clock():
    """Stop the clock, so nothing the clock decides (a rate-limit window, an ``Expires``
    header) can change in the middle of a test."""
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        yield traveller


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def reset_token(user):
    """``(token, secret)`` for a live password-reset link."""
    return SecureToken.objects.issue(user, purpose="password_reset")


@pytest.fixture
def code_token(user):
    """``(token, code)`` for a live email-verification code."""
    return SecureToken.objects.issue_code(user=user, purpose="email_verification")


@pytest.fixture
def api_key(user):
    """``(api_key, secret)``."""
    return APIKey.objects.issue(name="ci", user=user)


def server_database_only():
    return pytest.mark.skipif(
        connection.vendor == "sqlite",
        reason="SQLite serialises writers with a file lock; row-level races need PostgreSQL "
        "or MariaDB (run with SECURETOKENS_TEST_DB=postgresql or mysql)",
    )


def slot_of(user, purpose):
    """The TokenSlot row of *user* (or of an address, before sign-up) and *purpose* (owners
    are stored as SHA-256 hex)."""
    from django_securetokens.models import TokenSlot

    owner = f"email:{user}" if isinstance(user, str) else f"user:{user.pk}"
    owner = hashlib.sha256(owner.encode()).hexdigest()
    return TokenSlot.objects.get(purpose=purpose, owner=owner)


def run_immediately(name, kwargs):
    """An ``EMAIL_SENDER`` for tests: run the mail job at once, inside the test transaction
    (``transaction.on_commit`` never fires there)."""
    from django_securetokens.tasks import run_job

    run_job(name, kwargs)


@pytest.fixture
def mail_now(settings):
    """Mail jobs run synchronously, so a test sees their mail as soon as the response is in."""
    settings.SECURETOKENS = {
        **settings.SECURETOKENS,
        "EMAIL_SENDER": "tests.conftest.run_immediately",
    }


def use_fresh_cache(settings):
    """Give the rate-limit cache a key prefix of its own, so every counter starts from zero.
    Nothing is flushed, so parallel runs sharing one Redis cannot disturb each other."""
    from django_securetokens.conf import setting

    alias = setting("CACHE")
    prefix = f"test-{secrets.token_hex(8)}"
    settings.CACHES = {**settings.CACHES, alias: {**settings.CACHES[alias], "KEY_PREFIX": prefix}}


def cache_entries() -> list[tuple[str, bytes | None]]:
    """``(key, stored bytes)`` of what the rate-limit cache holds for this test: every entry
    of a per-process cache (emptied before each test), or only those under this test's key
    prefix on a shared Redis, so nobody else's entries are read."""
    from django_securetokens.conf import setting

    cache = caches[setting("CACHE")]
    if isinstance(cache, LocMemCache):
        return list(cache._cache.items())  # its internals: the only way to list its keys
    client = cache._cache.get_client()
    found = client.scan_iter(match=f"{cache.key_prefix}*")
    return [(key.decode(), client.get(key)) for key in found]


@pytest.fixture
def fresh_cache(settings):
    """Rate-limit counters start from zero for this test (see :func:`use_fresh_cache`)."""
    use_fresh_cache(settings)


def mailed_code_and_link(message):
    """The code (digits only) and the link's path in a verification or email-change mail."""
    code = "".join(re.search(r"\b(\d{3}) (\d{3})\b", message.body).groups())
    link = re.search(r"https://testserver\.example(/\S+/confirm/[^/\s]+/)", message.body)
    return code, link.group(1)


@pytest.fixture
def verified_events():
    """The keyword arguments of every ``email_verified`` sent during the test, in order."""
    events = []
    lock = threading.Lock()  # the concurrency tests send it from several threads

    def receiver(sender, **kwargs):
        with lock:
            events.append({"sender": sender, **kwargs})

    signals.email_verified.connect(receiver)
    yield events
    signals.email_verified.disconnect(receiver)


def use_mail_backend(settings, backend: str) -> None:
    """Point the default mailer at *backend*: ``MAILERS`` from Django 6.1 (where
    ``EMAIL_BACKEND`` is deprecated), ``EMAIL_BACKEND`` before it."""
    import django

    if django.VERSION >= (6, 1):
        settings.MAILERS = {"default": {"BACKEND": backend}}
    else:
        settings.EMAIL_BACKEND = backend


def flip_last(secret: str) -> str:
    """*secret* with its last character replaced by a different one: a tampered value that
    can never equal the original, whatever that character was."""
    return secret[:-1] + ("x" if secret[-1] != "x" else "y")


@pytest.fixture
def password_checks():
    """Every call to ``authenticate()`` the password re-checks make (flows.reauth)."""
    with mock.patch("django_securetokens.flows.reauth.authenticate", wraps=authenticate) as spy:
        yield spy


@pytest.fixture
def login_failures():
    """The credentials of every ``user_login_failed`` sent during the test."""
    seen = []

    def receiver(sender, credentials, **kwargs):
        seen.append(credentials)

    user_login_failed.connect(receiver)
    yield seen
    user_login_failed.disconnect(receiver)


def failure_report(call, request) -> dict:
    """What Django's error report would show of *call* failing for *request*: the
    traceback data of :class:`~django.views.debug.ExceptionReporter`, frames and their
    variables as filtered for the report."""
    import sys

    from django.views.debug import ExceptionReporter

    try:
        call()
    except Exception:  # noqa: BLE001 - whatever the injected fault raised
        return ExceptionReporter(request, *sys.exc_info()).get_traceback_data()
    pytest.fail("the call did not fail")  # pragma: no cover - the tests inject a fault
