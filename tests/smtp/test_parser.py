"""Command lines to commands (RFC 5321 §4.1.1, with the extensions' parameters), and reply
lines to replies (§4.2): every command and parameter, valid and invalid."""

from __future__ import annotations

import pytest

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
from reference.smtp.extensions import NOTHING_ADVERTISED, Advertised, Extension
from reference.smtp.parser import (
    ParseContext,
    ReplyLine,
    Tolerances,
    assemble_reply,
    parse_command,
    parse_reply_line,
)
from reference.smtp.replies import Reply, Status

EVERYTHING = Advertised(frozenset(Extension), auth_mechanisms=frozenset({"PLAIN"}))
A = Mailbox("a", "example.com")


def context(advertised: Advertised = EVERYTHING, *, tolerances: Tolerances | None = None,
            limits: SmtpLimits | None = None, smtputf8: bool = False) -> ParseContext:
    return ParseContext(advertised, limits or SmtpLimits(), tolerances or Tolerances(),
                        transaction_smtputf8=smtputf8)


def parse(line: str | bytes, ctx: ParseContext | None = None) -> Command:
    raw = line.encode() if isinstance(line, str) else line
    return parse_command(raw, ctx or context())


def refusal(line: str | bytes, ctx: ParseContext | None = None) -> str:
    """The reply as "code x.y.z" (the enhanced code, RFC 2034 §4)."""
    raw = line.encode() if isinstance(line, str) else line
    with pytest.raises(RemoteProtocolError) as info:
        parse_command(raw, ctx or context())
    reply = info.value.reply
    assert isinstance(reply, Reply)
    assert reply.status is not None
    return f"{reply.code} {reply.status.with_class(reply.code)}"


# --- EHLO / HELO (RFC 5321 §4.1.1.1) -----------------------------------------------------


def test_ehlo_and_helo_carry_the_client_domain() -> None:
    """RFC 5321 §4.1.1.1: ehlo = "EHLO" SP ( Domain / address-literal ); helo = "HELO" SP
    Domain."""
    assert parse("EHLO client.example") == Ehlo("client.example")
    assert parse("HELO client.example") == Helo("client.example")


@pytest.mark.parametrize("line", ["EHLO", "HELO", "EHLO ", "HELO ", "EHLO a b", "EHLO a_b.c",
                                  "HELO [192.0.2.1]", "EHLO [300.1.1.1]", "EHLO  x.example"])
def test_ehlo_or_helo_without_a_valid_domain_gets_501(line: str) -> None:
    """RFC 5321 §4.1.2 MUST: invalid arguments → "MUST reject that command with a 501
    response"; §4.2.2 501 "Syntax error in parameters or arguments"."""
    assert refusal(line).startswith("501 ")


# --- MAIL (RFC 5321 §4.1.1.2) and its parameters -----------------------------------------


def test_mail_from_carries_the_reverse_path() -> None:
    """RFC 5321 §4.1.1.2: mail = "MAIL FROM:" Reverse-path [SP Mail-parameters] CRLF."""
    assert parse("MAIL FROM:<a@example.com>") == MailFrom(A)
    assert parse("MAIL FROM:<>") == MailFrom(None)


@pytest.mark.parametrize("line", ["MAIL FROM:a@example.com", "MAIL FROM:<a@example.com",
                                  "MAIL FROM:", "MAIL", "MAIL TO:<a@example.com>",
                                  "MAIL FROM:<a@example.com>x", "MAIL FROM:<a@example.com>>",
                                  "MAIL  FROM:<a@example.com>", "MAIL FROM :<a@example.com>"])
def test_malformed_mail_commands_get_501_5_1_7(line: str) -> None:
    """RFC 5321 §4.1.1.2 syntax; RFC 3463 X.1.7 "Bad sender's mailbox address syntax"."""
    assert refusal(line) in ("501 5.1.7", "501 5.5.4")


def test_a_space_after_the_colon_is_refused_by_default() -> None:
    """RFC 5321 §4.1.2: "MAIL FROM:" Reverse-path, no space between them."""
    assert refusal("MAIL FROM: <a@example.com>") == "501 5.1.7"
    assert refusal("RCPT TO: <a@example.com>") == "501 5.1.3"


def test_a_space_after_the_colon_is_accepted_with_the_named_tolerance() -> None:
    """DEVIATION (Tolerances.accept_space_after_colon): RFC 5321 §4.1.2 has no space."""
    tolerant = context(tolerances=Tolerances(accept_space_after_colon=True))
    assert parse("MAIL FROM: <a@example.com>", tolerant) == MailFrom(A)
    assert parse("RCPT TO: <a@example.com>", tolerant) == RcptTo(A)


def test_size_is_read_as_a_number() -> None:
    """RFC 1870 §6: "SIZE=" size-value; size-value ::= 1*20DIGIT."""
    assert parse("MAIL FROM:<a@example.com> SIZE=1000") == MailFrom(A, size=1000)
    assert parse("MAIL FROM:<a@example.com> size=0") == MailFrom(A, size=0)


@pytest.mark.parametrize("param", ["SIZE", "SIZE=", "SIZE=abc", "SIZE=-1", "SIZE=1e3",
                                   "SIZE=" + "1" * 21])
def test_a_malformed_size_gets_501(param: str) -> None:
    """RFC 1870 §6: size-value ::= 1*20DIGIT."""
    assert refusal(f"MAIL FROM:<a@example.com> {param}").startswith("501 ")


def test_a_declared_size_above_the_advertised_limit_gets_552_5_3_4() -> None:
    """RFC 1870 §6 (2): "If the indicated size is larger than the server's fixed maximum
    message size, the server responds with code "552 message size exceeds fixed maximium
    message size"" (sic); RFC 3463 X.3.4 "Message too big for system"."""
    advertised = Advertised(frozenset({Extension.SIZE}), size_limit=1_000_000)
    assert parse("MAIL FROM:<a@example.com> SIZE=1000000", context(advertised)) == MailFrom(
        A, size=1_000_000)
    assert refusal("MAIL FROM:<a@example.com> SIZE=1000001", context(advertised)) == (
        "552 5.3.4")


def test_without_an_advertised_number_the_configured_limit_bounds_size() -> None:
    """RFC 1870 §4: "SIZE" with no number; the server's own limit still applies."""
    limits = SmtpLimits(message_size=100_000)
    assert refusal("MAIL FROM:<a@example.com> SIZE=100001", context(limits=limits)) == (
        "552 5.3.4")


@pytest.mark.parametrize(("param", "body"), [("BODY=7BIT", BodyType.SEVEN_BIT),
                                             ("BODY=8BITMIME", BodyType.EIGHT_BIT_MIME),
                                             ("body=8bitmime", BodyType.EIGHT_BIT_MIME)])
def test_body_takes_7bit_or_8bitmime(param: str, body: BodyType) -> None:
    """RFC 6152 §2: body-value ::= "7BIT" / "8BITMIME" (RFC 5321 §2.4: values are not case
    sensitive)."""
    assert parse(f"MAIL FROM:<a@example.com> {param}") == MailFrom(A, body=body)


@pytest.mark.parametrize("param", ["BODY=BINARYMIME", "BODY=8BIT", "BODY"])
def test_an_unknown_body_value_is_refused(param: str) -> None:
    """RFC 6152 §2 body-value; RFC 5321 §4.1.4 MUST: "If the transaction beginning
    command argument is not acceptable, a 501 failure reply MUST be returned"."""
    assert refusal(f"MAIL FROM:<a@example.com> {param}")[:3] == "501"


def test_smtputf8_takes_no_value() -> None:
    """RFC 6531 §3.4 MUST: "If this parameter is provided, it MUST not accept a value."."""
    assert parse("MAIL FROM:<a@example.com> SMTPUTF8") == MailFrom(A, smtputf8=True)
    assert refusal("MAIL FROM:<a@example.com> SMTPUTF8=YES").startswith("501 ")


@pytest.mark.parametrize(("param", "ret"), [("RET=FULL", DsnReturn.FULL),
                                            ("RET=HDRS", DsnReturn.HDRS),
                                            ("ret=hdrs", DsnReturn.HDRS)])
def test_ret_takes_full_or_hdrs(param: str, ret: DsnReturn) -> None:
    """RFC 3461 §4.3: ret-value = "FULL" / "HDRS"."""
    assert parse(f"MAIL FROM:<a@example.com> {param}") == MailFrom(A, ret=ret)


@pytest.mark.parametrize("param", ["RET=BOTH", "RET"])
def test_a_bad_ret_gets_501(param: str) -> None:
    """RFC 3461 §4.3: ret-value = "FULL" / "HDRS"."""
    assert refusal(f"MAIL FROM:<a@example.com> {param}").startswith("501 ")


def test_envid_is_decoded_from_xtext() -> None:
    """RFC 3461 §4.4: envid-parameter = "ENVID=" xtext."""
    assert parse("MAIL FROM:<a@example.com> ENVID=QQ314159+2Bx") == MailFrom(
        A, envid="QQ314159+x")
    assert parse(f"MAIL FROM:<a@example.com> ENVID={'x' * 100}").envid == "x" * 100


@pytest.mark.parametrize("param", ["ENVID", "ENVID=a+2b", f"ENVID={'x' * 101}"])
def test_a_bad_envid_gets_501(param: str) -> None:
    """RFC 3461 §4.4: xtext; "The ENVID parameter MAY be up to 100 characters"."""
    assert refusal(f"MAIL FROM:<a@example.com> {param}").startswith("501 ")


@pytest.mark.parametrize("param", ["ENVID=a+00b", "ENVID=+0D+0A", "ENVID=+C3+A9"])
def test_an_envid_that_is_not_printable_ascii_gets_501(param: str) -> None:
    """RFC 3461 §4.4 MUST: the value of the ENVID parameter prior to encoding as xtext
    "MUST consist entirely of printable (graphic and white space) characters from the
    US-ASCII [4] repertoire". (found: "+00" and "+0D+0A" were accepted)"""
    assert refusal(f"MAIL FROM:<a@example.com> {param}").startswith("501 ")


@pytest.mark.parametrize(("param", "auth"), [("AUTH=<>", "<>"),
                                             ("AUTH=e+3Dmc2@example.com", "e=mc2@example.com"),
                                             ("AUTH=a@example.com", "a@example.com")])
def test_auth_takes_a_mailbox_or_the_empty_brackets(param: str, auth: str) -> None:
    """RFC 4954 §5 MUST: "The decoded form of the xtext MUST be either a <mailbox> or the
    two characters "<>"" (the RFC 5321 Mailbox)."""
    assert parse(f"MAIL FROM:<a@example.com> {param}") == MailFrom(A, auth=auth)


@pytest.mark.parametrize("param", ["AUTH=nobody", "AUTH=", "AUTH", "AUTH=a@b+20c"])
def test_a_bad_auth_parameter_gets_501(param: str) -> None:
    """RFC 4954 §5 MUST: "The decoded form of the xtext MUST be either a <mailbox> or the
    two characters "<>""."""
    assert refusal(f"MAIL FROM:<a@example.com> {param}").startswith("501 ")


def test_every_mail_parameter_together() -> None:
    """RFC 5321 §4.1.2: Mail-parameters = esmtp-param *(SP esmtp-param)."""
    line = ("MAIL FROM:<a@example.com> SIZE=10 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=x "
            "AUTH=<>")
    assert parse(line) == MailFrom(A, size=10, body=BodyType.EIGHT_BIT_MIME, smtputf8=True,
                                   ret=DsnReturn.HDRS, envid="x", auth="<>")


# --- RCPT (RFC 5321 §4.1.1.3) and its parameters -------------------------------------------


def test_rcpt_to_carries_the_forward_path() -> None:
    """RFC 5321 §4.1.1.3: rcpt = "RCPT TO:" ( ... / Forward-path ) [SP Rcpt-parameters]."""
    assert parse("RCPT TO:<a@example.com>") == RcptTo(A)


@pytest.mark.parametrize("line", ["RCPT TO:<>", "RCPT TO:a@example.com", "RCPT TO:",
                                  "RCPT", "RCPT FROM:<a@example.com>", "RCPT TO:<a>"])
def test_malformed_rcpt_commands_get_501(line: str) -> None:
    """RFC 5321 §4.1.1.3: Forward-path = Path (no null path); RFC 3463 X.1.3."""
    assert refusal(line) in ("501 5.1.3", "501 5.5.4")


@pytest.mark.parametrize(("param", "notify"), [
    ("NOTIFY=NEVER", {DsnNotify.NEVER}),
    ("NOTIFY=SUCCESS", {DsnNotify.SUCCESS}),
    ("NOTIFY=SUCCESS,FAILURE,DELAY", {DsnNotify.SUCCESS, DsnNotify.FAILURE, DsnNotify.DELAY}),
    ("notify=failure,delay", {DsnNotify.FAILURE, DsnNotify.DELAY}),
])
def test_notify_takes_never_or_a_list(param: str, notify: set[DsnNotify]) -> None:
    """RFC 3461 §4.1: notify-esmtp-value = "NEVER" / 1#notify-list-element."""
    assert parse(f"RCPT TO:<a@example.com> {param}") == RcptTo(A, notify=frozenset(notify))


@pytest.mark.parametrize("param", ["NOTIFY=NEVER,SUCCESS", "NOTIFY=FAILURE,NEVER",
                                   "NOTIFY=SOMETIMES", "NOTIFY", "NOTIFY=SUCCESS,"])
def test_notify_never_with_others_or_unknown_values_gets_501(param: str) -> None:
    """RFC 3461 §4.1 MUST: "the NEVER keyword MUST appear by itself"."""
    assert refusal(f"RCPT TO:<a@example.com> {param}").startswith("501 ")


def test_orcpt_is_an_address_type_and_a_decoded_address() -> None:
    """RFC 3461 §4.2: orcpt-parameter = "ORCPT=" original-recipient-address;
    original-recipient-address = addr-type ";" xtext."""
    assert parse("RCPT TO:<a@example.com> ORCPT=rfc822;b+2Bc@example.com") == RcptTo(
        A, orcpt=OriginalRecipient("rfc822", "b+c@example.com"))


def test_an_orcpt_parameter_of_500_characters_is_accepted_and_501_refused() -> None:
    """RFC 3461 §4.2: "The entire ORCPT parameter MAY be up to 500 characters in length.";
    §5.4 MUST accept ORCPT of 500 characters."""
    value = "rfc822;" + "x" * (500 - len("ORCPT=rfc822;"))
    assert len(f"ORCPT={value}") == 500
    assert parse(f"RCPT TO:<a@example.com> ORCPT={value}").orcpt == OriginalRecipient(
        "rfc822", "x" * 487)
    assert refusal(f"RCPT TO:<a@example.com> ORCPT={value}x").startswith("501 ")


@pytest.mark.parametrize("param", ["ORCPT=rfc822", "ORCPT=;x", "ORCPT=rfc822;a+2b",
                                   "ORCPT", "ORCPT=a(b);c"])
def test_a_malformed_orcpt_gets_501(param: str) -> None:
    """RFC 3461 §4.2: addr-type ";" xtext; addr-type = atom."""
    assert refusal(f"RCPT TO:<a@example.com> {param}").startswith("501 ")


# --- parameters of extensions not advertised, unknown, duplicated --------------------------


@pytest.mark.parametrize("line", [
    "MAIL FROM:<a@example.com> SIZE=10", "MAIL FROM:<a@example.com> BODY=8BITMIME",
    "MAIL FROM:<a@example.com> SMTPUTF8", "MAIL FROM:<a@example.com> RET=FULL",
    "MAIL FROM:<a@example.com> ENVID=x", "MAIL FROM:<a@example.com> AUTH=<>",
    "RCPT TO:<a@example.com> NOTIFY=NEVER", "RCPT TO:<a@example.com> ORCPT=rfc822;x",
])
def test_parameters_of_extensions_not_advertised_get_555(line: str) -> None:
    """RFC 5321 §4.1.1.11: "555 MAIL FROM/RCPT TO parameters not recognized or not
    implemented" (after HELO nothing is advertised, §4.1.1.1)."""
    assert refusal(line, context(NOTHING_ADVERTISED)) == "555 5.5.4"


@pytest.mark.parametrize("line", ["MAIL FROM:<a@example.com> XFOO=bar",
                                  "MAIL FROM:<a@example.com> NOTIFY=NEVER",
                                  "RCPT TO:<a@example.com> SIZE=10"])
def test_unknown_parameters_get_555(line: str) -> None:
    """RFC 5321 §4.1.1.11: 555 for parameters not recognized (NOTIFY belongs to RCPT,
    SIZE to MAIL)."""
    assert refusal(line) == "555 5.5.4"


@pytest.mark.parametrize("line", ["MAIL FROM:<a@example.com> SIZE=1 SIZE=2",
                                  "MAIL FROM:<a@example.com> RET=FULL RET=HDRS",
                                  "MAIL FROM:<a@example.com> ENVID=a envid=b",
                                  "RCPT TO:<a@example.com> NOTIFY=NEVER NOTIFY=NEVER",
                                  "RCPT TO:<a@example.com> ORCPT=rfc822;a ORCPT=rfc822;b"])
def test_a_duplicated_parameter_gets_501(line: str) -> None:
    """RFC 3461 §4.5 SHOULD: a repeated RET, ENVID, NOTIFY or ORCPT "SHOULD respond with
    "501 syntax error in parameters or arguments""."""
    assert refusal(line).startswith("501 ")


@pytest.mark.parametrize("line", ["MAIL FROM:<a@example.com> =x", "MAIL FROM:<a@example.com> "
                                  "SIZE=1  BODY=7BIT", "MAIL FROM:<a@example.com> -X=1",
                                  "MAIL FROM:<a@example.com> X=a=b"])
def test_malformed_parameter_lists_get_501(line: str) -> None:
    """RFC 5321 §4.1.2: esmtp-param = esmtp-keyword ["=" esmtp-value]; one SP between."""
    assert refusal(line).startswith("501 ")


# --- the other commands ------------------------------------------------------------------


@pytest.mark.parametrize(("line", "command"), [
    ("DATA", Data()), ("RSET", Rset()), ("QUIT", Quit()), ("STARTTLS", StartTls()),
    ("NOOP", Noop()), ("NOOP anything at all", Noop("anything at all")),
    ("HELP", Help()), ("HELP MAIL", Help("MAIL")),
    ("VRFY postmaster", Vrfy("postmaster")), ("VRFY a@example.com", Vrfy("a@example.com")),
    ("VRFY \"Joe Smith\" SMTPUTF8", Vrfy('"Joe Smith"', smtputf8=True)),
    ("EXPN staff", Expn("staff")), ("EXPN 用户 SMTPUTF8", Expn("用户", smtputf8=True)),
    ("BDAT 10", Bdat(10, last=False, chunk=b"")), ("BDAT 0 LAST", Bdat(0, last=True, chunk=b"")),
    ("BDAT 5 last", Bdat(5, last=True, chunk=b"")),
    ("AUTH PLAIN", Auth("PLAIN")), ("AUTH plain dGVzdA==", Auth("PLAIN", b"test")),
    ("AUTH PLAIN =", Auth("PLAIN", b"")), ("AUTH SCRAM-SHA-256", Auth("SCRAM-SHA-256")),
])
def test_each_command_parses_to_its_dataclass(line: str, command: Command) -> None:
    """RFC 5321 §4.1.1; RFC 3030 §2 (BDAT); RFC 3207 §4 (STARTTLS); RFC 4954 §4 (AUTH,
    "=" is the empty initial response); RFC 6531 §3.7.4.2 (VRFY/EXPN SMTPUTF8)."""
    assert parse(line) == command


@pytest.mark.parametrize("line", ["DATA x", "RSET x", "QUIT now", "STARTTLS x", "DATA  x"])
def test_commands_without_arguments_refuse_one(line: str) -> None:
    """RFC 5321 §4.1.1.4/.5/.10, RFC 3207 §4: no argument; §4.2.2 501."""
    assert refusal(line).startswith("501 ")


@pytest.mark.parametrize(("line", "command"), [
    ("DATA ", Data()), ("RSET\t", Rset()), ("MAIL FROM:<a@example.com> \t ", MailFrom(A))])
def test_trailing_white_space_is_tolerated(line: str, command: Command) -> None:
    """RFC 5321 §4.1.1 SHOULD: "SMTP receivers SHOULD tolerate trailing white space
    before the terminating <CRLF>"."""
    assert parse(line) == command


@pytest.mark.parametrize("line", ["VRFY", "VRFY ", "EXPN", "EXPN "])
def test_vrfy_and_expn_need_a_string(line: str) -> None:
    """RFC 5321 §4.1.1.6: vrfy = "VRFY" SP String CRLF."""
    assert refusal(line).startswith("501 ")


@pytest.mark.parametrize("line", ["BDAT", "BDAT x", "BDAT -1", "BDAT 10 MORE", "BDAT 10  LAST",
                                  "BDAT " + "9" * 21, "BDAT 1 LAST x"])
def test_malformed_bdat_gets_501(line: str) -> None:
    """RFC 3030 §2: bdat-cmd ::= "BDAT" SP chunk-size [ SP end-marker ] CR LF."""
    assert refusal(line).startswith("501 ")


@pytest.mark.parametrize("line", ["AUTH", "AUTH ", "AUTH PL@IN", "AUTH " + "A" * 21,
                                  "AUTH PLAIN a b"])
def test_malformed_auth_gets_501(line: str) -> None:
    """RFC 4954 §4: "AUTH" SP sasl-mech [SP initial-response]; RFC 4422 §3.1 sasl-mech =
    1*20mech-char."""
    assert refusal(line).startswith("501 ")


@pytest.mark.parametrize("line", ["AUTH PLAIN dGVzdA", "AUTH PLAIN dG=VzdA==", "AUTH PLAIN *",
                                  "AUTH PLAIN ===="])
def test_an_initial_response_that_is_not_base64_gets_501_5_5_2(line: str) -> None:
    """RFC 4954 §4 MUST: "If the server cannot [BASE64] decode any client response, it
    MUST reject the AUTH command with a 501 reply (and an enhanced status code of
    5.5.2)"."""
    assert refusal(line) == "501 5.5.2"


# --- verbs ----------------------------------------------------------------------------------


@pytest.mark.parametrize("line", ["FOO", "MAILFROM:<a@example.com>", "", " ", " NOOP",
                                  "HELLO x", "XEXPS"])
def test_an_unknown_verb_gets_500(line: str) -> None:
    """RFC 5321 §4.2.4 SHOULD: "If the command is not recognized, code 500 SHOULD be
    returned." (§4.2.3: "500 Syntax error, command unrecognized")"""
    assert refusal(line) == "500 5.5.1"


@pytest.mark.parametrize("line", ["TURN", "ETRN example.com", "ATRN", "SEND FROM:<a@b>",
                                  "SOML FROM:<a@b>", "SAML FROM:<a@b>"])
def test_known_but_unimplemented_verbs_get_502(line: str) -> None:
    """RFC 5321 §4.2.4 SHOULD: "502 SHOULD be used when the command is actually recognized
    by the SMTP server, but not implemented."; TURN, SEND, SOML, SAML are Appendix F."""
    assert refusal(line) == "502 5.5.1"


@pytest.mark.parametrize(("line", "command"), [
    ("mail from:<a@example.com>", MailFrom(A)), ("Mail From:<a@example.com>", MailFrom(A)),
    ("rcpt to:<a@example.com>", RcptTo(A)), ("QuIt", Quit()), ("ehlo x", Ehlo("x")),
    ("data", Data()), ("starttls", StartTls()), ("mail from:<a@example.com> size=5",
                                                 MailFrom(A, size=5)),
])
def test_verbs_and_keywords_are_case_insensitive(line: str, command: Command) -> None:
    """RFC 5321 §2.4: "Verbs and argument values (e.g., "TO:" or "to:" in the RCPT command
    and extension name keywords) are not case sensitive"."""
    assert parse(line) == command


def test_local_parts_keep_their_case() -> None:
    """RFC 5321 §2.4 MUST: "The local-part of a mailbox MUST BE treated as case
    sensitive"."""
    assert parse("MAIL FROM:<John.Smith@example.com>") == MailFrom(
        Mailbox("John.Smith", "example.com"))


# --- invalid characters ---------------------------------------------------------------------


@pytest.mark.parametrize("line", [b"\x01NOOP", b"\x00", b"QU\x7fIT", b"\x1b[31mEHLO x"])
def test_control_characters_in_the_verb_get_500(line: bytes) -> None:
    """RFC 5321 §4.2.4: an unrecognizable command gets 500."""
    assert refusal(line).startswith("500 ")


@pytest.mark.parametrize("line", [b"MAIL FROM:<a\x01@example.com>", b"RCPT TO:<a@b\x00>",
                                  b"NOOP \x07", b"EHLO x\x7f", b"MAIL FROM:<a@example.com>\x0b",
                                  b"HELP \x1b"])
def test_control_characters_in_arguments_get_501(line: bytes) -> None:
    """RFC 5321 §4.1.2 MUST: control characters "MUST NOT be used in MAIL or RCPT
    commands"; "SMTP servers that receive a command in which invalid character codes
    have been employed ... MUST reject that command with a 501 response". (found: 500)"""
    assert refusal(line).startswith("501 ")


@pytest.mark.parametrize("line", [b"\xff\xfe", b"MA\xc3IL FROM:<a@b>", b"\xc0\x80"])
def test_a_verb_that_is_not_utf8_gets_500(line: bytes) -> None:
    """RFC 5321 §4.2.4: 500 for a line that is no recognizable command."""
    assert refusal(line).startswith("500 ")


@pytest.mark.parametrize("line", [b"MAIL FROM:<\xff@example.com> SMTPUTF8",
                                  b"RCPT TO:<a@\xc3(>", b"EHLO \xe9.example"])
def test_invalid_utf8_in_arguments_gets_501(line: bytes) -> None:
    """RFC 5321 §4.1.2 MUST: invalid character codes in a command → 501 (RFC 6531 §3.3
    allows UTF-8, well-formed, in addresses only). (found: 500)"""
    assert refusal(line).startswith("501 ")


@pytest.mark.parametrize("line", ["EHLO exämple.com", "HELO bücher.example", "NOOP é",
                                  "HELP ünd"])
def test_non_ascii_in_arguments_that_cannot_carry_it_gets_501(line: str) -> None:
    """RFC 5321 §4.1.2 MUST: "invalid character codes" → 501; RFC 6531 §3.3 extends only
    addresses and esmtp-value (and RFC 6531 §3.7.4.2 VRFY/EXPN). (found: 500)"""
    assert refusal(line).startswith("501 ")


# --- reply lines (client side, RFC 5321 §4.2) -------------------------------------------------


@pytest.mark.parametrize(("line", "parsed"), [
    (b"250 OK", ReplyLine(250, True, "OK")), (b"250-first", ReplyLine(250, False, "first")),
    (b"250", ReplyLine(250, True, "")), (b"334 ", ReplyLine(334, True, "")),
    (b"554 5.7.1 no\ttab", ReplyLine(554, True, "5.7.1 no\ttab")),
    ("220 ünïcode".encode(), ReplyLine(220, True, "ünïcode")),
])
def test_reply_lines_parse_to_code_continuation_and_text(line: bytes, parsed: ReplyLine) -> None:
    """RFC 5321 §4.2: Reply-line = *( Reply-code "-" [ textstring ] CRLF ) Reply-code
    [ SP textstring ] CRLF; RFC 6531 §3.7.4: UTF-8 in reply text."""
    assert parse_reply_line(line) == parsed


@pytest.mark.parametrize("line", [b"25", b"600 x", b"199 x", b"260 x", b"250x", b"250 \x00",
                                  b"\xff\xff\xff", b"250_x", b"", b"2500 x"])
def test_malformed_reply_lines_are_refused(line: bytes) -> None:
    """RFC 5321 §4.2: Reply-code = %x32-35 %x30-35 %x30-39; textstring = 1*(%d09 /
    %d32-126)."""
    with pytest.raises(RemoteProtocolError):
        parse_reply_line(line)


def test_a_multiline_reply_whose_codes_disagree_is_refused() -> None:
    """RFC 5321 §4.2.1 MUST: "In a multiline reply, the reply code on each of the lines
    MUST be the same."."""
    with pytest.raises(RemoteProtocolError):
        assemble_reply([ReplyLine(250, False, "a"), ReplyLine(251, True, "b")], enhanced=False)


def test_the_enhanced_status_is_taken_from_every_line() -> None:
    """RFC 2034 §4: "the same status code must appear at the beginning of the text in each
    line of the response"."""
    lines = [ReplyLine(250, False, "2.1.0 first"), ReplyLine(250, True, "2.1.0 second")]
    assert assemble_reply(lines, enhanced=True) == Reply(250, Status.ADDRESS_OTHER,
                                                         ("first", "second"))


def test_a_status_like_text_inside_a_line_is_left_alone() -> None:
    """RFC 2034 §4: the status code is at "the beginning of the text"; elsewhere it is
    text. (found: the first "x.y.z " anywhere in a continuation line was cut out)"""
    lines = [ReplyLine(550, False, "5.1.1 no such user"),
             ReplyLine(550, True, "see 5.1.1 in RFC 3463")]
    assert assemble_reply(lines, enhanced=True) == Reply(
        550, Status.BAD_DESTINATION_MAILBOX, ("no such user", "see 5.1.1 in RFC 3463"))


def test_a_status_of_another_class_is_text() -> None:
    """RFC 2034 §4 MUST: "All status codes returned by the server must agree with the
    primary response code"; one that does not is not taken as the status."""
    assert assemble_reply([ReplyLine(250, True, "5.0.0 odd")], enhanced=True) == Reply(
        250, None, ("5.0.0 odd",))


def test_without_enhanced_codes_the_text_is_kept_whole() -> None:
    """RFC 2034 §5: the client knows of enhanced codes only from the EHLO keyword."""
    assert assemble_reply([ReplyLine(250, True, "2.0.0 ok")], enhanced=False) == Reply(
        250, None, ("2.0.0 ok",))
