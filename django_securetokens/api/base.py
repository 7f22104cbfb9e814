"""What every endpoint of the JSON API has in common."""

from __future__ import annotations

from typing import Any, NoReturn

from django import forms
from django.core.exceptions import RequestDataTooBig
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext_lazy as _
from rest_framework import status
from rest_framework.exceptions import APIException, Throttled, ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView

from django_securetokens.exceptions import TokenError
from django_securetokens.flows import RateLimited
from django_securetokens.ratelimit import client_key

from .serializers import INVALID_TOKEN


class BodyTooLarge(APIException):
    """The body is over ``DATA_UPLOAD_MAX_MEMORY_SIZE``."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = _("The request body is too large.")
    default_code = "too_large"


class SecureTokensAPIView(APIView):
    """A ``POST``-only JSON endpoint over one flow.

    Authentication is the project's own ``DEFAULT_AUTHENTICATION_CLASSES`` (session, token,
    JWT or our API keys); DRF's ``SessionAuthentication`` enforces CSRF for clients it signs
    in by cookie. Only JSON bodies are parsed, only JSON is rendered, and every response,
    errors included, carries ``Cache-Control: no-store``: an answer about a token must not
    sit in a shared cache (R-44, R-83). DRF's own throttles are off; the endpoints count
    the same limits as the HTML pages.
    """

    http_method_names = ["post"]
    parser_classes = [JSONParser]
    renderer_classes = [JSONRenderer]
    permission_classes: list[type[BasePermission]] = [AllowAny]
    throttle_classes: list[Any] = []
    #: The request body's serializer.
    serializer_class: type[BaseSerializer[Any]]
    #: The success answers, ``{status: (serializer, description)}``, for the OpenAPI schema.
    responses: dict[int, tuple[type[BaseSerializer[Any]], Any]] = {}
    #: The message of every token failure; the client learns nothing else (R-15).
    invalid_token_message = _("This link or code is invalid or has expired.")

    def get_serializer(self, *args: Any, **kwargs: Any) -> BaseSerializer[Any]:
        """The request serializer, as DRF's generic views name it (drf-spectacular reads it)."""
        return self.serializer_class(*args, context={"request": self.request}, **kwargs)

    def validated(self, request: Request) -> dict[str, Any]:
        """The request body, validated; a ``400`` with field errors otherwise."""
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data: dict[str, Any] = serializer.validated_data
        return data

    def form_invalid(self, form: forms.Form, field: str | None = None) -> NoReturn:
        """Raise *form*'s errors as a ``400``: by field, or all under *field* when given."""
        errors = {
            name: [str(message) for message in messages] for name, messages in form.errors.items()
        }
        if field is not None:
            errors = {field: [message for messages in errors.values() for message in messages]}
        raise ValidationError(errors)

    def client(self) -> str:
        """What per-client limits count this request by (R-38, R-39)."""
        return client_key(self.request._request)

    def handle_exception(self, exc: Exception) -> Response:
        # The flows speak in exceptions; here they become the API's two fixed answers.
        if isinstance(exc, TokenError):
            return self.invalid_token()
        if isinstance(exc, RateLimited):
            exc = Throttled(wait=exc.retry_after)
        elif isinstance(exc, RequestDataTooBig):
            # Django would answer with an HTML page; a JSON client gets JSON.
            exc = BodyTooLarge()
        return super().handle_exception(exc)

    def invalid_token(self) -> Response:
        """The single answer to every token or code failure (R-15, R-83)."""
        body = {"code": INVALID_TOKEN, "detail": self.invalid_token_message}
        return Response(body, status=status.HTTP_400_BAD_REQUEST)

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        # no-store without Django's never_cache, whose Expires header carries the clock:
        # answers that must be byte-identical cannot hold a timestamp.
        patch_cache_control(
            response, no_cache=True, no_store=True, must_revalidate=True, private=True
        )
        response["Referrer-Policy"] = "no-referrer"
        return response
