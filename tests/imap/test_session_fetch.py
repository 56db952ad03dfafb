"""The IMAP session's FETCH against the store (no socket): how it reads messages."""

from __future__ import annotations

import pytest

from reference.imap import session_core, session_messages
from reference.imap.commands import Fetch, Select
from reference.imap.response_data import BodySectionItem, FetchData, FetchFlagsRun
from reference.imap.responses import Condition, StatusResponse
from reference.imap.states import State
from reference.store.interface import Account, MailStore, MessageId
from tests.imap.helpers import events, server
from tests.imap.sessions import logged_in
from tests.store.conftest import deliver, message_bytes

MESSAGES = 6


def _fetch(line: bytes) -> Fetch:
    [command] = events(server(State.SELECTED), line)
    assert isinstance(command, Fetch)
    return command


async def test_a_fetch_reads_in_batches_what_does_not_fit_in_one_read(
        store: MailStore, alice: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    """A few messages are read with their entries in one trip to the store; more than
    CONTENT_BATCH octets of them in batches (memory stays bounded). RFC 9051 §6.4.5:
    either way BODY[] is the message's bytes exactly, and HEADER.FIELDS its field."""
    raws = [message_bytes(f"Message {number}") for number in range(1, MESSAGES + 1)]
    for raw in raws:
        await deliver(store, alice.id, raw=raw)
    session, out = logged_in(store, alice)
    await session.handle(Select("a1", "INBOX"))
    fetch = _fetch(b"a2 FETCH 1:* (BODY.PEEK[] BODY.PEEK[HEADER.FIELDS (SUBJECT)])\r\n")

    batches: list[list[MessageId]] = []
    read_contents = store.message_contents

    async def counted(message_ids: list[MessageId], *, structure: bool = True,
                      headers_only: bool = False
                      ) -> dict[MessageId, tuple[bytes, str | None]]:
        assert not headers_only                  # BODY[] needs the whole message
        batches.append(list(message_ids))
        return await read_contents(message_ids, structure=structure)

    monkeypatch.setattr(store, "message_contents", counted)

    async def answers() -> list[tuple[int, bytes | None, bytes | None]]:
        out.sent.clear()
        await session.handle(fetch)
        [done] = [r for r in out.sent if isinstance(r, StatusResponse)]
        assert done.condition is Condition.OK, done
        found = []
        for data in out.sent:
            if isinstance(data, FetchData):
                whole, field = (item.data for item in data.items
                                if isinstance(item, BodySectionItem))
                found.append((data.msn, whole, field))
        return found

    expected = [(number, raw, f"Subject: Message {number}\r\n\r\n".encode())
                for number, raw in enumerate(raws, 1)]
    assert await answers() == expected
    assert batches == []                     # read with the entries, in one trip
    monkeypatch.setattr(session_messages, "CONTENT_BATCH", 2 * len(raws[0]))
    assert await answers() == expected
    assert [len(batch) for batch in batches] == [2, 2, 2]


async def test_a_fetch_of_header_fields_alone_reads_headers_not_bodies(
        store: MailStore, alice: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    """A message list's FETCH of header sections alone reads the messages' header
    sections, not their bodies, in one trip or in batches; RFC 9051 §6.4.5: the answers
    are the same octets (HEADER.FIELDS its fields and the blank line, HEADER the whole
    header section with it, RFC822.SIZE the whole message's size)."""
    body = b"A long body.\r\n" * 2000
    raws = [message_bytes(f"Message {number}").replace(b"Hi there.\r\n", body)
            for number in range(1, MESSAGES + 1)]
    for raw in raws:
        await deliver(store, alice.id, raw=raw)
    session, out = logged_in(store, alice)
    await session.handle(Select("a1", "INBOX"))
    fetch = _fetch(b"a2 FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)] BODY.PEEK[HEADER]"
                   b" RFC822.SIZE)\r\n")

    reads: list[tuple[str, bool]] = []
    read_contents, read_mailbox = store.message_contents, store.mailbox_contents

    async def contents(message_ids: list[MessageId], **options: bool
                       ) -> dict[MessageId, tuple[bytes, str | None]]:
        reads.append(("message_contents", options.get("headers_only", False)))
        return await read_contents(message_ids, **options)

    async def mailbox(*arguments: object, **options: object) -> object:
        reads.append(("mailbox_contents", bool(options.get("headers_only", False))))
        return await read_mailbox(*arguments, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "message_contents", contents)
    monkeypatch.setattr(store, "mailbox_contents", mailbox)

    async def answers() -> list[tuple[int, tuple[object, ...]]]:
        out.sent.clear()
        await session.handle(fetch)
        [done] = [r for r in out.sent if isinstance(r, StatusResponse)]
        assert done.condition is Condition.OK, done
        return [(data.msn, tuple(getattr(item, "data", getattr(item, "size", None))
                                 for item in data.items))
                for data in out.sent if isinstance(data, FetchData)]

    expected = [(number, (f"Subject: Message {number}\r\n\r\n".encode(),
                          raw[:raw.index(b"\r\n\r\n") + 4], len(raw)))
                for number, raw in enumerate(raws, 1)]
    assert await answers() == expected
    assert reads == [("mailbox_contents", True)]        # one trip, headers alone
    reads.clear()
    monkeypatch.setattr(session_messages, "CONTENT_BATCH", 2 * len(raws[0]))
    assert await answers() == expected
    assert reads == [("mailbox_contents", True)] + [("message_contents", True)] * 3


async def test_a_fetch_of_flags_is_answered_a_run_at_a_time(
        store: MailStore, alice: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    """UID FETCH 1:* (UID FLAGS), what a client's resync sends, is answered from the view
    in runs of FLAG_RUN messages, the rows of each made when it is sent; RFC 9051
    §7.5.2: every message once, in order, with its flags, across the runs."""
    for number in range(1, MESSAGES + 1):
        await deliver(store, alice.id, raw=message_bytes(f"Message {number}"),
                      keywords=frozenset({"\\Seen"}) if number % 2 else frozenset())
    session, out = logged_in(store, alice)
    await session.handle(Select("a1", "INBOX"))
    monkeypatch.setattr(session_messages, "FLAG_RUN", 4)
    monkeypatch.setattr(session_core, "FLAG_RUN", 4)
    out.sent.clear()
    await session.handle(_fetch(b"a2 UID FETCH 1:* (UID FLAGS)\r\n"))
    runs = [r for r in out.sent if isinstance(r, FetchFlagsRun)]
    assert [len(run.rows) for run in runs] == [4, 2]
    assert [row for run in runs for row in run.rows] == [
        (number, number, frozenset({"\\Seen"}) if number % 2 else frozenset())
        for number in range(1, MESSAGES + 1)]
    assert all(run.with_uid for run in runs)
