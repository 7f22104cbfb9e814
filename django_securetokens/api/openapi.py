"""The endpoints' OpenAPI descriptions, for drf-spectacular (the ``openapi`` extra).

Imported by :mod:`.urls` only when drf-spectacular is installed. Each view declares its
request serializer and its success answers; the answers every endpoint shares — field
errors and ``invalid_token`` (``400``), not signed in (``401``/``403``), not JSON (``415``)
and over a limit (``429`` with ``Retry-After``) — are added here, so they are described once.
"""

from __future__ import annotations

import inspect
from importlib.metadata import version
from typing import Any

from django.urls import include, path
from drf_spectacular.extensions import OpenApiViewExtension
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import serializers, status
from rest_framework.settings import api_settings

from .base import SecureTokensAPIView
from .serializers import INVALID_TOKEN, DetailSerializer


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "enum": [INVALID_TOKEN]},
            {"type": "array", "items": {"type": "string"}},
        ]
    }
)
class ErrorCodeField(serializers.JSONField):
    """``"invalid_token"``, or the messages about a request field that is itself named
    ``code``: a client tells them apart by type."""


class ErrorSerializer(serializers.Serializer[Any]):
    """A ``400``: ``{"code": "invalid_token", "detail"}`` for a refused token or code, or
    field errors, ``{"<field>": ["message", …]}`` (``non_field_errors`` for the body)."""

    code = ErrorCodeField(required=False)
    detail = serializers.CharField(required=False)


_ERRORS: dict[int, OpenApiResponse] = {
    status.HTTP_400_BAD_REQUEST: OpenApiResponse(
        ErrorSerializer,
        description="Field errors, or every token and code failure as `invalid_token`.",
    ),
    status.HTTP_413_REQUEST_ENTITY_TOO_LARGE: OpenApiResponse(
        DetailSerializer, description="The body is over `DATA_UPLOAD_MAX_MEMORY_SIZE`."
    ),
    status.HTTP_415_UNSUPPORTED_MEDIA_TYPE: OpenApiResponse(
        DetailSerializer, description="The body is not `application/json`."
    ),
    status.HTTP_429_TOO_MANY_REQUESTS: OpenApiResponse(
        DetailSerializer,
        description="Over a per-client limit; `Retry-After` says when to try again.",
    ),
}
_SIGNED_OUT: dict[int, OpenApiResponse] = {
    code: OpenApiResponse(DetailSerializer, description="Not signed in, or refused.")
    for code in (status.HTTP_401_UNAUTHORIZED, status.HTTP_403_FORBIDDEN)
}


class SecureTokensViewExtension(OpenApiViewExtension):  # type: ignore[no-untyped-call]
    """Describes every :class:`~.base.SecureTokensAPIView` from its own attributes: the
    ``POST`` from ``serializer_class`` and ``responses``, and a ``GET``, where a view has
    one, from ``read_responses``."""

    target_class = "django_securetokens.api.base.SecureTokensAPIView"
    match_subclasses = True

    def view_replacement(self) -> type[SecureTokensAPIView]:
        view: type[SecureTokensAPIView] = self.target
        summary, _, description = inspect.cleandoc(view.__doc__ or "").partition("\n\n")
        common: dict[str, Any] = {
            "summary": " ".join(summary.split()),
            "description": description.strip() or None,
            "tags": ["securetokens"],
        }
        # Any request may carry credentials the project's authentication refuses.
        methods = {
            "post": extend_schema(
                request=view.serializer_class,
                parameters=_path_parameters(view),
                responses={**_answers(view.responses), **_ERRORS, **_SIGNED_OUT},
                **common,
            )
        }
        if "get" in view.http_method_names:
            # No body to refuse; only the authentication's own failure limit answers 429.
            read: dict[int, Any] = getattr(view, "read_responses", {})
            methods["get"] = extend_schema(
                request=None,
                responses={
                    **_answers(read),
                    status.HTTP_429_TOO_MANY_REQUESTS: _ERRORS[status.HTTP_429_TOO_MANY_REQUESTS],
                    **_SIGNED_OUT,
                },
                **common,
            )

        @extend_schema_view(**methods)
        class Described(view):  # type: ignore[valid-type,misc]
            pass

        return Described


def _path_parameters(view: type[SecureTokensAPIView]) -> list[OpenApiParameter]:
    # drf-spectacular names a path's "pk" "id" unless the project turns that off.
    coerce = api_settings.SCHEMA_COERCE_PATH_PK
    return [
        OpenApiParameter("id" if coerce and name == "pk" else name, schema, OpenApiParameter.PATH)
        for name, schema in getattr(view, "path_parameters", {}).items()
    ]


def _answers(responses: dict[int, tuple[Any, Any]]) -> dict[int, OpenApiResponse]:
    return {
        code: OpenApiResponse(serializer, description=str(description))
        for code, (serializer, description) in responses.items()
    }


def get_schema(prefix: str = "api/auth/") -> dict[str, Any]:
    """The OpenAPI 3 document of this JSON API alone, as mounted at *prefix*.

    Security schemes follow the project's ``DEFAULT_AUTHENTICATION_CLASSES``, and
    ``REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"]`` must be drf-spectacular's ``AutoSchema``, as
    for any schema drf-spectacular makes. To publish the whole site's API instead, use
    drf-spectacular's own views or ``manage.py spectacular``: these endpoints describe
    themselves in either.
    """
    generator = SchemaGenerator(  # type: ignore[no-untyped-call]
        title="django-securetokens JSON API",
        patterns=[path(prefix, include("django_securetokens.api.urls"))],
    )
    schema: dict[str, Any] = generator.get_schema(request=None, public=True)  # type: ignore[no-untyped-call]
    # drf-spectacular takes the version from its own settings, which belong to the project.
    schema["info"]["version"] = version("django-securetokens")
    return schema
