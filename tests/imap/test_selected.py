"""The selected-mailbox view: sequence numbers and when updates may be reported
(RFC 9051 §2.3.1.2, §7.4.1, §7.5.1, §7.5.2)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from reference.imap.flag_columns import FlagColumns
from reference.imap.selected import FlagChange, SelectedMailbox, Updates, ViewEntry

SEEN = frozenset({"\\Seen"})


def view(*uids: int, recent: tuple[int, ...] = ()) -> SelectedMailbox:
    return SelectedMailbox.open(1, 7, FlagColumns.of(uids, [frozenset()] * len(uids)),
                                read_only=False, highest_modseq=1, recent=recent)


def test_sequence_numbers_are_positions_in_uid_order() -> None:
    """RFC 9051 §2.3.1.2: "Message sequence numbers ... are assigned ... in ascending
    UID order"; numbers run 1 to the number of messages."""
    mailbox = view(4, 9, 12)
    assert [mailbox.msn(uid) for uid in (4, 9, 12, 5)] == [1, 2, 3, None]
    assert mailbox.uid_at(2) == 9
    assert mailbox.exists == 3


def test_opening_reports_nothing_more() -> None:
    assert not view(1, 2).take_updates(expunges_allowed=True)


def test_new_messages_are_announced_with_exists() -> None:
    """RFC 9051 §7.4.1: EXISTS "reports the number of messages in the mailbox"."""
    mailbox = view(1, 2)
    mailbox.note_changes([ViewEntry(3, frozenset(), 2), ViewEntry(5, frozenset(), 3)], [], 3)
    assert mailbox.take_updates(expunges_allowed=False) == Updates(exists=4)
    assert mailbox.msn(5) == 4
    assert not mailbox.take_updates(expunges_allowed=True)


def test_expunges_wait_while_expunges_are_not_allowed() -> None:
    """RFC 9051 §7.5.1 MUST NOT: "An EXPUNGE response MUST NOT be sent ... while
    responding to a FETCH, STORE, or SEARCH command"; the numbers stay as they were."""
    mailbox = view(1, 2, 3)
    mailbox.note_changes([], [2], 5)
    assert not mailbox.take_updates(expunges_allowed=False)
    assert mailbox.msn(3) == 3 and mailbox.is_ghost(2) and mailbox.flags_of(2) is None
    assert mailbox.take_updates(expunges_allowed=True) == Updates(expunged_msns=(2,),
                                                                  expunged_uids=(2,))
    assert mailbox.msn(3) == 2 and mailbox.exists == 2


def test_several_expunges_go_from_the_highest_number_down() -> None:
    """RFC 9051 §7.5.1: a "higher to lower" server sends 9, 8, 7, 6, 5 for the last five
    of nine messages."""
    mailbox = view(*range(1, 10))
    mailbox.note_changes([], [5, 6, 7, 8, 9], 2)
    assert mailbox.take_updates(expunges_allowed=True).expunged_msns == (9, 8, 7, 6, 5)


def test_expunge_and_arrival_together_give_expunges_then_the_new_count() -> None:
    """§7.5.1: EXPUNGE decrements the count itself; EXISTS then states the new total."""
    mailbox = view(1, 2, 3)
    mailbox.note_changes([ViewEntry(4, frozenset(), 3)], [1, 2], 3)
    updates = mailbox.take_updates(expunges_allowed=True)
    assert updates.expunged_msns == (2, 1)
    assert updates.exists == 2
    assert list(mailbox.uids) == [3, 4]


def test_arrivals_after_a_ghost_keep_the_ghost_numbered() -> None:
    mailbox = view(1, 2)
    mailbox.note_changes([], [1], 2)
    mailbox.note_changes([ViewEntry(3, frozenset(), 3)], [], 3)
    assert mailbox.take_updates(expunges_allowed=False) == Updates(exists=3)
    assert mailbox.msn(3) == 3
    assert mailbox.take_updates(expunges_allowed=True).expunged_msns == (1,)
    assert mailbox.msn(3) == 2


def test_flag_changes_by_others_are_reported_once_as_fetch() -> None:
    """RFC 9051 §7.5.2: FETCH also comes "by a unilateral server decision (e.g., flag
    updates)"."""
    mailbox = view(1, 2)
    mailbox.note_changes([ViewEntry(2, SEEN, 4)], [], 4)
    assert mailbox.take_updates(expunges_allowed=False, report_modseq=True) == Updates(
        flag_changes=(FlagChange(2, 2, SEEN, 4),))
    assert not mailbox.take_updates(expunges_allowed=False)


def test_the_sessions_own_flag_changes_are_not_reported_again() -> None:
    mailbox = view(1, 2)
    mailbox.note_changes([ViewEntry(2, SEEN, 4)], [], 4, report_own=frozenset({2}))
    assert not mailbox.take_updates(expunges_allowed=True)


def test_flags_of_a_ghost_are_not_reported() -> None:
    mailbox = view(1, 2)
    mailbox.note_changes([ViewEntry(2, SEEN, 4)], [], 4)
    mailbox.note_changes([], [2], 5)
    assert mailbox.take_updates(expunges_allowed=False) == Updates()


def test_recent_count_changes_are_reported_for_rev1() -> None:
    """RFC 3501 §7.3.2: RECENT "reports the number of messages with the \\Recent flag
    set"."""
    mailbox = view(1, 2, recent=(2,))
    mailbox.note_changes([ViewEntry(3, frozenset(), 2)], [], 2)
    mailbox.mark_recent([3])
    assert mailbox.take_updates(expunges_allowed=True) == Updates(exists=3, recent=2)
    mailbox.note_changes([], [3], 3)
    assert mailbox.take_updates(expunges_allowed=True).recent == 1


@given(st.lists(st.integers(1, 60), unique=True, min_size=1, max_size=30), st.data())
def test_after_reporting_the_view_equals_the_store(initial: list[int], data: st.DataObject
                                                  ) -> None:
    """Whatever happens, once expunges may be reported the client's numbering (after
    applying the EXPUNGEs in order and the EXISTS) matches the store's messages."""
    initial.sort()
    mailbox = view(*initial)
    client = list(initial)                        # what the client believes
    store = set(initial)
    next_uid = max(initial) + 1
    for _ in range(data.draw(st.integers(1, 5))):
        expunged = data.draw(st.sets(st.sampled_from(sorted(store)))) if store else set()
        store -= expunged
        arrived = list(range(next_uid, next_uid + data.draw(st.integers(0, 3))))
        next_uid += len(arrived)
        store |= set(arrived)
        mailbox.note_changes([ViewEntry(uid, frozenset(), 1) for uid in arrived],
                             sorted(expunged), 1)
        allowed = data.draw(st.booleans())
        updates = mailbox.take_updates(expunges_allowed=allowed)
        for msn in updates.expunged_msns:
            del client[msn - 1]
        if updates.exists is not None:
            assert updates.exists >= len(client)
            client += arrived_since(client, mailbox.uids)
    updates = mailbox.take_updates(expunges_allowed=True)
    for msn in updates.expunged_msns:
        del client[msn - 1]
    client += arrived_since(client, mailbox.uids)
    assert client == sorted(store) == list(mailbox.uids)


def arrived_since(client: list[int], view_uids: list[int]) -> list[int]:
    newest = client[-1] if client else 0
    return [uid for uid in view_uids if uid > newest]


def test_a_view_opened_on_shared_columns_changes_only_its_own_copy() -> None:
    """SELECT hands the session the process's kept columns (mailbox_views.py): the view
    reads them as they are and copies them before its first change, so another
    session's view of the same columns never sees this session's news."""
    columns, lease = FlagColumns.of([1, 2, 3], [frozenset()] * 3), object()
    mine = SelectedMailbox.open(1, 7, columns, read_only=False, highest_modseq=1,
                                shared=lease)
    other = SelectedMailbox.open(1, 7, columns, read_only=False, highest_modseq=1,
                                 shared=lease)
    mine.note_changes([ViewEntry(2, SEEN, 2), ViewEntry(4, frozenset(), 2)], [1], 2)
    assert mine.take_updates(expunges_allowed=True) == Updates(
        expunged_msns=(1,), expunged_uids=(1,), exists=3,
        flag_changes=(FlagChange(1, 2, SEEN, 0),))     # MODSEQ only with CONDSTORE
    assert list(mine.uids) == [2, 3, 4] and mine.flags_of(2) == SEEN
    assert dict(columns.items()) == dict.fromkeys((1, 2, 3), frozenset())
    assert list(other.uids) == [1, 2, 3] and other.flags_of(2) == frozenset()
