"""The example project stays runnable.

The suite itself runs under ``tests.settings``, and Django's settings can be configured once
per process, so everything that needs the example project's settings runs in a subprocess.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE_DIR = Path(__file__).resolve().parent.parent / "example_project"

# Fetches pages with the test client under the example settings and prints each status.
FETCH_PAGES = """
import sys
import django
from django.test.utils import setup_test_environment

django.setup()
setup_test_environment()  # allows the test client's "testserver" host

from django.test import Client

client = Client()
for url in sys.argv[1:]:
    print(url, client.get(url).status_code)
"""


def run_example(*args: str) -> subprocess.CompletedProcess[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "SECURETOKENS_"))  # nothing from the test run
    }
    env["DJANGO_SETTINGS_MODULE"] = "example_project.settings"
    return subprocess.run(  # noqa: S603 - fixed arguments, the current interpreter
        [sys.executable, "-W", "error::DeprecationWarning", *args],
        cwd=EXAMPLE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_passes() -> None:
    result = run_example("manage.py", "check", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/accounts/login/",
        "/admin/login/",
        "/accounts/password-reset/",
        "/accounts/email-login/",
        "/api/auth/login/",  # POST only: 405 would mean the feature is on
    ],
)
def test_page_renders(url: str) -> None:
    result = run_example("-c", FETCH_PAGES, url)

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.split() == [url, "405" if url.startswith("/api/") else "200"]
