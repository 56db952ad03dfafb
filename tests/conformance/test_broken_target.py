"""The self-test of issue 4: the real suites, run against a deliberately broken toy
server, fail exactly the requirements it breaks, each with its transcript.

The toy (tests/conformance/fakes.py) reads command lines with asyncio's readline, so a
bare LF ends a line (RFC 5321 §2.3.8 MUST NOT: the SMTP smuggling family), and it
answers an unknown command 250 (§4.2.4: 500 SHOULD be returned). Everything else it
answers as the RFC wants."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conformance.fakes import FakeServer, smtp_handler
from tests.conformance.test_framework import PLUGIN_ARGS

pytest_plugins = ["pytester"]

SYNTAX_SUITE = (Path(__file__).resolve().parents[2] / "conformance" / "suites" / "smtp"
                / "test_syntax.py")


def test_a_broken_toy_target_fails_the_requirements_it_breaks_with_transcripts(
        pytester: pytest.Pytester) -> None:
    broken = smtp_handler(special={b"XCONFORMANCE-UNKNOWN": b"250 2.0.0 fine\r\n"})
    with FakeServer(broken) as server:
        result = pytester.runpytest(
            *PLUGIN_ARGS, str(SYNTAX_SUITE), "-k", "unknown_command or bare_line_end",
            "--target", f"smtp://alice@example.test:pw@{server.url_host}",
            "--report-dir", "reports", "--run-id", "toy", "--io-timeout", "5")
    document: dict[str, Any] = json.loads(
        next((pytester.path / "reports" / "toy").iterdir()).joinpath("results.json")
        .read_text())
    by_test = {r["test"].rpartition("::")[2]: r for r in document["results"]}
    verdicts = {name: r["verdict"] for name, r in by_test.items()}
    assert verdicts == {
        "test_unknown_command_gets_500": "NON-STRICT",                # a SHOULD
        "test_a_bare_line_end_does_not_end_a_command_line[LF]": "FAIL",  # a MUST NOT
        "test_a_bare_line_end_does_not_end_a_command_line[CR]": "PASS"}
    assert int(result.ret) == 1                             # one unexpected FAIL
    smuggled = by_test["test_a_bare_line_end_does_not_end_a_command_line[LF]"]
    assert "RFC5321-2.3.8-1" in {r["id"] for r in smuggled["requirements"]}
    # The transcript shows the one line sent (its bare LF escaped) and the reply to the
    # second "command" arriving where QUIT's 221 belongs.
    assert "C: NOOP\\n\nC: NOOP\nS: 250 2.0.0 <b>ok</b>\nC: QUIT\nS: 250" in smuggled[
        "transcript"]
    assert "more (or fewer) commands than were sent" in smuggled["message"]
    lenient = by_test["test_unknown_command_gets_500"]
    assert "C: XCONFORMANCE-UNKNOWN\nS: 250 2.0.0 fine" in lenient["transcript"]
    assert {r["id"] for r in lenient["requirements"]} == {"RFC5321-4.2.4-3"}
