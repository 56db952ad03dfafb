"""RFC 5321 command syntax: line ends (§2.3.8), case (§2.4), unknown commands (§4.2.4),
arguments where none are allowed (§4.3.2), invalid characters (§4.1.2), trailing white
space (§4.1.1), and command line lengths (§4.5.3.1.4)."""

from __future__ import annotations

import pytest

from conformance.drivers.smtp import SmtpDriver
from conformance.suites.smtp.support import SENDER, ehlo, expect, in_step

pytestmark = pytest.mark.protocol("smtp")


@pytest.mark.requirement(rfc=5321, section="4.2.4", level="SHOULD", ids=("RFC5321-4.2.4-3",))
def test_unknown_command_gets_500(smtp: SmtpDriver) -> None:
    """RFC 5321 §4.2.4: "If the command is not recognized, code 500 SHOULD be returned"
    (502 is for commands "recognized by the SMTP server, but not implemented")."""
    ehlo(smtp)
    expect(smtp.command("XCONFORMANCE-UNKNOWN"), 500, what="an unknown command")
    in_step(smtp, "after an unknown command")


@pytest.mark.requirement(rfc=5321, section="2.4", level="MUST")
@pytest.mark.requirement(rfc=5321, section="2.4", level="MAY", ids=("RFC5321-2.4-1",))
def test_verbs_and_keywords_may_be_in_any_case(smtp: SmtpDriver, recipient: str) -> None:
    """RFC 5321 §2.4: "a command verb, an argument value other than a mailbox local-part,
    and free form text MAY be encoded in upper case, lower case, or any mixture of upper
    and lower case with no impact on its meaning" ("TO:" or "to:" in RCPT)."""
    expect(smtp.command("eHlO conformance.test"), 250, what="eHlO")
    expect(smtp.command(f"mail from:<{SENDER}>"), 250, what="mail from:")
    expect(smtp.command(f"Rcpt To:<{recipient}>"), 250, 251, what="Rcpt To:")
    expect(smtp.command("nOoP"), 250, what="nOoP")
    expect(smtp.command("rset"), 250, what="rset")
    in_step(smtp, "after lower- and mixed-case commands")


@pytest.mark.requirement(rfc=5321, section="2.3.8", level="MUST NOT", ids=("RFC5321-2.3.8-1",))
@pytest.mark.requirement(rfc=5321, section="4.2", level="MUST", ids=("RFC5321-4.2-1",))
@pytest.mark.parametrize("bare", [b"\n", b"\r"], ids=["LF", "CR"])
def test_a_bare_line_end_does_not_end_a_command_line(smtp: SmtpDriver, bare: bytes) -> None:
    """RFC 5321 §2.3.8: "Conforming implementations MUST NOT recognize or generate any
    other character or character sequence as a line terminator" than CRLF. The line
    "NOOP<bare>NOOP" CRLF is one command line: it gets one reply (whatever it is), and
    the text after the bare CR or LF is never run as a second command."""
    ehlo(smtp)
    smtp.send(b"NOOP" + bare + b"NOOP\r\n")
    smtp.read_reply()
    name = "LF" if bare == b"\n" else "CR"
    in_step(smtp, f"after one command line with a bare {name}")


@pytest.mark.requirement(rfc=5321, section="4.3.2", level="SHOULD", ids=("RFC5321-4.3.2-4",))
def test_arguments_to_rset_and_quit_get_501(smtp: SmtpDriver) -> None:
    """RFC 5321 §4.3.2: "commands that are specified in this document as not accepting
    arguments (DATA, RSET, QUIT) SHOULD return a 501 message if arguments are supplied in
    the absence of EHLO-advertised extensions"."""
    ehlo(smtp)
    expect(smtp.command("RSET conformance"), 501, what="RSET with an argument")
    expect(smtp.command("QUIT conformance"), 501, what="QUIT with an argument")
    in_step(smtp, "after RSET and QUIT with arguments")


@pytest.mark.requirement(rfc=5321, section="4.1.2", level="MUST", ids=("RFC5321-4.1.2-9",))
@pytest.mark.parametrize("octet", [0x01, 0x1B, 0x7F], ids=["SOH", "ESC", "DEL"])
def test_control_characters_in_a_mailbox_get_501(smtp: SmtpDriver, octet: int) -> None:
    """RFC 5321 §4.1.2: "SMTP servers that receive a command in which invalid character
    codes have been employed, and for which there are no other reasons for rejection,
    MUST reject that command with a 501 response" (ASCII control characters "MUST NOT be
    used in MAIL or RCPT commands"); the state is kept (§4.1.4)."""
    ehlo(smtp)
    line = b"MAIL FROM:<conformance" + bytes([octet]) + b"sender@example.com>"
    expect(smtp.command(line), 501, what=f"MAIL with the control character 0x{octet:02x}")
    expect(smtp.mail_from(SENDER), 250, what="MAIL after the refused one")
    expect(smtp.command("RSET"), 250, what="RSET")


@pytest.mark.requirement(rfc=5321, section="4.1.1", level="SHOULD", ids=("RFC5321-4.1.1-1",))
def test_trailing_white_space_is_tolerated(smtp: SmtpDriver, recipient: str) -> None:
    """RFC 5321 §4.1.1: "In the interest of improved interoperability, SMTP receivers
    SHOULD tolerate trailing white space before the terminating <CRLF>." """
    ehlo(smtp)
    expect(smtp.command(f"MAIL FROM:<{SENDER}> "), 250, what="MAIL with a trailing space")
    expect(smtp.command(f"RCPT TO:<{recipient}>\t"), 250, 251, what="RCPT with a trailing tab")
    expect(smtp.command("RSET "), 250, what="RSET with a trailing space")
    expect(smtp.command("NOOP "), 250, what="NOOP with a trailing space")
    in_step(smtp, "after commands with trailing white space")


@pytest.mark.requirement(rfc=5321, section="4.5.3.1", level="MUST", ids=("RFC5321-4.5.3.1-1",))
@pytest.mark.requirement(rfc=5321, section="4.5.3.1.4", level="MUST")
def test_a_command_line_of_512_octets_is_accepted(smtp: SmtpDriver) -> None:
    """RFC 5321 §4.5.3.1.4: "The maximum total length of a command line including the
    command word and the <CRLF> is 512 octets"; §4.5.3.1: "Every implementation MUST be
    able to receive objects of at least these sizes." NOOP with a 505-octet string (§4.1.1.9
    'noop = "NOOP" [ SP String ] CRLF') is 512 octets; NOOP's reply is 250."""
    line = b"NOOP " + b"x" * 505
    assert len(line) + 2 == 512
    expect(smtp.command(line), 250, what="a 512-octet NOOP line")
    ehlo(smtp)
    expect(smtp.command(line), 250, what="a 512-octet NOOP line after EHLO")
    in_step(smtp, "after 512-octet command lines")


@pytest.mark.requirement(rfc=5321, section="4.2", level="MUST", ids=("RFC5321-4.2-1",))
@pytest.mark.requirement(rfc=5321, section="4.5.3.1.4", level="MUST")
def test_an_overlong_command_line_gets_one_reply(smtp: SmtpDriver) -> None:
    """RFC 5321 §4.5.3.1.4 sets 512 octets, "SMTP extensions may be used to increase this
    limit"; a longer line may be refused ("500 Line too long", §4.5.3.1.10), but it is
    one command: "Every command MUST generate exactly one reply" (§4.2), and the server
    stays in step (no part of the line is run as another command)."""
    ehlo(smtp)
    line = b"NOOP " + b"x" * 16000 + b" NOOP"
    reply = smtp.command(line)
    assert reply.code in (250, 500, 501), f"a 16 kB NOOP line was answered {reply}"
    in_step(smtp, "after a 16 kB command line")
