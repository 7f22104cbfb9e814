"""PasswordResetRequestForm: validation and Django's get_users() semantics (R-16, R-41)."""

from __future__ import annotations

import pytest

from django_securetokens.forms import PasswordResetRequestForm
from django_securetokens.owners import canonical_email as normalize_email

from .factories import UserFactory

pytestmark = pytest.mark.django_db


def users_for(email):
    return list(PasswordResetRequestForm().get_users(email))


def test_email_field_is_required_and_validated():
    assert not PasswordResetRequestForm(data={}).is_valid()
    assert not PasswordResetRequestForm(data={"email": "nope"}).is_valid()
    assert not PasswordResetRequestForm(data={"email": "a" * 250 + "@example.com"}).is_valid()
    form = PasswordResetRequestForm(data={"email": " User@Example.com "})
    assert form.is_valid() and form.cleaned_data["email"] == "User@Example.com"


def test_widget_helps_browsers_fill_the_address():
    html = str(PasswordResetRequestForm()["email"])
    assert 'autocomplete="email"' in html and 'type="email"' in html


def test_finds_active_users_with_usable_passwords_case_insensitively():
    user = UserFactory(email="Someone@Example.com")

    assert users_for("someone@example.com") == [user]
    assert users_for("SOMEONE@EXAMPLE.COM") == [user]


def test_skips_inactive_users_and_unusable_passwords():
    UserFactory(email="inactive@example.com", is_active=False)
    nopass = UserFactory(email="nopass@example.com")
    nopass.set_unusable_password()
    nopass.save()

    assert users_for("inactive@example.com") == []
    assert users_for("nopass@example.com") == []


def test_every_account_with_the_address_is_found():
    first, second = (
        UserFactory(email="shared@example.com"),
        UserFactory(email="shared@example.com"),
    )

    assert set(users_for("shared@example.com")) == {first, second}


@pytest.mark.parametrize(
    "submitted", ["vıctim@example.com", "victim@exampIe.com", "victim@example.co"]
)
def test_lookalikes_do_not_match(submitted):
    UserFactory(email="victim@example.com")

    assert users_for(submitted) == []


def test_unicode_addresses_match_under_nfkc_casefold():
    user = UserFactory(email="straße@example.com")

    assert normalize_email("STRASSE@example.com") == normalize_email("straße@example.com")
    assert users_for("straße@example.com") == [user]


def test_get_users_is_the_hook_to_change_who_may_reset():
    class StaffOnly(PasswordResetRequestForm):
        def get_users(self, email):
            return (u for u in super().get_users(email) if u.is_staff)

    UserFactory(email="plain@example.com")

    assert list(StaffOnly().get_users("plain@example.com")) == []
