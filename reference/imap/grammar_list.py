"""LIST extended data items (RFC 5258 §9, RFC 9051 §9), both ways.

    mailbox-list    = "(" [mbx-list-flags] ")" SP
                       (DQUOTE QUOTED-CHAR DQUOTE / nil) SP mailbox
                       [SP mbox-list-extended]
    mbox-list-extended =  "(" [mbox-list-extended-item
                          *(SP mbox-list-extended-item)] ")"
    mbox-list-extended-item = mbox-list-extended-item-tag SP tagged-ext-val
    mbox-list-extended-item-tag = astring
                   ; The content MUST conform to either
                   ; "eitem-vendor-tag" or "eitem-standard-tag"
    eitem-standard-tag =  atom
    eitem-vendor-tag =  vendor-token "-" atom

Two items have their own fields in ``ListData``: CHILDINFO (RFC 9051 §6.3.9.6)

    childinfo-extended-item =  "CHILDINFO" SP "("
                list-select-base-opt-quoted
                *(SP list-select-base-opt-quoted) ")"
    list-select-base-opt-quoted =  DQUOTE list-select-base-opt DQUOTE
    list-select-base-opt =  "SUBSCRIBED" / option-extension
    option-extension = (option-standard-tag / option-vendor-tag) [SP option-value]
    option-value =  "(" option-val-comp ")"
    option-val-comp =  astring / option-val-comp *(SP option-val-comp) /
                       "(" option-val-comp ")"

(between the DQUOTEs an astring can only be 1*ASTRING-CHAR), and OLDNAME (§6.3.9.7)

    oldname-extended-item =  "OLDNAME" SP "(" mailbox ")"

Every other item is ``(tag, value)`` with the value typed as follows, so that each
value has one wire form and reads back equal (``read(write(v)) == v``):

    tagged-ext-val      = tagged-ext-simple / "(" [tagged-ext-comp] ")"
    tagged-ext-simple   = sequence-set / number / number64
    tagged-ext-comp     = astring / tagged-ext-comp *(SP tagged-ext-comp) /
                          "(" tagged-ext-comp ")"

- ``int`` (0 to 2**63-1) is a number / number64;
- ``str`` is any other tagged-ext-simple, a sequence-set in its canonical spelling
  ("1:*,5", "$");
- ``tuple`` is "(" [tagged-ext-comp] ")": its members are ``str`` (an astring; ``bytes``
  when the octets are not UTF-8) or non-empty ``tuple`` (the nested "(" tagged-ext-comp
  ")", which the grammar does not let be empty). NIL and numbers have no place in a
  tagged-ext-comp of their own: "NIL" and "5" are astrings there and read as text.
"""

from __future__ import annotations

import re

from reference.imap.grammar import (
    ASTRING_CHAR,
    NUMBER64_MAX,
    Cursor,
    GrammarError,
    WireWriter,
    is_atom,
    parse_astring,
    parse_atom,
    parse_number,
    write_astring,
)
from reference.imap.grammar_values import parse_mailbox, parse_sequence_set, write_mailbox
from reference.imap.values import Value

# The items with fields of their own (RFC 9051 §6.3.9.6 CHILDINFO, §6.3.9.7 OLDNAME).
CHILDINFO = "CHILDINFO"
OLDNAME = "OLDNAME"
# The octets a tagged-ext-simple is made of (sequence-set / number / number64).
_SIMPLE = re.compile(rb"[0-9*:,$]+")
_ASTRING_CHARS = re.compile(b"[" + ASTRING_CHAR + b"]+")

Extensions = tuple[tuple[str, Value], ...]


# --- CHILDINFO: list-select-base-opt ------------------------------------------------------


def _option_val_comp(cursor: Cursor) -> None:
    """option-val-comp inside DQUOTEs: SP-separated 1*ASTRING-CHAR or "(" ... ")"."""
    while True:
        if cursor.accept(b"("):
            cursor.enter()
            _option_val_comp(cursor)
            cursor.expect(b")", '")" closing an option-val-comp')
            cursor.leave()
        elif cursor.match(_ASTRING_CHARS) is None:
            raise cursor.error("option-val-comp (1*ASTRING-CHAR or a parenthesised one)")
        if not cursor.accept(b" "):
            return


def _list_select_base_opt(cursor: Cursor) -> str:
    """list-select-base-opt = "SUBSCRIBED" / option-extension (see above)."""
    start = cursor.pos
    parse_atom(cursor)
    if cursor.accept(b" "):
        cursor.expect(b"(", '"(" opening an option-value')
        cursor.enter()
        _option_val_comp(cursor)
        cursor.expect(b")", '")" closing an option-value')
        cursor.leave()
    return cursor.line[start:cursor.pos].decode("ascii")


def is_list_select_base_opt(text: str) -> bool:
    if not text.isascii():
        return False
    cursor = Cursor([text.encode("ascii")])
    try:
        _list_select_base_opt(cursor)
    except GrammarError:
        return False
    return cursor.at_end()


def _parse_child_info(cursor: Cursor) -> tuple[str, ...]:
    cursor.expect(b"(", '"(" opening the CHILDINFO options')
    options: list[str] = []
    while True:
        # RFC 9051 §9 Note 2: "The selection options are always returned quoted".
        cursor.expect(b'"', 'DQUOTE before a selection option (list-select-base-opt-quoted)')
        options.append(_list_select_base_opt(cursor))
        cursor.expect(b'"', "DQUOTE after a selection option")
        if cursor.accept(b")"):
            return tuple(options)
        cursor.sp()


def _write_child_info(writer: WireWriter, options: tuple[str, ...]) -> None:
    if not options or not all(is_list_select_base_opt(option) for option in options):
        raise ValueError(f"CHILDINFO lists selection options (list-select-base-opt): "
                         f"{options!r}")
    writer.raw(b'"CHILDINFO" (' + b" ".join(b'"' + option.encode("ascii") + b'"'
                                            for option in options) + b")")


# --- tagged-ext-val -----------------------------------------------------------------------


def _simple(token: bytes, start: int, max_ranges: int) -> int | str:
    """tagged-ext-simple: an ``int`` for a number, the canonical sequence-set text
    otherwise."""
    cursor = Cursor([token])
    try:
        if token.isdigit():
            value: int | str = parse_number(cursor, maximum=NUMBER64_MAX, rule="number64")
        else:
            value = str(parse_sequence_set(cursor, max_ranges=max_ranges))
        cursor.end()
    except GrammarError as exc:
        raise GrammarError("tagged-ext-simple (sequence-set, number or number64)",
                           start + exc.offset, token) from exc
    return value


def _tagged_ext_comp(cursor: Cursor, *, utf8: bool) -> tuple[Value, ...]:
    """1*(astring / "(" tagged-ext-comp ")") separated by SP; the caller read "("."""
    items: list[Value] = []
    while True:
        if cursor.accept(b"("):
            cursor.enter()
            items.append(_tagged_ext_comp(cursor, utf8=utf8))
            cursor.expect(b")", '")" closing a tagged-ext-comp')
            cursor.leave()
        else:
            start = cursor.offset
            quoted = cursor.peek() == 0x22
            data = parse_astring(cursor)
            if quoted and not utf8 and not data.isascii():
                raise GrammarError("a 7-bit quoted string (8-bit needs UTF8=ACCEPT, "
                                   "RFC 6855 §3)", start)
            try:
                items.append(data.decode("utf-8"))
            except UnicodeDecodeError:
                if quoted:
                    raise GrammarError("a quoted string in UTF-8", start) from None
                items.append(data)
        if not cursor.accept(b" "):
            return tuple(items)


def parse_tagged_ext_val(cursor: Cursor, *, utf8: bool, max_ranges: int) -> Value:
    """tagged-ext-val = tagged-ext-simple / "(" [tagged-ext-comp] ")" """
    if not cursor.accept(b"("):
        start = cursor.offset
        found = cursor.match(_SIMPLE)
        if found is None:
            raise cursor.error('tagged-ext-val (sequence-set, number or "(")')
        return _simple(found.group(), start, max_ranges)
    cursor.enter()
    value: tuple[Value, ...] = ()
    if not cursor.accept(b")"):
        value = _tagged_ext_comp(cursor, utf8=utf8)
        cursor.expect(b")", '")" closing a tagged-ext-val')
    cursor.leave()
    return value


def _write_comp(writer: WireWriter, items: tuple[Value, ...]) -> None:
    for index, item in enumerate(items):
        if index:
            writer.raw(b" ")
        if isinstance(item, str):
            write_astring(writer, item.encode("utf-8"))
        elif isinstance(item, bytes):
            write_astring(writer, item)
        elif isinstance(item, tuple) and item:
            writer.raw(b"(")
            _write_comp(writer, item)
            writer.raw(b")")
        else:
            # None would read back as the astring "NIL", a number as text, and "()" is
            # not a tagged-ext-comp.
            raise ValueError(f"a tagged-ext-comp holds strings and non-empty lists: {item!r}")


def write_tagged_ext_val(writer: WireWriter, value: Value) -> None:
    if isinstance(value, bool):
        raise ValueError("a bool is not a tagged-ext-val")
    if isinstance(value, int):
        if not 0 <= value <= NUMBER64_MAX:
            raise ValueError(f"tagged-ext-simple number out of range (number64): {value}")
        writer.raw(b"%d" % value)
    elif isinstance(value, str):
        octets = value.encode("utf-8")
        if (value.isdigit() or _SIMPLE.fullmatch(octets) is None
                or _canonical_set(octets) != value):
            raise ValueError("a str tagged-ext-val is a sequence-set in canonical form "
                             f"(numbers are int): {value!r}")
        writer.raw(octets)
    elif isinstance(value, tuple):
        writer.raw(b"(")
        _write_comp(writer, value)
        writer.raw(b")")
    else:
        raise ValueError(f"not a tagged-ext-val: {value!r}")


def _canonical_set(octets: bytes) -> str | None:
    try:
        return str(_simple(octets, 0, max_ranges=len(octets)))
    except GrammarError:
        return None


# --- mbox-list-extended -------------------------------------------------------------------


def parse_mbox_list_extended(cursor: Cursor, *, utf8: bool, max_ranges: int
                             ) -> tuple[tuple[str, ...] | None, str | None, Extensions]:
    """mbox-list-extended (see above): CHILDINFO's options, OLDNAME's mailbox, and the
    other items as (tag, value). A repeated CHILDINFO or OLDNAME keeps the last."""
    child_info: tuple[str, ...] | None = None
    old_name: str | None = None
    extensions: list[tuple[str, Value]] = []
    cursor.expect(b"(", '"(" opening the extended data items')
    first = True
    while not cursor.accept(b")"):
        if not first:
            cursor.sp()
        first = False
        start = cursor.offset
        tag_octets = parse_astring(cursor)
        if not is_atom(tag_octets):
            raise GrammarError("mbox-list-extended-item-tag (eitem-standard-tag or "
                               "eitem-vendor-tag: an atom)", start, tag_octets)
        tag = tag_octets.decode("ascii")
        cursor.sp()
        if tag.upper() == CHILDINFO:
            child_info = _parse_child_info(cursor)
        elif tag.upper() == OLDNAME:
            cursor.expect(b"(", '"(" before the OLDNAME mailbox')
            old_name = parse_mailbox(cursor, utf8=utf8)
            cursor.expect(b")", '")" after the OLDNAME mailbox')
        else:
            extensions.append((tag, parse_tagged_ext_val(cursor, utf8=utf8,
                                                         max_ranges=max_ranges)))
    return child_info, old_name, tuple(extensions)


def write_mbox_list_extended(writer: WireWriter, child_info: tuple[str, ...] | None,
                             old_name: str | None, extensions: Extensions) -> None:
    """SP mbox-list-extended, or nothing when there are no items. The tags of CHILDINFO
    and OLDNAME go quoted, as in the RFCs' examples."""
    if child_info is None and old_name is None and not extensions:
        return
    writer.raw(b" (")
    first = True
    if child_info is not None:
        _write_child_info(writer, child_info)
        first = False
    if old_name is not None:
        writer.raw(b"" if first else b" ")
        writer.raw(b'"OLDNAME" (')
        write_mailbox(writer, old_name)
        writer.raw(b")")
        first = False
    for tag, value in extensions:
        if not is_atom(tag.encode("ascii", "replace")) or tag.upper() in (CHILDINFO, OLDNAME):
            raise ValueError("an extended item tag is an atom other than CHILDINFO and "
                             f"OLDNAME (those have fields of their own): {tag!r}")
        writer.raw((b"" if first else b" ") + tag.encode("ascii") + b" ")
        write_tagged_ext_val(writer, value)
        first = False
    writer.raw(b")")


__all__ = ["CHILDINFO", "OLDNAME", "Extensions", "is_list_select_base_opt",
           "parse_mbox_list_extended", "parse_tagged_ext_val", "write_mbox_list_extended",
           "write_tagged_ext_val"]
