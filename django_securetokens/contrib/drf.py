"""Django REST framework support. Import it only where DRF is installed::

    REST_FRAMEWORK = {
        "DEFAULT_AUTHENTICATION_CLASSES": [
            "django_securetokens.contrib.drf.APIKeyAuthentication",
            ...,
        ],
    }

Keys are read and judged by :mod:`django_securetokens.http`, like everywhere else, and a
request already authenticated by ``APIKeyMiddleware`` is not authenticated twice. DRF's
answers match the decorator's (RFC 6750): the same ``WWW-Authenticate`` challenges, ``Vary``
on the key headers, and refusals that no cache may store. With drf-spectacular installed
(the ``openapi`` extra), the schema describes both ways of sending a key.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext_lazy as _
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed, PermissionDenied, Throttled
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from django_securetokens import http
from django_securetokens.models import APIKey

with contextlib.suppress(ImportError):  # the openapi extra: registers the schema extension
    from . import openapi  # noqa: F401


def _answer_like_the_decorator(view: Any, refusal: http.Refusal | None = None) -> None:
    """Give the view's response the decorator's headers: ``Vary`` on the key headers always,
    and for a refusal the no-store ``Cache-Control`` and ``Expires`` of
    :meth:`~django_securetokens.http.Refusal.response`.

    DRF copies ``view.headers`` onto every response, error responses included, and an
    authentication class or permission has no other way to reach the response.
    """
    headers = getattr(view, "headers", None)
    if not isinstance(headers, dict):
        return
    sample = refusal.response() if refusal is not None else http.vary(http.missing().response())
    patch_vary_headers(
        sample, [v.strip() for v in headers.get("Vary", "").split(",") if v.strip()]
    )
    headers["Vary"] = sample["Vary"]
    if refusal is not None:
        headers["Cache-Control"] = sample["Cache-Control"]
        headers["Expires"] = sample["Expires"]


def _view(request: Request) -> Any:
    return (getattr(request, "parser_context", None) or {}).get("view")


class APIKeyAuthentication(BaseAuthentication):
    """``request.user`` is the key's owner (``AnonymousUser`` for a key without one) and
    ``request.auth`` the :class:`~django_securetokens.models.APIKey`. A bad key is a 401
    with ``WWW-Authenticate: Bearer realm="api", error="invalid_token"``; a client over its
    failure budget is throttled (429)."""

    def authenticate(self, request: Request) -> tuple[Any, APIKey] | None:
        try:
            api_key = http.authenticate(request._request)
        except http.Refusal as refusal:
            _answer_like_the_decorator(_view(request), refusal)
            if refusal.status == 429:
                raise Throttled(wait=refusal.retry_after, detail=str(refusal.message)) from None
            raise AuthenticationFailed(str(refusal.message)) from None
        _answer_like_the_decorator(_view(request))
        if api_key is None:
            return None
        return (api_key.user or AnonymousUser(), api_key)

    def authenticate_header(self, request: Request) -> str:
        """The challenge of this request's refusal: ``error="invalid_token"`` for a bad key,
        the bare challenge when no key came."""
        try:
            http.authenticate(request._request)  # remembered: no second lookup
        except http.Refusal as refusal:
            return refusal.challenge()
        missing = http.missing()
        _answer_like_the_decorator(_view(request), missing)
        return missing.challenge()


class InsufficientScope(PermissionDenied):
    """403 for a key without a required scope, with RFC 6750's
    ``WWW-Authenticate: Bearer …, error="insufficient_scope", scope="…"``."""

    def __init__(self, refusal: http.Refusal) -> None:
        super().__init__(str(refusal.message), code="insufficient_scope")
        self.auth_header = refusal.challenge()  # read by DRF's exception handler


class HasAPIKeyScope(BasePermission):
    """Allow requests authenticated by :class:`APIKeyAuthentication` whose key grants every
    scope in the view's ``required_scopes``. Other requests are refused: 401 when no
    credentials came, 403 when they did; a key without a scope gets 403 with
    ``error="insufficient_scope"`` and the scopes it lacks."""

    message = _("This API key does not grant the scope this resource requires.")

    def has_permission(self, request: Request, view: Any) -> bool:
        if not isinstance(request.successful_authenticator, APIKeyAuthentication):
            return False
        api_key = request.auth
        scopes: Sequence[str] = getattr(view, "required_scopes", ())
        if not isinstance(api_key, APIKey):  # another library's object in request.auth
            return False
        if not api_key.has_scopes(*scopes):
            refusal = http.insufficient_scope(scopes)
            _answer_like_the_decorator(view, refusal)
            raise InsufficientScope(refusal)
        return True
