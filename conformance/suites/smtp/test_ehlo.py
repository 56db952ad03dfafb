"""RFC 5321 EHLO and HELO: §2.2.1, §2.2.2, §3.2, §4.1.1.1, §4.1.4 (EHLO resets; a refused
EHLO keeps the state), §4.1.4 (the EHLO name is not a reason to refuse mail)."""

from __future__ import annotations

import pytest

from conformance.drivers.smtp import SmtpDriver
from conformance.suites.smtp.support import (
    DOMAIN_OR_LITERAL,
    SENDER,
    ehlo,
    expect,
    in_step,
)

pytestmark = pytest.mark.protocol("smtp")

# The IANA "SMTP Service Extensions" registry (keywords of Standards-Track, BCP and
# IESG-approved Experimental extensions, historic ones included), as of 2024; VRFY may be
# listed as well (RFC 5321 §3.5.2: "VRFY MAY be listed as a convenience").
REGISTERED_KEYWORDS = frozenset({
    "SEND", "SOML", "SAML", "EXPN", "HELP", "TURN", "8BITMIME", "SIZE", "VERB", "ONEX",
    "CHUNKING", "BINARYMIME", "CHECKPOINT", "DELIVERBY", "PIPELINING", "DSN", "ETRN",
    "ENHANCEDSTATUSCODES", "STARTTLS", "NO-SOLICITING", "MTRK", "ATRN", "AUTH", "BURL",
    "FUTURERELEASE", "UTF8SMTP", "SMTPUTF8", "CONPERM", "CONNEG", "RRVS", "MT-PRIORITY",
    "SUBMITTER", "REQUIRETLS", "LIMITS", "VRFY",
})


@pytest.mark.requirement(rfc=5321, section="2.2.1", level="MUST",
                         ids=("RFC5321-2.2.1-1", "RFC5321-2.2.1-2"))
@pytest.mark.requirement(rfc=5321, section="4.1.1.1", level="MUST")
@pytest.mark.requirement(rfc=5321, section="4.1.2", level="MUST NOT", ids=("RFC5321-4.1.2-8",))
def test_ehlo_gets_250_naming_the_server(smtp: SmtpDriver) -> None:
    """RFC 5321 §2.2.1: "servers MUST support the EHLO command"; §4.1.1.1: 'ehlo-ok-rsp
    = ( "250" SP Domain [ SP ehlo-greet ] CRLF ) / ( "250-" Domain [ SP ehlo-greet ] CRLF
    *( "250-" ehlo-line CRLF ) "250" SP ehlo-line CRLF )' (the driver checks each
    ehlo-line); §4.1.2: the Domain's labels are letters, digits and hyphens only."""
    reply = smtp.ehlo()
    expect(reply, 250, what="EHLO conformance.test")
    first = reply.lines[0]
    name = first.split(" ", 1)[0]
    assert DOMAIN_OR_LITERAL.fullmatch(name), (
        f"the first line of the EHLO reply {first!r} does not begin with a Domain "
        "(RFC 5321 §4.1.1.1 ehlo-ok-rsp)")


@pytest.mark.requirement(rfc=5321, section="2.2.2", level="MUST NOT", ids=("RFC5321-2.2.2-3",))
@pytest.mark.requirement(rfc=5321, section="2.2.2", level="MUST", ids=("RFC5321-2.2.2-2",))
def test_ehlo_keywords_are_registered_or_x_prefixed(smtp: SmtpDriver) -> None:
    """RFC 5321 §2.2.2: "A conforming server MUST NOT offer non-"X"-prefixed keyword
    values that are not described in a registered extension." """
    ehlo(smtp)
    unknown = sorted(keyword for keyword in smtp.extensions
                     if keyword not in REGISTERED_KEYWORDS and not keyword.startswith("X"))
    assert not unknown, (
        f"EHLO offers keywords that are neither registered with IANA nor X-prefixed: "
        f"{', '.join(unknown)}")


@pytest.mark.requirement(rfc=5321, section="4.1.4", level="MUST NOT", ids=("RFC5321-4.1.4-10",))
def test_ehlo_with_an_address_literal_then_mail_is_accepted(smtp: SmtpDriver,
                                                           recipient: str) -> None:
    """RFC 5321 §4.1.1.1: 'ehlo = "EHLO" SP ( Domain / address-literal ) CRLF'; §4.1.4:
    the client sends "an address literal" when it has no name, and "if the verification
    fails, the server MUST NOT refuse to accept a message on that basis"."""
    address = smtp.wire.sock.getsockname()[0]
    literal = f"[IPv6:{address}]" if ":" in address else f"[{address}]"
    expect(smtp.ehlo(literal), 250, what=f"EHLO {literal}")
    expect(smtp.mail_from(SENDER), 250, what=f"MAIL after EHLO {literal}")
    expect(smtp.rcpt_to(recipient), 250, 251, what=f"RCPT after EHLO {literal}")
    expect(smtp.command("RSET"), 250, what="RSET")


@pytest.mark.requirement(rfc=5321, section="4.1.4", level="MUST NOT", ids=("RFC5321-4.1.4-10",))
def test_ehlo_name_not_matching_the_client_address_does_not_refuse_mail(
        smtp: SmtpDriver, recipient: str) -> None:
    """RFC 5321 §4.1.4: "An SMTP server MAY verify that the domain name argument in the
    EHLO command actually corresponds to the IP address of the client. However, if the
    verification fails, the server MUST NOT refuse to accept a message on that basis." """
    expect(smtp.ehlo("mismatch.conformance.test"), 250, what="EHLO with a foreign name")
    expect(smtp.mail_from(SENDER), 250, what="MAIL")
    expect(smtp.rcpt_to(recipient), 250, 251, what="RCPT")
    expect(smtp.command("RSET"), 250, what="RSET")


@pytest.mark.requirement(rfc=5321, section="4.1.1.1", level="MUST", ids=("RFC5321-4.1.1.1-4",))
@pytest.mark.requirement(rfc=5321, section="2.2.1", level="MUST", ids=("RFC5321-2.2.1-3",))
@pytest.mark.requirement(rfc=5321, section="F.3", level="MUST", ids=("RFC5321-F.3-2",))
def test_helo_opens_a_session_for_mail(smtp: SmtpDriver, recipient: str) -> None:
    """RFC 5321 §4.1.1.1: "servers MUST support the HELO command and reply properly to
    it": 'helo = "HELO" SP Domain CRLF', answered 250 (§4.3.2), after which a mail
    transaction may start (§4.1.1.1: "a client MUST issue HELO or EHLO before starting a
    mail transaction")."""
    reply = expect(smtp.helo(), 250, what="HELO conformance.test")
    name = reply.lines[0].split(" ", 1)[0]
    assert DOMAIN_OR_LITERAL.fullmatch(name), (
        f"the HELO reply {reply.lines[0]!r} does not begin with a Domain (RFC 5321 §4.1.1.1)")
    expect(smtp.mail_from(SENDER), 250, what="MAIL after HELO")
    expect(smtp.rcpt_to(recipient), 250, 251, what="RCPT after HELO")
    expect(smtp.command("RSET"), 250, what="RSET")


@pytest.mark.requirement(rfc=5321, section="3.2", level="MUST NOT", ids=("RFC5321-3.2-2",))
def test_helo_reply_lists_no_extensions(smtp: SmtpDriver) -> None:
    """RFC 5321 §3.2: "Servers MUST NOT return the extended EHLO-style response to a HELO
    command." The keywords EHLO lists must not appear as lines of the HELO reply."""
    keywords = set(ehlo(smtp).lines[1:])
    reply = expect(smtp.helo(), 250, what="HELO")
    listed = [line for line in reply.lines[1:] if line in keywords]
    assert not listed, f"the HELO reply lists EHLO keywords {listed}: {reply}"


@pytest.mark.requirement(rfc=5321, section="4.1.4", level="MUST", ids=("RFC5321-4.1.4-4",))
def test_ehlo_in_a_transaction_resets_it(smtp: SmtpDriver, recipient: str) -> None:
    """RFC 5321 §4.1.4: after a later EHLO "the SMTP server MUST clear all buffers and
    reset the state exactly as if a RSET command had been issued": the MAIL before it is
    gone, so RCPT is out of sequence (§3.3: 503)."""
    ehlo(smtp)
    expect(smtp.mail_from(SENDER), 250, what="MAIL")
    expect(smtp.ehlo(), 250, what="EHLO in the transaction")
    expect(smtp.rcpt_to(recipient), 503, what="RCPT after EHLO reset the transaction")
    expect(smtp.mail_from(SENDER), 250, what="MAIL after the reset")
    expect(smtp.command("RSET"), 250, what="RSET")


@pytest.mark.requirement(rfc=5321, section="4.1.4", level="MUST",
                         ids=("RFC5321-4.1.4-5", "RFC5321-4.1.4-6"))
def test_refused_ehlo_keeps_the_state(smtp: SmtpDriver, recipient: str) -> None:
    """RFC 5321 §4.1.4: "If the EHLO command is not acceptable to the SMTP server, 501,
    500, 502, or 550 failure replies MUST be returned as appropriate. The SMTP server MUST
    stay in the same state": an EHLO without its domain argument, in an open transaction,
    leaves the transaction open (RCPT still accepted)."""
    ehlo(smtp)
    expect(smtp.mail_from(SENDER), 250, what="MAIL")
    expect(smtp.command("EHLO"), 501, 500, 502, 550, what="EHLO without a domain")
    expect(smtp.rcpt_to(recipient), 250, 251,
           what="RCPT after the refused EHLO (the transaction must still be open)")
    expect(smtp.command("RSET"), 250, what="RSET")
    in_step(smtp, "after a refused EHLO")


@pytest.mark.requirement(rfc=5321, section="2.4", level="MUST")
@pytest.mark.requirement(rfc=5321, section="2.4", level="MAY", ids=("RFC5321-2.4-1",))
def test_ehlo_verb_may_be_in_any_case(smtp: SmtpDriver) -> None:
    """RFC 5321 §2.4: "a command verb, an argument value other than a mailbox local-part,
    and free form text MAY be encoded in upper case, lower case, or any mixture" with no
    impact on its meaning: 'ehlo' and 'EhLo' open sessions like 'EHLO'."""
    for verb in ("ehlo", "EhLo"):
        reply = smtp.command(f"{verb} conformance.test")
        expect(reply, 250, what=f"{verb} conformance.test")


# EHLO keywords that name commands (RFC 5321 §4.1.1.1: "The EHLO response MUST contain
# keywords ... for all commands not listed as "required" in Section 4.5.1"), and a
# harmless way to try each; STARTTLS is tried last (a 220 ends the plaintext session).
COMMAND_KEYWORDS = (("SEND", "SEND FROM:<>"), ("SOML", "SOML FROM:<>"),
                    ("SAML", "SAML FROM:<>"), ("EXPN", "EXPN postmaster"), ("HELP", "HELP"),
                    ("CHUNKING", "BDAT 0 LAST"), ("AUTH", "AUTH PLAIN"),
                    ("STARTTLS", "STARTTLS"))


@pytest.mark.requirement(rfc=5321, section="4.2.4", level="MUST NOT", ids=("RFC5321-4.2.4-4",))
@pytest.mark.requirement(rfc=5321, section="4.1.1.1", level="MUST", ids=("RFC5321-4.1.1.1-7",))
@pytest.mark.requirement(rfc=5321, section="F.6", level="MUST", ids=("RFC5321-F.6-3",))
def test_ehlo_keywords_match_the_commands_answered(smtp: SmtpDriver) -> None:
    """RFC 5321 §4.2.4: "Extended SMTP systems MUST NOT list capabilities in response to
    EHLO for which they will return 502 (or 500) replies"; §4.1.1.1: "The EHLO response
    MUST contain keywords ... for all commands not listed as "required" in Section
    4.5.1"; Appendix F.6: SEND, SOML and SAML, "If they are implemented by servers, ...
    the command names MUST be published in the response to the EHLO command". SEND,
    SOML, SAML, EXPN, HELP, BDAT, AUTH and STARTTLS: a listed one is not answered 500 or
    502; one that is not listed is not carried out (no 2yz or 3yz reply)."""
    ehlo(smtp)
    for keyword, command in COMMAND_KEYWORDS:
        reply = smtp.command(command)
        if keyword in smtp.extensions:
            assert reply.code not in (500, 502), (
                f"EHLO lists {keyword}, and {command!r} is answered {reply}")
        else:
            assert reply.code >= 400, (
                f"EHLO does not list {keyword}, and {command!r} is answered {reply}")
        if reply.code == 334:
            expect(smtp.command("*"), 501, what='"*" to end the AUTH exchange')
        if reply.code == 250 and command.endswith("FROM:<>"):
            expect(smtp.command("RSET"), 250, what=f"RSET after {command}")
        if reply.code == 220:
            return                        # STARTTLS accepted: nothing more in plaintext
