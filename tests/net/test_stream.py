"""StreamProtocol, the asyncio side SMTP and IMAP share, under a toy line protocol: the
server answers each line in capitals, says "bye" at shutdown and "timeout" when the
client is silent too long. Real loopback sockets, no mocks."""

from __future__ import annotations

import asyncio
import io
import re

from reference.net.listeners import ListenerSettings, Peer, start_listener
from reference.net.stream import ConnectionRegistry, StreamProtocol
from reference.net.trace import TraceSink


class LineCore:
    """A sans-IO core just big enough for the base: CRLF lines in, b"" at EOF."""

    def __init__(self) -> None:
        self.discarded_plaintext = 0
        self.eof = False
        self._buffer = bytearray()

    def receive_data(self, data: bytes) -> None:
        if not data:
            self.eof = True
        self._buffer += data

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def tls_established(self) -> None:
        pass

    def next_line(self) -> bytes | None:
        end = self._buffer.find(b"\r\n")
        if end < 0:
            return None
        line = bytes(self._buffer[:end + 2])
        del self._buffer[:end + 2]
        return line


class Shout(StreamProtocol[LineCore], protocol="shout"):
    idle_timeout = 5.0

    def _open(self, peer: Peer) -> None:
        self.conn = LineCore()

    def _tls_established(self) -> None:
        pass

    async def _serve(self) -> None:
        conn = self.conn
        assert conn is not None
        loop = asyncio.get_running_loop()
        try:
            self._write(b"hello\r\n")
            while not self._lost:
                line = conn.next_line()
                if line is not None:
                    self._hold(line.upper())
                    continue
                self._flush()
                if not await self._wait_until_writable(self.idle_timeout) or conn.eof:
                    return
                if self._forced or self.registry.shutting_down:
                    self._write(b"bye\r\n")
                    return
                self._resume_reading()
                await self._sleep(loop.time() + self.idle_timeout)
                if self._timed_out:
                    self._write(b"timeout\r\n")
                    return
        finally:
            self._close()


class Whisper(Shout, protocol="whisper"):
    pass


def settings(trace: TraceSink | None = None, name: str = "shout") -> ListenerSettings:
    return ListenerSettings(name=name, starttls_context=None, implicit_tls=False,
                            trace=trace)


async def serve(registry: ConnectionRegistry, listener: ListenerSettings,
                idle_timeout: float = 5.0) -> tuple[asyncio.Server, int]:
    def make() -> Shout:
        protocol = Shout(listener, registry)
        protocol.idle_timeout = idle_timeout
        return protocol
    server = await start_listener("127.0.0.1", 0, listener, make)
    return server, server.sockets[0].getsockname()[1]


async def test_answers_are_written_together_and_traced_both_ways() -> None:
    stream = io.StringIO()
    registry = ConnectionRegistry()
    server, port = await serve(registry, settings(TraceSink(stream)))
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        assert await reader.readline() == b"hello\r\n"
        writer.write(b"abc\r\ndef\r\n")
        assert await reader.readexactly(10) == b"ABC\r\nDEF\r\n"
    finally:
        writer.close()
        server.close()
    trace = stream.getvalue()
    assert re.search(r" shout-\d+ C: abc\\r\\n\n", trace)
    assert re.search(r" shout-\d+ S: DEF\\r\\n\n", trace)


async def test_shutdown_tells_an_idle_connection_to_go_and_forgets_it() -> None:
    registry = ConnectionRegistry()
    server, port = await serve(registry, settings())
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        assert await reader.readline() == b"hello\r\n"
        assert len(registry.connections) == 1
        registry.begin_shutdown()
        assert await reader.readline() == b"bye\r\n"
        assert await reader.read() == b""
        assert not registry.connections
    finally:
        writer.close()
        server.close()


async def test_a_silent_client_is_timed_out() -> None:
    registry = ConnectionRegistry()
    server, port = await serve(registry, settings(), idle_timeout=0.05)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        assert await reader.readline() == b"hello\r\n"
        assert await reader.readline() == b"timeout\r\n"
    finally:
        writer.close()
        server.close()


def test_each_protocol_numbers_its_connections_from_one() -> None:
    registry = ConnectionRegistry()
    Shout(settings(), registry)
    Shout(settings(), registry)
    assert Whisper(settings(name="whisper"), registry).connection_id == "whisper-1"
