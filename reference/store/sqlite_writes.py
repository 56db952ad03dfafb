"""The write transactions of the SQLite store: plain functions of a connection.

Each function here is one job for the group-commit writer (``sqlite_commit``): it runs
inside the writer's ``BEGIN IMMEDIATE`` transaction, in its own savepoint, and raises
``StoreError`` subclasses for refusals. Every allocation (UID, MODSEQ, UIDVALIDITY, row
ids) reads and bumps its counter here, inside the transaction that holds SQLite's one
write lock, so it is safe across threads and across processes sharing the file (DESIGN
principle 7) and is undone with the job if the job fails.

Arguments arrive already normalised and validated (``normalise``, ``SqliteStore``): the
event-loop side does the pure work so that the one writer thread does only SQL.

This module holds what every family of writes shares (the modseq counter, the change
log, mailbox rows) and the small families (domains, accounts, aliases); the others are
``sqlite_writes_mailboxes``, ``sqlite_writes_messages`` and ``sqlite_writes_flags``.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from reference.store.interface import (
    DEFAULT_MAILBOXES,
    Account,
    AccountId,
    Alias,
    AlreadyExists,
    ChangeKind,
    Domain,
    Mailbox,
    MailboxId,
    MailboxNotFound,
    ModSeq,
    NotFound,
    ObjectType,
    SpecialUse,
    SpecialUseTaken,
    StoreError,
    Uid,
)
from reference.store.sqlite_rows import MAILBOX_COLUMNS, mailbox

# RFC 9051 §2.3.1.1: UIDs and UIDVALIDITY are "32-bit unsigned non-zero values".
MAX_UINT32 = 2**32 - 1
# RFC 7162 §3.1: a mod-sequence is "a positive unsigned 63-bit (*) value".
MAX_MODSEQ = 2**63 - 1
# Threading looks at most this many referenced ids (the nearest ancestors come last in
# References, RFC 5322 §3.6.4): a hostile header must not become a huge query.
MAX_THREAD_REFERENCES = 100


def fetch_one(connection: sqlite3.Connection, sql: str,
              parameters: Sequence[Any] = ()) -> tuple[Any, ...] | None:
    """The first row of a query. Reads every row, so the statement is finished and
    holds no read transaction open (a half-read SELECT pins the WAL snapshot)."""
    rows = connection.execute(sql, parameters).fetchall()
    return tuple(rows[0]) if rows else None


# --- domains


def add_domain(connection: sqlite3.Connection, name: str) -> Domain:
    if fetch_one(connection, "SELECT 1 FROM domains WHERE name = ?", (name,)):
        raise AlreadyExists(f"domain {name} exists")
    connection.execute("INSERT INTO domains (name) VALUES (?)", (name,))
    return Domain(name)


def remove_domain(connection: sqlite3.Connection, name: str) -> None:
    if not fetch_one(connection, "SELECT 1 FROM domains WHERE name = ?", (name,)):
        raise NotFound(f"no domain {name}")
    if fetch_one(connection, "SELECT 1 FROM accounts WHERE domain = ? LIMIT 1", (name,)):
        raise StoreError(f"domain {name} still has accounts; remove them first")
    connection.execute("DELETE FROM domains WHERE name = ?", (name,))


# --- accounts


def add_account(connection: sqlite3.Connection, address: str, credentials: str,
                display_name: str, created: datetime) -> Account:
    domain = address.rpartition("@")[2]
    if not fetch_one(connection, "SELECT 1 FROM domains WHERE name = ?", (domain,)):
        raise StoreError(f"{domain} is not a local domain; add it before its accounts")
    if fetch_one(connection, "SELECT 1 FROM accounts WHERE address = ?", (address,)):
        raise AlreadyExists(f"account {address} exists")
    row = fetch_one(
        connection,
        "INSERT INTO accounts (address, domain, display_name, credentials, created)"
        " VALUES (?, ?, ?, ?, ?) RETURNING id",
        (address, domain, display_name, credentials, created.isoformat()))
    assert row is not None
    account_id = AccountId(row[0])
    # The default mailboxes come into being together, as one change of the account.
    modseq = bump_modseq(connection, account_id)
    for name, special_use in DEFAULT_MAILBOXES:
        insert_mailbox(connection, account_id, name, special_use, modseq, subscribed=True)
    return Account(account_id, address, display_name, created)


def remove_account(connection: sqlite3.Connection, address: str) -> None:
    row = fetch_one(connection, "SELECT id FROM accounts WHERE address = ?", (address,))
    if row is None:
        raise NotFound(f"no account {address}")
    account_id = row[0]
    blob_ids = [blob_id for (blob_id,) in connection.execute(
        "SELECT DISTINCT blob_id FROM messages WHERE account_id = ?", (account_id,))]
    # ON DELETE CASCADE takes its mailboxes (with their memberships and tombstones),
    # subscriptions, messages (the trigger messages_leave_text takes their search text)
    # and change log.
    connection.execute("DELETE FROM accounts WHERE id = ?", (account_id,))
    collect_blobs(connection, blob_ids)


def collect_blobs(connection: sqlite3.Connection, blob_ids: Sequence[str]) -> None:
    """Delete those of the blobs that no message uses any more (blobs are shared by
    content, across accounts); their parsed structures go with them (cascade)."""
    connection.executemany(
        "DELETE FROM blobs WHERE id = ?"
        " AND NOT EXISTS (SELECT 1 FROM messages WHERE blob_id = blobs.id)",
        [(blob_id,) for blob_id in blob_ids])


def set_credentials(connection: sqlite3.Connection, address: str, credentials: str) -> None:
    cursor = connection.execute(
        "UPDATE accounts SET credentials = ? WHERE address = ?", (credentials, address))
    if cursor.rowcount == 0:
        raise NotFound(f"no account {address}")


def bump_modseq(connection: sqlite3.Connection, account_id: AccountId) -> ModSeq:
    """The account's next MODSEQ (DESIGN principle 4): IMAP MODSEQ and JMAP state."""
    row = fetch_one(
        connection,
        "UPDATE accounts SET highest_modseq = highest_modseq + 1 WHERE id = ?"
        " RETURNING highest_modseq", (account_id,))
    if row is None:
        raise NotFound(f"no account with id {account_id}")
    if row[0] > MAX_MODSEQ:
        raise StoreError(f"account {account_id}: mod-sequence space exhausted")
    return ModSeq(row[0])


def log_changes(connection: sqlite3.Connection, account_id: AccountId, modseq: ModSeq,
                *changes: tuple[ObjectType, int, ChangeKind]) -> None:
    """Append to the account's change log, in order: one row per run of changes of one
    object type and kind (``change_runs``), all in one statement."""
    _insert_runs(connection, account_id, modseq,
                 ((object_type.value, kind.value, object_id)
                  for object_type, object_id, kind in changes))


def _insert_runs(connection: sqlite3.Connection, account_id: AccountId, modseq: ModSeq,
                 changes: Iterable[tuple[str, str, int]]) -> None:
    """Insert ``changes`` (object type, kind, object id), in order, as runs: one row per
    stretch of one object type and kind."""
    runs: list[tuple[str, str, list[int]]] = []
    run_type = run_kind = ""
    run_ids: list[int] = []
    for object_type, kind, object_id in changes:
        if kind != run_kind or object_type != run_type:
            run_type, run_kind, run_ids = object_type, kind, []
            runs.append((run_type, run_kind, run_ids))
        run_ids.append(object_id)
    if not runs:
        return
    rows = ", ".join(["(?, ?, ?, ?, ?)"] * len(runs))
    connection.execute(
        "INSERT INTO change_runs (account_id, modseq, object_type, kind, object_ids)"
        f" VALUES {rows}",
        [value for object_type, kind, object_ids in runs
         for value in (account_id, modseq, object_type, kind,
                       json.dumps(object_ids, separators=(",", ":")))])


class ChangeLog:
    """The change-log rows of one write job that touches many objects, each object
    once, written by ``write`` at the job's end (all with the job's one modseq).

    An object both created and updated in the job is logged as created; updated and
    then destroyed, as destroyed (RFC 8620 §5.2 lets a server report each id once).

    Rows are kept by the enums' values (strings hash in C; an Enum's __hash__ is Python
    code, which showed at thousands of rows per job), and written a run at a time."""

    def __init__(self, account_id: AccountId, modseq: ModSeq) -> None:
        self.account_id = account_id
        self.modseq = modseq
        # (object type, object id) -> kind, in the order first added
        self._rows: dict[tuple[str, int], str] = {}

    def add(self, object_type: ObjectType, object_id: int, kind: ChangeKind) -> None:
        key = (object_type.value, object_id)
        if kind is ChangeKind.DESTROYED or key not in self._rows:
            self._rows[key] = kind.value
        # else: created or destroyed already says more than updated

    def updated(self, object_type: ObjectType, object_ids: Sequence[int]) -> None:
        rows = self._rows
        type_value, updated = object_type.value, ChangeKind.UPDATED.value
        for object_id in object_ids:
            rows.setdefault((type_value, object_id), updated)

    def write(self, connection: sqlite3.Connection) -> None:
        """The rows as runs of one object type and kind, in the order added: one row
        each (``change_runs``), in one statement."""
        _insert_runs(connection, self.account_id, self.modseq,
                     ((object_type, kind, object_id)
                      for (object_type, object_id), kind in self._rows.items()))


# --- aliases


def add_alias(connection: sqlite3.Connection, address: str,
              targets: Sequence[str]) -> Alias:
    if fetch_one(connection, "SELECT 1 FROM aliases WHERE address = ?", (address,)):
        raise AlreadyExists(f"alias {address} exists")
    local_domains = {name for (name,) in connection.execute("SELECT name FROM domains")}
    stored: list[str] = []
    for target in targets:
        local, _, domain = target.rpartition("@")
        # Our own addresses are case-insensitive (normalise.py); a remote local-part keeps
        # its case (RFC 5321 §2.4 MUST).
        if domain in local_domains:
            target = f"{local.lower()}@{domain}"
        if target not in stored:
            stored.append(target)
    if not stored:
        raise StoreError(f"alias {address} needs at least one target")
    row = fetch_one(connection, "INSERT INTO aliases (address) VALUES (?) RETURNING id",
                    (address,))
    assert row is not None
    connection.executemany(
        "INSERT INTO alias_targets (alias_id, position, target) VALUES (?, ?, ?)",
        [(row[0], position, target) for position, target in enumerate(stored)])
    return Alias(address, tuple(stored))


def remove_alias(connection: sqlite3.Connection, address: str) -> None:
    cursor = connection.execute("DELETE FROM aliases WHERE address = ?", (address,))
    if cursor.rowcount == 0:
        raise NotFound(f"no alias {address}")


# --- mailboxes


def next_uid_validity(connection: sqlite3.Connection) -> int:
    """A UIDVALIDITY no mailbox of this store ever had.

    RFC 9051 §2.3.1.1: "A good UIDVALIDITY value to use is a 32-bit representation of the
    current date/time when the value is assigned ... Another possible alternative is a
    global counter". Both at once: max(last + 1, now) never repeats within the store
    (so a re-created name always gets a new value, point 3 there), and, being at least
    the clock, also differs from what a deleted and re-made database file handed out.
    """
    row = fetch_one(
        connection,
        "UPDATE store_counters SET value = max(value + 1, ?) WHERE name = 'uid_validity'"
        " RETURNING value", (int(time.time()),))
    assert row is not None
    if row[0] > MAX_UINT32:
        raise StoreError("UIDVALIDITY space exhausted")
    return int(row[0])


def insert_mailbox(connection: sqlite3.Connection, account_id: AccountId, name: str,
                   special_use: SpecialUse | None, modseq: ModSeq, *,
                   subscribed: bool) -> Mailbox:
    if fetch_one(connection, "SELECT 1 FROM mailboxes WHERE account_id = ? AND name = ?",
                 (account_id, name)):
        raise AlreadyExists(f"mailbox {name!r} exists")
    if special_use is not None and fetch_one(
            connection, "SELECT name FROM mailboxes WHERE account_id = ? AND special_use = ?",
            (account_id, special_use.value)):
        # RFC 8621 §2: "there MUST NOT be two Mailboxes in the same account with the
        # same role" (RFC 6154 itself allows it; JMAP does not).
        raise SpecialUseTaken(f"the account already has a {special_use.value} mailbox")
    uid_validity = next_uid_validity(connection)
    row = fetch_one(
        connection,
        "INSERT INTO mailboxes (account_id, name, special_use, uid_validity,"
        " highest_modseq) VALUES (?, ?, ?, ?, ?) RETURNING id",
        (account_id, name, special_use.value if special_use else None, uid_validity,
         modseq))
    assert row is not None
    mailbox_id = MailboxId(row[0])
    if subscribed:
        connection.execute("INSERT OR IGNORE INTO subscriptions (account_id, name)"
                           " VALUES (?, ?)", (account_id, name))
    log_changes(connection, account_id, modseq,
                (ObjectType.MAILBOX, mailbox_id, ChangeKind.CREATED))
    return get_mailbox(connection, mailbox_id)


def get_mailbox(connection: sqlite3.Connection, mailbox_id: MailboxId) -> Mailbox:
    """The mailbox as it is now in this transaction; MailboxNotFound if there is none."""
    row = fetch_one(connection, f"SELECT {MAILBOX_COLUMNS} FROM mailboxes b WHERE b.id = ?",
                    (mailbox_id,))
    if row is None:
        raise MailboxNotFound(f"no mailbox with id {mailbox_id}")
    return mailbox(row)


def mailbox_id_by_name(connection: sqlite3.Connection, account_id: AccountId,
                       name: str) -> MailboxId | None:
    row = fetch_one(connection, "SELECT id FROM mailboxes WHERE account_id = ? AND name = ?",
                    (account_id, name))
    return None if row is None else MailboxId(row[0])


def require_account(connection: sqlite3.Connection, account_id: AccountId) -> None:
    if not fetch_one(connection, "SELECT 1 FROM accounts WHERE id = ?", (account_id,)):
        raise NotFound(f"no account with id {account_id}")


def allocate_uids(connection: sqlite3.Connection, mailbox_id: MailboxId, count: int) -> Uid:
    """Reserve ``count`` UIDs in the mailbox; return the first.

    RFC 9051 §2.3.1.1: UIDs are "assigned in a strictly ascending fashion in the
    mailbox"; uid_next only grows, so an expunged message's UID is never reused."""
    row = fetch_one(connection, "UPDATE mailboxes SET uid_next = uid_next + ? WHERE id = ?"
                    " RETURNING uid_next", (count, mailbox_id))
    if row is None:
        raise MailboxNotFound(f"no mailbox with id {mailbox_id}")
    if row[0] - 1 > MAX_UINT32:
        raise StoreError(f"mailbox {mailbox_id}: UID space exhausted")
    return Uid(row[0] - count)
