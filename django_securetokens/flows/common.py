"""What every flow shares: the rate-limit refusal, links in mail, how mail names the site,
the transaction that spends a token, and which text can be encoded."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import transaction
from django.shortcuts import resolve_url
from django.urls import NoReverseMatch, reverse
from django.views.decorators.debug import sensitive_variables

from django_securetokens.conf import setting
from django_securetokens.databases import write_alias
from django_securetokens.limits import Limit
from django_securetokens.models import SecureToken
from django_securetokens.tokens import SecureTokenManager


class RateLimited(Exception):
    """A per-client limit refused the step; nothing was judged or changed.

    :attr:`retry_after` is the number of seconds after which the client may try again (the
    longest window it has filled), for a ``Retry-After`` header.
    """

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"rate limited; retry after {retry_after} s")
        self.retry_after = retry_after


def encodable(value: str) -> bool:
    """Whether *value* can be UTF-8 encoded: a lone surrogate, which a JSON body can carry,
    cannot, and would make a database driver or a password hasher raise (R-73)."""
    try:
        value.encode()
    except UnicodeError:
        return False
    return True


def limit(entry: Limit, key: str) -> None:
    """Count one event for *key* under *entry*; raise :class:`RateLimited` when over it."""
    if not entry.hit(key):
        longest = max((seconds for _, seconds in entry.rates() or ()), default=60)
        raise RateLimited(entry.exceeded(key) or longest)


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


@sensitive_variables("code")
def format_code(code: str) -> str:
    """Split a code in two for reading aloud and typing: ``"123456"`` → ``"123 456"``."""
    middle = len(code) // 2
    return f"{code[:middle]} {code[middle:]}"


def login_url() -> str | None:
    """``LOGIN_URL`` resolved to a path, or None when it names no URL of this site."""
    try:
        return resolve_url(settings.LOGIN_URL)
    except NoReverseMatch:
        return None


@contextmanager
def spending(token: SecureToken) -> Iterator[SecureTokenManager]:
    """A transaction on the database where *token* is spent, and the token manager bound
    to it: using the token, revoking its siblings and the change it protects commit
    together or not at all (R-19), every statement on that one database."""
    alias = write_alias(SecureToken.objects, token)
    with transaction.atomic(using=alias):
        yield SecureToken.objects.db_manager(alias)
