"""drf-spectacular support: the ``openapi`` extra. Imported by :mod:`.drf` when
drf-spectacular is installed, which registers the extension; nothing to configure.

A view authenticated by :class:`~django_securetokens.contrib.drf.APIKeyAuthentication`
gets two security schemes, either of which works: ``apiKeyBearer`` (``Authorization:
Bearer <key>``) and ``apiKeyHeader`` (``X-API-Key: <key>``). A view's ``required_scopes`` are
listed in its security requirement (OpenAPI 3.1 allows scopes for any scheme type).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension

from django_securetokens.conf import setting


class APIKeyScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    """The schema of :class:`~django_securetokens.contrib.drf.APIKeyAuthentication`."""

    target_class = "django_securetokens.contrib.drf.APIKeyAuthentication"
    match_subclasses = True
    name = ["apiKeyBearer", "apiKeyHeader"]

    def get_security_requirement(self, auto_schema: Any) -> list[dict[str, list[str]]]:
        scopes = list(getattr(auto_schema.view, "required_scopes", ()))
        # Either header carries a key: two alternative requirements (OR), not one (AND).
        return [{name: scopes} for name in self.name]

    def get_security_definition(self, auto_schema: Any) -> list[dict[str, str]]:
        sample = f"{setting('API_KEY_PREFIX')}_…"
        description = (
            f"An API key of this site ({sample}); never in the URL or a cookie, where it is "
            "refused."
        )
        return [
            {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": sample,
                "description": description,
            },
            {"type": "apiKey", "in": "header", "name": "X-API-Key", "description": description},
        ]
