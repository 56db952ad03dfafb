"""The IMAP session's SELECT against a SQLite store in a temporary directory (no socket):
the LIST response an IMAP4rev2 SELECT sends (RFC 9051 §6.3.2)."""

from __future__ import annotations

import unicodedata
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from reference.imap.capabilities import Modes
from reference.imap.commands import Examine, Select
from reference.imap.response_data import ListData
from reference.imap.responses import Condition, Response, StatusResponse
from reference.imap.session import ImapSession
from reference.imap.session_core import ImapPolicy
from reference.net.listeners import Peer
from reference.store import open_store
from reference.store.interface import MailStore

DENORMALIZED = "cafe\u0301"                       # "café" with a combining acute accent
NORMALIZED = unicodedata.normalize("NFC", DENORMALIZED)


class Collected:
    """The session's Output: responses kept in order, an IMAP4rev2 client's modes."""

    def __init__(self) -> None:
        self.sent: list[Response] = []
        self.modes = Modes(advertised=frozenset({"IMAP4REV1", "IMAP4REV2"}),
                           enabled=frozenset({"IMAP4REV2"}))

    def send(self, response: Response) -> None:
        self.sent.append(response)

    async def drain(self) -> None:
        return None


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
    out = Collected()
    session = ImapSession(store, ImapPolicy("mail.example.test"),
                          Peer("127.0.0.1", 40000, True, "test"), out)
    session.account = account            # logged in (the state table's AUTHENTICATED)
    return session, out


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
