"""RFC 9051 §6.4.7 COPY and §6.4.8 MOVE (RFC 6851): copies arrive intact with their flags
and internal date, [TRYCREATE] for a missing destination (never created), COPYUID (§7.1,
RFC 4315) naming the right UIDs, MOVE's COPYUID in an untagged OK before its EXPUNGEs,
no \\Deleted on moved messages; UID COPY / UID MOVE (§6.4.9)."""

from __future__ import annotations

import pytest

from conformance.drivers.imap import ImapDriver, listed_numbers, quote
from conformance.suites.imap.conftest import KNOWN
from conformance.suites.imap.support import (
    Loaded,
    Scratch,
    apply_expunges,
    code_of,
    exists_in,
    expect_ok,
    expunged,
    fetched,
    flag_set,
    load,
    numbers_of,
    show,
    status_values,
)
from reference.imap.responses import Condition, CopyUid, ExpungeData, StatusResponse

pytestmark = pytest.mark.protocol("imap")


def _uidplus(driver: ImapDriver) -> bool:
    return bool({"UIDPLUS", "IMAP4REV2"} & driver.capabilities)


def _needs_move(driver: ImapDriver) -> None:
    if not ({"MOVE", "IMAP4REV2"} & driver.capabilities):
        pytest.skip("UNSUPPORTED: neither MOVE nor IMAP4rev2 is advertised")


def _contents(driver: ImapDriver, name: str) -> dict[int, tuple[bytes, frozenset[str], object]]:
    """{uid: (BODY[], flags, INTERNALDATE)} of every message in ``name`` (EXAMINEd)."""
    expect_ok(driver.examine(name), f"EXAMINE {name}")
    views = fetched(expect_ok(driver.command("FETCH 1:* (UID FLAGS INTERNALDATE BODY.PEEK[])"),
                              "FETCH 1:* (UID FLAGS INTERNALDATE BODY.PEEK[])"))
    return {view.uid or 0: (view.section("") or b"", flag_set(view.flags or ()),
                            view.internal_date) for view in views.values()}


@pytest.mark.requirement(rfc=9051, section="6.4.7", level="MUST")
def test_copy_copies_the_messages(loaded: Loaded, scratch: Scratch) -> None:
    """§6.4.7: "The COPY command copies the specified message(s) to the end of the
    specified destination mailbox": the copies hold the same octets; the source keeps
    its messages."""
    imap = loaded.driver
    target = scratch.create(imap, "copy-to")
    expect_ok(imap.command(f"COPY 1,3 {quote(target)}"), f"COPY 1,3 {target}")
    copies = _contents(imap, target)
    bodies = sorted(body for body, _, _ in copies.values())
    assert bodies == sorted([loaded.raw(1), loaded.raw(3)]), (
        f"COPY 1,3: the destination holds {len(copies)} messages whose octets are not those "
        "of messages 1 and 3")
    assert status_values(imap, loaded.name, "MESSAGES")["MESSAGES"] == 3, (
        "COPY removed messages from the source")


@pytest.mark.requirement(rfc=9051, section="6.4.7", level="SHOULD", ids=("RFC9051-6.4.7-1",))
@pytest.mark.requirement(rfc=9051, section="2.3.3", level="SHOULD", ids=("RFC9051-2.3.3-1",))
def test_copy_keeps_flags_and_internal_date(loaded: Loaded, scratch: Scratch) -> None:
    """§6.4.7: "The flags and internal date of the message(s) SHOULD be preserved in the
    copy." """
    imap = loaded.driver
    source = _contents(imap, loaded.name)
    expect_ok(imap.select(loaded.name), f"SELECT {loaded.name}")
    target = scratch.create(imap, "copy-flags")
    expect_ok(imap.command(f"COPY 1:3 {quote(target)}"), f"COPY 1:3 {target}")
    copies = {body: (flags, date) for body, flags, date in _contents(imap, target).values()}
    for body, flags, date in source.values():
        assert body in copies, "a copied message is missing from the destination"
        assert copies[body][0] == flags, (
            f"COPY changed flags {sorted(flags)} to {sorted(copies[body][0])}")
        assert copies[body][1] == date, f"COPY changed INTERNALDATE {date} to {copies[body][1]}"


@pytest.mark.requirement(rfc=9051, section="6.4.7", level="MUST",
                         ids=("RFC9051-6.4.7-2", "RFC9051-6.4.7-3", "RFC9051-6.4.7-4"))
@pytest.mark.requirement(rfc=3501, section="6.4.7", level="MUST", ids=("RFC3501-6.4.7-4",))
@pytest.mark.parametrize("command", ["COPY", "MOVE"])
def test_copy_or_move_to_missing_mailbox_says_trycreate(loaded: Loaded, scratch: Scratch,
                                                        command: str) -> None:
    """§6.4.7/§6.4.8: "If the destination mailbox does not exist, a server MUST return an
    error. It MUST NOT automatically create the mailbox. Unless it is certain that the
    destination mailbox can not be created, the server MUST send the response code
    "[TRYCREATE]" as the prefix of the text of the tagged NO response." """
    imap = loaded.driver
    if command == "MOVE":
        _needs_move(imap)
    missing = scratch.name(imap, "missing")
    done = imap.command(f"{command} 1 {quote(missing)}")
    assert done.tagged.condition is Condition.NO and code_of(done.tagged) == "TRYCREATE", (
        f"{command} 1 to {missing}, which does not exist: expected NO [TRYCREATE], got "
        f"{show(done)!r}")
    assert not exists_in(imap, missing), f"the failed {command} created {missing}"
    assert status_values(imap, loaded.name, "MESSAGES")["MESSAGES"] == 3, (
        f"the failed {command} removed a message from the source")


def _copyuid(status: StatusResponse, what: str) -> CopyUid:
    assert code_of(status) == "COPYUID", f"{what}: expected a COPYUID response code, got " \
                                          f"{status.condition.value} {status.text!r}"
    data = status.code_data
    assert isinstance(data, CopyUid)
    return data


def _check_copyuid(driver: ImapDriver, data: CopyUid, source_uids: list[int],
                   source: Loaded, target: str, what: str) -> None:
    assert listed_numbers(data.source_uids, f"{what}: COPYUID") and numbers_of(
        data.source_uids) == set(
        source_uids), (f"{what}: COPYUID source set {data.source_uids}, expected "
                       f"{','.join(map(str, source_uids))}")
    validity = status_values(driver, target, "UIDVALIDITY")["UIDVALIDITY"]
    assert data.uidvalidity == validity, (
        f"{what}: COPYUID names UIDVALIDITY {data.uidvalidity}, the destination's is "
        f"{validity}")
    pairs = dict(zip(listed_numbers(data.source_uids, f"{what}: COPYUID"),
                     listed_numbers(data.destination_uids, f"{what}: COPYUID"), strict=False))
    assert len(pairs) == len(source_uids), (
        f"{what}: COPYUID sets of different sizes: {data.source_uids} / "
        f"{data.destination_uids}")
    copies = _contents(driver, target)
    for msn, uid in enumerate(source.uids, 1):
        if uid in pairs:
            new = pairs[uid]
            assert new in copies and copies[new][0] == source.raw(msn), (
                f"{what}: COPYUID says source UID {uid} became {new}, but the destination's "
                f"UID {new} does not hold that message")


@pytest.mark.requirement(rfc=9051, section="6.4.7", level="MUST")
@pytest.mark.requirement(rfc=9051, section="7.1", level="MUST")
def test_copy_returns_copyuid(loaded: Loaded, scratch: Scratch) -> None:
    """§6.4.7: "On successful completion of a COPY, the server returns a COPYUID response
    code" (RFC 4315 §3 with UIDPLUS): destination UIDVALIDITY, the source UIDs, the new
    UIDs in the same order."""
    imap = loaded.driver
    if not _uidplus(imap):
        pytest.skip("UNSUPPORTED: neither UIDPLUS nor IMAP4rev2 is advertised")
    target = scratch.create(imap, "copyuid")
    done = expect_ok(imap.command(f"COPY 2:3 {quote(target)}"), f"COPY 2:3 {target}")
    data = _copyuid(done.tagged, "COPY 2:3")
    _check_copyuid(imap, data, loaded.uids[1:], loaded, target, "COPY 2:3")


@pytest.mark.requirement(rfc=9051, section="6.4.9", level="MUST")
def test_uid_copy_ignores_missing_uids(loaded: Loaded, scratch: Scratch) -> None:
    """§6.4.9: "A non-existent unique identifier is ignored without any error message
    generated ... a UID COPY ... to return an OK without performing any operations"."""
    imap = loaded.driver
    target = scratch.create(imap, "uid-copy")
    missing = max(loaded.uids) + 500
    done = imap.command(f"UID COPY {missing}:{missing + 3} {quote(target)}")
    assert done.tagged.condition is Condition.OK, (
        f"UID COPY of UIDs that do not exist: expected OK, got {show(done)!r}")
    assert status_values(imap, target, "MESSAGES")["MESSAGES"] == 0, (
        "UID COPY of UIDs that do not exist copied something")


@pytest.mark.requirement(rfc=9051, section="6.4.8", level="MUST")
@pytest.mark.requirement(rfc=6851, section="3.3", level="MUST")
@pytest.mark.parametrize("command", ["MOVE 1:2", "UID MOVE {uids}"])
def test_move_moves(loaded: Loaded, scratch: Scratch, command: str) -> None:
    """§6.4.8: "a new message is created in the target mailbox with a new UID, the
    original message is removed from the source mailbox": EXPUNGE responses in the
    source, the messages in the destination."""
    imap = loaded.driver
    _needs_move(imap)
    target = scratch.create(imap, "move-to")
    text = command.format(uids=f"{loaded.uids[0]}:{loaded.uids[1]}")
    done = expect_ok(imap.command(f"{text} {quote(target)}"), f"{text} {target}")
    left = apply_expunges(loaded.uids, expunged(done))
    assert left == [loaded.uids[2]], (
        f"{text}: after its EXPUNGE responses {expunged(done)} the source would hold UIDs "
        f"{left}, expected only {loaded.uids[2]}")
    copies = _contents(imap, target)
    assert sorted(body for body, _, _ in copies.values()) == sorted(
        [loaded.raw(1), loaded.raw(2)]), f"{text}: the destination does not hold messages 1, 2"
    assert status_values(imap, loaded.name, "MESSAGES")["MESSAGES"] == 1, (
        f"{text}: the source does not hold exactly one message")


@pytest.mark.requirement(rfc=6851, section="5", level="MUST", ids=("RFC6851-5-1",))
@pytest.mark.parametrize("command", ["move 1", "uid move {uid}", "Uid Move {uid}"])
def test_move_in_any_case(loaded: Loaded, scratch: Scratch, command: str) -> None:
    """RFC 6851 §5: MOVE and UID MOVE: "Implementations MUST accept these strings in a
    case-insensitive fashion." """
    imap = loaded.driver
    _needs_move(imap)
    target = scratch.create(imap, "move-case")
    text = command.format(uid=loaded.uids[0])
    expect_ok(imap.command(f"{text} {quote(target)}"), f"{text} {target}")
    assert status_values(imap, target, "MESSAGES")["MESSAGES"] == 1, (
        f"{text}: the destination does not hold the moved message")


@pytest.mark.requirement(rfc=9051, section="6.4.8", level="MUST NOT", ids=("RFC9051-6.4.8-2",))
@pytest.mark.requirement(rfc=6851, section="3.3", level="MUST NOT", ids=("RFC6851-3.3-1",))
def test_move_sets_no_deleted(loaded: Loaded, scratch: Scratch) -> None:
    """§6.4.8: "the \\Deleted flag MUST NOT be set for any message", in the destination
    (nor are STORE responses generated: no FETCH FLAGS with \\Deleted)."""
    imap = loaded.driver
    _needs_move(imap)
    target = scratch.create(imap, "move-deleted")
    done = expect_ok(imap.command(f"MOVE 1:3 {quote(target)}"), f"MOVE 1:3 {target}")
    for view in fetched(done).values():
        assert "\\DELETED" not in flag_set(view.flags or ()), (
            f"MOVE sent a FETCH with \\Deleted for message {view.msn}")
    for body, flags, _ in _contents(imap, target).values():
        assert "\\DELETED" not in flags, f"a moved message has \\Deleted: {body[:40]!r}"


@pytest.mark.requirement(rfc=9051, section="6.4.8", level="MUST", ids=("RFC9051-6.4.8-9",))
@pytest.mark.requirement(rfc=6851, section="4.3", level="SHOULD", ids=("RFC6851-4.3-1",))
@pytest.mark.parametrize("command", ["MOVE 2:3", "UID MOVE {uids}"])
def test_move_copyuid_before_expunge(loaded: Loaded, scratch: Scratch, command: str) -> None:
    """§6.4.8: "Servers are also REQUIRED to send the COPYUID response code in an untagged
    OK before sending EXPUNGE or similar responses." """
    imap = loaded.driver
    _needs_move(imap)
    if not _uidplus(imap):
        pytest.skip("UNSUPPORTED: neither UIDPLUS nor IMAP4rev2 is advertised")
    target = scratch.create(imap, "move-copyuid")
    text = command.format(uids=f"{loaded.uids[1]}:{loaded.uids[2]}")
    done = expect_ok(imap.command(f"{text} {quote(target)}"), f"{text} {target}")
    order = [r for r in done.untagged if isinstance(r, ExpungeData)
             or (isinstance(r, StatusResponse) and code_of(r) == "COPYUID")]
    assert order and isinstance(order[0], StatusResponse), (
        f"{text}: no untagged OK [COPYUID ...] before the first EXPUNGE (responses: "
        f"{[type(r).__name__ for r in done.untagged]}, tagged {show(done)!r})")
    _check_copyuid(imap, _copyuid(order[0], text), loaded.uids[1:], loaded, target, text)


@pytest.mark.requirement(rfc=9051, section="6.4.8", level="MUST")
def test_move_to_the_same_mailbox(session: ImapDriver, scratch: Scratch) -> None:
    """§6.4.8: "moving a message to the currently selected mailbox (that is, where the
    source and target mailboxes are the same) is allowed when copying the message to the
    currently selected mailbox is allowed": the message gets a new, higher UID."""
    _needs_move(session)
    name = scratch.create(session, "move-self")
    loaded = load(session, name, KNOWN[:2])
    done = expect_ok(session.command(f"MOVE 1 {quote(name)}"), f"MOVE 1 to {name} itself")
    del done
    views = fetched(expect_ok(session.command("UID FETCH 1:* (UID)"), "UID FETCH 1:* (UID)"))
    uids = sorted(view.uid or 0 for view in views.values())
    assert len(uids) == 2 and uids[0] == loaded.uids[1] and uids[1] > max(loaded.uids), (
        f"MOVE of message 1 to its own mailbox: UIDs now {uids}, expected {loaded.uids[1]} "
        f"and a new UID above {max(loaded.uids)}")

