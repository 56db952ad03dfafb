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
- Parts are separated by a newline so that words of two parts never join.
"""

from __future__ import annotations

import contextlib
import html
import re

from reference.message.encoded_words import decode_charset, decode_unstructured
from reference.message.headers import field_text
from reference.message.model import BodyPart, ParsedMessage
from reference.message.sections import UnknownTransferEncoding, decode_transfer_encoding

_INVISIBLE_HTML = re.compile(r"<(script|style)\b.*?</\1\s*>|<!--.*?-->", re.IGNORECASE | re.DOTALL)
_HTML_TAG = re.compile(r"<[^>]*>")


def header_text(raw: bytes, message: ParsedMessage) -> str:
    """The decoded header fields of ``message``, one "Name: value" per line."""
    return "\n".join(f"{field.name}: {decode_unstructured(field_text(field.raw_value(raw)))}"
                     for field in message.fields)


def body_text(raw: bytes, message: ParsedMessage) -> str:
    """The decoded text of every text/* part, and of the headers of encapsulated
    messages, in the order they occur."""
    pieces: list[str] = []
    _collect(raw, message.body, pieces)
    return "\n".join(pieces)


def search_text(raw: bytes, message: ParsedMessage) -> str:
    """Header text and body text together: what SEARCH TEXT looks in (RFC 9051 §6.4.4:
    "Messages that contain the specified string in the header (including MIME header
    fields) or body of the message")."""
    return header_text(raw, message) + "\n" + body_text(raw, message)


def _collect(raw: bytes, part: BodyPart, pieces: list[str]) -> None:
    if part.is_multipart:
        for child in part.children:
            _collect(raw, child, pieces)
    elif part.message is not None:
        pieces.append(header_text(raw, part.message))
        _collect(raw, part.message.body, pieces)
    elif part.media_type == "text" and part.opaque is None:
        pieces.append(part_text(raw, part))


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


def index_text(raw: bytes, parsed: ParsedMessage) -> str:
    """What the store indexes (``NewMessage.search_text``): ``search_text`` folded.
    The index folds one character at a time; folding here first is what makes its
    narrowing a superset of the exact match (reference/imap/search.py)."""
    return fold(search_text(raw, parsed))
