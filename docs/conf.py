"""Sphinx configuration for the django-securetokens documentation."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

# autodoc imports the package, which needs configured Django settings: the test settings do.
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
import django  # noqa: E402

django.setup()


def read_version() -> str:
    """The version lives only in pyproject.toml; the docs read it from there."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: the [project] table's version line is enough.
        match = re.search(r'^version\s*=\s*"([^"]+)"', text, re.MULTILINE)
        if match is None:
            raise RuntimeError("pyproject.toml has no version line") from None
        return match.group(1)
    return str(tomllib.loads(text)["project"]["version"])


project = "django-securetokens"
author = "django-securetokens maintainers"
copyright = "django-securetokens maintainers"
release = read_version()
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx_copybutton",
    "myst_parser",
]

# No intersphinx: it fetches inventories over the network, which CI may not reach, and with
# -W a failed fetch would fail the build.

autodoc_typehints = "description"
autodoc_member_order = "bysource"

html_theme = "furo"
html_title = f"django-securetokens {release}"
exclude_patterns = ["_build"]


def setup(app: Any) -> None:
    # :setting:`SECURETOKENS` cross-references, as in Django's own docs.
    app.add_crossref_type(
        directivename="setting", rolename="setting", indextemplate="pair: %s; setting"
    )
