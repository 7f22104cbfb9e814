"""What the passwordless sign-in tests share: the feature switched on, and the mail read."""

from __future__ import annotations

import re

import pytest

BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "django_securetokens.backends.LoginTokenBackend",
]


@pytest.fixture
def login_on(settings, mail_now, fresh_cache):
    """PASSWORDLESS_LOGIN on, its backend listed, mail sent at once."""
    settings.SECURETOKENS = {**settings.SECURETOKENS, "PASSWORDLESS_LOGIN": True}
    settings.AUTHENTICATION_BACKENDS = BACKENDS


def relax(settings, **rates):
    """Raise the per-address request limit (and any other *rates*) so a test may ask again."""
    settings.SECURETOKENS = {
        **settings.SECURETOKENS,
        "LOGIN_RATE_PER_EMAIL": ((100, 60),),
        **rates,
    }


def code_and_token(message):
    """The code (digits only) and the link's token in a sign-in mail."""
    code = "".join(re.search(r"\b(\d{3}) (\d{3})\b", message.body).groups())
    token = re.search(r"https?://\S+?/accounts/email-login/confirm/([^/\s]+)/", message.body)
    return code, token.group(1)


def wrong(code):
    return f"{(int(code) + 1) % 10**6:06d}"


def project_token(request, user):
    """A ``LOGIN_RESPONSE`` hook, as a project handing out its own API token would write."""
    return {"token": f"project-token-for-{user.pk}", "path": request.path}
