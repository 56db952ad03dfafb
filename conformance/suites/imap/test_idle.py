"""RFC 2177 and RFC 9051 §6.3.13 IDLE: the "+" continuation, updates from another session
while idling (EXISTS after an APPEND, EXPUNGE, FETCH with UID), DONE answered at once with
the tagged OK. Every wait is bounded (``WAIT`` seconds)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from conformance.drivers.imap import ImapDriver
from conformance.suites.imap import messages
from conformance.suites.imap.conftest import rev2_mode
from conformance.suites.imap.support import (
    WAIT,
    Loaded,
    expect_ok,
    idle_done,
    idle_start,
    read_until,
    show,
)
from reference.imap.response_data import UidItem
from reference.imap.responses import (
    Condition,
    Continuation,
    ExistsData,
    ExpungeData,
    FetchData,
    Response,
    StatusResponse,
)

pytestmark = pytest.mark.protocol("imap")


def _needs_idle(driver: ImapDriver) -> None:
    """IDLE is advertised, or part of IMAP4rev2 (RFC 9051 §6.3.13)."""
    if not ({"IDLE", "IMAP4REV2"} & driver.capabilities):
        pytest.skip("UNSUPPORTED: neither IDLE nor IMAP4rev2 is advertised")


@pytest.mark.requirement(rfc=2177, section="3", level="MUST", ids=("RFC2177-3-3",))
@pytest.mark.requirement(rfc=9051, section="6.3.13", level="MUST", ids=("RFC9051-6.3.13-2",))
@pytest.mark.parametrize("state", ["authenticated", "selected"])
def test_idle_continuation_and_done(request: pytest.FixtureRequest, state: str) -> None:
    """§6.3.13: "The server requests a response to the IDLE command using the continuation
    ("+") response"; on "DONE" the server "MUST immediately send the tagged response to
    the IDLE command" (OK - "IDLE completed after client sent DONE"). IDLE is a command
    of the authenticated state (§6.3) and so of the selected state too."""
    driver = (request.getfixturevalue("loaded").driver if state == "selected"
              else request.getfixturevalue("session"))
    _needs_idle(driver)
    tag = idle_start(driver)
    done = idle_done(driver, tag)
    assert done.tagged.condition is Condition.OK, (
        f"IDLE ... DONE in the {state} state: expected a tagged OK, got {show(done)!r}")
    expect_ok(driver.command("NOOP"), "NOOP after IDLE")


@pytest.mark.requirement(rfc=9051, section="3.1", level="MUST", ids=("RFC9051-3.1-1",))
def test_idle_needs_authentication(imap: ImapDriver) -> None:
    """§6.3: IDLE is valid in the authenticated and selected states; before login it is
    refused (BAD or NO, §3), not answered with "+"."""
    tag, early = imap.start("IDLE")
    assert early is None
    responses, found = read_until(imap, lambda r: isinstance(r, Continuation) or (
        isinstance(r, StatusResponse) and r.tag == tag))
    assert found, f"no answer to IDLE in the not authenticated state within {WAIT:g} s"
    last = responses[-1]
    if isinstance(last, Continuation):
        imap.send(b"DONE\r\n")
        raise AssertionError('IDLE in the not authenticated state was answered with "+" '
                             "(RFC 9051 §3: BAD or NO)")
    assert isinstance(last, StatusResponse)
    assert last.condition in (Condition.BAD, Condition.NO), (
        f"IDLE in the not authenticated state: expected BAD or NO, got {show(last)!r}")


def _while_idle(loaded: Loaded, other: ImapDriver, action: Callable[[ImapDriver], None],
                wanted: Callable[[Response], bool]
                ) -> tuple[list[Response], bool, list[Response]]:
    """IDLE on ``loaded``'s connection, ``action`` on ``other``, then wait (bounded) for a
    response satisfying ``wanted``; DONE. Returns (responses during IDLE, found, responses
    that came with the tagged OK and the NOOP after it)."""
    imap = loaded.driver
    _needs_idle(imap)
    tag = idle_start(imap)
    action(other)
    seen, found = read_until(imap, wanted)
    done = idle_done(imap, tag)
    assert done.tagged.condition is Condition.OK, f"DONE: expected OK, got {show(done)!r}"
    after = list(done.untagged)
    after += expect_ok(imap.command("NOOP"), "NOOP after IDLE").untagged
    return seen, found, after


def _append(name: str) -> Callable[[ImapDriver], None]:
    def act(other: ImapDriver) -> None:
        expect_ok(other.append(name, messages.plain("arrives during IDLE")),
                  "APPEND from the second session")
    return act


@pytest.mark.requirement(rfc=9051, section="7", level="SHOULD", ids=("RFC9051-7-4",))
@pytest.mark.requirement(rfc=2177, section="3", level="SHOULD")
def test_idle_reports_new_message(loaded: Loaded,
                                  another: Callable[[], ImapDriver]) -> None:
    """RFC 2177 §3: while IDLE is active "the server is now free to send untagged EXISTS,
    EXPUNGE, and other messages at any time"; the point of IDLE ("It's often more
    desirable to have the server transmit updates to the client in real time") is that an
    APPEND from another session shows as "* 4 EXISTS" during the IDLE."""
    seen, found, _ = _while_idle(loaded, another(), _append(loaded.name),
                                 lambda r: isinstance(r, ExistsData))
    assert found, (f"no EXISTS within {WAIT:g} s of an APPEND by another session during "
                   f"IDLE (got {seen})")
    counts = [r.count for r in seen if isinstance(r, ExistsData)]
    assert counts[-1] == 4, f"EXISTS during IDLE says {counts[-1]}, the mailbox holds 4"


@pytest.mark.requirement(rfc=9051, section="5.2", level="MUST", ids=("RFC9051-5.2-1",))
def test_idle_new_message_known_by_the_next_command(
        loaded: Loaded, another: Callable[[], ImapDriver]) -> None:
    """§5.2: "A server MUST send mailbox size updates automatically if a mailbox size
    change is observed during the processing of a command": the message APPENDed by
    another session during IDLE is announced during IDLE, with DONE's OK, or at the latest
    in answer to the next NOOP."""
    seen, _, after = _while_idle(loaded, another(), _append(loaded.name),
                                 lambda r: isinstance(r, ExistsData))
    counts = [r.count for r in [*seen, *after] if isinstance(r, ExistsData)]
    assert counts and counts[-1] == 4, (
        f"after an APPEND by another session, IDLE, DONE and NOOP reported EXISTS {counts} "
        "(expected 4)")


@pytest.mark.requirement(rfc=9051, section="7", level="SHOULD", ids=("RFC9051-7-4",))
@pytest.mark.requirement(rfc=2177, section="3", level="SHOULD")
def test_idle_reports_expunge(loaded: Loaded, another: Callable[[], ImapDriver]) -> None:
    """RFC 9051 §7: servers offering simultaneous access "SHOULD also send appropriate
    unilateral untagged FETCH and EXPUNGE responses if another agent changes the state of
    any message"; during IDLE: "* 2 EXPUNGE" when another session expunges message 2."""
    def expunge_second(other: ImapDriver) -> None:
        expect_ok(other.select(loaded.name), "SELECT in the second session")
        expect_ok(other.command("STORE 2 +FLAGS.SILENT (\\Deleted)"), "STORE \\Deleted")
        expect_ok(other.command("EXPUNGE"), "EXPUNGE in the second session")

    seen, found, _ = _while_idle(loaded, another(), expunge_second,
                                 lambda r: isinstance(r, ExpungeData))
    assert found, f"no EXPUNGE within {WAIT:g} s of another session's EXPUNGE during IDLE"
    numbers = [r.msn for r in seen if isinstance(r, ExpungeData)]
    assert numbers == [2], f"EXPUNGE during IDLE for {numbers}, expected message 2"


@pytest.mark.requirement(rfc=9051, section="6.3.13", level="MUST", ids=("RFC9051-6.3.13-1",))
@pytest.mark.needs("IMAP4rev2")
def test_idle_fetch_carries_uid(loaded: Loaded, another: Callable[[], ImapDriver]) -> None:
    """§6.3.13: "If the server chooses to send unsolicited FETCH responses, they MUST
    include a UID FETCH item." Another session flags message 3 during IDLE."""
    if not rev2_mode(loaded.driver):
        pytest.skip("IMAP4rev2 could not be enabled on this connection")

    def flag_third(other: ImapDriver) -> None:
        expect_ok(other.select(loaded.name), "SELECT in the second session")
        expect_ok(other.command("STORE 3 +FLAGS.SILENT (\\Answered)"), "STORE 3 \\Answered")

    seen, _, after = _while_idle(loaded, another(), flag_third,
                                 lambda r: isinstance(r, FetchData))
    fetches = [r for r in [*seen, *after] if isinstance(r, FetchData)]
    if not fetches:
        pytest.skip("no unsolicited FETCH was sent (a SHOULD, tested in test_concurrency.py)")
    for response in fetches:
        uid = response.item(UidItem)
        assert isinstance(uid, UidItem), (
            f"unsolicited FETCH for message {response.msn} without UID "
            f"({[type(i).__name__ for i in response.items]})")
        assert uid.uid == loaded.uids[response.msn - 1], (
            f"unsolicited FETCH {response.msn}: UID {uid.uid}, expected "
            f"{loaded.uids[response.msn - 1]}")

