"""R-80 over JSON: addresses the flows refuse are a 400, never a 500."""

from __future__ import annotations

import pytest
from django.core import mail

from .api_support import APIClient, post
from .factories import UserFactory
from .test_mailbox import INVISIBLE, PASSWORD, SPELLINGS

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("mail_now", "fresh_cache", "frozen_clock"),
]


def signed_in(email: str = "member@example.com") -> APIClient:
    client = APIClient()
    client.force_login(UserFactory(email=email))
    return client


@pytest.mark.parametrize("address", INVISIBLE)
def test_email_change_refuses_it_on_the_email_field(address):
    response = post(signed_in(), "email_change", {"email": address, "password": PASSWORD})
    assert response.status_code == 400
    assert response.json() == {"email": ["Enter a valid email address."]}
    assert mail.outbox == []


@pytest.mark.parametrize("address", INVISIBLE)
def test_email_change_confirm_answers_invalid_token(address):
    response = post(signed_in(), "email_change_confirm", {"email": address, "code": "123456"})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_token"


@pytest.mark.parametrize("address", INVISIBLE)
def test_verification_of_such_a_stored_address_is_a_400(address):
    response = post(signed_in(address), "email_verification", {})
    assert response.status_code == 400
    assert response.json() == {
        "non_field_errors": ["Your account has no email address to verify."]
    }
    assert mail.outbox == []


def test_email_change_mails_the_canonical_address():
    response = post(signed_in(), "email_change", {"email": SPELLINGS[2], "password": PASSWORD})
    assert response.status_code == 202
    assert [m.to for m in mail.outbox] == [["owner@example.com"]]
