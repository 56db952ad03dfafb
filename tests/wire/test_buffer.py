"""ReceiveBuffer line extraction (reference/wire/buffer.py), the framing under SMTP and IMAP:
only CRLF ends a line (RFC 5321 §2.3.8 MUST NOT recognize another line terminator; RFC
9051 §2.2 lines "end with a CRLF"), whatever the chunks the bytes arrive in."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from reference.wire.buffer import BadLine, LineProblem, ReceiveBuffer


def lines_of(chunks: list[bytes], max_length: int = 100) -> list[bytes | BadLine]:
    buffer, found = ReceiveBuffer(), []
    for chunk in chunks:
        buffer.feed(chunk)
        while (line := buffer.extract_line(max_length)) is not None:
            found.append(line)
    return found


def test_a_crlf_split_across_chunks_ends_the_line() -> None:
    assert lines_of([b"NOOP\r", b"\nQUIT\r\n"]) == [b"NOOP", b"QUIT"]


def test_a_bare_lf_is_part_of_the_line_not_its_end() -> None:
    """RFC 5321 §2.3.8: "MUST NOT recognize ... any other character or character sequence
    as a line terminator": what follows a bare LF belongs to the same, bad, line."""
    [bad, after] = lines_of([b"NOOP\nQUIT\r\n", b"RSET\r\n"])
    assert bad == BadLine(LineProblem.BARE_LF, 11)
    assert isinstance(bad, BadLine) and bad.head == b"NOOP\nQUIT"
    assert after == b"RSET"
    assert lines_of([b"NOOP\n"]) == []          # no line end yet: more data is needed


def test_a_bare_cr_makes_a_bad_line() -> None:
    assert lines_of([b"NO\rOP\r\n"]) == [BadLine(LineProblem.BARE_CR, 7)]


def test_a_long_line_is_reported_once_and_skipped_to_its_crlf() -> None:
    """RFC 5321 §4.5.3.1.4: a limit counted with the CRLF; the rest of the long line is
    discarded, a CRLF split across chunks included, and the next line is read."""
    found = lines_of([b"x" * 12, b"yy\r", b"\nok\r\n"], max_length=10)
    assert found[0] == BadLine(LineProblem.TOO_LONG, 12)
    assert found[1:] == [b"ok"]
    assert lines_of([b"x" * 9 + b"\r\n"], max_length=10) == [
        BadLine(LineProblem.TOO_LONG, 11)]
    assert lines_of([b"x" * 8 + b"\r\n"], max_length=10) == [b"x" * 8]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=30).filter(lambda b: b"\r" not in b and b"\n" not in b),
                max_size=8),
       st.lists(st.integers(0, 300), max_size=6))
def test_chunking_never_changes_the_lines(lines: list[bytes], cuts: list[int]) -> None:
    """The same bytes give the same lines however TCP splits them."""
    wire = b"".join(line + b"\r\n" for line in lines)
    points = sorted({min(cut, len(wire)) for cut in cuts})
    chunks = [wire[a:b] for a, b in zip([0, *points], [*points, len(wire)], strict=True)]
    assert lines_of(chunks) == lines


def test_a_line_with_both_reports_the_bare_lf() -> None:
    assert lines_of([b"a\rb\nc\r\n"]) == [BadLine(LineProblem.BARE_LF, 7)]
