"""A small, fast, blocking IMAP client for load generation (standard library only).

It is not a general IMAP library: commands go out as bytes the caller writes, responses
come back as the raw bytes the server sent, and a few helpers below pull out the numbers
the benchmarks check (EXISTS, SEARCH/ESEARCH hits, FETCH counts, STATUS items).

Reading is literal-aware (RFC 9051 §4.3: a ``{n}`` at the end of a line announces n
octets that may hold anything, CRLF and text that looks like a tagged line included), and
fast where it matters: the receive buffer is scanned with one precompiled regular
expression that finds, from a position, the earlier of a literal announcement, a
continuation request or a tagged status line. Python runs once per literal or per recv,
not once per line, so reading 100,000 ``* n FETCH (FLAGS (...))`` lines costs a few
milliseconds and the times measured stay close to the server's.

Pipelining: ``send`` any number of commands, then ``read_response`` returns completions in
the order the server sends them (one per call), with the untagged data that came before.
Literals in commands are written by ``literal_header`` according to what the server
advertised: non-synchronizing with LITERAL+ (RFC 7888) or LITERAL- up to 4,096 octets,
otherwise synchronizing, waiting for the "+" continuation (RFC 9051 §7.6).
"""

from __future__ import annotations

import contextlib
import re
import socket
from dataclasses import dataclass

DEFAULT_TIMEOUT = 300.0
_RECEIVE_SIZE = 1 << 20
# RFC 7888 §5: LITERAL- allows non-synchronizing literals of at most 4,096 octets.
_LITERAL_MINUS_MAX = 4096

# The earliest interesting thing from a position in the buffer, which always keeps the
# CRLF that ended the previous line at its front, so every line start is "\r\n":
#   a tagged status line   "\r\n<tag> "   (untagged lines start with "*", requests with "+")
#   a continuation request "\r\n+"
#   a literal announcement "{n}\r\n" (or literal8 "~{n}\r\n", RFC 3516) at a line's end
_MARK = re.compile(rb"\r\n(?:(?P<tag>[A-Za-z0-9.]+) |(?P<plus>\+))|\{(?P<literal>\d+)\}\r\n")
_CAPABILITY_CODE = re.compile(rb"\[CAPABILITY ([^\]]*)\]", re.IGNORECASE)
_CAPABILITY_DATA = re.compile(rb"^\* CAPABILITY (.*)$", re.IGNORECASE | re.MULTILINE)
_EXISTS = re.compile(rb"^\* (\d+) EXISTS", re.IGNORECASE | re.MULTILINE)
_SEARCH = re.compile(rb"^\* SEARCH((?: \d+)*)", re.IGNORECASE | re.MULTILINE)
_ESEARCH_ALL = re.compile(rb"^\* ESEARCH [^\r\n]*? ALL ([0-9:,]+)", re.IGNORECASE | re.MULTILINE)
_ESEARCH_COUNT = re.compile(rb"^\* ESEARCH [^\r\n]*? COUNT (\d+)", re.IGNORECASE | re.MULTILINE)
_ESEARCH = re.compile(rb"^\* ESEARCH", re.IGNORECASE | re.MULTILINE)
_FETCH = re.compile(rb"(?:^|\r\n)\* \d+ FETCH \(", re.IGNORECASE)
_STATUS_ITEMS = re.compile(rb"^\* STATUS .*\(([^)]*)\)\s*$", re.IGNORECASE | re.MULTILINE)


class ImapError(Exception):
    """The server refused a command, closed the connection, or sent something unexpected."""


@dataclass(frozen=True)
class Response:
    """One completed command: its tagged status line and the untagged data before it."""

    tag: bytes
    status: str          # "OK", "NO" or "BAD"
    line: bytes          # the whole tagged line, without CRLF
    data: bytes          # every untagged response (literals included) before it

    @property
    def ok(self) -> bool:
        return self.status == "OK"


def quote(text: str) -> str:
    """An IMAP quoted string (RFC 9051 §4.3): backslash and double quote escaped."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class ImapClient:
    """One connection. ``timeout`` bounds every socket operation (connect, send, recv)."""

    def __init__(self, host: str, port: int, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self._socket = socket.create_connection((host, port), timeout=timeout)
        # Small commands must leave at once, not wait for the ACK of the previous one.
        self._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buffer = bytearray(b"\r\n")
        self._tag_number = 0
        self.capabilities: frozenset[str] = frozenset()
        try:
            self.greeting = self._read_greeting()
        except BaseException:
            self.close()
            raise
        if not self.greeting.startswith((b"* OK", b"* PREAUTH")):
            self.close()
            raise ImapError(f"greeting: {self.greeting[:200]!r}")
        self._note_capabilities(self.greeting)

    # --- sending ------------------------------------------------------------------------

    def next_tag(self) -> bytes:
        self._tag_number += 1
        return b"t%d" % self._tag_number

    def send(self, data: bytes) -> None:
        self._socket.sendall(data)

    def literal_header(self, size: int) -> tuple[bytes, bool]:
        """The literal announcement for ``size`` octets, and whether the caller must wait
        for a continuation request before sending them."""
        if "LITERAL+" in self.capabilities or (
                "LITERAL-" in self.capabilities and size <= _LITERAL_MINUS_MAX):
            return b"{%d+}\r\n" % size, False
        return b"{%d}\r\n" % size, True

    # --- receiving ----------------------------------------------------------------------

    def read_response(self) -> Response:
        """The next tagged completion (the oldest command in flight) and the untagged
        data before it. A continuation request here is a protocol error: commands with
        synchronizing literals go through ``wait_for_continuation``."""
        _kind, start, end = self._scan(stop_at_continuation=False)
        return self._take_response(start, end)

    def wait_for_continuation(self) -> None:
        """Wait for "+" after a synchronizing literal's announcement. A tagged completion
        instead means the server refused the command."""
        kind, start, end = self._scan(stop_at_continuation=True)
        if kind == "tag":
            response = self._take_response(start, end)
            raise ImapError(f"no continuation request: {response.line[:200]!r}")
        # Only the request line goes; untagged data before it stays for the next read.
        del self._buffer[start:end]

    def command(self, text: str | bytes, *, expect_ok: bool = True) -> Response:
        """Send one command (no literals) and read its completion."""
        tag = self.next_tag()
        body = text.encode() if isinstance(text, str) else text
        self.send(tag + b" " + body + b"\r\n")
        response = self.read_response()
        if response.tag != tag:
            raise ImapError(f"completion for {response.tag!r} while waiting for {tag!r}")
        if expect_ok and not response.ok:
            verb = body.split(b" ", 1)[0].decode(errors="replace")
            raise ImapError(f"{verb}: {response.line[:300]!r}")
        return response

    # --- conveniences -------------------------------------------------------------------

    def login(self, user: str, password: str) -> Response:
        response = self.command(f"LOGIN {quote(user)} {quote(password)}")
        # RFC 9051 §6.2.3: capabilities may change after login; a server may send them in
        # the tagged OK's response code or as untagged data.
        self._note_capabilities(response.line + b"\r\n" + response.data)
        return response

    def refresh_capabilities(self) -> frozenset[str]:
        self._note_capabilities(self.command("CAPABILITY").data)
        return self.capabilities

    def logout(self) -> None:
        """LOGOUT and close; errors are ignored (the connection is going anyway)."""
        with contextlib.suppress(OSError, ImapError):
            self.command("LOGOUT", expect_ok=False)
        self.close()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._socket.close()

    # --- internals ----------------------------------------------------------------------

    def _receive(self) -> None:
        chunk = self._socket.recv(_RECEIVE_SIZE)
        if not chunk:
            tail = bytes(self._buffer[-200:])
            raise ImapError(f"connection closed by the server (last bytes {tail!r})")
        self._buffer += chunk

    def _read_greeting(self) -> bytes:
        while (end := self._buffer.find(b"\r\n", 2)) < 0:
            self._receive()
        line = bytes(self._buffer[2:end])
        del self._buffer[:end]
        return line

    def _scan(self, *, stop_at_continuation: bool) -> tuple[str, int, int]:
        """Receive until the buffer holds a whole tagged line (or a continuation request,
        when asked for) outside every literal. Returns its kind ("tag" or "plus"), the
        offset of the CRLF before it and of the CRLF that ends it."""
        buffer = self._buffer
        position = 0
        while True:
            mark = _MARK.search(buffer, position)
            if mark is None:
                # Nothing complete yet; a mark that is still arriving starts at the last
                # line start or after it, so scanning resumes there.
                position = max(position, buffer.rfind(b"\r\n", position))
                self._receive()
                continue
            literal = mark.group("literal")
            if literal is not None:
                literal_end = mark.end() + int(literal)
                while len(buffer) < literal_end:
                    self._receive()
                position = literal_end
                continue
            is_continuation = mark.group("plus") is not None
            if is_continuation and not stop_at_continuation:
                raise ImapError("unexpected continuation request")
            line_end = buffer.find(b"\r\n", mark.end())
            if line_end < 0:
                position = mark.start()
                self._receive()
                continue
            return ("plus" if is_continuation else "tag"), mark.start(), line_end

    def _take_response(self, line_start: int, line_end: int) -> Response:
        """Cut the response out of the buffer: the sentinel CRLF, the untagged data, the
        tagged line. The CRLF that ends the tagged line stays as the next sentinel."""
        buffer = self._buffer
        line = bytes(buffer[line_start + 2:line_end])
        data = bytes(buffer[2:line_start])
        del buffer[:line_end]
        tag, _, rest = line.partition(b" ")
        status = rest.split(b" ", 1)[0].upper().decode(errors="replace")
        return Response(tag=tag, status=status, line=line, data=data)

    def _note_capabilities(self, text: bytes) -> None:
        found = _CAPABILITY_CODE.search(text) or _CAPABILITY_DATA.search(text)
        if found:
            self.capabilities = frozenset(found.group(1).decode(errors="replace")
                                          .upper().split())


# --- reading the numbers out of responses ---------------------------------------------------


def exists_count(data: bytes) -> int:
    """The last EXISTS in the untagged data (RFC 9051 §7.4.1); -1 when there is none."""
    found = _EXISTS.findall(data)
    return int(found[-1]) if found else -1


def search_hits(data: bytes) -> int:
    """How many messages a SEARCH found: numbers of ``* SEARCH`` (IMAP4rev1) or the size
    of an ESEARCH ALL set / its COUNT (RFC 4731, and RFC 9051 §7.3.4 for IMAP4rev2)."""
    if _ESEARCH.search(data):
        total = 0
        for found in _ESEARCH_ALL.findall(data):
            total += sequence_set_size(found)
        if total == 0:
            total = sum(int(count) for count in _ESEARCH_COUNT.findall(data))
        return total
    return sum(len(numbers.split()) for numbers in _SEARCH.findall(data))


def sequence_set_size(text: bytes) -> int:
    """Numbers in a sequence set without "*" (``1:3,7`` → 4)."""
    total = 0
    for part in text.split(b","):
        low, _, high = part.partition(b":")
        total += abs(int(high or low) - int(low)) + 1
    return total


def fetch_count(data: bytes) -> int:
    """Untagged FETCH responses in the data (literal contents are not expected to hold
    lines that look like one)."""
    return len(_FETCH.findall(data))


def status_items(data: bytes) -> dict[str, int]:
    """The items of a ``* STATUS mailbox (NAME value ...)`` response, by upper-case name."""
    found = _STATUS_ITEMS.search(data)
    if not found:
        return {}
    words = found.group(1).split()
    return {words[i].decode().upper(): int(words[i + 1])
            for i in range(0, len(words) - 1, 2) if words[i + 1].isdigit()}
