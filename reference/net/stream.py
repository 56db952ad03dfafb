"""One connection of a line protocol (SMTP, IMAP) as an ``asyncio.Protocol`` around its
sans-IO core: the part every adapter shares.

``StreamProtocol`` holds what is the same whatever the protocol; a subclass
(``SmtpProtocol``, ``ImapProtocol``) opens its core and session (``_open``), runs its own
command loop (``_serve``) with its own timeouts, greeting and goodbyes, and builds its
waits from the pieces here:

- Output is gathered in ``_pending`` (``_hold``) and written in one ``transport.write``
  (``_flush``), at the latest every ``WRITE_BATCH`` octets; the transcript, when tracing,
  records each write as it goes out.
- Back-pressure both ways. Reading pauses while the core holds more than
  ``read_high_water`` unconsumed octets, and resumes before the next wait for data
  (``_resume_reading``). While the client does not read what we write (``pause_writing``)
  the loop waits in ``_wait_until_writable``; a client still not reading when the timeout
  or shutdown comes is cut off (``_abort``), as a goodbye could not get past the bytes
  it has not read.
- The loop sleeps in ``_sleep`` until it is woken (``wake``: bytes, EOF, loss of the
  connection, shutdown) or its deadline passes (``_time_out``).
- STARTTLS upgrades this same object in place (``_start_tls``, ``loop.start_tls``).
- ``ConnectionRegistry`` knows the live connections, for graceful shutdown.

Log events are named ``<protocol>.<event>`` on the ``rfcmail.<protocol>`` logger:
``smtp.connect``, ``imap.tls-failed``, ``smtp.not-reading``, ...
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import ssl
from collections.abc import Iterator
from typing import Any, ClassVar, Generic, Protocol, TypeVar, cast

from reference.logs import fields
from reference.net.listeners import ListenerSettings, Peer, is_loopback, peername
from reference.net.trace import Transcript

# Unconsumed received octets the core may hold before reading pauses.
READ_HIGH_WATER = 256 * 1024
# Output gathered before it is written even though the loop has more to add.
WRITE_BATCH = 64 * 1024


class StreamConnection(Protocol):
    """What the base asks of a protocol's sans-IO server connection."""

    discarded_plaintext: int

    def receive_data(self, data: bytes) -> None: ...

    @property
    def buffered(self) -> int: ...

    def tls_established(self) -> None: ...


ConnectionT = TypeVar("ConnectionT", bound=StreamConnection)


class ConnectionRegistry:
    """The live connections of a server, for graceful shutdown."""

    def __init__(self) -> None:
        self.connections: set[StreamProtocol[Any]] = set()
        self.shutting_down = False

    def begin_shutdown(self) -> None:
        self.shutting_down = True
        for connection in list(self.connections):
            connection.wake()

    def abort_all(self) -> None:
        for connection in list(self.connections):
            connection.force_close()


class StreamProtocol(asyncio.Protocol, Generic[ConnectionT]):
    """One connection. A subclass names its protocol, ``class SmtpProtocol(
    StreamProtocol[ServerConnection], protocol="smtp")``: its log events and logger, and
    its connection ids (``<listener>-<n>``, numbered from 1 per protocol)."""

    protocol: ClassVar[str]
    _log: ClassVar[logging.Logger]
    _connection_ids: ClassVar[Iterator[int]]

    def __init_subclass__(cls, *, protocol: str, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.protocol = protocol
        cls._log = logging.getLogger(f"rfcmail.{protocol}")
        cls._connection_ids = itertools.count(1)

    def __init__(self, settings: ListenerSettings, registry: ConnectionRegistry, *,
                 read_high_water: int = READ_HIGH_WATER) -> None:
        self.settings = settings
        self.registry = registry
        self.read_high_water = read_high_water
        self.connection_id = f"{settings.name}-{next(self._connection_ids)}"
        self.transport: asyncio.Transport | None = None
        self.transcript: Transcript | None = None
        self.conn: ConnectionT | None = None
        self.task: asyncio.Task[None] | None = None
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._waiter: asyncio.Future[None] | None = None
        self._writable: asyncio.Future[None] | None = None
        self._lost = False
        self._reading_paused = False
        self._forced = False
        self._timed_out = False
        # Bytes that came through the new TLS layer while loop.start_tls() had not yet
        # returned (see data_received); None when no upgrade is under way.
        self._tls_held: list[bytes] | None = None

    # --- what a protocol adds -----------------------------------------------------------

    def _open(self, peer: Peer) -> None:
        """Create ``self.conn`` (the sans-IO core) and the session for a new connection."""
        raise NotImplementedError

    async def _serve(self) -> None:
        """The connection's life: greeting, command loop, goodbye; ends with ``_close``."""
        raise NotImplementedError

    def _tls_established(self) -> None:
        """Tell the session that TLS is now in place (the core has been told)."""
        raise NotImplementedError

    def _log_context(self) -> dict[str, Any]:
        """Fields added to the log event of a client cut off for not reading."""
        return {}

    # --- asyncio.Protocol callbacks ---------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)
        if self.conn is not None:
            return   # start_tls hands the same protocol a new transport
        host, port = peername(transport)
        self._open(Peer(host, port, is_loopback(host), self.connection_id))
        if self.settings.trace is not None:
            self.transcript = Transcript(self.settings.trace, self.connection_id)
        self.registry.connections.add(self)
        self._log.debug(f"{self.protocol}.connect", extra=fields(
            conn=self.connection_id, peer=f"{host}:{port}", listener=self.settings.name))
        self.task = asyncio.get_running_loop().create_task(self._serve())

    def data_received(self, data: bytes) -> None:
        if self.transcript is not None:
            self.transcript.received(data)
        if self._tls_held is not None:
            # Once start_tls has begun, only the TLS layer calls us, with decrypted bytes:
            # a fast client's first command can come in the same read as the end of the
            # handshake, before start_tls returns. It was sent under TLS (RFC 3207 §4.2,
            # RFC 9051 §6.2.1), so it is kept for the session after tls_established(),
            # not dropped as the plaintext that the core discards while TLS is pending.
            self._tls_held.append(data)
            return
        assert self.conn is not None and self.transport is not None
        self.conn.receive_data(data)
        if self.conn.buffered > self.read_high_water and not self._reading_paused:
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

    # --- waking the loop --------------------------------------------------------------

    def wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def force_close(self) -> None:
        self._forced = True
        self._unblock()

    def _time_out(self) -> None:
        self._timed_out = True
        self._unblock()

    def _unblock(self) -> None:
        """Wake the loop whether it waits for the client's bytes or for it to read."""
        self.wake()
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)

    async def _sleep(self, deadline: float) -> None:
        """Wait until ``wake`` or, at ``deadline`` (loop time), ``_time_out``."""
        loop = asyncio.get_running_loop()
        self._waiter = loop.create_future()
        timer = loop.call_at(deadline, self._time_out)
        try:
            await self._waiter
        finally:
            timer.cancel()
            self._waiter = None

    async def _wait_until_writable(self, timeout: float) -> bool:
        """Wait while the client does not read what we wrote, ``timeout`` seconds at the
        most; False when it has been cut off for it (or for a forced shutdown)."""
        if self._writable is None:
            return True
        loop = asyncio.get_running_loop()
        timer = loop.call_later(timeout, self._time_out)
        try:
            await self._writable
        finally:
            timer.cancel()
        if not self._lost and (self._timed_out or self._forced):
            # What we wrote is still stuck in our buffer, so a goodbye could not reach
            # the client: the connection is cut off instead.
            self._log.info(f"{self.protocol}.not-reading", extra=fields(
                conn=self.connection_id, **self._log_context()))
            self._abort()
            return False
        return True

    def _resume_reading(self) -> None:
        if self._reading_paused and self.transport is not None:
            self._reading_paused = False
            self.transport.resume_reading()

    # --- output -----------------------------------------------------------------------

    def _hold(self, wire: bytes) -> bool:
        """Add ``wire`` to the pending output; True when that made a batch, now written."""
        self._pending.append(wire)
        self._pending_size += len(wire)
        if self._pending_size >= WRITE_BATCH:
            self._flush()
            return True
        return False

    def _flush(self) -> None:
        if not self._pending:
            return
        data = b"".join(self._pending)
        self._pending.clear()
        self._pending_size = 0
        self._write(data)

    def _write(self, data: bytes) -> None:
        if self.transport is None or self._lost or self.transport.is_closing():
            return
        if self.transcript is not None:
            self.transcript.sent(data)
        self.transport.write(data)

    # --- STARTTLS and closing -----------------------------------------------------------

    async def _start_tls(self) -> bool:
        """Upgrade the connection in place once the core has answered STARTTLS; False
        when the handshake failed (the connection is then gone)."""
        conn, context = self.conn, self.settings.starttls_context
        assert conn is not None and context is not None and self.transport is not None
        loop = asyncio.get_running_loop()
        self._tls_held = []
        try:
            transport = await loop.start_tls(
                self.transport, self, context, server_side=True,
                ssl_handshake_timeout=self.settings.tls_handshake_timeout)
        except (TimeoutError, OSError, ssl.SSLError, ConnectionError) as exc:
            self._log.info(f"{self.protocol}.tls-failed", extra=fields(
                conn=self.connection_id, error=str(exc)))
            self._tls_held = None
            self._lost = True
            return False
        held, self._tls_held = self._tls_held, None
        if transport is None:
            self._lost = True
            return False
        self.transport = transport
        conn.tls_established()
        self._tls_established()
        for data in held:
            conn.receive_data(data)
        if conn.discarded_plaintext:
            self._log.info(f"{self.protocol}.starttls-discarded", extra=fields(
                conn=self.connection_id, octets=conn.discarded_plaintext))
        return True

    def _ssl_object(self) -> ssl.SSLObject | None:
        if self.transport is None:
            return None
        ssl_object = self.transport.get_extra_info("ssl_object")
        return ssl_object if isinstance(ssl_object, ssl.SSLObject) else None

    def _abort(self) -> None:
        """Close without flushing what the client would not read (close() would wait for
        that for ever)."""
        if self.transport is not None:
            self.transport.abort()

    def _close(self) -> None:
        self.registry.connections.discard(self)
        if self.transport is not None and not self.transport.is_closing():
            if self._writable is not None and (self._timed_out or self._forced):
                self._abort()       # a final goodbye cannot get past unread output
            else:
                self.transport.close()
        self._log.debug(f"{self.protocol}.disconnect", extra=fields(conn=self.connection_id))
