"""BODY[section]<partial> (RFC 9051 §6.4.5.1) and BINARY[section] (RFC 3516, RFC 9051
§6.4.5) answered from a ``ParsedMessage`` and the raw bytes, without parsing again.

Implementation notes:

- Every BODY section is a slice of the raw message, or (HEADER.FIELDS and
  HEADER.FIELDS.NOT) a concatenation of whole field slices: the raw bytes are never
  rewritten (DESIGN.md principle 6).
- Part numbers follow RFC 9051 §6.4.5.1: the parts of a message are the children of its
  root when that is multipart, otherwise the root alone is part 1 ("Messages that do not
  use MIME, and MIME messages that are not multipart and have no encapsulated message
  within them, only have a part 1"); a message/rfc822 or message/global part numbers the
  parts of the message it encapsulates.
- A section that does not exist raises ``SectionError`` (``NoSuchPart``,
  ``NotAMessagePart``, ``NotALeafPart``); RFC 9051 does not say what the server answers,
  the FETCH handler chooses. ``UnknownTransferEncoding`` is the RFC 3516 case: "If the
  server does not know how to decode the section's CTE, it MUST fail the request and
  issue a "NO" response that contains the "UNKNOWN-CTE" extended response code."
- BINARY[] (no part) returns the whole message as it is: a message has no
  Content-Transfer-Encoding of its own to remove.
"""

from __future__ import annotations

import binascii
import functools
import re
from dataclasses import dataclass
from enum import StrEnum

from reference.message.encoded_words import decode_base64_lenient
from reference.message.headers import FieldSpan, HeaderScan
from reference.message.model import BodyPart, ParsedMessage


class SectionError(ValueError):
    """The section specification does not name anything in this message."""


class NoSuchPart(SectionError):
    """A part number beyond the parts there are."""


class NotAMessagePart(SectionError):
    """RFC 9051 §6.4.5.1: HEADER, HEADER.FIELDS[.NOT] and TEXT may be prefixed by part
    numbers only when "the numeric part specifier refers to a part of type
    MESSAGE/RFC822 or MESSAGE/GLOBAL"."""


class NotALeafPart(SectionError):
    """RFC 9051 §6.4.5: BINARY "can only be requested for leaf body parts: those that have
    media types other than multipart/*, message/rfc822, or message/global"."""


class UnknownTransferEncoding(SectionError):
    """RFC 3516 §4.3: answer NO with the UNKNOWN-CTE response code."""

    def __init__(self, encoding: str) -> None:
        super().__init__(f"unknown Content-Transfer-Encoding {encoding!r}")
        self.encoding = encoding


class SectionText(StrEnum):
    """section-msgtext / section-text of RFC 9051 §9."""
    HEADER = "HEADER"
    HEADER_FIELDS = "HEADER.FIELDS"
    HEADER_FIELDS_NOT = "HEADER.FIELDS.NOT"
    TEXT = "TEXT"
    MIME = "MIME"


@dataclass(frozen=True, slots=True)
class SectionSpec:
    """section-spec = section-msgtext / (section-part ["." section-text]).

    ``part`` () with ``text`` None is BODY[], the whole message.
    """
    part: tuple[int, ...] = ()
    text: SectionText | None = None
    field_names: tuple[str, ...] = ()      # for HEADER.FIELDS and HEADER.FIELDS.NOT


# section-part    = nz-number *("." nz-number)
# section-msgtext = "HEADER" / "HEADER.FIELDS" [".NOT"] SP header-list / "TEXT"
# section-text    = section-msgtext / "MIME"
# header-list     = "(" header-fld-name *(SP header-fld-name) ")"
# header-fld-name = astring       (quoted header names are not accepted by this helper)
_SECTION_SPEC = re.compile(
    r"(?P<part>[1-9][0-9]*(?:\.[1-9][0-9]*)*)?(?:(?(part)\.)(?P<text>HEADER\.FIELDS\.NOT"
    r"|HEADER\.FIELDS|HEADER|TEXT|MIME))?(?: \((?P<names>[^()\s]+(?: [^()\s]+)*)\))?",
    re.IGNORECASE)


def parse_section_spec(text: str) -> SectionSpec:
    """The text between "[" and "]" of BODY[...] as a ``SectionSpec``; a convenience for
    tests and tools (the IMAP command parser builds ``SectionSpec`` itself)."""
    match = _SECTION_SPEC.fullmatch(text)
    if match is None:
        raise SectionError(f"not a section-spec: {text!r}")
    numbers = tuple(int(n) for n in match.group("part").split(".")) if match.group(
        "part") else ()
    kind = SectionText(match.group("text").upper()) if match.group("text") else None
    names = tuple(match.group("names").split(" ")) if match.group("names") else ()
    wants_names = kind in (SectionText.HEADER_FIELDS, SectionText.HEADER_FIELDS_NOT)
    if wants_names != bool(names) or (kind is SectionText.MIME and not numbers):
        # RFC 9051 §6.4.5.1: "The MIME part specifier MUST be prefixed by one or more
        # numeric part specifiers."
        raise SectionError(f"not a section-spec: {text!r}")
    return SectionSpec(numbers, kind, names)


def find_part(message: ParsedMessage, numbers: tuple[int, ...]) -> BodyPart:
    """The part that ``numbers`` (a section-part, non-empty) names."""
    if not numbers:
        raise NoSuchPart("a section-part has at least one number")
    candidates = _numbered_parts(message)
    part = None
    for number in numbers:
        if not 1 <= number <= len(candidates):
            raise NoSuchPart(f"no part {'.'.join(map(str, numbers))}")
        part = candidates[number - 1]
        candidates = (part.children if part.is_multipart else
                      _numbered_parts(part.message) if part.message is not None else ())
    assert part is not None
    return part


def _numbered_parts(message: ParsedMessage) -> tuple[BodyPart, ...]:
    root = message.body
    return root.children if root.is_multipart else (root,)


def fetch_section(raw: bytes, message: ParsedMessage, section: SectionSpec,
                  partial: tuple[int, int] | None = None) -> bytes:
    """The octets of BODY[section]<origin.count> (RFC 9051 §6.4.5)."""
    if section.text is SectionText.MIME:
        part = find_part(message, section.part)
        # "The MIME part specifier refers to the [MIME-IMB] header for this part."
        data = raw[part.header_start:part.body_start]
    elif section.text is None:
        if not section.part:
            # "If BODY[] is specified ..., the FETCH is requesting the [RFC5322] expression
            # of the entire message."
            data = raw[message.body.header_start:message.body.body_end]
        else:
            part = find_part(message, section.part)
            data = raw[part.body_start:part.body_end]
    else:
        target = message
        if section.part:
            part = find_part(message, section.part)
            if part.message is None:
                raise NotAMessagePart(f"part {'.'.join(map(str, section.part))} is not "
                                      "message/rfc822 or message/global")
            target = part.message
        data = _message_text(raw, target, section)
    return apply_partial(data, partial)


def _message_text(raw: bytes, message: ParsedMessage, section: SectionSpec) -> bytes:
    root = message.body
    if section.text is SectionText.TEXT:
        # "The TEXT part specifier refers to the text body of the message, omitting the
        # [RFC5322] header."
        return raw[root.body_start:root.body_end]
    return _header_text(raw, message.fields, root.header_start, root.header_end,
                        root.body_start, section)


def _header_text(raw: bytes, fields: tuple[FieldSpan, ...], header_start: int,
                 header_end: int, body_start: int, section: SectionSpec) -> bytes:
    if section.text is SectionText.HEADER:
        # "the blank line is included in all header fetches, except in the case of a
        # message that has no body and no blank line"
        return raw[header_start:body_start]
    # "The field-matching is ASCII-range case insensitive but is otherwise exact.
    # Subsetting does not exclude the [RFC5322] delimiting blank line between the header
    # and the body".
    wanted = _field_keys(section.field_names)
    keep = section.text is SectionText.HEADER_FIELDS
    # Field names are ASCII (scan_header), so str.lower() is the ASCII-range folding.
    selected = [raw[f.start:f.end] for f in fields if (f.name.lower() in wanted) == keep]
    selected.append(raw[header_end:body_start])
    return b"".join(selected)


@functools.lru_cache(maxsize=256)
def _field_keys(names: tuple[str, ...]) -> frozenset[str]:
    """HEADER.FIELDS names as compared: ASCII-range lower case, other octets as they are
    (as Latin-1 characters, which no ASCII field name equals)."""
    return frozenset(name.encode("utf-8", "surrogateescape").lower().decode("latin-1")
                     for name in names)


# The sections a scan of the message's own header answers (``top_header_section``).
HEADER_TEXTS = frozenset({SectionText.HEADER, SectionText.HEADER_FIELDS,
                          SectionText.HEADER_FIELDS_NOT})


def top_header_section(raw: bytes, header: HeaderScan, section: SectionSpec,
                       partial: tuple[int, int] | None = None) -> bytes:
    """BODY[HEADER], BODY[HEADER.FIELDS (...)] or BODY[HEADER.FIELDS.NOT (...)] of the
    message itself (no part number), from a scan of its header alone
    (``scan_header(raw, 0, len(raw), ...)``, as ``parse_message`` scans it): the same
    octets as ``fetch_section`` with the whole parsed message, for a FETCH that needs
    nothing else of the structure."""
    if section.part or section.text not in HEADER_TEXTS:
        raise ValueError(f"not a header section of the message itself: {section!r}")
    return apply_partial(_header_text(raw, header.fields, 0, header.header_end,
                                      header.body_start, section), partial)


def apply_partial(data: bytes, partial: tuple[int, int] | None) -> bytes:
    """partial = "<" number64 "." nz-number64 ">": "If the starting octet is beyond the end
    of the text, an empty string is returned. Any partial fetch that attempts to read
    beyond the end of the text is truncated as appropriate." (RFC 9051 §6.4.5)"""
    if partial is None:
        return data
    origin, count = partial
    if origin < 0 or count < 1:
        raise ValueError("partial is <number64 . nz-number64>")
    return data[origin:origin + count]


# --- BINARY (RFC 3516) ---------------------------------------------------------------------

# RFC 2045 §6.7 (3): "Therefore, when decoding a Quoted-Printable body, any trailing white
# space on a line must be deleted, as it will necessarily have been added by intermediate
# transport agents."
_TRAILING_WHITESPACE = re.compile(rb"[ \t]+(?=\r?\n|\Z)")
_LINE_BREAKS = re.compile(rb"\r\n|\r|\n")
# Charsets whose octet 0x0A is not always a line break: their text is left as decoded.
_NOT_ASCII_COMPATIBLE = ("utf-16", "utf-32", "ucs-2", "ucs-4", "utf-7")


def decode_transfer_encoding(data: bytes, encoding: str | None) -> bytes:
    """Remove a Content-Transfer-Encoding (RFC 2045 §6): identity for 7bit, 8bit, binary
    and none (§6.1 default 7bit); base64 (§6.8) and quoted-printable (§6.7) decoded
    leniently; anything else raises ``UnknownTransferEncoding``."""
    if encoding in (None, "7bit", "8bit", "binary"):
        return data
    if encoding == "base64":
        return decode_base64_lenient(data)
    if encoding == "quoted-printable":
        # binascii keeps a malformed "=" sequence as written (RFC 2045 §6.7 note (2)
        # suggests exactly that) and removes soft line breaks "=" CRLF.
        return binascii.a2b_qp(_TRAILING_WHITESPACE.sub(b"", data))
    raise UnknownTransferEncoding(encoding)


def fetch_binary(raw: bytes, message: ParsedMessage, part_numbers: tuple[int, ...],
                 partial: tuple[int, int] | None = None) -> bytes:
    """BINARY[section-part]<partial>: the part's content with its transfer encoding
    removed; "the <partial> arguments refer to the DECODED section data".

    RFC 9051 §7.5.2: "servers MUST ensure that textual line-oriented sections are always
    transmitted using the IMAP CRLF line termination syntax": text/* content gets CRLF
    line breaks (except in UTF-16/32 text, where 0x0A is not a line break).
    """
    if not part_numbers:
        return apply_partial(raw[message.body.header_start:message.body.body_end], partial)
    part = find_part(message, part_numbers)
    if part.is_multipart or part.message is not None:
        raise NotALeafPart(f"part {'.'.join(map(str, part_numbers))} is {part.content_type}")
    data = decode_transfer_encoding(raw[part.body_start:part.body_end],
                                    part.transfer_encoding)
    charset = (part.parameter("charset") or "").lower()
    if part.media_type == "text" and part.opaque is None and not charset.startswith(
            _NOT_ASCII_COMPATIBLE):
        data = _LINE_BREAKS.sub(b"\r\n", data)
    return apply_partial(data, partial)


def binary_size(raw: bytes, message: ParsedMessage, part_numbers: tuple[int, ...]) -> int:
    """BINARY.SIZE[section-part]: "The value returned MUST match the size of the <nstring>
    or <literal8> that will be returned by the corresponding FETCH BINARY request"; so it
    is computed by decoding (RFC 3516 §4.2 warns it "might be an expensive operation")."""
    return len(fetch_binary(raw, message, part_numbers))
