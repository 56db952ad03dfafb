"""The wire fuzzer (fuzz/wire): bounded runs against the reference find nothing and count
what they tried; against deliberately broken fakes they find the fault, shrink it to a
short program, and the replay command reproduces it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.targets import StartedTarget, TargetSpec, open_target, parse_target
from fuzz.wire import run
from fuzz.wire.model import Step, read_replay
from tests.fuzz_wire import fakes


@pytest.fixture(scope="module")
def reference() -> Iterator[StartedTarget]:
    started = open_target("reference")
    try:
        yield started
    finally:
        started.stop()


@pytest.mark.parametrize("protocol", ["smtp", "imap"])
def test_a_bounded_run_against_the_reference_finds_nothing(
        reference: StartedTarget, protocol: str, tmp_path: Path) -> None:
    spec = reference.specs[protocol]
    limits = run.Limits(seconds=2.5, seed=1, hang_timeout=3.0)
    outcome = run.fuzz(spec, limits)
    assert outcome.failures == [], [f.finding.transcript for f in outcome.failures]
    assert outcome.examples > 0
    assert sum(outcome.steps.values()) >= outcome.examples
    assert len(outcome.steps) >= 3                    # several families tried
    run.write_reports(tmp_path, outcome, target="reference", limits=limits)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["examples"] == outcome.examples
    assert summary["findings"] == []
    assert sum(summary["steps_per_family"].values()) == sum(outcome.steps.values())


def _find(spec: TargetSpec, tmp_path: Path) -> run.Outcome:
    limits = run.Limits(seconds=8, seed=3, hang_timeout=0.5, quiet=0.02, shrink_seconds=6)
    outcome = run.fuzz(spec, limits)
    assert outcome.failures, "the fault was not found"
    run.write_reports(tmp_path, outcome, target=spec.url, limits=limits)
    return outcome


def test_a_server_that_hangs_on_nul_is_found_shrunk_and_replayed(tmp_path: Path) -> None:
    with fakes.serve(fakes.smtp_hangs_on_nul) as port:
        url = f"smtp://127.0.0.1:{port}"
        outcome = _find(parse_target(url), tmp_path)
        failure = outcome.failures[0]
        assert failure.finding.kind == "hang"
        assert failure.reproduced
        assert len(failure.program) == 1                  # shrunk to the one step
        assert b"\x00" in failure.program[0].data
        assert len(failure.program[0].data) <= 40
        protocol, program, document = read_replay(tmp_path / "finding-1.json")
        assert (protocol, program) == ("smtp", failure.program)
        assert document["finding"]["kind"] == "hang"
        command = (tmp_path / "finding-1.txt").read_text().split("replay: ", 1)[1]
        assert command.startswith(f"rfcmail fuzz --replay {tmp_path / 'finding-1.json'}")
        assert run.main(["--replay", str(tmp_path / "finding-1.json"), "--target", url,
                         "--hang-timeout", "0.5"]) == 1


def test_a_malformed_imap_response_is_found_shrunk_and_replayed(tmp_path: Path) -> None:
    with fakes.serve(fakes.imap_bad_fetch) as port:
        url = f"imap://alice:pw@127.0.0.1:{port}"
        outcome = _find(parse_target(url), tmp_path)
        failure = outcome.failures[0]
        assert failure.finding.kind == "grammar"
        assert failure.reproduced
        assert len(failure.program) == 1
        assert b"FETCH" in failure.program[0].data.upper()
        assert run.main(["--replay", str(tmp_path / "finding-1.json"), "--target", url,
                         "--hang-timeout", "0.5"]) == 1
        # A program without the fault does not reproduce it.
        clean = [Step("valid", b"A1 NOOP\r\n")]
        document = json.loads((tmp_path / "finding-1.json").read_text())
        document["steps"] = [step.to_json() for step in clean]
        (tmp_path / "clean.json").write_text(json.dumps(document))
        assert run.main(["--replay", str(tmp_path / "clean.json"), "--target", url]) == 0
