"""``APIKeyMiddleware``: authenticate API keys on every request, sync or async."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import cast

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from . import http


class APIKeyMiddleware:
    """Set ``request.api_key`` from ``Authorization: Bearer`` or ``X-API-Key``.

    A request that offers no key passes through with ``request.api_key = None``. One that
    offers a bad key, or a key in its URL or cookies, gets 401 at once, and a client over
    its failure budget gets 429, whatever the URL.

    ``request.user`` is left alone: a key is not a session, so it must not open the admin
    or any page protected by login. Views that accept keys say so with
    :func:`~django_securetokens.decorators.api_key_required`, the mixin or the DRF class,
    which reuse this middleware's result instead of authenticating again.
    """

    sync_capable = True
    async_capable = True

    def __init__(
        self,
        get_response: Callable[[HttpRequest], HttpResponseBase | Awaitable[HttpResponseBase]],
    ) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponseBase | Awaitable[HttpResponseBase]:
        if self.async_mode:
            return self.__acall__(request)
        try:
            api_key = http.authenticate(request)
        except http.Refusal as refusal:
            return refusal.response()
        response = cast(HttpResponseBase, self.get_response(request))
        return http.vary(response) if api_key else response

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        try:
            api_key = await http.aauthenticate(request)
        except http.Refusal as refusal:
            return refusal.response()
        response = await cast(Awaitable[HttpResponseBase], self.get_response(request))
        return http.vary(response) if api_key else response
