"""The IMAP session's SELECT against a SQLite store in a temporary directory (no socket):
the LIST response an IMAP4rev2 SELECT sends (RFC 9051 §6.3.2)."""

from __future__ import annotations

import unicodedata
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from reference.imap.commands import Examine, Select
from reference.imap.response_data import ListData
from reference.imap.responses import Condition, StatusResponse
from reference.imap.session import ImapSession
from reference.store import open_store
from reference.store.interface import MailStore
from tests.imap.sessions import Collected, logged_in

DENORMALIZED = "cafe\u0301"                       # "café" with a combining acute accent
NORMALIZED = unicodedata.normalize("NFC", DENORMALIZED)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[MailStore]:
    opened = await open_store(f"sqlite://{tmp_path / 'mail.db'}")
    try:
        yield opened
    finally:
        await opened.close()


async def _session(store: MailStore) -> tuple[ImapSession, Collected]:
    await store.add_domain("example.test")
    account = await store.add_account("alice@example.test", "{PLAIN}secret")
    await store.create_mailbox(account.id, NORMALIZED)
    return logged_in(store, account)


@pytest.mark.parametrize("command", [Select, Examine])
async def test_denormalized_name_gets_list_with_oldname(store: MailStore,
                                                        command: type[Select]) -> None:
    """RFC 9051 §6.3.2: "If the server allows denormalized UTF-8 mailbox names ... and
    the supplied mailbox name differs from the normalized version, the server MUST return
    LIST with the OLDNAME extended data item"."""
    session, out = await _session(store)
    await session.handle(command("a1", DENORMALIZED))
    tagged = [r for r in out.sent if isinstance(r, StatusResponse) and r.tag == "a1"]
    assert tagged and tagged[0].condition is Condition.OK, out.sent
    listed = [r for r in out.sent if isinstance(r, ListData)]
    assert [(r.mailbox, r.old_name) for r in listed] == [(NORMALIZED, DENORMALIZED)]


async def test_normalized_name_gets_list_without_oldname(store: MailStore) -> None:
    session, out = await _session(store)
    await session.handle(Select("a1", NORMALIZED))
    listed = [r for r in out.sent if isinstance(r, ListData)]
    assert [(r.mailbox, r.old_name) for r in listed] == [(NORMALIZED, None)]
