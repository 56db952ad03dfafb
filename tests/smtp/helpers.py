"""Shared pieces of the SMTP core tests: a trivial session, a driver, and h11's ``tr()``.

The trivial session answers every event with one fixed valid reply, so a test reads as
the bytes a client sends, the events the core produces and the bytes it writes back.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from reference.errors import RemoteProtocolError
from reference.limits import SmtpLimits
from reference.smtp.commands import (
    Auth,
    AuthResponse,
    Bdat,
    ConnectionClosed,
    Data,
    Ehlo,
    Event,
    Expn,
    Helo,
    Help,
    MailFrom,
    MessageReceived,
    MessageRejected,
    Noop,
    Quit,
    RcptTo,
    Rset,
    StartTls,
    Vrfy,
)
from reference.smtp.connection import NEED_DATA, ServerConnection
from reference.smtp.parser import Tolerances
from reference.smtp.replies import Reply, Status, reply
from reference.smtp.states import State

GREETING = reply(220, None, "mx.example ESMTP rfcmail")
# Every extension the core knows, as a session would list them after EHLO.
ALL_KEYWORDS = ("SIZE 52428800", "PIPELINING", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES",
                "STARTTLS", "AUTH PLAIN LOGIN", "CHUNKING", "DSN", "HELP")
OK = reply(250, Status.UNDEFINED, "OK")


def ehlo_reply(*keywords: str) -> Reply:
    """RFC 5321 §4.1.1.1: "250-" Domain [ SP ehlo-greet ], then one ehlo-line each."""
    return Reply(250, None, ("mx.example greets you", *keywords))


def answer(event: Event, keywords: tuple[str, ...] = ALL_KEYWORDS) -> Reply | None:
    """The trivial session: one fixed valid reply per event (``None`` for EOF)."""
    match event:
        case Ehlo():
            return ehlo_reply(*keywords)
        case Helo():
            return reply(250, None, "mx.example")
        case MailFrom() | RcptTo() | Rset() | Noop() | Bdat():
            return OK
        case Vrfy() | Expn():
            return reply(252, Status.UNDEFINED, "Cannot VRFY user, but will accept message")
        case Help():
            return reply(214, Status.UNDEFINED, "See RFC 5321")
        case Data():
            return reply(354, None, "End data with <CR><LF>.<CR><LF>")
        case MessageReceived():
            return reply(250, Status.UNDEFINED, "Queued")
        case MessageRejected(reply=refusal):
            return refusal
        case Quit():
            return reply(221, Status.UNDEFINED, "Bye")
        case StartTls():
            return reply(220, Status.UNDEFINED, "Ready to start TLS")
        case Auth():
            return reply(334, None, "")
        case AuthResponse(data=None):
            return reply(501, Status.SYNTAX_ERROR, "Authentication cancelled")
        case AuthResponse():
            return reply(235, Status.SECURITY_OTHER,
                         "Authentication succeeded")
        case ConnectionClosed():
            return None
    raise AssertionError(f"unexpected event {event!r}")


@dataclass
class Transcript:
    """What a driven connection did: events, and the replies of refused lines."""

    events: list[Event | Reply] = field(default_factory=list)
    wire: bytes = b""

    @property
    def commands(self) -> list[Event]:
        return [e for e in self.events if not isinstance(e, Reply)]

    @property
    def codes(self) -> list[int]:
        return [int(line[:3]) for line in self.wire.split(b"\r\n") if line and
                line[3:4] != b"-"]


def server(*keywords: str, limits: SmtpLimits | None = None,
           tolerances: Tolerances | None = None, greet: bool = True,
           ehlo: bool = True) -> ServerConnection:
    """A server connection after the 220 greeting and, with ``ehlo``, an EHLO whose
    reply announced ``keywords`` (all extensions by default)."""
    conn = ServerConnection(limits, tolerances)
    if greet:
        conn.send(GREETING)
    if ehlo:
        conn.receive_data(b"EHLO client.example\r\n")
        event = conn.next_event()
        assert event == Ehlo("client.example")
        conn.send(ehlo_reply(*(keywords or ALL_KEYWORDS)))
    return conn


def pump(conn: ServerConnection, transcript: Transcript, *,
         respond: Callable[[Event], Reply | None] = answer,
         tls: bool = True, max_steps: int = 100_000) -> None:
    """Take events until NEED_DATA, answering each; a refused line is answered with the
    reply its ``RemoteProtocolError`` carries. With ``tls`` a 220 to STARTTLS is followed
    by ``tls_established()`` (the handshake, done elsewhere)."""
    for _ in range(max_steps):
        try:
            event = conn.next_event()
        except RemoteProtocolError as error:
            assert isinstance(error.reply, Reply), error
            transcript.events.append(error.reply)
            transcript.wire += conn.send(error.reply)
            continue
        if event is NEED_DATA:
            return
        transcript.events.append(event)
        response = respond(event)
        if response is None:
            return
        transcript.wire += conn.send(response)
        if tls and conn.state is State.TLS_PENDING:
            conn.tls_established()
    raise AssertionError("the connection produced events without end")


def drive(conn: ServerConnection, chunks: bytes | Iterable[bytes], **options: object
          ) -> Transcript:
    """Feed ``chunks`` (one ``bytes`` is one chunk) and answer everything produced."""
    transcript = Transcript()
    if isinstance(chunks, bytes):
        chunks = [chunks]
    for chunk in chunks:
        conn.receive_data(chunk)
        pump(conn, transcript, **options)  # type: ignore[arg-type]
    return transcript


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    """``data`` cut at the given positions (taken modulo its length)."""
    points = sorted({cut % (len(data) + 1) for cut in cuts} | {0, len(data)})
    return [data[start:end] for start, end in itertools.pairwise(points)]


def byte_by_byte(data: bytes) -> list[bytes]:
    return [data[i:i + 1] for i in range(len(data))]


def tr(make_conn: Callable[[], ServerConnection], data: bytes,
       expected_events: list[Event | Reply], expected_wire: bytes | None = None,
       **options: object) -> None:
    """h11's ``tr()``: the same events and reply bytes whether ``data`` arrives whole,
    one byte at a time, or followed by the start of something else."""
    for label, chunks in (("whole", [data]), ("byte by byte", byte_by_byte(data)),
                          ("with trailing data", [data + b"NOOP"])):
        transcript = drive(make_conn(), chunks, **options)
        assert transcript.events == expected_events, label
        if expected_wire is not None:
            assert transcript.wire == expected_wire, label
