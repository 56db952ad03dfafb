"""Sequence sets and UID sets (RFC 9051 §4.1.1, §6.4.4.1, §9 sequence-set): the grammar
both ways and the arithmetic (reference/imap/sequence_sets.py)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from fuzz.strategies import imap
from reference.imap.grammar import Cursor, GrammarError, WireWriter
from reference.imap.grammar_values import parse_sequence_set, write_sequence_set
from reference.imap.sequence_sets import (
    STAR,
    Intervals,
    SequenceSet,
    SequenceSetError,
    resolve_message_numbers,
    resolve_uids,
    uid_positions,
)


def parse(wire: bytes, **kwargs: object) -> SequenceSet:
    cursor = Cursor([wire])
    result = parse_sequence_set(cursor, **kwargs)  # type: ignore[arg-type]
    assert cursor.at_end()
    return result


def test_numbers_ranges_star_and_dollar() -> None:
    """RFC 9051 §9: sequence-set = (seq-number / seq-range) ["," sequence-set] /
    seq-last-command; seq-last-command = "$" (§6.4.4.1)."""
    assert parse(b"2,4:7,9,12:*") == SequenceSet.of(2, (4, 7), 9, (12, STAR))
    assert parse(b"*:4") == SequenceSet(((STAR, 4),))
    assert parse(b"$") == SequenceSet(last_result=True)
    assert str(SequenceSet.of(2, (4, 7), (12, STAR))) == "2,4:7,12:*"


@pytest.mark.parametrize("wire", [b"0", b"1:0", b"4294967296", b"1,", b",1", b"1::2"])
def test_malformed_sequence_sets(wire: bytes) -> None:
    """seq-number = nz-number / "*" (nz-number is 32-bit); "$" stands alone."""
    with pytest.raises(GrammarError):
        parse(wire)


def test_dollar_stands_alone() -> None:
    """RFC 9051 §6.4.4.1: seq-last-command is the whole sequence-set; "$,1" leaves ",1"
    unread (so the command is a BAD)."""
    cursor = Cursor([b"$,1"])
    assert parse_sequence_set(cursor) == SequenceSet(last_result=True)
    assert not cursor.at_end()


def test_uid_sets_have_no_star_or_dollar_where_the_grammar_says_so() -> None:
    """RFC 9051 §9 uid-set (COPYUID, APPENDUID): no "*"; §7.3.4 ESEARCH ALL: "Note that
    "$" marker is not allowed after the ALL return data item"."""
    with pytest.raises(GrammarError):
        parse(b"1:*", allow_star=False)
    with pytest.raises(GrammarError):
        parse(b"$", allow_last=False)


def test_the_number_of_ranges_is_bounded() -> None:
    with pytest.raises(GrammarError, match="at most 3 ranges"):
        parse(b"1,2,3,4", max_ranges=3)


def test_the_value_checks_itself() -> None:
    with pytest.raises(ValueError):
        SequenceSet(((0, 1),))
    with pytest.raises(ValueError):
        SequenceSet()
    with pytest.raises(ValueError):
        SequenceSet(((1, 1),), last_result=True)


@settings(max_examples=100, deadline=None)
@given(imap.sequence_sets())
def test_write_then_parse(sequence_set: SequenceSet) -> None:
    writer = WireWriter(utf8=False)
    write_sequence_set(writer, sequence_set)
    assert parse(writer.getvalue()) == sequence_set


def test_a_range_is_the_same_in_either_order() -> None:
    """RFC 9051 §9 seq-range: "two seq-number values and all values between these two
    regardless of order. Example: 2:4 and 4:2 are equivalent"."""
    assert SequenceSet.of((4, 2)).resolve(10) == SequenceSet.of((2, 4)).resolve(10)


def test_star_is_the_largest_number_in_use() -> None:
    """RFC 9051 §9 seq-number: "*" represents the largest number in use; "3:*" in a
    mailbox of 2 messages is 2:3 (reversed range)."""
    assert list(resolve_message_numbers(SequenceSet.of((3, STAR)), 5)) == [3, 4, 5]
    assert resolve_message_numbers(SequenceSet.of((1, STAR)), 4_294_967_295).pairs == (
        (1, 4_294_967_295),)


def test_message_numbers_beyond_the_mailbox_are_an_error() -> None:
    """RFC 9051 §9: "The server should respond with a tagged BAD response to a command
    that uses a message sequence number greater than the number of messages in the
    selected mailbox. This includes "*" if the selected mailbox is empty."""
    with pytest.raises(SequenceSetError):
        resolve_message_numbers(SequenceSet.of(6), 5)
    with pytest.raises(SequenceSetError):
        resolve_message_numbers(SequenceSet(((STAR, STAR),)), 0)
    with pytest.raises(SequenceSetError, match=r"6\.4\.4\.1"):
        resolve_message_numbers(SequenceSet(last_result=True), 5)


def test_uid_star_is_the_last_uid_or_uidnext_when_empty() -> None:
    """RFC 9051 §9: for UIDs "*" is "the unique identifier of the last message in the
    mailbox or, if the mailbox is empty, the mailbox's current UIDNEXT value"; §6.4.9:
    "A non-existent unique identifier is ignored without any error message"."""
    uids = [3, 4, 5, 9, 10, 20]
    assert list(resolve_uids(SequenceSet.of((4, 9), 15, (19, STAR)), uids, 21)) == [
        4, 5, 9, 20]
    assert resolve_uids(SequenceSet.of((4, 9)), uids, 21).pairs == ((4, 5), (9, 9))
    assert list(resolve_uids(SequenceSet.of((5, STAR)), [], 7)) == []
    assert list(uid_positions(SequenceSet.of(9, (4, 5), 20), uids, 21)) == [
        range(2, 4), range(4, 5), range(6, 7)]


def test_intervals_coalesce_and_count_without_expanding() -> None:
    intervals = Intervals.from_pairs([(5, 7), (1, 2), (3, 4), (10, 10)])
    assert intervals.pairs == ((1, 7), (10, 10))
    assert len(Intervals.from_pairs([(1, 4_294_967_295)])) == 4_294_967_295
    assert 7 in intervals and 8 not in intervals and "7" not in intervals
    assert SequenceSet.from_numbers([5, 1, 2, 3]) == SequenceSet.of((1, 3), 5)


def test_in_order_lists_a_uid_sequence_ascending_per_range() -> None:
    """RFC 9051 §7.1 COPYUID: "12:10" is "exactly equivalent to 10:12"."""
    assert list(SequenceSet.of(3, (12, 10)).in_order()) == [3, 10, 11, 12]
    with pytest.raises(SequenceSetError):
        list(SequenceSet.of((1, STAR)).in_order())


def test_count_says_how_many_numbers_in_order_lists_without_listing_them() -> None:
    """A uid-set from a peer (COPYUID, APPENDUID, ESEARCH ALL) may name four billion
    UIDs in a dozen octets: its count is known before anything walks it."""
    listed = SequenceSet.of(3, (12, 10))
    assert listed.count() == len(list(listed.in_order())) == 4
    assert SequenceSet.of((1, 4_294_967_295), 7).count() == 4_294_967_296
    with pytest.raises(SequenceSetError):
        SequenceSet.of((1, STAR)).count()
