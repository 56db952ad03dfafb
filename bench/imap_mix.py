"""The concurrent IMAP client mix: many clients, each on its own account, for a fixed time.

Each client (a thread; the threads are spread over ``processes`` load processes so that
one interpreter's GIL does not cap the load) loops:

  connect, LOGIN, LIST "" "*", STATUS INBOX (MESSAGES UNSEEN), SELECT INBOX,
  FETCH 1:* (FLAGS), FETCH <random> (BODY.PEEK[]), STORE <random> +FLAGS (\\Seen),
  STORE 1 +FLAGS (\\Deleted), EXPUNGE, APPEND one message, LOGOUT

so the mailbox keeps its size (``mailbox_size`` messages, put there beforehand by
APPEND). Checked on every loop: STATUS and SELECT report that size, FETCH FLAGS returns
one response per message, the body comes back as a literal, EXPUNGE removes message 1;
any NO, BAD, wrong count, timeout or dropped connection is an error, counted and shown.

Measured inside a window that opens ``warmup`` seconds after the clients start and lasts
``seconds``: operations completed per second and their latency (p50, p99) per operation,
loops per second, the server's CPU (its process tree) and the load generator's own CPU.
Bounded: clients start no loop after the window, every socket operation has
``timeout``, and load processes still running after that are killed.
"""

from __future__ import annotations

import math
import multiprocessing
import random
import re
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from imap_client import ImapError, exists_count, fetch_count, status_items
from imap_messages import GeneratedMessage, Markers, MessageFactory
from imap_server_stats import tree_cpu_seconds
from imap_workloads import ImapTarget, append_messages

from interop.providers.tools import machine_busy_seconds

Log = Callable[[str], None]
T = TypeVar("T")

MIX_OPERATIONS = ("connect", "login", "list", "status", "select", "fetch_flags",
                  "fetch_body", "store_seen", "store_deleted", "expunge", "append", "logout")
_POOL_SIZE = 256
_ERRORS_KEPT = 20
_BODY_LITERAL = re.compile(rb"BODY\[\] \{(\d+)\}\r\n")


@dataclass(frozen=True)
class MixSettings:
    clients: int = 10
    seconds: float = 30.0
    warmup: float = 2.0
    mailbox_size: int = 30
    processes: int = 2
    timeout: float = 30.0            # any one socket operation
    seed: int = 2
    password: str = "secret"

    @property
    def accounts(self) -> tuple[str, ...]:
        return tuple(f"user{number:04d}" for number in range(self.clients))


@dataclass
class Tally:
    """What one load process saw inside the window (latencies in seconds)."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    loops: int = 0
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    cpu_seconds: float = 0.0

    def merge(self, other: Tally) -> None:
        for name, values in other.latencies.items():
            self.latencies.setdefault(name, []).extend(values)
        self.loops += other.loops
        self.errors += other.errors
        self.error_samples.extend(other.error_samples[:_ERRORS_KEPT - len(self.error_samples)])
        self.cpu_seconds += other.cpu_seconds


@dataclass(frozen=True)
class OperationStats:
    count: int
    per_second: float
    p50_ms: float
    p99_ms: float


@dataclass(frozen=True)
class MixResult:
    clients: int
    seconds: float
    operations: dict[str, OperationStats]
    loops_per_second: float
    server_cores: float
    client_cores: float
    other_cores: float
    errors: int
    error_samples: list[str]

    def rate(self, operation: str) -> float:
        stats = self.operations.get(operation)
        return stats.per_second if stats else 0.0


# --- preparation ----------------------------------------------------------------------------


def message_pool(settings: MixSettings) -> list[GeneratedMessage]:
    factory = MessageFactory(Markers(_POOL_SIZE), settings.seed)
    return [factory.message(index) for index in range(_POOL_SIZE)]


def prepare_mailboxes(target: ImapTarget, settings: MixSettings,
                      pool: list[GeneratedMessage]) -> frozenset[str]:
    """Put ``mailbox_size`` messages into every account's INBOX (one MULTIAPPEND each
    where the server has it). Returns the capabilities the server has after LOGIN."""
    capabilities: frozenset[str] = frozenset()
    for number, account in enumerate(settings.accounts):
        client = target.connect(settings.timeout)
        try:
            client.login(target.login_name(account), settings.password)
            if "MULTIAPPEND" not in client.capabilities:
                client.refresh_capabilities()
            capabilities = client.capabilities
            first = number * settings.mailbox_size
            messages = [pool[(first + k) % len(pool)] for k in range(settings.mailbox_size)]
            append_messages(client, "INBOX", messages, batch=settings.mailbox_size,
                            window=1, deadline=time.monotonic() + settings.timeout)
            status = client.command("STATUS INBOX (MESSAGES)")
            if status_items(status.data).get("MESSAGES") != settings.mailbox_size:
                raise ImapError(f"{account}: INBOX does not hold {settings.mailbox_size} "
                                f"messages after the preparation: {status.data[:200]!r}")
        finally:
            client.logout()
    return capabilities


# --- one client -----------------------------------------------------------------------------


class _Client:
    """One simulated user: the loop above, timing each operation into ``tally``."""

    def __init__(self, target: ImapTarget, account: str, settings: MixSettings,
                 pool: list[GeneratedMessage], capabilities: frozenset[str],
                 window: tuple[float, float], tally: Tally, lock: threading.Lock) -> None:
        self.target, self.account, self.settings = target, account, settings
        self.capabilities = capabilities
        self.pool, self.window = pool, window
        self.tally, self.lock = tally, lock
        self.random = random.Random(account)
        self.expected_size: int | None = settings.mailbox_size
        self.latencies: dict[str, list[float]] = {name: [] for name in MIX_OPERATIONS}

    def timed(self, name: str, action: Callable[[], T]) -> T:
        started = time.monotonic()
        outcome = action()
        finished = time.monotonic()
        if self.window[0] <= finished <= self.window[1]:
            self.latencies[name].append(finished - started)
        return outcome

    def run(self) -> None:
        loops = 0
        while time.monotonic() < self.window[1]:
            try:
                self.loop()
                if self.window[0] <= time.monotonic() <= self.window[1]:
                    loops += 1
            except (OSError, ImapError) as exc:
                self.expected_size = None          # unknown until the next STATUS
                with self.lock:
                    self.tally.errors += 1
                    if len(self.tally.error_samples) < _ERRORS_KEPT:
                        self.tally.error_samples.append(
                            f"{self.account}: {type(exc).__name__}: {exc}"[:400])
                time.sleep(0.05)                   # no hot loop against a failing server
        with self.lock:
            self.tally.loops += loops
            for name, values in self.latencies.items():
                self.tally.latencies.setdefault(name, []).extend(values)

    def loop(self) -> None:
        settings = self.settings
        client = self.timed("connect", lambda: self.target.connect(settings.timeout))
        try:
            name = self.target.login_name(self.account)
            self.timed("login", lambda: client.login(name, settings.password))
            if not client.capabilities:
                # Known from the preparation (LITERAL+ or not), as a client caches them,
                # rather than a CAPABILITY round trip per session.
                client.capabilities = self.capabilities
            self.timed("list", lambda: client.command('LIST "" "*"'))
            status = self.timed("status",
                                lambda: client.command("STATUS INBOX (MESSAGES UNSEEN)"))
            size = status_items(status.data).get("MESSAGES", -1)
            self.check(size, "STATUS MESSAGES")
            selected = self.timed("select", lambda: client.command("SELECT INBOX"))
            exists = exists_count(selected.data)
            self.check(exists, "SELECT EXISTS")
            flags = self.timed("fetch_flags", lambda: client.command("FETCH 1:* (FLAGS)"))
            if fetch_count(flags.data) != exists:
                raise ImapError(f"FETCH 1:* (FLAGS) answered {fetch_count(flags.data)} of "
                                f"{exists} messages")
            chosen = self.random.randint(1, exists)
            body = self.timed("fetch_body",
                              lambda: client.command(f"FETCH {chosen} (BODY.PEEK[])"))
            literal = _BODY_LITERAL.search(body.data)
            if literal is None or int(literal.group(1)) == 0:
                raise ImapError(f"FETCH {chosen} BODY.PEEK[] returned no body")
            marked = self.random.randint(1, exists)
            self.timed("store_seen",
                       lambda: client.command(f"STORE {marked} +FLAGS (\\Seen)"))
            self.timed("store_deleted", lambda: client.command("STORE 1 +FLAGS (\\Deleted)"))
            expunged = self.timed("expunge", lambda: client.command("EXPUNGE"))
            if b"* 1 EXPUNGE" not in expunged.data and b"VANISHED" not in expunged.data:
                raise ImapError(f"EXPUNGE did not report message 1: {expunged.data[:200]!r}")
            self.expected_size = exists - 1
            message = self.random.choice(self.pool)
            self.timed("append", lambda: append_messages(
                client, "INBOX", [message], batch=1, window=1,
                deadline=time.monotonic() + settings.timeout))
            self.expected_size = exists
            self.timed("logout", lambda: client.command("LOGOUT"))
        finally:
            client.close()

    def check(self, reported: int, what: str) -> None:
        if self.expected_size is None:
            self.expected_size = reported          # resynchronised after an error
        elif reported != self.expected_size:
            raise ImapError(f"{what} {reported}, expected {self.expected_size}")


# --- load processes -------------------------------------------------------------------------


def _load_process(target: ImapTarget, accounts: tuple[str, ...], settings: MixSettings,
                  pool: list[GeneratedMessage], capabilities: frozenset[str], start: float,
                  window: tuple[float, float], results: Connection) -> None:
    """Body of one load process: a thread per account, results sent back when done."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # the parent handles Ctrl-C and kills us
    tally, lock = Tally(), threading.Lock()
    clients = [_Client(target, account, settings, pool, capabilities, window, tally, lock)
               for account in accounts]
    time.sleep(max(0.0, start - time.monotonic()))
    threads = [threading.Thread(target=client.run, daemon=True) for client in clients]
    for thread in threads:
        thread.start()
    time.sleep(max(0.0, window[0] - time.monotonic()))
    cpu_before = time.process_time()
    time.sleep(max(0.0, window[1] - time.monotonic()))
    tally.cpu_seconds = time.process_time() - cpu_before
    for thread in threads:
        thread.join(timeout=max(0.1, window[1] + 12 * settings.timeout - time.monotonic()))
    with lock:
        results.send(tally)
    results.close()


def run_mix(target: ImapTarget, settings: MixSettings, pool: list[GeneratedMessage],
            capabilities: frozenset[str], log: Log) -> MixResult:
    """Run the mix against a server prepared by ``prepare_mailboxes`` (which returned
    ``capabilities``) and return what was measured."""
    context = multiprocessing.get_context("fork")
    accounts = settings.accounts
    processes = max(1, min(settings.processes, len(accounts)))
    start = time.monotonic() + 0.5                # time for the load processes to start
    window = (start + settings.warmup, start + settings.warmup + settings.seconds)
    workers: list[tuple[Any, Connection]] = []
    finished = False
    try:
        for number in range(processes):
            receiver, sender = context.Pipe(duplex=False)
            worker = context.Process(
                target=_load_process, daemon=True,
                args=(target, accounts[number::processes], settings, pool, capabilities,
                      start, window, sender))
            worker.start()
            sender.close()
            workers.append((worker, receiver))
        log(f"  {target.label}: {settings.clients} clients in {processes} load processes, "
            f"{settings.warmup:g} s warm-up, {settings.seconds:g} s measured")
        time.sleep(max(0.0, window[0] - time.monotonic()))
        server_before, busy_before = tree_cpu_seconds(target.pid), machine_busy_seconds()
        time.sleep(max(0.0, window[1] - time.monotonic()))
        server_cpu = tree_cpu_seconds(target.pid) - server_before
        busy = machine_busy_seconds() - busy_before
        tally = Tally()
        give_up = window[1] + 12 * settings.timeout + 10
        for worker, receiver in workers:
            if not receiver.poll(max(0.0, give_up - time.monotonic())):
                raise ImapError(f"load process {worker.pid} sent no result in time")
            tally.merge(receiver.recv())
        finished = True
    finally:
        # After their results the load processes end by themselves; on an error, Ctrl-C
        # or SIGTERM they are killed at once (they ignore SIGINT, and their clients would
        # otherwise keep loading a server that is about to be stopped).
        for worker, receiver in workers:
            receiver.close()
            if finished:
                worker.join(timeout=5)
            if worker.is_alive():
                worker.kill()
                worker.join(timeout=5)
    return _summarize(settings, tally, server_cpu, busy)


def _summarize(settings: MixSettings, tally: Tally, server_cpu: float,
               busy: float) -> MixResult:
    seconds = settings.seconds
    operations = {}
    for name in MIX_OPERATIONS:
        values = sorted(tally.latencies.get(name, []))
        if values:
            operations[name] = OperationStats(len(values), len(values) / seconds,
                                              1000 * _percentile(values, 0.50),
                                              1000 * _percentile(values, 0.99))
    other = max(0.0, busy - server_cpu - tally.cpu_seconds)
    return MixResult(settings.clients, seconds, operations, tally.loops / seconds,
                     server_cpu / seconds, tally.cpu_seconds / seconds, other / seconds,
                     tally.errors, tally.error_samples)


def _percentile(ordered: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]
