"""The client's view of its selected mailbox: sequence numbers, flags, pending updates.

RFC 9051 §2.3.1.2: message sequence numbers run 1..n over the messages *as the client
knows them*; they change only when the client is told (EXISTS, EXPUNGE). So the session
keeps its own view and reconciles it with the store's present state, reporting each
difference at a moment the RFC allows:

- new messages: an EXISTS with the new count (RFC 9051 §7.4.1), at any response;
- flag changes by others: an unsolicited FETCH (FLAGS) (§7.5.2 "as well as by a
  unilateral server decision (e.g., flag updates)");
- expunges: an EXPUNGE per message, but §7.5.1 MUST NOT: "An EXPUNGE response MUST NOT
  be sent when no command is in progress, nor while responding to a FETCH, STORE, or
  SEARCH command" (the UID forms may). Until then the expunged message stays in the
  view as a *ghost*: it keeps its sequence number, so numbers stay in step with the
  client; its flags are no longer reported.

EXPUNGE responses go out from the highest sequence number down ("higher to lower",
§7.5.1), so each number is the message's position at the time it is sent.

Pure: the session feeds it what the store reports (entries changed since the view's
modseq, UIDs expunged) and turns the ``Updates`` into responses.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from reference.imap.flag_columns import FlagColumns


class ViewEntry(NamedTuple):
    """A message the store reports new or changed: its UID, flags as IMAP shows them in
    this mailbox, and MODSEQ (RFC 7162 §3.1). A named tuple: a STORE on 1,000 messages
    makes 1,000 of them."""

    uid: int
    flags: frozenset[str]
    modseq: int = 0


class FlagNews(Protocol):
    """What ``note_changes`` reads of a new or changed message: a ViewEntry, or the
    store's MailboxEntry or FlagState as it is (no copy made per message)."""

    @property
    def uid(self) -> int: ...
    @property
    def flags(self) -> frozenset[str]: ...
    @property
    def modseq(self) -> int: ...


@dataclass(frozen=True, slots=True)
class FlagChange:
    msn: int
    uid: int
    flags: frozenset[str]
    modseq: int


@dataclass(frozen=True, slots=True)
class Updates:
    """What to tell the client now, in this order: expunges, the new count, flags."""

    expunged_msns: tuple[int, ...] = ()       # descending, as they must be sent
    expunged_uids: tuple[int, ...] = ()       # the same messages' UIDs (QRESYNC VANISHED)
    exists: int | None = None                 # new message count, when it grew
    recent: int | None = None                 # RFC 3501 §7.3.2 RECENT, rev1 sessions
    flag_changes: tuple[FlagChange, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.expunged_msns or self.exists is not None or self.flag_changes
                    or self.recent is not None)


@dataclass
class SelectedMailbox:
    """One session's view of one selected mailbox."""

    mailbox_id: int
    uid_validity: int
    read_only: bool
    highest_modseq: int
    # The messages the client knows, ghosts included, in UID order (MSN = position + 1),
    # each with its flags as last told to the client (8 octets a message, flag_columns).
    columns: FlagColumns = field(default_factory=FlagColumns)
    # RFC 3501 §2.3.2: messages recent to this session (rev1 clients only).
    recent: set[int] = field(default_factory=set)
    _ghosts: set[int] = field(default_factory=set)
    _unreported_flags: dict[int, FlagNews] = field(default_factory=dict)
    _announced_exists: int = 0
    _announced_recent: int = 0
    # What ``columns`` are shared with others through (the process's kept copy of the
    # mailbox, other sessions), held while they are: copied before the first change.
    _shared: object | None = None

    @classmethod
    def open(cls, mailbox_id: int, uid_validity: int, columns: FlagColumns, *,
             read_only: bool, highest_modseq: int, recent: Iterable[int] = (),
             shared: object | None = None) -> SelectedMailbox:
        """The view of ``columns``: the UIDs, ascending as the store reads them (RFC 9051
        §2.3.1.1), and the flags of each. The view owns them from now on, or, when they
        are ``shared`` (through that object, which the view holds meanwhile), reads them
        and copies them before it changes them (a SELECT of a 100,000-message mailbox
        copies nothing until the mailbox changes)."""
        view = cls(mailbox_id, uid_validity, read_only, highest_modseq, columns,
                   _shared=shared)
        view.recent = set(recent)
        view._announced_exists = len(columns)         # SELECT's own EXISTS says it
        view._announced_recent = len(view.recent)
        return view

    # --- numbers -----------------------------------------------------------------------

    @property
    def uids(self) -> Sequence[int]:
        """Ascending UIDs, ghosts included: MSN = index + 1. Read-only."""
        return self.columns.uids

    @property
    def exists(self) -> int:
        """The message count the client knows (ghosts included)."""
        return len(self.columns)

    def msn(self, uid: int) -> int | None:
        """RFC 9051 §2.3.1.2: the message sequence number of ``uid``, if in the view."""
        position = self.columns.index(uid)
        return None if position is None else position + 1

    def uid_at(self, msn: int) -> int:
        return self.columns.uids[msn - 1]

    def flags_at(self, msn: int) -> frozenset[str]:
        """The flags of message ``msn`` as last told to the client."""
        return self.columns.flags_at(msn - 1)

    @property
    def has_ghosts(self) -> bool:
        return bool(self._ghosts)

    def is_ghost(self, uid: int) -> bool:
        """Expunged in the store, not yet reported to the client."""
        return uid in self._ghosts

    def flags_of(self, uid: int) -> frozenset[str] | None:
        """The flags of a message in the view that is not a ghost."""
        return None if uid in self._ghosts else self.columns.flags_of(uid)

    @property
    def max_uid(self) -> int:
        return self.columns.max_uid

    # --- what the store says happened --------------------------------------------------

    def note_changes(self, changed: Sequence[FlagNews], expunged: Iterable[int],
                     highest_modseq: int, *, report_own: AbstractSet[int] = frozenset()
                     ) -> list[tuple[int, FlagNews]]:
        """Record the store's news: ``changed`` entries (new or with new flags), in UID
        order as the store gives them, ``expunged`` UIDs, and the mailbox's
        HIGHESTMODSEQ after them. Returns the changed entries that were in the view
        already, each with its position (its message sequence number less one).

        ``report_own``: UIDs whose change this session made itself and reports itself
        (STORE's own FETCH responses), so they are not reported twice.
        """
        for uid in expunged:
            if uid not in self._ghosts and uid in self.columns:
                self._ghosts.add(uid)
                self._unreported_flags.pop(uid, None)
        if changed:
            self._own()
        columns = self.columns
        newest = columns.max_uid
        ghosts = self._ghosts
        present = [entry for entry in changed if entry.uid <= newest and entry.uid not in ghosts]
        flags_at, set_flags_at = columns.flags_at, columns.set_flags_at
        unreported = self._unreported_flags
        known_modseq = self.highest_modseq
        applied: list[tuple[int, FlagNews]] = []
        for entry, position in zip(present, columns.positions(e.uid for e in present),
                                   strict=True):
            if position is None:
                continue             # expunged and already reported: not in the view
            applied.append((position, entry))
            known = flags_at(position)
            set_flags_at(position, entry.flags)
            if entry.uid in report_own:
                unreported.pop(entry.uid, None)
            elif known != entry.flags or entry.modseq > known_modseq:
                # New flags, or a new MODSEQ (RFC 7162 §3.1: a CONDSTORE client is told).
                unreported[entry.uid] = entry
        for entry in changed:
            if entry.uid > newest:
                # RFC 9051 §2.3.1.1: UIDs are assigned in ascending order, so a new
                # message always goes at the end.
                columns.append(entry.uid, entry.flags)
                newest = entry.uid
        self.highest_modseq = max(self.highest_modseq, highest_modseq)
        return applied

    def _own(self) -> None:
        """Copy ``columns`` if they are shared, before changing them."""
        if self._shared is not None:
            self.columns, self._shared = self.columns.copy(), None

    def mark_recent(self, uids: Iterable[int]) -> None:
        self.recent.update(uids)

    # --- what may be told now ----------------------------------------------------------

    def take_updates(self, *, expunges_allowed: bool, report_modseq: bool = False
                     ) -> Updates:
        """The updates to send now; what is sent is no longer pending.

        ``expunges_allowed`` is False while answering FETCH, STORE or SEARCH (not their UID
        forms) and when no command is in progress (RFC 9051 §7.5.1).
        """
        expunged_msns: list[int] = []
        expunged_uids: list[int] = []
        if expunges_allowed and self._ghosts:
            uids = self.columns.uids
            for index in range(len(uids) - 1, -1, -1):
                uid = uids[index]
                if uid in self._ghosts:
                    expunged_msns.append(index + 1)
                    expunged_uids.append(uid)
            gone = self._ghosts
            self._own()
            self.columns.remove(gone)
            self.recent.difference_update(gone)
            self._ghosts = set()
            # EXPUNGE "also decrements the number of messages in the mailbox; it is not
            # necessary to send an EXISTS response with the new value" (§7.5.1).
            self._announced_exists -= len(expunged_msns)
        exists = None
        if len(self.columns) > self._announced_exists:
            exists = len(self.columns)
            self._announced_exists = exists
        recent = None
        if len(self.recent) != self._announced_recent:
            recent = self._announced_recent = len(self.recent)
        changes = []
        for uid, entry in sorted(self._unreported_flags.items()):
            msn = self.msn(uid)
            if msn is not None:
                changes.append(FlagChange(msn, uid, entry.flags,
                                          entry.modseq if report_modseq else 0))
        self._unreported_flags.clear()
        return Updates(tuple(expunged_msns), tuple(expunged_uids), exists, recent,
                       tuple(changes))
