"""RFC 5321 MAIL and RCPT: the null reverse-path (§4.5.5, §6.1), parameters (§4.1.1.11,
§4.1.1), postmaster (§2.3.5, §4.5.1), source routes (§3.3, §4.1.2, Appendix F.2), path
sizes (§4.5.3.1), 100 recipients (§4.5.3.1.8), relaying (§3.6.2, §7.9)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from conformance.drivers.smtp import SmtpDriver
from conformance.suites.smtp.support import (
    FOREIGN_RECIPIENT,
    SENDER,
    Mailstore,
    ehlo,
    enhanced_code,
    expect,
    expect_refusal,
    in_step,
    known_message,
)

pytestmark = pytest.mark.protocol("smtp")


@pytest.mark.requirement(rfc=5321, section="6.1", level="MUST", ids=("RFC5321-6.1-3",))
@pytest.mark.requirement(rfc=5321, section="3.6.3", level="MUST", ids=("RFC5321-3.6.3-4",))
@pytest.mark.requirement(rfc=5321, section="4.5.5", level="MUST")
def test_null_reverse_path_is_accepted(smtp: SmtpDriver, recipient: str) -> None:
    """RFC 5321 §4.1.1.2: 'Reverse-path = Path / "<>"'; non-delivery notifications "MUST
    be sent using a null ("<>") reverse-path in the envelope" (§6.1, §3.6.3), so a
    receiver that refused MAIL FROM:<> could not be told about its own mail (§4.5.5)."""
    ehlo(smtp)
    expect(smtp.command("MAIL FROM:<>"), 250, what="MAIL FROM:<>")
    expect(smtp.rcpt_to(recipient), 250, 251, what="RCPT after MAIL FROM:<>")
    expect(smtp.command("RSET"), 250, what="RSET")


@pytest.mark.requirement(rfc=5321, section="4.1.1.11", level="MUST")
@pytest.mark.requirement(rfc=5321, section="4.1.4", level="MUST", ids=("RFC5321-4.1.4-13",))
def test_unknown_mail_parameter_gets_555(smtp: SmtpDriver) -> None:
    """RFC 5321 §4.1.1.11: "If the server SMTP does not recognize or cannot implement one
    or more of the parameters associated with a particular MAIL FROM or RCPT TO command,
    it will return code 555"; the state is kept (§4.1.4): MAIL without it is accepted."""
    ehlo(smtp)
    expect(smtp.mail_from(SENDER, "XCONFORMANCE-UNKNOWN=1"), 555,
           what="MAIL with an unknown parameter")
    expect(smtp.mail_from(SENDER), 250, what="MAIL after the refused one")
    expect(smtp.command("RSET"), 250, what="RSET")


@pytest.mark.requirement(rfc=5321, section="4.1.1.11", level="MUST")
def test_unknown_rcpt_parameter_gets_555(smtp: SmtpDriver, recipient: str) -> None:
    """RFC 5321 §4.1.1.11: an unrecognized RCPT TO parameter gets 555; the transaction
    stays open (the RCPT without it is accepted)."""
    ehlo(smtp)
    expect(smtp.mail_from(SENDER), 250, what="MAIL")
    expect(smtp.rcpt_to(recipient, "XCONFORMANCE-UNKNOWN=1"), 555,
           what="RCPT with an unknown parameter")
    expect(smtp.rcpt_to(recipient), 250, 251, what="RCPT after the refused one")
    expect(smtp.command("RSET"), 250, what="RSET")


@pytest.mark.requirement(rfc=5321, section="4.1.1", level="SHOULD", ids=("RFC5321-4.1.1-3",))
def test_extension_parameters_are_refused_after_helo(smtp: SmtpDriver) -> None:
    """RFC 5321 §4.1.1: "In the absence of specific extensions offered by the server and
    accepted by the client, clients MUST NOT send such parameters and servers SHOULD
    reject commands containing them as having invalid syntax." After HELO no extension
    is in effect (§3.2): MAIL with SIZE= is refused (555, §4.1.1.11, or 501)."""
    expect(smtp.helo(), 250, what="HELO")
    expect(smtp.mail_from(SENDER, "SIZE=1000"), 555, 501, what="MAIL with SIZE= after HELO")
    in_step(smtp, "after MAIL with a parameter after HELO")


@pytest.mark.requirement(rfc=5321, section="2.3.5", level="MUST", ids=("RFC5321-2.3.5-4",))
@pytest.mark.requirement(rfc=5321, section="4.5.1", level="MUST",
                         ids=("RFC5321-4.5.1-3", "RFC5321-4.5.1-4"))
def test_postmaster_without_a_domain_is_accepted_in_any_case(smtp: SmtpDriver) -> None:
    """RFC 5321 §4.5.1: "the special case of "RCPT TO:<Postmaster>" (with no domain
    specification), MUST be supported", "postmaster" being "a case-insensitive local
    name"; §2.3.5: it "MUST be accepted if so used"."""
    ehlo(smtp)
    expect(smtp.mail_from(SENDER), 250, what="MAIL")
    for name in ("Postmaster", "postmaster", "POSTMASTER"):
        expect(smtp.rcpt_to(name), 250, 251, what=f"RCPT TO:<{name}>")
    expect(smtp.command("RSET"), 250, what="RSET")


@pytest.mark.requirement(rfc=5321, section="4.5.1", level="MUST",
                         ids=("RFC5321-4.5.1-3", "RFC5321-4.5.1-4"))
def test_postmaster_at_the_local_domain_is_accepted_in_any_case(smtp: SmtpDriver,
                                                                domain: str) -> None:
    """RFC 5321 §4.5.1: "RCPT commands that specify a mailbox for postmaster at any of
    the domains for which the SMTP server provides mail service ... MUST be supported",
    case-insensitively."""
    ehlo(smtp)
    expect(smtp.mail_from(SENDER), 250, what="MAIL")
    for name in ("postmaster", "PostMaster"):
        expect(smtp.rcpt_to(f"{name}@{domain}"), 250, 251, what=f"RCPT TO:<{name}@{domain}>")
    expect(smtp.command("RSET"), 250, what="RSET")


@pytest.mark.requirement(rfc=5321, section="4.1.2", level="MUST", ids=("RFC5321-4.1.2-1",))
@pytest.mark.requirement(rfc=5321, section="3.3", level="MUST", ids=("RFC5321-3.3-5",))
@pytest.mark.requirement(rfc=5321, section="F.2", level="MUST", ids=("RFC5321-F.2-1",))
@pytest.mark.requirement(rfc=5321, section="4.1.1.3", level="MUST", ids=("RFC5321-4.1.1.3-2",))
@pytest.mark.requirement(rfc=5321, section="C", level="MUST", ids=("RFC5321-C-3",))
def test_source_routes_are_not_a_syntax_error(smtp: SmtpDriver, recipient: str) -> None:
    """RFC 5321 §4.1.2: 'A-d-l = At-domain *( "," At-domain )': "this form, the so-called
    "source route", MUST BE accepted"; §3.3: "Servers MUST be prepared to encounter a list
    of source routes in the forward-path, but they SHOULD ignore the routes or MAY decline
    to support the relaying they imply": the reply may be a refusal, not a syntax error
    (Appendix C: "servers MUST be prepared to receive and handle them")."""
    ehlo(smtp)
    reply = smtp.mail_from(f"@relay.conformance.test:{SENDER}")
    assert reply.code not in (500, 501, 555), f"MAIL with a source route: {reply}"
    if reply.code != 250:
        expect(smtp.mail_from(SENDER), 250, what="MAIL")
    reply = smtp.rcpt_to(f"@one.conformance.test,@two.conformance.test:{recipient}")
    assert reply.code not in (500, 501, 555), f"RCPT with a source route: {reply}"
    expect(smtp.command("RSET"), 250, what="RSET")


@pytest.mark.requirement(rfc=5321, section="4.1.1.3", level="SHOULD", ids=("RFC5321-4.1.1.3-2",))
@pytest.mark.requirement(rfc=5321, section="3.6.1", level="SHOULD", ids=("RFC5321-3.6.1-3",))
def test_a_source_route_to_a_local_mailbox_is_ignored(smtp: SmtpDriver, recipient: str) -> None:
    """RFC 5321 §4.1.1.3: receivers "SHOULD strip off the source route specification and
    utilize the domain name associated with the mailbox as if the source route had not
    been provided": a route ending in a local mailbox is accepted like the mailbox."""
    ehlo(smtp)
    expect(smtp.mail_from(SENDER), 250, what="MAIL")
    expect(smtp.rcpt_to(f"@one.conformance.test,@two.conformance.test:{recipient}"), 250, 251,
           what="RCPT with a source route to a local mailbox")
    expect(smtp.command("RSET"), 250, what="RSET")


@pytest.mark.requirement(rfc=5321, section="4.5.3.1", level="MUST", ids=("RFC5321-4.5.3.1-1",))
@pytest.mark.requirement(rfc=5321, section="4.5.3.1.1", level="MUST")
def test_a_local_part_of_64_octets_is_received(smtp: SmtpDriver, domain: str) -> None:
    """RFC 5321 §4.5.3.1.1: "The maximum total length of a user name or other local-part
    is 64 octets"; §4.5.3.1: "Every implementation MUST be able to receive objects of at
    least these sizes." A 64-octet local part may be unknown (550), not a syntax error."""
    ehlo(smtp)
    expect(smtp.mail_from(SENDER), 250, what="MAIL")
    local = ("conformance-" + uuid.uuid4().hex + "x" * 64)[:64]
    reply = smtp.rcpt_to(f"{local}@{domain}")
    assert reply.code not in (500, 501), f"RCPT with a 64-octet local part: {reply}"
    expect(smtp.command("RSET"), 250, what="RSET")


@pytest.mark.requirement(rfc=5321, section="4.5.3.1", level="MUST", ids=("RFC5321-4.5.3.1-1",))
@pytest.mark.requirement(rfc=5321, section="4.5.3.1.3", level="MUST")
def test_a_reverse_path_of_256_octets_is_received(smtp: SmtpDriver) -> None:
    """RFC 5321 §4.5.3.1.3: "The maximum total length of a reverse-path or forward-path is
    256 octets (including the punctuation and element separators)"; §4.5.3.1: receivers
    MUST be able to take one. A 64-octet local part at a 189-octet domain in <>."""
    ehlo(smtp)
    domain = ".".join(["a" * 63, "b" * 63, "c" * 53, "example"])   # 189 octets
    path = "s" * 64 + "@" + domain
    assert len(path) + 2 == 256
    reply = smtp.mail_from(path)
    assert reply.code not in (500, 501), f"MAIL with a 256-octet reverse-path: {reply}"
    in_step(smtp, "after MAIL with a 256-octet path")


@pytest.mark.requirement(rfc=5321, section="4.5.3.1.8", level="MUST", ids=("RFC5321-4.5.3.1.8-1",))
def test_100_recipients_are_accepted(smtp: SmtpDriver, recipient: str) -> None:
    """RFC 5321 §4.5.3.1.8: "The minimum total number of recipients that MUST be buffered
    is 100 recipients." One hundred RCPTs (the local recipient, again and again) are each
    accepted."""
    ehlo(smtp)
    expect(smtp.mail_from(SENDER), 250, what="MAIL")
    for number in range(1, 101):
        expect(smtp.rcpt_to(recipient), 250, 251, what=f"RCPT number {number}")
    expect(smtp.command("RSET"), 250, what="RSET")


@pytest.mark.requirement(rfc=5321, section="4.5.3.1.10", level="MUST",
                         ids=("RFC5321-4.5.3.1.10-2",))
@pytest.mark.informational
def test_recipient_limit(smtp: SmtpDriver, recipient: str,
                         observe: Callable[[str, object], None]) -> None:
    """RFC 5321 §4.5.3.1.10: a server whose RCPT limit "is exhausted ... MUST use a
    response code of 452" (or, for a site policy, "MAY instead use a 5yz"): how many of
    1000 RCPTs are taken, and what the first refusal is, recorded."""
    ehlo(smtp)
    expect(smtp.mail_from(SENDER), 250, what="MAIL")
    accepted = 0
    for _ in range(1000):
        reply = smtp.rcpt_to(recipient)
        if reply.code not in (250, 251):
            observe("first refusal", str(reply))
            break
        accepted += 1
    observe("recipients accepted", accepted)
    smtp.command("RSET")


@pytest.mark.requirement(rfc=5321, section="3.6.2", level="SHOULD", ids=("RFC5321-3.6.2-1",))
@pytest.mark.requirement(rfc=5321, section="3.3", level="MAY", ids=("RFC5321-3.3-6",))
@pytest.mark.informational
def test_relaying_for_an_unauthenticated_client(smtp: SmtpDriver,
                                                observe: Callable[[str, object], None]) -> None:
    """RFC 5321 §3.3: servers "MAY decline to accept mail that is destined for other hosts
    or systems"; §3.6.2: "The relay server may accept or reject the task of relaying the
    mail in the same way it accepts or rejects mail for a local user"; §7.9 asks only
    that implementations "SHOULD provide the capability" to limit relaying. An open relay
    breaks no requirement of RFC 5321 (it is a site's policy, often a bad one): what a
    RCPT to a foreign domain gets without authentication is recorded, and nothing is
    sent (the transaction is reset)."""
    ehlo(smtp)
    expect(smtp.mail_from(SENDER), 250, what="MAIL")
    reply = smtp.rcpt_to(FOREIGN_RECIPIENT)
    observe("RCPT to a foreign domain", str(reply))
    observe("open relay", reply.code in (250, 251))
    expect(smtp.command("RSET"), 250, what="RSET")


@pytest.mark.requirement(rfc=5321, section="3.6.2", level="SHOULD", ids=("RFC5321-3.6.2-1",))
@pytest.mark.requirement(rfc=5321, section="7.9", level="SHOULD", ids=("RFC5321-7.9-2",))
def test_relay_refusal_is_550(smtp: SmtpDriver) -> None:
    """RFC 5321 §3.6.2: "If it declines to relay mail to a particular address for policy
    reasons, a 550 response SHOULD be returned"; §7.9: "a 550 code SHOULD be used in
    response to ... RCPT". With ENHANCEDSTATUSCODES, RFC 3463 §3.8 X.7.1 "Delivery not
    authorized, message refused" is the code for it."""
    ehlo(smtp)
    expect(smtp.mail_from(SENDER), 250, what="MAIL")
    reply = smtp.rcpt_to(FOREIGN_RECIPIENT)
    expect(smtp.command("RSET"), 250, what="RSET")
    if reply.code in (250, 251):
        pytest.skip(f"UNSUPPORTED: the target relays for this client ({reply})")
    expect(reply, 550, what=f"RCPT TO:<{FOREIGN_RECIPIENT}> (relaying)")
    if "ENHANCEDSTATUSCODES" in smtp.extensions:
        assert enhanced_code(reply.lines[0]) == "5.7.1", (
            f"relaying refused with {reply}: RFC 3463 §3.8 X.7.1 expected")


@pytest.mark.requirement(rfc=5321, section="4.1.2", level="MUST", ids=("RFC5321-4.1.2-5",))
def test_a_quoted_local_part_is_the_same_mailbox(smtp: SmtpDriver, recipient: str) -> None:
    """RFC 5321 §4.1.2: "For any purposes that require generating or comparing Local-parts
    (e.g., to specific mailbox names), all quoted forms MUST be treated as equivalent":
    '"alice"@domain' and '"\\a\\l\\i\\c\\e"@domain' (quoted-pairSMTP) reach the mailbox
    'alice@domain' reaches."""
    local, _, domain = recipient.rpartition("@")
    ehlo(smtp)
    expect(smtp.mail_from(SENDER), 250, what="MAIL")
    expect(smtp.rcpt_to(recipient), 250, 251, what=f"RCPT TO:<{recipient}>")
    quoted = f'"{local}"@{domain}'
    expect(smtp.rcpt_to(quoted), 250, 251, what=f"RCPT TO:<{quoted}>")
    escaped = '"' + "".join("\\" + c for c in local) + f'"@{domain}'
    expect(smtp.rcpt_to(escaped), 250, 251, what=f"RCPT TO:<{escaped}>")
    expect(smtp.command("RSET"), 250, what="RSET")


@pytest.mark.requirement(rfc=5321, section="3.3", level="MUST", ids=("RFC5321-3.3-1",))
def test_an_unknown_local_recipient_gets_a_permanent_or_temporary_failure(
        smtp: SmtpDriver, domain: str) -> None:
    """RFC 5321 §3.3: "If the mailbox specification is not acceptable for some reason,
    the server MUST return a reply indicating whether the failure is permanent ... or
    temporary": a RCPT reply of §4.3.2's list (RCPT  S: 250, 251  E: 550, 551, 552, 553,
    450, 451, 452, 503, 455, 555; a server may also accept and bounce later, §3.3)."""
    ehlo(smtp)
    expect(smtp.mail_from(SENDER), 250, what="MAIL")
    unknown = f"conformance-no-such-user-{uuid.uuid4().hex[:12]}@{domain}"
    expect(smtp.rcpt_to(unknown), 250, 251, 550, 551, 552, 553, 450, 451, 452, 455,
           what=f"RCPT TO:<{unknown}>")
    expect(smtp.command("RSET"), 250, what="RSET")


@pytest.mark.requirement(rfc=5321, section="4.1.1", level="MUST", ids=("RFC5321-4.1.1-2",))
@pytest.mark.parametrize("local", ["conformance..dots", ".conformance", "conformance.",
                                   "two words", "a(comment)b"],
                         ids=["double-dot", "leading-dot", "trailing-dot", "space", "parens"])
def test_a_local_part_out_of_the_grammar_is_refused(smtp: SmtpDriver, domain: str,
                                                    recipient: str, local: str) -> None:
    """RFC 5321 §4.1.1: "The syntax of the local part of a mailbox MUST conform to
    receiver site conventions and the syntax specified in Section 4.1.2" ('Dot-string =
    Atom *("."  Atom)', 'Atom = 1*atext'; a space or parentheses only in a
    Quoted-string): RCPT with such a local part unquoted is refused (501 syntax, or 553
    "mailbox name not allowed"), and the transaction goes on."""
    ehlo(smtp)
    expect(smtp.mail_from(SENDER), 250, what="MAIL")
    reply = smtp.rcpt_to(f"{local}@{domain}")
    assert reply.code >= 500, f"RCPT TO:<{local}@{domain}> was answered {reply}"
    expect(smtp.rcpt_to(recipient), 250, 251, what="RCPT after the refused one")
    expect(smtp.command("RSET"), 250, what="RSET")


@pytest.mark.requirement(rfc=5321, section="4.1.1.1", level="MUST", ids=("RFC5321-4.1.1.1-6",))
def test_extension_keywords_are_recognized_in_any_case(smtp: SmtpDriver,
                                                       recipient: str) -> None:
    """RFC 5321 §4.1.1.1: "Although EHLO keywords may be specified in upper, lower, or
    mixed case, they MUST always be recognized and processed in a case-insensitive
    manner": the MAIL parameters of advertised extensions (RFC 1870 SIZE, RFC 6152 BODY)
    in lower and mixed case are accepted like upper case ones."""
    ehlo(smtp)
    parameters = []
    if "SIZE" in smtp.extensions:
        parameters += ["size=1000", "SiZe=1000"]
    if "8BITMIME" in smtp.extensions:
        parameters += ["body=8BITMIME", "Body=7BIT"]
    if not parameters:
        pytest.skip("UNSUPPORTED: the target advertises neither SIZE nor 8BITMIME")
    for parameter in parameters:
        expect(smtp.mail_from(SENDER, parameter), 250, what=f"MAIL with {parameter}")
        expect(smtp.rcpt_to(recipient), 250, 251, what=f"RCPT after MAIL with {parameter}")
        expect(smtp.command("RSET"), 250, what="RSET")


@pytest.mark.requirement(rfc=5321, section="4.5.3.1.8", level="MUST", ids=("RFC5321-4.5.3.1.8-3",))
@pytest.mark.requirement(rfc=5321, section="4.5.3.1.10", level="MUST",
                         ids=("RFC5321-4.5.3.1.10-2",))
def test_a_recipient_limit_refuses_new_recipients_and_keeps_the_others(
        smtp: SmtpDriver, recipient: str, mailstore: Mailstore) -> None:
    """RFC 5321 §4.5.3.1.8: "A server that imposes a limit on the number of recipients
    MUST behave in an orderly fashion, such as rejecting additional addresses over its
    limit rather than silently discarding addresses previously accepted." RCPTs until one
    is refused (at most 1000): the refusal is a reply to that RCPT, later ones are
    refused too, and the message then goes to the recipients accepted before. §4.5.3.1.10:
    when "this limit is exhausted, it MUST use a response code of 452", or for "a
    configured site-policy limitation ... MAY instead use a 5yz response code"."""
    message = known_message(recipient, subject="recipient limit")
    mailstore.expect(message)
    ehlo(smtp)
    expect(smtp.mail_from(SENDER), 250, what="MAIL")
    accepted = 0
    refusal = None
    while accepted < 1000:
        reply = smtp.rcpt_to(recipient)
        if reply.code not in (250, 251):
            refusal = reply
            break
        accepted += 1
    if refusal is None:
        smtp.command("RSET")
        pytest.skip("not observed: the target took 1000 recipients without a limit")
    assert refusal.code == 452 or refusal.code >= 500, (
        f"RCPT number {accepted + 1}, over the limit, was answered {refusal}: 452 (or a "
        "5yz for a site policy) expected")
    expect_refusal(smtp.rcpt_to(recipient), what=f"RCPT number {accepted + 2}")
    assert accepted >= 100, f"only {accepted} recipients were taken (RFC 5321 §4.5.3.1.8: 100)"
    expect(smtp.data(message.raw), 250,
           what=f"the data for the {accepted} recipients accepted before the limit")
    if mailstore.available:
        assert mailstore.fetch(message) is not None, (
            "the message for the recipients accepted before the limit was not delivered")
    in_step(smtp, "after the recipient limit")


@pytest.mark.requirement(rfc=5321, section="4.5.1", level="MUST", ids=("RFC5321-4.5.1-3",))
@pytest.mark.informational
def test_postmaster_at_the_server_address_literal(smtp: SmtpDriver,
                                                  observe: Callable[[str, object], None]
                                                  ) -> None:
    """RFC 5321 §4.5.1: postmaster "at any of the domains for which the SMTP server
    provides mail service" MUST be supported; §4.1.3 address literals name a host by its
    address. Whether a server counts its own address literal among its domains is its
    choice (RFC 1123 §5.2.17 asked it to, RFC 5321 is silent): what RCPT TO:<postmaster@[
    the server's address]> gets is recorded."""
    address = smtp.wire.sock.getpeername()[0]
    literal = f"[IPv6:{address}]" if ":" in address else f"[{address}]"
    ehlo(smtp)
    expect(smtp.mail_from(SENDER), 250, what="MAIL")
    reply = smtp.rcpt_to(f"postmaster@{literal}")
    observe(f"RCPT TO:<postmaster@{literal}>", str(reply))
    expect(smtp.command("RSET"), 250, what="RSET")
