"""The reference cannot drift from the code: every setting, check id and signal is documented."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.dispatch import Signal

from django_securetokens import checks, checks_frontends, conf, signals
from django_securetokens.contrib import task_checks

DOCS = Path(__file__).resolve().parent.parent / "docs" / "reference"


@pytest.mark.parametrize("key", sorted(conf.DEFAULTS))
def test_every_setting_is_documented(key):
    assert f"``{key}``" in (DOCS / "settings.rst").read_text()


def _documented_defaults():
    text = (DOCS / "settings.rst").read_text()
    return dict(re.findall(r"^``(\w+)`` — default ``(.+)``$", text, re.M))


@pytest.mark.parametrize("key", sorted(_documented_defaults()))
def test_every_documented_default_is_the_default(key):
    """``conf.DEFAULTS`` is the one definition; the reference must quote it, not restate it."""
    value = _documented_defaults()[key]
    assert eval(value, {"timedelta": timedelta}) == conf.DEFAULTS[key]  # noqa: S307 - our docs


CHECK_ID = r"securetokens\.[EW]\d{3}"
#: Every module that defines system checks; a new one must be listed here.
CHECK_MODULES = (checks, checks_frontends, task_checks)


@pytest.mark.parametrize(
    "check_id",
    sorted(
        {
            check_id
            for module in CHECK_MODULES
            for check_id in re.findall(
                r"securetokens\.[EW]\d{3}", Path(module.__file__).read_text()
            )
        }
    ),
)
def test_every_check_id_is_documented(check_id):
    assert f"``{check_id}``" in (DOCS / "checks.rst").read_text()


def test_every_module_that_registers_checks_is_scanned():
    """So an id defined in a new check module cannot escape the test above."""
    package = Path(checks.__file__).parent
    defining = {
        path.resolve()
        for path in package.rglob("*.py")
        if re.search(r"id=\"securetokens\.[EW]\d{3}\"", path.read_text())
    }
    assert defining == {Path(module.__file__).resolve() for module in CHECK_MODULES}


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
