"""Two sessions of one account on one mailbox (RFC 9051 §5.2, §7, §7.5.1): what one does
shows on the other at its next command — FETCH FLAGS after a STORE, EXISTS after an
APPEND, EXPUNGE after an EXPUNGE — and never an EXPUNGE while a FETCH, STORE or SEARCH is
answered (the driver fails a test on such an EXPUNGE by itself)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from conformance.drivers.imap import ImapDriver
from conformance.suites.imap import messages
from conformance.suites.imap.conftest import rev2_mode
from conformance.suites.imap.support import (
    Loaded,
    apply_expunges,
    exists_count,
    expect_ok,
    expunged,
    fetched,
    flag_set,
    load,
    read_until,
)
from reference.imap.responses import ExpungeData

pytestmark = pytest.mark.protocol("imap")

# How long a session with no command in progress is watched for an EXPUNGE.
QUIET = 3.0


def _other(loaded: Loaded, another: Callable[[], ImapDriver]) -> ImapDriver:
    other = another()
    load(other, loaded.name, [])
    return other


def _expunge_second(other: ImapDriver) -> None:
    expect_ok(other.command("STORE 2 +FLAGS.SILENT (\\Deleted)"), "STORE 2 \\Deleted (B)")
    expect_ok(other.command("EXPUNGE"), "EXPUNGE (B)")


@pytest.mark.requirement(rfc=9051, section="5.2", level="SHOULD", ids=("RFC9051-5.2-2",))
@pytest.mark.requirement(rfc=9051, section="7", level="SHOULD", ids=("RFC9051-7-4",))
@pytest.mark.requirement(rfc=9051, section="6.4.6", level="SHOULD", ids=("RFC9051-6.4.6-2",))
def test_store_shows_on_the_other_session(loaded: Loaded,
                                          another: Callable[[], ImapDriver]) -> None:
    """§5.2: "A server SHOULD send message flag updates automatically, without requiring
    the client to request such updates explicitly": after session B flags message 3,
    session A's next NOOP brings "* 3 FETCH (FLAGS (... \\Flagged ...))"."""
    other = _other(loaded, another)
    expect_ok(other.command("STORE 3 +FLAGS.SILENT (\\Flagged)"), "STORE 3 +FLAGS (B)")
    done = expect_ok(loaded.driver.command("NOOP"), "NOOP (A)")
    views = fetched(done)
    assert 3 in views and views[3].flags is not None, (
        "session B flagged message 3; session A's NOOP brought no FETCH FLAGS for it "
        f"(responses: {[type(r).__name__ for r in done.untagged]})")
    assert "\\FLAGGED" in flag_set(views[3].flags), (
        f"the FETCH for message 3 after B's STORE says FLAGS {sorted(views[3].flags)}")


@pytest.mark.requirement(rfc=9051, section="7.5.2", level="MUST", ids=("RFC9051-7.5.2-19",))
@pytest.mark.needs("IMAP4rev2")
def test_unsolicited_fetch_carries_uid(loaded: Loaded,
                                       another: Callable[[], ImapDriver]) -> None:
    """§7.5.2: "If the server chooses to send unsolicited FETCH responses, they MUST
    include UID FETCH item. Note that this is a new requirement when compared to
    [RFC3501]." """
    if not rev2_mode(loaded.driver):
        pytest.skip("IMAP4rev2 could not be enabled on this connection")
    other = _other(loaded, another)
    expect_ok(other.command("STORE 1:3 +FLAGS.SILENT (\\Answered)"), "STORE (B)")
    done = expect_ok(loaded.driver.command("NOOP"), "NOOP (A)")
    views = fetched(done)
    if not views:
        pytest.skip("no unsolicited FETCH was sent (a SHOULD, tested separately)")
    for msn, view in views.items():
        assert view.uid == loaded.uids[msn - 1], (
            f"unsolicited FETCH for message {msn} carries UID {view.uid} (expected "
            f"{loaded.uids[msn - 1]}; RFC 9051 §7.5.2 MUST include UID)")


@pytest.mark.requirement(rfc=9051, section="5.2", level="MUST", ids=("RFC9051-5.2-1",))
@pytest.mark.requirement(rfc=9051, section="7.4.1", level="MUST")
def test_append_shows_as_exists(loaded: Loaded, another: Callable[[], ImapDriver]) -> None:
    """§5.2: "A server MUST send mailbox size updates automatically if a mailbox size
    change is observed during the processing of a command": after session B APPENDs,
    session A's NOOP brings "* 4 EXISTS"."""
    other = another()
    expect_ok(other.append(loaded.name, messages.plain("from B")), "APPEND (B)")
    done = expect_ok(loaded.driver.command("NOOP"), "NOOP (A)")
    assert exists_count(done) == 4, (
        f"after B APPENDed a 4th message, A's NOOP reported EXISTS {exists_count(done)}")


@pytest.mark.requirement(rfc=9051, section="7.5.1", level="MUST")
@pytest.mark.requirement(rfc=9051, section="5.2", level="MUST", ids=("RFC9051-5.2-1",))
def test_expunge_shows_on_the_other_session(loaded: Loaded,
                                            another: Callable[[], ImapDriver]) -> None:
    """§7.5.1/§5.2: after session B expunges message 2, session A's next NOOP brings
    "* 2 EXPUNGE" (the size change must be reported, and only EXPUNGE can reduce it)."""
    other = _other(loaded, another)
    _expunge_second(other)
    done = expect_ok(loaded.driver.command("NOOP"), "NOOP (A)")
    assert expunged(done) == [2], (
        f"after B expunged message 2, A's NOOP brought EXPUNGE {expunged(done)}")
    left = apply_expunges(loaded.uids, expunged(done))
    views = fetched(expect_ok(loaded.driver.command("FETCH 1:* (UID)"), "FETCH 1:* (UID) (A)"))
    assert [views[n].uid for n in sorted(views)] == left, (
        f"A's view after the EXPUNGE is {left}, the server's {[views[n].uid for n in views]}")


@pytest.mark.requirement(rfc=9051, section="7.5.1", level="MUST NOT", ids=("RFC9051-7.5.1-1",))
@pytest.mark.requirement(rfc=3501, section="7.4.1", level="MUST NOT", ids=("RFC3501-7.4.1-1",))
@pytest.mark.parametrize("command", ["FETCH 1:* (FLAGS)", "STORE 1 +FLAGS (\\Seen)",
                                     "SEARCH ALL"])
def test_no_expunge_during_fetch_store_search(loaded: Loaded,
                                              another: Callable[[], ImapDriver],
                                              command: str) -> None:
    """§7.5.1: "An EXPUNGE response MUST NOT be sent when no command is in progress, nor
    while responding to a FETCH, STORE, or SEARCH command." Session B expunges message 2;
    session A's FETCH, STORE or SEARCH gets no EXPUNGE (the driver fails the test on one);
    A's following NOOP does."""
    other = _other(loaded, another)
    _expunge_second(other)
    done = loaded.driver.command(command)
    assert not done.of_type(ExpungeData), f"EXPUNGE during {command}"
    done = expect_ok(loaded.driver.command("NOOP"), "NOOP (A)")
    assert expunged(done) == [2], (
        f"after B expunged message 2 and A's {command}, A's NOOP brought EXPUNGE "
        f"{expunged(done)}")


@pytest.mark.requirement(rfc=9051, section="2.3.1.1", level="MUST NOT", ids=("RFC9051-2.3.1.1-2",))
def test_uids_same_in_both_sessions(loaded: Loaded,
                                    another: Callable[[], ImapDriver]) -> None:
    """§2.3.1.1: "The unique identifier of a message MUST NOT change during the session":
    a second session, and the first after the second's activity, see the same UIDs."""
    other = _other(loaded, another)
    expect_ok(other.append(loaded.name, messages.plain("another")), "APPEND (B)")
    views = fetched(expect_ok(other.command("FETCH 1:3 (UID)"), "FETCH 1:3 (UID) (B)"))
    assert [views[n].uid for n in (1, 2, 3)] == loaded.uids, (
        f"session B sees UIDs {[views[n].uid for n in (1, 2, 3)]}, A saw {loaded.uids}")
    expect_ok(loaded.driver.command("NOOP"), "NOOP (A)")
    views = fetched(expect_ok(loaded.driver.command("FETCH 1:3 (UID)"), "FETCH (A)"))
    assert [views[n].uid for n in (1, 2, 3)] == loaded.uids, (
        f"session A now sees UIDs {[views[n].uid for n in (1, 2, 3)]}, before {loaded.uids}")


@pytest.mark.requirement(rfc=9051, section="7.5.1", level="MUST NOT", ids=("RFC9051-7.5.1-1",))
@pytest.mark.requirement(rfc=9051, section="5.3", level="MUST NOT")
def test_no_expunge_without_a_command(loaded: Loaded,
                                      another: Callable[[], ImapDriver]) -> None:
    """§7.5.1: "An EXPUNGE response MUST NOT be sent when no command is in progress" (§5.3:
    untagged responses are permitted then "except for EXPUNGE"). Session B expunges
    message 2; session A, with no command in progress, receives no EXPUNGE for
    ``QUIET`` seconds; its next NOOP does."""
    other = _other(loaded, another)
    _expunge_second(other)
    seen, found = read_until(loaded.driver, lambda r: isinstance(r, ExpungeData),
                             timeout=QUIET)
    assert not found, (
        f"session A received {[r for r in seen if isinstance(r, ExpungeData)]} while no "
        "command was in progress")
    done = expect_ok(loaded.driver.command("NOOP"), "NOOP (A)")
    assert expunged(done) == [2], f"A's NOOP brought EXPUNGE {expunged(done)}, expected [2]"
