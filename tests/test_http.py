"""http.py: reading API keys from requests and the refusals it answers with."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.mark.usefixtures("frozen_clock")
def test_a_failure_that_races_past_the_budget_check_is_throttled(monkeypatch):
    """Two requests may both pass the "budget left?" check; the one whose counted failure
    does not fit gets 429, not 401."""
    monkeypatch.setattr("django_securetokens.ratelimit.hit", lambda *args, **kwargs: False)
    response = Client().get("/api/whoami/", headers={"Authorization": "Bearer junk"})
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"
