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
