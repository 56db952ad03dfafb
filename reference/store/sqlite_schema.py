"""Opening SQLite connections for the store: settings that make commits durable, and
schema migrations.

Durability (DESIGN principle 3, "nothing is acknowledged before it is durable") rests on
these settings of every connection, and on the group-commit writer answering only after
COMMIT has returned:

- ``journal_mode=WAL``: a commit appends to the write-ahead log and readers keep reading
  their snapshot meanwhile, so readers never block the writer nor the writer them. The
  mode is stored in the file, so every process sharing it works the same way.
- ``synchronous=FULL``: the WAL is fsynced at *every* COMMIT, before COMMIT returns. With
  NORMAL, the default many guides recommend for WAL, SQLite fsyncs only at checkpoints:
  a commit is atomic and survives a crash of the process, but a power loss or kernel
  panic can lose the last transactions -- ones we already answered 250 or OK to. Group
  commit is what makes FULL affordable: one fsync per batch, not per message.
- ``fullfsync`` and ``checkpoint_fullfsync``: on macOS, fsync() does not flush the
  drive's own cache and F_FULLFSYNC does; elsewhere these are no-ops.
- ``foreign_keys=ON``: off by default in SQLite, and ON DELETE CASCADE depends on it.
- ``busy_timeout``: how long a connection waits for a lock held by another connection or
  process (the writer of another server process sharing the file, principle 7) before it
  gives up with SQLITE_BUSY.
"""

from __future__ import annotations

import re
import sqlite3
import time
from pathlib import Path

from reference.store.interface import StoreError
from reference.store.sqlite_writes import fetch_one

SCHEMA_FILE = Path(__file__).with_name("schema") / "sqlite.sql"
# STRICT tables need SQLite 3.37 (2021); RETURNING needs 3.35.
MIN_SQLITE_VERSION = (3, 37, 0)
WAL_AUTOCHECKPOINT_PAGES = 10_000
JOURNAL_SIZE_LIMIT = 64 * 1024 * 1024
_MIGRATION_HEADER = re.compile(r"^-- migration: (\d+)[ \t]*$", re.MULTILINE)


def connect(path: str, *, busy_timeout_ms: int, writer: bool,
            check_same_thread: bool = True) -> sqlite3.Connection:
    """A connection with the store's settings. The writer's also brings the schema up to
    date; readers are ``query_only``, so a read path cannot write by mistake."""
    if sqlite3.sqlite_version_info < MIN_SQLITE_VERSION:
        raise StoreError(f"SQLite {sqlite3.sqlite_version} is too old; the store needs "
                         f"{'.'.join(map(str, MIN_SQLITE_VERSION))} or later")
    # isolation_level=None: the sqlite3 module issues no implicit BEGIN/COMMIT; every
    # transaction here is explicit.
    connection = sqlite3.connect(path, isolation_level=None, timeout=busy_timeout_ms / 1000,
                                 check_same_thread=check_same_thread)
    try:
        connection.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        if writer:
            _use_wal(connection, path, busy_timeout_ms)
        # FULL, not NORMAL: in WAL mode NORMAL does not fsync the WAL at each commit, only
        # at checkpoints, so a power loss can lose the last transactions after we have
        # replied 250 to them. FULL fsyncs the WAL before COMMIT returns.
        connection.execute("PRAGMA synchronous = FULL")
        connection.execute("PRAGMA fullfsync = ON")             # macOS: F_FULLFSYNC
        connection.execute("PRAGMA checkpoint_fullfsync = ON")
        connection.execute("PRAGMA foreign_keys = ON")
        if writer:
            # Checkpoints copy WAL pages into the database file; a page rewritten by many
            # commits (a mailbox's counters, an index's last leaf) is copied once per
            # checkpoint, so fewer, larger checkpoints write less. 10,000 pages (40 MiB
            # of WAL at most, then truncated) instead of SQLite's 1,000.
            connection.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES}")
            # Each job runs inside a SAVEPOINT, so SQLite keeps a statement journal of
            # the pages it changes (to roll that job back alone). In a temporary file
            # that was ~40 pwrite() calls per delivered message plus an open/unlink per
            # batch; in memory it costs a page copy. It holds only the open batch.
            connection.execute("PRAGMA temp_store = MEMORY")
            connection.execute(f"PRAGMA journal_size_limit = {JOURNAL_SIZE_LIMIT}")
            migrate(connection)
        else:
            connection.execute("PRAGMA query_only = ON")
    except BaseException:
        connection.close()
        raise
    return connection


def _use_wal(connection: sqlite3.Connection, path: str, busy_timeout_ms: int) -> None:
    """Switch the file to WAL mode (a no-op once it is: the mode is stored in the file).

    Switching needs an exclusive lock, and SQLite reports SQLITE_BUSY at once, without its
    busy handler, when the lock would deadlock with another connection's; that happens
    only while several stores create the same new file. So retry, within busy_timeout."""
    deadline = time.monotonic() + busy_timeout_ms / 1000
    while True:
        try:
            mode = fetch_one(connection, "PRAGMA journal_mode = WAL")
            break
        except sqlite3.OperationalError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.005)
    if mode is None or str(mode[0]).lower() != "wal":
        raise StoreError(f"{path}: cannot use WAL journal mode (got {mode}); "
                         "is it on a network file system?")


def load_migrations(text: str) -> list[tuple[int, list[str]]]:
    """The ``-- migration: N`` sections of the schema file, as (N, statements)."""
    parts = _MIGRATION_HEADER.split(text)
    migrations: list[tuple[int, list[str]]] = []
    for number, body in zip(parts[1::2], parts[2::2], strict=True):
        version = int(number)
        if version != len(migrations) + 1:
            raise StoreError(f"schema file: migration {version} out of sequence")
        migrations.append((version, split_statements(body)))
    if not migrations:
        raise StoreError("schema file has no migrations")
    return migrations


def split_statements(sql: str) -> list[str]:
    """SQL text as single statements; sqlite3.complete_statement knows about strings,
    comments and trigger bodies, so a ';' inside them does not end a statement."""
    statements: list[str] = []
    pending = ""
    for line in sql.splitlines(keepends=True):
        if not pending and (not line.strip() or line.lstrip().startswith("--")):
            continue        # blank lines and comments between statements
        pending += line
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip())
            pending = ""
    leftover = pending.strip()
    if leftover:
        raise StoreError(f"schema file: unterminated statement: {leftover[:80]!r}")
    return statements


def migrate(connection: sqlite3.Connection) -> int:
    """Apply the migrations the database lacks; return the version it is now at.

    All of them run in one BEGIN IMMEDIATE transaction, and the version is read inside
    it: two processes opening a new file at once take turns, and the second finds
    nothing left to do."""
    migrations = load_migrations(SCHEMA_FILE.read_text(encoding="utf-8"))
    latest = migrations[-1][0]
    connection.execute("BEGIN IMMEDIATE")
    try:
        row = fetch_one(connection, "PRAGMA user_version")
        current = int(row[0]) if row else 0
        if current > latest:
            raise StoreError(f"database schema version {current} is newer than this "
                             f"rfcmail understands ({latest}); upgrade rfcmail")
        for version, statements in migrations[current:]:
            for statement in statements:
                connection.execute(statement)
            connection.execute(f"PRAGMA user_version = {version}")
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
    return latest
