"""In-process fuzz targets: one function per parser, bytes in, ``None`` out.

Each target feeds arbitrary bytes to one reference parser the way the server (or the
client side of the conformance drivers) does, answers whatever events come out with a
trivial valid response, and checks what the core writes back with the reference parser
of the other direction. A target returns normally for every input a conforming parser
handles: a value, or its protocol error type carrying the response to send (DESIGN.md
principle 8). Anything else it raises (another exception, an event without end, a
response the other side cannot read) is a bug.

The same targets serve the bounded property tests (``tests/fuzz/``), the atheris
harnesses (``fuzz/harness/``) and the speed figures (``fuzz/speed.py``), so what is
measured is what is fuzzed.

- ``smtp_command``: ``reference.smtp`` ServerConnection after EHLO with every extension
  (RFC 5321 §4.1 command lines, §4.5.2 mail data, RFC 3030 BDAT chunks, RFC 4954 AUTH
  exchanges, RFC 3207 STARTTLS), each reply read back by the SMTP ClientConnection; and
  ``parse_command`` on every line on its own.
- ``imap_command``: ``reference.imap`` ServerConnection (RFC 9051 §9 ``command``,
  literals §4.3, IDLE and AUTHENTICATE exchanges), not authenticated or authenticated,
  each response the core refuses with read back by the client response parser.
- ``imap_response``: the IMAP ClientConnection with a NOOP in flight, fed server bytes
  (RFC 9051 §9 ``response``).
- ``message``: ``reference.message.mime.parse_message`` (RFC 5322, RFC 2045/2046), then
  what FETCH computes from it (ENVELOPE and BODYSTRUCTURE, RFC 9051 §7.5.2) and the
  stored JSON form, which must give the same tree back.
- ``smtp_reply``: the SMTP ClientConnection fed server bytes (RFC 5321 §4.2 replies,
  RFC 2034 enhanced codes): every reply is a ``Reply`` or a ``RemoteProtocolError``.
- ``sasl``: the SASL server mechanisms of ``reference.directory.sasl`` (PLAIN, RFC 4616;
  LOGIN; SCRAM-SHA-256, RFC 5802/7677) on client messages, and the SCRAM client on a
  server-first-message; every step is a ``Step``, never an exception.
- ``sequence_set``: RFC 9051 §9 ``sequence-set`` parsed, then its arithmetic
  (``reference.imap.sequence_sets``: resolving "*" against message counts and UID lists,
  intervals, positions), which must agree with the set as written.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from itertools import chain

from reference.directory.passwords import derive_credentials, format_credentials
from reference.directory.sasl import (
    Challenge,
    ClientScram,
    CredentialsRequested,
    Failed,
    LoginServer,
    PlainServer,
    ScramSha256Server,
    ServerMechanism,
    Succeeded,
)
from reference.errors import RemoteProtocolError
from reference.imap import responses as imap_r
from reference.imap.client_connection import ClientConnection as ImapClient
from reference.imap.commands import (
    Authenticate,
    AuthenticateResponse,
    ConnectionClosed,
    Idle,
    Noop,
)
from reference.imap.commands import IdleDone as ImapIdleDone
from reference.imap.connection import NEED_DATA as IMAP_NEED_DATA
from reference.imap.connection import ServerConnection as ImapServer
from reference.imap.framing import ResponseReader
from reference.imap.grammar import Cursor, GrammarError
from reference.imap.grammar_values import parse_sequence_set
from reference.imap.limits import ImapLimits
from reference.imap.parser_responses import ResponseContext, parse_response
from reference.imap.responses import ImapRemoteProtocolError
from reference.imap.sequence_sets import (
    Intervals,
    SequenceSet,
    SequenceSetError,
    resolve_message_numbers,
    resolve_uids,
    uid_positions,
)
from reference.limits import SmtpLimits
from reference.message.mime import parse_message
from reference.message.model import ParsedMessage
from reference.message.structure import bodystructure, envelope_structure
from reference.smtp import commands as smtp_c
from reference.smtp.connection import NEED_DATA as SMTP_NEED_DATA
from reference.smtp.connection import ClientConnection as SmtpClient
from reference.smtp.connection import ServerConnection as SmtpServer
from reference.smtp.extensions import Advertised, Extension
from reference.smtp.parser import ParseContext, Tolerances, parse_command
from reference.smtp.replies import Reply, Status, reply
from reference.smtp.states import State as SmtpState
from reference.wire.buffer import ReceiveBuffer

__all__ = ["TARGETS", "imap_command", "imap_response", "message", "sasl", "sequence_set",
           "smtp_answer", "smtp_command", "smtp_reply"]


class TargetFailure(AssertionError):
    """The parser under test did something no input may make it do."""


# --- SMTP -------------------------------------------------------------------------------

_SMTP_KEYWORDS = ("SIZE 52428800", "PIPELINING", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES",
                  "STARTTLS", "AUTH PLAIN LOGIN", "CHUNKING", "DSN", "HELP")
_SMTP_EHLO = Reply(250, None, ("mx.example greets you", *_SMTP_KEYWORDS))
_SMTP_OK = reply(250, Status.UNDEFINED, "OK")
_SMTP_EVERYTHING = ParseContext(Advertised(frozenset(Extension)), SmtpLimits(), Tolerances(),
                                transaction_smtputf8=True)


def smtp_answer(event: object) -> Reply | None:
    """A trivial session: one fixed valid reply per event (RFC 5321 §4.2)."""
    match event:
        case smtp_c.Ehlo():
            return _SMTP_EHLO
        case smtp_c.Helo():
            return reply(250, None, "mx.example")
        case smtp_c.Vrfy() | smtp_c.Expn():
            return reply(252, Status.UNDEFINED, "Cannot VRFY user")
        case smtp_c.Help():
            return reply(214, Status.UNDEFINED, "See RFC 5321")
        case smtp_c.Data():
            return reply(354, None, "End data with <CR><LF>.<CR><LF>")
        case smtp_c.MessageRejected(reply=refusal):
            return refusal
        case smtp_c.Quit():
            return reply(221, Status.UNDEFINED, "Bye")
        case smtp_c.StartTls():
            return reply(220, Status.UNDEFINED, "Ready to start TLS")
        case smtp_c.Auth(initial_response=None):
            return reply(334, None, "")
        case smtp_c.AuthResponse(data=None):
            return reply(501, Status.SYNTAX_ERROR, "Authentication cancelled")
        case smtp_c.AuthResponse() | smtp_c.Auth():
            return reply(535, Status.AUTH_CREDENTIALS_INVALID, "No")
        case smtp_c.ConnectionClosed():
            return None
    return _SMTP_OK


def smtp_command(data: bytes) -> None:
    """SMTP server core and command parser on ``data`` (client bytes, then EOF)."""
    for line in data.split(b"\r\n")[:8]:
        try:
            parse_command(line, _SMTP_EVERYTHING)
        except RemoteProtocolError as error:
            if not isinstance(error.reply, Reply):
                raise TargetFailure(f"a refusal without a reply: {error!r}") from error
    conn = SmtpServer()
    client = SmtpClient(max_reply_line=512)
    wire = bytearray(conn.send(reply(220, None, "mx.example ESMTP")))
    budget = len(data) + 16                       # every event consumes an octet, bar EOF
    for chunk in (data, b""):
        conn.receive_data(chunk)
        while budget > 0:
            budget -= 1
            try:
                event = conn.next_event()
            except RemoteProtocolError as error:
                if not isinstance(error.reply, Reply):
                    raise TargetFailure(f"a refusal without a reply: {error!r}") from error
                wire += conn.send(error.reply)
                continue
            if event is SMTP_NEED_DATA:
                break
            response = smtp_answer(event)
            if response is None:
                break
            wire += conn.send(response)
            if conn.state is SmtpState.TLS_PENDING:
                conn.tls_established()
        else:
            raise TargetFailure("the SMTP core gave events without end")
    _read_smtp_replies(client, bytes(wire))


def _read_smtp_replies(client: SmtpClient, wire: bytes) -> None:
    """RFC 5321 §4.2: every octet the server core wrote is a Reply-line."""
    client.enhanced_status_codes = True
    client.receive_data(wire)
    for _ in range(wire.count(b"\n") + 1):
        try:
            if client.next_reply() is SMTP_NEED_DATA:
                return
        except RemoteProtocolError as error:
            raise TargetFailure(f"the server core wrote an invalid reply: {error}") from error
    raise TargetFailure("replies without end")


# --- IMAP commands ----------------------------------------------------------------------

_IMAP_CAPABILITIES = ("IMAP4rev2", "IMAP4rev1", "LITERAL+", "ENABLE", "IDLE", "UTF8=ACCEPT")


def imap_command(data: bytes, *, preauth: bool | None = None) -> None:
    """IMAP server core on ``data`` (client bytes, then EOF). Unless ``preauth`` says,
    the low bit of the first octet chooses the state (so one corpus covers both)."""
    if preauth is None:
        preauth = bool(data[:1]) and data[0] & 1 == 1
    conn = ImapServer(ImapLimits())
    greeting = (imap_r.preauth if preauth else (lambda *a, **k: imap_r.ok(None, *a, **k)))(
        "ready", imap_r.ResponseCode.CAPABILITY, _IMAP_CAPABILITIES)
    _check_imap_wire(conn, conn.send(greeting), authenticating=False)
    budget = len(data) + 16
    current = ""
    for chunk in (data, b""):
        conn.receive_data(chunk)
        while budget > 0:
            budget -= 1
            try:
                event = conn.next_event()
            except ImapRemoteProtocolError as error:
                if error.response is None:
                    raise TargetFailure(f"a refusal without a response: {error!r}") from error
                _check_imap_wire(conn, conn.send(error.response), authenticating=False)
                continue
            conn.data_to_send()
            if event is IMAP_NEED_DATA or isinstance(event, ConnectionClosed):
                break
            if not isinstance(event, (ImapIdleDone, AuthenticateResponse)):
                current = event.tag
            response: imap_r.Response
            if isinstance(event, Idle):
                response = imap_r.Continuation("idling")
            elif isinstance(event, Authenticate):
                response = imap_r.Continuation(data=b"")
            else:
                response = imap_r.ok(current, "done")
            _check_imap_wire(conn, conn.send(response),
                             authenticating=isinstance(event, Authenticate))
            if conn.tls_pending:
                conn.tls_established()
        else:
            raise TargetFailure("the IMAP core gave events without end")


def _check_imap_wire(conn: ImapServer, wire: bytes, *, authenticating: bool) -> None:
    """RFC 9051 §7: what the server core wrote reads back as whole responses (a refusal
    past the error budget is followed by its BYE)."""
    buffer = ReceiveBuffer()
    buffer.feed(wire)
    reader = ResponseReader(ImapLimits())
    try:
        while buffer:
            segments = reader.read(buffer)
            if segments is None:
                raise TargetFailure(f"not whole responses: {wire[:200]!r}")
            parse_response(segments, ResponseContext(conn.modes,
                                                     authenticating=authenticating))
    except ImapRemoteProtocolError as error:
        raise TargetFailure(f"the server core wrote an invalid response: {error}") from error


# --- IMAP responses ---------------------------------------------------------------------


def imap_response(data: bytes) -> None:
    """IMAP client core on ``data`` (server bytes after the greeting, then EOF), with a
    NOOP in flight; every response is a value, NEED_DATA or ImapRemoteProtocolError."""
    client = ImapClient()
    client.receive_data(b"* OK [CAPABILITY IMAP4rev2] ready\r\n")
    client.next_event()
    client.send(Noop("a1"))
    client.receive_data(data)
    client.receive_data(b"")
    for _ in range(len(data) + 16):
        try:
            event = client.next_event()
        except ImapRemoteProtocolError:
            continue
        if event is IMAP_NEED_DATA or isinstance(event, ConnectionClosed):
            return
    raise TargetFailure("the IMAP client core gave responses without end")


# --- messages ---------------------------------------------------------------------------


def message(data: bytes) -> None:
    """The message parser on ``data``, then ENVELOPE, BODYSTRUCTURE and the JSON form."""
    parsed = parse_message(data)
    envelope_structure(parsed.envelope)
    bodystructure(parsed)
    if ParsedMessage.from_json(parsed.to_json()) != parsed:
        raise TargetFailure("the stored JSON form does not give the same tree back")


# --- SMTP replies -------------------------------------------------------------------------


def smtp_reply(data: bytes) -> None:
    """SMTP client core on ``data`` (server bytes, then EOF), enhanced status codes on when
    the first octet is odd: each reply is a ``Reply``, NEED_DATA or RemoteProtocolError."""
    client = SmtpClient()
    client.enhanced_status_codes = bool(data[:1]) and data[0] & 1 == 1
    client.receive_data(data)
    client.receive_data(b"")
    for _ in range(data.count(b"\n") + data.count(b"\r") + 2):
        try:
            parsed = client.next_reply()
        except RemoteProtocolError:
            return                        # strict: the first malformed line ends the read
        if parsed is SMTP_NEED_DATA:
            return
        if not isinstance(parsed, Reply):
            raise TargetFailure(f"not a reply: {parsed!r}")
    raise TargetFailure("the SMTP client core gave replies without end")


# --- SASL -----------------------------------------------------------------------------------

SASL_USER = "user"
SASL_PASSWORD = "pencil"
# The one account the target knows: others are unknown (fake credentials, RFC 4422 §3.6).
_SASL_STORED = format_credentials(derive_credentials(SASL_PASSWORD, salt=b"s" * 16,
                                                     iterations=4096))
_SASL_MECHANISMS: tuple[type[ServerMechanism], ...] = (PlainServer, LoginServer)
# In SCRAM client-final-messages this stands for the nonce of the server-first-message,
# so that inputs get past the nonce check to the proof (RFC 5802 §5.1 r).
SASL_NONCE = b"NONCE"


def sasl(data: bytes) -> None:
    """A SASL server mechanism on ``data``: the first octet picks PLAIN, LOGIN or
    SCRAM-SHA-256 (its value modulo 3), the rest split at LF are the client's messages
    in turn (the first as the initial response). With SCRAM, ``SASL_NONCE`` in a message
    is replaced by the server's nonce; the last message also goes to a SCRAM client as a
    server-first-message. Every step must be a ``Step`` (DESIGN.md principle 8: network
    input never raises)."""
    if not data:
        return
    mechanism: ServerMechanism = (ScramSha256Server(server_nonce="srv") if data[0] % 3 == 2
                                  else _SASL_MECHANISMS[data[0] % 3]())
    messages = data[1:].split(b"\n")
    step = mechanism.start(messages[0])
    nonce = b""
    for message in messages[1:]:
        while isinstance(step, CredentialsRequested):
            step = mechanism.credentials(_SASL_STORED if step.authcid == SASL_USER else None)
        if not isinstance(step, Challenge):
            break
        if step.data.startswith(b"r="):
            nonce = step.data[2:].split(b",", 1)[0]
        step = mechanism.respond(message.replace(SASL_NONCE, nonce))
    if isinstance(step, CredentialsRequested):
        step = mechanism.credentials(_SASL_STORED if step.authcid == SASL_USER else None)
    if not isinstance(step, (Challenge, CredentialsRequested, Succeeded, Failed)):
        raise TargetFailure(f"not a SASL step: {step!r}")
    # RFC 5802 §9: the client bounds the iteration count a hostile server may ask for
    client = ClientScram(SASL_USER, SASL_PASSWORD, client_nonce="cli", max_iterations=4096)
    client.client_first()
    with contextlib.suppress(RemoteProtocolError):
        client.client_final(messages[-1].replace(SASL_NONCE, b"cli"))


# --- sequence sets --------------------------------------------------------------------------

# A mailbox of 1,000 messages whose UIDs have gaps (every third number, then a run).
_UIDS = [*range(3, 2_400, 3), *range(2_400, 2_601)]


def sequence_set(data: bytes) -> None:
    """RFC 9051 §9 ``sequence-set`` on ``data`` (one line), then what the session does with
    one: resolve "*" against a message count and a UID list, positions of UIDs."""
    cursor = Cursor([data])
    try:
        parsed = parse_sequence_set(cursor)
    except GrammarError:
        return
    if parsed.last_result:
        return
    if parse_sequence_set(Cursor([str(parsed).encode()])) != parsed:
        raise TargetFailure(f"{str(parsed)!r} does not read back as the set written")
    for count in (1, len(_UIDS)):
        try:
            intervals = resolve_message_numbers(parsed, count)
        except SequenceSetError:
            continue
        _check_intervals(intervals, limit=count)
    uids = resolve_uids(parsed, _UIDS, _UIDS[-1] + 1)
    _check_intervals(uids, limit=_UIDS[-1])
    positions = list(chain.from_iterable(uid_positions(parsed, _UIDS, _UIDS[-1] + 1)))
    if positions != sorted(set(positions)) or len(positions) != len(uids):
        raise TargetFailure("UID positions disagree with the UIDs resolved")
    if uids.pairs and SequenceSet(uids.pairs) != uids.to_sequence_set():
        raise TargetFailure("intervals do not read back as a sequence set")


def _check_intervals(intervals: Intervals, *, limit: int) -> None:
    """Sorted, disjoint, non-adjacent, within 1..limit (RFC 9051 §9 seq-range)."""
    previous = -1
    for low, high in intervals.pairs:
        if not (1 <= low <= high <= limit and low > previous + 1):
            raise TargetFailure(f"intervals not sorted, disjoint and in range: {intervals}")
        previous = high
    for low, high in intervals.pairs[:50]:
        if low not in intervals or high not in intervals or high + 1 in intervals:
            raise TargetFailure(f"membership disagrees with the intervals: {intervals}")


TARGETS: dict[str, Callable[[bytes], None]] = {
    "smtp_command": smtp_command,
    "imap_command": imap_command,
    "imap_response": imap_response,
    "message": message,
    "smtp_reply": smtp_reply,
    "sasl": sasl,
    "sequence_set": sequence_set,
}
