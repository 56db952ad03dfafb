"""RFC 9051 §9 envelope and body over the generic value model (values.py), both ways.

The value is what ``reference/message/structure.py`` produces (nested tuples of NIL,
numbers and strings); the grammar decides where the spaces go, which a generic list
writer cannot: addresses in an address list and the parts of a multipart follow each
other *without* SP (``"(" 1*address ")"``, ``1*body SP media-subtype``). The writer
checks the shape as it goes (a malformed structure is a session bug, ``ValueError``);
the parser reads exactly this grammar (a malformed one from a server is a
``GrammarError``).

    envelope        = "(" env-date SP env-subject SP env-from SP
                      env-sender SP env-reply-to SP env-to SP env-cc SP
                      env-bcc SP env-in-reply-to SP env-message-id ")"
    env-from        = "(" 1*address ")" / nil        (so env-sender ... env-bcc)
    address         = "(" addr-name SP addr-adl SP addr-mailbox SP addr-host ")"
    body            = "(" (body-type-1part / body-type-mpart) ")"
    body-type-1part = (body-type-basic / body-type-msg / body-type-text)
                      [SP body-ext-1part]
    body-type-basic = media-basic SP body-fields
    body-type-msg   = media-message SP body-fields SP envelope
                      SP body SP body-fld-lines
    body-type-text  = media-text SP body-fields SP body-fld-lines
    body-type-mpart = 1*body SP media-subtype [SP body-ext-mpart]
    body-fields     = body-fld-param SP body-fld-id SP body-fld-desc SP
                      body-fld-enc SP body-fld-octets
    body-fld-param  = "(" string SP string *(SP string SP string) ")" / nil
    body-ext-1part  = body-fld-md5 [SP body-fld-dsp [SP body-fld-lang
                      [SP body-fld-loc *(SP body-extension)]]]
    body-ext-mpart  = body-fld-param [SP body-fld-dsp [SP body-fld-lang
                      [SP body-fld-loc *(SP body-extension)]]]
    body-fld-dsp    = "(" string SP body-fld-param ")" / nil
    body-fld-lang   = nstring / "(" string *(SP string) ")"
    body-extension  = nstring / number / number64 /
                      "(" body-extension *(SP body-extension) ")"
"""

from __future__ import annotations

from reference.imap.grammar import (
    NUMBER64_MAX,
    Cursor,
    GrammarError,
    WireWriter,
    parse_number,
    parse_string,
)
from reference.imap.values import Value, write_value

# --- writing (server side) ---------------------------------------------------------------


def _is_string(value: Value) -> bool:
    return isinstance(value, (str, bytes))


def _upper(value: Value) -> str:
    if isinstance(value, bytes):
        return value.decode("ascii", "replace").upper()
    return value.upper() if isinstance(value, str) else ""


def _string(writer: WireWriter, value: Value, what: str) -> None:
    if not _is_string(value):
        raise ValueError(f"{what}: a string")
    write_value(writer, value)


def _nstring(writer: WireWriter, value: Value, what: str) -> None:
    if value is not None and not _is_string(value):
        raise ValueError(f"{what}: an nstring")
    write_value(writer, value)


def _number(writer: WireWriter, value: Value, what: str, maximum: int = 2**32 - 1) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= maximum:
        raise ValueError(f"{what}: a number")
    write_value(writer, value)


_ENVELOPE_FIELDS = ("env-date", "env-subject", "env-from", "env-sender", "env-reply-to",
                    "env-to", "env-cc", "env-bcc", "env-in-reply-to", "env-message-id")


def write_envelope(writer: WireWriter, value: Value) -> None:
    if not isinstance(value, tuple) or len(value) != 10:
        raise ValueError("envelope: a list of 10 fields")
    writer.raw(b"(")
    for index, (name, field) in enumerate(zip(_ENVELOPE_FIELDS, value, strict=True)):
        if index:
            writer.raw(b" ")
        if 2 <= index <= 7:
            _write_addresses(writer, field, name)
        else:
            _nstring(writer, field, name)
    writer.raw(b")")


def _write_addresses(writer: WireWriter, value: Value, what: str) -> None:
    if value is None:
        writer.raw(b"NIL")
        return
    if not isinstance(value, tuple) or not value:
        raise ValueError(f'{what}: "(" 1*address ")" / nil')
    writer.raw(b"(")
    for address in value:
        if not isinstance(address, tuple) or len(address) != 4:
            raise ValueError(f"{what}: an address of 4 nstrings")
        writer.raw(b"(")
        for index, part in enumerate(address):
            writer.raw(b" " if index else b"")
            _nstring(writer, part, f"{what} address")
        writer.raw(b")")
    writer.raw(b")")


def write_body(writer: WireWriter, value: Value, *, extensible: bool = True,
               depth: int = 0) -> None:
    """``extensible``: BODYSTRUCTURE; BODY has no extension data (body-ext-1part: "MUST
    NOT be returned on non-extensible "BODY" fetch")."""
    if depth > 100:
        raise ValueError("body: nested too deeply")
    if not isinstance(value, tuple) or not value:
        raise ValueError("body: a parenthesised list")
    writer.raw(b"(")
    if isinstance(value[0], tuple):
        count = 0
        while count < len(value) and isinstance(value[count], tuple):
            write_body(writer, value[count], extensible=extensible, depth=depth + 1)
            count += 1
        rest = value[count:]
        if not rest:
            raise ValueError("body-type-mpart: a media-subtype after the parts")
        writer.raw(b" ")
        _string(writer, rest[0], "media-subtype")
        if rest[1:]:
            if not extensible:
                raise ValueError("body: no extension data in a non-extensible BODY")
            writer.raw(b" ")
            _write_param(writer, rest[1], "body-ext-mpart")
            _write_extension_tail(writer, rest[2:])
    else:
        _write_single_part(writer, value, extensible, depth)
    writer.raw(b")")


def _write_single_part(writer: WireWriter, value: tuple[Value, ...], extensible: bool,
                       depth: int) -> None:
    if len(value) < 7:
        raise ValueError("body-type-1part: type, subtype and body-fields")
    media_type, subtype, param, body_id, desc, enc, octets = value[:7]
    _string(writer, media_type, "media type")
    writer.raw(b" ")
    _string(writer, subtype, "media-subtype")
    writer.raw(b" ")
    _write_param(writer, param, "body-fld-param")
    for part, what in ((body_id, "body-fld-id"), (desc, "body-fld-desc")):
        writer.raw(b" ")
        _nstring(writer, part, what)
    writer.raw(b" ")
    _string(writer, enc, "body-fld-enc")
    writer.raw(b" ")
    _number(writer, octets, "body-fld-octets")
    rest = value[7:]
    kind = (_upper(media_type), _upper(subtype))
    if kind in (("MESSAGE", "RFC822"), ("MESSAGE", "GLOBAL")):
        if len(rest) < 3:
            raise ValueError("body-type-msg: envelope, body and body-fld-lines")
        writer.raw(b" ")
        write_envelope(writer, rest[0])
        writer.raw(b" ")
        write_body(writer, rest[1], extensible=extensible, depth=depth + 1)
        writer.raw(b" ")
        _number(writer, rest[2], "body-fld-lines", NUMBER64_MAX)
        rest = rest[3:]
    elif kind[0] == "TEXT":
        if not rest:
            raise ValueError("body-type-text: body-fld-lines")
        writer.raw(b" ")
        _number(writer, rest[0], "body-fld-lines", NUMBER64_MAX)
        rest = rest[1:]
    if rest:
        if not extensible:
            raise ValueError("body: no extension data in a non-extensible BODY")
        writer.raw(b" ")
        _nstring(writer, rest[0], "body-fld-md5")
        _write_extension_tail(writer, rest[1:])


def _write_param(writer: WireWriter, value: Value, what: str) -> None:
    if value is None:
        writer.raw(b"NIL")
        return
    if (not isinstance(value, tuple) or not value or len(value) % 2
            or not all(_is_string(item) for item in value)):
        raise ValueError(f'{what}: "(" string SP string *(SP string SP string) ")" / nil')
    write_value(writer, value)


def _write_extension_tail(writer: WireWriter, rest: tuple[Value, ...]) -> None:
    """[SP body-fld-dsp [SP body-fld-lang [SP body-fld-loc *(SP body-extension)]]]"""
    if rest:
        dsp = rest[0]
        writer.raw(b" ")
        if dsp is None:
            writer.raw(b"NIL")
        else:
            if not isinstance(dsp, tuple) or len(dsp) != 2:
                raise ValueError('body-fld-dsp: "(" string SP body-fld-param ")" / nil')
            writer.raw(b"(")
            _string(writer, dsp[0], "body-fld-dsp")
            writer.raw(b" ")
            _write_param(writer, dsp[1], "body-fld-dsp")
            writer.raw(b")")
    if len(rest) > 1:
        lang = rest[1]
        if not (lang is None or _is_string(lang) or (
                isinstance(lang, tuple) and lang and all(_is_string(i) for i in lang))):
            raise ValueError("body-fld-lang: nstring or a list of strings")
        writer.raw(b" ")
        write_value(writer, lang)
    if len(rest) > 2:
        writer.raw(b" ")
        _nstring(writer, rest[2], "body-fld-loc")
    for extension in rest[3:]:
        writer.raw(b" ")
        _write_body_extension(writer, extension)


def _write_body_extension(writer: WireWriter, value: Value) -> None:
    if isinstance(value, tuple):
        if not value:
            raise ValueError("body-extension: a list holds at least one item")
        writer.raw(b"(")
        for index, item in enumerate(value):
            writer.raw(b" " if index else b"")
            _write_body_extension(writer, item)
        writer.raw(b")")
    elif value is None or _is_string(value) or isinstance(value, int):
        write_value(writer, value)
    else:
        raise ValueError("body-extension: nstring, number or list")


def check_envelope(value: Value) -> None:
    write_envelope(WireWriter(utf8=True), value)


def check_body(value: Value, *, extensible: bool = True) -> None:
    write_body(WireWriter(utf8=True), value, extensible=extensible)


# --- parsing (client side) ---------------------------------------------------------------


def _read_string(cursor: Cursor, utf8: bool) -> Value:
    start = cursor.offset
    quoted = cursor.peek() == 0x22
    data = parse_string(cursor)
    if quoted and not utf8 and not data.isascii():
        raise GrammarError("a 7-bit quoted string (8-bit needs UTF8=ACCEPT, RFC 6855 §3)",
                           start)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        if quoted:
            raise GrammarError("a quoted string in UTF-8", start) from None
        return data


def _read_nstring(cursor: Cursor, utf8: bool) -> Value:
    if cursor.line[cursor.pos:cursor.pos + 3].upper() == b"NIL":
        cursor.pos += 3
        return None
    return _read_string(cursor, utf8)


def parse_envelope(cursor: Cursor, *, utf8: bool) -> Value:
    cursor.expect(b"(", '"(" opening the envelope')
    fields: list[Value] = []
    for index, name in enumerate(_ENVELOPE_FIELDS):
        if index:
            cursor.expect(b" ", f"SP before {name}")
        if 2 <= index <= 7:
            fields.append(_read_addresses(cursor, utf8))
        else:
            fields.append(_read_nstring(cursor, utf8))
    cursor.expect(b")", '")" closing the envelope')
    return tuple(fields)


def _read_addresses(cursor: Cursor, utf8: bool) -> Value:
    if cursor.line[cursor.pos:cursor.pos + 3].upper() == b"NIL":
        cursor.pos += 3
        return None
    cursor.expect(b"(", '"(" opening an address list or NIL')
    addresses: list[Value] = []
    while True:
        # "(" 1*address ")": addresses follow each other without SP.
        cursor.expect(b"(", '"(" opening an address')
        parts = [_read_nstring(cursor, utf8)]
        for _ in range(3):
            cursor.sp()
            parts.append(_read_nstring(cursor, utf8))
        cursor.expect(b")", '")" closing an address (4 nstrings)')
        addresses.append(tuple(parts))
        if cursor.accept(b")"):
            return tuple(addresses)


def parse_body(cursor: Cursor, *, utf8: bool, extensible: bool = True) -> Value:
    cursor.expect(b"(", '"(" opening a body')
    cursor.enter()
    items: list[Value] = []
    if cursor.peek() == 0x28:
        while cursor.peek() == 0x28:
            # 1*body SP media-subtype: parts follow each other without SP.
            items.append(parse_body(cursor, utf8=utf8, extensible=extensible))
        cursor.sp()
        items.append(_read_string(cursor, utf8))
        if cursor.accept(b" "):
            if not extensible:
                raise cursor.error('")" (no extension data in a non-extensible BODY)')
            items.append(_read_param(cursor, utf8))
            items.extend(_read_extension_tail(cursor, utf8))
    else:
        items.extend(_read_single_part(cursor, utf8, extensible))
    cursor.leave()
    cursor.expect(b")", '")" closing a body')
    return tuple(items)


def _read_single_part(cursor: Cursor, utf8: bool, extensible: bool) -> list[Value]:
    media_type = _read_string(cursor, utf8)
    cursor.sp()
    subtype = _read_string(cursor, utf8)
    cursor.sp()
    items = [media_type, subtype, _read_param(cursor, utf8)]
    for _ in range(2):                               # body-fld-id, body-fld-desc
        cursor.sp()
        items.append(_read_nstring(cursor, utf8))
    cursor.sp()
    items.append(_read_string(cursor, utf8))         # body-fld-enc
    cursor.sp()
    items.append(parse_number(cursor, rule="body-fld-octets"))
    kind = (_upper(media_type), _upper(subtype))
    if kind in (("MESSAGE", "RFC822"), ("MESSAGE", "GLOBAL")):
        cursor.sp()
        items.append(parse_envelope(cursor, utf8=utf8))
        cursor.sp()
        items.append(parse_body(cursor, utf8=utf8, extensible=extensible))
        cursor.sp()
        items.append(parse_number(cursor, maximum=NUMBER64_MAX, rule="body-fld-lines"))
    elif kind[0] == "TEXT":
        cursor.sp()
        items.append(parse_number(cursor, maximum=NUMBER64_MAX, rule="body-fld-lines"))
    if cursor.accept(b" "):
        if not extensible:
            raise cursor.error('")" (no extension data in a non-extensible BODY)')
        items.append(_read_nstring(cursor, utf8))     # body-fld-md5
        items.extend(_read_extension_tail(cursor, utf8))
    return items


def _read_param(cursor: Cursor, utf8: bool) -> Value:
    if cursor.line[cursor.pos:cursor.pos + 3].upper() == b"NIL":
        cursor.pos += 3
        return None
    cursor.expect(b"(", '"(" opening body-fld-param or NIL')
    items = [_read_string(cursor, utf8)]
    while not cursor.accept(b")"):
        cursor.sp()
        items.append(_read_string(cursor, utf8))
    if len(items) % 2:
        raise cursor.error("body-fld-param in attribute/value pairs")
    return tuple(items)


def _read_extension_tail(cursor: Cursor, utf8: bool) -> list[Value]:
    items: list[Value] = []
    if not cursor.accept(b" "):
        return items
    if cursor.accept(b"("):                           # body-fld-dsp
        disposition = _read_string(cursor, utf8)
        cursor.sp()
        items.append((disposition, _read_param(cursor, utf8)))
        cursor.expect(b")", '")" closing body-fld-dsp')
    else:
        if cursor.line[cursor.pos:cursor.pos + 3].upper() != b"NIL":
            raise cursor.error("body-fld-dsp")
        cursor.pos += 3
        items.append(None)
    if not cursor.accept(b" "):
        return items
    if cursor.accept(b"("):                           # body-fld-lang
        languages = [_read_string(cursor, utf8)]
        while not cursor.accept(b")"):
            cursor.sp()
            languages.append(_read_string(cursor, utf8))
        items.append(tuple(languages))
    else:
        items.append(_read_nstring(cursor, utf8))
    if not cursor.accept(b" "):
        return items
    items.append(_read_nstring(cursor, utf8))         # body-fld-loc
    while cursor.accept(b" "):
        items.append(_read_body_extension(cursor, utf8))
    return items


def _read_body_extension(cursor: Cursor, utf8: bool) -> Value:
    if cursor.accept(b"("):
        cursor.enter()
        items = [_read_body_extension(cursor, utf8)]
        while not cursor.accept(b")"):
            cursor.sp()
            items.append(_read_body_extension(cursor, utf8))
        cursor.leave()
        return tuple(items)
    if 0x30 <= cursor.peek() <= 0x39:
        return parse_number(cursor, maximum=NUMBER64_MAX, rule="number64")
    return _read_nstring(cursor, utf8)
