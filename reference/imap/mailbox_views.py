"""The UIDs and flags of recently selected mailboxes, shared by one process's sessions.

SELECT needs every message's UID (sequence numbers are positions, RFC 9051 §2.3.1.2) and
flags. Reading them from the store costs a row per message: ~1 µs each, 100 ms for a
100,000-message mailbox. Instead the process keeps, per mailbox, the UIDs and flags as of
a HIGHESTMODSEQ, and each SELECT brings that copy up to date from the store's changes
after it (``mailbox_changes``: what changed and what was expunged since, one snapshot),
then hands it to the session. The store stays the truth: the copy is only ever
moved forward by the store's changes, so several processes on one store (DESIGN
principle 7) each keep a correct copy; a mailbox deleted or re-created is a new mailbox
id, so its copy is never reused. Sessions are handed the copy's columns themselves, not
copies of them: a session copies them before its first change, and the kept copy, moved
forward while a session still holds them (``ColumnsLease``), works on a copy
too; once no session holds them, it changes them in place (copy on write). The columns
take 8 octets a message (``FlagColumns``).

Two SELECTs in flight may read changes from different snapshots; only a newer snapshot
moves a copy (``highest_modseq`` grows), and applying changes is idempotent, so the
copy never goes back in time.

Memory is bounded: copies of at most ``max_messages`` messages in all are kept, the
least recently selected dropped first (``ImapPolicy.view_cache_messages``): 4 MB for the
default 500,000.
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from reference.imap.flag_columns import FlagColumns
from reference.store.interface import (
    Mailbox,
    MailboxChanges,
    MailboxId,
    MailboxNotFound,
    MailStore,
    ModSeq,
)


class ColumnsLease:
    """A kept copy's columns as handed to sessions, which hold this while they read
    them (SelectedMailbox): the copy keeps a weak reference to it, so it knows whether
    changing the columns in place is still safe."""

    __slots__ = ("__weakref__", "columns")

    def __init__(self, columns: FlagColumns) -> None:
        self.columns = columns


@dataclass
class _Copy:
    mailbox: Mailbox                   # the row of the snapshot the copy is at
    columns: FlagColumns
    # ``columns`` as handed to sessions, which read them as they are: while a session
    # still holds the lease, the next change works on a copy.
    handed: weakref.ref[ColumnsLease] | None = None

    def hand_out(self) -> ColumnsLease:
        lease = self.handed() if self.handed is not None else None
        if lease is None:
            lease = ColumnsLease(self.columns)
            self.handed = weakref.ref(lease)
        return lease

    def apply(self, changes: MailboxChanges) -> None:
        if self.handed is not None and self.handed() is not None:
            self.columns = self.columns.copy()
        self.handed = None
        columns = self.columns
        if changes.expunged:
            columns.remove({int(uid) for uid in changes.expunged})
        # In UID order (as the store gives them): those already here first, then the new
        # ones (RFC 9051 §2.3.1.1: UIDs ascend, so a new message goes at the end).
        newest = columns.max_uid
        ordered = changes.changed
        known = [entry for entry in ordered if entry.uid <= newest]
        for entry, position in zip(known, columns.positions(int(e.uid) for e in known),
                                   strict=True):
            if position is not None:                # else expunged in this same snapshot
                columns.set_flags_at(position, entry.flags)
        for entry in ordered[len(known):]:
            if entry.uid > columns.max_uid:         # a UID twice would be one message
                columns.append(int(entry.uid), entry.flags)
        self.mailbox = changes.mailbox


@dataclass(frozen=True, slots=True)
class MailboxSnapshot:
    """The mailbox row, and its messages' UIDs and flags (``columns``): shared with the
    kept copy and other sessions, so read-only (``SelectedMailbox.open(shared=lease)``
    copies them before it changes them; the kept copy works on a copy while a session
    still holds the lease)."""

    mailbox: Mailbox
    lease: ColumnsLease

    @property
    def columns(self) -> FlagColumns:
        return self.lease.columns

    @property
    def uids(self) -> Sequence[int]:
        return self.lease.columns.uids

    @property
    def keywords(self) -> frozenset[str]:
        """Every flag seen on a message here since the copy was read: SELECT's FLAGS
        (RFC 9051 §7.3.5 "the flags that are applicable for this mailbox")."""
        return self.lease.columns.flags


class MailboxViews:
    """Per-process copies of selected mailboxes (see the module notes)."""

    def __init__(self, store: MailStore, max_messages: int = 500_000) -> None:
        self.store = store
        self.max_messages = max_messages
        self._copies: OrderedDict[int, _Copy] = OrderedDict()
        self._held = 0

    async def snapshot(self, mailbox_id: MailboxId) -> MailboxSnapshot:
        """The mailbox as the store has it now. MailboxNotFound when it is gone."""
        copy = self._copies.get(mailbox_id)
        if copy is None:
            copy = await self._read(mailbox_id)
        else:
            try:
                changes = await self.store.mailbox_changes(
                    mailbox_id, ModSeq(copy.mailbox.highest_modseq))
            except MailboxNotFound:
                self.forget(mailbox_id)
                raise
            current = self._copies.get(mailbox_id)
            if current is not None:
                copy = current                # another SELECT may have replaced it
                if changes.mailbox.highest_modseq > copy.mailbox.highest_modseq:
                    self._held -= len(copy.columns)
                    copy.apply(changes)
                    self._held += len(copy.columns)
            self._copies.move_to_end(mailbox_id)
        return MailboxSnapshot(copy.mailbox, copy.hand_out())

    @property
    def held_messages(self) -> int:
        return self._held

    def forget(self, mailbox_id: MailboxId) -> None:
        copy = self._copies.pop(mailbox_id, None)
        if copy is not None:
            self._held -= len(copy.columns)

    async def _read(self, mailbox_id: MailboxId) -> _Copy:
        view = await self.store.mailbox_view(mailbox_id)
        copy = _Copy(view.mailbox, FlagColumns.of(view.uids, view.flags))
        size = len(copy.columns)
        if size > self.max_messages:
            return copy                       # too big to keep: this SELECT's alone
        kept = self._copies.get(mailbox_id)   # by a concurrent first read
        if kept is not None:
            if kept.mailbox.highest_modseq >= copy.mailbox.highest_modseq:
                return kept
            self.forget(mailbox_id)
        while self._copies and self._held + size > self.max_messages:
            _, dropped = self._copies.popitem(last=False)
            self._held -= len(dropped.columns)
        self._copies[mailbox_id] = copy
        self._held += size
        return copy


__all__ = ["ColumnsLease", "MailboxSnapshot", "MailboxViews"]
