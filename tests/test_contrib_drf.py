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
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="api", error="invalid_token"'


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
    assert refused.headers["WWW-Authenticate"] == (
        'Bearer realm="api", error="insufficient_scope", scope="orders:read"'
    )
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


# --- RFC 6750: the same answers as the decorator ---------------------------------------------


def _decorator_answer(client, **headers):
    return client.get("/api/whoami/", **headers)


@pytest.mark.parametrize(
    "headers",
    [{}, bearer("nope"), bearer("sk_live_" + "a" * 49), {"HTTP_X_API_KEY": "x"}],
)
def test_refusals_carry_the_decorators_headers(api, client, headers):
    drf = api.get("/drf/whoami/", **headers)
    plain = _decorator_answer(client, **headers)
    assert drf.status_code == plain.status_code == 401
    for name in ("WWW-Authenticate", "Cache-Control"):
        assert drf.headers[name] == plain.headers[name]
    assert "no-store" in drf.headers["Cache-Control"] and "Expires" in drf.headers
    assert {"Authorization", "X-API-Key"} <= {v.strip() for v in drf.headers["Vary"].split(",")}


def test_scope_refusal_is_not_stored_and_varies(api, user):
    _, secret = APIKey.objects.issue(name="plain", user=user)
    response = api.get("/drf/orders/", **bearer(secret))
    assert response.status_code == 403
    assert "no-store" in response.headers["Cache-Control"]
    assert "X-API-Key" in response.headers["Vary"]


def test_success_varies_on_the_key_headers_and_keeps_drfs_own(api, api_key):
    response = api.get("/drf/whoami/", **bearer(api_key[1]))
    assert response.status_code == 200
    vary = [v.strip() for v in response.headers["Vary"].split(",")]
    assert {"Accept", "Authorization", "X-API-Key"} <= set(vary)
    assert len(vary) == len(set(vary))
    assert "no-store" not in response.headers.get("Cache-Control", "")


def test_throttled_refusal_is_not_stored(api, settings):
    settings.SECURETOKENS = {"API_KEY_FAILURE_RATE_PER_IP": ((1, 60),)}
    api.get("/drf/whoami/", **bearer("nope"))
    response = api.get("/drf/whoami/", **bearer("nope"))
    assert response.status_code == 429
    assert "no-store" in response.headers["Cache-Control"]


def test_authentication_outside_an_apiview(rf, api_key):
    from rest_framework.request import Request

    from django_securetokens.contrib.drf import APIKeyAuthentication

    request = Request(rf.get("/", **bearer(api_key[1])))
    assert APIKeyAuthentication().authenticate(request)[1] == api_key[0]
    assert APIKeyAuthentication().authenticate_header(Request(rf.get("/"))) == (
        'Bearer realm="api"'
    )


def test_another_librarys_auth_object_is_not_a_key(rf):
    from types import SimpleNamespace

    from django_securetokens.contrib.drf import APIKeyAuthentication, HasAPIKeyScope

    request = SimpleNamespace(successful_authenticator=APIKeyAuthentication(), auth="token")
    assert HasAPIKeyScope().has_permission(request, view=None) is False


# --- drf-spectacular ---------------------------------------------------------------------


def _schema():
    pytest.importorskip("drf_spectacular")
    from drf_spectacular.generators import SchemaGenerator

    with override_settings(
        REST_FRAMEWORK={"DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema"}
    ):
        return SchemaGenerator().get_schema(request=None, public=True)


def test_schema_lists_both_schemes_with_the_views_scopes():
    schema = _schema()
    schemes = schema["components"]["securitySchemes"]
    assert schemes["apiKeyBearer"]["type"] == "http"
    assert schemes["apiKeyBearer"]["scheme"] == "bearer"
    assert schemes["apiKeyBearer"]["bearerFormat"] == "sk_live_…"
    assert schemes["apiKeyHeader"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": schemes["apiKeyBearer"]["description"],
    }
    orders = schema["paths"]["/drf/orders/"]["get"]["security"]
    assert {"apiKeyBearer": ["orders:read"]} in orders
    assert {"apiKeyHeader": ["orders:read"]} in orders
    assert {"cookieAuth": []} in orders
    whoami = schema["paths"]["/drf/whoami/"]["get"]["security"]
    assert whoami == [{"apiKeyBearer": []}, {"apiKeyHeader": []}]
