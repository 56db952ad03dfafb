"""RFC 5322 §2.2 header fields: split the header section off, unfold, keep raw bytes.

Only what delivery needs today (threading keys, the header/body boundary); the full MIME
model with byte offsets builds on these functions.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import NamedTuple

# RFC 5322 §2.1: "A message consists of header fields ... optionally followed by a message
# body", separated by "an empty line (i.e., a line with nothing preceding the CRLF)".
_HEADER_END = re.compile(rb"\r\n\r\n|\n\n")
# RFC 5322 §2.2: field-name = 1*ftext; ftext = %d33-57 / %d59-126 (printable, not ":")
_FIELD = re.compile(rb"([\x21-\x39\x3b-\x7e]+)[ \t]*:(.*)")
# RFC 5322 §2.2.3: unfolding "is accomplished by simply removing any CRLF that is
# immediately followed by WSP".
_FOLD = re.compile(rb"\r?\n(?=[ \t])")


@dataclass(frozen=True, slots=True)
class HeaderField:
    name: str            # as written; compare case-insensitively (RFC 5322 §1.2.2)
    raw_value: bytes     # unfolded, without the leading colon, with leading WSP

    @property
    def value(self) -> str:
        """The unfolded value, decoded as UTF-8 (RFC 6532 §3.2 allows UTF-8 in fields)
        with invalid octets replaced, leading and trailing whitespace removed."""
        return self.raw_value.decode("utf-8", "replace").strip()


def header_section(raw: bytes) -> tuple[bytes, int]:
    """The header section (without the blank line) and the offset where the body starts.

    A message without a blank line is all header (RFC 5322 §3.5: the body is optional).
    """
    match = _HEADER_END.search(raw)
    if match is None:
        return raw, len(raw)
    return raw[: match.start()], match.end()


def parse_header_fields(header: bytes) -> list[HeaderField]:
    """Fields in order; lines that are not fields (no colon, RFC 5322 §3.6.8 obs-) are
    skipped, never fatal: a delivered message is stored whatever its header holds."""
    fields = []
    for line in _FOLD.sub(b"", header).split(b"\n"):
        match = _FIELD.match(line.rstrip(b"\r"))
        if match is not None:
            fields.append(HeaderField(match.group(1).decode("ascii"), match.group(2)))
    return fields


def find_fields(header: bytes, names: tuple[str, ...]) -> dict[str, HeaderField]:
    """The first field of each of ``names`` (lower case) in the header section, found
    without splitting every line: what delivery needs from each incoming message."""
    found: dict[str, HeaderField] = {}
    for match in _fields_pattern(names).finditer(header):
        name = match.group(1).decode("ascii")
        key = name.lower()
        if key not in found:
            found[key] = HeaderField(name, _FOLD.sub(b"", match.group(2)).rstrip(b"\r"))
    return found


@functools.lru_cache(maxsize=16)
def _fields_pattern(names: tuple[str, ...]) -> re.Pattern[bytes]:
    # RFC 5322 §2.2: a field starts a line; RFC 5322 §2.2.3: continuation lines start
    # with WSP. ``^`` in MULTILINE mode only matches at line starts.
    alternatives = b"|".join(re.escape(name.encode("ascii")) for name in names)
    return re.compile(rb"^(" + alternatives + rb")[ \t]*:([^\n]*(?:\n[ \t][^\n]*)*)",
                      re.IGNORECASE | re.MULTILINE)


def first_field(fields: list[HeaderField], name: str) -> HeaderField | None:
    lowered = name.lower()
    return next((f for f in fields if f.name.lower() == lowered), None)


# RFC 5322 §3.6.4: msg-id = [CFWS] "<" id-left "@" id-right ">" [CFWS]. Comments and
# obsolete forms are tolerated by matching only the bracketed ids.
_MSG_ID = re.compile(r"<([^<>\s@]+@[^<>\s]+)>")


def msg_ids(value: str) -> list[str]:
    """The msg-ids in a Message-ID, In-Reply-To or References value, in order."""
    return _MSG_ID.findall(value)


# --- Header sections located by offset (the MIME model, reference/message/mime.py) -------

# RFC 5322 §2.2: field-name = 1*ftext; RFC 5322 §4.5.8 (obsolete syntax):
# obs-optional = field-name *WSP ":" unstructured CRLF
_FIELD_NAME = rb"([\x21-\x39\x3b-\x7e]+)[ \t]*:"
# One line, with its end: an LF (after a CR or not), or the end of the entity.
_LINE = rb"[^\n]*(?:\n|\Z)"
# A whole field: its name and colon, then its value (group 2): the rest of its line and
# the lines that continue it (RFC 5322 §2.2.3: a line starting with WSP), up to the LF
# that ends the last of them (or the end of the entity).
_FOLDED_FIELD = re.compile(_FIELD_NAME + rb"([^\n]*(?:\n[ \t][^\n]*)*)(?:\n|\Z)")
# The empty line that ends the header (RFC 5322 §2.1).
_EMPTY_LINE = re.compile(rb"\r?\n")
# Any one line.
_ANY_LINE = re.compile(_LINE)
_CR = 0x0D


class FieldSpan(NamedTuple):
    """One header field, located in the raw message by offsets (nothing is copied).

    ``raw[start:end]`` is the whole field as written, folding and final line break
    included (what RFC 9051 §6.4.5.1 HEADER.FIELDS returns); ``raw[value_start:value_end]``
    is its folded value after the colon, without the final line break.

    A named tuple, not a dataclass: a FETCH of stored messages makes one per header
    field of each (ParsedMessage.from_json), and a tuple is made in a third of the time.
    """
    name: str          # as written; compare case-insensitively (RFC 5322 §1.2.2)
    start: int
    value_start: int
    value_end: int
    end: int

    def raw_value(self, raw: bytes) -> bytes:
        return raw[self.value_start:self.value_end]


# FieldSpan from a tuple of its values, without the Python-level __new__ of a named tuple
# (scan_header makes one per field of each message of a FETCH).
_field_span = functools.partial(tuple.__new__, FieldSpan)


@dataclass(frozen=True, slots=True)
class HeaderScan:
    """Where a header section is: its fields, where the blank line starts (``header_end``)
    and where the body starts (``body_start``, after the blank line). Without a blank
    line the header runs to the end and ``header_end == body_start == end``."""
    fields: tuple[FieldSpan, ...]
    header_end: int
    body_start: int
    fields_dropped: bool       # more fields than ``max_fields``: the rest were not recorded


def scan_header(raw: bytes, start: int, end: int, max_fields: int) -> HeaderScan:
    """Locate the header section of the entity in ``raw[start:end]``, line by line.

    RFC 5322 §2.1: the header section is separated from the body "by an empty line";
    RFC 2046 §5.1.1: a body part's header "is allowed to be completely empty" (the part
    starts with the empty line). Lines are CRLF-terminated; a bare LF is accepted as a line
    end too (stored messages are sometimes LF-only). A line starting with WSP continues the
    previous field (RFC 5322 §2.2.3 folding); a line that is neither a field nor a
    continuation (no colon, RFC 5322 §3.6.8) is kept in the section but is not a field.
    One pass, no copies: linear in the size of the header section.
    """
    fields: list[FieldSpan] = []
    dropped = False
    pos = start
    # A field and its continuation lines at a time, each matched by one regular
    # expression: the header of a message list's FETCH is scanned per message, and a
    # loop over its lines in Python took a third longer (folded Received fields).
    while pos < end:
        field = _FOLDED_FIELD.match(raw, pos, end)
        if field is not None:
            field_end = field.end()
            if len(fields) < max_fields:
                # The value ends before the last line's LF, and its CR before that.
                value_start, value_end = field.span(2)
                if value_end < field_end and raw[value_end - 1] == _CR:
                    value_end -= 1
                fields.append(_field_span((field.group(1).decode("ascii"), pos,
                                           value_start, value_end, field_end)))
            else:
                dropped = True
            pos = field_end
            continue
        empty = _EMPTY_LINE.match(raw, pos, end)
        if empty is not None:                       # the empty line: end of the header
            return HeaderScan(tuple(fields), pos, empty.end(), dropped)
        # Neither a field nor a continuation of one (no colon, RFC 5322 §3.6.8, or a
        # folded line with no field before it): kept in the section, not a field.
        line = _ANY_LINE.match(raw, pos, end)
        assert line is not None                     # any non-empty rest has a line
        pos = line.end()
    return HeaderScan(tuple(fields), end, end, dropped)


def unfold(value: bytes) -> bytes:
    """RFC 5322 §2.2.3: unfolding "is accomplished by simply removing any CRLF that is
    immediately followed by WSP"."""
    return _FOLD.sub(b"", value)


def field_text(value: bytes) -> str:
    """An unfolded field value as text, leading and trailing WSP removed.

    RFC 6532 §3.2 allows UTF-8 in field values. Octets that are not UTF-8 are kept as
    lone surrogates (``surrogateescape``) so that ``text.encode("utf-8",
    "surrogateescape")`` gives the raw octets back: nothing is lost or invented.
    """
    return unfold(value).strip(b" \t\r\n").decode("utf-8", "surrogateescape")
