"""RFC 9051 §6.3.11 STATUS and §7.3.3 the STATUS response: the items against a mailbox
whose content the test knows, STATUS of the selected mailbox, STATUS not changing the
selection; RFC 8438 STATUS=SIZE; UIDNEXT's rules from §2.3.1.1."""

from __future__ import annotations

import pytest

from conformance.drivers.imap import ImapDriver, quote
from conformance.suites.imap import messages
from conformance.suites.imap.conftest import KNOWN, rev2_mode
from conformance.suites.imap.support import (
    Loaded,
    Scratch,
    expect_no,
    expect_ok,
    fetched,
    load,
    only,
    status_values,
)
from reference.imap.responses import StatusData

pytestmark = pytest.mark.protocol("imap")


@pytest.mark.requirement(rfc=9051, section="6.3.11", level="MUST", ids=("RFC9051-6.3.11-1",))
def test_status_items_match_the_mailbox(session: ImapDriver, scratch: Scratch) -> None:
    """§6.3.11: MESSAGES "The number of messages in the mailbox", UNSEEN "The number of
    messages that do not have the \\Seen flag set", UIDNEXT, UIDVALIDITY; the response
    names the mailbox (§7.3.3). The mailbox holds the three known messages, one \\Seen."""
    name = scratch.create(session, "status")
    loaded = load(session, name, KNOWN)
    expect_ok(session.command("CLOSE"), "CLOSE")
    values = status_values(session, name, "MESSAGES UNSEEN UIDNEXT UIDVALIDITY")
    assert values.get("MESSAGES") == 3, f"STATUS MESSAGES: expected 3, got {values}"
    assert values.get("UNSEEN") == 2, (
        f"STATUS UNSEEN: expected 2 (one of three messages is \\Seen), got {values}")
    assert values.get("UIDVALIDITY") == loaded.uidvalidity, (
        f"STATUS UIDVALIDITY {values.get('UIDVALIDITY')} differs from SELECT's "
        f"{loaded.uidvalidity}")
    uidnext = values.get("UIDNEXT")
    assert isinstance(uidnext, int) and uidnext > max(loaded.uids), (
        f"STATUS UIDNEXT {uidnext} is not above the highest UID {max(loaded.uids)}")


@pytest.mark.requirement(rfc=9051, section="6.3.11", level="MUST")
@pytest.mark.needs("IMAP4rev2")
def test_status_deleted(session: ImapDriver, scratch: Scratch) -> None:
    """§6.3.11 (IMAP4rev2): DELETED "The number of messages that have the \\Deleted flag
    set"."""
    if not rev2_mode(session):
        pytest.skip("IMAP4rev2 could not be enabled on this connection")
    name = scratch.create(session, "status-deleted")
    load(session, name, [(messages.SIMPLE, ("\\Deleted",)), (messages.DEFAULTS, ())])
    expect_ok(session.command("UNSELECT"), "UNSELECT")
    values = status_values(session, name, "DELETED MESSAGES")
    assert values.get("DELETED") == 1 and values.get("MESSAGES") == 2, (
        f"STATUS (DELETED MESSAGES) of 2 messages, 1 \\Deleted: got {values}")


@pytest.mark.requirement(rfc=9051, section="6.3.11", level="MUST", ids=("RFC9051-6.3.11-3",))
def test_status_of_the_selected_mailbox(loaded: Loaded) -> None:
    """§6.3.11: "servers MUST be able to execute the STATUS command on the selected
    mailbox"."""
    values = status_values(loaded.driver, loaded.name, "MESSAGES UIDVALIDITY")
    assert values.get("MESSAGES") == len(loaded.messages), (
        f"STATUS of the selected mailbox: MESSAGES {values.get('MESSAGES')}, the mailbox "
        f"holds {len(loaded.messages)}")


@pytest.mark.requirement(rfc=9051, section="6.3.11", level="MUST")
@pytest.mark.requirement(rfc=3501, section="6.3.10", level="MUST NOT", ids=("RFC3501-6.3.10-1",))
def test_status_keeps_the_selection_and_the_flags(loaded: Loaded, scratch: Scratch) -> None:
    """§6.3.11: STATUS "does not change the currently selected mailbox, nor does it affect
    the state of any messages in the queried mailbox": FETCH still works on the selected
    mailbox, and STATUS of another mailbox leaves its messages unseen."""
    imap = loaded.driver
    other = scratch.create(imap, "status-other")
    expect_ok(imap.append(other, messages.plain("status other")), f"APPEND to {other}")
    for _ in range(2):
        values = status_values(imap, other, "MESSAGES UNSEEN RECENT"
                               if not rev2_mode(imap) else "MESSAGES UNSEEN")
        assert values.get("UNSEEN") == 1, f"STATUS changed the \\Seen state of {other}"
    done = expect_ok(imap.command("FETCH 1 (UID)"), "FETCH 1 (UID) after STATUS of another")
    assert 1 in fetched(done), "FETCH after STATUS returned nothing: the selection changed"


@pytest.mark.requirement(rfc=9051, section="6.3.11", level="MUST")
def test_status_of_missing_mailbox_is_no(session: ImapDriver, scratch: Scratch) -> None:
    """§6.3.11: "NO - status failure: no status for that name"."""
    missing = scratch.name(session, "missing")
    expect_no(session.command(f"STATUS {quote(missing)} (MESSAGES)"),
              f"STATUS of {missing}, which does not exist")


@pytest.mark.requirement(rfc=9051, section="6.3.11", level="MUST", ids=("RFC9051-6.3.11-5",))
@pytest.mark.needs("STATUS=SIZE|IMAP4rev2")
def test_status_size_covers_the_messages(loaded: Loaded) -> None:
    """§6.3.11 SIZE: "it MUST be equal to or greater than the sum of the values of the
    RFC822.SIZE FETCH message data items ... of all messages in the mailbox"."""
    imap = loaded.driver
    done = expect_ok(imap.command("FETCH 1:* (RFC822.SIZE)"), "FETCH 1:* (RFC822.SIZE)")
    total = sum(view.size or 0 for view in fetched(done).values())
    values = status_values(imap, loaded.name, "SIZE")
    size = values.get("SIZE")
    assert isinstance(size, int) and size >= total, (
        f"STATUS SIZE {size} is below the sum of RFC822.SIZE, {total}")


@pytest.mark.requirement(rfc=9051, section="2.3.1.1", level="MUST", ids=("RFC9051-2.3.1.1-5",))
@pytest.mark.requirement(rfc=3501, section="2.3.1.1", level="MUST", ids=("RFC3501-2.3.1.1-5",))
def test_uidnext_changes_only_with_new_messages(session: ImapDriver, scratch: Scratch) -> None:
    """§2.3.1.1: "the next unique identifier value MUST NOT change unless new messages are
    added to the mailbox; and second, the next unique identifier value MUST change
    whenever new messages are added to the mailbox, even if those new messages are
    subsequently expunged." """
    name = scratch.create(session, "uidnext")
    expect_ok(session.append(name, messages.plain("uidnext 1")), f"APPEND to {name}")
    first = status_values(session, name, "UIDNEXT")["UIDNEXT"]
    expect_ok(session.select(name), f"SELECT {name}")
    expect_ok(session.command("STORE 1 +FLAGS (\\Flagged)"), "STORE 1 +FLAGS (\\Flagged)")
    expect_ok(session.command("CLOSE"), "CLOSE")
    second = status_values(session, name, "UIDNEXT")["UIDNEXT"]
    assert second == first, (
        f"UIDNEXT changed from {first} to {second} though no message was added")
    expect_ok(session.append(name, messages.plain("uidnext 2")), f"APPEND to {name}")
    expect_ok(session.select(name), f"SELECT {name}")
    expect_ok(session.command("STORE 2 +FLAGS (\\Deleted)"), "STORE 2 +FLAGS (\\Deleted)")
    expect_ok(session.command("CLOSE"), "CLOSE (expunging the new message)")
    third = status_values(session, name, "UIDNEXT MESSAGES")
    assert third["MESSAGES"] == 1, f"CLOSE did not expunge the \\Deleted message: {third}"
    assert isinstance(third["UIDNEXT"], int) and isinstance(first, int)
    assert third["UIDNEXT"] > first, (
        f"UIDNEXT {third['UIDNEXT']} after a message was added (then expunged), {first} "
        "before: it MUST change")


@pytest.mark.requirement(rfc=9051, section="7.3.3", level="MUST")
def test_status_response_lists_each_requested_item(session: ImapDriver,
                                                   scratch: Scratch) -> None:
    """§6.3.11 "REQUIRED untagged responses: STATUS" with "the requested mailbox status
    information" (§7.3.3): every requested item, each once."""
    name = scratch.create(session, "status-items")
    done = expect_ok(session.command(f"STATUS {quote(name)} (UIDNEXT MESSAGES UNSEEN)"),
                     "STATUS (UIDNEXT MESSAGES UNSEEN)")
    response = only([s for s in done.of_type(StatusData) if s.mailbox == name],
                    f"STATUS response for {name}")
    names = [att.value for att, _ in response.attributes]
    assert sorted(names) == ["MESSAGES", "UIDNEXT", "UNSEEN"], (
        f"STATUS (UIDNEXT MESSAGES UNSEEN) answered with the items {names}")
