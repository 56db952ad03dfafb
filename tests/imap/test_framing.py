"""Framing of commands and responses: lines and literals (RFC 9051 §2.2, §4.3, §7.6;
RFC 7888 LITERAL+/LITERAL-; RFC 7889 APPENDLIMIT), and the "+" continuation the server
core emits only for a literal it is going to read."""

from __future__ import annotations

import pytest

from reference.imap.commands import Append, AppendMessage, Login, Noop
from reference.imap.framing import LITERAL_CONTINUATION, ResponseReader, literal_at_end
from reference.imap.limits import ImapLimits
from reference.imap.responses import Condition, ImapRemoteProtocolError, ResponseCode
from reference.imap.states import State
from reference.wire.buffer import ReceiveBuffer

from .helpers import NEED_DATA, REV1, REV1_LITERAL_PLUS, REV2, events, fed_three_ways, server


def refusal(result: list[object]) -> object:
    errors = [item[1] for item in result if isinstance(item, tuple)]
    assert len(errors) == 1, result
    return errors[0]


def test_literal_header_is_read_only_at_the_end_of_a_line() -> None:
    """RFC 7888 §3 MUST: the receiver "MUST check the end of every received line" for a
    literal's octet count; {n}, {n+} and ~{n} (RFC 3516 literal8)."""
    header = literal_at_end(b"a1 LOGIN {5}")
    assert header is not None and (header.size, header.synchronizing, header.literal8) == (
        5, True, False)
    plus = literal_at_end(b"a1 LOGIN {5+}")
    assert plus is not None and not plus.synchronizing
    eight = literal_at_end(b"a1 APPEND x ~{7}")
    assert eight is not None and eight.literal8
    assert literal_at_end(b"a1 LOGIN {5} x") is None
    huge = literal_at_end(b"a {99999999999999999999999}")
    assert huge is not None and huge.size >= 2**63


def test_synchronizing_literal_gets_plus_then_the_data_is_read() -> None:
    """RFC 9051 §4.3: the client "MUST wait to receive a command continuation request";
    the server sends "+" (§7.6) once it will read the octets."""
    conn = server(State.NOT_AUTHENTICATED, REV1)
    conn.receive_data(b"a1 LOGIN {5}\r\n")
    assert conn.next_event() is NEED_DATA
    assert conn.data_to_send() == LITERAL_CONTINUATION
    conn.receive_data(b"alice pw\r\n")
    assert conn.next_event() == Login("a1", "alice", "pw")
    assert conn.data_to_send() == b""


def test_literal_data_is_never_syntax() -> None:
    """RFC 9051 §2.2 / RFC 7888 §3: octets in a literal are data, even a CRLF or a
    literal header inside them."""
    def make() -> object:
        return server(State.NOT_AUTHENTICATED, REV1_LITERAL_PLUS)
    data = b"a1 LOGIN {9+}\r\nx\r\n{3}\r\nz pw\r\n"
    for result in fed_three_ways(make, data):
        assert result == [Login("a1", "x\r\n{3}\r\nz", "pw")]


def test_plus_is_sent_only_after_the_command_passes_the_state_table() -> None:
    """RFC 9051 §2.2.1 note: the server may reject the command "and prevent the client
    from sending any more of the command": no "+" for a command invalid in this state."""
    conn = server(State.NOT_AUTHENTICATED, REV1)
    result = events(conn, b"a1 SELECT {5}\r\n")
    assert refusal(result).tag == "a1"       # type: ignore[attr-defined]
    assert conn.data_to_send() == b""
    # The client sends nothing more of that command; the next line is a new command.
    assert events(conn, b"a2 NOOP\r\n") == [Noop("a2")]


def test_unknown_command_with_a_literal_gets_bad_and_no_plus() -> None:
    conn = server(State.NOT_AUTHENTICATED, REV1)
    response = refusal(events(conn, b"a1 FROB {5}\r\n"))
    assert response.condition is Condition.BAD  # type: ignore[attr-defined]
    assert conn.data_to_send() == b""


def test_non_synchronizing_literal_with_literal_plus_needs_no_continuation() -> None:
    """RFC 7888 §3: with LITERAL+ the client sends {n+} and the data at once."""
    conn = server(State.NOT_AUTHENTICATED, REV1_LITERAL_PLUS)
    assert events(conn, b"a1 LOGIN {5000+}\r\n" + b"x" * 5000 + b" pw\r\n") == [
        Login("a1", "x" * 5000, "pw")]
    assert conn.data_to_send() == b""


def test_non_synchronizing_literal_over_4096_without_literal_plus_is_bad() -> None:
    """RFC 9051 §4.3 MUST: "non-synchronizing literals MUST NOT be larger than 4096
    octets"; RFC 7888 §5: the server proceeds as in §4 (tagged BAD), the octets already
    sent are read and dropped, and the next command is read."""
    conn = server(State.NOT_AUTHENTICATED, REV2)
    result = events(conn, b"a1 LOGIN {5000+}\r\n" + b"x" * 5000 + b" pw\r\na2 NOOP\r\n")
    response = refusal(result)
    assert (response.condition, response.tag) == (Condition.BAD, "a1")  # type: ignore
    assert result[-1] == Noop("a2")
    assert conn.data_to_send() == b""


def test_non_synchronizing_literal_up_to_4096_is_fine_with_literal_minus() -> None:
    """RFC 7888 §5 LITERAL- (and IMAP4rev2): {n+} up to 4096 octets."""
    conn = server(State.NOT_AUTHENTICATED, REV2)
    assert events(conn, b"a1 LOGIN {4096+}\r\n" + b"x" * 4096 + b" pw\r\n") == [
        Login("a1", "x" * 4096, "pw")]


def test_rev1_server_without_literal_plus_refuses_any_non_synchronizing_literal() -> None:
    """RFC 3501 has no {n+}: without LITERAL+/- advertised it is a BAD."""
    conn = server(State.NOT_AUTHENTICATED, REV1)
    result = events(conn, b"a1 LOGIN {1+}\r\nx pw\r\na2 NOOP\r\n")
    assert refusal(result).condition is Condition.BAD  # type: ignore[attr-defined]
    assert result[-1] == Noop("a2")


def test_non_synchronizing_append_over_4096_carries_toobig() -> None:
    """RFC 7888 §5 MUST: "If responding to an APPEND command, the tagged BAD response
    MUST contain the TOOBIG response code"."""
    conn = server(State.AUTHENTICATED, REV2)
    response = refusal(events(conn, b"a1 APPEND INBOX {5000+}\r\n" + b"x" * 5000 + b"\r\n"))
    assert (response.condition, response.code) == (  # type: ignore[attr-defined]
        Condition.BAD, ResponseCode.TOOBIG)


def test_over_limit_append_literal_gets_no_toobig_and_no_plus() -> None:
    """RFC 7889 §4: "the server SHALL reject the APPEND command with a tagged TOOBIG
    response code" (RFC 4469 §3: a NO); no "+" is sent, so the client sends nothing more
    and the next line is a new command."""
    limits = ImapLimits(append_size=5000, append_command_size=5000)
    conn = server(State.AUTHENTICATED, REV2, limits)
    result = events(conn, b"a1 APPEND INBOX {6000}\r\na2 NOOP\r\n")
    response = refusal(result)
    assert (response.condition, response.code, response.tag) == (  # type: ignore
        Condition.NO, ResponseCode.TOOBIG, "a1")
    assert conn.data_to_send() == b""
    assert result[-1] == Noop("a2")


def test_append_mailbox_literal_is_bounded_by_literal_size_not_append_size() -> None:
    """The first literal of APPEND is the mailbox name, an ordinary literal."""
    limits = ImapLimits(literal_size=4096)
    conn = server(State.AUTHENTICATED, REV2, limits)
    response = refusal(events(conn, b"a1 APPEND {5000}\r\n"))
    assert response.code is ResponseCode.LIMIT  # type: ignore[attr-defined]


def test_over_limit_literal_of_another_command_gets_bad_limit() -> None:
    """RFC 5530 §3 LIMIT: "The operation ran up against an implementation limit";
    RFC 2683 §3.2.1.5 answers an over-long command with BAD."""
    conn = server(State.NOT_AUTHENTICATED, REV1, ImapLimits(literal_size=4096))
    result = events(conn, b"a1 LOGIN {5000}\r\na2 NOOP\r\n")
    response = refusal(result)
    assert (response.condition, response.code) == (  # type: ignore[attr-defined]
        Condition.BAD, ResponseCode.LIMIT)
    assert conn.data_to_send() == b""
    assert result[-1] == Noop("a2")


def test_multiappend_counts_every_message_against_the_command_limit() -> None:
    """RFC 3502 §3: all messages of one APPEND are held at once."""
    limits = ImapLimits(append_size=5000, append_command_size=8000)
    conn = server(State.AUTHENTICATED, REV1_LITERAL_PLUS, limits)
    body = b"x" * 4500
    result = events(conn, b"a1 APPEND INBOX {4500+}\r\n" + body + b" {4500+}\r\n" + body
                    + b"\r\na2 NOOP\r\n")
    assert refusal(result).code is ResponseCode.TOOBIG  # type: ignore[attr-defined]
    assert result[-1] == Noop("a2")


def test_non_synchronizing_literal_too_large_to_discard_closes_with_bye_toobig() -> None:
    """RFC 7888 §4 choice 2: "Send an untagged BYE response ... and close the
    connection"; §5: "it SHOULD include the TOOBIG response code"."""
    limits = ImapLimits(discard_literal=10_000)
    conn = server(State.NOT_AUTHENTICATED, REV2, limits)
    response = refusal(events(conn, b"a1 LOGIN {20000+}\r\n"))
    assert (response.condition, response.code) == (  # type: ignore[attr-defined]
        Condition.BYE, ResponseCode.TOOBIG)
    assert conn.state is State.LOGOUT


def test_append_with_literal8_and_utf8_forms() -> None:
    """RFC 3516 §4.4 literal8 (NUL allowed) and RFC 6855 §4 "UTF8" SP "(" literal8 ")"."""
    conn = server(State.AUTHENTICATED, REV1_LITERAL_PLUS)
    result = events(conn, b"a1 APPEND INBOX ~{3+}\r\na\x00b UTF8 (~{2+}\r\nhi)\r\n")
    assert result == [Append("a1", "INBOX", (AppendMessage(b"a\x00b", binary=True),
                                             AppendMessage(b"hi", binary=True, utf8=True)))]


def test_nul_in_an_ordinary_literal_is_bad() -> None:
    """RFC 9051 §9 CHAR8 = %x01-ff: a literal holds no NUL (§4.3.1: binary needs
    literal8)."""
    conn = server(State.AUTHENTICATED, REV1_LITERAL_PLUS)
    response = refusal(events(conn, b"a1 APPEND INBOX {3+}\r\na\x00b\r\n"))
    assert response.condition is Condition.BAD  # type: ignore[attr-defined]


@pytest.mark.parametrize("line", [b"a1 NOOP\n\r\n", b"a1 NO\rOP\r\n",
                                  b"a1 NOOP\na2 NOOP\r\n"])
def test_bare_lf_or_cr_is_a_bad_line(line: bytes) -> None:
    """RFC 9051 §2.2: "All interactions ... are in the form of lines, that is, strings
    that end with a CRLF": a bare LF ends nothing, so what follows it is no command."""
    conn = server(State.AUTHENTICATED, REV2)
    response = refusal(events(conn, line))
    assert response.condition is Condition.BAD  # type: ignore[attr-defined]


def test_command_line_over_the_limit_is_bad_and_the_next_command_is_read() -> None:
    """RFC 2683 §3.2.1.5: "The server should send a BAD response to a command that does
    not end within the server's maximum accepted command length"."""
    conn = server(State.AUTHENTICATED, REV2, ImapLimits(command_line=8000))
    result = events(conn, b"a1 NOOP " + b"x" * 9000 + b"\r\na2 NOOP\r\n")
    assert refusal(result).condition is Condition.BAD  # type: ignore[attr-defined]
    assert result[-1] == Noop("a2")


def test_command_lines_around_literals_count_together() -> None:
    """ImapLimits.command_line counts every line of one command (literals excluded)."""
    conn = server(State.NOT_AUTHENTICATED, REV1_LITERAL_PLUS, ImapLimits(command_line=8000))
    data = b"a1 LOGIN " + b"u" * 5000 + b" {2+}\r\npw" + b" " + b"x" * 4000 + b"\r\n"
    assert refusal(events(conn, data)).condition is Condition.BAD  # type: ignore


def test_response_reader_rejects_non_synchronizing_literals_from_the_server() -> None:
    """RFC 9051 §4.3 MUST NOT: "The non-synchronizing literal form MUST NOT be sent from
    server to client."""
    buffer = ReceiveBuffer()
    buffer.feed(b"* 1 FETCH (BODY[] {3+}\r\nabc)\r\n")
    with pytest.raises(ImapRemoteProtocolError, match=r"4\.3"):
        ResponseReader(ImapLimits()).read(buffer)


def test_response_reader_waits_for_the_whole_literal() -> None:
    reader = ResponseReader(ImapLimits())
    buffer = ReceiveBuffer()
    buffer.feed(b"* 1 FETCH (BODY[] {5}\r\nab")
    assert reader.read(buffer) is None
    buffer.feed(b"cde)\r\n")
    assert reader.read(buffer) == [b"* 1 FETCH (BODY[] {5}", b"abcde", b")"]


def test_response_literal_over_the_client_limit_is_an_error() -> None:
    limits = ImapLimits(response_literal=10)
    buffer = ReceiveBuffer()
    buffer.feed(b"* 1 FETCH (BODY[] {11}\r\n")
    with pytest.raises(ImapRemoteProtocolError, match="response_literal"):
        ResponseReader(limits).read(buffer)


@pytest.mark.parametrize("chunked", [False, True])
def test_over_long_first_line_gets_a_bad_tagged_with_its_readable_tag(chunked: bool) -> None:
    """RFC 9051 §7.1.3: the BAD "is tagged" when it answers a command and untagged only
    "if the associated command can not be determined"; RFC 2683 §3.2.1.5 SHOULD: "send a
    BAD response to a command that does not end within the server's maximum accepted
    command length". The tag is in the first octets of the over-long line, so the BAD
    carries it, whether the line arrives at once or in pieces."""
    conn = server(State.AUTHENTICATED, REV2, ImapLimits(command_line=8000))
    data = b"a1 NOOP " + b"x" * 9000 + b"\r\na2 NOOP\r\n"
    if chunked:
        result: list[object] = []
        for start in range(0, len(data), 1000):
            result += events(conn, data[start:start + 1000])
    else:
        result = events(conn, data)
    response = refusal(result)
    assert (response.condition, response.tag) == (Condition.BAD, "a1")  # type: ignore
    assert result[-1] == Noop("a2")


@pytest.mark.parametrize("line", [b"a1 NOOP\n\r\n", b"a1 NO\rOP\r\n"])
def test_bare_lf_or_cr_line_gets_a_bad_tagged_with_its_tag(line: bytes) -> None:
    """RFC 9051 §7.1.3: a BAD is untagged only "if the associated command can not be
    determined"; the tag of a line with a bare CR or LF (§2.2: lines "end with a CRLF")
    can be read."""
    conn = server(State.AUTHENTICATED, REV2)
    response = refusal(events(conn, line))
    assert (response.condition, response.tag) == (Condition.BAD, "a1")  # type: ignore


@pytest.mark.parametrize("line", [b"x" * 9000, b"(" + b"x" * 9000, b"a1" + b"x" * 9000])
def test_over_long_line_without_a_readable_tag_gets_an_untagged_bad(line: bytes) -> None:
    """RFC 9051 §7.1.3: "untagged if the associated command can not be determined"."""
    conn = server(State.AUTHENTICATED, REV2, ImapLimits(command_line=8000))
    response = refusal(events(conn, line + b"\r\n"))
    assert (response.condition, response.tag) == (Condition.BAD, None)  # type: ignore
