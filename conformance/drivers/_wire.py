"""The socket under both drivers: connect (plain or implicit TLS), STARTTLS, exact writes,
bounded reads, and the transcript of every byte each way.

Every socket operation has a timeout (``timeout`` seconds per connect, read or write); a
timeout raises ``TargetTimeout`` and a closed or reset connection ``TargetClosed``: both
are ERRORs of the test, the transcript so far is kept.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from conformance.targets import TargetSpec

Direction = Literal["C", "S"]
Transcript = list[tuple[Direction, bytes]]


class DriverError(Exception):
    """The conversation with the target broke down (not a verdict on its grammar)."""


class TargetTimeout(DriverError, TimeoutError):
    """The target did not answer (or accept bytes) within the timeout."""


class TargetClosed(DriverError, ConnectionError):
    """The target closed or reset the connection where an answer was due."""


class GrammarViolation(AssertionError):
    """The target sent bytes the protocol grammar refuses: a FAIL of the test's
    requirement (an AssertionError, so a plain ``assert`` and this are judged alike)."""

    def __init__(self, text: str, raw: bytes = b"") -> None:
        super().__init__(f"{text} (received {raw[:200]!r})" if raw else text)
        self.text = text
        self.raw = raw


# Told about every new connection (the plugin collects the transcripts of a test's
# connections this way, those its fixtures open and those the test opens itself).
_observer: Callable[[Wire], None] | None = None


def set_observer(observer: Callable[[Wire], None] | None) -> None:
    global _observer
    _observer = observer


@contextlib.contextmanager
def observers_paused() -> Iterator[None]:
    global _observer
    saved, _observer = _observer, None
    try:
        yield
    finally:
        _observer = saved


def tls_context(verify: bool) -> ssl.SSLContext:
    """Test targets use self-signed certificates: no verification unless asked for."""
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class Wire:
    """One TCP connection with a receive buffer and a transcript."""

    def __init__(self, host: str, port: int, *, timeout: float, tls: bool = False,
                 verify_tls: bool = False) -> None:
        self.host = host
        self.timeout = timeout
        self.verify_tls = verify_tls
        self.transcript: Transcript = []
        self.buffer = bytearray()
        self.eof = False
        if _observer is not None:
            _observer(self)
        # Events between bytes (not bytes themselves): (position in transcript, text).
        self.notes: list[tuple[int, str]] = [(0, f"connect to {host}:{port}"
                                              + (" (implicit TLS)" if tls else ""))]
        try:
            self.sock: socket.socket = socket.create_connection((host, port), timeout=timeout)
        except TimeoutError as exc:
            self.notes.append((0, "no answer"))
            raise TargetTimeout(f"connect to {host}:{port}: no answer in {timeout:g} s") \
                from exc
        except OSError as exc:
            self.notes.append((0, f"failed: {exc}"))
            raise TargetClosed(f"connect to {host}:{port}: {exc}") from exc
        self.sock.settimeout(timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls:
            self.start_tls()

    def start_tls(self) -> None:
        """The TLS handshake on the open connection (implicit TLS, or after STARTTLS)."""
        try:
            self.sock = tls_context(self.verify_tls).wrap_socket(
                self.sock, server_hostname=self.host)
        except TimeoutError as exc:
            raise TargetTimeout(f"TLS handshake: no answer in {self.timeout:g} s") from exc
        except (OSError, ssl.SSLError) as exc:
            raise TargetClosed(f"TLS handshake failed: {exc}") from exc
        self.sock.settimeout(self.timeout)
        self.notes.append((len(self.transcript), f"TLS handshake done ({self.sock.version()})"))

    def send(self, data: bytes) -> None:
        """Exactly ``data``, recorded as sent."""
        self.transcript.append(("C", bytes(data)))
        try:
            self.sock.sendall(data)
        except TimeoutError as exc:
            raise TargetTimeout(f"send: not accepted in {self.timeout:g} s") from exc
        except OSError as exc:
            raise TargetClosed(f"send: {exc}") from exc

    def fill(self) -> bool:
        """Receive more bytes into ``buffer``; False at end of stream."""
        if self.eof:
            return False
        try:
            chunk = self.sock.recv(65536)
        except TimeoutError as exc:
            raise TargetTimeout(f"no answer in {self.timeout:g} s") from exc
        except OSError as exc:
            raise TargetClosed(f"receive: {exc}") from exc
        if not chunk:
            self.eof = True
            return False
        self.buffer += chunk
        return True

    def take_line(self) -> bytes | None:
        """The next line including its LF from ``buffer`` (None: no LF yet)."""
        lf = self.buffer.find(b"\n")
        if lf < 0:
            return None
        line = bytes(self.buffer[: lf + 1])
        del self.buffer[: lf + 1]
        return line

    def take(self, count: int) -> bytes | None:
        if len(self.buffer) < count:
            return None
        data = bytes(self.buffer[:count])
        del self.buffer[:count]
        return data

    def received(self, data: bytes) -> None:
        """Record bytes of the target's as read and judged."""
        if data:
            self.transcript.append(("S", bytes(data)))

    def flush_unread(self) -> None:
        """Record what was received and not consumed (before an error is raised)."""
        if self.buffer:
            self.received(bytes(self.buffer))
            self.buffer.clear()

    def wait_closed(self, timeout: float | None = None) -> bool:
        """Whether the target closes the connection within ``timeout`` (default: the
        driver's), reading and recording whatever it still sends."""
        self.sock.settimeout(self.timeout if timeout is None else timeout)
        try:
            while self.fill():
                pass
        except TargetTimeout:
            return False
        except TargetClosed:
            return True
        finally:
            self.flush_unread()
            self.sock.settimeout(self.timeout)
        return True

    def format(self) -> str:
        """The transcript as text, with the notes (connect, TLS) where they happened."""
        return format_transcript(self.transcript, self.notes)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


class WireDriver:
    """What both drivers do with their ``Wire``: send exact bytes, keep the transcript,
    close. Subclasses read and judge what comes back."""

    def __init__(self, wire: Wire) -> None:
        self.wire = wire

    @staticmethod
    def open_wire(spec: TargetSpec, timeout: float) -> Wire:
        return Wire(spec.host, spec.port, timeout=timeout, tls=spec.tls == "implicit",
                    verify_tls=spec.verify_tls)

    @property
    def transcript(self) -> Transcript:
        return self.wire.transcript

    def transcript_text(self) -> str:
        return self.wire.format()

    def send(self, data: bytes) -> None:
        """Exactly these bytes (no CRLF added)."""
        self.wire.send(data)

    def close(self) -> None:
        self.wire.close()

    def wait_closed(self, timeout: float | None = None) -> bool:
        """Whether the target closes the connection within ``timeout``."""
        return self.wire.wait_closed(timeout)


def format_transcript(transcript: Transcript,
                      notes: list[tuple[int, str]] | tuple[()] = ()) -> str:
    """The transcript as text: one ``C: `` or ``S: `` line per line of the wire, CRLF
    shown as the line end, any other control or non-ASCII byte as ``\\xNN``
    (a bare LF or CR is visible as ``\\n`` / ``\\r``); notes as ``-- note --``."""
    out: list[str] = []
    pending = sorted(notes)
    for index, (direction, data) in enumerate(transcript):
        while pending and pending[0][0] <= index:
            out.append(f"-- {pending.pop(0)[1]} --")
        for line in data.splitlines(keepends=True):
            body = line[:-2] if line.endswith(b"\r\n") else line
            out.append(f"{direction}: {escape_bytes(body)}")
    out.extend(f"-- {note} --" for _, note in pending)
    return "\n".join(out)


def escape_bytes(data: bytes) -> str:
    """Printable ASCII and well-formed UTF-8 as text; "\\" doubled; CR, LF, TAB as
    ``\\r \\n \\t``; any other byte (controls, invalid UTF-8) as ``\\xNN``."""
    text = data.decode("utf-8", "surrogateescape")
    parts = []
    for char in text:
        if char == "\\":
            parts.append("\\\\")
        elif char in _NAMED:
            parts.append(_NAMED[char])
        elif "\udc80" <= char <= "\udcff":          # an undecodable byte
            parts.append(f"\\x{ord(char) - 0xDC00:02x}")
        elif char.isprintable():
            parts.append(char)
        else:
            parts.append("".join(f"\\x{b:02x}" for b in char.encode("utf-8")))
    return "".join(parts)


_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
