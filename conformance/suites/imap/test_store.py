"""RFC 9051 §6.4.6 STORE (FLAGS, +FLAGS, -FLAGS and their .SILENT forms), §2.3.2 flags
(permanent flags, keywords when PERMANENTFLAGS has \\*), UID STORE (§6.4.9), STORE in a
read-only (EXAMINEd) mailbox."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from conformance.drivers.imap import ImapDriver
from conformance.suites.imap import messages
from conformance.suites.imap.support import (
    Loaded,
    Scratch,
    expect_ok,
    fetched,
    flag_set,
    load,
    one_fetch,
    select_code,
    show,
)
from reference.imap.responses import Condition, FetchData

pytestmark = pytest.mark.protocol("imap")


def _flags(loaded: Loaded, msn: int) -> frozenset[str]:
    view = one_fetch(expect_ok(loaded.driver.command(f"FETCH {msn} (FLAGS)"),
                               f"FETCH {msn} (FLAGS)"), msn)
    assert view.flags is not None, f"FETCH {msn} (FLAGS) returned no FLAGS"
    return flag_set(view.flags)


@pytest.mark.requirement(rfc=9051, section="6.4.6", level="MUST")
@pytest.mark.parametrize("store, before, after", [
    ("+FLAGS (\\Seen \\Answered)", {"\\FLAGGED"}, {"\\FLAGGED", "\\SEEN", "\\ANSWERED"}),
    ("-FLAGS (\\Flagged)", {"\\FLAGGED"}, set()),
    ("FLAGS (\\Draft)", {"\\FLAGGED"}, {"\\DRAFT"}),
])
def test_store_changes_flags_and_reports_them(loaded: Loaded, store: str, before: set[str],
                                              after: set[str]) -> None:
    """§6.4.6: FLAGS replaces the flags, +FLAGS adds, -FLAGS removes; "The new value of the
    flags is returned as if a FETCH of those flags was done" (an untagged FETCH)."""
    assert _flags(loaded, 1) == before
    done = expect_ok(loaded.driver.command(f"STORE 1 {store}"), f"STORE 1 {store}")
    views = fetched(done)
    assert 1 in views and views[1].flags is not None, (
        f"STORE 1 {store}: no untagged FETCH with the new FLAGS (RFC 9051 §6.4.6)")
    assert flag_set(views[1].flags) == after, (
        f"STORE 1 {store}: the FETCH response says {sorted(views[1].flags)}, expected "
        f"{sorted(after)}")
    assert _flags(loaded, 1) == after, f"FETCH FLAGS after STORE 1 {store}"


@pytest.mark.requirement(rfc=9051, section="6.4.6", level="SHOULD", ids=("RFC9051-6.4.6-1",))
@pytest.mark.requirement(rfc=3501, section="6.4.6", level="SHOULD", ids=("RFC3501-6.4.6-1",))
@pytest.mark.parametrize("store", ["+FLAGS.SILENT (\\Seen)", "-FLAGS.SILENT (\\Flagged)",
                                   "FLAGS.SILENT (\\Answered)"])
def test_store_silent_sends_no_fetch(loaded: Loaded, store: str) -> None:
    """§6.4.6: "A suffix of ".SILENT" in the data item name prevents the untagged FETCH";
    the change is still made."""
    done = expect_ok(loaded.driver.command(f"STORE 1 {store}"), f"STORE 1 {store}")
    sent = [data for data in done.of_type(FetchData) if data.msn == 1]
    assert not sent, f"STORE 1 {store} sent an untagged FETCH for message 1: {sent}"


@pytest.mark.requirement(rfc=9051, section="6.4.6", level="MUST")
def test_store_silent_still_stores(loaded: Loaded) -> None:
    """§6.4.6: FLAGS.SILENT is "Equivalent to FLAGS, but without returning a new value"."""
    expect_ok(loaded.driver.command("STORE 2:3 +FLAGS.SILENT (\\Flagged)"), "STORE .SILENT")
    assert "\\FLAGGED" in _flags(loaded, 2) and "\\FLAGGED" in _flags(loaded, 3), (
        "STORE 2:3 +FLAGS.SILENT (\\Flagged) did not set \\Flagged")


@pytest.mark.requirement(rfc=9051, section="2.3.2", level="MUST")
def test_permanent_flags_persist_across_sessions(loaded: Loaded,
                                                 another: Callable[[], ImapDriver]) -> None:
    """§2.3.2: "Permanent flags are those that the client can add or remove from the
    message flags permanently; that is, concurrent and subsequent sessions will see any
    change in permanent flags." \\Answered, when in PERMANENTFLAGS."""
    permanent = select_code(loaded.select, "PERMANENTFLAGS")
    assert isinstance(permanent, tuple)
    if "\\ANSWERED" not in {f.upper() for f in permanent}:
        pytest.skip(f"\\Answered is not a permanent flag here: {permanent}")
    expect_ok(loaded.driver.command("STORE 3 +FLAGS (\\Answered)"), "STORE 3 +FLAGS")
    expect_ok(loaded.driver.command("CLOSE"), "CLOSE")
    second = another()
    expect_ok(second.examine(loaded.name), f"EXAMINE {loaded.name} in a new session")
    view = one_fetch(expect_ok(second.command("FETCH 3 (FLAGS)"), "FETCH 3 (FLAGS)"), 3)
    assert "\\ANSWERED" in flag_set(view.flags or ()), (
        f"a permanent \\Answered stored in one session is not seen in another: "
        f"{sorted(view.flags or ())}")


@pytest.mark.requirement(rfc=9051, section="7.1", level="MUST")
def test_new_keyword_when_permanentflags_has_star(loaded: Loaded) -> None:
    """§7.1 PERMANENTFLAGS: "The special flag \\* indicates that it is possible to create
    new keywords by attempting to store those flags in the mailbox." """
    permanent = select_code(loaded.select, "PERMANENTFLAGS")
    assert isinstance(permanent, tuple)
    if "\\*" not in permanent:
        pytest.skip(f"PERMANENTFLAGS has no \\*: {permanent}")
    expect_ok(loaded.driver.command("STORE 2 +FLAGS (ConformanceKeyword)"),
              "STORE 2 +FLAGS (ConformanceKeyword)")
    assert "ConformanceKeyword" in _flags(loaded, 2), (
        "a new keyword stored with \\* in PERMANENTFLAGS is not in FETCH FLAGS")


@pytest.mark.requirement(rfc=9051, section="6.4.9", level="MUST", ids=("RFC9051-6.4.9-2",))
@pytest.mark.requirement(rfc=3501, section="6.4.8", level="MUST", ids=("RFC3501-6.4.8-1",))
def test_uid_store_response_has_uid(loaded: Loaded) -> None:
    """§6.4.9: "server implementations MUST implicitly include the UID message data item as
    part of any FETCH response caused by a UID command" (UID STORE included)."""
    uid = loaded.uids[1]
    done = expect_ok(loaded.driver.command(f"UID STORE {uid} +FLAGS (\\Flagged)"),
                     f"UID STORE {uid} +FLAGS (\\Flagged)")
    views = fetched(done)
    assert 2 in views, f"UID STORE {uid}: no FETCH response for message 2"
    assert views[2].uid == uid, (
        f"UID STORE {uid}: the FETCH response carries UID {views[2].uid} (must be {uid})")


@pytest.mark.requirement(rfc=9051, section="6.4.9", level="MUST")
def test_uid_store_ignores_missing_uids(loaded: Loaded) -> None:
    """§6.4.9: "it is possible for a ... UID STORE to return an OK without performing any
    operations" for non-existent UIDs."""
    missing = max(loaded.uids) + 500
    done = loaded.driver.command(f"UID STORE {missing} +FLAGS (\\Flagged)")
    assert done.tagged.condition is Condition.OK, (
        f"UID STORE of a UID that does not exist: expected OK, got {show(done)!r}")


@pytest.mark.requirement(rfc=9051, section="6.3.3", level="MUST")
def test_store_in_examined_mailbox_changes_nothing(session: ImapDriver, scratch: Scratch,
                                                   observe: Callable[[str, Any], None]) -> None:
    """§6.3.3: with EXAMINE "No changes to the permanent state of the mailbox, including
    per-user state, are permitted": a STORE changes nothing (whether it is refused with NO
    or answered OK is the server's choice: recorded)."""
    name = scratch.create(session, "examine-store")
    loaded = load(session, name, [(messages.plain("read only"), ())], examine=True)
    done = session.command("STORE 1 +FLAGS (\\Flagged)")
    observe("store_in_examined_mailbox", show(done))
    assert "\\FLAGGED" not in _flags(loaded, 1), (
        f"STORE in an EXAMINEd mailbox ({show(done)}) set a flag")
    expect_ok(session.select(name), f"SELECT {name}")
    assert "\\FLAGGED" not in _flags(loaded, 1), (
        f"STORE in an EXAMINEd mailbox ({show(done)}) set a flag permanently")


@pytest.mark.requirement(rfc=9051, section="6.4.6", level="MUST")
@pytest.mark.informational
def test_store_without_change(loaded: Loaded, observe: Callable[[str, Any], None]) -> None:
    """§6.4.6: "Normally, STORE will return the updated value of the data with an untagged
    FETCH response." Whether a STORE that changes nothing (-FLAGS of an unset flag) still
    sends one: recorded."""
    done = expect_ok(loaded.driver.command("STORE 1 -FLAGS (\\Seen)"), "STORE 1 -FLAGS")
    observe("fetch_after_no_change", [f"{d.msn}" for d in done.of_type(FetchData)])
