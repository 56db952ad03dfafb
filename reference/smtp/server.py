"""asyncio adapter for SMTP: the only SMTP code that touches sockets.

It feeds received bytes to the sans-IO ``ServerConnection``, hands each event to the
``SmtpSession`` and writes the serialized reply. Replies to pipelined commands are
written together when the core needs more data (RFC 2920 §3.1: the server "SHOULD elect
to store responses to grouped ... commands in an internal buffer"). Reading pauses while
the core holds more than ``READ_HIGH_WATER`` unconsumed octets or while the client does
not read our replies, so neither side can make us buffer without bound.

Timeouts (RFC 5321 §4.5.3.2): ``command_timeout`` for a complete command line (a line
trickled in byte by byte does not reset it), ``data_timeout`` between buffers of mail
data; either ends with 421 4.4.0. STARTTLS upgrades the same protocol object in place
(``loop.start_tls``); the core has already dropped any plaintext pipelined behind it.
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

from reference.errors import ProtocolError, RemoteProtocolError
from reference.logs import fields
from reference.net.listeners import is_loopback, set_nodelay
from reference.net.tls import describe
from reference.net.trace import TraceSink, Transcript
from reference.smtp.commands import ConnectionClosed
from reference.smtp.connection import NEED_DATA, ServerConnection
from reference.smtp.parser import Tolerances
from reference.smtp.replies import Status, reply
from reference.smtp.session import Peer, SmtpSession
from reference.smtp.states import TRANSACTION_STATES, State

log = logging.getLogger("rfcmail.smtp")

READ_HIGH_WATER = 256 * 1024
_connection_ids = itertools.count(1)


@dataclass(frozen=True, slots=True)
class ListenerSettings:
    name: str                              # "smtp", "submission", "submissions"
    tolerances: Tolerances
    starttls_context: ssl.SSLContext | None
    implicit_tls: bool
    tls_handshake_timeout: float = 30.0
    trace: TraceSink | None = None


SessionFactory = Callable[[Peer], SmtpSession]


class ConnectionRegistry:
    """The live connections of a server, for graceful shutdown."""

    def __init__(self) -> None:
        self.connections: set[SmtpProtocol] = set()
        self.shutting_down = False

    def begin_shutdown(self) -> None:
        self.shutting_down = True
        for connection in list(self.connections):
            connection.wake()

    def abort_all(self) -> None:
        for connection in list(self.connections):
            connection.force_close()


class SmtpProtocol(asyncio.Protocol):
    def __init__(self, settings: ListenerSettings, make_session: SessionFactory,
                 registry: ConnectionRegistry) -> None:
        self.settings = settings
        self.make_session = make_session
        self.registry = registry
        self.connection_id = f"{settings.name}-{next(_connection_ids)}"
        self.transport: asyncio.Transport | None = None
        self.transcript: Transcript | None = None
        self.conn: ServerConnection | None = None
        self.session: SmtpSession | None = None
        self.task: asyncio.Task[None] | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._writable: asyncio.Future[None] | None = None
        self._lost = False
        self._reading_paused = False
        self._forced = False
        self._timed_out = False
        # RFC 5321 §4.5.3.2.7: the time a command line may take to arrive completely;
        # set when we start waiting for a command, cleared when one is complete.
        self._command_deadline: float | None = None

    # --- asyncio.Protocol callbacks ---------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)
        if self.conn is not None:
            return   # start_tls hands the same protocol a new transport
        set_nodelay(transport)
        host, port = _peername(transport)
        peer = Peer(host, port, is_loopback(host), self.connection_id)
        session = self.make_session(peer)
        self.session = session
        limits = session.policy.limits
        self.conn = ServerConnection(limits, self.settings.tolerances)
        if self.settings.trace is not None:
            self.transcript = Transcript(self.settings.trace, self.connection_id)
        self.registry.connections.add(self)
        log.info("smtp.connect", extra=fields(conn=self.connection_id, peer=f"{host}:{port}",
                                              listener=self.settings.name))
        self.task = asyncio.get_running_loop().create_task(self._serve())

    def data_received(self, data: bytes) -> None:
        if self.transcript is not None:
            self.transcript.received(data)
        assert self.conn is not None and self.transport is not None
        self.conn.receive_data(data)
        if self.conn.buffered > READ_HIGH_WATER and not self._reading_paused:
            self._reading_paused = True
            self.transport.pause_reading()
        self.wake()

    def eof_received(self) -> bool:
        if self.conn is not None:
            self.conn.receive_data(b"")
        self.wake()
        return True     # keep the transport open: replies may still be written

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

    def _time_out(self) -> None:
        self._timed_out = True
        self.wake()

    def force_close(self) -> None:
        self._forced = True
        self.wake()

    async def _serve(self) -> None:
        conn, session = self.conn, self.session
        assert conn is not None and session is not None
        try:
            if self.settings.implicit_tls:
                conn.start_implicit_tls()
                session.tls_established(describe(self._ssl_object()))
            self._write(conn.send(session.greeting()))
            await self._loop(conn, session)
        except Exception:
            log.exception("smtp.internal-error", extra=fields(conn=self.connection_id))
            if not self._lost and conn.state is not State.CLOSED:
                # RFC 5321 §3.8: whatever went wrong, the client hears 421, not silence.
                with contextlib.suppress(ProtocolError):
                    self._write(conn.send(reply(421, Status.SYSTEM_OTHER,
                                                "Internal error, closing connection")))
        finally:
            self._close()

    async def _loop(self, conn: ServerConnection, session: SmtpSession) -> None:
        pending: list[bytes] = []
        while conn.state is not State.CLOSED and not self._lost:
            try:
                event = conn.next_event()
            except RemoteProtocolError as error:
                pending.append(conn.send(error.reply))
                continue
            if event is NEED_DATA:
                if pending:
                    self._write(b"".join(pending))
                    pending.clear()
                if not await self._wait_for_data(conn, session):
                    return
                continue
            if isinstance(event, ConnectionClosed):
                return
            self._command_deadline = None
            pending.append(conn.send(await session.handle(event)))
            if conn.state is State.TLS_PENDING:
                self._write(b"".join(pending))
                pending.clear()
                if not await self._start_tls(conn, session):
                    return
        if pending:
            self._write(b"".join(pending))

    async def _wait_for_data(self, conn: ServerConnection, session: SmtpSession) -> bool:
        """Wait for bytes; False when the connection must end (it then has been told)."""
        if self._writable is not None:
            await self._writable            # the client is not reading our replies
        if self._lost:
            return False
        if self._forced:
            self._write(conn.send(session.shutting_down()))
            return False
        if self.registry.shutting_down and conn.state not in TRANSACTION_STATES \
                and conn.state is not State.DATA:
            # In-flight transactions finish; idle connections are told to go.
            self._write(conn.send(session.shutting_down()))
            return False
        if self._reading_paused and self.transport is not None:
            self._reading_paused = False
            self.transport.resume_reading()
        limits = session.policy.limits
        loop = asyncio.get_running_loop()
        if conn.state in (State.DATA, State.CHUNKING):
            # RFC 5321 §4.5.3.2: a timer "for each buffer of the data transfer"
            deadline = loop.time() + limits.data_timeout
        else:
            if self._command_deadline is None:
                self._command_deadline = loop.time() + limits.command_timeout
            deadline = self._command_deadline
        self._waiter = loop.create_future()
        timer = loop.call_at(deadline, self._time_out)
        try:
            await self._waiter
        finally:
            timer.cancel()
            self._waiter = None
        if self._timed_out and not self._lost:
            log.info("smtp.timeout", extra=fields(conn=self.connection_id,
                                                  state=conn.state.value))
            self._write(conn.send(session.timed_out()))
            return False
        return True

    async def _start_tls(self, conn: ServerConnection, session: SmtpSession) -> bool:
        context = self.settings.starttls_context
        assert context is not None and self.transport is not None
        loop = asyncio.get_running_loop()
        try:
            transport = await loop.start_tls(
                self.transport, self, context, server_side=True,
                ssl_handshake_timeout=self.settings.tls_handshake_timeout)
        except (TimeoutError, OSError, ssl.SSLError, ConnectionError) as exc:
            log.info("smtp.tls-failed", extra=fields(conn=self.connection_id, error=str(exc)))
            self._lost = True
            return False
        if transport is None:
            self._lost = True
            return False
        self.transport = transport
        conn.tls_established()
        session.tls_established(describe(self._ssl_object()))
        if conn.discarded_plaintext:
            log.info("smtp.starttls-discarded", extra=fields(
                conn=self.connection_id, octets=conn.discarded_plaintext))
        log.info("smtp.tls", extra=fields(conn=self.connection_id, tls=session.tls))
        return True

    def _ssl_object(self) -> ssl.SSLObject | None:
        if self.transport is None:
            return None
        ssl_object = self.transport.get_extra_info("ssl_object")
        return ssl_object if isinstance(ssl_object, ssl.SSLObject) else None

    def _write(self, data: bytes) -> None:
        if self.transport is None or self._lost or self.transport.is_closing():
            return
        if self.transcript is not None:
            self.transcript.sent(data)
        self.transport.write(data)

    def _close(self) -> None:
        self.registry.connections.discard(self)
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()
        log.info("smtp.disconnect", extra=fields(conn=self.connection_id))


def _peername(transport: asyncio.BaseTransport) -> tuple[str, int]:
    peer = transport.get_extra_info("peername")
    if isinstance(peer, tuple) and len(peer) >= 2:
        return str(peer[0]), int(peer[1])
    return "unknown", 0


async def start_smtp_listener(host: str, port: int, settings: ListenerSettings,
                              make_session: SessionFactory, registry: ConnectionRegistry,
                              *, reuse_port: bool = False) -> asyncio.Server:
    loop = asyncio.get_running_loop()
    ssl_context = settings.starttls_context if settings.implicit_tls else None
    return await loop.create_server(
        lambda: SmtpProtocol(settings, make_session, registry), host, port,
        ssl=ssl_context, reuse_address=True, reuse_port=reuse_port,
        ssl_handshake_timeout=settings.tls_handshake_timeout if ssl_context else None)
