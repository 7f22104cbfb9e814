"""http.py: reading API keys from requests and the refusals it answers with."""

from __future__ import annotations

import pytest
from django.test import Client

from django_securetokens import crypto

pytestmark = pytest.mark.django_db

WHOAMI = "/api/whoami/"
IN_A_HEADER = "API keys go in a request header, never in the URL or a cookie"


@pytest.mark.usefixtures("frozen_clock")
def test_a_failure_that_races_past_the_budget_check_is_throttled(monkeypatch):
    """Two requests may both pass the "budget left?" check; the one whose counted failure
    does not fit gets 429, not 401."""
    monkeypatch.setattr("django_securetokens.ratelimit.hit", lambda *args, **kwargs: False)
    response = Client().get(WHOAMI, headers={"Authorization": "Bearer junk"})
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"


@pytest.mark.parametrize("valid", [True, False])
def test_a_key_in_the_query_string_is_told_keys_go_in_a_header(client, api_key, valid):
    """The same 401 and headers as any bad key, for a real key and a made-up one alike."""
    secret = api_key[1] if valid else crypto.new_api_key("sk_live", 43)[2]
    reference = client.get(WHOAMI, headers={"Authorization": "Bearer sk_live_nope"})

    response = client.get(WHOAMI, {"api_key": secret})

    assert response.status_code == 401
    assert IN_A_HEADER in response.json()["detail"]
    assert secret not in response.content.decode()
    assert response.headers["WWW-Authenticate"] == reference.headers["WWW-Authenticate"]
    assert set(response.headers) == set(reference.headers)


def test_a_key_in_a_cookie_is_told_the_same(client, api_key):
    client.cookies["api_key"] = api_key[1]

    response = client.get(WHOAMI)

    assert response.status_code == 401 and IN_A_HEADER in response.json()["detail"]
