"""asyncio adapter for IMAP: the only IMAP code that touches sockets.

It feeds received bytes to the sans-IO ``ServerConnection``, hands each event to the
``ImapSession`` and writes what the session sends, serialized by the core. Responses are
gathered and written together at the end of each command, or every ``WRITE_BATCH``
octets; while the client does not read them (the transport's buffer is full) the session
waits in ``Output.drain``, so a FETCH of a whole mailbox never sits in memory at once.

Reading pauses while the core holds more unconsumed octets than one largest command can
take (``READ_HIGH_WATER`` beyond the APPEND limit: the core must see a literal whole),
so pipelining cannot make us buffer without bound.

Timeouts: RFC 9051 §5.4 autologout, at least 30 minutes once authenticated
(``ImapPolicy.autologout``); a shorter one before. IDLE waits for the client's DONE and
for the store's change watcher at once (RFC 2177). STARTTLS upgrades the same protocol
object in place (``loop.start_tls``); the core has already dropped any plaintext
pipelined behind the command (RFC 9051 §6.2.1).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from reference.errors import ProtocolError
from reference.imap.capabilities import Modes
from reference.imap.commands import ConnectionClosed
from reference.imap.connection import NEED_DATA, ServerConnection
from reference.imap.responses import ImapRemoteProtocolError, Response, ResponseCode, bye
from reference.imap.session import ImapSession
from reference.imap.session_core import ImapPolicy
from reference.imap.states import State
from reference.logs import fields
from reference.net.listeners import Peer, is_loopback, peername
from reference.net.trace import TraceSink, Transcript
from reference.store.interface import ModSeq

log = logging.getLogger("rfcmail.imap")

READ_HIGH_WATER = 256 * 1024
WRITE_BATCH = 64 * 1024
_connection_ids = itertools.count(1)


@dataclass(frozen=True, slots=True)
class ImapListenerSettings:
    name: str                              # "imap", "imaps"
    starttls_context: ssl.SSLContext | None
    implicit_tls: bool
    tls_handshake_timeout: float = 30.0
    trace: TraceSink | None = None


SessionFactory = Callable[[Peer, "ImapProtocol", bool], ImapSession]


class ImapRegistry:
    """The live connections of a server, for graceful shutdown."""

    def __init__(self) -> None:
        self.connections: set[ImapProtocol] = set()
        self.shutting_down = False

    def begin_shutdown(self) -> None:
        self.shutting_down = True
        for connection in list(self.connections):
            connection.wake()

    def abort_all(self) -> None:
        for connection in list(self.connections):
            connection.force_close()


class ImapProtocol(asyncio.Protocol):
    """One connection; also the session's ``Output``."""

    def __init__(self, settings: ImapListenerSettings, policy: ImapPolicy,
                 make_session: SessionFactory, registry: ImapRegistry) -> None:
        self.settings = settings
        self.policy = policy
        self.make_session = make_session
        self.registry = registry
        self.connection_id = f"{settings.name}-{next(_connection_ids)}"
        self.transport: asyncio.Transport | None = None
        self.transcript: Transcript | None = None
        self.conn: ServerConnection | None = None
        self.session: ImapSession | None = None
        self.task: asyncio.Task[None] | None = None
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._waiter: asyncio.Future[None] | None = None
        self._writable: asyncio.Future[None] | None = None
        self._watch: asyncio.Future[ModSeq] | None = None
        self._lost = False
        self._forced = False
        self._timed_out = False
        self._reading_paused = False
        self._tls_held: list[bytes] | None = None

    # --- Output ----------------------------------------------------------------------

    @property
    def modes(self) -> Modes:
        assert self.conn is not None
        return self.conn.modes

    def send(self, response: Response) -> None:
        assert self.conn is not None
        wire = self.conn.send(response)
        self._pending.append(wire)
        self._pending_size += len(wire)
        if self._pending_size >= WRITE_BATCH:
            self._flush()

    async def drain(self) -> None:
        self._flush()
        if self._writable is not None:
            await self._wait_until_writable()

    # --- asyncio.Protocol callbacks ---------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        if self.conn is not None:
            return   # start_tls hands the same protocol a new transport
        host, port = peername(transport)
        peer = Peer(host, port, is_loopback(host), self.connection_id)
        tls = self.settings.implicit_tls
        self.conn = ServerConnection(self.policy.limits, tls_active=tls)
        self.session = self.make_session(peer, self, tls)
        if self.settings.trace is not None:
            self.transcript = Transcript(self.settings.trace, self.connection_id)
        self.registry.connections.add(self)
        log.debug("imap.connect", extra=fields(conn=self.connection_id, peer=f"{host}:{port}",
                                              listener=self.settings.name))
        self.task = asyncio.get_running_loop().create_task(self._serve())

    def data_received(self, data: bytes) -> None:
        if self.transcript is not None:
            self.transcript.received(data)
        if self._tls_held is not None:
            self._tls_held.append(data)      # sent under TLS before start_tls returned
            return
        assert self.conn is not None and self.transport is not None
        self.conn.receive_data(data)
        if self.conn.buffered > READ_HIGH_WATER + self.policy.limits.append_command_size \
                and not self._reading_paused:
            self._reading_paused = True
            self.transport.pause_reading()
        self.wake()

    def eof_received(self) -> bool:
        if self.conn is not None:
            self.conn.receive_data(b"")
        self.wake()
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True
        if self.conn is not None:
            self.conn.receive_data(b"")
        self.wake()
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)

    def pause_writing(self) -> None:
        self._writable = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)
        self._writable = None

    # --- the connection loop ----------------------------------------------------------

    def wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def force_close(self) -> None:
        self._forced = True
        self.wake()
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)

    async def _serve(self) -> None:
        conn, session = self.conn, self.session
        assert conn is not None and session is not None
        try:
            self.send(session.greeting())
            self._flush()
            await self._loop(conn, session)
        except Exception:
            log.exception("imap.internal-error", extra=fields(conn=self.connection_id))
            if not self._lost and conn.state is not State.LOGOUT:
                # RFC 9051 §7.1.5: BYE "as a panic shutdown announcement".
                with contextlib.suppress(ProtocolError, AssertionError):
                    self._pending.clear()
                    self.send(bye("Internal error, closing the connection",
                                  ResponseCode.SERVERBUG))
        finally:
            self._flush()
            if self._watch is not None:
                self._watch.cancel()
            await session.close()
            self._close()

    async def _loop(self, conn: ServerConnection, session: ImapSession) -> None:
        while conn.state is not State.LOGOUT and not self._lost:
            try:
                event = conn.next_event()
            except ImapRemoteProtocolError as error:
                assert error.response is not None
                self.send(error.response)
                continue
            finally:
                # The "+" the core sends by itself for a literal it will read (§7.6).
                continuation = conn.data_to_send()
                if continuation:
                    self._pending.append(continuation)
                    self._flush()
            if event is NEED_DATA:
                self._flush()
                if not await self._wait_for_data(conn, session):
                    return
                continue
            if isinstance(event, ConnectionClosed):
                return
            await session.handle(event)
            if conn.tls_pending:
                self._flush()
                if not await self._start_tls(conn, session):
                    return
        self._flush()

    async def _wait_until_writable(self) -> None:
        if self._writable is None:
            return
        loop = asyncio.get_running_loop()
        timer = loop.call_later(self.policy.autologout, self._time_out)
        try:
            await self._writable
        finally:
            timer.cancel()
        if not self._lost and (self._timed_out or self._forced):
            log.info("imap.not-reading", extra=fields(conn=self.connection_id))
            self._abort()
            raise ConnectionAbortedError("the client does not read")

    def _time_out(self) -> None:
        self._timed_out = True
        self.wake()
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)

    async def _wait_for_data(self, conn: ServerConnection, session: ImapSession) -> bool:
        """Wait for bytes (or, while IDLE, for the store); False when the connection
        must end (the client has then been told)."""
        try:
            await self._wait_until_writable()
        except ConnectionAbortedError:
            return False
        if self._lost:
            return False
        if self._forced or self.registry.shutting_down:
            self.send(session.shutting_down())
            self._flush()
            return False
        if self._reading_paused and self.transport is not None:
            self._reading_paused = False
            self.transport.resume_reading()
        loop = asyncio.get_running_loop()
        if self._watch is not None and not session.idling:
            self._watch.cancel()              # IDLE ended: its watch is stale
            self._watch = None
        watcher = session.watcher if session.idling else None
        if watcher is not None and self._watch is None:
            task = asyncio.ensure_future(watcher.wait())
            task.add_done_callback(lambda _: self.wake())
            self._watch = task
        self._waiter = loop.create_future()
        timer = loop.call_later(session.autologout, self._time_out)
        try:
            await self._waiter
        finally:
            timer.cancel()
            self._waiter = None
        watch = self._watch
        if watch is not None and watch.done():
            self._watch = None
            if not watch.cancelled() and watch.exception() is None and session.idling:
                await session.idle_wake()
                self._flush()
        if self._timed_out and not self._lost:
            log.info("imap.timeout", extra=fields(conn=self.connection_id))
            self.send(session.timed_out())
            self._flush()
            return False
        return True

    async def _start_tls(self, conn: ServerConnection, session: ImapSession) -> bool:
        context = self.settings.starttls_context
        assert context is not None and self.transport is not None
        loop = asyncio.get_running_loop()
        self._tls_held = []
        try:
            transport = await loop.start_tls(
                self.transport, self, context, server_side=True,
                ssl_handshake_timeout=self.settings.tls_handshake_timeout)
        except (TimeoutError, OSError, ssl.SSLError, ConnectionError) as exc:
            log.info("imap.tls-failed", extra=fields(conn=self.connection_id, error=str(exc)))
            self._tls_held = None
            self._lost = True
            return False
        held, self._tls_held = self._tls_held, None
        if transport is None:
            self._lost = True
            return False
        self.transport = transport
        conn.tls_established()
        session.tls_established()
        for data in held:
            conn.receive_data(data)
        if conn.discarded_plaintext:
            log.info("imap.starttls-discarded", extra=fields(
                conn=self.connection_id, octets=conn.discarded_plaintext))
        return True

    def _flush(self) -> None:
        if not self._pending:
            return
        data = b"".join(self._pending)
        self._pending.clear()
        self._pending_size = 0
        if self.transport is None or self._lost or self.transport.is_closing():
            return
        if self.transcript is not None:
            self.transcript.sent(data)
        self.transport.write(data)

    def _abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    def _close(self) -> None:
        self.registry.connections.discard(self)
        if self.transport is not None and not self.transport.is_closing():
            if self._writable is not None and (self._timed_out or self._forced):
                self._abort()
            else:
                self.transport.close()
        log.debug("imap.disconnect", extra=fields(conn=self.connection_id))


async def start_imap_listener(host: str, port: int, settings: ImapListenerSettings,
                              policy: ImapPolicy, make_session: SessionFactory,
                              registry: ImapRegistry, *, reuse_port: bool = False
                              ) -> asyncio.Server:
    loop = asyncio.get_running_loop()
    ssl_context = settings.starttls_context if settings.implicit_tls else None
    return await loop.create_server(
        lambda: ImapProtocol(settings, policy, make_session, registry), host, port,
        ssl=ssl_context, reuse_address=True, reuse_port=reuse_port,
        ssl_handshake_timeout=settings.tls_handshake_timeout if ssl_context else None)
