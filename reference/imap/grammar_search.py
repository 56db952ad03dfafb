"""RFC 9051 §6.4.4 / §9 search-key: the whole search grammar, typed, both directions.

    search-key      = "ALL" / "ANSWERED" / "BCC" SP astring /
                      "BEFORE" SP date / "BODY" SP astring /
                      "CC" SP astring / "DELETED" / "FLAGGED" /
                      "FROM" SP astring / "KEYWORD" SP flag-keyword /
                      "ON" SP date / "SEEN" /
                      "SINCE" SP date / "SUBJECT" SP astring /
                      "TEXT" SP astring / "TO" SP astring /
                      "UNANSWERED" / "UNDELETED" / "UNFLAGGED" /
                      "UNKEYWORD" SP flag-keyword / "UNSEEN" /
                      "DRAFT" / "HEADER" SP header-fld-name SP astring /
                      "LARGER" SP number64 / "NOT" SP search-key /
                      "OR" SP search-key SP search-key /
                      "SENTBEFORE" SP date / "SENTON" SP date /
                      "SENTSINCE" SP date / "SMALLER" SP number64 /
                      "UID" SP sequence-set / "UNDRAFT" / sequence-set /
                      "(" search-key *(SP search-key) ")"
    search-key      =/ "NEW" / "OLD" / "RECENT"            ; RFC 3501 §9 (IMAP4rev1)
    search-key      =/ search-modsequence                  ; RFC 7162 §7
    search-modsequence  = "MODSEQ" [search-modseq-ext] SP mod-sequence-valzer
    search-modseq-ext   = SP entry-name SP entry-type-req

String arguments are text in the command's CHARSET (RFC 9051 §6.4.4: "It indicates the
[CHARSET] of the strings that appear in the search criteria"); the typed keys hold ``str``.
Nesting (parentheses, NOT, OR) is bounded by the cursor's depth (``ImapLimits.nesting``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from enum import Enum

from reference.imap.grammar import (
    NUMBER64_MAX,
    Cursor,
    GrammarError,
    WireWriter,
    parse_astring,
    parse_atom,
    parse_number,
    parse_number64,
    write_astring,
    write_quoted,
)
from reference.imap.grammar_values import (
    check_flag,
    parse_date,
    parse_sequence_set,
    write_date,
    write_sequence_set,
)
from reference.imap.sequence_sets import SequenceSet


class SimpleKeyName(Enum):
    """Search keys without an argument (RFC 9051 §6.4.4; NEW, OLD, RECENT: RFC 3501
    §6.4.4, deprecated by RFC 9051 Appendix E item 12)."""

    ALL = "ALL"
    ANSWERED = "ANSWERED"
    DELETED = "DELETED"
    DRAFT = "DRAFT"
    FLAGGED = "FLAGGED"
    SEEN = "SEEN"
    UNANSWERED = "UNANSWERED"
    UNDELETED = "UNDELETED"
    UNDRAFT = "UNDRAFT"
    UNFLAGGED = "UNFLAGGED"
    UNSEEN = "UNSEEN"
    NEW = "NEW"
    OLD = "OLD"
    RECENT = "RECENT"


class TextKeyName(Enum):
    """Keys matching a string in a field or the text (RFC 9051 §6.4.4)."""

    BCC = "BCC"
    BODY = "BODY"
    CC = "CC"
    FROM = "FROM"
    SUBJECT = "SUBJECT"
    TEXT = "TEXT"
    TO = "TO"


class DateKeyName(Enum):
    """Keys comparing the internal date (BEFORE, ON, SINCE) or the Date: header field
    (SENT*), "disregarding time and timezone" (RFC 9051 §6.4.4)."""

    BEFORE = "BEFORE"
    ON = "ON"
    SINCE = "SINCE"
    SENTBEFORE = "SENTBEFORE"
    SENTON = "SENTON"
    SENTSINCE = "SENTSINCE"


class SizeKeyName(Enum):
    LARGER = "LARGER"
    SMALLER = "SMALLER"


@dataclass(frozen=True, slots=True)
class SimpleKey:
    name: SimpleKeyName


@dataclass(frozen=True, slots=True)
class TextKey:
    name: TextKeyName
    value: str


@dataclass(frozen=True, slots=True)
class HeaderKey:
    """HEADER SP header-fld-name SP astring"""

    field_name: str
    value: str


@dataclass(frozen=True, slots=True)
class KeywordKey:
    """KEYWORD / UNKEYWORD SP flag-keyword (``present=False`` for UNKEYWORD)."""

    keyword: str
    present: bool = True


@dataclass(frozen=True, slots=True)
class DateKey:
    name: DateKeyName
    date: date


@dataclass(frozen=True, slots=True)
class SizeKey:
    name: SizeKeyName
    size: int


@dataclass(frozen=True, slots=True)
class SequenceKey:
    """<sequence set>: messages by sequence number."""

    sequence_set: SequenceSet


@dataclass(frozen=True, slots=True)
class UidKey:
    """UID SP sequence-set"""

    sequence_set: SequenceSet


@dataclass(frozen=True, slots=True)
class ModSeqKey:
    """RFC 7162 §3.1.5 MODSEQ [entry-name entry-type-req] mod-sequence-valzer."""

    modseq: int
    entry_name: str | None = None       # "/flags/<flag>", unquoted
    entry_type: str | None = None       # "priv" / "shared" / "all"


@dataclass(frozen=True, slots=True)
class NotKey:
    key: SearchKey


@dataclass(frozen=True, slots=True)
class OrKey:
    left: SearchKey
    right: SearchKey


@dataclass(frozen=True, slots=True)
class GroupKey:
    """"(" search-key *(SP search-key) ")": all of them (AND)."""

    keys: tuple[SearchKey, ...]


SearchKey = (SimpleKey | TextKey | HeaderKey | KeywordKey | DateKey | SizeKey | SequenceKey
             | UidKey | ModSeqKey | NotKey | OrKey | GroupKey)

_SIMPLE = {name.value: name for name in SimpleKeyName}
_TEXT = {name.value: name for name in TextKeyName}
_DATE = {name.value: name for name in DateKeyName}
_SIZE = {name.value: name for name in SizeKeyName}
# entry-name = entry-flag-name; entry-flag-name = DQUOTE "/flags/" attr-flag DQUOTE
_ENTRY_NAME = re.compile(rb'"/flags/((?:[^"\\\r\n\x00]|\\["\\])+)"')
# entry-type-req = entry-type-resp / "all"; entry-type-resp = "priv" / "shared"
ENTRY_TYPES = ("priv", "shared", "all")

TextDecoder = Callable[[bytes, int], str]


def parse_search_key(cursor: Cursor, decode: TextDecoder, *, max_ranges: int = 10_000
                     ) -> SearchKey:
    """One search-key. ``decode(octets, offset)`` turns a string argument into text in
    the command's charset (and raises ``GrammarError``)."""
    first = cursor.peek()
    if first == 0x28:                                       # "("
        cursor.enter()
        cursor.pos += 1
        keys = [parse_search_key(cursor, decode, max_ranges=max_ranges)]
        while not cursor.accept(b")"):
            cursor.sp()
            keys.append(parse_search_key(cursor, decode, max_ranges=max_ranges))
        cursor.leave()
        return GroupKey(tuple(keys))
    if first in (0x2A, 0x24) or 0x30 <= first <= 0x39:      # "*", "$", digit
        return SequenceKey(parse_sequence_set(cursor, max_ranges=max_ranges))
    start = cursor.offset
    word = cursor.keyword("a search key")
    if word in _SIMPLE:
        return SimpleKey(_SIMPLE[word])
    if word == "NOT":
        cursor.sp()
        cursor.enter()
        key = parse_search_key(cursor, decode, max_ranges=max_ranges)
        cursor.leave()
        return NotKey(key)
    if word == "OR":
        cursor.sp()
        cursor.enter()
        left = parse_search_key(cursor, decode, max_ranges=max_ranges)
        cursor.sp()
        right = parse_search_key(cursor, decode, max_ranges=max_ranges)
        cursor.leave()
        return OrKey(left, right)
    cursor.sp()
    if word in _TEXT:
        return TextKey(_TEXT[word], _string(cursor, decode))
    if word in _DATE:
        return DateKey(_DATE[word], parse_date(cursor))
    if word in _SIZE:
        return SizeKey(_SIZE[word], parse_number64(cursor))
    if word == "HEADER":
        name_start = cursor.offset
        name = parse_astring(cursor)
        if not name or not all(33 <= octet <= 126 and octet != 58 for octet in name):
            raise GrammarError("a header field name (RFC 5322 ftext)", name_start, name)
        cursor.sp()
        return HeaderKey(name.decode("ascii"), _string(cursor, decode))
    if word in ("KEYWORD", "UNKEYWORD"):
        return KeywordKey(parse_atom(cursor), present=word == "KEYWORD")
    if word == "UID":
        return UidKey(parse_sequence_set(cursor, max_ranges=max_ranges))
    if word == "MODSEQ":
        return _parse_modseq(cursor)
    raise GrammarError("a search key", start, word.encode("ascii"))


def _string(cursor: Cursor, decode: TextDecoder) -> str:
    start = cursor.offset
    return decode(parse_astring(cursor), start)


def _parse_modseq(cursor: Cursor) -> ModSeqKey:
    entry_name = entry_type = None
    if cursor.peek() == 0x22:
        start = cursor.offset
        found = cursor.match(_ENTRY_NAME)
        if found is None:
            raise cursor.error('entry-name ("/flags/<flag>")')
        flag = re.sub(rb'\\(["\\])', rb"\1", found.group(1))
        # RFC 7162 §7: entry-flag-name = DQUOTE "/flags/" attr-flag DQUOTE; attr-flag is
        # a flag ("\\" atom / atom): 7-bit, a BAD otherwise (never a traceback).
        if not flag.isascii():
            raise GrammarError('entry-name ("/flags/" and a 7-bit flag)', start, flag)
        entry_name = "/flags/" + flag.decode("ascii")
        cursor.sp()
        entry_type = cursor.keyword('entry-type-req ("priv", "shared" or "all")').lower()
        if entry_type not in ENTRY_TYPES:
            raise cursor.error('entry-type-req ("priv", "shared" or "all")')
        cursor.sp()
    # mod-sequence-valzer = "0" / mod-sequence-value
    return ModSeqKey(parse_number(cursor, maximum=NUMBER64_MAX, rule="mod-sequence-valzer"),
                     entry_name, entry_type)


TextEncoder = Callable[[str], bytes]


def write_search_key(writer: WireWriter, key: SearchKey, encode: TextEncoder) -> None:
    match key:
        case SimpleKey(name=name):
            writer.raw(name.value.encode("ascii"))
        case TextKey(name=name, value=value):
            writer.raw(name.value.encode("ascii") + b" ")
            write_astring(writer, encode(value))
        case HeaderKey(field_name=field_name, value=value):
            writer.raw(b"HEADER ")
            write_astring(writer, field_name.encode("ascii"))
            writer.raw(b" ")
            write_astring(writer, encode(value))
        case KeywordKey(keyword=keyword, present=present):
            if keyword.startswith("\\"):
                raise ValueError("KEYWORD takes a flag-keyword, not a system flag")
            writer.raw((b"KEYWORD " if present else b"UNKEYWORD ") + check_flag(keyword))
        case DateKey(name=name, date=day):
            writer.raw(name.value.encode("ascii") + b" ")
            write_date(writer, day)
        case SizeKey(name=name, size=size):
            if not 0 <= size <= NUMBER64_MAX:
                raise ValueError(f"{name.value} size out of range")
            writer.raw(b"%s %d" % (name.value.encode("ascii"), size))
        case SequenceKey(sequence_set=sequence_set):
            write_sequence_set(writer, sequence_set)
        case UidKey(sequence_set=sequence_set):
            writer.raw(b"UID ")
            write_sequence_set(writer, sequence_set)
        case ModSeqKey(modseq=modseq, entry_name=entry_name, entry_type=entry_type):
            writer.raw(b"MODSEQ ")
            if (entry_name is None) != (entry_type is None):
                raise ValueError("MODSEQ entry-name and entry-type go together")
            if entry_name is not None and entry_type is not None:
                if not entry_name.startswith("/flags/") or entry_type not in ENTRY_TYPES:
                    raise ValueError(f"bad MODSEQ entry {entry_name!r} {entry_type!r}")
                write_quoted(writer, entry_name.encode("ascii"))
                writer.raw(b" " + entry_type.encode("ascii") + b" ")
            writer.raw(b"%d" % modseq)
        case NotKey(key=inner):
            writer.raw(b"NOT ")
            write_search_key(writer, inner, encode)
        case OrKey(left=left, right=right):
            writer.raw(b"OR ")
            write_search_key(writer, left, encode)
            writer.raw(b" ")
            write_search_key(writer, right, encode)
        case GroupKey(keys=keys):
            if not keys:
                raise ValueError("a parenthesised search key holds at least one key")
            writer.raw(b"(")
            for index, inner in enumerate(keys):
                if index:
                    writer.raw(b" ")
                write_search_key(writer, inner, encode)
            writer.raw(b")")
