"""RFC 9051 §6.4.5 FETCH and §7.5.2 the FETCH response, against the known messages of
messages.py (APPENDed, so every expected value is derived from octets the test sent):
FLAGS, INTERNALDATE, RFC822.SIZE, ENVELOPE, BODY and BODYSTRUCTURE field by field, every
kind of section (§6.4.5.1), partial fetches and their origin, \\Seen set by BODY[] and not
by BODY.PEEK[], the macros, UID FETCH (§6.4.9), BINARY (RFC 3516)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from conformance.drivers.imap import ImapDriver
from conformance.suites.imap import messages
from conformance.suites.imap.structures import compare_body, compare_envelope
from conformance.suites.imap.support import (
    Loaded,
    Scratch,
    expect_ok,
    fetched,
    flag_set,
    load,
    one_fetch,
    show,
)
from reference.imap.response_data import BinaryItem, BinarySizeItem
from reference.imap.responses import Condition, FetchData

pytestmark = pytest.mark.protocol("imap")

SIMPLE, DEFAULTS, MULTIPART = 1, 2, 3      # sequence numbers in ``loaded``


def _fetch(loaded: Loaded, msn: int | str, items: str) -> dict[int, Any]:
    done = expect_ok(loaded.driver.command(f"FETCH {msn} {items}"), f"FETCH {msn} {items}")
    return fetched(done)


def _one(loaded: Loaded, msn: int, items: str) -> Any:
    done = expect_ok(loaded.driver.command(f"FETCH {msn} {items}"), f"FETCH {msn} {items}")
    return one_fetch(done, msn)


# --- message attributes ------------------------------------------------------------------


@pytest.mark.requirement(rfc=9051, section="6.4.5", level="MUST")
def test_fetch_flags(loaded: Loaded) -> None:
    """§6.4.5 FLAGS: "The flags that are set for this message" (set here with STORE
    FLAGS.SILENT, then fetched)."""
    expect_ok(loaded.driver.command("STORE 3 FLAGS.SILENT (\\Answered \\Draft)"),
              "STORE 3 FLAGS.SILENT (\\Answered \\Draft)")
    view = _one(loaded, MULTIPART, "(FLAGS)")
    assert view.flags is not None, "FETCH FLAGS returned no FLAGS item"
    assert flag_set(view.flags) == {"\\ANSWERED", "\\DRAFT"}, (
        f"FETCH FLAGS after STORE FLAGS (\\Answered \\Draft): got {sorted(view.flags)}")


@pytest.mark.requirement(rfc=9051, section="2.3.4", level="MUST")
@pytest.mark.requirement(rfc=9051, section="6.4.5", level="MUST")
def test_fetch_rfc822_size_is_octets_appended(loaded: Loaded) -> None:
    """§2.3.4: "RFC822.SIZE is the number of octets in the message when the message is
    expressed in [RFC5322] format": for a CRLF, 7-bit message APPENDed as is, the number
    of octets APPENDed."""
    views = _fetch(loaded, "1:3", "(RFC822.SIZE)")
    for msn in (SIMPLE, DEFAULTS, MULTIPART):
        assert views[msn].size == len(loaded.raw(msn)), (
            f"message {msn}: RFC822.SIZE {views[msn].size}, APPENDed "
            f"{len(loaded.raw(msn))} octets")


@pytest.mark.requirement(rfc=9051, section="2.3.4", level="SHOULD", ids=("RFC9051-2.3.4-1",))
def test_fetch_rfc822_size_matches_body(loaded: Loaded) -> None:
    """§2.3.4: "This size SHOULD match the result of a "FETCH BODY[]" command." """
    views = _fetch(loaded, "1:3", "(RFC822.SIZE BODY.PEEK[])")
    for msn in (SIMPLE, DEFAULTS, MULTIPART):
        body = views[msn].section("") or b""
        assert views[msn].size == len(body), (
            f"message {msn}: RFC822.SIZE {views[msn].size}, BODY[] has {len(body)} octets")


@pytest.mark.requirement(rfc=9051, section="7.5.2", level="MUST")
@pytest.mark.parametrize("msn, message", [(SIMPLE, messages.SIMPLE),
                                          (DEFAULTS, messages.DEFAULTS),
                                          (MULTIPART, messages.MULTIPART)],
                         ids=["simple", "defaults-and-groups", "multipart"])
def test_fetch_envelope(loaded: Loaded, msn: int, message: messages.KnownMessage) -> None:
    """§7.5.2 ENVELOPE: date, subject, from, sender, reply-to, to, cc, bcc, in-reply-to,
    message-id; absent Date/Subject/In-Reply-To/Message-ID give NIL, absent From/To/Cc/Bcc
    give NIL, absent Sender/Reply-To take the From value; group syntax is a start marker
    (mailbox = group name, host NIL) and an end marker (all NIL)."""
    view = _one(loaded, msn, "(ENVELOPE)")
    problems = compare_envelope(view.envelope, message.envelope, "envelope")
    assert not problems, f"message {msn} ({message.name}):\n  " + "\n  ".join(problems)


@pytest.mark.requirement(rfc=9051, section="7.5.2", level="MUST",
                         ids=("RFC9051-7.5.2-12", "RFC9051-7.5.2-17"))
@pytest.mark.parametrize("msn, shape", [(SIMPLE, messages.SIMPLE_LEAF),
                                        (MULTIPART, messages.MULTIPART_STRUCTURE)],
                         ids=["text-plain", "multipart-mixed"])
def test_fetch_bodystructure(loaded: Loaded, msn: int,
                             shape: messages.Leaf | messages.Multi) -> None:
    """§7.5.2 BODYSTRUCTURE: type, subtype, parameters, id, description, encoding, size
    (octets as transfer-encoded), lines for TEXT; envelope, body and lines for
    MESSAGE/RFC822; the multipart subtype after the parts; extension data, if present, in
    the defined order (multipart: parameters first; single part: MD5 then disposition)."""
    view = _one(loaded, msn, "(BODYSTRUCTURE)")
    assert view.bodystructure is not None, "FETCH BODYSTRUCTURE returned no BODYSTRUCTURE"
    problems = compare_body(view.bodystructure, shape, extensible=True)
    assert not problems, f"BODYSTRUCTURE of message {msn}:\n  " + "\n  ".join(problems)


@pytest.mark.requirement(rfc=9051, section="7.5.2", level="MUST")
def test_fetch_body_is_not_extensible(loaded: Loaded) -> None:
    """§7.5.2 BODY: "A form of BODYSTRUCTURE without extension data"; "Extension data is
    never returned with the BODY fetch"."""
    view = _one(loaded, MULTIPART, "(BODY)")
    assert view.body is not None, "FETCH BODY returned no BODY item"
    problems = compare_body(view.body, messages.MULTIPART_STRUCTURE, extensible=False)
    assert not problems, "BODY of the multipart message:\n  " + "\n  ".join(problems)


# --- sections ----------------------------------------------------------------------------


@pytest.mark.requirement(rfc=9051, section="6.4.5.1", level="MUST")
@pytest.mark.parametrize("section, msn, expected", [
    ("", SIMPLE, messages.SIMPLE.raw),
    ("HEADER", SIMPLE, messages.SIMPLE.header),
    ("TEXT", SIMPLE, messages.SIMPLE.text),
    ("1", SIMPLE, messages.SIMPLE_BODY),
    ("", MULTIPART, messages.MULTIPART.raw),
    ("HEADER", MULTIPART, messages.MULTIPART.header),
    ("TEXT", MULTIPART, messages.MULTIPART.text),
    *[(name, MULTIPART, data) for name, data in messages.MULTIPART.sections.items()],
], ids=lambda value: None if not isinstance(value, str) else (value or "whole"))
def test_fetch_body_section(loaded: Loaded, section: str, msn: int, expected: bytes) -> None:
    """§6.4.5.1: HEADER is the RFC 5322 header (with its blank line), TEXT the body after
    it; numbered parts of a multipart are its parts' bodies, "N.MIME" a part's MIME header;
    a part of type MESSAGE/RFC822 has HEADER, TEXT and its own numbered parts; a message
    that is not multipart has a part 1, its body."""
    view = _one(loaded, msn, f"(BODY.PEEK[{section}])")
    data = view.section(section)
    assert data == expected, (
        f"BODY[{section}] of message {msn}: expected {len(expected)} octets {expected[:80]!r}"
        f"..., got {len(data or b'')} octets {(data or b'')[:80]!r}...")


@pytest.mark.requirement(rfc=9051, section="6.4.5.1", level="MUST")
def test_fetch_header_fields(loaded: Loaded) -> None:
    """§6.4.5.1: "The subset returned by HEADER.FIELDS contains only those header fields
    with a field-name that matches one of the names in the list ... The field-matching is
    ASCII-range case insensitive ... the blank line is included in all header fetches"."""
    view = _one(loaded, SIMPLE, "(BODY.PEEK[HEADER.FIELDS (subject FROM x-conformance)])")
    name = "HEADER.FIELDS (SUBJECT FROM X-CONFORMANCE)"
    assert name in view.sections, (
        f"no BODY[{name}] item in the response (items: {', '.join(view.names)})")
    data = view.sections[name][0]
    expected = (b'From: "Alice Example" <alice@example.org>\r\n'
                b"Subject: Conformance simple\r\n"
                b"X-Conformance: alpha-marker\r\n\r\n")
    assert data == expected, (
        f"BODY[HEADER.FIELDS (subject FROM x-conformance)]: expected {expected!r}, got "
        f"{data!r}")


@pytest.mark.requirement(rfc=9051, section="6.4.5.1", level="MUST")
def test_fetch_header_fields_not(loaded: Loaded) -> None:
    """§6.4.5.1: "the subset returned by HEADER.FIELDS.NOT contains only the header fields
    with a non-matching field-name", blank line included."""
    view = _one(loaded, MULTIPART, "(BODY.PEEK[HEADER.FIELDS.NOT (Date Message-ID "
                                   "MIME-Version Content-Type)])")
    name = "HEADER.FIELDS.NOT (DATE MESSAGE-ID MIME-VERSION CONTENT-TYPE)"
    assert name in view.sections, (
        f"no BODY[{name}] item in the response (items: {', '.join(view.names)})")
    data = view.sections[name][0]
    expected = (b"From: Ivy <ivy@example.org>\r\nTo: Jack <jack@example.net>\r\n"
                b"Subject: Conformance multipart\r\n\r\n")
    assert data == expected, f"BODY[{name}]: expected {expected!r}, got {data!r}"


# --- partial fetches --------------------------------------------------------------------


@pytest.mark.requirement(rfc=9051, section="6.4.5", level="MUST")
@pytest.mark.requirement(rfc=9051, section="7.5.2", level="MUST")
@pytest.mark.parametrize("section, start, count", [
    ("", 0, 10), ("TEXT", 5, 10), ("1", 3, 7),
], ids=["whole-0.10", "text-5.10", "part1-3.7"])
def test_fetch_partial(loaded: Loaded, section: str, start: int, count: int) -> None:
    """§6.4.5: BODY[<section>]<<partial>>: "the octet position of the first desired octet,
    a period, the maximum number of octets desired"; the response names the origin octet
    (§7.5.2 "BODY[<section>]<<origin octet>>")."""
    full = {"": messages.SIMPLE.raw, "TEXT": messages.SIMPLE.text,
            "1": messages.SIMPLE_BODY}[section]
    view = _one(loaded, SIMPLE, f"(BODY.PEEK[{section}]<{start}.{count}>)")
    assert section in view.sections, (
        f"no BODY[{section}] item in the response (items: {', '.join(view.names)})")
    data, origin = view.sections[section]
    assert origin == start, (
        f"BODY.PEEK[{section}]<{start}.{count}>: the response must be BODY[{section}]<{start}>,"
        f" got origin {origin}")
    assert data == full[start:start + count], (
        f"BODY.PEEK[{section}]<{start}.{count}>: expected {full[start:start + count]!r}, got "
        f"{data!r}")


@pytest.mark.requirement(rfc=9051, section="6.4.5", level="MUST")
def test_fetch_partial_truncated_and_beyond_the_end(loaded: Loaded) -> None:
    """§6.4.5: "If the starting octet is beyond the end of the text, an empty string is
    returned. Any partial fetch that attempts to read beyond the end of the text is
    truncated as appropriate. A partial fetch that starts at octet 0 is returned as a
    partial fetch, even if this truncation happened" ("BODY[]<0.2048> of a 1500-octet
    message will return BODY[]<0> with a literal of size 1500, not BODY[]")."""
    raw = messages.SIMPLE.raw
    view = _one(loaded, SIMPLE, f"(BODY.PEEK[]<0.{len(raw) + 1000}>)")
    data, origin = view.sections.get("", (None, None))
    assert origin == 0, f"BODY.PEEK[]<0.{len(raw) + 1000}>: expected BODY[]<0>, got origin " \
                        f"{origin}"
    assert data == raw, f"BODY.PEEK[]<0.{len(raw) + 1000}> is not the whole message"
    view = _one(loaded, SIMPLE, f"(BODY.PEEK[]<{len(raw) + 10}.5>)")
    data, origin = view.sections.get("", (None, None))
    assert data == b"", (f"BODY.PEEK[]<{len(raw) + 10}.5>, past the end: expected an empty "
                         f"string, got {data!r}")


@pytest.mark.requirement(rfc=9051, section="7.5.2", level="MUST NOT", ids=("RFC9051-7.5.2-8",))
@pytest.mark.requirement(rfc=3501, section="7.4.2", level="MUST NOT", ids=("RFC3501-7.4.2-3",))
def test_fetch_no_origin_unless_partial(loaded: Loaded) -> None:
    """§7.5.2: "The origin octet facility MUST NOT be used by a server in a FETCH response
    unless the client specifically requested it by means of a FETCH of a
    BODY[<section>]<<partial>> data item." """
    view = _one(loaded, MULTIPART, "(BODY.PEEK[] BODY.PEEK[1] BODY.PEEK[HEADER])")
    for name in ("", "1", "HEADER"):
        assert name in view.sections, f"no BODY[{name}] item (items: {view.names})"
        assert view.sections[name][1] is None, (
            f"BODY[{name}]<{view.sections[name][1]}> in answer to a FETCH without a partial")


# --- \Seen -------------------------------------------------------------------------------


@pytest.mark.requirement(rfc=9051, section="6.4.5", level="MUST")
def test_body_peek_does_not_set_seen(loaded: Loaded) -> None:
    """§6.4.5: BODY.PEEK[<section>] is "An alternate form of BODY[<section>] that does not
    implicitly set the \\Seen flag"."""
    _one(loaded, MULTIPART, "(BODY.PEEK[] BODY.PEEK[1] BODY.PEEK[TEXT])")
    view = _one(loaded, MULTIPART, "(FLAGS)")
    assert "\\SEEN" not in flag_set(view.flags or ()), (
        f"BODY.PEEK[] set \\Seen: FLAGS {sorted(view.flags or ())}")


@pytest.mark.requirement(rfc=9051, section="6.4.5", level="MUST")
def test_body_sets_seen(loaded: Loaded) -> None:
    """§6.4.5 BODY[<section>]: "The \\Seen flag is implicitly set"."""
    _fetch(loaded, MULTIPART, "(BODY[TEXT])")
    view = _one(loaded, MULTIPART, "(FLAGS)")
    assert "\\SEEN" in flag_set(view.flags or ()), (
        f"FETCH BODY[TEXT] did not set \\Seen: FLAGS {sorted(view.flags or ())}")


@pytest.mark.requirement(rfc=9051, section="6.4.5", level="SHOULD", ids=("RFC9051-6.4.5-3",))
@pytest.mark.requirement(rfc=3501, section="6.4.5", level="SHOULD", ids=("RFC3501-6.4.5-5",))
def test_body_seen_change_is_reported(loaded: Loaded) -> None:
    """§6.4.5: "The \\Seen flag is implicitly set; if this causes the flags to change,
    they SHOULD be included as part of the FETCH responses." """
    views = _fetch(loaded, MULTIPART, "(BODY[])")
    assert MULTIPART in views and views[MULTIPART].flags is not None, (
        "FETCH BODY[] of an unseen message: the FETCH responses carry no FLAGS")
    assert "\\SEEN" in flag_set(views[MULTIPART].flags), (
        f"FETCH BODY[] reported FLAGS {sorted(views[MULTIPART].flags)} without \\Seen")


@pytest.mark.requirement(rfc=9051, section="6.3.3", level="MUST")
@pytest.mark.requirement(rfc=3501, section="6.3.2", level="MUST NOT", ids=("RFC3501-6.3.2-3",))
def test_body_in_examined_mailbox_keeps_unseen(session: ImapDriver, scratch: Scratch) -> None:
    """§6.3.3: with EXAMINE "No changes to the permanent state of the mailbox, including
    per-user state, are permitted": BODY[] does not set \\Seen."""
    name = scratch.create(session, "examine-seen")
    loaded = load(session, name, [(messages.plain("examined"), ())], examine=True)
    _fetch(loaded, 1, "(BODY[])")
    view = _one(loaded, 1, "(FLAGS)")
    assert "\\SEEN" not in flag_set(view.flags or ()), (
        f"FETCH BODY[] in an EXAMINEd mailbox set \\Seen: {sorted(view.flags or ())}")
    expect_ok(session.select(name), f"SELECT {name}")
    view = _one(loaded, 1, "(FLAGS)")
    assert "\\SEEN" not in flag_set(view.flags or ()), (
        "FETCH BODY[] in an EXAMINEd mailbox set \\Seen permanently (seen after SELECT): "
        f"{sorted(view.flags or ())}")


# --- macros and forms ---------------------------------------------------------------


@pytest.mark.requirement(rfc=9051, section="6.4.5", level="MUST")
@pytest.mark.parametrize("macro, names", [
    ("ALL", {"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"}),
    ("FAST", {"FLAGS", "INTERNALDATE", "RFC822.SIZE"}),
    ("FULL", {"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"}),
])
def test_fetch_macros(loaded: Loaded, macro: str, names: set[str]) -> None:
    """§6.4.5: ALL is (FLAGS INTERNALDATE RFC822.SIZE ENVELOPE), FAST (FLAGS INTERNALDATE
    RFC822.SIZE), FULL (FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY)."""
    views = _fetch(loaded, "1:3", macro)
    for msn in (SIMPLE, DEFAULTS, MULTIPART):
        assert msn in views, f"FETCH 1:3 {macro}: no FETCH response for message {msn}"
        got = set(views[msn].names) - {"UID"}
        assert got == names, f"FETCH {macro} of message {msn}: items {sorted(got)}, " \
                             f"expected {sorted(names)}"


@pytest.mark.requirement(rfc=9051, section="6.4.9", level="MUST", ids=("RFC9051-6.4.9-2",))
@pytest.mark.requirement(rfc=3501, section="6.4.8", level="MUST", ids=("RFC3501-6.4.8-1",))
def test_uid_fetch_includes_uid(loaded: Loaded) -> None:
    """§6.4.9: "server implementations MUST implicitly include the UID message data item
    as part of any FETCH response caused by a UID command, regardless of whether a UID
    was specified as a message data item to the FETCH." """
    done = expect_ok(loaded.driver.command(f"UID FETCH {loaded.uids[0]}:* (FLAGS)"),
                     "UID FETCH n:* (FLAGS)")
    views = fetched(done)
    assert sorted(views) == [1, 2, 3], f"UID FETCH 1:* answered for messages {sorted(views)}"
    for msn, view in views.items():
        assert view.uid == loaded.uids[msn - 1], (
            f"UID FETCH (FLAGS): the response for message {msn} has UID {view.uid}, "
            f"expected {loaded.uids[msn - 1]} (§6.4.9: UID is implicitly included)")


@pytest.mark.requirement(rfc=9051, section="6.4.9", level="MUST")
def test_uid_fetch_ignores_missing_uids(loaded: Loaded) -> None:
    """§6.4.9: "A non-existent unique identifier is ignored without any error message
    generated. Thus, it is possible for a UID FETCH command to return an OK without any
    data"."""
    missing = max(loaded.uids) + 1000
    done = loaded.driver.command(f"UID FETCH {missing}:{missing + 5} (FLAGS)")
    assert done.tagged.condition is Condition.OK, (
        f"UID FETCH of UIDs that do not exist: expected OK, got {show(done)!r}")
    assert not done.of_type(FetchData), (
        f"UID FETCH of UIDs that do not exist returned data: {done.of_type(FetchData)}")


@pytest.mark.requirement(rfc=9051, section="6.4.9", level="MUST")
def test_uid_range_with_star_includes_the_last(loaded: Loaded) -> None:
    """§6.4.9: "a UID range of 559:* always includes the UID of the last message in the
    mailbox, even if 559 is higher than any assigned UID value." """
    high = max(loaded.uids) + 1000
    done = expect_ok(loaded.driver.command(f"UID FETCH {high}:* (UID)"), f"UID FETCH {high}:*")
    views = fetched(done)
    assert [v.uid for v in views.values()] == [max(loaded.uids)], (
        f"UID FETCH {high}:*: expected only the last message (UID {max(loaded.uids)}), got "
        f"{[v.uid for v in views.values()]}")


@pytest.mark.requirement(rfc=9051, section="9", level="MUST")
def test_sequence_ranges_any_order_and_star(loaded: Loaded) -> None:
    """§9 seq-range: "two seq-number values and all values between these two regardless of
    order"; "*" is "the number of messages in a non-empty mailbox"."""
    for sequence in ("3:1", "*:2", "1,3", "2:*"):
        wanted = {"3:1": {1, 2, 3}, "*:2": {2, 3}, "1,3": {1, 3}, "2:*": {2, 3}}[sequence]
        views = _fetch(loaded, sequence, "(UID)")
        assert set(views) == wanted, (
            f"FETCH {sequence} (UID) in a 3-message mailbox answered for {sorted(views)}, "
            f"expected {sorted(wanted)}")


@pytest.mark.requirement(rfc=9051, section="9", level="SHOULD")
@pytest.mark.informational
def test_fetch_beyond_the_last_message(loaded: Loaded,
                                       observe: Callable[[str, Any], None]) -> None:
    """§9 seq-number: "The server should respond with a tagged BAD response to a command
    that uses a message sequence number greater than the number of messages in the
    selected mailbox" (lower-case "should"): recorded."""
    done = loaded.driver.command("FETCH 4 (FLAGS)")
    observe("fetch_4_of_3", show(done))


@pytest.mark.requirement(rfc=9051, section="6.4.5", level="MUST NOT", ids=("RFC9051-6.4.5-1",))
@pytest.mark.requirement(rfc=9051, section="2.3.1.1", level="MUST", ids=("RFC9051-2.3.1.1-10",))
def test_static_items_do_not_change(loaded: Loaded) -> None:
    """§6.4.5: items under msg-att-static "are static and MUST NOT change for any
    particular message": after a flag change they are the same."""
    items = "(INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE BODY.PEEK[] UID)"
    before = _one(loaded, SIMPLE, items)
    expect_ok(loaded.driver.command("STORE 1 +FLAGS.SILENT (\\Answered)"), "STORE")
    after = _one(loaded, SIMPLE, items)
    for name in ("internal_date", "size", "envelope", "bodystructure", "sections", "uid"):
        assert getattr(before, name) == getattr(after, name), (
            f"message 1's {name} changed after STORE +FLAGS: {getattr(before, name)!r} -> "
            f"{getattr(after, name)!r}")


# --- BINARY (RFC 3516, part of IMAP4rev2) -----------------------------------------------


@pytest.mark.requirement(rfc=9051, section="6.4.5", level="MUST")
@pytest.mark.requirement(rfc=9051, section="7.5.2", level="MUST", ids=("RFC9051-7.5.2-4",))
@pytest.mark.needs("BINARY|IMAP4rev2")
def test_fetch_binary(loaded: Loaded) -> None:
    """§6.4.5 BINARY[<section-binary>]: the section "after performing decoding of the
    section's Content-Transfer-Encoding"; BINARY.SIZE "MUST match the size of the
    <nstring> or <literal8> that will be returned by the corresponding FETCH BINARY"."""
    done = expect_ok(loaded.driver.command("FETCH 3 (BINARY.PEEK[2] BINARY.SIZE[2] "
                                           "BINARY.PEEK[1])"),
                     "FETCH 3 (BINARY.PEEK[2] BINARY.SIZE[2] BINARY.PEEK[1])")
    items = [item for data in done.of_type(FetchData) if data.msn == 3 for item in data.items]
    binary = {item.part: item.data for item in items if isinstance(item, BinaryItem)}
    sizes = {item.part: item.size for item in items if isinstance(item, BinarySizeItem)}
    assert binary.get((2,)) == messages.ATTACHMENT, (
        f"BINARY[2] (base64 of octets 0..31): got {binary.get((2,))!r}")
    assert sizes.get((2,)) == len(messages.ATTACHMENT), (
        f"BINARY.SIZE[2]: expected {len(messages.ATTACHMENT)}, got {sizes.get((2,))}")
    assert binary.get((1,)) == messages.PART1_BODY, (
        f"BINARY[1] of a 7bit text part: expected it unchanged, got {binary.get((1,))!r}")


@pytest.mark.requirement(rfc=9051, section="6.4.5.1", level="MUST")
def test_every_message_has_part_one(session: ImapDriver, scratch: Scratch) -> None:
    """§6.4.5.1: "Every message has at least one part number. Messages that do not use
    MIME ... only have a part 1." A message without MIME headers: BODY[1] is its body."""
    raw = (b"From: Conformance <conformance@example.org>\r\nSubject: no MIME\r\n"
           b"Date: Fri, 21 Jul 2023 12:00:00 +0000\r\n\r\nPlain old body.\r\n")
    loaded = load(session, scratch.create(session, "part1"), [(raw, ())])
    view = _one(loaded, 1, "(BODY.PEEK[1])")
    assert view.section("1") == b"Plain old body.\r\n", (
        f"BODY[1] of a message without MIME: got {view.section('1')!r}")

