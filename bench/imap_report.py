"""Printing and JSON for the IMAP benchmark: one column per server, the ratios of rfcmail
to each Dovecot, and the figures the peers README measured on a project machine beside
Dovecot's, so a reader sees how much of a difference is the machine."""

from __future__ import annotations

import math
import os
import platform
from dataclasses import asdict, dataclass, field
from typing import Any

from imap_mix import MIX_OPERATIONS, MixResult
from imap_workloads import OPERATIONS, BigMailboxResult

from interop.providers.dovecot import dovecot_version
from interop.providers.rfcmail import rfcmail_has_imap, rfcmail_version

# /work/shared/peers/README.md: Dovecot 2.3.19, 100,000 messages, 2 cores, median of 5.
README_BIG_MAILBOX: dict[str, dict[str, str]] = {
    "sdbox": {"fill": "~2,400", "login_select": "4", "fetch_flags": "52",
              "fetch_headers": "0.6", "search_subject_rare": "175",
              "search_body_rare": "~6,100–6,500", "search_body_common": "~6,100–6,500",
              "store_1000": "0.9", "idle": "35"},
    "maildir": {"fill": "~2,000", "login_select": "232", "fetch_flags": "50",
                "fetch_headers": "0.7", "search_subject_rare": "175",
                "search_body_rare": "~6,100–6,500", "search_body_common": "~6,100–6,500",
                "store_1000": "233", "idle": "35"},
}
README_MIX = ("peers README, Dovecot 2.3.19, 10 clients, 2 cores: ~316 logins/s, "
              "~450 body fetches/s, ~150 appends/s, ~1.65 cores (its loop was not exactly "
              "this one: fewer appends than logins)")


@dataclass
class Outcome:
    """One server's result for one workload, or why it has none."""

    label: str
    kind: str                        # "rfcmail" or "dovecot"
    dovecot_format: str | None = None
    big: BigMailboxResult | None = None
    mix: MixResult | None = None
    error: str | None = None
    notes: list[str] = field(default_factory=list)


def _ms(value: float) -> str:
    if math.isnan(value):
        return "-"
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}" if value >= 1 else f"{value:.2f}"


def _ratio(mine: float, peer: float) -> str:
    if not peer or math.isnan(mine) or math.isnan(peer):
        return "-"
    return f"{mine / peer:.2f}x"


def _table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for number, row in enumerate([header, *rows]):
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:],
                                                                        strict=True)]
        print("  ".join(cells))
        if number == 0:
            print("  ".join("-" * w for w in widths))


def _pairs(outcomes: list[Outcome]) -> list[tuple[Outcome, Outcome]]:
    mine = [o for o in outcomes if o.kind == "rfcmail" and not o.error]
    peers = [o for o in outcomes if o.kind == "dovecot" and not o.error]
    return [(m, p) for m in mine for p in peers]


# --- big mailbox ----------------------------------------------------------------------------


def print_big_mailbox(outcomes: list[Outcome], count: int, repeat: int) -> None:
    print(f"\nBig mailbox: {count:,} messages, median of {repeat} round(s), a fresh "
          "connection per operation; ms (server CPU ms)")
    measured = [o for o in outcomes if o.big is not None and not o.error]
    formats = sorted({o.dovecot_format for o in measured if o.dovecot_format})
    pairs = _pairs(measured)
    header = ["operation", *(o.label for o in measured),
              *(f"README {f}" for f in formats),
              *(f"{m.label} / {p.label}" for m, p in pairs)]
    rows = []
    fill_row = ["fill by APPEND, msg/s"]
    for o in measured:
        assert o.big is not None and o.big.fill is not None
        fill_row.append(f"{o.big.fill.messages_per_second:,.0f}")
    fill_row += [README_BIG_MAILBOX[f]["fill"] for f in formats]
    fill_row += [_ratio(_fill_rate(m), _fill_rate(p)) for m, p in pairs]
    rows.append(fill_row)
    for operation, description in OPERATIONS:
        row = [description]
        for o in measured:
            assert o.big is not None
            row.append(f"{_ms(o.big.median(operation))} "
                       f"({_ms(o.big.median(operation, 'server_cpu_milliseconds'))})")
        row += [README_BIG_MAILBOX[f][operation] for f in formats]
        row += [_ratio(_median(m, operation), _median(p, operation)) for m, p in pairs]
        rows.append(row)
        if operation == "login_select":
            select_row = ["  SELECT alone"]
            for o in measured:
                assert o.big is not None
                select_row.append(_ms(o.big.median(operation, "select_milliseconds")))
            select_row += ["" for _ in formats]
            select_row += [_ratio(_median(m, operation, "select_milliseconds"),
                                  _median(p, operation, "select_milliseconds"))
                           for m, p in pairs]
            rows.append(select_row)
    _table(header, rows)
    if pairs:
        print("(ratios: fill is rfcmail's msg/s over the peer's; operations are time over "
              "time, below 1 is faster)")
    for o in measured:
        assert o.big is not None and o.big.fill is not None
        fill, big = o.big.fill, o.big
        store = f", {big.store_mib:,.0f} MiB on disk" if big.store_mib is not None else ""
        print(f"{o.label}: fill {fill.messages:,} msgs, {fill.octets / 2**20:,.0f} MiB in "
              f"{fill.seconds:.1f} s by {fill.method}, server CPU {fill.server_cpu_seconds:.1f} s,"
              f" load generator CPU {fill.client_cpu_seconds:.1f} s{store}")
        for moment, memory in big.memory.items():
            print(f"  memory {moment}: RSS {memory.rss_mib:,} MiB, PSS {memory.pss_mib:,} MiB "
                  f"over {memory.processes} processes, largest peak {memory.largest_peak_rss_mib}"
                  " MiB")
        peak = max((run.largest_peak_rss_mib for runs in big.runs.values() for run in runs),
                   default=0.0)
        print(f"  largest process peak RSS during the operations: {peak} MiB")
        print("  results: " + ("every count as expected" if not big.problems
                               else "WRONG: " + "; ".join(big.problems)))
    for f in formats:
        print(f"README {f} idle memory: ~{README_BIG_MAILBOX[f]['idle']} MiB RSS")
    _print_failures(outcomes)


def _fill_rate(outcome: Outcome) -> float:
    assert outcome.big is not None and outcome.big.fill is not None
    return outcome.big.fill.messages_per_second


def _median(outcome: Outcome, operation: str, name: str = "milliseconds") -> float:
    assert outcome.big is not None
    return outcome.big.median(operation, name)


# --- mix ------------------------------------------------------------------------------------


def print_mix(outcomes: list[Outcome], clients: int, seconds: float, warmup: float) -> None:
    print(f"\nClient mix: {clients} clients, each on its own account, {seconds:g} s measured "
          f"after {warmup:g} s warm-up")
    measured = [o for o in outcomes if o.mix is not None and not o.error]
    header = ["operation"]
    for o in measured:
        header += [f"{o.label} ops/s", "p50 ms", "p99 ms"]
    rows = []
    for operation in MIX_OPERATIONS:
        row = [operation]
        for o in measured:
            assert o.mix is not None
            stats = o.mix.operations.get(operation)
            row += (["-", "-", "-"] if stats is None else
                    [f"{stats.per_second:,.0f}", _ms(stats.p50_ms), _ms(stats.p99_ms)])
        rows.append(row)
    for name, figure in (("loops/s", "loops_per_second"), ("server cores", "server_cores"),
                         ("load generator cores", "client_cores"),
                         ("other cores", "other_cores"), ("errors", "errors")):
        row = [name]
        for o in measured:
            row += [_figure(getattr(o.mix, figure)), "", ""]
        rows.append(row)
    _table(header, rows)
    for mine, peer in _pairs(measured):
        assert mine.mix is not None and peer.mix is not None
        print(f"{mine.label} / {peer.label}: "
              + ", ".join(f"{_ratio(mine.mix.rate(op), peer.mix.rate(op))} the {what}"
                          for op, what in (("login", "logins/s"),
                                           ("fetch_body", "body fetches/s"),
                                           ("append", "appends/s"))))
    if any(o.kind == "dovecot" for o in measured):
        print(README_MIX)
    for o in measured:
        assert o.mix is not None
        for sample in o.mix.error_samples[:5]:
            print(f"  {o.label} error: {sample}")
    _print_failures(outcomes)


def _figure(value: float) -> str:
    return f"{value:,.2f}" if isinstance(value, float) else str(value)


def _print_failures(outcomes: list[Outcome]) -> None:
    for o in outcomes:
        if o.error:
            print(f"{o.label}: FAILED: {o.error.splitlines()[0]}")


# --- JSON -----------------------------------------------------------------------------------


def outcome_json(outcome: Outcome) -> dict[str, Any]:
    data: dict[str, Any] = {"kind": outcome.kind, "dovecot_format": outcome.dovecot_format,
                            "error": outcome.error, "notes": outcome.notes}
    if outcome.big is not None:
        big = outcome.big
        data["big_mailbox"] = {
            "capabilities": big.capabilities,
            "fill": None if big.fill is None else {
                **asdict(big.fill), "messages_per_second": big.fill.messages_per_second},
            "store_mib": big.store_mib,
            "memory": {moment: asdict(memory) for moment, memory in big.memory.items()},
            "expected": big.expected,
            "median_ms": {op: big.median(op) for op in big.runs},
            "median_server_cpu_ms": {op: big.median(op, "server_cpu_milliseconds")
                                     for op in big.runs},
            "runs": {op: [asdict(run) for run in runs] for op, runs in big.runs.items()},
            "problems": big.problems,
        }
    if outcome.mix is not None:
        data["mix"] = asdict(outcome.mix)
    rounded: dict[str, Any] = _rounded(data)
    return rounded


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 4)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def environment() -> dict[str, Any]:
    model = None
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f
                          if line.startswith("model name")), None)
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "cpu_model": model, "kernel": platform.release(),
            "python": platform.python_version(), "rfcmail": rfcmail_version(),
            "rfcmail_has_imap": rfcmail_has_imap(), "dovecot": dovecot_version()}
