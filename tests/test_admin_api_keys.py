"""The API-key admin: issued once, never shown again, revoked and rotated by permission."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest
from django.contrib import admin as django_admin
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from django_securetokens.admin_api_keys import APIKeyAddForm
from django_securetokens.models import APIKey

from .factories import UserFactory

pytestmark = pytest.mark.django_db

BASE = "/admin/django_securetokens/apikey/"
KEY_RE = re.compile(r"sk_live_[0-9A-Za-z]{49}")


@pytest.fixture
def superuser():
    return UserFactory(is_staff=True, is_superuser=True)


@pytest.fixture
def admin(superuser):
    client = Client()
    client.force_login(superuser)
    return client


def staff_client(*codenames):
    user = UserFactory(is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="django_securetokens", codename__in=codenames
        )
    )
    client = Client()
    client.force_login(user)
    return client


def _expiry_fields(when):
    local = timezone.localtime(when)
    return {"expires_at_0": local.strftime("%Y-%m-%d"), "expires_at_1": local.strftime("%H:%M:%S")}


def issue(client, **fields):
    data = {"name": "ci", "user": "", "scopes": "", **fields}
    if "never_expires" not in data and "expires_at_0" not in data:
        data.update(_expiry_fields(timezone.now() + timedelta(days=30)))
    return client.post(f"{BASE}add/", data)


def secret_parts(secret):
    """Every 8-character piece of the secret part of a key (the selector is not secret)."""
    hidden = secret[20:]
    return {hidden[i : i + 8] for i in range(len(hidden) - 7)}


def assert_nowhere(secret, *texts):
    for text in texts:
        for part in secret_parts(secret):
            assert part not in text


def all_sessions():
    return " ".join(str(s.get_decoded()) for s in Session.objects.all())


# --- issuing ----------------------------------------------------------------------------------


def test_add_form_fields_and_default_expiry(admin):
    response = admin.get(f"{BASE}add/")
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert list(form.fields) == ["name", "user", "expires_at", "never_expires", "scopes"]
    expected = timezone.now() + timedelta(days=365)
    assert abs(form.fields["expires_at"].initial - expected) < timedelta(seconds=5)
    assert b"digest" not in response.content


def test_issue_shows_the_key_once_on_a_no_store_page(admin, superuser, caplog):
    owner = UserFactory()
    with caplog.at_level(logging.DEBUG):
        response = issue(admin, name="deploy", user=owner.pk, scopes="orders:read, orders:write")
    assert response.status_code == 200
    assert response.templates[0].name == "admin/django_securetokens/apikey/issued.html"
    assert "no-store" in response["Cache-Control"]
    assert response["Referrer-Policy"] == "no-referrer"
    secrets = set(KEY_RE.findall(response.content.decode()))
    assert len(secrets) == 1
    secret = secrets.pop()
    key = APIKey.objects.get()
    assert (key.name, key.user, key.scopes) == ("deploy", owner, ["orders:read", "orders:write"])
    assert APIKey.objects.authenticate(secret) == key
    # Never in a link, a message, the session, a cookie, the admin log or the security log.
    links = " ".join(re.findall(r'href="([^"]*)"', response.content.decode()))
    entry = LogEntry.objects.get(action_flag=ADDITION)
    assert entry.user == superuser and entry.object_id == str(key.pk)
    assert f"issued by user {superuser.pk}" in caplog.text
    assert_nowhere(
        secret,
        links,
        all_sessions(),
        str(admin.cookies),
        str(response.cookies),
        entry.object_repr + entry.change_message,
        caplog.text,
    )
    assert not list(response.context["messages"])


def test_no_later_page_holds_any_part_of_the_key(admin):
    secret = KEY_RE.search(issue(admin).content.decode()).group()
    key = APIKey.objects.get()
    later = [
        admin.get(BASE),
        admin.get(f"{BASE}{key.pk}/change/"),
        admin.get(f"{BASE}{key.pk}/history/"),
        admin.get(f"{BASE}add/"),
        admin.get(f"{BASE}?q={key.selector}"),
        admin.get("/admin/"),
    ]
    assert all(r.status_code == 200 for r in later)
    assert key.selector in later[0].content.decode()
    assert_nowhere(
        secret, *(r.content.decode() for r in later), all_sessions(), str(admin.cookies)
    )


def test_never_expires_is_an_explicit_choice(admin):
    issue(admin, never_expires="on")
    assert APIKey.objects.get().expires_at is None


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"expires_at_0": "", "expires_at_1": ""}, "Choose an expiry date"),
        (_expiry_fields(timezone.now() - timedelta(days=1)), "must be in the future"),
        (_expiry_fields(timezone.now() + timedelta(days=400)), "further away than this site"),
        ({"scopes": "orders read é"}, "Each scope is"),
        ({"scopes": "x" * 65}, "Each scope is"),
    ],
)
def test_add_form_validation(admin, fields, error):
    response = issue(admin, **fields)
    assert response.status_code == 200 and error in response.content.decode()
    assert not APIKey.objects.exists()
    assert not KEY_RE.search(response.content.decode())


# --- the list and change pages ----------------------------------------------------------------


def test_changelist_columns_filter_and_search(admin, user):
    live, _ = APIKey.objects.issue(name="live-one", user=user, scopes=["a"])
    revoked, _ = APIKey.objects.issue(name="revoked-one", user=user)
    revoked.revoke()
    expired, _ = APIKey.objects.issue(
        name="expired-one", user=user, expires_at=timezone.now() + timedelta(seconds=1)
    )
    APIKey.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(days=1))
    page = admin.get(BASE).content.decode()
    for text in (f"sk_live_{live.selector}", "live-one", user.username, "revoked", "expired"):
        assert text in page
    assert bytes(live.digest).hex() not in page
    # The filter offers the states a key can be in, and no token's state (used, superseded).
    offered = set(re.findall(r'href="\?state=(\w+)"', page))
    assert offered == {"live", "expired", "revoked"}
    for state, name in (
        ("live", "live-one"),
        ("revoked", "revoked-one"),
        ("expired", "expired-one"),
    ):
        result = admin.get(BASE, {"state": state})
        assert list(result.context["cl"].result_list) == [APIKey.objects.get(name=name)]
    assert list(admin.get(BASE, {"q": live.selector}).context["cl"].result_list) == [live]
    assert list(admin.get(BASE, {"q": bytes(live.digest).hex()}).context["cl"].result_list) == []


def test_change_form_edits_only_name_and_scopes_and_cannot_undo_a_revoke(admin, api_key):
    key, secret = api_key
    page = admin.get(f"{BASE}{key.pk}/change/")
    assert list(page.context["adminform"].form.fields) == ["name", "scopes"]
    key.revoke()  # by someone else, while the form is open
    response = admin.post(f"{BASE}{key.pk}/change/", {"name": "renamed", "scopes": "a b"})
    assert response.status_code == 302
    key.refresh_from_db()
    assert (key.name, key.scopes) == ("renamed", ["a", "b"])
    assert key.revoked_at is not None


def test_keys_cannot_be_deleted_only_revoked(admin, api_key):
    key, _ = api_key
    assert admin.get(f"{BASE}{key.pk}/delete/").status_code == 403
    assert "delete_selected" not in admin.get(BASE).content.decode()


# --- revoking ---------------------------------------------------------------------------------


def test_revoke_action_logs_each_key_with_its_actor(admin, superuser, user, caplog):
    keys = [APIKey.objects.issue(name=f"k{i}", user=user)[0] for i in range(2)]
    with caplog.at_level(logging.INFO, logger="django_securetokens"):
        response = admin.post(
            BASE, {"action": "revoke_keys", "_selected_action": [k.pk for k in keys]}, follow=True
        )
    assert "2 API keys were revoked." in response.content.decode()
    assert all(k.revoked_at for k in APIKey.objects.all())
    entries = LogEntry.objects.filter(action_flag=CHANGE, user=superuser)
    assert entries.count() == 2 and {e.change_message for e in entries} == {"Revoked."}
    assert caplog.text.count(f"revoked by user {superuser.pk}") == 2


def test_revoke_a_leaked_key_by_pasting_it(admin, api_key, caplog):
    key, secret = api_key
    form = admin.get(f"{BASE}revoke-leaked/")
    assert form.status_code == 200 and 'type="password"' in form.content.decode()
    with caplog.at_level(logging.DEBUG):
        response = admin.post(f"{BASE}revoke-leaked/", {"key": f"  {secret} "})
    assert response.status_code == 302 and response["Location"] == f"{BASE}{key.pk}/change/"
    key.refresh_from_db()
    assert key.revoked_at is not None
    entry = LogEntry.objects.get(action_flag=CHANGE)
    assert entry.change_message == "Revoked as leaked."
    followed = admin.get(response["Location"])
    assert f"sk_live_{key.selector}" in followed.content.decode()
    assert_nowhere(secret, followed.content.decode(), all_sessions(), str(admin.cookies))
    assert_nowhere(secret, caplog.text, response["Location"])


@pytest.mark.parametrize(
    "value", ["sk_live_" + "a" * 49, "nope", "x" * 5000, "sk_live_\0", "é" * 100]
)
def test_pasting_something_else_is_a_form_error_that_does_not_echo_it(admin, api_key, value):
    response = admin.post(f"{BASE}revoke-leaked/", {"key": value})
    assert response.status_code == 200
    assert response.context["form"].errors
    if len(value) > 4:
        assert value not in response.content.decode()
    assert APIKey.objects.get().revoked_at is None


# --- rotating ---------------------------------------------------------------------------------


def test_rotate_shows_the_new_key_once_and_keeps_the_old_for_the_grace(admin, api_key):
    key, old = api_key
    change = admin.get(f"{BASE}{key.pk}/change/").content.decode()
    assert f"{BASE}{key.pk}/rotate/" in change
    assert admin.get(f"{BASE}{key.pk}/rotate/").status_code == 200
    response = admin.post(f"{BASE}{key.pk}/rotate/", {"grace": "3600"})
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    new = KEY_RE.search(response.content.decode()).group()
    assert new != old
    assert APIKey.objects.authenticate(new) == key
    assert APIKey.objects.authenticate(old) == key  # within the grace window
    assert LogEntry.objects.get(action_flag=CHANGE).change_message == "Rotated the secret."
    assert_nowhere(new, admin.get(f"{BASE}{key.pk}/change/").content.decode(), all_sessions())


def test_rotate_without_grace_and_not_for_revoked_keys(admin, api_key):
    key, old = api_key
    admin.post(f"{BASE}{key.pk}/rotate/", {"grace": "0"})
    assert APIKey.objects.get().previous_digest is None
    key.revoke()
    response = admin.post(f"{BASE}{key.pk}/rotate/", {"grace": "0"})
    assert "cannot be rotated" in response.content.decode()
    assert not KEY_RE.search(response.content.decode())


# --- permissions (R-59) -----------------------------------------------------------------------


def test_staff_without_permission_can_neither_issue_nor_revoke(api_key):
    key, secret = api_key
    client = staff_client()
    for url in (BASE, f"{BASE}add/", f"{BASE}revoke-leaked/", f"{BASE}{key.pk}/rotate/"):
        assert client.get(url).status_code == 403
    assert issue(client).status_code == 403
    assert client.post(f"{BASE}revoke-leaked/", {"key": secret}).status_code == 403
    assert APIKey.objects.count() == 1 and APIKey.objects.get().revoked_at is None


def test_add_permission_issues_but_does_not_revoke(api_key):
    key, secret = api_key
    client = staff_client("add_apikey", "view_apikey")
    assert KEY_RE.search(issue(client).content.decode())
    assert client.post(f"{BASE}revoke-leaked/", {"key": secret}).status_code == 403
    assert client.post(f"{BASE}{key.pk}/rotate/", {"grace": "0"}).status_code == 403
    client.post(BASE, {"action": "revoke_keys", "_selected_action": [key.pk]})
    assert APIKey.objects.get(pk=key.pk).revoked_at is None


def test_change_permission_revokes(api_key):
    key, secret = api_key
    client = staff_client("change_apikey", "view_apikey")
    assert client.get(f"{BASE}add/").status_code == 403
    assert client.post(f"{BASE}revoke-leaked/", {"key": secret}).status_code == 302
    assert APIKey.objects.get(pk=key.pk).revoked_at is not None


def test_rotate_of_unknown_key_is_403(admin):
    assert admin.get(f"{BASE}999999/rotate/").status_code == 403


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


# --- what the pages read like: the owner box, labels, links, the copy button -------------


def test_the_leaked_key_link_is_on_the_list_for_those_who_may_revoke(admin):
    link = f'href="{BASE}revoke-leaked/"'

    assert link in admin.get(BASE).content.decode()
    viewer = staff_client("view_apikey")
    assert viewer.get(BASE).status_code == 200
    assert link not in viewer.get(BASE).content.decode()


def test_the_owner_of_a_new_key_is_found_by_typing(admin):
    html = admin.get(f"{BASE}add/").content.decode()

    assert re.search(r'<select name="user"[^>]*class="admin-autocomplete', html)
    assert "data-ajax--url" in html
    UserFactory(username="grace")
    found = admin.get(
        "/admin/autocomplete/",
        {
            "term": "gra",
            "app_label": "django_securetokens",
            "model_name": "apikey",
            "field_name": "user",
        },
    )
    assert [result["text"] for result in found.json()["results"]] == ["grace"]


def test_without_a_searchable_user_admin_the_owner_is_a_raw_id(admin, monkeypatch):
    user_admin = django_admin.site._registry[get_user_model()]
    monkeypatch.setattr(user_admin, "search_fields", ())

    html = admin.get(f"{BASE}add/").content.decode()

    assert 'class="vForeignKeyRawIdAdminField"' in html


def test_the_old_secret_has_a_label_a_person_reads(admin):
    key, _ = APIKey.objects.issue(name="ci", user=UserFactory())
    APIKey.objects.rotate(key, grace=timedelta(hours=1))

    html = admin.get(f"{BASE}{key.pk}/change/").content.decode()

    assert "Old secret works until" in html and "Previous expires at" not in html


def test_a_refused_paste_shows_its_error_at_the_field_and_never_echoes_it(admin):
    value = "sk_live_" + "a" * 49

    html = admin.post(f"{BASE}revoke-leaked/", {"key": value}).content.decode()

    assert value not in html
    box, error = html.index('id="id_key"'), html.index("This is not a key issued by this site")
    assert box < error < html.index('id="id_key_helptext"')
    # The page keeps the paste in the box by sending the form in the background.
    assert "fetch(window.location.href" in html and f'"{BASE}"' in html


def test_the_new_key_page_has_a_copy_button(admin):
    response = issue(admin, name="deploy", user=str(UserFactory().pk))

    html = response.content.decode()
    assert 'data-securetokens-copy="id_new_api_key"' in html
    assert re.search(r'<input type="text" id="id_new_api_key" value="sk_live_\w{49}"', html)
    assert "navigator.clipboard" in html
