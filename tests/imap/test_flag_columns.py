"""FlagColumns (reference/imap/flag_columns.py): the UIDs and flags a selected mailbox
keeps, 8 octets a message, behave exactly like a sorted list of UIDs beside a dict of
their flags (RFC 9051 §2.3.1.1 ascending UIDs, §2.3.1.2 sequence numbers as positions)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reference.imap.flag_columns import FlagColumns

SEEN, FLAGGED = frozenset({"\\Seen"}), frozenset({"\\Flagged", "$Work"})
FLAG_SETS = st.sampled_from([frozenset(), SEEN, FLAGGED, SEEN | FLAGGED])


def test_columns_read_like_a_list_and_a_dict() -> None:
    columns = FlagColumns.of([3, 7, 9], [SEEN, frozenset(), SEEN])
    assert list(columns.uids) == [3, 7, 9] and len(columns) == 3
    assert [columns.index(uid) for uid in (3, 7, 9, 8)] == [0, 1, 2, None]
    assert columns.flags_of(9) == SEEN and columns.flags_of(4) is None
    assert columns.flags_at(1) == frozenset() and 7 in columns and 8 not in columns
    assert dict(columns.items()) == {3: SEEN, 7: frozenset(), 9: SEEN}
    assert columns.max_uid == 9 and FlagColumns().max_uid == 0


def test_a_flag_once_seen_stays_applicable() -> None:
    """SELECT's FLAGS (RFC 9051 §7.3.5): every flag a message here has had."""
    columns = FlagColumns.of([1], [FLAGGED])
    columns.set_flags_at(0, SEEN)
    assert columns.flags_of(1) == SEEN
    assert columns.flags == SEEN | FLAGGED


def test_uids_must_ascend_and_fit_in_32_bits() -> None:
    """RFC 9051 §2.3.1.1: UIDs are assigned in ascending order; §9 nz-number is at most
    4,294,967,295."""
    columns = FlagColumns.of([5], [SEEN])
    with pytest.raises(ValueError):
        columns.append(5, SEEN)
    columns.append(4_294_967_295, SEEN)
    with pytest.raises(OverflowError):
        FlagColumns.of([4_294_967_296], [SEEN])
    with pytest.raises(ValueError):
        FlagColumns.of([1, 2], [SEEN])


def test_a_copy_is_independent() -> None:
    columns = FlagColumns.of([1, 2], [SEEN, SEEN])
    copy = columns.copy()
    copy.append(3, FLAGGED)
    copy.set_flags_at(0, frozenset())
    copy.remove({2})
    assert dict(columns.items()) == {1: SEEN, 2: SEEN} and columns.flags == SEEN
    assert dict(copy.items()) == {1: frozenset(), 3: FLAGGED}


_CHANGES = st.lists(st.one_of(
    st.tuples(st.just("append"), st.integers(1, 5), FLAG_SETS),
    st.tuples(st.just("set"), st.integers(0, 60), FLAG_SETS),
    st.tuples(st.just("remove"), st.sets(st.integers(1, 60), max_size=5), st.none()),
), max_size=40)


@given(_CHANGES)
def test_columns_follow_a_list_and_a_dict_through_any_changes(
        changes: list[tuple[str, object, object]]) -> None:
    columns = FlagColumns()
    model: dict[int, frozenset[str]] = {}
    newest = 0
    for action, argument, flags in changes:
        if action == "append":
            assert isinstance(argument, int) and isinstance(flags, frozenset)
            newest += argument
            columns.append(newest, flags)
            model[newest] = flags
        elif action == "set" and model:
            assert isinstance(argument, int) and isinstance(flags, frozenset)
            uid = sorted(model)[argument % len(model)]
            position = columns.index(uid)
            assert position is not None
            columns.set_flags_at(position, flags)
            model[uid] = flags
        elif action == "remove":
            assert isinstance(argument, set)
            columns.remove(argument)
            model = {uid: value for uid, value in model.items() if uid not in argument}
        assert list(columns.uids) == sorted(model)
        assert dict(columns.items()) == model
        assert all(columns.flags_of(uid) == value for uid, value in model.items())
        # Ascending lookups, present or not, repeated or not, find what index finds.
        asked = sorted([*model, *(uid + 1 for uid in model), *list(model)[:3]])
        assert list(columns.positions(asked)) == [columns.index(uid) for uid in asked]
