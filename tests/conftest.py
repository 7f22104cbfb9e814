from __future__ import annotations

import pytest
import time_machine
from django.core.cache import caches
from django.db import connection
from django.utils import timezone

from django_securetokens.models import APIKey, SecureToken

from .factories import UserFactory


@pytest.fixture(autouse=True)
def _clear_caches():
    """Rate-limit counters live in the cache; no test may inherit another's."""
    for cache in caches.all():
        cache.clear()


@pytest.fixture
def frozen_clock():
    """Stop the clock, so a rate-limit window cannot roll over in the middle of a test."""
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
