"""A real rfcmail server for end-to-end tests: its own event loop in a thread, real
sockets on loopback (ports chosen by the system), real TLS (a trustme CA), a SQLite store
in a temporary directory, provisioned with domains, accounts and aliases."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import ssl
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
import trustme

from reference.app import Listening, serve, store_path
from reference.config import Config, Endpoint
from reference.directory.passwords import hash_password
from reference.store import open_store
from reference.store.interface import MailStore, Message
from tests.e2e.helpers import LogCapture, captured_logs

T = TypeVar("T")
PASSWORDS = {"alice@example.test": "alice-password", "bob@example.test": "bob-password"}
ALIASES = {
    "postmaster@example.test": ["alice@example.test"],
    "team@example.test": ["alice@example.test", "bob@example.test"],
    "@catchall.test": ["bob@example.test"],
}


async def provision(path: Path) -> None:
    store = await open_store(path)
    try:
        for domain in ("example.test", "catchall.test"):
            await store.add_domain(domain)
        for address, password in PASSWORDS.items():
            await store.add_account(address, hash_password(password))
        for alias, targets in ALIASES.items():
            await store.add_alias(alias, targets)
    finally:
        await store.close()


@dataclass
class RunningServer:
    config: Config
    ca: trustme.CA
    endpoints: dict[str, Endpoint] = field(default_factory=dict)
    loop: asyncio.AbstractEventLoop | None = None
    stop: asyncio.Event | None = None
    thread: threading.Thread | None = None

    @property
    def smtp(self) -> tuple[str, int]:
        return self.endpoints["smtp"].host, self.endpoints["smtp"].port

    @property
    def submission(self) -> tuple[str, int]:
        return self.endpoints["submission"].host, self.endpoints["submission"].port

    @property
    def submissions(self) -> tuple[str, int]:
        return self.endpoints["submissions"].host, self.endpoints["submissions"].port

    def client_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        self.ca.configure_trust(context)
        return context

    async def messages_async(self, address: str, mailbox: str = "INBOX") -> list[bytes]:
        store = await open_store(store_path(self.config))
        try:
            account = await store.get_account(address)
            assert account is not None, address
            box = await store.get_mailbox(account.id, mailbox)
            assert box is not None, mailbox
            blobs = []
            for message in await store.list_messages(box.id):
                blobs.append(await store.read_blob(message.blob_id) or b"")
            return blobs
        finally:
            await store.close()

    def messages(self, address: str, mailbox: str = "INBOX") -> list[bytes]:
        """The raw bytes of every message in the mailbox, in UID order."""
        return asyncio.run(self.messages_async(address, mailbox))

    async def envelopes_async(self, address: str) -> list[Any]:
        store = await open_store(store_path(self.config))
        try:
            account = await store.get_account(address)
            assert account is not None
            box = await store.get_mailbox(account.id, "INBOX")
            assert box is not None
            return [m.envelope for m in await store.list_messages(box.id)]
        finally:
            await store.close()

    def envelopes(self, address: str) -> list[Any]:
        return asyncio.run(self.envelopes_async(address))

    def with_store(self, action: Callable[[MailStore], Awaitable[T]]) -> T:
        """Run ``action`` on the server's store, opened beside the running server (SQLite
        in WAL mode lets both use it, as the CLI does)."""
        async def run() -> T:
            store = await open_store(store_path(self.config))
            try:
                return await action(store)
            finally:
                await store.close()
        return asyncio.run(run())

    def stored(self, address: str, mailbox: str = "INBOX") -> list[Message]:
        """The stored messages (metadata: UID, thread id, envelope...) in UID order."""
        async def listing(store: MailStore) -> list[Message]:
            account = await store.get_account(address)
            assert account is not None, address
            box = await store.get_mailbox(account.id, mailbox)
            assert box is not None, mailbox
            return sorted(await store.list_messages(box.id), key=lambda m: m.uid or 0)
        return self.with_store(listing)

    def total_messages(self) -> int:
        """Messages stored in every mailbox of every account."""
        async def count(store: MailStore) -> int:
            total = 0
            for account in await store.list_accounts():
                total += sum(box.messages for box in await store.list_mailboxes(account.id))
            return total
        return self.with_store(count)

    def shutdown(self) -> None:
        if self.loop is not None and self.stop is not None:
            self.loop.call_soon_threadsafe(self.stop.set)
        if self.thread is not None:
            self.thread.join(timeout=30)


# The event loop of the in-thread servers: asyncio's own by default; RFCMAIL_E2E_LOOP=uvloop
# runs the suite on uvloop, which `rfcmail serve` (the lifecycle tests) uses when installed.
E2E_EVENT_LOOP = os.environ.get("RFCMAIL_E2E_LOOP", "asyncio")


def new_event_loop(kind: str) -> asyncio.AbstractEventLoop:
    if kind == "uvloop":
        import uvloop
        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def start_server(tmp_path: Path, ca: trustme.CA, **sections: dict[str, Any]) -> RunningServer:
    """Start a server whose configuration is the defaults, ports 0, the CA's certificate,
    and ``sections`` (e.g. ``smtp={"plaintext_auth": "never"}``)."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    certificate = ca.issue_cert("localhost", "127.0.0.1")
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    certificate.cert_chain_pems[0].write_to_path(str(cert_file))
    certificate.private_key_pem.write_to_path(str(key_file))
    config = Config()
    config = config.replace("server", data_dir=str(data_dir), hostname="mx.example.test",
                            shutdown_grace=2.0, event_loop=E2E_EVENT_LOOP)
    config = config.replace("tls", certificate=str(cert_file), private_key=str(key_file))
    config = config.replace("smtp", listen="127.0.0.1:0", submission="127.0.0.1:0",
                            submissions="127.0.0.1:0")
    config = config.replace("imap", listen="127.0.0.1:0", imaps="127.0.0.1:0")
    for section, changes in sections.items():
        current = getattr(config, section)
        nested = {k: dataclasses.replace(getattr(current, k), **v)
                  for k, v in changes.items() if isinstance(v, dict)}
        flat = {k: v for k, v in changes.items() if not isinstance(v, dict)}
        config = config.replace(section, **flat, **nested)
    asyncio.run(provision(store_path(config)))

    server = RunningServer(config, ca)
    expected = [address for address in (config.smtp.listen, config.smtp.submission,
                                        config.smtp.submissions, config.imap.listen,
                                        config.imap.imaps) if address]
    ready = threading.Event()
    failure: list[BaseException] = []

    def listening(item: Listening) -> None:
        server.endpoints[item.name] = item.endpoint
        if len(server.endpoints) == len(expected):
            ready.set()

    def run() -> None:
        loop = new_event_loop(config.server.event_loop)
        server.loop = loop
        server.stop = asyncio.Event()
        try:
            loop.run_until_complete(serve(config, announce=None, stop=server.stop,
                                          on_listening=listening))
        except BaseException as exc:  # surfaced to the test below
            failure.append(exc)
            ready.set()
        finally:
            loop.close()

    server.thread = threading.Thread(target=run, name="rfcmail-server", daemon=True)
    server.thread.start()
    assert ready.wait(20), "the server did not start"
    if failure:
        raise failure[0]
    return server


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def subprocess_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment for `rfcmail` child processes: no inherited data directory, and
    bytecode cached in a temporary directory (not in the working tree) so that each of
    the many short CLI processes does not recompile every module."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("RFCMAIL_DATA_DIR", "PYTHONDONTWRITEBYTECODE")}
    env["PYTHONPYCACHEPREFIX"] = str(tmp_path_factory.mktemp("pycache"))
    return env


@pytest.fixture
def server_log() -> Iterator[LogCapture]:
    """Every "rfcmail" log record while the test runs; at the end no record may be an
    internal error or carry a traceback (DESIGN.md principle 8: bad input gets a precise
    protocol error, never a crash)."""
    with captured_logs() as capture:
        yield capture
    failures = capture.internal_errors()
    assert not failures, [f"{r.getMessage()} {r.__dict__.get('rfcmail_fields')}"
                          for r in failures]


@pytest.fixture
def server(tmp_path: Path, ca: trustme.CA, server_log: LogCapture) -> Iterator[RunningServer]:
    running = start_server(tmp_path, ca)
    yield running
    running.shutdown()
