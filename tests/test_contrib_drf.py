"""django_securetokens.contrib.drf; skipped when Django REST framework is not installed."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from django_securetokens import crypto
from django_securetokens.models import APIKey

pytest.importorskip("rest_framework")

from rest_framework.test import APIClient  # noqa: E402

pytestmark = pytest.mark.django_db


def bearer(secret):
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


@pytest.fixture
def api():
    return APIClient()


def test_valid_key_authenticates_as_its_owner(api, api_key, user):
    key, secret = api_key
    response = api.get("/drf/whoami/", **bearer(secret))
    assert response.status_code == 200
    assert response.json() == {"user": user.username, "key": key.selector}
    assert api.get("/drf/whoami/", HTTP_X_API_KEY=secret).status_code == 200


def test_missing_key_is_401_with_challenge(api):
    response = api.get("/drf/whoami/")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="api"'


@pytest.mark.parametrize("value", ["nope", "é" * 10, "a" * 100_000, "sk_live_" + "a" * 49])
def test_bad_key_is_401(api, value):
    response = api.get("/drf/whoami/", **bearer(value))
    assert response.status_code == 401
    assert response.json() == {"detail": "This API key is not valid."}
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="api"'


def test_key_in_query_string_is_401(api, api_key):
    assert api.get("/drf/whoami/", {"api_key": api_key[1]}).status_code == 401


@pytest.mark.usefixtures("frozen_clock")
@override_settings(SECURETOKENS={"API_KEY_FAILURE_RATE_PER_IP": ((2, 60),)})
def test_repeated_failures_are_throttled(api, api_key):
    junk = crypto.new_api_key("sk_live", 43)[2]
    statuses = [api.get("/drf/whoami/", **bearer(junk)).status_code for _ in range(3)]
    assert statuses == [401, 401, 429]
    blocked = api.get("/drf/whoami/", **bearer(api_key[1]))
    assert blocked.status_code == 429 and blocked.headers["Retry-After"] == "60"


def test_scope_permission(api, api_key, user):
    _, plain = api_key
    _, scoped = APIKey.objects.issue(name="orders", user=user, scopes=["orders:read"])
    allowed = api.get("/drf/orders/", **bearer(scoped))
    assert allowed.status_code == 200 and allowed.json() == {"scopes": ["orders:read"]}
    refused = api.get("/drf/orders/", **bearer(plain))
    assert refused.status_code == 403
    assert refused.json() == {
        "detail": "This API key does not grant the scope this resource requires."
    }
    assert api.get("/drf/orders/").status_code == 401  # no credentials at all
    api.force_login(user)
    assert api.get("/drf/orders/").status_code == 403  # a session is not a key


def test_key_without_owner_is_anonymous(api):
    _, secret = APIKey.objects.issue(name="svc", never_expires=True)
    assert api.get("/drf/whoami/", **bearer(secret)).status_code == 403


def test_no_csrf_token_needed(api_key):
    api = APIClient(enforce_csrf_checks=True)
    assert api.post("/drf/whoami/", **bearer(api_key[1])).status_code == 201


def test_with_the_middleware_a_request_is_authenticated_once(api, api_key):
    _, secret = api_key
    middleware = [*settings.MIDDLEWARE, "django_securetokens.middleware.APIKeyMiddleware"]
    with override_settings(MIDDLEWARE=middleware):
        api.get("/drf/whoami/", **bearer(secret))
        with CaptureQueriesContext(connection) as queries:
            assert api.get("/drf/whoami/", **bearer(secret)).status_code == 200
    assert len(queries) == 1
