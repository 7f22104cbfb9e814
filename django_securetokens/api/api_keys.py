"""Personal API keys over JSON: ``api_keys`` and ``api_key_revoke`` (R-85).

The same :mod:`django_securetokens.flows.api_keys` steps as the HTML pages, with the same
rules, limit and password check. Both endpoints answer 404 unless
``SECURETOKENS['SELF_SERVICE_API_KEYS']`` is on, and serve only a signed-in user whose
request carries no API key: a key, leaked or not, never lists, makes or revokes keys, so a
stolen one cannot outlive its revocation by minting a successor, widen its own scopes, or
revoke its owner's other keys.

``api_keys`` answers ``GET`` with the list, the one read of this API; every other endpoint
is a ``POST``. A ``GET`` changes nothing and carries nothing in its URL, so the reasons the
others are ``POST`` (secrets out of URLs and logs, no state change on a ``GET``) do not
apply to it, and the list and the create form share one URL, as on the page.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error

from django_securetokens.flows import api_keys
from django_securetokens.models import APIKey, State

from .base import SecureTokensAPIView
from .serializers import (
    DetailSerializer,
    EmptySerializer,
    PersonalKeyCreatedSerializer,
    PersonalKeyCreateSerializer,
    PersonalKeyListSerializer,
    PersonalKeyRevokedSerializer,
)


class NotByAPIKey(BasePermission):
    """Refuse (403) a request that comes with an API key: authenticated by
    :class:`~django_securetokens.contrib.drf.APIKeyAuthentication`, or carrying a key that
    :class:`~django_securetokens.middleware.APIKeyMiddleware` accepted."""

    message = _("An API key cannot list, create or revoke API keys. Sign in instead.")

    def has_permission(self, request: Request, view: Any) -> bool:
        by_key = isinstance(request.auth, APIKey)
        return not by_key and getattr(request._request, "api_key", None) is None


def described(api_key: APIKey, state: State) -> dict[str, Any]:
    """*api_key* as its owner sees it (:class:`.serializers.PersonalKeySerializer`)."""
    return {
        "id": api_key.pk,
        "name": api_key.name,
        "key_id": f"{api_key.prefix}_{api_key.selector}",
        "scopes": list(api_key.scopes or ()),
        "created_at": api_key.created_at,
        "last_used_at": api_key.last_used_at,
        "expires_at": api_key.expires_at,
        "state": state.value,
    }


class PersonalKeysAPIView(SecureTokensAPIView):
    """404 unless ``SELF_SERVICE_API_KEYS`` is on, before anything else is looked at; then
    signed in, and not by an API key (403)."""

    permission_classes = [IsAuthenticated, NotByAPIKey]
    off_message = _("Personal API keys are off on this site.")

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        if not api_keys.enabled():
            raise Http404
        super().initial(request, *args, **kwargs)


@method_decorator(sensitive_post_parameters(), name="dispatch")
class APIKeysView(PersonalKeysAPIView):
    """``api_keys``: ``GET`` lists the user's keys; ``POST`` ``{"name", "scopes",
    "expires_in_days", "password"}`` creates one → ``201`` with the key, shown once.

    The list holds each key's id, name, key id (its public start), scopes, times and state,
    never a secret, with what a new key may be: the allowed scopes, the limit and the longest
    lifetime. A new key follows the page's rules: scopes from
    ``SELF_SERVICE_API_KEY_SCOPES``, a lifetime up to ``API_KEY_MAX_AGE``, at most
    ``SELF_SERVICE_API_KEY_LIMIT`` live keys (else ``400``). The password is checked every
    time, after the rest of the body: a wrong one is a ``400`` on ``password``; past
    ``SELF_SERVICE_REAUTH_RATE_PER_USER`` or ``_PER_IP`` wrong ones, a ``429`` without the
    password being checked (R-79).
    """

    http_method_names = ["get", "post"]
    serializer_class = PersonalKeyCreateSerializer
    created_message = _("Here is your new API key. Copy it now: it will not be shown again.")
    responses = {
        status.HTTP_201_CREATED: (PersonalKeyCreatedSerializer, created_message),
        status.HTTP_404_NOT_FOUND: (DetailSerializer, PersonalKeysAPIView.off_message),
    }
    #: The answers to ``GET``, for the OpenAPI schema.
    read_responses = {
        status.HTTP_200_OK: (PersonalKeyListSerializer, _("The keys, and what a new one may be.")),
        status.HTTP_404_NOT_FOUND: (DetailSerializer, PersonalKeysAPIView.off_message),
    }

    def get(self, request: Request) -> Response:
        listing = api_keys.keys(request.user)
        return Response(
            {
                "api_keys": [described(api_key, state) for api_key, state in listing],
                "scopes": api_keys.allowed_scopes(),
                "limit": api_keys.key_limit(),
                "max_days": api_keys.max_days(),
            }
        )

    @sensitive_variables("data", "secret", "body")
    def post(self, request: Request) -> Response:
        data = self.validated(request)
        user = request.user
        try:
            api_keys.check_limit(user)
            api_keys.reauthenticate(
                user, data["password"], client=self.client(), request=request._request
            )
            api_key, secret = api_keys.create(
                user,
                name=data["name"],
                scopes=data["scopes"],
                expires_in_days=data["expires_in_days"],
            )
        except DjangoValidationError as error:
            raise ValidationError(as_serializer_error(error)) from None
        body = {
            "detail": self.created_message,
            **described(api_key, api_key.state()),
            "key": secret,
        }
        return Response(body, status=status.HTTP_201_CREATED)


class APIKeyRevokeView(PersonalKeysAPIView):
    """``api_key_revoke``: ``{}`` → ``200`` with the key, revoked; another user's key id,
    or one that does not exist, is ``404``. Revoking a revoked key changes nothing."""

    serializer_class = EmptySerializer
    #: The URL takes any ``pk``, so that a malformed one is this API's JSON 404 rather than
    #: the site's HTML one; clients send the integer ``id`` of a listed key.
    path_parameters = {"pk": {"type": "integer"}}
    revoked_message = _("The API key has been revoked.")
    responses = {
        status.HTTP_200_OK: (PersonalKeyRevokedSerializer, revoked_message),
        status.HTTP_404_NOT_FOUND: (DetailSerializer, _("No such key, or the feature is off.")),
    }

    def post(self, request: Request, pk: str) -> Response:
        self.validated(request)
        api_key = api_keys.revoke(request.user, pk)
        if api_key is None:
            raise Http404
        return Response({"detail": self.revoked_message, **described(api_key, api_key.state())})
