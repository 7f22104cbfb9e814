"""APIKeyMiddleware, sync and async."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from django.db import connection
from django.test import AsyncClient, Client, override_settings
from django.test.utils import CaptureQueriesContext

from django_securetokens import crypto
from django_securetokens.models import APIKey

from .factories import UserFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("_with_middleware"),
]


@pytest.fixture
def _with_middleware():
    middleware = [*settings.MIDDLEWARE, "django_securetokens.middleware.APIKeyMiddleware"]
    with override_settings(MIDDLEWARE=middleware):
        yield


def bearer(secret):
    return {"Authorization": f"Bearer {secret}"}


def test_request_without_key_passes_with_api_key_none(client):
    response = client.get("/open/")
    assert response.status_code == 200
    assert response.json() == {"key": None, "user": None, "scopes": None}


def test_valid_key_sets_request_api_key_but_not_request_user(client, api_key):
    key, secret = api_key
    response = client.get("/open/", headers=bearer(secret))
    assert response.status_code == 200
    assert response.json() == {"key": f"sk_live_{key.selector}", "user": None, "scopes": []}
    assert "X-API-Key" in response.headers["Vary"]


@pytest.mark.parametrize(
    "headers", [{"Authorization": "Bearer nope"}, {"X-API-Key": "sk_live_" + "a" * 49}]
)
def test_bad_key_is_refused_on_any_url(client, headers):
    response = client.get("/open/", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="api", error="invalid_token"'


def test_key_in_query_string_is_refused_on_any_url(client, api_key):
    assert client.get("/open/", {"token": api_key[1]}).status_code == 401


def test_a_staff_users_key_does_not_open_the_admin(client):
    staff = UserFactory(is_staff=True, is_superuser=True)
    _, secret = APIKey.objects.issue(name="staff", user=staff)
    response = client.get("/admin/", headers=bearer(secret))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_middleware_and_decorator_authenticate_once(client, api_key):
    _, secret = api_key
    client.get("/api/whoami/", headers=bearer(secret))  # first use writes last_used_at
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/whoami/", headers=bearer(secret)).status_code == 200
    assert len(queries) == 1


@pytest.mark.usefixtures("frozen_clock")
@override_settings(SECURETOKENS={"API_KEY_FAILURE_RATE_PER_IP": ((2, 60),)})
def test_a_failure_is_counted_once_however_many_layers_see_it():
    client = Client()
    junk = crypto.new_api_key("sk_live", 43)[2]
    statuses = [client.get("/api/whoami/", headers=bearer(junk)).status_code for _ in range(3)]
    assert statuses == [401, 401, 429]


def test_async_middleware(api_key):
    key, secret = api_key
    client = AsyncClient()
    ok = async_to_sync(client.get)("/open/", headers=bearer(secret))
    assert ok.status_code == 200 and ok.json()["key"] == f"sk_live_{key.selector}"
    assert "Authorization" in ok.headers["Vary"]
    anonymous = async_to_sync(client.get)("/open/")
    assert anonymous.status_code == 200 and anonymous.json()["key"] is None
    assert async_to_sync(client.get)("/open/", headers=bearer("nope")).status_code == 401
    guarded = async_to_sync(client.get)("/api/async-whoami/", headers=bearer(secret))
    assert guarded.status_code == 200 and guarded.json()["user"] == key.user.username


def test_streaming_responses_pass_through(client, api_key):
    response = client.get("/api/stream/", headers=bearer(api_key[1]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"streamed body"
    assert "X-API-Key" in response.headers["Vary"]
    assert client.get("/api/stream/").status_code == 401


def test_streaming_responses_pass_through_async(api_key):
    client = AsyncClient()
    response = async_to_sync(client.get)("/api/stream/", headers=bearer(api_key[1]))
    assert response.status_code == 200
