"""R-82: a key in a URL or a cookie is refused without spending the failure budget that
guards keys sent in headers, so no web page can lock a shared address's clients out."""

from __future__ import annotations

import pytest
from django.test import Client

from .test_decorators import WHOAMI, _unknown_key, bearer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

OFFICE_NAT = "198.51.100.7"


def _from_the_office():
    return Client(REMOTE_ADDR=OFFICE_NAT)


def test_sixty_misplaced_keys_do_not_lock_out_a_valid_header_key(api_key):
    _, secret = api_key
    # What a hostile page can make a browser behind the office NAT send: image requests
    # with key-shaped strings in the URL, and one cookie on this site's domain.
    victim = _from_the_office()
    for i in range(30):
        assert victim.get(WHOAMI, {"api_key": _unknown_key(), "n": i}).status_code == 401
    victim.cookies["api_key"] = secret
    for _ in range(30):
        assert victim.get(WHOAMI).status_code == 401
    colleague = _from_the_office()
    assert colleague.get(WHOAMI, headers=bearer(secret)).status_code == 200


def test_bad_header_keys_still_spend_the_budget(api_key):
    client = _from_the_office()
    statuses = {client.get(WHOAMI, headers=bearer(_unknown_key())).status_code for _ in range(60)}
    assert statuses == {401}
    assert client.get(WHOAMI, headers=bearer(api_key[1])).status_code == 429


def test_two_different_header_keys_spend_the_budget(api_key):
    _, secret = api_key
    client = _from_the_office()
    two_keys = {**bearer(secret), "X-API-Key": _unknown_key()}
    assert {client.get(WHOAMI, headers=two_keys).status_code for _ in range(60)} == {401}
    assert client.get(WHOAMI, headers=bearer(secret)).status_code == 429


def test_a_misplaced_key_beside_a_good_header_key_is_still_refused(api_key):
    _, secret = api_key
    client = _from_the_office()
    for _ in range(60):
        assert client.get(WHOAMI, {"api_key": secret}, headers=bearer(secret)).status_code == 401
    assert client.get(WHOAMI, headers=bearer(secret)).status_code == 200
