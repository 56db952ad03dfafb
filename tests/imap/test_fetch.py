"""FETCH planning and items (reference/imap/fetch.py) against RFC 9051 §6.4.5 / §7.5.2,
RFC 3516 (BINARY) and RFC 7162 (MODSEQ). Messages come from tests/message/corpus.py and
fuzz/strategies/messages.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz.strategies import messages
from reference.imap.capabilities import Modes
from reference.imap.fetch import (
    MACROS,
    FetchError,
    FetchPlan,
    FetchSource,
    fetch_items,
    plan_fetch,
)
from reference.imap.grammar_fetch import (
    BinarySection,
    BinarySize,
    BodySection,
    FetchAtt,
    FetchAttName,
    FetchMacro,
    Partial,
    Section,
    SectionText,
    SimpleAtt,
)
from reference.imap.response_data import (
    BinaryItem,
    BinarySizeItem,
    BodySectionItem,
    BodyStructureItem,
    EnvelopeItem,
    FetchData,
    FetchItem,
    FlagsItem,
    InternalDateItem,
    ModSeqItem,
    Rfc822Item,
    Rfc822SizeItem,
    UidItem,
)
from reference.imap.responses import ResponseCode
from reference.imap.serializer import write_response
from reference.message.headers import scan_header
from reference.message.mime import MessageLimits, parse_message
from reference.message.structure import body, bodystructure, envelope_structure
from tests.message import corpus

FLAGS = SimpleAtt(FetchAttName.FLAGS)
UID = SimpleAtt(FetchAttName.UID)
MODSEQ = SimpleAtt(FetchAttName.MODSEQ)
WHEN = datetime(2024, 3, 1, 12, 0, tzinfo=timezone(timedelta(hours=1)))


def source(raw: bytes, *, flags: frozenset[str] = frozenset({"\\Answered"}),
           uid: int = 7, modseq: int = 42) -> FetchSource:
    return FetchSource(uid=uid, flags=flags, modseq=modseq, size=len(raw),
                       internal_date=WHEN, raw=raw, parsed=parse_message(raw))


def fetch(raw: bytes, *atts: FetchAtt) -> tuple[FetchItem, ...]:
    return fetch_items(plan_fetch(atts, uid_command=False, modseq=False), source(raw))


def one(raw: bytes, att: FetchAtt) -> FetchItem:
    (item,) = fetch(raw, att)
    return item


def body_section(spec: str = "", *, part: tuple[int, ...] = (), fields: tuple[str, ...] = (),
                 partial: Partial | None = None, peek: bool = True) -> BodySection:
    text = SectionText(spec) if spec else None
    return BodySection(Section(part, text, fields), peek=peek, partial=partial)


def wire(items: tuple[FetchItem, ...]) -> bytes:
    return write_response(FetchData(1, items), Modes())


# --- the plan ----------------------------------------------------------------------------


@pytest.mark.parametrize(("macro", "names"), [
    (FetchMacro.ALL, ("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE")),
    (FetchMacro.FAST, ("FLAGS", "INTERNALDATE", "RFC822.SIZE")),
    (FetchMacro.FULL, ("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY")),
])
def test_macros_expand(macro: FetchMacro, names: tuple[str, ...]) -> None:
    """RFC 9051 §6.4.5: ALL = (FLAGS INTERNALDATE RFC822.SIZE ENVELOPE), FAST = (FLAGS
    INTERNALDATE RFC822.SIZE), FULL = (FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY)."""
    plan = plan_fetch(macro, uid_command=False, modseq=False)
    assert plan.atts == tuple(SimpleAtt(FetchAttName(name)) for name in names)
    assert plan.atts == MACROS[macro]
    assert plan.reports_flags and not plan.sets_seen and not plan.needs_raw
    assert plan.needs_structure == (macro is not FetchMacro.FAST)


def test_uid_fetch_always_includes_uid() -> None:
    """RFC 9051 §6.4.9 MUST: UID FETCH responses include the UID data item, requested
    or not; once, when it was requested."""
    plan = plan_fetch((FLAGS,), uid_command=True, modseq=False)
    assert plan.atts == (UID, FLAGS)
    assert plan_fetch((FLAGS, UID), uid_command=True, modseq=False).atts == (FLAGS, UID)
    assert plan_fetch((FLAGS,), uid_command=False, modseq=False).atts == (FLAGS,)
    items = fetch_items(plan, source(corpus.SIMPLE_TEXT))
    assert items == (UidItem(7), FlagsItem(("\\Answered",)))


def test_condstore_adds_modseq() -> None:
    """RFC 7162 §3.1.4.1 MUST: with CHANGEDSINCE (or CONDSTORE enabled) the FETCH
    responses include MODSEQ."""
    plan = plan_fetch(FetchMacro.FAST, uid_command=True, modseq=True)
    assert plan.atts[:2] == (UID, MODSEQ)
    items = fetch_items(plan, source(corpus.SIMPLE_TEXT))
    assert items[1] == ModSeqItem(42)
    assert plan_fetch((MODSEQ,), uid_command=False, modseq=True).atts == (MODSEQ,)


@pytest.mark.parametrize(("att", "seen"), [
    (body_section(peek=False), True),
    (body_section(peek=True), False),
    (body_section("HEADER", peek=False), True),
    (BinarySection((1,)), True),
    (BinarySection((1,), peek=True), False),
    (BinarySize((1,)), False),
    (SimpleAtt(FetchAttName.RFC822), True),
    (SimpleAtt(FetchAttName.RFC822_TEXT), True),
    (SimpleAtt(FetchAttName.RFC822_HEADER), False),
    (SimpleAtt(FetchAttName.BODYSTRUCTURE), False),
    (FLAGS, False),
])
def test_seen_is_set_by_non_peek_sections(att: FetchAtt, seen: bool) -> None:
    """RFC 9051 §6.4.5: BODY[<section>] and BINARY[...] "The \\Seen flag is implicitly
    set"; .PEEK forms do not; RFC 3501 §6.4.5 RFC822 = BODY[], RFC822.TEXT = BODY[TEXT],
    RFC822.HEADER = BODY.PEEK[HEADER]."""
    assert plan_fetch((att,), uid_command=False, modseq=False).sets_seen is seen


def test_flags_reported_when_seen_changes_them() -> None:
    """RFC 9051 §6.4.5 SHOULD: "if this causes the flags to change, they SHOULD be
    included as part of the FETCH responses" — once, even when also requested."""
    plan = plan_fetch((body_section(peek=False),), uid_command=False, modseq=False)
    assert plan.sets_seen and not plan.reports_flags
    message = source(corpus.SIMPLE_TEXT, flags=frozenset({"\\Seen"}))
    items = fetch_items(plan, message, flags_changed=True)
    assert items[-1] == FlagsItem(("\\Seen",))
    assert not any(isinstance(item, FlagsItem) for item in fetch_items(plan, message))
    with_flags = plan_fetch((FLAGS, body_section(peek=False)), uid_command=False, modseq=False)
    assert with_flags.reports_flags
    items = fetch_items(with_flags, message, flags_changed=True)
    assert sum(isinstance(item, FlagsItem) for item in items) == 1


@pytest.mark.parametrize(("atts", "raw", "structure", "header"), [
    ((FLAGS, UID, SimpleAtt(FetchAttName.INTERNALDATE), SimpleAtt(FetchAttName.RFC822_SIZE),
      MODSEQ), False, False, False),
    ((SimpleAtt(FetchAttName.ENVELOPE),), False, True, False),
    ((SimpleAtt(FetchAttName.BODYSTRUCTURE),), False, True, False),
    ((body_section(),), True, False, False),
    ((SimpleAtt(FetchAttName.RFC822),), True, False, False),
    ((BinarySection(()),), True, False, False),
    ((body_section("HEADER"),), True, False, True),
    ((body_section("HEADER.FIELDS", fields=("Subject", "From")),), True, False, True),
    ((body_section("HEADER.FIELDS.NOT", fields=("Subject",)),), True, False, True),
    ((SimpleAtt(FetchAttName.RFC822_HEADER),), True, False, True),
    ((body_section("TEXT"),), True, True, False),
    ((body_section("HEADER", part=(1,)),), True, True, False),
    ((body_section(part=(1,)),), True, True, False),
    ((BinarySize((1,)),), True, True, False),
    ((body_section("HEADER"), SimpleAtt(FetchAttName.ENVELOPE)), True, True, True),
])
def test_plan_says_what_is_read(atts: tuple[FetchAtt, ...], raw: bool, structure: bool,
                                header: bool) -> None:
    """DESIGN.md principle 6 (parse once): the session reads the raw bytes and the stored
    structure only for items that need them; the items are then answerable without the
    rest. The message's own header sections need a scan of its header alone."""
    plan = plan_fetch(atts, uid_command=False, modseq=False)
    assert (plan.needs_raw, plan.needs_structure, plan.needs_header) == (raw, structure,
                                                                        header)
    full = source(corpus.MIXED)
    scan = scan_header(corpus.MIXED, 0, len(corpus.MIXED), MessageLimits().max_header_fields)
    partial = FetchSource(full.uid, full.flags, full.modseq, full.size, full.internal_date,
                          raw=full.raw if raw else None,
                          parsed=full.parsed if structure else None,
                          header=scan if header and not structure else None)
    assert fetch_items(plan, partial) == fetch_items(plan, full)


_HEADER_FIELD_NAMES = st.lists(st.sampled_from(
    ["Subject", "FROM", "to", "Date", "Message-ID", "Content-Type", "X-Nothing",
     "MIME-Version", "Received"]), min_size=1, max_size=4, unique=True)


@settings(max_examples=80, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(messages.messages(), messages.hostile_messages()), _HEADER_FIELD_NAMES,
       st.one_of(st.none(), st.tuples(st.integers(0, 200), st.integers(1, 300))))
def test_the_header_scan_answers_header_sections_as_the_parsed_message_does(
        raw: bytes, names: list[str], partial: tuple[int, int] | None) -> None:
    """A FETCH of the message's own header sections alone is answered from a scan of the
    header (cheaper than the stored structure); RFC 9051 §6.4.5.1 byte-exact sections
    must come out the same either way, for any message, hostile ones included."""
    span = None if partial is None else Partial(*partial)
    atts = (body_section("HEADER", partial=span),
            body_section("HEADER.FIELDS", fields=tuple(names), partial=span),
            body_section("HEADER.FIELDS.NOT", fields=tuple(names), partial=span),
            SimpleAtt(FetchAttName.RFC822_HEADER))
    plan = plan_fetch(atts, uid_command=False, modseq=False)
    assert plan.needs_header and not plan.needs_structure
    full = source(raw)
    scanned = FetchSource(full.uid, full.flags, full.modseq, full.size, full.internal_date,
                          raw=raw, header=scan_header(raw, 0, len(raw),
                                                      MessageLimits().max_header_fields))
    assert fetch_items(plan, scanned) == fetch_items(plan, full)


# --- static items ------------------------------------------------------------------------


def test_simple_items() -> None:
    """RFC 9051 §7.5.2: FLAGS, INTERNALDATE, RFC822.SIZE (§2.3.4 octets of the message),
    UID; ENVELOPE, BODY and BODYSTRUCTURE as the message model computes them."""
    raw = corpus.MIXED
    message = source(raw)
    assert message.parsed is not None
    atts: tuple[FetchAtt, ...] = tuple(SimpleAtt(name) for name in (
        FetchAttName.FLAGS, FetchAttName.INTERNALDATE, FetchAttName.RFC822_SIZE,
        FetchAttName.UID, FetchAttName.ENVELOPE, FetchAttName.BODY,
        FetchAttName.BODYSTRUCTURE))
    items = fetch_items(plan_fetch(atts, uid_command=False, modseq=False), message)
    assert items == (FlagsItem(("\\Answered",)), InternalDateItem(WHEN),
                     Rfc822SizeItem(len(raw)), UidItem(7),
                     EnvelopeItem(envelope_structure(message.parsed.envelope)),
                     BodyStructureItem(body(message.parsed), extensible=False),
                     BodyStructureItem(bodystructure(message.parsed), extensible=True))
    assert wire(items).startswith(b"* 1 FETCH (FLAGS (\\Answered) INTERNALDATE "
                                  b'" 1-Mar-2024 12:00:00 +0100" RFC822.SIZE ')


def test_rfc822_items() -> None:
    """RFC 3501 §6.4.5: RFC822 is BODY[], RFC822.HEADER is BODY.PEEK[HEADER],
    RFC822.TEXT is BODY[TEXT]; the response names them RFC822, RFC822.HEADER,
    RFC822.TEXT (§7.4.2)."""
    raw = corpus.RFC9051_SAMPLE
    items = fetch(raw, SimpleAtt(FetchAttName.RFC822), SimpleAtt(FetchAttName.RFC822_HEADER),
                  SimpleAtt(FetchAttName.RFC822_TEXT))
    header = corpus.RFC9051_SAMPLE_HEADER
    assert items == (Rfc822Item("RFC822", raw), Rfc822Item("RFC822.HEADER", header),
                     Rfc822Item("RFC822.TEXT", raw[len(header):]))


# --- BODY[section] -----------------------------------------------------------------------


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(messages.messages())
def test_body_whole_and_header_plus_text_are_the_message(raw: bytes) -> None:
    """RFC 9051 §6.4.5: BODY[] is "the [RFC5322] expression of the entire message";
    §6.4.5.1: HEADER is the header with the blank line, TEXT "the text body of the
    message, omitting the [RFC5322] header": together byte for byte the message."""
    items = fetch(raw, body_section(), body_section("HEADER"), body_section("TEXT"))
    assert all(isinstance(item, BodySectionItem) for item in items)
    whole, header, text = (item.data for item in items if isinstance(item, BodySectionItem))
    assert whole == raw
    assert header is not None and text is not None
    assert header + text == raw
    assert header.endswith(b"\r\n\r\n") or b"\r\n\r\n" not in raw
    wire(items)     # the items are valid response data


def test_partial_names_origin_and_truncates() -> None:
    """RFC 9051 §6.4.5: "BODY[]<0.2048> of a 1500-octet message will return BODY[]<0>
    with a literal of size 1500"; "If the starting octet is beyond the end of the text,
    an empty string is returned"; §7.5.2 the response gives only the origin octet."""
    raw = corpus.SIMPLE_TEXT
    big = Partial(0, len(raw) + 600)
    item = one(raw, body_section(partial=big))
    assert item == BodySectionItem(Section(), raw, 0)
    assert wire((item,)).startswith(b"* 1 FETCH (BODY[]<0> {%d}\r\n" % len(raw))
    assert one(raw, body_section(partial=Partial(10, 5))) == BodySectionItem(
        Section(), raw[10:15], 10)
    assert one(raw, body_section(partial=Partial(len(raw) + 1, 5))) == BodySectionItem(
        Section(), b"", len(raw) + 1)
    assert one(raw, body_section()) == BodySectionItem(Section(), raw, None)


HEADER_FIELDS_MESSAGE = (
    b"Received: from a by b\r\n"
    b"Subject: a long subject\r\n"
    b"\tfolded onto a second line\r\n"
    b"From: Alice <alice@example.test>\r\n"
    b"X-Other: kept out\r\n"
    b"subject: a second one\r\n"
    b"\r\n"
    b"body\r\n")


def test_header_fields_byte_exact() -> None:
    """RFC 9051 §6.4.5.1: HEADER.FIELDS "contains only those header fields with a
    field-name that matches one of the names in the list"; "The field-matching is
    ASCII-range case insensitive but is otherwise exact. Subsetting does not exclude the
    [RFC5322] delimiting blank line" — folded lines stay as written."""
    raw = HEADER_FIELDS_MESSAGE
    att = body_section("HEADER.FIELDS", fields=("SUBJECT", "from"))
    assert one(raw, att) == BodySectionItem(att.section, (
        b"Subject: a long subject\r\n"
        b"\tfolded onto a second line\r\n"
        b"From: Alice <alice@example.test>\r\n"
        b"subject: a second one\r\n"
        b"\r\n"))
    not_att = body_section("HEADER.FIELDS.NOT", fields=("Subject", "FROM"))
    assert one(raw, not_att) == BodySectionItem(not_att.section, (
        b"Received: from a by b\r\nX-Other: kept out\r\n\r\n"))
    absent = body_section("HEADER.FIELDS", fields=("X-None",))
    assert one(raw, absent) == BodySectionItem(absent.section, b"\r\n")


def test_header_fields_partial_after_subsetting() -> None:
    """RFC 9051 §6.4.5: "A substring fetch of a HEADER.FIELDS or HEADER.FIELDS.NOT part
    specifier is calculated after subsetting the header." """
    att = body_section("HEADER.FIELDS", fields=("FROM",), partial=Partial(6, 5))
    item = one(HEADER_FIELDS_MESSAGE, att)
    assert item == BodySectionItem(att.section, b"Alice", 6)
    assert wire((item,)) == b'* 1 FETCH (BODY[HEADER.FIELDS (FROM)]<6> "Alice")\r\n'


@pytest.mark.parametrize(("spec", "part", "expected"), [
    ("", (1,), b"part 1"),
    ("MIME", (1,), b"Content-Type: TEXT/PLAIN\r\n\r\n"),
    ("", (2,), b"cGFydCAy"),
    ("HEADER", (3,), b"Subject: part 3\r\n"
                     b'Content-Type: MULTIPART/MIXED; boundary="B"\r\n\r\n'),
    ("", (3, 1), b"part 3.1"),
    ("MIME", (4, 1), b"Content-Type: IMAGE/GIF\r\nContent-Transfer-Encoding: base64\r\n\r\n"),
    ("HEADER.FIELDS", (4, 2), b"X-Note: folded\r\n value\r\n\r\n"),
    ("", (4, 2, 2, 2), b"part 4.2.2.2"),
])
def test_nested_sections(spec: str, part: tuple[int, ...], expected: bytes) -> None:
    """RFC 9051 §6.4.5.1's example of a complex message: part numbers, MIME, and
    HEADER/HEADER.FIELDS of an encapsulated MESSAGE/RFC822, byte-exact, named as
    requested."""
    fields = ("x-note",) if spec == "HEADER.FIELDS" else ()
    att = body_section(spec, part=part, fields=fields)
    assert one(corpus.COMPLEX, att) == BodySectionItem(att.section, expected)


def test_text_of_encapsulated_message() -> None:
    """RFC 9051 §6.4.5.1: "3.TEXT ([RFC5322] text body of the message)"; the CRLF before
    the enclosing delimiter belongs to the delimiter (RFC 2046 §5.1.1), not to the part."""
    att = body_section("TEXT", part=(3,))
    assert one(corpus.COMPLEX, att) == BodySectionItem(att.section, (
        b"--B\r\nContent-Type: TEXT/PLAIN\r\n\r\npart 3.1\r\n"
        b"--B\r\nContent-Type: APPLICATION/OCTET-STREAM\r\n\r\npart 3.2\r\n--B--"))


@pytest.mark.parametrize("att", [
    body_section(part=(99,)),
    body_section(part=(1, 1)),
    body_section("HEADER", part=(1,)),            # part 1 is not message/rfc822
    body_section("TEXT", part=(2,)),
    body_section(part=(99,), partial=Partial(0, 10)),
])
def test_absent_section_is_nil(att: BodySection) -> None:
    """RFC 9051 §4.5: "* FETCH 1 (BODY[1] NIL)" "indicates absence of the body part" —
    a section naming nothing in the message gets NIL, not a failed FETCH."""
    item = one(corpus.COMPLEX, att)
    origin = None if att.partial is None else att.partial.offset
    assert item == BodySectionItem(att.section, None, origin)
    assert b" NIL)" in wire((item,))


# --- BINARY (RFC 3516) -------------------------------------------------------------------


def test_binary_decodes_base64_and_quoted_printable() -> None:
    """RFC 9051 §6.4.5 / RFC 3516 §4.2: BINARY returns the section "after performing
    decoding of the section's Content-Transfer-Encoding"; BINARY.SIZE "MUST match the
    size of the <nstring> or <literal8> that will be returned"."""
    raw = corpus.MIXED
    items = fetch(raw, BinarySection((1,), peek=True), BinarySection((2,), peek=True),
                  BinarySize((1,)), BinarySize((2,)))
    assert items == (BinaryItem((1,), "Hello é".encode()), BinaryItem((2,), b"%PDF-1.4\n"),
                     BinarySizeItem((1,), len("Hello é".encode())),
                     BinarySizeItem((2,), 9))


def test_binary_partial_counts_decoded_octets() -> None:
    """RFC 9051 §6.4.5: "the <partial> arguments refer to the DECODED section data";
    §7.5.2 BINARY[<section-binary>]<<number>>: the answer names the origin octet."""
    item = one(corpus.MIXED, BinarySection((2,), peek=True, partial=Partial(1, 3)))
    assert item == BinaryItem((2,), b"PDF", 1)


def test_binary_text_gets_crlf() -> None:
    """RFC 9051 §7.5.2 MUST: "servers MUST ensure that textual line-oriented sections are
    always transmitted using the IMAP CRLF line termination syntax"."""
    raw = (b"Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n"
           b"b25lCnR3bwo=\r\n")                # "one\ntwo\n"
    assert one(raw, BinarySection((1,))) == BinaryItem((1,), b"one\r\ntwo\r\n")
    assert one(raw, BinarySize((1,))) == BinarySizeItem((1,), 10)


def test_binary_with_nul_goes_as_literal8() -> None:
    """RFC 9051 §4.3.1 / RFC 3516 §4.3: decoded data with NUL is sent as literal8."""
    raw = (b"Content-Type: application/octet-stream\r\n"
           b"Content-Transfer-Encoding: base64\r\n\r\nAAEC\r\n")
    item = one(raw, BinarySection((1,)))
    assert item == BinaryItem((1,), b"\x00\x01\x02")
    assert b"BINARY[1] ~{3}\r\n\x00\x01\x02" in wire((item,))


def test_unknown_cte_fails_with_unknown_cte() -> None:
    """RFC 3516 §4.3 / RFC 9051 §7.5.2 MUST: "If the server does not know how to decode
    the section's Content-Transfer-Encoding, it MUST fail the request and issue a "NO"
    response that contains the "UNKNOWN-CTE" response code" — BINARY and BINARY.SIZE."""
    raw = (b"Content-Type: application/octet-stream\r\n"
           b"Content-Transfer-Encoding: x-gzip64\r\n\r\nabc\r\n")
    for att in (BinarySection((1,)), BinarySize((1,))):
        with pytest.raises(FetchError) as caught:
            fetch(raw, att)
        assert caught.value.code is ResponseCode.UNKNOWN_CTE
    # BODY[1] is the raw section and needs no decoding.
    assert one(raw, body_section(part=(1,))) == BodySectionItem(Section((1,)), b"abc\r\n")


def test_binary_of_whole_message_and_absent_parts() -> None:
    """BINARY[] is the message as it is (it has no Content-Transfer-Encoding of its own);
    BINARY of a multipart or a part that does not exist is NIL (RFC 9051 §4.5: absence)
    and its BINARY.SIZE 0; BINARY "can only be requested for leaf body parts"."""
    raw = corpus.COMPLEX
    assert one(raw, BinarySection(())) == BinaryItem((), raw)
    assert one(raw, BinarySize(())) == BinarySizeItem((), len(raw))
    for part in ((4,), (3,), (9,), (1, 2)):
        assert one(raw, BinarySection(part)) == BinaryItem(part, None)
        assert one(raw, BinarySize(part)) == BinarySizeItem(part, 0)


# --- everything at once, for any message ---------------------------------------------------


EVERY_ATT: tuple[FetchAtt, ...] = (
    *(SimpleAtt(name) for name in FetchAttName),
    body_section(), body_section("HEADER"), body_section("TEXT"),
    body_section("HEADER.FIELDS", fields=("From", "Subject")),
    body_section("HEADER.FIELDS.NOT", fields=("Received",)),
    body_section(part=(1,)), body_section("MIME", part=(1,)), body_section(part=(1, 1)),
    body_section("HEADER", part=(2,)), BinarySection((1,)), BinarySize((1,)),
    BinarySection((2, 1)), body_section(partial=Partial(3, 40)))


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(messages.messages(utf8=True), st.sampled_from([True, False]))
def test_every_item_of_any_message_is_valid_response_data(raw: bytes, uid: bool) -> None:
    """RFC 9051 §7.5.2 msg-att: every item the module builds, for any valid message, is
    one the strict serializer accepts (FETCH never crashes on a message)."""
    plan = plan_fetch(EVERY_ATT, uid_command=uid, modseq=True)
    assert isinstance(plan, FetchPlan)
    items = fetch_items(plan, FetchSource(3, frozenset({"\\Seen", "$Forwarded"}), 9,
                                          len(raw), datetime(2024, 1, 1, tzinfo=UTC),
                                          raw, parse_message(raw)))
    assert len(items) == len(plan.atts)
    assert wire(items).startswith(b"* 1 FETCH (")
