"""Store benchmark: what IMAP sessions ask of the SQLite store, on one big mailbox.

    python bench/store_bench.py [--messages 100000] [--throughput-messages 5000]
        [--callers 20] [--text-bytes 2000] [--flag-uids 1000] [--repeat 5]
        [--dir DIR] [--keep] [--json FILE]

Measured, in this order, on a fresh store file (in a temporary directory unless --dir):
  (a) store_message throughput: --callers concurrent callers each storing messages
      (raw ~text size + headers, a parsed-structure JSON and --text-bytes of search text)
      into one mailbox, --throughput-messages in all: messages/s, and the group commit's
      jobs per COMMIT. The rest of --messages is then filled the same way, untimed.
  (b) mailbox_view of the --messages mailbox (SELECT, UID FETCH 1:* FLAGS): ms.
  (c) update_flags on --flag-uids consecutive UIDs (+FLAGS \\Flagged, -FLAGS \\Flagged,
      +FLAGS with UNCHANGEDSINCE): ms each.
  (d) search_candidates for a rare word (in ~10 messages) and a common word (in about
      a third of them), each 4+ letters: ms and how many candidates (checked against the
      generator's own count: a fast wrong answer is a failure, exit status 1).
  (e) database size per message: file size after a WAL checkpoint, over --messages,
      with the share of the search index when SQLite's dbstat table is available.
Also: mailbox_changes after one flag change, copy and expunge of --flag-uids messages.
Every figure is the median of --repeat runs, min-max beside it.

Bounded: fixed counts (defaults finish in about one to two minutes on a 2-core machine)
and nothing is kept unless --keep. Text is generated (Zipf-distributed pseudo-words) from a
fixed seed, so runs are comparable.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reference.message.text import SearchText
from reference.store import SqliteStore
from reference.store.interface import (
    AccountId,
    Delivery,
    MailboxId,
    ModSeq,
    NewMessage,
    Uid,
)

RARE, COMMON = "quixotically", "thereupon"
RARE_COUNT = 10
COMMON_EVERY = 3


class Corpus:
    """Deterministic message texts: Zipf-distributed pseudo-words, a rare marker word in
    RARE_COUNT messages and a common one in every COMMON_EVERY-th."""

    def __init__(self, messages: int, text_bytes: int, seed: int = 7) -> None:
        self.random = random.Random(seed)
        syllables = ["ka", "lo", "mi", "ne", "ru", "ta", "shi", "pro", "ver", "men", "ing",
                     "tion", "al", "er", "con", "de", "ble", "st", "ou", "gh", "th", "ea"]
        words = {"".join(self.random.choice(syllables)
                         for _ in range(self.random.randint(1, 4))) for _ in range(40000)}
        words -= {RARE, COMMON}
        self.words = sorted(words)
        self.cum_weights = list(itertools.accumulate(
            1 / (rank + 1) for rank in range(len(self.words))))
        self.text_bytes = text_bytes
        self.rare = set(self.random.sample(range(messages), min(RARE_COUNT, messages)))
        self.messages = messages

    def text(self, index: int) -> str:
        words = self.random.choices(self.words, cum_weights=self.cum_weights,
                                    k=self.text_bytes // 5)
        if index in self.rare:
            words[len(words) // 2] = RARE.capitalize()
        if index % COMMON_EVERY == 0:
            words[len(words) // 3] = COMMON
        return " ".join(words)[:self.text_bytes]

    def expected(self, word: str) -> int:
        if word == RARE:
            return len(self.rare)
        return len(range(0, self.messages, COMMON_EVERY))

    def new_message(self, account_id: AccountId, index: int) -> NewMessage:
        text = self.text(index)
        raw = (f"From: Carol <carol@example.net>\r\nTo: alice@example.com\r\n"
               f"Subject: message {index}\r\nMessage-ID: <{index}@bench.example>\r\n"
               f"Date: Mon, 24 Nov 2025 10:00:00 +0000\r\n\r\n{text}\r\n").encode()
        structure = json.dumps({"type": "text", "subtype": "plain", "size": len(raw),
                                "header": [0, len(raw) - len(text) - 2],
                                "envelope": {"subject": f"message {index}",
                                             "from": [["Carol", None, "carol",
                                                       "example.net"]]}})
        return NewMessage(raw=raw, internal_date=datetime.now(UTC),
                          deliveries=[Delivery(account_id, "Big")],
                          structure=structure, search_text=SearchText("", text, ""))


def median_ms(samples: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in samples]
    return {"median_ms": round(statistics.median(ms), 2), "min_ms": round(min(ms), 2),
            "max_ms": round(max(ms), 2)}


async def timed(repeat: int, action: Callable[[], Awaitable[Any]]) -> tuple[dict[str, float],
                                                                           Any]:
    samples, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = await action()
        samples.append(time.perf_counter() - started)
    return median_ms(samples), result


async def fill(store: SqliteStore, corpus: Corpus, account_id: AccountId, start: int,
               count: int, callers: int) -> float:
    """Store messages start..start+count with ``callers`` concurrent callers; seconds."""
    next_index = start
    end = start + count

    async def caller() -> None:
        nonlocal next_index
        while next_index < end:
            index = next_index
            next_index += 1
            await store.store_message(corpus.new_message(account_id, index))

    started = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(callers)))
    return time.perf_counter() - started


def report(line: str) -> None:
    print(line, flush=True)


async def run(args: argparse.Namespace, directory: Path) -> tuple[dict[str, Any], bool]:
    path = directory / "mail.db"
    store = await SqliteStore.open(path)
    results: dict[str, Any] = {"sqlite": sqlite3.sqlite_version, "python": sys.version.split()[0],
                               "cpus": os.cpu_count(), "messages": args.messages}
    ok = True
    try:
        await store.add_domain("example.com")
        account = await store.add_account("alice@example.com", "x")
        big = await store.create_mailbox(account.id, "Big")
        corpus = Corpus(args.messages, args.text_bytes)

        # (a) throughput
        throughput = min(args.throughput_messages, args.messages)
        jobs, commits = store.stats.jobs, store.stats.commits
        seconds = await fill(store, corpus, account.id, 0, throughput, args.callers)
        per_commit = (store.stats.jobs - jobs) / max(1, store.stats.commits - commits)
        results["store_message"] = {"messages": throughput, "callers": args.callers,
                                    "messages_per_s": round(throughput / seconds),
                                    "jobs_per_commit": round(per_commit, 1)}
        report(f"(a) store_message, {args.callers} callers, structure + "
               f"{args.text_bytes} B search text: {throughput / seconds:,.0f} msg/s "
               f"({per_commit:.1f} jobs per COMMIT)")
        rest = args.messages - throughput
        if rest > 0:
            report(f"    filling the other {rest:,} messages ...")
            seconds = await fill(store, corpus, account.id, throughput, rest,
                                 max(args.callers, 64))
            results["fill_messages_per_s"] = round(rest / seconds)
            report(f"    filled at {rest / seconds:,.0f} msg/s")

        # (b) the SELECT view
        figures, view = await timed(args.repeat, lambda: store.mailbox_view(big.id))
        if len(view.uids) != args.messages:
            report(f"FAIL: mailbox_view has {len(view.uids)} entries")
            ok = False
        results["mailbox_view"] = figures
        report(f"(b) mailbox_view of {args.messages:,} messages: {fmt(figures)}")

        # (c) flags
        uids = [Uid(uid) for uid in range(1, min(args.flag_uids, args.messages) + 1)]
        add = await timed_alternating(store, big.id, uids, args.repeat)
        results["update_flags"] = add
        report(f"(c) update_flags on {len(uids):,} UIDs: +FLAGS {fmt(add['add'])}, "
               f"-FLAGS {fmt(add['remove'])}, +FLAGS UNCHANGEDSINCE "
               f"{fmt(add['unchanged_since'])}")

        # (d) search
        for label, word in (("rare", RARE), ("common", COMMON)):
            figures, found = await timed(args.repeat, lambda word=word: (  # type: ignore[misc]
                store.search_candidates(big.id, [word])))
            expected = corpus.expected(word)
            figures["candidates"] = len(found or ())
            if found is None or len(found) != expected:
                report(f"FAIL: {word!r}: {len(found or ())} candidates, {expected} expected")
                ok = False
            results[f"search_{label}"] = figures
            report(f"(d) search_candidates {label} word ({figures['candidates']:,} of "
                   f"{args.messages:,}): {fmt(figures)}")

        # extras: what a session does after a change, copy and expunge of a range
        before = (await store.get_mailbox_by_id(big.id))
        assert before is not None
        await store.update_flags(big.id, [Uid(args.messages)], add=frozenset({"\\Seen"}))
        figures, _ = await timed(args.repeat, lambda: store.mailbox_changes(
            big.id, before.highest_modseq))
        results["mailbox_changes_one"] = figures
        report(f"    mailbox_changes after one flag change: {fmt(figures)}")
        archive = await store.get_mailbox(account.id, "Archive")
        assert archive is not None
        started = time.perf_counter()
        await store.copy_messages(big.id, uids, archive.id)
        copy_seconds = time.perf_counter() - started
        await store.update_flags(archive.id, [Uid(u) for u in range(1, len(uids) + 1)],
                                 add=frozenset({"\\Deleted"}))
        started = time.perf_counter()
        await store.expunge(archive.id)
        expunge_seconds = time.perf_counter() - started
        results["copy"] = median_ms([copy_seconds])
        results["expunge_copies"] = median_ms([expunge_seconds])
        await store.update_flags(big.id, uids, add=frozenset({"\\Deleted"}))
        started = time.perf_counter()
        await store.expunge(big.id)
        destroy_seconds = time.perf_counter() - started
        results["expunge_destroying"] = median_ms([destroy_seconds])
        report(f"    copy {len(uids):,}: {copy_seconds * 1000:.0f} ms; expunge them again"
               f" (messages kept): {expunge_seconds * 1000:.0f} ms; expunge {len(uids):,}"
               f" destroying messages and their text: {destroy_seconds * 1000:.0f} ms")
    finally:
        await store.close()

    # (e) size
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        try:
            parts = dict(connection.execute(
                "SELECT CASE WHEN name LIKE 'message_text%' THEN 'search index'"
                " WHEN name IN ('blobs', 'sqlite_autoindex_blobs_1') THEN 'blobs'"
                " ELSE 'metadata' END, sum(pgsize) FROM dbstat GROUP BY 1").fetchall())
        except sqlite3.OperationalError:
            parts = {}
    size = path.stat().st_size
    stored = args.messages - min(args.flag_uids, args.messages)
    results["size"] = {"bytes": size, "bytes_per_message": round(size / args.messages),
                       **{f"{name}_per_message": round(value / args.messages)
                          for name, value in parts.items()}}
    detail = ", ".join(f"{name} {value / args.messages:,.0f}" for name, value in
                       sorted(parts.items()))
    report(f"(e) database: {size / 2**20:,.1f} MiB, {size / args.messages:,.0f} B per "
           f"message stored ({detail}); {stored:,} messages remain")
    return results, ok


async def timed_alternating(store: SqliteStore, mailbox_id: MailboxId, uids: list[Uid],
                            repeat: int) -> dict[str, dict[str, float]]:
    samples: dict[str, list[float]] = {"add": [], "remove": [], "unchanged_since": []}
    for _ in range(repeat):
        for label, kwargs in (("add", {"add": frozenset({"\\Flagged"})}),
                              ("remove", {"remove": frozenset({"\\Flagged"})})):
            started = time.perf_counter()
            await store.update_flags(mailbox_id, uids, **kwargs)  # type: ignore[arg-type]
            samples[label].append(time.perf_counter() - started)
        modseq = (await store.get_mailbox_by_id(mailbox_id))
        assert modseq is not None
        started = time.perf_counter()
        await store.update_flags(mailbox_id, uids, add=frozenset({"$Bench"}),
                                 unchanged_since=ModSeq(modseq.highest_modseq))
        samples["unchanged_since"].append(time.perf_counter() - started)
        await store.update_flags(mailbox_id, uids, remove=frozenset({"$Bench"}))
    return {label: median_ms(values) for label, values in samples.items()}


def fmt(figures: dict[str, float]) -> str:
    return f"{figures['median_ms']:,.1f} ms ({figures['min_ms']:,.1f}-{figures['max_ms']:,.1f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--throughput-messages", type=int, default=5_000)
    parser.add_argument("--callers", type=int, default=20)
    parser.add_argument("--text-bytes", type=int, default=2_000)
    parser.add_argument("--flag-uids", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--dir", type=Path, help="where to put the store (default: temp)")
    parser.add_argument("--keep", action="store_true", help="keep the store file")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if args.messages < 1 or args.repeat < 1:
        parser.error("--messages and --repeat must be positive")
    if args.dir is not None:
        args.dir.mkdir(parents=True, exist_ok=True)
        directory = Path(tempfile.mkdtemp(prefix="store-bench-", dir=args.dir))
    else:
        directory = Path(tempfile.mkdtemp(prefix="store-bench-"))
    try:
        results, ok = asyncio.run(run(args, directory))
    finally:
        if not args.keep:
            for child in directory.iterdir():
                child.unlink()
            directory.rmdir()
        else:
            report(f"store kept in {directory}")
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
