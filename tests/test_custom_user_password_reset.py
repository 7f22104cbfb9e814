"""The reset flow with a UUID-keyed user whose email field is ``contact_email``
(`make test-custom-user`)."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client

from django_securetokens.flows.password_reset import request_for_users

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("mail_now", "fresh_cache"),
    pytest.mark.skipif(
        settings.AUTH_USER_MODEL != "tests.CustomUser",
        reason="runs under tests.settings_custom_user only",
    ),
]


@pytest.fixture
def custom_user():
    return get_user_model().objects.create_user(
        username="u", password="pw", email="decoy@example.com", contact_email="real@example.com"
    )


def link_path(message):
    return re.search(r"https://testserver\.example(/\S+)", message.body).group(1)


def test_only_the_email_field_of_the_model_finds_and_receives(custom_user):
    Client().post("/accounts/password-reset/", {"email": "decoy@example.com"})
    assert mail.outbox == []

    Client().post("/accounts/password-reset/", {"email": "real@example.com"})
    assert [m.to for m in mail.outbox] == [["real@example.com"]]


def test_full_flow_with_a_uuid_primary_key(custom_user):
    client = Client()
    client.post("/accounts/password-reset/", {"email": "real@example.com"})
    assert client.get(link_path(mail.outbox[0])).status_code == 302

    response = client.post(
        "/accounts/password-reset/set-password/",
        {"new_password1": "uuid users reset too 5", "new_password2": "uuid users reset too 5"},
    )

    assert response["Location"] == "/accounts/password-reset/complete/"
    custom_user.refresh_from_db()
    assert custom_user.check_password("uuid users reset too 5")
    assert mail.outbox[-1].to == ["real@example.com"] and "changed" in mail.outbox[-1].subject


def test_links_queued_for_users_by_uuid(custom_user):
    request_for_users([custom_user], origin="https://testserver.example")

    assert [m.to for m in mail.outbox] == [["real@example.com"]]
