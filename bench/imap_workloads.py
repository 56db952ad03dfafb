"""The big-mailbox IMAP workload, and the MULTIAPPEND fill it (and the mix) start from.

Fill: one mailbox (``Big`` of ``alice``) gets ``count`` generated messages (see
imap_messages.py) by MULTIAPPEND (RFC 3502), ``batch`` messages per command and two
commands in flight, or, when the server does not advertise MULTIAPPEND, by pipelined
single APPENDs. Literals follow the server's LITERAL+/LITERAL- (RFC 7888). Afterwards
STATUS must report exactly ``count`` messages.

Then each operation runs on a fresh connection (connect, LOGIN, SELECT are untimed except
in ``login_select``), ``repeat`` rounds with the operations interleaved, and every result
is checked against what the generator put in: a fast wrong answer is a failure.

  login_select        TCP connect + greeting + LOGIN + SELECT (SELECT alone also kept)
  fetch_flags         UID FETCH 1:* (UID FLAGS)                    count and \\Seen count
  fetch_headers       FETCH <newest 50> (BODY.PEEK[HEADER.FIELDS (...)])   newest Subject
  search_subject_rare UID SEARCH SUBJECT <word in 10 subjects>
  search_body_rare    UID SEARCH BODY <word in 10 bodies>
  search_body_common  UID SEARCH BODY <word in every third body>
  store_1000          STORE a:a+999 +FLAGS (\\Flagged)   a different range each round,
                      restored afterwards (untimed) with -FLAGS.SILENT

Server CPU per operation is the process tree's CPU across the timed command (the login and
SELECT of the untimed part excluded); memory is read idle, after the fill and at the end.
"""

from __future__ import annotations

import resource
import statistics
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

from imap_client import (
    ImapClient,
    ImapError,
    exists_count,
    fetch_count,
    quote,
    search_hits,
    status_items,
)
from imap_messages import (
    BODY_COMMON,
    BODY_RARE,
    SUBJECT_RARE,
    GeneratedMessage,
    Markers,
    MessageFactory,
)
from imap_server_stats import TreeMemory, disk_usage_mib, tree_cpu_seconds, tree_memory

Log = Callable[[str], None]

HEADER_FIELDS = "BODY.PEEK[HEADER.FIELDS (FROM TO SUBJECT DATE MESSAGE-ID)]"
OPERATIONS: tuple[tuple[str, str], ...] = (
    ("login_select", "connect + LOGIN + SELECT"),
    ("fetch_flags", "UID FETCH 1:* (UID FLAGS)"),
    ("fetch_headers", "FETCH newest 50 header fields"),
    ("search_subject_rare", f"UID SEARCH SUBJECT {SUBJECT_RARE} (rare)"),
    ("search_body_rare", f"UID SEARCH BODY {BODY_RARE} (rare)"),
    ("search_body_common", f"UID SEARCH BODY {BODY_COMMON} (1/3)"),
    ("store_1000", "STORE +FLAGS (\\Flagged) on 1,000"),
)
NEWEST = 50
STORED = 1000


@dataclass(frozen=True)
class ImapTarget:
    """A running server: where it listens, the root of its process tree, where it stores."""

    label: str
    host: str
    port: int
    pid: int
    store_path: Path | None = None
    # Servers whose accounts are whole addresses (rfcmail) log in as user@domain;
    # Dovecot's passwd-file here uses the bare user name.
    login_domain: str | None = None

    def login_name(self, user: str) -> str:
        return f"{user}@{self.login_domain}" if self.login_domain else user

    def connect(self, timeout: float) -> ImapClient:
        return ImapClient(self.host, self.port, timeout=timeout)


@dataclass(frozen=True)
class BigMailboxSettings:
    count: int = 100_000
    repeat: int = 5
    seed: int = 1
    batch: int = 500                 # messages per MULTIAPPEND command
    timeout: float = 600.0           # any one socket operation
    fill_timeout: float = 3600.0     # the whole fill
    user: str = "alice"
    password: str = "secret"
    mailbox: str = "Big"


@dataclass(frozen=True)
class FillResult:
    method: str
    messages: int
    octets: int
    seconds: float
    server_cpu_seconds: float
    client_cpu_seconds: float

    @property
    def messages_per_second(self) -> float:
        return self.messages / self.seconds


@dataclass(frozen=True)
class OperationRun:
    milliseconds: float
    server_cpu_milliseconds: float
    result: int
    largest_peak_rss_mib: float
    select_milliseconds: float | None = None


@dataclass
class BigMailboxResult:
    capabilities: list[str] = field(default_factory=list)
    fill: FillResult | None = None
    store_mib: float | None = None
    memory: dict[str, TreeMemory] = field(default_factory=dict)
    runs: dict[str, list[OperationRun]] = field(default_factory=dict)
    expected: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def median(self, operation: str, name: str = "milliseconds") -> float:
        values = [getattr(run, name) for run in self.runs.get(operation, [])]
        return float(statistics.median(values)) if values else float("nan")


# --- filling a mailbox ----------------------------------------------------------------------


def _batches(messages: Iterable[GeneratedMessage], size: int) -> Iterator[list[GeneratedMessage]]:
    iterator = iter(messages)
    while batch := list(islice(iterator, size)):
        yield batch


def append_messages(client: ImapClient, mailbox: str, messages: Iterable[GeneratedMessage], *,
                    batch: int, window: int, deadline: float,
                    progress: Callable[[int, int], None] | None = None) -> tuple[str, int]:
    """APPEND every message to ``mailbox`` over a logged-in connection, ``window``
    commands in flight. Returns the method used and the octets sent."""
    multiappend = "MULTIAPPEND" in client.capabilities and batch > 1
    per_command = batch if multiappend else 1
    target = quote(mailbox).encode()
    in_flight: deque[bytes] = deque()
    sent = octets = 0

    def complete_oldest() -> None:
        response = client.read_response()
        tag = in_flight.popleft()
        if response.tag != tag or not response.ok:
            raise ImapError(f"APPEND ({tag!r}): {response.line[:300]!r}")

    for group in _batches(messages, per_command):
        if time.monotonic() > deadline:
            raise ImapError(f"the fill did not finish in time ({sent} messages sent)")
        synchronizing = any(client.literal_header(len(m.content))[1] for m in group)
        # With "+" continuations to wait for, a completion must not be mistaken for one.
        limit = 1 if synchronizing else window
        while len(in_flight) >= limit:
            complete_oldest()
        tag = client.next_tag()
        in_flight.append(tag)
        parts = [tag, b" APPEND ", target]
        for message in group:
            literal, must_wait = client.literal_header(len(message.content))
            flags = f" ({message.flags})" if message.flags else ""
            parts.append(f'{flags} "{message.internal_date}" '.encode() + literal)
            if must_wait:
                client.send(b"".join(parts))
                parts = []
                client.wait_for_continuation()
            parts.append(message.content)
            octets += len(message.content)
        parts.append(b"\r\n")
        client.send(b"".join(parts))
        sent += len(group)
        if progress:
            progress(sent, octets)
    while in_flight:
        complete_oldest()
    return ("MULTIAPPEND" if multiappend else "APPEND"), octets


def fill_big_mailbox(target: ImapTarget, settings: BigMailboxSettings,
                     factory: MessageFactory, log: Log) -> FillResult:
    client = target.connect(settings.timeout)
    try:
        client.login(target.login_name(settings.user), settings.password)
        if "MULTIAPPEND" not in client.capabilities:
            client.refresh_capabilities()
        client.command(f"CREATE {quote(settings.mailbox)}")
        started = time.monotonic()
        last_report = [started]

        def progress(sent: int, octets: int) -> None:
            now = time.monotonic()
            if now - last_report[0] >= 10:
                last_report[0] = now
                log(f"    fill: {sent:,}/{settings.count:,} sent, {octets / 2**20:,.0f} MiB, "
                    f"{sent / (now - started):,.0f} msg/s so far")

        cpu_before = tree_cpu_seconds(target.pid)
        client_before = _own_cpu_seconds()
        method, octets = append_messages(
            client, settings.mailbox, map(factory.message, range(settings.count)),
            batch=settings.batch, window=2, deadline=started + settings.fill_timeout,
            progress=progress)
        seconds = time.monotonic() - started
        server_cpu = tree_cpu_seconds(target.pid) - cpu_before
        client_cpu = _own_cpu_seconds() - client_before
        status = client.command(f"STATUS {quote(settings.mailbox)} (MESSAGES)")
        stored = status_items(status.data).get("MESSAGES", -1)
        if stored != settings.count:
            raise ImapError(f"after the fill STATUS says {stored} messages, "
                            f"{settings.count} were appended")
    finally:
        client.logout()
    return FillResult(method, settings.count, octets, seconds, server_cpu, client_cpu)


def _own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- the timed operations -------------------------------------------------------------------


def expected_results(settings: BigMailboxSettings, factory: MessageFactory) -> dict[str, int]:
    hits = factory.markers.expected()
    return {
        "login_select": settings.count,
        "fetch_flags": settings.count,
        "fetch_headers": min(NEWEST, settings.count),
        "search_subject_rare": hits["subject_rare"],
        "search_body_rare": hits["body_rare"],
        "search_body_common": hits["body_common"],
        "store_1000": min(STORED, settings.count),
    }


def _command_for(operation: str, exists: int, round_number: int) -> str:
    if operation == "fetch_flags":
        return "UID FETCH 1:* (UID FLAGS)"
    if operation == "fetch_headers":
        return f"FETCH {max(1, exists - NEWEST + 1)}:{exists} ({HEADER_FIELDS})"
    if operation == "search_subject_rare":
        return f"UID SEARCH SUBJECT {SUBJECT_RARE}"
    if operation == "search_body_rare":
        return f"UID SEARCH BODY {BODY_RARE}"
    if operation == "search_body_common":
        return f"UID SEARCH BODY {BODY_COMMON}"
    if operation == "store_1000":
        low, high = _store_range(exists, round_number)
        return f"STORE {low}:{high} +FLAGS (\\Flagged)"
    raise ValueError(operation)


def _store_range(exists: int, round_number: int) -> tuple[int, int]:
    """A different 1,000 messages each round, so no round finds its flags already set."""
    size = min(STORED, exists)
    low = 1 + (exists // 2 + round_number * size) % max(1, exists - size + 1)
    return low, low + size - 1


def run_operation(target: ImapTarget, settings: BigMailboxSettings, operation: str,
                  round_number: int, problems: list[str],
                  extra_checks: Callable[[str, bytes], str | None]) -> OperationRun:
    """One operation on a fresh connection; wrong results are added to ``problems``."""
    cpu_before = tree_cpu_seconds(target.pid)
    started = time.perf_counter()
    client = target.connect(settings.timeout)
    try:
        client.login(target.login_name(settings.user), settings.password)
        logged_in = time.perf_counter()
        selected = client.command(f"SELECT {quote(settings.mailbox)}")
        finished = time.perf_counter()
        exists = exists_count(selected.data)
        select_ms: float | None = None
        if operation == "login_select":
            result = exists
            select_ms = (finished - logged_in) * 1000
        else:
            command = _command_for(operation, exists, round_number)
            cpu_before = tree_cpu_seconds(target.pid)
            started = time.perf_counter()
            response = client.command(command)
            finished = time.perf_counter()
            result = (search_hits(response.data) if operation.startswith("search")
                      else fetch_count(response.data))
            problem = extra_checks(operation, response.data)
            if problem:
                problems.append(f"{operation} round {round_number + 1}: {problem}")
        server_cpu = tree_cpu_seconds(target.pid) - cpu_before
        peak = tree_memory(target.pid).largest_peak_rss_mib
        if operation == "store_1000":
            low, high = _store_range(exists, round_number)
            client.command(f"STORE {low}:{high} -FLAGS.SILENT (\\Flagged)")
    finally:
        client.logout()
    return OperationRun((finished - started) * 1000, server_cpu * 1000, result, peak, select_ms)


def run_big_mailbox(target: ImapTarget, settings: BigMailboxSettings, log: Log) -> BigMailboxResult:
    """Fill, then measure every operation ``repeat`` times. Never raises for a wrong
    count (it is recorded in ``problems``); raises ImapError when the server fails."""
    factory = MessageFactory(Markers(settings.count), settings.seed)
    result = BigMailboxResult(expected=expected_results(settings, factory))
    seen = factory.seen_count(settings.count)

    probe = target.connect(settings.timeout)
    try:
        probe.login(target.login_name(settings.user), settings.password)
        result.capabilities = sorted(probe.refresh_capabilities())
    finally:
        probe.logout()
    result.memory["idle"] = tree_memory(target.pid)

    log(f"  {target.label}: filling {settings.mailbox} with {settings.count:,} messages")
    result.fill = fill_big_mailbox(target, settings, factory, log)
    time.sleep(1)                       # let the server settle before reading its memory
    result.memory["after_fill"] = tree_memory(target.pid)
    if target.store_path is not None:
        result.store_mib = disk_usage_mib(target.store_path)
    fill = result.fill
    log(f"  {target.label}: filled in {fill.seconds:.1f} s, "
        f"{fill.messages_per_second:,.0f} msg/s ({fill.method})")

    def extra_checks(operation: str, data: bytes) -> str | None:
        if operation == "fetch_flags" and (shown := data.count(b"\\Seen")) != seen:
            return f"{shown} messages \\Seen, {seen} expected"
        if operation == "fetch_headers" and b"#%d\r\n" % (settings.count - 1) not in data:
            return f"the newest message's Subject (ending #{settings.count - 1}) is missing"
        if operation == "store_1000":
            flagged = data.count(b"\\Flagged")
            if flagged != result.expected["store_1000"]:
                return f"{flagged} FETCH responses show \\Flagged"
        return None

    for round_number in range(settings.repeat):
        for operation, _description in OPERATIONS:
            run = run_operation(target, settings, operation, round_number, result.problems,
                                extra_checks)
            result.runs.setdefault(operation, []).append(run)
            if run.result != result.expected[operation]:
                result.problems.append(
                    f"{operation} round {round_number + 1}: result {run.result}, "
                    f"expected {result.expected[operation]}")
            log(f"    round {round_number + 1}/{settings.repeat} {operation}: "
                f"{run.milliseconds:,.1f} ms, server CPU {run.server_cpu_milliseconds:,.1f} ms, "
                f"result {run.result}")
    time.sleep(1)
    result.memory["end"] = tree_memory(target.pid)
    return result
