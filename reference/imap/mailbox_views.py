"""The UIDs and flags of recently selected mailboxes, shared by one process's sessions.

SELECT needs every message's UID (sequence numbers are positions, RFC 9051 §2.3.1.2) and
flags. Reading them from the store costs a row per message: ~1 µs each, 100 ms for a
100,000-message mailbox. Instead the process keeps, per mailbox, the UIDs and flags as of
a HIGHESTMODSEQ, and each SELECT brings that copy up to date from the store's changes
after it (``mailbox_changes``: what changed and what was expunged since, one snapshot),
then gives the session its own copy. The store stays the truth: the copy is only ever
moved forward by the store's changes, so several processes on one store (DESIGN
principle 7) each keep a correct copy; a mailbox deleted or re-created is a new mailbox
id, so its copy is never reused. Sessions are handed the copy's lists themselves, not
copies of them (``SharedLists``): a session copies them before its first change, and
the kept copy, moved forward while a session still holds them, works on copies too;
once no session holds them, it changes them in place (copy on write).

Two SELECTs in flight may read changes from different snapshots; only a newer snapshot
moves a copy (``highest_modseq`` grows), and applying changes is idempotent, so the
copy never goes back in time.

Memory is bounded: copies of at most ``max_messages`` messages in all are kept, the
least recently selected dropped first (``ImapPolicy.view_cache_messages``).
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from dataclasses import dataclass

from reference.store.interface import (
    Mailbox,
    MailboxChanges,
    MailboxId,
    MailboxNotFound,
    MailStore,
    ModSeq,
)


class SharedLists:
    """A kept copy's ``uids`` and ``flags`` as handed to sessions: read-only to them.
    Sessions hold this object while they read the lists (SelectedMailbox), so the kept
    copy knows (a weak reference) whether changing them in place is still safe."""

    __slots__ = ("__weakref__", "flags", "uids")

    def __init__(self, uids: list[int], flags: dict[int, frozenset[str]]) -> None:
        self.uids = uids
        self.flags = flags


@dataclass
class _Copy:
    mailbox: Mailbox                   # the row of the snapshot the copy is at
    uids: list[int]                    # ascending
    flags: dict[int, frozenset[str]]
    # Every flag seen on a message here since the copy was read: SELECT's FLAGS
    # (RFC 9051 §7.3.5 "the flags that are applicable for this mailbox").
    keywords: set[str]
    # ``uids`` and ``flags`` as handed to sessions, which read them as they are: while
    # a session still holds them, the next change works on copies of them.
    handed: weakref.ref[SharedLists] | None = None

    def hand_out(self) -> SharedLists:
        shared = self.handed() if self.handed is not None else None
        if shared is None:
            shared = SharedLists(self.uids, self.flags)
            self.handed = weakref.ref(shared)
        return shared

    def apply(self, changes: MailboxChanges) -> None:
        if self.handed is not None and self.handed() is not None:
            self.uids, self.flags = list(self.uids), dict(self.flags)
        self.handed = None
        if changes.expunged:
            gone = {int(uid) for uid in changes.expunged}
            self.uids = [uid for uid in self.uids if uid not in gone]
            for uid in gone:
                self.flags.pop(uid, None)
        newest = self.uids[-1] if self.uids else 0
        for entry in changes.changed:
            uid = int(entry.uid)
            if uid > newest:
                self.uids.append(uid)       # RFC 9051 §2.3.1.1: UIDs ascend
                newest = uid
            elif uid not in self.flags:
                continue                    # expunged in this same snapshot
            self.flags[uid] = entry.flags
            self.keywords.update(entry.flags)
        self.mailbox = changes.mailbox


@dataclass(frozen=True, slots=True)
class MailboxSnapshot:
    """The mailbox row, and its ascending UIDs and their flags (``lists``): shared with
    the kept copy and other sessions, so read-only (``SelectedMailbox.open(shared=...)``
    copies them before it changes them; the kept copy works on new ones while a session
    still holds these)."""

    mailbox: Mailbox
    lists: SharedLists
    keywords: frozenset[str]

    @property
    def uids(self) -> list[int]:
        return self.lists.uids

    @property
    def flags(self) -> dict[int, frozenset[str]]:
        return self.lists.flags


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
                    self._held -= len(copy.uids)
                    copy.apply(changes)
                    self._held += len(copy.uids)
            self._copies.move_to_end(mailbox_id)
        return MailboxSnapshot(copy.mailbox, copy.hand_out(), frozenset(copy.keywords))

    @property
    def held_messages(self) -> int:
        return self._held

    def forget(self, mailbox_id: MailboxId) -> None:
        copy = self._copies.pop(mailbox_id, None)
        if copy is not None:
            self._held -= len(copy.uids)

    async def _read(self, mailbox_id: MailboxId) -> _Copy:
        view = await self.store.mailbox_view(mailbox_id)
        uids = [int(uid) for uid in view.uids]
        copy = _Copy(view.mailbox, uids, dict(zip(uids, view.flags, strict=True)),
                     set().union(*set(view.flags)))
        if len(uids) > self.max_messages:
            return copy                       # too big to keep: this SELECT's alone
        kept = self._copies.get(mailbox_id)   # by a concurrent first read
        if kept is not None:
            if kept.mailbox.highest_modseq >= copy.mailbox.highest_modseq:
                return kept
            self.forget(mailbox_id)
        while self._copies and self._held + len(uids) > self.max_messages:
            _, dropped = self._copies.popitem(last=False)
            self._held -= len(dropped.uids)
        self._copies[mailbox_id] = copy
        self._held += len(uids)
        return copy


__all__ = ["MailboxSnapshot", "MailboxViews", "SharedLists"]
