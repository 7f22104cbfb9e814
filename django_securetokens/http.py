"""The one place that reads an API key from a request and words a refusal.

A key is accepted from ``Authorization: Bearer <key>`` or ``X-API-Key: <key>`` and nowhere
else (R-56). :class:`~django_securetokens.middleware.APIKeyMiddleware`,
:func:`~django_securetokens.decorators.api_key_required`, the class-based-view mixin and
``contrib.drf`` all go through :func:`authenticate`, so header parsing, rate limiting and
the refusal format exist once, and a request is authenticated at most once however many of
them it passes through.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
from collections.abc import Sequence
from typing import Any, Final, TypeVar

from asgiref.sync import sync_to_async
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.utils.cache import add_never_cache_headers, patch_vary_headers
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables

from . import crypto, limits, ratelimit
from .api_keys import is_scope
from .conf import setting
from .exceptions import TokenError
from .models import APIKey

logger = logging.getLogger("django_securetokens")

_Response = TypeVar("_Response", bound=HttpResponseBase)

REALM = "api"
HEADERS = ("Authorization", "X-API-Key")

_RESULT = "_securetokens_api_key"  # request attribute: APIKey, None, or a Refusal
_MISPLACED: Final = object()  # a key offered in the query string or a cookie
_CONFLICTING: Final = object()  # two different keys in the two accepted headers


class Refusal(Exception):
    """A request refused for its API key: 401 (missing or bad key), 403 (missing scope) or
    429 (too many failures from this client). :meth:`response` renders it."""

    def __init__(
        self,
        status: int,
        message: str | Promise,
        *,
        error: str | None = None,
        scopes: Sequence[str] = (),
        retry_after: int | None = None,
    ) -> None:
        super().__init__(status)
        self.status = status
        self.message = message
        self.error = error
        self.scopes = tuple(scopes)
        self.retry_after = retry_after

    def challenge(self) -> str:
        """The ``WWW-Authenticate`` value (RFC 6750 section 3)."""
        parts = [f'Bearer realm="{REALM}"']
        if self.error:
            parts.append(f'error="{self.error}"')
        # Anything else would break the challenge's quoting: left out.
        scopes = [scope for scope in self.scopes if is_scope(scope)]
        if scopes:
            parts.append(f'scope="{" ".join(scopes)}"')
        return ", ".join(parts)

    def response(self) -> HttpResponse:
        """The JSON response for this refusal, never cached by anyone."""
        response = JsonResponse({"detail": str(self.message)}, status=self.status)
        if self.status in (401, 403):
            response["WWW-Authenticate"] = self.challenge()
        if self.retry_after is not None:
            response["Retry-After"] = str(self.retry_after)
        add_never_cache_headers(response)
        patch_vary_headers(response, HEADERS)
        return response


def missing() -> Refusal:
    return Refusal(401, _("An API key is required."))


def invalid() -> Refusal:
    # One refusal for unknown, malformed, expired, revoked and misplaced keys alike.
    return Refusal(401, _("This API key is not valid."), error="invalid_token")


def in_url() -> Refusal:
    # Said whether or not the key is valid, so it tells nothing about the key.
    return Refusal(
        401,
        _(
            "API keys go in a request header, never in the URL or a cookie: send "
            "“Authorization: Bearer <key>” or “X-API-Key: <key>”. Replace this key, since "
            "URLs end up in logs."
        ),
        error="invalid_token",
    )


def insufficient_scope(scopes: Sequence[str]) -> Refusal:
    return Refusal(
        403,
        _("This API key does not grant the scope this resource requires."),
        error="insufficient_scope",
        scopes=scopes,
    )


def throttled(seconds: int) -> Refusal:
    return Refusal(
        429,
        _("Too many failed API-key attempts. Try again later."),
        retry_after=max(1, seconds),
    )


@functools.lru_cache(maxsize=8)
def _scanner(prefix: str, body_length: int) -> re.Pattern[str]:
    return re.compile(crypto.api_key_pattern(prefix, body_length))


def _misplaced(request: HttpRequest) -> bool:
    """Whether a key of ours sits in the query string or a cookie: refused even beside a
    good header, since it is already in access logs and browser history (R-56)."""
    prefix = setting("API_KEY_PREFIX")
    marker = f"{prefix}_"
    for raw in (request.META.get("QUERY_STRING", ""), request.META.get("HTTP_COOKIE", "")):
        if marker in raw and _scanner(prefix, setting("API_KEY_BODY_LENGTH")).search(raw):
            return True
    return False


def _presented_key(request: HttpRequest) -> Any:
    """The key a request offers: a string, None when it offers none, or a marker for a key
    offered where keys are refused. Pure parsing, no I/O."""
    if _misplaced(request):
        logger.warning(
            "API key refused: sent in the URL or a cookie by %s; it should be rotated",
            ratelimit.client_ip(request),
        )
        return _MISPLACED
    bearer = None
    header = request.META.get("HTTP_AUTHORIZATION")
    # Compare the scheme by slicing, so a huge header costs no more than a short one.
    if isinstance(header, str) and header[:7].lower() == "bearer ":
        bearer = header[7:].strip(" ")
    elif isinstance(header, str) and len(header) < 16 and header.strip(" ").lower() == "bearer":
        bearer = ""
    other = request.META.get("HTTP_X_API_KEY")
    if bearer is not None and other is not None and bearer != other:
        return _CONFLICTING  # refuse rather than guess
    return bearer if bearer is not None else other


def authenticate(request: HttpRequest) -> APIKey | None:
    """The request's :class:`~django_securetokens.models.APIKey`, or None when it offers
    no key; raise :class:`Refusal` for a bad or misplaced key or a throttled client.

    The outcome is remembered on the request, and ``request.api_key`` is set.
    """
    if _RESULT not in request.__dict__:
        _remember(request, _presented_key(request))
    result = request.__dict__[_RESULT]
    if isinstance(result, Refusal):
        raise result
    api_key: APIKey | None = result
    return api_key


async def aauthenticate(request: HttpRequest) -> APIKey | None:
    """:func:`authenticate` for async code; a request without a key costs no thread hop."""
    if _RESULT not in request.__dict__:
        presented = _presented_key(request)
        if presented is None:
            _remember(request, None)
        else:
            await sync_to_async(_remember)(request, presented)
    return authenticate(request)


@sensitive_variables("presented")
def _remember(request: HttpRequest, presented: Any) -> None:
    try:
        result: APIKey | Refusal | None = _authenticate(request, presented)
    except Refusal as refusal:
        result = refusal
    request.__dict__[_RESULT] = result
    request.__dict__["api_key"] = None if isinstance(result, Refusal) else result


@sensitive_variables("presented")
def _authenticate(request: HttpRequest, presented: Any) -> APIKey | None:
    if presented is None:
        return None
    if presented is _MISPLACED:
        # Any web page can make a browser put a key-shaped string in a URL or a cookie, so
        # counting these would let it lock a whole office's header keys out with 429. They
        # are refused before any lookup, so they let nobody guess anything.
        raise in_url()
    client = ratelimit.client_key(request)
    # A client over its failure budget is refused before its key is even looked at, so
    # the limit bounds guessing and spares the database. Bad input counts.
    full = limits.API_KEY_FAILURE.exceeded(client)
    if full is not None:
        raise throttled(full)
    try:
        if presented is _CONFLICTING:
            raise TokenError("two different keys")
        return APIKey.objects.authenticate(presented)
    except TokenError:
        allowed = limits.API_KEY_FAILURE.hit(client)
        full = limits.API_KEY_FAILURE.exceeded(client)
        if allowed and full is not None:  # this failure filled a window
            logger.warning("API-key failure limit reached by %s", ratelimit.client_ip(request))
        if not allowed:  # a request that raced past the check above
            raise throttled(full or 1) from None
        raise invalid() from None


def guard(request: HttpRequest, scopes: Sequence[str] = ()) -> HttpResponse | None:
    """For views that require a key: None to let the request through (with
    ``request.user`` set to the key's owner), or the refusal response."""
    try:
        api_key = authenticate(request)
        if api_key is None:
            raise missing()
        if not api_key.has_scopes(*scopes):
            raise insufficient_scope(scopes)
    except Refusal as refusal:
        return refusal.response()
    # The view opted in to key authentication, so the key's owner is its user. Keys never
    # become the user anywhere else: the middleware leaves request.user alone.
    request.user = api_key.user or AnonymousUser()
    return None


async def aguard(request: HttpRequest, scopes: Sequence[str] = ()) -> HttpResponse | None:
    """:func:`guard` for async views."""
    with contextlib.suppress(Refusal):  # remembered on the request; guard() answers it
        await aauthenticate(request)
    return guard(request, scopes)


def vary(response: _Response) -> _Response:
    """Mark a response as depending on the key headers. Shared caches must not serve it to
    another client: they skip ``Authorization`` requests by themselves, but not
    ``X-API-Key`` ones."""
    patch_vary_headers(response, HEADERS)
    return response
