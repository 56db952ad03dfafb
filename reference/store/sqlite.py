"""The embedded SQLite backend of ``MailStore``: one file, nothing else to install.

Durability (DESIGN principle 3, nothing is acknowledged before it is durable): a write
coroutine returns only after the COMMIT that contains it has returned, and that COMMIT
has fsynced the write-ahead log. The settings that make this true, on every connection
(``sqlite_schema.connect``, where each is explained):

- ``journal_mode=WAL``: commits append to the log; readers never block the writer;
- ``synchronous=FULL``: the WAL is fsynced at every COMMIT. NORMAL, the usual advice for
  WAL, fsyncs only at checkpoints: a power loss could then lose transactions we had
  already answered 250 to;
- ``fullfsync``/``checkpoint_fullfsync``: the same guarantee on macOS, whose fsync()
  leaves data in the drive's cache;
- ``foreign_keys=ON`` (cascading deletes) and ``busy_timeout`` (default 5000 ms: how long
  to wait for another process's write lock).

What this cannot give: durability on a disk or virtual disk that acknowledges fsync
before the data is stable, or on a network file system (WAL needs shared memory).

Implementation notes:
- Writes: one writer thread per store, with its own connection, runs every write as a
  job in a group commit (``sqlite_commit``): many jobs per BEGIN IMMEDIATE ... COMMIT,
  each in its own savepoint, one fsync per batch. This is where throughput comes from:
  the fsync is the cost of a durable write, and concurrent writers share it.
- Several server processes may share one file (DESIGN principle 7). Every allocation
  (UID, MODSEQ, UIDVALIDITY, ids) is read and bumped inside the BEGIN IMMEDIATE
  transaction, which holds SQLite's one write lock across processes, and nothing is
  cached in Python: a second store on the same file is just another writer waiting its
  turn (``busy_timeout``).
- Point lookups on indexed columns (accounts, credentials, aliases, domains, one mailbox,
  one message, the modseq counter) run inline, on the event-loop thread, on a dedicated
  read connection: from the page cache they take microseconds, less than a hop to a
  thread and back would cost. In WAL mode they never wait for the writer. (They can
  wait, up to busy_timeout, only while another process recovers a crashed WAL.)
- Larger reads (list_*, list_messages, read_blob, changes_since) run on a small thread
  pool, one read connection per thread, so a 10,000-message listing or a 30 MB blob
  does not stall every other session on the loop.
- Every read is one SQL statement, so it sees one consistent snapshot without an
  explicit read transaction, and always reads to the end (``fetch_one``/``fetchall``):
  a half-read statement would keep its snapshot open and hide later commits.
- Mailbox counters (messages, unseen, size) are kept in the mailbox row by the writes
  that change them, so STATUS and Mailbox/get stay point lookups on big mailboxes.
- Threads: a message joins the thread of the earliest earlier message of its account
  that it refers to (In-Reply-To/References) or shares its Message-ID with, else starts
  its own (thread id = its message id); threads are never merged, since JMAP threadId
  is immutable (``sqlite_writes._find_thread``). Message-IDs are looked up through an
  index on messages (account_id, header_message_id), not a separate table: same lookup,
  no second copy to keep in step.
- remove_account deletes the account's blobs that no other message uses, in the same
  transaction: content-addressed blobs are shared, so only unreferenced ones go.
- sqlite3 exceptions never reach callers: reads and writes translate them into
  ``StoreError`` subclasses (``sqlite_commit.translate_error``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, TypeVar

from reference.store import sqlite_writes as writes
from reference.store.interface import (
    Account,
    AccountId,
    Alias,
    BlobId,
    Change,
    ChangeKind,
    Delivered,
    Domain,
    Envelope,
    Mailbox,
    MailboxId,
    Message,
    MessageId,
    ModSeq,
    NewMessage,
    NotFound,
    ObjectType,
    SpecialUse,
    StoreError,
    ThreadId,
    Uid,
)
from reference.store.normalise import (
    SEEN,
    lookup_address,
    normalise_address,
    normalise_domain,
    normalise_keywords,
    normalise_mailbox_name,
    normalise_message_id,
    normalise_target,
    validate_new_mailbox_name,
)
from reference.store.sqlite_commit import (
    DEFAULT_MAX_BATCH,
    GroupCommitWriter,
    WriterStats,
    translate_error,
)
from reference.store.sqlite_schema import connect
from reference.store.sqlite_writes import fetch_one

T = TypeVar("T")

DEFAULT_BUSY_TIMEOUT_MS = 5000
DEFAULT_READ_THREADS = 4
# Hash bigger messages off the event loop (hashlib releases the GIL for large inputs).
_HASH_INLINE_LIMIT = 256 * 1024

_MAILBOX_COLUMNS = ("id, account_id, name, special_use, uid_validity, uid_next,"
                    " highest_modseq, subscribed, message_count, unseen_count, total_size")
_ACCOUNT_COLUMNS = "id, address, display_name, created"


class _ReaderPool:
    """Threads for the larger reads, each with its own read connection."""

    def __init__(self, connect_reader: Callable[[], sqlite3.Connection], threads: int):
        self._connect_reader = connect_reader
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=threads,
                                            thread_name_prefix="rfcmail-sqlite-read")

    async def run(self, query: Callable[[sqlite3.Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._run, query)

    def _run(self, query: Callable[[sqlite3.Connection], T]) -> T:
        try:
            connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
            if connection is None:
                connection = self._connect_reader()
                self._local.connection = connection
                with self._lock:
                    self._connections.append(connection)
            return query(connection)
        except sqlite3.Error as error:
            raise translate_error(error) from error

    def close(self) -> None:
        """Blocking: wait for running reads, then close every connection."""
        self._executor.shutdown(wait=True)
        with self._lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()


class SqliteStore:
    """``MailStore`` on one SQLite file. Create it with ``await SqliteStore.open(path)``."""

    def __init__(self, path: str, writer: GroupCommitWriter, reader: sqlite3.Connection,
                 pool: _ReaderPool) -> None:
        self.path = path
        self._writer = writer
        self._reader = reader       # inline point lookups, event-loop thread only
        self._pool = pool
        self._closed = False

    @classmethod
    async def open(cls, path: str | os.PathLike[str], *,
                   busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
                   max_batch: int = DEFAULT_MAX_BATCH,
                   read_threads: int = DEFAULT_READ_THREADS) -> SqliteStore:
        """Open (creating or migrating as needed) the store in the file ``path``."""
        path = os.fspath(path)
        if path == ":memory:" or path.startswith("file:") or not path:
            # Several connections must see one database, and memory is not durable.
            raise StoreError(f"the SQLite store needs a file path, not {path!r}")

        def connect_writer() -> sqlite3.Connection:
            # Used by the event loop and the writer's helper thread, one at a time.
            return connect(path, busy_timeout_ms=busy_timeout_ms, writer=True,
                           check_same_thread=False)

        def connect_reader() -> sqlite3.Connection:
            # Closed by close() from another thread, once its pool thread has stopped.
            return connect(path, busy_timeout_ms=busy_timeout_ms, writer=False,
                           check_same_thread=False)

        writer = GroupCommitWriter(connect_writer, max_batch=max_batch,
                                   lock_path=f"{path}.write-lock")
        await writer.start()        # creates or migrates the schema first
        try:
            reader = connect(path, busy_timeout_ms=busy_timeout_ms, writer=False)
        except BaseException as error:
            await writer.close()
            raise translate_error(error) from error
        return cls(path, writer, reader, _ReaderPool(connect_reader, read_threads))

    @property
    def stats(self) -> WriterStats:
        """Counters of the group-commit writer (jobs, commits, ...), live."""
        return self._writer.stats

    async def close(self) -> None:
        """Finish every write already submitted, then close all connections. Idempotent."""
        if self._closed:
            return
        self._closed = True
        await self._writer.close()
        await asyncio.to_thread(self._pool.close)
        self._reader.close()

    # --- plumbing

    async def _write(self, job: Callable[[sqlite3.Connection], T]) -> T:
        if self._closed:
            raise StoreError("the store is closed")
        return await self._writer.submit(job)

    def _lookup(self, query: Callable[[sqlite3.Connection], T]) -> T:
        """Run a point lookup inline on the event-loop thread (see module notes)."""
        if self._closed:
            raise StoreError("the store is closed")
        try:
            return query(self._reader)
        except sqlite3.Error as error:
            raise translate_error(error) from error

    async def _read(self, query: Callable[[sqlite3.Connection], T]) -> T:
        if self._closed:
            raise StoreError("the store is closed")
        return await self._pool.run(query)

    def _lookup_one(self, sql: str, parameters: Sequence[Any]) -> tuple[Any, ...] | None:
        return self._lookup(lambda connection: fetch_one(connection, sql, parameters))

    # --- domains

    async def add_domain(self, name: str) -> Domain:
        domain = normalise_domain(name)
        return await self._write(lambda connection: writes.add_domain(connection, domain))

    async def remove_domain(self, name: str) -> None:
        domain = name.lower()
        await self._write(lambda connection: writes.remove_domain(connection, domain))

    async def list_domains(self) -> list[Domain]:
        rows = await self._read(lambda connection: connection.execute(
            "SELECT name FROM domains ORDER BY name").fetchall())
        return [Domain(name) for (name,) in rows]

    async def is_local_domain(self, name: str) -> bool:
        return self._lookup_one("SELECT 1 FROM domains WHERE name = ?", (name.lower(),)) \
            is not None

    # --- accounts and credentials

    async def add_account(self, address: str, credentials: str, *,
                          display_name: str = "") -> Account:
        normalised = normalise_address(address)
        created = datetime.now(UTC)
        return await self._write(lambda connection: writes.add_account(
            connection, normalised, credentials, display_name, created))

    async def remove_account(self, address: str) -> None:
        key = lookup_address(address)
        await self._write(lambda connection: writes.remove_account(connection, key))

    async def get_account(self, address: str) -> Account | None:
        row = self._lookup_one(f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE address = ?",
                               (lookup_address(address),))
        return None if row is None else _account(row)

    async def get_account_by_id(self, account_id: AccountId) -> Account | None:
        row = self._lookup_one(f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE id = ?",
                               (account_id,))
        return None if row is None else _account(row)

    async def list_accounts(self) -> list[Account]:
        rows = await self._read(lambda connection: connection.execute(
            f"SELECT {_ACCOUNT_COLUMNS} FROM accounts ORDER BY address").fetchall())
        return [_account(row) for row in rows]

    async def get_credentials(self, address: str) -> str | None:
        row = self._lookup_one("SELECT credentials FROM accounts WHERE address = ?",
                               (lookup_address(address),))
        return None if row is None else str(row[0])

    async def set_credentials(self, address: str, credentials: str) -> None:
        key = lookup_address(address)
        await self._write(lambda connection: writes.set_credentials(connection, key,
                                                                    credentials))

    # --- aliases

    async def add_alias(self, address: str, targets: Sequence[str]) -> Alias:
        alias = normalise_address(address, catch_all=True)
        normalised_targets = [normalise_target(target) for target in targets]
        return await self._write(lambda connection: writes.add_alias(
            connection, alias, normalised_targets))

    async def remove_alias(self, address: str) -> None:
        key = lookup_address(address)
        await self._write(lambda connection: writes.remove_alias(connection, key))

    async def get_alias(self, address: str) -> Alias | None:
        key = lookup_address(address)
        rows = self._lookup(lambda connection: connection.execute(
            "SELECT t.target FROM aliases a JOIN alias_targets t ON t.alias_id = a.id"
            " WHERE a.address = ? ORDER BY t.position", (key,)).fetchall())
        # add_alias refuses an empty target list, so no rows means no alias.
        return Alias(key, tuple(target for (target,) in rows)) if rows else None

    async def list_aliases(self) -> list[Alias]:
        rows = await self._read(lambda connection: connection.execute(
            "SELECT a.address, t.target FROM aliases a JOIN alias_targets t"
            " ON t.alias_id = a.id ORDER BY a.address, t.position").fetchall())
        targets: dict[str, list[str]] = {}
        for address, target in rows:
            targets.setdefault(address, []).append(target)
        return [Alias(address, tuple(listed)) for address, listed in targets.items()]

    async def aliases_of(self, address: str) -> list[str]:
        key = lookup_address(address)
        rows = self._lookup(lambda connection: connection.execute(
            "SELECT a.address FROM alias_targets t JOIN aliases a ON a.id = t.alias_id"
            " WHERE t.target = ? ORDER BY a.address", (key,)).fetchall())
        return [alias for (alias,) in rows]

    # --- mailboxes

    async def list_mailboxes(self, account_id: AccountId) -> list[Mailbox]:
        rows = await self._read(lambda connection: connection.execute(
            f"SELECT {_MAILBOX_COLUMNS} FROM mailboxes WHERE account_id = ?"
            " ORDER BY name <> 'INBOX', name",
            (account_id,)).fetchall())
        return [_mailbox(row) for row in rows]

    async def get_mailbox(self, account_id: AccountId, name: str) -> Mailbox | None:
        row = self._lookup_one(
            f"SELECT {_MAILBOX_COLUMNS} FROM mailboxes WHERE account_id = ? AND name = ?",
            (account_id, normalise_mailbox_name(name)))
        return None if row is None else _mailbox(row)

    async def create_mailbox(self, account_id: AccountId, name: str, *,
                             special_use: SpecialUse | None = None) -> Mailbox:
        normalised = validate_new_mailbox_name(name)
        return await self._write(lambda connection: writes.create_mailbox(
            connection, account_id, normalised, special_use))

    # --- messages

    async def store_message(self, message: NewMessage) -> list[Delivered]:
        prepared = await _prepare_message(message)
        return await self._write(lambda connection: writes.store_message(connection,
                                                                         prepared))

    async def list_messages(self, mailbox_id: MailboxId) -> list[Message]:
        # The MODSEQ shown is the membership's: RFC 7162 §3.1 gives each message in a
        # mailbox its own mod-sequence.
        rows = await self._read(lambda connection: connection.execute(
            "SELECT m.id, m.account_id, m.blob_id, m.size, m.internal_date, m.thread_id,"
            " m.keywords, mm.modseq, m.envelope, mm.mailbox_id, mm.uid"
            " FROM mailbox_messages mm JOIN messages m ON m.id = mm.message_id"
            " WHERE mm.mailbox_id = ? ORDER BY mm.uid", (mailbox_id,)).fetchall())
        return [_message(row) for row in rows]

    async def get_message(self, message_id: MessageId) -> Message | None:
        row = self._lookup_one(
            "SELECT id, account_id, blob_id, size, internal_date, thread_id, keywords,"
            " modseq, envelope, NULL, NULL FROM messages WHERE id = ?", (message_id,))
        return None if row is None else _message(row)

    async def read_blob(self, blob_id: BlobId) -> bytes | None:
        row = await self._read(lambda connection: fetch_one(
            connection, "SELECT data FROM blobs WHERE id = ?", (blob_id,)))
        return None if row is None else bytes(row[0])

    # --- change log

    async def highest_modseq(self, account_id: AccountId) -> ModSeq:
        row = self._lookup_one("SELECT highest_modseq FROM accounts WHERE id = ?",
                               (account_id,))
        if row is None:
            raise NotFound(f"no account with id {account_id}")
        return ModSeq(row[0])

    async def changes_since(self, account_id: AccountId, modseq: ModSeq) -> list[Change]:
        # One statement, so the account check and the changes come from one snapshot.
        rows = await self._read(lambda connection: connection.execute(
            "SELECT c.modseq, c.object_type, c.object_id, c.kind FROM accounts a"
            " LEFT JOIN changes c ON c.account_id = a.id AND c.modseq > ?"
            " WHERE a.id = ? ORDER BY c.modseq, c.seq", (modseq, account_id)).fetchall())
        if not rows:
            raise NotFound(f"no account with id {account_id}")
        return [Change(ModSeq(row[0]), ObjectType(row[1]), row[2], ChangeKind(row[3]))
                for row in rows if row[0] is not None]


# --- pure helpers: preparing writes, decoding rows


async def _prepare_message(message: NewMessage) -> writes.PreparedMessage:
    """The pure work of store_message, done before the job reaches the writer thread."""
    if not message.deliveries:
        raise StoreError("a message needs at least one delivery")
    internal_date = message.internal_date
    if internal_date.utcoffset() is None:
        # RFC 9051 §2.3.3: the internal date includes a time zone ("date-time" in §9).
        raise StoreError("internal_date must carry a time zone")
    raw = message.raw
    digest = (hashlib.sha256(raw) if len(raw) <= _HASH_INLINE_LIMIT
              else await asyncio.to_thread(hashlib.sha256, raw))
    keys = message.thread_keys
    references = [ref for ref in map(normalise_message_id, keys.references) if ref]
    deliveries = []
    for delivery in message.deliveries:
        keywords = normalise_keywords(delivery.keywords)
        envelope = (None if delivery.envelope is None else
                    json.dumps(_envelope_fields(delivery.envelope), ensure_ascii=False))
        deliveries.append(writes.PreparedDelivery(
            account_id=delivery.account_id,
            mailbox=normalise_mailbox_name(delivery.mailbox),
            keywords_json=json.dumps(keywords, ensure_ascii=False),
            seen=SEEN in keywords,
            envelope_json=envelope))
    return writes.PreparedMessage(
        raw=raw,
        blob_id=BlobId(f"sha256:{digest.hexdigest()}"),
        internal_date=internal_date.isoformat(),
        internal_date_epoch=int(internal_date.timestamp()),
        received_at=datetime.now(UTC).isoformat(),
        header_message_id=normalise_message_id(keys.message_id),
        # The nearest ancestors come last in References (RFC 5322 §3.6.4).
        references=tuple(references[-writes.MAX_THREAD_REFERENCES:]),
        deliveries=tuple(deliveries))


def _envelope_fields(envelope: Envelope) -> dict[str, Any]:
    # dataclasses.asdict deep-copies every value; the fields are flat, so this is the
    # same dict at a tenth of the cost, on the path of every delivery.
    return {name: getattr(envelope, name) for name in _ENVELOPE_FIELDS}


_ENVELOPE_FIELDS = tuple(field.name for field in dataclasses.fields(Envelope))


def _account(row: Sequence[Any]) -> Account:
    return Account(AccountId(row[0]), row[1], row[2], datetime.fromisoformat(row[3]))


def _mailbox(row: Sequence[Any]) -> Mailbox:
    return Mailbox(
        id=MailboxId(row[0]), account_id=AccountId(row[1]), name=row[2],
        special_use=None if row[3] is None else SpecialUse(row[3]),
        uid_validity=row[4], uid_next=Uid(row[5]), highest_modseq=ModSeq(row[6]),
        subscribed=bool(row[7]), messages=row[8], unseen=row[9], size=row[10])


def _message(row: Sequence[Any]) -> Message:
    return Message(
        id=MessageId(row[0]), account_id=AccountId(row[1]), blob_id=BlobId(row[2]),
        size=row[3], internal_date=datetime.fromisoformat(row[4]),
        thread_id=ThreadId(row[5]), keywords=frozenset(json.loads(row[6])),
        modseq=ModSeq(row[7]), envelope=_envelope(row[8]),
        mailbox_id=None if row[9] is None else MailboxId(row[9]),
        uid=None if row[10] is None else Uid(row[10]))


def _envelope(text: str | None) -> Envelope | None:
    """The stored JSON back into the Envelope it was made from (lists become the
    tuples they were); keys a newer version added are ignored."""
    if text is None:
        return None
    data = json.loads(text)
    values: dict[str, Any] = {}
    for field in dataclasses.fields(Envelope):
        if field.name in data:
            value = data[field.name]
            values[field.name] = tuple(value) if isinstance(value, list) else value
    return Envelope(**values)
