"""Sequence sets and UID sets (RFC 9051 §4.1.1, §9): the typed value and its arithmetic.

A ``SequenceSet`` is what the client wrote: its ranges in order, ``"*"`` kept as ``STAR``,
``"$"`` as ``last_result``. Resolving it against a mailbox gives an ``Intervals``: sorted,
disjoint, coalesced ``(low, high)`` pairs, never the numbers one by one, so "1:4294967295"
costs two integers. Pure: no store, no I/O.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Final, Literal

STAR: Final = "*"
# seq-number      = nz-number / "*"
SeqNumber = int | Literal["*"]


class SequenceSetError(ValueError):
    """A sequence set that cannot be resolved (the session answers BAD)."""


@dataclass(frozen=True, slots=True)
class SequenceSet:
    """sequence-set = (seq-number / seq-range) ["," sequence-set] / seq-last-command.

    ``ranges`` holds ``(first, last)`` as written ("4:2" stays ``(4, 2)``; a single
    number ``n`` is ``(n, n)``). ``last_result`` is the "$" marker (RFC 9051 §6.4.4.1),
    which stands alone.
    """

    ranges: tuple[tuple[SeqNumber, SeqNumber], ...] = ()
    last_result: bool = False

    def __post_init__(self) -> None:
        if self.last_result == bool(self.ranges):
            raise ValueError("a sequence set is either ranges or \"$\"")
        for pair in self.ranges:
            for number in pair:
                if number != STAR and not (isinstance(number, int) and number > 0):
                    raise ValueError(f"not a seq-number: {number!r}")

    @classmethod
    def of(cls, *items: int | tuple[SeqNumber, SeqNumber]) -> SequenceSet:
        """``SequenceSet.of(2, (4, 7), (12, "*"))`` is "2,4:7,12:*"."""
        return cls(tuple(item if isinstance(item, tuple) else (item, item) for item in items))

    @classmethod
    def from_numbers(cls, numbers: Iterable[int]) -> SequenceSet:
        """The shortest ascending form of a set of numbers (for uid-set in responses,
        RFC 9051 §7.1 COPYUID: "Neither of the UID sets may contain extraneous UIDs or
        the symbol "*"")."""
        return cls(tuple(Intervals.of(numbers).pairs))

    @property
    def uses_star(self) -> bool:
        return any(STAR in pair for pair in self.ranges)

    def __str__(self) -> str:
        if self.last_result:
            return "$"
        return ",".join(str(a) if a == b else f"{a}:{b}" for a, b in self.ranges)

    def count(self) -> int:
        """How many numbers ``in_order`` lists, without listing them: a set received from
        a peer ("1:4294967295" in a COPYUID) is checked against what it can mean before
        anyone walks it."""
        total = 0
        for first, last in self.ranges:
            if first == STAR or last == STAR:
                raise SequenceSetError('"*" has no value here')
            total += abs(last - first) + 1
        return total

    def in_order(self) -> Iterator[int]:
        """The numbers as written, for a set without "*" or "$" that lists a *sequence*
        (COPYUID and APPENDUID: "in the order they were transmitted"). A range "12:10"
        is "exactly equivalent to 10:12" (RFC 9051 §7.1), so ranges run upwards."""
        for first, last in self.ranges:
            if first == STAR or last == STAR:
                raise SequenceSetError('"*" has no value here')
            yield from range(min(first, last), max(first, last) + 1)

    def resolve(self, largest: int) -> Intervals:
        """Substitute ``largest`` for "*" and coalesce (RFC 9051 §9 seq-range: "two
        seq-number values and all values between these two regardless of order")."""
        if self.last_result:
            raise SequenceSetError('"$" needs the saved search result (RFC 9051 §6.4.4.1)')
        pairs = []
        for first, last in self.ranges:
            low = largest if first == STAR else first
            high = largest if last == STAR else last
            pairs.append((min(low, high), max(low, high)))
        return Intervals.from_pairs(pairs)


@dataclass(frozen=True, slots=True)
class Intervals:
    """Sorted, disjoint, non-adjacent closed intervals of positive integers."""

    pairs: tuple[tuple[int, int], ...] = ()

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[int, int]]) -> Intervals:
        merged: list[tuple[int, int]] = []
        for low, high in sorted(pairs):
            if merged and low <= merged[-1][1] + 1:
                if high > merged[-1][1]:
                    merged[-1] = (merged[-1][0], high)
            else:
                merged.append((low, high))
        return cls(tuple(merged))

    @classmethod
    def of(cls, numbers: Iterable[int]) -> Intervals:
        return cls.from_pairs((n, n) for n in numbers)

    def __len__(self) -> int:
        return sum(high - low + 1 for low, high in self.pairs)

    def __iter__(self) -> Iterator[int]:
        for low, high in self.pairs:
            yield from range(low, high + 1)

    def __contains__(self, number: object) -> bool:
        if not isinstance(number, int):
            return False
        index = bisect.bisect_right(self.pairs, (number, float("inf"))) - 1
        return index >= 0 and self.pairs[index][0] <= number <= self.pairs[index][1]

    @property
    def maximum(self) -> int | None:
        return self.pairs[-1][1] if self.pairs else None

    def to_sequence_set(self) -> SequenceSet:
        return SequenceSet(self.pairs)


def resolve_message_numbers(sequence_set: SequenceSet, count: int) -> Intervals:
    """Message sequence numbers of a mailbox with ``count`` messages.

    RFC 9051 §9 seq-number: "*" "is the number of messages in a non-empty mailbox"; "The
    server should respond with a tagged BAD response to a command that uses a message
    sequence number greater than the number of messages in the selected mailbox. This
    includes "*" if the selected mailbox is empty." Raises ``SequenceSetError`` then.
    """
    if sequence_set.last_result:
        raise SequenceSetError('"$" needs the saved search result (RFC 9051 §6.4.4.1)')
    if count == 0:
        raise SequenceSetError("No messages in the mailbox (RFC 9051 §9: a message "
                               'sequence number, "*" included, needs a message)')
    intervals = sequence_set.resolve(count)
    if intervals.maximum is not None and intervals.maximum > count:
        raise SequenceSetError(f"Message sequence number {intervals.maximum} is larger than "
                               f"the number of messages ({count})")
    return intervals


def resolve_uids(sequence_set: SequenceSet, uids: Sequence[int], uid_next: int) -> Intervals:
    """The UIDs of ``uids`` (ascending, those of the mailbox) that the set names.

    RFC 9051 §9 seq-number: for UIDs "*" is "the unique identifier of the last message in
    the mailbox or, if the mailbox is empty, the mailbox's current UIDNEXT value"; §6.4.9:
    "A non-existent unique identifier is ignored without any error message generated."
    """
    if sequence_set.last_result:
        raise SequenceSetError('"$" needs the saved search result (RFC 9051 §6.4.4.1)')
    largest = uids[-1] if uids else uid_next
    wanted = sequence_set.resolve(largest)
    found: list[tuple[int, int]] = []
    for low, high in wanted.pairs:
        start = bisect.bisect_left(uids, low)
        end = bisect.bisect_right(uids, high)
        if start < end:
            found.extend(_runs(uids, start, end))
    return Intervals.from_pairs(found)


def uid_positions(sequence_set: SequenceSet, uids: Sequence[int], uid_next: int
                  ) -> Iterator[range]:
    """Message sequence numbers (1-based positions in ``uids``) of the UIDs named, as
    ascending ranges that do not overlap."""
    largest = uids[-1] if uids else uid_next
    if sequence_set.last_result:
        raise SequenceSetError('"$" needs the saved search result (RFC 9051 §6.4.4.1)')
    seen_end = 0
    for low, high in sequence_set.resolve(largest).pairs:
        start = max(bisect.bisect_left(uids, low), seen_end)
        end = bisect.bisect_right(uids, high)
        if end > start:
            yield range(start + 1, end + 1)
        seen_end = max(seen_end, end)


def _runs(uids: Sequence[int], start: int, end: int) -> Iterator[tuple[int, int]]:
    """Consecutive runs of ``uids[start:end]`` as intervals (UIDs have gaps)."""
    if uids[end - 1] - uids[start] == end - 1 - start:
        yield uids[start], uids[end - 1]     # no gap: one interval, no walk
        return
    run_start = previous = uids[start]
    for index in range(start + 1, end):
        uid = uids[index]
        if uid != previous + 1:
            yield run_start, previous
            run_start = uid
        previous = uid
    yield run_start, previous
