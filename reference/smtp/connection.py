"""Sans-IO SMTP connections: bytes in, events out; replies in, bytes out (the h11 model).

``ServerConnection`` frames the client's bytes into commands, SASL lines, mail data and
BDAT chunks, checks each against the state table, and serializes the session's replies,
moving state only on what it sees go by. ``ClientConnection`` is the other direction,
for the conformance drivers, fuzzers and load users.

The server core enforces, by itself:
- the order of commands (RFC 5321 §4.1.4, states.ALLOWED), with 503 replies;
- line limits (RFC 5321 §4.5.3.1.4, raised by what the advertised extensions add; RFC
  4954 §4), bare CR/LF in commands (§2.3.8), reply lines of at most 512 octets
  (§4.5.3.1.5);
- DATA framing and size (data.py), BDAT framing (RFC 3030 §2: a chunk is consumed even
  when its command is refused, so chunk bytes are never read as commands);
- STARTTLS: plaintext pipelined behind the command is discarded (RFC 3207 §4.2; the
  CVE-2011-0411 injection), and the session restarts after the handshake;
- enhanced status codes on the replies RFC 2034 §4 names;
- the error and transaction budgets of ``SmtpLimits`` (421 and close).
"""

from __future__ import annotations

from enum import Enum

from reference.errors import LocalProtocolError, RemoteProtocolError
from reference.limits import SmtpLimits
from reference.smtp.commands import (
    Auth,
    AuthResponse,
    Bdat,
    Command,
    ConnectionClosed,
    Data,
    Ehlo,
    Event,
    Helo,
    MailFrom,
    MessageReceived,
    MessageRejected,
    RcptTo,
    StartTls,
)
from reference.smtp.data import DataReader, TooBig, check_content, too_big_reply
from reference.smtp.extensions import NOTHING_ADVERTISED, Advertised, Extension
from reference.smtp.grammar import GrammarError, decode_base64
from reference.smtp.parser import (
    VERB_COMMANDS,
    ParseContext,
    ReplyLine,
    Tolerances,
    argument_error,
    assemble_reply,
    command_verb,
    parse_command,
    parse_reply_line,
    syntax_error,
)
from reference.smtp.replies import Reply, Status, reply
from reference.smtp.serializer import write_command, write_reply
from reference.smtp.states import (
    ALLOWED,
    SEQUENCE_HINTS,
    State,
    after_reply,
    reply_allowed,
)
from reference.wire.buffer import BadLine, LineProblem, ReceiveBuffer


class _Sentinel(Enum):
    NEED_DATA = "NEED_DATA"


NEED_DATA = _Sentinel.NEED_DATA
# RFC 5321 §4.5.3.1.5: a reply line is at most 512 octets with its code and CRLF.
MAX_REPLY_LINE = 512


class ServerConnection:
    """The server side of one SMTP connection."""

    def __init__(self, limits: SmtpLimits | None = None,
                 tolerances: Tolerances | None = None) -> None:
        self.limits = limits or SmtpLimits()
        self.tolerances = tolerances or Tolerances()
        self.state = State.CONNECTED
        self.advertised: Advertised = NOTHING_ADVERTISED
        self.tls_active = False
        self.authenticated = False
        self.errors = 0
        self.transactions = 0
        self.recipients = 0               # accepted in the open transaction
        self.discarded_plaintext = 0      # octets dropped at STARTTLS (RFC 3207 §4.2)
        self._buffer = ReceiveBuffer()
        self._context = ParseContext(self.advertised, self.limits, self.tolerances)
        self._eof = False
        self._closed_reported = False
        self._awaiting_reply: Event | None = None
        self._expecting_reply = False
        self._transaction_smtputf8 = False
        self._data_reader: DataReader | None = None
        # BDAT framing: octets of the current chunk still to come, and where they go.
        self._chunk: Bdat | None = None
        self._chunk_remaining = 0
        self._chunk_parts: list[bytes] = []
        self._message = bytearray()
        self._message_size = 0
        self._message_too_big = False

    # --- input ----------------------------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        """Bytes from the client; ``b""`` means the client closed its side."""
        if not data:
            self._eof = True
            return
        if self.state is State.TLS_PENDING or self.state is State.CLOSED:
            # RFC 3207 §4.2 / CVE-2011-0411: nothing sent in plaintext before the
            # handshake may be taken as a command after it.
            self.discarded_plaintext += len(data)
            return
        self._buffer.feed(data)

    @property
    def buffered(self) -> int:
        """Octets received and not yet consumed (the adapter's back-pressure signal)."""
        return len(self._buffer)

    def next_event(self) -> Event | _Sentinel:
        """The next event, or ``NEED_DATA``. Raises ``RemoteProtocolError`` whose reply
        must be sent with ``send`` before asking again."""
        if self._expecting_reply:
            raise LocalProtocolError("reply to the previous event before reading the next")
        if self.state in (State.CLOSED, State.TLS_PENDING, State.CONNECTED):
            return NEED_DATA
        if self._chunk is not None:
            event = self._read_chunk()
        elif self.state is State.DATA:
            event = self._read_data()
        elif self.state is State.AUTH:
            event = self._read_auth_line()
        else:
            event = self._read_command()
        if event is NEED_DATA:
            if self._eof and not self._closed_reported:
                self._closed_reported = True
                self.state = State.CLOSED
                return ConnectionClosed()
            return NEED_DATA
        self._awaiting_reply = event
        self._expecting_reply = True
        return event

    def _refuse(self, error: RemoteProtocolError) -> RemoteProtocolError:
        """Record that ``error.reply`` answers a line we refused ourselves."""
        self._awaiting_reply = None
        self._expecting_reply = True
        return error

    def _read_command(self) -> Event | _Sentinel:
        limit = self.advertised.command_line_limit(self.limits.command_line)
        line = self._buffer.extract_line(limit)
        if line is None:
            return NEED_DATA
        if isinstance(line, BadLine):
            raise self._refuse(_bad_line_error(line, limit))
        context = self._context
        if (context.advertised is not self.advertised
                or context.transaction_smtputf8 is not self._transaction_smtputf8):
            context = self._context = ParseContext(self.advertised, self.limits,
                                                   self.tolerances, self._transaction_smtputf8)
        try:
            command = parse_command(line, context)
        except RemoteProtocolError as error:
            verb = command_verb(line)
            if verb == "BDAT":
                # The chunk size may be unreadable; nothing sensible can follow.
                raise self._refuse(_close(error.reply)) from error
            command_type = VERB_COMMANDS.get(verb)
            if command_type is not None and command_type not in ALLOWED.get(self.state, ()):
                # RFC 5321 §4.1.4 MUST: "If the commands in a transaction are out of order
                # to the degree that they cannot be processed by the server, a 503 failure
                # reply MUST be returned", whatever else is wrong with the arguments (a
                # 553 for a UTF-8 RCPT, RFC 6531 §3.5, needs the MAIL it follows).
                raise self._refuse(_sequence_error(self.state, command_type)) from error
            raise self._refuse(error) from error
        return self._check_order(command)

    def _check_order(self, command: Command) -> Event | _Sentinel:
        if isinstance(command, Bdat):
            return self._start_chunk(command)
        if type(command) not in ALLOWED.get(self.state, frozenset()):
            raise self._refuse(_sequence_error(self.state, type(command)))
        if isinstance(command, StartTls) and self.tls_active:
            # RFC 3207 §4.2: after the handshake "A server MUST NOT return the STARTTLS
            # extension"; a second STARTTLS is out of sequence even if a session lists it.
            raise self._refuse(RemoteProtocolError("TLS already active", reply=reply(
                503, Status.INVALID_COMMAND, "TLS already active")))
        if isinstance(command, StartTls) and Extension.STARTTLS not in self.advertised:
            raise self._refuse(RemoteProtocolError("STARTTLS not offered", reply=reply(
                502, Status.INVALID_COMMAND, "STARTTLS not available")))
        if isinstance(command, Auth) and Extension.AUTH not in self.advertised:
            raise self._refuse(RemoteProtocolError("AUTH not offered", reply=reply(
                502, Status.INVALID_COMMAND, "AUTH not available")))
        if isinstance(command, Auth) and self.authenticated:
            # RFC 4954 §4: "a server MUST reject any further AUTH commands with a 503 reply"
            raise self._refuse(RemoteProtocolError("already authenticated", reply=reply(
                503, Status.INVALID_COMMAND, "Already authenticated")))
        if isinstance(command, MailFrom):
            if self.transactions >= self.limits.transactions:
                raise self._refuse(RemoteProtocolError("too many transactions", reply=reply(
                    421, Status.SYSTEM_NOT_ACCEPTING,
                    "Too many mail transactions on one connection, closing")))
            self._transaction_smtputf8 = command.smtputf8
        if isinstance(command, RcptTo) and self.recipients >= self.limits.recipients:
            # RFC 5321 §4.5.3.1.10: "If an SMTP server has an implementation limit on the
            # number of RCPT commands and this limit is exhausted, it MUST use a response
            # code of 452"; those accepted so far stay accepted (§4.5.3.1.8).
            raise self._refuse(RemoteProtocolError("too many recipients", reply=reply(
                452, Status.TOO_MANY_RECIPIENTS, "Too many recipients")))
        return command

    # --- BDAT (RFC 3030) --------------------------------------------------------------

    def _start_chunk(self, command: Bdat) -> Event | _Sentinel:
        if Extension.CHUNKING not in self.advertised:
            # Without CHUNKING the chunk size cannot be trusted to frame anything.
            raise self._refuse(_close(reply(502, Status.INVALID_COMMAND,
                                            "BDAT not available")))
        self._chunk = command
        self._chunk_remaining = command.chunk_size
        self._chunk_parts = []
        if self.state is State.RCPT:
            self._message = bytearray()
            self._message_size = 0
            self._message_too_big = False
        return self._read_chunk()

    def _read_chunk(self) -> Event | _Sentinel:
        assert self._chunk is not None
        in_order = self.state in (State.RCPT, State.CHUNKING)
        while self._chunk_remaining:
            piece = self._buffer.extract_available(self._chunk_remaining)
            if not piece:
                return NEED_DATA
            self._chunk_remaining -= len(piece)
            if in_order:
                self._message_size += len(piece)
                if self._message_size > self.limits.message_size:
                    self._message_too_big = True
                    self._chunk_parts = []
                    self._message = bytearray()
                elif not self._message_too_big:
                    self._chunk_parts.append(piece)
        command, self._chunk = self._chunk, None
        if not in_order:
            raise self._refuse(_sequence_error(self.state, Bdat))
        if self._message_too_big:
            return MessageRejected(too_big_reply())
        chunk = b"".join(self._chunk_parts)
        self._chunk_parts = []
        self._message += chunk
        if not command.last:
            return Bdat(command.chunk_size, last=False, chunk=chunk)
        content = check_content(bytes(self._message), self.limits, self.tolerances,
                                stuffed=False)
        self._message = bytearray()
        if isinstance(content, Reply):
            return MessageRejected(content)
        return MessageReceived(content)

    # --- DATA (RFC 5321 §4.1.1.4) -----------------------------------------------------

    def _read_data(self) -> Event | _Sentinel:
        if self._data_reader is None:
            self._data_reader = DataReader(self.limits.message_size)
        wire = self._data_reader.read(self._buffer)
        if wire is None:
            if self._eof:
                self._data_reader = None
            return NEED_DATA
        self._data_reader = None
        if isinstance(wire, TooBig):
            return MessageRejected(too_big_reply())
        content = check_content(wire, self.limits, self.tolerances, stuffed=True)
        if isinstance(content, Reply):
            return MessageRejected(content)
        return MessageReceived(content)

    # --- AUTH (RFC 4954 §4) -----------------------------------------------------------

    def _read_auth_line(self) -> Event | _Sentinel:
        line = self._buffer.extract_line(self.limits.auth_line)
        if line is None:
            return NEED_DATA
        if isinstance(line, BadLine):
            if line.problem is LineProblem.TOO_LONG:
                # RFC 4954 §4: "the server fails the AUTH command with the 500 reply ...
                # SHOULD return an enhanced status code of 5.5.6"
                raise self._refuse_auth(RemoteProtocolError("auth line too long", reply=reply(
                    500, Status.AUTH_LINE_TOO_LONG, "Authentication exchange line is too long")))
            raise self._refuse_auth(_bad_line_error(line, self.limits.auth_line))
        if line == b"*":
            return AuthResponse(None)
        try:
            return AuthResponse(decode_base64(line.decode("ascii")))
        except (GrammarError, UnicodeDecodeError) as exc:
            # RFC 4954 §4: "If the server cannot [BASE64] decode any client response, it
            # MUST reject the AUTH command with a 501 reply (and an enhanced status code
            # of 5.5.2)."
            raise self._refuse_auth(argument_error(
                "Invalid base64 in authentication response", Status.SYNTAX_ERROR)) from exc

    def _refuse_auth(self, error: RemoteProtocolError) -> RemoteProtocolError:
        self._awaiting_reply = AuthResponse(None)   # the reply ends the exchange
        self._expecting_reply = True
        return error

    # --- output -----------------------------------------------------------------------

    def send(self, response: Reply) -> bytes:
        """Serialize the reply to the pending event (or the greeting) and move state."""
        event = self._awaiting_reply
        if self.state is State.CONNECTED:
            if response.code not in (220, 421, 554):
                raise LocalProtocolError("the greeting is 220, 421 or 554 (RFC 5321 §3.1)")
            greeting = True
        else:
            # RFC 5321 §3.8: a server that must shut down (or times out a client) may
            # send 421 at any time; everything else answers an event.
            if not self._expecting_reply and response.code != 421:
                raise LocalProtocolError(f"no event awaits a reply (state {self.state.value})")
            greeting = False
        self._check_reply(event, response, greeting=greeting)
        # RFC 2034 §3 (4): enhanced codes on every 2xx/4xx/5xx "other than the initial
        # greeting and any response to HELO or EHLO".
        enhanced = not greeting and not isinstance(event, (Ehlo, Helo))
        wire = write_reply(response, enhanced=enhanced)
        if any(len(line) + 2 > MAX_REPLY_LINE for line in wire.split(b"\r\n")):
            # RFC 5321 §4.5.3.1.5: "The maximum total length of a reply line including the
            # reply code and the <CRLF> is 512 octets."
            raise LocalProtocolError("reply line longer than 512 octets (RFC 5321 "
                                     "§4.5.3.1.5); use more lines")
        self._awaiting_reply = None
        self._expecting_reply = False
        self._after_reply(event, response)
        if response.code >= 500 and self.state is not State.CLOSED:
            self.errors += 1
            if self.errors >= self.limits.errors:
                closing = reply(421, Status.SYSTEM_NOT_ACCEPTING,
                                "Too many errors on this connection, closing")
                wire += write_reply(closing, enhanced=True)
                self.state = State.CLOSED
        return wire

    def _check_reply(self, event: Event | None, response: Reply, *, greeting: bool) -> None:
        refused_by_core = event is None and not greeting   # the core chose that reply
        if not refused_by_core and not reply_allowed(event, response.code):
            raise LocalProtocolError(f"{response.code} cannot answer {event!r} "
                                     "(RFC 5321 §4.3.2)")
        needs_status = (response.code // 100 in (2, 4, 5) and not greeting
                        and not isinstance(event, (Ehlo, Helo)))
        if needs_status and response.status is None:
            raise LocalProtocolError(f"reply {response.code} needs an enhanced status code "
                                     "(RFC 2034 §4)")
        if response.code // 100 == 3 and response.status is not None:
            raise LocalProtocolError("3xx replies carry no enhanced status (RFC 2034 §4)")

    def _after_reply(self, event: Event | None, response: Reply) -> None:
        previous = self.state
        self.state = after_reply(previous, event, response.code)
        if isinstance(event, Ehlo) and response.code == 250:
            self.advertised = Advertised.from_ehlo_lines(response.lines)
        elif isinstance(event, Helo) and response.code == 250:
            self.advertised = NOTHING_ADVERTISED
        elif isinstance(event, (MessageReceived, MessageRejected)):
            self.transactions += 1
        elif isinstance(event, (Auth, AuthResponse)) and response.code == 235:
            self.authenticated = True
        elif isinstance(event, RcptTo) and response.code in (250, 251):
            self.recipients += 1
        if self.state is State.TLS_PENDING:
            self.discarded_plaintext += self._buffer.clear()
        if self.state is State.READY and previous is not State.READY:
            self._transaction_smtputf8 = False
            self._message = bytearray()
            self.recipients = 0

    def tls_established(self) -> None:
        """The TLS handshake after STARTTLS completed.

        RFC 3207 §4.2: "Upon completion of the TLS handshake, the SMTP protocol is reset
        to the initial state (the state in SMTP after a server issues a 220 service ready
        greeting). The server MUST discard any knowledge obtained from the client, such
        as the argument to the EHLO command, which was not obtained from the TLS
        negotiation itself."
        """
        if self.state is not State.TLS_PENDING:
            raise LocalProtocolError("no STARTTLS is pending")
        self.state = State.GREETED
        self.tls_active = True
        self.advertised = NOTHING_ADVERTISED
        self.authenticated = False
        self._transaction_smtputf8 = False

    def start_implicit_tls(self) -> None:
        """RFC 8314 §3.3: the connection began with TLS (submissions, port 465)."""
        self.tls_active = True


def _bad_line_error(line: BadLine, limit: int) -> RemoteProtocolError:
    if line.problem is LineProblem.TOO_LONG:
        # RFC 5321 §4.5.3.1.9: "500 Line too long."
        return RemoteProtocolError("line too long", reply=reply(
            500, Status.SYNTAX_ERROR, f"Line too long (limit {limit} octets)"))
    # RFC 5321 §2.3.8: bare CR and LF "MUST NOT" be sent; a command line that contains
    # one is not a command line.
    return syntax_error(f"Command line contains a {line.problem.value} (RFC 5321 §2.3.8)")


def _sequence_error(state: State, command_type: type) -> RemoteProtocolError:
    hint = SEQUENCE_HINTS.get((state, command_type), "Bad sequence of commands")
    return RemoteProtocolError(hint, reply=reply(503, Status.INVALID_COMMAND, hint))


def _close(response: Reply) -> RemoteProtocolError:
    """A refusal after which framing cannot continue: answered with a 421 as well."""
    closing = reply(421, Status.SYSTEM_NOT_ACCEPTING,
                    f"{response.text}; closing connection")
    return RemoteProtocolError(response.text, reply=closing)


# --- the client side ----------------------------------------------------------------


class ClientConnection:
    """The client side: commands to bytes, bytes to replies. Strict: a malformed reply
    line raises ``RemoteProtocolError``."""

    def __init__(self, *, max_reply_line: int = 512) -> None:
        # RFC 5321 §4.5.3.1.5: reply lines are at most 512 octets including CRLF; we
        # accept longer ones up to this bound (many servers exceed it) but not forever.
        self.max_reply_line = max(max_reply_line, 512)
        self.enhanced_status_codes = False
        self.advertised: Advertised = NOTHING_ADVERTISED
        self.discarded_plaintext = 0      # octets dropped at STARTTLS (RFC 3207 §4.2)
        self._buffer = ReceiveBuffer()
        self._lines: list[ReplyLine] = []
        self._eof = False

    def receive_data(self, data: bytes) -> None:
        if not data:
            self._eof = True
        self._buffer.feed(data)

    def next_reply(self) -> Reply | _Sentinel:
        while True:
            # A server's bare LF is named at once (see ReceiveBuffer.extract_line).
            line = self._buffer.extract_line(self.max_reply_line, bare_lf_ends=True)
            if line is None:
                if self._eof:
                    raise RemoteProtocolError("connection closed in the middle of a reply"
                                              if self._lines else "connection closed")
                return NEED_DATA
            if isinstance(line, BadLine):
                raise RemoteProtocolError(f"reply line: {line.problem.value}")
            parsed = parse_reply_line(line)
            self._lines.append(parsed)
            if parsed.last:
                lines, self._lines = self._lines, []
                return assemble_reply(lines, enhanced=self.enhanced_status_codes)

    def learn_ehlo(self, ehlo_reply: Reply) -> None:
        """Record what a 250 reply to EHLO announced."""
        self.advertised = Advertised.from_ehlo_lines(ehlo_reply.lines)
        self.enhanced_status_codes = Extension.ENHANCEDSTATUSCODES in self.advertised

    def tls_established(self) -> int:
        """The TLS handshake after a 220 to STARTTLS completed; returns the octets dropped.

        RFC 3207 §4.2: "The client MUST discard any knowledge obtained from the server,
        such as the list of SMTP service extensions, which was not obtained from the TLS
        negotiation itself." Octets that arrived in plaintext behind the 220 and were not
        read yet are dropped with it: read after the handshake they would pass for
        replies sent over TLS (the response injection of Poddebniak et al., "Why TLS is
        better without STARTTLS", USENIX Security 2021). A client may treat any as an
        attack and close.
        """
        dropped = self._buffer.clear()
        self.discarded_plaintext += dropped
        self._lines = []
        self.advertised = NOTHING_ADVERTISED
        self.enhanced_status_codes = False
        return dropped

    def send(self, command: Command) -> bytes:
        return write_command(command)

    @staticmethod
    def send_data(content: bytes) -> bytes:
        """The mail data after a 354: dot-stuffed (RFC 5321 §4.5.2), ended by ``.CRLF``.

        "Before sending a line of mail text, the SMTP client checks the first character of
        the line. If it is a period, one additional period is inserted at the beginning
        of the line." ``content`` must be CRLF lines; a last line without CRLF gets one.
        """
        if content and not content.endswith(b"\r\n"):
            content += b"\r\n"
        stuffed = content.replace(b"\r\n.", b"\r\n..")
        if stuffed.startswith(b"."):
            stuffed = b"." + stuffed
        return stuffed + b".\r\n"


__all__ = ["NEED_DATA", "ClientConnection", "Data", "ServerConnection", "syntax_error"]
