"""Personal API keys (``api_keys``, ``api_key_revoke``): R-79, R-85, on every database."""

from __future__ import annotations

import re
from datetime import timedelta
from unittest import mock

import pytest
from django.contrib.auth.signals import user_login_failed
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from django_securetokens.api_key_forms import APIKeyCreateForm
from django_securetokens.models import APIKey
from django_securetokens.views.api_keys import REAUTH_SESSION_KEY

from .factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
LIST = "/accounts/api-keys/"
ON = {
    "BASE_URL": "https://testserver.example",
    "SELF_SERVICE_API_KEYS": True,
    "SELF_SERVICE_API_KEY_SCOPES": ["orders:read", "orders:write"],
}


@pytest.fixture(autouse=True)
def _feature_on(settings):
    settings.SECURETOKENS = ON


@pytest.fixture
def signed_in(client, user):
    client.force_login(user)
    return client


def create(client, password=PASSWORD, headers=None, **data):
    data = {"name": "laptop", "expires_in_days": "30", **data}
    if password is not None:
        data["password"] = password
    return client.post(LIST, data, **(headers or {}))


def shown_key(response):
    html = response.content.decode()
    return re.search(r'id="id_new_api_key" value="([^"]+)"', html).group(1)


def test_urls_are_the_contract():
    assert reverse("securetokens:api_keys") == LIST
    revoke = reverse("securetokens:api_key_revoke", kwargs={"pk": 7})
    assert revoke == "/accounts/api-keys/7/revoke/"


@pytest.mark.parametrize("path", [LIST, "/accounts/api-keys/1/revoke/"])
def test_off_by_default_every_page_is_404(client, user, settings, path):
    settings.SECURETOKENS = {}
    assert client.get(path).status_code == 404  # anonymous: not even a login redirect
    client.force_login(user)
    assert client.get(path).status_code == 404
    assert client.post(path).status_code == 404


def test_anonymous_users_are_sent_to_sign_in(client):
    response = client.get(LIST)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert client.post("/accounts/api-keys/1/revoke/").status_code == 302


def test_create_use_and_revoke(signed_in, user):
    page = signed_in.get(LIST)
    assert page.status_code == 200
    assert "no-store" in page["Cache-Control"]
    assert page["Referrer-Policy"] == "same-origin"
    assert b'name="password"' in page.content

    response = create(signed_in, scopes=["orders:read"])
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    secret = shown_key(response)
    api_key = APIKey.objects.authenticate(secret)
    assert (api_key.user, api_key.name, api_key.scopes) == (user, "laptop", ["orders:read"])
    assert abs(api_key.expires_at - timezone.now() - timedelta(days=30)) < timedelta(minutes=1)
    assert secret not in str(dict(signed_in.session))

    # The key works on a view guarded by the decorator, as its owner.
    used = signed_in.get("/api/orders/", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert used.status_code == 200 and used.json()["user"] == user.username

    listing = signed_in.get(LIST).content.decode()
    assert f"{api_key.prefix}_{api_key.selector}…" in listing
    assert "laptop" in listing and "orders:read" in listing and secret not in listing

    revoked = signed_in.post(reverse("securetokens:api_key_revoke", args=[api_key.pk]))
    assert revoked.status_code == 302 and revoked["Location"] == LIST
    refused = signed_in.get("/api/orders/", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert refused.status_code == 401
    assert "revoked" in signed_in.get(LIST).content.decode()


def test_another_users_key_is_404(signed_in):
    theirs, secret = APIKey.objects.issue(name="theirs", user=UserFactory())
    assert signed_in.post(f"/accounts/api-keys/{theirs.pk}/revoke/").status_code == 404
    assert signed_in.post("/accounts/api-keys/999999/revoke/").status_code == 404
    assert APIKey.objects.authenticate(secret)  # still live
    assert "theirs" not in signed_in.get(LIST).content.decode()


def test_revoke_is_post_only(signed_in, api_key):
    assert signed_in.get(f"/accounts/api-keys/{api_key[0].pk}/revoke/").status_code == 405
    assert APIKey.objects.authenticate(api_key[1])


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"scopes": ["admin"]}, "scopes"),
        ({"scopes": ["orders:read", "orders:delete"]}, "scopes"),
        ({"expires_in_days": "366"}, "expires_in_days"),
        ({"expires_in_days": "0"}, "expires_in_days"),
        ({"expires_in_days": "9" * 400}, "expires_in_days"),
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "nul\x00byte"}, "name"),
    ],
)
def test_bad_input_is_a_form_error(signed_in, data, field):
    response = create(signed_in, **data)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not APIKey.objects.exists()


def test_non_ascii_names_are_fine(signed_in):
    assert shown_key(create(signed_in, name="clé ✓ 鍵"))
    assert APIKey.objects.get().name == "clé ✓ 鍵"


def test_without_allowed_scopes_keys_carry_none(signed_in, settings):
    settings.SECURETOKENS = {**ON, "SELF_SERVICE_API_KEY_SCOPES": ()}
    assert b"orders:read" not in signed_in.get(LIST).content
    create(signed_in, scopes=["orders:read"])
    assert APIKey.objects.get().scopes == []


def test_lifetime_is_capped_by_api_key_max_age(signed_in, settings):
    settings.SECURETOKENS = {**ON, "API_KEY_MAX_AGE": timedelta(days=7)}
    assert "expires_in_days" in create(signed_in, expires_in_days="8").context["form"].errors
    assert shown_key(create(signed_in, expires_in_days="7"))
    settings.SECURETOKENS = {**ON, "API_KEY_MAX_AGE": None}
    assert b'max="3650"' in signed_in.get(LIST).content


def test_limit_of_live_keys(signed_in, user, settings):
    settings.SECURETOKENS = {**ON, "SELF_SERVICE_API_KEY_LIMIT": 2}
    APIKey.objects.issue(name="a", user=user)
    APIKey.objects.issue(name="old", user=user, expires_at=timezone.now() - timedelta(days=1))
    APIKey.objects.issue(name="gone", user=user)[0].revoke()
    assert shown_key(create(signed_in, name="b"))  # expired and revoked keys do not count
    refused = create(signed_in, name="c")
    assert refused.context["form"].non_field_errors() == [
        "You already have 2 live keys, the most allowed. Revoke one first."
    ]
    assert APIKey.objects.filter(user=user).count() == 4


def test_a_key_that_took_the_last_place_meanwhile_is_refused(signed_in, user, settings):
    """The form passed the limit, then another request took the last place: the flow
    checks it again under the user's row lock and the page says so."""
    settings.SECURETOKENS = {**ON, "SELF_SERVICE_API_KEY_LIMIT": 1}
    APIKey.objects.issue(name="meanwhile", user=user)
    with mock.patch.object(APIKeyCreateForm, "clean", lambda form: form.cleaned_data):
        refused = create(signed_in)
    assert refused.status_code == 200
    assert refused.context["form"].non_field_errors() == [
        "You already have 1 live key, the most allowed. Revoke one first."
    ]
    assert APIKey.objects.count() == 1


# --- sudo mode: a recent password entry, throttled, through authenticate() ----------------


def test_password_is_asked_again_after_the_reauth_age(signed_in, frozen_clock):
    assert "password" in create(signed_in, password=None).context["form"].errors
    assert shown_key(create(signed_in))
    assert isinstance(signed_in.session[REAUTH_SESSION_KEY], float)
    frozen_clock.shift(timedelta(minutes=9))
    assert b'name="password"' not in signed_in.get(LIST).content
    assert shown_key(create(signed_in, password=None, name="second"))
    frozen_clock.shift(timedelta(minutes=1, seconds=1))
    assert b'name="password"' in signed_in.get(LIST).content
    assert "password" in create(signed_in, password=None).context["form"].errors
    assert APIKey.objects.count() == 2


def test_a_forged_session_timestamp_does_not_count(signed_in):
    session = signed_in.session
    session[REAUTH_SESSION_KEY] = "now"
    session.save()
    assert b'name="password"' in signed_in.get(LIST).content


def test_wrong_passwords_fire_user_login_failed_and_are_throttled_per_user(
    signed_in, user, frozen_clock
):
    failed = []

    def receiver(sender, credentials, request, **kwargs):
        failed.append((credentials["username"], request))

    user_login_failed.connect(receiver)
    try:
        for _ in range(5):
            response = create(signed_in, password="wrong")
            assert response.status_code == 200
            assert response.context["form"].errors["password"] == [
                "Your password was entered incorrectly. Please enter it again."
            ]
    finally:
        user_login_failed.disconnect(receiver)
    assert [name for name, _ in failed] == [user.username] * 5
    assert failed[0][1] is not None
    # Over the limit even the right password is refused, with 429, and not checked.
    blocked = create(signed_in)
    assert blocked.status_code == 429
    assert blocked.context["form"].errors["password"] == [
        "Too many wrong passwords. Try again in a few minutes."
    ]
    assert not APIKey.objects.exists()
    # Another client address does not help: the count is per user too.
    assert create(signed_in, headers={"REMOTE_ADDR": "10.9.8.7"}).status_code == 429
    frozen_clock.shift(timedelta(seconds=301))
    assert shown_key(create(signed_in))


def test_the_password_check_is_throttled_per_client(client, settings, frozen_clock):
    settings.SECURETOKENS = {**ON, "SELF_SERVICE_REAUTH_RATE_PER_IP": ((3, 300),)}
    for _ in range(3):
        client.force_login(UserFactory())
        assert create(client, password="wrong").status_code == 200
    client.force_login(UserFactory())
    assert create(client).status_code == 429


def test_a_lone_surrogate_password_is_a_form_error(rf, user):
    request = rf.post(LIST)
    request.user = user
    data = {"name": "x", "expires_in_days": "1", "password": "\ud800"}
    form = APIKeyCreateForm(request, data, needs_password=True)
    assert not form.is_valid()
    assert form.errors["password"][0].startswith("Your password was entered incorrectly")


def test_a_user_without_a_password_cannot_pass_sudo_mode(client):
    user = UserFactory()
    user.set_unusable_password()
    user.save()
    client.force_login(user)
    assert "password" in create(client, password="").context["form"].errors


@override_settings(SECURETOKENS={**ON, "SELF_SERVICE_API_KEY_LIMIT": 1})
def test_the_limit_message_is_singular(signed_in):
    assert shown_key(create(signed_in))
    errors = create(signed_in, name="again").context["form"].non_field_errors()
    assert errors == ["You already have 1 live key, the most allowed. Revoke one first."]


# --- the new key is in one response and nowhere else (R-06, R-65) --------------------------


def test_the_new_key_is_left_nowhere(signed_in, user, caplog, settings):
    import logging

    from .conftest import cache_entries
    from .test_audit import sessions
    from .test_storage import dump_cells, encodings

    for name in [None, *logging.root.manager.loggerDict]:
        caplog.set_level(logging.DEBUG, logger=name)
    create(signed_in, password="wrong")  # a failed sudo check, logged and counted
    created = create(signed_in)
    secret = shown_key(created)
    body = secret.split("_")[-1][12:]  # the part after the public selector
    signed_in.get("/api/whoami/", HTTP_AUTHORIZATION=f"Bearer {secret}")
    listing = signed_in.get(LIST).content.decode()
    signed_in.post(f"/accounts/api-keys/{APIKey.objects.get().pk}/revoke/")
    signed_in.get("/api/whoami/", HTTP_AUTHORIZATION=f"Bearer {secret}")
    logs = [f"{r.getMessage()} {r.args} {r.exc_text or ''}" for r in caplog.records]
    places = {
        "database": "\n".join(dump_cells()),
        "sessions": "\n".join(sessions()),
        "cache": "\n".join(f"{key} {value!r}" for key, value in cache_entries()),
        "logs": "\n".join(logs),
        "list page": listing,
    }
    assert places["logs"] and places["sessions"] and places["cache"]

    def found(text):
        return [form for form in encodings(body) if form in text]

    assert found(created.content.decode())  # the search finds the key where it is shown
    assert {place: found(text) for place, text in places.items() if found(text)} == {}
