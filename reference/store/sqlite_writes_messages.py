"""Write jobs of the SQLite store, messages family: storing a message, and the steps
that every write moving messages between mailboxes shares (adding and removing
memberships, destroying messages left in no mailbox), and the account's keyword
spellings that every write setting keywords goes through (``account_keywords``).

Jobs are functions of the writer's connection, run inside its transaction (see
``sqlite_writes``); they may run twice, so they keep every effect in the database.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from reference.message.text import SearchText
from reference.store.interface import (
    AccountId,
    BlobId,
    ChangeKind,
    Delivered,
    MailboxId,
    MailboxNotFound,
    MessageId,
    NotFound,
    ObjectType,
    StoreError,
    Uid,
)
from reference.store.normalise import INBOX, is_custom_keyword, keyword_key
from reference.store.sqlite_rows import SEEN, FlagDecoder, keywords_json, uids_json
from reference.store.sqlite_writes import (
    MAX_UINT32,
    ChangeLog,
    allocate_uids,
    bump_modseq,
    collect_blobs,
    fetch_one,
    log_changes,
    mailbox_id_by_name,
    require_account,
)


@dataclass(frozen=True, slots=True)
class PreparedDelivery:
    """A Delivery with its pure parts done on the event loop (normalised, serialised)."""

    account_id: AccountId
    mailbox: str                    # normalised name
    keywords: tuple[str, ...]       # the message's, normalised (no \Deleted), sorted
    seen: bool
    deleted: bool                   # \Deleted, for the membership
    fallback_to_inbox: bool
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
    structure: str | None = None
    search_text: SearchText | None = None


# Search text waits in a temporary table of the writer's connection until its batch
# commits; ``index_pending_text``, run by the writer on its helper thread right before
# COMMIT (``GroupCommitWriter(commit_step=...)``), moves it into the full-text index.
# Why:
# - FTS5 keeps what a statement inserts in memory and writes it out as a new segment of
#   the index whenever a later statement opens a statement journal (FTS5's xSavepoint;
#   here every INSERT or UPDATE with RETURNING or a trigger does). Inserted between a
#   delivery's statements, each message's text became a segment of its own, merged
#   again and again: that was half the cost of storing a message. Inserted a few
#   megabytes at a time at COMMIT, a batch's text makes a few segments.
# - The trigram index is most of what storing a message costs (about 7 ms of CPU per
#   message of 7.5 KB of text), and it is C code that needs no Python: in a few
#   statements on the helper thread, the sqlite3 module releases the GIL for nearly all
#   of it, and the event loop parses the next messages meanwhile.
# - INDEX_CHUNK_CHARACTERS at a time, not all at once: one INSERT ... SELECT keeps, in
#   its statement journal (in memory: temp_store), the old content of every page that
#   the index merges it sets off rewrite; for a 500-message batch that grew with the
#   index, to 40 MiB and more by 30,000 messages. Two megabytes' worth keeps it to a
#   few MiB (one megabyte cost 2% more CPU: more, smaller segments).
# The table is part of the transaction: a job or batch rolled back takes its rows with
# it. A message destroyed in the batch that stored it takes its row too (the trigger).
PENDING_TEXT_SETUP = (
    "CREATE TEMP TABLE IF NOT EXISTS pending_text (message_id INTEGER PRIMARY KEY,"
    " header TEXT NOT NULL, body TEXT NOT NULL, mime TEXT NOT NULL)",
    "CREATE TEMP TRIGGER IF NOT EXISTS pending_text_leaves AFTER DELETE ON main.messages"
    " BEGIN DELETE FROM pending_text WHERE message_id = OLD.id; END",
)
# Characters of text per INSERT into the index (see above).
INDEX_CHUNK_CHARACTERS = 2 << 20


def index_pending_text(connection: sqlite3.Connection) -> None:
    """Move the batch's pending search text into the full-text index (see above)."""
    chunks: list[tuple[int, int]] = []
    first: int | None = None
    size = 0
    for message_id, length in connection.execute(
            "SELECT message_id, length(header) + length(body) + length(mime)"
            " FROM temp.pending_text ORDER BY message_id").fetchall():
        if first is None:
            first = message_id
        size += length
        if size >= INDEX_CHUNK_CHARACTERS:
            chunks.append((first, message_id))
            first, size = None, 0
    if first is not None:               # the rest, empty texts included
        chunks.append((first, message_id))
    for low, high in chunks:
        connection.execute("INSERT INTO main.message_text (rowid, header, body, mime)"
                           " SELECT message_id, header, body, mime FROM temp.pending_text"
                           " WHERE message_id BETWEEN ? AND ?", (low, high))
    if chunks:
        connection.execute("DELETE FROM temp.pending_text")


def store_messages(connection: sqlite3.Connection,
                   messages: Sequence[PreparedMessage]) -> list[list[Delivered]]:
    """All deliveries of each message, in one job: one atomic, durable transaction (one
    SMTP transaction with several recipients, or one MULTIAPPEND, is acknowledged once,
    for all of them). The search text is indexed at COMMIT (``PENDING_TEXT_SETUP``)."""
    texts: list[tuple[MessageId, str, str, str]] = []
    delivered = [_store_message(connection, message, texts) for message in messages]
    # A message with several deliveries has one text row per stored message.
    connection.executemany("INSERT INTO temp.pending_text (message_id, header, body, mime)"
                           " VALUES (?, ?, ?, ?)", texts)
    return delivered


def _store_message(connection: sqlite3.Connection, message: PreparedMessage,
                   texts: list[tuple[MessageId, str, str, str]]) -> list[Delivered]:
    connection.execute("INSERT OR IGNORE INTO blobs (id, size, data) VALUES (?, ?, ?)",
                       (message.blob_id, len(message.raw), message.raw))
    if message.structure is not None:
        # The structure is a function of the bytes: the first one stored stays.
        connection.execute("INSERT OR IGNORE INTO blob_structures (blob_id, structure)"
                           " VALUES (?, ?)", (message.blob_id, message.structure))
    delivered = [_deliver(connection, message, delivery) for delivery in message.deliveries]
    if (text := message.search_text) is not None:
        texts.extend((one.message_id, text.header, text.body, text.mime)
                     for one in delivered)
    return delivered


def _deliver(connection: sqlite3.Connection, message: PreparedMessage,
             delivery: PreparedDelivery) -> Delivered:
    account_id = delivery.account_id
    mailbox_id = _delivery_mailbox(connection, delivery)
    keywords = keywords_json(account_keywords(connection, account_id, delivery.keywords))
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
         keywords, modseq, delivery.envelope_json, message.header_message_id))
    assert row is not None
    message_id = MessageId(row[0])
    # A message that starts a thread (thread_id 0) is given its own id as thread id by
    # the trigger messages_start_own_thread (the id space is shared, so thread ids are
    # unique too).
    if message.search_text is None:      # (the text is taken by store_messages)
        connection.execute("INSERT INTO messages_without_text (message_id) VALUES (?)",
                           (message_id,))
    row = fetch_one(
        connection,
        "UPDATE mailboxes SET uid_next = uid_next + 1, highest_modseq = ?,"
        " message_count = message_count + 1, unseen_count = unseen_count + ?,"
        " total_size = total_size + ?, deleted_count = deleted_count + ?"
        " WHERE id = ? RETURNING uid_next - 1, uid_validity",
        (modseq, 0 if delivery.seen else 1, len(message.raw), int(delivery.deleted),
         mailbox_id))
    assert row is not None
    # RFC 9051 §2.3.1.1: UIDs are "assigned in a strictly ascending fashion in the
    # mailbox"; uid_next only grows, so an expunged message's UID is never reused.
    uid = Uid(row[0])
    if uid > MAX_UINT32:
        raise StoreError(f"mailbox {mailbox_id}: UID space exhausted")
    connection.execute(
        "INSERT INTO mailbox_messages (mailbox_id, uid, message_id, modseq, deleted)"
        " VALUES (?, ?, ?, ?, ?)", (mailbox_id, uid, message_id, modseq, int(delivery.deleted)))
    thread = ((ObjectType.THREAD, message_id, ChangeKind.CREATED) if joined_thread is None
              else (ObjectType.THREAD, joined_thread, ChangeKind.UPDATED))
    log_changes(connection, account_id, modseq,
                (ObjectType.EMAIL, message_id, ChangeKind.CREATED),
                (ObjectType.MAILBOX, mailbox_id, ChangeKind.UPDATED), thread)
    return Delivered(account_id, mailbox_id, message_id, uid, modseq, uid_validity=row[1])


def _delivery_mailbox(connection: sqlite3.Connection, delivery: PreparedDelivery) -> MailboxId:
    """The mailbox a delivery goes to. A name that does not exist (a Sieve fileinto or a
    delivery rule naming a mailbox the user has since deleted) falls back to INBOX: the
    message is kept, not lost or bounced. RFC 5228 §4.1: "If the specified mailbox
    doesn't exist, the implementation MAY ... deliver the message to an
    implementation-defined mailbox"; INBOX is where an implicit keep (§2.10.2) puts it.
    Without ``fallback_to_inbox`` (APPEND) a missing mailbox is MailboxNotFound."""
    account_id, name = delivery.account_id, delivery.mailbox
    mailbox_id = mailbox_id_by_name(connection, account_id, name)
    if mailbox_id is not None:
        return mailbox_id
    if delivery.fallback_to_inbox and name != INBOX:
        mailbox_id = mailbox_id_by_name(connection, account_id, INBOX)
        if mailbox_id is not None:
            return mailbox_id
    require_account(connection, account_id)
    if not delivery.fallback_to_inbox:
        raise MailboxNotFound(f"account {account_id} has no mailbox {name!r}")
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


# --- keyword spellings: what every write that sets keywords shares


def account_keywords(connection: sqlite3.Connection, account_id: AccountId,
                     keywords: Iterable[str]) -> frozenset[str]:
    """Normalised keywords (``normalise_keywords``: one spelling each) in the spelling
    the account uses, registering those it has not used before with the spelling given
    here: the first spelling wins, and a later use in any case maps to it (RFC 8621
    §4.1.1: "a keyword is a case-insensitive string", so a message cannot hold two
    spellings of one keyword). System flags and RFC 9051 §2.3.2's keywords have a fixed
    spelling and need no lookup, so a delivery with none of the others costs nothing.
    Runs in the write's transaction: two writes registering one keyword in different
    cases take turns, and the second gets the first one's spelling."""
    given = frozenset(keywords)
    custom = {keyword_key(keyword): keyword for keyword in given
              if is_custom_keyword(keyword)}
    if not custom:
        return given
    connection.executemany(
        "INSERT INTO keywords (account_id, folded, spelling) VALUES (?, ?, ?)"
        " ON CONFLICT (account_id, folded) DO NOTHING",
        [(account_id, folded, spelling) for folded, spelling in sorted(custom.items())])
    spellings = [spelling for (spelling,) in connection.execute(
        "SELECT spelling FROM keywords WHERE account_id = ?"
        " AND folded IN (SELECT value FROM json_each(?))",
        (account_id, json.dumps(sorted(custom)))).fetchall()]
    return given.difference(custom.values()).union(spellings)


# --- memberships: what COPY, MOVE, EXPUNGE, DELETE and RENAME INBOX share


@dataclass(frozen=True, slots=True)
class Member:
    """A membership, with what the mailbox counters need of its message."""

    uid: Uid
    message_id: MessageId
    deleted: bool
    size: int
    seen: bool


def members(connection: sqlite3.Connection, mailbox_id: MailboxId,
            uids: Sequence[Uid] | None, *, deleted_only: bool = False) -> list[Member]:
    """The mailbox's memberships, all or those among ``uids``, in UID order."""
    sql = ("SELECT mm.uid, mm.message_id, mm.deleted, m.size, m.keywords"
           " FROM mailbox_messages mm JOIN messages m ON m.id = mm.message_id"
           " WHERE mm.mailbox_id = ?")
    parameters: list[object] = [mailbox_id]
    if deleted_only:
        sql += " AND mm.deleted = 1"        # the partial index mailbox_messages_deleted
    if uids is not None:
        sql += " AND mm.uid IN (SELECT value FROM json_each(?))"
        parameters.append(uids_json(uids))
    decoder = FlagDecoder()
    return [Member(Uid(uid), MessageId(message_id), bool(deleted), size,
                   SEEN in decoder.keywords(keywords))
            for uid, message_id, deleted, size, keywords
            in connection.execute(sql + " ORDER BY mm.uid", parameters).fetchall()]


def _counter_deltas(moved: Sequence[Member]) -> tuple[int, int, int, int]:
    """(messages, unseen, size, deleted) of the memberships."""
    return (len(moved), sum(not m.seen for m in moved), sum(m.size for m in moved),
            sum(m.deleted for m in moved))


def remove_members(connection: sqlite3.Connection, mailbox_id: MailboxId,
                   removed: Sequence[Member], log: ChangeLog) -> None:
    """Expunge memberships: rows gone, tombstones written (RFC 7162 §3.2.7: "For each
    permanently removed message, the server MUST remember the incremented mod-sequence
    and corresponding UID"), counters and HIGHESTMODSEQ updated. The messages are left
    to ``settle_messages``."""
    modseq = log.modseq
    connection.executemany("DELETE FROM mailbox_messages WHERE mailbox_id = ? AND uid = ?",
                           [(mailbox_id, m.uid) for m in removed])
    connection.executemany("INSERT INTO expunged_uids (mailbox_id, uid, modseq)"
                           " VALUES (?, ?, ?)", [(mailbox_id, m.uid, modseq) for m in removed])
    count, unseen, size, deleted = _counter_deltas(removed)
    # RFC 7162 §3.2.7: the server "MUST increment the per-mailbox mod-sequence if at
    # least one message was permanently removed".
    connection.execute(
        "UPDATE mailboxes SET message_count = message_count - ?,"
        " unseen_count = unseen_count - ?, total_size = total_size - ?,"
        " deleted_count = deleted_count - ?, highest_modseq = ? WHERE id = ?",
        (count, unseen, size, deleted, modseq, mailbox_id))
    log.add(ObjectType.MAILBOX, mailbox_id, ChangeKind.UPDATED)


def add_members(connection: sqlite3.Connection, mailbox_id: MailboxId,
                added: Sequence[Member], log: ChangeLog) -> list[Uid]:
    """Put the members' messages into the mailbox with new UIDs, in order, keeping
    their \\Deleted; return the UIDs. A message the mailbox already holds is duplicated
    (a mailbox holds a message once; see interface.py)."""
    modseq = log.modseq
    held = {message_id for (message_id,) in connection.execute(
        "SELECT message_id FROM mailbox_messages WHERE mailbox_id = ?"
        " AND message_id IN (SELECT value FROM json_each(?))",
        (mailbox_id, uids_json(m.message_id for m in added)))}
    first = allocate_uids(connection, mailbox_id, len(added))
    rows = []
    gained = []
    for offset, member in enumerate(added):
        message_id = member.message_id
        if message_id in held:
            message_id = duplicate_message(connection, message_id, log)
        else:
            gained.append(message_id)
        rows.append((mailbox_id, first + offset, message_id, modseq, int(member.deleted)))
    connection.executemany("INSERT INTO mailbox_messages (mailbox_id, uid, message_id,"
                           " modseq, deleted) VALUES (?, ?, ?, ?, ?)", rows)
    # RFC 7162 §3.1: an appended or copied message gets "a new modification sequence
    # that is higher than the highest modification sequence of all messages in the
    # mailbox".
    count, unseen, size, deleted = _counter_deltas(added)
    connection.execute(
        "UPDATE mailboxes SET message_count = message_count + ?,"
        " unseen_count = unseen_count + ?, total_size = total_size + ?,"
        " deleted_count = deleted_count + ?, highest_modseq = ? WHERE id = ?",
        (count, unseen, size, deleted, modseq, mailbox_id))
    touch_messages(connection, gained, log)         # their mailboxIds changed
    log.add(ObjectType.MAILBOX, mailbox_id, ChangeKind.UPDATED)
    return [Uid(first + offset) for offset in range(len(added))]


def touch_messages(connection: sqlite3.Connection, message_ids: Sequence[MessageId],
                   log: ChangeLog) -> None:
    """Record that JMAP sees these messages changed (keywords, mailboxIds)."""
    if message_ids:
        connection.execute("UPDATE messages SET modseq = ? WHERE id IN"
                           " (SELECT value FROM json_each(?))",
                           (log.modseq, uids_json(message_ids)))
        log.updated(ObjectType.EMAIL, message_ids)


def duplicate_message(connection: sqlite3.Connection, message_id: MessageId,
                      log: ChangeLog) -> MessageId:
    """A new message with the same blob, keywords, dates, envelope and thread (and
    search text) as ``message_id``, in no mailbox yet."""
    row = fetch_one(
        connection,
        "INSERT INTO messages (account_id, blob_id, size, internal_date, internal_date_epoch,"
        " received_at, thread_id, keywords, modseq, envelope, header_message_id)"
        " SELECT account_id, blob_id, size, internal_date, internal_date_epoch, received_at,"
        " thread_id, keywords, ?, envelope, header_message_id FROM messages WHERE id = ?"
        " RETURNING id, thread_id", (log.modseq, message_id))
    assert row is not None
    copy = MessageId(row[0])
    # The text is indexed at COMMIT (PENDING_TEXT_SETUP); the original's may still be
    # waiting for it, if this batch stored it.
    connection.execute("INSERT INTO temp.pending_text (message_id, header, body, mime)"
                       " SELECT ?1, header, body, mime FROM message_text WHERE rowid = ?2"
                       " UNION ALL SELECT ?1, header, body, mime FROM temp.pending_text"
                       " WHERE message_id = ?2", (copy, message_id))
    connection.execute("INSERT INTO messages_without_text (message_id)"
                       " SELECT ? FROM messages_without_text WHERE message_id = ?",
                       (copy, message_id))
    log.add(ObjectType.EMAIL, copy, ChangeKind.CREATED)
    log.add(ObjectType.THREAD, row[1], ChangeKind.UPDATED)
    return copy


def settle_messages(connection: sqlite3.Connection, message_ids: Sequence[MessageId],
                    log: ChangeLog) -> None:
    """After memberships of these messages were removed: destroy those now in no
    mailbox (and their blobs, if no other message uses them); the others changed
    (their mailboxIds)."""
    if not message_ids:
        return
    destroyed = connection.execute(
        "DELETE FROM messages WHERE id IN (SELECT value FROM json_each(?))"
        " AND NOT EXISTS (SELECT 1 FROM mailbox_messages WHERE message_id = messages.id)"
        " RETURNING id, blob_id, thread_id", (uids_json(message_ids),)).fetchall()
    gone = {row[0] for row in destroyed}
    touch_messages(connection, [i for i in message_ids if i not in gone], log)
    for message_id, _, _ in sorted(destroyed):
        log.add(ObjectType.EMAIL, message_id, ChangeKind.DESTROYED)
    threads = sorted({thread_id for _, _, thread_id in destroyed})
    if threads:
        remaining = {thread_id for (thread_id,) in connection.execute(
            "SELECT DISTINCT thread_id FROM messages WHERE thread_id IN"
            " (SELECT value FROM json_each(?))", (uids_json(threads),))}
        for thread_id in threads:
            log.add(ObjectType.THREAD, thread_id,
                    ChangeKind.UPDATED if thread_id in remaining else ChangeKind.DESTROYED)
    collect_blobs(connection, sorted({blob_id for _, blob_id, _ in destroyed}))


def bump(connection: sqlite3.Connection, account_id: AccountId) -> ChangeLog:
    """A new modseq for the account, and the change log of the job that takes it."""
    return ChangeLog(account_id, bump_modseq(connection, account_id))


def reindex_messages(connection: sqlite3.Connection,
                     made: Sequence[tuple[MessageId, str, SearchText]]) -> None:
    """``MailStore.reindex``'s write: each message's structure replaced by the one made
    now (a function of the bytes, so of the blob), its search text indexed again (at
    COMMIT, PENDING_TEXT_SETUP). A message destroyed meanwhile gets nothing."""
    for message_id, structure, text in made:
        connection.execute("INSERT OR REPLACE INTO blob_structures (blob_id, structure)"
                           " SELECT blob_id, ? FROM messages WHERE id = ?",
                           (structure, message_id))
        connection.execute("DELETE FROM message_text WHERE rowid = ?", (message_id,))
        connection.execute("INSERT OR REPLACE INTO temp.pending_text"
                           " (message_id, header, body, mime) SELECT ?, ?, ?, ?"
                           " WHERE EXISTS (SELECT 1 FROM messages WHERE id = ?)",
                           (message_id, text.header, text.body, text.mime, message_id))
        connection.execute("DELETE FROM messages_without_text WHERE message_id = ?",
                           (message_id,))
