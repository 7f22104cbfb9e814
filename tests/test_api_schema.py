"""The JSON API's OpenAPI schema (drf-spectacular): every endpoint with its request body, its
answers and their error shapes; the copy published in the docs is the one generated now."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from django.urls import get_resolver

pytest.importorskip("drf_spectacular")

from django_securetokens.api import openapi  # noqa: E402

from .test_api_personal_keys import LISTED  # noqa: E402

PUBLISHED = Path(__file__).resolve().parent.parent / "docs" / "reference" / "openapi.json"

REQUESTS = {
    "/api/auth/password-reset/": ("Email", {"email"}, 202),
    "/api/auth/password-reset/verify/": ("Proof", {"token", "email", "code"}, 200),
    "/api/auth/password-reset/complete/": (
        "PasswordResetComplete",
        {"token", "email", "code", "new_password"},
        200,
    ),
    "/api/auth/email-verification/": (None, set(), 202),
    "/api/auth/email-verification/confirm/": ("VerificationProof", {"token", "code"}, 200),
    "/api/auth/email-change/": ("EmailChange", {"email", "password"}, 202),
    "/api/auth/email-change/confirm/": ("Proof", {"token", "email", "code"}, 200),
    "/api/auth/login/": ("Email", {"email"}, 202),
    "/api/auth/login/confirm/": ("Proof", {"token", "email", "code"}, 200),
    "/api/auth/api-keys/": (
        "PersonalKeyCreate",
        {"name", "scopes", "expires_in_days", "password"},
        201,
    ),
    "/api/auth/api-keys/{id}/revoke/": (None, set(), 200),
}
#: The one endpoint that also answers GET, and its answer's component.
READS = {"/api/auth/api-keys/": "PersonalKeyList"}
SUCCESS = {"Detail", "Verified", "PersonalKeyCreated", "PersonalKeyRevoked"}


@pytest.fixture(scope="module")
def schema():
    return openapi.get_schema()


def ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def test_every_endpoint_is_described_as_a_post_and_the_list_also_as_a_get(schema):
    assert set(schema["paths"]) == set(REQUESTS)
    for path, item in schema["paths"].items():
        assert sorted(item) == (["get", "post"] if path in READS else ["post"])


@pytest.mark.parametrize("path", READS)
def test_the_list_is_a_get_without_a_body(schema, path):
    operation = schema["paths"][path]["get"]
    assert "requestBody" not in operation
    assert set(operation["responses"]) == {"200", "401", "403", "404", "429"}
    ok = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert ref_name(ok["$ref"]) == READS[path]


def test_a_personal_key_is_described_without_its_secret(schema):
    components = schema["components"]["schemas"]
    listed = set(components["PersonalKey"]["properties"])
    assert listed == LISTED
    assert set(components["PersonalKeyCreated"]["properties"]) == listed | {"detail", "key"}
    assert set(components["PersonalKeyRevoked"]["properties"]) == listed | {"detail"}
    assert components["StateEnum"]["enum"] == ["live", "expired", "revoked"]


def test_the_revoke_path_takes_the_key_id(schema):
    [parameter] = schema["paths"]["/api/auth/api-keys/{id}/revoke/"]["post"]["parameters"]
    assert parameter["in"] == "path" and parameter["schema"]["type"] == "integer"


@pytest.mark.parametrize("path", REQUESTS)
def test_request_and_success_bodies(schema, path):
    component, fields, success = REQUESTS[path]
    operation = schema["paths"][path]["post"]
    if component is None:  # no fields: drf-spectacular describes no body
        assert "requestBody" not in operation
    else:
        body = operation["requestBody"]["content"]
        assert list(body) == ["application/json"]
        assert ref_name(body["application/json"]["schema"]["$ref"]) == component
        assert set(schema["components"]["schemas"][component]["properties"]) == fields
    ok = operation["responses"][str(success)]["content"]["application/json"]["schema"]
    assert ref_name(ok["$ref"]) in SUCCESS


@pytest.mark.parametrize("path", REQUESTS)
def test_error_answers_are_described(schema, path):
    responses = schema["paths"][path]["post"]["responses"]
    assert {"400", "401", "403", "413", "415", "429"} <= set(responses)
    error = responses["400"]["content"]["application/json"]["schema"]
    assert ref_name(error["$ref"]) == "Error"


def test_the_error_shape_names_invalid_token(schema):
    components = schema["components"]["schemas"]
    error = components["Error"]
    assert set(error["properties"]) == {"code", "detail"}
    assert "required" not in error  # field errors use their own keys instead
    assert {"type": "string", "enum": ["invalid_token"]} in error["properties"]["code"]["oneOf"]


def test_secrets_are_write_only_strings(schema):
    proof = schema["components"]["schemas"]["PasswordResetComplete"]["properties"]
    assert proof["new_password"] == {"type": "string", "writeOnly": True, "maxLength": 4096}
    assert proof["token"]["type"] == "string"


def test_the_published_schema_is_current(schema):
    """docs/reference/openapi.json is this schema; regenerate it with ``make openapi``."""
    current = json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if os.environ.get("SECURETOKENS_WRITE_OPENAPI"):
        PUBLISHED.write_text(current, encoding="utf-8")
    assert PUBLISHED.read_text(encoding="utf-8") == current, "run `make openapi`"


def test_the_api_is_mounted_in_the_test_urlconf():
    assert "securetokens_api" in get_resolver().namespace_dict
