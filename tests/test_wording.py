"""What the mails and refusals say: the site's name, who asked, and where keys go."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from django_securetokens import crypto

from .factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_cache", "mail_now")]

WHOAMI = "/api/whoami/"
IN_A_HEADER = "API keys go in a request header, never in the URL or a cookie"


def test_the_verification_mail_names_the_site_and_who_asked(client, user):
    client.force_login(user)

    client.post(reverse("securetokens:email_verification"))

    [message] = mail.outbox
    assert message.subject == "Verify your email address on testserver.example"
    assert "Someone, probably you, asked to verify" in message.body
    assert "Someone, probably you, asked to verify" in message.alternatives[0][0]


def test_the_email_change_mail_says_sign_in(client, user):
    client.force_login(user)

    client.post(
        reverse("securetokens:email_change"),
        {"email": "new@example.com", "password": "correct horse battery staple"},
    )

    [message] = mail.outbox
    assert message.subject == "Confirm your new email address on testserver.example"
    assert "Or follow this link while signed in:" in message.body
    assert "Someone, probably you," in message.body


@pytest.mark.usefixtures("mail_now")
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


@pytest.mark.usefixtures("mail_now")
def test_a_reset_the_user_asked_for_says_probably_you(client, user):
    client.post(reverse("securetokens:password_reset"), {"email": user.email})

    [message] = mail.outbox
    assert "Someone, probably you, asked to reset the password" in message.body
    assert "If you did not ask for this, ignore this email" in message.body


@pytest.mark.parametrize("valid", [True, False])
def test_a_key_in_the_query_string_is_told_keys_go_in_a_header(client, api_key, valid):
    """The same 401 and headers as any bad key, for a real key and a made-up one alike."""
    secret = api_key[1] if valid else crypto.new_api_key("sk_live", 43)[2]
    reference = client.get(WHOAMI, headers={"Authorization": "Bearer sk_live_nope"})

    response = client.get(WHOAMI, {"api_key": secret})

    assert response.status_code == 401
    assert IN_A_HEADER in response.json()["detail"]
    assert secret not in response.content.decode()
    assert response.headers["WWW-Authenticate"] == reference.headers["WWW-Authenticate"]
    assert set(response.headers) == set(reference.headers)


def test_a_key_in_a_cookie_is_told_the_same(client, api_key):
    client.cookies["api_key"] = api_key[1]

    response = client.get(WHOAMI)

    assert response.status_code == 401 and IN_A_HEADER in response.json()["detail"]
