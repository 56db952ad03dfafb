"""RFC 9051 §6.3.4 CREATE, §6.3.5 DELETE, §6.3.6 RENAME (INBOX included), and the UID
rules they carry (§2.3.1.1: a new incarnation of a name never reuses UIDs under the same
UIDVALIDITY). RFC 3501 §6.3.3-6.3.5 state the same rules for IMAP4rev1."""

from __future__ import annotations

import pytest

from conformance.drivers.imap import ImapDriver, quote
from conformance.suites.imap import messages
from conformance.suites.imap.support import (
    Scratch,
    append_uid,
    code_of,
    exists_in,
    expect_no,
    expect_ok,
    fetched,
    list_names,
    show,
    status_values,
)
from reference.imap.responses import Condition

pytestmark = pytest.mark.protocol("imap")


@pytest.mark.requirement(rfc=9051, section="6.3.4", level="MUST")
def test_create_then_listed(session: ImapDriver, scratch: Scratch) -> None:
    """§6.3.4: "An OK response is returned only if a new mailbox with that name has been
    created": LIST shows it, and it can be selected."""
    name = scratch.create(session, "create")
    assert exists_in(session, name), f"CREATE {name} said OK, but LIST does not show it"
    expect_ok(session.select(name), f"SELECT {name} after CREATE")


@pytest.mark.requirement(rfc=9051, section="6.3.4", level="MUST")
def test_create_existing_is_no(session: ImapDriver, scratch: Scratch) -> None:
    """§6.3.4: "It is an error to attempt to create ... a mailbox with a name that refers
    to an extant mailbox. Any error in creation will return a tagged NO response." """
    name = scratch.create(session, "twice")
    expect_no(session.create(name), f"CREATE {name} a second time")


@pytest.mark.requirement(rfc=9051, section="6.3.4", level="MUST")
@pytest.mark.parametrize("spelling", ["INBOX", "inbox"])
def test_create_inbox_is_no(session: ImapDriver, spelling: str) -> None:
    """§6.3.4: "It is an error to attempt to create INBOX" (INBOX is case-insensitive,
    §5.1) ... "Any error in creation will return a tagged NO response." """
    expect_no(session.create(spelling), f"CREATE {spelling}")


@pytest.mark.requirement(rfc=9051, section="6.3.4", level="MUST", ids=("RFC9051-6.3.4-6",))
@pytest.mark.requirement(rfc=3501, section="6.3.3", level="MUST", ids=("RFC3501-6.3.3-1",))
def test_create_with_trailing_delimiter(session: ImapDriver, scratch: Scratch) -> None:
    """§6.3.4: a name suffixed with the hierarchy separator is a declaration; "Server
    implementations that do not require this declaration MUST ignore the declaration. In
    any case, the name created is without the trailing hierarchy delimiter." """
    name = scratch.name(session, "trailing")
    delimiter = scratch.namespace(session).delimiter
    if delimiter is None:
        pytest.skip("flat mailbox names (NIL hierarchy delimiter)")
    expect_ok(session.create(name + delimiter), f"CREATE {name}{delimiter}")
    listed = list_names(session, "", name + "*")
    assert name in listed, (f"CREATE {name}{delimiter} created no mailbox named {name} "
                            f"(LIST shows {sorted(listed)})")
    assert name + delimiter not in listed, (
        f"CREATE {name}{delimiter} created a name with the trailing delimiter")


@pytest.mark.requirement(rfc=9051, section="6.3.4", level="SHOULD",
                         ids=("RFC9051-6.3.4-7", "RFC9051-6.3.4-8"))
@pytest.mark.requirement(rfc=3501, section="6.3.3", level="SHOULD",
                         ids=("RFC3501-6.3.3-2", "RFC3501-6.3.3-3"))
def test_create_makes_superiors(session: ImapDriver, scratch: Scratch) -> None:
    """§6.3.4: "an attempt to create "foo/bar/zap" ... SHOULD create foo/ and foo/bar/ if
    they do not already exist." """
    top = scratch.name(session, "superior")
    middle = scratch.child(session, top, "bar")
    leaf = scratch.child(session, middle, "zap")
    expect_ok(session.create(leaf), f"CREATE {leaf}")
    listed = list_names(session, "", top + "*")
    for name in (top, middle, leaf):
        assert name in listed, f"CREATE {leaf} did not create {name} (LIST: {sorted(listed)})"


@pytest.mark.requirement(rfc=9051, section="6.3.5", level="MUST")
def test_delete_removes_mailbox(session: ImapDriver, scratch: Scratch) -> None:
    """§6.3.5: "The DELETE command permanently removes the mailbox with the given name";
    SELECT of it then fails."""
    name = scratch.create(session, "delete")
    expect_ok(session.append(name, messages.plain("doomed")), f"APPEND to {name}")
    expect_ok(session.delete(name), f"DELETE {name}")
    assert not exists_in(session, name), f"DELETE {name} said OK, but LIST still shows it"
    expect_no(session.select(name), f"SELECT {name} after DELETE")


@pytest.mark.requirement(rfc=9051, section="6.3.5", level="MUST")
def test_delete_missing_is_no(session: ImapDriver, scratch: Scratch) -> None:
    """§6.3.5: "It is an error to attempt to delete INBOX or a mailbox name that does not
    exist" ("NO - delete failure")."""
    missing = scratch.name(session, "missing")
    expect_no(session.delete(missing), f"DELETE {missing} (no such mailbox)")


@pytest.mark.requirement(rfc=9051, section="6.3.5", level="MUST")
def test_delete_inbox_is_no(session: ImapDriver) -> None:
    """§6.3.5: "It is an error to attempt to delete INBOX" ("NO - delete failure")."""
    expect_no(session.delete("INBOX"), "DELETE INBOX")
    expect_ok(session.examine("INBOX"), "EXAMINE INBOX after the refused DELETE")


@pytest.mark.requirement(rfc=9051, section="6.3.5", level="MUST NOT",
                         ids=("RFC9051-6.3.5-2", "RFC9051-6.3.5-3"))
@pytest.mark.requirement(rfc=3501, section="6.3.4", level="MUST NOT",
                         ids=("RFC3501-6.3.4-1", "RFC3501-6.3.4-2"))
def test_delete_keeps_inferiors(session: ImapDriver, scratch: Scratch) -> None:
    """§6.3.5: "The DELETE command MUST NOT remove inferior hierarchical names." Whether
    the parent goes (it may stay as \\Noselect) or the DELETE is refused (NO, SHOULD with
    HASCHILDREN), the child survives."""
    parent = scratch.create(session, "parent")
    child = scratch.child(session, parent, "child")
    expect_ok(session.create(child), f"CREATE {child}")
    done = session.delete(parent)
    assert done.tagged.condition in (Condition.OK, Condition.NO), (
        f"DELETE {parent} (which has an inferior): expected OK or NO, got {show(done)!r}")
    assert exists_in(session, child), (
        f"DELETE {parent} ({show(done)}) removed its inferior {child}")
    expect_ok(session.select(child), f"SELECT {child} after DELETE {parent}")


@pytest.mark.requirement(rfc=9051, section="6.3.5", level="SHOULD",
                         ids=("RFC9051-6.3.5-5",))
def test_delete_refused_for_children_says_haschildren(session: ImapDriver,
                                                      scratch: Scratch) -> None:
    """§6.3.5: a server that refuses to delete a name with inferiors "SHOULD disallow the
    DELETE command by returning a tagged NO response. The NO response SHOULD include the
    HASCHILDREN response code." """
    parent = scratch.create(session, "parent")
    child = scratch.child(session, parent, "child")
    expect_ok(session.create(child), f"CREATE {child}")
    done = session.delete(parent)
    if done.tagged.condition is Condition.OK:
        pytest.skip("the target deletes names with inferiors (it MAY, leaving \\Noselect)")
    assert code_of(done.tagged) == "HASCHILDREN", (
        f"DELETE {parent} refused for its inferior: expected NO [HASCHILDREN], got "
        f"{show(done)!r}")


def _uid_after_reincarnation(session: ImapDriver, name: str,
                             retire: str) -> tuple[int, int, int, int]:
    """Append two messages to ``name``, retire it (``retire`` is DELETE or RENAME), make
    ``name`` again, append one: (old UIDVALIDITY, old highest UID, new UIDVALIDITY, new
    UID)."""
    for subject in ("first incarnation 1", "first incarnation 2"):
        expect_ok(session.append(name, messages.plain(subject)), f"APPEND to {name}")
    old = status_values(session, name, "UIDVALIDITY UIDNEXT")
    old_validity, old_next = old["UIDVALIDITY"], old["UIDNEXT"]
    assert isinstance(old_validity, int) and isinstance(old_next, int)
    expect_ok(session.select(name), f"SELECT {name}")
    done = expect_ok(session.command("FETCH * (UID)"), "FETCH * (UID)")
    old_uid = max(view.uid or 0 for view in fetched(done).values())
    expect_ok(session.command("CLOSE"), "CLOSE")
    if retire == "DELETE":
        expect_ok(session.delete(name), f"DELETE {name}")
    else:
        expect_ok(session.command(f"RENAME {quote(name)} {quote(name + '-renamed')}"),
                  f"RENAME {name}")
    expect_ok(session.create(name), f"CREATE {name} again")
    done = expect_ok(session.append(name, messages.plain("second incarnation")),
                     f"APPEND to the new {name}")
    new_validity = status_values(session, name, "UIDVALIDITY")["UIDVALIDITY"]
    assert isinstance(new_validity, int)
    new_uid = append_uid(done)
    if new_uid is None:
        expect_ok(session.select(name), f"SELECT the new {name}")
        found = fetched(expect_ok(session.command("FETCH 1 (UID)"), "FETCH 1 (UID)"))
        new_uid = found[1].uid or 0
    return old_validity, old_uid, new_validity, new_uid


@pytest.mark.requirement(rfc=9051, section="6.3.5", level="MUST", ids=("RFC9051-6.3.5-7",))
@pytest.mark.requirement(rfc=9051, section="6.3.4", level="MUST", ids=("RFC9051-6.3.4-9",))
@pytest.mark.requirement(rfc=3501, section="6.3.4", level="MUST", ids=("RFC3501-6.3.4-3",))
def test_recreated_mailbox_does_not_reuse_uids(session: ImapDriver, scratch: Scratch) -> None:
    """§6.3.5: "The value of the highest-used unique identifier of the deleted mailbox
    MUST be preserved so that a new mailbox created with the same name will not reuse the
    identifiers of the former incarnation, unless the new incarnation has a different
    unique identifier validity value." """
    name = scratch.create(session, "reincarnate")
    old_validity, old_uid, new_validity, new_uid = _uid_after_reincarnation(
        session, name, "DELETE")
    assert new_validity != old_validity or new_uid > old_uid, (
        f"{name} deleted and created again: the new message has UID {new_uid} under the "
        f"same UIDVALIDITY {new_validity}, but the old incarnation used UIDs up to "
        f"{old_uid}")


@pytest.mark.requirement(rfc=9051, section="6.3.6", level="MUST", ids=("RFC9051-6.3.6-5",))
@pytest.mark.requirement(rfc=3501, section="6.3.5", level="MUST", ids=("RFC3501-6.3.5-4",))
def test_name_renamed_away_does_not_reuse_uids(session: ImapDriver, scratch: Scratch) -> None:
    """§6.3.6: "The value of the highest-used unique identifier of the old mailbox name
    MUST be preserved so that a new mailbox created with the same name will not reuse the
    identifiers of the former incarnation, unless the new incarnation has a different
    unique identifier validity value." """
    name = scratch.create(session, "renamed-away")
    scratch.track(name + "-renamed")
    old_validity, old_uid, new_validity, new_uid = _uid_after_reincarnation(
        session, name, "RENAME")
    assert new_validity != old_validity or new_uid > old_uid, (
        f"{name} renamed away and created again: the new message has UID {new_uid} under "
        f"the same UIDVALIDITY {new_validity}, but the old name's mailbox used UIDs up to "
        f"{old_uid}")


@pytest.mark.requirement(rfc=9051, section="6.3.6", level="MUST")
def test_rename_moves_the_mailbox(session: ImapDriver, scratch: Scratch) -> None:
    """§6.3.6: "The RENAME command changes the name of a mailbox. A tagged OK response is
    returned only if the mailbox has been renamed": the old name is gone, the new one
    holds the messages."""
    old = scratch.create(session, "rename-from")
    new = scratch.name(session, "rename-to")
    expect_ok(session.append(old, messages.SIMPLE.raw), f"APPEND to {old}")
    expect_ok(session.command(f"RENAME {quote(old)} {quote(new)}"), f"RENAME {old} {new}")
    assert not exists_in(session, old), f"RENAME said OK, but LIST still shows {old}"
    assert exists_in(session, new), f"RENAME said OK, but LIST does not show {new}"
    assert status_values(session, new, "MESSAGES")["MESSAGES"] == 1, (
        f"the renamed mailbox {new} does not hold the one message of {old}")


@pytest.mark.requirement(rfc=9051, section="6.3.6", level="MUST")
def test_rename_errors_are_no(session: ImapDriver, scratch: Scratch) -> None:
    """§6.3.6: "It is an error to attempt to rename from a mailbox name that does not
    exist or to a mailbox name that already exists. Any error in renaming will return a
    tagged NO response." """
    missing = scratch.name(session, "missing")
    first = scratch.create(session, "rename-a")
    second = scratch.create(session, "rename-b")
    expect_no(session.command(f"RENAME {quote(missing)} {quote(first + '-x')}"),
              "RENAME of a mailbox that does not exist")
    expect_no(session.command(f"RENAME {quote(first)} {quote(second)}"),
              "RENAME to a name that already exists")
    assert exists_in(session, first) and exists_in(session, second), (
        "a refused RENAME removed one of its mailboxes")


@pytest.mark.requirement(rfc=9051, section="6.3.6", level="MUST", ids=("RFC9051-6.3.6-2",))
@pytest.mark.requirement(rfc=3501, section="6.3.5", level="MUST", ids=("RFC3501-6.3.5-1",))
def test_rename_moves_inferiors(session: ImapDriver, scratch: Scratch) -> None:
    """§6.3.6: "If the name has inferior hierarchical names, then the inferior
    hierarchical names MUST also be renamed." """
    old = scratch.create(session, "rename-parent")
    child = scratch.child(session, old, "bar")
    expect_ok(session.create(child), f"CREATE {child}")
    new = scratch.name(session, "renamed-parent")
    expect_ok(session.command(f"RENAME {quote(old)} {quote(new)}"), f"RENAME {old} {new}")
    moved = child.replace(old, new, 1)
    listed = list_names(session, "", new + "*")
    assert moved in listed, (f"RENAME {old} {new}: the inferior {child} was not renamed to "
                             f"{moved} (LIST: {sorted(listed)})")
    assert not exists_in(session, child), f"RENAME {old} {new} left {child} behind"


@pytest.mark.requirement(rfc=9051, section="6.3.6", level="MUST")
def test_rename_inbox(session: ImapDriver, scratch: Scratch) -> None:
    """§6.3.6: "Renaming INBOX is permitted and does not result in a tagged BAD response,
    and it has special behavior: It moves all messages in INBOX to a new mailbox with the
    given name, leaving INBOX empty." (Some servers refuse with NO, which is allowed.) The
    messages are put back into INBOX afterwards."""
    expect_ok(session.append("INBOX", messages.plain("inbox rename")), "APPEND to INBOX")
    before = status_values(session, "INBOX", "MESSAGES")["MESSAGES"]
    assert isinstance(before, int) and before >= 1
    target = scratch.name(session, "old-inbox")
    done = session.command(f"RENAME INBOX {quote(target)}")
    assert done.tagged.condition is not Condition.BAD, (
        f"RENAME INBOX {target}: got {show(done)!r}; renaming INBOX \"does not result in a "
        "tagged BAD response\"")
    if done.tagged.condition is Condition.NO:
        pytest.skip(f"the target refuses to rename INBOX ({show(done)}), which it may")
    try:
        assert exists_in(session, "INBOX"), "INBOX no longer exists after RENAME INBOX"
        moved = status_values(session, target, "MESSAGES")["MESSAGES"]
        left = status_values(session, "INBOX", "MESSAGES")["MESSAGES"]
        assert moved == before, (f"RENAME INBOX {target}: {target} holds {moved} messages, "
                                 f"INBOX held {before}")
        assert left == 0, f"RENAME INBOX {target} left {left} messages in INBOX"
    finally:
        # Put the account back as it was.
        if session.select(target).ok:
            session.command("COPY 1:* INBOX")
            session.command("CLOSE")
