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
What every stream adapter shares (callbacks, output batching, back-pressure, STARTTLS,
the connection registry) is ``reference.net.stream.StreamProtocol``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from reference.errors import ProtocolError, RemoteProtocolError
from reference.logs import fields
from reference.net.listeners import ListenerSettings, Peer, start_listener
from reference.net.stream import ConnectionRegistry, StreamProtocol
from reference.net.tls import describe
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

# RFC 2920 §3.2 (5): "MUST NOT buffer responses to EHLO, DATA, VRFY, EXPN, TURN, QUIT, and
# NOOP" (HELO is EHLO's older form; the reply after the mail data answers DATA too).
UNBUFFERED = (Ehlo, Helo, Data, MessageReceived, MessageRejected, Vrfy, Expn, Quit, Noop)


@dataclass(frozen=True, slots=True, kw_only=True)
class SmtpListenerSettings(ListenerSettings):
    tolerances: Tolerances


SessionFactory = Callable[[Peer], SmtpSession]


class SmtpProtocol(StreamProtocol[ServerConnection], protocol="smtp"):
    def __init__(self, settings: SmtpListenerSettings, make_session: SessionFactory,
                 registry: ConnectionRegistry) -> None:
        super().__init__(settings, registry)
        self.tolerances = settings.tolerances
        self.make_session = make_session
        self.session: SmtpSession | None = None
        # RFC 5321 §4.5.3.2.7: the time a command line may take to arrive completely;
        # set when we start waiting for a command, cleared when one is complete.
        self._command_deadline: float | None = None

    def _open(self, peer: Peer) -> None:
        session = self.make_session(peer)
        self.session = session
        self.conn = ServerConnection(session.policy.limits, self.tolerances)

    def _tls_established(self) -> None:
        assert self.session is not None
        self.session.tls_established(describe(self._ssl_object()))

    def _log_context(self) -> dict[str, Any]:
        assert self.conn is not None
        return {"state": self.conn.state.value}

    # --- the connection loop ----------------------------------------------------------

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
            self._log.exception("smtp.internal-error", extra=fields(conn=self.connection_id))
            if not self._lost and conn.state is not State.CLOSED:
                # RFC 5321 §3.8: whatever went wrong, the client hears 421, not silence.
                with contextlib.suppress(ProtocolError):
                    self._write(conn.send(reply(421, Status.SYSTEM_OTHER,
                                                "Internal error, closing connection")))
        finally:
            self._close()

    async def _loop(self, conn: ServerConnection, session: SmtpSession) -> None:
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
                    self._flush()
                    if not await self._wait_for_data(conn, session):
                        return
                    continue
                if isinstance(event, ConnectionClosed):
                    return
                self._command_deadline = None
                wire = conn.send(await session.handle(event))
                if conn.state is State.TLS_PENDING:
                    self._hold(wire)
                    self._flush()
                    if not await self._start_tls():
                        return
                    self._log.debug("smtp.tls", extra=fields(conn=self.connection_id,
                                                             tls=session.tls))
                    continue
                at_once = isinstance(event, UNBUFFERED)
            # RFC 2920 §3.2 (2): replies to grouped RSET, MAIL and RCPT may wait to go out
            # together; within bounds (WRITE_BATCH, when _hold writes them), so that a few
            # bytes of pipelined commands cannot become megabytes of replies held here.
            if self._hold(wire) or at_once:
                self._flush()
                # No further command is read while the client is not reading replies.
                if not await self._writable_within_timeout(session):
                    return
        self._flush()

    async def _writable_within_timeout(self, session: SmtpSession) -> bool:
        """Wait while the client does not read our replies; False when it has been cut off
        (or is gone)."""
        # It gets the command timeout to start reading again (RFC 5321 §4.5.3.2.7),
        # and no more than the shutdown grace.
        return (await self._wait_until_writable(session.policy.limits.command_timeout)
                and not self._lost)

    async def _wait_for_data(self, conn: ServerConnection, session: SmtpSession) -> bool:
        """Wait for bytes; False when the connection must end (it then has been told)."""
        if not await self._writable_within_timeout(session):
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
        self._resume_reading()
        limits = session.policy.limits
        loop = asyncio.get_running_loop()
        if conn.state in (State.DATA, State.CHUNKING):
            # RFC 5321 §4.5.3.2: a timer "for each buffer of the data transfer"
            deadline = loop.time() + limits.data_timeout
        else:
            if self._command_deadline is None:
                self._command_deadline = loop.time() + limits.command_timeout
            deadline = self._command_deadline
        await self._sleep(deadline)
        if self._timed_out and not self._lost:
            self._log.info("smtp.timeout", extra=fields(conn=self.connection_id,
                                                        state=conn.state.value))
            self._write(conn.send(session.timed_out()))
            return False
        return True


async def start_smtp_listener(host: str, port: int, settings: SmtpListenerSettings,
                              make_session: SessionFactory, registry: ConnectionRegistry,
                              *, reuse_port: bool = False) -> asyncio.Server:
    return await start_listener(
        host, port, settings, lambda: SmtpProtocol(settings, make_session, registry),
        reuse_port=reuse_port)
