"""RFC 9051 §6.4.4.1-6.4.4.2 the SAVE result option and the "$" search result variable
(RFC 5182 SEARCHRES): what must not change it, how it follows EXPUNGE, pipelined use;
§7.3.4 ESEARCH: no MIN/MAX for no match yet the response and its COUNT, complete UID
sets; RFC 4731 §3.2 MODSEQ with CONDSTORE and §4 case-insensitive keywords."""

from __future__ import annotations

import pytest

from conformance.drivers.imap import ImapDriver
from conformance.suites.imap.support import (
    Loaded,
    Scratch,
    expect_bad,
    expect_ok,
    expect_refused,
    fetched,
    load,
    numbers_of,
    only,
    show,
)
from reference.imap.responses import Condition, EsearchData, FetchData, StatusResponse

pytestmark = pytest.mark.protocol("imap")


def _saved_uids(loaded: Loaded, after: str) -> set[int]:
    """The UIDs of the messages "$" holds now (FETCH $ (UID))."""
    done = expect_ok(loaded.driver.command("FETCH $ (UID)"), f"FETCH $ (UID) after {after}")
    return {view.uid or 0 for view in fetched(done).values()}


def _esearch(driver: ImapDriver, command: str) -> EsearchData:
    done = expect_ok(driver.command(command), command)
    return only(done.of_type(EsearchData),
                f"ESEARCH response to {command} (RFC 9051 §7.3.4: it MUST be sent)")


@pytest.mark.requirement(rfc=9051, section="6.4.4.1", level="MUST NOT",
                         ids=("RFC9051-6.4.4.1-1",))
@pytest.mark.needs("SEARCHRES|IMAP4rev2")
def test_searches_without_save_keep_the_saved_result(loaded: Loaded) -> None:
    """§6.4.4.1: "Any of the following SEARCH commands MUST NOT change the search result
    variable: a SEARCH command that caused the server to return the BAD tagged response,
    a SEARCH command with no SAVE result option that caused the server to return NO
    tagged response, and a successful SEARCH command with no SAVE result option."""
    imap = loaded.driver
    expect_ok(imap.command("SEARCH RETURN (SAVE) FLAGGED"), "SEARCH RETURN (SAVE) FLAGGED")
    saved = {loaded.uids[0]}                                      # SIMPLE is \Flagged
    assert _saved_uids(loaded, "SEARCH RETURN (SAVE) FLAGGED") == saved
    others = [("SEARCH RETURN (ALL) SEEN", Condition.OK), ("SEARCH UNSEEN", Condition.OK),
              ("UID SEARCH RETURN (COUNT) ALL", Condition.OK),
              ("SEARCH RETURN (SAVE) NO-SUCH-SEARCH-KEY", Condition.BAD),
              ("SEARCH CHARSET X-CONFORMANCE-UNKNOWN SUBJECT x", Condition.NO)]
    for command, condition in others:
        done = imap.command(command)
        if condition is Condition.BAD:
            expect_bad(done, command)
        elif condition is Condition.NO:
            expect_refused(done, command)
        else:
            expect_ok(done, command)
        got = _saved_uids(loaded, command)
        assert got == saved, (
            f'after {command} ({show(done)}), "$" holds UIDs {sorted(got)}, but it must '
            f"still hold {sorted(saved)} from SEARCH RETURN (SAVE) FLAGGED")


@pytest.mark.requirement(rfc=9051, section="6.4.4.1", level="MUST", ids=("RFC9051-6.4.4.1-2",))
@pytest.mark.needs("SEARCHRES|IMAP4rev2")
def test_saved_result_follows_expunge(loaded: Loaded) -> None:
    """§6.4.4.1: "When a message listed in the search result variable is EXPUNGEd, it is
    automatically removed from the list", and a server that keeps message numbers "MUST
    automatically adjust them when notifying the client about expunged messages": after
    message 1 goes, "$" (messages 2 and 3) still means the same two messages."""
    imap = loaded.driver
    expect_ok(imap.command("SEARCH RETURN (SAVE) 2:3"), "SEARCH RETURN (SAVE) 2:3")
    expect_ok(imap.command("STORE 1 +FLAGS.SILENT (\\Deleted)"), "STORE 1 +FLAGS (\\Deleted)")
    expect_ok(imap.command("EXPUNGE"), "EXPUNGE")
    got = _saved_uids(loaded, "EXPUNGE of message 1")
    assert got == set(loaded.uids[1:]), (
        f'after message 1 was expunged, "$" gives UIDs {sorted(got)}; it saved messages '
        f"2 and 3, UIDs {loaded.uids[1:]}")
    expect_ok(imap.command("STORE 1 +FLAGS.SILENT (\\Deleted)"), "STORE 1 +FLAGS (\\Deleted)")
    expect_ok(imap.command("EXPUNGE"), "EXPUNGE")
    got = _saved_uids(loaded, "EXPUNGE of a saved message")
    assert got == {loaded.uids[2]}, (
        f'after one of the saved messages was expunged, "$" gives UIDs {sorted(got)}, '
        f"expected only {loaded.uids[2]}")


@pytest.mark.requirement(rfc=9051, section="6.4.4.2", level="MUST", ids=("RFC9051-6.4.4.2-1",))
@pytest.mark.requirement(rfc=3501, section="5.5", level="MUST", ids=("RFC3501-5.5-5",))
@pytest.mark.needs("SEARCHRES|IMAP4rev2")
def test_pipelined_save_then_fetch_run_in_order(loaded: Loaded) -> None:
    """§6.4.4.2: "Use of a SEARCH RETURN (SAVE) command followed by a command using the
    "$" marker creates direct dependency between the two commands ... a server MUST
    execute the two commands in the order they were received": both sent at once, the
    FETCH sees what the SEARCH saved."""
    imap = loaded.driver
    search, early = imap.start("UID SEARCH RETURN (SAVE) UNSEEN")
    assert early is None
    fetch, early = imap.start("UID FETCH $ (FLAGS)")
    assert early is None
    order: list[str] = []
    untagged = []
    while len(order) < 2:
        response = imap.read_response()
        if isinstance(response, StatusResponse) and response.tag is not None:
            assert response.condition is Condition.OK, f"pipelined: {show(response)!r}"
            order.append(response.tag)
        else:
            untagged.append(response)
    assert order == [search, fetch], f"pipelined SEARCH, FETCH completed as {order}"
    found = {data.msn for data in untagged if isinstance(data, FetchData)}
    assert found == {1, 3}, (
        f'UID FETCH $ pipelined after SEARCH RETURN (SAVE) UNSEEN fetched messages '
        f"{sorted(found)}, expected the unseen 1 and 3")


@pytest.mark.requirement(rfc=9051, section="7.3.4", level="MUST NOT",
                         ids=("RFC9051-7.3.4-2", "RFC9051-7.3.4-3", "RFC9051-7.3.4-7"))
@pytest.mark.needs("ESEARCH|IMAP4rev2")
def test_esearch_in_an_empty_mailbox(session: ImapDriver, scratch: Scratch) -> None:
    """§7.3.4: with no match "the server MUST NOT include the MIN [MAX] return item in
    the ESEARCH response; however, it still MUST send the ESEARCH response"; COUNT "MUST
    always be included": UID SEARCH in an empty mailbox."""
    load(session, scratch.create(session, "empty-search"), [])
    command = "UID SEARCH RETURN (MIN MAX COUNT) ALL"
    response = _esearch(session, command)
    assert response.uid, f"{command}: the ESEARCH response lacks UID"
    assert response.min is None and response.max is None, (
        f"{command} in an empty mailbox: MIN {response.min} MAX {response.max}")
    assert response.count == 0, f"{command} in an empty mailbox: COUNT {response.count}"


@pytest.mark.requirement(rfc=9051, section="7.3.4", level="MUST", ids=("RFC9051-7.3.4-4",))
@pytest.mark.requirement(rfc=4731, section="4", level="MUST", ids=("RFC4731-4-1",))
@pytest.mark.needs("ESEARCH|IMAP4rev2")
def test_esearch_all_is_complete(loaded: Loaded) -> None:
    """§7.3.4 ALL: "Each set MUST be complete; in particular, a UID set is returned in an
    ESEARCH response only when each number in the range corresponds to an existing
    (matching) message": with the middle message expunged, its UID is in no range.
    RFC 4731 §4: the keywords are case-insensitive (sent in lower case)."""
    imap = loaded.driver
    expect_ok(imap.command("STORE 2 +FLAGS.SILENT (\\Deleted)"), "STORE 2 +FLAGS (\\Deleted)")
    expect_ok(imap.command("EXPUNGE"), "EXPUNGE")
    for command in ("UID SEARCH RETURN (ALL COUNT) ALL", "uid search return (all count) all"):
        response = _esearch(imap, command)
        expected = {loaded.uids[0], loaded.uids[2]}
        assert numbers_of(response.all) == expected, (
            f"{command}: ALL {response.all} covers UIDs {sorted(numbers_of(response.all))}, "
            f"but only {sorted(expected)} exist (UID {loaded.uids[1]} was expunged)")
        assert response.count == 2, f"{command}: COUNT {response.count}, expected 2"


@pytest.mark.requirement(rfc=4731, section="3.2", level="MUST", ids=("RFC4731-3.2-1",))
@pytest.mark.needs("ESEARCH", "CONDSTORE")
def test_esearch_with_modseq_criterion_returns_modseq(loaded: Loaded) -> None:
    """RFC 4731 §3.2: with ESEARCH and CONDSTORE, result options "together with the
    MODSEQ search criterion" make the server "return the ESEARCH response containing the
    MODSEQ result option"."""
    for command in ("SEARCH RETURN (MIN) MODSEQ 1", "SEARCH RETURN (MIN MAX COUNT) MODSEQ 1"):
        response = _esearch(loaded.driver, command)
        assert response.modseq is not None and response.modseq > 0, (
            f"{command}: the ESEARCH response carries no MODSEQ: {response}")
