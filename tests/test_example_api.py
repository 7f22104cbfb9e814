"""The example project's API endpoints, as the README's curl lines use them."""

from __future__ import annotations

from .test_example_project import run_example

API = """
import django
from django.test.utils import setup_test_environment

django.setup()
setup_test_environment()

from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

from django_securetokens.models import APIKey

call_command("migrate", verbosity=0)
owner = User.objects.create_user("owner", "owner@example.com", "a long demo passphrase")
_, plain = APIKey.objects.issue(name="curl", user=owner)
_, scoped = APIKey.objects.issue(name="orders", user=owner, scopes=["orders:read"])
client = Client()
whoami = client.get("/api/whoami/", headers={"Authorization": f"Bearer {plain}"})
print("whoami", whoami.status_code, whoami.json()["user"], whoami.json()["name"])
print("nokey", client.get("/api/whoami/").status_code)
print("scope", client.get("/api/orders/", headers={"X-API-Key": plain}).status_code)
print("orders", client.get("/api/orders/", headers={"X-API-Key": scoped}).status_code)
print("ping", client.get("/api/ping/").status_code)
"""


def test_whoami_and_scoped_orders(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'api.sqlite3'}")

    result = run_example("-c", API)

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        "whoami 200 owner curl",
        "nokey 401",
        "scope 403",
        "orders 200",
        "ping 200",
    ]
