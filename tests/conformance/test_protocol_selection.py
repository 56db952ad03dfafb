"""Issue 4: "Users can select what runs by protocol": `--protocol` keeps the tests of one
protocol against a target that offers several (the reference: SMTP and IMAP)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conformance.test_framework import PLUGIN_ARGS

pytest_plugins = ["pytester"]

SUITES = Path(__file__).resolve().parents[2] / "conformance" / "suites"


def test_protocol_keeps_one_protocol_of_a_target_that_offers_two(
        pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(*PLUGIN_ARGS, str(SUITES / "smtp" / "test_smoke.py"),
                                str(SUITES / "imap" / "test_smoke.py"),
                                "--target", "reference", "--protocol", "imap",
                                "--report-dir", "reports", "--run-id", "imap-only")
    imap_tests = (SUITES / "imap" / "test_smoke.py").read_text().count("\ndef test_")
    result.assert_outcomes(passed=imap_tests, deselected=(
        SUITES / "smtp" / "test_smoke.py").read_text().count("\ndef test_"))
    document = json.loads((pytester.path / "reports" / "imap-only" / "reference" /
                           "results.json").read_text())
    assert len(document["results"]) == imap_tests
    assert all("imap/test_smoke.py::" in r["test"] for r in document["results"]), [
        r["test"] for r in document["results"]]
