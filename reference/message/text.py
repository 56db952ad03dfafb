"""The searchable text of a message, for IMAP SEARCH BODY / TEXT / header keys (RFC 9051
§6.4.4) and JMAP's text filters: computed once at delivery and stored (DESIGN.md
principle 6).

Implementation notes:

- Header text: every field of the header as "Name: value", the value unfolded and its
  RFC 2047 encoded-words decoded (``decode_unstructured``: whole whitespace-separated
  words, which also covers the display names of address fields).
- Body text: every text/* leaf in document order, the transfer encoding removed
  (``sections.decode_transfer_encoding``; an unknown one leaves the octets as they are)
  and the charset decoded (RFC 2046 §4.1.2; US-ASCII read as UTF-8, an unknown charset as
  UTF-8 with replacements). text/html is reduced to its text: scripts, styles, comments
  and tags removed, character references resolved (a simple reduction, not an HTML
  parser). The header of each encapsulated message (message/rfc822 or message/global) is
  part of the body text, as it is part of the body.
- MIME header text: the header fields of every body part below the top level (RFC 2045
  §3, the body-part headers of RFC 2046 §5.1.1), written as the header text is, and the
  RFC 2231-decoded parameters of every part as "name=value" (sections joined, charsets
  decoded), so that a filename written in sections or percent-encoded is found as it
  reads. SEARCH TEXT looks there too (RFC 9051 §6.4.4: "in the header (including MIME
  header fields) or body of the message"); BODY does not ("doesn't match any header
  fields").
- ``search_text`` is the header text, the body text and the MIME header text, one after
  the other: each text a search key looks in is a contiguous piece of it, so a string
  found there is found in the index text as well (the index only narrows).
- Parts are separated by a newline so that words of two parts never join.
"""

from __future__ import annotations

import contextlib
import html
import re
from collections.abc import Iterable
from dataclasses import dataclass

from reference.message.encoded_words import decode_charset, decode_unstructured
from reference.message.headers import FieldSpan, field_text, scan_header
from reference.message.mime import MessageLimits
from reference.message.model import BodyPart, ParsedMessage
from reference.message.sections import UnknownTransferEncoding, decode_transfer_encoding

_INVISIBLE_HTML = re.compile(r"<(script|style)\b.*?</\1\s*>|<!--.*?-->", re.IGNORECASE | re.DOTALL)
_HTML_TAG = re.compile(r"<[^>]*>")
# The fields read from one body part's header: the parser's default bound, which a
# delivered message was parsed with.
_MAX_FIELDS = MessageLimits().max_header_fields


def header_text(raw: bytes, message: ParsedMessage) -> str:
    """The decoded header fields of ``message``, one "Name: value" per line."""
    return _fields_text(raw, message.fields)


def _fields_text(raw: bytes, fields: Iterable[FieldSpan]) -> str:
    return "\n".join(f"{field.name}: {decode_unstructured(field_text(field.raw_value(raw)))}"
                     for field in fields)


def body_text(raw: bytes, message: ParsedMessage) -> str:
    """The decoded text of every text/* part, and of the headers of encapsulated
    messages, in the order they occur."""
    pieces: list[str] = []
    _collect(raw, message.body, pieces)
    return "\n".join(pieces)


def mime_header_text(raw: bytes, message: ParsedMessage) -> str:
    """The header fields of every body part below the top level (the header of an
    encapsulated message is in ``body_text`` already), and the RFC 2231-decoded
    parameters of every part (the top level's too) as "name=value"."""
    pieces: list[str] = []
    _collect_mime(raw, message.body, pieces, top=True)
    return "\n".join(piece for piece in pieces if piece)


def search_text(raw: bytes, message: ParsedMessage) -> str:
    """Header text, body text and MIME header text together: what SEARCH TEXT looks in
    (RFC 9051 §6.4.4: "Messages that contain the specified string in the header
    (including MIME header fields) or body of the message")."""
    return "\n".join((header_text(raw, message), body_text(raw, message),
                      mime_header_text(raw, message)))


def _collect(raw: bytes, part: BodyPart, pieces: list[str]) -> None:
    if part.is_multipart:
        for child in part.children:
            _collect(raw, child, pieces)
    elif part.message is not None:
        pieces.append(header_text(raw, part.message))
        _collect(raw, part.message.body, pieces)
    elif part.media_type == "text" and part.opaque is None:
        pieces.append(part_text(raw, part))


def _collect_mime(raw: bytes, part: BodyPart, pieces: list[str], *, top: bool) -> None:
    if not top:
        scan = scan_header(raw, part.header_start, part.header_end, _MAX_FIELDS)
        pieces.append(_fields_text(raw, scan.fields))
    pieces.extend(f"{parameter.name}={parameter.value}"
                  for parameter in (*part.parameters, *part.disposition_parameters))
    for child in part.children:
        _collect_mime(raw, child, pieces, top=False)
    if part.message is not None:
        _collect_mime(raw, part.message.body, pieces, top=True)


def part_text(raw: bytes, part: BodyPart) -> str:
    """The text of one text/* part, decoded; HTML reduced to its text."""
    octets = raw[part.body_start:part.body_end]
    with contextlib.suppress(UnknownTransferEncoding):     # the octets as they are
        octets = decode_transfer_encoding(octets, part.transfer_encoding)
    text = decode_charset(octets, part.parameter("charset") or "us-ascii")
    if text is None:
        text = octets.decode("utf-8", "replace")
    if part.subtype == "html":
        text = html.unescape(_HTML_TAG.sub(" ", _INVISIBLE_HTML.sub(" ", text)))
    return text


def fold(value: str) -> str:
    """The case-insensitive form both sides of a SEARCH string comparison take (RFC 9051
    §6.4.4 "SHOULD ignore case"): full Unicode case folding, so "ß" matches "SS"."""
    return value.casefold()


@dataclass(frozen=True, slots=True)
class SearchText:
    """The folded texts a message is searched in, kept apart: what the store indexes and
    keeps (``NewMessage.search_text``), so SEARCH decides BODY and TEXT from them without
    reading the message again (DESIGN principle 6, parse once)."""

    header: str
    body: str                       # what BODY looks in (RFC 9051 §6.4.4)
    mime: str

    @property
    def whole(self) -> str:
        """What TEXT looks in: ``index_text``, the folded ``search_text``."""
        return "\n".join((self.header, self.body, self.mime))


def index_texts(raw: bytes, parsed: ParsedMessage) -> SearchText:
    """``search_text``'s three parts, folded. The index folds one character at a time;
    folding here first is what makes its narrowing a superset of the exact match
    (reference/imap/search.py)."""
    return SearchText(fold(header_text(raw, parsed)), fold(body_text(raw, parsed)),
                      fold(mime_header_text(raw, parsed)))


def index_text(raw: bytes, parsed: ParsedMessage) -> str:
    """``search_text`` folded: ``index_texts(...).whole`` (case folding maps character by
    character, and the newline between the parts folds to itself)."""
    return index_texts(raw, parsed).whole
