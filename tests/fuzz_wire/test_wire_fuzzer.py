"""The wire fuzzer (fuzz/wire): bounded runs against the reference find nothing and count
what they tried; against deliberately broken fakes they find the fault, shrink it to a
short program, and the replay command reproduces it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from conformance.targets import StartedTarget, TargetSpec, open_target, parse_target
from fuzz.wire import imap as imap_wire
from fuzz.wire import imap_steps, run, smtp_steps
from fuzz.wire import smtp as smtp_wire
from fuzz.wire.mailbox import open_mailbox, target_mailbox
from fuzz.wire.model import Finding, Step, read_replay
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
    mailbox = target_mailbox(reference) if protocol == "smtp" else None
    outcome = run.fuzz(spec, limits, mailbox)
    assert outcome.failures == [], [f.finding.transcript for f in outcome.failures]
    assert outcome.examples > 0
    assert sum(outcome.steps.values()) >= outcome.examples
    assert len(outcome.steps) >= 3                    # several families tried
    run.write_reports(tmp_path, outcome, target="reference", limits=limits)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["examples"] == outcome.examples
    assert summary["findings"] == []
    assert sum(summary["steps_per_family"].values()) == sum(outcome.steps.values())
    if protocol == "smtp":            # every acknowledged message was found in INBOX
        assert outcome.acknowledged > 0
        assert summary["store_check"].startswith("checked: IMAP INBOX of alice@")


def test_acknowledged_messages_are_looked_for_in_the_mailbox(
        reference: StartedTarget) -> None:
    """A transaction's message, marked with its id, is read back through IMAP; a BDAT
    transaction cut in chunks too (RFC 3030). The message with a bare LF is refused
    whole (RFC 5321 §2.3.8), and neither it nor the smuggled one is stored."""
    mailbox = target_mailbox(reference)
    assert mailbox is not None
    session = run.session_for(reference.specs["smtp"], run.Limits(hang_timeout=3.0), mailbox)
    session.run([Step("transaction", b"Subject: one\r\n\r\nbody\r\n"),
                 Step("bdat", b"Subject: two\r\n\r\nbody\r\n", b"cuts=3,9"),
                 Step("smuggling", b"Subject: x\r\n\r\nx\n.\nMAIL FROM:<a@b.test>\r\n"
                      b"RCPT TO:<alice@example.test>\r\nDATA\r\nSubject: s\r\n\r\ns\r\n.\r\n")])
    assert len(session.store.acknowledged) == 2
    assert list(session.store.refused) == [f"{session.store.token}.2"]
    assert session.store.smuggling == "smuggling"
    assert mailbox.arrivals().ids == set()      # already seen by the check


def test_a_server_that_acknowledges_and_stores_nothing_is_found(tmp_path: Path) -> None:
    """RFC 5321 §6.1: 250 after the data, and nothing in the (here: empty) maildir."""
    (tmp_path / "new").mkdir()
    with fakes.serve(fakes.smtp_hangs_on_nul) as port:
        spec = parse_target(f"smtp://alice%40example.test:x@127.0.0.1:{port}")
        limits = run.Limits(hang_timeout=0.5, quiet=0.02, store_wait=0.2)
        with pytest.raises(Finding) as found:
            run.run_program(spec, [Step("transaction", b"Subject: x\r\n\r\nx\r\n")], limits,
                            mailbox=open_mailbox(f"maildir:{tmp_path}"))
    assert found.value.kind == "lost"
    assert found.value.family == "transaction"
    assert "RFC 5321 §6.1" in found.value.message


def _find(spec: TargetSpec, tmp_path: Path, max_findings: int = 1) -> run.Outcome:
    limits = run.Limits(seconds=8, seed=3, hang_timeout=0.5, quiet=0.02, shrink_seconds=6,
                        max_findings=max_findings)
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
        assert len(failure.program[0].data) <= 60
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


def test_a_run_goes_on_after_a_finding_and_keeps_one_per_kind_and_family(
        tmp_path: Path) -> None:
    """The fake's faults (silence at a NUL, 250 to anything) show in several step
    families: each is one finding (shrunk, with its own replay file), repeats are
    counted, not reported again."""
    with fakes.serve(fakes.smtp_hangs_on_nul) as port:
        spec = parse_target(f"smtp://127.0.0.1:{port}")
        limits = run.Limits(seconds=40, max_examples=300, seed=3, hang_timeout=0.3,
                            quiet=0.02, shrink_seconds=1.5, max_findings=2)
        outcome = run.fuzz(spec, limits)
        run.write_reports(tmp_path, outcome, target=spec.url, limits=limits)
    keys = [f.finding.key for f in outcome.failures]
    assert len(set(keys)) == len(keys), keys
    assert len(keys) == 2
    assert len({(f.finding.kind, f.finding.family) for f in outcome.failures}) == 2
    assert all(outcome.occurrences[key] >= 1 for key in keys)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert sum(summary["findings_per_kind"].values()) == 2
    assert summary["store_check"].startswith("NOT CHECKED")
    for number in (1, 2):
        assert (tmp_path / f"finding-{number}.txt").read_text().count("replay: rfcmail") == 1
    text = run.summary_text("fake", outcome)
    assert "cases per family:" in text and "findings: 2 (" in text


def test_the_imap_exchanges_beyond_one_command_pass_against_the_reference(
        reference: StartedTarget) -> None:
    """IDLE ended by DONE in any case (RFC 9051 §6.3.13), AUTHENTICATE cancelled with "*"
    or answered with bad base64 (§6.2.2: tagged BAD), a non-synchronizing literal past
    4096 octets (RFC 7888) whose octets look like commands: sent, judged, nothing found."""
    sent: list[str] = []
    program = [Step("idle", b"I1 IDLE\r\n", b"done\r\nI2 NOOP\r\n"),
               Step("authenticate", b"A1 AUTHENTICATE PLAIN\r\n", b"*\r\n"),
               Step("authenticate", b"A1 AUTHENTICATE PLAIN\r\n", b"AAA=BBB\r\n"),
               Step("literal_plus", imap_steps.big_plus_append(5000)),
               Step("valid", b"V1 NOOP\r\n")]
    run.run_program(reference.specs["imap"], program, run.Limits(hang_timeout=3.0),
                    lambda step, was_sent: sent.append(step.family) if was_sent else None)
    assert sent == [step.family for step in program]


def test_a_smuggled_message_found_in_the_mailbox_is_the_finding(tmp_path: Path) -> None:
    """A server that also ends the data at LF "." LF stores the smuggled message: the
    finding is that message in the mailbox (RFC 5321 §4.1.1.4; CVE-2023-51764)."""
    (tmp_path / "new").mkdir()
    with fakes.serve(fakes.smtp_storing_into(tmp_path)) as port:
        spec = parse_target(f"smtp://alice%40example.test:x@127.0.0.1:{port}")
        smuggling = Step("smuggling", b"x\r\n\n.\nMAIL FROM:<>\r\nRCPT TO:<a@b.test>\r\n"
                         b"DATA\r\nSubject: smuggled\r\n\r\n.\r\n")
        with pytest.raises(Finding) as found:
            run.run_program(spec, [smuggling], run.Limits(hang_timeout=1.0, store_wait=1.0),
                            mailbox=open_mailbox(f"maildir:{tmp_path}"))
    assert found.value.kind == "smuggled", found.value
    assert found.value.family == "smuggling"


@pytest.mark.parametrize("steps_module, session", [(smtp_steps, "SmtpSession"),
                                                   (imap_steps, "ImapSession")])
def test_every_family_is_drawn_and_has_an_executor(steps_module: Any, session: str) -> None:
    """Each family of FAMILIES comes up in a few hundred draws (one_family_of: each as
    likely as the next), and the executor knows how to send it."""
    drawn: set[str] = set()

    @settings(max_examples=300, database=None, deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(steps_module.steps())
    def draw(step: Step) -> None:
        drawn.add(step.family)

    draw()
    assert drawn == set(steps_module.FAMILIES)
    executor = getattr(smtp_wire if session == "SmtpSession" else imap_wire, session)
    if session == "SmtpSession":          # IMAP sends the command families as they are
        assert all(hasattr(executor, f"step_{family}") for family in drawn)


def test_an_lmtp_target_is_greeted_with_lhlo_and_its_messages_looked_for(
        tmp_path: Path) -> None:
    """lmtp://: LHLO (RFC 2033 §4.1) instead of EHLO; the message is stored, found."""
    (tmp_path / "new").mkdir()
    with fakes.serve(fakes.smtp_storing_into(tmp_path)) as port:
        spec = parse_target(f"smtp://alice%40example.test:x@127.0.0.1:{port}")
        session = run.run_program(spec, [Step("transaction", b"Subject: x\r\n\r\nx\r\n")],
                                  run.Limits(hang_timeout=1.0, store_wait=1.0, lmtp=True),
                                  mailbox=open_mailbox(f"maildir:{tmp_path}"))
    assert "C: LHLO fuzz.test" in session.transcript()
    assert len(session.store.acknowledged) == 1
