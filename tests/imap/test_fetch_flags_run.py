"""FetchFlagsRun, the fast writer of many FETCH (UID FLAGS) responses: on the wire it is
exactly one RFC 9051 §7.5.2 FETCH response per row, what FetchData writes, and the
client-side parser reads each back."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fuzz.strategies import imap
from reference.errors import LocalProtocolError
from reference.imap.capabilities import Modes
from reference.imap.framing import ResponseReader
from reference.imap.grammar_values import RECENT, flag_order
from reference.imap.limits import ImapLimits
from reference.imap.parser_responses import ResponseContext, parse_response
from reference.imap.response_data import FetchFlagsRun, FlagsItem, UidItem
from reference.imap.responses import FetchData
from reference.imap.serializer import write_response
from reference.imap.states import State
from reference.wire.buffer import ReceiveBuffer

from .helpers import server

MODES = Modes(advertised=frozenset({"IMAP4REV2"}))

flag_sets = st.frozensets(st.one_of(imap.flags(fetch=True), st.just(RECENT)), max_size=6)
rows = st.lists(st.tuples(st.integers(1, 2**32 - 1), st.integers(1, 2**32 - 1), flag_sets),
                max_size=20)


@settings(max_examples=150, deadline=None)
@given(rows=rows, with_uid=st.booleans())
def test_a_run_writes_what_fetch_data_writes(rows: list[tuple[int, int, frozenset[str]]],
                                              with_uid: bool) -> None:
    """RFC 9051 §9 message-data = nz-number SP "FETCH" SP msg-att: a run is byte for byte
    the FETCH responses of its rows, flags in flag_order, and parses back as them."""
    wire = write_response(FetchFlagsRun(tuple(rows), with_uid), MODES)
    expected = []
    for msn, uid, flags in rows:
        items: tuple[UidItem | FlagsItem, ...] = (FlagsItem(flag_order(flags)),)
        if with_uid:
            items = (UidItem(uid), *items)
        expected.append(FetchData(msn, items))
    assert wire == b"".join(write_response(data, MODES) for data in expected)
    buffer = ReceiveBuffer()
    buffer.feed(wire)
    parsed = []
    while (segments := ResponseReader(ImapLimits()).read(buffer)) is not None:
        parsed.append(parse_response(segments, ResponseContext(MODES)))
    assert parsed == expected


@pytest.mark.parametrize("row", [(0, 1, frozenset()), (1, 0, frozenset()),
                                 (1, 2**32, frozenset()), (1, 1, frozenset({"bad flag"})),
                                 (1, 1, frozenset({"\\"}))])
def test_a_run_refuses_what_the_grammar_cannot_carry(row: tuple[int, int, frozenset[str]]
                                                     ) -> None:
    """RFC 9051 §9: nz-number and uniqueid are 1..4294967295; a flag is an atom or
    "\\" atom. A session bug is a LocalProtocolError, never bytes on the wire."""
    with pytest.raises(LocalProtocolError):
        write_response(FetchFlagsRun((row,)), MODES)


def test_a_run_needs_a_selected_mailbox() -> None:
    """RFC 9051 §7.5.2: FETCH data is about messages of the selected mailbox."""
    conn = server(State.AUTHENTICATED)
    with pytest.raises(LocalProtocolError):
        conn.send(FetchFlagsRun(((1, 1, frozenset()),)))
    selected = server(State.SELECTED)
    assert selected.send(FetchFlagsRun(((1, 7, frozenset({"\\Seen"})),))) == \
        b"* 1 FETCH (UID 7 FLAGS (\\Seen))\r\n"
