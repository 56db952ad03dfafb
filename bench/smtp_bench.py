"""SMTP throughput of rfcmail beside two peers, under the same load in one run.

    python bench/smtp_bench.py [--quick] [--servers rfcmail aiosmtpd dovecot]
        [--messages 20000] [--sessions 20] [--length 2048] [--repeat 3] [--persistent]
        [--rfcmail-workers 1 2] [--dovecot-format maildir|sdbox] [--json FILE]

Servers, each started fresh for every run on loopback ports and stopped after it:
  rfcmail   ``rfcmail serve``, SMTP, storing every message durably in its SQLite store
  aiosmtpd  a minimal aiosmtpd server that discards every message (the Python floor)
  dovecot   Dovecot's LMTP delivering into maildir (a C server that stores durably)

Load: Postfix's ``smtp-source`` (C), ``--sessions`` parallel connections, ``--messages``
messages of ``--length`` body bytes to user0000@example.test, one connection per message
(``--persistent``: smtp-source -d, reuse it); LMTP (-L) for Dovecot. Reported per server,
as the median of ``--repeat`` runs: messages/s (messages over smtp-source's wall time),
the server's CPU milliseconds per message (its whole process tree, from /proc), and the
ratios of rfcmail to each peer. Runs are interleaved (run 1 of every server, then run 2)
so that a drift of the machine does not favour one server.

Checks: smtp-source stops at the first reply it did not expect, and after every run the
messages stored (rows in rfcmail's mailbox_messages, files in Dovecot's maildir) must have
grown by exactly the number acknowledged. Any failure is printed and makes the exit status
1; the other servers are still measured.

Bounded: fixed message counts, a hard timeout per smtp-source run (``--timeout``), bounded
server start and stop, and every server is killed at the end, also on error, Ctrl-C or
SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from pathlib import Path
from types import FrameType
from typing import Any

# Run as a script from the checkout: the interop package sits beside bench/.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from interop.providers.aiosmtpd_sink import AiosmtpdSinkProvider
from interop.providers.base import Provider, ProviderError, ProviderUnavailable
from interop.providers.dovecot import DovecotProvider, dovecot_version
from interop.providers.rfcmail import RfcmailProvider, rfcmail_version
from interop.providers.tools import (
    LoadError,
    LoadSpec,
    machine_busy_seconds,
    process_tree_cpu_seconds,
    run_smtp_source,
    smtp_source_path,
)

SERVERS = ("rfcmail", "aiosmtpd", "dovecot")
QUICK_MESSAGES = 3000
RECIPIENT_USER = "user0000"


class StorageError(RuntimeError):
    """The server acknowledged messages that it did not store (or stored others)."""


@dataclass(frozen=True)
class Target:
    """One server configuration to measure."""

    label: str
    kind: str                                   # one of SERVERS
    provider: Callable[[], Provider]
    lmtp: bool = False
    endpoint: str = "smtp"


@dataclass(frozen=True)
class Run:
    messages_per_second: float
    wall_seconds: float
    server_cpu_seconds: float
    server_cpu_ms_per_message: float
    server_cores_used: float                    # server CPU seconds per wall second
    client_cpu_seconds: float                   # smtp-source's own CPU
    other_cores: float                          # CPU taken by everything else meanwhile
    stored: int | None                          # messages the run added to the store


@dataclass
class Outcome:
    target: Target
    runs: list[Run] = field(default_factory=list)
    error: str | None = None

    def median(self, name: str) -> float:
        return float(statistics.median(getattr(run, name) for run in self.runs))

    def spread(self, name: str) -> tuple[float, float]:
        values = [getattr(run, name) for run in self.runs]
        return min(values), max(values)


def measure(target: Target, spec: LoadSpec, timeout: float) -> Run:
    """One run against a freshly started server, stopped again before returning."""
    with target.provider() as server:
        endpoint = server.endpoints[target.endpoint]
        stored_before = server.stored_messages()
        cpu_before = process_tree_cpu_seconds(server.pid)
        busy_before = machine_busy_seconds()
        load = run_smtp_source(spec, endpoint, timeout=timeout)
        busy_after = machine_busy_seconds()
        cpu_after = process_tree_cpu_seconds(server.pid)
        stored_after = server.stored_messages()
    stored = None
    if stored_before is not None and stored_after is not None:
        stored = stored_after - stored_before
        if stored != spec.messages:
            # RFC 5321 §6.1 MUST: with a 250 to DATA the server accepts responsibility for
            # the message, and "It MUST NOT lose the message for frivolous reasons".
            raise StorageError(f"{target.label} acknowledged {spec.messages} messages "
                               f"but its store grew by {stored}")
    cpu = cpu_after - cpu_before
    others = busy_after - busy_before - cpu - load.client_cpu_seconds
    return Run(messages_per_second=load.messages_per_second,
               wall_seconds=load.wall_seconds,
               server_cpu_seconds=cpu,
               server_cpu_ms_per_message=1000 * cpu / spec.messages,
               server_cores_used=cpu / load.wall_seconds,
               client_cpu_seconds=load.client_cpu_seconds,
               other_cores=max(0.0, others) / load.wall_seconds,
               stored=stored)


def targets(args: argparse.Namespace) -> list[Target]:
    # Servers outlive a run only by accident; the sink's own bound is a second net.
    run_bound = args.timeout + 120
    chosen: list[Target] = []
    for kind in args.servers:
        if kind == "rfcmail":
            for workers in args.rfcmail_workers or [None]:
                label = "rfcmail" if workers is None else f"rfcmail --workers {workers}"
                chosen.append(Target(label, kind, partial(
                    RfcmailProvider, users=(RECIPIENT_USER,), workers=workers,
                    config=rfcmail_config(args))))
        elif kind == "aiosmtpd":
            chosen.append(Target("aiosmtpd", kind,
                                 partial(AiosmtpdSinkProvider, max_seconds=run_bound)))
        else:
            chosen.append(Target(
                f"dovecot lmtp {args.dovecot_format}", kind,
                partial(DovecotProvider, mail_format=args.dovecot_format,
                        users=(RECIPIENT_USER,)),
                lmtp=True, endpoint="lmtp"))
    return chosen


def rfcmail_config(args: argparse.Namespace) -> str:
    """With --persistent every connection carries messages/sessions transactions or a few
    more: above rfcmail's per-connection bound (an abuse limit, 421 beyond it), which is
    lifted so that the run measures throughput, not that policy."""
    if not args.persistent:
        return ""
    return f"[smtp.limits]\ntransactions = {args.messages}\n"


def run_all(chosen: list[Target], spec: LoadSpec, args: argparse.Namespace) -> list[Outcome]:
    outcomes = [Outcome(target) for target in chosen]
    for number in range(1, args.repeat + 1):
        for outcome in outcomes:
            if outcome.error:
                continue                        # a server that failed once is not retried
            label = outcome.target.label
            try:
                run = measure(outcome.target, replace(spec, lmtp=outcome.target.lmtp),
                              args.timeout)
            except (ProviderError, LoadError, StorageError) as exc:
                outcome.error = f"run {number}: {type(exc).__name__}: {exc}"
                print(f"\n*** {label} FAILED in {outcome.error}\n", file=sys.stderr,
                      flush=True)
                continue
            outcome.runs.append(run)
            stored = "discarded" if run.stored is None else f"{run.stored} stored"
            print(f"{label:<22} run {number}/{args.repeat}: "
                  f"{run.messages_per_second:8.1f} msgs/s  "
                  f"{run.server_cpu_ms_per_message:6.3f} server CPU ms/msg  "
                  f"({run.server_cores_used:.2f} cores)  "
                  f"smtp-source {run.client_cpu_seconds:.2f} s CPU  "
                  f"others {run.other_cores:.2f} cores  {stored}", flush=True)
    return outcomes


def ratios(outcomes: list[Outcome]) -> list[dict[str, Any]]:
    """rfcmail against each peer: throughput and CPU per message, from the medians of the
    servers that completed every run."""
    measured = [o for o in outcomes if o.runs and not o.error]
    found = []
    for mine in (o for o in measured if o.target.kind == "rfcmail"):
        for peer in (o for o in measured if o.target.kind != "rfcmail"):
            found.append({
                "rfcmail": mine.target.label,
                "peer": peer.target.label,
                "messages_per_second": mine.median("messages_per_second")
                / peer.median("messages_per_second"),
                "server_cpu_ms_per_message": mine.median("server_cpu_ms_per_message")
                / peer.median("server_cpu_ms_per_message"),
            })
    return found


def report(outcomes: list[Outcome], found: list[dict[str, Any]], repeat: int) -> None:
    print(f"\nmedians of {repeat} run(s)")
    print(f"{'server':<22} {'msgs/s':>8} {'(min-max)':>17} {'CPU ms/msg':>11} "
          f"{'cores':>6} {'smtp-source CPU s':>18} {'others':>7}  store")
    for outcome in outcomes:
        label = outcome.target.label
        if outcome.error:
            # The whole message, server log included, was printed when it happened.
            print(f"{label:<22} FAILED in {outcome.error.splitlines()[0]}")
            continue
        low, high = outcome.spread("messages_per_second")
        spread = f"({low:.0f}-{high:.0f})"
        store = "discards" if outcome.runs[0].stored is None else "verified"
        print(f"{label:<22} {outcome.median('messages_per_second'):8.1f} {spread:>17} "
              f"{outcome.median('server_cpu_ms_per_message'):11.3f} "
              f"{outcome.median('server_cores_used'):6.2f} "
              f"{outcome.median('client_cpu_seconds'):18.2f} "
              f"{outcome.median('other_cores'):7.2f}  {store}")
    if found:
        print()
    for ratio in found:
        print(f"{ratio['rfcmail']} / {ratio['peer']}: "
              f"{ratio['messages_per_second']:.2f}x the messages/s, "
              f"{ratio['server_cpu_ms_per_message']:.2f}x the server CPU per message")


def _as_json(outcome: Outcome) -> dict[str, Any]:
    runs = [{k: _rounded(v) for k, v in asdict(run).items()} for run in outcome.runs]
    medians = {name: _rounded(outcome.median(name)) for name in runs[0]
               if name != "stored"} if runs else None
    return {"runs": runs, "median": medians, "error": outcome.error}


def _rounded(value: Any) -> Any:
    return round(value, 4) if isinstance(value, float) else value


def environment() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "rfcmail": rfcmail_version(),
        "aiosmtpd": _module_version("aiosmtpd"),
        "dovecot": dovecot_version(),
        "postfix": _debian_version("postfix"),
    }


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def _debian_version(package: str) -> str | None:
    try:
        completed = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", package],
                                   capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return completed.stdout.strip() if completed.returncode == 0 else None


def _module_version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    # SystemExit unwinds through the providers' context managers, which stop the servers.
    print("\nterminated: stopping every server", file=sys.stderr)
    raise SystemExit(128 + signum)


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="SMTP throughput and server CPU of rfcmail, aiosmtpd and Dovecot LMTP "
                    "under Postfix's smtp-source.")
    parser.add_argument("--servers", nargs="+", choices=SERVERS, default=list(SERVERS))
    parser.add_argument("--messages", type=int,
                        help=f"per run (default 20000; {QUICK_MESSAGES} with --quick)")
    parser.add_argument("--quick", action="store_true",
                        help="a short check: fewer messages, one run")
    parser.add_argument("--sessions", type=int, default=20, help="parallel connections")
    parser.add_argument("--length", type=int, default=2048, help="body bytes per message")
    parser.add_argument("--repeat", type=int, help="runs per server, median reported "
                                                   "(default 3; 1 with --quick)")
    parser.add_argument("--persistent", action="store_true",
                        help="reuse each connection for the next message (smtp-source -d)")
    parser.add_argument("--timeout", type=float, default=600.0,
                        help="hard limit of one smtp-source run, seconds (default 600)")
    parser.add_argument("--rfcmail-workers", type=int, nargs="+", metavar="N",
                        help="measure rfcmail once per value of `serve --workers`")
    parser.add_argument("--dovecot-format", choices=("maildir", "sdbox"), default="maildir")
    parser.add_argument("--json", metavar="FILE", help="also write every figure here")
    args = parser.parse_args(argv)
    if args.messages is None:
        args.messages = QUICK_MESSAGES if args.quick else 20000
    if args.repeat is None:
        args.repeat = 1 if args.quick else 3
    if args.messages < 1 or args.sessions < 1 or args.repeat < 1 or args.length < 0:
        parser.error("--messages, --sessions and --repeat must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(argv)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        smtp_source_path()
    except ProviderUnavailable as exc:
        print(f"smtp_bench: {exc}", file=sys.stderr)
        return 2
    spec = LoadSpec(messages=args.messages, sessions=args.sessions, length=args.length,
                    persistent=args.persistent, recipient=f"{RECIPIENT_USER}@example.test")
    params = {"messages": spec.messages, "sessions": spec.sessions, "length": spec.length,
              "persistent": spec.persistent, "repeat": args.repeat,
              "rfcmail_config": rfcmail_config(args)}
    env = environment()
    print("smtp_bench " + " ".join(f"{k}={v}" for k, v in params.items()
                                   if k != "rfcmail_config"))
    print("on " + ", ".join(f"{k} {v}" for k, v in env.items() if v is not None), flush=True)
    if rfcmail_config(args) and "rfcmail" in args.servers:
        print(f"rfcmail configured with: {rfcmail_config(args).strip()!r}")
    try:
        outcomes = run_all(targets(args), spec, args)
    except KeyboardInterrupt:
        print("\ninterrupted: every server has been stopped", file=sys.stderr)
        return 130
    found = ratios(outcomes)
    report(outcomes, found, args.repeat)
    if args.json:
        Path(args.json).write_text(json.dumps({
            "params": params,
            "environment": env,
            "results": {o.target.label: _as_json(o) for o in outcomes},
            "ratios": [{k: _rounded(v) for k, v in ratio.items()} for ratio in found],
        }, indent=1) + "\n")
    failed = [o.target.label for o in outcomes if o.error]
    if failed:
        print(f"\nFAILED: {', '.join(failed)} (see the messages above)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
