"""Verdicts, expectations, and the requirement texts results carry.

A test's verdict comes from what happened and the strength of what it checks:

  PASS           the test passed
  FAIL           an assertion or GrammarViolation, in a test of a MUST / MUST NOT
                 requirement (or of no stated level)
  NON-STRICT     the same, in a test of SHOULD / SHOULD NOT / MAY requirements only
  INFORMATIONAL  a test marked ``informational``: it records, it never fails
  UNSUPPORTED    the target does not advertise what the test ``needs`` (or the test
                 skipped itself with a reason starting "UNSUPPORTED")
  SKIPPED        skipped for another reason (too few accounts, ...)
  ERROR          connection refused or reset, timeout, any other exception

An expectations file (TOML) states verdicts known in advance, by test node id or by
requirement id; a verdict equal to its expectation does not fail the run:

    [expected]
    "conformance/suites/imap/test_fetch.py::test_binary" = "FAIL"
    "RFC5321-4.5.3.1.5-1" = { verdict = "NON-STRICT", reason = "long reply lines" }
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from conformance.requirements import load_index

PASS = "PASS"
FAIL = "FAIL"
NON_STRICT = "NON-STRICT"
INFORMATIONAL = "INFORMATIONAL"
UNSUPPORTED = "UNSUPPORTED"
SKIPPED = "SKIPPED"
ERROR = "ERROR"
VERDICTS = (PASS, FAIL, NON_STRICT, INFORMATIONAL, UNSUPPORTED, SKIPPED, ERROR)
# Verdicts that fail a run unless expected.
FAILING = (FAIL, ERROR)
# pytest.exit status when a named target cannot be started.
EXIT_UNAVAILABLE = 6

STRICT_LEVELS = ("MUST", "MUST NOT")


class ExpectationsError(ValueError):
    """An expectations file that cannot be read."""


class SetupFailed(Exception):
    """A fixture could not prepare the test (LOGIN refused, CREATE refused): ERROR."""


@dataclass
class Expectations:
    """Expected verdicts by test node id or requirement id, with reasons."""

    verdicts: dict[str, str] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)

    def lookup(self, nodeid: str, requirement_ids: Iterable[str]) -> tuple[str | None, str]:
        """The expected verdict of a test and why: its node id first (exactly, or as a
        path suffix, so ids relative to another directory match), then its requirements."""
        for key, verdict in self.verdicts.items():
            if key == nodeid or nodeid.endswith("/" + key) or key.endswith("/" + nodeid):
                return verdict, self.reasons.get(key, "")
        for requirement in requirement_ids:
            if requirement in self.verdicts:
                return self.verdicts[requirement], self.reasons.get(requirement, "")
        return None, ""


def load_expectations(path: str | Path | None) -> Expectations:
    if not path:
        return Expectations()
    try:
        with open(path, "rb") as file:
            data = tomllib.load(file)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ExpectationsError(f"expectations file {path}: {exc}") from None
    table = data.get("expected", {})
    if not isinstance(table, dict):
        raise ExpectationsError(f"{path}: [expected] must be a table")
    expectations = Expectations()
    for key, value in table.items():
        reason = ""
        if isinstance(value, dict):
            reason = str(value.get("reason", ""))
            value = value.get("verdict")
        if not isinstance(value, str) or value.upper() not in VERDICTS:
            raise ExpectationsError(f"{path}: {key!r} = {value!r}: expected one of "
                                    f"{', '.join(VERDICTS)}")
        expectations.verdicts[key] = value.upper()
        expectations.reasons[key] = reason
    return expectations


def classify(report: pytest.TestReport, excinfo: pytest.ExceptionInfo[BaseException] | None,
             levels: Sequence[str], informational: bool) -> tuple[str, str]:
    """The verdict of one phase's report, and its message."""
    if report.skipped:
        reason = _skip_reason(report)
        return (UNSUPPORTED if reason.startswith(UNSUPPORTED) else SKIPPED), reason
    if report.passed:
        return (INFORMATIONAL if informational else PASS), ""
    message = excinfo.exconly() if excinfo is not None else str(report.longrepr)
    if excinfo is not None and isinstance(excinfo.value, AssertionError):
        if informational:
            return INFORMATIONAL, message
        strict = not levels or any(level in STRICT_LEVELS for level in levels)
        return (FAIL if strict else NON_STRICT), message
    return ERROR, message


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr or "")
    return reason.removeprefix("Skipped: ")


def shape_report(report: pytest.TestReport, verdict: str, expected: str | None,
                 message: str) -> None:
    """Mark ``report`` with its verdict; a verdict that must not fail the run (anything
    but an unexpected FAIL/ERROR) stops counting as a failure: a failed call becomes
    passed, a failed setup or teardown skipped, carrying the verdict as its reason."""
    report.conformance_verdict = verdict            # type: ignore[attr-defined]
    report.conformance_expected = expected          # type: ignore[attr-defined]
    if not report.failed or (verdict in FAILING and expected != verdict):
        return
    if report.when == "call":
        report.outcome = "passed"
    else:
        path, lineno, _ = report.location
        report.outcome = "skipped"
        report.longrepr = (path, (lineno or 0) + 1, f"{verdict}: {message}")


def teststatus(verdict: str, expected: str | None) -> tuple[str, str, str]:
    """(category, letter, word) for pytest's terminal."""
    if expected is not None and expected == verdict and verdict != PASS:
        return "expected", "x", f"{verdict} (expected)"
    return {
        PASS: ("passed", ".", PASS),
        FAIL: ("failed", "F", FAIL),
        NON_STRICT: ("non-strict", "n", NON_STRICT),
        INFORMATIONAL: ("informational", "i", INFORMATIONAL),
        UNSUPPORTED: ("unsupported", "u", UNSUPPORTED),
        SKIPPED: ("skipped", "s", SKIPPED),
        ERROR: ("error", "E", ERROR),
    }[verdict]


# --- requirement texts -------------------------------------------------------------------


def expand_requirements(markers: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Requirement markers as results entries {id, rfc, section, title, level, text}:
    one per id (text and title from the index), or one per marker without ids."""
    index = load_index()
    entries = []
    for marker in markers:
        rfc, section, level = marker["rfc"], marker["section"], marker["level"]
        title = index.title(rfc, section) if rfc is not None and section is not None else ""
        for requirement_id in marker["ids"] or (None,):
            entry = {"id": requirement_id, "rfc": rfc, "section": section, "title": title,
                     "level": level, "text": ""}
            found = index.get(requirement_id) if requirement_id else None
            if found is not None:
                entry.update(rfc=found.rfc, section=found.section,
                             title=found.title or title, level=found.level or level,
                             text=found.text)
            entries.append(entry)
    return entries
