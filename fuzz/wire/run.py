"""``rfcmail fuzz`` (also ``python -m fuzz.wire``): the wire fuzzer against a live target.

    rfcmail fuzz --target URL|NAME [--protocol smtp|imap] [--max-examples N]
                 [--seconds S] [--seed N] [--max-findings N] [--mailbox URL]
                 [--report-dir DIR] [--hang-timeout S]
    rfcmail fuzz --replay FILE --target URL|NAME [--mailbox URL]

Hypothesis draws programs (sessions of valid and hostile steps, ``fuzz.wire.smtp`` and
``fuzz.wire.imap``) and runs each on fresh connections until the time or the count is
spent, or ``--max-findings`` findings are made. Findings are told apart by
``Finding.key`` (kind, step family, the message without what varies); a repeat is
counted, a new one is shrunk to a short program and replayed once more. The run writes,
under ``<report-dir>/<run-id>/<target>-<protocol>/``: ``summary.json`` (programs, cases
sent per family, findings per kind, the store check), and per finding ``finding-N.json``
(the replay file) and ``finding-N.txt`` (message, transcript, the one-line replay
command); the same summary is printed.

SMTP: where the recipient's mailbox can be read (``--mailbox``, or the target's own: the
reference's IMAP account, Postfix's maildir), every message acknowledged with 250 after
DATA/BDAT must be stored, and no smuggled one (``fuzz.wire.mailbox``); where it cannot,
the summary says "NOT CHECKED".

Bounded: ``--seconds`` of generation (shrinking is extra: ``--shrink-seconds`` per
finding for Hypothesis, as long again for dropping steps), ``--max-examples``,
``--max-steps`` per program, at most a few KiB per step, and every socket operation by
``--hang-timeout``. Targets: a URL the user gives (smtp://host:port,
imap://user:pw@host:port, ...) or a name started for the run on loopback (reference,
dovecot, postfix: conformance/targets.py).

Exit status: 0 without findings, 1 with findings (or, for --replay, when the finding is
reproduced) or when the target cannot be started, 2 for a usage error.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shlex
import sys
import time
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings
from hypothesis.errors import HypothesisWarning
from hypothesis.strategies import SearchStrategy

from conformance.drivers import DriverError, GrammarViolation
from conformance.targets import (
    NAMED_TARGETS,
    TargetError,
    TargetSpec,
    TargetUnavailable,
    open_target,
    parse_account,
    target_name,
    target_protocols,
)
from fuzz.wire import imap as imap_wire
from fuzz.wire import imap_steps, smtp_steps
from fuzz.wire import smtp as smtp_wire
from fuzz.wire.mailbox import Mailbox, open_mailbox, target_mailbox
from fuzz.wire.model import Failure, Finding, Program, Step, read_replay, write_replay

PROTOCOL_MODULES: dict[str, ModuleType] = {"smtp": smtp_wire, "imap": imap_wire}
PROGRAMS: dict[str, Callable[[int], SearchStrategy[Program]]] = {
    "smtp": smtp_steps.programs, "imap": imap_steps.programs}
BATCH = 20                     # examples per Hypothesis run; runs repeat until time is up


@dataclass
class Limits:
    seconds: float = 30.0
    max_examples: int | None = None
    seed: int = 0
    hang_timeout: float = 5.0
    quiet: float = 0.05
    max_steps: int = 8
    shrink_seconds: float = 10.0
    max_findings: int = 10
    store_wait: float = 5.0
    lmtp: bool = False          # the SMTP target speaks LMTP (RFC 2033): lmtp://host:port


@dataclass
class Outcome:
    """What one protocol's run did."""

    protocol: str
    examples: int = 0                    # programs run while generating
    shrink_runs: int = 0                 # programs run while shrinking
    steps: Counter[str] = field(default_factory=Counter)   # steps sent per family
    skipped: Counter[str] = field(default_factory=Counter)  # drawn, not sent (no extension)
    acknowledged: int = 0                # SMTP: messages the target accepted with 250
    store: str = ""                      # SMTP: how acknowledged vs stored was checked
    seconds: float = 0.0
    shrink_seconds: float = 0.0
    occurrences: Counter[str] = field(default_factory=Counter)   # finding key -> programs
    failures: list[Failure] = field(default_factory=list)

    def kinds(self) -> Counter[str]:
        return Counter(f.finding.kind for f in self.failures)

    def summary(self) -> dict[str, Any]:
        return {"protocol": self.protocol, "examples": self.examples,
                "shrink_runs": self.shrink_runs, "seconds": round(self.seconds, 2),
                "shrink_seconds": round(self.shrink_seconds, 2),
                "steps_per_family": dict(sorted(self.steps.items())),
                "skipped_per_family": dict(sorted(self.skipped.items())),
                "acknowledged_messages": self.acknowledged, "store_check": self.store,
                "findings_per_kind": dict(sorted(self.kinds().items())),
                "findings": [{"kind": f.finding.kind, "family": f.finding.family,
                              "key": f.finding.key, "message": f.finding.message,
                              "steps": len(f.program), "reproduced": f.reproduced,
                              "occurrences": self.occurrences[f.finding.key],
                              **f.extra} for f in self.failures]}


def session_for(spec: TargetSpec, limits: Limits, mailbox: Mailbox | None = None) -> Any:
    if spec.protocol == "smtp":
        return smtp_wire.SmtpSession(spec, hang_timeout=limits.hang_timeout,
                                     quiet=limits.quiet, mailbox=mailbox,
                                     store_wait=limits.store_wait, lmtp=limits.lmtp)
    return imap_wire.ImapSession(spec, hang_timeout=limits.hang_timeout, quiet=limits.quiet)


def run_program(spec: TargetSpec, program: Program, limits: Limits,
                on_step: Callable[[Step, bool], None] | None = None,
                mailbox: Mailbox | None = None) -> Any:
    """Run ``program`` once; raises ``Finding``. Returns the session (for its counters)."""
    session = session_for(spec, limits, mailbox)
    session.run(program, on_step)
    return session


class _Search:
    """The state of one run: the findings so far (one per key), and the key being shrunk."""

    def __init__(self, spec: TargetSpec, limits: Limits, mailbox: Mailbox | None) -> None:
        self.spec, self.limits, self.mailbox = spec, limits, mailbox
        self.outcome = Outcome(spec.protocol)
        self.found: dict[str, Failure] = {}
        self.unshrunk: list[str] = []        # keys found, not yet shrunk and replayed
        self.shrinking: str | None = None
        self.shrink_until = 0.0
        self.max_examples = limits.max_examples if limits.max_examples is not None else 10**9

    def full(self) -> bool:
        return len(self.found) >= self.limits.max_findings

    def count(self, step: Step, sent: bool) -> None:
        (self.outcome.steps if sent else self.outcome.skipped).update([step.family])

    def run(self, program: Program, counting: bool) -> Any:
        return run_program(self.spec, program, self.limits,
                           self.count if counting else None, self.mailbox)

    def body(self, program: Program) -> None:
        """Hypothesis's test: while generating, a known finding is counted and the run
        goes on; a new one is raised, and Hypothesis shrinks it (only that key fails)."""
        if self.shrinking is not None:
            if time.monotonic() > self.shrink_until:
                return                      # out of shrinking time: keep the best so far
            self.outcome.shrink_runs += 1
            try:
                self.run(program, counting=False)
            except Finding as finding:
                if finding.key == self.shrinking:
                    failure = Failure(self.spec.protocol, list(program), finding)
                    if failure.sort_key < self.found[finding.key].sort_key:
                        self.found[finding.key] = failure
                    raise
                if self._record(finding, program):
                    self.outcome.occurrences[finding.key] += 1
            return
        if self.deadline_passed() or self.outcome.examples >= self.max_examples or self.full():
            return
        self.outcome.examples += 1
        try:
            session = self.run(program, counting=True)
        except Finding as finding:
            self.outcome.occurrences[finding.key] += 1
            if self._record(finding, program):
                self.shrinking = finding.key
                self.shrink_started = time.monotonic()
                self.shrink_until = self.shrink_started + self.limits.shrink_seconds
                raise
            return
        self.outcome.acknowledged += getattr(session, "acknowledged", 0)

    def _record(self, finding: Finding, program: Program) -> bool:
        """Keep a finding of a new key (up to the cap); True when it is new."""
        if finding.key in self.found or self.full():
            return False
        self.found[finding.key] = Failure(self.spec.protocol, list(program), finding)
        self.unshrunk.append(finding.key)
        return True

    deadline = 0.0
    shrink_started: float | None = None

    def deadline_passed(self) -> bool:
        return time.monotonic() > self.deadline

    def finish(self, key: str) -> None:
        """Drop steps greedily, then replay once more (``reproduced``)."""
        failure = _drop_steps(self.spec, self.found[key], self.limits,
                              self.limits.shrink_seconds, self.mailbox)
        try:
            run_program(self.spec, failure.program, self.limits, mailbox=self.mailbox)
            failure.reproduced = False
        except Finding as again:
            failure.reproduced = again.key == key
        self.found[key] = failure


def fuzz(spec: TargetSpec, limits: Limits, mailbox: Mailbox | None = None) -> Outcome:
    """Draw and run programs until time or examples run out, or ``max_findings``
    findings of different keys (``Finding.key``) are made. Each new finding is shrunk
    (Hypothesis, then dropping steps) and replayed once more; the time spent shrinking
    does not count against ``seconds``."""
    search = _Search(spec, limits, mailbox)
    outcome = search.outcome
    started = time.monotonic()
    search.deadline = started + limits.seconds
    batch = 0
    while (not search.deadline_passed() and outcome.examples < search.max_examples
           and not search.full()):
        count = min(BATCH, search.max_examples - outcome.examples)
        drawn: Any = given(PROGRAMS[spec.protocol](limits.max_steps))(search.body)
        configured: Any = settings(
            max_examples=count, database=None, deadline=None, derandomize=False,
            suppress_health_check=list(HealthCheck), phases=[Phase.generate, Phase.shrink],
            verbosity=Verbosity.quiet, report_multiple_bugs=False, print_blob=False,
        )(drawn)
        test: Callable[[], None] = seed(limits.seed * 100_003 + batch)(configured)
        with contextlib.suppress(Exception), warnings.catch_warnings():
            warnings.simplefilter("ignore", HypothesisWarning)
            test()
        search.shrinking = None
        for key in list(search.unshrunk):
            search.unshrunk.remove(key)
            search.finish(key)
        if search.shrink_started is not None:
            spent = time.monotonic() - search.shrink_started
            search.shrink_started = None
            search.deadline += spent
            outcome.shrink_seconds += spent
        batch += 1
    outcome.failures = list(search.found.values())
    outcome.seconds = time.monotonic() - started - outcome.shrink_seconds
    if spec.protocol == "smtp":
        outcome.store = (f"checked: {mailbox.description}" if mailbox is not None else
                         "NOT CHECKED: no mailbox to read (give --mailbox imap://user:pw@host"
                         ":port or maildir:/path)")
    return outcome


def _drop_steps(spec: TargetSpec, failure: Failure, limits: Limits,
                budget: float, mailbox: Mailbox | None = None) -> Failure:
    """Hypothesis's shrink is bounded in time, and every run of a hang costs a timeout:
    finish with a greedy pass that drops one step at a time while the same finding
    (``Finding.key``) remains (at most one run per step)."""
    deadline = time.monotonic() + budget
    index = 0
    while index < len(failure.program) and len(failure.program) > 1:
        if time.monotonic() > deadline:
            break
        candidate = failure.program[:index] + failure.program[index + 1:]
        try:
            run_program(spec, candidate, limits, mailbox=mailbox)
        except Finding as finding:
            if finding.key == failure.finding.key:
                failure = Failure(failure.protocol, candidate, finding)
                continue
        index += 1
    return failure


# --- reports ---------------------------------------------------------------------------


def write_reports(directory: Path, outcome: Outcome, *, target: str, limits: Limits,
                  mailbox: str | None = None) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    summary = {"schema": 1, "target": target, "seed": limits.seed,
               "limits": {"seconds": limits.seconds, "max_examples": limits.max_examples,
                          "hang_timeout": limits.hang_timeout, "max_steps": limits.max_steps,
                          "max_findings": limits.max_findings,
                          "shrink_seconds": limits.shrink_seconds}}
    for number, failure in enumerate(outcome.failures, 1):
        replay = directory / f"finding-{number}.json"
        write_replay(replay, failure, target=target, seed=limits.seed)
        command = replay_command(replay, target, mailbox)
        failure.extra["replay"] = command
        (directory / f"finding-{number}.txt").write_text(
            f"{failure.finding.kind}: {failure.finding.message}\n\nreplay: {command}\n\n"
            f"step family: {failure.finding.family or '(the opening)'}; seen in "
            f"{outcome.occurrences[failure.finding.key]} program(s)\n"
            f"program ({len(failure.program)} steps):\n"
            + "".join(f"  {s.family}: {s.data!r}" + (f" + {s.extra!r}" if s.extra else "")
                      + "\n" for s in failure.program)
            + f"\ntranscript:\n{failure.finding.transcript}\n", encoding="utf-8")
    summary.update(outcome.summary())
    (directory / "summary.json").write_text(json.dumps(summary, indent=2) + "\n",
                                            encoding="utf-8")


def replay_command(path: Path, target: str, mailbox: str | None = None) -> str:
    return (f"rfcmail fuzz --replay {shlex.quote(str(path))} --target {shlex.quote(target)}"
            + (f" --mailbox {shlex.quote(mailbox)}" if mailbox else ""))


def summary_text(target: str, outcome: Outcome) -> str:
    """The run in a few lines: steps per family, the store check, findings per kind and
    each finding with its replay command (once the reports are written)."""
    families = ", ".join(f"{name} {count}" for name, count in sorted(outcome.steps.items()))
    skipped = ", ".join(f"{name} {count}" for name, count in sorted(outcome.skipped.items()))
    lines = [f"{target} {outcome.protocol}: {outcome.examples} programs in "
             f"{outcome.seconds:.1f} s (+ {outcome.shrink_seconds:.1f} s shrinking)",
             f"  cases per family: {families or 'none'}"]
    if skipped:
        lines.append(f"  not sent (the target lacks the extension): {skipped}")
    if outcome.protocol == "smtp":
        lines.append(f"  acknowledged messages: {outcome.acknowledged}; stored vs "
                     f"acknowledged: {outcome.store}")
    kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(outcome.kinds().items()))
    lines.append(f"  findings: {len(outcome.failures)}" + (f" ({kinds})" if kinds else ""))
    for failure in outcome.failures:
        finding = failure.finding
        lines.append(f"  - {finding.kind.upper()} [{finding.family or 'opening'}] "
                     f"{finding.message} ({outcome.occurrences[finding.key]} program(s), "
                     f"shrunk to {len(failure.program)} step(s)"
                     + ("" if failure.reproduced else ", NOT reproduced on replay") + ")")
        if "replay" in failure.extra:
            lines.append(f"    replay: {failure.extra['replay']}")
    return "\n".join(lines)


# --- command line ------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="rfcmail fuzz",
        description="Fuzz a live SMTP or IMAP server with stateful sessions of valid and "
                    "hostile commands; findings are shrunk and written with a replay command.",
        epilog="Targets: a URL (smtp://host:port, smtps://, imap://user:pw@host:port, imaps://) "
               "or a name started for the run on loopback: "
               + ", ".join(f"{n} ({t.description})" for n, t in NAMED_TARGETS.items()) + ".")
    p.add_argument("--target", required=True, metavar="URL|NAME",
                   help="smtp://, smtps://, lmtp:// (RFC 2033), imap://, imaps:// or a name")
    p.add_argument("--protocol", choices=sorted(PROTOCOL_MODULES),
                   help="default: every protocol the target offers")
    p.add_argument("--max-examples", type=int, metavar="N", help="programs per protocol")
    p.add_argument("--seconds", type=float, default=30.0, metavar="S",
                   help="time for generation per protocol (default 30)")
    p.add_argument("--shrink-seconds", type=float, default=10.0, metavar="S",
                   help="time for shrinking each finding (default 10; dropping steps "
                        "afterwards gets as long again)")
    p.add_argument("--max-findings", type=int, default=10, metavar="N",
                   help="stop after N findings of different kinds (default 10)")
    p.add_argument("--mailbox", metavar="URL",
                   help="SMTP: where the recipient's mail can be read, to check that every "
                        "acknowledged message is stored and nothing smuggled is: "
                        "imap://user:pw@host:port or maildir:/path (named targets bring "
                        "their own)")
    p.add_argument("--store-wait", type=float, default=5.0, metavar="S",
                   help="how long an acknowledged message may take to appear (default 5)")
    p.add_argument("--seed", type=int, default=0, metavar="N")
    p.add_argument("--max-steps", type=int, default=8, metavar="N", help="steps per program")
    p.add_argument("--hang-timeout", type=float, default=5.0, metavar="S",
                   help="a reply due and not come in S seconds is a hang (default 5)")
    p.add_argument("--quiet", type=float, default=0.05, metavar="S",
                   help="how long to wait for replies that may or may not come (default 0.05)")
    p.add_argument("--report-dir", default="reports/fuzz", metavar="DIR",
                   help="reports go to DIR/<run-id>/ (default reports/fuzz, git-ignored)")
    p.add_argument("--run-id", metavar="ID", help="default: the date and time")
    p.add_argument("--account", action="append", default=[], metavar="USER:PASSWORD")
    p.add_argument("--replay", metavar="FILE", help="run a finding's program again")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    options = parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    # lmtp://host:port: an LMTP server (RFC 2033), fuzzed as SMTP with LHLO and one reply
    # per recipient after the data; reports and replay commands keep the lmtp:// form.
    lmtp = options.target.lower().startswith("lmtp://")
    target = "smtp://" + options.target[len("lmtp://"):] if lmtp else options.target
    try:
        offered = target_protocols(target)
        accounts = [parse_account(a) for a in options.account]
    except TargetError as exc:
        print(f"rfcmail fuzz: {exc}", file=sys.stderr)
        return 2
    limits = Limits(seconds=options.seconds, max_examples=options.max_examples,
                    seed=options.seed, hang_timeout=options.hang_timeout, quiet=options.quiet,
                    max_steps=options.max_steps, shrink_seconds=options.shrink_seconds,
                    max_findings=options.max_findings, store_wait=options.store_wait,
                    lmtp=lmtp)
    replay: tuple[str, Program] | None = None
    if options.replay:
        try:
            protocol, program, _ = read_replay(Path(options.replay))
        except (OSError, ValueError, KeyError) as exc:
            print(f"rfcmail fuzz: {exc}", file=sys.stderr)
            return 2
        replay = (protocol, program)
        protocols = [protocol]
    else:
        protocols = [options.protocol] if options.protocol else [
            p for p in offered if p in PROTOCOL_MODULES]
    missing = [p for p in protocols if p not in offered]
    if missing:
        print(f"rfcmail fuzz: {options.target} offers {', '.join(offered)}, not "
              f"{', '.join(missing)}", file=sys.stderr)
        return 2
    try:
        started = open_target(target, accounts=accounts)
    except TargetUnavailable as exc:
        print(f"rfcmail fuzz: UNAVAILABLE: {exc}", file=sys.stderr)
        return 1
    try:
        mailbox = None
        if "smtp" in protocols:
            try:
                mailbox = (open_mailbox(options.mailbox, timeout=limits.hang_timeout)
                           if options.mailbox else
                           target_mailbox(started, timeout=limits.hang_timeout))
            except (TargetError, DriverError, GrammarViolation, OSError) as exc:
                print(f"rfcmail fuzz: the mailbox cannot be read: {exc}", file=sys.stderr)
                return 2
        if replay is not None:
            return _replay(started.specs[replay[0]], replay[1], limits, mailbox)
        run_id = options.run_id or datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        name = target_name(target).replace("smtp-", "lmtp-", 1) if lmtp else target_name(target)
        status = 0
        for protocol in protocols:
            spec = started.specs[protocol]
            outcome = fuzz(spec, limits, mailbox if protocol == "smtp" else None)
            directory = (Path(options.report_dir) / run_id
                         / f"{name}-{protocol}")
            write_reports(directory.resolve(), outcome, target=options.target, limits=limits,
                          mailbox=options.mailbox)
            print(summary_text(name, outcome))
            print(f"  report: {directory / 'summary.json'}")
            status = status or (1 if outcome.failures else 0)
        return status
    finally:
        started.stop()


def _replay(spec: TargetSpec, program: Program, limits: Limits,
            mailbox: Mailbox | None = None) -> int:
    try:
        run_program(spec, program, limits, mailbox=mailbox)
    except Finding as finding:
        print(f"REPRODUCED {finding.kind.upper()}: {finding.message}\n{finding.transcript}")
        return 1
    print("not reproduced: the program ran without a finding")
    return 0


if __name__ == "__main__":
    sys.exit(main())
