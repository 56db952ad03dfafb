"""Change notification for the SQLite store: IMAP IDLE (RFC 2177, RFC 9051 §6.3.13) and
JMAP push (RFC 8620 §7) wake when an account's highest modseq grows.

Two paths feed it, so a change wakes watchers whichever process made it (DESIGN
principle 7, several processes on one file):

- this process's writes: the writer's connection has a temporary trigger that notes
  every account whose highest_modseq a job bumps (``WATCH_SETUP``), in the job's own
  transaction; right after the COMMIT that made the batch durable, the writer hands the
  accounts and their new values to ``ChangeHub.committed``. Nothing is announced that
  was not committed: a rolled-back job's notes are rolled back with it.
- other processes' writes: while at least one watcher is open, a poller reads the
  highest modseq of every watched account, in one query, every ``interval`` seconds
  (default 0.1 s), and wakes the watchers of those that grew. With no watcher open,
  nothing polls.

Watchers of one account share one state: a change wakes each of them once, however
many watch it; one that waits again after several changes gets them as one wakeup
(``wait`` returns the latest modseq). A watcher of an account that is removed raises
NotFound; every watcher raises StoreError once the store is closed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Self

from reference.store.interface import AccountId, ModSeq, NotFound, StoreError

log = logging.getLogger(__name__)

DEFAULT_WATCH_INTERVAL = 0.1

# Run on the writer's connection once (temporary objects live as long as it).
WATCH_SETUP = (
    "CREATE TEMP TABLE IF NOT EXISTS touched_accounts"
    " (account_id INTEGER PRIMARY KEY, modseq INTEGER NOT NULL)",
    "CREATE TEMP TRIGGER IF NOT EXISTS account_touched"
    " AFTER UPDATE OF highest_modseq ON main.accounts BEGIN"
    " INSERT OR REPLACE INTO touched_accounts (account_id, modseq)"
    " VALUES (NEW.id, NEW.highest_modseq); END",
)
# Run in the batch's transaction, after its jobs: what it changed, and forget it.
TAKE_TOUCHED = "DELETE FROM temp.touched_accounts RETURNING account_id, modseq"

ReadModSeqs = Callable[[list[AccountId]], dict[AccountId, ModSeq]]


class _Account:
    """What the watchers of one account share."""

    def __init__(self, modseq: ModSeq) -> None:
        self.modseq = modseq
        self.watchers: set[SqliteChangeWatcher] = set()
        self.error: StoreError | None = None

    def advance(self, modseq: ModSeq) -> None:
        if modseq > self.modseq:
            self.modseq = modseq
            self._wake()

    def fail(self, error: StoreError) -> None:
        self.error = error
        self._wake()

    def _wake(self) -> None:
        for watcher in self.watchers:
            watcher._event.set()


class ChangeHub:
    """The watchers of one store, its poller, and the writer's notifications."""

    def __init__(self, read_modseqs: ReadModSeqs, *,
                 interval: float = DEFAULT_WATCH_INTERVAL) -> None:
        if interval <= 0:
            raise ValueError("the watch interval must be positive")
        self._read_modseqs = read_modseqs
        self._interval = interval
        self._accounts: dict[AccountId, _Account] = {}
        self._poller: asyncio.Task[None] | None = None
        self._closed = False
        self.polls = 0                      # queries made, for tests

    def watch(self, account_id: AccountId, *, since: ModSeq,
              current: ModSeq) -> SqliteChangeWatcher:
        """A watcher reporting growth above ``since``; ``current`` is the value the
        caller just read."""
        if self._closed:
            raise StoreError("the store is closed")
        state = self._accounts.get(account_id)
        if state is None:
            state = self._accounts[account_id] = _Account(current)
        state.advance(current)
        watcher = SqliteChangeWatcher(self, account_id, state, since)
        state.watchers.add(watcher)
        if self._poller is None:
            self._poller = asyncio.get_running_loop().create_task(
                self._poll(), name="rfcmail-store-watch")
        return watcher

    @property
    def watched(self) -> int:
        """How many accounts are watched now."""
        return len(self._accounts)

    def committed(self, touched: Iterable[tuple[int, int]]) -> None:
        """The writer's report: these accounts' highest modseqs, now durable."""
        for account_id, modseq in touched:
            state = self._accounts.get(AccountId(account_id))
            if state is not None:
                state.advance(ModSeq(modseq))

    def close(self) -> None:
        """Stop polling; every watcher's wait raises StoreError from now on."""
        self._closed = True
        if self._poller is not None:
            self._poller.cancel()
            self._poller = None
        for state in self._accounts.values():
            state.fail(StoreError("the store is closed"))

    def _release(self, watcher: SqliteChangeWatcher) -> None:
        state = self._accounts.get(watcher.account_id)
        if state is None:
            return
        state.watchers.discard(watcher)
        if not state.watchers:
            del self._accounts[watcher.account_id]
        if not self._accounts and self._poller is not None:
            self._poller.cancel()
            self._poller = None

    async def _poll(self) -> None:
        while self._accounts:
            await asyncio.sleep(self._interval)
            accounts = sorted(self._accounts)
            try:
                current = self._read_modseqs(accounts)
            except StoreError as error:     # e.g. a busy file: try again next time
                log.warning("store.watch.poll_failed", extra={"error": str(error)})
                continue
            self.polls += 1
            for account_id in accounts:
                state = self._accounts.get(account_id)
                if state is None:
                    continue
                if account_id in current:
                    state.advance(current[account_id])
                else:
                    state.fail(NotFound(f"no account with id {account_id}"))


class SqliteChangeWatcher:
    """``interface.ChangeWatcher`` of the SQLite store (see the module notes)."""

    def __init__(self, hub: ChangeHub, account_id: AccountId, state: _Account,
                 since: ModSeq) -> None:
        self.account_id = account_id
        self._hub = hub
        self._state = state
        self._modseq = since
        self._event = asyncio.Event()
        self._closed = False

    @property
    def modseq(self) -> ModSeq:
        return self._modseq

    async def wait(self) -> ModSeq:
        """Return the account's highest modseq once it is above the last one reported."""
        while True:
            if self._closed:
                raise StoreError("the watcher is closed")
            if self._state.modseq > self._modseq:
                self._modseq = self._state.modseq
                return self._modseq
            if self._state.error is not None:
                raise self._state.error
            self._event.clear()
            await self._event.wait()

    def close(self) -> None:
        """Stop watching (idempotent): the store polls no more for this watcher."""
        if not self._closed:
            self._closed = True
            self._hub._release(self)
            self._event.set()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> ModSeq:
        if self._closed:
            raise StopAsyncIteration
        try:
            return await self.wait()
        except StoreError:
            if self._closed:
                raise StopAsyncIteration from None
            raise

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, kind: type[BaseException] | None,
                        error: BaseException | None,
                        traceback: TracebackType | None) -> None:
        self.close()

