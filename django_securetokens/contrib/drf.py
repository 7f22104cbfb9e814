"""Django REST framework support. Import it only where DRF is installed::

    REST_FRAMEWORK = {
        "DEFAULT_AUTHENTICATION_CLASSES": [
            "django_securetokens.contrib.drf.APIKeyAuthentication",
            ...,
        ],
    }

Keys are read and judged by :mod:`django_securetokens.http`, like everywhere else, and a
request already authenticated by ``APIKeyMiddleware`` is not authenticated twice.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.utils.translation import gettext_lazy as _
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed, Throttled
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from django_securetokens import http
from django_securetokens.models import APIKey


class APIKeyAuthentication(BaseAuthentication):
    """``request.user`` is the key's owner (``AnonymousUser`` for a key without one) and
    ``request.auth`` the :class:`~django_securetokens.models.APIKey`. A bad key is a 401
    with ``WWW-Authenticate``; a client over its failure budget is throttled (429)."""

    def authenticate(self, request: Request) -> tuple[Any, APIKey] | None:
        try:
            api_key = http.authenticate(request._request)
        except http.Refusal as refusal:
            if refusal.status == 429:
                raise Throttled(wait=refusal.retry_after, detail=str(refusal.message)) from None
            raise AuthenticationFailed(str(refusal.message)) from None
        if api_key is None:
            return None
        return (api_key.user or AnonymousUser(), api_key)

    def authenticate_header(self, request: Request) -> str:
        return http.missing().challenge()


class HasAPIKeyScope(BasePermission):
    """Allow requests authenticated by :class:`APIKeyAuthentication` whose key grants every
    scope in the view's ``required_scopes``. Other requests are refused: 401 when no
    credentials came, 403 when they did (including a key without the scope)."""

    message = _("This API key does not grant the scope this resource requires.")

    def has_permission(self, request: Request, view: Any) -> bool:
        if not isinstance(request.successful_authenticator, APIKeyAuthentication):
            return False
        api_key = request.auth
        scopes = getattr(view, "required_scopes", ())
        return isinstance(api_key, APIKey) and api_key.has_scopes(*scopes)
