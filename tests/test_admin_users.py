"""The "send password reset email" action on the user admin (R-68)."""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core import mail
from django.test import Client, RequestFactory

from django_securetokens.admin_users import (
    attach_user_action,
    send_password_reset_email,
    user_admin,
)
from django_securetokens.models import SecureToken

from .factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("mail_now", "fresh_cache")]

CHANGELIST = "/admin/auth/user/"


@pytest.fixture
def superuser(db):
    return UserFactory(username="boss", is_staff=True, is_superuser=True)


def run_action(client, *users):
    return client.post(
        CHANGELIST,
        {
            "action": "send_password_reset_email",
            "_selected_action": [str(u.pk) for u in users],
        },
        follow=True,
    )


def test_the_action_is_on_the_registered_user_admin():
    assert send_password_reset_email in user_admin().actions


def test_staff_trigger_a_mail_to_the_stored_address_and_see_no_secret(client, superuser):
    target = UserFactory(email="target@example.com")
    client.force_login(superuser)

    response = run_action(client, target)

    assert response.status_code == 200
    assert b"on its way to 1 user" in response.content
    (message,) = mail.outbox
    assert message.to == ["target@example.com"]
    secret = re.search(r"/accounts/reset/([^/]+)/", message.body).group(1)
    assert secret.encode() not in response.content
    assert secret[16:].encode() not in response.content
    target.refresh_from_db()
    assert target.check_password("correct horse battery staple")  # nothing changed yet
    assert SecureToken.objects.get().user == target


def test_ineligible_users_are_skipped_and_counted(client, superuser):
    inactive = UserFactory(is_active=False)
    no_email = UserFactory(email="")
    nopass = UserFactory()
    nopass.set_unusable_password()
    nopass.save()
    client.force_login(superuser)

    response = run_action(client, inactive, no_email, nopass)

    assert b"on its way" not in response.content
    assert b"3 users were skipped" in response.content
    assert mail.outbox == []


def test_staff_without_change_permission_do_not_get_the_action(superuser):
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_user"))
    request = RequestFactory().get(CHANGELIST)
    request.user = viewer

    assert "send_password_reset_email" not in user_admin().get_actions(request)
    request.user = superuser
    assert "send_password_reset_email" in user_admin().get_actions(request)


def test_no_page_of_the_user_admin_shows_a_password_field_of_ours(client, superuser):
    target = UserFactory()
    client.force_login(superuser)

    page = client.get(f"/admin/auth/user/{target.pk}/change/").content.decode()

    assert "password_reset" not in page


def test_attach_is_idempotent_and_needs_a_registered_user_admin():
    assert attach_user_action()
    assert list(user_admin().actions).count(send_password_reset_email) == 1
    assert not attach_user_action(admin.AdminSite(name="empty"))


def test_the_mailed_link_works(superuser):
    target = UserFactory(email="target@example.com")
    staff = Client()
    staff.force_login(superuser)
    run_action(staff, target)
    path = re.search(r"https://testserver\.example(/\S+)", mail.outbox[0].body).group(1)

    browser = Client()
    assert browser.get(path).status_code == 302
    browser.post(
        "/accounts/password-reset/set-password/",
        {"new_password1": "chosen by the user 7", "new_password2": "chosen by the user 7"},
    )

    assert get_user_model().objects.get(pk=target.pk).check_password("chosen by the user 7")


def test_a_reset_an_administrator_sent_says_so(client):
    boss = UserFactory(is_staff=True, is_superuser=True)
    target = UserFactory()
    client.force_login(boss)

    client.post(
        "/admin/auth/user/",
        {"action": "send_password_reset_email", "_selected_action": [str(target.pk)]},
    )

    [message] = mail.outbox
    html = message.alternatives[0][0]
    for text in (message.body, html):
        assert "An administrator of testserver.example sent you this email" in text
        assert "Someone, probably you" not in text and "did not ask for this" not in text
        assert "/accounts/reset/" in text
    assert message.subject == "Reset your password on testserver.example"
