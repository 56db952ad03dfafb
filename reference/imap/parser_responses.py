"""Server responses, parsed on the client side (RFC 9051 §7, §9 ``response``), strictly.

    response        = *(continue-req / response-data) response-done
    response-data   = "*" SP (resp-cond-state / resp-cond-bye /
                      mailbox-data / message-data / capability-data /
                      enable-data) CRLF
    response-done   = response-tagged / response-fatal
    response-tagged = tag SP resp-cond-state CRLF
    continue-req    = "+" SP (resp-text / base64) CRLF

This is what the conformance drivers judge a target with: every deviation from the
grammar raises ``ImapRemoteProtocolError`` naming what was expected at which octet. The
untagged data and FETCH items are parsed in parser_data.py.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from reference.imap.capabilities import Modes
from reference.imap.grammar import (
    NUMBER64_MAX,
    Cursor,
    GrammarError,
    parse_atom,
    parse_number,
    parse_nz_number,
    parse_quoted,
    parse_tag,
)
from reference.imap.grammar_values import parse_flag_list, parse_sequence_set
from reference.imap.limits import ImapLimits
from reference.imap.responses import (
    LIST_CODES,
    NUMBER_CODES,
    AppendUid,
    CodeData,
    Condition,
    Continuation,
    CopyUid,
    ImapRemoteProtocolError,
    Response,
    ResponseCode,
    StatusResponse,
)
from reference.imap.sequence_sets import SequenceSet

_CONDITIONS = {c.value: c for c in Condition}
_CODES = {c.value: c for c in ResponseCode}
# 1*<any TEXT-CHAR except "]">
_CODE_TEXT = re.compile(rb"[^\]\x00]+")
_BASE64 = re.compile(rb"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?\Z")


@dataclass(frozen=True, slots=True)
class ResponseContext:
    """What the client knows that decides how a response reads."""

    modes: Modes = field(default_factory=Modes)
    limits: ImapLimits = field(default_factory=ImapLimits)
    # An AUTHENTICATE is waiting for challenges: "+ " carries base64 (RFC 9051 §6.2.2).
    authenticating: bool = False


def parse_response(segments: Sequence[bytes], context: ResponseContext) -> Response:
    """One framed response (lines and literal data) to its typed value."""
    cursor = Cursor(segments, max_depth=context.limits.nesting)
    try:
        response = _parse(cursor, context)
        cursor.end()
    except GrammarError as exc:
        raise ImapRemoteProtocolError(f"Malformed response {_show(segments[0])}: {exc}"
                                      ) from exc
    return response


def _show(line: bytes) -> str:
    text = line[:60].decode("ascii", "backslashreplace")
    return f'"{text}..."' if len(line) > 60 else f'"{text}"'


def _parse(cursor: Cursor, context: ResponseContext) -> Response:
    from reference.imap.parser_data import parse_data

    if cursor.accept(b"+"):
        cursor.expect(b" ", 'SP after "+" (RFC 9051 §9 continue-req)')
        return _continuation(cursor, context)
    if cursor.accept(b"* "):
        word = cursor.peek_keyword()
        if word in _CONDITIONS:
            return _status(cursor, None, context)
        return parse_data(cursor, context)
    tag = parse_tag(cursor)
    cursor.sp()
    start = cursor.offset
    word = cursor.peek_keyword()
    if word not in ("OK", "NO", "BAD"):
        # response-tagged = tag SP resp-cond-state; PREAUTH and BYE are never tagged.
        raise GrammarError("OK, NO or BAD after the tag", start, word.encode())
    return _status(cursor, tag, context)


def _continuation(cursor: Cursor, context: ResponseContext) -> Continuation:
    rest = cursor.line[cursor.pos:]
    if context.authenticating:
        # RFC 9051 §6.2.2: "A server challenge consists of a command continuation
        # request response with the "+" token followed by a base64-encoded ... string."
        if not _BASE64.match(rest):
            raise cursor.error("a base64 challenge during AUTHENTICATE")
        cursor.pos = len(cursor.line)
        return Continuation(data=base64.b64decode(rest))
    return Continuation(text=_text(cursor, context))


def _text(cursor: Cursor, context: ResponseContext) -> str:
    """text = 1*(TEXT-CHAR / UTF8-2 / UTF8-3 / UTF8-4) (empty allowed, RFC 9051
    Appendix E item 23); 8-bit only after ENABLE IMAP4rev2."""
    start = cursor.offset
    rest = cursor.line[cursor.pos:]
    if b"\x00" in rest:
        raise GrammarError("text without NUL (TEXT-CHAR)", start + rest.index(b"\x00"))
    try:
        text = rest.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise GrammarError("text in UTF-8", start) from exc
    if not text.isascii() and not context.modes.rev2:
        raise GrammarError("7-bit text (RFC 9051 §9: "
                           "non-ASCII text only after ENABLE IMAP4rev2)", start)
    cursor.pos = len(cursor.line)
    return text


def _status(cursor: Cursor, tag: str | None, context: ResponseContext) -> StatusResponse:
    condition = _CONDITIONS[cursor.keyword("a status condition")]
    cursor.expect(b" ", f"SP after {condition.value} (RFC 9051 §9 resp-text)")
    code: ResponseCode | str | None = None
    data: CodeData = None
    if cursor.accept(b"["):
        code, data = _code(cursor, context)
        cursor.expect(b"]", '"]" closing the response code')
        cursor.expect(b" ", 'SP after "]" (RFC 9051 §9 resp-text)')
    return StatusResponse(condition, _text(cursor, context), tag, code, data)


def _code(cursor: Cursor, context: ResponseContext) -> tuple[ResponseCode | str, CodeData]:
    """resp-text-code (RFC 9051 §9; RFC 7162 HIGHESTMODSEQ, NOMODSEQ, MODIFIED; RFC 3501
    UNSEEN; RFC 4469 TOOBIG; RFC 6154 USEATTR)."""
    start = cursor.offset
    name = parse_atom(cursor).upper()
    code = _CODES.get(name)
    if code is None:
        # atom [SP 1*<any TEXT-CHAR except "]">]: "Client implementations MUST ignore
        # response codes that they do not recognize" (§7.1), so keep, do not judge.
        text = None
        if cursor.accept(b" "):
            found = cursor.match(_CODE_TEXT)
            if found is None:
                raise cursor.error('response code text (TEXT-CHAR except "]")')
            text = found.group().decode("utf-8", "replace")
        return cursor.line[start:start + len(name)].decode("ascii"), text
    if code in NUMBER_CODES:
        cursor.sp()
        if code is ResponseCode.HIGHESTMODSEQ:
            return code, parse_number(cursor, maximum=NUMBER64_MAX, nonzero=True,
                                      rule="mod-sequence-value")
        return code, parse_nz_number(cursor)
    if code in LIST_CODES:
        return code, _list_code(cursor, code)
    if code is ResponseCode.APPENDUID:
        # resp-code-apnd = "APPENDUID" SP nz-number SP append-uid
        cursor.sp()
        uidvalidity = parse_nz_number(cursor)
        cursor.sp()
        return code, AppendUid(uidvalidity, _uid_set(cursor, context))
    if code is ResponseCode.COPYUID:
        # resp-code-copy = "COPYUID" SP nz-number SP uid-set SP uid-set
        cursor.sp()
        uidvalidity = parse_nz_number(cursor)
        cursor.sp()
        source = _uid_set(cursor, context)
        cursor.sp()
        return code, CopyUid(uidvalidity, source, _uid_set(cursor, context))
    if code is ResponseCode.MODIFIED:
        # RFC 7162 §7 (erratum 3506): "MODIFIED" SP sequence-set, the sequence-set of
        # RFC 9051 §9: seq-number = nz-number / "*", and sequence-set =/
        # seq-last-command ("$"); unlike ALL in ESEARCH, no note leaves "$" out here.
        cursor.sp()
        return code, parse_sequence_set(cursor, max_ranges=response_set_ranges(context))
    if cursor.accept(b" "):
        # A known code without arguments followed by text is still grammatical
        # (atom [SP 1*<any TEXT-CHAR except "]">]); the text is kept as data.
        found = cursor.match(_CODE_TEXT)
        if found is None:
            raise cursor.error('response code text (TEXT-CHAR except "]")')
        return code, found.group().decode("utf-8", "replace")
    return code, None


def response_set_ranges(context: ResponseContext) -> int:
    """The bound on the ranges of a set in a response. ``sequence_set_ranges`` bounds
    what a client may make the server resolve; a response set (MODIFIED, COPYUID,
    VANISHED, ESEARCH ALL) lists what the server found, as long as the response line
    allows (each range takes at least two octets with its comma)."""
    return context.limits.response_line // 2


def _uid_set(cursor: Cursor, context: ResponseContext) -> SequenceSet:
    # uid-set = (uniqueid / uid-range) *("," uid-set): no "*", no "$"
    return parse_sequence_set(cursor, max_ranges=response_set_ranges(context),
                              allow_star=False, allow_last=False)


def _list_code(cursor: Cursor, code: ResponseCode) -> tuple[str, ...] | None:
    if code is ResponseCode.CAPABILITY:
        names: list[str] = []
        while cursor.accept(b" "):
            names.append(parse_atom(cursor))
        upper = {n.upper() for n in names}
        if "IMAP4REV2" not in upper and "IMAP4REV1" not in upper:
            raise cursor.error('"IMAP4rev2" among the capabilities (RFC 9051 §9 '
                               "capability-data)")
        return tuple(names)
    if code is ResponseCode.PERMANENTFLAGS:
        # "PERMANENTFLAGS" SP "(" [flag-perm *(SP flag-perm)] ")"
        cursor.sp()
        return parse_flag_list(cursor, perm=True)
    # "BADCHARSET" [SP "(" charset *(SP charset) ")" ]; charset = atom / quoted
    if not cursor.accept(b" "):
        return None
    cursor.expect(b"(", '"(" opening the charsets')
    charsets: list[str] = []
    while True:
        if cursor.peek() == 0x22:
            charsets.append(parse_quoted(cursor).decode("utf-8", "replace"))
        else:
            charsets.append(parse_atom(cursor))
        if cursor.accept(b")"):
            return tuple(charsets)
        cursor.sp()
