"""A byte-exact IMAP client for the end-to-end tests.

imaplib and IMAPClient hide the wire: they choose literals, wait for "+" themselves,
and cannot send what a test needs sent exactly (a SASL initial response, a
non-synchronizing literal, a line over the limit). ``ImapWire`` writes exactly the bytes
a test gives it and reads whole responses: a line, and when it ends with a literal
(``{n}`` or ``~{n}``, RFC 9051 §4.3, RFC 3516 §4.3) the n octets and the rest of the
response after them. Responses are kept as bytes for byte-exact assertions.
"""

from __future__ import annotations

import base64
import re
import socket
from dataclasses import dataclass

from tests.e2e.conftest import PASSWORDS, RunningServer

TIMEOUT = 10.0
ALICE = "alice@example.test"
PASSWORD = PASSWORDS[ALICE]
_LITERAL_AT_END = re.compile(rb"~?\{(\d+)\}\r\n\Z")


@dataclass(frozen=True)
class Completion:
    """What one command got: its untagged responses (and continuations) in order, each
    with its CRLF and literals, and the tagged status line without tag and CRLF."""

    untagged: list[bytes]
    tagged: bytes

    @property
    def status(self) -> bytes:
        """b"OK", b"NO" or b"BAD"."""
        return self.tagged.split(b" ", 1)[0]

    def starting(self, prefix: bytes) -> list[bytes]:
        """The untagged responses that start with ``prefix`` (e.g. b"* LIST ")."""
        return [response for response in self.untagged if response.startswith(prefix)]


class ImapWire:
    """One IMAP connection driven byte by byte."""

    def __init__(self, address: tuple[str, int], *, timeout: float = TIMEOUT) -> None:
        self.sock = socket.create_connection(address, timeout=timeout)
        self.buffer = b""
        self.tags = 0
        self.greeting = self.response()

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> ImapWire:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- sending -----------------------------------------------------------------------

    def tag(self) -> bytes:
        self.tags += 1
        return b"w%d" % self.tags

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def command(self, text: bytes | str) -> Completion:
        """Send ``<new tag> SP text CRLF`` and read up to its tagged response."""
        tag = self.tag()
        data = text.encode() if isinstance(text, str) else text
        self.send(tag + b" " + data + b"\r\n")
        return self.completion(tag)

    # --- receiving ---------------------------------------------------------------------

    def _fill(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise EOFError(f"the server closed the connection; unread {self.buffer!r}")
        self.buffer += data

    def line(self) -> bytes:
        """One CRLF-terminated line, CRLF included."""
        while b"\r\n" not in self.buffer:
            self._fill()
        end = self.buffer.index(b"\r\n") + 2
        line, self.buffer = self.buffer[:end], self.buffer[end:]
        return line

    def response(self) -> bytes:
        """One whole response: a line and, for each literal it announces, the literal's
        octets and the line that follows them."""
        response = self.line()
        while (literal := _LITERAL_AT_END.search(response)) is not None:
            size = int(literal[1])
            while len(self.buffer) < size:
                self._fill()
            response += self.buffer[:size]
            self.buffer = self.buffer[size:]
            response += self.line()
        return response

    def continuation(self) -> bytes:
        """The next response, which must be a command continuation request (§7.6)."""
        response = self.response()
        assert response.startswith(b"+"), response
        return response

    def completion(self, tag: bytes) -> Completion:
        """Read responses up to the tagged one for ``tag``."""
        untagged: list[bytes] = []
        while True:
            response = self.response()
            if response.startswith(tag + b" "):
                return Completion(untagged, response[len(tag) + 1:-2])
            assert response.startswith((b"* ", b"+")), response
            untagged.append(response)

    # --- conveniences ------------------------------------------------------------------

    def login(self, user: str, password: str) -> None:
        done = self.command(f'LOGIN "{user}" "{password}"')
        assert done.status == b"OK", done


def literal_plus(data: bytes) -> bytes:
    """A non-synchronizing literal (RFC 7888 §3): ``{n+}`` CRLF and the octets."""
    return b"{%d+}\r\n" % len(data) + data


# --- the e2e server's IMAP, as alice ----------------------------------------------------


def endpoint(server: RunningServer) -> tuple[str, int]:
    return server.endpoints["imap"].host, server.endpoints["imap"].port


def connect(server: RunningServer, *, rev2: bool = False) -> ImapWire:
    """A connection logged in as alice; ``rev2``: after ENABLE IMAP4rev2 (RFC 9051
    §6.3.1), otherwise an IMAP4rev1 client."""
    connection = ImapWire(endpoint(server))
    connection.login(ALICE, PASSWORD)
    if rev2:
        done = connection.command("ENABLE IMAP4rev2")
        assert done.untagged == [b"* ENABLED IMAP4rev2\r\n"] and done.status == b"OK", done
    return connection


def b64(data: bytes) -> bytes:
    return base64.b64encode(data)


def plain(user: str, password: str) -> bytes:
    """RFC 4616 §2: [authzid] NUL authcid NUL passwd, base64 (RFC 9051 §6.2.2)."""
    return b64(f"\0{user}\0{password}".encode())


def message(subject: str, body: str = "body") -> bytes:
    return f"Subject: {subject}\r\n\r\n{body}\r\n".encode()


def append(connection: ImapWire, mailbox: str, data: bytes, flags: str = "") -> bytes:
    """APPEND one message with a non-synchronizing literal; the tagged OK line."""
    flag_list = f"({flags}) " if flags else ""
    done = connection.command(f"APPEND {mailbox} {flag_list}".encode() + literal_plus(data))
    assert done.status == b"OK", done
    return done.tagged


def status_values(connection: ImapWire, mailbox: str, items: str) -> dict[bytes, int]:
    """STATUS ``mailbox`` (``items``): the values of its one STATUS response."""
    done = connection.command(f"STATUS {mailbox} ({items})")
    assert done.status == b"OK", done
    (line,) = done.starting(b"* STATUS ")
    values = re.fullmatch(rb"\* STATUS \S+ \(([^)]*)\)\r\n", line)
    assert values is not None, line
    words = values[1].split()
    return {name: int(value) for name, value in zip(words[::2], words[1::2], strict=True)}
