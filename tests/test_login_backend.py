"""LoginTokenBackend: only a verified sign-in token, only while the feature is on; it loads
active users for the session and grants no permissions."""

from __future__ import annotations

import pytest

from django_securetokens.backends import LoginTokenBackend
from django_securetokens.models import SecureToken

from .factories import UserFactory
from .login_support import login_on  # noqa: F401 - fixture

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("login_on")]


def test_spends_a_login_token_and_its_sibling():
    user = UserFactory()
    token, _ = SecureToken.objects.issue(user, purpose="login")
    code, _ = SecureToken.objects.issue_code(user=user, purpose="login")
    assert LoginTokenBackend().authenticate(None, login_token=token) == user
    assert not SecureToken.objects.live().filter(pk__in=[token.pk, code.pk]).exists()
    assert LoginTokenBackend().authenticate(None, login_token=token) is None  # used


def test_refuses_anything_else(settings):
    user = UserFactory()
    reset, _ = SecureToken.objects.issue(user, purpose="password_reset")
    backend = LoginTokenBackend()
    assert backend.authenticate(None, login_token=reset) is None
    assert backend.authenticate(None, login_token="a secret") is None
    assert backend.authenticate(None, username=user.username, password="x") is None
    token, _ = SecureToken.objects.issue(user, purpose="login")
    settings.SECURETOKENS = {**settings.SECURETOKENS, "PASSWORDLESS_LOGIN": False}
    assert backend.authenticate(None, login_token=token) is None
    assert SecureToken.objects.live().filter(pk=token.pk).exists()


def test_get_user_is_active_users_only_and_no_permissions():
    active, inactive = UserFactory(), UserFactory(is_active=False)
    backend = LoginTokenBackend()
    assert backend.get_user(active.pk) == active
    assert backend.get_user(inactive.pk) is None
    assert backend.get_all_permissions(active) == set()
