"""asyncio adapter for SMTP: the only SMTP code that touches sockets.

It feeds received bytes to the sans-IO ``ServerConnection``, hands each event to the
``SmtpSession`` and writes the serialized reply. Replies to pipelined RSET, MAIL and RCPT
are written together when the core needs more data (RFC 2920 §3.2: the server "SHOULD
elect to store responses to grouped ... commands in an internal buffer"), or every
``WRITE_BATCH`` octets; the replies RFC 2920 §3.2 says not to buffer go out at once.
Reading pauses while the core holds more than ``READ_HIGH_WATER`` unconsumed octets or
while the client does not read our replies, so neither side can make us buffer without
bound; a client that stops reading for longer than the command timeout is cut off.

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
from reference.net.listeners import Peer, is_loopback, peername
from reference.net.tls import describe
from reference.net.trace import TraceSink, Transcript
from reference.smtp.commands import (
    ConnectionClosed,
    Data,
    Ehlo,
    Expn,
    Helo,
    MessageReceived,
    MessageRejected,
    Noop,
    Quit,
    Vrfy,
)
from reference.smtp.connection import NEED_DATA, ServerConnection
from reference.smtp.parser import Tolerances
from reference.smtp.replies import Status, reply
from reference.smtp.session import SmtpSession
from reference.smtp.states import TRANSACTION_STATES, State

log = logging.getLogger("rfcmail.smtp")

READ_HIGH_WATER = 256 * 1024
# Replies to pipelined commands held before they are written (see _loop).
WRITE_BATCH = 64 * 1024
# RFC 2920 §3.2 (5): "MUST NOT buffer responses to EHLO, DATA, VRFY, EXPN, TURN, QUIT, and
# NOOP" (HELO is EHLO's older form; the reply after the mail data answers DATA too).
UNBUFFERED = (Ehlo, Helo, Data, MessageReceived, MessageRejected, Vrfy, Expn, Quit, Noop)
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
        # Bytes that came through the new TLS layer while loop.start_tls() had not yet
        # returned (see data_received); None when no upgrade is under way.
        self._tls_held: list[bytes] | None = None

    # --- asyncio.Protocol callbacks ---------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)
        if self.conn is not None:
            return   # start_tls hands the same protocol a new transport
        host, port = peername(transport)
        peer = Peer(host, port, is_loopback(host), self.connection_id)
        session = self.make_session(peer)
        self.session = session
        limits = session.policy.limits
        self.conn = ServerConnection(limits, self.settings.tolerances)
        if self.settings.trace is not None:
            self.transcript = Transcript(self.settings.trace, self.connection_id)
        self.registry.connections.add(self)
        log.debug("smtp.connect", extra=fields(conn=self.connection_id, peer=f"{host}:{port}",
                                              listener=self.settings.name))
        self.task = asyncio.get_running_loop().create_task(self._serve())

    def data_received(self, data: bytes) -> None:
        if self.transcript is not None:
            self.transcript.received(data)
        if self._tls_held is not None:
            # Once start_tls has begun, only the TLS layer calls us, with decrypted bytes:
            # a fast client's first command can come in the same read as the end of the
            # handshake, before start_tls returns. It was sent under TLS (RFC 3207 §4.2),
            # so it is kept for the session after tls_established(), not dropped as the
            # plaintext that the core discards while the state is TLS_PENDING.
            self._tls_held.append(data)
            return
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
        self._unblock()

    def force_close(self) -> None:
        self._forced = True
        self._unblock()

    def _unblock(self) -> None:
        """Wake the loop whether it waits for the client's bytes or for it to read."""
        self.wake()
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)

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
        pending_size = 0
        while conn.state is not State.CLOSED and not self._lost:
            try:
                event = conn.next_event()
            except RemoteProtocolError as error:
                wire = conn.send(error.reply)
                # RFC 2920 §3.2 (6): "MUST NOT buffer responses to unrecognized commands"
                at_once = True
            else:
                if event is NEED_DATA:
                    # RFC 2920 §3.2 (7): "MUST send all pending responses immediately
                    # whenever the local TCP input buffer is emptied"
                    if pending:
                        self._write(b"".join(pending))
                        pending.clear()
                        pending_size = 0
                    if not await self._wait_for_data(conn, session):
                        return
                    continue
                if isinstance(event, ConnectionClosed):
                    return
                self._command_deadline = None
                wire = conn.send(await session.handle(event))
                if conn.state is State.TLS_PENDING:
                    self._write(b"".join(pending) + wire)
                    pending.clear()
                    pending_size = 0
                    if not await self._start_tls(conn, session):
                        return
                    continue
                at_once = isinstance(event, UNBUFFERED)
            pending.append(wire)
            pending_size += len(wire)
            # RFC 2920 §3.2 (2): replies to grouped RSET, MAIL and RCPT may wait to go out
            # together; within bounds (WRITE_BATCH), so that a few bytes of pipelined
            # commands cannot become megabytes of replies held here.
            if at_once or pending_size >= WRITE_BATCH:
                self._write(b"".join(pending))
                pending.clear()
                pending_size = 0
                # No further command is read while the client is not reading replies.
                if not await self._wait_until_writable(conn, session):
                    return
        if pending:
            self._write(b"".join(pending))

    async def _wait_until_writable(self, conn: ServerConnection,
                                   session: SmtpSession) -> bool:
        """Wait while the client does not read our replies; False when it has been cut off
        (or is gone)."""
        if self._writable is not None:
            # It gets the command timeout to start reading again (RFC 5321 §4.5.3.2.7),
            # and no more than the shutdown grace.
            loop = asyncio.get_running_loop()
            timer = loop.call_later(session.policy.limits.command_timeout, self._time_out)
            try:
                await self._writable
            finally:
                timer.cancel()
            if not self._lost and (self._timed_out or self._forced):
                # Replies are still stuck in our buffer, so a 421 could not reach it:
                # the connection is cut off instead.
                log.info("smtp.not-reading", extra=fields(conn=self.connection_id,
                                                          state=conn.state.value))
                self._abort()
                return False
        return not self._lost

    async def _wait_for_data(self, conn: ServerConnection, session: SmtpSession) -> bool:
        """Wait for bytes; False when the connection must end (it then has been told)."""
        if not await self._wait_until_writable(conn, session):
            return False
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
        self._tls_held = []
        try:
            transport = await loop.start_tls(
                self.transport, self, context, server_side=True,
                ssl_handshake_timeout=self.settings.tls_handshake_timeout)
        except (TimeoutError, OSError, ssl.SSLError, ConnectionError) as exc:
            log.info("smtp.tls-failed", extra=fields(conn=self.connection_id, error=str(exc)))
            self._tls_held = None
            self._lost = True
            return False
        held, self._tls_held = self._tls_held, None
        if transport is None:
            self._lost = True
            return False
        self.transport = transport
        conn.tls_established()
        session.tls_established(describe(self._ssl_object()))
        for data in held:
            conn.receive_data(data)
        if conn.discarded_plaintext:
            log.info("smtp.starttls-discarded", extra=fields(
                conn=self.connection_id, octets=conn.discarded_plaintext))
        log.debug("smtp.tls", extra=fields(conn=self.connection_id, tls=session.tls))
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

    def _abort(self) -> None:
        """Close without flushing what the client would not read (close() would wait for
        that for ever)."""
        if self.transport is not None:
            self.transport.abort()

    def _close(self) -> None:
        self.registry.connections.discard(self)
        if self.transport is not None and not self.transport.is_closing():
            if self._writable is not None and (self._timed_out or self._forced):
                self._abort()       # a final 421 cannot get past unread replies
            else:
                self.transport.close()
        log.debug("smtp.disconnect", extra=fields(conn=self.connection_id))


async def start_smtp_listener(host: str, port: int, settings: ListenerSettings,
                              make_session: SessionFactory, registry: ConnectionRegistry,
                              *, reuse_port: bool = False) -> asyncio.Server:
    loop = asyncio.get_running_loop()
    ssl_context = settings.starttls_context if settings.implicit_tls else None
    return await loop.create_server(
        lambda: SmtpProtocol(settings, make_session, registry), host, port,
        ssl=ssl_context, reuse_address=True, reuse_port=reuse_port,
        ssl_handshake_timeout=settings.tls_handshake_timeout if ssl_context else None)
