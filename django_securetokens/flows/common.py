"""What every flow shares: the rate-limit refusal, links in mail, the owner's address."""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from django.conf import settings
from django.shortcuts import resolve_url
from django.urls import NoReverseMatch, reverse
from django.views.decorators.debug import sensitive_variables

from django_securetokens.conf import setting
from django_securetokens.ratelimit import Rates, exceeded, hit

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser


class RateLimited(Exception):
    """A per-client limit refused the step; nothing was judged or changed.

    :attr:`retry_after` is the number of seconds after which the client may try again (the
    longest window it has filled), for a ``Retry-After`` header.
    """

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"rate limited; retry after {retry_after} s")
        self.retry_after = retry_after


def limit(scope: str, key: str, rates: Rates) -> None:
    """Count one event for *key* in *scope*; raise :class:`RateLimited` when over *rates*."""
    if not hit(scope, key, rates):
        longest = max((seconds for _, seconds in rates or ()), default=60)
        raise RateLimited(exceeded(scope, key, rates) or longest)


def normalize_email(email: str) -> str:
    """*email* under Unicode compatibility normalisation and case folding (NFKC + casefold).

    Two addresses are the same for the flows when their normalised forms are equal: the
    comparison Django adopted for CVE-2019-19844 (Unicode TR 36), also used for the rate-limit
    key so that ``Victim@…`` and ``victim@…`` share one counter.
    """
    return unicodedata.normalize("NFKC", email).casefold()


def email_of(user: AbstractBaseUser) -> str:
    """The address stored on *user*'s account, or ``""``."""
    return getattr(user, user.get_email_field_name(), "") or ""


@sensitive_variables("secret")
def link(flow: str, url_name: str, secret: str, origin: str) -> str:
    """The absolute link that carries *secret* in a mail of *flow*.

    ``SECURETOKENS['FRONTEND_URLS'][flow]`` with ``{token}`` replaced when configured, so a
    single-page or mobile app opens its own page; otherwise *origin* and this app's page
    *url_name*. ``str.replace`` rather than ``format``: the template may hold other braces.
    """
    template = (setting("FRONTEND_URLS") or {}).get(flow)
    if template:
        return str(template).replace("{token}", secret)
    return origin + reverse(url_name, kwargs={"token": secret})


def format_code(code: str) -> str:
    """Split a code in two for reading aloud and typing: ``"123456"`` → ``"123 456"``."""
    middle = len(code) // 2
    return f"{code[:middle]} {code[middle:]}"


def site_name(origin: str) -> str:
    """The host of *origin*, as mails name the site."""
    return urlsplit(origin).hostname or origin


def login_url() -> str | None:
    """``LOGIN_URL`` resolved to a path, or None when it names no URL of this site."""
    try:
        return resolve_url(settings.LOGIN_URL)
    except NoReverseMatch:
        return None
