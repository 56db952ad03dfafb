"""ReceiveBuffer: bounded extraction of CRLF lines and counted byte runs.

The cores never ``await`` inside framing (STYLE.md §F): bytes go in with ``feed()``, and a
line or a byte run comes out when it is complete, or ``None`` when more bytes are needed.
Every extraction is bounded, so a peer that never sends a line end cannot make us buffer
without limit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class LineProblem(Enum):
    """Why a line could not be returned as a well-formed CRLF-terminated line."""

    TOO_LONG = "too long"
    # RFC 5321 §2.3.8: "a bare CR or LF ... MUST NOT" be sent except as part of CRLF.
    BARE_LF = "bare LF"
    BARE_CR = "bare CR"


@dataclass(frozen=True, slots=True)
class BadLine:
    """A line that was consumed but is not acceptable; the core turns it into an error.

    ``head`` is the line's first octets (at most the ``max_length`` it was read with,
    without its line end), so that a core can still name what the line was: an IMAP
    server tags its BAD with the tag found there (RFC 9051 §7.1.3)."""

    problem: LineProblem
    length: int
    head: bytes = field(default=b"", compare=False, repr=False)


class ReceiveBuffer:
    """Bytes received and not yet consumed by a core."""

    __slots__ = ("_data", "_discarding_long_line", "_scanned")

    def __init__(self) -> None:
        self._data = bytearray()
        # Bytes already searched for a line end: a slowly arriving long line is not
        # rescanned from its start on every chunk (that would be quadratic).
        self._scanned = 0
        # True after a too-long line was reported and until its line end is consumed.
        self._discarding_long_line = False

    def __len__(self) -> int:
        return len(self._data)

    def __bool__(self) -> bool:
        return bool(self._data)

    def feed(self, data: bytes) -> None:
        self._data += data

    def clear(self) -> int:
        """Drop everything buffered; return how many bytes were dropped."""
        dropped = len(self._data)
        self._data.clear()
        self._scanned = 0
        self._discarding_long_line = False
        return dropped

    def extract_line(self, max_length: int, *, bare_lf_ends: bool = False
                     ) -> bytes | BadLine | None:
        """Return the next line without its CRLF, a ``BadLine``, or ``None`` (need data).

        Only CRLF ends a line (RFC 5321 §2.3.8: "Conforming implementations MUST NOT
        recognize or generate any other character or character sequence as a line
        terminator"; RFC 9051 §2.2: lines "end with a CRLF"). A bare LF or CR is part of
        the line, which is then reported as ``BARE_LF`` / ``BARE_CR`` once its CRLF
        arrives: what follows a bare LF is never read as a command of its own.
        ``max_length`` counts the line including its CRLF, as RFC 5321 §4.5.3.1.4 does.
        A line longer than that is reported once as ``TOO_LONG`` as soon as the bound is
        passed, and its remainder is then discarded up to and including its CRLF.

        ``bare_lf_ends``: a bare LF ends a ``BARE_LF`` line at once, for a client reading
        replies (the conformance drivers): it names the peer's fault rather than waiting
        for a CRLF that may never come. A server never does this (§2.3.8 above).
        """
        data = self._data
        if bare_lf_ends and not self._discarding_long_line:
            lf = data.find(b"\n")
            if lf >= 0 and (lf == 0 or data[lf - 1] != 0x0D) and lf + 1 <= max_length:
                head = bytes(data[:lf])
                del data[: lf + 1]
                self._scanned = 0
                return BadLine(LineProblem.BARE_LF, lf + 1, head)
        # A CR at the end of what was scanned may be the first half of the line end.
        end = data.find(b"\r\n", max(0, self._scanned - 1))
        if end < 0:
            if self._discarding_long_line:
                keep = 1 if data.endswith(b"\r") else 0    # a CRLF split across chunks
                del data[: len(data) - keep]
                self._scanned = len(data)
                return None
            if len(data) >= max_length:
                length = len(data)
                head = bytes(data[:max_length])
                keep = 1 if data.endswith(b"\r") else 0
                del data[: len(data) - keep]
                self._scanned = len(data)
                self._discarding_long_line = True
                return BadLine(LineProblem.TOO_LONG, length, head)
            self._scanned = len(data)
            return None
        self._scanned = 0
        if self._discarding_long_line:
            del data[: end + 2]
            self._discarding_long_line = False
            return self.extract_line(max_length)
        if end + 2 > max_length:
            head = bytes(data[: min(end, max_length)])
            del data[: end + 2]
            return BadLine(LineProblem.TOO_LONG, end + 2, head)
        line = bytes(data[:end])
        del data[: end + 2]
        if b"\n" in line:
            return BadLine(LineProblem.BARE_LF, len(line) + 2, line)
        if b"\r" in line:
            return BadLine(LineProblem.BARE_CR, len(line) + 2, line)
        return line

    def extract_bytes(self, count: int) -> bytes | None:
        """Return exactly ``count`` bytes, or ``None`` until that many have arrived."""
        if len(self._data) < count:
            return None
        chunk = bytes(self._data[:count])
        del self._data[:count]
        self._scanned = 0
        return chunk

    def extract_available(self, at_most: int) -> bytes:
        """Return up to ``at_most`` bytes (possibly none): for discarding or streaming."""
        chunk = bytes(self._data[:at_most])
        del self._data[:at_most]
        self._scanned = 0
        return chunk

    def peek(self, count: int) -> bytes:
        """The first ``count`` buffered bytes (fewer if fewer are there), unconsumed."""
        return bytes(self._data[:count])

    def consume(self, count: int) -> None:
        del self._data[:count]
        self._scanned = 0

    def find(self, needle: bytes, start: int = 0) -> int:
        return self._data.find(needle, start)
