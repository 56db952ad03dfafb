"""The UIDs of a mailbox's messages and each one's flags, in two arrays: what SELECT
keeps of a mailbox (RFC 9051 §2.3.1.2: sequence numbers are positions in UID order;
§6.3.2: FLAGS, EXISTS), in memory that does not grow faster than 8 octets a message.

A 100,000-message mailbox held as a list of UIDs and a dict of their flags took ~9 MiB
(an int object, a list slot and a dict entry per message), in every server process that
had it selected, and again in every session that had its own copy. Here a UID is an
unsigned 32-bit array entry (RFC 9051 §9: ``nz-number`` is at most 4,294,967,295), and a
message's flags are the index, in another such array, of one of the distinct flag sets
seen in the mailbox: a mailbox's messages share a handful of sets (``\\Seen``;
``\\Seen \\Answered``; none...), so the table stays small. Copying (copy on write, see
mailbox_views.py) is then two array copies, not a dict of 100,000 entries.

The table of sets only grows: a set no message uses any more stays in it, and ``flags``
lists it (SELECT's FLAGS, RFC 9051 §7.3.5, "the flags that are applicable for this
mailbox": a flag once seen here stays applicable).
"""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Iterable, Iterator

from reference.store.interface import UID_ARRAY


class FlagColumns:
    """Ascending UIDs and the flags of each (see the module notes)."""

    __slots__ = ("__weakref__", "_set_ids", "_sets", "flag_ids", "uids")

    def __init__(self) -> None:
        self.uids = array(UID_ARRAY)            # ascending
        self.flag_ids = array(UID_ARRAY)        # flag_ids[i]: uids[i]'s set in _sets
        self._sets: list[frozenset[str]] = []
        self._set_ids: dict[frozenset[str], int] = {}

    @classmethod
    def of(cls, uids: Iterable[int], flags: Iterable[frozenset[str]]) -> FlagColumns:
        """The columns of ``uids`` (ascending) and their ``flags``, pairwise."""
        columns = cls()
        columns.uids.extend(uids)
        columns.flag_ids.extend(map(columns._set_id, flags))
        if len(columns.uids) != len(columns.flag_ids):
            raise ValueError("one set of flags per UID")
        return columns

    def copy(self) -> FlagColumns:
        other = FlagColumns()
        other.uids = array(UID_ARRAY, self.uids)
        other.flag_ids = array(UID_ARRAY, self.flag_ids)
        other._sets = list(self._sets)
        other._set_ids = dict(self._set_ids)
        return other

    def _set_id(self, flags: frozenset[str]) -> int:
        set_id = self._set_ids.get(flags)
        if set_id is None:
            set_id = self._set_ids[flags] = len(self._sets)
            self._sets.append(flags)
        return set_id

    # --- reading -------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.uids)

    def index(self, uid: int) -> int | None:
        """The position of ``uid``, if present."""
        position = bisect.bisect_left(self.uids, uid)
        if position < len(self.uids) and self.uids[position] == uid:
            return position
        return None

    def positions(self, uids: Iterable[int]) -> Iterator[int | None]:
        """``index`` of each of ``uids``, which come in ascending order: the next UID is
        looked for from where the last one was, and a run of neighbours (the changes a
        STORE on a range makes) costs a comparison each, not a search."""
        column, size, position = self.uids, len(self.uids), 0
        for uid in uids:
            if position < size and column[position] != uid:
                if position + 1 < size and column[position + 1] == uid:
                    position += 1
                else:
                    position = bisect.bisect_left(column, uid, position)
            yield position if position < size and column[position] == uid else None

    def __contains__(self, uid: object) -> bool:
        return isinstance(uid, int) and self.index(uid) is not None

    def flags_at(self, position: int) -> frozenset[str]:
        return self._sets[self.flag_ids[position]]

    def flags_of(self, uid: int) -> frozenset[str] | None:
        position = self.index(uid)
        return None if position is None else self._sets[self.flag_ids[position]]

    def items(self) -> Iterator[tuple[int, frozenset[str]]]:
        """(UID, flags) in UID order."""
        sets = self._sets
        return zip(self.uids, (sets[set_id] for set_id in self.flag_ids), strict=True)

    @property
    def max_uid(self) -> int:
        return self.uids[-1] if self.uids else 0

    @property
    def flags(self) -> frozenset[str]:
        """Every flag a message here has had since these columns were made."""
        return frozenset().union(*self._sets)

    # --- changing --------------------------------------------------------------------------

    def append(self, uid: int, flags: frozenset[str]) -> None:
        """A new message: UIDs ascend (RFC 9051 §2.3.1.1), so it goes at the end."""
        if uid <= self.max_uid:
            raise ValueError(f"UID {uid} does not follow {self.max_uid}")
        self.uids.append(uid)
        self.flag_ids.append(self._set_id(flags))

    def set_flags_at(self, position: int, flags: frozenset[str]) -> None:
        self.flag_ids[position] = self._set_id(flags)

    def remove(self, gone: set[int]) -> None:
        """Take the messages of UIDs ``gone`` out."""
        kept = [position for position, uid in enumerate(self.uids) if uid not in gone]
        if len(kept) == len(self.uids):
            return
        self.uids = array(UID_ARRAY, (self.uids[position] for position in kept))
        self.flag_ids = array(UID_ARRAY, (self.flag_ids[position] for position in kept))


__all__ = ["FlagColumns"]
