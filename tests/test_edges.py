"""Edges the flow tests do not reach: async twins, owner-less tokens, optional settings and
the rarer admin paths. Each test states the behaviour it pins, not just the line it runs."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from django.apps import apps
from django.contrib.admin.sites import site
from django.core.exceptions import DisallowedHost
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext

from django_securetokens import checks, emails
from django_securetokens.admin_api_keys import APIKeyAddForm
from django_securetokens.exceptions import InvalidToken, TokenError
from django_securetokens.models import APIKey, SecureToken

from .factories import UserFactory

pytestmark = pytest.mark.django_db

BASE = "/admin/django_securetokens/apikey/"


@pytest.fixture
def superuser():
    return UserFactory(is_staff=True, is_superuser=True)


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


def test_async_use(reset_token):
    _, secret = reset_token
    token = SecureToken.objects.verify(secret, purpose="password_reset")
    assert async_to_sync(SecureToken.objects.ause)(token).used_at is not None
    with pytest.raises(TokenError):
        SecureToken.objects.verify(secret, purpose="password_reset")


def test_async_api_key_twins(user):
    key, secret = async_to_sync(APIKey.objects.aissue)(name="ci", user=user)
    assert async_to_sync(APIKey.objects.aauthenticate)(secret).pk == key.pk
    assert async_to_sync(APIKey.objects.arevoke)(key) is True
    with pytest.raises(TokenError):
        APIKey.objects.authenticate(secret)


def test_for_purpose_filters_by_purpose(user):
    reset, _ = SecureToken.objects.issue(user, purpose="password_reset")
    SecureToken.objects.issue_code(user=user, purpose="email_verification")
    assert list(SecureToken.objects.all().for_purpose("password_reset")) == [reset]


def test_a_token_whose_digest_key_was_retired_is_refused(reset_token):
    token, secret = reset_token
    verified = SecureToken.objects.verify(secret, purpose="password_reset")
    SecureToken.objects.filter(pk=token.pk).update(key_id="retired")
    verified.key_id = "retired"
    with pytest.raises(InvalidToken):
        SecureToken.objects.use(verified)


def test_revoke_for_every_purpose(user):
    SecureToken.objects.issue(user, purpose="password_reset")
    SecureToken.objects.issue_code(user=user, purpose="email_verification")
    assert SecureToken.objects.revoke_for(user) == 2
    assert not SecureToken.objects.all().live().exists()


def test_admin_owner_column_shows_the_address_of_an_ownerless_code():
    token, _ = SecureToken.objects.issue_code(purpose="email_verification", email="a@example.com")
    assert site._registry[SecureToken].owner(token) == "a@example.com"


def test_purpose_rules_without_ttls_need_no_ttl_check(settings):
    settings.SECURETOKENS = {"PURPOSES": {"invoice": {"CODE_DIGITS": 8}}}
    assert "securetokens.E005" not in [m.id for m in checks.check_settings()]


def test_links_without_request_need_base_url(settings):
    settings.SECURETOKENS = {}
    with pytest.raises(DisallowedHost):
        emails.site_origin(None)


def test_debug_without_allowed_hosts_accepts_localhost_only(settings):
    settings.SECURETOKENS = {}
    settings.DEBUG = True
    settings.ALLOWED_HOSTS = []
    assert emails.site_origin(RequestFactory().get("/", HTTP_HOST="localhost:8000")) == (
        "http://localhost:8000"
    )
    with pytest.raises(DisallowedHost):
        emails.site_origin(RequestFactory().get("/", HTTP_HOST="evil.example"))


def test_ready_leaves_the_user_admin_alone_when_the_action_is_off(settings, monkeypatch):
    attached = []
    monkeypatch.setattr(
        "django_securetokens.admin_users.attach_user_action", lambda: attached.append(1)
    )
    settings.SECURETOKENS = {"ADMIN_USER_ACTION": False}
    apps.get_app_config("django_securetokens").ready()
    assert attached == []


def test_without_a_max_age_the_expiry_may_be_left_empty(settings):
    settings.SECURETOKENS = {"API_KEY_MAX_AGE": None}
    form = APIKeyAddForm(data={"name": "ci", "scopes": ""})
    assert form.fields["expires_at"].initial is None
    assert form.is_valid(), form.errors
    assert form.cleaned_data["expires_at"] is None


def test_saving_an_unchanged_key_writes_nothing(superuser, api_key):
    key, _ = api_key
    client = Client()
    client.force_login(superuser)
    with CaptureQueriesContext(connection) as queries:
        response = client.post(f"{BASE}{key.pk}/change/", {"name": key.name, "scopes": ""})
    assert response.status_code == 302
    table = APIKey._meta.db_table
    assert not [q for q in queries if q["sql"].startswith("UPDATE") and table in q["sql"]]


def test_revoke_action_counts_only_keys_it_revoked(superuser, user):
    live, _ = APIKey.objects.issue(name="live", user=user)
    gone, _ = APIKey.objects.issue(name="gone", user=user)
    gone.revoke()
    client = Client()
    client.force_login(superuser)
    response = client.post(
        BASE, {"action": "revoke_keys", "_selected_action": [live.pk, gone.pk]}, follow=True
    )
    assert "1 API key was revoked." in response.content.decode()


@pytest.mark.usefixtures("frozen_clock")
def test_a_failure_that_races_past_the_budget_check_is_throttled(monkeypatch):
    """Two requests may both pass the "budget left?" check; the one whose counted failure
    does not fit gets 429, not 401."""
    monkeypatch.setattr("django_securetokens.ratelimit.hit", lambda *args, **kwargs: False)
    response = Client().get("/api/whoami/", headers={"Authorization": "Bearer junk"})
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"
