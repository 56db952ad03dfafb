"""RFC 9051 §9 formal syntax: the lexical rules shared by commands and responses.

The ABNF is quoted above each definition. ``parse_<rule>(cursor)`` reads the rule at the
cursor and returns its value; ``write_<rule>(writer, value)`` appends its wire form. A
command or response arrives as *segments*: its lines (without CRLF) alternating with the
data of the literals that end them (RFC 9051 §2.2: "a line or a sequence of octets with a
known count followed by a line"). The cursor walks the lines and hands a literal's data
over whole when the parser reaches its ``{n}``: octets in a literal are data, never
syntax. A mismatch raises ``GrammarError`` naming what was expected and the octet offset
in the command where it was expected; the parsers turn it into a BAD response (server) or
a ``RemoteProtocolError`` (client).

Rules for families live beside: ``grammar_search`` (search-key), ``grammar_fetch``
(fetch-att, section), ``grammar_body`` (envelope, body), ``grammar_values`` (flags,
dates, mailboxes, sequence-set).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import Enum

from reference.imap.limits import NON_SYNCHRONIZING_LITERAL_MAX


class GrammarError(ValueError):
    """Input does not match a rule: ``expected`` at octet ``offset`` of the command."""

    def __init__(self, expected: str, offset: int, found: bytes = b"") -> None:
        self.expected = expected
        self.offset = offset
        self.found = found
        shown = found[:16].decode("ascii", "backslashreplace") if found else ""
        detail = f', found "{shown}"' if shown else ", found end of line"
        super().__init__(f"Expected {expected} at octet {offset}{detail}")


# --- character classes (RFC 9051 §9) ----------------------------------------------------

# atom-specials   = "(" / ")" / "{" / SP / CTL / list-wildcards /
#                   quoted-specials / resp-specials
# ATOM-CHAR       = <any CHAR except atom-specials>
ATOM_CHAR = rb"\x21\x23\x24\x26\x27\x2b-\x5b\x5e-\x7a\x7c-\x7e"
# ASTRING-CHAR   = ATOM-CHAR / resp-specials
# resp-specials   = "]"
ASTRING_CHAR = ATOM_CHAR + rb"\x5d"
# list-char       = ATOM-CHAR / list-wildcards / resp-specials
# list-wildcards  = "%" / "*"
LIST_CHAR = ATOM_CHAR + rb"\x25\x2a\x5d"
# tag             = 1*<any ASTRING-CHAR except "+">
TAG_CHAR = rb"\x21\x23\x24\x26\x27\x2c-\x5b\x5d\x5e-\x7a\x7c-\x7e"

# atom            = 1*ATOM-CHAR
_ATOM = re.compile(b"[" + ATOM_CHAR + b"]+")
_ASTRING_ATOM = re.compile(b"[" + ASTRING_CHAR + b"]+")
_LIST_CHARS = re.compile(b"[" + LIST_CHAR + b"]+")
_TAG = re.compile(b"[" + TAG_CHAR + b"]+")
# Words of the grammar ("FETCH", "BODY.PEEK", "RFC822.SIZE", "HEADER.FIELDS.NOT"...).
_KEYWORD = re.compile(rb"[A-Za-z][A-Za-z0-9.\-]*")
# quoted          = DQUOTE *QUOTED-CHAR DQUOTE
# QUOTED-CHAR     = <any TEXT-CHAR except quoted-specials> /
#                   "\" quoted-specials / UTF8-2 / UTF8-3 / UTF8-4
# quoted-specials = DQUOTE / "\"
# TEXT-CHAR       = <any CHAR except CR and LF>   (8-bit octets checked as UTF-8 after)
_QUOTED = re.compile(rb'"((?:[^"\\\r\n\x00]|\\["\\])*)"')
_QUOTED_ESCAPE = re.compile(rb'\\(["\\])')
# number          = 1*DIGIT
_DIGITS = re.compile(rb"[0-9]+")
# literal         = "{" number64 ["+"] "}" CRLF *CHAR8
# literal8        = "~{" number64 "}" CRLF *OCTET
_LITERAL_HEADER = re.compile(rb"(~?)\{([0-9]+)(\+?)\}")
# A line ending in a literal's octet count (RFC 7888 §3: the receiver "MUST check the end
# of every received line ... for an open brace").
LITERAL_AT_END = re.compile(rb"(~?)\{([0-9]+)(\+?)\}\Z")

NUMBER_MAX = 2**32 - 1        # number: "Unsigned 32-bit integer"
NUMBER64_MAX = 2**63 - 1      # number64: "Unsigned 63-bit integer"


class Cursor:
    """A reading position in one command or response (its segments, see above)."""

    __slots__ = ("_base", "_index", "_segments", "depth", "line", "max_depth", "pos")

    def __init__(self, segments: Sequence[bytes], *, max_depth: int = 64) -> None:
        self._segments = segments
        self._index = 0
        self._base = 0
        self.line = segments[0]
        self.pos = 0
        self.depth = 0
        self.max_depth = max_depth

    @property
    def offset(self) -> int:
        """Octets of the command before the current position (literals included)."""
        return self._base + self.pos

    def error(self, expected: str) -> GrammarError:
        return GrammarError(expected, self.offset, self.line[self.pos:self.pos + 16])

    def at_line_end(self) -> bool:
        return self.pos >= len(self.line)

    def at_end(self) -> bool:
        return self.pos >= len(self.line) and self._index + 1 >= len(self._segments)

    def peek(self) -> int:
        """The next octet, or -1 at the end of the line."""
        return self.line[self.pos] if self.pos < len(self.line) else -1

    def startswith(self, prefix: bytes) -> bool:
        return self.line.startswith(prefix, self.pos)

    def match(self, pattern: re.Pattern[bytes]) -> re.Match[bytes] | None:
        found = pattern.match(self.line, self.pos)
        if found is not None:
            self.pos = found.end()
        return found

    def expect(self, token: bytes, what: str | None = None) -> None:
        if not self.line.startswith(token, self.pos):
            raise self.error(what or '"' + token.decode("ascii") + '"')
        self.pos += len(token)

    def accept(self, token: bytes) -> bool:
        if self.line.startswith(token, self.pos):
            self.pos += len(token)
            return True
        return False

    def sp(self) -> None:
        # RFC 9051 §9 note 2: "SP refers to exactly one space."
        self.expect(b" ", "SP")

    def keyword(self, what: str) -> str:
        """A word of the grammar, upper-cased (RFC 9051 §9 note 1: "Implementations MUST
        accept these strings in a case-insensitive fashion")."""
        found = self.match(_KEYWORD)
        if found is None:
            raise self.error(what)
        return found.group().decode("ascii").upper()

    def peek_keyword(self) -> str:
        found = _KEYWORD.match(self.line, self.pos)
        return found.group().decode("ascii").upper() if found else ""

    def enter(self) -> None:
        """One more level of parentheses, bounded by ``ImapLimits.nesting``."""
        self.depth += 1
        if self.depth > self.max_depth:
            raise GrammarError(f"at most {self.max_depth} levels of parentheses",
                               self.offset, self.line[self.pos:self.pos + 16])

    def leave(self) -> None:
        self.depth -= 1

    def take_literal(self, size: int) -> bytes:
        """The data of the literal whose header ended the current line."""
        if not self.at_line_end():
            raise self.error("CRLF after the literal's octet count")
        if self._index + 1 >= len(self._segments):
            raise self.error("the literal's data")
        data = self._segments[self._index + 1]
        if len(data) != size:
            raise self.error(f"{size} octets of literal data")
        self._base += len(self.line) + 2 + len(data)
        self._index += 2
        self.line = self._segments[self._index] if self._index < len(self._segments) else b""
        self.pos = 0
        return data

    def end(self) -> None:
        if not self.at_end():
            raise self.error("CRLF (end of the line)")


# --- numbers -------------------------------------------------------------------------


def parse_number(cursor: Cursor, *, maximum: int = NUMBER_MAX, nonzero: bool = False,
                 rule: str = "number") -> int:
    """number = 1*DIGIT; nz-number = digit-nz *DIGIT; number64, nz-number64 likewise
    with ``maximum=NUMBER64_MAX``."""
    start = cursor.pos
    found = cursor.match(_DIGITS)
    if found is None:
        raise cursor.error(rule)
    digits = found.group()
    if nonzero and digits[0:1] == b"0":
        cursor.pos = start
        raise cursor.error(rule + " (digit-nz first)")
    if len(digits) > 19 or int(digits) > maximum:
        cursor.pos = start
        raise cursor.error(f"{rule} of at most {maximum}")
    return int(digits)


def parse_nz_number(cursor: Cursor) -> int:
    return parse_number(cursor, nonzero=True, rule="nz-number")


def parse_number64(cursor: Cursor) -> int:
    return parse_number(cursor, maximum=NUMBER64_MAX, rule="number64")


# --- atoms, strings ------------------------------------------------------------------


def parse_atom(cursor: Cursor) -> str:
    """atom = 1*ATOM-CHAR"""
    found = cursor.match(_ATOM)
    if found is None:
        raise cursor.error("atom")
    return found.group().decode("ascii")


def parse_tag(cursor: Cursor) -> str:
    """tag = 1*<any ASTRING-CHAR except "+">"""
    found = cursor.match(_TAG)
    if found is None:
        raise cursor.error("tag")
    return found.group().decode("ascii")


def parse_quoted(cursor: Cursor) -> bytes:
    """quoted = DQUOTE *QUOTED-CHAR DQUOTE; returns the unescaped octets."""
    found = cursor.match(_QUOTED)
    if found is None:
        raise cursor.error("quoted string")
    return _QUOTED_ESCAPE.sub(rb"\1", found.group(1))


def parse_literal(cursor: Cursor, *, literal8: bool = False) -> bytes:
    """literal = "{" number64 ["+"] "}" CRLF *CHAR8 (and literal8 with ``literal8``).

    The framing already read the data (and, for a client, checked that a server sent
    no "+"); here the header is matched and the data taken.
    """
    start = cursor.offset
    found = cursor.match(_LITERAL_HEADER)
    if found is None or (found.group(1) and not literal8):
        raise GrammarError("literal8" if literal8 else "literal", start,
                           cursor.line[cursor.pos:cursor.pos + 16])
    data = cursor.take_literal(int(found.group(2)))
    if not found.group(1) and b"\x00" in data:
        # CHAR8 = %x01-ff: "any OCTET except NUL"; RFC 9051 §4.3.1 a binary string needs
        # literal8.
        raise GrammarError("literal data without NUL (CHAR8; NUL needs literal8)", start)
    return data


def parse_string(cursor: Cursor) -> bytes:
    """string = quoted / literal"""
    if cursor.peek() == 0x22:
        return parse_quoted(cursor)
    if cursor.peek() == 0x7B:
        return parse_literal(cursor)
    raise cursor.error("string (quoted or literal)")


def parse_astring(cursor: Cursor) -> bytes:
    """astring = 1*ASTRING-CHAR / string"""
    if cursor.peek() in (0x22, 0x7B):
        return parse_string(cursor)
    found = cursor.match(_ASTRING_ATOM)
    if found is None:
        raise cursor.error("astring")
    return found.group()


def parse_nstring(cursor: Cursor) -> bytes | None:
    """nstring = string / nil; nil = "NIL" """
    if cursor.line[cursor.pos:cursor.pos + 3].upper() == b"NIL":
        cursor.pos += 3
        return None
    return parse_string(cursor)


def parse_list_mailbox_octets(cursor: Cursor) -> bytes:
    """list-mailbox = 1*list-char / string"""
    if cursor.peek() in (0x22, 0x7B):
        return parse_string(cursor)
    found = cursor.match(_LIST_CHARS)
    if found is None:
        raise cursor.error("list-mailbox")
    return found.group()


def decode_utf8(data: bytes, cursor: Cursor, start: int, what: str) -> str:
    """Text of a string. RFC 6855 §3 MUST: the server "MUST reject, with a "BAD"
    response, any octet sequences with the high bit set that fail to comply with the
    formal syntax requirements of UTF-8"."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise GrammarError(f"{what} in UTF-8", start) from exc


# --- writing -------------------------------------------------------------------------


class LiteralForm(Enum):
    """How a writer sends literals (RFC 9051 §4.3, RFC 7888)."""

    SERVER = "server"              # "{n}" CRLF data, never waits (server to client)
    SYNCHRONIZING = "sync"         # client: "{n}" CRLF, then wait for "+"
    LITERAL_PLUS = "literal+"      # client: "{n+}" for any size (RFC 7888 §3)
    LITERAL_MINUS = "literal-"     # client: "{n+}" up to 4096 octets (RFC 7888 §5)


# RFC 9051 §4.3: a quoted string "avoids the overhead of processing a literal"; a long
# one makes long lines (RFC 2683 §3.2.1.5 asks clients for lines of about 1000 octets).
QUOTED_MAX = 1000
_QUOTABLE_ASCII = re.compile(rb"[\x01-\x09\x0b\x0c\x0e-\x7f]*\Z")


class WireWriter:
    """Collects the wire form of one command or response.

    ``parts`` splits it where a client must wait for a "+" continuation before sending
    the rest (RFC 9051 §4.3 MUST: "the client MUST wait to receive a command continuation
    request ... before sending the octet data").
    """

    __slots__ = ("_current", "_parts", "literal_form", "utf8")

    def __init__(self, *, utf8: bool, literal_form: LiteralForm = LiteralForm.SERVER) -> None:
        self.utf8 = utf8
        self.literal_form = literal_form
        self._current: list[bytes] = []
        self._parts: list[bytes] = []

    def raw(self, data: bytes) -> None:
        self._current.append(data)

    def literal(self, data: bytes, *, literal8: bool = False) -> None:
        prefix = b"~" if literal8 else b""
        form = self.literal_form
        if form is LiteralForm.SERVER:
            self._current.append(b"%s{%d}\r\n" % (prefix, len(data)))
        elif form is LiteralForm.LITERAL_PLUS or (
                form is LiteralForm.LITERAL_MINUS
                and len(data) <= NON_SYNCHRONIZING_LITERAL_MAX):
            self._current.append(b"%s{%d+}\r\n" % (prefix, len(data)))
        else:
            self._current.append(b"%s{%d}\r\n" % (prefix, len(data)))
            self._parts.append(b"".join(self._current))
            self._current = []
        self._current.append(data)

    def parts(self) -> list[bytes]:
        return [*self._parts, b"".join(self._current)]

    def getvalue(self) -> bytes:
        return b"".join(self.parts())


def write_number(writer: WireWriter, value: int, *, maximum: int = NUMBER64_MAX) -> None:
    if not 0 <= value <= maximum:
        raise ValueError(f"number out of range: {value}")
    writer.raw(b"%d" % value)


def is_atom(data: bytes) -> bool:
    return _ATOM.fullmatch(data) is not None


def write_atom(writer: WireWriter, value: str) -> None:
    data = value.encode("ascii", "replace")
    if not is_atom(data):
        raise ValueError(f"not an atom: {value!r}")
    writer.raw(data)


def can_quote(data: bytes, *, utf8: bool) -> bool:
    """Whether ``data`` may go as a quoted string: no NUL, CR or LF (RFC 9051 §4.3), and
    8-bit only as UTF-8 where the peer accepts it (RFC 6855 §3 "MUST NOT send UTF-8 in
    quoted-strings to the client unless the client has indicated support")."""
    if len(data) > QUOTED_MAX:
        return False
    if _QUOTABLE_ASCII.match(data):
        return True
    if not utf8 or b"\x00" in data or b"\r" in data or b"\n" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def write_quoted(writer: WireWriter, data: bytes) -> None:
    writer.raw(b'"' + data.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"')


def write_string(writer: WireWriter, data: bytes) -> None:
    """string = quoted / literal: quoted when possible, a literal otherwise."""
    if can_quote(data, utf8=writer.utf8):
        write_quoted(writer, data)
    elif b"\x00" in data:
        # RFC 9051 §4.3.1 MUST: binary data is encoded "unless returned in a <literal8>".
        raise ValueError("a string with NUL needs literal8 (RFC 9051 §4.3.1)")
    else:
        writer.literal(data)


def write_astring(writer: WireWriter, data: bytes) -> None:
    """astring = 1*ASTRING-CHAR / string: an atom when possible ("NIL" quoted, so that
    no reader takes it for nil, RFC 9051 §4.5 note)."""
    if _ASTRING_ATOM.fullmatch(data) and data.upper() != b"NIL":
        writer.raw(data)
    else:
        write_string(writer, data)


def write_nstring(writer: WireWriter, data: bytes | None) -> None:
    if data is None:
        writer.raw(b"NIL")
    else:
        write_string(writer, data)


def write_list_mailbox(writer: WireWriter, data: bytes) -> None:
    """list-mailbox = 1*list-char / string"""
    if _LIST_CHARS.fullmatch(data) and data.upper() != b"NIL":
        writer.raw(data)
    else:
        write_string(writer, data)
