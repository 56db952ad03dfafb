"""RFC 5321 the session: greeting (§3.1, §4.2, §4.3.1), replies (§4.2, §4.2.1), QUIT
(§4.1.1.10), and keeping the connection open until QUIT (§3.8)."""

from __future__ import annotations

import pytest

from conformance.drivers.smtp import SmtpDriver
from conformance.suites.smtp.support import (
    DOMAIN_OR_LITERAL,
    SENDER,
    WAIT,
    ehlo,
    expect,
    expect_refusal,
    in_step,
)

pytestmark = pytest.mark.protocol("smtp")


@pytest.mark.requirement(rfc=5321, section="4.3.2", level="MUST")
@pytest.mark.requirement(rfc=5321, section="4.2", level="MUST NOT", ids=("RFC5321-4.2-9",))
@pytest.mark.requirement(rfc=5321, section="4.1.2", level="MUST NOT", ids=("RFC5321-4.1.2-8",))
def test_greeting_is_220_naming_the_server(smtp: SmtpDriver) -> None:
    """RFC 5321 §4.2: 'Greeting = ( "220 " (Domain / address-literal) [ SP textstring ]
    CRLF ) / ( "220-" (Domain / address-literal) [ SP textstring ] CRLF *( "220-" [
    textstring ] CRLF ) "220" [ SP textstring ] CRLF )'; §4.3.2 CONNECTION ESTABLISHMENT
    "S: 220 E: 554" (a 554 refuses the session, and nothing else can be tested); §4.1.2:
    "characters outside the set of alphabetic characters, digits, and hyphen MUST NOT
    appear in domain name labels for SMTP clients or servers"."""
    greeting = smtp.greeting
    assert greeting is not None
    assert greeting.code == 220, (
        f"greeting {greeting}: expected 220 (a 554 refuses this client; RFC 5321 §3.1)")
    first = greeting.lines[0]
    name = first.split(" ", 1)[0]
    assert DOMAIN_OR_LITERAL.fullmatch(name), (
        f"the greeting's first line {first!r} does not begin with a Domain or an "
        "address-literal (RFC 5321 §4.2 Greeting)")


@pytest.mark.requirement(rfc=5321, section="4.1.1.10", level="MUST", ids=("RFC5321-4.1.1.10-1",))
def test_quit_gets_221_and_the_server_closes(smtp: SmtpDriver) -> None:
    """RFC 5321 §4.1.1.10: "the receiver MUST send a "221 OK" reply, and then close the
    transmission channel"."""
    ehlo(smtp)
    expect(smtp.quit(), 221, what="QUIT")
    assert smtp.wait_closed(WAIT), f"the server kept the connection open {WAIT:g} s after 221"


@pytest.mark.requirement(rfc=5321, section="4.1.1.10", level="MUST", ids=("RFC5321-4.1.1.10-1",))
def test_quit_during_a_mail_transaction_gets_221_and_closes(smtp: SmtpDriver,
                                                            recipient: str) -> None:
    """RFC 5321 §4.1.1.10: QUIT "MUST send a "221 OK" reply, and then close"; "Any
    current uncompleted mail transaction will be aborted" (not refused)."""
    ehlo(smtp)
    expect(smtp.mail_from(SENDER), 250, what="MAIL")
    expect(smtp.rcpt_to(recipient), 250, 251, what="RCPT")
    expect(smtp.quit(), 221, what="QUIT in a mail transaction")
    assert smtp.wait_closed(WAIT), f"the server kept the connection open {WAIT:g} s after 221"


@pytest.mark.requirement(rfc=5321, section="4.1.1.10", level="MUST", ids=("RFC5321-4.1.1.10-1",))
def test_quit_before_ehlo_gets_221(smtp: SmtpDriver) -> None:
    """RFC 5321 §4.1.4: "The QUIT command SHOULD be used by the client SMTP to request
    connection closure, even when no session opening command was sent and accepted";
    §4.1.1.10: the receiver "MUST send a "221 OK" reply"."""
    expect(smtp.quit(), 221, what="QUIT right after the greeting")
    assert smtp.wait_closed(WAIT), f"the server kept the connection open {WAIT:g} s after 221"


@pytest.mark.requirement(rfc=5321, section="4.1.1.10", level="MUST NOT",
                         ids=("RFC5321-4.1.1.10-2",))
@pytest.mark.requirement(rfc=5321, section="3.8", level="MUST NOT", ids=("RFC5321-3.8-1",))
def test_errors_do_not_close_the_connection(smtp: SmtpDriver, recipient: str) -> None:
    """RFC 5321 §4.1.1.10: "The receiver MUST NOT intentionally close the transmission
    channel until it receives and replies to a QUIT command (even if there was an
    error)." An unknown command, a bad argument and a command out of sequence, each
    refused, then NOOP still gets 250."""
    ehlo(smtp)
    expect_refusal(smtp.command("XCONFORMANCE-UNKNOWN"), what="an unknown command")
    expect_refusal(smtp.command("MAIL TO:<conformance@example.com>"),
                   what="MAIL without FROM:")
    expect_refusal(smtp.rcpt_to(recipient), what="RCPT without MAIL")
    expect(smtp.command("NOOP"), 250, what="NOOP after three errors")
    in_step(smtp, "after three refused commands")


@pytest.mark.requirement(rfc=5321, section="4.2", level="MUST", ids=("RFC5321-4.2-1",))
@pytest.mark.requirement(rfc=5321, section="4.3.2", level="MUST NOT", ids=("RFC5321-4.3.2-2",))
def test_every_command_gets_exactly_one_reply(smtp: SmtpDriver, recipient: str) -> None:
    """RFC 5321 §4.2: "Every command MUST generate exactly one reply." Each command of a
    whole session, accepted or refused, waited for one at a time; QUIT's 221 must then be
    the very next reply (a server that sent two replies to one command is out of step).
    Every reply is parsed by the driver: §4.3.2 "SMTP servers MUST NOT transmit reply
    codes to an SMTP client that are other than three digits or that do not start in a
    digit between 2 and 5 inclusive"."""
    for line in ("EHLO conformance.test", "NOOP", "HELO conformance.test",
                 "EHLO conformance.test", f"MAIL FROM:<{SENDER}>", f"RCPT TO:<{recipient}>",
                 "RSET", "XCONFORMANCE-UNKNOWN", f"RCPT TO:<{recipient}>", "HELP",
                 f"VRFY {recipient}", "RSET"):
        smtp.command(line)
    in_step(smtp, "after a session of twelve commands")


@pytest.mark.requirement(rfc=5321, section="4.2.1", level="MUST", ids=("RFC5321-4.2.1-4",))
def test_multiline_replies_have_one_code_and_hyphens_until_the_last_line(
        smtp: SmtpDriver) -> None:
    """RFC 5321 §4.2.1: "In a multiline reply, the reply code on each of the lines MUST be
    the same"; every line but the last is 'Reply-code "-" [ textstring ]' and the last
    'Reply-code [ SP textstring ]' (§4.2). Checked on the EHLO reply, byte by byte."""
    reply = ehlo(smtp)
    lines = reply.raw.split(b"\r\n")
    assert lines[-1] == b"", f"the reply does not end with CRLF: {reply.raw!r}"
    lines = lines[:-1]
    code = str(reply.code).encode()
    for line in lines[:-1]:
        assert line.startswith(code + b"-"), (
            f"line {line!r} of a multiline reply does not start with {code.decode()}-")
    last = lines[-1]
    assert last == code or last.startswith(code + b" "), (
        f"the last line {last!r} does not start with '{code.decode()} ' (RFC 5321 §4.2)")


@pytest.mark.requirement(rfc=5321, section="3.1", level="MUST", ids=("RFC5321-3.1-4",))
def test_a_554_greeting_still_waits_for_quit(smtp: SmtpDriver) -> None:
    """RFC 5321 §3.1: "a 554 response MAY be given in the initial connection opening
    message instead of the 220. A server taking this approach MUST still wait for the
    client to send a QUIT (see Section 4.1.1.10) before closing the connection and SHOULD
    respond to any intervening commands with "503 bad sequence of commands"." Observable
    only on a target that refuses this client's session: the commands before QUIT are
    answered (whatever the reply: 503 is a SHOULD), the connection stays open until
    QUIT, and QUIT gets 221 (§4.1.1.10)."""
    assert smtp.greeting is not None
    if smtp.greeting.code != 554:
        pytest.skip(f"not observed: the target greets with {smtp.greeting.code}, not 554")
    for line in ("EHLO conformance.test", "NOOP", f"MAIL FROM:<{SENDER}>"):
        smtp.command(line)
    expect(smtp.quit(), 221, what="QUIT after a 554 greeting")
    assert smtp.wait_closed(WAIT), f"the server kept the connection open {WAIT:g} s after 221"
