"""One parser per command of RFC 9051 §6 (and RFC 3501's CHECK and LSUB, RFC 2971 ID),
in the order of §6.1-6.4. Each reads the arguments after the command name; the ABNF is
quoted above it. ``parser.parse_command`` calls them and turns ``GrammarError`` into a
tagged BAD.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable

from reference.imap.commands import (
    Append,
    AppendMessage,
    Authenticate,
    Capability,
    Check,
    Close,
    Command,
    Copy,
    Create,
    Delete,
    Enable,
    Examine,
    Expunge,
    Fetch,
    Id,
    Idle,
    List,
    ListReturnOption,
    ListSelectOption,
    Login,
    Logout,
    Lsub,
    Move,
    Namespace,
    Noop,
    QresyncParameters,
    Rename,
    Search,
    SearchReturnOption,
    Select,
    StartTls,
    Status,
    StatusAtt,
    Store,
    StoreAction,
    Subscribe,
    Unselect,
    Unsubscribe,
)
from reference.imap.grammar import (
    NUMBER64_MAX,
    Cursor,
    GrammarError,
    decode_utf8,
    parse_astring,
    parse_atom,
    parse_literal,
    parse_nstring,
    parse_number,
    parse_nz_number,
    parse_quoted,
    parse_string,
)
from reference.imap.grammar_fetch import FetchAtt, FetchMacro, parse_fetch_att
from reference.imap.grammar_search import parse_search_key
from reference.imap.grammar_values import (
    parse_capability,
    parse_date_time,
    parse_flag,
    parse_flag_list,
    parse_list_mailbox,
    parse_mailbox,
    parse_sequence_set,
)
from reference.imap.parser import ParseContext, tagged_error
from reference.imap.responses import ResponseCode, no
from reference.imap.sequence_sets import SequenceSet

Parser = Callable[[Cursor, str, ParseContext], Command]

# RFC 2971 §3.3: "Field strings MUST NOT be longer than 30 octets. Value strings MUST
# NOT be longer than 1024 octets. Implementations MUST NOT send more than 30 field-value
# pairs."
ID_FIELD_MAX = 30
ID_VALUE_MAX = 1024
ID_PAIRS_MAX = 30
# base64          = *(4base64-char) [base64-terminal]
# base64-char     = ALPHA / DIGIT / "+" / "/"
# base64-terminal = (2base64-char "==") / (3base64-char "=")
BASE64 = re.compile(rb"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")


def _no_arguments(command: Callable[[str], Command]) -> Parser:
    def parse(cursor: Cursor, tag: str, context: ParseContext) -> Command:
        return command(tag)
    return parse


def _mailbox(cursor: Cursor, context: ParseContext) -> str:
    return parse_mailbox(cursor, utf8=context.utf8)


def _text(cursor: Cursor, what: str) -> str:
    start = cursor.offset
    return decode_utf8(parse_astring(cursor), cursor, start, what)


# --- §6.1 any state, ID -------------------------------------------------------------


def parse_id(cursor: Cursor, tag: str, context: ParseContext) -> Command:
    """RFC 2971 §4: id ::= "ID" SPACE id_params_list;
    id_params_list ::= "(" #(string SPACE nstring) ")" / nil"""
    cursor.sp()
    if cursor.line[cursor.pos:cursor.pos + 3].upper() == b"NIL":
        cursor.pos += 3
        return Id(tag, None)
    cursor.expect(b"(", '"(" or NIL')
    pairs: list[tuple[str, str | None]] = []
    if not cursor.accept(b")"):
        while True:
            start = cursor.offset
            key = decode_utf8(parse_string(cursor), cursor, start, "ID field")
            cursor.sp()
            start = cursor.offset
            value = parse_nstring(cursor)
            if len(key.encode()) > ID_FIELD_MAX or (value is not None
                                                     and len(value) > ID_VALUE_MAX):
                raise GrammarError("ID field of at most 30 octets, value of at most 1024 "
                                   "(RFC 2971 §3.3)", start)
            pairs.append((key, None if value is None
                          else decode_utf8(value, cursor, start, "ID value")))
            if len(pairs) > ID_PAIRS_MAX:
                raise GrammarError("at most 30 ID field-value pairs (RFC 2971 §3.3)", start)
            if cursor.accept(b")"):
                break
            cursor.sp()
    return Id(tag, tuple(pairs))


# --- §6.2 not authenticated state ---------------------------------------------------


def parse_authenticate(cursor: Cursor, tag: str, context: ParseContext) -> Command:
    """authenticate = "AUTHENTICATE" SP auth-type [SP initial-resp] *(CRLF base64);
    auth-type = atom; initial-resp = (base64 / "=")"""
    cursor.sp()
    auth_type = parse_atom(cursor)
    initial: bytes | None = None
    if cursor.accept(b" "):
        initial = parse_initial_response(cursor)
    return Authenticate(tag, auth_type, initial)


def parse_initial_response(cursor: Cursor) -> bytes:
    # RFC 9051 §6.2.2 MUST: "To send a zero-length initial response, the client MUST
    # send a single pad character ("=")"; decoding errors get "a tagged BAD response".
    if cursor.line[cursor.pos:] == b"=":
        cursor.pos += 1
        return b""
    return decode_base64(cursor)


def decode_base64(cursor: Cursor) -> bytes:
    import base64

    found = cursor.match(BASE64)
    if found is None or not found.group() or not cursor.at_line_end():
        raise cursor.error("base64 (RFC 9051 §9: characters of the base64 alphabet, "
                           "padding only at the end)")
    return base64.b64decode(found.group(), validate=True)


def parse_login(cursor: Cursor, tag: str, context: ParseContext) -> Command:
    """login = "LOGIN" SP userid SP password; userid = astring; password = astring"""
    cursor.sp()
    userid = _text(cursor, "userid")
    cursor.sp()
    return Login(tag, userid, _text(cursor, "password"))


# --- §6.3 authenticated state -------------------------------------------------------


def parse_enable(cursor: Cursor, tag: str, context: ParseContext) -> Command:
    """enable = "ENABLE" 1*(SP capability)"""
    names = []
    while True:
        cursor.sp()
        names.append(parse_capability(cursor))
        if cursor.at_line_end():
            return Enable(tag, tuple(names))


def _select_params(cursor: Cursor) -> tuple[bool, QresyncParameters | None]:
    """select-params = SP "(" select-param *(SP select-param) ")" (RFC 4466 §2.1);
    select-param =/ "CONDSTORE" / "QRESYNC" SP "(" ... ")" (RFC 7162 §7)."""
    condstore = False
    qresync: QresyncParameters | None = None
    if not cursor.accept(b" "):
        return condstore, qresync
    cursor.expect(b"(", '"(" opening select-params')
    while True:
        start = cursor.offset
        name = cursor.keyword("a select-param")
        if name == "CONDSTORE" and not condstore:
            condstore = True
        elif name == "QRESYNC" and qresync is None:
            cursor.sp()
            qresync = _qresync(cursor)
        else:
            raise GrammarError("CONDSTORE or QRESYNC (once each)", start, name.encode())
        if cursor.accept(b")"):
            return condstore, qresync
        cursor.sp()


def _qresync(cursor: Cursor) -> QresyncParameters:
    """"QRESYNC" SP "(" uidvalidity SP mod-sequence-value [SP known-uids]
    [SP seq-match-data] ")"; seq-match-data = "(" known-sequence-set SP known-uid-set ")" """
    cursor.expect(b"(", '"(" opening QRESYNC parameters')
    uidvalidity = parse_nz_number(cursor)
    cursor.sp()
    modseq = parse_number(cursor, maximum=NUMBER64_MAX, nonzero=True,
                          rule="mod-sequence-value")
    known_uids: SequenceSet | None = None
    seq_match: tuple[SequenceSet, SequenceSet] | None = None
    if cursor.accept(b" "):
        if cursor.peek() != 0x28:
            known_uids = parse_sequence_set(cursor, allow_star=False, allow_last=False)
            if cursor.accept(b" "):
                seq_match = _seq_match_data(cursor)
        else:
            seq_match = _seq_match_data(cursor)
    cursor.expect(b")", '")" closing QRESYNC parameters')
    return QresyncParameters(uidvalidity, modseq, known_uids, seq_match)


def _seq_match_data(cursor: Cursor) -> tuple[SequenceSet, SequenceSet]:
    cursor.expect(b"(", '"(" opening seq-match-data')
    known_sequence_set = parse_sequence_set(cursor, allow_star=False, allow_last=False)
    cursor.sp()
    known_uid_set = parse_sequence_set(cursor, allow_star=False, allow_last=False)
    cursor.expect(b")", '")" closing seq-match-data')
    return known_sequence_set, known_uid_set


def parse_select(cursor: Cursor, tag: str, context: ParseContext) -> Command:
    """select = "SELECT" SP mailbox [select-params]"""
    cursor.sp()
    mailbox = _mailbox(cursor, context)
    condstore, qresync = _select_params(cursor)
    return Select(tag, mailbox, condstore, qresync)


def parse_examine(cursor: Cursor, tag: str, context: ParseContext) -> Command:
    """examine = "EXAMINE" SP mailbox [select-params]"""
    cursor.sp()
    mailbox = _mailbox(cursor, context)
    condstore, qresync = _select_params(cursor)
    return Examine(tag, mailbox, condstore, qresync)


def parse_create(cursor: Cursor, tag: str, context: ParseContext) -> Command:
    """create = "CREATE" SP mailbox [create-params]; RFC 6154 §6: create-param =/ "USE"
    SP "(" [use-attr *(SP use-attr)] ")"; use-attr = "\\All" / ... / "\\" atom"""
    cursor.sp()
    mailbox = _mailbox(cursor, context)
    special_use: tuple[str, ...] | None = None
    if cursor.accept(b" "):
        cursor.expect(b"(", '"(" opening create-params')
        start = cursor.offset
        if cursor.keyword("a create-param") != "USE":
            raise GrammarError("the create-param USE (RFC 6154)", start)
        cursor.sp()
        special_use = parse_flag_list(cursor)
        if any(not attr.startswith("\\") for attr in special_use):
            raise GrammarError('use-attr ("\\" atom)', start)
        cursor.expect(b")", '")" closing create-params')
    return Create(tag, mailbox, special_use)


def _one_mailbox(command: Callable[[str, str], Command]) -> Parser:
    def parse(cursor: Cursor, tag: str, context: ParseContext) -> Command:
        cursor.sp()
        return command(tag, _mailbox(cursor, context))
    return parse


def parse_rename(cursor: Cursor, tag: str, context: ParseContext) -> Command:
    """rename = "RENAME" SP mailbox SP mailbox"""
    cursor.sp()
    existing = _mailbox(cursor, context)
    cursor.sp()
    return Rename(tag, existing, _mailbox(cursor, context))


_SELECT_OPTIONS = {option.value: option for option in ListSelectOption}
_RETURN_OPTIONS = {option.value: option for option in ListReturnOption}
_STATUS_ATTS = {att.value: att for att in StatusAtt}


def parse_list(cursor: Cursor, tag: str, context: ParseContext) -> Command:
    """list = "LIST" [SP list-select-opts] SP mailbox SP mbox-or-pat
    [SP list-return-opts]"""
    cursor.sp()
    selection: tuple[ListSelectOption, ...] | None = None
    if cursor.peek() == 0x28:
        selection = _list_select_opts(cursor)
        cursor.sp()
    reference = _mailbox(cursor, context)
    cursor.sp()
    patterns: str | tuple[str, ...]
    if cursor.accept(b"("):
        # patterns = "(" list-mailbox *(SP list-mailbox) ")"   (RFC 5258 §6)
        found = [parse_list_mailbox(cursor, utf8=context.utf8)]
        while cursor.accept(b" "):
            found.append(parse_list_mailbox(cursor, utf8=context.utf8))
        cursor.expect(b")", '")" closing the patterns')
        patterns = tuple(found)
    else:
        patterns = parse_list_mailbox(cursor, utf8=context.utf8)
    returns: tuple[ListReturnOption, ...] | None = None
    status: tuple[StatusAtt, ...] | None = None
    if cursor.accept(b" "):
        returns, status = _list_return_opts(cursor)
    return List(tag, reference, patterns, selection, returns, status)


def _list_select_opts(cursor: Cursor) -> tuple[ListSelectOption, ...]:
    """list-select-opts = "(" [...] ")"; "If a list-select-mod-opt appears, then a
    list-select-base-opt must also appear." §6.3.9: "A server MUST respond to options it
    does not recognize with a BAD response"; a repeated option counts once."""
    start = cursor.offset
    cursor.expect(b"(")
    options: list[ListSelectOption] = []
    if not cursor.accept(b")"):
        while True:
            word_start = cursor.offset
            word = cursor.keyword("a LIST selection option")
            option = _SELECT_OPTIONS.get(word)
            if option is None:
                raise GrammarError("a LIST selection option (SUBSCRIBED, REMOTE, "
                                   "RECURSIVEMATCH or SPECIAL-USE)", word_start, word.encode())
            if option not in options:
                options.append(option)
            if cursor.accept(b")"):
                break
            cursor.sp()
    if ListSelectOption.RECURSIVEMATCH in options and not (
            ListSelectOption.SUBSCRIBED in options or ListSelectOption.SPECIAL_USE in options):
        raise GrammarError("a base selection option with RECURSIVEMATCH (RFC 9051 §6.3.9.1)",
                           start)
    return tuple(options)


def _list_return_opts(cursor: Cursor
                      ) -> tuple[tuple[ListReturnOption, ...], tuple[StatusAtt, ...] | None]:
    """list-return-opts = "RETURN" SP "(" [list-return-opt *(SP list-return-opt)] ")";
    status-option = "STATUS" SP "(" status-att *(SP status-att) ")" (RFC 5819)"""
    start = cursor.offset
    if cursor.keyword('"RETURN"') != "RETURN":
        raise GrammarError('"RETURN"', start)
    cursor.sp()
    cursor.expect(b"(", '"(" opening the return options')
    options: list[ListReturnOption] = []
    status: tuple[StatusAtt, ...] | None = None
    if not cursor.accept(b")"):
        while True:
            word_start = cursor.offset
            word = cursor.keyword("a LIST return option")
            if word == "STATUS" and status is None:
                cursor.sp()
                status = _status_atts(cursor)
            elif word in _RETURN_OPTIONS:
                if _RETURN_OPTIONS[word] not in options:
                    options.append(_RETURN_OPTIONS[word])
            else:
                raise GrammarError("a LIST return option (SUBSCRIBED, CHILDREN, STATUS or "
                                   "SPECIAL-USE)", word_start, word.encode())
            if cursor.accept(b")"):
                break
            cursor.sp()
    return tuple(options), status


def _status_atts(cursor: Cursor) -> tuple[StatusAtt, ...]:
    cursor.expect(b"(", '"(" opening the status attributes')
    atts: list[StatusAtt] = []
    while True:
        start = cursor.offset
        word = cursor.keyword("a status-att")
        if word not in _STATUS_ATTS:
            raise GrammarError("a status-att (MESSAGES, UIDNEXT, UIDVALIDITY, UNSEEN, "
                               "DELETED, SIZE...)", start, word.encode())
        atts.append(_STATUS_ATTS[word])
        if cursor.accept(b")"):
            return tuple(atts)
        cursor.sp()


def parse_lsub(cursor: Cursor, tag: str, context: ParseContext) -> Command:
    """RFC 3501: lsub = "LSUB" SP mailbox SP list-mailbox"""
    cursor.sp()
    reference = _mailbox(cursor, context)
    cursor.sp()
    return Lsub(tag, reference, parse_list_mailbox(cursor, utf8=context.utf8))


def parse_status(cursor: Cursor, tag: str, context: ParseContext) -> Command:
    """status = "STATUS" SP mailbox SP "(" status-att *(SP status-att) ")" """
    cursor.sp()
    mailbox = _mailbox(cursor, context)
    cursor.sp()
    return Status(tag, mailbox, _status_atts(cursor))


def parse_append(cursor: Cursor, tag: str, context: ParseContext) -> Command:
    """append = "APPEND" SP mailbox 1*append-message (RFC 4466 §2.2, RFC 3502);
    append-message = append-opts SP append-data;
    append-opts = [SP flag-list] [SP date-time] *(SP append-ext);
    append-data = literal / literal8 / "UTF8" SP "(" literal8 ")" (RFC 6855 §4)"""
    cursor.sp()
    mailbox = _mailbox(cursor, context)
    messages: list[AppendMessage] = []
    while not messages or not cursor.at_end():
        cursor.sp()
        flags = None
        if cursor.peek() == 0x28:
            flags = parse_flag_list(cursor)
            cursor.sp()
        date_time = None
        if cursor.peek() == 0x22:
            date_time = parse_date_time(cursor)
            cursor.sp()
        if cursor.peek() == 0x7E:
            data, binary, utf8 = parse_literal(cursor, literal8=True), True, False
        elif cursor.peek() == 0x7B:
            data, binary, utf8 = parse_literal(cursor), False, False
        else:
            start = cursor.offset
            if cursor.keyword("a literal (the message)") != "UTF8":
                raise GrammarError('a literal, literal8 or "UTF8" (the message)', start)
            cursor.sp()
            cursor.expect(b"(", '"(" before the UTF8 literal8')
            data, binary, utf8 = parse_literal(cursor, literal8=True), True, True
            cursor.expect(b")", '")" after the UTF8 literal8')
        messages.append(AppendMessage(data, flags, date_time, binary, utf8))
    return Append(tag, mailbox, tuple(messages))


# --- §6.4 selected state ------------------------------------------------------------

_UID_PARSERS: dict[str, Parser] = {}


def parse_uid(cursor: Cursor, tag: str, context: ParseContext) -> Command:
    """uid = "UID" SP (copy / move / fetch / search / store / uid-expunge)"""
    cursor.sp()
    start = cursor.offset
    name = cursor.keyword("COPY, MOVE, FETCH, SEARCH, STORE or EXPUNGE after UID")
    handler = _UID_PARSERS.get(name)
    if handler is None:
        raise GrammarError("COPY, MOVE, FETCH, SEARCH, STORE or EXPUNGE after UID", start,
                           name.encode())
    return handler(cursor, tag, context)


def _sequence_set(cursor: Cursor, context: ParseContext) -> SequenceSet:
    return parse_sequence_set(cursor, max_ranges=context.limits.sequence_set_ranges)


def _copy_or_move(kind: type[Copy] | type[Move], uid: bool) -> Parser:
    def parse(cursor: Cursor, tag: str, context: ParseContext) -> Command:
        """copy = "COPY" SP sequence-set SP mailbox; move = "MOVE" ... likewise"""
        cursor.sp()
        sequence_set = _sequence_set(cursor, context)
        cursor.sp()
        return kind(tag, sequence_set, _mailbox(cursor, context), uid=uid)
    return parse


def parse_uid_expunge(cursor: Cursor, tag: str, context: ParseContext) -> Command:
    """uid-expunge = "EXPUNGE" SP sequence-set"""
    cursor.sp()
    return Expunge(tag, _sequence_set(cursor, context), uid=True)


_SEARCH_RETURN = {option.value: option for option in SearchReturnOption}


def _search(uid: bool) -> Parser:
    def parse(cursor: Cursor, tag: str, context: ParseContext) -> Command:
        """search = "SEARCH" [search-return-opts] SP search-program;
        search-program = ["CHARSET" SP charset SP] search-key *(SP search-key)"""
        cursor.sp()
        returns: tuple[SearchReturnOption, ...] | None = None
        if cursor.peek_keyword() == "RETURN":
            returns = _search_return_opts(cursor)
            cursor.sp()
        charset: str | None = None
        if cursor.peek_keyword() == "CHARSET":
            cursor.keyword("CHARSET")
            cursor.sp()
            charset = _charset(cursor)
            cursor.sp()
            if "UTF8=ACCEPT" in context.modes.enabled:
                # RFC 6855 §3 SHOULD: "If an IMAP server receives such a "SEARCH"
                # command in that situation, it SHOULD reject the command with a "BAD"
                # response (due to the conflicting charset labels)."
                raise GrammarError("no CHARSET after ENABLE UTF8=ACCEPT (RFC 6855 §3)",
                                   cursor.offset)
        decode = _charset_decoder(tag, charset)
        keys = [parse_search_key(cursor, decode,
                                 max_ranges=context.limits.sequence_set_ranges)]
        while cursor.accept(b" "):
            keys.append(parse_search_key(cursor, decode,
                                         max_ranges=context.limits.sequence_set_ranges))
        return Search(tag, tuple(keys), charset, returns, uid=uid)
    return parse


def _search_return_opts(cursor: Cursor) -> tuple[SearchReturnOption, ...]:
    """search-return-opts = SP "RETURN" SP "(" [search-return-opt *(SP ...)] ")";
    §6.4.4 MUST: "Any options not defined by extensions that the server supports MUST be
    rejected with a BAD response." """
    cursor.keyword("RETURN")
    cursor.sp()
    cursor.expect(b"(", '"(" opening the search return options')
    options: list[SearchReturnOption] = []
    if not cursor.accept(b")"):
        while True:
            start = cursor.offset
            word = cursor.keyword("a search return option")
            if word not in _SEARCH_RETURN:
                raise GrammarError("MIN, MAX, ALL, COUNT or SAVE", start, word.encode())
            if _SEARCH_RETURN[word] not in options:
                options.append(_SEARCH_RETURN[word])
            if cursor.accept(b")"):
                break
            cursor.sp()
    return tuple(options)


def _charset(cursor: Cursor) -> str:
    """charset = atom / quoted (RFC 3501: astring)"""
    start = cursor.offset
    data = parse_quoted(cursor) if cursor.peek() == 0x22 else parse_astring(cursor)
    if not data or not data.isascii():
        raise GrammarError("a charset name", start, data)
    return data.decode("ascii")


def _charset_decoder(tag: str, charset: str | None) -> Callable[[bytes, int], str]:
    """§6.4.4: "if CHARSET is not provided, IMAP4rev2 servers MUST assume UTF-8"; "If
    the server does not support the specified [CHARSET], it MUST return a tagged NO
    response (not a BAD). This response SHOULD contain the BADCHARSET response code"."""
    name = "utf-8" if charset is None else charset
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        raise tagged_error(no(tag, f"Charset {charset} is not supported",
                              ResponseCode.BADCHARSET, ("US-ASCII", "UTF-8"))) from None

    def decode(data: bytes, offset: int) -> str:
        try:
            return data.decode(codec)
        except UnicodeDecodeError as exc:
            raise GrammarError(f"a string in {charset or 'UTF-8'}", offset) from exc
    return decode


def _fetch(uid: bool) -> Parser:
    def parse(cursor: Cursor, tag: str, context: ParseContext) -> Command:
        """fetch = "FETCH" SP sequence-set SP ("ALL" / "FULL" / "FAST" / fetch-att /
        "(" fetch-att *(SP fetch-att) ")") [fetch-modifiers]"""
        cursor.sp()
        sequence_set = _sequence_set(cursor, context)
        cursor.sp()
        items: FetchMacro | tuple[FetchAtt, ...]
        if cursor.accept(b"("):
            atts = [parse_fetch_att(cursor)]
            while not cursor.accept(b")"):
                cursor.sp()
                atts.append(parse_fetch_att(cursor))
            items = tuple(atts)
        elif cursor.peek_keyword() in ("ALL", "FULL", "FAST"):
            items = FetchMacro(cursor.keyword("a fetch macro"))
        else:
            items = (parse_fetch_att(cursor),)
        changedsince, vanished = _fetch_modifiers(cursor, uid)
        return Fetch(tag, sequence_set, items, uid=uid, changedsince=changedsince,
                     vanished=vanished)
    return parse


def _fetch_modifiers(cursor: Cursor, uid: bool) -> tuple[int | None, bool]:
    """fetch-modifiers = SP "(" fetch-modifier *(SP fetch-modifier) ")" (RFC 4466);
    RFC 7162: "CHANGEDSINCE" SP mod-sequence-value / "VANISHED" (UID FETCH only)."""
    changedsince: int | None = None
    vanished = False
    if not cursor.accept(b" "):
        return changedsince, vanished
    cursor.expect(b"(", '"(" opening fetch modifiers')
    while True:
        start = cursor.offset
        word = cursor.keyword("a fetch modifier")
        if word == "CHANGEDSINCE" and changedsince is None:
            cursor.sp()
            changedsince = parse_number(cursor, maximum=NUMBER64_MAX, nonzero=True,
                                        rule="mod-sequence-value")
        elif word == "VANISHED" and uid and not vanished:
            vanished = True
        else:
            raise GrammarError("CHANGEDSINCE or (UID FETCH only) VANISHED, once each",
                               start, word.encode())
        if cursor.accept(b")"):
            break
        cursor.sp()
    if vanished and changedsince is None:
        # RFC 7162 §3.2.6: "The VANISHED UID FETCH modifier MUST only be specified
        # together with the CHANGEDSINCE UID FETCH modifier."
        raise GrammarError("CHANGEDSINCE with VANISHED (RFC 7162 §3.2.6)", cursor.offset)
    return changedsince, vanished


def _store(uid: bool) -> Parser:
    def parse(cursor: Cursor, tag: str, context: ParseContext) -> Command:
        """store = "STORE" SP sequence-set [store-modifiers] SP store-att-flags;
        store-att-flags = (["+" / "-"] "FLAGS" [".SILENT"]) SP
                          (flag-list / (flag *(SP flag)))"""
        cursor.sp()
        sequence_set = _sequence_set(cursor, context)
        cursor.sp()
        unchangedsince: int | None = None
        if cursor.accept(b"("):
            start = cursor.offset
            if cursor.keyword("UNCHANGEDSINCE") != "UNCHANGEDSINCE":
                raise GrammarError("the store-modifier UNCHANGEDSINCE (RFC 7162)", start)
            cursor.sp()
            # mod-sequence-valzer = "0" / mod-sequence-value
            unchangedsince = parse_number(cursor, maximum=NUMBER64_MAX,
                                          rule="mod-sequence-valzer")
            cursor.expect(b")", '")" closing store modifiers')
            cursor.sp()
        action = StoreAction.REPLACE
        if cursor.accept(b"+"):
            action = StoreAction.ADD
        elif cursor.accept(b"-"):
            action = StoreAction.REMOVE
        start = cursor.offset
        word = cursor.keyword('"FLAGS" or "FLAGS.SILENT"')
        if word not in ("FLAGS", "FLAGS.SILENT"):
            raise GrammarError('"FLAGS" or "FLAGS.SILENT"', start, word.encode())
        cursor.sp()
        if cursor.peek() == 0x28:
            flags = parse_flag_list(cursor)
        else:
            found = [parse_flag(cursor)]
            while cursor.accept(b" "):
                found.append(parse_flag(cursor))
            flags = tuple(found)
        return Store(tag, sequence_set, action, flags, silent=word == "FLAGS.SILENT", uid=uid,
                     unchangedsince=unchangedsince)
    return parse


COMMAND_PARSERS: dict[str, Parser] = {
    # §6.1
    "CAPABILITY": _no_arguments(Capability),
    "NOOP": _no_arguments(Noop),
    "LOGOUT": _no_arguments(Logout),
    "ID": parse_id,
    # §6.2
    "STARTTLS": _no_arguments(StartTls),
    "AUTHENTICATE": parse_authenticate,
    "LOGIN": parse_login,
    # §6.3
    "ENABLE": parse_enable,
    "SELECT": parse_select,
    "EXAMINE": parse_examine,
    "CREATE": parse_create,
    "DELETE": _one_mailbox(Delete),
    "RENAME": parse_rename,
    "SUBSCRIBE": _one_mailbox(Subscribe),
    "UNSUBSCRIBE": _one_mailbox(Unsubscribe),
    "LIST": parse_list,
    "LSUB": parse_lsub,
    "NAMESPACE": _no_arguments(Namespace),
    "STATUS": parse_status,
    "APPEND": parse_append,
    "IDLE": _no_arguments(Idle),
    # §6.4
    "CHECK": _no_arguments(Check),
    "CLOSE": _no_arguments(Close),
    "UNSELECT": _no_arguments(Unselect),
    "EXPUNGE": _no_arguments(Expunge),
    "SEARCH": _search(uid=False),
    "FETCH": _fetch(uid=False),
    "STORE": _store(uid=False),
    "COPY": _copy_or_move(Copy, uid=False),
    "MOVE": _copy_or_move(Move, uid=False),
}
_UID_PARSERS.update({
    "COPY": _copy_or_move(Copy, uid=True),
    "MOVE": _copy_or_move(Move, uid=True),
    "FETCH": _fetch(uid=True),
    "SEARCH": _search(uid=True),
    "STORE": _store(uid=True),
    "EXPUNGE": parse_uid_expunge,
})
