"""IMAP performance of rfcmail beside Dovecot, under the same workloads in one run.

    python bench/imap_bench.py [--quick] [--servers rfcmail dovecot] [--workloads big mix]
        [--count 100000] [--repeat 5] [--clients 10 50] [--seconds 30]
        [--rfcmail-workers 1 2] [--dovecot-format sdbox maildir] [--json FILE]

Servers, each started fresh for every workload run on loopback ports and stopped after it:
  rfcmail  ``rfcmail serve --imap``, its SQLite store (skipped, saying so, while this build
           has no IMAP server: ``rfcmail serve --help`` lacks --imap)
  dovecot  Dovecot 2.3 from Debian, sdbox by default (``--dovecot-format``), mail fsync'd

Workloads (imap_workloads.py, imap_mix.py):
  big  one mailbox filled with ``--count`` generated messages by MULTIAPPEND (fill msg/s),
       then, each on a fresh connection, ``--repeat`` times: LOGIN+SELECT, UID FETCH 1:*
       (UID FLAGS), the newest 50 messages' header fields, UID SEARCH SUBJECT (rare word),
       UID SEARCH BODY (rare and common word), STORE +FLAGS on 1,000 messages; with the
       server's CPU per operation and its memory. Result counts are checked.
  mix  ``--clients`` clients (each value in turn), each on its own account with
       ``--mailbox-size`` messages, looping LOGIN, LIST, STATUS, SELECT, FETCH FLAGS,
       FETCH body, STORE, STORE \\Deleted + EXPUNGE, APPEND, LOGOUT for ``--seconds``;
       operations/s and p50/p99 latency per operation, server and load-generator CPU.

A wrong count, an error in the mix or a server that fails is printed and makes the exit
status 1; the other servers are still measured. Bounded: every socket operation has
``--timeout``, the fill ``--fill-timeout``, the mix its duration, and every server is
stopped at the end, also on error, Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from types import FrameType

# Run as a script: the sibling modules sit beside this file, the interop package one up.
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))

from imap_client import ImapError
from imap_mix import MixSettings, message_pool, prepare_mailboxes, run_mix
from imap_report import Outcome, environment, outcome_json, print_big_mailbox, print_mix
from imap_workloads import BigMailboxSettings, ImapTarget, run_big_mailbox

from interop.providers.base import TEST_PASSWORD, Provider, ProviderError
from interop.providers.dovecot import DovecotProvider
from interop.providers.rfcmail import RfcmailProvider, rfcmail_has_imap

SERVERS = ("rfcmail", "dovecot")
WORKLOADS = ("big", "mix")
BIG_MAILBOX_USER = "alice"
NO_IMAP_NOTE = ("rfcmail has no IMAP server yet (`rfcmail serve --help` lacks --imap): "
                "only Dovecot is measured")


@dataclass(frozen=True)
class Server:
    """One server configuration: how to start it and where it keeps a user's mail."""

    label: str
    kind: str
    start: Callable[[], Provider]
    dovecot_format: str | None = None

    def store_path(self, provider: Provider, user: str) -> Path:
        if isinstance(provider, DovecotProvider):
            return provider.mail_root / user
        assert isinstance(provider, RfcmailProvider)
        return provider.data_dir

    def target(self, provider: Provider, user: str) -> ImapTarget:
        host, port = provider.endpoints["imap"]
        domain = provider.domain if isinstance(provider, RfcmailProvider) else None
        return ImapTarget(self.label, host, port, provider.pid, self.store_path(provider, user),
                          login_domain=domain)


def servers(args: argparse.Namespace) -> list[Server]:
    users = (BIG_MAILBOX_USER, *MixSettings(clients=max(args.clients)).accounts)
    chosen = []
    for kind in args.servers:
        if kind == "rfcmail":
            for workers in args.rfcmail_workers or [None]:
                label = "rfcmail" if workers is None else f"rfcmail -w{workers}"
                chosen.append(Server(label, kind, partial(
                    RfcmailProvider, users=users, workers=workers, imap=True,
                    start_timeout=60)))
        else:
            for mail_format in args.dovecot_format:
                chosen.append(Server(f"dovecot {mail_format}", kind, partial(
                    DovecotProvider, mail_format=mail_format, users=users),
                    dovecot_format=mail_format))
    return chosen


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _failed(server: Server, exc: BaseException) -> Outcome:
    message = f"{type(exc).__name__}: {exc}"
    _log(f"\n*** {server.label} FAILED: {message}\n")
    return Outcome(server.label, server.kind, server.dovecot_format, error=message)


def run_big(server: Server, settings: BigMailboxSettings) -> Outcome:
    outcome = Outcome(server.label, server.kind, server.dovecot_format)
    try:
        with server.start() as provider:
            target = server.target(provider, BIG_MAILBOX_USER)
            outcome.big = run_big_mailbox(target, settings, _log)
    except (ProviderError, ImapError, OSError) as exc:
        return _failed(server, exc)
    return outcome


def run_mix_once(server: Server, settings: MixSettings) -> Outcome:
    outcome = Outcome(server.label, server.kind, server.dovecot_format)
    try:
        with server.start() as provider:
            target = server.target(provider, settings.accounts[0])
            pool = message_pool(settings)
            started = time.monotonic()
            capabilities = prepare_mailboxes(target, settings, pool)
            _log(f"  {server.label}: {settings.clients} mailboxes of {settings.mailbox_size} "
                 f"messages prepared in {time.monotonic() - started:.1f} s")
            outcome.mix = run_mix(target, settings, pool, capabilities, _log)
    except (ProviderError, ImapError, OSError) as exc:
        return _failed(server, exc)
    return outcome


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    # SystemExit unwinds through the providers' context managers, which stop the servers.
    print("\nterminated: stopping every server", file=sys.stderr)
    raise SystemExit(128 + signum)


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="IMAP big-mailbox and client-mix benchmark of rfcmail beside Dovecot.")
    parser.add_argument("--servers", nargs="+", choices=SERVERS, default=list(SERVERS))
    parser.add_argument("--workloads", nargs="+", choices=WORKLOADS, default=list(WORKLOADS))
    parser.add_argument("--quick", action="store_true",
                        help="a short check: 5,000 messages, 3 rounds, 10 s of mix")
    parser.add_argument("--count", type=int,
                        help="messages in the big mailbox (default 100000; 5000 with --quick)")
    parser.add_argument("--repeat", type=int,
                        help="rounds per big-mailbox operation, median reported (default 5; "
                             "3 with --quick)")
    parser.add_argument("--batch", type=int, default=500, help="messages per MULTIAPPEND")
    parser.add_argument("--clients", type=int, nargs="+", default=[10, 50],
                        help="mix clients, one run per value (default 10 50)")
    parser.add_argument("--seconds", type=float,
                        help="measured mix duration (default 30; 10 with --quick)")
    parser.add_argument("--warmup", type=float,
                        help="mix seconds before measuring (default 2; 1 with --quick)")
    parser.add_argument("--mailbox-size", type=int, default=30,
                        help="messages per mix mailbox (default 30)")
    parser.add_argument("--load-processes", type=int, default=os.cpu_count() or 1,
                        help="processes the mix clients are spread over (default: CPUs)")
    parser.add_argument("--rfcmail-workers", type=int, nargs="+", metavar="N",
                        help="measure rfcmail once per value of `serve --workers`")
    parser.add_argument("--dovecot-format", nargs="+", choices=("sdbox", "maildir"),
                        default=["sdbox"])
    parser.add_argument("--timeout", type=float, default=600.0,
                        help="limit of any one socket operation, seconds (default 600)")
    parser.add_argument("--fill-timeout", type=float, default=3600.0,
                        help="limit of the whole fill, seconds (default 3600)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", metavar="FILE", help="also write every figure here")
    args = parser.parse_args(argv)
    quick = args.quick
    args.count = args.count if args.count is not None else 5000 if quick else 100_000
    args.repeat = args.repeat if args.repeat is not None else 3 if quick else 5
    args.seconds = args.seconds if args.seconds is not None else 10.0 if quick else 30.0
    args.warmup = args.warmup if args.warmup is not None else 1.0 if quick else 2.0
    if min(args.count, args.repeat, args.batch, args.mailbox_size, *args.clients) < 1 \
            or args.seconds <= 0 or args.warmup < 0:
        parser.error("counts, --repeat, --clients and --seconds must be positive")
    if max(args.clients) > 9999:
        parser.error("at most 9999 clients (accounts user0000..user9999)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(argv)
    # Results (stdout) and progress (stderr) interleave in the order they happen.
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    notes = []
    if "rfcmail" in args.servers and not rfcmail_has_imap():
        notes.append(NO_IMAP_NOTE)
        args.servers = [kind for kind in args.servers if kind != "rfcmail"]
        print(f"NOTE: {NO_IMAP_NOTE}", flush=True)
    if not args.servers:
        print("imap_bench: no server left to measure", file=sys.stderr)
        return 2
    chosen = servers(args)
    env = environment()
    big_settings = BigMailboxSettings(count=args.count, repeat=args.repeat, seed=args.seed,
                                      batch=args.batch, timeout=args.timeout,
                                      fill_timeout=args.fill_timeout,
                                      user=BIG_MAILBOX_USER, password=TEST_PASSWORD)
    mix_base = MixSettings(seconds=args.seconds, warmup=args.warmup,
                           mailbox_size=args.mailbox_size, processes=args.load_processes,
                           timeout=min(args.timeout, 60.0), seed=args.seed + 1,
                           password=TEST_PASSWORD)
    print("imap_bench " + " ".join(f"{k}={getattr(args, k)}" for k in (
        "workloads", "count", "repeat", "batch", "clients", "seconds", "warmup",
        "mailbox_size", "load_processes")))
    print("on " + ", ".join(f"{k} {v}" for k, v in env.items() if v is not None), flush=True)

    big_outcomes: list[Outcome] = []
    mix_outcomes: dict[int, list[Outcome]] = {}
    try:
        if "big" in args.workloads:
            for server in chosen:
                _log(f"big mailbox: {server.label}")
                big_outcomes.append(run_big(server, big_settings))
            print_big_mailbox(big_outcomes, args.count, args.repeat)
        if "mix" in args.workloads:
            for clients in args.clients:
                settings = replace(mix_base, clients=clients)
                for server in chosen:
                    _log(f"mix, {clients} clients: {server.label}")
                    mix_outcomes.setdefault(clients, []).append(run_mix_once(server, settings))
                print_mix(mix_outcomes[clients], clients, args.seconds, args.warmup)
    except KeyboardInterrupt:
        print("\ninterrupted: every server has been stopped", file=sys.stderr)
        return 130
    for note in notes:
        print(f"\nNOTE: {note}")

    everything = big_outcomes + [o for outcomes in mix_outcomes.values() for o in outcomes]
    if args.json:
        Path(args.json).write_text(json.dumps({
            "params": {k: getattr(args, k) for k in (
                "servers", "workloads", "count", "repeat", "batch", "clients", "seconds",
                "warmup", "mailbox_size", "load_processes", "rfcmail_workers",
                "dovecot_format", "seed")},
            "environment": env,
            "notes": notes,
            "big_mailbox": {o.label: outcome_json(o) for o in big_outcomes},
            "mix": {str(clients): {o.label: outcome_json(o) for o in outcomes}
                    for clients, outcomes in mix_outcomes.items()},
        }, indent=1) + "\n")
    failed = sorted({o.label for o in everything if o.error
                     or (o.big is not None and o.big.problems)
                     or (o.mix is not None and o.mix.errors)})
    if failed:
        print(f"\nFAILED (errors or wrong results): {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
