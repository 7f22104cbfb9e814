"""The example project mounts the JSON API and serves the single-page demo that uses it."""

from __future__ import annotations

import pytest

from .test_example_project import run_example

pytest.importorskip("rest_framework")

DEMO = """
import django
from django.test.utils import setup_test_environment

django.setup()
setup_test_environment()

from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

call_command("migrate", verbosity=0)
User.objects.create_user("ada", "ada@example.com", "a long demo passphrase")
client = Client()
page = client.get("/demo/")
print("demo", page.status_code, "csrftoken" in page.cookies, b"fetch(`/api/auth/" in page.content)
print("keys", b'api("api-keys/", body)' in page.content)
reset = client.post("/api/auth/password-reset/", {"email": "ada@example.com"},
                    content_type="application/json")
print("reset", reset.status_code, reset["Cache-Control"])
verify = client.post("/api/auth/email-verification/", {}, content_type="application/json")
print("verify", verify.status_code)
"""


def test_the_demo_page_and_the_api_it_calls(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'demo.sqlite3'}")

    result = run_example("-c", DEMO)

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        # The page is served with a CSRF cookie for its fetch() calls to send back.
        "demo 200 True True",
        "keys True",
        "reset 202 no-cache, no-store, must-revalidate, private",
        "verify 403",  # signed out
    ]
