"""Group commit: one writer thread runs every write of a SqliteStore, many per COMMIT.

A write is a *job*: a function of the writer's sqlite3 connection. ``submit`` queues it
and awaits its future. The writer thread takes the first queued job (blocking), then
every job already queued behind it, up to ``max_batch``, and runs the whole batch in one
``BEGIN IMMEDIATE`` transaction:

    BEGIN IMMEDIATE
      <job 1>; <job 2>; ...                      -- optimistic: no savepoints
    COMMIT                                       -- one fsync for the whole batch

and then settles every future of the batch with one ``loop.call_soon_threadsafe`` call.
Only then does any submitter see its result: nothing is acknowledged before the COMMIT
that makes it durable has returned.

If a job raises, the batch is rolled back and its jobs are run again, this time each in
a SAVEPOINT of their own, so the failing job is rolled back alone and its future gets the
exception while the others commit. Jobs rarely fail (an unknown account, a name taken),
so the common path pays for no savepoint: SQLite keeps a statement journal of every page
a job changes while a savepoint is open, which cost more than the job's own statements.

Implementation notes:
- No timer, no artificial delay: batches form by themselves while a COMMIT (an fsync) is
  in flight, because submitters keep queueing meanwhile. A lone write pays one fsync and
  no waiting; under load, the cost of an fsync is shared by up to ``max_batch`` writes.
- sqlite3 releases the GIL inside sqlite3_step, so the fsync of COMMIT runs while the
  event loop keeps serving connections.
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
  as soon as the other process releases it (and releases the GIL while it waits). The
  SQLite lock is then always free when BEGIN IMMEDIATE asks for it, except against
  processes that do not take the flock (administration commands), which the busy
  handler still covers.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import queue
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from reference.store.interface import AlreadyExists, NotFound, StoreError

T = TypeVar("T")

DEFAULT_MAX_BATCH = 256


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
    """Counters of the writer thread, for tests and benchmarks. Only the writer thread
    updates them; readers may see a batch half counted, never a torn number."""

    jobs: int = 0              # jobs run (committed or failed)
    commits: int = 0           # transactions committed: one per batch
    failed_jobs: int = 0       # jobs whose future got an exception
    largest_batch: int = 0

    @property
    def jobs_per_commit(self) -> float:
        return self.jobs / self.commits if self.commits else 0.0


@dataclass
class _Job(Generic[T]):
    run: Callable[[sqlite3.Connection], T]
    future: asyncio.Future[T]


# A settled job: its future, and either its result or the exception to raise.
_Outcome = tuple["asyncio.Future[Any]", Any, BaseException | None]



class GroupCommitWriter:
    """The one writer thread of a store, with its own connection."""

    def __init__(self, connect: Callable[[], sqlite3.Connection], *,
                 max_batch: int = DEFAULT_MAX_BATCH, name: str = "rfcmail-sqlite-writer",
                 lock_path: str | None = None):
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._connect = connect
        self._lock_path = lock_path
        self._lock_fd: int | None = None
        self._max_batch = max_batch
        # None is the stop marker close() queues: finish what is queued before it, then exit.
        self._queue: queue.SimpleQueue[_Job[Any] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._started: asyncio.Future[None] | None = None
        self._closing = False
        self.stats = WriterStats()

    async def start(self) -> None:
        """Start the thread; return once its connection is open (``connect`` has run,
        including any migration it does), or raise what ``connect`` raised."""
        loop = asyncio.get_running_loop()
        self._started = loop.create_future()
        self._thread.start()
        await self._started

    async def submit(self, run: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``run(connection)`` in a write transaction; return its result once the
        transaction is committed, or raise what it raised (translated)."""
        if self._closing:
            raise StoreError("the store is closed")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.put(_Job(run, future))
        return await future

    async def close(self) -> None:
        """Run every job queued so far, then stop the thread and close its connection."""
        if self._closing:
            return
        self._closing = True
        if self._thread.is_alive():
            self._queue.put(None)
            await asyncio.to_thread(self._thread.join)

    # --- the writer thread

    def _main(self) -> None:
        started = self._started
        assert started is not None
        try:
            connection = self._connect()
            if self._lock_path is not None:
                self._lock_fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except BaseException as error:
            _settle([(started, None, translate_error(error))])
            return
        _settle([(started, None, None)])
        try:
            self._serve(connection)
        except BaseException as error:
            # A bug in this module: fail what is queued rather than leave callers hanging.
            self._closing = True
            failure = StoreError(f"the store's writer thread failed: {error!r}")
            failed: list[_Outcome] = []
            while True:
                try:
                    job = self._queue.get_nowait()
                except queue.Empty:
                    break
                if job is not None:
                    failed.append((job.future, None, failure))
            _settle(failed)
            raise
        finally:
            connection.close()
            if self._lock_fd is not None:
                os.close(self._lock_fd)

    def _serve(self, connection: sqlite3.Connection) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while len(batch) < self._max_batch:
                try:
                    job = self._queue.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    stop = True
                    break
                batch.append(job)
            _settle(self._run_batch(connection, batch))
            if stop:
                return

    def _run_batch(self, connection: sqlite3.Connection,
                   batch: list[_Job[Any]]) -> list[_Outcome]:
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX)   # see "Several server processes"
        try:
            try:
                outcomes = self._run_transaction(connection, batch, isolated=False)
            except _JobFailed:
                # One job raised: run the batch again with each job in a savepoint.
                outcomes = self._run_transaction(connection, batch, isolated=True)
        except Exception as error:
            # The transaction as a whole failed (BEGIN timed out on another process's
            # lock, COMMIT failed, or SQLite rolled everything back): no job of the batch
            # is committed, so none may report success.
            failure = translate_error(error)
            outcomes = [(job.future, None, failure) for job in batch]
        else:
            self.stats.commits += 1
        finally:
            if self._lock_fd is not None:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
        self.stats.jobs += len(batch)
        self.stats.failed_jobs += sum(1 for _, _, error in outcomes if error is not None)
        self.stats.largest_batch = max(self.stats.largest_batch, len(batch))
        return outcomes

    def _run_transaction(self, connection: sqlite3.Connection, batch: list[_Job[Any]], *,
                         isolated: bool) -> list[_Outcome]:
        """Run ``batch`` in one transaction and commit it. Without ``isolated``, the
        first job that raises rolls everything back and raises ``_JobFailed``."""
        outcomes: list[_Outcome] = []
        try:
            connection.execute("BEGIN IMMEDIATE")
            for job in batch:
                if isolated:
                    outcomes.append(self._run_isolated(connection, job))
                else:
                    try:
                        outcomes.append((job.future, job.run(connection), None))
                    except Exception as error:
                        if not connection.in_transaction:
                            raise       # SQLite rolled back the whole batch: all fail
                        raise _JobFailed from error
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                # If even ROLLBACK fails, the next BEGIN fails too, and its batch gets
                # that error: callers hear of it, nobody hangs.
                with contextlib.suppress(sqlite3.Error):
                    connection.execute("ROLLBACK")
            raise
        return outcomes

    @staticmethod
    def _run_isolated(connection: sqlite3.Connection, job: _Job[Any]) -> _Outcome:
        connection.execute("SAVEPOINT job")
        try:
            result = job.run(connection)
        except Exception as error:
            if not connection.in_transaction:
                raise       # SQLite rolled back the whole batch: _run_batch fails it all
            connection.execute("ROLLBACK TO job")
            connection.execute("RELEASE job")
            return (job.future, None, translate_error(error))
        connection.execute("RELEASE job")
        return (job.future, result, None)


class _JobFailed(Exception):
    """A job of an optimistic batch raised: the batch is rolled back and run again."""


def _settle(outcomes: list[_Outcome]) -> None:
    """Hand outcomes to their event loops: one call_soon_threadsafe per loop (a store is
    normally used from one loop, so one call per batch)."""
    by_loop: dict[asyncio.AbstractEventLoop, list[_Outcome]] = {}
    for outcome in outcomes:
        by_loop.setdefault(outcome[0].get_loop(), []).append(outcome)
    for loop, settled in by_loop.items():
        # A closed loop raises RuntimeError: nobody is waiting any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_resolve, settled)


def _resolve(outcomes: list[_Outcome]) -> None:
    for future, result, error in outcomes:
        if future.done():       # cancelled by its submitter
            continue
        if error is None:
            future.set_result(result)
        else:
            future.set_exception(error)
