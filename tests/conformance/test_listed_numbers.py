"""The suites read the sets a server sends (COPYUID, APPENDUID, ESEARCH ALL) through
``listed_numbers``: a hostile or broken server's "1:4294967295" fails the test that got
it, at once, instead of making the harness list four billion numbers."""

from __future__ import annotations

import pytest

from conformance.drivers.imap import MAX_LISTED_NUMBERS, listed_numbers
from reference.imap.sequence_sets import STAR, SequenceSet


def test_a_set_is_listed_in_the_order_the_server_sent_it() -> None:
    """RFC 4315 §3: a uid-set lists UIDs "in the order they were transmitted"."""
    assert listed_numbers(SequenceSet.of(7, (3, 4)), "COPYUID") == [7, 3, 4]


def test_a_set_too_large_for_any_test_fails_without_being_listed() -> None:
    with pytest.raises(AssertionError, match=r"COPYUID: the set 1:4294967295 names "
                                             r"4,294,967,295 numbers"):
        listed_numbers(SequenceSet.of((1, 4_294_967_295)), "COPYUID")
    assert len(listed_numbers(SequenceSet.of((1, MAX_LISTED_NUMBERS)), "ALL")) == \
        MAX_LISTED_NUMBERS


def test_a_star_in_a_returned_set_fails_the_test() -> None:
    """RFC 9051 §7.1 COPYUID: "Neither of the UID sets may contain ... the symbol "*""."""
    with pytest.raises(AssertionError, match="APPENDUID"):
        listed_numbers(SequenceSet.of((1, STAR)), "APPENDUID")
