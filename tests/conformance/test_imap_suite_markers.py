"""The IMAP suite's requirement markers against the requirement index: every cited id
exists, lies in the RFC and section its marker names, and is as strong as the marker says
(MUST and MUST NOT count alike, SHOULD and SHOULD NOT alike). Ids are ordinals within a
section, so a change to the index generator can shift them; this catches that."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from conformance.requirements import RequirementIndex, load_index

SUITE = Path(__file__).resolve().parents[2] / "conformance" / "suites" / "imap"
STRENGTH = {"MUST": "MUST", "MUST NOT": "MUST", "SHOULD": "SHOULD", "SHOULD NOT": "SHOULD",
            "MAY": "MAY"}


def _markers() -> list[tuple[str, int, str, str, tuple[str, ...]]]:
    """(test, rfc, section, level, ids) of every requirement marker in the suite."""
    found = []
    for path in sorted(SUITE.glob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.FunctionDef):
                continue
            for decorator in node.decorator_list:
                if not (isinstance(decorator, ast.Call)
                        and getattr(decorator.func, "attr", None) == "requirement"):
                    continue
                values = {kw.arg: ast.literal_eval(kw.value) for kw in decorator.keywords}
                found.append((f"{path.name}::{node.name}", int(values["rfc"]),
                               str(values["section"]), str(values.get("level", "MUST")),
                               tuple(values.get("ids", ()))))
    return found


MARKERS = _markers()


@pytest.fixture(scope="module")
def index() -> RequirementIndex:
    return load_index()


def test_the_suite_has_markers() -> None:
    assert len(MARKERS) > 150


@pytest.mark.parametrize("test, rfc, section, level, ids", MARKERS,
                         ids=[f"{m[0]}-{m[1]}-{m[2]}" for m in MARKERS])
def test_marker_matches_the_index(index: RequirementIndex, test: str, rfc: int, section: str,
                                  level: str, ids: tuple[str, ...]) -> None:
    assert index.title(rfc, section), f"{test}: RFC {rfc} has no section {section}"
    for requirement_id in ids:
        requirement = index.get(requirement_id)
        assert requirement is not None, f"{test}: no requirement {requirement_id}"
        assert (requirement.rfc, requirement.section) == (rfc, section), (
            f"{test}: {requirement_id} is in RFC {requirement.rfc} §{requirement.section}, "
            f"the marker says RFC {rfc} §{section}")
        assert STRENGTH[requirement.level] == STRENGTH[level], (
            f"{test}: {requirement_id} is {requirement.level} "
            f"({requirement.text[:80]!r}...), the marker says {level}")
