"""What is particular to the SQLite backend in the IMAP-era schema (version 3): migrating
a version-2 file, the rows behind counters, tombstones and the search index, and change
notification across stores (processes) sharing one file."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from reference.delivery.indexing import index_message
from reference.message.text import SearchText
from reference.store import SqliteStore
from reference.store.interface import (
    AccountId,
    Change,
    ChangeKind,
    MailboxId,
    MessageId,
    ModSeq,
    ObjectType,
    Uid,
)
from reference.store.sqlite_schema import SCHEMA_FILE, load_migrations

from .conftest import assert_counters_exact, deliver
from .test_sqlite import LATEST_SCHEMA, make_account, raw_query


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "mail.db"


@pytest.fixture
async def sqlite_store(db_path: Path) -> AsyncIterator[SqliteStore]:
    store = await SqliteStore.open(db_path)
    yield store
    await store.close()


# --- migration 3


def make_version_2_file(path: Path) -> None:
    """A database as rfcmail left it before schema version 3: \\Deleted a keyword of the
    message, subscriptions a column, Python's spaced JSON, no search index."""
    with sqlite3.connect(path) as connection:
        for _, statements in load_migrations(SCHEMA_FILE.read_text())[:2]:
            for statement in statements:
                connection.execute(statement)
        connection.execute("PRAGMA user_version = 2")
        connection.execute("INSERT INTO domains VALUES ('example.com')")
        connection.execute("INSERT INTO accounts (id, address, domain, credentials, created,"
                           " highest_modseq) VALUES (1, 'alice@example.com', 'example.com',"
                           " 'c', '2025-01-01T00:00:00+00:00', 9)")
        for box_id, name, subscribed in ((1, "INBOX", 1), (2, "Archive", 1), (3, "Old", 0)):
            connection.execute(
                "INSERT INTO mailboxes (id, account_id, name, uid_validity, uid_next,"
                " highest_modseq, subscribed, message_count, unseen_count, total_size)"
                " VALUES (?, 1, ?, ?, 3, 9, ?, 0, 0, 0)", (box_id, name, 100 + box_id,
                                                           subscribed))
        for message_id, keywords in ((1, ["\\Deleted", "\\Seen"]), (2, ["$label"])):
            blob = f"sha256:{message_id}"
            connection.execute("INSERT INTO blobs VALUES (?, 5, ?)", (blob, b"hello"))
            connection.execute(
                "INSERT INTO messages (id, account_id, blob_id, size, internal_date,"
                " internal_date_epoch, received_at, thread_id, keywords, modseq)"
                " VALUES (?, 1, ?, 5, '2025-01-01T00:00:00+00:00', 0,"
                " '2025-01-01T00:00:00+00:00', ?, ?, 9)",
                (message_id, blob, message_id, json.dumps(keywords)))
            connection.execute("INSERT INTO mailbox_messages VALUES (1, ?, ?, 9)",
                               (message_id, message_id))
        connection.execute("INSERT INTO mailbox_messages VALUES (2, 1, 1, 9)")
        connection.execute("UPDATE mailboxes SET message_count = 2, unseen_count = 1,"
                           " total_size = 10 WHERE id = 1")
        connection.execute("UPDATE mailboxes SET message_count = 1, total_size = 5"
                           " WHERE id = 2")


def make_version_file(path: Path, version: int) -> None:
    """A database as rfcmail left it at schema ``version`` (3 or later): the version 2
    file, then the migrations up to ``version``."""
    make_version_2_file(path)
    with sqlite3.connect(path) as connection:
        for _, statements in load_migrations(SCHEMA_FILE.read_text())[2:version]:
            for statement in statements:
                connection.execute(statement)
        connection.execute(f"PRAGMA user_version = {version}")



async def test_a_version_2_file_is_migrated(db_path: Path) -> None:
    """Migration 3 keeps the data: \\Deleted moves from the message to each of its
    memberships (it was shown in every mailbox), subscriptions keep their names, old
    messages stay search candidates, and the counters stay exact."""
    make_version_2_file(db_path)
    store = await SqliteStore.open(db_path)
    try:
        account = AccountId(1)
        inbox = await store.mailbox_view(MailboxId(1))
        inbox_entries = await store.mailbox_entries(MailboxId(1))
        assert [(e.uid, e.flags) for e in inbox_entries] == [
            (1, {"\\Deleted", "\\Seen"}), (2, {"$label"})]
        assert (inbox.mailbox.deleted, inbox.mailbox.unseen) == (1, 1)
        archive = await store.mailbox_view(MailboxId(2))
        assert archive.mailbox.deleted == 1
        message = await store.get_message(inbox_entries[0].message_id)
        assert message is not None and message.keywords == {"\\Seen"}
        assert raw_query(db_path, "SELECT keywords FROM messages ORDER BY id") == [
            ('["\\\\Seen"]',), ('["$label"]',)]
        assert await store.list_subscriptions(account) == ["INBOX", "Archive"]
        assert [m.subscribed for m in await store.list_mailboxes(account)] == [
            True, True, False]
        assert await store.search_candidates(MailboxId(1), ["anything"]) == {1, 2}
        assert await store.expunge(MailboxId(1)) == [1]
        assert await store.get_message(inbox_entries[0].message_id) is not None  # Archive
        new = await deliver(store, account, search_text="fresh text")
        assert await store.search_candidates(MailboxId(1), ["fresh"]) == {2, new.uid}
        await assert_counters_exact(store, account)
    finally:
        await store.close()
    assert raw_query(db_path, "PRAGMA user_version") == [(LATEST_SCHEMA,)]


# --- rows behind the interface


async def test_counters_match_the_rows(sqlite_store: SqliteStore, db_path: Path) -> None:
    """The kept counters equal what a scan of the rows computes, after every kind of
    write (deliver, store, copy, move, expunge, delete, rename INBOX)."""
    account = await make_account(sqlite_store)
    for i in range(12):
        await deliver(sqlite_store, account.id, "INBOX" if i % 3 else "Archive",
                      keywords=frozenset({"\\Seen"} if i % 2 else {"\\Deleted"}))
    inbox = (await sqlite_store.get_mailbox(account.id, "INBOX"))
    archive = (await sqlite_store.get_mailbox(account.id, "Archive"))
    assert inbox is not None and archive is not None
    await sqlite_store.update_flags(inbox.id, [Uid(1), Uid(2)], remove=frozenset({"\\Seen"}))
    await sqlite_store.copy_messages(inbox.id, [Uid(1), Uid(2), Uid(3)], archive.id)
    await sqlite_store.move_messages(archive.id, [Uid(1)], inbox.id)
    await sqlite_store.expunge(inbox.id)
    await sqlite_store.create_mailbox(account.id, "Lists")
    await sqlite_store.copy_messages(archive.id, [Uid(2), Uid(5)], (
        await sqlite_store.create_mailbox(account.id, "Tmp")).id)
    await sqlite_store.delete_mailbox(account.id, "Tmp")
    await sqlite_store.rename_mailbox(account.id, "INBOX", "Before")
    assert raw_query(db_path, """
        SELECT b.name FROM mailboxes b
        WHERE (b.message_count, b.unseen_count, b.total_size, b.deleted_count)
          IS NOT (SELECT count(*),
                         coalesce(sum(NOT EXISTS (SELECT 1 FROM json_each(m.keywords)
                                                  WHERE value = '\\Seen')), 0),
                         coalesce(sum(m.size), 0), coalesce(sum(mm.deleted), 0)
                  FROM mailbox_messages mm JOIN messages m ON m.id = mm.message_id
                  WHERE mm.mailbox_id = b.id)""") == []
    # Every message is in some mailbox; the search index has a row per indexed message.
    assert raw_query(db_path, "SELECT count(*) FROM messages WHERE id NOT IN"
                              " (SELECT message_id FROM mailbox_messages)") == [(0,)]
    assert raw_query(db_path, "SELECT count(*) FROM messages") == raw_query(
        db_path, "SELECT count(*) FROM messages_without_text")
    assert raw_query(db_path, "SELECT count(*) FROM blobs WHERE id NOT IN"
                              " (SELECT blob_id FROM messages)") == [(0,)]


async def test_destroyed_messages_leave_the_search_index(sqlite_store: SqliteStore,
                                                         db_path: Path) -> None:
    account = await make_account(sqlite_store)
    first = await deliver(sqlite_store, account.id, search_text="alpha beta", raw=b"1",
                          structure="{}")
    await deliver(sqlite_store, account.id, search_text="gamma delta", raw=b"2")
    await sqlite_store.update_flags(first.mailbox_id, [first.uid],
                                    add=frozenset({"\\Deleted"}))
    await sqlite_store.expunge(first.mailbox_id)
    assert raw_query(db_path, "SELECT rowid FROM message_text") == [(2,)]
    assert raw_query(db_path, "SELECT count(*) FROM blob_structures") == [(0,)]
    await sqlite_store.remove_account(account.address)
    assert raw_query(db_path, "SELECT count(*) FROM message_text") == [(0,)]
    assert raw_query(db_path, "SELECT count(*) FROM blobs") == [(0,)]


# --- change notification: the writer path and the poll


async def test_this_process_writes_wake_watchers_without_polling(db_path: Path) -> None:
    """A write through this store wakes watchers right after its COMMIT, from the
    writer: with an hour between polls, the wakeup cannot have come from the poll."""
    store = await SqliteStore.open(db_path, watch_interval=3600)
    try:
        account = await make_account(store)
        watcher = await store.watch(account.id)
        waiting = asyncio.ensure_future(watcher.wait())
        delivered = await deliver(store, account.id)
        assert await asyncio.wait_for(waiting, 2) == delivered.modseq
        assert store.watch_polls == 0
        watcher.close()
    finally:
        await store.close()


async def test_another_process_writes_wake_watchers_by_polling(db_path: Path) -> None:
    """DESIGN principle 7: a change made by another process (here another store on the
    same file, with its own writer) wakes this store's watchers within the poll
    interval; one query per interval serves every watcher, and none runs once the
    last watcher is closed."""
    watching = await SqliteStore.open(db_path, watch_interval=0.02)
    writing = await SqliteStore.open(db_path)
    try:
        account = await make_account(writing)
        watchers = [await watching.watch(account.id) for _ in range(20)]
        waits = [asyncio.ensure_future(w.wait()) for w in watchers]
        await asyncio.sleep(0.1)
        polls = watching.watch_polls
        assert 2 <= polls <= 6 + 1                    # ~5 intervals, not 20 watchers x 5
        delivered = await deliver(writing, account.id)
        assert await asyncio.wait_for(asyncio.gather(*waits), 2) == [delivered.modseq] * 20
        for watcher in watchers:
            watcher.close()
        stopped = watching.watch_polls
        await asyncio.sleep(0.1)
        assert watching.watch_polls == stopped
    finally:
        await writing.close()
        await watching.close()


async def test_a_rolled_back_write_wakes_nobody(sqlite_store: SqliteStore) -> None:
    """Only committed changes are announced: a job that fails in a batch is rolled back
    alone, and the accounts it touched are not reported."""
    account = await make_account(sqlite_store)
    other = await make_account(sqlite_store, "bob@example.com")
    watcher = await sqlite_store.watch(other.id)
    waiting = asyncio.ensure_future(watcher.wait())

    def failing(connection: sqlite3.Connection) -> None:
        connection.execute("UPDATE accounts SET highest_modseq = highest_modseq + 1"
                           " WHERE id = ?", (other.id,))
        raise RuntimeError("this job fails after bumping bob")

    results = await asyncio.gather(deliver(sqlite_store, account.id),
                                   sqlite_store._writer.submit(failing),
                                   return_exceptions=True)
    assert isinstance(results[1], RuntimeError)
    await asyncio.sleep(0.3)
    assert not waiting.done()
    watcher.close()


async def test_text_indexed_as_one_column_stays_searchable_after_migration_5(
        db_path: Path) -> None:
    """Migration 5 keeps a message's texts apart; a text stored whole before cannot be
    split again, so its message becomes one without text: always a candidate, checked
    against the message itself, never lost by the narrowing."""
    make_version_file(db_path, 4)
    with sqlite3.connect(db_path) as connection:
        connection.execute("DELETE FROM messages_without_text")
        connection.execute("INSERT INTO message_text (rowid, text) VALUES (1, 'old text'),"
                           " (2, 'other words')")
    store = await SqliteStore.open(db_path)
    try:
        assert raw_query(db_path, "SELECT message_id FROM messages_without_text"
                                  " ORDER BY message_id") == [(1,), (2,)]
        assert raw_query(db_path, "SELECT count(*) FROM message_text") == [(0,)]
        assert await store.search_candidates(MailboxId(1), ["old text"]) == {1, 2}
        assert await store.message_texts([MessageId(1), MessageId(2)]) == {}
        assert await store.unindexed_messages() == 2
        # `rfcmail message reindex`: parsed again from their bytes ("hello"), indexed.
        assert await store.reindex(index_message) == 2
        assert raw_query(db_path, "SELECT count(*) FROM messages_without_text") == [(0,)]
        assert await store.unindexed_messages() == 0
        # "hello" reads as a header without a body (RFC 5322 §2.1); the MIME defaults
        # give it a charset parameter (RFC 2045 §5.2).
        hello = SearchText("", "", "charset=us-ascii")
        assert index_message(b"hello")[1] == hello
        assert await store.search_candidates(MailboxId(1), ["us-ascii"]) == {1, 2}
        assert await store.message_texts([MessageId(1), MessageId(2)]) == {1: hello, 2: hello}
        assert await store.reindex(index_message) == 0
        assert await store.reindex(index_message, everything=True) == 2
    finally:
        await store.close()


async def test_texts_indexed_with_positions_move_to_the_trigram_index_in_migration_7(
        db_path: Path) -> None:
    """Migration 7 makes the index keep which messages hold a trigram, not where: the
    texts indexed before move over as they are, so every message stays findable (none
    becomes a message without text), and the exact check still decides."""
    make_version_file(db_path, 6)
    with sqlite3.connect(db_path) as connection:
        connection.execute("DELETE FROM messages_without_text")
        connection.execute("INSERT INTO message_text (rowid, header, body, mime)"
                           " VALUES (1, 'subject: tea', 'the harpsichord', ''),"
                           " (2, 'subject: chord', 'harps psi sich', '')")
    store = await SqliteStore.open(db_path)
    try:
        assert raw_query(db_path, "PRAGMA user_version") == [(LATEST_SCHEMA,)]
        assert raw_query(db_path, "SELECT count(*) FROM messages_without_text") == [(0,)]
        assert "detail = none" in raw_query(
            db_path, "SELECT sql FROM sqlite_master WHERE name = 'message_text'")[0][0]
        assert raw_query(db_path, "SELECT v FROM message_text_config WHERE k = 'automerge'"
                         ) == [(8,)]
        # Both hold every trigram of "harpsichord" (har arp rps psi sic ich cho hor ord,
        # across their columns): the index narrows to both, the exact check to one.
        assert await store.search_candidates(MailboxId(1), ["harpsichord"]) == {1, 2}
        assert await store.search_candidates(MailboxId(1), ["harps psi"]) == {2}
        assert await store.message_texts([MessageId(1)]) == {
            1: SearchText("subject: tea", "the harpsichord", "")}
        # A destroyed message still leaves the index (the trigger is made again).
        with sqlite3.connect(db_path) as connection:
            connection.execute("DELETE FROM messages WHERE id = 1")
        assert raw_query(db_path, "SELECT count(*) FROM message_text_content") == [(1,)]
    finally:
        await store.close()


async def test_the_change_log_keeps_runs_and_migration_8_keeps_what_was_logged(
        db_path: Path) -> None:
    """Migration 8: the change log's rows become runs of one; changes_since returns
    them as before, in order. A write changing many objects alike (a STORE on several
    messages) logs one run, not a row each."""
    make_version_file(db_path, 7)
    with sqlite3.connect(db_path) as connection:
        connection.executemany(
            "INSERT INTO changes (account_id, modseq, object_type, object_id, kind)"
            " VALUES (1, ?, ?, ?, ?)", [(5, "Email", 1, "created"), (5, "Mailbox", 1, "updated"),
                                        (6, "Email", 2, "created"), (6, "Email", 1, "updated")])
    store = await SqliteStore.open(db_path)
    try:
        assert await store.changes_since(AccountId(1), ModSeq(4)) == [
            Change(ModSeq(5), ObjectType.EMAIL, 1, ChangeKind.CREATED),
            Change(ModSeq(5), ObjectType.MAILBOX, 1, ChangeKind.UPDATED),
            Change(ModSeq(6), ObjectType.EMAIL, 2, ChangeKind.CREATED),
            Change(ModSeq(6), ObjectType.EMAIL, 1, ChangeKind.UPDATED)]
        update = await store.update_flags(MailboxId(1), [Uid(1), Uid(2)],
                                          add=frozenset({"$Work"}))
        assert update.modseq is not None
        assert raw_query(db_path, "SELECT object_type, kind, object_ids FROM change_runs"
                                  f" WHERE modseq = {update.modseq}") == [
            ("Email", "updated", "[1,2]")]
        assert [(c.object_type, c.object_id) for c in await store.changes_since(
            AccountId(1), ModSeq(update.modseq - 1))] == [
            (ObjectType.EMAIL, 1), (ObjectType.EMAIL, 2)]
    finally:
        await store.close()



async def test_the_server_says_at_start_how_many_messages_lack_search_text(
        db_path: Path) -> None:
    """An operator upgrading from a version whose texts a migration could not keep is
    told at start, with the command that indexes them (SEARCH stays right meanwhile)."""
    from reference.app import _warn_if_empty
    from tests.e2e.helpers import captured_logs
    make_version_file(db_path, 4)
    store = await SqliteStore.open(db_path)
    try:
        with captured_logs() as logs:
            await _warn_if_empty(store)
        (record,) = [r for r in logs.records
                     if r.getMessage() == "rfcmail.unindexed-messages"]
        logged = record.__dict__["rfcmail_fields"]
        assert record.levelname == "WARNING" and logged["messages"] == 2
        assert "rfcmail message reindex" in logged["hint"]
        await store.reindex(index_message)
        with captured_logs() as logs:
            await _warn_if_empty(store)
        assert "rfcmail.unindexed-messages" not in logs.events()
    finally:
        await store.close()


async def test_a_header_read_ends_whatever_the_size_column_says(
        sqlite_store: SqliteStore, db_path: Path) -> None:
    """A FETCH of header fields reads a message's bytes until its header ends (RFC 5322
    §2.1) or its bytes do: a size column that disagrees with them (a damaged or edited
    file) neither makes the read loop for ever nor cuts the message short."""
    account = await make_account(sqlite_store)
    raw = b"".join(b"X-Only-%d: no empty line follows\r\n" % n for n in range(1000))
    stored = await deliver(sqlite_store, account.id, raw=raw)
    with sqlite3.connect(db_path) as connection:
        connection.execute("UPDATE blobs SET size = size * 10")
    read = await asyncio.wait_for(
        sqlite_store.message_contents([stored.message_id], headers_only=True), 10)
    assert read == {stored.message_id: (raw, None)}
