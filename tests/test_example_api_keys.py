"""The example project shows personal API keys: make one on the page or over the JSON API
(the /demo/ page's calls), use it, revoke it."""

from __future__ import annotations

from .test_example_project import run_example

PERSONAL = """
import re

import django
from django.test.utils import setup_test_environment

django.setup()
setup_test_environment()

from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

from django_securetokens.models import APIKey

call_command("migrate", verbosity=0)
User.objects.create_user("owner", "owner@example.com", "a long demo passphrase")
client = Client()
client.login(username="owner", password="a long demo passphrase")
print("home", b"/accounts/api-keys/" in client.get("/").content)
print("profile", b"/accounts/api-keys/" in client.get("/profile/").content)
page = client.post(
    "/accounts/api-keys/",
    {
        "name": "curl",
        "scopes": ["orders:read"],
        "expires_in_days": "30",
        "password": "a long demo passphrase",
    },
)
key = re.search(r'id="id_new_api_key" value="([^"]+)"', page.content.decode()).group(1)
api = Client()
print("whoami", api.get("/api/whoami/", headers={"Authorization": f"Bearer {key}"}).json()["user"])
print("orders", api.get("/api/orders/", headers={"X-API-Key": key}).status_code)
pk = APIKey.objects.get(name="curl").pk
print("revoke", client.post(f"/accounts/api-keys/{pk}/revoke/").status_code)
print("after", api.get("/api/whoami/", headers={"Authorization": f"Bearer {key}"}).status_code)

body = {"name": "spa", "scopes": ["orders:read"], "expires_in_days": 30,
        "password": "a long demo passphrase"}
made = client.post("/api/auth/api-keys/", body, content_type="application/json")
print("json create", made.status_code, made["Cache-Control"])
bearer = {"Authorization": f"Bearer {made.json()['key']}"}
print("json whoami", api.get("/api/whoami/", headers=bearer).json()["user"])
print("json by key", api.get("/api/auth/api-keys/", headers=bearer).status_code)
listed = client.get("/api/auth/api-keys/").json()["api_keys"]
print("json list", [(k["name"], k["state"]) for k in listed])
revoked = client.post(f"/api/auth/api-keys/{made.json()['id']}/revoke/", {},
                      content_type="application/json")
print("json revoke", revoked.status_code, revoked.json()["state"])
print("json after", api.get("/api/whoami/", headers=bearer).status_code)
"""


def test_personal_keys_end_to_end(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'keys.sqlite3'}")

    result = run_example("-c", PERSONAL)

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        "home True",
        "profile True",
        "whoami owner",
        "orders 200",
        "revoke 302",
        "after 401",
        "json create 201 no-cache, no-store, must-revalidate, private",
        "json whoami owner",
        "json by key 403",  # signed out: a key alone is no session
        "json list [('spa', 'live'), ('curl', 'revoked')]",
        "json revoke 200 revoked",
        "json after 401",
    ]
