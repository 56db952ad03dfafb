"""The SQLite backend's search text is indexed at COMMIT, for the whole batch at once
(``sqlite_writes_messages.PENDING_TEXT_SETUP``): what happens to it within the batch
(a copy, a destruction, a failing job) must come out in the index as if each write had
indexed its own text. And the store returns free memory to the OS once it has been
quiet (``sqlite_memory``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reference.message.text import SearchText
from reference.store import SqliteStore, sqlite_memory
from reference.store import sqlite_writes_messages as message_writes
from reference.store.interface import AccountId, Delivery, MailboxId, NewMessage, StoreError
from reference.store.sqlite_reads import searchable_text

from .conftest import message_bytes
from .test_sqlite import make_account, raw_query


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "mail.db"


@pytest.fixture
async def sqlite_store(db_path: Path) -> AsyncIterator[SqliteStore]:
    store = await SqliteStore.open(db_path)
    yield store
    await store.close()


def with_text(account_id: AccountId, text: str, raw: bytes) -> NewMessage:
    return NewMessage(raw=raw, internal_date=datetime(2025, 11, 24, 10, 0, 1, tzinfo=UTC),
                      deliveries=[Delivery(account_id)], search_text=SearchText("", text, ""))


def indexed(db_path: Path) -> list[tuple[int, str]]:
    return [(rowid, text) for rowid, text in raw_query(
        db_path, "SELECT rowid, body FROM message_text ORDER BY rowid")]


async def test_text_is_searchable_once_the_write_returns(sqlite_store: SqliteStore,
                                                         db_path: Path) -> None:
    account = await make_account(sqlite_store)
    [delivered] = await sqlite_store.store_message(
        with_text(account.id, "needle in a haystack", message_bytes("one")))
    assert indexed(db_path) == [(delivered.message_id, "needle in a haystack")]
    assert await sqlite_store.search_candidates(delivered.mailbox_id, ["needle"]) == {1}
    assert raw_query(db_path, "SELECT count(*) FROM messages_without_text") == [(0,)]


async def test_a_copy_in_the_batch_that_stored_the_message_gets_its_text(
        sqlite_store: SqliteStore, db_path: Path) -> None:
    """COPY into the mailbox that holds the message makes a new message with the same
    search text (``duplicate_message``), also while the original's text still waits."""
    account = await make_account(sqlite_store)
    inbox = await sqlite_store.get_mailbox(account.id, "INBOX")
    assert inbox is not None
    commits = sqlite_store.stats.commits
    [delivered], copied = await asyncio.gather(
        sqlite_store.store_message(with_text(account.id, "needle", message_bytes("one"))),
        sqlite_store.copy_messages(inbox.id, [1], inbox.id))
    assert sqlite_store.stats.commits == commits + 1        # one batch
    assert copied == [(1, 2)]
    rows = indexed(db_path)
    assert [text for _, text in rows] == ["needle", "needle"]
    assert rows[0][0] == delivered.message_id
    assert await sqlite_store.search_candidates(inbox.id, ["needle"]) == {1, 2}


async def test_a_message_destroyed_in_the_batch_that_stored_it_leaves_no_text(
        sqlite_store: SqliteStore, db_path: Path) -> None:
    account = await make_account(sqlite_store)
    inbox = await sqlite_store.get_mailbox(account.id, "INBOX")
    assert inbox is not None
    commits = sqlite_store.stats.commits
    await asyncio.gather(
        sqlite_store.store_message(with_text(account.id, "gone", message_bytes("one"))),
        sqlite_store.update_flags(inbox.id, [1], add=frozenset({"\\Deleted"})),
        sqlite_store.expunge(inbox.id))
    assert sqlite_store.stats.commits == commits + 1
    assert raw_query(db_path, "SELECT count(*) FROM messages") == [(0,)]
    assert indexed(db_path) == []
    [kept] = await sqlite_store.store_message(
        with_text(account.id, "kept", message_bytes("two")))
    assert indexed(db_path) == [(kept.message_id, "kept")]


async def test_a_failing_job_takes_its_text_with_it(sqlite_store: SqliteStore,
                                                    db_path: Path) -> None:
    """A job that fails is rolled back alone (its batch is run again with savepoints):
    the others' text is indexed once, the failed one's not at all."""
    account = await make_account(sqlite_store)
    good = sqlite_store.store_message(with_text(account.id, "good", message_bytes("one")))
    bad = sqlite_store.store_message(with_text(AccountId(999), "bad", message_bytes("two")))
    also = sqlite_store.store_message(with_text(account.id, "also", message_bytes("three")))
    results = await asyncio.gather(good, bad, also, return_exceptions=True)
    assert isinstance(results[1], StoreError)
    assert [text for _, text in indexed(db_path)] == ["good", "also"]
    inbox = MailboxId(results[0][0].mailbox_id)     # type: ignore[index]
    assert await sqlite_store.search_candidates(inbox, ["good"]) == {1}


async def test_several_deliveries_index_each_stored_message(sqlite_store: SqliteStore,
                                                            db_path: Path) -> None:
    alice = await make_account(sqlite_store)
    bob = await make_account(sqlite_store, "bob@example.com")
    delivered = await sqlite_store.store_message(NewMessage(
        raw=message_bytes(), internal_date=datetime(2025, 11, 24, 10, 0, 1, tzinfo=UTC),
        deliveries=[Delivery(alice.id), Delivery(bob.id)],
        search_text=SearchText("", "shared", "")))
    assert indexed(db_path) == [(one.message_id, "shared") for one in delivered]


async def test_a_large_batch_is_indexed_in_pieces_and_completely(
        sqlite_store: SqliteStore, db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The batch's text goes into the index a chunk at a time (a bounded statement
    journal); every message's text gets there, once."""
    monkeypatch.setattr(message_writes, "INDEX_CHUNK_CHARACTERS", 60)
    account = await make_account(sqlite_store)
    texts = [f"message number {i} says hello" for i in range(7)]    # 3, 3 and 1 a chunk
    delivered = await sqlite_store.store_messages(
        [with_text(account.id, text, message_bytes(f"m{i}")) for i, text in enumerate(texts)])
    assert indexed(db_path) == [(one.message_id, text)
                                for [one], text in zip(delivered, texts, strict=True)]
    inbox = delivered[0][0].mailbox_id
    assert await sqlite_store.search_candidates(inbox, ["number 4 "]) == {5}


async def test_empty_texts_are_indexed_too(sqlite_store: SqliteStore,
                                           db_path: Path) -> None:
    """A message whose texts are all empty (no header fields, no text part) is still
    indexed: it is no message stored without text (which is always a candidate)."""
    account = await make_account(sqlite_store)
    [empty] = await sqlite_store.store_message(with_text(account.id, "", b"x"))
    assert indexed(db_path) == [(empty.message_id, "")]
    assert raw_query(db_path, "SELECT count(*) FROM messages_without_text") == [(0,)]


# --- memory: returned to the OS once the store has been quiet (sqlite_memory)


needs_malloc_trim = pytest.mark.skipif(sqlite_memory.RELEASE_MEMORY is None,
                                       reason="the C library has no malloc_trim")
QUIET = sqlite_memory.DEFAULT_RELEASE_AFTER


@needs_malloc_trim
async def test_memory_is_released_once_the_store_has_been_quiet(db_path: Path) -> None:
    store = await SqliteStore.open(db_path)
    try:
        account = await make_account(store)
        await asyncio.sleep(QUIET + 0.3)
        released = store.memory_releases
        assert released >= 1
        # Writes and reads closer together than the delay: no release between them...
        for i in range(3):
            await store.store_message(with_text(account.id, "x", message_bytes(f"{i}")))
            await asyncio.sleep(QUIET / 5)
            await store.list_accounts()
            await asyncio.sleep(QUIET / 5)
        assert store.memory_releases == released
        # ... one once they stop, and none while nothing happens.
        await asyncio.sleep(QUIET + 0.3)
        assert store.memory_releases == released + 1
        await asyncio.sleep(QUIET + 0.3)
        assert store.memory_releases == released + 1
        # A read alone is work too (a SEARCH reads thousands of texts).
        await store.list_accounts()
        await asyncio.sleep(QUIET + 0.3)
        assert store.memory_releases == released + 2
    finally:
        await store.close()


async def test_memory_release_can_be_turned_off_and_stops_at_close() -> None:
    off = sqlite_memory.IdleMemoryRelease(after=None)
    off.note()
    closed = sqlite_memory.IdleMemoryRelease(after=0.01)
    closed.note()
    closed.close()
    closed.note()
    await asyncio.sleep(0.1)
    assert (off.releases, closed.releases) == (0, 0)


@given(st.text(st.characters(codec=None, exclude_categories=())) | st.sampled_from([
    "plain ascii", "nul\x00in ascii", "caf\u00e9", "lone \udc80 surrogate",
    "both \x00 and \ud800", ""]))
def test_searchable_text_replaces_only_what_the_index_cannot_take(text: str) -> None:
    """The index takes neither NUL (its tokenizer stops there) nor a lone surrogate (not
    UTF-8): each becomes a space, and any other text is taken as it is -- the quick
    checks for texts without them agree with the replacement itself."""
    expected = "".join(" " if char == "\x00" or "\ud800" <= char <= "\udfff" else char
                       for char in text)
    assert searchable_text(text) == expected
