"""The SecureToken admin: read-only, filterable, revocable, and never shows a digest."""

from __future__ import annotations

import re

import pytest
from django.contrib.admin.sites import site
from django.urls import reverse

from django_securetokens.exceptions import RevokedToken
from django_securetokens.models import SecureToken

from .factories import UserFactory

pytestmark = pytest.mark.django_db

TOKENS = "/admin/django_securetokens/securetoken/"


def cells(html, column):
    return re.findall(rf'<td class="field-{column}[^"]*">(.*?)</td>', html)


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_changelist_shows_handles_never_digests(admin_client, user):
    token, secret = SecureToken.objects.issue(user, purpose="password_reset")
    _, code = SecureToken.objects.issue_code(user=user, purpose="email_verification")
    page = admin_client.get(reverse("admin:django_securetokens_securetoken_changelist"))
    html = page.content.decode()
    assert page.status_code == 200
    assert token.selector in html and "password_reset" in html and "live" in html
    for leaked in (secret, secret[16:], bytes(token.digest).hex()):
        assert leaked not in html
    detail = admin_client.get(
        reverse("admin:django_securetokens_securetoken_change", args=[token.pk])
    ).content.decode()
    assert token.selector in detail
    assert bytes(token.digest).hex() not in detail and secret[16:] not in detail
    assert 'name="purpose"' not in detail  # read-only: no editable field


def test_searching_by_digest_finds_nothing(admin_client, reset_token):
    token, _ = reset_token
    url = reverse("admin:django_securetokens_securetoken_changelist")
    assert token.selector in admin_client.get(url, {"q": token.selector}).content.decode()
    page = admin_client.get(url, {"q": bytes(token.digest).hex()}).content.decode()
    assert token.selector not in page


@pytest.mark.parametrize(
    ("state", "visible"),
    [
        ("live", "live_one"),
        ("used", "used_one"),
        ("superseded", "old_one"),
        ("revoked", "revoked_one"),
        ("expired", "expired_one"),
    ],
)
def test_state_filter(admin_client, state, visible):
    from datetime import timedelta

    from django.utils import timezone

    made = {}
    for name in ("old_one", "live_one", "used_one", "revoked_one", "expired_one"):
        user = UserFactory() if name != "live_one" else made["old_one"][0].user
        made[name] = SecureToken.objects.issue(user, purpose="password_reset")
    SecureToken.objects.consume(made["used_one"][1], purpose="password_reset")
    made["revoked_one"][0].revoke()
    SecureToken.objects.filter(pk=made["expired_one"][0].pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    page = admin_client.get(
        reverse("admin:django_securetokens_securetoken_changelist"), {"state": state}
    ).content.decode()
    for name, (token, _) in made.items():
        assert (token.selector in page) == (name == visible), name


def test_revoke_action(admin_client, reset_token):
    token, secret = reset_token
    response = admin_client.post(
        reverse("admin:django_securetokens_securetoken_changelist"),
        {"action": "revoke_selected", "_selected_action": [token.pk]},
        follow=True,
    )
    assert "Revoked 1 token." in response.content.decode()
    with pytest.raises(RevokedToken):
        SecureToken.objects.verify(secret, purpose="password_reset")


def test_no_add_or_change(admin_client, reset_token):
    token, _ = reset_token
    assert (
        admin_client.get(reverse("admin:django_securetokens_securetoken_add")).status_code == 403
    )
    response = admin_client.post(
        reverse("admin:django_securetokens_securetoken_change", args=[token.pk]),
        {"purpose": "email_verification"},
    )
    assert response.status_code == 403
    token.refresh_from_db()
    assert token.purpose == "password_reset"


def test_staff_without_permission_cannot_revoke(client, reset_token):
    from django.contrib.auth.models import Permission

    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_securetoken"))
    client.force_login(staff)
    token, secret = reset_token
    response = client.post(
        reverse("admin:django_securetokens_securetoken_changelist"),
        {"action": "revoke_selected", "_selected_action": [token.pk]},
        follow=True,
    )
    assert response.status_code == 200  # the changelist again, nothing done
    assert SecureToken.objects.verify(secret, purpose="password_reset").pk == token.pk
    token.refresh_from_db()
    assert token.revoked_at is None


def test_admin_owner_column_shows_the_address_of_an_ownerless_code():
    token, _ = SecureToken.objects.issue_code(purpose="email_verification", email="a@example.com")
    assert site._registry[SecureToken].owner(token) == "a@example.com"


def test_changelist_labels_purposes_readably(admin_client, user):
    SecureToken.objects.issue(user, purpose="login")
    SecureToken.objects.issue(user, purpose="invoice")
    page = admin_client.get(reverse("admin:django_securetokens_securetoken_changelist"))
    cells = page.content.decode()
    assert '<td class="field-purpose_display">Passwordless sign-in</td>' in cells
    assert '<td class="field-purpose_display">invoice</td>' in cells  # a project's own


def test_the_token_list_shows_owners_and_purposes_people_read(admin_client):
    user = UserFactory(username="ada")
    SecureToken.objects.issue(user, purpose="password_reset")
    SecureToken.objects.issue_code(email="new@example.com", purpose="email_verification")

    html = admin_client.get(TOKENS).content.decode()

    assert sorted(cells(html, "owner_display")) == ["ada", "new@example.com"]
    assert sorted(cells(html, "purpose_display")) == ["Email verification", "Password reset"]
    assert not re.search(r"[0-9a-f]{64}", html)  # the owner digest is never a column
    for column in ("created", "expires", "state_display"):
        assert len(cells(html, column)) == 2
    # The filter offers the purposes in use, by their labels, and filters by them.
    assert re.search(r'href="\?purpose=password_reset"[^>]*>Password reset</a>', html)
    filtered = admin_client.get(TOKENS, {"purpose": "password_reset"}).content.decode()
    assert cells(filtered, "purpose_display") == ["Password reset"]
