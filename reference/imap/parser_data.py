"""Untagged server data and FETCH items, parsed on the client side (RFC 9051 §7.2-7.5).

Called by parser_responses after "* " when no status condition follows. The ABNF of
each form is quoted above its parser.
"""

from __future__ import annotations

import re

from reference.imap.commands import StatusAtt
from reference.imap.grammar import (
    NUMBER64_MAX,
    TAG_CHAR,
    Cursor,
    GrammarError,
    parse_astring,
    parse_atom,
    parse_literal,
    parse_number,
    parse_nz_number,
    parse_quoted,
    parse_string,
)
from reference.imap.grammar_body import check_body, check_envelope, parse_body, parse_envelope
from reference.imap.grammar_fetch import parse_section, parse_section_binary
from reference.imap.grammar_list import parse_mbox_list_extended
from reference.imap.grammar_values import (
    decode_mailbox_name,
    parse_date_time,
    parse_flag_list,
    parse_mailbox,
    parse_sequence_set,
)
from reference.imap.parser_responses import ResponseContext, response_set_ranges
from reference.imap.response_data import (
    MBX_LIST_SFLAGS,
    RFC822_ITEMS,
    BinaryItem,
    BinarySizeItem,
    BodySectionItem,
    BodyStructureItem,
    CapabilityData,
    Data,
    EnabledData,
    EnvelopeItem,
    EsearchData,
    ExistsData,
    ExpungeData,
    FetchData,
    FetchItem,
    FlagsData,
    FlagsItem,
    IdData,
    InternalDateItem,
    ListData,
    LsubData,
    ModSeqItem,
    NamespaceData,
    NamespaceDescription,
    RecentData,
    Rfc822Item,
    Rfc822SizeItem,
    SearchData,
    StatusData,
    UidItem,
    VanishedData,
)
from reference.imap.sequence_sets import SequenceSet

_STATUS_ATTS = {att.value: att for att in StatusAtt}
# tag = 1*<any ASTRING-CHAR except "+">
_TAG = re.compile(b"[" + TAG_CHAR + b"]+")
# mbx-list-sflag: "Selectability flags; only one per LIST response"
_SFLAGS = frozenset(flag.upper() for flag in MBX_LIST_SFLAGS)


def parse_data(cursor: Cursor, context: ResponseContext) -> Data:
    if 0x30 <= cursor.peek() <= 0x39:
        return _message_data(cursor, context)
    start = cursor.offset
    word = cursor.keyword("a response (CAPABILITY, LIST, FETCH...)")
    if word == "CAPABILITY":
        return CapabilityData(_capabilities(cursor, required=True))
    if word == "ENABLED":
        return EnabledData(_capabilities(cursor, required=False))
    if word in ("LIST", "LSUB"):
        cursor.sp()
        return _mailbox_list(cursor, context, lsub=word == "LSUB")
    if word == "FLAGS":
        cursor.sp()
        return FlagsData(parse_flag_list(cursor))
    if word == "STATUS":
        return _status(cursor, context)
    if word == "ESEARCH":
        return _esearch(cursor, context)
    if word == "SEARCH":
        return _search(cursor)
    if word == "NAMESPACE":
        return _namespace(cursor, context)
    if word == "ID":
        cursor.sp()
        return IdData(_id_params(cursor))
    if word == "VANISHED":
        # expunged-resp = "VANISHED" [SP "(EARLIER)"] SP known-uids
        cursor.sp()
        earlier = cursor.accept(b"(EARLIER) ") or cursor.accept(b"(earlier) ")
        return VanishedData(parse_sequence_set(cursor, max_ranges=response_set_ranges(context),
                                               allow_star=False, allow_last=False), earlier)
    raise GrammarError("a known response", start, word.encode())


def _capabilities(cursor: Cursor, *, required: bool) -> tuple[str, ...]:
    """capability-data = "CAPABILITY" *(SP capability) SP "IMAP4rev2" *(SP capability);
    enable-data = "ENABLED" *(SP capability)"""
    names: list[str] = []
    while cursor.accept(b" "):
        names.append(parse_atom(cursor))
    upper = {n.upper() for n in names}
    if required and "IMAP4REV2" not in upper and "IMAP4REV1" not in upper:
        raise cursor.error('"IMAP4rev2" among the capabilities (RFC 9051 §9 capability-data)')
    return tuple(names)


def _delimiter(cursor: Cursor) -> str | None:
    # (DQUOTE QUOTED-CHAR DQUOTE / nil)
    if cursor.accept(b"NIL") or cursor.accept(b"nil"):
        return None
    start = cursor.offset
    value = parse_quoted(cursor)
    if len(value) != 1 or not value.isascii():
        raise GrammarError("a one-character hierarchy delimiter", start, value)
    return value.decode("ascii")


def _mailbox_list(cursor: Cursor, context: ResponseContext, *, lsub: bool
                  ) -> ListData | LsubData:
    """mailbox-list = "(" [mbx-list-flags] ")" SP (DQUOTE QUOTED-CHAR DQUOTE / nil) SP
    mailbox [SP mbox-list-extended]"""
    start = cursor.offset
    attributes = parse_flag_list(cursor)
    if any(not a.startswith("\\") for a in attributes):
        raise GrammarError('mailbox attributes ("\\" atom)', start)
    if sum(a.upper() in _SFLAGS for a in attributes) > 1:
        # RFC 9051 §9 mbx-list-sflag: "Selectability flags; only one per LIST response"
        raise GrammarError("at most one of \\NonExistent, \\Noselect, \\Marked, \\Unmarked",
                           start)
    cursor.sp()
    delimiter = _delimiter(cursor)
    cursor.sp()
    mailbox = parse_mailbox(cursor, utf8=context.modes.utf8)
    if lsub:
        return LsubData(attributes, delimiter, mailbox)
    if not cursor.accept(b" "):
        return ListData(attributes, delimiter, mailbox)
    # SP mbox-list-extended (RFC 5258 §9; grammar_list.py)
    child_info, old_name, extensions = parse_mbox_list_extended(
        cursor, utf8=context.modes.utf8, max_ranges=response_set_ranges(context))
    return ListData(attributes, delimiter, mailbox, child_info, old_name, extensions)


def _status(cursor: Cursor, context: ResponseContext) -> StatusData:
    """"STATUS" SP mailbox SP "(" [status-att-list] ")";
    status-att-list = status-att-val *(SP status-att-val)"""
    cursor.sp()
    mailbox = parse_mailbox(cursor, utf8=context.modes.utf8)
    cursor.sp()
    cursor.expect(b"(", '"(" opening the status attributes')
    pairs: list[tuple[StatusAtt, int | None]] = []
    while not cursor.accept(b")"):
        if pairs:
            cursor.sp()
        start = cursor.offset
        word = cursor.keyword("a status-att")
        att = _STATUS_ATTS.get(word)
        if att is None:
            raise GrammarError("a status-att", start, word.encode())
        cursor.sp()
        if att is StatusAtt.APPENDLIMIT and (cursor.accept(b"NIL") or cursor.accept(b"nil")):
            pairs.append((att, None))
        elif att in (StatusAtt.UIDNEXT, StatusAtt.UIDVALIDITY):
            pairs.append((att, parse_nz_number(cursor)))
        elif att in (StatusAtt.SIZE, StatusAtt.HIGHESTMODSEQ):
            pairs.append((att, parse_number(cursor, maximum=NUMBER64_MAX, rule="number64")))
        else:
            pairs.append((att, parse_number(cursor)))
    return StatusData(mailbox, tuple(pairs))


def _esearch(cursor: Cursor, context: ResponseContext) -> EsearchData:
    """esearch-response = "ESEARCH" [search-correlator] [SP "UID"]
    *(SP search-return-data); search-correlator = SP "(" "TAG" SP tag-string ")" """
    tag: str | None = None
    uid = False
    values: dict[str, int | SequenceSet] = {}
    if cursor.startswith(b" ("):
        cursor.pos += 2
        start = cursor.offset
        if cursor.keyword('"TAG"') != "TAG":
            raise GrammarError('"TAG" in the search correlator', start)
        cursor.sp()
        # tag-string = astring "; <tag> represented as <astring>" (RFC 9051 §9)
        start = cursor.offset
        tag_octets = parse_astring(cursor)
        if _TAG.fullmatch(tag_octets) is None:
            raise GrammarError('tag-string holding a tag (1*<any ASTRING-CHAR except "+">)',
                               start, tag_octets)
        tag = tag_octets.decode("ascii")
        cursor.expect(b")", '")" closing the search correlator')
    while cursor.accept(b" "):
        start = cursor.offset
        word = cursor.keyword("search-return-data (MIN, MAX, ALL, COUNT, MODSEQ)")
        if word == "UID" and not uid and not values:
            uid = True
            continue
        if word in values or word not in ("MIN", "MAX", "ALL", "COUNT", "MODSEQ"):
            raise GrammarError("search-return-data (MIN, MAX, ALL, COUNT, MODSEQ), once each",
                               start, word.encode())
        cursor.sp()
        if word in ("MIN", "MAX"):
            values[word] = parse_nz_number(cursor)
        elif word == "ALL":
            # "Note that "$" marker is not allowed after the ALL return data item."
            values[word] = parse_sequence_set(cursor, max_ranges=response_set_ranges(context),
                                              allow_last=False)
        elif word == "COUNT":
            values[word] = parse_number(cursor)
        else:
            values[word] = _mod_sequence_value(cursor)
    all_ = values.get("ALL")
    return EsearchData(tag, uid, _int(values.get("MIN")), _int(values.get("MAX")),
                       all_ if isinstance(all_, SequenceSet) else None,
                       _int(values.get("COUNT")), _int(values.get("MODSEQ")))


def _mod_sequence_value(cursor: Cursor) -> int:
    """RFC 7162 §7: mod-sequence-value = 1*DIGIT ";; (1 <= n <=
    9,223,372,036,854,775,807)"."""
    start = cursor.offset
    value = parse_number(cursor, maximum=NUMBER64_MAX, rule="mod-sequence-value")
    if not value:
        raise GrammarError("mod-sequence-value (1 <= n)", start, b"0")
    return value


def _int(value: int | SequenceSet | None) -> int | None:
    return value if isinstance(value, int) else None


def _search(cursor: Cursor) -> SearchData:
    """obsolete-search-response = "SEARCH" *(SP nz-number); RFC 7162: "SEARCH"
    [1*(SP nz-number) SP search-sort-mod-seq]"""
    numbers: list[int] = []
    modseq = None
    while cursor.accept(b" "):
        if cursor.accept(b"("):
            if not numbers:
                raise cursor.error("nz-number before (MODSEQ ...)")
            if cursor.keyword('"MODSEQ"') != "MODSEQ":
                raise cursor.error('"MODSEQ"')
            cursor.sp()
            modseq = parse_number(cursor, maximum=NUMBER64_MAX, nonzero=True,
                                  rule="mod-sequence-value")
            cursor.expect(b")")
            break
        numbers.append(parse_nz_number(cursor))
    return SearchData(tuple(numbers), modseq)


def _namespace(cursor: Cursor, context: ResponseContext) -> NamespaceData:
    """namespace-response = "NAMESPACE" SP namespace SP namespace SP namespace"""
    found = []
    for _ in range(3):
        cursor.sp()
        found.append(_one_namespace(cursor, context))
    return NamespaceData(*found)


def _one_namespace(cursor: Cursor, context: ResponseContext
                   ) -> tuple[NamespaceDescription, ...] | None:
    # namespace = nil / "(" 1*namespace-descr ")"
    if cursor.accept(b"NIL") or cursor.accept(b"nil"):
        return None
    cursor.expect(b"(", '"(" or NIL for a namespace')
    descriptions = []
    while not cursor.accept(b")"):
        # namespace-descr = "(" string SP (DQUOTE QUOTED-CHAR DQUOTE / nil)
        #                   [namespace-response-extensions] ")"
        cursor.expect(b"(", '"(" opening a namespace description')
        start = cursor.offset
        prefix_octets = parse_string(cursor)
        prefix = decode_mailbox_name(prefix_octets, cursor, start, utf8=context.modes.utf8)
        cursor.sp()
        delimiter = _delimiter(cursor)
        extensions = []
        while cursor.accept(b" "):
            name = parse_string(cursor).decode("utf-8", "replace")
            cursor.sp()
            cursor.expect(b"(", '"(" opening namespace extension values')
            values = [parse_string(cursor).decode("utf-8", "replace")]
            while cursor.accept(b" "):
                values.append(parse_string(cursor).decode("utf-8", "replace"))
            cursor.expect(b")")
            extensions.append((name, tuple(values)))
        cursor.expect(b")", '")" closing a namespace description')
        descriptions.append(NamespaceDescription(prefix, delimiter, tuple(extensions)))
    if not descriptions:
        raise cursor.error("at least one namespace description")
    return tuple(descriptions)


def _id_params(cursor: Cursor) -> tuple[tuple[str, str | None], ...] | None:
    # id_params_list ::= "(" #(string SPACE nstring) ")" / nil
    if cursor.accept(b"NIL") or cursor.accept(b"nil"):
        return None
    cursor.expect(b"(", '"(" or NIL')
    pairs: list[tuple[str, str | None]] = []
    while not cursor.accept(b")"):
        if pairs:
            cursor.sp()
        key = parse_string(cursor).decode("utf-8", "replace")
        cursor.sp()
        value = _nstring(cursor)
        pairs.append((key, None if value is None else value.decode("utf-8", "replace")))
    return tuple(pairs)


def _nstring(cursor: Cursor) -> bytes | None:
    if cursor.line[cursor.pos:cursor.pos + 3].upper() == b"NIL":
        cursor.pos += 3
        return None
    return parse_string(cursor)


def _message_data(cursor: Cursor, context: ResponseContext) -> Data:
    """number SP "EXISTS" / obsolete-recent-response / message-data =
    nz-number SP ("EXPUNGE" / ("FETCH" SP msg-att))"""
    number = parse_number(cursor)
    cursor.sp()
    start = cursor.offset
    word = cursor.keyword("EXISTS, RECENT, EXPUNGE or FETCH")
    if word == "EXISTS":
        return ExistsData(number)
    if word == "RECENT":
        return RecentData(number)
    if number == 0 and word in ("EXPUNGE", "FETCH"):
        raise GrammarError("an nz-number before " + word, start)
    if word == "EXPUNGE":
        return ExpungeData(number)
    if word == "FETCH":
        cursor.sp()
        return FetchData(number, _msg_att(cursor, context))
    raise GrammarError("EXISTS, RECENT, EXPUNGE or FETCH", start, word.encode())


def _msg_att(cursor: Cursor, context: ResponseContext) -> tuple[FetchItem, ...]:
    cursor.expect(b"(", '"(" opening msg-att')
    items: list[FetchItem] = []
    while True:
        items.append(_fetch_item(cursor, context))
        if cursor.accept(b")"):
            return tuple(items)
        cursor.sp()


def _fetch_item(cursor: Cursor, context: ResponseContext) -> FetchItem:
    start = cursor.offset
    word = cursor.keyword("a FETCH data item")
    utf8 = context.modes.utf8
    if word == "BODY" and cursor.peek() == 0x5B:
        # "BODY" section ["<" number ">"] SP nstring
        section = parse_section(cursor)
        origin = _origin(cursor)
        cursor.sp()
        return BodySectionItem(section, _nstring_data(cursor, utf8), origin)
    if word == "BINARY":
        # "BINARY" section-binary ["<" number ">"] SP (nstring / literal8): the origin
        # octet of RFC 9051 §7.5.2's prose, which §9 leaves out (see BinaryItem).
        part = parse_section_binary(cursor)
        origin = _origin(cursor)
        cursor.sp()
        data = (parse_literal(cursor, literal8=True) if cursor.peek() == 0x7E
                else _nstring_data(cursor, utf8))
        return BinaryItem(part, data, origin)
    if word == "BINARY.SIZE":
        part = parse_section_binary(cursor)
        cursor.sp()
        return BinarySizeItem(part, parse_number(cursor))
    cursor.sp()
    if word == "FLAGS":
        return FlagsItem(parse_flag_list(cursor, fetch=True))
    if word == "UID":
        return UidItem(parse_nz_number(cursor))
    if word == "INTERNALDATE":
        return InternalDateItem(parse_date_time(cursor))
    if word == "RFC822.SIZE":
        return Rfc822SizeItem(parse_number(cursor, maximum=NUMBER64_MAX, rule="number64"))
    if word == "MODSEQ":
        cursor.expect(b"(", '"(" before the permsg-modsequence')
        modseq = parse_number(cursor, maximum=NUMBER64_MAX, nonzero=True,
                              rule="mod-sequence-value")
        cursor.expect(b")", '")" after the permsg-modsequence')
        return ModSeqItem(modseq)
    if word in RFC822_ITEMS:
        return Rfc822Item(word, _nstring_data(cursor, utf8))
    if word in ("ENVELOPE", "BODY", "BODYSTRUCTURE"):
        # RFC 9051 §9: "(" 1*address ")" and 1*body SP media-subtype have no SP between
        # the addresses or the parts; the generic value reader would demand one.
        value_start = cursor.offset
        value = (parse_envelope(cursor, utf8=utf8) if word == "ENVELOPE"
                 else parse_body(cursor, utf8=utf8, extensible=word == "BODYSTRUCTURE"))
        try:
            if word == "ENVELOPE":
                check_envelope(value)
                return EnvelopeItem(value)
            check_body(value, extensible=word == "BODYSTRUCTURE")
        except ValueError as exc:
            raise GrammarError(f"a well-formed {word} ({exc})", value_start) from exc
        return BodyStructureItem(value, extensible=word == "BODYSTRUCTURE")
    raise GrammarError("a FETCH data item", start, word.encode())


def _origin(cursor: Cursor) -> int | None:
    """["<" number ">"]: the origin octet of a partial BODY or BINARY answer."""
    if not cursor.accept(b"<"):
        return None
    origin = parse_number(cursor, rule="number (the origin octet)")
    cursor.expect(b">", '">" closing the origin octet')
    return origin


def _nstring_data(cursor: Cursor, utf8: bool) -> bytes | None:
    start = cursor.offset
    quoted = cursor.peek() == 0x22
    data = _nstring(cursor)
    if quoted and data is not None and not data.isascii():
        if not utf8:
            raise GrammarError("a 7-bit quoted string (RFC 6855 §3)", start)
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise GrammarError("a quoted string in UTF-8", start) from exc
    return data


