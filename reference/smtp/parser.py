"""Bytes to typed SMTP values: command lines (server side) and reply lines (client side).

``parse_command`` raises ``RemoteProtocolError`` whose ``reply`` is the answer RFC 5321
prescribes: 500 for an unrecognized or unparseable line (§4.2.4), 501 for bad arguments
(§4.1.2: invalid characters "MUST reject that command with a 501 response"), 502 for a
command we know but do not implement, 504 for an unsupported parameter value, 555 for an
unknown MAIL/RCPT parameter (§4.1.1.11), 553/550 with 5.6.7 for a non-ASCII address
without SMTPUTF8 (RFC 6531 §3.5), 552 for a declared SIZE above the limit (RFC 1870 §6).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from reference.errors import RemoteProtocolError
from reference.limits import SmtpLimits
from reference.smtp.commands import (
    Auth,
    Bdat,
    BodyType,
    Command,
    Data,
    DsnNotify,
    DsnReturn,
    Ehlo,
    Expn,
    Helo,
    Help,
    Mailbox,
    MailFrom,
    Noop,
    OriginalRecipient,
    Quit,
    RcptTo,
    Rset,
    StartTls,
    Vrfy,
)
from reference.smtp.extensions import MAIL_PARAMETERS, RCPT_PARAMETERS, Advertised, Extension
from reference.smtp.grammar import (
    GrammarError,
    decode_base64,
    parse_address_literal,
    parse_domain,
    parse_esmtp_params,
    parse_mailbox,
    parse_path,
    parse_reverse_path,
    parse_xtext,
)
from reference.smtp.replies import Reply, Status, reply


@dataclass(frozen=True, slots=True)
class Tolerances:
    """Named departures from the strict grammar, all off by default (STYLE.md §A)."""

    # DEVIATION: RFC 5321 §4.1.2 has no space between "FROM:"/"TO:" and the path;
    # Postfix's strict_rfc821_envelopes=no accepts one. Off: a client that sends it is
    # told so.
    accept_space_after_colon: bool = False
    # RFC 5321 §2.3.8 forbids a bare CR or LF in mail data (SMTP smuggling); when on, they
    # are rewritten to CRLF instead of the message being refused. End of data is still
    # only <CRLF>.<CRLF>.
    accept_bare_line_ends_in_data: bool = False


@dataclass(frozen=True, slots=True)
class ParseContext:
    """What the parser must know about the session to judge a command line."""

    advertised: Advertised
    limits: SmtpLimits
    tolerances: Tolerances
    # RFC 6531 §3.4: the MAIL of the open transaction carried SMTPUTF8.
    transaction_smtputf8: bool = False


# RFC 5321 §4.5.3.1.5: a reply line is at most 512 octets; a text quoting the client is
# cut to leave room for "501 5.7.12 ", the CRLF and the "; closing connection" a refused
# BDAT adds.
_MAX_ERROR_TEXT = 512 - len("501 5.7.12 \r\n") - len("; closing connection")


def _clip(text: str) -> str:
    octets = text.encode("utf-8")
    if len(octets) <= _MAX_ERROR_TEXT:
        return text
    return octets[:_MAX_ERROR_TEXT - 3].decode("utf-8", errors="ignore") + "..."


def _error(code: int, status: Status, text: str) -> RemoteProtocolError:
    text = _clip(text)
    return RemoteProtocolError(text, reply=reply(code, status, text))


def syntax_error(text: str) -> RemoteProtocolError:
    """500 5.5.2: the line does not parse as any command."""
    return _error(500, Status.SYNTAX_ERROR, text)


def argument_error(text: str, status: Status = Status.INVALID_ARGUMENTS) -> RemoteProtocolError:
    """501: "Syntax error in parameters or arguments" (RFC 5321 §4.2.2)."""
    return _error(501, status, text)


# Verbs RFC 5321 still names (§4.1.1) or obsoleted (Appendix F) that we recognize but do
# not implement: §4.2.4 "502 ... command not implemented" is the answer for those.
NOT_IMPLEMENTED_VERBS = frozenset({"TURN", "SEND", "SOML", "SAML", "ETRN", "ATRN"})
# RFC 4422 §3.1: sasl-mech = 1*20mech-char; mech-char = UPPER-ALPHA / DIGIT / HYPHEN / "_"
_SASL_MECH = re.compile(r"[A-Za-z0-9_-]{1,20}")
# RFC 3030 §2: chunk-size ::= 1*DIGIT  (bounded to 20 digits: RFC 1870's size-value)
_CHUNK_SIZE = re.compile(r"[0-9]{1,20}")
_MAIL_FROM = re.compile(r"MAIL FROM:", re.IGNORECASE)
_RCPT_TO = re.compile(r"RCPT TO:", re.IGNORECASE)
_POSTMASTER = re.compile(r"<Postmaster>", re.IGNORECASE)
# RFC 5321 §4.1.2: ASCII control characters "MUST NOT be used in MAIL or RCPT commands";
# we refuse them in every command line, with 501 after a known verb (parse_command), 500
# otherwise (CR and LF cannot occur: the buffer split on them).
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_PRINTABLE_ASCII = re.compile(r"[\t\x20-\x7e]*")


def parse_command(line: bytes, context: ParseContext) -> Command:
    """Parse one command line (without its CRLF).

    The verb decides between 500 and 501 (RFC 5321 §4.2.2): a line whose verb is not
    recognized gets 500, a recognized command with bad arguments 501.
    """
    # RFC 5321 §4.1.1: "SMTP receivers SHOULD tolerate trailing white space before the
    # terminating <CRLF>."
    line = line.rstrip(b" \t")
    verb = command_verb(line)
    handler = _VERBS.get(verb)
    if handler is None:
        if verb in NOT_IMPLEMENTED_VERBS:
            raise _error(502, Status.INVALID_COMMAND, f"{verb} command not implemented")
        if _CONTROL.search(verb) or not verb.isascii():
            raise syntax_error("Command unrecognized: invalid characters")
        raise _error(500, Status.INVALID_COMMAND, "Command unrecognized")
    # RFC 5321 §4.1.2 MUST: control characters "MUST NOT be used in MAIL or RCPT
    # commands"; "SMTP servers that receive a command in which invalid character codes
    # have been employed, and for which there are no other reasons for rejection, MUST
    # reject that command with a 501 response".
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise argument_error("Arguments are not valid UTF-8", Status.SYNTAX_ERROR) from exc
    if _CONTROL.search(text):
        raise argument_error("Control characters are not allowed in commands",
                             Status.SYNTAX_ERROR)
    # RFC 6531 §3.3 (addresses, esmtp-value) and §3.7.4.2 (VRFY, EXPN) allow UTF-8; the
    # other commands stay ASCII (RFC 5321 §4.1.2 MUST NOT).
    if not text.isascii() and verb not in ("MAIL", "RCPT", "VRFY", "EXPN"):
        raise argument_error("Non-ASCII characters are not allowed in this command",
                             Status.SYNTAX_ERROR)
    return handler(text, text.partition(" ")[2], context)


def _no_argument(command: Command, name: str) -> Callable[[str, str, ParseContext], Command]:
    def parse(text: str, argument: str, context: ParseContext) -> Command:
        if text.upper() != name:
            raise argument_error(f"Syntax error, no parameters allowed after {name}")
        return command
    return parse


def _parse_helo(text: str, argument: str, context: ParseContext) -> Command:
    # RFC 5321 §4.1.1.1: helo = "HELO" SP Domain CRLF
    return Helo(_parse_client_domain(argument, context, allow_literal=False))


def _parse_ehlo(text: str, argument: str, context: ParseContext) -> Command:
    # RFC 5321 §4.1.1.1: ehlo = "EHLO" SP ( Domain / address-literal ) CRLF
    return Ehlo(_parse_client_domain(argument, context, allow_literal=True))


def _parse_client_domain(argument: str, context: ParseContext, *, allow_literal: bool) -> str:
    if not argument:
        raise argument_error("Syntax error: a domain is required")
    try:
        if allow_literal and argument.startswith("["):
            domain, end = parse_address_literal(argument)
        else:
            domain, end = parse_domain(argument)
    except GrammarError as exc:
        raise argument_error(f"Invalid domain: {exc.detail}") from exc
    if end != len(argument):
        raise argument_error("Invalid domain: unexpected characters after it")
    if len(domain) > context.limits.domain:
        # RFC 5321 §4.5.3.1.2: "The maximum total length of a domain name or number is
        # 255 octets."
        raise argument_error("Invalid domain: longer than the domain limit")
    return domain


def _parse_mail(text: str, argument: str, context: ParseContext) -> Command:
    # RFC 5321 §4.1.1.2: mail = "MAIL FROM:" Reverse-path [SP Mail-parameters] CRLF
    if _MAIL_FROM.match(text) is None:
        raise argument_error('Syntax error: expected "MAIL FROM:<reverse-path>"',
                             Status.BAD_SENDER_SYNTAX)
    pos = _skip_space_after_colon(text, len("MAIL FROM:"), context)
    limits = context.limits
    try:
        path, end = parse_reverse_path(text, pos, utf8=True,
                                       limits=(limits.local_part, limits.domain))
    except GrammarError as exc:
        raise argument_error(f"Bad sender address syntax: {exc.detail}",
                             Status.BAD_SENDER_SYNTAX) from exc
    if len(text[pos:end].encode()) > limits.path:
        # RFC 5321 §4.5.3.1.3 / §4.5.3.1.9: "501 Path too long"
        raise argument_error("Path too long", Status.BAD_SENDER_SYNTAX)
    params = _parse_params(text, end, context, MAIL_PARAMETERS)
    command = _mail_from(path, params, context)
    if path is not None and not path.is_ascii and not command.smtputf8:
        # RFC 6531 §3.5: "When messages are rejected because the MAIL command requires an
        # ASCII address, the reply-code 550 is returned" with X.6.7.
        raise _error(550, Status.NON_ASCII_ADDRESS,
                     "Non-ASCII sender address requires the SMTPUTF8 parameter")
    return command


def _mail_from(path: Mailbox | None, params: dict[str, str | None],
               context: ParseContext) -> MailFrom:
    size = body = ret = envid = auth = None
    smtputf8 = False
    for keyword, value in params.items():
        if keyword == "SIZE":
            # RFC 1870 §6: size-value ::= 1*20DIGIT
            if value is None or not value.isdigit() or len(value) > 20:
                raise argument_error("SIZE requires a number (RFC 1870)")
            size = int(value)
            limit = context.advertised.size_limit or context.limits.message_size
            if size > limit:
                # RFC 1870 §6 (2): "the server responds with code "552 message size
                # exceeds fixed maximium message size"" (sic)
                raise _error(552, Status.MESSAGE_TOO_BIG,
                             "Message size exceeds fixed maximum message size")
        elif keyword == "BODY":
            # RFC 6152 §2: body-value ::= "7BIT" / "8BITMIME". Another value is a bad
            # argument: RFC 5321 §4.1.4 "If the transaction beginning command argument
            # is not acceptable, a 501 failure reply MUST be returned" (§4.3.2 lists no
            # 504 for MAIL).
            try:
                body = BodyType((value or "").upper())
            except ValueError as exc:
                raise argument_error("BODY must be 7BIT or 8BITMIME (RFC 6152)") from exc
        elif keyword == "SMTPUTF8":
            # RFC 6531 §3.4: "If this parameter is provided, it MUST not accept a value."
            if value is not None:
                raise argument_error("SMTPUTF8 takes no value")
            smtputf8 = True
        elif keyword == "RET":
            try:
                ret = DsnReturn((value or "").upper())   # RFC 3461 §4.3: FULL / HDRS
            except ValueError as exc:
                raise argument_error("RET must be FULL or HDRS (RFC 3461)") from exc
        elif keyword == "ENVID":
            envid = _xtext_param(value, "ENVID", max_length=100)   # RFC 3461 §4.4
            if _PRINTABLE_ASCII.fullmatch(envid) is None:
                # RFC 3461 §4.4 MUST: the value prior to encoding as xtext "MUST consist
                # entirely of printable (graphic and white space) characters from the
                # US-ASCII [4] repertoire"
                raise argument_error("ENVID must be printable US-ASCII (RFC 3461 §4.4)")
        elif keyword == "AUTH":
            auth = _auth_param(value, context)
    return MailFrom(path, size=size, body=body, smtputf8=smtputf8, ret=ret, envid=envid,
                    auth=auth)


def _auth_param(value: str | None, context: ParseContext) -> str:
    # RFC 4954 §5: auth-param = "AUTH=" xtext; "The decoded form of the xtext MUST be
    # either a <mailbox> or the two characters "<>"" (RFC 5321 §4.1.2 Mailbox)
    decoded = _xtext_param(value, "AUTH", max_length=context.limits.path)
    if decoded == "<>":
        return decoded
    try:
        _, end = parse_mailbox(decoded, utf8=True)
    except GrammarError as exc:
        raise argument_error(f"AUTH= must be an addr-spec or <>: {exc.detail}") from exc
    if end != len(decoded):
        raise argument_error("AUTH= must be an addr-spec or <>")
    return decoded


def _parse_rcpt(text: str, argument: str, context: ParseContext) -> Command:
    # RFC 5321 §4.1.1.3: rcpt = "RCPT TO:" ( "<Postmaster@" Domain ">" / "<Postmaster>" /
    #                          Forward-path ) [SP Rcpt-parameters] CRLF
    if _RCPT_TO.match(text) is None:
        raise argument_error('Syntax error: expected "RCPT TO:<forward-path>"',
                             Status.BAD_DESTINATION_SYNTAX)
    pos = _skip_space_after_colon(text, len("RCPT TO:"), context)
    limits = context.limits
    postmaster = _POSTMASTER.match(text, pos)
    if postmaster is not None:
        path, end = Mailbox("Postmaster", None), postmaster.end()
    else:
        try:
            path, end = parse_path(text, pos, utf8=True, limits=(limits.local_part, limits.domain))
        except GrammarError as exc:
            raise argument_error(f"Bad destination address syntax: {exc.detail}",
                                 Status.BAD_DESTINATION_SYNTAX) from exc
    if len(text[pos:end].encode()) > limits.path:
        raise argument_error("Path too long", Status.BAD_DESTINATION_SYNTAX)
    if not path.is_ascii and not context.transaction_smtputf8:
        # RFC 6531 §3.5: "When messages are rejected because the RCPT command requires an
        # ASCII address, the reply-code 553 is returned"
        raise _error(553, Status.NON_ASCII_ADDRESS,
                     "Non-ASCII recipient address requires SMTPUTF8 on MAIL")
    params = _parse_params(text, end, context, RCPT_PARAMETERS)
    notify = orcpt = None
    if "NOTIFY" in params:
        notify = _notify_param(params["NOTIFY"])
    if "ORCPT" in params:
        orcpt = _orcpt_param(params["ORCPT"])
    return RcptTo(path, notify=notify, orcpt=orcpt)


def _notify_param(value: str | None) -> frozenset[DsnNotify]:
    # RFC 3461 §4.1: notify-esmtp-value = "NEVER" / 1#notify-list-element;
    # "the NEVER keyword MUST appear by itself"; any case.
    try:
        notify = frozenset(DsnNotify(item.upper()) for item in (value or "").split(","))
    except ValueError as exc:
        raise argument_error("NOTIFY must be NEVER or SUCCESS,FAILURE,DELAY") from exc
    if DsnNotify.NEVER in notify and len(notify) > 1:
        raise argument_error("NOTIFY=NEVER must appear by itself (RFC 3461 §4.1)")
    return notify


def _orcpt_param(value: str | None) -> OriginalRecipient:
    # RFC 3461 §4.2: original-recipient-address = addr-type ";" xtext; addr-type = atom;
    # "The entire ORCPT parameter MAY be up to 500 characters in length."
    if value is None or len(value) > 500 - len("ORCPT="):
        raise argument_error("ORCPT requires a value of at most 500 characters")
    addr_type, semicolon, xtext = value.partition(";")
    if not semicolon or re.fullmatch(r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+", addr_type) is None:
        raise argument_error("ORCPT must be addr-type;xtext (RFC 3461 §4.2)")
    try:
        return OriginalRecipient(addr_type.lower(), parse_xtext(xtext))
    except GrammarError as exc:
        raise argument_error("ORCPT address is not valid xtext") from exc


def _xtext_param(value: str | None, name: str, *, max_length: int) -> str:
    if value is None:
        raise argument_error(f"{name} requires a value")
    try:
        decoded = parse_xtext(value)
    except GrammarError as exc:
        raise argument_error(f"{name} is not valid xtext (RFC 3461 §4)") from exc
    if len(decoded) > max_length:
        raise argument_error(f"{name} is longer than {max_length} characters")
    return decoded


def _skip_space_after_colon(text: str, pos: int, context: ParseContext) -> int:
    if context.tolerances.accept_space_after_colon:
        while text[pos:pos + 1] == " ":
            pos += 1
    return pos


def _parse_params(text: str, pos: int, context: ParseContext,
                  known: dict[str, Extension]) -> dict[str, str | None]:
    try:
        raw = parse_esmtp_params(text, pos, utf8=True)
    except GrammarError as exc:
        raise argument_error(f"Syntax error in parameters: {exc.detail}") from exc
    params: dict[str, str | None] = {}
    for keyword, value in raw:
        extension = known.get(keyword)
        if extension is None or extension not in context.advertised:
            # RFC 5321 §4.1.1.11: "555 MAIL FROM/RCPT TO parameters not recognized or
            # not implemented"
            raise _error(555, Status.INVALID_ARGUMENTS, f"Parameter {keyword} not recognized")
        if keyword in params:
            # RFC 3461 §4.5: a repeated parameter "SHOULD respond with "501 syntax error
            # in parameters or arguments""; we apply it to every parameter.
            raise argument_error(f"Parameter {keyword} given more than once")
        if value is not None and not value.isascii():
            # RFC 6531 §3.3 lets esmtp-value carry UTF-8, but none of the parameters we
            # implement has a UTF-8 form (ENVID and ORCPT are xtext, RFC 3461 §4).
            raise argument_error(f"Parameter {keyword} must be ASCII")
        params[keyword] = value
    return params


def _parse_bdat(text: str, argument: str, context: ParseContext) -> Command:
    # RFC 3030 §2: bdat-cmd ::= "BDAT" SP chunk-size [ SP end-marker ] CR LF
    #              end-marker ::= "LAST"
    size, _, marker = argument.partition(" ")
    if _CHUNK_SIZE.fullmatch(size) is None or marker.upper() not in ("", "LAST"):
        raise argument_error("Syntax: BDAT chunk-size [LAST]")
    return Bdat(int(size), last=bool(marker), chunk=b"")


def _parse_vrfy(text: str, argument: str, context: ParseContext) -> Command:
    # RFC 5321 §4.1.1.6: vrfy = "VRFY" SP String CRLF; RFC 6531 §3.7.4.2 adds SP "SMTPUTF8".
    # DEVIATION: String = Atom / Quoted-string would refuse "user@domain", which §3.5.1
    # itself shows as an argument; any non-empty text is accepted.
    string, smtputf8 = _strip_smtputf8(argument)
    if not string:
        raise argument_error("Syntax: VRFY string")
    return Vrfy(string, smtputf8=smtputf8)


def _parse_expn(text: str, argument: str, context: ParseContext) -> Command:
    string, smtputf8 = _strip_smtputf8(argument)
    if not string:
        raise argument_error("Syntax: EXPN string")
    return Expn(string, smtputf8=smtputf8)


def _strip_smtputf8(argument: str) -> tuple[str, bool]:
    head, _, tail = argument.rpartition(" ")
    if head and tail.upper() == "SMTPUTF8":
        return head, True
    return argument, False


def _parse_help(text: str, argument: str, context: ParseContext) -> Command:
    return Help(argument or None)


def _parse_noop(text: str, argument: str, context: ParseContext) -> Command:
    # RFC 5321 §4.1.1.9: noop = "NOOP" [ SP String ] CRLF; the string is ignored.
    return Noop(argument or None)


def _parse_auth(text: str, argument: str, context: ParseContext) -> Command:
    # RFC 4954 §4: "AUTH" SP sasl-mech [SP initial-response]
    mechanism, _, initial = argument.partition(" ")
    if _SASL_MECH.fullmatch(mechanism) is None or " " in initial:
        raise argument_error("Syntax: AUTH mechanism [initial-response]")
    response = None
    if initial:
        try:
            response = decode_base64(initial)
        except GrammarError as exc:
            # RFC 4954 §4: "it MUST reject the AUTH command with a 501 reply (and an
            # enhanced status code of 5.5.2)"
            raise argument_error("Invalid base64 in initial response",
                                 Status.SYNTAX_ERROR) from exc
    return Auth(mechanism.upper(), response)


_VERBS: dict[str, Callable[[str, str, ParseContext], Command]] = {
    "EHLO": _parse_ehlo,
    "HELO": _parse_helo,
    "MAIL": _parse_mail,
    "RCPT": _parse_rcpt,
    "DATA": _no_argument(Data(), "DATA"),
    "BDAT": _parse_bdat,
    "RSET": _no_argument(Rset(), "RSET"),
    "VRFY": _parse_vrfy,
    "EXPN": _parse_expn,
    "HELP": _parse_help,
    "NOOP": _parse_noop,
    "QUIT": _no_argument(Quit(), "QUIT"),
    "STARTTLS": _no_argument(StartTls(), "STARTTLS"),
    "AUTH": _parse_auth,
}


# The command each verb introduces, so that the order of commands (RFC 5321 §4.1.4) can
# be judged even when the arguments do not parse.
VERB_COMMANDS: dict[str, type] = {
    "EHLO": Ehlo, "HELO": Helo, "MAIL": MailFrom, "RCPT": RcptTo, "DATA": Data,
    "BDAT": Bdat, "RSET": Rset, "VRFY": Vrfy, "EXPN": Expn, "HELP": Help, "NOOP": Noop,
    "QUIT": Quit, "STARTTLS": StartTls, "AUTH": Auth,
}


def command_verb(line: bytes) -> str:
    """The verb of a command line, upper-cased (RFC 5321 §2.4: not case sensitive)."""
    return line.partition(b" ")[0].decode("ascii", errors="replace").upper()


# --- client side: reply lines -------------------------------------------------------

# RFC 5321 §4.2: Reply-line = *( Reply-code "-" [ textstring ] CRLF )
#                             Reply-code [ SP textstring ] CRLF
#                Reply-code = %x32-35 %x30-35 %x30-39
#                textstring = 1*(%d09 / %d32-126)       (RFC 6531 §3.7.4: UTF-8 allowed)
_REPLY_LINE = re.compile(r"([2-5][0-5][0-9])(?:([ -])(.*))?", re.DOTALL)
_STATUS = re.compile(r"([245])\.([0-9]{1,3}\.[0-9]{1,3})(?: +|$)")


@dataclass(frozen=True, slots=True)
class ReplyLine:
    code: int
    last: bool
    text: str


def parse_reply_line(line: bytes) -> ReplyLine:
    """One reply line without CRLF; raises ``RemoteProtocolError`` on a malformed line."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RemoteProtocolError(f"reply line is not UTF-8: {line[:40]!r}") from exc
    match = _REPLY_LINE.fullmatch(text)
    if match is None or _CONTROL.search((match.group(3) or "").replace("\t", "")):
        raise RemoteProtocolError(f"malformed reply line: {line[:80]!r}")
    separator = match.group(2)
    return ReplyLine(int(match.group(1)), separator != "-", match.group(3) or "")


def assemble_reply(lines: list[ReplyLine], *, enhanced: bool) -> Reply:
    """Join the lines of one multi-line reply; with ``enhanced`` strip the status code
    that RFC 2034 §4 puts at the start of every line, when it is one we know."""
    code = lines[0].code
    if any(line.code != code for line in lines):
        # RFC 5321 §4.2.1: every line of a multiline reply has the same code
        raise RemoteProtocolError(f"reply lines disagree on the code: {[ln.code for ln in lines]}")
    texts = [line.text for line in lines]
    status = None
    if enhanced:
        first = _STATUS.match(texts[0])
        if first is not None and first.group(1) == str(code)[0]:
            try:
                status = Status(first.group(2))
            except ValueError:
                status = None
        if status is not None:
            texts = [_without_status(text, status.with_class(code)) for text in texts]
    return Reply(code, status, tuple(texts))


def _without_status(text: str, status: str) -> str:
    """RFC 2034 §4: "the same status code must appear at the beginning of the text in each
    line"; "This status code is always followed by one or more spaces" (§3). A line that
    does not begin with it keeps its text whole."""
    match = _STATUS.match(text)
    if match is None or f"{match.group(1)}.{match.group(2)}" != status:
        return text
    return text[match.end():]
