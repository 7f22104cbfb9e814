"""api_key_required and APIKeyRequiredMixin: headers, refusals, scopes, CSRF, rate limits."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
import time_machine
from asgiref.sync import async_to_sync
from django.db import DatabaseError, connection
from django.test import AsyncClient, Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.views.debug import ExceptionReporter

from django_securetokens import api_keys, crypto, http
from django_securetokens.decorators import api_key_required
from django_securetokens.models import APIKey

from .conftest import flip_last
from .factories import UserFactory

pytestmark = pytest.mark.django_db

WHOAMI = "/api/whoami/"
THREE_PER_MINUTE = {"API_KEY_FAILURE_RATE_PER_IP": ((3, 60),)}


def bearer(secret):
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def scoped_key(user):
    return APIKey.objects.issue(name="orders", user=user, scopes=["orders:read"])


def _unknown_key():
    return crypto.new_api_key("sk_live", 43)[2]


@pytest.mark.parametrize(
    "headers",
    [
        lambda s: {"Authorization": f"Bearer {s}"},
        lambda s: {"Authorization": f"bearer {s}"},
        lambda s: {"Authorization": f"BEARER   {s}  "},
        lambda s: {"X-API-Key": s},
        lambda s: {"Authorization": f"Bearer {s}", "X-API-Key": s},
        lambda s: {"Authorization": "Basic dXNlcjpwYXNz", "X-API-Key": s},
    ],
)
def test_key_is_accepted_from_either_header(client, api_key, user, headers):
    key, secret = api_key
    response = client.get(WHOAMI, headers=headers(secret))
    assert response.status_code == 200
    assert response.json() == {
        "key": f"sk_live_{key.selector}",
        "user": user.username,
        "scopes": [],
    }
    assert {"Authorization", "X-API-Key"} <= set(
        response.headers["Vary"].replace(" ", "").split(",")
    )


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Basic dXNlcjpwYXNz"}])
def test_missing_key_is_401_with_a_bearer_challenge(client, headers):
    response = client.get(WHOAMI, headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response.json() == {"detail": "An API key is required."}
    assert "no-store" in response.headers["Cache-Control"]


def _bad_headers(api_key, user):
    """Every way of presenting a key that must fail, as name -> headers."""
    key, secret = api_key
    revoked, revoked_secret = APIKey.objects.issue(name="r", user=user)
    revoked.revoke()
    expired, expired_secret = APIKey.objects.issue(
        name="e", user=user, expires_at=timezone.now() + timedelta(seconds=1)
    )
    APIKey.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    inactive_user = UserFactory(is_active=False)
    _, inactive_secret = APIKey.objects.issue(name="i", user=inactive_user)
    flipped = secret[:-1] + ("0" if secret[-1] != "0" else "1")
    return {
        "unknown": bearer(_unknown_key()),
        "flipped checksum": bearer(flipped),
        "revoked": bearer(revoked_secret),
        "expired": bearer(expired_secret),
        "inactive owner": bearer(inactive_secret),
        "empty bearer": {"Authorization": "Bearer"},
        "empty bearer with space": {"Authorization": "Bearer "},
        "empty x-api-key": {"X-API-Key": ""},
        "two different keys": {**bearer(secret), "X-API-Key": _unknown_key()},
        "one megabyte": bearer("a" * 1_000_000),
        "one megabyte x-api-key": {"X-API-Key": "sk_live_" + "a" * 1_000_000},
        "non-ascii": bearer("sk_live_" + "é" * 49),
        "latin-1 mojibake": bearer(secret[:-2] + "Ã©"),
        "nul": bearer(secret[:-1] + "\0"),
        "surrogate": bearer("sk_live_" + "\udc80" * 49),
        "newline": bearer(secret + "\n"),
        "key and junk": bearer(f"{secret} extra"),
        "prefix only": bearer("sk_live_"),
    }


@pytest.mark.usefixtures("frozen_clock")  # ``Expires`` is the current second
def test_every_bad_key_gets_the_same_401(client, api_key, user):
    cases = _bad_headers(api_key, user)
    reference = client.get(WHOAMI, headers=cases.pop("unknown"))
    assert reference.status_code == 401
    assert reference.json() == {"detail": "This API key is not valid."}
    challenge = 'Bearer realm="api", error="invalid_token"'
    assert reference.headers["WWW-Authenticate"] == challenge
    for name, headers in cases.items():
        response = client.get(WHOAMI, headers=headers)
        assert response.status_code == 401, name
        assert response.content == reference.content, name
        assert dict(response.headers) == dict(reference.headers), name


@pytest.mark.parametrize("where", ["query", "cookie", "form", "query and header", "cookie+header"])
def test_keys_outside_the_headers_are_refused(client, api_key, where):
    _, secret = api_key
    if where == "query":
        response = client.get(WHOAMI, {"api_key": secret})
    elif where == "cookie":
        client.cookies["api_key"] = secret
        response = client.get(WHOAMI)
    elif where == "form":
        response = client.post(WHOAMI, {"api_key": secret})
    elif where == "query and header":
        response = client.get(f"{WHOAMI}?key={secret}", headers=bearer(secret))
    else:
        client.cookies["session_key"] = f"x{secret}"[1:]
        response = client.get(WHOAMI, headers=bearer(secret))
    assert response.status_code == 401


def test_query_strings_and_cookies_without_keys_are_fine(client, api_key):
    _, secret = api_key
    client.cookies["theme"] = "sk_live_dark"
    response = client.get(WHOAMI, {"q": "sk_live_", "page": "2"}, headers=bearer(secret))
    assert response.status_code == 200


def test_misplaced_key_is_logged_without_the_key(client, api_key, caplog):
    _, secret = api_key
    with caplog.at_level(logging.DEBUG):
        client.get(WHOAMI, {"api_key": secret})
    assert "sent in the URL or a cookie" in caplog.text
    assert secret[8:] not in caplog.text


def test_scopes(client, api_key, scoped_key):
    _, plain = api_key
    _, scoped = scoped_key
    refused = client.get("/api/orders/", headers=bearer(plain))
    assert refused.status_code == 403
    assert refused.headers["WWW-Authenticate"] == (
        'Bearer realm="api", error="insufficient_scope", scope="orders:read"'
    )
    assert refused.json() == {
        "detail": "This API key does not grant the scope this resource requires."
    }
    allowed = client.get("/api/orders/", headers=bearer(scoped))
    assert allowed.status_code == 200 and allowed.json()["scopes"] == ["orders:read"]
    assert client.get("/api/orders/", headers=bearer(_unknown_key())).status_code == 401
    assert client.get("/api/orders/").status_code == 401


def test_scopes_outside_the_rfc_6750_alphabet_stay_out_of_the_challenge(rf, api_key):
    @api_key_required('bad"scope', "good")
    def view(request):  # pragma: no cover - never reached
        raise AssertionError

    request = rf.get("/", headers=bearer(api_key[1]))
    response = view(request)
    assert response.status_code == 403
    assert response.headers["WWW-Authenticate"].endswith('scope="good"')


def test_the_key_owner_is_the_user_and_a_key_without_owner_is_anonymous(client, user):
    _, secret = APIKey.objects.issue(name="svc", never_expires=True)
    assert client.get(WHOAMI, headers=bearer(secret)).json()["user"] is None
    other = UserFactory()
    client.force_login(other)
    _, mine = APIKey.objects.issue(name="mine", user=user)
    assert client.get(WHOAMI, headers=bearer(mine)).json()["user"] == user.username
    assert client.get(WHOAMI).status_code == 401  # a session is not a key


def test_key_requests_need_no_csrf_token(api_key, scoped_key):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/api/cbv-orders/", headers=bearer(scoped_key[1]))
    assert response.status_code == 201
    assert client.post("/api/cbv-orders/").status_code == 401
    assert client.post("/api/cbv-orders/", headers=bearer(api_key[1])).status_code == 403


def test_class_based_view_mixin(client, scoped_key, api_key):
    assert client.get("/api/cbv-orders/", headers=bearer(scoped_key[1])).status_code == 200
    assert client.get("/api/cbv-orders/", headers=bearer(api_key[1])).status_code == 403
    assert client.get("/api/cbv-orders/").status_code == 401
    assert client.put("/api/cbv-orders/", headers=bearer(scoped_key[1])).status_code == 405


@pytest.mark.parametrize("url", ["/api/async-whoami/", "/api/async-cbv-orders/"])
def test_async_views(url, scoped_key, api_key):
    client = AsyncClient()
    ok = async_to_sync(client.get)(url, headers=bearer(scoped_key[1]))
    assert ok.status_code == 200 and ok.json()["scopes"] == ["orders:read"]
    assert async_to_sync(client.get)(url).status_code == 401
    assert async_to_sync(client.get)(url, headers=bearer(_unknown_key())).status_code == 401
    if "cbv" in url:
        assert async_to_sync(client.get)(url, headers=bearer(api_key[1])).status_code == 403


def test_decorator_rejects_non_string_scopes():
    with pytest.raises(TypeError):
        api_key_required(["orders:read"])


def test_hot_path_is_one_query(client, api_key):
    _, secret = api_key
    client.get(WHOAMI, headers=bearer(secret))  # first use writes last_used_at
    with CaptureQueriesContext(connection) as queries:
        assert client.get(WHOAMI, headers=bearer(secret)).status_code == 200
    assert len(queries) == 1


# --- rate limiting (R-38) ---------------------------------------------------------------------


@pytest.mark.usefixtures("frozen_clock")
def test_sixty_failures_a_minute_then_429_for_every_key(api_key):
    client = Client(REMOTE_ADDR="203.0.113.5")
    _, secret = api_key
    statuses = [client.get(WHOAMI, headers=bearer(_unknown_key())).status_code for _ in range(61)]
    assert statuses == [401] * 60 + [429]
    blocked = client.get(WHOAMI, headers=bearer(secret))
    assert blocked.status_code == 429 and blocked.headers["Retry-After"] == "60"
    assert blocked.json() == {"detail": "Too many failed API-key attempts. Try again later."}
    other = Client(REMOTE_ADDR="198.51.100.1")
    assert other.get(WHOAMI, headers=bearer(secret)).status_code == 200


@override_settings(SECURETOKENS=THREE_PER_MINUTE)
def test_the_block_ends_with_the_window(api_key):
    client = Client()
    with time_machine.travel("2030-01-01 12:00:00", tick=False) as traveller:
        for _ in range(4):
            client.get(WHOAMI, headers=bearer(_unknown_key()))
        assert client.get(WHOAMI, headers=bearer(api_key[1])).status_code == 429
        traveller.shift(timedelta(seconds=61))
        APIKey.objects.filter(pk=api_key[0].pk).update(expires_at=None)
        assert client.get(WHOAMI, headers=bearer(api_key[1])).status_code == 200


@pytest.mark.usefixtures("frozen_clock")
@override_settings(SECURETOKENS=THREE_PER_MINUTE)
def test_bad_input_counts_but_missing_and_misplaced_keys_do_not(api_key):
    client = Client()
    for _ in range(10):
        assert client.get(WHOAMI).status_code == 401
        assert client.get(WHOAMI, {"api_key": api_key[1]}).status_code == 401
    client.get(WHOAMI, headers={"Authorization": "Bearer junk"})
    client.get(WHOAMI, headers=bearer("x" * 1_000_000))
    client.get(WHOAMI, headers={"X-API-Key": "\0"})
    assert client.get(WHOAMI, headers={"Authorization": "Bearer junk"}).status_code == 429


@pytest.mark.usefixtures("frozen_clock")
@override_settings(SECURETOKENS=THREE_PER_MINUTE)
def test_rotating_x_forwarded_for_does_not_escape_the_limit():
    client = Client()
    statuses = [
        client.get(
            WHOAMI, headers={**bearer(_unknown_key()), "X-Forwarded-For": f"10.0.0.{i}"}
        ).status_code
        for i in range(5)
    ]
    assert statuses == [401, 401, 401, 429, 429]


@pytest.mark.usefixtures("frozen_clock")
@override_settings(SECURETOKENS={**THREE_PER_MINUTE, "TRUSTED_PROXY_COUNT": 1})
def test_behind_a_trusted_proxy_clients_are_told_apart_by_x_forwarded_for():
    client = Client()
    for ip in ("203.0.113.1", "203.0.113.2"):
        for _ in range(3):
            response = client.get(WHOAMI, headers={**bearer("junk"), "X-Forwarded-For": ip})
            assert response.status_code == 401


@override_settings(SECURETOKENS={"API_KEY_FAILURE_RATE_PER_IP": ((1000, 60),)})
def test_rate_limit_can_be_loosened(client):
    statuses = {client.get(WHOAMI, headers=bearer("junk")).status_code for _ in range(70)}
    assert statuses == {401}


@pytest.mark.usefixtures("frozen_clock")
def test_no_key_reaches_the_logs(client, api_key, scoped_key, caplog):
    key, secret = api_key
    key_secret_part = secret[20:]
    with caplog.at_level(logging.DEBUG):
        client.get(WHOAMI, headers=bearer(secret))
        client.get("/api/orders/", headers=bearer(secret))
        client.get(WHOAMI, headers=bearer(flip_last(secret)))
        client.get(WHOAMI, {"api_key": secret})
        key.revoke()
        client.get(WHOAMI, headers=bearer(secret))
        for _ in range(61):
            client.get(WHOAMI, headers=bearer(secret))
    text = caplog.text + " ".join(repr(r.args) for r in caplog.records)
    assert "failure limit reached" in text
    assert key_secret_part not in text and scoped_key[1][20:] not in text


def _failing_authentication(request):
    # The traceback starts in this frame, which holds the request but not the key.
    with pytest.raises(DatabaseError) as failure:
        http.authenticate(request)
    return ExceptionReporter(request, failure.type, failure.value, failure.tb)


def test_a_database_failure_mid_authentication_reports_no_key(rf, api_key, monkeypatch):
    """Error reports (the DEBUG page, mails to ADMINS) show frame variables and request
    headers; the key must be in neither (R-65)."""
    _, secret = api_key

    def broken(manager, selector, using):
        raise DatabaseError("connection lost")

    monkeypatch.setattr(api_keys._BY_SELECTOR, "first", broken)
    for headers in (bearer(secret), {"X-API-Key": secret}):
        reporter = _failing_authentication(rf.get(WHOAMI, headers=headers))
        for report in (reporter.get_traceback_text(), reporter.get_traceback_html()):
            assert "connection lost" in report and "_authenticate" in report
            assert secret[20:] not in report and secret[8:40] not in report
