"""RFC 9051 §9 value rules: flags, dates, mailbox names, sequence sets, header lists.

Each ``parse_<rule>`` reads from a ``Cursor`` and returns the typed value; each
``write_<rule>`` appends the wire form to a ``WireWriter``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta, timezone

from reference.imap.grammar import (
    Cursor,
    GrammarError,
    WireWriter,
    decode_utf8,
    is_atom,
    parse_astring,
    parse_atom,
    parse_list_mailbox_octets,
    write_astring,
    write_list_mailbox,
)
from reference.imap.mailbox_names import (
    INBOX,
    MailboxNameError,
    decode_modified_utf7,
    encode_modified_utf7,
    is_inbox,
)
from reference.imap.sequence_sets import STAR, SeqNumber, SequenceSet

# --- flags (RFC 9051 §2.3.2, §9) -------------------------------------------------------

# flag            = "\Answered" / "\Flagged" / "\Deleted" /
#                   "\Seen" / "\Draft" / flag-keyword / flag-extension
#                     ; Does not include "\Recent"
SYSTEM_FLAGS = ("\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft")
# obsolete-flag-recent = "\Recent"
RECENT = "\\Recent"
_CANONICAL_FLAGS = {name.upper(): name for name in (*SYSTEM_FLAGS, RECENT)}
# flag-perm       = flag / "\*"
ANY_KEYWORD = "\\*"
# flag-keyword    = "$MDNSent" / "$Forwarded" / "$Junk" /
#                   "$NotJunk" / "$Phishing" / atom
FLAG_KEYWORDS = ("$MDNSent", "$Forwarded", "$Junk", "$NotJunk", "$Phishing")


def canonical_flag(flag: str) -> str:
    """System flags are matched case-insensitively (RFC 9051 §9 note 1); the canonical
    spelling is the RFC's. Keywords keep the client's spelling."""
    return _CANONICAL_FLAGS.get(flag.upper(), flag)


def parse_flag(cursor: Cursor, *, fetch: bool = False, perm: bool = False) -> str:
    """flag = ... / flag-keyword / flag-extension; flag-extension = "\\" atom;
    flag-keyword = "$MDNSent" / "$Forwarded" / "$Junk" / "$NotJunk" / "$Phishing" / atom.
    With ``fetch`` also "\\Recent" (flag-fetch), with ``perm`` also "\\*" (flag-perm)."""
    if cursor.accept(b"\\"):
        if perm and cursor.accept(b"*"):
            return ANY_KEYWORD
        return canonical_flag("\\" + parse_atom(cursor))
    return parse_atom(cursor)


def parse_flag_list(cursor: Cursor, *, fetch: bool = False, perm: bool = False
                    ) -> tuple[str, ...]:
    """flag-list = "(" [flag *(SP flag)] ")" """
    cursor.expect(b"(", '"(" opening a flag list')
    flags: list[str] = []
    if not cursor.accept(b")"):
        while True:
            flags.append(parse_flag(cursor, fetch=fetch, perm=perm))
            if cursor.accept(b")"):
                break
            cursor.sp()
    return tuple(flags)


def flag_order(flags: Iterable[str]) -> tuple[str, ...]:
    """System flags first, in RFC order, then keywords alphabetically: stable output."""
    present = set(flags)
    system = tuple(flag for flag in (*SYSTEM_FLAGS, RECENT) if flag in present)
    return system + tuple(sorted(present.difference(system)))


def check_flag(flag: str, *, fetch: bool = False, perm: bool = False) -> bytes:
    """The wire form of a flag, or ``ValueError`` if it is none (a session bug)."""
    if perm and flag == ANY_KEYWORD:
        return b"\\*"
    data = flag.encode("ascii", "replace")
    if data.startswith(b"\\"):
        if not is_atom(data[1:]):
            raise ValueError(f"not a flag: {flag!r}")
        if flag.upper() == RECENT.upper() and not fetch:
            raise ValueError("\\Recent is not a flag here (RFC 9051 §9 flag)")
        return data
    if not is_atom(data):
        raise ValueError(f"not a flag: {flag!r}")
    return data


def write_flag_list(writer: WireWriter, flags: tuple[str, ...], *, fetch: bool = False,
                    perm: bool = False) -> None:
    writer.raw(b"(" + b" ".join(check_flag(f, fetch=fetch, perm=perm) for f in flags) + b")")


# --- dates (RFC 9051 §9) ---------------------------------------------------------------

# date-month      = "Jan" / "Feb" / "Mar" / "Apr" / "May" / "Jun" /
#                   "Jul" / "Aug" / "Sep" / "Oct" / "Nov" / "Dec"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH_NUMBER = {name.upper(): index + 1 for index, name in enumerate(MONTHS)}
# date-text       = date-day "-" date-month "-" date-year
# date-day        = 1*2DIGIT
# date-year       = 4DIGIT
_DATE_TEXT = re.compile(rb"([0-9]{1,2})-([A-Za-z]{3})-([0-9]{4})")
# date-time       = DQUOTE date-day-fixed "-" date-month "-" date-year
#                   SP time SP zone DQUOTE
# date-day-fixed  = (SP DIGIT) / 2DIGIT
# time            = 2DIGIT ":" 2DIGIT ":" 2DIGIT
# zone            = ("+" / "-") 4DIGIT
_DATE_TIME = re.compile(rb'"([ 0-9][0-9])-([A-Za-z]{3})-([0-9]{4}) '
                        rb'([0-9]{2}):([0-9]{2}):([0-9]{2}) ([+-])([0-9]{2})([0-9]{2})"')


def _month(cursor: Cursor, name: bytes, start: int) -> int:
    month = _MONTH_NUMBER.get(name.decode("ascii").upper())
    if month is None:
        raise GrammarError("date-month (Jan..Dec)", start, name)
    return month


def parse_date(cursor: Cursor) -> date:
    """date = date-text / DQUOTE date-text DQUOTE"""
    start = cursor.offset
    quoted = cursor.accept(b'"')
    found = cursor.match(_DATE_TEXT)
    if found is None:
        raise cursor.error("date (d-Mon-yyyy)")
    if quoted:
        cursor.expect(b'"', "closing DQUOTE of the date")
    try:
        return date(int(found.group(3)), _month(cursor, found.group(2), start),
                    int(found.group(1)))
    except ValueError as exc:
        raise GrammarError("a date that exists", start, found.group()) from exc


def write_date(writer: WireWriter, value: date) -> None:
    writer.raw(f"{value.day}-{MONTHS[value.month - 1]}-{value.year:04d}".encode("ascii"))


# A Python time zone is "strictly between -timedelta(hours=24) and timedelta(hours=24)".
_ZONE_HELD = timedelta(hours=24)


def parse_date_time(cursor: Cursor) -> datetime:
    """date-time (see above): an aware ``datetime`` for the instant named.

    Every zone the grammar allows is read: RFC 9051 §9 zone is a "Signed four-digit
    value of hhmm representing hours and minutes east of Greenwich" and "Subtracting the
    timezone from the given time will give the UT form"; RFC 5322 §3.3 reads the same
    form as "+hhmm means +(hh * 60 + mm) minutes" (so "+0075" is 75 minutes). A zone
    within +-2359 is kept as the value's time zone (SEARCH BEFORE/ON/SINCE compare the
    date "disregarding time and timezone", RFC 9051 §6.4.4). A Python time zone cannot
    hold +2400..+9959 (or the negative ones): such a value is its UT form, in UTC
    ("+0000", RFC 5322 §3.3 "SHOULD be used to indicate a time zone at Universal Time"),
    the same instant with another zone. The value and its UT form both lie within years
    1..9999, so no caller's comparison, conversion or storage can overflow; a date-time
    outside (its UT form in year 0 or 10000) is refused like one that does not exist.
    """
    start = cursor.offset
    found = cursor.match(_DATE_TIME)
    if found is None:
        raise cursor.error('date-time ("dd-Mon-yyyy hh:mm:ss +zzzz")')
    day, month, year, hour, minute, second, sign, zh, zm = found.groups()
    offset = timedelta(minutes=int(zh) * 60 + int(zm)) * (-1 if sign == b"-" else 1)
    try:
        local = datetime(int(year), _month(cursor, month, start), int(day.strip()),
                         int(hour), int(minute), int(second))
    except ValueError as exc:
        raise GrammarError("a date-time that exists", start, found.group()) from exc
    try:
        universal = local - offset
    except OverflowError as exc:
        raise GrammarError("a date-time whose UT form is within years 1-9999", start,
                           found.group()) from exc
    if abs(offset) < _ZONE_HELD:
        return local.replace(tzinfo=timezone(offset))
    return universal.replace(tzinfo=UTC)


def write_date_time(writer: WireWriter, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("date-time needs a zone (RFC 9051 §9 zone)")
    offset = value.utcoffset()
    assert offset is not None
    minutes = int(offset.total_seconds()) // 60
    # zone = ("+" / "-") 4DIGIT: whole minutes (a Python zone is within +-2359 anyway)
    if offset.total_seconds() % 60 or abs(minutes) > 99 * 60 + 59:
        raise ValueError("date-time zone must be whole minutes within +-9959")
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    writer.raw(f'"{value.day:2d}-{MONTHS[value.month - 1]}-{value.year:04d} '
               f'{value.hour:02d}:{value.minute:02d}:{value.second:02d} '
               f'{sign}{hours:02d}{mins:02d}"'.encode("ascii"))


# --- mailbox names (RFC 9051 §5.1, §9; RFC 3501 §5.1.3; RFC 6855 §3) ------------------


def decode_mailbox_name(data: bytes, cursor: Cursor, start: int, *, utf8: bool) -> str:
    """The Unicode name of a mailbox name's octets in the connection's mode."""
    if utf8:
        name = decode_utf8(data, cursor, start, "mailbox name")
    else:
        if not data.isascii():
            # RFC 3501 §5.1.3 / RFC 9051 Appendix A.1: without UTF-8 mode names are
            # modified UTF-7, which is 7-bit.
            raise GrammarError("a 7-bit mailbox name (modified UTF-7; 8-bit names need "
                               "ENABLE UTF8=ACCEPT or IMAP4rev2, RFC 6855 §3)", start)
        try:
            name = decode_modified_utf7(data.decode("ascii"))
        except MailboxNameError as exc:
            raise GrammarError(f"a modified UTF-7 mailbox name ({exc})", start) from exc
    return name


def parse_mailbox(cursor: Cursor, *, utf8: bool) -> str:
    """mailbox = "INBOX" / astring; "INBOX is case insensitive. All case variants of
    INBOX (e.g., "iNbOx") MUST be interpreted as INBOX, not as an astring." """
    start = cursor.offset
    data = parse_astring(cursor)
    if len(data) == 5 and data.upper() == b"INBOX":
        return INBOX
    return decode_mailbox_name(data, cursor, start, utf8=utf8)


def encode_mailbox_name(name: str, *, utf8: bool) -> bytes:
    if utf8:
        return name.encode("utf-8")
    return encode_modified_utf7(name).encode("ascii")


def write_mailbox(writer: WireWriter, name: str) -> None:
    if is_inbox(name):
        writer.raw(b"INBOX")
    else:
        write_astring(writer, encode_mailbox_name(name, utf8=writer.utf8))


def parse_list_mailbox(cursor: Cursor, *, utf8: bool) -> str:
    """list-mailbox = 1*list-char / string (a pattern: no INBOX rule)."""
    start = cursor.offset
    data = parse_list_mailbox_octets(cursor)
    return decode_mailbox_name(data, cursor, start, utf8=utf8)


def write_list_mailbox_name(writer: WireWriter, pattern: str) -> None:
    write_list_mailbox(writer, encode_mailbox_name(pattern, utf8=writer.utf8))


# --- sequence sets (RFC 9051 §9) --------------------------------------------------------

# seq-number      = nz-number / "*"
# seq-range       = seq-number ":" seq-number
# sequence-set    = (seq-number / seq-range) ["," sequence-set]
# sequence-set    =/ seq-last-command
# seq-last-command   = "$"
_SEQ_NUMBER = re.compile(rb"\*|[1-9][0-9]{0,9}")


def parse_sequence_set(cursor: Cursor, *, max_ranges: int = 10_000, allow_star: bool = True,
                       allow_last: bool = True) -> SequenceSet:
    if cursor.accept(b"$"):
        if not allow_last:
            raise GrammarError('a sequence set ("$" is not allowed here)', cursor.offset - 1)
        return SequenceSet(last_result=True)
    ranges: list[tuple[SeqNumber, SeqNumber]] = []
    while True:
        first = _seq_number(cursor, allow_star)
        last = _seq_number(cursor, allow_star) if cursor.accept(b":") else first
        ranges.append((first, last))
        if len(ranges) > max_ranges:
            raise cursor.error(f"a sequence set of at most {max_ranges} ranges")
        if not cursor.accept(b","):
            return SequenceSet(tuple(ranges))


def _seq_number(cursor: Cursor, allow_star: bool) -> SeqNumber:
    start = cursor.pos
    found = cursor.match(_SEQ_NUMBER)
    if found is None or (found.group() == b"*" and not allow_star):
        cursor.pos = start
        raise cursor.error("nz-number" if not allow_star else 'seq-number (nz-number or "*")')
    if found.group() == b"*":
        return STAR
    number = int(found.group())
    if number > 2**32 - 1:
        cursor.pos = start
        raise cursor.error("nz-number below 4294967296")
    return number


def write_sequence_set(writer: WireWriter, value: SequenceSet) -> None:
    writer.raw(str(value).encode("ascii"))


# --- header lists, charsets, capabilities -----------------------------------------------


def parse_header_list(cursor: Cursor) -> tuple[str, ...]:
    """header-list = "(" header-fld-name *(SP header-fld-name) ")"; header-fld-name =
    astring. Field names are ASCII (RFC 5322 §3.6.8 ftext, %d33-57 / %d59-126)."""
    cursor.expect(b"(", '"(" opening a header list')
    names: list[str] = []
    while True:
        start = cursor.offset
        data = parse_astring(cursor)
        if not data or not all(33 <= octet <= 126 and octet != 58 for octet in data):
            raise GrammarError("a header field name (RFC 5322 ftext)", start, data)
        names.append(data.decode("ascii"))
        if cursor.accept(b")"):
            return tuple(names)
        cursor.sp()


def write_header_list(writer: WireWriter, names: tuple[str, ...]) -> None:
    if not names:
        raise ValueError("a header list has at least one field name")
    writer.raw(b"(")
    for index, name in enumerate(names):
        if index:
            writer.raw(b" ")
        data = name.encode("ascii")
        if not all(33 <= octet <= 126 and octet != 58 for octet in data):
            raise ValueError(f"not a header field name: {name!r}")
        write_astring(writer, data)
    writer.raw(b")")


# capability      = ("AUTH=" auth-type) / atom
def parse_capability(cursor: Cursor) -> str:
    return parse_atom(cursor)
