"""The write transactions of the SQLite store: plain functions of a connection.

Each function here is one job for the group-commit writer (``sqlite_commit``): it runs
inside the writer's ``BEGIN IMMEDIATE`` transaction, in its own savepoint, and raises
``StoreError`` subclasses for refusals. Every allocation (UID, MODSEQ, UIDVALIDITY, row
ids) reads and bumps its counter here, inside the transaction that holds SQLite's one
write lock, so it is safe across threads and across processes sharing the file (DESIGN
principle 7) and is undone with the job if the job fails.

Arguments arrive already normalised and validated (``normalise``, ``SqliteStore``): the
event-loop side does the pure work so that the one writer thread does only SQL.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from reference.store.interface import (
    DEFAULT_MAILBOXES,
    Account,
    AccountId,
    Alias,
    AlreadyExists,
    BlobId,
    ChangeKind,
    Delivered,
    Domain,
    Mailbox,
    MailboxId,
    MessageId,
    ModSeq,
    NotFound,
    ObjectType,
    SpecialUse,
    StoreError,
    Uid,
)
from reference.store.normalise import INBOX

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
    # ON DELETE CASCADE takes its mailboxes, messages, memberships and change log.
    connection.execute("DELETE FROM accounts WHERE id = ?", (account_id,))
    # Blobs are shared by content; delete only those no other account's message uses.
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
    """Append to the account's change log; several rows in one statement."""
    rows = ", ".join(["(?, ?, ?, ?, ?)"] * len(changes))
    connection.execute(
        f"INSERT INTO changes (account_id, modseq, object_type, object_id, kind) VALUES {rows}",
        [value for object_type, object_id, kind in changes
         for value in (account_id, modseq, object_type.value, object_id, kind.value)])


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
        raise AlreadyExists(f"the account already has a {special_use.value} mailbox")
    uid_validity = next_uid_validity(connection)
    row = fetch_one(
        connection,
        "INSERT INTO mailboxes (account_id, name, special_use, uid_validity,"
        " highest_modseq, subscribed) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        (account_id, name, special_use.value if special_use else None, uid_validity,
         modseq, int(subscribed)))
    assert row is not None
    mailbox_id = MailboxId(row[0])
    log_changes(connection, account_id, modseq,
                (ObjectType.MAILBOX, mailbox_id, ChangeKind.CREATED))
    return Mailbox(mailbox_id, account_id, name, special_use, uid_validity, Uid(1), modseq,
                   subscribed, messages=0, unseen=0, size=0)


def create_mailbox(connection: sqlite3.Connection, account_id: AccountId, name: str,
                   special_use: SpecialUse | None) -> Mailbox:
    if not fetch_one(connection, "SELECT 1 FROM accounts WHERE id = ?", (account_id,)):
        raise NotFound(f"no account with id {account_id}")
    # A created mailbox starts unsubscribed; subscribing is the client's call. (RFC 9051
    # §6.3.4 allows the other choice: "If the server automatically subscribes a mailbox
    # when it is created".)
    return insert_mailbox(connection, account_id, name, special_use,
                          bump_modseq(connection, account_id), subscribed=False)


# --- messages


@dataclass(frozen=True, slots=True)
class PreparedDelivery:
    """A Delivery with its pure parts done on the event loop (normalised, serialised)."""

    account_id: AccountId
    mailbox: str                    # normalised name
    keywords_json: str
    seen: bool
    envelope_json: str | None


@dataclass(frozen=True, slots=True)
class PreparedMessage:
    raw: bytes
    blob_id: BlobId
    internal_date: str              # ISO 8601 with offset
    internal_date_epoch: int
    received_at: str
    header_message_id: str | None   # normalise_message_id
    references: tuple[str, ...]     # normalised, at most MAX_THREAD_REFERENCES
    deliveries: tuple[PreparedDelivery, ...]


def store_message(connection: sqlite3.Connection, message: PreparedMessage) -> list[Delivered]:
    """All deliveries of one message: one job, so one atomic, durable transaction (one
    SMTP transaction with several recipients is acknowledged once, for all of them)."""
    connection.execute("INSERT OR IGNORE INTO blobs (id, size, data) VALUES (?, ?, ?)",
                       (message.blob_id, len(message.raw), message.raw))
    return [_deliver(connection, message, delivery) for delivery in message.deliveries]


def _deliver(connection: sqlite3.Connection, message: PreparedMessage,
             delivery: PreparedDelivery) -> Delivered:
    account_id = delivery.account_id
    mailbox_id = _delivery_mailbox(connection, account_id, delivery.mailbox)
    modseq = bump_modseq(connection, account_id)
    joined_thread = _find_thread(connection, account_id, message)
    row = fetch_one(
        connection,
        "INSERT INTO messages (account_id, blob_id, size, internal_date,"
        " internal_date_epoch, received_at, thread_id, keywords, modseq, envelope,"
        " header_message_id) VALUES (?, ?, ?, ?, ?, ?, coalesce(?, 0), ?, ?, ?, ?)"
        " RETURNING id",
        (account_id, message.blob_id, len(message.raw), message.internal_date,
         message.internal_date_epoch, message.received_at, joined_thread,
         delivery.keywords_json, modseq, delivery.envelope_json, message.header_message_id))
    assert row is not None
    message_id = MessageId(row[0])
    # A message that starts a thread (thread_id 0) is given its own id as thread id by
    # the trigger messages_start_own_thread (the id space is shared, so thread ids are
    # unique too).
    row = fetch_one(
        connection,
        "UPDATE mailboxes SET uid_next = uid_next + 1, highest_modseq = ?,"
        " message_count = message_count + 1, unseen_count = unseen_count + ?,"
        " total_size = total_size + ? WHERE id = ? RETURNING uid_next - 1",
        (modseq, 0 if delivery.seen else 1, len(message.raw), mailbox_id))
    assert row is not None
    # RFC 9051 §2.3.1.1: UIDs are "assigned in a strictly ascending fashion in the
    # mailbox"; uid_next only grows, so an expunged message's UID is never reused.
    uid = Uid(row[0])
    if uid > MAX_UINT32:
        raise StoreError(f"mailbox {mailbox_id}: UID space exhausted")
    connection.execute(
        "INSERT INTO mailbox_messages (mailbox_id, uid, message_id, modseq)"
        " VALUES (?, ?, ?, ?)", (mailbox_id, uid, message_id, modseq))
    thread = ((ObjectType.THREAD, message_id, ChangeKind.CREATED) if joined_thread is None
              else (ObjectType.THREAD, joined_thread, ChangeKind.UPDATED))
    log_changes(connection, account_id, modseq,
                (ObjectType.EMAIL, message_id, ChangeKind.CREATED),
                (ObjectType.MAILBOX, mailbox_id, ChangeKind.UPDATED), thread)
    return Delivered(account_id, mailbox_id, message_id, uid, modseq)


def _delivery_mailbox(connection: sqlite3.Connection, account_id: AccountId,
                      name: str) -> MailboxId:
    """The mailbox a delivery goes to. A name that does not exist (a Sieve fileinto or a
    delivery rule naming a mailbox the user has since deleted) falls back to INBOX: the
    message is kept, not lost or bounced. RFC 5228 §4.1: "If the specified mailbox
    doesn't exist, the implementation MAY ... deliver the message to an
    implementation-defined mailbox"; INBOX is where an implicit keep (§2.10.2) puts it."""
    for candidate in (name, INBOX) if name != INBOX else (INBOX,):
        row = fetch_one(connection,
                        "SELECT id FROM mailboxes WHERE account_id = ? AND name = ?",
                        (account_id, candidate))
        if row is not None:
            return MailboxId(row[0])
    if not fetch_one(connection, "SELECT 1 FROM accounts WHERE id = ?", (account_id,)):
        raise NotFound(f"no account with id {account_id}")
    raise NotFound(f"account {account_id} has neither {name!r} nor INBOX")


def _find_thread(connection: sqlite3.Connection, account_id: AccountId,
                 message: PreparedMessage) -> int | None:
    """The thread of the earliest earlier message of the account that this one refers to
    (In-Reply-To, References; RFC 5322 §3.6.4) or shares its Message-ID with (another
    copy of the same message); None when it starts a thread of its own. RFC 8621 §4.1.1:
    "threadId: "Id" (immutable; server-set)", so threads are joined, never merged."""
    keys = list(message.references)
    if message.header_message_id is not None:
        keys.append(message.header_message_id)
    if not keys:
        return None
    placeholders = ", ".join("?" * len(keys))
    row = fetch_one(
        connection,
        f"SELECT thread_id FROM messages WHERE account_id = ?"
        f" AND header_message_id IN ({placeholders}) ORDER BY id LIMIT 1",
        (account_id, *keys))
    return None if row is None else int(row[0])
