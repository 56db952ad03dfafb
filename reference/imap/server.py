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
pipelined behind the command (RFC 9051 §6.2.1). What every stream adapter shares
(callbacks, output batching, back-pressure, STARTTLS, the connection registry) is
``reference.net.stream.StreamProtocol``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from reference.errors import ProtocolError
from reference.imap.capabilities import Modes
from reference.imap.client_connection import _Sentinel
from reference.imap.commands import Append, ConnectionClosed, Event
from reference.imap.connection import NEED_DATA, ServerConnection
from reference.imap.responses import ImapRemoteProtocolError, Response, ResponseCode, bye
from reference.imap.session import ImapSession
from reference.imap.session_core import ImapPolicy
from reference.imap.states import State
from reference.logs import fields
from reference.net.listeners import ListenerSettings, Peer, start_listener
from reference.net.stream import READ_HIGH_WATER, ConnectionRegistry, StreamProtocol
from reference.store.interface import ModSeq

SessionFactory = Callable[[Peer, "ImapProtocol", bool], ImapSession]
# A command read ahead (or the error reading it gave); None: nothing read ahead.
Ahead = Event | ImapRemoteProtocolError | None


class ImapProtocol(StreamProtocol[ServerConnection], protocol="imap"):
    """One connection; also the session's ``Output``."""

    def __init__(self, settings: ListenerSettings, policy: ImapPolicy,
                 make_session: SessionFactory, registry: ConnectionRegistry) -> None:
        # The core must see a literal whole: reading pauses only beyond the largest
        # command (APPEND's) and READ_HIGH_WATER more.
        super().__init__(settings, registry,
                         read_high_water=READ_HIGH_WATER + policy.limits.append_command_size)
        self.policy = policy
        self.make_session = make_session
        self.session: ImapSession | None = None
        self._watch: asyncio.Future[ModSeq] | None = None

    def _open(self, peer: Peer) -> None:
        tls = self.settings.implicit_tls
        self.conn = ServerConnection(self.policy.limits, tls_active=tls)
        self.session = self.make_session(peer, self, tls)

    def _tls_established(self) -> None:
        assert self.session is not None
        self.session.tls_established()

    # --- Output ----------------------------------------------------------------------

    @property
    def modes(self) -> Modes:
        assert self.conn is not None
        return self.conn.modes

    def send(self, response: Response) -> None:
        assert self.conn is not None
        self._hold(self.conn.send(response))

    async def drain(self) -> None:
        # What is held is less than WRITE_BATCH (send flushes beyond it): it goes out
        # with the rest of the command's answer, in one write. Only wait while the
        # client is not reading what was written.
        if self._writable is not None:
            self._flush()
            await self._writable_within_autologout()

    # --- the connection loop ----------------------------------------------------------

    async def _serve(self) -> None:
        conn, session = self.conn, self.session
        assert conn is not None and session is not None
        try:
            self.send(session.greeting())
            self._flush()
            await self._loop(conn, session)
        except ConnectionAbortedError:
            pass       # cut off for not reading (_writable_within_autologout): logged there
        except Exception:
            self._log.exception("imap.internal-error", extra=fields(conn=self.connection_id))
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
        ahead: Ahead = None             # read while an APPEND was being stored
        while conn.state is not State.LOGOUT and not self._lost:
            event: Event | _Sentinel | ImapRemoteProtocolError
            if ahead is not None:
                event, ahead = ahead, None
            else:
                event = self._next_event(conn)
            if isinstance(event, ImapRemoteProtocolError):
                assert event.response is not None
                self.send(event.response)
                continue
            if event is NEED_DATA:
                self._flush()
                if not await self._wait_for_data(conn, session):
                    return
                continue
            if isinstance(event, ConnectionClosed):
                return
            if isinstance(event, Append):
                ahead = await self._append_reading_ahead(conn, session, event)
            else:
                await session.handle(event)
            if conn.tls_pending:
                self._flush()
                if not await self._start_tls():
                    return
        self._flush()

    def _next_event(self, conn: ServerConnection
                    ) -> Event | _Sentinel | ImapRemoteProtocolError:
        """The core's next event, or the error that reading the command gave."""
        try:
            return conn.next_event()
        except ImapRemoteProtocolError as error:
            return error
        finally:
            # The "+" the core sends by itself for a literal it will read (§7.6).
            continuation = conn.data_to_send()
            if continuation:
                self._pending.append(continuation)
                self._flush()

    async def _append_reading_ahead(self, conn: ServerConnection, session: ImapSession,
                                    command: Append) -> Ahead:
        """Run APPEND ``command``; while its messages are stored, read the next command
        as the client sends it (pipelining, RFC 9051 §5.5), and when it is an APPEND
        too, parse its messages (``prepare_append``): the parse then overlaps this
        command's COMMIT, whose index and fsync run off the event loop (a MULTIAPPEND
        fill runs at the speed of the slower of the two, not of their sum). The next
        command is waited for while this one runs -- a MULTIAPPEND of 500 messages is
        still arriving when the one before it starts to be stored -- but only read,
        never executed, before this one has completed; it is returned (or the error
        reading it gave) for the loop to go on with, so commands are executed and
        answered in the order sent."""
        task = asyncio.ensure_future(session.handle(command))
        task.add_done_callback(self._append_done)
        ahead: Ahead = None
        try:
            await asyncio.sleep(0)      # the command's own parse first, then its store
            while not task.done() and not self._lost:
                if conn.buffered:
                    event = self._next_event(conn)
                    if not isinstance(event, _Sentinel):
                        ahead = event
                        if isinstance(event, Append):
                            await session.prepare_append(event)
                        break
                # The rest of it, or the end of this command, whichever comes first
                # (reading may have paused: then the end of the command).
                await self._sleep(asyncio.get_running_loop().time() + session.autologout)
                if self._timed_out:
                    break
        finally:
            await task
        return ahead

    def _append_done(self, _: object) -> None:
        """The APPEND's answer goes out now, not after the parse of the next one."""
        self._flush()
        self.wake()

    async def _writable_within_autologout(self) -> None:
        """Wait while the client does not read; ConnectionAbortedError when it has been
        cut off for it, after the session's autologout (shorter before login)."""
        assert self.session is not None
        if not await self._wait_until_writable(self.session.autologout):
            raise ConnectionAbortedError("the client does not read")

    async def _wait_for_data(self, conn: ServerConnection, session: ImapSession) -> bool:
        """Wait for bytes (or, while IDLE, for the store); False when the connection
        must end (the client has then been told)."""
        try:
            await self._writable_within_autologout()
        except ConnectionAbortedError:
            return False
        if self._lost:
            return False
        if self._forced or self.registry.shutting_down:
            self.send(session.shutting_down())
            self._flush()
            return False
        self._resume_reading()
        loop = asyncio.get_running_loop()
        if self._watch is not None and not session.idling:
            self._watch.cancel()              # IDLE ended: its watch is stale
            self._watch = None
        watcher = session.watcher if session.idling else None
        if watcher is not None and self._watch is None:
            task = asyncio.ensure_future(watcher.wait())
            task.add_done_callback(lambda _: self.wake())
            self._watch = task
        await self._sleep(loop.time() + session.autologout)
        watch = self._watch
        if watch is not None and watch.done():
            self._watch = None
            if not watch.cancelled() and watch.exception() is None and session.idling:
                await session.idle_wake()
                self._flush()
        if self._timed_out and not self._lost:
            self._log.info("imap.timeout", extra=fields(conn=self.connection_id))
            self.send(session.timed_out())
            self._flush()
            return False
        return True


async def start_imap_listener(host: str, port: int, settings: ListenerSettings,
                              policy: ImapPolicy, make_session: SessionFactory,
                              registry: ConnectionRegistry, *, reuse_port: bool = False
                              ) -> asyncio.Server:
    return await start_listener(
        host, port, settings, lambda: ImapProtocol(settings, policy, make_session, registry),
        reuse_port=reuse_port)
