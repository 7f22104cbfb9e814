"""The app config: what ready() does at startup."""

from __future__ import annotations

from django.apps import apps


def test_ready_leaves_the_user_admin_alone_when_the_action_is_off(settings, monkeypatch):
    attached = []
    monkeypatch.setattr(
        "django_securetokens.admin_users.attach_user_action", lambda: attached.append(1)
    )
    settings.SECURETOKENS = {"ADMIN_USER_ACTION": False}
    apps.get_app_config("django_securetokens").ready()
    assert attached == []
