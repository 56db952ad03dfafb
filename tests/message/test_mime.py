"""The MIME part tree (RFC 2045, RFC 2046) with byte offsets, and its stored JSON form."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings

from fuzz.strategies import messages
from reference.message.encoded_words import Parameter
from reference.message.mime import MessageLimits, parse_message
from reference.message.model import BodyPart, Defect, ParsedMessage
from tests.message import corpus

# RFC 2046 §5.1.1's "very simple example" of a multipart message, verbatim.
RFC2046_SIMPLE = (
    b"From: Nathaniel Borenstein <nsb@bellcore.com>\r\n"
    b"To: Ned Freed <ned@innosoft.com>\r\n"
    b"Date: Sun, 21 Mar 1993 23:56:48 -0800 (PST)\r\n"
    b"Subject: Sample message\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-type: multipart/mixed; boundary="simple boundary"\r\n'
    b"\r\n"
    b"This is the preamble.  It is to be ignored, though it\r\n"
    b"is a handy place for composition agents to include an\r\n"
    b"explanatory note to non-MIME conformant readers.\r\n"
    b"\r\n"
    b"--simple boundary\r\n"
    b"\r\n"
    b"This is implicitly typed plain US-ASCII text.\r\n"
    b"It does NOT end with a linebreak.\r\n"
    b"--simple boundary\r\n"
    b"Content-type: text/plain; charset=us-ascii\r\n"
    b"\r\n"
    b"This is explicitly typed plain US-ASCII text.\r\n"
    b"It DOES end with a linebreak.\r\n"
    b"\r\n"
    b"--simple boundary--\r\n"
    b"\r\n"
    b"This is the epilogue.  It is also to be ignored.\r\n")


def body_bytes(raw: bytes, part: BodyPart) -> bytes:
    return raw[part.body_start:part.body_end]


def test_the_rfc_2046_simple_example() -> None:
    """RFC 2046 §5.1.1: "the CRLF preceding the boundary delimiter line is conceptually
    attached to the boundary so that it is possible to have a part that does not end with
    a CRLF"; preamble and epilogue are ignored; the first part has no header fields."""
    message = parse_message(RFC2046_SIMPLE)
    root = message.body
    assert (root.media_type, root.subtype) == ("multipart", "mixed")
    assert root.parameter("boundary") == "simple boundary"
    first, second = root.children
    assert first.header_start == first.header_end                  # empty header
    assert body_bytes(RFC2046_SIMPLE, first) == (
        b"This is implicitly typed plain US-ASCII text.\r\nIt does NOT end with a linebreak.")
    assert first.parameters == (Parameter("charset", "US-ASCII"),)  # RFC 2045 §5.2
    assert body_bytes(RFC2046_SIMPLE, second) == (
        b"This is explicitly typed plain US-ASCII text.\r\nIt DOES end with a linebreak.\r\n")
    assert second.parameters == (Parameter("charset", "us-ascii"),)
    assert (first.lines, second.lines) == (2, 2)
    assert root.notes == ()


def test_offsets_locate_headers_and_bodies() -> None:
    raw = corpus.FORWARDED
    message = parse_message(raw)
    forwarded = message.body.children[1]
    assert raw[forwarded.header_start:forwarded.header_end] == (
        b"Content-Type: message/rfc822\r\nContent-Disposition: attachment\r\n")
    assert raw[forwarded.header_end:forwarded.body_start] == b"\r\n"
    inner = forwarded.message
    assert inner is not None
    assert inner.body.header_start == forwarded.body_start
    assert inner.body.body_end == forwarded.body_end
    assert body_bytes(raw, inner.body) == b"line one\r\nline two"
    assert [f.name for f in inner.fields] == ["Date", "From", "To", "Subject", "Message-ID",
                                              "In-Reply-To"]
    subject = inner.fields[3]
    assert subject.raw_value(raw) == b" =?utf-8?q?Caf=C3=A9?= minutes"
    assert raw[subject.start:subject.end] == b"Subject: =?utf-8?q?Caf=C3=A9?= minutes\r\n"


def test_a_delimiter_only_has_to_start_the_line() -> None:
    """RFC 2046 §5.1.1 "NOTE TO IMPLEMENTORS: ... An exact match of the entire candidate
    line is not required; it is sufficient that the boundary appear in its entirety
    following the CRLF"; "The boundary may be followed by zero or more characters of
    linear whitespace"."""
    raw = (b"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
           b"--b   \r\n\r\none\r\n--b-and-more\r\n\r\ntwo\r\n--b--  trailing\r\nepilogue")
    children = parse_message(raw).body.children
    assert [body_bytes(raw, part) for part in children] == [b"one", b"two"]


def test_a_header_section_ends_only_at_the_empty_line() -> None:
    """RFC 5322 §2.1 / RFC 2046 §5.1.1: the header is separated from the body by an empty
    line; a line that is not a field does not end it (the email package starts the body
    there instead)."""
    raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nnot a field\r\n--b--"
    (part,) = parse_message(raw).body.children
    assert raw[part.header_start:part.header_end] == b"not a field"
    assert part.size == 0


def test_lf_only_line_ends_give_the_same_structure() -> None:
    """Stored messages are sometimes LF-only; the structure is the same."""
    crlf = parse_message(corpus.COMPLEX)
    lf_raw = corpus.COMPLEX.replace(b"\r\n", b"\n")
    lf = parse_message(lf_raw)
    assert [p.content_type for p in crlf.walk()] == [p.content_type for p in lf.walk()]
    assert [body_bytes(corpus.COMPLEX, p).replace(b"\r\n", b"\n") for p in crlf.walk()] == [
        body_bytes(lf_raw, p) for p in lf.walk()]


def test_a_missing_close_delimiter_ends_the_last_part_at_the_end() -> None:
    raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\none\r\n--b\r\n\r\ntwo\r\n"
    root = parse_message(raw).body
    assert [body_bytes(raw, part) for part in root.children] == [b"one", b"two\r\n"]
    assert root.notes == (Defect.NO_CLOSE_DELIMITER,)


def test_a_multipart_whose_boundary_never_occurs_has_one_empty_part() -> None:
    raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\njust text\r\n"
    root = parse_message(raw).body
    assert root.notes == (Defect.NO_BODY_PARTS,)
    (only,) = root.children
    assert (only.body_start, only.body_end, only.content_type) == (len(raw), len(raw),
                                                                   "text/plain")


@pytest.mark.parametrize(("content_type", "expected", "notes"), [
    (b"", ("text", "plain"), ()),                                     # absent → default
    (b"Content-Type: text\r\n", ("text", "plain"), (Defect.INVALID_CONTENT_TYPE,)),
    (b"Content-Type: /plain\r\n", ("text", "plain"), (Defect.INVALID_CONTENT_TYPE,)),
    (b"Content-Type: (comment) Text/HTML (more) ; Charset=\"UTF-8\"\r\n", ("text", "html"), ()),
    (b"Content-Type: IMAGE/x-Fancy\r\n", ("image", "x-fancy"), ()),
])
def test_content_type_defaults_and_case(content_type: bytes, expected: tuple[str, str],
                                        notes: tuple[Defect, ...]) -> None:
    """RFC 2045 §5.1: "Matching of media type and subtype is ALWAYS case-insensitive";
    comments allowed; RFC 2045 §5.2: the default for an absent or invalid field."""
    part = parse_message(b"From: a@b.test\r\n" + content_type + b"\r\nbody").body
    assert (part.media_type, part.subtype) == expected
    assert part.notes == notes


def test_content_fields_are_read_as_written() -> None:
    raw = (b"Content-Type: text/plain; charset=\"iso-8859-1\"; format=flowed\r\n"
           b"Content-Transfer-Encoding: (why not) Quoted-Printable\r\n"
           b"Content-ID:  <id@example.test>  \r\n"
           b"Content-Description: =?utf-8?q?not_decoded?=\r\n"
           b"Content-Disposition: INLINE; filename=a.txt\r\n"
           b"\r\nbody")
    part = parse_message(raw).body
    assert part.parameters == (Parameter("charset", "iso-8859-1"), Parameter("format", "flowed"))
    assert part.transfer_encoding == "quoted-printable"
    assert part.content_id == "<id@example.test>"
    assert part.description == "=?utf-8?q?not_decoded?="
    assert part.disposition == "inline"
    assert part.disposition_parameters == (Parameter("filename", "a.txt"),)


def test_empty_and_header_only_messages() -> None:
    empty = parse_message(b"")
    assert (empty.body.header_start, empty.body.body_end, empty.fields) == (0, 0, ())
    header_only = parse_message(b"Subject: x")
    assert header_only.body.body_start == header_only.body.body_end == 10
    assert header_only.fields[0].raw_value(b"Subject: x") == b" x"


def test_the_depth_limit_makes_deeper_composites_opaque() -> None:
    nested = b"".join(f'Content-Type: multipart/mixed; boundary="b{i}"\r\n\r\n--b{i}\r\n'
                      .encode() for i in range(10)) + b"\r\ninnermost"
    message = parse_message(nested, MessageLimits(max_depth=3))
    depths = [part for part in message.walk()]
    assert len(depths) == 4                          # levels 0, 1, 2 and an opaque level 3
    assert depths[-1].opaque is Defect.DEPTH_LIMIT
    assert depths[-1].children == ()


def test_the_part_limit_stops_splitting() -> None:
    raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n" + b"--b\r\n\r\nx\r\n" * 50
    root = parse_message(raw, MessageLimits(max_parts=10)).body
    assert Defect.PART_LIMIT in root.notes
    assert sum(1 for _ in root.walk()) <= 10


def test_the_header_field_limit_keeps_the_first_fields() -> None:
    raw = b"".join(b"X-%d: v\r\n" % i for i in range(20)) + b"Subject: late\r\n\r\nbody"
    message = parse_message(raw, MessageLimits(max_header_fields=5))
    assert [f.name for f in message.fields] == ["X-0", "X-1", "X-2", "X-3", "X-4"]
    assert message.envelope.subject is None
    assert message.body.notes == (Defect.HEADER_FIELD_LIMIT,)
    assert message.body.body_start == raw.index(b"body")


def test_limits_are_checked() -> None:
    with pytest.raises(ValueError):
        MessageLimits(max_depth=1000)
    with pytest.raises(ValueError):
        MessageLimits(max_parts=0)


def test_the_json_form_is_compact_versioned_and_exact() -> None:
    message = parse_message(corpus.MIXED)
    text = message.to_json()
    document = json.loads(text)
    assert document["v"] == 1
    assert document["m"]["b"]["c"][1]["dsp"] == [
        "attachment", [["filename", "résumé 2024.pdf", 1]]]
    assert ParsedMessage.from_json(text) == message
    assert ParsedMessage.from_json(text.encode()).to_json() == text
    with pytest.raises(ValueError):
        ParsedMessage.from_json('{"v": 99, "m": {}}')


def test_non_utf8_header_octets_survive_the_json_form() -> None:
    raw = (b"Subject: caf\xe9\r\nFrom: J\xf6 <j@x.test>\r\n"
           b"Content-Type: text/plain; name=\xff\r\n\r\n")
    message = parse_message(raw)
    text = message.to_json()
    text.encode("utf-8")                                      # storable as UTF-8 text
    assert ParsedMessage.from_json(text) == message
    assert message.envelope.subject is not None
    assert message.envelope.subject.encode("utf-8", "surrogateescape") == b"caf\xe9"


JSON_EXAMPLES = settings(max_examples=60, deadline=None,
                         suppress_health_check=[HealthCheck.too_slow,
                                                HealthCheck.data_too_large])


@JSON_EXAMPLES
@given(messages.messages(utf8=True))
def test_the_json_form_round_trips_exactly(raw: bytes) -> None:
    message = parse_message(raw)
    text = message.to_json()
    assert ParsedMessage.from_json(text) == message
    assert ParsedMessage.from_json(text).to_json() == text
