"""``rfcmail report coverage``: how many MUST-level requirements the suites check.

    rfcmail report coverage [--rfc 5321] [--json] [--summary] [--suite PATH]

For each indexed RFC: how many of its MUST-level requirements (index levels MUST and MUST
NOT: MUST, REQUIRED, SHALL, MUST NOT, SHALL NOT) at least one conformance test checks,
out of how many, and which are not covered (id, section, level, sentence).

What counts (conformance/DESIGN.md, "Coverage"):

- The tests and their ``requirement`` markers come from pytest's own collection of the
  suites (``conformance/suites`` unless ``--suite``) with the conformance plugin loaded,
  read through ``plugin.requirement_markers``: exactly what a run reports.
- A marker with ``ids`` covers those requirements.
- A marker without ids (RFC, section, level) covers the one requirement of exactly that
  section (not its subsections) at that level, when there is exactly one; when there are
  several it cannot say which, so it covers none of them: they stay uncovered, flagged
  "section marker" (a test names their section and level, not them).
- A test marked ``informational`` never fails, so it checks nothing: what only such
  tests name stays uncovered, flagged "informational only". So does what only markers of
  SHOULD, SHOULD NOT or MAY level name (a test that checks the SHOULD half of a sentence
  whose other half is a MUST is NON-STRICT at worst): "SHOULD-level test only".
- ``conformance/not_observable.toml`` lists requirements that a client cannot observe
  against a server (rules for clients, relays, DNS, queues, operators). They are counted
  apart: "observable" is the total less those, and the share of it that is covered is
  the honest figure for a server-facing suite. A listed requirement that a test covers
  anyway counts as covered (and the report warns about the stale entry).
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from conformance.requirements import (
    Requirement,
    RequirementIndex,
    load_index,
    normalise_level,
    normalise_section,
)

CHECKOUT = Path(__file__).resolve().parents[1]
SUITES = CHECKOUT / "conformance" / "suites"
NOT_OBSERVABLE_PATH = Path(__file__).resolve().parent / "not_observable.toml"

# The index levels that coverage counts: MUST (MUST, REQUIRED, SHALL) and MUST NOT (MUST
# NOT, SHALL NOT), RFC 2119 §1-§2.
MUST_LEVELS = ("MUST", "MUST NOT")
SCHEMA = 1


class CoverageError(Exception):
    """The suites could not be collected, or a list file cannot be read."""


# --- what the suites cite --------------------------------------------------------------


@dataclass(frozen=True)
class Citation:
    """One ``requirement`` marker of one collected test."""

    test: str
    rfc: int | None
    section: str | None
    level: str
    ids: tuple[str, ...]
    informational: bool = False


class _Collector:
    """A pytest plugin object that keeps the collected items' requirement markers."""

    def __init__(self) -> None:
        self.citations: list[Citation] = []
        self.errors: list[str] = []

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.errors.append(f"{report.nodeid}: {report.longreprtext.strip()[-500:]}")

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        from conformance.plugin import requirement_markers

        for item in items:
            informational = item.get_closest_marker("informational") is not None
            for marker in requirement_markers(item):
                self.citations.append(Citation(
                    test=item.nodeid, rfc=marker["rfc"], section=marker["section"],
                    level=marker["level"], ids=tuple(marker["ids"]),
                    informational=informational))


def collect_citations(paths: Sequence[Path | str] = (SUITES,)) -> list[Citation]:
    """The requirement markers of every test pytest collects under ``paths`` (with the
    conformance plugin; no target, so nothing runs). A suite file that does not import
    is a CoverageError: a report that silently left its tests out would be wrong."""
    collector = _Collector()
    roots = [Path(path).resolve() for path in paths]
    before = set(sys.modules)
    args = ["--collect-only", "-p", "no:cacheprovider", "-p", "no:terminal",
            "-p", "conformance.plugin", "--rootdir", str(CHECKOUT),
            "-c", str(CHECKOUT / "pyproject.toml"), *(str(root) for root in roots)]
    try:
        status = pytest.main(args, plugins=[collector])
    finally:
        # The test modules imported by this collection are forgotten, so that a later
        # one (of another suite with the same file names) imports its own.
        for name in set(sys.modules) - before:
            file = getattr(sys.modules[name], "__file__", None)
            if file and any(Path(file).resolve().is_relative_to(root) for root in roots):
                del sys.modules[name]
    if collector.errors:
        raise CoverageError("the suites could not be collected:\n" + "\n".join(collector.errors))
    if status not in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        raise CoverageError(f"collecting {', '.join(map(str, paths))} failed ({status!r})")
    return collector.citations


# --- requirements a client cannot observe ------------------------------------------------


def load_not_observable(path: Path | str | None = NOT_OBSERVABLE_PATH) -> dict[str, str]:
    """Requirement id -> why a client cannot observe it, from the TOML list
    (``[not_observable]`` table, ``"RFC5321-4.1.1.1-3" = "reason"``); {} without a file."""
    if path is None or not Path(path).is_file():
        return {}
    try:
        table = tomllib.loads(Path(path).read_text(encoding="utf-8")).get("not_observable", {})
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CoverageError(f"{path}: {exc}") from None
    if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
        raise CoverageError(f'{path}: [not_observable] must map ids to reasons ("why")')
    return {str(key): str(value) for key, value in table.items()}


# --- coverage ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RequirementCoverage:
    """One MUST-level requirement and the tests that name it."""

    requirement: Requirement
    tests: tuple[str, ...] = ()           # tests that check it (by id, or its section alone)
    section_tests: tuple[str, ...] = ()   # tests naming only its section and level, ambiguously
    informational_tests: tuple[str, ...] = ()
    should_tests: tuple[str, ...] = ()    # tests naming it in a SHOULD / MAY level marker
    not_observable: str | None = None     # why a client cannot observe it (when uncovered)

    @property
    def covered(self) -> bool:
        return bool(self.tests)

    @property
    def flags(self) -> list[str]:
        found = []
        if self.section_tests:
            found.append("section marker")
        if self.informational_tests:
            found.append("informational only")
        if self.should_tests:
            found.append("SHOULD-level test only")
        return found

    def as_json(self) -> dict[str, Any]:
        r = self.requirement
        return {"id": r.id, "section": r.section, "level": r.level, "text": r.text,
                "tests": list(self.tests), "section_tests": list(self.section_tests),
                "informational_tests": list(self.informational_tests),
                "should_tests": list(self.should_tests),
                "not_observable": self.not_observable}


@dataclass(frozen=True)
class RfcCoverage:
    """The MUST-level coverage of one RFC."""

    rfc: int
    requirements: tuple[RequirementCoverage, ...]

    @property
    def total(self) -> int:
        return len(self.requirements)

    @property
    def covered(self) -> int:
        return sum(1 for r in self.requirements if r.covered)

    @property
    def not_observable(self) -> list[RequirementCoverage]:
        return [r for r in self.requirements if not r.covered and r.not_observable]

    @property
    def observable(self) -> int:
        return self.total - len(self.not_observable)

    @property
    def uncovered(self) -> list[RequirementCoverage]:
        """Not covered, and not listed as out of a client's sight."""
        return [r for r in self.requirements if not r.covered and not r.not_observable]

    def as_json(self) -> dict[str, Any]:
        return {"rfc": self.rfc, "total": self.total, "covered": self.covered,
                "not_observable": len(self.not_observable), "observable": self.observable,
                "uncovered": [r.as_json() for r in self.uncovered],
                "not_observable_requirements": [r.as_json() for r in self.not_observable]}


@dataclass
class Coverage:
    """The MUST-level coverage of the indexed RFCs, and what looks wrong in the inputs."""

    rfcs: list[RfcCoverage]
    tests: int
    problems: list[str] = field(default_factory=list)

    def rfc(self, number: int) -> RfcCoverage:
        for entry in self.rfcs:
            if entry.rfc == number:
                return entry
        raise KeyError(number)

    def as_json(self) -> dict[str, Any]:
        return {"schema": SCHEMA, "levels": list(MUST_LEVELS), "tests": self.tests,
                "rfcs": [r.as_json() for r in self.rfcs], "problems": self.problems}


def compute(index: RequirementIndex, citations: Iterable[Citation],
            not_observable: dict[str, str] | None = None,
            rfcs: Iterable[int] | None = None) -> Coverage:
    """Coverage of ``index``'s MUST-level requirements by ``citations`` (the rules in this
    module's docstring), for ``rfcs`` (default: every indexed RFC)."""
    not_observable = dict(not_observable or {})
    citations = list(citations)
    checking: dict[str, set[str]] = {}
    by_section: dict[str, set[str]] = {}
    informational: dict[str, set[str]] = {}
    should: dict[str, set[str]] = {}
    problems: list[str] = []
    for citation in citations:
        for requirement_id in _cited(index, citation, by_section, problems):
            target = (informational if citation.informational
                      else checking if _level(citation.level) in MUST_LEVELS else should)
            target.setdefault(requirement_id, set()).add(citation.test)
    for requirement_id in not_observable:
        found = index.get(requirement_id)
        if found is None:
            problems.append(f"not_observable: no requirement {requirement_id} in the index")
        elif found.level not in MUST_LEVELS:
            problems.append(f"not_observable: {requirement_id} is {found.level}, "
                            "not a MUST-level requirement")
        elif requirement_id in checking:
            problems.append(f"not_observable: {requirement_id} is checked by "
                            f"{sorted(checking[requirement_id])[0]}: remove the entry")
    wanted = index.rfcs if rfcs is None else tuple(rfcs)
    result = []
    for number in wanted:
        entries = tuple(
            RequirementCoverage(
                requirement=r,
                tests=tuple(sorted(checking.get(r.id, ()))),
                section_tests=tuple(sorted(by_section.get(r.id, set())
                                           - checking.get(r.id, set()))),
                informational_tests=tuple(sorted(informational.get(r.id, ()))),
                should_tests=tuple(sorted(should.get(r.id, set()) - checking.get(r.id, set()))),
                not_observable=not_observable.get(r.id))
            for r in index.select(rfc=number) if r.level in MUST_LEVELS)
        result.append(RfcCoverage(number, entries))
    tests = len({c.test for c in citations})
    return Coverage(result, tests, problems)


def _level(keyword: str) -> str | None:
    try:
        return normalise_level(keyword)
    except ValueError:
        return None


def _cited(index: RequirementIndex, citation: Citation, by_section: dict[str, set[str]],
           problems: list[str]) -> list[str]:
    """The ids a citation covers; a section marker that names several requirements of
    its level is noted in ``by_section`` (not covering) instead."""
    if citation.ids:
        known = []
        for requirement_id in citation.ids:
            if index.get(requirement_id) is None:
                problems.append(f"{citation.test}: no requirement {requirement_id}")
            else:
                known.append(requirement_id)
        return known
    if citation.rfc is None or citation.section is None:
        return []
    level = _level(citation.level)
    if level is None:
        problems.append(f"{citation.test}: level {citation.level!r} is not a keyword")
        return []
    section = normalise_section(citation.section)
    matching = [r.id for r in index.in_section(citation.rfc, section) if r.level == level]
    if len(matching) == 1:
        return matching
    # None: the section states its rule without a keyword of that level (§4.5.3.1.4's
    # 512 octets are a MUST through §4.5.3.1): nothing in the index to cover.
    for requirement_id in matching:
        by_section.setdefault(requirement_id, set()).add(citation.test)
    return []


# --- output ------------------------------------------------------------------------------


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:3.0f}%" if whole else "   -"


def render_text(coverage: Coverage, *, summary: bool = False,
                show_not_observable: bool = False) -> str:
    """The table of RFCs, then (unless ``summary``) each RFC's uncovered requirements."""
    lines = [f"MUST-level requirements (MUST, MUST NOT, SHALL) checked by {coverage.tests} "
             "conformance tests",
             "",
             f"{'RFC':>6}  {'covered':>13}  {'not observable':>14}  {'observable covered':>18}"]
    totals = [0, 0, 0, 0]
    for entry in coverage.rfcs:
        not_observable = len(entry.not_observable)
        lines.append(_row(str(entry.rfc), entry.covered, entry.total, not_observable,
                          entry.observable))
        for n, value in enumerate((entry.covered, entry.total, not_observable,
                                   entry.observable)):
            totals[n] += value
    if len(coverage.rfcs) > 1:
        lines.append(_row("all", *totals))
    if not summary:
        for entry in coverage.rfcs:
            if entry.uncovered:
                lines += ["", f"RFC {entry.rfc}: {len(entry.uncovered)} not covered"]
                lines += [_requirement_line(r) for r in entry.uncovered]
            if show_not_observable and entry.not_observable:
                lines += ["", f"RFC {entry.rfc}: {len(entry.not_observable)} not observable "
                          "by a client"]
                lines += [_requirement_line(r, reason=True) for r in entry.not_observable]
    for problem in coverage.problems:
        lines.append(f"warning: {problem}")
    return "\n".join(lines) + "\n"


def _row(name: str, covered: int, total: int, not_observable: int, observable: int) -> str:
    return (f"{name:>6}  {covered:>5}/{total:<4}{_percent(covered, total)}"
            f"  {not_observable:>14}  {covered:>10}/{observable:<4}{_percent(covered, observable)}")


def _requirement_line(entry: RequirementCoverage, *, reason: bool = False) -> str:
    r = entry.requirement
    flags = "".join(f" [{flag}]" for flag in entry.flags)
    text = textwrap.shorten(r.text, 90, placeholder=" ...")
    line = f"  {r.id:<22} §{r.section:<10} {r.level:<8} {text}{flags}"
    if reason and entry.not_observable:
        line += f"\n  {'':<22}  why: {entry.not_observable}"
    return line


# --- the command -------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="rfcmail report coverage",
        description="Per indexed RFC: how many MUST / MUST NOT / SHALL requirements at "
                    "least one conformance test checks, and which are not covered.")
    p.add_argument("--rfc", action="append", type=int, default=[], metavar="N",
                   help="only RFC N (repeatable)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--summary", action="store_true",
                   help="the table only, without the uncovered requirements")
    p.add_argument("--not-observable", action="store_true",
                   help="also list the requirements a client cannot observe, and why")
    p.add_argument("--suite", action="append", default=[], metavar="PATH",
                   help="test files or directories (default: conformance/suites)")
    p.add_argument("--not-observable-file", default=str(NOT_OBSERVABLE_PATH), metavar="FILE",
                   help="the list of requirements a client cannot observe "
                        "(default: conformance/not_observable.toml)")
    return p


def main(argv: Sequence[str] | None = None, *, index: RequirementIndex | None = None) -> int:
    options = parser().parse_args(argv)
    index = index if index is not None else load_index()
    unknown = [n for n in options.rfc if n not in index.rfcs]
    if unknown:
        print(f"rfcmail report coverage: RFC {unknown[0]} is not indexed (indexed: "
              f"{', '.join(map(str, index.rfcs))})", file=sys.stderr)
        return 2
    try:
        citations = collect_citations(options.suite or [SUITES])
        not_observable = load_not_observable(options.not_observable_file)
    except CoverageError as exc:
        print(f"rfcmail report coverage: {exc}", file=sys.stderr)
        return 1
    coverage = compute(index, citations, not_observable, options.rfc or None)
    if options.json:
        sys.stdout.write(json.dumps(coverage.as_json(), indent=1) + "\n")
    else:
        sys.stdout.write(render_text(coverage, summary=options.summary,
                                     show_not_observable=options.not_observable))
    return 0


if __name__ == "__main__":
    sys.exit(main())
