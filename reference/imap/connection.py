"""Sans-IO IMAP connections: bytes in, events out; responses in, bytes out (the h11 model).

``ServerConnection`` frames the client's bytes into commands (framing.CommandReader),
checks each against the state table (states.ALLOWED), and serializes the session's
responses, moving state only on what it sees go by (states.after_*). What it emits by
itself, the "+" for a synchronizing literal it is going to read (RFC 9051 §7.6), comes
out of ``data_to_send()``. ``ClientConnection`` (client_connection.py) is the other
direction, for the conformance drivers, fuzzers and load users.

One command is processed at a time: after a command event the session answers it (its
untagged data and the tagged completion) before ``next_event`` reads the next; pipelined
commands wait in the buffer (RFC 9051 §5.5 lets a server execute them in order). The
exceptions are the exchanges inside a command: AUTHENTICATE's client lines after a "+"
challenge (``AuthenticateResponse``) and IDLE's "DONE" (``IdleDone``).
"""

from __future__ import annotations

from enum import Enum

from reference.errors import LocalProtocolError
from reference.imap.capabilities import Modes, condstore_enabling
from reference.imap.client_connection import NEED_DATA, ClientConnection, _Sentinel
from reference.imap.commands import (
    COMMANDS_BY_NAME,
    UID_COMMANDS,
    Append,
    Authenticate,
    AuthenticateResponse,
    Command,
    ConnectionClosed,
    Enable,
    Event,
    Fetch,
    Idle,
    IdleDone,
    Search,
    StartTls,
    Store,
)
from reference.imap.framing import CommandReader
from reference.imap.limits import ImapLimits
from reference.imap.parser import ParseContext, parse_command, tagged_bad, tagged_error
from reference.imap.parser_commands import BASE64
from reference.imap.responses import (
    CapabilityData,
    Condition,
    Continuation,
    EnabledData,
    ExpungeData,
    FetchData,
    FetchFlagsRun,
    ImapRemoteProtocolError,
    Response,
    ResponseCode,
    StatusResponse,
    VanishedData,
    bad,
    bye,
)
from reference.imap.serializer import write_response
from reference.imap.states import (
    ALLOWED,
    State,
    after_greeting,
    after_tagged,
    after_untagged,
    wrong_state_text,
)
from reference.wire.buffer import BadLine, ReceiveBuffer

# One NEED_DATA for both directions (client_connection's): an adapter that holds a
# ServerConnection and a ClientConnection compares events with a single sentinel.


class _Reading(Enum):
    COMMAND = "command"                 # the next command
    AUTHENTICATE = "authenticate"       # a SASL response line (RFC 9051 §6.2.2)
    IDLE = "idle"                       # "DONE" (RFC 9051 §6.3.13)


class ServerConnection:
    """The server side of one IMAP connection."""

    def __init__(self, limits: ImapLimits | None = None, *, tls_active: bool = False) -> None:
        self.limits = limits or ImapLimits()
        self.state = State.GREETING
        self.modes = Modes()
        self.tls_active = tls_active
        self.tls_pending = False            # OK to STARTTLS sent, handshake not done
        self.errors = 0
        self.discarded_plaintext = 0        # octets dropped at STARTTLS (RFC 9051 §6.2.1)
        self._buffer = ReceiveBuffer()
        self._outgoing = bytearray()
        self._reader = CommandReader(self.limits, self._outgoing.extend)
        self._reading = _Reading.COMMAND
        self._in_progress: Command | None = None   # awaits its tagged completion
        self._line_awaited = False                  # AUTHENTICATE/IDLE line due
        self._refusal: StatusResponse | None = None  # the core's answer, to be sent
        # Read while an APPEND is in progress (``next_event``): the next command, or the
        # core's refusal of it; each takes its place when the APPEND completes.
        self._ahead: Command | None = None
        self._ahead_refusal: StatusResponse | None = None
        self._eof = False
        self._closed_reported = False

    # --- input ----------------------------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        """Bytes from the client; ``b""`` means the client closed its side."""
        if not data:
            self._eof = True
            return
        if self.tls_pending or self.state is State.LOGOUT:
            # RFC 9051 §6.2.1 MUST, choice 2: "Extra data from the TCP buffer is thrown
            # away." (the STARTTLS command injection, CERT-555316)
            self.discarded_plaintext += len(data)
            return
        self._buffer.feed(data)

    @property
    def buffered(self) -> int:
        """Octets received and not yet consumed (the adapter's back-pressure signal)."""
        return len(self._buffer)

    def data_to_send(self) -> bytes:
        """What the core emitted by itself: "+" continuations for literals it reads."""
        data = bytes(self._outgoing)
        self._outgoing.clear()
        return data

    def next_event(self) -> Event | _Sentinel:
        """The next event, or ``NEED_DATA``. Raises ``ImapRemoteProtocolError`` whose
        ``response`` must be sent with ``send`` before asking again.

        While an APPEND is in progress the next command may be read ahead (pipelining,
        RFC 9051 §5.5): APPEND changes no state (§3), so the next command reads the
        same before and after it. The command read ahead, or the refusal of it, is in
        progress only once the APPEND has its tagged response; until then, responses
        are the APPEND's. One command at most is read ahead."""
        if self._refusal is not None:
            raise LocalProtocolError("send the response of the refused command first")
        ahead = self._in_progress is not None and not self._line_awaited
        if ahead and not (isinstance(self._in_progress, Append) and self._ahead is None
                          and self._ahead_refusal is None):
            assert self._in_progress is not None
            raise LocalProtocolError(
                f"complete {type(self._in_progress).__name__} {self._in_progress.tag} "
                "(its tagged response) before reading the next command")
        event: Event | _Sentinel = NEED_DATA
        if self.state not in (State.GREETING, State.LOGOUT) and not self.tls_pending:
            try:
                event = self._read(ahead)
            except ImapRemoteProtocolError as error:
                if ahead:
                    self._ahead_refusal = error.response
                else:
                    self._refusal = error.response
                raise
        if event is NEED_DATA:
            # The end of the input is reported once no command is in progress.
            if self._eof and not self._closed_reported and not ahead:
                self._closed_reported = True
                self.state = State.LOGOUT
                return ConnectionClosed()
            return NEED_DATA
        return event

    def _read(self, ahead: bool) -> Event | _Sentinel:
        if self._reading is _Reading.COMMAND:
            return self._read_command(ahead)
        line = self._buffer.extract_line(self.limits.command_line)
        if line is None:
            return NEED_DATA
        command = self._in_progress
        assert command is not None
        self._line_awaited = False
        if self._reading is _Reading.IDLE:
            if isinstance(line, bytes) and line.upper() == b"DONE":
                return IdleDone()
            raise tagged_bad(command.tag, 'Expected "DONE" to end IDLE (RFC 9051 §6.3.13)')
        if isinstance(line, BadLine):
            raise tagged_bad(command.tag, f"Authentication line: {line.problem.value}")
        if line == b"*":
            # RFC 9051 §6.2.2: a line "consisting of a single "*"" cancels the exchange.
            return AuthenticateResponse(None)
        if not BASE64.fullmatch(line):
            # RFC 9051 §6.2.2 MUST: "if it receives an invalid base64 string ... it MUST
            # reject the AUTHENTICATE command by sending a tagged BAD response."
            raise tagged_bad(command.tag, "Invalid base64 in the authentication response "
                                          "(RFC 9051 §6.2.2)")
        import base64

        return AuthenticateResponse(base64.b64decode(line))

    def _read_command(self, ahead: bool) -> Event | _Sentinel:
        segments = self._reader.read(self._buffer, self.modes.non_synchronizing_literal_max(),
                                     self._precheck)
        if segments is None:
            return NEED_DATA
        command = parse_command(segments, ParseContext(self.modes, self.limits))
        name = type(command)
        if name not in ALLOWED.get(self.state, frozenset()):
            raise tagged_bad(command.tag, wrong_state_text(self.state, name))
        if isinstance(command, StartTls) and self.tls_active:
            # RFC 9051 §6.2.1: "BAD - STARTTLS received after a successful TLS
            # negotiation"; "The server MUST always respond with a tagged BAD response
            # when the STARTTLS command is received on an Implicit TLS port."
            raise tagged_bad(command.tag, "TLS is already active (RFC 9051 §6.2.1)")
        if ahead:
            self._ahead = command       # in progress once the APPEND has completed
        else:
            self._start(command)
        return command

    def _start(self, command: Command) -> None:
        """``command`` is in progress: read now, or read ahead and now its turn."""
        if condstore_enabling(command):
            self.modes = self.modes.mark_condstore_aware()
        self._in_progress = command

    def _precheck(self, tag: str, name: str) -> StatusResponse | None:
        """Before the "+" for a command's first literal: is the command known and valid
        in this state? (RFC 9051 §2.2.1 note: reject it before the client sends more.)"""
        word = name.removeprefix("UID ")
        command_type = COMMANDS_BY_NAME.get(word)
        if command_type is None or (name.startswith("UID ") and word not in UID_COMMANDS):
            return bad(tag, f"Unknown command {name}")
        if command_type not in ALLOWED.get(self.state, frozenset()):
            return bad(tag, wrong_state_text(self.state, command_type))
        return None

    # --- output ---------------------------------------------------------------------

    def send(self, response: Response) -> bytes:
        """Serialize one response, check it against the state, and move state."""
        if self.state is State.GREETING:
            return self._send_greeting(response)
        if self._refusal is not None:
            return self._send_refusal(response)
        self._check(response)
        wire = write_response(response, self.modes)
        self._after(response)
        return wire + self._count_errors(response)

    def _send_greeting(self, response: Response) -> bytes:
        # greeting = "*" SP (resp-cond-auth / resp-cond-bye) CRLF
        if (not isinstance(response, StatusResponse) or response.tag is not None
                or response.condition in (Condition.NO, Condition.BAD)):
            raise LocalProtocolError("the greeting is an untagged OK, PREAUTH or BYE "
                                     "(RFC 9051 §9 greeting)")
        wire = write_response(response, self.modes)
        self._learn_code(response)
        self.state = after_greeting(response)
        return wire

    def _send_refusal(self, response: Response) -> bytes:
        refusal = self._refusal
        if response != refusal:
            raise LocalProtocolError(f"send the core's response to the refused command: "
                                     f"{refusal!r}")
        assert isinstance(response, StatusResponse)
        self._refusal = None
        wire = write_response(response, self.modes)
        in_progress = self._in_progress
        if response.tag is not None and in_progress is not None \
                and response.tag == in_progress.tag:
            # a refused AUTHENTICATE or IDLE line ends that command
            self._in_progress = None
            self._line_awaited = False
            self._reading = _Reading.COMMAND
        if response.condition is Condition.BYE:
            self._closing()
        return wire + self._count_errors(response)

    def _check(self, response: Response) -> None:
        command = self._in_progress
        if isinstance(response, StatusResponse):
            if response.condition is Condition.PREAUTH:
                raise LocalProtocolError("PREAUTH is only a greeting (RFC 9051 §7.1.4)")
            if response.tag is not None and (command is None or response.tag != command.tag):
                raise LocalProtocolError(f"no command with tag {response.tag!r} is in "
                                         "progress")
        elif isinstance(response, Continuation):
            if isinstance(command, Authenticate) and not self._line_awaited:
                if response.text:
                    raise LocalProtocolError("an AUTHENTICATE challenge is base64 data "
                                             "(RFC 9051 §6.2.2)")
            elif not (isinstance(command, Idle) and self._reading is _Reading.COMMAND):
                raise LocalProtocolError("a continuation answers AUTHENTICATE or IDLE only; "
                                         "literal continuations are the core's")
        elif isinstance(response, EnabledData) and not isinstance(command, Enable):
            # RFC 9051 §7.2.1: "The ENABLED response occurs as a result of an ENABLE
            # command."
            raise LocalProtocolError("ENABLED answers ENABLE only")
        elif isinstance(response, (ExpungeData, VanishedData)):
            self._check_expunge(command)
        elif isinstance(response, FetchData | FetchFlagsRun) \
                and self.state is not State.SELECTED:
            raise LocalProtocolError("FETCH data needs a selected mailbox")

    def _check_expunge(self, command: Command | None) -> None:
        if self.state is not State.SELECTED:
            raise LocalProtocolError("EXPUNGE needs a selected mailbox")
        # RFC 9051 §7.5.1 MUST NOT: "An EXPUNGE response MUST NOT be sent when no command
        # is in progress, nor while responding to a FETCH, STORE, or SEARCH command."
        if command is None:
            raise LocalProtocolError("EXPUNGE with no command in progress (RFC 9051 §7.5.1)")
        if isinstance(command, (Fetch, Store, Search)) and not command.uid:
            raise LocalProtocolError(f"EXPUNGE while responding to {type(command).__name__} "
                                     "(RFC 9051 §7.5.1)")

    def _after(self, response: Response) -> None:
        command = self._in_progress
        if isinstance(response, StatusResponse):
            self._learn_code(response)
            if response.tag is not None and command is not None:
                self.state = after_tagged(self.state, command, response.condition)
                self._in_progress = None
                self._line_awaited = False
                self._reading = _Reading.COMMAND
                if self._ahead is not None:
                    self._start(self._ahead)
                    self._ahead = None
                self._refusal, self._ahead_refusal = self._ahead_refusal, None
                if isinstance(command, StartTls) and response.condition is Condition.OK:
                    # RFC 9051 §6.2.1: "A TLS negotiation begins immediately after the
                    # CRLF at the end of the tagged OK response from the server."
                    self.tls_pending = True
                    self.discarded_plaintext += self._buffer.clear()
            else:
                self.state = after_untagged(self.state, response, command)
                if response.condition is Condition.BYE:
                    self._closing()
        elif isinstance(response, Continuation):
            self._line_awaited = True
            self._reading = (_Reading.IDLE if isinstance(command, Idle)
                             else _Reading.AUTHENTICATE)
        elif isinstance(response, CapabilityData):
            self.modes = self.modes.advertise(response.capabilities)
        elif isinstance(response, EnabledData):
            self.modes = self.modes.enable(response.capabilities)

    def _learn_code(self, response: StatusResponse) -> None:
        if response.code is ResponseCode.CAPABILITY and isinstance(response.code_data, tuple):
            self.modes = self.modes.advertise(response.code_data)

    def _closing(self) -> None:
        self.state = State.LOGOUT
        self._ahead = self._ahead_refusal = None
        self.discarded_plaintext += self._buffer.clear()

    def _count_errors(self, response: Response) -> bytes:
        if not (isinstance(response, StatusResponse) and response.condition is Condition.BAD):
            return b""
        self.errors += 1
        if self.errors < self.limits.errors or self.state is State.LOGOUT:
            return b""
        closing = bye("Too many protocol errors, closing the connection")
        self._closing()
        return write_response(closing, self.modes)

    def tls_established(self) -> None:
        """The TLS handshake after STARTTLS completed (RFC 9051 §6.2.1: "After successful
        TLS negotiation, the server remains in the non-authenticated state")."""
        if not self.tls_pending:
            raise LocalProtocolError("no STARTTLS is pending")
        self.tls_pending = False
        self.tls_active = True
        # "Once TLS has been started, the client MUST discard cached information about
        # server capabilities"; the server may advertise anew.
        self.modes = Modes(enabled=self.modes.enabled)


__all__ = ["NEED_DATA", "ClientConnection", "ServerConnection", "tagged_error"]
