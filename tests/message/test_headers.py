"""RFC 5322 header section: the split from the body, unfolding, the fields delivery
reads."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reference.message.headers import (
    FieldSpan,
    HeaderScan,
    find_fields,
    first_field,
    header_section,
    msg_ids,
    parse_header_fields,
    scan_header,
)
from reference.store.sqlite_reads import _HEADER_END

MESSAGE = (b"Received: from a\r\n\tby b; Tue, 24 Nov 2026 13:50:30 +0000\r\n"
           b"Subject: a long\r\n subject line\r\n"
           b"message-id:   <one@example.test>\r\n"
           b"References: <r1@example.test>\r\n <r2@example.test>\r\n"
           b"Subject: second subject\r\n"
           b"\r\n"
           b"Subject: in the body, not a field\r\n")


def test_the_header_section_ends_at_the_first_empty_line() -> None:
    """RFC 5322 §2.1: the body is separated from the header section "by an empty line"."""
    header, body_offset = header_section(MESSAGE)
    assert header.endswith(b"<r1@example.test>\r\n <r2@example.test>\r\nSubject: second subject")
    assert MESSAGE[body_offset:] == b"Subject: in the body, not a field\r\n"


def test_a_message_without_an_empty_line_is_all_header() -> None:
    """RFC 5322 §3.5: the body is optional."""
    assert header_section(b"Subject: x\r\n") == (b"Subject: x\r\n", 12)


def test_folded_fields_are_unfolded_by_removing_the_crlf() -> None:
    """RFC 5322 §2.2.3: unfolding "is accomplished by simply removing any CRLF that is
    immediately followed by WSP"."""
    fields = parse_header_fields(header_section(MESSAGE)[0])
    subject = first_field(fields, "subject")
    assert subject is not None and subject.value == "a long subject line"
    assert [f.name for f in fields] == ["Received", "Subject", "message-id", "References",
                                        "Subject"]


def test_find_fields_returns_the_first_of_each_name_case_insensitively() -> None:
    """RFC 5322 §1.2.2: field names are case-insensitive; the first occurrence counts."""
    found = find_fields(header_section(MESSAGE)[0], ("Message-ID", "References", "Subject"))
    assert found["message-id"].value == "<one@example.test>"
    assert found["references"].value == "<r1@example.test> <r2@example.test>"
    assert found["subject"].value == "a long subject line"


def test_find_fields_ignores_names_that_only_start_the_same() -> None:
    found = find_fields(b"Subjects: no\r\nX-Subject: no\r\nSubject: yes", ("Subject",))
    assert found["subject"].value == "yes"


@given(st.lists(st.sampled_from([b"Subject", b"To", b"References", b"X-Other"]), max_size=8),
       st.lists(st.text(alphabet="abc <>@.\t", max_size=20), min_size=8, max_size=8))
def test_find_fields_agrees_with_the_line_by_line_parser(names: list[bytes],
                                                          values: list[str]) -> None:
    header = b"\r\n".join(name + b": " + value.encode() for name, value in zip(names, values,
                                                                                strict=False))
    fields = parse_header_fields(header)
    found = find_fields(header, ("Subject", "To", "References"))
    for wanted in ("subject", "to", "references"):
        expected = first_field(fields, wanted)
        assert (found[wanted].value if wanted in found else None) == (
            expected.value if expected else None)


@pytest.mark.parametrize(("value", "ids"), [
    ("<a@b>", ["a@b"]),
    ("  <a@b> (comment) <c@d>\t<e.f@g.h>", ["a@b", "c@d", "e.f@g.h"]),
    ("no brackets@here", []),
    ("<missing-at>", []),
])
def test_msg_ids_are_the_bracketed_ids(value: str, ids: list[str]) -> None:
    """RFC 5322 §3.6.4: msg-id = [CFWS] "<" id-left "@" id-right ">" [CFWS]."""
    assert msg_ids(value) == ids


# --- scan_header ----------------------------------------------------------------------

_FIELD_NAME_AT = re.compile(rb"([\x21-\x39\x3b-\x7e]+)[ \t]*:")


def _scan_line_by_line(raw: bytes, start: int, end: int, max_fields: int) -> HeaderScan:
    """scan_header written as the rules read, one line at a time: the oracle the
    regular-expression scanner is checked against."""
    fields: list[FieldSpan] = []
    dropped = False
    name: str | None = None
    field_start = value_start = value_end = 0
    pos = start
    while pos < end:
        newline = raw.find(b"\n", pos, end)
        line_end = end if newline < 0 else newline + 1
        content_end = end if newline < 0 else newline
        if newline >= 0 and content_end > pos and raw[content_end - 1] == 0x0D:
            content_end -= 1
        if content_end == pos and newline >= 0:        # the empty line
            if name is not None:
                fields.append(FieldSpan(name, field_start, value_start, value_end, pos))
            return HeaderScan(tuple(fields), pos, line_end, dropped)
        if raw[pos] in (0x20, 0x09):                   # a folded line
            if name is not None:
                value_end = content_end
        else:
            if name is not None:
                fields.append(FieldSpan(name, field_start, value_start, value_end, pos))
                name = None
            match = _FIELD_NAME_AT.match(raw, pos, content_end)
            if match is not None:
                if len(fields) < max_fields:
                    name = match.group(1).decode("ascii")
                    field_start, value_start, value_end = pos, match.end(), content_end
                else:
                    dropped = True
        pos = line_end
    if name is not None:
        fields.append(FieldSpan(name, field_start, value_start, value_end, end))
    return HeaderScan(tuple(fields), end, end, dropped)


# Header-ish bytes: names, colons, WSP, CR and LF in every combination.
_HEADERISH = st.lists(st.sampled_from(
    [b"From", b"To", b"X-A", b":", b": ", b" ", b"\t", b"\r", b"\n", b"\r\n", b"v",
     b"\x00", b"\xff", b"a b", b"\r\r\n"]), max_size=40).map(b"".join)


@given(_HEADERISH, st.integers(0, 6), st.integers(0, 6), st.integers(0, 8))
def test_scan_header_finds_the_fields_as_the_line_rules_say(
        raw: bytes, cut_start: int, cut_end: int, max_fields: int) -> None:
    """RFC 5322 §2.1 (the empty line ends the header), §2.2.3 (a line starting with WSP
    continues the field), §3.6.8 (a line without a colon is no field), LF-only and
    unterminated last lines, and the max_fields bound: the scanner's offsets equal
    those of the line-by-line rules on any bytes, in any slice of them."""
    start, end = min(cut_start, len(raw)), max(len(raw) - cut_end, 0)
    start = min(start, end)
    assert scan_header(raw, start, end, max_fields) == \
        _scan_line_by_line(raw, start, end, max_fields)


def test_scan_header_on_a_message() -> None:
    scan = scan_header(MESSAGE, 0, len(MESSAGE), 100)
    assert [(field.name, MESSAGE[field.value_start:field.value_end]) for field in scan.fields
            ] == [("Received", b" from a\r\n\tby b; Tue, 24 Nov 2026 13:50:30 +0000"),
                  ("Subject", b" a long\r\n subject line"),
                  ("message-id", b"   <one@example.test>"),
                  ("References", b" <r1@example.test>\r\n <r2@example.test>"),
                  ("Subject", b" second subject")]
    assert MESSAGE[scan.body_start:] == b"Subject: in the body, not a field\r\n"


@given(_HEADERISH, st.binary(max_size=20))
def test_the_stores_header_end_gives_a_prefix_that_scans_as_the_whole(
        raw: bytes, body: bytes) -> None:
    """The store reads a FETCH of header fields alone only up to the first empty line
    its own rule finds (sqlite_reads._HEADER_END, RFC 5322 §2.1), or all of a message
    without one: scanning that prefix finds the fields, header end and body start that
    scanning the whole message finds, on any bytes."""
    whole = raw + body
    found = _HEADER_END.search(whole)
    prefix = whole[:found.end()] if found is not None else whole
    assert scan_header(prefix, 0, len(prefix), 50) == scan_header(whole, 0, len(whole), 50)
