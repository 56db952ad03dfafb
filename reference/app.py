"""``rfcmail serve``: open the store, start the listeners, stop cleanly on a signal.

Shutdown (SIGINT or SIGTERM): the listeners stop accepting; idle connections get 421
4.3.2 at once; connections inside a mail transaction may finish it for up to
``server.shutdown_grace`` seconds (their message is stored and acknowledged, then they
get 421), after which the rest get 421 and are closed (RFC 5321 §3.8). The store closes
last, after its queued writes are committed.

Several workers (``server.workers``; 0, the default, is one per CPU) are forked before
any event loop or store exists; each binds the listeners with SO_REUSEPORT and opens the
same store (SQLite in WAL mode is safe across processes, every allocation happens inside
a write transaction).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import dataclasses
import gc
import logging
import os
import secrets
import signal
import socket
import sys
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from reference.config import Config, ConfigError, Endpoint
from reference.delivery.local import LocalDelivery
from reference.directory.passwords import RECENTLY_VERIFIED
from reference.directory.policy import PlaintextAuth
from reference.imap.mailbox_views import MailboxViews
from reference.imap.server import ImapProtocol, start_imap_listener
from reference.imap.session import ImapPolicy, ImapSession
from reference.logs import fields
from reference.net.listeners import ListenerSettings, Peer
from reference.net.stream import ConnectionRegistry
from reference.net.tls import CertificatePaths, ensure_certificate, server_context
from reference.net.trace import TraceSink
from reference.smtp.server import SmtpListenerSettings, start_smtp_listener
from reference.smtp.session import Role, SessionPolicy, SmtpSession
from reference.store import open_store
from reference.store.interface import MailStore

log = logging.getLogger("rfcmail")

STORE_FILE = "rfcmail.sqlite3"
STOP_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM})
SASL_KEY_FILE = "secrets/sasl-fake-credentials.key"


def store_path(config: Config) -> Path:
    return config.data_dir / STORE_FILE


@dataclass(frozen=True, slots=True)
class Listening:
    name: str
    endpoint: Endpoint


async def serve(config: Config, *, announce: TextIO | None = sys.stdout,
                stop: asyncio.Event | None = None, reuse_port: bool = False,
                on_listening: Callable[[Listening], None] | None = None) -> None:
    """Run until ``stop`` is set or SIGINT/SIGTERM arrives.

    Each listener is announced once bound (port 0 shows the port the system chose).
    """
    data_dir = config.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    store = await open_store(store_path(config))
    trace = _trace_sink(config)
    registry = ConnectionRegistry()
    imap_registry = ConnectionRegistry()
    servers: list[asyncio.AbstractServer] = []
    try:
        await _warn_if_empty(store)
        context = server_context(_certificate(config))
        fake_credentials_key = _secret(data_dir / SASL_KEY_FILE)
        RECENTLY_VERIFIED.seconds = config.server.password_cache_seconds
        RECENTLY_VERIFIED.size = config.server.password_cache_entries
        delivery = LocalDelivery(store, subaddress_separator=config.delivery.subaddress_separator,
                                 postmaster=config.delivery.postmaster or None)
        for role, address in ((Role.MX, config.smtp.listen),
                              (Role.SUBMISSION, config.smtp.submission),
                              (Role.SUBMISSIONS, config.smtp.submissions)):
            if not address:
                continue               # an empty address disables the listener
            endpoint = Endpoint.parse(address)
            policy = SessionPolicy(
                hostname=config.server.hostname, role=role, limits=config.smtp.limits,
                tls_available=True, plaintext_auth=PlaintextAuth(config.smtp.plaintext_auth),
                auth_mechanisms=config.smtp.auth_mechanisms,
                fake_credentials_key=fake_credentials_key)
            settings = SmtpListenerSettings(
                name=role.value, tolerances=config.smtp.tolerances, starttls_context=context,
                implicit_tls=role is Role.SUBMISSIONS,
                tls_handshake_timeout=config.tls.handshake_timeout, trace=trace)
            try:
                server = await start_smtp_listener(
                    endpoint.host, endpoint.port, settings,
                    _session_factory(store, delivery, policy), registry,
                    reuse_port=reuse_port)
            except OSError as exc:       # e.g. the address is in use, or not ours
                raise ConfigError(f"cannot listen on {endpoint} for {role.value}: "
                                  f"{exc.strerror or exc}") from exc
            servers.append(server)
            _announce(role.value, server, announce, on_listening)
        imap_policy = ImapPolicy(
            hostname=config.server.hostname, limits=config.imap.limits,
            tls_available=True, plaintext_auth=PlaintextAuth(config.imap.plaintext_auth),
            auth_mechanisms=config.imap.auth_mechanisms,
            fake_credentials_key=fake_credentials_key, autologout=config.imap.autologout,
            autologout_unauthenticated=config.imap.autologout_unauthenticated,
            view_cache_messages=config.imap.view_cache_messages)
        make_imap_session = _imap_session_factory(store, imap_policy)
        for name, address in (("imap", config.imap.listen), ("imaps", config.imap.imaps)):
            if not address:
                continue
            endpoint = Endpoint.parse(address)
            imap_settings = ListenerSettings(
                name=name, starttls_context=context, implicit_tls=name == "imaps",
                tls_handshake_timeout=config.tls.handshake_timeout, trace=trace)
            try:
                server = await start_imap_listener(
                    endpoint.host, endpoint.port, imap_settings, imap_policy,
                    make_imap_session, imap_registry,
                    reuse_port=reuse_port)
            except OSError as exc:
                raise ConfigError(f"cannot listen on {endpoint} for {name}: "
                                  f"{exc.strerror or exc}") from exc
            servers.append(server)
            _announce(name, server, announce, on_listening)
        log.info("rfcmail.started", extra=fields(data_dir=str(data_dir), pid=os.getpid()))
        await _wait_for_stop(stop)
        log.info("rfcmail.stopping", extra=fields(pid=os.getpid()))
    finally:
        for listener in servers:
            listener.close()
        # Idle IMAP sessions get BYE at once; SMTP transactions and IMAP commands in
        # flight get the grace to finish, side by side.
        await asyncio.gather(_drain(registry, config.server.shutdown_grace),
                             _drain(imap_registry, config.server.shutdown_grace))
        stats = getattr(store, "stats", None)
        await store.close()
        if stats is not None:
            log.info("store.stats", extra=fields(pid=os.getpid(), **dataclasses.asdict(stats)))
        if trace is not None:
            trace.close()
        log.info("rfcmail.stopped", extra=fields(pid=os.getpid()))


def _announce(name: str, server: asyncio.AbstractServer, announce: TextIO | None,
              on_listening: Callable[[Listening], None] | None) -> None:
    sockets: tuple[socket.socket, ...] = tuple(getattr(server, "sockets", ()))
    host, port = sockets[0].getsockname()[:2]
    listening = Listening(name, Endpoint(host, port))
    if announce is not None:
        print(f"{name} listening on {listening.endpoint}", file=announce, flush=True)
    if on_listening is not None:
        on_listening(listening)


def _imap_session_factory(store: MailStore, policy: ImapPolicy
                          ) -> Callable[[Peer, ImapProtocol, bool], ImapSession]:
    views = MailboxViews(store, policy.view_cache_messages)    # one per process

    def make(peer: Peer, out: ImapProtocol, tls_active: bool) -> ImapSession:
        return ImapSession(store, policy, peer, out, tls_active=tls_active, views=views)
    return make


def _session_factory(store: MailStore, delivery: LocalDelivery,
                     policy: SessionPolicy) -> Callable[[Peer], SmtpSession]:
    def make(peer: Peer) -> SmtpSession:
        return SmtpSession(store=store, delivery=delivery, policy=policy, peer=peer)
    return make


def _certificate(config: Config) -> CertificatePaths:
    if config.tls.certificate or config.tls.private_key:
        if not (config.tls.certificate and config.tls.private_key):
            raise ConfigError("tls.certificate and tls.private_key go together")
        return CertificatePaths(Path(config.tls.certificate), Path(config.tls.private_key))
    return ensure_certificate(config.data_dir, config.server.hostname)


def _secret(path: Path) -> bytes:
    """32 random bytes kept in ``path``, created owner-only on first use.

    Written to a temporary file and published with link(), which fails if the name
    exists: a process that loses a race reads the winner's complete file, never a half
    written one."""
    with contextlib.suppress(FileNotFoundError):
        return path.read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(secrets.token_bytes(32))
        f.flush()
        os.fsync(f.fileno())
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass                           # another process published first: use its key
    finally:
        temporary.unlink()
    return path.read_bytes()


def _trace_sink(config: Config) -> TraceSink | None:
    if not config.log.trace:
        return None
    if config.log.trace_file:
        return TraceSink(open(config.log.trace_file, "a", encoding="utf-8"))
    return TraceSink(os.fdopen(os.dup(sys.stderr.fileno()), "w", encoding="utf-8"))


async def _warn_if_empty(store: MailStore) -> None:
    if not await store.list_domains():
        log.warning("rfcmail.no-domains", extra=fields(
            hint="no local domain yet: add one with `rfcmail domain add example.test` and "
                 "an account with `rfcmail account add you@example.test --password ...`"))
    unindexed = await store.unindexed_messages()
    if unindexed:
        # Stored by an older version, or left so by a schema migration: SEARCH BODY/TEXT
        # stays right but reads each of these messages whole.
        log.warning("rfcmail.unindexed-messages", extra=fields(
            messages=unindexed,
            hint="index them with `rfcmail message reindex` (safe beside the server)"))


async def _wait_for_stop(stop: asyncio.Event | None) -> None:
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    # Signal handlers exist only in the main thread (tests run servers in others).
    for signum in STOP_SIGNALS:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, stop.set)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)   # see serve_forever
    try:
        await stop.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(signum)


async def _drain(registry: ConnectionRegistry, grace: float) -> None:
    registry.begin_shutdown()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + grace
    while registry.connections and loop.time() < deadline:
        await asyncio.sleep(0.05)
    registry.abort_all()
    tasks = [c.task for c in registry.connections if c.task is not None]
    if tasks:
        await asyncio.wait(tasks, timeout=5)


def run(main: Coroutine[Any, Any, None], event_loop: str = "auto") -> None:
    """Run ``main`` on uvloop when it is installed (and not refused), else asyncio's loop."""
    if event_loop in ("auto", "uvloop"):
        try:
            import uvloop
        except ImportError as exc:
            if event_loop == "uvloop":
                raise ConfigError("server.event_loop = 'uvloop' but uvloop is not installed"
                                  ) from exc
        else:
            uvloop.run(main)
            return
    asyncio.run(main)


def _reserve_ports(config: Config) -> tuple[Config, list[socket.socket]]:
    """Port 0 with several workers would give each worker a port of its own. The parent
    picks the port once instead, on a socket bound with SO_REUSEPORT that never listens
    (so it takes no connections) and is held until the workers exit; every worker then
    binds that port."""
    held: list[socket.socket] = []
    for section, keys in (("smtp", ("listen", "submission", "submissions")),
                          ("imap", ("listen", "imaps"))):
        changes: dict[str, str] = {}
        for key in keys:
            address = getattr(getattr(config, section), key)
            if not address:
                continue
            endpoint = Endpoint.parse(address)
            if endpoint.port != 0:
                continue
            family = socket.AF_INET6 if ":" in endpoint.host else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            held.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((endpoint.host, 0))
            changes[key] = str(Endpoint(endpoint.host, sock.getsockname()[1]))
        if changes:
            config = config.replace(section, **changes)
    return config, held


# Linux prctl(2) option: the signal a process gets when its parent dies.
_PR_SET_PDEATHSIG = 1


def _stop_with_parent(parent: int) -> None:
    """A worker is sent SIGTERM when the parent dies (Linux ``PR_SET_PDEATHSIG``): a
    parent killed outright (SIGKILL, the OOM killer) cannot forward the stop, and its
    workers would serve on, orphaned, for ever. The stop signals are still blocked
    here; the worker takes the SIGTERM, and stops as on any other, once its handlers
    are in place. Elsewhere (no prctl) nothing is done."""
    if not sys.platform.startswith("linux"):
        return
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:
        # The parent died before the call: no signal will come for it.
        os.kill(os.getpid(), signal.SIGTERM)


def serve_forever(config: Config) -> int:
    """The process side of ``rfcmail serve``: one process, or a parent and N workers."""
    workers = config.workers
    # What is loaded by now (modules, configuration: tens of thousands of objects) lives
    # as long as the process. Frozen, it is left out of the collector's full passes,
    # which ran during the big commands: a UID FETCH 1:* (FLAGS) of 100,000 messages
    # makes as many objects, and took 61 ms instead of 48. Workers forked after it do not
    # copy its pages when a pass would have touched them.
    gc.freeze()
    # Created before any fork, so every worker reads the same key and the same
    # certificate (workers generating a first self-signed one at once could pair one's
    # key with the other's certificate).
    _secret(config.data_dir / SASL_KEY_FILE)
    _certificate(config)
    if workers <= 1:
        run(serve(config), config.server.event_loop)
        return 0
    config, reserved = _reserve_ports(config)
    children: list[int] = []

    def forward(signum: int, _frame: object) -> None:
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signum)

    # A SIGTERM that reaches a worker before its event loop has installed its handler
    # would kill it outright (and the server would exit 1). Workers are forked with the
    # stop signals blocked; _wait_for_stop unblocks them once its handlers are in place,
    # and a signal that arrived meanwhile is delivered then.
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    parent = os.getpid()
    for index in range(workers):
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                _stop_with_parent(parent)
                run(serve(config, announce=sys.stdout if index == 0 else None,
                          reuse_port=True), config.server.event_loop)
            except ConfigError as exc:
                print(f"rfcmail: worker {index}: {exc}", file=sys.stderr, flush=True)
                code = 1
            except BaseException:
                log.exception("rfcmail.worker-failed", extra=fields(worker=index))
                code = 1
            finally:
                os._exit(code)
        children.append(pid)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    status = 0
    remaining = set(children)
    while remaining:
        pid, code = os.wait()
        remaining.discard(pid)
        if os.waitstatus_to_exitcode(code) != 0:
            status = 1
            forward(signal.SIGTERM, None)   # one worker failed: stop the others
    for sock in reserved:
        sock.close()
    return status
