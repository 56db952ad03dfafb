"""RFC 9051 §6.3.12 APPEND: the message stored octet for octet, flags and date-time
arguments, [TRYCREATE] for a missing mailbox (never created), APPENDUID (§7.1, RFC 4315
UIDPLUS), EXISTS to a client that has the mailbox selected, 8-bit message data."""

from __future__ import annotations

import pytest

from conformance.drivers.imap import ImapDriver, listed_numbers, quote
from conformance.suites.imap import messages
from conformance.suites.imap.support import (
    Loaded,
    Scratch,
    code_of,
    exists_count,
    exists_in,
    expect_ok,
    fetched,
    flag_set,
    load,
    one_fetch,
    show,
    status_values,
)
from reference.imap.responses import AppendUid, Condition

pytestmark = pytest.mark.protocol("imap")


@pytest.mark.requirement(rfc=9051, section="6.3.12", level="MUST")
@pytest.mark.requirement(rfc=9051, section="2.3.1.1", level="MUST", ids=("RFC9051-2.3.1.1-10",))
def test_append_stores_the_octets(session: ImapDriver, scratch: Scratch) -> None:
    """§6.3.12: "The APPEND command appends the literal argument as a new message to the
    end of the specified destination mailbox": BODY.PEEK[] returns exactly the octets
    APPENDed, and RFC822.SIZE (§2.3.4: "the number of octets in the message") is their
    count."""
    name = scratch.create(session, "append")
    loaded = load(session, name, [(messages.MULTIPART, ())])
    done = expect_ok(session.command("FETCH 1 (BODY.PEEK[] RFC822.SIZE)"),
                     "FETCH 1 (BODY.PEEK[] RFC822.SIZE)")
    view = one_fetch(done, 1)
    stored = view.section("")
    assert stored == loaded.raw(1), (
        f"BODY[] differs from the {len(loaded.raw(1))} octets APPENDed "
        f"(got {len(stored or b'')} octets; first difference at octet "
        f"{_first_difference(stored or b'', loaded.raw(1))})")
    assert view.size == len(loaded.raw(1)), (
        f"RFC822.SIZE {view.size}, but {len(loaded.raw(1))} octets were APPENDed")


def _first_difference(a: bytes, b: bytes) -> int:
    for index, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return index
    return min(len(a), len(b))


@pytest.mark.requirement(rfc=9051, section="6.3.12", level="SHOULD", ids=("RFC9051-6.3.12-6",))
@pytest.mark.requirement(rfc=3501, section="6.3.11", level="SHOULD", ids=("RFC3501-6.3.11-7",))
def test_append_sets_the_flags(session: ImapDriver, scratch: Scratch) -> None:
    """§6.3.12: "If a flag parenthesized list is specified, the flags SHOULD be set in the
    resulting message; otherwise, the flag list of the resulting message is set to
    "empty" by default." """
    name = scratch.create(session, "append-flags")
    load(session, name, [(messages.plain("flags"), ("\\Seen", "\\Draft")),
                         (messages.plain("no flags"), ())])
    done = expect_ok(session.command("FETCH 1:2 (FLAGS)"), "FETCH 1:2 (FLAGS)")
    views = fetched(done)
    assert flag_set(views[1].flags or ()) == {"\\SEEN", "\\DRAFT"}, (
        f"APPEND with (\\Seen \\Draft): FETCH FLAGS gives {sorted(views[1].flags or ())}")
    assert flag_set(views[2].flags or ()) == frozenset(), (
        f"APPEND without flags: FETCH FLAGS gives {sorted(views[2].flags or ())}, expected "
        "none (\\Recent aside)")


@pytest.mark.requirement(rfc=9051, section="6.3.12", level="SHOULD", ids=("RFC9051-6.3.12-7",))
@pytest.mark.requirement(rfc=9051, section="2.3.3", level="SHOULD", ids=("RFC9051-2.3.3-2",))
@pytest.mark.requirement(rfc=3501, section="6.3.11", level="SHOULD", ids=("RFC3501-6.3.11-8",))
def test_append_sets_the_internal_date(loaded: Loaded) -> None:
    """§6.3.12: "If a date-time is specified, the internal date SHOULD be set in the
    resulting message". The three known messages were APPENDed with their date-times."""
    done = expect_ok(loaded.driver.command("FETCH 1:3 (INTERNALDATE)"),
                     "FETCH 1:3 (INTERNALDATE)")
    views = fetched(done)
    for msn, message in enumerate(loaded.messages, 1):
        assert isinstance(message, messages.KnownMessage)
        got = views[msn].internal_date
        assert got == message.internal_instant, (
            f"message {msn} was APPENDed with \"{message.internal_date}\"; INTERNALDATE is "
            f"{got.strftime('%d-%b-%Y %H:%M:%S %z') if got else None}")


@pytest.mark.requirement(rfc=9051, section="6.3.12", level="MUST",
                         ids=("RFC9051-6.3.12-9", "RFC9051-6.3.12-10"))
@pytest.mark.requirement(rfc=3501, section="6.3.11", level="MUST",
                         ids=("RFC3501-6.3.11-10", "RFC3501-6.3.11-11"))
def test_append_to_missing_mailbox_says_trycreate(session: ImapDriver,
                                                  scratch: Scratch) -> None:
    """§6.3.12: "If the destination mailbox does not exist, a server MUST return an error
    and MUST NOT automatically create the mailbox. Unless it is certain that the
    destination mailbox cannot be created, the server MUST send the response code
    "[TRYCREATE]" as the prefix of the text of the tagged NO response." """
    missing = scratch.name(session, "missing")
    done = session.append(missing, messages.plain("nowhere"))
    assert done.tagged.condition is Condition.NO, (
        f"APPEND to {missing}, which does not exist: expected NO [TRYCREATE], got "
        f"{show(done)!r}")
    assert code_of(done.tagged) == "TRYCREATE", (
        f"APPEND to {missing}, which could be created: expected NO [TRYCREATE], got "
        f"{show(done)!r}")
    assert not exists_in(session, missing), f"the failed APPEND created {missing}"


@pytest.mark.requirement(rfc=9051, section="6.3.12", level="MUST")
@pytest.mark.requirement(rfc=9051, section="7.1", level="MUST NOT",
                         ids=("RFC9051-7.1-5", "RFC9051-7.1-6"))
@pytest.mark.requirement(rfc=4315, section="3", level="MUST NOT",
                         ids=("RFC4315-3-4", "RFC4315-3-5"))
def test_append_returns_appenduid(session: ImapDriver, scratch: Scratch) -> None:
    """§6.3.12: "On successful completion of an APPEND, the server returns an APPENDUID
    response code" (RFC 4315 §3 with UIDPLUS): the destination's UIDVALIDITY and the new
    message's UID, a single number ("a server MUST NOT send a range such as 123:123")."""
    if not ({"UIDPLUS", "IMAP4REV2"} & session.capabilities):
        pytest.skip("UNSUPPORTED: neither UIDPLUS nor IMAP4rev2 is advertised")
    name = scratch.create(session, "appenduid")
    done = expect_ok(session.append(name, messages.plain("appenduid")), f"APPEND to {name}")
    assert code_of(done.tagged) == "APPENDUID", (
        f"APPEND: expected 'OK [APPENDUID uidvalidity uid]', got {show(done)!r}")
    data = done.tagged.code_data
    assert isinstance(data, AppendUid)
    ranges = data.uids.ranges
    assert len(ranges) == 1 and ranges[0][0] == ranges[0][1], (
        f"APPENDUID of one message gives the uid-set {data.uids}: a single UID is required")
    values = status_values(session, name, "UIDVALIDITY")
    assert data.uidvalidity == values["UIDVALIDITY"], (
        f"APPENDUID names UIDVALIDITY {data.uidvalidity}, STATUS gives "
        f"{values['UIDVALIDITY']}")
    expect_ok(session.select(name), f"SELECT {name}")
    found = one_fetch(expect_ok(session.command("FETCH 1 (UID)"), "FETCH 1 (UID)"), 1)
    assert found.uid == ranges[0][0], (
        f"APPENDUID says UID {ranges[0][0]}, FETCH says {found.uid}")


@pytest.mark.requirement(rfc=9051, section="6.3.12", level="SHOULD",
                         ids=("RFC9051-6.3.12-13", "RFC9051-6.3.12-14"))
def test_append_to_selected_mailbox_reports_exists(loaded: Loaded) -> None:
    """§6.3.12: "If the mailbox is currently selected ... the server SHOULD notify the
    client immediately via an untagged EXISTS response"; §5.2: "A server MUST send mailbox
    size updates automatically if a mailbox size change is observed during the processing
    of a command" (so at the latest in answer to the next NOOP)."""
    imap = loaded.driver
    done = expect_ok(imap.append(loaded.name, messages.plain("selected append")),
                     "APPEND to the selected mailbox")
    count = exists_count(done)
    if count is None:
        count = exists_count(expect_ok(imap.command("NOOP"), "NOOP after APPEND"))
        assert count is not None, (
            "APPEND to the selected mailbox: no EXISTS, neither with the APPEND nor in "
            "answer to the next NOOP (RFC 9051 §5.2 MUST)")
        raise AssertionError(
            "APPEND to the selected mailbox: EXISTS came only with the next NOOP, not with "
            "the APPEND (RFC 9051 §6.3.12: SHOULD notify immediately)")
    assert count == len(loaded.messages) + 1, (
        f"after APPENDing a 4th message, EXISTS says {count}")


@pytest.mark.requirement(rfc=9051, section="5.2", level="MUST", ids=("RFC9051-5.2-1",))
def test_append_to_selected_mailbox_exists_by_next_command(loaded: Loaded) -> None:
    """§5.2: "A server MUST send mailbox size updates automatically if a mailbox size
    change is observed during the processing of a command": after an APPEND to the
    selected mailbox, the client knows of the new message by the end of the next NOOP."""
    imap = loaded.driver
    done = expect_ok(imap.append(loaded.name, messages.plain("size update")),
                     "APPEND to the selected mailbox")
    count = exists_count(done)
    if count is None:
        count = exists_count(expect_ok(imap.command("NOOP"), "NOOP after APPEND"))
    assert count == len(loaded.messages) + 1, (
        f"after APPENDing a 4th message to the selected mailbox, the EXISTS responses "
        f"(with the APPEND or the next NOOP) say {count}")


@pytest.mark.requirement(rfc=9051, section="6.3.12", level="MUST", ids=("RFC9051-6.3.12-5",))
@pytest.mark.requirement(rfc=3501, section="6.3.11", level="MUST", ids=("RFC3501-6.3.11-4",))
def test_append_8bit_message(session: ImapDriver, scratch: Scratch) -> None:
    """§6.3.12: "8-bit characters are permitted in the message. A server implementation
    that is unable to preserve 8-bit data properly MUST be able to reversibly convert
    8-bit APPEND data to 7 bits using a [MIME-IMB] content transfer encoding." The message
    is stored as sent, or converted to 7 bits with a declared encoding."""
    name = scratch.create(session, "8bit")
    raw = (b"From: Conformance <conformance@example.org>\r\n"
           b"To: Target <target@example.net>\r\n"
           b"Subject: 8bit body\r\n"
           b"Date: Fri, 21 Jul 2023 12:00:00 +0000\r\n"
           b"MIME-Version: 1.0\r\n"
           b"Content-Type: text/plain; charset=utf-8\r\n"
           b"Content-Transfer-Encoding: 8bit\r\n"
           b"\r\n"
           b"Gr\xc3\xbc\xc3\x9fe aus K\xc3\xb6ln.\r\n")
    expect_ok(session.append(name, raw), "APPEND of a message with an 8-bit body")
    expect_ok(session.select(name), f"SELECT {name}")
    view = one_fetch(expect_ok(session.command("FETCH 1 (BODY.PEEK[])"), "FETCH BODY.PEEK[]"),
                     1)
    stored = view.section("") or b""
    if stored != raw:
        header = stored.split(b"\r\n\r\n", 1)[0].lower()
        assert stored.isascii() and (b"quoted-printable" in header or b"base64" in header), (
            "the 8-bit message came back neither as APPENDed nor converted to 7 bits with "
            f"a quoted-printable or base64 Content-Transfer-Encoding: {stored[:300]!r}")


@pytest.mark.requirement(rfc=9051, section="6.3.12", level="MUST", ids=("RFC9051-6.3.12-8",))
def test_refused_append_leaves_mailbox_unchanged(session: ImapDriver,
                                                 scratch: Scratch) -> None:
    """§6.3.12: "If the append is unsuccessful for any reason, the mailbox MUST be
    restored to its state before the APPEND attempt ... no partial appending is
    permitted." An APPEND with a malformed flag list is refused; nothing is added."""
    name = scratch.create(session, "refused")
    expect_ok(session.append(name, messages.plain("kept")), f"APPEND to {name}")
    done = session.command(f"APPEND {quote(name)} (\\Seen {{}}", literals=[b"x"])
    assert done.tagged.condition in (Condition.BAD, Condition.NO), (
        f"APPEND with an unterminated flag list: expected BAD or NO, got {show(done)!r}")
    values = status_values(session, name, "MESSAGES")
    assert values["MESSAGES"] == 1, (
        f"after a refused APPEND the mailbox holds {values['MESSAGES']} messages, not 1")



@pytest.mark.requirement(rfc=9051, section="7.1", level="MUST")
@pytest.mark.needs("MULTIAPPEND")
def test_multiappend_appenduid_lists_every_uid(session: ImapDriver, scratch: Scratch) -> None:
    """§7.1 APPENDUID: "If the server also supports the [MULTIAPPEND] extension, and if
    multiple messages were appended in the APPEND command, then the second value is a UID
    set containing the UIDs assigned to the appended messages, in the order they were
    transmitted in the APPEND command"; RFC 3502: all or nothing, in order."""
    if not ({"UIDPLUS", "IMAP4REV2"} & session.capabilities):
        pytest.skip("UNSUPPORTED: neither UIDPLUS nor IMAP4rev2 is advertised")
    name = scratch.create(session, "multiappend")
    first, second = messages.plain("multi one"), messages.plain("multi two")
    done = expect_ok(session.command(f"APPEND {quote(name)} {{}} (\\Seen) {{}}",
                                     literals=[first, second]), "MULTIAPPEND of two messages")
    assert code_of(done.tagged) == "APPENDUID", (
        f"MULTIAPPEND: expected 'OK [APPENDUID uidvalidity uid-set]', got {show(done)!r}")
    data = done.tagged.code_data
    assert isinstance(data, AppendUid)
    uids = listed_numbers(data.uids, "APPENDUID")
    assert len(uids) == 2, f"APPENDUID of two messages gives the uid-set {data.uids}"
    load(session, name, [])
    views = fetched(expect_ok(session.command("FETCH 1:2 (UID BODY.PEEK[] FLAGS)"), "FETCH"))
    assert [views[1].uid, views[2].uid] == uids, (
        f"APPENDUID says {data.uids}, FETCH says UIDs {[views[1].uid, views[2].uid]}")
    assert views[1].section("") == first and views[2].section("") == second, (
        "MULTIAPPEND stored the messages out of order or altered")
    assert "\\SEEN" in flag_set(views[2].flags or ()), "the second message lost its \\Seen"
