"""Bad input on every JSON endpoint: a 4xx JSON answer, never a 500, and nothing changed.

Wrong JSON types, missing fields, bodies that are not JSON or not an object, 1 MB values and
bodies, lone surrogates and NUL bytes (R-70 to R-76, R-80). The test client re-raises any
exception a view lets escape, so a would-be 500 fails the test loudly.
"""

from __future__ import annotations

import json
from unittest.mock import ANY

import pytest
from django.contrib.auth import get_user_model
from django.core import mail

from django_securetokens.models import SecureToken, TokenSlot

from .api_support import APIClient, assert_no_store, post, url
from .factories import UserFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("mail_now", "fresh_cache", "frozen_clock"),
]

MB = 1_000_000
#: Every endpoint and the JSON fields it reads.
ENDPOINTS = {
    "password_reset": ["email"],
    "password_reset_verify": ["token", "email", "code"],
    "password_reset_complete": ["token", "email", "code", "new_password"],
    "email_verification": [],
    "email_verification_confirm": ["token", "code"],
    "email_change": ["email", "password"],
    "email_change_confirm": ["token", "email", "code"],
}

NOT_AN_OBJECT = [
    *["", "not json", "{", '{"email": ', "null", "[]", "42", '"text"', "\x00"],
    "{}" * MB,
]
WRONG_TYPES = [1, 1.5, True, None, [], {}, ["victim@example.com"], {"a": "b"}]
#: Strings a client may send in any field; raw JSON text, so lone surrogates can be written.
BAD_STRINGS = [
    '"\\ud800"',
    '"\\udc80\\udc80"',
    '"a\\u0000b"',
    '"\\u0000"',
    '"victim@example.com\\u0000"',
    '"' + "a" * MB + '"',
    '"' + "é" * (MB // 2) + '"',
    '"%00"',
    '"😀"',
]


@pytest.fixture
def world():
    """A user with a live reset link and a signed-in API client; returns a snapshot function
    of everything a request could change."""
    user = UserFactory(email="victim@example.com")
    SecureToken.objects.issue(user, purpose="password_reset")
    client = APIClient()
    client.force_login(user)

    def snapshot():
        return (
            list(get_user_model().objects.values_list("pk", "password", "email", "is_active")),
            list(SecureToken.objects.values_list("pk", "used_at", "revoked_at", "attempts")),
            list(TokenSlot.objects.values_list("pk", "failures")),
            len(mail.outbox),
        )

    return client, snapshot


def check(response, before, snapshot):
    assert 400 <= response.status_code < 500, response.content[:200]
    assert_no_store(response)
    assert isinstance(response.json(), dict)
    assert snapshot() == before


@pytest.mark.parametrize("name", ENDPOINTS)
def test_a_body_that_is_no_json_object(world, name):
    client, snapshot = world
    before = snapshot()
    for body in NOT_AN_OBJECT:
        if body == "" and not ENDPOINTS[name]:
            continue  # an empty body is no fields, which is all email_verification takes
        check(post(client, name, body), before, snapshot)


@pytest.mark.parametrize("name", ENDPOINTS)
def test_a_form_encoded_body_is_unsupported(world, name):
    client, snapshot = world
    before = snapshot()
    response = client.post(
        url(name),
        "email=victim%40example.com",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 415
    check(response, before, snapshot)


@pytest.mark.parametrize("name", [n for n, fields in ENDPOINTS.items() if fields])
def test_missing_fields(world, name):
    client, snapshot = world
    before = snapshot()
    response = post(client, name, {})
    assert response.status_code == 400
    check(response, before, snapshot)


def body_with(name, field, value):
    """A plausible body for *name* whose *field* is *value*: a link's token as the proof,
    unless the field is part of an address-and-code proof."""
    fields = ENDPOINTS[name]
    body = {f: PLAUSIBLE[f] for f in fields if f not in ("email", "code")}
    if field in ("email", "code") or "token" not in fields:
        body = {f: PLAUSIBLE[f] for f in fields if f != "token"}
    body[field] = value
    return body


PLAUSIBLE = {
    "token": "x" * 43,
    "email": "victim@example.com",
    "code": "123456",
    "password": "correct horse battery staple",
    "new_password": "a fine new password 1",
}
FIELDS = [(n, f) for n, fields in ENDPOINTS.items() for f in fields]


@pytest.mark.parametrize(("name", "field"), FIELDS)
def test_wrong_json_types(world, name, field):
    client, snapshot = world
    before = snapshot()
    for value in WRONG_TYPES:
        response = post(client, name, body_with(name, field, value))
        assert response.status_code == 400, value
        check(response, before, snapshot)


@pytest.mark.parametrize(("name", "field"), FIELDS)
def test_bad_strings_in_every_field(world, name, field):
    client, snapshot = world
    marker = "@@value@@"
    for raw in BAD_STRINGS:
        body = json.dumps(body_with(name, field, marker)).replace(f'"{marker}"', raw)
        before = snapshot()
        response = post(client, name, body)
        if field != "code":
            check(response, before, snapshot)
            continue
        # A code is judged by the engine, which counts every submission as a guess before
        # judging it, malformed ones included: at most one failure more on the
        # owner's count of that purpose, and nothing else.
        (*rest, slots, outbox) = before
        check(response, (*rest, ANY, outbox), snapshot)
        after = dict(snapshot()[2])
        assert all(after[pk] - failures in (0, 1) for pk, failures in slots), raw[:20]


def test_a_body_not_utf8(world):
    client, snapshot = world
    before = snapshot()
    check(post(client, "password_reset", b'{"email": "\xff\xfe@example.com"}'), before, snapshot)


def test_a_body_over_djangos_upload_limit(world, settings):
    client, snapshot = world
    before = snapshot()
    body = '{"email": "' + "a" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1) + '"}'
    response = post(client, "password_reset", body)
    assert response.status_code == 413
    check(response, before, snapshot)
