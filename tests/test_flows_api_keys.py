"""Personal API keys as plain functions (the pages and the JSON endpoints call these)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from django_securetokens.flows import RateLimited, api_keys, reauth
from django_securetokens.models import APIKey

from .factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_cache", "frozen_clock")]

PASSWORD = "correct horse battery staple"  # the factory's


@pytest.fixture(autouse=True)
def _scopes(settings):
    settings.SECURETOKENS = {"SELF_SERVICE_API_KEY_SCOPES": ["orders:read"]}


def test_create_checks_every_rule_itself(user):
    """A caller that skipped the validators still gets no key outside the rules."""
    with pytest.raises(ValidationError) as refused:
        api_keys.create(user, name="\x00", scopes=["admin"], expires_in_days=0)
    assert set(refused.value.message_dict) == {"name", "scopes", "expires_in_days"}
    assert not APIKey.objects.exists()


def test_create_strips_the_name_and_drops_repeated_scopes(user):
    api_key, secret = api_keys.create(
        user, name="  laptop ", scopes=["orders:read"] * 2, expires_in_days=1
    )
    assert (api_key.name, api_key.scopes) == ("laptop", ["orders:read"])
    assert APIKey.objects.authenticate(secret) == api_key


@pytest.mark.parametrize("pk", [None, True, -1, 1.0, "1.0", "abc", "\u0663", "1" * 21, b"1"])
def test_revoke_finds_nothing_for_a_value_that_is_no_key_id(user, pk):
    APIKey.objects.issue(name="mine", user=user)
    assert api_keys.revoke(user, pk) is None
    assert APIKey.objects.get().revoked_at is None


def test_revoke_takes_the_id_as_an_int_or_its_digits(user):
    first, _ = APIKey.objects.issue(name="a", user=user)
    second, _ = APIKey.objects.issue(name="b", user=user)
    assert api_keys.revoke(user, first.pk) == first
    assert api_keys.revoke(user, str(second.pk)) == second
    assert api_keys.revoke(UserFactory(), first.pk) is None
    assert not APIKey.objects.live().exists()


def test_reauthenticate(user):
    api_keys.reauthenticate(user, PASSWORD, client="192.0.2.1", request=None)
    for _ in range(5):
        with pytest.raises(ValidationError) as wrong:
            api_keys.reauthenticate(user, "wrong guess", client="192.0.2.1", request=None)
        assert wrong.value.message_dict == {
            "password": ["Your password was entered incorrectly. Please enter it again."]
        }
    with pytest.raises(RateLimited) as limited:
        api_keys.reauthenticate(user, PASSWORD, client="192.0.2.1", request=None)
    assert limited.value.retry_after == 300


def test_racing_wrong_passwords_stop_at_the_limit(user, monkeypatch):
    """R-79: a check is counted before the password is looked at (R-20's rule), so requests
    that race, each from its own client, cannot all pass under the per-user limit while the
    hasher works on the first of them."""
    checked = []
    lock = threading.Lock()

    def slow_and_wrong(request, **credentials):
        with lock:
            checked.append(credentials["username"])
        time.sleep(0.2)  # a password hasher's time
        return None

    monkeypatch.setattr(reauth, "authenticate", slow_and_wrong)
    barrier = threading.Barrier(20)
    outcomes = []

    def attempt(i):
        barrier.wait()
        try:
            api_keys.reauthenticate(user, "wrong guess", client=f"192.0.2.{i}", request=None)
        except (ValidationError, RateLimited) as error:
            with lock:
                outcomes.append(type(error).__name__)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(checked) == 5  # SELF_SERVICE_REAUTH_RATE_PER_USER
    assert Counter(outcomes) == {"ValidationError": 5, "RateLimited": 15}


def test_a_right_password_takes_its_count_back(user):
    """Only wrong passwords fill the limit, though every check is counted while it runs."""
    for _ in range(4):
        with pytest.raises(ValidationError):
            api_keys.reauthenticate(user, "wrong guess", client="192.0.2.1", request=None)
    for _ in range(3):
        api_keys.reauthenticate(user, PASSWORD, client="192.0.2.1", request=None)
    with pytest.raises(ValidationError):
        api_keys.reauthenticate(user, "wrong guess", client="192.0.2.1", request=None)
    with pytest.raises(RateLimited):
        api_keys.reauthenticate(user, PASSWORD, client="192.0.2.1", request=None)


def test_a_key_never_outlives_api_key_max_age(user, settings):
    """Lifetimes are asked in whole days, the shortest being one; a shorter
    ``API_KEY_MAX_AGE`` still caps the key."""
    settings.SECURETOKENS = {**settings.SECURETOKENS, "API_KEY_MAX_AGE": timedelta(hours=12)}
    assert api_keys.max_days() == 1
    api_key, _ = api_keys.create(user, name="short", scopes=[], expires_in_days=1)
    assert api_key.expires_at == timezone.now() + timedelta(hours=12)
    settings.SECURETOKENS = {**settings.SECURETOKENS, "API_KEY_MAX_AGE": None}
    api_key, _ = api_keys.create(user, name="long", scopes=[], expires_in_days=3650)
    assert api_key.expires_at == timezone.now() + timedelta(days=3650)
