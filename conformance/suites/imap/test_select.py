"""RFC 9051 §6.3.2 SELECT and §6.3.3 EXAMINE: the required untagged data, READ-WRITE and
READ-ONLY, CLOSED when another SELECT deselects (§7.1), and what a failed SELECT leaves.
RFC 3501 §6.3.1-6.3.2 for IMAP4rev1 servers (RECENT is required there)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from conformance.drivers.imap import ImapDriver
from conformance.suites.imap.conftest import KNOWN, rev2_mode
from conformance.suites.imap.support import (
    SYSTEM_FLAGS,
    Loaded,
    Scratch,
    code_of,
    expect_no,
    expect_ok,
    fetched,
    load,
    show,
    untagged_codes,
)
from reference.imap.responses import (
    ExistsData,
    FlagsData,
    ListData,
    RecentData,
)

pytestmark = pytest.mark.protocol("imap")


def _check_required(done_name: str, loaded: Loaded) -> None:
    done = loaded.select
    flags = done.of_type(FlagsData)
    assert flags, f"{done_name}: no untagged FLAGS response (RFC 9051 §6.3.2 REQUIRED)"
    # §7.3.5: "identifies the flags (at a minimum, the system-defined flags)"
    listed = {f.upper() for f in flags[-1].flags}
    missing = [f for f in SYSTEM_FLAGS if f.upper() not in listed]
    assert not missing, (f"{done_name}: the FLAGS response lacks the system flags {missing} "
                         "(RFC 9051 §7.3.5: \"at a minimum, the system-defined flags\")")
    exists = done.of_type(ExistsData)
    assert exists, f"{done_name}: no untagged EXISTS response (RFC 9051 §6.3.2 REQUIRED)"
    assert exists[-1].count == len(loaded.messages), (
        f"{done_name}: {exists[-1].count} EXISTS, but the mailbox holds "
        f"{len(loaded.messages)} messages the test APPENDed")
    codes = untagged_codes(done)
    for code in ("PERMANENTFLAGS", "UIDNEXT", "UIDVALIDITY"):
        assert code in codes, (f"{done_name}: no untagged OK [{code} ...] "
                               "(RFC 9051 §6.3.2 REQUIRED OK untagged responses)")
    uidnext = codes["UIDNEXT"].code_data
    assert isinstance(uidnext, int)
    assert uidnext > max(loaded.uids), (
        f"{done_name}: UIDNEXT {uidnext} is not above the highest UID {max(loaded.uids)} "
        "(RFC 9051 §2.3.1.1: the predicted value of the next UID)")


@pytest.mark.requirement(rfc=9051, section="6.3.2", level="MUST",
                         ids=("RFC9051-6.3.2-2", "RFC9051-6.3.2-3"))
@pytest.mark.requirement(rfc=3501, section="6.3.1", level="MUST",
                         ids=("RFC3501-6.3.1-2", "RFC3501-6.3.1-3"))
def test_select_sends_required_data(loaded: Loaded) -> None:
    """§6.3.2: before the OK, FLAGS, <n> EXISTS, OK [PERMANENTFLAGS], OK [UIDNEXT] and
    OK [UIDVALIDITY] (both revisions), the numbers true to the mailbox."""
    _check_required("SELECT", loaded)


@pytest.mark.requirement(rfc=9051, section="6.3.3", level="MUST",
                         ids=("RFC9051-6.3.3-2", "RFC9051-6.3.3-3"))
@pytest.mark.requirement(rfc=3501, section="6.3.2", level="MUST",
                         ids=("RFC3501-6.3.2-2", "RFC3501-6.3.2-4"))
def test_examine_sends_required_data_and_read_only(session: ImapDriver,
                                                   scratch: Scratch) -> None:
    """§6.3.3: EXAMINE "returns the same output" as SELECT, and "The text of the tagged OK
    response to the EXAMINE command MUST begin with the "[READ-ONLY]" response code"."""
    loaded = load(session, scratch.create(session, "examine"), KNOWN, examine=True)
    _check_required("EXAMINE", loaded)
    assert code_of(loaded.select.tagged) == "READ-ONLY", (
        f"EXAMINE: expected a tagged 'OK [READ-ONLY] ...', got {show(loaded.select)!r}")


@pytest.mark.requirement(rfc=9051, section="6.3.2", level="MUST",
                         ids=("RFC9051-6.3.2-1", "RFC9051-6.3.2-4", "RFC9051-6.3.2-5"))
@pytest.mark.needs("IMAP4rev2")
def test_select_sends_list_response(loaded: Loaded) -> None:
    """§6.3.2 (IMAP4rev2): "The server MUST return a LIST response with the mailbox name.
    The list of mailbox attributes MUST be accurate" (a selectable mailbox: no
    \\Noselect or \\NonExistent)."""
    if not rev2_mode(loaded.driver):
        pytest.skip("IMAP4rev2 could not be enabled on this connection")
    lists = [item for item in loaded.select.of_type(ListData) if item.mailbox == loaded.name]
    assert lists, (f"SELECT {loaded.name}: no untagged LIST response with the mailbox name "
                   "(RFC 9051 §6.3.2 REQUIRED)")
    attributes = {a.upper() for a in lists[0].attributes}
    assert not attributes & {"\\NOSELECT", "\\NONEXISTENT"}, (
        f"SELECT {loaded.name}: the LIST response marks the selected mailbox "
        f"{sorted(attributes)}: not accurate (RFC 9051 §6.3.2)")


@pytest.mark.requirement(rfc=3501, section="6.3.1", level="MUST", ids=("RFC3501-6.3.1-1",))
def test_rev1_select_sends_recent(rev1_session: ImapDriver, scratch: Scratch) -> None:
    """RFC 3501 §6.3.1: "REQUIRED untagged responses: FLAGS, EXISTS, RECENT" (an IMAP4rev1
    client, RFC 9051 §7.2.2: "server responses MUST conform to [RFC3501]")."""
    if "IMAP4REV1" not in rev1_session.capabilities:
        pytest.skip("the target does not offer IMAP4rev1")
    loaded = load(rev1_session, scratch.create(rev1_session, "recent"), KNOWN[:1])
    assert loaded.select.of_type(RecentData), (
        "SELECT as an IMAP4rev1 client: no untagged RECENT response "
        "(RFC 3501 §6.3.1 REQUIRED)")


@pytest.mark.requirement(rfc=9051, section="6.3.2", level="SHOULD", ids=("RFC9051-6.3.2-8",))
@pytest.mark.requirement(rfc=3501, section="6.3.1", level="SHOULD", ids=("RFC3501-6.3.1-5",))
def test_select_says_read_write(loaded: Loaded) -> None:
    """§6.3.2: "If the client is permitted to modify the mailbox, the server SHOULD prefix
    the text of the tagged OK response with the "[READ-WRITE]" response code." """
    assert code_of(loaded.select.tagged) == "READ-WRITE", (
        f"SELECT of the user's own mailbox: expected 'OK [READ-WRITE] ...', got "
        f"{show(loaded.select)!r}")


@pytest.mark.requirement(rfc=9051, section="6.3.2", level="MUST", ids=("RFC9051-6.3.2-7",))
@pytest.mark.needs("IMAP4rev2")
def test_reselect_sends_closed(loaded: Loaded, scratch: Scratch) -> None:
    """§6.3.2: "When deselecting a selected mailbox, the server MUST return an untagged OK
    response with the "[CLOSED]" response code when the currently selected mailbox is
    closed" (a SELECT while another mailbox is selected)."""
    imap = loaded.driver
    if not rev2_mode(imap):
        pytest.skip("IMAP4rev2 could not be enabled on this connection")
    other = scratch.create(imap, "other")
    done = expect_ok(imap.select(other), f"SELECT {other} while {loaded.name} is selected")
    assert "CLOSED" in untagged_codes(done), (
        f"SELECT {other} while {loaded.name} was selected: no untagged OK [CLOSED] "
        "(RFC 9051 §6.3.2 MUST)")


@pytest.mark.requirement(rfc=9051, section="6.3.2", level="MUST")
def test_select_missing_mailbox_is_no(session: ImapDriver, scratch: Scratch) -> None:
    """§6.3.2: "NO - select failure, now in authenticated state: no such mailbox"."""
    missing = scratch.name(session, "missing")
    expect_no(session.select(missing), f"SELECT {missing} (no such mailbox)")


def _second_view(loaded: Loaded, another: Callable[[], ImapDriver]) -> tuple[int, list[int]]:
    """(UIDVALIDITY, UIDs by sequence number) of ``loaded``'s mailbox in a new session."""
    second = another()
    again = load(second, loaded.name, [])
    views = fetched(expect_ok(second.command("FETCH 1:* (UID)"),
                              "FETCH 1:* (UID) in a second session"))
    return again.uidvalidity, [views[msn].uid or 0 for msn in sorted(views)]


@pytest.mark.requirement(rfc=9051, section="2.3.1.1", level="MUST",
                         ids=("RFC9051-2.3.1.1-3",))
@pytest.mark.requirement(rfc=3501, section="2.3.1.1", level="MUST",
                         ids=("RFC3501-2.3.1.1-3", "RFC3501-2.3.1.1-6"))
def test_uid_change_between_sessions_is_detectable(
        loaded: Loaded, another: Callable[[], ImapDriver]) -> None:
    """§2.3.1.1: "Any change of unique identifiers between sessions MUST be detectable
    using the UIDVALIDITY mechanism"; "If unique identifiers from an earlier session fail
    to persist in this session, the unique identifier validity value MUST be greater than
    the one used in the earlier session": same UIDVALIDITY, same UIDs; else a greater one."""
    validity, uids = _second_view(loaded, another)
    if validity == loaded.uidvalidity:
        assert uids == loaded.uids, (
            f"a second session sees UIDs {uids} for the messages the first saw as "
            f"{loaded.uids}, under the same UIDVALIDITY {validity}")
    else:
        assert validity > loaded.uidvalidity, (
            f"UIDVALIDITY went from {loaded.uidvalidity} to {validity}: when UIDs do not "
            "persist it must grow")


@pytest.mark.requirement(rfc=9051, section="2.3.1.1", level="SHOULD",
                         ids=("RFC9051-2.3.1.1-7",))
@pytest.mark.requirement(rfc=3501, section="2.3.1.1", level="SHOULD",
                         ids=("RFC3501-2.3.1.1-7",))
def test_uids_persist_between_sessions(loaded: Loaded,
                                       another: Callable[[], ImapDriver]) -> None:
    """§2.3.1.1: "Ideally, unique identifiers SHOULD persist at all times" (and "SHOULD
    NOT change between sessions"): a second session sees the same UIDVALIDITY and UIDs."""
    validity, uids = _second_view(loaded, another)
    assert (validity, uids) == (loaded.uidvalidity, loaded.uids), (
        f"a second session sees UIDVALIDITY {validity} and UIDs {uids}; the first saw "
        f"{loaded.uidvalidity} and {loaded.uids}")


@pytest.mark.requirement(rfc=3501, section="6.3.1", level="MUST", ids=("RFC3501-6.3.1-2",))
def test_rev1_select_sends_unseen(rev1_session: ImapDriver, scratch: Scratch) -> None:
    """RFC 3501 §6.3.1: "REQUIRED OK untagged responses: UNSEEN, PERMANENTFLAGS, UIDNEXT,
    UIDVALIDITY"; OK [UNSEEN <n>] is "The message sequence number of the first unseen
    message in the mailbox" (here message 2: message 1 is \\Seen)."""
    if "IMAP4REV1" not in rev1_session.capabilities:
        pytest.skip("the target does not offer IMAP4rev1")
    loaded = load(rev1_session, scratch.create(rev1_session, "unseen"),
                  [(KNOWN[1][0], ("\\Seen",)), (KNOWN[0][0], ())])
    unseen = untagged_codes(loaded.select).get("UNSEEN")
    assert unseen is not None, (
        "SELECT by an IMAP4rev1 client of a mailbox with an unseen message: no OK [UNSEEN n]"
        " (RFC 3501 §6.3.1 REQUIRED)")
    assert unseen.code_data == 2, (
        f"OK [UNSEEN {unseen.code_data}]: the first unseen message is 2")
