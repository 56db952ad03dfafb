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
  explicit read transaction, or runs its statements in one read transaction
  (``sqlite_reads.snapshot``: a mailbox view and its HIGHESTMODSEQ must agree), and
  always reads to the end (``fetch_one``/``fetchall``): a half-read statement would
  keep its snapshot open and hide later commits.
- Mailbox counters (messages, unseen, size, deleted) are kept in the mailbox row by the
  writes that change them, so STATUS and Mailbox/get stay point lookups on big
  mailboxes.
- The code is split by family: ``sqlite_writes*`` (write jobs), ``sqlite_reads`` (the
  IMAP views and full-text search), ``sqlite_rows`` (row decoding), ``sqlite_prepare``
  (the pure part of writes), ``sqlite_watch`` (change notification), ``sqlite_memory``
  (free memory back to the OS after bursts of work: every write and pooled read notes
  itself there).
- Threads: a message joins the thread of the earliest earlier message of its account
  that it refers to (In-Reply-To/References) or shares its Message-ID with, else starts
  its own (thread id = its message id); threads are never merged, since JMAP threadId
  is immutable (``sqlite_writes_messages._find_thread``). Message-IDs are looked up through an
  index on messages (account_id, header_message_id), not a separate table: same lookup,
  no second copy to keep in step.
- remove_account deletes the account's blobs that no other message uses, in the same
  transaction: content-addressed blobs are shared, so only unreferenced ones go.
- sqlite3 exceptions never reach callers: reads and writes translate them into
  ``StoreError`` subclasses (``sqlite_commit.translate_error``).
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import sqlite3
from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from reference.message.text import SearchText
from reference.store import sqlite_reads as reads
from reference.store import sqlite_rows as rows
from reference.store import sqlite_writes as writes
from reference.store import sqlite_writes_flags as flag_writes
from reference.store import sqlite_writes_mailboxes as mailbox_writes
from reference.store import sqlite_writes_messages as message_writes
from reference.store.interface import (
    Account,
    AccountId,
    Alias,
    BlobId,
    Change,
    ChangeKind,
    Delivered,
    Domain,
    FlagUpdate,
    Mailbox,
    MailboxChanges,
    MailboxEntry,
    MailboxId,
    MailboxNotFound,
    MailboxView,
    Message,
    MessageContent,
    MessageId,
    ModSeq,
    NewMessage,
    NotFound,
    ObjectType,
    SpecialUse,
    StoreError,
    Uid,
)
from reference.store.normalise import (
    lookup_address,
    normalise_address,
    normalise_domain,
    normalise_mailbox_name,
    normalise_target,
    validate_new_mailbox_name,
)
from reference.store.sqlite_commit import (
    DEFAULT_MAX_BATCH,
    GroupCommitWriter,
    WriterStats,
    translate_error,
)
from reference.store.sqlite_memory import IdleMemoryRelease
from reference.store.sqlite_prepare import (
    prepare_flags,
    prepare_message,
    prepare_search_text,
    prepare_uids,
)
from reference.store.sqlite_rows import uids_json
from reference.store.sqlite_schema import connect
from reference.store.sqlite_watch import (
    DEFAULT_WATCH_INTERVAL,
    TAKE_TOUCHED,
    WATCH_SETUP,
    ChangeHub,
    SqliteChangeWatcher,
)
from reference.store.sqlite_writes import fetch_one

T = TypeVar("T")

DEFAULT_BUSY_TIMEOUT_MS = 5000
DEFAULT_READ_THREADS = 4


class SqliteStore:
    """``MailStore`` on one SQLite file. Create it with ``await SqliteStore.open(path)``."""

    def __init__(self, path: str, writer: GroupCommitWriter, reader: sqlite3.Connection,
                 pool: reads.ReaderPool, hub: ChangeHub) -> None:
        self.path = path
        self._writer = writer
        self._reader = reader       # inline point lookups, event-loop thread only
        self._pool = pool
        self._hub = hub
        self._memory = IdleMemoryRelease()
        self._closed = False

    @classmethod
    async def open(cls, path: str | os.PathLike[str], *,
                   busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
                   max_batch: int = DEFAULT_MAX_BATCH,
                   read_threads: int = DEFAULT_READ_THREADS,
                   watch_interval: float = DEFAULT_WATCH_INTERVAL) -> SqliteStore:
        """Open (creating or migrating as needed) the store in the file ``path``.
        ``watch_interval``: seconds between polls for other processes' changes while
        someone watches (``watch``)."""
        path = os.fspath(path)
        if path == ":memory:" or path.startswith("file:") or not path:
            # Several connections must see one database, and memory is not durable.
            raise StoreError(f"the SQLite store needs a file path, not {path!r}")

        def connect_writer() -> sqlite3.Connection:
            # Used by the event loop and the writer's helper thread, one at a time.
            connection = connect(path, busy_timeout_ms=busy_timeout_ms, writer=True,
                                 check_same_thread=False)
            for statement in (*WATCH_SETUP, *message_writes.PENDING_TEXT_SETUP):
                connection.execute(statement)
            return connection

        def connect_reader() -> sqlite3.Connection:
            # Closed by close() from another thread, once its pool thread has stopped.
            return connect(path, busy_timeout_ms=busy_timeout_ms, writer=False,
                           check_same_thread=False)

        hubs: list[ChangeHub] = []

        def before_commit(connection: sqlite3.Connection) -> Callable[[], None] | None:
            touched = connection.execute(TAKE_TOUCHED).fetchall()
            if not touched or not hubs:
                return None
            return lambda: hubs[0].committed(touched)

        writer = GroupCommitWriter(connect_writer, max_batch=max_batch,
                                   lock_path=f"{path}.write-lock",
                                   before_commit=before_commit,
                                   commit_step=message_writes.index_pending_text)
        await writer.start()        # creates or migrates the schema first
        try:
            reader = connect(path, busy_timeout_ms=busy_timeout_ms, writer=False)
        except BaseException as error:
            await writer.close()
            raise translate_error(error) from error
        store = cls(path, writer, reader, reads.ReaderPool(connect_reader, read_threads),
                    ChangeHub(lambda accounts: store._modseqs(accounts),
                              interval=watch_interval))
        hubs.append(store._hub)
        return store

    @property
    def stats(self) -> WriterStats:
        """Counters of the group-commit writer (jobs, commits, ...), live."""
        return self._writer.stats

    @property
    def watch_polls(self) -> int:
        """Queries made so far for watchers (one per interval, for all watched accounts)."""
        return self._hub.polls

    @property
    def memory_releases(self) -> int:
        """Times free memory was returned to the OS so far (``sqlite_memory``)."""
        return self._memory.releases

    async def close(self) -> None:
        """Finish every write already submitted, then close all connections. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._hub.close()
        self._memory.close()
        await self._writer.close()
        await asyncio.to_thread(self._pool.close)
        self._reader.close()

    # --- plumbing

    async def _write(self, job: Callable[[sqlite3.Connection], T]) -> T:
        if self._closed:
            raise StoreError("the store is closed")
        try:
            return await self._writer.submit(job)
        finally:
            self._memory.note()

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
        try:
            return await self._pool.run(query)
        finally:
            self._memory.note()

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
        row = self._lookup_one(f"SELECT {rows.ACCOUNT_COLUMNS} FROM accounts WHERE address = ?",
                               (lookup_address(address),))
        return None if row is None else rows.account(row)

    async def get_account_by_id(self, account_id: AccountId) -> Account | None:
        row = self._lookup_one(f"SELECT {rows.ACCOUNT_COLUMNS} FROM accounts WHERE id = ?",
                               (account_id,))
        return None if row is None else rows.account(row)

    async def list_accounts(self) -> list[Account]:
        found = await self._read(lambda connection: connection.execute(
            f"SELECT {rows.ACCOUNT_COLUMNS} FROM accounts ORDER BY address").fetchall())
        return [rows.account(row) for row in found]

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
        found = await self._read(lambda connection: connection.execute(
            f"SELECT {rows.MAILBOX_COLUMNS} FROM mailboxes b WHERE b.account_id = ?"
            " ORDER BY b.name <> 'INBOX', b.name", (account_id,)).fetchall())
        return [rows.mailbox(row) for row in found]

    async def get_mailbox(self, account_id: AccountId, name: str) -> Mailbox | None:
        row = self._lookup_one(
            f"SELECT {rows.MAILBOX_COLUMNS} FROM mailboxes b WHERE b.account_id = ?"
            " AND b.name = ?", (account_id, normalise_mailbox_name(name)))
        return None if row is None else rows.mailbox(row)

    async def get_mailbox_by_id(self, mailbox_id: MailboxId) -> Mailbox | None:
        row = self._lookup_one(
            f"SELECT {rows.MAILBOX_COLUMNS} FROM mailboxes b WHERE b.id = ?", (mailbox_id,))
        return None if row is None else rows.mailbox(row)

    async def create_mailbox(self, account_id: AccountId, name: str, *,
                             special_use: SpecialUse | None = None) -> Mailbox:
        normalised = validate_new_mailbox_name(name)
        return await self._write(lambda connection: mailbox_writes.create_mailbox(
            connection, account_id, normalised, special_use))

    async def delete_mailbox(self, account_id: AccountId, name: str) -> None:
        normalised = normalise_mailbox_name(name)
        await self._write(lambda connection: mailbox_writes.delete_mailbox(
            connection, account_id, normalised))

    async def rename_mailbox(self, account_id: AccountId, old: str, new: str) -> Mailbox:
        source, target = normalise_mailbox_name(old), validate_new_mailbox_name(new)
        return await self._write(lambda connection: mailbox_writes.rename_mailbox(
            connection, account_id, source, target))

    # --- subscriptions

    async def subscribe(self, account_id: AccountId, name: str) -> None:
        normalised = validate_new_mailbox_name(name)
        await self._write(lambda connection: mailbox_writes.subscribe(
            connection, account_id, normalised))

    async def unsubscribe(self, account_id: AccountId, name: str) -> None:
        normalised = normalise_mailbox_name(name)
        await self._write(lambda connection: mailbox_writes.unsubscribe(
            connection, account_id, normalised))

    async def list_subscriptions(self, account_id: AccountId) -> list[str]:
        found = await self._read(lambda connection: connection.execute(
            "SELECT name FROM subscriptions WHERE account_id = ?"
            " ORDER BY name <> 'INBOX', name", (account_id,)).fetchall())
        return [name for (name,) in found]

    # --- messages

    async def store_message(self, message: NewMessage) -> list[Delivered]:
        prepared = await prepare_message(message)
        return (await self._write(lambda connection: message_writes.store_messages(
            connection, [prepared])))[0]

    async def store_messages(self, messages: Sequence[NewMessage]) -> list[list[Delivered]]:
        prepared = [await prepare_message(message) for message in messages]
        return await self._write(lambda connection: message_writes.store_messages(
            connection, prepared))

    async def list_messages(self, mailbox_id: MailboxId) -> list[Message]:
        # The MODSEQ shown is the membership's: RFC 7162 §3.1 gives each message in a
        # mailbox its own mod-sequence.
        found = await self._read(lambda connection: connection.execute(
            "SELECT m.id, m.account_id, m.blob_id, m.size, m.internal_date, m.thread_id,"
            " m.keywords, mm.modseq, m.envelope, mm.mailbox_id, mm.uid, mm.deleted"
            " FROM mailbox_messages mm JOIN messages m ON m.id = mm.message_id"
            " WHERE mm.mailbox_id = ? ORDER BY mm.uid", (mailbox_id,)).fetchall())
        return [rows.message(row) for row in found]

    async def get_message(self, message_id: MessageId) -> Message | None:
        row = self._lookup_one(
            "SELECT id, account_id, blob_id, size, internal_date, thread_id, keywords,"
            " modseq, envelope, NULL, NULL, 0 FROM messages WHERE id = ?", (message_id,))
        return None if row is None else rows.message(row)

    async def get_structure(self, message_id: MessageId) -> str | None:
        row = self._lookup_one(
            "SELECT s.structure FROM messages m JOIN blob_structures s"
            " ON s.blob_id = m.blob_id WHERE m.id = ?", (message_id,))
        return None if row is None else str(row[0])

    async def read_blob(self, blob_id: BlobId) -> bytes | None:
        row = await self._read(lambda connection: fetch_one(
            connection, "SELECT data FROM blobs WHERE id = ?", (blob_id,)))
        return None if row is None else bytes(row[0])

    async def message_contents(self, message_ids: Iterable[MessageId], *,
                               structure: bool = True, headers_only: bool = False
                               ) -> dict[MessageId, MessageContent]:
        wanted = uids_json(message_ids)
        if headers_only:
            return await self._read(lambda connection: reads.snapshot(
                connection, lambda connection: reads.message_headers(connection, wanted)))
        return await self._read(lambda connection: reads.message_contents(
            connection, wanted, structure=structure))

    # --- IMAP views of a mailbox

    async def mailbox_view(self, mailbox_id: MailboxId) -> MailboxView:
        return await self._read(lambda connection: reads.mailbox_view(connection, mailbox_id))

    async def mailbox_entries(self, mailbox_id: MailboxId,
                              uids: Iterable[Uid] | None = None) -> list[MailboxEntry]:
        wanted = None if uids is None else uids_json(prepare_uids(uids))
        return await self._read(lambda connection: reads.mailbox_entries(
            connection, mailbox_id, wanted))

    async def mailbox_contents(self, mailbox_id: MailboxId, uids: Iterable[Uid], *,
                               structure: bool = True, max_octets: int,
                               headers_only: bool = False
                               ) -> tuple[list[MailboxEntry],
                                          dict[MessageId, MessageContent] | None]:
        wanted = uids_json(prepare_uids(uids))
        return await self._read(lambda connection: reads.mailbox_contents(
            connection, mailbox_id, wanted, structure=structure, max_octets=max_octets,
            headers_only=headers_only))

    async def mailbox_changes(self, mailbox_id: MailboxId, since: ModSeq, *,
                              excluding: Collection[ModSeq] = ()) -> MailboxChanges:
        own = tuple(excluding)
        return await self._read(lambda connection: reads.mailbox_changes(
            connection, mailbox_id, since, own))

    async def changed_since(self, mailbox_id: MailboxId, modseq: ModSeq) -> list[MailboxEntry]:
        return await self._read(lambda connection: reads.changed_since(
            connection, mailbox_id, modseq))

    async def expunged_since(self, mailbox_id: MailboxId, modseq: ModSeq) -> list[Uid]:
        return await self._read(lambda connection: reads.expunged_since(
            connection, mailbox_id, modseq))

    async def claim_recent(self, mailbox_id: MailboxId, *, claim: bool = True) -> range:
        row = self._lookup_one("SELECT recent_uid, uid_next FROM mailboxes WHERE id = ?",
                               (mailbox_id,))
        if row is None:
            raise MailboxNotFound(f"no mailbox with id {mailbox_id}")
        if not claim or row[0] >= row[1]:
            # Nothing arrived since the last claim: no write job (a message arriving
            # after this read is claimed by the next refresh).
            return range(row[0], row[1])
        return await self._write(lambda connection: mailbox_writes.claim_recent(
            connection, mailbox_id))

    # --- flags, expunge, copy and move

    async def update_flags(self, mailbox_id: MailboxId, uids: Iterable[Uid], *,
                           add: frozenset[str] = frozenset(),
                           remove: frozenset[str] = frozenset(),
                           replace: frozenset[str] | None = None,
                           unchanged_since: ModSeq | None = None) -> FlagUpdate:
        request = prepare_flags(uids, add=add, remove=remove, replace=replace,
                                unchanged_since=unchanged_since)
        return await self._write(lambda connection: flag_writes.update_flags(
            connection, mailbox_id, request))

    async def expunge(self, mailbox_id: MailboxId,
                      uids: Iterable[Uid] | None = None) -> list[Uid]:
        among = None if uids is None else prepare_uids(uids)
        return await self._write(lambda connection: flag_writes.expunge(
            connection, mailbox_id, among))

    async def copy_messages(self, source_mailbox_id: MailboxId, uids: Iterable[Uid],
                            target_mailbox_id: MailboxId) -> list[tuple[Uid, Uid]]:
        chosen = prepare_uids(uids)
        return await self._write(lambda connection: flag_writes.copy_messages(
            connection, source_mailbox_id, chosen, target_mailbox_id, move=False))

    async def move_messages(self, source_mailbox_id: MailboxId, uids: Iterable[Uid],
                            target_mailbox_id: MailboxId) -> list[tuple[Uid, Uid]]:
        chosen = prepare_uids(uids)
        return await self._write(lambda connection: flag_writes.copy_messages(
            connection, source_mailbox_id, chosen, target_mailbox_id, move=True))

    # --- full-text search

    async def search_candidates(self, mailbox_id: MailboxId,
                                substrings: Sequence[str]) -> set[Uid] | None:
        query = reads.fts_query(substrings)
        if query is None:
            return None
        return await self._read(lambda connection: reads.search_candidates(
            connection, mailbox_id, query))

    async def search_texts_containing(self, mailbox_id: MailboxId, body: Sequence[str],
                                      text: Sequence[str]
                                      ) -> tuple[set[Uid], set[Uid]] | None:
        query = reads.fts_query([*body, *text])
        if query is None:
            return None
        return await self._read(lambda connection: reads.search_texts_containing(
            connection, mailbox_id, query, body, text))

    async def reindex(self, index: Callable[[bytes], tuple[str, SearchText]], *,
                      everything: bool = False, batch: int = 200) -> int:
        which = "" if everything else \
            " AND m.id IN (SELECT message_id FROM messages_without_text)"
        sql = ("SELECT m.id, b.data FROM messages m JOIN blobs b ON b.id = m.blob_id"
               f" WHERE m.id > ?{which} ORDER BY m.id LIMIT ?")
        indexed, after = 0, 0
        while rows := await self._read(functools.partial(_fetch_all, sql, (after, batch))):
            made = []
            for message_id, data in rows:
                structure, text = index(bytes(data))
                made.append((MessageId(message_id), structure, prepare_search_text(text)))
            await self._write(functools.partial(message_writes.reindex_messages, made=made))
            indexed += len(rows)
            after = rows[-1][0]
        return indexed

    async def unindexed_messages(self) -> int:
        (count,) = await self._read(lambda connection: connection.execute(
            "SELECT count(*) FROM messages_without_text").fetchone())
        return int(count)

    async def message_texts(self, message_ids: Iterable[MessageId]
                            ) -> dict[MessageId, SearchText]:
        wanted = uids_json(message_ids)
        return await self._read(lambda connection: reads.message_texts(connection, wanted))

    # --- change log and notification

    async def highest_modseq(self, account_id: AccountId) -> ModSeq:
        row = self._lookup_one("SELECT highest_modseq FROM accounts WHERE id = ?",
                               (account_id,))
        if row is None:
            raise NotFound(f"no account with id {account_id}")
        return ModSeq(row[0])

    async def changes_since(self, account_id: AccountId, modseq: ModSeq) -> list[Change]:
        # One statement, so the account check and the changes come from one snapshot.
        found = await self._read(lambda connection: connection.execute(
            "SELECT c.modseq, c.object_type, c.object_ids, c.kind FROM accounts a"
            " LEFT JOIN change_runs c ON c.account_id = a.id AND c.modseq > ?"
            " WHERE a.id = ? ORDER BY c.modseq, c.seq", (modseq, account_id)).fetchall())
        if not found:
            raise NotFound(f"no account with id {account_id}")
        # Each row is a run of ids changed alike by one write (sqlite_writes.log_changes).
        return [Change(ModSeq(row[0]), ObjectType(row[1]), object_id, ChangeKind(row[3]))
                for row in found if row[0] is not None
                for object_id in json.loads(row[2])]

    async def watch(self, account_id: AccountId, *,
                    since: ModSeq | None = None) -> SqliteChangeWatcher:
        current = await self.highest_modseq(account_id)
        return self._hub.watch(account_id, since=current if since is None else since,
                               current=current)

    def _modseqs(self, accounts: list[AccountId]) -> dict[AccountId, ModSeq]:
        """The watcher's poll: every watched account's highest modseq, one query."""
        found = self._lookup(lambda connection: connection.execute(
            "SELECT id, highest_modseq FROM accounts WHERE id IN"
            " (SELECT value FROM json_each(?))", (uids_json(accounts),)).fetchall())
        return {AccountId(account_id): ModSeq(modseq) for account_id, modseq in found}


def _fetch_all(sql: str, parameters: Sequence[Any], connection: sqlite3.Connection
               ) -> list[Any]:
    return connection.execute(sql, parameters).fetchall()
