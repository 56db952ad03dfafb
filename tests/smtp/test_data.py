"""Mail data after DATA: transparency (RFC 5321 §4.5.2), the end of data (§4.1.1.4), size
and line limits (§4.5.3.1), and SMTP smuggling (CVE-2023-51764, -51765, -51766)."""

from __future__ import annotations

import time

import pytest

from reference.limits import SmtpLimits
from reference.smtp.commands import (
    Data,
    Event,
    Mailbox,
    MailFrom,
    MessageReceived,
    MessageRejected,
    Quit,
    RcptTo,
)
from reference.smtp.connection import ServerConnection
from reference.smtp.parser import Tolerances
from reference.smtp.replies import Reply, Status, reply
from reference.smtp.states import State

from .helpers import Transcript, byte_by_byte, drive, pump, server

ENVELOPE = b"MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n"
ENVELOPE_EVENTS: list[Event | Reply] = [MailFrom(Mailbox("a", "example.com")),
                                        RcptTo(Mailbox("b", "example.com")), Data()]
SMALL = SmtpLimits(message_size=64 * 1024)


def in_data(limits: SmtpLimits | None = None,
            tolerances: Tolerances | None = None) -> ServerConnection:
    """A connection that has answered DATA with 354."""
    conn = server(limits=limits, tolerances=tolerances)
    assert drive(conn, ENVELOPE).events == ENVELOPE_EVENTS
    assert conn.state is State.DATA
    return conn


def data_events(wire: bytes | list[bytes], **options: object) -> list[Event | Reply]:
    return drive(in_data(**options), wire).events  # type: ignore[arg-type]


def every_split(wire: bytes) -> list[list[bytes]]:
    """``wire`` whole, cut in two at every position, and one byte at a time."""
    return [[wire], *([wire[:i], wire[i:]] for i in range(1, len(wire))), byte_by_byte(wire)]


# --- transparency and the end of data --------------------------------------------------------


@pytest.mark.parametrize(("wire", "content"), [
    (b"Subject: x\r\n\r\nhello\r\n.\r\n", b"Subject: x\r\n\r\nhello\r\n"),
    (b"..leading dot\r\n.\r\n", b".leading dot\r\n"),
    (b"a\r\n..\r\n...\r\n.b\r\n.\r\n", b"a\r\n.\r\n..\r\nb\r\n"),
    (b"\r\n.\r\n", b"\r\n"),
    (b"x\r\n\r\n\r\n.\r\n", b"x\r\n\r\n\r\n"),
    (b"a.\r\n.a\r\n.\r\n", b"a.\r\na\r\n"),
])
def test_mail_data_is_dot_unstuffed(wire: bytes, content: bytes) -> None:
    """RFC 5321 §4.5.2 MUST: "When a line of mail text is received by the SMTP server, it
    checks the line. If the line is composed of a single period, it is treated as the end
    of mail indicator. If the first character is a period and there are other characters
    on the line, the first character is deleted."."""
    assert data_events(wire) == [MessageReceived(content)]


def test_an_empty_message_is_a_single_dot_line() -> None:
    """RFC 5321 §4.1.1.4: "The mail data are terminated by a line containing only a
    period"; the CRLF ending the DATA command starts that line."""
    assert data_events(b".\r\n") == [MessageReceived(b"")]


def test_a_message_whose_first_line_begins_with_a_dot() -> None:
    """RFC 5321 §4.5.2: the first line is a line like the others."""
    assert data_events([b".", b".x\r\n", b".\r\n"]) == [MessageReceived(b".x\r\n")]
    assert data_events([b".", b"\r", b"\n"]) == [MessageReceived(b"")]


@pytest.mark.parametrize("wire", [b"Subject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n",
                                  b".\r\nQUIT\r\n", b"..\r\n.\r\nQUIT\r\n"])
def test_the_terminator_split_across_any_two_reads_ends_the_data_once(wire: bytes) -> None:
    """RFC 5321 §4.1.1.4: <CRLF>.<CRLF> ends the data however the octets arrive; what
    follows is the next command."""
    expected = None
    for chunks in every_split(wire):
        events = data_events(chunks)
        assert len(events) == 2 and isinstance(events[0], MessageReceived)
        assert events[1] == Quit()
        expected = expected or events
        assert events == expected


def test_after_the_message_the_state_is_ready_for_the_next_transaction() -> None:
    """RFC 5321 §4.1.1.4: the reply to the data ends the transaction (§3.3)."""
    conn = in_data()
    drive(conn, b"x\r\n.\r\n")
    assert conn.state is State.READY
    assert drive(conn, ENVELOPE).events == ENVELOPE_EVENTS


# --- limits ------------------------------------------------------------------------------------


def test_a_message_at_the_size_limit_is_accepted_and_one_octet_more_gets_552_5_3_4() -> None:
    """RFC 1870 §6 / RFC 5321 §4.5.3.1.9: "552 Too much mail data"; RFC 3463 X.3.4 "Message
    too big for system". The limit counts the message, not its dot-stuffing."""
    fits = b".\r\n" * 21844 + b"ab\r\n"
    assert len(fits) == SMALL.message_size
    stuffed = fits.replace(b".\r\n", b"..\r\n")
    assert data_events(stuffed + b".\r\n", limits=SMALL) == [MessageReceived(fits)]
    events = data_events(b"x" + stuffed + b".\r\n", limits=SMALL)
    assert events == [MessageRejected(reply(552, Status.MESSAGE_TOO_BIG,
                                            "Message size exceeds fixed maximum message size"))]


def test_an_oversized_message_is_discarded_while_it_streams() -> None:
    """DESIGN.md principle 8 (bounded buffers): octets beyond the limit are not kept; the
    552 comes after the terminator (RFC 5321 §4.1.1.4: the reply follows the data)."""
    conn = in_data(limits=SMALL)
    transcript = Transcript()
    line = b"y" * 78 + b"\r\n"
    for _ in range(1024 * 1024 // 4096):
        conn.receive_data(line * (4096 // len(line)))
        pump(conn, transcript)
        assert conn.buffered <= SMALL.message_size * 4 // 3 + 1024 + 4096
    assert transcript.events == []
    conn.receive_data(b".\r\nQUIT\r\n")
    pump(conn, transcript)
    assert [getattr(e, "reply", e) for e in transcript.events] == [
        reply(552, Status.MESSAGE_TOO_BIG, "Message size exceeds fixed maximum message size"),
        Quit()]
    assert transcript.wire.startswith(b"552 5.3.4 ")


def test_a_line_of_1000_octets_is_accepted_and_1001_refused() -> None:
    """RFC 5321 §4.5.3.1.6: "The maximum total length of a text line including the <CRLF>
    is 1000 octets (not counting the leading dot duplicated for transparency)"."""
    fits = b"x" * 998 + b"\r\n"
    assert data_events(fits + b".\r\n") == [MessageReceived(fits)]
    [refusal] = data_events(b"x" * 999 + b"\r\n.\r\n")
    assert isinstance(refusal, MessageRejected)
    assert refusal.reply.code == 554
    stuffed = b"." + b"." + b"x" * 997 + b"\r\n"           # 1001 octets on the wire
    assert data_events(stuffed + b".\r\n") == [MessageReceived(b"." + b"x" * 997 + b"\r\n")]


def test_the_text_line_limit_is_configurable() -> None:
    """SmtpLimits.text_line: never below RFC 5321 §4.5.3.1.6's 1000."""
    line = b"x" * 1500 + b"\r\n"
    assert data_events(line + b".\r\n", limits=SmtpLimits(text_line=2000)) == [
        MessageReceived(line)]
    with pytest.raises(ValueError):
        SmtpLimits(text_line=999)


# --- SMTP smuggling ---------------------------------------------------------------------------

# An end of data that some server might see, and the second transaction behind it.
SMUGGLED = (b"MAIL FROM:<evil@attacker.example>\r\nRCPT TO:<victim@example.com>\r\nDATA\r\n"
            b"From: ceo@example.com\r\n\r\nwire the money\r\n")
# Sequences with a bare CR or LF (SEC Consult, Dec 2023; CVE-2023-51764 Postfix,
# CVE-2023-51765 Sendmail, CVE-2023-51766 Exim).
BARE_LINE_END_ENDINGS = [
    b"\n.\n", b"\n.\r\n", b"\r.\r", b"\r\n.\n", b"\r.\r\n", b"\n.\r", b"\r\n.\r",
    b"\r.\n", b"\n.\n\r", b"\r\n.\r\r\n", b"\r\n\n.\n", b"\n\n.\n\n", b"\r\r.\r\r",
]
# Sequences without one, which servers that trim or ignore octets read as the end.
OTHER_ENDINGS = [b"\r\n\x00.\r\n", b"\r\n.\x00\r\n", b"\r\n .\r\n", b"\r\n. \r\n",
                 b"\r\n.\t\r\n", b"\r\n\x0b.\r\n"]


def smuggling_attempt(ending: bytes) -> bytes:
    return b"Subject: hello\r\n\r\nhi" + ending + SMUGGLED + b".\r\nQUIT\r\n"


@pytest.mark.parametrize("ending", BARE_LINE_END_ENDINGS)
def test_a_bare_line_end_terminator_does_not_end_the_data_and_the_message_is_refused(
        ending: bytes) -> None:
    """RFC 5321 §4.1.1.4: the end is <CRLF>.<CRLF> only; §2.3.8 MUST NOT: "a bare CR or
    LF" in mail data, so the one message is refused with 554 5.6.0; the smuggled MAIL and
    RCPT never become commands (CVE-2023-51764/51765/51766)."""
    for chunks in every_split(smuggling_attempt(ending))[::7]:
        events = data_events(chunks)
        assert len(events) == 2
        assert isinstance(events[0], MessageRejected)
        assert (events[0].reply.code, events[0].reply.status) == (554, Status.MEDIA_OTHER)
        assert events[1] == Quit()


@pytest.mark.parametrize("ending", BARE_LINE_END_ENDINGS)
def test_with_the_tolerance_a_smuggling_attempt_is_one_message_with_crlf_lines(
        ending: bytes) -> None:
    """Tolerances.accept_bare_line_ends_in_data (a DEVIATION from RFC 5321 §2.3.8): bare
    CR and LF become CRLF, the end of data is still only <CRLF>.<CRLF> (§4.1.1.4), so the
    smuggled transaction is text inside the one message."""
    tolerant = Tolerances(accept_bare_line_ends_in_data=True)
    events = data_events(smuggling_attempt(ending), tolerances=tolerant)
    assert len(events) == 2 and events[1] == Quit()
    message = events[0]
    assert isinstance(message, MessageReceived)
    content = message.content
    assert b"MAIL FROM:<evil@attacker.example>\r\n" in content
    assert content.startswith(b"Subject: hello\r\n\r\nhi\r\n")
    assert content.endswith(b"wire the money\r\n")
    assert content.count(b"\r") == content.count(b"\n") == content.count(b"\r\n")


@pytest.mark.parametrize("ending", OTHER_ENDINGS)
def test_a_terminator_with_other_octets_around_the_dot_is_text(ending: bytes) -> None:
    """RFC 5321 §4.5.2: only "a single period" on a line ends the data; NUL, SP, HT or VT
    next to it make it text (nothing here is a bare line end, so the message is kept)."""
    events = data_events(smuggling_attempt(ending))
    assert len(events) == 2 and events[1] == Quit()
    message = events[0]
    assert isinstance(message, MessageReceived)
    assert b"\r\nMAIL FROM:<evil@attacker.example>\r\n" in message.content


@pytest.mark.parametrize("start", [b".\n", b".\r", b".\n.\n", b".\r\r\n", b"\n.\n"])
def test_a_smuggling_sequence_at_the_very_start_of_the_data_is_no_terminator(
        start: bytes) -> None:
    """RFC 5321 §4.1.1.4: the first line of data is "." CRLF only when it is exactly that."""
    for chunks in every_split(start + SMUGGLED + b".\r\nQUIT\r\n")[::5]:
        events = data_events(chunks)
        assert [type(e) for e in events] == [MessageRejected, Quit]


def test_the_tolerance_keeps_a_lone_dot_line_as_a_dot() -> None:
    """RFC 5321 §4.5.2: a leading period is deleted only when "there are other characters
    on the line"; a lone "." that a bare LF made into a line is kept, so the message is
    exactly what the client sent. (found: the dot was deleted)"""
    tolerant = Tolerances(accept_bare_line_ends_in_data=True)
    assert data_events(b"a\n.\nb\r\n.\r\n", tolerances=tolerant) == [
        MessageReceived(b"a\r\n.\r\nb\r\n")]
    assert data_events(b"a\n..\nb\r\n.\r\n", tolerances=tolerant) == [
        MessageReceived(b"a\r\n.\r\nb\r\n")]


def test_bare_line_ends_are_refused_even_without_a_dot() -> None:
    """RFC 5321 §2.3.8 MUST NOT: "a bare CR or LF" anywhere in mail data."""
    for wire in (b"a\nb\r\n.\r\n", b"a\rb\r\n.\r\n", b"a\r\n\rb\r\n.\r\n"):
        [event] = data_events(wire)
        assert isinstance(event, MessageRejected)
        assert event.reply.code == 554


def test_a_large_message_of_long_lines_is_checked_in_linear_time() -> None:
    """RFC 5321 §4.5.3.1.6 (1000-octet lines) checked without blocking: DESIGN.md
    principle 8, "never ... a hang". (found: the line-length search restarted at every
    octet, about 20 s for 10 MB of 998-octet lines, blocking the server's event loop)"""
    line = b"x" * 998 + b"\r\n"
    content = line * 10_000
    started = time.monotonic()
    assert data_events(content + b".\r\n") == [MessageReceived(content)]
    assert time.monotonic() - started < 3.0
