"""Tiny asyncio servers on loopback, each in a thread of its own, for the framework tests:
they say exactly the bytes a test wants (well-formed or not) and record what they got."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Sequence
from types import TracebackType

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, "FakeServer"], Awaitable[None]]


class FakeServer:
    """``with FakeServer(handler) as server:`` listens on 127.0.0.1:``server.port``."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.port = 0
        self.received = bytearray()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def url_host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _run(self) -> None:
        self._loop.run_until_complete(self._main())

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        handlers: set[asyncio.Task[None]] = set()

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            handlers.add(task)
            try:
                await asyncio.wait_for(self.handler(reader, writer, self), 30)
            except (ConnectionError, TimeoutError, asyncio.IncompleteReadError):
                pass
            finally:
                writer.close()
                handlers.discard(task)

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        async with server:
            await self._stop.wait()
            for task in list(handlers):
                task.cancel()
            await asyncio.gather(*handlers, return_exceptions=True)

    def __enter__(self) -> FakeServer:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("fake server did not start")
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        stop = self._stop
        if stop is not None:
            self._loop.call_soon_threadsafe(stop.set)
        self._thread.join(10)
        self._loop.close()


def smtp_handler(*, greeting: bytes = b"220 fake.test ESMTP\r\n",
                 extensions: Sequence[str] = ("PIPELINING", "SIZE 1000", "8BITMIME"),
                 noop: bytes = b"250 2.0.0 <b>ok</b>\r\n",
                 special: dict[bytes, bytes] | None = None) -> Handler:
    """A little SMTP server: EHLO with ``extensions``, NOOP, DATA (recorded), QUIT; a
    command line found in ``special`` (without CRLF) gets those bytes; others 500."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     server: FakeServer) -> None:
        writer.write(greeting)
        while line := await reader.readline():
            server.received += line
            command = line.rstrip(b"\r\n")
            verb = command.split(b" ")[0].upper()
            if special and command in special:
                writer.write(special[command])
            elif verb in (b"EHLO", b"HELO"):
                lines = ["fake.test", *extensions] if verb == b"EHLO" else ["fake.test"]
                writer.write(b"".join(
                    f"250{'-' if n < len(lines) - 1 else ' '}{text}\r\n".encode()
                    for n, text in enumerate(lines)))
            elif verb == b"NOOP":
                writer.write(noop)
            elif verb == b"DATA":
                writer.write(b"354 go ahead\r\n")
                await writer.drain()
                while (data := await reader.readline()) != b".\r\n":
                    if not data:
                        return
                    server.received += data
                server.received += b".\r\n"
                writer.write(b"250 2.0.0 queued\r\n")
            elif verb == b"QUIT":
                writer.write(b"221 2.0.0 bye\r\n")
                await writer.drain()
                return
            else:
                writer.write(b"500 5.5.1 unknown\r\n")
            await writer.drain()

    return handle


def imap_handler(*, greeting: bytes = b"* OK [CAPABILITY IMAP4rev2] fake ready\r\n",
                 capabilities: str = "IMAP4rev2",
                 special: dict[bytes, bytes] | None = None) -> Handler:
    """A little IMAP server: CAPABILITY, LOGIN (any), NOOP, APPEND, LOGOUT; a literal
    ``{n}`` gets "+ go" (``{n+}`` none) and is read; a command whose text (after the tag,
    without CRLF) is in ``special`` gets those bytes with ``TAG`` replaced by its tag."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     server: FakeServer) -> None:
        writer.write(greeting)
        while line := await reader.readline():
            server.received += line
            tag, _, text = line.rstrip(b"\r\n").partition(b" ")
            while line.rstrip(b"\r\n").endswith(b"}"):      # RFC 9051 §4.3 literals
                size = line.rstrip(b"\r\n").rsplit(b"{", 1)[1][:-1]
                if not size.endswith(b"+"):
                    writer.write(b"+ go\r\n")
                    await writer.drain()
                server.received += await reader.readexactly(int(size.rstrip(b"+")))
                line = await reader.readline()
                server.received += line
            verb = text.split(b" ")[0].upper()
            if special and text in special:
                writer.write(special[text].replace(b"TAG", tag))
            elif verb == b"CAPABILITY":
                writer.write(f"* CAPABILITY {capabilities}\r\n".encode() + tag + b" OK done\r\n")
            elif verb in (b"LOGIN", b"NOOP", b"APPEND"):
                writer.write(tag + b" OK done\r\n")
            elif verb == b"LOGOUT":
                writer.write(b"* BYE bye\r\n" + tag + b" OK done\r\n")
                await writer.drain()
                return
            else:
                writer.write(tag + b" BAD unknown\r\n")
            await writer.drain()

    return handle
