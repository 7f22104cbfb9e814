"""The admin pages of the app read well: columns, labels, links, the owner box, the forms."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib import admin as django_admin
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from django_securetokens.models import APIKey, SecureToken

from .factories import UserFactory
from .test_admin_api_keys import BASE, issue, staff_client

pytestmark = pytest.mark.django_db

TOKENS = "/admin/django_securetokens/securetoken/"


@pytest.fixture
def admin():
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def cells(html, column):
    return re.findall(rf'<td class="field-{column}[^"]*">(.*?)</td>', html)


def test_the_leaked_key_link_is_on_the_list_for_those_who_may_revoke(admin):
    link = f'href="{BASE}revoke-leaked/"'

    assert link in admin.get(BASE).content.decode()
    viewer = staff_client("view_apikey")
    assert viewer.get(BASE).status_code == 200
    assert link not in viewer.get(BASE).content.decode()


def test_the_token_list_shows_owners_and_purposes_people_read(admin):
    user = UserFactory(username="ada")
    SecureToken.objects.issue(user, purpose="password_reset")
    SecureToken.objects.issue_code(email="new@example.com", purpose="email_verification")

    html = admin.get(TOKENS).content.decode()

    assert sorted(cells(html, "owner_display")) == ["ada", "new@example.com"]
    assert sorted(cells(html, "purpose_display")) == ["Email verification", "Password reset"]
    assert not re.search(r"[0-9a-f]{64}", html)  # the owner digest is never a column
    for column in ("created", "expires", "state_display"):
        assert len(cells(html, column)) == 2
    # The filter offers the purposes in use, by their labels, and filters by them.
    assert re.search(r'href="\?purpose=password_reset"[^>]*>Password reset</a>', html)
    filtered = admin.get(TOKENS, {"purpose": "password_reset"}).content.decode()
    assert cells(filtered, "purpose_display") == ["Password reset"]


def test_a_project_purpose_shows_as_it_is(admin):
    SecureToken.objects.issue(UserFactory(), purpose="invite")

    assert cells(admin.get(TOKENS).content.decode(), "purpose_display") == ["invite"]


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


def test_times_are_short_with_the_full_one_in_the_tooltip(admin):
    from django_securetokens.admin_display import moment

    now = timezone.localtime()
    later = now.replace(year=now.year + 1)

    assert moment(None) == "—"
    assert f">{now:%b} {now.day}, {now:%H:%M}</time>" in moment(now)
    assert f">{later:%b} {later.day}, {later.year}</time>" in moment(later)
    assert f'datetime="{later.isoformat()}"' in moment(later)
