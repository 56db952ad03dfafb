"""Mail data framing: DATA transparency (RFC 5321 §4.5.2) and content checks.

The end of mail data is only ``<CRLF>.<CRLF>`` (RFC 5321 §4.1.1.4). A bare LF or CR never
ends it, whatever follows: that ambiguity is what SMTP smuggling exploits
(CVE-2023-51764/51765/51766: ``<LF>.<LF>``, ``<LF>.<CR><LF>``, ``<CR>.<CR>``... read as the
end by one server and not by the next, splitting one message into two). Here such
sequences stay inside the message, and the finished message is then refused because RFC
5321 §2.3.8 forbids bare CR and LF in it, unless the named tolerance rewrites them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from reference.limits import SmtpLimits
from reference.smtp.parser import Tolerances
from reference.smtp.replies import Reply, Status, reply
from reference.wire.buffer import ReceiveBuffer

END_OF_DATA = b"\r\n.\r\n"


@dataclass(frozen=True, slots=True)
class TooBig:
    """The data ended but exceeded the size limit; its bytes were discarded as they came."""

    size: int


class DataReader:
    """Extracts one message's wire bytes after a 354, up to and without ``.CRLF``."""

    __slots__ = ("_at_start", "_discard_above", "_discarded", "_scan_from")

    def __init__(self, max_size: int) -> None:
        # Dot-stuffing adds at most one octet per line of at least three (".x" CRLF), so
        # wire bytes beyond 4/3 of the limit can only unstuff to an oversized message:
        # they are dropped as they arrive instead of being buffered.
        self._discard_above = max_size * 4 // 3 + 1024
        self._discarded = 0
        self._scan_from = 0
        self._at_start = True

    def read(self, buffer: ReceiveBuffer) -> bytes | TooBig | None:
        """The wire bytes of the message (dot-stuffed, ending in CRLF), ``TooBig``, or
        ``None`` when the end has not arrived yet."""
        if self._at_start:
            # The data starts at the beginning of a line, so a first line "." ends it.
            head = buffer.peek(3)
            if head == b".\r\n":
                buffer.consume(3)
                return b""
            if b".\r\n".startswith(head):
                return None
            self._at_start = False
        end = buffer.find(END_OF_DATA, self._scan_from)
        if end < 0:
            # Keep four octets: the terminator may be split across reads.
            self._scan_from = max(0, len(buffer) - 4)
            if len(buffer) > self._discard_above:
                dropped = len(buffer) - 4
                buffer.consume(dropped)
                self._discarded += dropped
                self._scan_from = 0
            return None
        wire = buffer.extract_bytes(end + 2)
        buffer.consume(3)
        assert wire is not None
        if self._discarded:
            return TooBig(self._discarded + len(wire))
        return wire


# A period that begins a line (after the first) and is not the whole line.
_STUFFED_PERIOD = re.compile(rb"\r\n\.(?!\r\n)")


def unstuff(wire: bytes) -> bytes:
    """RFC 5321 §4.5.2: "If the first character is a period and there are other
    characters on the line, the first character is deleted." A line that is a lone
    period can only be here when a tolerated bare line end made it one; it stays."""
    if wire.startswith(b".") and not wire.startswith(b".\r\n"):
        wire = wire[1:]
    return _STUFFED_PERIOD.sub(b"\r\n", wire)


_BARE_LINE_END = re.compile(rb"\r\n|\r|\n")


def normalize_line_ends(wire: bytes) -> bytes:
    """The ``accept_bare_line_ends_in_data`` tolerance: every bare CR or LF becomes CRLF."""
    return _BARE_LINE_END.sub(b"\r\n", wire)


def has_bare_line_end(content: bytes) -> bool:
    """RFC 5321 §2.3.8: CR and LF "MUST NOT" appear except together as CRLF."""
    crlf = content.count(b"\r\n")
    return content.count(b"\r") != crlf or content.count(b"\n") != crlf


def _too_long_line(text_line: int) -> re.Pattern[bytes]:
    # A line's text may hold text_line - 2 octets (the limit counts the CRLF). The match
    # starts where a line does (the start, or after an LF), so each line is scanned once:
    # unanchored, the search restarted at every octet of every line, O(size × length).
    return re.compile(rb"(?:\A|\n)[^\r\n]{%d}" % (text_line - 1))


_TOO_LONG_LINE_CACHE: dict[int, re.Pattern[bytes]] = {}


def check_content(wire: bytes, limits: SmtpLimits, tolerances: Tolerances,
                  *, stuffed: bool) -> bytes | Reply:
    """The message ready to store, or the reply that refuses it.

    ``stuffed`` is True for DATA (dot-stuffed wire form) and False for BDAT (RFC 3030 §2:
    chunks carry the message as is).
    """
    if has_bare_line_end(wire):
        if not tolerances.accept_bare_line_ends_in_data:
            return reply(554, Status.MEDIA_OTHER,
                         "Message refused: bare CR or LF in message data (RFC 5321 §2.3.8)")
        wire = normalize_line_ends(wire)
    content = unstuff(wire) if stuffed else wire
    if len(content) > limits.message_size:
        return too_big_reply()
    pattern = _TOO_LONG_LINE_CACHE.get(limits.text_line)
    if pattern is None:
        pattern = _TOO_LONG_LINE_CACHE[limits.text_line] = _too_long_line(limits.text_line)
    if pattern.search(content) is not None:
        # RFC 5321 §4.5.3.1.6: "The maximum total length of a text line including the
        # <CRLF> is 1000 octets"
        return reply(554, Status.MEDIA_OTHER,
                     f"Message refused: a line is longer than {limits.text_line} octets "
                     "(RFC 5321 §4.5.3.1.6)")
    return content


def too_big_reply() -> Reply:
    # RFC 1870 §6 (2): "the server responds with code "552 message size exceeds fixed
    # maximium message size"" (sic)
    return reply(552, Status.MESSAGE_TOO_BIG, "Message size exceeds fixed maximum message size")
