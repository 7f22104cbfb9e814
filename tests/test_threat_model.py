"""The threat-model page covers every requirement, and every test it cites exists.

The R-ids are hard-coded (R-01 to R-76, then the second round's), so this test does not
depend on SECURITY.md being beside the repository. Test names are collected with ``ast``,
not imported, so a page that cites a renamed or deleted test fails here rather than
silently citing nothing.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "topics" / "threat_model.rst"
STATUSES = {"Met by default", "Configurable", "Partly met", "Host's responsibility", "Not met"}


def rows() -> dict[str, tuple[str, str]]:
    """``{R-id: (status, proof)}`` from the page's list-table."""
    text = PAGE.read_text()
    found = re.findall(
        r"^   \* - (R-\d\d)\n     - .*?\n     - (.*?)\n     - (.*?)(?=\n   \* - |\Z)",
        text,
        re.M | re.S,
    )
    return {rid: (status, proof) for rid, status, proof in found}


def test_every_requirement_has_one_row_with_a_known_status():
    table = rows()
    # The first round's, and each second-round requirement as its branch lands.
    second_round = ["R-77", "R-78", "R-79", "R-80", "R-81", "R-84"]
    expected = [f"R-{n:02d}" for n in range(1, 77)] + second_round
    assert sorted(table) == expected
    assert {status for status, _ in table.values()} <= STATUSES


def test_every_cited_test_exists():
    cited = set()
    for _, proof in rows().values():
        cited |= set(re.findall(r"``(tests/[\w/]+\.py)::(\w+)``", proof))
    assert len(cited) > 76
    missing = []
    for path, name in sorted(cited):
        tree = ast.parse((ROOT / path).read_text())
        names = {
            node.name
            for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        }
        if name not in names:
            missing.append(f"{path}::{name}")
    assert missing == []


def test_only_deliberate_gaps_have_no_test():
    untested = [rid for rid, (_, proof) in rows().items() if "``tests/" not in proof]
    assert untested == ["R-66"]
