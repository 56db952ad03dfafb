"""Lexical rules and the response grammar (RFC 9051 §4, §7, §9): numbers, strings and
literals both ways, the strict serializer (what the grammar cannot carry is our bug), and
the strict client parser (what a target sends wrong is a precise error)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from reference.errors import LocalProtocolError
from reference.imap.capabilities import Modes
from reference.imap.commands import StatusAtt
from reference.imap.framing import ResponseReader
from reference.imap.grammar import (
    NUMBER64_MAX,
    Cursor,
    GrammarError,
    LiteralForm,
    WireWriter,
    parse_astring,
    parse_literal,
    parse_nstring,
    parse_number,
    parse_quoted,
    write_astring,
    write_string,
)
from reference.imap.grammar_fetch import Section, SectionText
from reference.imap.limits import ImapLimits
from reference.imap.parser_responses import ResponseContext, parse_response
from reference.imap.response_data import (
    BodySectionItem,
    BodyStructureItem,
    EnvelopeItem,
    InternalDateItem,
)
from reference.imap.responses import (
    CapabilityData,
    Condition,
    Continuation,
    FetchData,
    ImapRemoteProtocolError,
    ListData,
    Response,
    ResponseCode,
    StatusData,
    StatusResponse,
    bad,
    ok,
)
from reference.imap.serializer import write_response
from reference.wire.buffer import ReceiveBuffer

REV1 = Modes(advertised=frozenset({"IMAP4REV1"}))
REV2 = Modes(advertised=frozenset({"IMAP4REV2"}))


def cursor(*segments: bytes) -> Cursor:
    return Cursor(list(segments))


def read(wire: bytes, modes: Modes = REV2) -> Response:
    buffer = ReceiveBuffer()
    buffer.feed(wire)
    segments = ResponseReader(ImapLimits()).read(buffer)
    assert segments is not None
    return parse_response(segments, ResponseContext(modes))


def written(data: bytes, *, utf8: bool = False) -> bytes:
    writer = WireWriter(utf8=utf8)
    write_string(writer, data)
    return writer.getvalue()


# --- numbers (§4.2, §9 number, number64) -----------------------------------------------


def test_number_is_unsigned_32_bit_and_number64_63_bit() -> None:
    """RFC 9051 §9: number "Unsigned 32-bit integer"; number64 "Unsigned 63-bit
    integer"."""
    assert parse_number(cursor(b"4294967295")) == 2**32 - 1
    with pytest.raises(GrammarError, match="at most 4294967295"):
        parse_number(cursor(b"4294967296"))
    assert parse_number(cursor(b"9223372036854775807"), maximum=NUMBER64_MAX) == 2**63 - 1
    with pytest.raises(GrammarError):
        parse_number(cursor(b"99999999999999999999999"), maximum=NUMBER64_MAX)


def test_nz_number_starts_with_a_nonzero_digit() -> None:
    """RFC 9051 §9: nz-number = digit-nz *DIGIT."""
    with pytest.raises(GrammarError, match="digit-nz"):
        parse_number(cursor(b"012"), nonzero=True)


def test_grammar_error_names_the_rule_and_the_octet() -> None:
    with pytest.raises(GrammarError) as caught:
        parse_number(cursor(b"x1"))
    assert (caught.value.expected, caught.value.offset) == ("number", 0)


# --- strings (§4.3) --------------------------------------------------------------------


def test_quoted_unescapes_quoted_specials() -> None:
    assert parse_quoted(cursor(b'"a\\"b\\\\c"')) == b'a"b\\c'


@pytest.mark.parametrize("wire", [b'"a', b'"a\\b"', b'"a\rb"'])
def test_bad_quoted_strings(wire: bytes) -> None:
    with pytest.raises(GrammarError):
        parse_quoted(cursor(wire))


def test_literal_takes_the_framed_data_whole() -> None:
    """RFC 9051 §4.3: "{" number64 "}" CRLF *CHAR8; the data count must match."""
    assert parse_literal(cursor(b"{5}", b"a\r\nbc", b"")) == b"a\r\nbc"
    with pytest.raises(GrammarError):
        parse_literal(cursor(b"{6}", b"a\r\nbc", b""))


def test_literal8_only_where_allowed_and_nul_only_in_literal8() -> None:
    """RFC 9051 §4.3.1 / §9 CHAR8 = %x01-ff: NUL needs literal8 (RFC 3516)."""
    assert parse_literal(cursor(b"~{3}", b"a\x00b", b""), literal8=True) == b"a\x00b"
    with pytest.raises(GrammarError, match="literal"):
        parse_literal(cursor(b"~{3}", b"abc", b""))
    with pytest.raises(GrammarError, match="NUL"):
        parse_literal(cursor(b"{3}", b"a\x00b", b""))


def test_nil_is_not_an_astring_but_a_string_nil_is_kept() -> None:
    """RFC 9051 §4.5: NIL "represents the non-existence of a particular data item"; a
    writer quotes the string "NIL" so that no reader takes it for nil."""
    assert parse_nstring(cursor(b"NIL")) is None
    assert parse_nstring(cursor(b'"NIL"')) == b"NIL"
    writer = WireWriter(utf8=False)
    write_astring(writer, b"NIL")
    assert writer.getvalue() == b'"NIL"'
    assert parse_astring(cursor(b"NIL")) == b"NIL"


@pytest.mark.parametrize(("data", "utf8", "wire"), [
    (b"plain", False, b'"plain"'),
    (b'say "hi"', False, b'"say \\"hi\\""'),
    (b"two\r\nlines", False, b"{10}\r\ntwo\r\nlines"),
    ("Grüße".encode(), False, b"{7}\r\n" + "Grüße".encode()),
    ("Grüße".encode(), True, '"Grüße"'.encode()),
    (b"\xff\xfe", True, b"{2}\r\n\xff\xfe"),
    (b"x" * 1001, False, b"{1001}\r\n" + b"x" * 1001),
])
def test_writer_quotes_when_it_can_and_uses_a_literal_otherwise(
        data: bytes, utf8: bool, wire: bytes) -> None:
    """RFC 9051 §4.3: quoted strings hold no CR/LF; RFC 6855 §3: "MUST NOT send UTF-8 in
    quoted-strings to the client unless the client has indicated support"."""
    assert written(data, utf8=utf8) == wire


def test_a_string_with_nul_cannot_be_written() -> None:
    with pytest.raises(ValueError, match="literal8"):
        written(b"a\x00b")


@pytest.mark.parametrize(("form", "size", "parts"), [
    (LiteralForm.SYNCHRONIZING, 3, [b"{3}\r\n", b"abc"]),
    (LiteralForm.LITERAL_PLUS, 5000, [b"{5000+}\r\n" + b"a" * 5000]),
    (LiteralForm.LITERAL_MINUS, 4096, [b"{4096+}\r\n" + b"a" * 4096]),
    (LiteralForm.LITERAL_MINUS, 4097, [b"{4097}\r\n", b"a" * 4097]),
])
def test_client_literal_forms(form: LiteralForm, size: int, parts: list[bytes]) -> None:
    """RFC 9051 §4.3 (synchronizing: split where "+" is awaited); RFC 7888 §3 LITERAL+
    any size, §5 LITERAL- up to 4096 octets."""
    writer = WireWriter(utf8=False, literal_form=form)
    writer.literal(b"a" * size if size != 3 else b"abc")
    assert writer.parts() == parts


# --- the strict serializer ---------------------------------------------------------------


@pytest.mark.parametrize("response", [
    ok("a1", "line\r\nbreak"),
    ok("a1", "Grüße"),
    ok("a1", "[ALERT] looks like a code"),
    ok("a1", "ends like a literal {5}"),
    StatusResponse(Condition.BYE, "bye", "a1"),
    ok("a 1", "bad tag"),
    ok(None, "x", ResponseCode.UIDNEXT, 0),
    ok(None, "x", ResponseCode.ALERT, "data"),
    ok(None, "x", ResponseCode.CAPABILITY, ("IDLE",)),
    ok(None, "x", ResponseCode.MODIFIED, "1:2"),
    CapabilityData(("IMAP4rev2", "bad atom")),
    FetchData(1, ()),
    FetchData(1, (BodySectionItem(Section(), b"x", 2**32),)),
    FetchData(1, (InternalDateItem(datetime(2024, 1, 1)),)),
    FetchData(1, (EnvelopeItem(("too short",)),)),
    FetchData(1, (BodyStructureItem(("TEXT", "PLAIN", None, None, None, "7BIT", 3, 1, None),
                                    extensible=False),)),
    ListData((), "//", "x"),
    StatusData("x", ((StatusAtt.UIDNEXT, 0),)),
    Continuation("[x"),
])
def test_what_the_grammar_cannot_carry_is_a_local_protocol_error(response: Response) -> None:
    """RFC 9051 §9: TEXT-CHAR excludes CR and LF; "Non-ASCII text can only be returned
    after ENABLE IMAP4rev2"; BYE is untagged (§7.1.5); UIDNEXT takes an nz-number; the
    BODY origin is a number (32-bit); date-time has a zone; BODY (non-extensible) carries
    no extension data ("MUST NOT be returned on non-extensible "BODY" fetch")."""
    with pytest.raises(LocalProtocolError):
        write_response(response, REV1)


def test_non_ascii_text_is_fine_after_imap4rev2() -> None:
    assert write_response(ok("a1", "Grüße"), REV2) == "a1 OK Grüße\r\n".encode()


# --- the strict client parser -------------------------------------------------------------


def test_rfc_examples_of_fetch_responses() -> None:
    """RFC 9051 §7.5.2 / §6.4.5 examples: FETCH with FLAGS, INTERNALDATE, BODY[]."""
    wire = (b'* 12 FETCH (FLAGS (\\Seen) INTERNALDATE "17-Jul-1996 02:44:25 -0700" '
            b"BODY[HEADER] {8}\r\nSubj: x\n)\r\n")
    response = read(wire)
    assert isinstance(response, FetchData) and response.msn == 12
    assert response.items[1] == InternalDateItem(
        datetime(1996, 7, 17, 2, 44, 25, tzinfo=timezone(-timedelta(hours=7))))
    assert response.items[2] == BodySectionItem(Section((), SectionText.HEADER), b"Subj: x\n")


def test_rfc_example_bodystructure_reads_as_values() -> None:
    """RFC 9051 §7.5.2 BODYSTRUCTURE example (a multipart with two text parts)."""
    wire = (b'* 1 FETCH (BODYSTRUCTURE (("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL '
            b'"7BIT" 1152 23)("TEXT" "PLAIN" ("CHARSET" "US-ASCII" "NAME" "cc.diff") '
            b'"<960723163407.20117h@cac.washington.edu>" "Compiler diff" "BASE64" 4554 73) '
            b'"MIXED"))\r\n')
    response = read(wire)
    assert isinstance(response, FetchData)
    item = response.items[0]
    assert isinstance(item, BodyStructureItem) and isinstance(item.body, tuple)
    assert item.body[-1] == "MIXED"
    assert write_response(response, REV1) == wire


def test_envelope_addresses_follow_each_other_without_space() -> None:
    """RFC 9051 §9 env-from = "(" 1*address ")" / nil."""
    envelope = (None, "subject", (("A", None, "a", "example.org"), (None, None, "b", "x.y")),
                None, None, None, None, None, None, "<id@x>")
    wire = write_response(FetchData(1, (EnvelopeItem(envelope),)), REV1)
    assert b'(("A" NIL "a" "example.org")(NIL NIL "b" "x.y"))' in wire
    assert read(wire) == FetchData(1, (EnvelopeItem(envelope),))


@pytest.mark.parametrize("wire", [
    b"a1 PREAUTH hi\r\n",                                # PREAUTH is never tagged
    b"* OK [UIDNEXT 0] x\r\n",                           # nz-number
    b"* CAPABILITY IMAP2 IDLE\r\n",                      # IMAP4rev2 among them
    b"* 0 EXPUNGE\r\n",                                  # nz-number
    b"* LIST (\\Noselect \\Marked) \"/\" x\r\n",        # one selectability flag
    b"* LIST () \"//\" x\r\n",                           # one-character delimiter
    b"* 1 FETCH (UID 0)\r\n",
    b"* 1 FETCH (BODYSTRUCTURE (\"TEXT\" \"PLAIN\"))\r\n",
    b"* OK Gr\xc3\xbc\xc3\x9fe\r\n",                     # 8-bit text before IMAP4rev2
    b"* STATUS x (FROB 1)\r\n",
    b"* FROB\r\n",
    b"+x\r\n",
])
def test_client_parser_rejects_grammar_violations(wire: bytes) -> None:
    """The client core judges a target strictly (RFC 9051 §9)."""
    with pytest.raises(ImapRemoteProtocolError, match="Malformed response"):
        read(wire, REV1)


def test_unknown_response_codes_are_kept_as_text() -> None:
    """RFC 9051 §7.1 MUST: "Client implementations MUST ignore response codes that they
    do not recognize" - kept, not judged."""
    assert read(b"a1 NO [X-FROB some text] nope\r\n") == StatusResponse(
        Condition.NO, "nope", "a1", "X-FROB", "some text")


def test_empty_text_after_a_code_is_accepted() -> None:
    """RFC 9051 Appendix E item 23: resp-text may be empty."""
    assert read(b"a1 BAD [CLIENTBUG] \r\n") == bad("a1", "", ResponseCode.CLIENTBUG)
