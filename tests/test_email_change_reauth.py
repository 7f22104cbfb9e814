"""R-79: the email-change password check is throttled and goes through authenticate().

It called ``check_password`` directly: no limit, no ``user_login_failed``, so it was an
oracle for guessing a signed-in session's password unseen by lockout tools.
"""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client, override_settings
from django.urls import reverse

from django_securetokens.forms import EmailChangeForm

from .api_support import APIClient, post
from .factories import UserFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("mail_now", "fresh_cache", "frozen_clock"),
]

CHANGE = reverse("securetokens:email_change")
PASSWORD = "correct horse battery staple"  # the factory's
DOWN = {"default": {"BACKEND": "tests.faults.DownCache"}}
LIMITS = {
    "EMAIL_SENDER": "tests.conftest.run_immediately",
    "EMAIL_CHANGE_REAUTH_RATE_PER_USER": ((3, 300),),
    "EMAIL_CHANGE_REAUTH_RATE_PER_IP": ((5, 300),),
}


def page(client, password, email="moved@example.com"):
    return client.post(CHANGE, {"email": email, "password": password})


def api(client, password, email="moved@example.com"):
    return post(client, "email_change", {"email": email, "password": password})


@override_settings(SECURETOKENS=LIMITS)
@pytest.mark.parametrize(
    ("front", "make_client", "refused"), [(page, Client, 200), (api, APIClient, 400)]
)
def test_the_nth_wrong_password_is_refused_unchecked(
    front, make_client, refused, login_failures, password_checks
):
    user = UserFactory()
    client = make_client()
    client.force_login(user)
    for _ in range(3):
        assert front(client, "wrong guess").status_code == refused
    assert len(login_failures) == 3  # each wrong guess was reported to lockout tools
    assert login_failures[0]["username"] == user.get_username()
    assert password_checks.call_count == 3

    response = front(client, PASSWORD)  # even the right password, over the limit
    assert response.status_code == 429
    assert password_checks.call_count == 3  # not looked at
    assert len(login_failures) == 3
    assert mail.outbox == []


@override_settings(SECURETOKENS=LIMITS)
def test_the_page_says_why(client, user):
    client.force_login(user)
    for _ in range(3):
        page(client, "wrong guess")
    response = page(client, PASSWORD)
    assert response.context["form"].errors["password"] == [
        "Too many wrong passwords. Try again in a few minutes."
    ]


@override_settings(SECURETOKENS=LIMITS)
def test_one_client_is_limited_across_accounts(login_failures):
    clients = []
    for _ in range(3):
        client = Client(REMOTE_ADDR="198.51.100.9")
        client.force_login(UserFactory())
        clients.append(client)
    for client in clients[:2]:
        page(client, "wrong guess")
        page(client, "wrong guess")
    assert len(login_failures) == 4
    page(clients[2], "wrong guess")
    assert page(clients[2], PASSWORD).status_code == 429  # the client's fifth failure was the last
    assert len(login_failures) == 5


@override_settings(SECURETOKENS=LIMITS)
def test_a_right_password_spends_nothing(client, user, login_failures):
    client.force_login(user)
    for _ in range(4):
        assert page(client, PASSWORD).status_code == 302
    assert login_failures == []


@override_settings(CACHES=DOWN, SECURETOKENS=LIMITS)
def test_with_the_cache_down_the_check_fails_closed(client, user, password_checks):
    client.force_login(user)
    assert page(client, PASSWORD).status_code == 429
    assert password_checks.call_count == 0
    assert mail.outbox == []


def test_an_unencodable_password_is_a_wrong_one(rf, user, login_failures, password_checks):
    """A lone surrogate would crash the hashers (R-73): counted, never checked."""
    request = rf.post(CHANGE)
    form = EmailChangeForm(
        user, {"email": "moved@example.com", "password": "\ud800"}, request=request
    )
    assert not form.is_valid()
    assert form.errors["password"] == [
        "Your password was entered incorrectly. Please enter it again."
    ]
    assert password_checks.call_count == 0
