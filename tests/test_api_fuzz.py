"""Fuzz the JSON API from its own OpenAPI schema with schemathesis.

Every operation gets schema-conforming bodies (positive) and schema-breaking ones (negative),
sent through the whole Django stack as a WSGI application and judged by schemathesis's
checks: no server error, and every answer's status, content type, headers and body as the
schema describes them. Hypothesis is derandomised, so a run is repeatable.

It runs in ``make fuzz-api`` (a CI leg of its own), which sends at least 3,000 requests:
``SECURETOKENS_FUZZ_API_EXAMPLES`` examples per operation and mode, and
``SECURETOKENS_FUZZ_API_MIN_REQUESTS`` as the least the run must have sent. ``make test``
skips it: schemathesis needs seconds per operation to prepare, whatever the budget.
"""

from __future__ import annotations

import base64
import os

import pytest
from django.core.wsgi import get_wsgi_application
from django.utils import timezone

schemathesis = pytest.importorskip("schemathesis")
pytest.importorskip("drf_spectacular")

from hypothesis import HealthCheck, given  # noqa: E402
from hypothesis import settings as hypothesis_settings  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from django_securetokens.api.openapi import get_schema  # noqa: E402
from django_securetokens.models import APIKey  # noqa: E402

from .factories import UserFactory  # noqa: E402

EXAMPLES = int(os.environ.get("SECURETOKENS_FUZZ_API_EXAMPLES", "0"))
MIN_REQUESTS = int(os.environ.get("SECURETOKENS_FUZZ_API_MIN_REQUESTS", "0"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
PASSWORD = "correct horse battery staple"
LIMITS = [
    "PASSWORD_RESET_RATE_PER_IP",
    "PASSWORD_RESET_RATE_PER_EMAIL",
    "PASSWORD_RESET_CONFIRM_RATE_PER_IP",
    "PASSWORD_RESET_CODE_RATE_PER_IP",
    "EMAIL_VERIFICATION_RATE_PER_EMAIL",
    "EMAIL_VERIFICATION_CODE_RATE_PER_IP",
    "EMAIL_VERIFICATION_CONFIRM_RATE_PER_IP",
    "SELF_SERVICE_REAUTH_RATE_PER_USER",
    "SELF_SERVICE_REAUTH_RATE_PER_IP",
]


@pytest.mark.skipif(not EXAMPLES, reason="run by make fuzz-api, a CI leg")
@pytest.mark.django_db
@pytest.mark.usefixtures("mail_now", "fresh_cache")
def test_the_api_keeps_to_its_schema(settings):
    # Limits off: over a limit every answer is a 429, and the flows behind would go untested.
    # The limits have their own tests (test_api_password_reset.py, test_api_email.py).
    settings.SECURETOKENS = {
        **settings.SECURETOKENS,
        **dict.fromkeys(LIMITS),
        "SELF_SERVICE_API_KEYS": True,
        "SELF_SERVICE_API_KEY_SCOPES": ["orders:read"],
    }
    member = UserFactory(email="member@example.com")
    # Keys in every state, so the list and the revoke answers carry real rows.
    APIKey.objects.issue(name="live", user=member, scopes=["orders:read"])
    APIKey.objects.issue(name="expired", user=member, expires_at=timezone.now())
    APIKey.objects.issue(name="revoked", user=member)[0].revoke()
    APIKey.objects.issue(name="another's", user=UserFactory())
    # Basic authentication (one of DRF's default classes) signs every request in without a
    # session, so the signed-in endpoints are fuzzed past their permission check.
    credentials = base64.b64encode(f"{member.username}:{PASSWORD}".encode()).decode()
    headers = {"Authorization": f"Basic {credentials}"}
    schema = schemathesis.openapi.from_dict(get_schema())
    schema.app = get_wsgi_application()
    sent = 0

    for operation in schema.get_all_operations():
        operation = operation.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @hypothesis_settings(
                max_examples=EXAMPLES,
                derandomize=True,
                database=None,
                deadline=None,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def fuzz(case):
                nonlocal sent
                response = case.call(headers=headers)
                sent += 1
                case.validate_response(response, checks=CHECKS, headers=headers)

            fuzz()
    print(f"fuzz-api: {sent} requests, 0 server errors, 0 answers outside the schema")
    assert sent >= MIN_REQUESTS
