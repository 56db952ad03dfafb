"""RFC 9051 §6.4.5 / §9 fetch-att and section, typed, both directions.

    fetch-att       = "ENVELOPE" / "FLAGS" / "INTERNALDATE" /
                      "RFC822.SIZE" /
                      "BODY" ["STRUCTURE"] / "UID" /
                      "BODY" section [partial] /
                      "BODY.PEEK" section [partial] /
                      "BINARY" [".PEEK"] section-binary [partial] /
                      "BINARY.SIZE" section-binary
    fetch-att       =/ "RFC822" [".HEADER" / ".TEXT"]          ; RFC 3501 §9 (IMAP4rev1)
    fetch-att       =/ fetch-mod-sequence                      ; RFC 7162 §7
    fetch-mod-sequence  = "MODSEQ"
    section         = "[" [section-spec] "]"
    section-binary  = "[" [section-part] "]"
    section-msgtext = "HEADER" /
                      "HEADER.FIELDS" [".NOT"] SP header-list /
                      "TEXT"
    section-part    = nz-number *("." nz-number)
    section-spec    = section-msgtext / (section-part ["." section-text])
    section-text    = section-msgtext / "MIME"
    partial         = "<" number64 "." nz-number64 ">"
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from enum import Enum

from reference.imap.grammar import (
    NUMBER64_MAX,
    Cursor,
    GrammarError,
    WireWriter,
    parse_number,
)
from reference.imap.grammar_values import parse_header_list, write_header_list


class FetchMacro(Enum):
    """RFC 9051 §6.4.5 macros: ALL = (FLAGS INTERNALDATE RFC822.SIZE ENVELOPE), FAST =
    (FLAGS INTERNALDATE RFC822.SIZE), FULL = (FLAGS INTERNALDATE RFC822.SIZE ENVELOPE
    BODY)."""

    ALL = "ALL"
    FAST = "FAST"
    FULL = "FULL"


class FetchAttName(Enum):
    """fetch-att items without a section."""

    ENVELOPE = "ENVELOPE"
    FLAGS = "FLAGS"
    INTERNALDATE = "INTERNALDATE"
    RFC822_SIZE = "RFC822.SIZE"
    BODY = "BODY"
    BODYSTRUCTURE = "BODYSTRUCTURE"
    UID = "UID"
    RFC822 = "RFC822"                   # RFC 3501 §6.4.5, deprecated (RFC 9051 App. E 18)
    RFC822_HEADER = "RFC822.HEADER"
    RFC822_TEXT = "RFC822.TEXT"
    MODSEQ = "MODSEQ"                   # RFC 7162 §3.1.4.1


class SectionText(Enum):
    HEADER = "HEADER"
    HEADER_FIELDS = "HEADER.FIELDS"
    HEADER_FIELDS_NOT = "HEADER.FIELDS.NOT"
    TEXT = "TEXT"
    MIME = "MIME"


@dataclass(frozen=True, slots=True)
class Section:
    """section-spec: ``part`` (section-part, () for the top level), then the text
    specifier and, for HEADER.FIELDS[.NOT], the field names."""

    part: tuple[int, ...] = ()
    text: SectionText | None = None
    header_fields: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if any(number <= 0 for number in self.part):
            raise ValueError("section-part numbers are nz-number")
        if self.text is SectionText.MIME and not self.part:
            raise ValueError("MIME needs a section-part (RFC 9051 §9 section-text)")
        wants_fields = self.text in (SectionText.HEADER_FIELDS, SectionText.HEADER_FIELDS_NOT)
        if wants_fields != bool(self.header_fields):
            raise ValueError("header fields go with HEADER.FIELDS[.NOT] only")


@dataclass(frozen=True, slots=True)
class Partial:
    """partial = "<" number64 "." nz-number64 ">": "0-based offset of the first octet,
    followed by the number of octets in the fragment"."""

    offset: int
    length: int


@dataclass(frozen=True, slots=True)
class SimpleAtt:
    name: FetchAttName


@dataclass(frozen=True, slots=True)
class BodySection:
    """"BODY" section [partial] / "BODY.PEEK" section [partial]"""

    section: Section = Section()
    peek: bool = False
    partial: Partial | None = None


@dataclass(frozen=True, slots=True)
class BinarySection:
    """"BINARY" [".PEEK"] section-binary [partial]"""

    part: tuple[int, ...] = ()
    peek: bool = False
    partial: Partial | None = None


@dataclass(frozen=True, slots=True)
class BinarySize:
    """"BINARY.SIZE" section-binary"""

    part: tuple[int, ...] = ()


FetchAtt = SimpleAtt | BodySection | BinarySection | BinarySize

_SIMPLE = {name.value: name for name in FetchAttName}
# section-part    = nz-number *("." nz-number)
_SECTION_PART = re.compile(rb"[1-9][0-9]{0,9}(?:\.[1-9][0-9]{0,9})*")


def parse_section_part(cursor: Cursor) -> tuple[int, ...]:
    found = cursor.match(_SECTION_PART)
    if found is None:
        return ()
    numbers = tuple(int(n) for n in found.group().split(b"."))
    if any(n > 2**32 - 1 for n in numbers):
        raise GrammarError("section-part numbers below 4294967296", cursor.offset)
    return numbers


def parse_section(cursor: Cursor) -> Section:
    """section = "[" [section-spec] "]" """
    cursor.expect(b"[", '"[" opening a section')
    part = parse_section_part(cursor)
    text: SectionText | None = None
    fields: tuple[str, ...] = ()
    if part and cursor.accept(b"."):
        text = _section_text(cursor, allow_mime=True)
    elif not part and cursor.peek() != 0x5D:
        text = _section_text(cursor, allow_mime=False)
    if text in (SectionText.HEADER_FIELDS, SectionText.HEADER_FIELDS_NOT):
        cursor.sp()
        fields = parse_header_list(cursor)
    cursor.expect(b"]", '"]" closing the section')
    return Section(part, text, fields)


def _section_text(cursor: Cursor, *, allow_mime: bool) -> SectionText:
    start = cursor.offset
    word = cursor.keyword("section-text (HEADER, HEADER.FIELDS, TEXT or MIME)")
    for text in SectionText:
        if text.value == word and (allow_mime or text is not SectionText.MIME):
            return text
    raise GrammarError("HEADER, HEADER.FIELDS[.NOT], TEXT" + (" or MIME" if allow_mime else ""),
                       start, word.encode("ascii"))


def parse_section_binary(cursor: Cursor) -> tuple[int, ...]:
    """section-binary = "[" [section-part] "]" """
    cursor.expect(b"[", '"[" opening a section-binary')
    part = parse_section_part(cursor)
    cursor.expect(b"]", '"]" closing the section-binary')
    return part


def parse_partial(cursor: Cursor) -> Partial | None:
    if not cursor.accept(b"<"):
        return None
    offset = parse_number(cursor, maximum=NUMBER64_MAX, rule="number64")
    cursor.expect(b".", '"." in a partial')
    length = parse_number(cursor, maximum=NUMBER64_MAX, nonzero=True, rule="nz-number64")
    cursor.expect(b">", '">" closing a partial')
    return Partial(offset, length)


def parse_fetch_att(cursor: Cursor) -> FetchAtt:
    start = cursor.offset
    word = cursor.keyword("a fetch attribute")
    if word in ("BODY", "BODY.PEEK") and cursor.peek() == 0x5B:
        section = parse_section(cursor)
        return BodySection(section, peek=word == "BODY.PEEK", partial=parse_partial(cursor))
    if word in ("BINARY", "BINARY.PEEK"):
        part = parse_section_binary(cursor)
        return BinarySection(part, peek=word == "BINARY.PEEK", partial=parse_partial(cursor))
    if word == "BINARY.SIZE":
        return BinarySize(parse_section_binary(cursor))
    if word in _SIMPLE:
        return SimpleAtt(_SIMPLE[word])
    raise GrammarError("a fetch attribute", start, word.encode("ascii"))


def write_section_part(writer: WireWriter, part: tuple[int, ...]) -> None:
    writer.raw(".".join(str(n) for n in part).encode("ascii"))


def write_section(writer: WireWriter, section: Section) -> None:
    writer.raw(section_octets(section, writer.utf8))


@functools.lru_cache(maxsize=256)
def section_octets(section: Section, utf8: bool) -> bytes:
    """``section`` as it goes on the wire, made once per distinct section (a field name
    in UTF-8 is quoted only for a ``utf8`` peer): a message list's FETCH names the same
    BODY[HEADER.FIELDS (...)] in every message's answer."""
    writer = WireWriter(utf8=utf8)
    writer.raw(b"[")
    write_section_part(writer, section.part)
    if section.text is not None:
        if section.part:
            writer.raw(b".")
        writer.raw(section.text.value.encode("ascii"))
        if section.header_fields:
            writer.raw(b" ")
            write_header_list(writer, section.header_fields)
    writer.raw(b"]")
    return writer.getvalue()


def write_partial(writer: WireWriter, partial: Partial | None) -> None:
    if partial is not None:
        if partial.offset < 0 or partial.length <= 0:
            raise ValueError("partial: number64 \".\" nz-number64")
        writer.raw(b"<%d.%d>" % (partial.offset, partial.length))


def write_fetch_att(writer: WireWriter, att: FetchAtt) -> None:
    match att:
        case SimpleAtt(name=name):
            writer.raw(name.value.encode("ascii"))
        case BodySection(section=section, peek=peek, partial=partial):
            writer.raw(b"BODY.PEEK" if peek else b"BODY")
            write_section(writer, section)
            write_partial(writer, partial)
        case BinarySection(part=part, peek=peek, partial=partial):
            writer.raw(b"BINARY.PEEK[" if peek else b"BINARY[")
            write_section_part(writer, part)
            writer.raw(b"]")
            write_partial(writer, partial)
        case BinarySize(part=part):
            writer.raw(b"BINARY.SIZE[")
            write_section_part(writer, part)
            writer.raw(b"]")
