"""RFC 5322 §2.2 header fields: split the header section off, unfold, keep raw bytes.

Only what delivery needs today (threading keys, the header/body boundary); the full MIME
model with byte offsets builds on these functions.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

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
