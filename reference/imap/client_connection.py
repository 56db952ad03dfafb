"""The client side of the sans-IO IMAP core: commands to bytes, bytes to typed responses.

Strict: a response that breaks the grammar of RFC 9051 §9 (or the rules of §7 this core
can see, such as an EXPUNGE during FETCH) raises ``ImapRemoteProtocolError`` with a
precise message; this is what the conformance drivers judge a target with.

Literals (RFC 9051 §4.3): ``send`` returns what may be written at once; after a
synchronizing literal's header the rest waits for the server's "+" and then comes out of
``data_to_send()``. The "+" that releases a literal is consumed here, never surfaced.
With LITERAL+ advertised every literal is non-synchronizing, with LITERAL- (or IMAP4rev2)
those up to 4096 octets (RFC 7888).
"""

from __future__ import annotations

from collections import deque
from enum import Enum

from reference.errors import LocalProtocolError
from reference.imap.capabilities import Capability, Modes
from reference.imap.commands import (
    Authenticate,
    AuthenticateResponse,
    Command,
    ConnectionClosed,
    Enable,
    Fetch,
    Idle,
    IdleDone,
    Search,
    Store,
)
from reference.imap.framing import ResponseReader
from reference.imap.grammar import LiteralForm
from reference.imap.limits import ImapLimits
from reference.imap.parser_responses import ResponseContext, parse_response
from reference.imap.responses import (
    CapabilityData,
    Condition,
    Continuation,
    EnabledData,
    ExpungeData,
    ImapRemoteProtocolError,
    Response,
    ResponseCode,
    StatusResponse,
)
from reference.imap.serializer_commands import write_command, write_continuation_line
from reference.imap.states import State, after_greeting, after_tagged, after_untagged
from reference.wire.buffer import ReceiveBuffer


class _Sentinel(Enum):
    NEED_DATA = "NEED_DATA"


NEED_DATA = _Sentinel.NEED_DATA


class ClientConnection:
    """The client side of one IMAP connection."""

    def __init__(self, limits: ImapLimits | None = None, *,
                 literal_form: LiteralForm | None = None) -> None:
        self.limits = limits or ImapLimits()
        self.state = State.GREETING
        self.modes = Modes()
        # None: chosen from the server's capabilities (see module docstring).
        self.literal_form = literal_form
        self._buffer = ReceiveBuffer()
        self._reader = ResponseReader(self.limits)
        self._in_flight: dict[str, Command] = {}
        # Parts not yet sent: (tag, bytes, wait for "+" first).
        self._queue: deque[tuple[str, bytes, bool]] = deque()
        self._outgoing = bytearray()
        self._eof = False
        self._closed_reported = False

    @property
    def in_flight(self) -> tuple[Command, ...]:
        """Commands sent and not yet completed, oldest first."""
        return tuple(self._in_flight.values())

    # --- output -----------------------------------------------------------------------

    def send(self, command: Command | AuthenticateResponse | IdleDone) -> bytes:
        """The bytes to write now for ``command`` (the rest via ``data_to_send``)."""
        if isinstance(command, (AuthenticateResponse, IdleDone)):
            self._send_line(command)
        else:
            if command.tag in self._in_flight:
                raise LocalProtocolError(f"tag {command.tag!r} is already in flight")
            parts = write_command(command, utf8=self.modes.utf8,
                                  literal_form=self._literal_form())
            self._in_flight[command.tag] = command
            for index, part in enumerate(parts):
                self._queue.append((command.tag, part, index > 0))
            self._flush()
        return self.data_to_send()

    def _send_line(self, event: AuthenticateResponse | IdleDone) -> None:
        wanted = Idle if isinstance(event, IdleDone) else Authenticate
        if not any(isinstance(c, wanted) for c in self._in_flight.values()):
            raise LocalProtocolError(f"{type(event).__name__} needs {wanted.__name__} in "
                                     "progress")
        self._queue.append(("", write_continuation_line(event), False))
        self._flush()

    def _literal_form(self) -> LiteralForm:
        if self.literal_form is not None:
            return self.literal_form
        if self.modes.has(Capability.LITERAL_PLUS):
            return LiteralForm.LITERAL_PLUS
        if self.modes.has(Capability.LITERAL_MINUS) or self.modes.has(Capability.IMAP4REV2):
            return LiteralForm.LITERAL_MINUS
        return LiteralForm.SYNCHRONIZING

    def _flush(self) -> None:
        while self._queue and not self._queue[0][2]:
            self._outgoing += self._queue.popleft()[1]

    def data_to_send(self) -> bytes:
        data = bytes(self._outgoing)
        self._outgoing.clear()
        return data

    @property
    def waiting_for_continuation(self) -> bool:
        """A literal's header went out; its data waits for the server's "+"."""
        return bool(self._queue) and self._queue[0][2]

    # --- input ------------------------------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        """Bytes from the server; ``b""`` means the server closed its side."""
        if not data:
            self._eof = True
            return
        self._buffer.feed(data)

    def next_event(self) -> Response | ConnectionClosed | _Sentinel:
        while True:
            segments = self._reader.read(self._buffer)
            if segments is None:
                if not self._eof or self._closed_reported:
                    return NEED_DATA
                self._closed_reported = True
                if not self._reader.idle or self._buffer:
                    raise ImapRemoteProtocolError("Connection closed in the middle of a "
                                                  "response")
                graceful = self.state is State.LOGOUT
                self.state = State.LOGOUT
                # RFC 9051 §3.4: "A server SHOULD NOT unilaterally close the connection
                # without first sending an untagged BYE response".
                return ConnectionClosed("" if graceful else "closed without BYE")
            authenticating = (not self.waiting_for_continuation and any(
                isinstance(c, Authenticate) for c in self._in_flight.values()))
            response = parse_response(segments, ResponseContext(
                self.modes, self.limits, authenticating=authenticating))
            if isinstance(response, Continuation) and self.waiting_for_continuation:
                tag, part, _ = self._queue.popleft()
                self._queue.appendleft((tag, part, False))
                self._flush()
                continue
            self._judge(response)
            return response

    def _judge(self, response: Response) -> None:
        """Check ``response`` against what the client knows, and learn from it."""
        if self.state is State.GREETING:
            if (not isinstance(response, StatusResponse) or response.tag is not None
                    or response.condition not in (Condition.OK, Condition.PREAUTH,
                                                  Condition.BYE)):
                raise ImapRemoteProtocolError("The greeting must be an untagged OK, PREAUTH "
                                              "or BYE (RFC 9051 §9 greeting)")
            self._learn_code(response)
            self.state = after_greeting(response)
            return
        if isinstance(response, StatusResponse):
            self._status(response)
        elif isinstance(response, Continuation):
            if not any(isinstance(c, (Authenticate, Idle)) for c in self._in_flight.values()):
                raise ImapRemoteProtocolError("Continuation request with no literal, "
                                              "AUTHENTICATE or IDLE waiting for one")
        elif isinstance(response, CapabilityData):
            self.modes = self.modes.advertise(response.capabilities)
        elif isinstance(response, EnabledData):
            if not any(isinstance(c, Enable) for c in self._in_flight.values()):
                raise ImapRemoteProtocolError("ENABLED without ENABLE (RFC 9051 §7.2.1: "
                                              "it \"occurs as a result of an ENABLE command\")")
            self.modes = self.modes.enable(response.capabilities)
        elif isinstance(response, ExpungeData):
            for command in self._in_flight.values():
                if isinstance(command, (Fetch, Store, Search)) and not command.uid:
                    raise ImapRemoteProtocolError(
                        f"EXPUNGE while responding to {type(command).__name__} "
                        "(RFC 9051 §7.5.1 MUST NOT)")

    def _status(self, response: StatusResponse) -> None:
        if response.condition is Condition.PREAUTH:
            raise ImapRemoteProtocolError("PREAUTH after the greeting (RFC 9051 §7.1.4)")
        self._learn_code(response)
        if response.tag is None:
            in_progress = next(iter(self._in_flight.values()), None)
            self.state = after_untagged(self.state, response, in_progress)
            return
        command = self._in_flight.pop(response.tag, None)
        if command is None:
            raise ImapRemoteProtocolError(f"Tagged response for tag {response.tag!r}, which "
                                          "no command in progress has")
        # A completion ends its command: unsent parts (a refused literal) are dropped.
        self._queue = deque(item for item in self._queue if item[0] != response.tag)
        self._flush()
        self.state = after_tagged(self.state, command, response.condition)

    def _learn_code(self, response: StatusResponse) -> None:
        if response.code is ResponseCode.CAPABILITY and isinstance(response.code_data, tuple):
            self.modes = self.modes.advertise(response.code_data)
