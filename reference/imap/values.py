"""The generic value model of nested response data (ENVELOPE, BODYSTRUCTURE, ...).

RFC 9051 §4: "Data in IMAP4rev2 can be in one of several forms: atom, number, string,
parenthesized list, or NIL." ENVELOPE and BODYSTRUCTURE (§7.5.2) use only the last four,
so a value is plain Python data, exactly what ``reference/message/structure.py``
produces:

    Value = None | int | str | bytes | tuple[Value, ...]

- ``None`` is NIL (§4.5);
- ``int`` is a number (§4.2; number64 at most);
- ``str`` is text, sent as UTF-8; ``bytes`` are octets as they are;
- ``tuple`` is a parenthesised list (§4.4).

The writer chooses the form of each string (§4.3): quoted when it can be, a literal when
it holds CR, LF or (without UTF-8 mode) 8-bit octets, or is longer than ``QUOTED_MAX``;
a NUL has no form outside literal8 and is a ``ValueError`` (a session bug). The reader
(client side) gives ``str`` for every string that is valid UTF-8 and ``bytes`` otherwise,
so ``read(write(v)) == v`` for every value whose ``bytes`` are not valid UTF-8.
"""

from __future__ import annotations

from reference.imap.grammar import (
    NUMBER64_MAX,
    Cursor,
    GrammarError,
    WireWriter,
    parse_number,
    parse_string,
    write_string,
)

Value = None | int | str | bytes | tuple["Value", ...]


def write_value(writer: WireWriter, value: Value) -> None:
    """Append ``value``'s wire form (nil / number / string / parenthesised list)."""
    if value is None:
        writer.raw(b"NIL")
    elif isinstance(value, bool):
        raise ValueError("a bool is not an IMAP value")
    elif isinstance(value, int):
        if not 0 <= value <= NUMBER64_MAX:
            raise ValueError(f"number out of range (RFC 9051 §9 number64): {value}")
        writer.raw(b"%d" % value)
    elif isinstance(value, str):
        write_string(writer, value.encode("utf-8"))
    elif isinstance(value, bytes):
        write_string(writer, value)
    elif isinstance(value, tuple):
        writer.raw(b"(")
        for index, item in enumerate(value):
            if index:
                writer.raw(b" ")
            write_value(writer, item)
        writer.raw(b")")
    else:
        raise ValueError(f"not an IMAP value: {type(value).__name__}")


def to_bytes(value: Value, *, utf8: bool = True) -> bytes:
    writer = WireWriter(utf8=utf8)
    write_value(writer, value)
    return writer.getvalue()


def parse_value(cursor: Cursor, *, utf8: bool = True) -> Value:
    """nil / number / string / "(" [value *(SP value)] ")" with the cursor's nesting bound.

    Strict: atoms other than NIL are refused (ENVELOPE and BODYSTRUCTURE hold none), and
    8-bit octets in a quoted string only in UTF-8 mode (RFC 6855 §3).
    """
    first = cursor.peek()
    if first == 0x28:
        cursor.enter()
        cursor.pos += 1
        items: list[Value] = []
        if not cursor.accept(b")"):
            while True:
                items.append(parse_value(cursor, utf8=utf8))
                if cursor.accept(b")"):
                    break
                cursor.sp()
        cursor.leave()
        return tuple(items)
    if 0x30 <= first <= 0x39:
        return parse_number(cursor, maximum=NUMBER64_MAX, rule="number")
    if first in (0x4E, 0x6E) and cursor.line[cursor.pos:cursor.pos + 3].upper() == b"NIL":
        cursor.pos += 3
        return None
    if first in (0x22, 0x7B):
        start = cursor.offset
        quoted = first == 0x22
        data = parse_string(cursor)
        if quoted and not utf8 and not data.isascii():
            raise GrammarError("a 7-bit quoted string (8-bit needs UTF8=ACCEPT, "
                               "RFC 6855 §3)", start)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            if quoted:
                raise GrammarError("a quoted string in UTF-8", start) from None
            return data
    raise cursor.error("NIL, a number, a string or a parenthesised list")


def text_of(value: Value) -> str | None:
    """A string value as text (``bytes`` decoded leniently), ``None`` for NIL."""
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, str):
        return value
    raise ValueError(f"not a string: {value!r}")
