"""Tiny deliberately broken servers (asyncio, in a thread of the test process) for the
wire fuzzer's tests: each is correct except for one fault."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextmanager
def serve(handler: Handler) -> Iterator[int]:
    """Run ``handler`` for each connection on a loopback port; yields the port."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder: dict[str, object] = {}

    async def start() -> None:
        # Lines up to 1 MiB: the overlong steps must reach the fault, not the reader limit.
        server = await asyncio.start_server(handler, "127.0.0.1", 0, limit=1 << 20)
        holder["server"] = server
        holder["port"] = server.sockets[0].getsockname()[1]
        ready.set()

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(start(), loop)
    assert ready.wait(5)
    try:
        yield int(holder["port"])  # type: ignore[call-overload]
    finally:
        async def stop() -> None:
            server = holder["server"]
            server.close()  # type: ignore[attr-defined]
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(stop(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


async def _quit_or_ok(line: bytes, writer: asyncio.StreamWriter) -> bool:
    """221 to QUIT (False: the session ends), 250 to anything else."""
    if line.upper().startswith(b"QUIT"):
        writer.write(b"221 bye\r\n")
        await writer.drain()
        return False
    writer.write(b"250 ok\r\n")
    return True


_PATH_ONLY = re.compile(rb"(?i)(MAIL FROM|RCPT TO):<[^>\x00]*>\r\n")


async def smtp_hangs_on_nul(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A plain SMTP server that answers every line, and goes silent at a line with NUL."""
    writer.write(b"220 fake ready\r\n")
    in_data = mail = rcpt = False
    try:
        while line := await reader.readline():
            if in_data:
                if line == b".\r\n":
                    in_data = False
                    writer.write(b"250 accepted\r\n")
            elif b"\x00" in line:
                continue                                  # the fault: no reply at all
            elif line.upper().startswith((b"EHLO", b"HELO", b"RSET")):
                mail = rcpt = False
                writer.write(b"250 ok\r\n")
            elif line.upper().startswith((b"MAIL", b"RCPT")) and not _PATH_ONLY.fullmatch(line):
                writer.write(b"501 no parameters here\r\n")
            elif line.upper().startswith(b"MAIL"):
                mail = True
                writer.write(b"250 ok\r\n")
            elif line.upper().startswith(b"RCPT"):
                rcpt = mail
                writer.write(b"250 ok\r\n" if mail else b"503 no MAIL\r\n")
            elif line.upper().startswith(b"DATA"):
                in_data = rcpt
                writer.write(b"354 go on\r\n" if rcpt else b"503 no RCPT\r\n")
                mail = rcpt = False
            elif not await _quit_or_ok(line, writer):
                break
            await writer.drain()
    finally:
        writer.close()


def smtp_storing_into(maildir: Path) -> Handler:
    """A plain SMTP server that stores every message in ``maildir``/new and, like
    Postfix before 3.9 by default, also takes "." LF (after any LF) as the end of data:
    the SMTP smuggling fault (CVE-2023-51764)."""
    count = [0]

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 fake ready\r\n")
        message: list[bytes] | None = None
        try:
            while line := await reader.readline():
                if message is not None:
                    if line in (b".\r\n", b".\n"):              # the fault: ".\n" too
                        count[0] += 1
                        (maildir / "new" / f"{count[0]}.fake").write_bytes(b"".join(message))
                        message = None
                        writer.write(b"250 accepted\r\n")
                    else:
                        message.append(line)
                elif line.upper().startswith(b"DATA"):
                    message = []
                    writer.write(b"354 go on\r\n")
                elif not await _quit_or_ok(line, writer):
                    break
                await writer.drain()
        finally:
            writer.close()

    return handler


_LITERAL = re.compile(rb"\{([0-9]+)(\+?)\}\r\n$")


async def imap_bad_fetch(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """An IMAP server that completes every command with OK (reading literals properly),
    and answers FETCH with a FETCH response missing its closing parenthesis."""
    writer.write(b"* OK fake IMAP4rev2 ready\r\n")
    try:
        while True:
            command = b""
            while True:
                line = await reader.readline()
                if not line:
                    return
                command += line
                literal = _LITERAL.search(line)
                if literal is None:
                    break
                size = int(literal.group(1))
                if size > 100_000:
                    command = b""
                    break
                if not literal.group(2):
                    writer.write(b"+ go on\r\n")
                    await writer.drain()
                command += await reader.readexactly(size)
            tag = command.split(b" ", 1)[0].strip()
            if not tag or not re.fullmatch(rb"[A-Za-z0-9.@_=-]+", tag):
                writer.write(b"* BAD what\r\n")
            elif b" LOGOUT" in command.upper()[:40]:
                writer.write(b"* BYE bye\r\n" + tag + b" OK done\r\n")
                await writer.drain()
                return
            elif b" AUTHENTICATE " in command.upper()[:40]:
                writer.write(tag + b" NO no mechanisms\r\n")
            else:
                if b" FETCH " in command.upper()[:60]:
                    writer.write(b"* 1 FETCH (FLAGS (\\Seen)\r\n")      # the fault
                writer.write(tag + b" OK done\r\n")
            await writer.drain()
    finally:
        writer.close()
