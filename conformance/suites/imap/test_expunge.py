"""RFC 9051 §6.4.3 EXPUNGE and §7.5.1 the EXPUNGE response, §6.4.1 CLOSE, §6.4.2 UNSELECT,
§6.4.9 UID EXPUNGE (RFC 4315), and the UID rules of §2.3.1.1-§2.3.1.2 (ascending, never
reused after an expunge)."""

from __future__ import annotations

import pytest

from conformance.drivers.imap import ImapDriver
from conformance.suites.imap import messages
from conformance.suites.imap.conftest import KNOWN
from conformance.suites.imap.support import (
    Loaded,
    Scratch,
    append_uid,
    apply_expunges,
    expect_ok,
    expect_refused,
    expunged,
    fetched,
    load,
    status_values,
)
from reference.imap.responses import ExistsData, ExpungeData

pytestmark = pytest.mark.protocol("imap")


def _five(session: ImapDriver, scratch: Scratch, label: str) -> Loaded:
    name = scratch.create(session, label)
    return load(session, name, [(messages.plain(f"{label} {n}"), ()) for n in range(1, 6)])


def _uids_now(driver: ImapDriver) -> list[int]:
    views = fetched(expect_ok(driver.command("FETCH 1:* (UID)"), "FETCH 1:* (UID)"))
    return [views[msn].uid or 0 for msn in sorted(views)]


@pytest.mark.requirement(rfc=9051, section="6.4.3", level="MUST")
@pytest.mark.requirement(rfc=9051, section="7.5.1", level="MUST")
def test_expunge_reports_each_removed_message(session: ImapDriver, scratch: Scratch) -> None:
    """§6.4.3: "Before returning an OK to the client, an untagged EXPUNGE response is sent
    for each message that is removed"; §7.5.1: each one decrements the numbers after it
    at once, so the responses, applied in order, must leave exactly the messages without
    \\Deleted (whatever order, "lower to higher" or "higher to lower", the server uses)."""
    loaded = _five(session, scratch, "expunge")
    expect_ok(session.command("STORE 2,4:5 +FLAGS.SILENT (\\Deleted)"), "STORE \\Deleted")
    done = expect_ok(session.command("EXPUNGE"), "EXPUNGE")
    numbers = expunged(done)
    assert len(numbers) == 3, f"EXPUNGE of 3 \\Deleted messages sent {len(numbers)} " \
                              f"EXPUNGE responses: {numbers}"
    left = apply_expunges(loaded.uids, numbers)
    expected = [loaded.uids[0], loaded.uids[2]]
    assert left == expected, (
        f"EXPUNGE responses {numbers}, applied in order with the immediate decrement of "
        f"§7.5.1, remove UIDs other than those of messages 2, 4, 5: left {left}, expected "
        f"{expected}")
    assert _uids_now(session) == expected, "the mailbox does not hold what EXPUNGE reported"


@pytest.mark.requirement(rfc=9051, section="6.4.1", level="MUST")
def test_close_expunges_silently(session: ImapDriver, scratch: Scratch) -> None:
    """§6.4.1: CLOSE "permanently removes all messages that have the \\Deleted flag set
    from the currently selected mailbox, and it returns to the authenticated state ... No
    untagged EXPUNGE responses are sent." """
    loaded = _five(session, scratch, "close")
    expect_ok(session.command("STORE 1:2 +FLAGS.SILENT (\\Deleted)"), "STORE \\Deleted")
    done = expect_ok(session.command("CLOSE"), "CLOSE")
    assert not done.of_type(ExpungeData), (
        f"CLOSE sent EXPUNGE responses {expunged(done)} (RFC 9051 §6.4.1: none are sent)")
    expect_refused(session.command("FETCH 1 (UID)"), "FETCH after CLOSE (authenticated state)")
    assert status_values(session, loaded.name, "MESSAGES")["MESSAGES"] == 3, (
        "CLOSE did not remove the two \\Deleted messages")


@pytest.mark.requirement(rfc=9051, section="6.4.1", level="MUST")
def test_close_of_examined_mailbox_removes_nothing(session: ImapDriver,
                                                   scratch: Scratch) -> None:
    """§6.4.1: "No messages are removed, and no error is given, if the mailbox is selected
    by an EXAMINE command or is otherwise selected as read-only." """
    loaded = _five(session, scratch, "close-ro")
    expect_ok(session.command("STORE 1 +FLAGS.SILENT (\\Deleted)"), "STORE \\Deleted")
    expect_ok(session.examine(loaded.name), f"EXAMINE {loaded.name}")
    expect_ok(session.command("CLOSE"), "CLOSE of an EXAMINEd mailbox")
    assert status_values(session, loaded.name, "MESSAGES")["MESSAGES"] == 5, (
        "CLOSE of an EXAMINEd mailbox removed a \\Deleted message")


@pytest.mark.requirement(rfc=9051, section="6.4.2", level="MUST")
def test_unselect_removes_nothing(session: ImapDriver, scratch: Scratch) -> None:
    """§6.4.2 (RFC 3691): UNSELECT "performs the same actions as CLOSE, except that no
    messages are permanently removed"; afterwards the state is authenticated."""
    if not ({"UNSELECT", "IMAP4REV2"} & session.capabilities):
        pytest.skip("UNSUPPORTED: neither UNSELECT nor IMAP4rev2 is advertised")
    loaded = _five(session, scratch, "unselect")
    expect_ok(session.command("STORE 1 +FLAGS.SILENT (\\Deleted)"), "STORE \\Deleted")
    done = expect_ok(session.command("UNSELECT"), "UNSELECT")
    assert not done.of_type(ExpungeData), "UNSELECT sent EXPUNGE responses"
    expect_refused(session.command("FETCH 1 (UID)"), "FETCH after UNSELECT")
    assert status_values(session, loaded.name, "MESSAGES")["MESSAGES"] == 5, (
        "UNSELECT removed a \\Deleted message")


@pytest.mark.requirement(rfc=9051, section="6.4.9", level="MUST")
def test_uid_expunge_removes_only_the_given_uids(session: ImapDriver,
                                                 scratch: Scratch) -> None:
    """§6.4.9: "The UID EXPUNGE command permanently removes all messages that have both the
    \\Deleted flag set and a UID that is included in the specified sequence set ... If a
    message either does not have the \\Deleted flag set or has a UID that is not included
    in the specified sequence set, it is not affected." """
    if not ({"UIDPLUS", "IMAP4REV2"} & session.capabilities):
        pytest.skip("UNSUPPORTED: neither UIDPLUS nor IMAP4rev2 is advertised")
    loaded = _five(session, scratch, "uid-expunge")
    uids = loaded.uids
    expect_ok(session.command("STORE 1:4 +FLAGS.SILENT (\\Deleted)"), "STORE \\Deleted")
    done = expect_ok(session.command(f"UID EXPUNGE {uids[1]}:{uids[2]},{uids[4]}"),
                     "UID EXPUNGE")
    left = apply_expunges(uids, expunged(done))
    expected = [uids[0], uids[3], uids[4]]
    assert left == expected, (
        f"UID EXPUNGE {uids[1]}:{uids[2]},{uids[4]} with messages 1-4 \\Deleted: the "
        f"EXPUNGE responses {expunged(done)} leave {left}, expected {expected}")
    assert _uids_now(session) == expected, "the mailbox does not hold what UID EXPUNGE said"


@pytest.mark.requirement(rfc=9051, section="2.3.1.1", level="MUST NOT",
                         ids=("RFC9051-2.3.1.1-11", "RFC9051-2.3.1.1-1"))
@pytest.mark.requirement(rfc=9051, section="2.3.1.1", level="MUST", ids=("RFC9051-2.3.1.1-8",))
def test_uids_never_reused_after_expunge(session: ImapDriver, scratch: Scratch) -> None:
    """§2.3.1.1: "When a message is expunged, its UID MUST NOT be reused under the same
    UIDVALIDITY value"; "as each message is added to the mailbox, it is assigned a higher
    UID than those of all message(s) that are already in the mailbox"."""
    loaded = _five(session, scratch, "uid-reuse")
    expect_ok(session.command("STORE 5 +FLAGS.SILENT (\\Deleted)"), "STORE 5 \\Deleted")
    expect_ok(session.command("EXPUNGE"), "EXPUNGE")
    done = expect_ok(session.append(loaded.name, messages.plain("after expunge")), "APPEND")
    uid = append_uid(done)
    expect_ok(session.command("NOOP"), "NOOP")
    validity = status_values(session, loaded.name, "UIDVALIDITY")["UIDVALIDITY"]
    if uid is None:
        uid = _uids_now(session)[-1]
    assert validity != loaded.uidvalidity or uid > max(loaded.uids), (
        f"the message APPENDed after expunging UID {max(loaded.uids)} got UID {uid} under "
        f"the same UIDVALIDITY {validity}")


@pytest.mark.requirement(rfc=9051, section="2.3.1.2", level="MUST", ids=("RFC9051-2.3.1.2-1",))
@pytest.mark.requirement(rfc=9051, section="2.3.1.1", level="MUST", ids=("RFC9051-2.3.1.1-8",))
def test_sequence_numbers_follow_ascending_uids(session: ImapDriver, scratch: Scratch) -> None:
    """§2.3.1.2: "A message sequence number is a relative position from 1 to the number of
    messages in the mailbox. This position MUST be ordered by ascending unique
    identifiers", also after an expunge in the middle."""
    loaded = _five(session, scratch, "ascending")
    expect_ok(session.command("STORE 2 +FLAGS.SILENT (\\Deleted)"), "STORE 2 \\Deleted")
    expect_ok(session.command("EXPUNGE"), "EXPUNGE")
    views = fetched(expect_ok(session.command("FETCH 1:* (UID)"), "FETCH 1:* (UID)"))
    assert sorted(views) == [1, 2, 3, 4], (
        f"4 messages left: FETCH 1:* answered for sequence numbers {sorted(views)}")
    uids = [views[msn].uid or 0 for msn in sorted(views)]
    assert uids == sorted(uids) and len(set(uids)) == 4, (
        f"UIDs by sequence number {uids}: not strictly ascending")
    assert uids == [u for n, u in enumerate(loaded.uids, 1) if n != 2], (
        f"after expunging message 2, UIDs {uids}")


@pytest.mark.requirement(rfc=9051, section="5.2", level="MUST NOT")
def test_exists_never_shrinks(session: ImapDriver, scratch: Scratch) -> None:
    """§5.2: "it is NOT permitted to send an EXISTS response that would reduce the number
    of messages in the mailbox; only the EXPUNGE response can do this." EXPUNGE of two of
    three messages: any EXISTS sent counts what is left only after the EXPUNGEs."""
    name = scratch.create(session, "exists")
    load(session, name, KNOWN)
    expect_ok(session.command("STORE 1:2 +FLAGS.SILENT (\\Deleted)"), "STORE \\Deleted")
    done = expect_ok(session.command("EXPUNGE"), "EXPUNGE")
    count = 3
    for response in done.untagged:
        if isinstance(response, ExpungeData):
            count -= 1
        elif isinstance(response, ExistsData):
            assert response.count >= count, (
                f"EXISTS {response.count} while {count} messages are known to the client: "
                "an EXISTS may not reduce the count (RFC 9051 §5.2)")
            count = response.count
