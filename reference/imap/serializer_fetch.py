"""FETCH response items to bytes (RFC 9051 §7.5.2).

    msg-att         = "(" (msg-att-dynamic / msg-att-static)
                       *(SP (msg-att-dynamic / msg-att-static)) ")"
    msg-att-dynamic = "FLAGS" SP "(" [flag-fetch *(SP flag-fetch)] ")"
    msg-att-static  = "ENVELOPE" SP envelope /
                      "INTERNALDATE" SP date-time /
                      "RFC822.SIZE" SP number64 /
                      "BODY" ["STRUCTURE"] SP body /
                      "BODY" section ["<" number ">"] SP nstring /
                      "BINARY" section-binary SP (nstring / literal8) /
                      "BINARY.SIZE" section-binary SP number /
                      "UID" SP uniqueid
    msg-att-dynamic =/ fetch-mod-resp                                   ; RFC 7162
    msg-att-static  =/ "RFC822" [".HEADER" / ".TEXT"] SP nstring        ; RFC 3501
"""

from __future__ import annotations

from reference.imap.grammar import WireWriter, write_nstring
from reference.imap.grammar_body import check_body, check_envelope, write_body, write_envelope
from reference.imap.grammar_fetch import write_section, write_section_part
from reference.imap.grammar_values import write_date_time, write_flag_list
from reference.imap.response_data import (
    RFC822_ITEMS,
    BinaryItem,
    BinarySizeItem,
    BodySectionItem,
    BodyStructureItem,
    EnvelopeItem,
    FetchItem,
    FlagsItem,
    InternalDateItem,
    ModSeqItem,
    Rfc822Item,
    Rfc822SizeItem,
    UidItem,
)


def write_fetch_items(writer: WireWriter, items: tuple[FetchItem, ...]) -> None:
    if not items:
        raise ValueError("msg-att holds at least one item")
    writer.raw(b"(")
    for index, item in enumerate(items):
        if index:
            writer.raw(b" ")
        write_fetch_item(writer, item)
    writer.raw(b")")


def write_fetch_item(writer: WireWriter, item: FetchItem) -> None:
    match item:
        # What message lists fetch first: each message's answer goes through these.
        case FlagsItem(flags=flags):
            writer.raw(b"FLAGS ")
            write_flag_list(writer, flags, fetch=True)
        case UidItem(uid=uid):
            if not 0 < uid < 2**32:
                raise ValueError("UID is an nz-number")
            writer.raw(b"UID %d" % uid)
        case BodySectionItem(section=section, data=data, origin=origin):
            writer.raw(b"BODY")
            write_section(writer, section)
            _write_origin(writer, origin)
            writer.raw(b" ")
            write_nstring(writer, data)
        case EnvelopeItem(envelope=envelope):
            # RFC 9051 §9 env-from = "(" 1*address ")": addresses follow each other
            # without SP, which the generic list writer (values.write_value) cannot do.
            check_envelope(envelope)
            writer.raw(b"ENVELOPE ")
            write_envelope(writer, envelope)
        case InternalDateItem(internal_date=internal_date):
            writer.raw(b"INTERNALDATE ")
            write_date_time(writer, internal_date)
        case Rfc822SizeItem(size=size):
            if not 0 <= size < 2**63:
                raise ValueError("RFC822.SIZE is a number64")
            writer.raw(b"RFC822.SIZE %d" % size)
        case BodyStructureItem(body=body, extensible=extensible):
            # RFC 9051 §9 body-type-mpart = 1*body SP media-subtype: no SP between parts.
            check_body(body, extensible=extensible)
            writer.raw(b"BODYSTRUCTURE " if extensible else b"BODY ")
            write_body(writer, body, extensible=extensible)
        case BinaryItem(part=part, data=data, origin=origin):
            writer.raw(b"BINARY[")
            write_section_part(writer, part)
            writer.raw(b"]")
            # RFC 9051 §7.5.2 BINARY[<section-binary>]<<number>> (see BinaryItem).
            _write_origin(writer, origin)
            writer.raw(b" ")
            if data is not None and b"\x00" in data:
                # RFC 9051 §4.3.1: binary strings only "in a <literal8> in response to a
                # BINARY.PEEK[<section-binary>]<<partial>> or BINARY[...]" FETCH.
                writer.literal(data, literal8=True)
            else:
                write_nstring(writer, data)
        case BinarySizeItem(part=part, size=size):
            if not 0 <= size < 2**32:
                raise ValueError("BINARY.SIZE is a number")
            writer.raw(b"BINARY.SIZE[")
            write_section_part(writer, part)
            writer.raw(b"] %d" % size)
        case ModSeqItem(modseq=modseq):
            # permsg-modsequence = mod-sequence-value (1 <= n <= 2**63 - 1)
            if not 0 < modseq < 2**63:
                raise ValueError("MODSEQ is a mod-sequence-value")
            writer.raw(b"MODSEQ (%d)" % modseq)
        case Rfc822Item(name=name, data=data):
            if name not in RFC822_ITEMS:
                raise ValueError(f"not an RFC822 item: {name!r}")
            writer.raw(name.encode("ascii") + b" ")
            write_nstring(writer, data)
        case _:
            raise ValueError(f"not a FETCH item: {item!r}")


def _write_origin(writer: WireWriter, origin: int | None) -> None:
    """RFC 9051 §9 msg-att-static: "BODY" section ["<" number ">"]; number is 32-bit
    ("Unsigned 32-bit integer"), what the client reads back."""
    if origin is None:
        return
    if not 0 <= origin < 2**32:
        raise ValueError("a partial fetch's origin is a number")
    writer.raw(b"<%d>" % origin)
