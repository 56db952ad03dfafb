"""The IMAP session's STORE against the store (no socket): what it reads back after its
own writes, and what it tells of the others' (RFC 9051 §7.5.2, §6.4.6)."""

from __future__ import annotations

import pytest

from reference.imap.commands import Command, Select
from reference.imap.response_data import FetchFlagsRun
from reference.imap.responses import Condition, StatusResponse
from reference.imap.session import ImapSession
from reference.imap.states import State
from reference.store.interface import Account, FlagUpdate, MailboxId, MailStore, Uid
from tests.imap.helpers import events, server
from tests.imap.sessions import Collected, logged_in
from tests.store.conftest import deliver, message_bytes

FLAGGED = "\\Flagged"


def _command(line: bytes) -> Command:
    [command] = events(server(State.SELECTED), line)
    assert isinstance(command, Command)
    return command


async def _run(session: ImapSession, out: Collected, line: bytes
               ) -> list[tuple[int, int, frozenset[str]]]:
    """Send one command; the flag rows of the FETCH responses it got, in order."""
    out.sent.clear()
    await session.handle(_command(line))
    [done] = [r for r in out.sent if isinstance(r, StatusResponse) and r.tag is not None]
    assert done.condition is Condition.OK, out.sent
    return [row for r in out.sent if isinstance(r, FetchFlagsRun) for row in r.rows]


async def test_own_changes_are_not_read_back_and_the_others_are(
        store: MailStore, alice: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    """After its own STORE a session has the new flags already (it reported them,
    §6.4.6): its next command reads nothing back from the store. Another session's
    STORE in between is read and told as an untagged FETCH (§7.5.2: "when the flags
    change"), whether it came before or after the session's own."""
    for number in range(1, 4):
        await deliver(store, alice.id, raw=message_bytes(f"Message {number}"))
    mine, my_out = logged_in(store, alice)
    theirs, their_out = logged_in(store, alice)
    await mine.handle(Select("a1", "INBOX"))
    await theirs.handle(Select("b1", "INBOX"))

    reads: list[int] = []
    changes = store.mailbox_changes

    async def counted(*arguments: object, **options: object) -> object:
        reads.append(1)
        return await changes(*arguments, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "mailbox_changes", counted)

    uid_1, uid_2, uid_3 = mine.require_selected().uids
    assert await _run(mine, my_out, b"a2 STORE 1:3 +FLAGS (\\Flagged)\r\n") == [
        (n, uid, frozenset({FLAGGED})) for n, uid in
        enumerate(mine.require_selected().uids, 1)]
    assert await _run(mine, my_out, b"a3 NOOP\r\n") == []
    assert reads == []                       # its own change: nothing read back

    # The other session's change: read and told at the next command.
    await _run(theirs, their_out, b"b2 STORE 1 -FLAGS.SILENT (\\Flagged)\r\n")
    reads.clear()
    assert await _run(mine, my_out, b"a4 NOOP\r\n") == [(1, uid_1, frozenset())]
    assert reads == [1]

    # Another write after the session last looked and before its own write (its
    # MODSEQ lies between the two): read and told too, as the command ends.
    update = store.update_flags

    async def another_write_first(mailbox_id: MailboxId, uids: list[Uid],
                                  **options: frozenset[str]) -> FlagUpdate:
        monkeypatch.setattr(store, "update_flags", update)
        await update(mailbox_id, [uid_2], add=frozenset({"\\Seen"}))
        return await update(mailbox_id, uids, **options)

    monkeypatch.setattr(store, "update_flags", another_write_first)
    reads.clear()
    assert await _run(mine, my_out, b"a5 STORE 3 -FLAGS (\\Flagged)\r\n") == [
        (3, uid_3, frozenset()), (2, uid_2, frozenset({FLAGGED, "\\Seen"}))]
    assert reads == [1]
    assert await _run(mine, my_out, b"a6 NOOP\r\n") == []
