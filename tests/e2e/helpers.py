"""A tiny byte-exact SMTP client for the end-to-end tests, on the project's own client core.

Real clients (smtplib, aiosmtplib) hide the wire: they fix up line ends, dot-stuff,
retry, and never send what a hostile peer sends. ``RawClient`` writes exactly the bytes
a test gives it and parses the server's replies strictly with
``reference.smtp.connection.ClientConnection``, so a malformed reply fails the test too.
"""

from __future__ import annotations

import base64
import logging
import re
import socket
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from reference.errors import RemoteProtocolError
from reference.smtp.connection import NEED_DATA, ClientConnection
from reference.smtp.replies import Reply

TIMEOUT = 10.0


_RECEIVED_WITH = re.compile(rb"\r\n\tby [^ ]+ with (\w+)(?: \(([^)]*)\))? id ")


def plain_response(user: str, password: str, authzid: str = "") -> bytes:
    """RFC 4616 §2: message = [authzid] UTF8NUL authcid UTF8NUL passwd, in base64."""
    return base64.b64encode(f"{authzid}\0{user}\0{password}".encode())


def body_after_trace(stored: bytes) -> bytes:
    """What follows the Return-Path and Received fields added at delivery."""
    assert stored.startswith(b"Return-Path: "), stored[:100]
    received_end = stored.index(b"\r\n", stored.index(b";\r\n\t") + 3) + 2
    return stored[received_end:]


def received_with(stored: bytes) -> tuple[bytes, bytes | None]:
    """The WITH protocol (RFC 3848) and the TLS comment of the Received field."""
    match = _RECEIVED_WITH.search(stored)
    assert match is not None, stored[:300]
    return match[1], match[2]


def enhanced(response: Reply) -> str | None:
    """The full enhanced status code of a reply ("5.7.8"), or None (RFC 2034 §4)."""
    return response.status.with_class(response.code) if response.status else None


class RawClient:
    """One SMTP connection driven byte by byte.

    ``send`` writes bytes unchanged; ``reply`` reads one complete (possibly multi-line)
    reply; ``command`` does both for one CRLF-terminated line. Every byte received is kept
    in ``received`` for byte-exact assertions.
    """

    def __init__(self, address: tuple[str, int], *, timeout: float = TIMEOUT,
                 tls: ssl.SSLContext | None = None, greeting: bool = True) -> None:
        raw = socket.create_connection(address, timeout=timeout)
        self.sock: socket.socket = (tls.wrap_socket(raw, server_hostname="localhost")
                                    if tls is not None else raw)
        self.core = ClientConnection(max_reply_line=4096)
        # The server announces ENHANCEDSTATUSCODES; read the codes from the first reply on.
        self.core.enhanced_status_codes = True
        self.received = bytearray()
        self.greeting: Reply | None = self.reply() if greeting else None

    # --- sending ----------------------------------------------------------------------

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def command(self, line: str | bytes) -> Reply:
        data = line.encode("utf-8") if isinstance(line, str) else line
        self.send(data + b"\r\n")
        return self.reply()

    def ehlo(self, domain: str = "client.example.test") -> Reply:
        response = self.command(f"EHLO {domain}")
        if response.code == 250:
            self.core.learn_ehlo(response)
            self.core.enhanced_status_codes = True
        return response

    def starttls(self, context: ssl.SSLContext) -> Reply:
        """STARTTLS, then the handshake when the server says 220."""
        response = self.command("STARTTLS")
        if response.code == 220:
            self.sock = context.wrap_socket(self.sock, server_hostname="localhost")
        return response

    def starttls_and_send(self, context: ssl.SSLContext, first: bytes) -> None:
        """STARTTLS, then a handshake whose last client flight (TLS 1.3: the client's
        Finished) and the first TLS record of ``first`` go out in one write, as a fast
        client's do: the server sees the end of the handshake and the first command in
        one read."""
        response = self.command("STARTTLS")
        assert response.code == 220, response
        tls = TlsOverMemory(self.sock, context)
        tls.handshake(then=first)
        self.sock = tls   # type: ignore[assignment]

    def mail_transaction(self, sender: str, recipients: list[str], content: bytes) -> Reply:
        """MAIL, RCPT..., DATA and the dot-stuffed content; the reply to the data."""
        assert self.command(f"MAIL FROM:<{sender}>").code == 250
        for recipient in recipients:
            assert self.command(f"RCPT TO:<{recipient}>").code == 250
        assert self.command("DATA").code == 354
        self.send(ClientConnection.send_data(content))
        return self.reply()

    # --- receiving --------------------------------------------------------------------

    def reply(self) -> Reply:
        while True:
            response = self.core.next_reply()
            if response is not NEED_DATA:
                assert isinstance(response, Reply)
                return response
            data = self.sock.recv(65536)
            self.received += data
            self.core.receive_data(data)

    def replies(self, count: int) -> list[Reply]:
        return [self.reply() for _ in range(count)]

    def at_eof(self, timeout: float = TIMEOUT) -> bool:
        """True when the server has closed the connection (nothing more than EOF, or a
        reset, arrives within ``timeout``); unread replies make it False."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            return False
        except OSError:                  # reset, or TLS ended without close_notify
            return True
        self.received += data
        return data == b""

    def read_until_closed(self, timeout: float = TIMEOUT) -> bytes | None:
        """Everything the server still sends before it closes the connection, or None
        if it keeps the connection open for ``timeout`` seconds."""
        self.sock.settimeout(timeout)
        received = b""
        while True:
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                return None
            except OSError:
                return received
            if not data:
                return received
            received += data

    def close(self) -> None:
        with suppress(OSError):
            self.sock.close()

    def __enter__(self) -> RawClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class TlsOverMemory:
    """A TLS client connection driven through memory BIOs (``SSLContext.wrap_bio``), so a
    test decides how TLS records are grouped into writes. It offers the few socket methods
    ``RawClient`` uses."""

    def __init__(self, raw: socket.socket, context: ssl.SSLContext) -> None:
        self.raw = raw
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        self.tls = context.wrap_bio(self.incoming, self.outgoing, server_hostname="localhost")

    def handshake(self, then: bytes = b"") -> None:
        while True:
            try:
                self.tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                self._flush()
                self._fill()
        if then:
            self.tls.write(then)
        self._flush()

    def sendall(self, data: bytes) -> None:
        self.tls.write(data)
        self._flush()

    def recv(self, size: int) -> bytes:
        while True:
            try:
                return self.tls.read(size)
            except ssl.SSLWantReadError:
                if not self._fill():
                    return b""
            except ssl.SSLZeroReturnError:
                return b""

    def settimeout(self, timeout: float) -> None:
        self.raw.settimeout(timeout)

    def close(self) -> None:
        self.raw.close()

    def _flush(self) -> None:
        pending = self.outgoing.read()
        if pending:
            self.raw.sendall(pending)

    def _fill(self) -> bool:
        data = self.raw.recv(65536)
        if not data:
            self.incoming.write_eof()
            return False
        self.incoming.write(data)
        return True


def flood_until_blocked(address: tuple[str, int]) -> socket.socket:
    """A client that pipelines HELP (two-line replies) and never reads, until the server
    stops reading from it (its send blocks for half a second)."""
    hog = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    hog.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    hog.connect(address)
    hog.settimeout(0.5)
    command = b"HELP\r\n" * 10_000
    sent = 0
    while sent < 64 * 1024 * 1024:
        try:
            sent += hog.send(command)
        except (TimeoutError, ConnectionResetError):
            return hog          # blocked (or already cut off by a short timeout)
    hog.close()
    raise AssertionError("the server never stopped reading")


def expect_closed(client: RawClient, timeout: float = TIMEOUT) -> None:
    """The server closed the connection, and sent nothing more before closing."""
    try:
        leftover = client.core.next_reply()
    except RemoteProtocolError:
        leftover = NEED_DATA            # only the EOF, already seen
    assert leftover is NEED_DATA, f"unexpected reply before close: {leftover!r}"
    assert client.at_eof(timeout), "the server did not close the connection"


def still_serving(address: tuple[str, int]) -> None:
    """Another client can connect, say EHLO and NOOP: the server is not wedged."""
    with RawClient(address, timeout=5) as other:
        assert other.greeting is not None and other.greeting.code == 220
        assert other.ehlo().code == 250
        assert other.command("NOOP").code == 250
        assert other.command("QUIT").code == 221


def wait_for(condition: object, timeout: float = 5.0, interval: float = 0.02) -> bool:
    """Poll ``condition()`` until it is true or ``timeout`` passes."""
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return bool(condition())


class LogCapture(logging.Handler):
    """Every record of the "rfcmail" loggers, whatever their level or propagation."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def events(self) -> list[str]:
        return [record.getMessage() for record in self.records]

    def internal_errors(self) -> list[logging.LogRecord]:
        """Records that mean the server failed on its own account: "internal-error"
        events, anything logged with a traceback, anything at ERROR or above."""
        return [r for r in self.records
                if "internal-error" in r.getMessage() or r.exc_info
                or r.levelno >= logging.ERROR]


@contextmanager
def captured_logs() -> Iterator[LogCapture]:
    logger = logging.getLogger("rfcmail")
    handler = LogCapture()
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
