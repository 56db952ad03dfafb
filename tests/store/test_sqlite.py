"""What is particular to the SQLite backend: durability across a kill, group commit,
several stores (and processes) on one file, schema versioning, error translation."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from reference.store import SqliteStore, open_store
from reference.store.interface import (
    Account,
    AccountId,
    Delivery,
    NotFound,
    StoreError,
)
from reference.store.sqlite_commit import SPILL_PAGES
from reference.store.sqlite_reads import (
    CHANGED_SINCE,
    EXPUNGED_SINCE,
    FLAGS_CHANGED_SINCE,
    FLAGS_CHANGED_SINCE_EXCLUDING,
    MAX_TRIGRAMS,
    fts_query,
)
from reference.store.sqlite_rows import one_of
from reference.store.sqlite_schema import SCHEMA_FILE, load_migrations, split_statements
from reference.store.sqlite_writes import fetch_one

from .conftest import message_bytes, new_message

REPOSITORY = Path(__file__).resolve().parents[2]
LATEST_SCHEMA = load_migrations(SCHEMA_FILE.read_text())[-1][0]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "mail.db"


@pytest.fixture
async def sqlite_store(db_path: Path) -> AsyncIterator[SqliteStore]:
    store = await SqliteStore.open(db_path)
    yield store
    await store.close()


async def make_account(store: SqliteStore, address: str = "alice@example.com") -> Account:
    domain = address.rpartition("@")[2]
    if not await store.is_local_domain(domain):
        await store.add_domain(domain)
    return await store.add_account(address, "c")


def raw_query(path: Path, sql: str) -> list[tuple[object, ...]]:
    """Look at the file with a plain sqlite3 connection, as another process would."""
    with sqlite3.connect(path) as connection:
        return connection.execute(sql).fetchall()


def run_child(script: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script), *args], cwd=REPOSITORY,
        env={**os.environ, "PYTHONPATH": str(REPOSITORY)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


# --- durability


KILL_CHILD = """
    import asyncio, sys
    from reference.store import open_store
    from reference.store.interface import AccountId, Delivery, NewMessage
    from datetime import UTC, datetime

    async def deliver(store, n):
        [delivered] = await store.store_message(NewMessage(
            f"message {n}".encode(), datetime.now(UTC), [Delivery(AccountId(1))]))
        # Acknowledged: only now may the world hear of it.
        print("stored", delivered.uid, flush=True)

    async def main():
        store = await open_store(sys.argv[1])
        n = 0
        while True:                 # keep writes in flight until the parent kills us
            await asyncio.gather(*(deliver(store, n + i) for i in range(10)))
            n += 10

    asyncio.run(main())
"""


async def test_an_acknowledged_message_survives_sigkill(db_path: Path) -> None:
    """DESIGN principle 3: nothing is acknowledged before it is durable. The child prints
    "stored" only after store_message returns; we kill it with SIGKILL the moment we read
    the line, while more writes are in flight, and every acknowledged UID must be there."""
    store = await SqliteStore.open(db_path)
    account = await make_account(store)
    assert account.id == 1
    await store.close()
    child = run_child(KILL_CHILD, str(db_path))
    assert child.stdout is not None
    acknowledged: list[int] = []
    try:
        while len(acknowledged) < 15:
            line = await asyncio.to_thread(child.stdout.readline)
            assert line, child.stderr.read() if child.stderr else "child died"
            acknowledged.append(int(line.split()[1]))
            if len(acknowledged) >= 15:
                child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    assert child.returncode == -signal.SIGKILL
    reopened = await SqliteStore.open(db_path)
    try:
        inbox = await reopened.get_mailbox(account.id, "INBOX")
        assert inbox is not None
        stored = {m.uid for m in await reopened.list_messages(inbox.id)}
        assert set(acknowledged) <= stored
        assert inbox.messages == len(stored)
    finally:
        await reopened.close()


async def test_durability_settings(sqlite_store: SqliteStore, db_path: Path) -> None:
    """WAL with synchronous=FULL: the WAL is fsynced at every COMMIT (see sqlite_schema)."""
    def pragmas(connection: sqlite3.Connection) -> tuple[object, ...]:
        return tuple(fetch_one(connection, f"PRAGMA {name}")[0]  # type: ignore[index]
                     for name in ("journal_mode", "synchronous", "foreign_keys",
                                  "busy_timeout", "temp_store", "cache_spill"))
    # The writer's own connection, through the writer (private on purpose: a test of
    # the backend's settings). Its busy timeout is 0: the writer waits for foreign locks
    # itself, off the event loop (sqlite_commit); temp_store=MEMORY (2) and a cache
    # spill only beyond SPILL_PAGES keep the jobs free of file I/O, and memory bounded.
    assert await sqlite_store._writer.submit(pragmas) == ("wal", 2, 1, 0, 2, SPILL_PAGES)
    assert raw_query(db_path, "PRAGMA journal_mode") == [("wal",)]


# --- group commit


async def test_a_write_waits_for_a_foreign_processs_lock_and_then_commits(
        sqlite_store: SqliteStore, db_path: Path) -> None:
    """A connection that does not take the writers' flock (an sqlite3 shell, say) holds
    the write lock: the writer waits for it, without blocking the event loop, and
    commits once it is released."""
    foreign = sqlite3.connect(db_path, isolation_level=None)
    foreign.execute("BEGIN IMMEDIATE")
    write = asyncio.ensure_future(sqlite_store.add_domain("waited.example"))
    ticks = 0
    for _ in range(20):                  # the loop keeps running meanwhile
        await asyncio.sleep(0.01)
        ticks += 1
    assert not write.done()
    foreign.execute("COMMIT")
    foreign.close()
    await asyncio.wait_for(write, 5)
    assert ticks == 20
    assert await sqlite_store.is_local_domain("waited.example")


async def test_a_write_fails_cleanly_when_a_foreign_lock_outlasts_the_busy_timeout(
        db_path: Path) -> None:
    store = await SqliteStore.open(db_path, busy_timeout_ms=200)
    foreign = sqlite3.connect(db_path, isolation_level=None)
    try:
        foreign.execute("BEGIN IMMEDIATE")
        with pytest.raises(StoreError):
            await store.add_domain("never.example")
        foreign.execute("ROLLBACK")
        await store.add_domain("later.example")      # the writer is still usable
        assert await store.is_local_domain("later.example")
    finally:
        foreign.close()
        await store.close()


async def test_concurrent_writes_share_commits(sqlite_store: SqliteStore) -> None:
    account = await make_account(sqlite_store)
    before = (sqlite_store.stats.jobs, sqlite_store.stats.commits)
    await asyncio.gather(*(sqlite_store.store_message(
        new_message(Delivery(account.id), raw=f"m{i}".encode())) for i in range(200)))
    jobs = sqlite_store.stats.jobs - before[0]
    commits = sqlite_store.stats.commits - before[1]
    assert jobs == 200
    assert commits < jobs
    assert sqlite_store.stats.largest_batch > 1


async def test_a_failing_job_is_rolled_back_alone_within_its_batch(
        sqlite_store: SqliteStore) -> None:
    account = await make_account(sqlite_store)
    jobs_before, failed_before = sqlite_store.stats.jobs, sqlite_store.stats.failed_jobs
    commits_before = sqlite_store.stats.commits
    good = [sqlite_store.store_message(new_message(Delivery(account.id), raw=f"{i}".encode()))
            for i in range(20)]
    bad = sqlite_store.store_message(new_message(Delivery(AccountId(999))))
    # A raw sqlite3 error inside a job comes out as a StoreError, and rolls back alone.
    broken = sqlite_store._writer.submit(
        lambda connection: connection.execute("INSERT INTO no_such_table VALUES (1)"))
    results = await asyncio.gather(*good[:10], bad, broken, *good[10:],
                                   return_exceptions=True)
    assert isinstance(results[10], NotFound)
    assert isinstance(results[11], StoreError)
    assert isinstance(results[11].__cause__, sqlite3.OperationalError)
    assert all(isinstance(r, list) for r in results[:10] + results[12:])
    assert sqlite_store.stats.jobs - jobs_before == 22
    assert sqlite_store.stats.failed_jobs - failed_before == 2
    assert sqlite_store.stats.commits - commits_before < 22      # they did share batches
    inbox = await sqlite_store.get_mailbox(account.id, "INBOX")
    assert inbox is not None and inbox.messages == 20 and inbox.uid_next == 21


async def test_close_finishes_queued_writes(db_path: Path) -> None:
    store = await SqliteStore.open(db_path)
    account = await make_account(store)
    pending = [asyncio.ensure_future(store.store_message(
        new_message(Delivery(account.id), raw=f"{i}".encode()))) for i in range(50)]
    await asyncio.sleep(0)          # let every task queue its job
    await store.close()
    assert all(len(task.result()) == 1 for task in pending)
    assert raw_query(db_path, "SELECT count(*) FROM messages") == [(50,)]


async def test_a_cancelled_caller_does_not_disturb_the_batch(sqlite_store: SqliteStore) -> None:
    account = await make_account(sqlite_store)
    tasks = [asyncio.ensure_future(sqlite_store.store_message(
        new_message(Delivery(account.id), raw=f"{i}".encode()))) for i in range(10)]
    await asyncio.sleep(0)
    tasks[3].cancel()
    done = await asyncio.gather(*tasks, return_exceptions=True)
    assert isinstance(done[3], asyncio.CancelledError)
    assert all(isinstance(r, list) for i, r in enumerate(done) if i != 3)


# --- several stores, several processes, one file


async def test_two_stores_on_one_file_allocate_without_collisions(db_path: Path) -> None:
    """DESIGN principle 7: UIDs and modseqs are allocated inside BEGIN IMMEDIATE, so two
    writers on one file (as two server processes would be) never collide."""
    first = await SqliteStore.open(db_path)
    second = await SqliteStore.open(db_path)
    try:
        account = await make_account(first)
        results = await asyncio.gather(*(
            (first if i % 2 else second).store_message(
                new_message(Delivery(account.id), raw=f"{i}".encode()))
            for i in range(200)))
        delivered = [d for [d] in results]
        assert sorted(d.uid for d in delivered) == list(range(1, 201))
        assert len({d.modseq for d in delivered}) == 200
        inbox = await second.get_mailbox(account.id, "INBOX")
        assert inbox is not None
        listed = await first.list_messages(inbox.id)
        assert [m.uid for m in listed] == list(range(1, 201))
        modseqs = [m.modseq for m in listed]
        assert modseqs == sorted(modseqs) and len(set(modseqs)) == 200
        assert await first.highest_modseq(account.id) == max(modseqs)
    finally:
        await first.close()
        await second.close()


PROCESS_CHILD = """
    import asyncio, sys
    from datetime import UTC, datetime
    from reference.store import open_store
    from reference.store.interface import AccountId, Delivery, NewMessage

    async def main():
        store = await open_store(sys.argv[1])
        results = await asyncio.gather(*(store.store_message(NewMessage(
            f"{sys.argv[2]}-{i}".encode(), datetime.now(UTC), [Delivery(AccountId(1))]))
            for i in range(100)))
        print(" ".join(str(d.uid) for [d] in results))
        await store.close()

    asyncio.run(main())
"""


async def test_two_processes_deliver_to_one_mailbox(db_path: Path) -> None:
    store = await SqliteStore.open(db_path)
    await make_account(store)
    children = [run_child(PROCESS_CHILD, str(db_path), name) for name in ("a", "b")]
    outputs = [await asyncio.to_thread(child.communicate) for child in children]
    assert [child.returncode for child in children] == [0, 0], outputs
    uids = [int(uid) for out, _ in outputs for uid in out.split()]
    assert sorted(uids) == list(range(1, 201))
    inbox = await store.get_mailbox(AccountId(1), "INBOX")
    assert inbox is not None and inbox.messages == 200
    modseqs = [m.modseq for m in await store.list_messages(inbox.id)]
    assert modseqs == sorted(set(modseqs))
    await store.close()


async def test_stores_opening_a_new_file_at_once_migrate_it_once(db_path: Path) -> None:
    stores = await asyncio.gather(*(SqliteStore.open(db_path) for _ in range(4)))
    for store in stores:
        await store.close()
    assert raw_query(db_path, "PRAGMA user_version") == [(LATEST_SCHEMA,)]


# --- schema


async def test_reopening_keeps_data_and_schema(db_path: Path) -> None:
    store = await SqliteStore.open(db_path)
    account = await make_account(store)
    await store.close()
    store = await SqliteStore.open(db_path)
    assert await store.get_account(account.address) == account
    await store.close()
    assert raw_query(db_path, "PRAGMA user_version") == [(LATEST_SCHEMA,)]


async def test_a_newer_schema_is_refused(db_path: Path) -> None:
    await (await SqliteStore.open(db_path)).close()
    with sqlite3.connect(db_path) as connection:
        connection.execute(f"PRAGMA user_version = {LATEST_SCHEMA + 1}")
    with pytest.raises(StoreError, match="newer"):
        await SqliteStore.open(db_path)


def test_schema_statements_are_split_whole() -> None:
    sql = ("CREATE TABLE t (x TEXT DEFAULT ';');\n-- a comment; with a semicolon\n"
           "CREATE TRIGGER g AFTER INSERT ON t BEGIN\n  DELETE FROM t;\nEND;\n-- end\n")
    assert [s.split()[1] for s in split_statements(sql)] == ["TABLE", "TRIGGER"]
    with pytest.raises(StoreError):
        split_statements("CREATE TABLE t (x)\n")


# --- storage details


async def test_identical_bytes_are_stored_once(sqlite_store: SqliteStore,
                                               db_path: Path) -> None:
    account = await make_account(sqlite_store)
    raw = message_bytes("dedup")
    for _ in range(3):
        await sqlite_store.store_message(new_message(Delivery(account.id), raw=raw))
    assert raw_query(db_path, "SELECT count(*) FROM blobs") == [(1,)]


async def test_removing_an_account_collects_only_unshared_blobs(sqlite_store: SqliteStore,
                                                               db_path: Path) -> None:
    alice = await make_account(sqlite_store, "alice@example.com")
    bob = await make_account(sqlite_store, "bob@example.com")
    await sqlite_store.store_message(new_message(Delivery(alice.id), Delivery(bob.id),
                                                 raw=b"shared"))
    await sqlite_store.store_message(new_message(Delivery(alice.id), raw=b"alice only"))
    await sqlite_store.remove_account(alice.address)
    assert raw_query(db_path, "SELECT size FROM blobs") == [(len(b"shared"),)]
    assert raw_query(db_path, "SELECT count(*) FROM change_runs WHERE account_id = 1") == [(0,)]


async def test_mailbox_counters_match_the_messages(sqlite_store: SqliteStore,
                                                   db_path: Path) -> None:
    """The counters kept in the mailbox row equal what a scan would compute."""
    account = await make_account(sqlite_store)
    for i in range(30):
        keywords = frozenset({"\\Seen"}) if i % 3 == 0 else frozenset()
        await sqlite_store.store_message(new_message(
            Delivery(account.id, "INBOX" if i % 2 else "Archive", keywords=keywords),
            raw=b"x" * i))
    assert raw_query(db_path, """
        SELECT b.id FROM mailboxes b WHERE (b.message_count, b.unseen_count, b.total_size)
          IS NOT (SELECT count(*),
                         coalesce(sum(NOT EXISTS (SELECT 1 FROM json_each(m.keywords)
                                                  WHERE value = '\\Seen')), 0),
                         coalesce(sum(m.size), 0)
                  FROM mailbox_messages mm JOIN messages m ON m.id = mm.message_id
                  WHERE mm.mailbox_id = b.id)""") == []


# --- errors and opening


async def test_sqlite_errors_become_store_errors(tmp_path: Path) -> None:
    with pytest.raises(StoreError):
        await SqliteStore.open(tmp_path / "no" / "such" / "dir" / "mail.db")
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not a database" * 1000)
    with pytest.raises(StoreError) as raised:
        await SqliteStore.open(garbage)
    assert not isinstance(raised.value, sqlite3.Error)


@pytest.mark.parametrize("target", [":memory:", "", "file:mail.db?mode=memory"])
async def test_the_store_needs_a_file(target: str) -> None:
    with pytest.raises(StoreError):
        await SqliteStore.open(target)


async def test_open_store_understands_paths_and_urls(tmp_path: Path) -> None:
    for target in (str(tmp_path / "a.db"), tmp_path / "b.db", f"sqlite://{tmp_path}/c.db",
                   f"SQLITE://{tmp_path}/d%20e.db"):
        store = await open_store(target)
        assert isinstance(store, SqliteStore)
        await store.close()
    assert sorted(p.name for p in tmp_path.glob("*.db")) == ["a.db", "b.db", "c.db",
                                                            "d e.db"]


@pytest.mark.parametrize("url", ["postgresql://localhost/rfcmail", "postgres://x/y",
                                 "mysql://localhost/x", "sqlite://host/path.db"])
async def test_open_store_refuses_what_it_cannot_open(url: str) -> None:
    with pytest.raises(StoreError):
        await open_store(url)


# --- the full-text query


def test_a_string_is_looked_up_as_its_trigrams_each_an_fts5_string_literal() -> None:
    """The index keeps trigrams without positions (migration 7): a string narrows by
    every trigram in it. Each is one quoted FTS5 literal with quotes doubled, so no
    operator a user types (AND, NEAR, ``*``, ``:``) does anything."""
    assert fts_query(["chord"]) == '"cho" AND "hor" AND "ord"'
    assert fts_query(['a"b OR c*']) == ('"a""b" AND """b " AND "b O" AND " OR" AND "OR "'
                                        ' AND "R c" AND " c*"')
    # Shorter than a trigram: nothing to look up; NUL and line ends split a string (a
    # NUL cannot be passed; a line lies in one column of the index).
    assert fts_query(["ab", ""]) is None
    assert fts_query(["ab\x00cde\nxy"]) == '"cde"'
    # The longest pieces first, each trigram once, at most MAX_TRIGRAMS of them.
    assert fts_query(["aaaa", "ababa"]) == '"aba" AND "bab" AND "aaa"'
    query = fts_query(["".join(chr(0x4E00 + n) for n in range(200))])
    assert query is not None and query.count(" AND ") == MAX_TRIGRAMS - 1


# --- query plans


@pytest.mark.parametrize(("query", "index"), [
    (CHANGED_SINCE, "mailbox_messages_by_modseq"),
    (FLAGS_CHANGED_SINCE, "mailbox_messages_by_modseq"),
    (FLAGS_CHANGED_SINCE_EXCLUDING, "mailbox_messages_by_modseq"),
    (EXPUNGED_SINCE, "expunged_uids_by_modseq"),
])
def test_changes_since_a_modseq_are_found_by_the_modseq_index(
        db_path: Path, query: str, index: str) -> None:
    """What changed since a modseq (every SELECT of a kept view, every refresh) costs
    what changed, not the mailbox's size: the (mailbox_id, modseq) index finds the
    rows; SQLite must not walk the mailbox in UID order to skip sorting them."""
    with sqlite3.connect(db_path) as connection:
        for _, statements in load_migrations(SCHEMA_FILE.read_text()):
            for statement in statements:
                connection.execute(statement)
        parameters = (1, 5, "[]") if "json_each" in query else (1, 5)
        plan = " / ".join(row[3] for row in connection.execute(
            "EXPLAIN QUERY PLAN " + query, parameters))
    assert f"INDEX {index} (mailbox_id=? AND modseq>?)" in plan, plan


@pytest.mark.parametrize(("uids", "shape"), [
    ((3, 4, 5, 6), "BETWEEN"),
    ((7,), "BETWEEN"),
    ((2, 4, 5), "json_each"),
    ((), "json_each"),
])
def test_a_uid_range_is_chosen_by_a_range_of_the_primary_key(
        uids: tuple[int, ...], shape: str) -> None:
    """one_of: a contiguous range (STORE 5000:5999) is one BETWEEN, a range scan
    of (mailbox_id, uid); any other set is looked up UID by UID. Both choose exactly the
    UIDs given."""
    with sqlite3.connect(":memory:") as connection:
        connection.execute("CREATE TABLE mm (mailbox_id INTEGER, uid INTEGER,"
                           " PRIMARY KEY (mailbox_id, uid)) WITHOUT ROWID")
        connection.executemany("INSERT INTO mm VALUES (?, ?)",
                               [(box, uid) for box in (1, 2) for uid in range(1, 10)])
        condition, parameters = one_of("uid", uids)
        query = f"SELECT uid FROM mm WHERE mailbox_id = 1 AND {condition} ORDER BY uid"
        chosen = [uid for (uid,) in connection.execute(query, parameters)]
        plan = " / ".join(row[3] for row in connection.execute(
            "EXPLAIN QUERY PLAN " + query, parameters))
    assert shape in condition
    assert chosen == list(uids)
    if shape == "BETWEEN":
        assert "PRIMARY KEY (mailbox_id=? AND uid>? AND uid<?)" in plan, plan
