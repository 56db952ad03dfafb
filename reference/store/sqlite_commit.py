"""Group commit: every write of a SqliteStore goes through one writer, many per COMMIT.

A write is a *job*: a function of the writer's sqlite3 connection. ``submit`` queues it
and awaits its future. A batch is every job queued when the writer's transaction opens,
up to ``max_batch``, run in one transaction:

    event loop:     flock(LOCK_EX|LOCK_NB); BEGIN IMMEDIATE   -- if free at once, else
    helper thread:  flock(LOCK_EX); BEGIN IMMEDIATE           -- wait, off the event loop
    event loop:     <job 1>; <job 2>; ...                     -- optimistic: no savepoints
    helper thread:  [commit_step]; COMMIT; flock(LOCK_UN)     -- one fsync for the batch

then every future of the batch is settled. Nothing is acknowledged before the COMMIT
that makes it durable has returned.

Why the jobs run on the event loop thread: they are short (a delivery is a handful of
indexed statements, ~0.1 ms), and the sqlite3 module releases the GIL around every
statement. Run on a thread of their own, each statement had to win the GIL back from a
busy event loop: measured, a job then took 2.5 to 5 times as long, and with several
server processes the database's write lock was held that much longer. The steps that
wait (another process's lock, the fsync of COMMIT) are the ones left to the helper
thread. The writer's connection spills dirty pages to the WAL before COMMIT only beyond
``SPILL_PAGES`` (16 MiB of 4 KiB pages): jobs seldom dirty that much (a MULTIAPPEND of
500 typical messages, ~10 MiB), so they do no file I/O on the event loop and COMMIT
does it all; but no transaction holds unbounded memory either. (With spilling off, a
batch's whole index merge stayed in memory: its peak grew with the full-text index,
from 30 MiB to over 100 MiB by 30,000 messages.) Spilled pages are uncommitted WAL
frames, lost in a crash like any uncommitted write.

If a job raises, the batch is rolled back and its jobs are run again, each in a
SAVEPOINT of its own, so the failing job is rolled back alone and its future gets the
exception while the others commit. Jobs rarely fail (an unknown account, a name taken),
so the common path pays for no savepoint: SQLite keeps a statement journal of every page
a job changes while a savepoint is open, which cost more than the job's own statements.

Implementation notes:
- No timer, no artificial delay: batches form by themselves while a COMMIT (an fsync) is
  in flight, because submitters keep queueing meanwhile. A lone write pays one fsync and
  no waiting; under load, the cost of an fsync is shared by up to ``max_batch`` writes.
- A job must keep all its effects in the database, and may run twice (see above): it
  never caches anything in Python objects that a rollback would make wrong. If the
  batch's COMMIT fails, every job of the batch fails with it.
- Some errors (disk full, I/O error) make SQLite roll back the whole transaction, not
  just the statement; then no job of the batch can commit, and all of them fail.
- A submitter cancelled while waiting does not cancel its job: once queued it runs, and
  may commit. Cancelling means "I no longer wait for the answer", as with any RPC.
- sqlite3 exceptions never leave this module: they become ``StoreError`` subclasses
  (``translate_error``), with the original as ``__cause__``.
- Several server processes share one file (DESIGN principle 7). SQLite's own answer to a
  lock held by another process is its busy handler, which *sleeps* (1, 2, 5, 10 ms...)
  and polls: two writers then spend most of their time asleep. So each batch first takes
  an exclusive ``flock`` on a lock file beside the database: a blocking call that wakes
  as soon as the other process releases it. The SQLite lock is then always free when
  BEGIN IMMEDIATE asks for it, except against processes that do not take the flock (an
  sqlite3 shell), which the busy handler still covers, on the helper thread.
- The write lock is taken on the event loop when it is free (the usual case: a hop to
  the helper thread costs a loop iteration, and the lock would be held through it), on
  the helper thread when it is not. On the event loop BEGIN must not wait, so SQLite's
  busy timeout is 0 on this connection and the helper thread does its waiting (for a
  foreign process's lock) itself, up to the store's busy timeout.
- The connection is used by two threads, never at the same time: each step starts only
  when the previous one has finished (``check_same_thread=False`` on it).
- A writer serves the event loop it was started on.
- ``before_commit`` (optional) runs in each batch's transaction after its jobs, on the
  event loop, and returns what to do once the COMMIT has returned: the store uses it to
  announce which accounts changed (``sqlite_watch``), only after they are durable. If
  the COMMIT fails, the returned callback is dropped.
- ``commit_step`` (optional) runs in each batch's transaction on the helper thread, right
  before COMMIT: a few long statements that need no Python while they run (``INSERT ...
  SELECT``), so the sqlite3 module releases the GIL for each and the event loop goes on
  meanwhile (parsing the next messages). The store moves the batch's search text into
  the full-text index this way. If it fails, the batch fails as if its COMMIT had.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from reference.store.interface import AlreadyExists, NotFound, StoreError

T = TypeVar("T")

DEFAULT_MAX_BATCH = 256
# Dirty pages a transaction may hold before SQLite writes some to the WAL (module notes).
# Not a multiple of 256: PRAGMA cache_spill = N also reads N as a boolean, one octet of it.
SPILL_PAGES = 4000


def translate_error(error: BaseException) -> BaseException:
    """The exception a caller of the store sees for ``error``: store errors as they are,
    sqlite3 errors as StoreError subclasses, anything else (a bug) unchanged."""
    if not isinstance(error, sqlite3.Error):
        return error
    translated: StoreError
    if isinstance(error, sqlite3.IntegrityError) and "UNIQUE" in str(error):
        translated = AlreadyExists(f"already exists ({error})")
    elif isinstance(error, sqlite3.IntegrityError) and "FOREIGN KEY" in str(error):
        translated = NotFound(f"refers to something that does not exist ({error})")
    else:
        translated = StoreError(f"sqlite: {error}")
    translated.__cause__ = error
    return translated


@dataclass
class WriterStats:
    """Counters of the writer, for tests and benchmarks."""

    jobs: int = 0                      # jobs run (committed or failed)
    commits: int = 0                   # transactions committed: one per batch
    failed_jobs: int = 0               # jobs whose future got an exception
    largest_batch: int = 0
    lock_wait_seconds: float = 0.0     # waiting for the write lock (other processes)
    transaction_seconds: float = 0.0   # holding it: from BEGIN to the end of COMMIT

    @property
    def jobs_per_commit(self) -> float:
        return self.jobs / self.commits if self.commits else 0.0


@dataclass
class _Job(Generic[T]):
    run: Callable[[sqlite3.Connection], T]
    future: asyncio.Future[T]


# A settled job: its future, and either its result or the exception to raise.
_Outcome = tuple["asyncio.Future[Any]", Any, BaseException | None]
# Runs in the transaction before COMMIT; returns what to run after it succeeded.
BeforeCommit = Callable[[sqlite3.Connection], Callable[[], None] | None]
# Runs in the transaction on the helper thread, right before COMMIT.
CommitStep = Callable[[sqlite3.Connection], None]


class _JobFailed(Exception):
    """A job of an optimistic batch raised: the batch is rolled back and run again."""


class GroupCommitWriter:
    """The one writer of a store: its connection, its queue and its helper thread."""

    def __init__(self, connect: Callable[[], sqlite3.Connection], *,
                 max_batch: int = DEFAULT_MAX_BATCH, name: str = "rfcmail-sqlite-writer",
                 lock_path: str | None = None, before_commit: BeforeCommit | None = None,
                 commit_step: CommitStep | None = None):
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._connect = connect
        self._before_commit = before_commit
        self._commit_step = commit_step
        self._lock_path = lock_path
        self._busy_timeout = 0.0
        self._lock_fd: int | None = None
        self._max_batch = max_batch
        self._helper = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._connection: sqlite3.Connection | None = None
        self._pending: list[_Job[Any]] = []
        self._wakeup = asyncio.Event()
        self._flusher: asyncio.Task[None] | None = None
        self._closing = False
        self.stats = WriterStats()

    async def start(self) -> None:
        """Open the connection (``connect`` creates or migrates the schema) and start
        taking jobs; raise what ``connect`` raised."""
        loop = asyncio.get_running_loop()
        try:
            self._connection = await loop.run_in_executor(self._helper, self._open)
        except BaseException as error:
            self._helper.shutdown(wait=False)
            raise translate_error(error) from error
        self._flusher = loop.create_task(self._flush_forever(), name="rfcmail-sqlite-flush")

    def _open(self) -> sqlite3.Connection:
        connection = self._connect()
        try:
            # See the module notes: dirty pages stay in memory until COMMIT (up to
            # SPILL_PAGES), and BEGIN on the event loop never sleeps in SQLite's busy
            # handler.
            connection.execute(f"PRAGMA cache_spill = {SPILL_PAGES}")
            if connection.execute("PRAGMA cache_spill").fetchone()[0] < SPILL_PAGES:
                raise StoreError("PRAGMA cache_spill did not take")
            (timeout_ms,) = connection.execute("PRAGMA busy_timeout").fetchone()
            self._busy_timeout = timeout_ms / 1000
            connection.execute("PRAGMA busy_timeout = 0")
            if self._lock_path is not None:
                self._lock_fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except BaseException:
            connection.close()
            raise
        return connection

    async def submit(self, run: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``run(connection)`` in a write transaction; return its result once the
        transaction is committed, or raise what it raised (translated)."""
        if self._closing or self._flusher is None:
            raise StoreError("the store is closed" if self._closing else "the store is not open")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._pending.append(_Job(run, future))
        self._wakeup.set()
        return await future

    async def close(self) -> None:
        """Run every job queued so far, then close the connection and the thread."""
        if self._closing:
            return
        self._closing = True
        self._wakeup.set()
        if self._flusher is not None:
            await self._flusher
        connection, self._connection = self._connection, None
        loop = asyncio.get_running_loop()
        if connection is not None:
            await loop.run_in_executor(self._helper, self._close_connection, connection)
        self._helper.shutdown(wait=True)

    def _close_connection(self, connection: sqlite3.Connection) -> None:
        connection.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    # --- the batches

    async def _flush_forever(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            # One loop iteration for the other callbacks already due (more connections'
            # data, more jobs): they join this batch instead of waiting for the next.
            await asyncio.sleep(0)
            while self._pending:
                try:
                    await self._run_batch()
                except BaseException as error:
                    # A bug in this module: fail what is queued rather than leave callers
                    # hanging, and take no more work.
                    self._closing = True
                    failure = StoreError(f"the store's writer failed: {error!r}")
                    pending, self._pending = self._pending, []
                    _settle([(job.future, None, failure) for job in pending])
                    raise
            if self._closing:
                return

    async def _run_batch(self) -> None:
        loop = asyncio.get_running_loop()
        connection = self._connection
        assert connection is not None
        started = time.perf_counter()
        try:
            if not self._begin_at_once(connection):
                await loop.run_in_executor(self._helper, self._begin_waiting, connection)
        except Exception as error:
            # BEGIN failed (a foreign process held the lock past the busy timeout): the
            # jobs queued now fail; nothing was changed.
            batch = self._take_batch()
            self._record(batch, [(job.future, None, translate_error(error)) for job in batch],
                         committed=False)
            return
        locked = time.perf_counter()
        self.stats.lock_wait_seconds += locked - started
        # Taken after BEGIN: everything that arrived while the lock was awaited joins.
        batch = self._take_batch()
        try:
            try:
                outcomes = self._run_jobs(connection, batch, isolated=False)
            except _JobFailed:
                # One job raised: run the batch again with each job in a savepoint.
                self._rollback(connection)
                connection.execute("BEGIN IMMEDIATE")   # the flock is still ours
                outcomes = self._run_jobs(connection, batch, isolated=True)
            after_commit = (None if self._before_commit is None
                            else self._before_commit(connection))
            await loop.run_in_executor(self._helper, self._commit, connection)
        except Exception as error:
            # The transaction as a whole failed (COMMIT failed, or SQLite rolled
            # everything back): no job of the batch is committed, none may report success.
            self._rollback(connection)
            self._unlock()
            failure = translate_error(error)
            outcomes = [(job.future, None, failure) for job in batch]
            committed = False
            after_commit = None
        else:
            committed = True
        self.stats.transaction_seconds += time.perf_counter() - locked
        self._record(batch, outcomes, committed=committed)
        if after_commit is not None:
            after_commit()

    def _take_batch(self) -> list[_Job[Any]]:
        batch = self._pending[:self._max_batch]
        del self._pending[:self._max_batch]
        return batch

    def _record(self, batch: list[_Job[Any]], outcomes: list[_Outcome], *,
                committed: bool) -> None:
        self.stats.commits += committed
        self.stats.jobs += len(batch)
        self.stats.failed_jobs += sum(1 for _, _, error in outcomes if error is not None)
        self.stats.largest_batch = max(self.stats.largest_batch, len(batch))
        _settle(outcomes)

    # helper thread: the steps that wait

    def _begin_waiting(self, connection: sqlite3.Connection) -> None:
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX)   # see "Several server processes"
        deadline = time.monotonic() + self._busy_timeout
        while True:
            try:
                connection.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as error:
                if not _is_busy(error) or time.monotonic() >= deadline:
                    self._unlock()
                    raise
            time.sleep(0.002)           # a foreign process holds SQLite's lock
            # (our own processes take the flock first, so they never get here)

    def _commit(self, connection: sqlite3.Connection) -> None:
        try:
            if self._commit_step is not None:
                self._commit_step(connection)
            connection.execute("COMMIT")
        finally:
            if not connection.in_transaction:
                self._unlock()

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    # event loop: the lock when it is free, and the jobs

    def _begin_at_once(self, connection: sqlite3.Connection) -> bool:
        """Take the write lock and begin, if that needs no waiting."""
        if self._lock_fd is not None:
            try:
                fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
        try:
            connection.execute("BEGIN IMMEDIATE")   # busy timeout 0: fails, never waits
        except sqlite3.OperationalError as error:
            self._unlock()
            if _is_busy(error):
                return False
            raise
        return True

    def _run_jobs(self, connection: sqlite3.Connection, batch: list[_Job[Any]], *,
                  isolated: bool) -> list[_Outcome]:
        """Run ``batch`` in the open transaction. Without ``isolated``, a job that raises
        raises ``_JobFailed`` (the caller rolls back and runs them isolated)."""
        outcomes: list[_Outcome] = []
        for job in batch:
            if isolated:
                outcomes.append(self._run_isolated(connection, job))
                continue
            try:
                outcomes.append((job.future, job.run(connection), None))
            except Exception as error:
                if not connection.in_transaction:
                    raise       # SQLite rolled back the whole batch: all of it fails
                raise _JobFailed from error
        return outcomes

    @staticmethod
    def _run_isolated(connection: sqlite3.Connection, job: _Job[Any]) -> _Outcome:
        connection.execute("SAVEPOINT job")
        try:
            result = job.run(connection)
        except Exception as error:
            if not connection.in_transaction:
                raise       # SQLite rolled back the whole batch: all of it fails
            connection.execute("ROLLBACK TO job")
            connection.execute("RELEASE job")
            return (job.future, None, translate_error(error))
        connection.execute("RELEASE job")
        return (job.future, result, None)

    @staticmethod
    def _rollback(connection: sqlite3.Connection) -> None:
        if connection.in_transaction:
            # If even ROLLBACK fails, the next BEGIN fails too, and its batch gets that
            # error: callers hear of it, nobody hangs.
            with contextlib.suppress(sqlite3.Error):
                connection.execute("ROLLBACK")


def _is_busy(error: sqlite3.OperationalError) -> bool:
    """SQLITE_BUSY: another connection holds the lock ("database is locked")."""
    code = getattr(error, "sqlite_errorcode", None)
    return code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or "locked" in str(error)


def _settle(outcomes: list[_Outcome]) -> None:
    for future, result, error in outcomes:
        if future.done():       # cancelled by its submitter
            continue
        if error is None:
            future.set_result(result)
        else:
            future.set_exception(error)
