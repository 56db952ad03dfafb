"""BODY[section]<partial> (RFC 9051 §6.4.5.1) and BINARY (RFC 3516), byte-exact.

The expectations are written out by hand from ``corpus.COMPLEX``, RFC 9051 §6.4.5.1's
"example of a complex message with some of its part specifiers".
"""

from __future__ import annotations

import pytest

from reference.message.headers import scan_header
from reference.message.mime import parse_message
from reference.message.sections import (
    NoSuchPart,
    NotALeafPart,
    NotAMessagePart,
    SectionError,
    SectionSpec,
    SectionText,
    UnknownTransferEncoding,
    binary_size,
    fetch_binary,
    fetch_section,
    find_part,
    parse_section_spec,
    top_header_section,
)
from tests.message import corpus

RAW = corpus.COMPLEX
MESSAGE = parse_message(RAW)

PART_3 = (b"Subject: part 3\r\n"
          b'Content-Type: MULTIPART/MIXED; boundary="B"\r\n'
          b"\r\n"
          b"--B\r\n"
          b"Content-Type: TEXT/PLAIN\r\n"
          b"\r\n"
          b"part 3.1\r\n"
          b"--B\r\n"
          b"Content-Type: APPLICATION/OCTET-STREAM\r\n"
          b"\r\n"
          b"part 3.2\r\n"
          b"--B--")
PART_4_2_HEADER = (b"Subject: part 4.2\r\n"
                   b"From: Ned <ned@example.test>\r\n"
                   b"X-Note: folded\r\n"
                   b" value\r\n"
                   b'Content-Type: MULTIPART/MIXED; boundary="D"\r\n'
                   b"\r\n")


def body_of(section: str, partial: tuple[int, int] | None = None) -> bytes:
    return fetch_section(RAW, MESSAGE, parse_section_spec(section), partial)


@pytest.mark.parametrize(("section", "expected"), [
    ("1", b"part 1"),
    ("2", b"cGFydCAy"),                                   # as written: BODY is not decoded
    ("3", PART_3),
    ("3.HEADER", b'Subject: part 3\r\nContent-Type: MULTIPART/MIXED; boundary="B"\r\n\r\n'),
    ("3.TEXT", PART_3[PART_3.index(b"--B"):]),
    ("3.1", b"part 3.1"),
    ("3.2", b"part 3.2"),
    ("3.1.MIME", b"Content-Type: TEXT/PLAIN\r\n\r\n"),
    ("3.MIME", b"Content-Type: MESSAGE/RFC822\r\n\r\n"),
    ("4.1", b"R0lGODlh"),
    ("4.1.MIME", b"Content-Type: IMAGE/GIF\r\nContent-Transfer-Encoding: base64\r\n\r\n"),
    ("4.2.HEADER", PART_4_2_HEADER),
    ("4.2.1", b"part 4.2.1"),
    ("4.2.2.1", b"part 4.2.2.1"),
    ("4.2.2.2", b"part 4.2.2.2"),
    ("4.2.2.2.MIME", b"Content-Type: TEXT/RICHTEXT\r\n\r\n"),
    ("4.2.2", b"--E\r\nContent-Type: TEXT/PLAIN\r\n\r\npart 4.2.2.1\r\n"
              b"--E\r\nContent-Type: TEXT/RICHTEXT\r\n\r\npart 4.2.2.2\r\n--E--"),
    ("4.2.2.MIME", b'Content-Type: MULTIPART/ALTERNATIVE; boundary="E"\r\n\r\n'),
])
def test_each_part_specifier_of_the_rfc_example(section: str, expected: bytes) -> None:
    """RFC 9051 §6.4.5.1: 3 MESSAGE/RFC822, 3.HEADER, 3.TEXT, 3.1 TEXT/PLAIN, 4.1
    IMAGE/GIF, 4.1.MIME, 4.2.2.1 TEXT/PLAIN ..."""
    assert body_of(section) == expected


def test_body_of_the_whole_message_header_and_text() -> None:
    """BODY[] "the [RFC5322] expression of the entire message"; HEADER with the blank
    line; TEXT "omitting the [RFC5322] header"."""
    header = (b"From: Terry <terry@example.test>\r\nSubject: complex\r\n"
              b'Content-Type: MULTIPART/MIXED; boundary="A"\r\n\r\n')
    assert body_of("") == RAW
    assert body_of("HEADER") == header
    assert body_of("TEXT") == RAW[len(header):]
    assert body_of("4.2") == RAW[RAW.index(b"Subject: part 4.2"):RAW.index(b"\r\n--C--")]


def test_header_fields_match_names_case_insensitively_in_message_order() -> None:
    """"The field-matching is ASCII-range case insensitive but is otherwise exact.
    Subsetting does not exclude the [RFC5322] delimiting blank line". Fields come in
    the message's order, not the request's, each with its folding."""
    assert body_of("4.2.HEADER.FIELDS (x-note FROM SUBJECT)") == (
        b"Subject: part 4.2\r\nFrom: Ned <ned@example.test>\r\nX-Note: folded\r\n value\r\n"
        b"\r\n")
    assert body_of("HEADER.FIELDS (subject)") == b"Subject: complex\r\n\r\n"
    assert body_of("HEADER.FIELDS (X-Absent)") == b"\r\n"
    assert body_of("HEADER.FIELDS (X-NOTE)") == b"\r\n"       # only in 4.2's header
    assert body_of("HEADER.FIELDS (Subj)") == b"\r\n"         # "otherwise exact"
    # ASCII-range only: KELVIN SIGN lower-cases to "k" in Unicode, not in ASCII.
    raw = b"Keywords: a\r\n\r\nbody\r\n"
    kelvin = parse_section_spec("HEADER.FIELDS (\u212aeywords)")
    assert fetch_section(raw, parse_message(raw), kelvin) == b"\r\n"
    assert top_header_section(raw, scan_header(raw, 0, len(raw), 10), kelvin) == b"\r\n"


def test_header_fields_not() -> None:
    assert body_of("4.2.HEADER.FIELDS.NOT (Content-Type subject)") == (
        b"From: Ned <ned@example.test>\r\nX-Note: folded\r\n value\r\n\r\n")
    assert body_of("HEADER.FIELDS.NOT (FROM)") == (
        b'Subject: complex\r\nContent-Type: MULTIPART/MIXED; boundary="A"\r\n\r\n')


def test_a_message_without_body_or_blank_line_has_no_blank_line_in_its_header() -> None:
    """"the blank line is included in all header fetches, except in the case of a
    message that has no body and no blank line"."""
    raw = b"Subject: only\r\nFrom: a@b.test\r\n"
    message = parse_message(raw)
    assert fetch_section(raw, message, parse_section_spec("HEADER")) == raw
    assert fetch_section(raw, message, parse_section_spec("HEADER.FIELDS (FROM)")) == (
        b"From: a@b.test\r\n")
    assert fetch_section(raw, message, parse_section_spec("TEXT")) == b""


@pytest.mark.parametrize(("partial", "expected"), [
    ((0, 4), b"part"),
    ((5, 100), b"3.1"),                  # "truncated as appropriate"
    ((8, 1), b""),                       # "beyond the end of the text ... an empty string"
    ((80, 10), b""),
])
def test_partial_fetches(partial: tuple[int, int], expected: bytes) -> None:
    assert body_of("3.1", partial) == expected


def test_partial_of_header_fields_is_taken_after_subsetting() -> None:
    """"A substring fetch of a HEADER.FIELDS or HEADER.FIELDS.NOT part specifier is
    calculated after subsetting the header.\""""
    assert body_of("HEADER.FIELDS (Subject)", (9, 7)) == b"complex"


@pytest.mark.parametrize(("section", "error"), [
    ("5", NoSuchPart), ("4.3", NoSuchPart), ("1.1", NoSuchPart), ("3.3", NoSuchPart),
    ("1.HEADER", NotAMessagePart), ("4.TEXT", NotAMessagePart),
    ("4.2.1.HEADER.FIELDS (From)", NotAMessagePart),
])
def test_sections_that_name_nothing(section: str, error: type[SectionError]) -> None:
    with pytest.raises(error):
        body_of(section)


@pytest.mark.parametrize("text", ["MIME", "0", "1.0", "HEADER.FIELDS", "TEXT (a)", "1.",
                                  "HEADER.FIELDS ()", "X"])
def test_section_spec_syntax(text: str) -> None:
    """RFC 9051 §9 section-spec; "The MIME part specifier MUST be prefixed by one or more
    numeric part specifiers"."""
    with pytest.raises(SectionError):
        parse_section_spec(text)


def test_parse_section_spec() -> None:
    assert parse_section_spec("4.2.header.fields.not (a B)") == SectionSpec(
        (4, 2), SectionText.HEADER_FIELDS_NOT, ("a", "B"))
    assert parse_section_spec("") == SectionSpec()


def test_a_single_part_message_has_only_part_1() -> None:
    """"Messages that do not use MIME ... only have a part 1"; 1.MIME is its header."""
    raw = b"Subject: x\r\n\r\nhello\r\n"
    message = parse_message(raw)
    assert fetch_section(raw, message, parse_section_spec("1")) == b"hello\r\n"
    assert fetch_section(raw, message, parse_section_spec("1.MIME")) == b"Subject: x\r\n\r\n"
    with pytest.raises(NoSuchPart):
        find_part(message, (2,))


# --- BINARY (RFC 3516) ---------------------------------------------------------------------

def test_binary_decodes_base64_and_quoted_printable() -> None:
    assert fetch_binary(RAW, MESSAGE, (2,)) == b"part 2"
    assert fetch_binary(RAW, MESSAGE, (4, 1)) == b"GIF89a"
    assert fetch_binary(RAW, MESSAGE, (4, 1), (3, 10)) == b"89a"   # offsets are decoded
    assert binary_size(RAW, MESSAGE, (4, 1)) == 6
    mixed = parse_message(corpus.MIXED)
    assert fetch_binary(corpus.MIXED, mixed, (1,)) == "Hello é".encode()
    assert fetch_binary(corpus.MIXED, mixed, (2,)) == b"%PDF-1.4\n"


def test_binary_of_text_has_crlf_line_breaks() -> None:
    """RFC 9051 §7.5.2: "servers MUST ensure that textual line-oriented sections are
    always transmitted using the IMAP CRLF line termination syntax"; binary parts are
    returned as decoded."""
    raw = (b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
           b"Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n"
           b"b25lCnR3bw0KdGhyZWUNZm91cg==\r\n--b\r\n"
           b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n"
           b"\r\nb25lCnR3bw==\r\n--b--\r\n")
    message = parse_message(raw)
    assert fetch_binary(raw, message, (1,)) == b"one\r\ntwo\r\nthree\r\nfour"
    assert binary_size(raw, message, (1,)) == 21
    assert fetch_binary(raw, message, (2,)) == b"one\ntwo"


def test_quoted_printable_soft_breaks_and_transport_padding() -> None:
    """RFC 2045 §6.7: soft line breaks "=" CRLF vanish; "any trailing white space on a
    line must be deleted"; a malformed "=" sequence stays as written."""
    raw = (b"Content-Transfer-Encoding: Quoted-Printable\r\n\r\n"
           b"caf=C3=A9 long=\r\n line  \r\nbad =ZZ end=3D")
    message = parse_message(raw)
    assert fetch_binary(raw, message, (1,)) == "café long line\r\nbad =ZZ end=".encode()


def test_binary_of_an_unknown_encoding_asks_for_unknown_cte() -> None:
    """RFC 3516 §4.3: "If the server does not know how to decode the section's CTE, it
    MUST fail the request and issue a "NO" response that contains the "UNKNOWN-CTE"
    extended response code.\""""
    raw = b"Content-Transfer-Encoding: x-uuencode\r\n\r\nbegin 644 x\r\n"
    message = parse_message(raw)
    with pytest.raises(UnknownTransferEncoding) as raised:
        fetch_binary(raw, message, (1,))
    assert raised.value.encoding == "x-uuencode"


@pytest.mark.parametrize("numbers", [(3,), (4,), (4, 2), (4, 2, 2)])
def test_binary_only_for_leaf_parts(numbers: tuple[int, ...]) -> None:
    """RFC 9051 §6.4.5: BINARY "can only be requested for leaf body parts"."""
    with pytest.raises(NotALeafPart):
        fetch_binary(RAW, MESSAGE, numbers)


def test_binary_of_the_whole_message_is_the_message() -> None:
    assert fetch_binary(RAW, MESSAGE, ()) == RAW


def test_sections_survive_the_json_round_trip() -> None:
    from reference.message.model import ParsedMessage
    stored = ParsedMessage.from_json(MESSAGE.to_json())
    spec = parse_section_spec("4.2.HEADER.FIELDS (From)")
    assert fetch_section(RAW, stored, spec) == fetch_section(RAW, MESSAGE, spec)
