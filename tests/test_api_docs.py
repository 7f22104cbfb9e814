"""The endpoint reference (docs/reference/json_api.rst) lists exactly the API's URLconf."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("rest_framework")

from django_securetokens.api import urls  # noqa: E402

REFERENCE = Path(__file__).resolve().parent.parent / "docs" / "reference" / "json_api.rst"
# A table row's first cell: "* - ``url_name``" and, on the next line, "``path/``".
ROW = re.compile(r"^   \* - ``(\w+)``\n       ``([\w/<>:-]+)``$", re.MULTILINE)


def test_the_reference_lists_every_url_name_with_its_path():
    documented = dict(ROW.findall(REFERENCE.read_text(encoding="utf-8")))
    mounted = {pattern.name: str(pattern.pattern) for pattern in urls.urlpatterns}
    assert documented == mounted


def test_the_reference_names_the_namespace_and_the_include():
    text = REFERENCE.read_text(encoding="utf-8")
    assert f"``{urls.app_name}``" in text
    assert 'include("django_securetokens.api.urls")' in text
