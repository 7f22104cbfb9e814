"""What the headless-Chromium tests share: the browser, and when they run.

They need Debian's ``chromium`` (``apt-get install chromium``) and the ``playwright`` Python
package (``pip install -e '.[browser]'``; never ``playwright install``, which downloads a
browser of its own). Without them the tests are skipped — unless
``SECURETOKENS_BROWSER_REQUIRED=1`` (``make test-browser``, CI), where a missing browser is a
failure, so CI can never pass without running them.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from django.db import connections

CHROMIUM = os.environ.get("SECURETOKENS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REQUIRED = os.environ.get("SECURETOKENS_BROWSER_REQUIRED") == "1"

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - depends on the environment
    sync_playwright = None

_missing = (
    "the playwright package is not installed (pip install -e '.[browser]')"
    if sync_playwright is None
    else f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    if not shutil.which(CHROMIUM)
    else None
)
if _missing and REQUIRED:  # pragma: no cover - depends on the environment
    raise RuntimeError(f"SECURETOKENS_BROWSER_REQUIRED=1 but {_missing}")

#: ``pytestmark`` of every browser test module.
BROWSER_TESTS = [
    pytest.mark.browser,
    pytest.mark.skipif(_missing is not None, reason=f"browser test skipped: {_missing}"),
    pytest.mark.usefixtures("fresh_cache"),
]


@pytest.fixture
def browser(monkeypatch):
    """A headless Chromium. Create the test's database rows before asking for it."""
    # Playwright's sync API runs an event loop in this thread, and inside it Django hands out
    # a connection of its own: the test makes no query there, and whatever opened one is
    # closed before leaving, or the test database could not be dropped.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()
            connections.close_all()


EXAMPLE_TEMPLATES = (
    Path(__file__).resolve().parents[2] / "example_project" / "example_project" / "templates"
)


def serve_example_pages(settings, urlconf: str) -> None:
    """Serve *urlconf* with the example project's own templates in front of the app's."""
    settings.ROOT_URLCONF = urlconf
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [EXAMPLE_TEMPLATES]}]
