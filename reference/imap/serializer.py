"""Server responses to bytes (RFC 9051 §7, §9 ``response``), strictly.

``write_response(response, modes)`` writes one response (with the literals it needs) or
raises ``LocalProtocolError``: whatever the grammar cannot carry is a session bug, never
something to send (a CR in a text would inject a response line; an 8-bit quoted string
before ENABLE would break RFC 6855 §3). Strings go quoted when they can and as literals
otherwise (§4.3); mailbox names as UTF-8 or modified UTF-7 according to the connection's
mode (RFC 9051 §5.1, RFC 6855 §3). The FETCH items are written by serializer_fetch.py.
"""

from __future__ import annotations

import base64
import re

from reference.errors import LocalProtocolError
from reference.imap.capabilities import Modes
from reference.imap.grammar import (
    WireWriter,
    can_quote,
    is_atom,
    write_quoted,
    write_string,
)
from reference.imap.grammar_list import write_mbox_list_extended
from reference.imap.grammar_values import (
    check_flag,
    flag_order,
    write_flag_list,
    write_mailbox,
    write_sequence_set,
)
from reference.imap.responses import (
    AppendUid,
    CapabilityData,
    Condition,
    Continuation,
    CopyUid,
    EnabledData,
    EsearchData,
    ExistsData,
    ExpungeData,
    FetchData,
    FetchFlagsRun,
    FlagsData,
    IdData,
    ListData,
    LsubData,
    NamespaceData,
    RecentData,
    Response,
    ResponseCode,
    SearchData,
    StatusData,
    StatusResponse,
    VanishedData,
)
from reference.imap.sequence_sets import SequenceSet
from reference.imap.serializer_fetch import write_fetch_items

TAG_PATTERN = re.compile(r"[\x21\x23\x24\x26\x27\x2c-\x5b\x5d\x5e-\x7a\x7c-\x7e]+\Z")
# A text must not look like the start of a literal where a line ends (a client reads
# "{5}" CRLF as a literal, RFC 9051 §2.2 / RFC 7888 §3).
_ENDS_LIKE_LITERAL = re.compile(r"~?\{[0-9]+\+?\}\Z")
_CODE_TEXT = re.compile(r"[^\]\r\n\x00]+\Z")


def write_response(response: Response, modes: Modes) -> bytes:
    """The wire form of one response, CRLF included."""
    if isinstance(response, FetchFlagsRun):
        return _write_fetch_flags_run(response)
    writer = WireWriter(utf8=modes.utf8)
    try:
        if isinstance(response, Continuation):
            _write_continuation(writer, response, modes)
        elif isinstance(response, StatusResponse):
            _write_status(writer, response, modes)
        else:
            writer.raw(b"* ")
            _write_data(writer, response, modes)
    except (ValueError, UnicodeEncodeError) as exc:
        raise LocalProtocolError(f"cannot write {type(response).__name__}: {exc}") from exc
    writer.raw(b"\r\n")
    return writer.getvalue()


def write_text(writer: WireWriter, text: str, modes: Modes) -> None:
    """text = 1*(TEXT-CHAR / UTF8-2 / UTF8-3 / UTF8-4); "Non-ASCII text can only be
    returned after ENABLE IMAP4rev2 command" (RFC 9051 §9)."""
    if any(char in text for char in "\r\n\x00"):
        raise ValueError(f"CR, LF or NUL in a response text: {text!r}")
    if not text.isascii() and not modes.rev2:
        raise ValueError("non-ASCII response text before ENABLE IMAP4rev2 (RFC 9051 §9)")
    if _ENDS_LIKE_LITERAL.search(text):
        raise ValueError(f"a response text ending like a literal is misread: {text!r}")
    writer.raw(text.encode("utf-8"))


def _write_continuation(writer: WireWriter, response: Continuation, modes: Modes) -> None:
    # continue-req = "+" SP (resp-text / base64) CRLF
    writer.raw(b"+ ")
    if response.data is not None:
        if response.text:
            raise ValueError("a continuation carries text or data, not both")
        writer.raw(base64.b64encode(response.data))
    else:
        if response.text.startswith("["):
            raise ValueError("continuation text starting with '[' reads as a response code")
        write_text(writer, response.text, modes)


def _write_status(writer: WireWriter, response: StatusResponse, modes: Modes) -> None:
    # response-tagged = tag SP resp-cond-state CRLF; response-data = "*" SP ...
    if response.tag is None:
        writer.raw(b"* ")
    else:
        if not TAG_PATTERN.match(response.tag):
            raise ValueError(f"not a tag: {response.tag!r}")
        if response.condition in (Condition.PREAUTH, Condition.BYE):
            raise ValueError(f"{response.condition.value} is always untagged (RFC 9051 §7.1)")
        writer.raw(response.tag.encode("ascii") + b" ")
    writer.raw(response.condition.value.encode("ascii") + b" ")
    # resp-text = ["[" resp-text-code "]" SP] [text]
    if response.code is not None:
        writer.raw(b"[")
        _write_code(writer, response, modes)
        writer.raw(b"] ")
    elif response.text.startswith("["):
        raise ValueError("a text starting with '[' reads as a response code")
    write_text(writer, response.text, modes)


def _write_code(writer: WireWriter, response: StatusResponse, modes: Modes) -> None:
    code, data = response.code, response.code_data
    if isinstance(code, str):
        # atom [SP 1*<any TEXT-CHAR except "]">]
        if not is_atom(code.encode("ascii", "replace")) or "]" in code:
            raise ValueError(f"not a response code atom: {code!r}")
        writer.raw(code.encode("ascii"))
        if data is not None:
            if not isinstance(data, str) or not _CODE_TEXT.match(data) or not data.isascii():
                raise ValueError(f"response code text: {data!r}")
            writer.raw(b" " + data.encode("ascii"))
        return
    assert code is not None
    writer.raw(code.value.encode("ascii"))
    match code:
        case ResponseCode.UIDNEXT | ResponseCode.UIDVALIDITY | ResponseCode.UNSEEN:
            if not isinstance(data, int) or isinstance(data, bool) or not 0 < data < 2**32:
                raise ValueError(f"{code.value} takes an nz-number")
            writer.raw(b" %d" % data)
        case ResponseCode.HIGHESTMODSEQ:
            if not isinstance(data, int):
                raise ValueError("HIGHESTMODSEQ takes a mod-sequence-value")
            writer.raw(b" %d" % _mod_sequence_value(data))
        case ResponseCode.CAPABILITY:
            if not isinstance(data, tuple):
                raise ValueError("CAPABILITY takes a list of capabilities")
            _write_capabilities(writer, data)
        case ResponseCode.PERMANENTFLAGS:
            if not isinstance(data, tuple):
                raise ValueError("PERMANENTFLAGS takes a list of flags")
            writer.raw(b" ")
            write_flag_list(writer, data, perm=True)
        case ResponseCode.BADCHARSET:
            if data is not None:
                if not isinstance(data, tuple) or not data:
                    raise ValueError("BADCHARSET takes a non-empty list of charsets")
                writer.raw(b" (")
                for index, charset in enumerate(data):
                    writer.raw(b" " if index else b"")
                    # charset = atom / quoted
                    octets = charset.encode("ascii")
                    if is_atom(octets):
                        writer.raw(octets)
                    else:
                        write_quoted(writer, octets)
                writer.raw(b")")
        case ResponseCode.APPENDUID:
            if not isinstance(data, AppendUid):
                raise ValueError("APPENDUID takes an AppendUid")
            writer.raw(b" %d " % _nz(data.uidvalidity))
            _write_uid_set(writer, data.uids)
        case ResponseCode.COPYUID:
            if not isinstance(data, CopyUid):
                raise ValueError("COPYUID takes a CopyUid")
            writer.raw(b" %d " % _nz(data.uidvalidity))
            _write_uid_set(writer, data.source_uids)
            writer.raw(b" ")
            _write_uid_set(writer, data.destination_uids)
        case ResponseCode.MODIFIED:
            if not isinstance(data, SequenceSet):
                raise ValueError("MODIFIED takes a sequence set")
            writer.raw(b" ")
            write_sequence_set(writer, data)
        case _:
            if data is not None:
                raise ValueError(f"{code.value} takes no data")


def _write_fetch_flags_run(run: FetchFlagsRun) -> bytes:
    """``FetchFlagsRun``: one ``"*" SP nz-number SP "FETCH" SP "(" ["UID" SP uniqueid SP]
    "FLAGS" SP flag-list ")" CRLF`` per row (RFC 9051 §9 message-data, msg-att-dynamic)."""
    written: dict[frozenset[str], bytes] = {}
    lines: list[bytes] = []
    line = b"* %d FETCH (UID %d FLAGS %s)\r\n" if run.with_uid else b"* %d FETCH (FLAGS %s)\r\n"
    try:
        for msn, uid, flags in run.rows:
            flag_list = written.get(flags)
            if flag_list is None:
                flag_list = written[flags] = b"(" + b" ".join(
                    check_flag(flag, fetch=True) for flag in flag_order(flags)) + b")"
            if not (0 < msn < 2**32 and 0 < uid < 2**32):
                raise ValueError(f"not an nz-number: {msn} {uid}")
            lines.append(line % (msn, uid, flag_list) if run.with_uid
                         else line % (msn, flag_list))
    except ValueError as exc:
        raise LocalProtocolError(f"cannot write FetchFlagsRun: {exc}") from exc
    return b"".join(lines)


def _nz(number: int) -> int:
    if not 0 < number < 2**32:
        raise ValueError(f"not an nz-number: {number}")
    return number


def _write_uid_set(writer: WireWriter, uids: SequenceSet) -> None:
    # uid-set = (uniqueid / uid-range) *("," uid-set): no "*" and no "$" (RFC 9051 §7.1
    # COPYUID "Neither of the UID sets may contain extraneous UIDs or the symbol "*"").
    if uids.last_result or uids.uses_star:
        raise ValueError('a uid-set has no "*" and no "$"')
    write_sequence_set(writer, uids)


def _write_capabilities(writer: WireWriter, capabilities: tuple[str, ...]) -> None:
    # capability-data = "CAPABILITY" *(SP capability) SP "IMAP4rev2" *(SP capability)
    upper = {c.upper() for c in capabilities}
    if "IMAP4REV2" not in upper and "IMAP4REV1" not in upper:
        raise ValueError("CAPABILITY lists IMAP4rev2 (RFC 9051 §9) or IMAP4rev1 (RFC 3501)")
    for capability in capabilities:
        if not is_atom(capability.encode("ascii", "replace")):
            raise ValueError(f"not a capability atom: {capability!r}")
        writer.raw(b" " + capability.encode("ascii"))


def _write_delimiter(writer: WireWriter, delimiter: str | None) -> None:
    # (DQUOTE QUOTED-CHAR DQUOTE / nil)
    if delimiter is None:
        writer.raw(b"NIL")
    elif len(delimiter) == 1 and can_quote(delimiter.encode(), utf8=False):
        write_quoted(writer, delimiter.encode("ascii"))
    else:
        raise ValueError(f"a hierarchy delimiter is one 7-bit character: {delimiter!r}")


def _write_list(writer: WireWriter, name: bytes, response: ListData | LsubData) -> None:
    # mailbox-list = "(" [mbx-list-flags] ")" SP (DQUOTE QUOTED-CHAR DQUOTE / nil) SP
    #                mailbox [SP mbox-list-extended]
    writer.raw(name + b" ")
    write_flag_list(writer, response.attributes)
    writer.raw(b" ")
    _write_delimiter(writer, response.delimiter)
    writer.raw(b" ")
    write_mailbox(writer, response.mailbox)
    if isinstance(response, ListData):
        # [SP mbox-list-extended] (RFC 5258 §9; grammar_list.py)
        write_mbox_list_extended(writer, response.child_info, response.old_name,
                                 response.extensions)


def _write_data(writer: WireWriter, response: Response, modes: Modes) -> None:
    match response:
        # The commonest first: a message list's FETCH sends one per message.
        case FetchData(msn=msn, items=items):
            writer.raw(b"%d FETCH " % _nz(msn))
            write_fetch_items(writer, items)
        case CapabilityData(capabilities=capabilities):
            writer.raw(b"CAPABILITY")
            _write_capabilities(writer, capabilities)
        case EnabledData(capabilities=capabilities):
            # enable-data = "ENABLED" *(SP capability)
            writer.raw(b"ENABLED")
            for capability in capabilities:
                if not is_atom(capability.encode("ascii", "replace")):
                    raise ValueError(f"not a capability atom: {capability!r}")
                writer.raw(b" " + capability.encode("ascii"))
        case ListData():
            _write_list(writer, b"LIST", response)
        case LsubData():
            _write_list(writer, b"LSUB", response)
        case NamespaceData():
            writer.raw(b"NAMESPACE")
            for namespace in (response.personal, response.other_users, response.shared):
                writer.raw(b" ")
                _write_namespace(writer, namespace)
        case StatusData(mailbox=mailbox, attributes=attributes):
            # "STATUS" SP mailbox SP "(" [status-att-list] ")"
            writer.raw(b"STATUS ")
            write_mailbox(writer, mailbox)
            writer.raw(b" (")
            for index, (att, value) in enumerate(attributes):
                writer.raw((b" " if index else b"") + att.value.encode("ascii") + b" ")
                if value is None:
                    if att.value != "APPENDLIMIT":
                        raise ValueError(f"STATUS {att.value} takes a number")
                    writer.raw(b"NIL")
                else:
                    writer.raw(b"%d" % _status_number(att.value, value))
            writer.raw(b")")
        case EsearchData():
            _write_esearch(writer, response)
        case SearchData(numbers=numbers, modseq=modseq):
            # obsolete-search-response = "SEARCH" *(SP nz-number); RFC 7162:
            # "SEARCH" [1*(SP nz-number) SP search-sort-mod-seq]
            writer.raw(b"SEARCH" + b"".join(b" %d" % _nz(n) for n in numbers))
            if modseq is not None:
                if not numbers:
                    raise ValueError("SEARCH MODSEQ needs numbers (RFC 7162 §7)")
                # search-sort-mod-seq = "(" "MODSEQ" SP mod-sequence-value ")"
                writer.raw(b" (MODSEQ %d)" % _mod_sequence_value(modseq))
        case FlagsData(flags=flags):
            writer.raw(b"FLAGS ")
            write_flag_list(writer, flags)
        case ExistsData(count=count):
            writer.raw(b"%d EXISTS" % _number(count))
        case RecentData(count=count):
            writer.raw(b"%d RECENT" % _number(count))
        case ExpungeData(msn=msn):
            writer.raw(b"%d EXPUNGE" % _nz(msn))
        case VanishedData(uids=uids, earlier=earlier):
            # expunged-resp = "VANISHED" [SP "(EARLIER)"] SP known-uids
            writer.raw(b"VANISHED (EARLIER) " if earlier else b"VANISHED ")
            _write_uid_set(writer, uids)
        case IdData(parameters=parameters):
            writer.raw(b"ID ")
            _write_id_parameters(writer, parameters)
        case _:
            raise ValueError(f"not a response: {response!r}")


def _number(value: int) -> int:
    if not 0 <= value < 2**32:
        raise ValueError(f"not a number: {value}")
    return value


def _status_number(name: str, value: int) -> int:
    # status-att-val: UIDNEXT/UIDVALIDITY nz-number, SIZE number64, HIGHESTMODSEQ
    # mod-sequence-valzer, the others number.
    limit = 2**63 if name in ("SIZE", "HIGHESTMODSEQ") else 2**32
    low = 1 if name in ("UIDNEXT", "UIDVALIDITY") else 0
    if not low <= value < limit:
        raise ValueError(f"STATUS {name} out of range: {value}")
    return value


def _write_namespace(writer: WireWriter, namespace: tuple[object, ...] | None) -> None:
    # namespace = nil / "(" 1*namespace-descr ")"
    from reference.imap.response_data import NamespaceDescription

    if namespace is None:
        writer.raw(b"NIL")
        return
    if not namespace:
        raise ValueError("a namespace is NIL or one or more descriptions")
    writer.raw(b"(")
    for description in namespace:
        assert isinstance(description, NamespaceDescription)
        writer.raw(b"(")
        write_string(writer, _mailbox_octets(description.prefix, writer))
        writer.raw(b" ")
        _write_delimiter(writer, description.delimiter)
        for name, values in description.extensions:
            # namespace-response-extension = SP string SP "(" string *(SP string) ")"
            if not values:
                raise ValueError("a namespace extension has at least one value")
            writer.raw(b" ")
            write_string(writer, name.encode("utf-8"))
            writer.raw(b" (")
            for index, value in enumerate(values):
                writer.raw(b" " if index else b"")
                write_string(writer, value.encode("utf-8"))
            writer.raw(b")")
        writer.raw(b")")
    writer.raw(b")")


def _mailbox_octets(name: str, writer: WireWriter) -> bytes:
    from reference.imap.grammar_values import encode_mailbox_name

    return encode_mailbox_name(name, utf8=writer.utf8)


def _write_esearch(writer: WireWriter, response: EsearchData) -> None:
    # esearch-response = "ESEARCH" [search-correlator] [SP "UID"] *(SP search-return-data)
    # search-correlator = SP "(" "TAG" SP tag-string ")"
    writer.raw(b"ESEARCH")
    if response.tag is not None:
        # RFC 9051 §9: tag-string = astring "; <tag> represented as <astring>" (RFC 4466
        # §2.6.2: tag-string = string); tag = 1*<any ASTRING-CHAR except "+">, so no CR,
        # LF, SP, DQUOTE or backslash: quoted, it is a string in both grammars.
        if not TAG_PATTERN.match(response.tag):
            raise ValueError(f"the search correlator is not a tag: {response.tag!r}")
        writer.raw(b" (TAG ")
        write_quoted(writer, response.tag.encode("ascii"))
        writer.raw(b")")
    if response.uid:
        writer.raw(b" UID")
    if response.min is not None:
        writer.raw(b" MIN %d" % _nz(response.min))
    if response.max is not None:
        writer.raw(b" MAX %d" % _nz(response.max))
    if response.all is not None:
        # "Note that "$" marker is not allowed after the ALL return data item."
        if response.all.last_result:
            raise ValueError('ESEARCH ALL cannot be "$"')
        writer.raw(b" ALL ")
        write_sequence_set(writer, response.all)
    if response.count is not None:
        writer.raw(b" COUNT %d" % _number(response.count))
    if response.modseq is not None:
        # RFC 4731 §4: search-return-data =/ "MODSEQ" SP mod-sequence-value
        writer.raw(b" MODSEQ %d" % _mod_sequence_value(response.modseq))


def _mod_sequence_value(value: int) -> int:
    # RFC 7162 §7: mod-sequence-value = 1*DIGIT ";; Positive unsigned 63-bit integer"
    # ";; (1 <= n <= 9,223,372,036,854,775,807)"
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
        raise ValueError(f"not a mod-sequence-value (1 to 2**63-1): {value!r}")
    return value


def _write_id_parameters(writer: WireWriter,
                         parameters: tuple[tuple[str, str | None], ...] | None) -> None:
    # id_params_list ::= "(" #(string SPACE nstring) ")" / nil
    if parameters is None:
        writer.raw(b"NIL")
        return
    writer.raw(b"(")
    for index, (key, value) in enumerate(parameters):
        writer.raw(b" " if index else b"")
        write_string(writer, key.encode("utf-8"))
        writer.raw(b" ")
        if value is None:
            writer.raw(b"NIL")
        else:
            write_string(writer, value.encode("utf-8"))
    writer.raw(b")")
