"""Framing: lines and literals out of a ReceiveBuffer, bounded (RFC 9051 §2.2, §4.3).

RFC 9051 §2.2: "The protocol receiver of an IMAP4rev2 client or server is reading either
a line or a sequence of octets with a known count followed by a line." A frame is the
segments of one command or response: its lines (without CRLF) alternating with the data
of the literals announced at their ends. The readers never parse beyond a line's final
``{n}``/``{n+}``/``~{n}``: what is inside a literal is data (RFC 7888 §3).

``CommandReader`` (server side) decides, at each literal header, whether to read the
literal (sending "+" for a synchronizing one, RFC 9051 §7.6), refuse it (no "+"; the
client then sends nothing more of the command, §2.2.1 note), or, for a
non-synchronizing literal it cannot accept, read and discard the octets already on their
way or close with BYE (RFC 7888 §4). ``ResponseReader`` (client side) reads responses,
which never carry non-synchronizing literals (§4.3 MUST NOT).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn

from reference.imap.grammar import LITERAL_AT_END
from reference.imap.limits import NON_SYNCHRONIZING_LITERAL_MAX, ImapLimits
from reference.imap.parser import read_command_name, read_tag, tagged_error, untagged_bad
from reference.imap.responses import (
    ImapRemoteProtocolError,
    ResponseCode,
    StatusResponse,
    bad,
    bye,
    no,
)
from reference.wire.buffer import BadLine, LineProblem, ReceiveBuffer

# RFC 9051 §7.6 / §4.3: the continuation request for a synchronizing literal.
LITERAL_CONTINUATION = b"+ Ready for literal data\r\n"


@dataclass(frozen=True, slots=True)
class LiteralHeader:
    """``{n}``, ``{n+}`` or ``~{n}`` at the end of a line."""

    size: int
    synchronizing: bool
    literal8: bool


def literal_at_end(line: bytes) -> LiteralHeader | None:
    found = LITERAL_AT_END.search(line)
    if found is None:
        return None
    digits = found.group(2)
    # number64: at most 2**63 - 1; longer digit strings are "too big" all the same.
    size = int(digits) if len(digits) <= 19 else 2**63
    return LiteralHeader(size, synchronizing=not found.group(3), literal8=bool(found.group(1)))


Precheck = Callable[[str, str], StatusResponse | None]


class CommandReader:
    """Assembles one client command at a time (server side)."""

    def __init__(self, limits: ImapLimits, emit: Callable[[bytes], None]) -> None:
        self.limits = limits
        self._emit = emit
        self._reset()
        self._discard = 0              # octets of a refused literal still to throw away
        self._skip_rest = False        # then the rest of that command, line by line

    def _reset(self) -> None:
        self._segments: list[bytes] = []
        self._line_budget = self.limits.command_line
        self._literal_octets = 0
        self._append_octets = 0
        self._pending: LiteralHeader | None = None
        self._tag: str | None = None
        self._name: str | None = None

    @property
    def idle(self) -> bool:
        """No command half-read (nothing buffered that belongs to one)."""
        return not self._segments and not self._discard and not self._skip_rest

    def read(self, buffer: ReceiveBuffer, nonsync_max: int | None, precheck: Precheck
             ) -> list[bytes] | None:
        """The segments of the next complete command, or ``None`` (need data). Raises
        ``ImapRemoteProtocolError`` for a command refused while being framed."""
        while True:
            if self._discard:
                self._discard -= len(buffer.extract_available(self._discard))
                if self._discard:
                    return None
                continue
            if self._pending is not None:
                data = buffer.extract_bytes(self._pending.size)
                if data is None:
                    return None
                self._segments.append(data)
                self._pending = None
            line = buffer.extract_line(max(self._line_budget, 3))
            if line is None:
                return None
            if isinstance(line, BadLine):
                if self._skip_rest:
                    self._skip_rest = False      # the refused command ends here
                    continue
                self._bad_line(line)
            if self._skip_rest:
                self._skip(line)
                continue
            self._line_budget -= len(line) + 2
            self._segments.append(line)
            header = literal_at_end(line)
            if header is None:
                segments = self._segments
                self._reset()
                return segments
            self._literal(header, nonsync_max, precheck)

    def _bad_line(self, line: BadLine) -> NoReturn:
        # RFC 9051 §7.1.3: the BAD is untagged only "if the associated command can not
        # be determined"; the tag of a first line is in its first octets (``head``),
        # even when the rest of the line was too long or had a bare CR/LF.
        tag = self._tag if self._segments else read_tag(line.head)
        self._reset()
        if line.problem is LineProblem.TOO_LONG:
            # RFC 2683 §3.2.1.5: "The server should send a BAD response to a command that
            # does not end within the server's maximum accepted command length."
            text = f"Command line too long (limit {self.limits.command_line} octets)"
        else:
            # RFC 9051 §2.2: "All interactions ... are in the form of lines, that is,
            # strings that end with a CRLF."
            text = f"Command line contains a {line.problem.value}; lines end with CRLF"
        if tag is None:
            raise untagged_bad(text)
        raise tagged_error(bad(tag, text))

    def _skip(self, line: bytes) -> None:
        """The rest of a refused command: lines, and the non-synchronizing literals the
        client sends without waiting (a synchronizing one it will not send)."""
        header = literal_at_end(line)
        if header is not None and not header.synchronizing:
            self._discard = header.size
        else:
            self._skip_rest = False

    def _literal(self, header: LiteralHeader, nonsync_max: int | None,
                 precheck: Precheck) -> None:
        if len(self._segments) == 1:
            head = read_command_name(self._segments[0])
            self._tag = head[0] if head else read_tag(self._segments[0])
            self._name = head[1] if head else None
        tag = self._tag
        if tag is None:
            self._refuse(header, untagged_bad("Command line does not start with a tag and SP "
                                              "(RFC 9051 §9 command)"))
        if len(self._segments) == 1 and self._name is not None:
            # RFC 9051 §2.2.1 note: "If, instead, the server detected an error in the
            # command, it sends a BAD completion response ... to reject the command and
            # prevent the client from sending any more of the command."
            refusal = precheck(tag, self._name)
            if refusal is not None:
                self._refuse(header, tagged_error(refusal))
        message = self._is_message(header)
        if not header.synchronizing and nonsync_max is not None and header.size > nonsync_max:
            # RFC 7888 §5: "A server that is compliant with LITERAL- and encounters a
            # non-synchronizing literal larger than 4096 bytes proceeds as described in
            # Section 4. If responding to an APPEND command, the tagged BAD response MUST
            # contain the TOOBIG response code"; RFC 9051 §4.3 (same 4096 limit).
            self._refuse(header, tagged_error(bad(
                tag, f"Non-synchronizing literal larger than {nonsync_max} octets "
                     "(RFC 7888 §5, RFC 9051 §4.3)", ResponseCode.TOOBIG)))
        if message:
            limit = min(self.limits.append_size,
                        self.limits.append_command_size - self._append_octets)
        else:
            limit = self.limits.literal_size - self._literal_octets
        if header.size > limit:
            self._too_big(header, tag, message)
        if message:
            self._append_octets += header.size
        else:
            self._literal_octets += header.size
        self._pending = header
        if header.synchronizing:
            # RFC 9051 §4.3: "the client MUST wait to receive a command continuation
            # request"; sent only now that the core will read the octets.
            self._emit(LITERAL_CONTINUATION)

    def _is_message(self, header: LiteralHeader) -> bool:
        """Is this literal an APPEND message (bounded by ``append_size``)? The mailbox
        is the first argument, so only a literal ending "tag APPEND {n}" is not."""
        if self._name != "APPEND":
            return False
        if header.literal8:
            return True
        if len(self._segments) > 1:
            return True
        words = self._segments[0][:self._segments[0].rfind(b"{")].split(b" ")
        return not (len(words) == 3 and words[1].upper() == b"APPEND" and not words[2])

    def _too_big(self, header: LiteralHeader, tag: str, message: bool) -> NoReturn:
        if message:
            limit = self.limits.append_size
            text = f"Message too large (limit {limit} octets)"
            if header.synchronizing:
                # RFC 7889 §4: "the server SHALL reject the APPEND command with a tagged
                # TOOBIG response code"; RFC 4469 §3 lists TOOBIG among NO responses.
                self._refuse(header, tagged_error(no(tag, text, ResponseCode.TOOBIG)))
            # RFC 7888 §5: "the tagged BAD response MUST contain the TOOBIG response code"
            self._refuse(header, tagged_error(bad(tag, text, ResponseCode.TOOBIG)))
        # RFC 5530 §3 LIMIT: "The operation ran up against an implementation limit".
        self._refuse(header, tagged_error(bad(
            tag, f"Literal too large (limit {self.limits.literal_size} octets per command)",
            ResponseCode.LIMIT)))

    def _refuse(self, header: LiteralHeader, error: ImapRemoteProtocolError) -> NoReturn:
        """End the command now. No "+" goes out, so after a synchronizing literal the
        client sends nothing more of it; the octets of a non-synchronizing one are
        already on their way and are read and dropped (RFC 7888 §4 choice 1, "The server
        is allowed to send the tagged BAD/NO response before reading the whole
        non-synchronizing literal"), or, beyond ``discard_literal``, the connection is
        closed (choice 2) with "an untagged BYE response ... it SHOULD include the TOOBIG
        response code" (RFC 7888 §5)."""
        self._reset()
        if header.synchronizing:
            raise error
        if header.size > self.limits.discard_literal:
            raise ImapRemoteProtocolError("non-synchronizing literal too large to discard",
                                          bye("Literal too large; closing the connection",
                                              ResponseCode.TOOBIG))
        self._discard = header.size
        self._skip_rest = True
        raise error


class ResponseReader:
    """Assembles one server response at a time (client side)."""

    def __init__(self, limits: ImapLimits) -> None:
        self.limits = limits
        self._segments: list[bytes] = []
        self._pending: LiteralHeader | None = None
        self._line_octets = 0

    @property
    def idle(self) -> bool:
        return not self._segments

    def read(self, buffer: ReceiveBuffer) -> list[bytes] | None:
        while True:
            if self._pending is not None:
                data = buffer.extract_bytes(self._pending.size)
                if data is None:
                    return None
                self._segments.append(data)
                self._pending = None
            # A server's bare LF is named at once (see ReceiveBuffer.extract_line).
            line = buffer.extract_line(self.limits.response_line, bare_lf_ends=True)
            if line is None:
                return None
            if isinstance(line, BadLine):
                self._segments = []
                raise ImapRemoteProtocolError(
                    f"Response line: {line.problem.value} (limit "
                    f"{self.limits.response_line} octets; lines end with CRLF, RFC 9051 §2.2)")
            self._segments.append(line)
            self._line_octets += len(line) + 2
            if self._line_octets > self.limits.response_line:
                self._segments = []
                raise ImapRemoteProtocolError("Response longer than the response_line limit")
            header = literal_at_end(line)
            if header is None:
                segments, self._segments, self._line_octets = self._segments, [], 0
                return segments
            if not header.synchronizing:
                self._segments = []
                # RFC 9051 §4.3 MUST NOT: "The non-synchronizing literal form MUST NOT be
                # sent from server to client."
                raise ImapRemoteProtocolError("Non-synchronizing literal from the server "
                                              "(RFC 9051 §4.3 MUST NOT)")
            if header.size > self.limits.response_literal:
                self._segments = []
                raise ImapRemoteProtocolError(
                    f"Literal of {header.size} octets exceeds the response_literal limit")
            self._pending = header


__all__ = ["LITERAL_CONTINUATION", "NON_SYNCHRONIZING_LITERAL_MAX", "CommandReader",
           "LiteralHeader", "ResponseReader", "literal_at_end"]
