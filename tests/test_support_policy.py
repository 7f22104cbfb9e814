"""The supported Python x Django pairs are stated in four places, which must agree: the tox
matrix CI runs, the classifiers, the README and the docs' front page."""

from __future__ import annotations

import configparser
import itertools
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LTS = {"5.2"}


def expand(pattern: str) -> list[str]:
    """``py3{12,13}-django{60,61}`` -> every combination, as tox does."""
    parts = re.split(r"(\{[^}]*\})", pattern)
    choices = [p[1:-1].split(",") if p.startswith("{") else [p] for p in parts]
    return ["".join(combo) for combo in itertools.product(*choices)]


def matrix_pairs() -> set[tuple[str, str]]:
    tox = configparser.ConfigParser()
    tox.read(ROOT / "tox.ini")
    pairs = set()
    for line in tox["tox"]["env_list"].split():
        for env in expand(line):
            match = re.fullmatch(r"py3(\d+)-django(\d)(\d+)", env)
            assert match, env
            pairs.add((f"3.{match[1]}", f"{match[2]}.{match[3]}"))
    return pairs


def statements() -> list[str]:
    """One "Python 3.x–3.y with Django A and B" phrase per group of Django versions that share
    a Python range, in Django order."""
    pairs = matrix_pairs()
    djangos = sorted({d for _, d in pairs}, key=lambda v: tuple(map(int, v.split("."))))
    by_range: dict[tuple[str, str], list[str]] = {}
    for django in djangos:
        pythons = sorted((p for p, d in pairs if d == django), key=lambda v: int(v[2:]))
        name = f"{django} LTS" if django in LTS else django
        by_range.setdefault((pythons[0], pythons[-1]), []).append(name)
    return [f"Python {lo}–{hi} with Django {' and '.join(v)}" for (lo, hi), v in by_range.items()]


def flat(path: str) -> str:
    return " ".join((ROOT / path).read_text(encoding="utf-8").split())


def test_every_tested_range_is_contiguous():
    pairs = matrix_pairs()
    for django in {d for _, d in pairs}:
        minors = sorted(int(p[2:]) for p, d in pairs if d == django)
        assert minors == list(range(minors[0], minors[-1] + 1)), django


def test_readme_and_docs_state_the_tested_matrix():
    for phrase in statements():
        assert phrase in flat("README.md")
        assert phrase in flat("docs/index.rst")


def test_classifiers_and_requires_python_match_the_matrix():
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    pairs = matrix_pairs()
    pythons = set(re.findall(r'"Programming Language :: Python :: (3\.\d+)"', pyproject))
    djangos = set(re.findall(r'"Framework :: Django :: (\d+\.\d+)"', pyproject))
    assert pythons == {p for p, _ in pairs}
    assert djangos == {d for _, d in pairs}
    lowest = min(pythons, key=lambda v: int(v[2:]))
    assert f'requires-python = ">={lowest}"' in pyproject
