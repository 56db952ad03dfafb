"""date-time (RFC 9051 §9): every zone the grammar allows is read, and what is read is an
instant every caller can use (compare, convert to UT, store, write back)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reference.imap.commands import Append, AppendMessage
from reference.imap.grammar import Cursor, GrammarError, WireWriter
from reference.imap.grammar_values import MONTHS, parse_date_time, write_date_time
from reference.imap.response_data import InternalDateItem
from reference.imap.responses import Condition, FetchData
from reference.imap.states import State

from .helpers import NEED_DATA, REV2, server
from .test_response_grammar import read


def parsed(text: str) -> datetime:
    return parse_date_time(Cursor([f'"{text}"'.encode("ascii")]))


def written(value: datetime) -> str:
    writer = WireWriter(utf8=False)
    write_date_time(writer, value)
    return writer.getvalue().decode("ascii").strip('"')


@pytest.mark.parametrize(("text", "universal"), [
    ("17-Jul-1996 02:44:25 -0700", datetime(1996, 7, 17, 9, 44, 25, tzinfo=UTC)),
    ("17-Jul-1996 02:44:25 +2359", datetime(1996, 7, 16, 2, 45, 25, tzinfo=UTC)),
    ("17-Jul-1996 02:44:25 +2400", datetime(1996, 7, 16, 2, 44, 25, tzinfo=UTC)),
    ("17-Jul-1996 02:44:25 +9959", datetime(1996, 7, 12, 22, 45, 25, tzinfo=UTC)),
    ("17-Jul-1996 02:44:25 -9959", datetime(1996, 7, 21, 6, 43, 25, tzinfo=UTC)),
    ("17-Jul-1996 02:44:25 +0075", datetime(1996, 7, 17, 1, 29, 25, tzinfo=UTC)),
    ("17-Jul-1996 02:44:25 -0000", datetime(1996, 7, 17, 2, 44, 25, tzinfo=UTC)),
])
def test_every_four_digit_zone_is_read_as_the_instant_it_names(text: str,
                                                                universal: datetime) -> None:
    """RFC 9051 §9: zone = ("+" / "-") 4DIGIT, "Signed four-digit value of hhmm ...
    Subtracting the timezone from the given time will give the UT form"; RFC 5322 §3.3:
    "+hhmm means +(hh * 60 + mm) minutes". Beyond +-2359 (which a Python time zone
    cannot hold) the value is that UT form."""
    value = parsed(text)
    assert value == universal
    assert value.astimezone(UTC) == universal
    assert parsed(written(value)) == value


def test_a_zone_within_a_day_is_kept() -> None:
    """RFC 9051 §6.4.4 BEFORE/ON/SINCE compare the internal date "disregarding time and
    timezone": the zone the client gave is kept where it can be."""
    value = parsed("17-Jul-1996 23:44:25 +2359")
    assert value.utcoffset() == timedelta(hours=23, minutes=59)
    assert written(value) == "17-Jul-1996 23:44:25 +2359"


@pytest.mark.parametrize("text", [
    "01-Jan-0001 00:00:00 +0001",          # UT form in year 0
    "01-Jan-0001 00:00:00 +9959",
    "31-Dec-9999 23:59:59 -0001",          # UT form in year 10000
    "31-Dec-9999 23:59:59 -9959",
    "01-Jan-0000 00:00:00 +0000",          # no year 0
    "30-Feb-2024 00:00:00 +0000",
])
def test_a_date_time_without_a_representable_instant_is_a_grammar_error(text: str) -> None:
    """DESIGN.md principle 8: a precise protocol error, never a crash (OverflowError)."""
    with pytest.raises(GrammarError, match="date-time"):
        parsed(text)


def test_append_with_a_zone_of_plus_9959_is_read() -> None:
    """RFC 9051 §6.3.12: "If a date-time is specified, the internal date SHOULD be set in
    the resulting message"; the zone is any the §9 grammar allows."""
    conn = server(State.AUTHENTICATED, REV2)
    conn.receive_data(b'a1 APPEND INBOX "17-Jul-1996 02:44:25 +9959" {1+}\r\nx\r\n')
    assert conn.next_event() == Append("a1", "INBOX", (AppendMessage(
        b"x", None, datetime(1996, 7, 12, 22, 45, 25, tzinfo=UTC)),))


def test_append_whose_instant_cannot_be_held_gets_a_tagged_bad() -> None:
    conn = server(State.AUTHENTICATED, REV2)
    conn.receive_data(b'a1 APPEND INBOX "01-Jan-0001 00:00:00 +9959" {1+}\r\nx\r\n')
    from reference.imap.responses import ImapRemoteProtocolError

    with pytest.raises(ImapRemoteProtocolError) as caught:
        conn.next_event()
    response = caught.value.response
    assert response is not None
    assert (response.condition, response.tag) == (Condition.BAD, "a1")  # type: ignore
    conn.send(response)
    assert conn.next_event() is NEED_DATA


def test_internaldate_with_a_zone_beyond_a_day_is_read_by_the_client() -> None:
    """RFC 9051 §7.5.2 INTERNALDATE is a date-time: a target's +9959 is grammatical."""
    wire = b'* 1 FETCH (INTERNALDATE "17-Jul-1996 02:44:25 +9959")\r\n'
    assert read(wire) == FetchData(1, (InternalDateItem(
        datetime(1996, 7, 12, 22, 45, 25, tzinfo=UTC)),))


@given(day=st.integers(1, 31), month=st.sampled_from(MONTHS), year=st.integers(0, 9999),
       hour=st.integers(0, 99), minute=st.integers(0, 99), second=st.integers(0, 99),
       sign=st.sampled_from("+-"), zone=st.integers(0, 9999))
def test_any_grammatical_date_time_is_an_instant_or_a_grammar_error(
        day: int, month: str, year: int, hour: int, minute: int, second: int, sign: str,
        zone: int) -> None:
    """RFC 9051 §9 date-time, all of it: the value is aware, convertible to UT, and
    written back as a date-time that reads as the same instant."""
    text = f"{day:2d}-{month}-{year:04d} {hour:02d}:{minute:02d}:{second:02d} {sign}{zone:04d}"
    try:
        value = parsed(text)
    except GrammarError:
        return
    assert value.utcoffset() is not None
    universal = value.astimezone(UTC)
    local = datetime(year, MONTHS.index(month) + 1, day, hour, minute, second)
    offset = timedelta(minutes=(zone // 100) * 60 + zone % 100) * (-1 if sign == "-" else 1)
    assert universal == (local - offset).replace(tzinfo=UTC)
    assert parsed(written(value)) == value
    assert isinstance(value.tzinfo, timezone)
