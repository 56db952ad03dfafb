"""RFC 6851 §4.4: MOVE with CONDSTORE/QRESYNC (RFC 7162): the source's HIGHESTMODSEQ
grows and is sent, the moved UIDs are remembered as VANISHED, the moved messages get
mod-sequences above the target's. Run where the target advertises MOVE (or IMAP4rev2)
with CONDSTORE / QRESYNC."""

from __future__ import annotations

import pytest

from conformance.drivers.imap import Completion, ImapDriver, quote
from conformance.suites.imap.support import (
    Loaded,
    Scratch,
    expect_ok,
    fetched,
    load,
    numbers_of,
    select_code,
    status_values,
    untagged_codes,
)
from reference.imap.response_data import FetchData, ModSeqItem, VanishedData

pytestmark = [pytest.mark.protocol("imap"), pytest.mark.needs("MOVE", "CONDSTORE")]

MESSAGE = b"Subject: move with modseq\r\n\r\nbody\r\n"


def _highest(driver: ImapDriver, name: str) -> int:
    value = status_values(driver, name, "HIGHESTMODSEQ")["HIGHESTMODSEQ"]
    assert isinstance(value, int), f"STATUS {name} (HIGHESTMODSEQ): {value!r}"
    return value


def _sent_highest(done: Completion) -> int | None:
    """HIGHESTMODSEQ in the tagged OK or an untagged OK of a command."""
    value = select_code(done, "HIGHESTMODSEQ")
    return value if isinstance(value, int) else None


def _modseqs(done: Completion) -> list[int]:
    return [item.modseq for data in done.of_type(FetchData) for item in data.items
            if isinstance(item, ModSeqItem)]


def _condstore(session: ImapDriver, scratch: Scratch) -> tuple[Loaded, str]:
    """A source of three messages (selected, CONDSTORE enabled) and a target of one."""
    expect_ok(session.command("ENABLE CONDSTORE"), "ENABLE CONDSTORE")
    target = scratch.create(session, "move-target")
    expect_ok(session.append(target, MESSAGE), f"APPEND to {target}")
    source = scratch.create(session, "move-source")
    loaded = load(session, source, [(MESSAGE, ()), (MESSAGE, ()), (MESSAGE, ())])
    return loaded, target


@pytest.mark.requirement(rfc=6851, section="4.4", level="MUST",
                         ids=("RFC6851-4.4-2", "RFC6851-4.4-4"))
@pytest.mark.needs("QRESYNC")
def test_move_raises_and_sends_the_source_highestmodseq(session: ImapDriver,
                                                        scratch: Scratch) -> None:
    """§4.4 (its subject is QRESYNC, so QRESYNC is enabled): the server "MUST increment
    the per-mailbox mod-sequence if at least one message was permanently moved" and "MUST
    send the updated per-mailbox modification sequence using the HIGHESTMODSEQ response
    code ... in the tagged or untagged OK response". (The command in lower case, §5, is
    test_copy_move.py's test_move_in_any_case: a FAIL here is about the mod-sequence.)"""
    expect_ok(session.command("ENABLE QRESYNC"), "ENABLE QRESYNC")
    loaded, target = _condstore(session, scratch)
    before = select_code(loaded.select, "HIGHESTMODSEQ")
    assert isinstance(before, int), "SELECT with CONDSTORE enabled: no HIGHESTMODSEQ"
    command = f"UID MOVE {loaded.uids[0]} {quote(target)}"
    done = expect_ok(session.command(command), command)
    sent = _sent_highest(done)
    assert sent is not None, f"{command}: no HIGHESTMODSEQ in a tagged or untagged OK"
    assert sent > before, f"{command}: HIGHESTMODSEQ {sent}, not above {before}"
    assert _highest(session, loaded.name) >= sent


@pytest.mark.requirement(rfc=6851, section="4.4", level="MUST", ids=("RFC6851-4.4-5",))
def test_moved_messages_get_higher_modseqs(session: ImapDriver, scratch: Scratch) -> None:
    """§4.4: the server "MUST generate and assign new modification sequence numbers to the
    moved messages that are higher than the highest modification sequence of the
    messages originally in the mailbox"."""
    _, target = _condstore(session, scratch)
    target_highest = _highest(session, target)
    expect_ok(session.command(f"MOVE 1:2 {quote(target)}"), f"MOVE 1:2 {target}")
    expect_ok(session.select(target), f"SELECT {target}")
    done = expect_ok(session.command("FETCH 2:* (MODSEQ)"), "FETCH 2:* (MODSEQ)")
    modseqs = _modseqs(done)
    assert len(modseqs) == 2 and min(modseqs) > target_highest, (
        f"the moved messages have MODSEQ {modseqs}; the target's HIGHESTMODSEQ before was "
        f"{target_highest}")


@pytest.mark.requirement(rfc=6851, section="4.4", level="MUST", ids=("RFC6851-4.4-3",))
@pytest.mark.needs("QRESYNC")
def test_moved_uids_are_remembered_as_vanished(session: ImapDriver, scratch: Scratch) -> None:
    """§4.4: "For each permanently removed message, the server MUST remember the
    incremented mod-sequence and corresponding UID": after the MOVE, UID FETCH
    (CHANGEDSINCE <before> VANISHED) reports the moved UID as VANISHED (EARLIER)."""
    expect_ok(session.command("ENABLE QRESYNC"), "ENABLE QRESYNC")
    loaded, target = _condstore(session, scratch)
    before = select_code(loaded.select, "HIGHESTMODSEQ")
    assert isinstance(before, int), "SELECT with QRESYNC enabled: no HIGHESTMODSEQ"
    moved = loaded.uids[1]
    expect_ok(session.command(f"UID MOVE {moved} {quote(target)}"), f"UID MOVE {moved}")
    command = f"UID FETCH 1:* (FLAGS) (CHANGEDSINCE {before} VANISHED)"
    done = expect_ok(session.command(command), command)
    vanished = set().union(*(numbers_of(v.uids) for v in done.of_type(VanishedData)
                             if v.earlier)) if done.of_type(VanishedData) else set()
    assert moved in vanished, (
        f"{command}: VANISHED (EARLIER) {sorted(vanished)} lacks the moved UID {moved}")
    assert not {view.uid for view in fetched(done).values()} & {moved}
    assert "HIGHESTMODSEQ" in untagged_codes(loaded.select)
