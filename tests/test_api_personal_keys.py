"""Personal API keys over JSON (``api_keys``, ``api_key_revoke``): R-79, R-85, on every
database. The same flow as the pages (tests/test_views_api_keys.py)."""

from __future__ import annotations

import json
from datetime import timedelta
from unittest import mock

import pytest
from django.contrib.auth import authenticate
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from rest_framework.authentication import SessionAuthentication

from django_securetokens.api.api_keys import APIKeyRevokeView, APIKeysView
from django_securetokens.contrib.drf import APIKeyAuthentication
from django_securetokens.models import APIKey

from .api_support import JSON, APIClient, assert_no_store, post, url
from .conftest import failure_report
from .factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_cache", "frozen_clock")]

PASSWORD = "correct horse battery staple"  # the factory's
ON = {
    "BASE_URL": "https://testserver.example",
    "SELF_SERVICE_API_KEYS": True,
    "SELF_SERVICE_API_KEY_SCOPES": ["orders:read", "orders:write"],
}
DOWN = {"default": {"BACKEND": "tests.faults.DownCache"}}
LISTED = {
    "id",
    "name",
    "key_id",
    "scopes",
    "created_at",
    "last_used_at",
    "expires_at",
    "state",
}


@pytest.fixture(autouse=True)
def _feature_on(settings):
    settings.SECURETOKENS = ON


@pytest.fixture
def client(user):
    client = APIClient()
    client.force_login(user)
    return client


#: A field left out of the body.
OMIT = object()


def create(client, headers=None, **fields):
    """POST a new key's body: a plausible one, with *fields* changed (or left out)."""
    body = {
        "name": "laptop",
        "scopes": ["orders:read"],
        "expires_in_days": 30,
        "password": PASSWORD,
        **fields,
    }
    body = {name: value for name, value in body.items() if value is not OMIT}
    return post(client, "api_keys", body, **(headers or {}))


def listing(client):
    response = client.get(url("api_keys"))
    assert response.status_code == 200, response.content
    assert_no_store(response)
    return response.json()


def revoke(client, pk, **extra):
    return client.post(
        reverse("securetokens_api:api_key_revoke", kwargs={"pk": pk}),
        {},
        format="json",
        **extra,
    )


def test_urls_are_the_contract():
    assert url("api_keys") == "/api/auth/api-keys/"
    assert reverse("securetokens_api:api_key_revoke", kwargs={"pk": 7}) == (
        "/api/auth/api-keys/7/revoke/"
    )


def test_create_list_use_and_revoke(client, user):
    assert listing(client) == {
        "api_keys": [],
        "scopes": ["orders:read", "orders:write"],
        "limit": 10,
        "max_days": 365,
    }

    response = create(client)
    assert response.status_code == 201, response.content
    assert_no_store(response)
    assert response["Referrer-Policy"] == "no-referrer"
    created = response.json()
    secret = created["key"]
    api_key = APIKey.objects.authenticate(secret)
    assert (api_key.user, api_key.name, api_key.scopes) == (user, "laptop", ["orders:read"])
    assert abs(api_key.expires_at - timezone.now() - timedelta(days=30)) < timedelta(minutes=1)
    assert set(created) == LISTED | {"detail", "key"}
    assert created["id"] == api_key.pk and created["state"] == "live"
    assert created["key_id"] == f"{api_key.prefix}_{api_key.selector}"
    assert secret.startswith(created["key_id"])
    assert secret not in str(dict(client.session))

    # The key works, as its owner, on a view behind the decorator.
    used = APIClient().get("/api/whoami/", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert used.status_code == 200 and used.json()["user"] == user.username

    listed = listing(client)
    assert secret not in json.dumps(listed)
    [entry] = listed["api_keys"]
    assert set(entry) == LISTED
    assert entry == {key: created[key] for key in LISTED} | {"last_used_at": entry["last_used_at"]}
    assert entry["last_used_at"] is not None  # the whoami request above

    revoked = revoke(client, api_key.pk)
    assert revoked.status_code == 200
    assert_no_store(revoked)
    assert revoked.json()["state"] == "revoked" and revoked.json()["id"] == api_key.pk
    refused = APIClient().get("/api/whoami/", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert refused.status_code == 401
    assert [e["state"] for e in listing(client)["api_keys"]] == ["revoked"]
    assert revoke(client, api_key.pk).json()["state"] == "revoked"  # again: no change


def test_the_list_is_the_users_own_newest_first_with_each_state(client, user, frozen_clock):
    APIKey.objects.issue(name="theirs", user=UserFactory())
    APIKey.objects.issue(name="old", user=user, expires_at=timezone.now() + timedelta(days=1))
    frozen_clock.shift(timedelta(minutes=1))
    APIKey.objects.issue(name="gone", user=user)[0].revoke()
    frozen_clock.shift(timedelta(minutes=1))
    APIKey.objects.issue(name="new", user=user, scopes=["orders:write"])
    frozen_clock.shift(timedelta(days=1))
    keys = listing(client)["api_keys"]
    assert [(k["name"], k["state"]) for k in keys] == [
        ("new", "live"),
        ("gone", "revoked"),
        ("old", "expired"),
    ]
    assert keys[0]["scopes"] == ["orders:write"] and keys[0]["last_used_at"] is None


def test_another_users_key_is_404(client):
    theirs, secret = APIKey.objects.issue(name="theirs", user=UserFactory())
    for pk in (theirs.pk, 999_999, 10**30):
        response = revoke(client, pk)
        assert response.status_code == 404, pk
        assert response["Content-Type"] == JSON
        assert_no_store(response)
    assert APIKey.objects.authenticate(secret)  # still live


@pytest.mark.parametrize("pk", ["abc", "-1", "1.0", "0", "\u0663", "9" * 30, "%00", "1 "])
def test_an_id_that_is_no_key_id_is_a_json_404(client, api_key, pk):
    path = url("api_keys") + f"{pk}/revoke/"
    response = client.post(path, {}, format="json")
    assert response.status_code == 404
    assert response["Content-Type"] == JSON
    assert APIKey.objects.get().revoked_at is None


def test_revoke_is_post_only(client, api_key):
    response = client.get(reverse("securetokens_api:api_key_revoke", kwargs={"pk": api_key[0].pk}))
    assert response.status_code == 405
    assert APIKey.objects.authenticate(api_key[1])


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"scopes": ["admin"]}, "scopes"),
        ({"scopes": ["orders:read", "orders:delete"]}, "scopes"),
        ({"expires_in_days": 366}, "expires_in_days"),
        ({"expires_in_days": 0}, "expires_in_days"),
        ({"expires_in_days": -1}, "expires_in_days"),
        ({"expires_in_days": 10**400}, "expires_in_days"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "tab\there"}, "name"),
        ({"name": "nul\x00byte"}, "name"),
    ],
)
def test_values_outside_the_rules_are_400_on_their_field(client, password_checks, fields, field):
    response = create(client, **fields)
    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert not APIKey.objects.exists()
    assert password_checks.call_count == 0  # the password is checked only for an acceptable key


def test_the_messages_say_the_rules(client):
    assert create(client, scopes=["admin"]).json() == {
        "scopes": ["Choose scopes from this list only: orders:read, orders:write."]
    }
    assert create(client, expires_in_days=400).json() == {
        "expires_in_days": ["A key lives from 1 to 365 days."]
    }
    assert create(client, name="x" * 101).json() == {
        "name": ["Give the key a name of 1 to 100 printable characters."]
    }


def test_scopes_are_optional_and_deduplicated(client):
    assert create(client, scopes=OMIT).status_code == 201
    assert create(client, name="b", scopes=["orders:write", "orders:write"]).status_code == 201
    assert sorted(APIKey.objects.values_list("name", "scopes")) == [
        ("b", ["orders:write"]),
        ("laptop", []),
    ]


def test_without_allowed_scopes_a_key_carries_none(client, settings):
    settings.SECURETOKENS = {**ON, "SELF_SERVICE_API_KEY_SCOPES": ()}
    assert listing(client)["scopes"] == []
    assert create(client, scopes=["orders:read"]).json() == {
        "scopes": ["Keys made here carry no scopes."]
    }
    assert create(client, scopes=[]).status_code == 201
    assert APIKey.objects.get().scopes == []


def test_lifetime_is_capped_by_api_key_max_age(client, settings):
    settings.SECURETOKENS = {**ON, "API_KEY_MAX_AGE": timedelta(days=7)}
    assert listing(client)["max_days"] == 7
    assert list(create(client, expires_in_days=8).json()) == ["expires_in_days"]
    assert create(client, expires_in_days=7).status_code == 201
    settings.SECURETOKENS = {**ON, "API_KEY_MAX_AGE": None}
    assert listing(client)["max_days"] == 3650


def test_limit_of_live_keys(client, user, settings, password_checks):
    settings.SECURETOKENS = {**ON, "SELF_SERVICE_API_KEY_LIMIT": 2}
    APIKey.objects.issue(name="a", user=user)
    APIKey.objects.issue(name="old", user=user, expires_at=timezone.now() - timedelta(days=1))
    APIKey.objects.issue(name="gone", user=user)[0].revoke()
    assert create(client, name="b").status_code == 201  # expired and revoked keys do not count
    refused = create(client, name="c")
    assert refused.status_code == 400
    assert refused.json() == {
        "non_field_errors": ["You already have 2 live keys, the most allowed. Revoke one first."]
    }
    assert password_checks.call_count == 1  # only for the key that was made
    assert APIKey.objects.filter(user=user).count() == 4
    assert listing(client)["limit"] == 2


def test_a_key_that_took_the_last_place_meanwhile_is_refused(client, user, settings):
    """The limit is checked again under the user's row lock, where a concurrent request
    may have taken the last place (test_concurrency.py races it for real)."""
    settings.SECURETOKENS = {**ON, "SELF_SERVICE_API_KEY_LIMIT": 1}
    real = authenticate

    def meanwhile(*args, **kwargs):
        APIKey.objects.issue(name="meanwhile", user=user)
        return real(*args, **kwargs)

    with mock.patch("django_securetokens.flows.reauth.authenticate", side_effect=meanwhile):
        refused = create(client)
    assert list(refused.json()) == ["non_field_errors"]
    assert list(APIKey.objects.values_list("name", flat=True)) == ["meanwhile"]


# --- the password, every time: through authenticate(), throttled (R-79, R-85) ---------------


def test_the_password_is_required_every_time(client):
    assert create(client).status_code == 201
    response = create(client, name="again", password=OMIT)
    assert response.status_code == 400 and list(response.json()) == ["password"]


def test_a_wrong_password_is_400_reported_and_throttled_per_user(
    client, user, password_checks, login_failures
):
    for _ in range(5):
        response = create(client, password="wrong guess")
        assert response.status_code == 400
        assert response.json() == {
            "password": ["Your password was entered incorrectly. Please enter it again."]
        }
    assert [f["username"] for f in login_failures] == [user.username] * 5
    assert password_checks.call_count == 5
    assert password_checks.call_args.args[0] is not None  # the request, for lockout tools

    blocked = create(client)  # even the right password, over the limit
    assert blocked.status_code == 429
    assert int(blocked["Retry-After"]) > 0
    assert_no_store(blocked)
    assert password_checks.call_count == 5  # not looked at
    other_address = create(client, {"REMOTE_ADDR": "10.9.8.7"})
    assert other_address.status_code == 429  # the count is per user too
    assert not APIKey.objects.exists()


def test_the_page_and_the_endpoint_share_the_count(client, user):
    page = APIClient()
    page.force_login(user)
    for _ in range(3):
        page.post(
            "/accounts/api-keys/",
            {"name": "x", "expires_in_days": "1", "password": "wrong guess"},
        )
    for _ in range(2):
        assert create(client, password="wrong guess").status_code == 400
    assert create(client).status_code == 429


@override_settings(SECURETOKENS={**ON, "SELF_SERVICE_REAUTH_RATE_PER_IP": ((3, 300),)})
def test_the_password_check_is_throttled_per_client():
    for _ in range(3):
        client = APIClient()
        client.force_login(UserFactory())
        assert create(client, password="wrong guess").status_code == 400
    client = APIClient()
    client.force_login(UserFactory())
    assert create(client).status_code == 429


@override_settings(CACHES=DOWN)
def test_with_the_cache_down_the_check_fails_closed(client, password_checks):
    assert create(client).status_code == 429
    assert password_checks.call_count == 0
    assert not APIKey.objects.exists()


def test_a_user_without_a_password_cannot_create_keys(user):
    user.set_unusable_password()
    user.save()
    client = APIClient()
    client.force_login(user)
    assert list(create(client, password="").json()) == ["password"]
    assert list(create(client, password="anything").json()) == ["password"]


# --- who may: the switch, sign-in, and never an API key ----------------------------------


@pytest.mark.parametrize("signed_in", [False, True])
def test_off_by_default_every_endpoint_is_404(settings, user, signed_in):
    settings.SECURETOKENS = {}
    client = APIClient()
    if signed_in:
        client.force_login(user)
    api_key, _ = APIKey.objects.issue(name="mine", user=user)
    for response in (client.get(url("api_keys")), create(client), revoke(client, api_key.pk)):
        assert response.status_code == 404
        assert response["Content-Type"] == JSON
    assert APIKey.objects.get().revoked_at is None


def test_signed_out_is_refused(api_key):
    client = APIClient()
    for response in (client.get(url("api_keys")), create(client), revoke(client, api_key[0].pk)):
        assert response.status_code in (401, 403)
    assert APIKey.objects.get().revoked_at is None


@pytest.fixture
def key_authentication(monkeypatch):
    """The endpoints authenticate API keys, as a project listing ``APIKeyAuthentication`` in
    ``DEFAULT_AUTHENTICATION_CLASSES`` has them (DRF reads that setting at import)."""
    classes = [APIKeyAuthentication, SessionAuthentication]
    for view in (APIKeysView, APIKeyRevokeView):
        monkeypatch.setattr(view, "authentication_classes", classes)


@pytest.mark.usefixtures("key_authentication")
def test_a_request_authenticated_by_an_api_key_is_refused(user):
    api_key, secret = APIKey.objects.issue(name="leaked", user=user, scopes=["orders:read"])
    client = APIClient(HTTP_AUTHORIZATION=f"Bearer {secret}")
    for response in (
        client.get(url("api_keys")),
        create(client),
        revoke(client, api_key.pk),
    ):
        assert response.status_code == 403
        assert response.json() == {
            "detail": "An API key cannot list, create or revoke API keys. Sign in instead."
        }
    assert APIKey.objects.count() == 1 and APIKey.objects.get().revoked_at is None


def test_a_session_request_that_carries_a_key_is_refused(client, settings, api_key):
    """With ``APIKeyMiddleware`` a key beside the session cookie is seen, and refused too."""
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "django_securetokens.middleware.APIKeyMiddleware"]
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {api_key[1]}"}
    assert client.get(url("api_keys"), **bearer).status_code == 403
    assert create(client, bearer).status_code == 403
    assert revoke(client, api_key[0].pk, **bearer).status_code == 403
    assert client.get(url("api_keys")).status_code == 200  # the session alone may


def test_a_session_client_needs_its_csrf_token(user):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.get(url("api_keys")).status_code == 200  # a read needs none
    assert create(client).status_code == 403
    assert not APIKey.objects.exists()


# --- bad input: a 400, never a 500, and nothing made -----------------------------------


WRONG_TYPES = {
    "name": [1, True, None, [], {}, ["laptop"]],
    "scopes": ["orders:read", 1, True, {}, [1], [None], [["orders:read"]], [{"a": "b"}]],
    "expires_in_days": ["30", 30.5, 30.0, True, None, [], {}, [30]],
    "password": [1, True, None, [], {}, [PASSWORD]],
}


@pytest.mark.parametrize(("field", "value"), [(f, v) for f, vs in WRONG_TYPES.items() for v in vs])
def test_wrong_json_types_are_400_on_their_field(client, password_checks, field, value):
    response = create(client, **{field: value})
    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert not APIKey.objects.exists()
    assert password_checks.call_count == 0


@pytest.mark.parametrize(
    "raw",
    ["", "not json", "{", "null", "[]", "42", '"text"', "{}" * 100_000],
)
def test_a_body_that_is_no_json_object(client, raw):
    response = post(client, "api_keys", raw)
    assert response.status_code == 400
    assert isinstance(response.json(), dict)
    assert not APIKey.objects.exists()


@pytest.mark.parametrize(
    "text", ['"\\ud800"', '"\\udc80\\udc80"', '"a\\u0000b"', '"' + "a" * 1_000_000 + '"']
)
@pytest.mark.parametrize("field", ["name", "password"])
def test_bad_strings_are_400_on_their_field(client, password_checks, text, field):
    """Raw JSON text, so that lone surrogates can be written."""
    body = {"name": "laptop", "expires_in_days": 30, "password": PASSWORD}
    raw = json.dumps({k: v for k, v in body.items() if k != field})[:-1] + f', "{field}": {text}}}'
    response = post(client, "api_keys", raw)
    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert not APIKey.objects.exists()
    assert password_checks.call_count == 0


def test_a_form_encoded_body_is_unsupported(client):
    response = client.post(
        url("api_keys"), "name=laptop", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 415
    assert not APIKey.objects.exists()


def test_revoke_takes_an_empty_object_only(client, api_key):
    path = reverse("securetokens_api:api_key_revoke", kwargs={"pk": api_key[0].pk})
    assert client.post(path, "[]", content_type=JSON).status_code == 400
    assert client.post(path, "x", content_type="text/plain").status_code == 415
    assert APIKey.objects.get().revoked_at is None
    assert client.post(path, "", content_type=JSON).status_code == 200  # no body: no fields


def test_non_ascii_names_are_fine(client):
    assert create(client, name="clé ✓ 鍵").status_code == 201
    assert APIKey.objects.get().name == "clé ✓ 鍵"


def test_an_error_report_after_the_key_is_made_shows_it_nowhere(user, monkeypatch):
    """R-46: a failure once the new key exists (here, building the answer) must not put the
    key into Django's error report, in any frame of the app's code."""
    from rest_framework.test import APIRequestFactory, force_authenticate

    from django_securetokens.api import api_keys as endpoint

    made = []
    create_key = endpoint.api_keys.create

    def recording(*args, **kwargs):
        made.append(create_key(*args, **kwargs))
        return made[-1]

    def broken(*args, **kwargs):
        raise RuntimeError("injected fault")

    monkeypatch.setattr(endpoint.api_keys, "create", recording)
    monkeypatch.setattr(endpoint, "Response", broken)
    body = {"name": "laptop", "scopes": [], "expires_in_days": 1, "password": PASSWORD}
    request = APIRequestFactory().post(url("api_keys"), body, format="json")
    force_authenticate(request, user=user)
    data = failure_report(lambda: APIKeysView.as_view()(request), request)

    ours = [f for f in data["frames"] if "django_securetokens" in f["filename"]]
    assert {f["function"] for f in ours} >= {"post"}
    [(_, secret)] = made
    assert secret not in repr([f["vars"] for f in ours])
