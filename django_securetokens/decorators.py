"""``api_key_required`` for function views and ``APIKeyRequiredMixin`` for class-based
views. Both accept a key only from the request headers (see :mod:`django_securetokens.http`)
and make the key's owner ``request.user`` for the view."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, cast, overload

from asgiref.sync import iscoroutinefunction
from django.http import HttpRequest, HttpResponseBase
from django.views.decorators.csrf import csrf_exempt

from . import http

_View = TypeVar("_View", bound=Callable[..., Any])


@overload
def api_key_required(view: _View, /) -> _View: ...


@overload
def api_key_required(*scopes: str) -> Callable[[_View], _View]: ...


def api_key_required(*args: Any) -> Any:
    """Require a valid API key, and optionally scopes, for a view (sync or async).

    Use it bare, ``@api_key_required``, or with the scopes the key must grant,
    ``@api_key_required("orders:read")``. A missing or bad key gets 401 with
    ``WWW-Authenticate``, a key without a scope 403, a client over its failure budget 429.

    The view is exempt from CSRF checks: it accepts no credential but a header that a
    browser never adds by itself, so a cross-site request cannot carry one.
    """
    if len(args) == 1 and callable(args[0]):
        return _decorate(args[0], ())
    if not all(isinstance(scope, str) for scope in args):
        raise TypeError("api_key_required() takes a view or scope names (str)")
    return functools.partial(_decorate, scopes=args)


def _decorate(view: Callable[..., Any], scopes: Sequence[str]) -> Callable[..., Any]:
    if iscoroutinefunction(view):

        @functools.wraps(view)
        async def async_wrapper(
            request: HttpRequest, *args: Any, **kwargs: Any
        ) -> HttpResponseBase:
            refusal = await http.aguard(request, scopes)
            if refusal is not None:
                return refusal
            response: HttpResponseBase = await view(request, *args, **kwargs)
            return http.vary(response)

        return csrf_exempt(async_wrapper)

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        refusal = http.guard(request, scopes)
        if refusal is not None:
            return refusal
        response: HttpResponseBase = view(request, *args, **kwargs)
        return http.vary(response)

    return csrf_exempt(wrapper)


if TYPE_CHECKING:
    from django.views import View

    _Base = View
else:
    _Base = object


class APIKeyRequiredMixin(_Base):
    """Require a valid API key granting every scope in :attr:`required_scopes` for a
    class-based view, sync or async; put it first among the bases. Refusals are as for
    :func:`api_key_required`."""

    #: Scopes the key must grant, e.g. ``("orders:read",)``.
    required_scopes: Sequence[str] = ()

    @classmethod
    def as_view(cls, **initkwargs: Any) -> Callable[..., HttpResponseBase]:
        return csrf_exempt(super().as_view(**initkwargs))

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if self.view_is_async:
            return cast(HttpResponseBase, self._adispatch(request, *args, **kwargs))
        refusal = http.guard(request, self.required_scopes)
        if refusal is not None:
            return refusal
        return http.vary(super().dispatch(request, *args, **kwargs))

    async def _adispatch(
        self, request: HttpRequest, *args: Any, **kwargs: Any
    ) -> HttpResponseBase:
        refusal = await http.aguard(request, self.required_scopes)
        if refusal is not None:
            return refusal
        pending: Any = super().dispatch(request, *args, **kwargs)  # a coroutine here
        response: HttpResponseBase = await pending
        return http.vary(response)
