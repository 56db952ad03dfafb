"""What is particular to the SQLite backend in keyword spelling (schema version 4): the
``keywords`` table behind ``account_keywords``, and migrating a file whose messages
have the lower-cased keywords earlier versions stored."""

from __future__ import annotations

from pathlib import Path

from reference.store import SqliteStore
from reference.store.interface import AccountId, MailboxId, Uid

from .conftest import deliver
from .test_sqlite import LATEST_SCHEMA, make_account, raw_query
from .test_sqlite_imap import make_version_2_file


async def test_an_earlier_file_keeps_its_keywords_spelling(tmp_path: Path) -> None:
    """Migration 4 registers the keywords messages already have, in the spelling they
    have (lower case, as earlier versions stored them): using one in another case then
    changes nothing (RFC 8621 §4.1.1: "a keyword is a case-insensitive string")."""
    db_path = tmp_path / "mail.db"
    make_version_2_file(db_path)                # message 2 in INBOX has "$label"
    store = await SqliteStore.open(db_path)
    try:
        assert raw_query(db_path, "SELECT account_id, folded, spelling FROM keywords") == [
            (1, "$label", "$label")]
        update = await store.update_flags(MailboxId(1), [Uid(2)], add=frozenset({"$LABEL"}))
        assert update.modseq is None and [e.flags for e in update.entries] == [{"$label"}]
        delivered = await deliver(store, AccountId(1), keywords=frozenset({"$Label"}))
        message = await store.get_message(delivered.message_id)
        assert message is not None and message.keywords == {"$label"}
    finally:
        await store.close()
    assert raw_query(db_path, "PRAGMA user_version") == [(LATEST_SCHEMA,)]


async def test_only_keywords_without_a_fixed_spelling_have_rows(tmp_path: Path) -> None:
    """System flags and RFC 9051 §2.3.2's keywords are spelled the same in every
    account: no row, no lookup. A removed account takes its spellings with it."""
    db_path = tmp_path / "mail.db"
    store = await SqliteStore.open(db_path)
    try:
        account = await make_account(store)
        await deliver(store, account.id, keywords=frozenset(
            {"\\Seen", "$Forwarded", "$junk", "$seen", "NonJunk", "$MailFlagBit0"}))
        assert raw_query(db_path, "SELECT folded, spelling FROM keywords ORDER BY folded"
                         ) == [("$mailflagbit0", "$MailFlagBit0"), ("nonjunk", "NonJunk")]
        await store.remove_account(account.address)
        assert raw_query(db_path, "SELECT count(*) FROM keywords") == [(0,)]
    finally:
        await store.close()
