"""RFC 5322 header section: the split from the body, unfolding, the fields delivery
reads."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reference.message.headers import (
    find_fields,
    first_field,
    header_section,
    msg_ids,
    parse_header_fields,
)

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
