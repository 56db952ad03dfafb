"""``rfcmail fuzz`` (also ``python -m fuzz.wire``): the wire fuzzer against a live target.

    rfcmail fuzz --target URL|NAME [--protocol smtp|imap] [--max-examples N]
                 [--seconds S] [--seed N] [--report-dir DIR] [--hang-timeout S]
    rfcmail fuzz --replay FILE --target URL|NAME

Hypothesis draws programs (sessions of valid and hostile steps, ``fuzz.wire.smtp`` and
``fuzz.wire.imap``), runs each on fresh connections and stops at the first finding, which
it shrinks to a short program; the run then replays that program once more and writes,
under ``<report-dir>/<run-id>/<target>-<protocol>/``: ``summary.json`` (examples, steps
tried per family, findings), and per finding ``finding-N.json`` (the replay file) and
``finding-N.txt`` (message, transcript, and the one-line replay command).

Bounded: ``--seconds`` (generation stops then; shrinking gets at most as long again,
``--shrink-seconds``), ``--max-examples``, ``--max-steps`` per program, at most a few KiB
per step, and every socket operation by ``--hang-timeout``. Targets: a URL the user gives
(smtp://host:port, imap://user:pw@host:port, ...) or a name started for the run on
loopback (reference, dovecot, postfix: conformance/targets.py).

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
from fuzz.wire import smtp as smtp_wire
from fuzz.wire.model import Failure, Finding, Program, Step, read_replay, write_replay

PROTOCOL_MODULES: dict[str, ModuleType] = {"smtp": smtp_wire, "imap": imap_wire}
PROGRAMS: dict[str, Callable[[int], SearchStrategy[Program]]] = {
    "smtp": smtp_wire.programs, "imap": imap_wire.programs}
BATCH = 20                     # examples per Hypothesis run; runs repeat until time is up


@dataclass
class Limits:
    seconds: float = 30.0
    max_examples: int | None = None
    seed: int = 0
    hang_timeout: float = 5.0
    quiet: float = 0.05
    max_steps: int = 8
    shrink_seconds: float | None = None


@dataclass
class Outcome:
    """What one protocol's run did."""

    protocol: str
    examples: int = 0                    # programs run while generating
    shrink_runs: int = 0                 # programs run while shrinking
    steps: Counter[str] = field(default_factory=Counter)   # steps sent per family
    acknowledged: int = 0                # SMTP: messages the target accepted with 250
    seconds: float = 0.0
    failures: list[Failure] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {"protocol": self.protocol, "examples": self.examples,
                "shrink_runs": self.shrink_runs, "seconds": round(self.seconds, 2),
                "steps_per_family": dict(sorted(self.steps.items())),
                "acknowledged_messages": self.acknowledged,
                "findings": [{"kind": f.finding.kind, "message": f.finding.message,
                              "steps": len(f.program), "reproduced": f.reproduced,
                              **f.extra} for f in self.failures]}


def session_for(spec: TargetSpec, limits: Limits) -> Any:
    module = PROTOCOL_MODULES[spec.protocol]
    cls = module.SmtpSession if spec.protocol == "smtp" else module.ImapSession
    return cls(spec, hang_timeout=limits.hang_timeout, quiet=limits.quiet)


def run_program(spec: TargetSpec, program: Program, limits: Limits,
                on_step: Callable[[Step], None] | None = None) -> Any:
    """Run ``program`` once; raises ``Finding``. Returns the session (for its counters)."""
    session = session_for(spec, limits)
    session.run(program, on_step)
    return session


def fuzz(spec: TargetSpec, limits: Limits) -> Outcome:
    """Draw and run programs until time or examples run out or a finding is made; the
    finding is shrunk, then replayed once more (``reproduced``)."""
    outcome = Outcome(spec.protocol)
    started = time.monotonic()
    deadline = started + limits.seconds
    shrink_seconds = limits.shrink_seconds if limits.shrink_seconds is not None \
        else max(10.0, limits.seconds)
    best: list[Failure] = []
    shrink_deadline: list[float] = []
    max_examples = limits.max_examples if limits.max_examples is not None else 10**9

    def body(program: Program) -> None:
        now = time.monotonic()
        if shrink_deadline:
            if now > shrink_deadline[0]:
                return                       # out of shrinking time: keep the best so far
            outcome.shrink_runs += 1
        else:
            if now > deadline or outcome.examples >= max_examples:
                return
            outcome.examples += 1
        try:
            session = run_program(spec, program, limits, lambda s: outcome.steps.update(
                [s.family]) if not shrink_deadline else None)
        except Finding as finding:
            failure = Failure(spec.protocol, list(program), finding)
            if not best or failure.sort_key < best[0].sort_key:
                best[:] = [failure]
            if not shrink_deadline:
                shrink_deadline.append(time.monotonic() + shrink_seconds)
            raise
        if not shrink_deadline:
            outcome.acknowledged += getattr(session, "acknowledged", 0)

    batch = 0
    while not best and time.monotonic() < deadline and outcome.examples < max_examples:
        count = min(BATCH, max_examples - outcome.examples)
        drawn: Any = given(PROGRAMS[spec.protocol](limits.max_steps))(body)
        configured: Any = settings(
            max_examples=count, database=None, deadline=None, derandomize=False,
            suppress_health_check=list(HealthCheck), phases=[Phase.generate, Phase.shrink],
            verbosity=Verbosity.quiet, report_multiple_bugs=False, print_blob=False,
        )(drawn)
        test: Callable[[], None] = seed(limits.seed * 100_003 + batch)(configured)
        with contextlib.suppress(Exception), warnings.catch_warnings():
            warnings.simplefilter("ignore", HypothesisWarning)
            test()
        batch += 1
    if best:
        failure = _drop_steps(spec, best[0], limits, shrink_seconds)
        try:
            run_program(spec, failure.program, limits)
            failure.reproduced = False
        except Finding as again:
            failure.reproduced = again.kind == failure.finding.kind
        outcome.failures.append(failure)
    outcome.seconds = time.monotonic() - started
    return outcome


def _drop_steps(spec: TargetSpec, failure: Failure, limits: Limits,
                budget: float) -> Failure:
    """Hypothesis's shrink is bounded in time, and every run of a hang costs a timeout:
    finish with a greedy pass that drops one step at a time while the same kind of
    finding remains (at most one run per step)."""
    deadline = time.monotonic() + budget
    index = 0
    while index < len(failure.program) and len(failure.program) > 1:
        if time.monotonic() > deadline:
            break
        candidate = failure.program[:index] + failure.program[index + 1:]
        try:
            run_program(spec, candidate, limits)
        except Finding as finding:
            if finding.kind == failure.finding.kind:
                failure = Failure(failure.protocol, candidate, finding)
                continue
        index += 1
    return failure


# --- reports ---------------------------------------------------------------------------


def write_reports(directory: Path, outcome: Outcome, *, target: str, limits: Limits) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    summary = {"schema": 1, "target": target, "seed": limits.seed,
               "limits": {"seconds": limits.seconds, "max_examples": limits.max_examples,
                          "hang_timeout": limits.hang_timeout, "max_steps": limits.max_steps},
               **outcome.summary()}
    for number, failure in enumerate(outcome.failures, 1):
        replay = directory / f"finding-{number}.json"
        write_replay(replay, failure, target=target, seed=limits.seed)
        command = replay_command(replay, target)
        failure.extra["replay"] = command
        (directory / f"finding-{number}.txt").write_text(
            f"{failure.finding.kind}: {failure.finding.message}\n\nreplay: {command}\n\n"
            f"program ({len(failure.program)} steps):\n"
            + "".join(f"  {s.family}: {s.data!r}" + (f" + {s.extra!r}" if s.extra else "")
                      + "\n" for s in failure.program)
            + f"\ntranscript:\n{failure.finding.transcript}\n", encoding="utf-8")
    summary["findings"] = outcome.summary()["findings"]
    (directory / "summary.json").write_text(json.dumps(summary, indent=2) + "\n",
                                            encoding="utf-8")


def replay_command(path: Path, target: str) -> str:
    return f"rfcmail fuzz --replay {shlex.quote(str(path))} --target {shlex.quote(target)}"


def summary_line(target: str, outcome: Outcome) -> str:
    families = ", ".join(f"{name} {count}" for name, count in sorted(outcome.steps.items()))
    found = "; ".join(f"{f.finding.kind.upper()}: {f.finding.message}"
                      + ("" if f.reproduced else " (not reproduced on replay)")
                      for f in outcome.failures) or "no findings"
    return (f"{target} {outcome.protocol}: {outcome.examples} programs in "
            f"{outcome.seconds:.1f} s; steps per family: {families or 'none'}; {found}")


# --- command line ------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="rfcmail fuzz",
        description="Fuzz a live SMTP or IMAP server with stateful sessions of valid and "
                    "hostile commands; findings are shrunk and written with a replay command.",
        epilog="Targets: a URL (smtp://host:port, smtps://, imap://user:pw@host:port, imaps://) "
               "or a name started for the run on loopback: "
               + ", ".join(f"{n} ({t.description})" for n, t in NAMED_TARGETS.items()) + ".")
    p.add_argument("--target", required=True, metavar="URL|NAME")
    p.add_argument("--protocol", choices=sorted(PROTOCOL_MODULES),
                   help="default: every protocol the target offers")
    p.add_argument("--max-examples", type=int, metavar="N", help="programs per protocol")
    p.add_argument("--seconds", type=float, default=30.0, metavar="S",
                   help="time for generation per protocol (default 30)")
    p.add_argument("--shrink-seconds", type=float, metavar="S",
                   help="time for shrinking a finding (default: max(10, --seconds))")
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
    try:
        offered = target_protocols(options.target)
        accounts = [parse_account(a) for a in options.account]
    except TargetError as exc:
        print(f"rfcmail fuzz: {exc}", file=sys.stderr)
        return 2
    limits = Limits(seconds=options.seconds, max_examples=options.max_examples,
                    seed=options.seed, hang_timeout=options.hang_timeout, quiet=options.quiet,
                    max_steps=options.max_steps, shrink_seconds=options.shrink_seconds)
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
        started = open_target(options.target, accounts=accounts)
    except TargetUnavailable as exc:
        print(f"rfcmail fuzz: UNAVAILABLE: {exc}", file=sys.stderr)
        return 1
    try:
        if replay is not None:
            return _replay(started.specs[replay[0]], replay[1], limits)
        run_id = options.run_id or datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        status = 0
        for protocol in protocols:
            spec = started.specs[protocol]
            outcome = fuzz(spec, limits)
            directory = (Path(options.report_dir) / run_id
                         / f"{target_name(options.target)}-{protocol}")
            write_reports(directory.resolve(), outcome, target=options.target, limits=limits)
            print(summary_line(target_name(options.target), outcome))
            for failure in outcome.failures:
                print(f"  replay: {failure.extra['replay']}")
            print(f"  report: {directory / 'summary.json'}")
            status = status or (1 if outcome.failures else 0)
        return status
    finally:
        started.stop()


def _replay(spec: TargetSpec, program: Program, limits: Limits) -> int:
    try:
        run_program(spec, program, limits)
    except Finding as finding:
        print(f"REPRODUCED {finding.kind.upper()}: {finding.message}\n{finding.transcript}")
        return 1
    print("not reproduced: the program ran without a finding")
    return 0


if __name__ == "__main__":
    sys.exit(main())
