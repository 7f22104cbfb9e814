"""The reference cannot drift from the code: every setting, check id and signal is documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.dispatch import Signal

from django_securetokens import checks, conf, signals

DOCS = Path(__file__).resolve().parent.parent / "docs" / "reference"


@pytest.mark.parametrize("key", sorted(conf.DEFAULTS))
def test_every_setting_is_documented(key):
    assert f"``{key}``" in (DOCS / "settings.rst").read_text()


@pytest.mark.parametrize(
    "check_id",
    sorted(set(re.findall(r"securetokens\.[EW]\d{3}", Path(checks.__file__).read_text()))),
)
def test_every_check_id_is_documented(check_id):
    assert f"``{check_id}``" in (DOCS / "checks.rst").read_text()


@pytest.mark.parametrize(
    "name", sorted(n for n, v in vars(signals).items() if isinstance(v, Signal))
)
def test_every_signal_is_documented(name):
    assert f"``{name}``" in (DOCS / "signals.rst").read_text()


def _url_names():
    from django_securetokens import urls

    return sorted(p.name for p in urls.urlpatterns if getattr(p, "name", None))


@pytest.mark.parametrize("name", _url_names())
def test_every_url_name_is_documented_with_its_view(name):
    from django_securetokens import urls

    (pattern,) = [p for p in urls.urlpatterns if getattr(p, "name", None) == name]
    text = (DOCS / "views.rst").read_text()
    assert f"``{name}``" in text
    assert f"``{pattern.callback.view_class.__name__}``" in text
