"""The built wheel carries everything the app needs at run time (flat layout, so the tests
would not notice a missing package-data entry on their own)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_contains_templates_migrations_data_and_py_typed(tmp_path):
    # A private copy: a build in the checkout writes build/ and *.egg-info there, which
    # the tox environments running side by side would share.
    source = tmp_path / "source"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(".*", "build", "*.egg-info", "_build", "__pycache__"),
    )
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path)],
        cwd=source,
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("django_securetokens-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "django_securetokens/py.typed",
        "django_securetokens/migrations/0001_initial.py",
        "django_securetokens/templates/django_securetokens/base.html",
        "django_securetokens/data/eff_large_wordlist.txt",
        "django_securetokens/management/commands/generatesecret.py",
        # Compiled catalogues ship in the wheel, so installs need no gettext tools.
        "django_securetokens/locale/fr/LC_MESSAGES/django.mo",
        "django_securetokens/locale/de/LC_MESSAGES/django.mo",
    ):
        assert required in names
    assert not any(name.startswith(("tests/", "example_project/")) for name in names)
