"""BDAT chunking (RFC 3030 §2): framing by count, refusals that still consume the chunk,
size across chunks, and the DATA/BDAT exclusion."""

from __future__ import annotations

from reference.limits import SmtpLimits
from reference.smtp.commands import (
    Bdat,
    Data,
    Mailbox,
    MailFrom,
    MessageReceived,
    MessageRejected,
    Quit,
    RcptTo,
    Rset,
)
from reference.smtp.connection import ServerConnection
from reference.smtp.parser import Tolerances
from reference.smtp.replies import Reply, Status, reply
from reference.smtp.states import State

from .helpers import OK, Transcript, drive, pump, server, tr

ENVELOPE = b"MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\n"
A, B = Mailbox("a", "example.com"), Mailbox("b", "example.com")
TOO_BIG = reply(552, Status.MESSAGE_TOO_BIG, "Message size exceeds fixed maximum message size")


def bdat(data: bytes, *, last: bool = False) -> bytes:
    return f"BDAT {len(data)}{' LAST' if last else ''}\r\n".encode() + data


def with_envelope(**options: object) -> ServerConnection:
    conn = server(**options)  # type: ignore[arg-type]
    assert drive(conn, ENVELOPE).events == [MailFrom(A), RcptTo(B)]
    return conn


def test_chunks_are_assembled_into_the_message_at_last() -> None:
    """RFC 3030 §2: "the message is sent using a series of BDAT commands"; "A 250 response
    MUST be sent to each successful BDAT data block"; LAST marks the last chunk."""
    tr(with_envelope, bdat(b"Subject: x\r\n") + bdat(b"\r\nhello ") + bdat(b"world\r\n", last=True)
       + b"QUIT\r\n", [
           Bdat(12, last=False, chunk=b"Subject: x\r\n"), Bdat(8, last=False, chunk=b"\r\nhello "),
           MessageReceived(b"Subject: x\r\n\r\nhello world\r\n"), Quit()],
       b"250 2.0.0 OK\r\n250 2.0.0 OK\r\n250 2.0.0 Queued\r\n221 2.0.0 Bye\r\n")


def test_bdat_0_last_ends_the_message() -> None:
    """RFC 3030 §2: "The last BDAT command MAY have a byte-count of zero indicating there is
    no additional data to be sent."."""
    assert drive(with_envelope(), bdat(b"abc\r\n") + b"BDAT 0 LAST\r\n").events == [
        Bdat(5, last=False, chunk=b"abc\r\n"), MessageReceived(b"abc\r\n")]
    assert drive(with_envelope(), b"BDAT 0 LAST\r\n").events == [MessageReceived(b"")]


def test_a_chunk_that_looks_like_commands_stays_data() -> None:
    """RFC 3030 §2: "The message data is sent immediately after the trailing <CR> <LF> of
    the BDAT command line" and is exactly chunk-size octets, whatever they contain; no
    dot-stuffing applies."""
    chunk = b"MAIL FROM:<evil@x.example>\r\nRCPT TO:<v@example.com>\r\n.\r\nQUIT\r\n..x\r\n"
    events = drive(with_envelope(), bdat(chunk, last=True) + b"QUIT\r\n").events
    assert events == [MessageReceived(chunk), Quit()]


def test_a_bdat_before_mail_is_refused_and_its_chunk_is_consumed() -> None:
    """RFC 3030 §2 MUST: "If a failure occurs after a BDAT command is received, the
    receiver-SMTP MUST accept and discard the associated message data before sending the
    appropriate 5XX or 4XX code"; §4.1.4 503 for the order."""
    chunk = b"MAIL FROM:<evil@x.example>\r\n"
    tr(server, bdat(chunk) + b"QUIT\r\n", [
        reply(503, Status.INVALID_COMMAND, "Need MAIL before BDAT"), Quit()])


def test_a_bdat_before_rcpt_is_refused_and_its_chunk_is_consumed() -> None:
    """RFC 3030 §2 MUST: the data of a failed BDAT is accepted and discarded."""
    conn = server()
    drive(conn, b"MAIL FROM:<a@example.com>\r\n")
    events = drive(conn, bdat(b"RCPT TO:<evil@x.example>\r\n", last=True) + b"QUIT\r\n").events
    assert events == [reply(503, Status.INVALID_COMMAND, "Need RCPT before BDAT"), Quit()]


def test_a_bdat_after_bdat_last_gets_503_and_its_chunk_is_consumed() -> None:
    """RFC 3030 §2 MUST: "Any BDAT command sent after the BDAT LAST is illegal and MUST be
    replied to with a 503 "Bad sequence of commands" reply code."."""
    events = drive(with_envelope(), bdat(b"x", last=True) + bdat(b"NOOP\r\n") + b"QUIT\r\n").events
    assert events == [MessageReceived(b"x"),
                      reply(503, Status.INVALID_COMMAND, "Need MAIL before BDAT"), Quit()]


def test_chunks_pipelined_after_a_failed_bdat_are_discarded() -> None:
    """RFC 3030 §2 MUST: "the receiver SMTP MUST be prepared to accept and discard
    additional BDAT chunks already in the pipeline after the failed BDAT"."""
    conn = with_envelope()
    conn.receive_data(bdat(b"one") + bdat(b"NOOP\r\n") + bdat(b"x", last=True) + b"QUIT\r\n")
    assert conn.next_event() == Bdat(3, last=False, chunk=b"one")
    conn.send(reply(452, Status.SYSTEM_FULL, "Insufficient system storage"))
    assert conn.state is State.READY
    transcript = Transcript()
    pump(conn, transcript)
    assert transcript.events == [reply(503, Status.INVALID_COMMAND, "Need MAIL before BDAT"),
                                 reply(503, Status.INVALID_COMMAND, "Need MAIL before BDAT"),
                                 Quit()]


def test_the_size_limit_applies_across_chunks() -> None:
    """RFC 1870 §6 / RFC 5321 §4.5.3.1.9: 552 when the message exceeds the limit, here
    reached by the second chunk; the chunk is still consumed (RFC 3030 §2)."""
    limits = SmtpLimits(message_size=64 * 1024)
    events = drive(with_envelope(limits=limits),
                   bdat(b"a" * 40_000) + bdat(b"b" * 30_000) + bdat(b"c", last=True)
                   + b"QUIT\r\n").events
    assert events == [Bdat(40_000, last=False, chunk=b"a" * 40_000), MessageRejected(TOO_BIG),
                      reply(503, Status.INVALID_COMMAND, "Need MAIL before BDAT"), Quit()]


def test_a_huge_chunk_is_discarded_as_it_streams() -> None:
    """DESIGN.md principle 8: the chunk is read and dropped, never buffered whole."""
    limits = SmtpLimits(message_size=64 * 1024)
    conn = with_envelope(limits=limits)
    conn.receive_data(b"BDAT 1048576 LAST\r\n")
    transcript = Transcript()
    for _ in range(256):
        conn.receive_data(b"z" * 4096)
        pump(conn, transcript)
        assert conn.buffered <= 4096
    assert transcript.events == [MessageRejected(TOO_BIG)]


def test_data_after_bdat_gets_503() -> None:
    """RFC 3030 §2 MUST: "If a DATA statement is issued after a BDAT for the current
    transaction, a 503 "Bad sequence of commands" MUST be issued."."""
    events = drive(with_envelope(), bdat(b"x") + b"DATA\r\n").events
    assert events == [Bdat(1, last=False, chunk=b"x"), reply(
        503, Status.INVALID_COMMAND, "DATA cannot follow BDAT in a transaction (RFC 3030 §2)")]


def test_data_and_bdat_may_alternate_between_transactions() -> None:
    """RFC 3030 §2: "There is no prohibition on using DATA and BDAT in the same session, so
    long as they are not mixed in the same transaction."."""
    events = drive(with_envelope(), bdat(b"x", last=True) + ENVELOPE
                   + b"DATA\r\ny\r\n.\r\n").events
    assert events == [MessageReceived(b"x"), MailFrom(A), RcptTo(B), Data(),
                      MessageReceived(b"y\r\n")]


def test_rset_between_chunks_drops_them() -> None:
    """RFC 3030 §2: "The RSET command, when issued after the first BDAT and before the BDAT
    LAST, clears all segments sent during that transaction and resets the session."."""
    events = drive(with_envelope(), bdat(b"old ") + b"RSET\r\n" + ENVELOPE
                   + bdat(b"new", last=True)).events
    assert events == [Bdat(4, last=False, chunk=b"old "), Rset(), MailFrom(A), RcptTo(B),
                      MessageReceived(b"new")]


def test_bdat_without_chunking_advertised_is_answered_and_the_connection_closed() -> None:
    """RFC 3030 §2: "Illegally sending a BDAT command and associated message data to a
    non-CHUNKING capable system will result in the receiver-SMTP parsing the associated
    message data as if it were ... command line": the chunk size cannot frame anything,
    so the core refuses and closes (RFC 5321 §3.8 421)."""
    conn = server("PIPELINING")
    drive(conn, ENVELOPE)
    transcript = drive(conn, bdat(b"MAIL FROM:<evil@x.example>\r\n") + b"QUIT\r\n")
    assert transcript.wire == b"421 4.3.2 BDAT not available; closing connection\r\n"
    assert conn.state is State.CLOSED
    assert transcript.events == [reply(421, Status.SYSTEM_NOT_ACCEPTING,
                                       "BDAT not available; closing connection")]


def test_a_bdat_with_an_unreadable_size_closes_the_connection() -> None:
    """RFC 3030 §2: "chunk-size ::= 1*DIGIT"; without it the chunk cannot be skipped, so
    nothing after it can be read as commands (RFC 3030 §2, lines of "arbitrary octets")."""
    conn = with_envelope()
    transcript = drive(conn, b"BDAT many\r\nMAIL FROM:<evil@x.example>\r\n")
    assert [r.code for r in transcript.events if isinstance(r, Reply)] == [421]
    assert conn.state is State.CLOSED


def test_bare_line_ends_in_a_bdat_message_are_refused_unless_tolerated() -> None:
    """RFC 3030 §2 MUST: "text messages sent with the BDAT command MUST be sent in the
    canonical MIME format with lines delimited with a <CR><LF>"; RFC 5321 §2.3.8."""
    [refusal] = drive(with_envelope(), bdat(b"a\nb\r\n", last=True)).events
    assert isinstance(refusal, MessageRejected) and refusal.reply.code == 554
    tolerant = Tolerances(accept_bare_line_ends_in_data=True)
    assert drive(with_envelope(tolerances=tolerant), bdat(b"a\nb\r\n", last=True)).events == [
        MessageReceived(b"a\r\nb\r\n")]


def test_a_chunk_split_across_reads_is_the_same_chunk() -> None:
    """RFC 3030 §2: a chunk is exactly chunk-size octets, however they arrive."""
    tr(with_envelope, bdat(b"1234567890", last=True) + b"QUIT\r\n",
       [MessageReceived(b"1234567890"), Quit()])


def test_a_refused_last_chunk_ends_the_transaction() -> None:
    """RFC 3030 §2: "the transaction should be considered failed" after a 5xx to BDAT."""
    conn = with_envelope()
    conn.receive_data(bdat(b"x", last=True))
    assert conn.next_event() == MessageReceived(b"x")
    conn.send(reply(554, Status.DELIVERY_NOT_AUTHORIZED, "Refused"))
    assert conn.state is State.READY
    conn.receive_data(b"RSET\r\n")
    assert conn.next_event() == Rset()
    assert conn.send(OK) == b"250 2.0.0 OK\r\n"
