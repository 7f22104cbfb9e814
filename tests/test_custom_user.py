"""The engine with a UUID primary key and a renamed email field (`make test-custom-user`)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model

from django_securetokens.exceptions import RevokedToken
from django_securetokens.models import SecureToken

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        settings.AUTH_USER_MODEL != "tests.CustomUser",
        reason="runs under tests.settings_custom_user only",
    ),
]


@pytest.fixture
def custom_user():
    return get_user_model().objects.create_user(
        username="u", password="pw", contact_email="u@example.com"
    )


def test_tokens_and_codes_with_uuid_primary_keys(custom_user):
    _, secret = SecureToken.objects.issue(custom_user, purpose="password_reset")
    _, code = SecureToken.objects.issue_code(user=custom_user, purpose="email_verification")
    assert SecureToken.objects.consume(secret, purpose="password_reset").user == custom_user
    SecureToken.objects.consume_code(code, purpose="email_verification", user=custom_user)


def test_change_of_the_custom_email_field_kills_tokens(custom_user):
    _, secret = SecureToken.objects.issue(custom_user, purpose="password_reset")
    custom_user.contact_email = "new@example.com"
    custom_user.save()
    with pytest.raises(RevokedToken):
        SecureToken.objects.verify(secret, purpose="password_reset")
