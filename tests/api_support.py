"""Helpers for the JSON API tests (tests/test_api_*.py)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

rest_framework = pytest.importorskip("rest_framework")

from rest_framework.test import APIClient  # noqa: E402

JSON = "application/json"
NEW_PASSWORD = "a brand new passphrase 42"


def url(name: str) -> str:
    return reverse(f"securetokens_api:{name}")


def post(client: APIClient, name: str, body, **extra):
    """POST *body* to the endpoint *name*: a dict as JSON, a str as the raw body."""
    if isinstance(body, str | bytes):
        return client.post(url(name), body, content_type=JSON, **extra)
    return client.post(url(name), body, format="json", **extra)


def answer(response) -> tuple[int, bytes, dict[str, str]]:
    """Everything a client sees of *response*: status, body and every header."""
    return response.status_code, response.content, dict(response.headers)


def reset_secret(message) -> str:
    """The token of the reset link in *message*."""
    found = re.search(r"/reset/([^/\s]+)/", message.body)
    assert found, message.body
    return found.group(1)


def assert_no_store(response) -> None:
    assert "no-store" in response["Cache-Control"]
    assert response["Content-Type"] == JSON
