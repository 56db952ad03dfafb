"""RFC 5321 RSET (§4.1.1.5), NOOP (§4.1.1.9), VRFY and EXPN (§3.5, §7.3), HELP
(§4.1.1.8), and the minimum implementation (§4.5.1)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import pytest

from conformance.drivers.smtp import SmtpDriver
from conformance.suites.smtp.support import SENDER, ehlo, expect, in_step

pytestmark = pytest.mark.protocol("smtp")

# RFC 5321 §3.5.1: a 250 reply to VRFY is "User Name <local-part@domain>" or
# "local-part@domain".
_MAILBOX_IN_REPLY = re.compile(r"(?:^|\s|<)[^\s<>@]+@[A-Za-z0-9.-]+(?:>|\s|$)")


@pytest.mark.requirement(rfc=5321, section="4.1.1.5", level="MUST",
                         ids=("RFC5321-4.1.1.5-1", "RFC5321-4.1.1.5-2"))
@pytest.mark.requirement(rfc=5321, section="4.1.1.5", level="MUST NOT",
                         ids=("RFC5321-4.1.1.5-3",))
def test_rset_gets_250_and_discards_the_transaction(smtp: SmtpDriver, recipient: str) -> None:
    """RFC 5321 §4.1.1.5: "Any stored sender, recipients, and mail data MUST be
    discarded, and all buffers and state tables cleared. The receiver MUST send a "250
    OK" reply to a RSET command with no arguments." and "MUST NOT close the connection":
    after RSET a RCPT has no MAIL (503) and DATA no transaction (503 or 554)."""
    ehlo(smtp)
    expect(smtp.mail_from(SENDER), 250, what="MAIL")
    expect(smtp.rcpt_to(recipient), 250, 251, what="RCPT")
    expect(smtp.command("RSET"), 250, what="RSET in the transaction")
    expect(smtp.rcpt_to(recipient), 503, what="RCPT after RSET")
    data = smtp.command("DATA")
    if data.code == 354:
        smtp.send(b".\r\n")
        smtp.read_reply()
    expect(data, 503, 554, what="DATA after RSET")
    expect(smtp.mail_from(SENDER), 250, what="MAIL after RSET")
    expect(smtp.command("RSET"), 250, what="RSET")
    in_step(smtp, "after RSET")


@pytest.mark.requirement(rfc=5321, section="4.1.1.5", level="MUST", ids=("RFC5321-4.1.1.5-2",))
def test_rset_without_a_transaction_gets_250(smtp: SmtpDriver) -> None:
    """RFC 5321 §4.1.1.5: "The receiver MUST send a "250 OK" reply to a RSET command with
    no arguments" (before EHLO too: §4.1.4 "RSET ... can be used at any time")."""
    expect(smtp.command("RSET"), 250, what="RSET before EHLO")
    ehlo(smtp)
    expect(smtp.command("RSET"), 250, what="RSET after EHLO")
    expect(smtp.command("RSET"), 250, what="a second RSET")


@pytest.mark.requirement(rfc=5321, section="4.1.1.9", level="MUST")
def test_noop_gets_250_and_leaves_the_transaction_alone(smtp: SmtpDriver,
                                                        recipient: str) -> None:
    """RFC 5321 §4.1.1.9: NOOP "does not affect any parameters or previously entered
    commands. It specifies no action other than that the receiver send a "250 OK"
    reply": in a transaction, RCPT still follows."""
    ehlo(smtp)
    expect(smtp.mail_from(SENDER), 250, what="MAIL")
    expect(smtp.command("NOOP"), 250, what="NOOP in the transaction")
    expect(smtp.rcpt_to(recipient), 250, 251, what="RCPT after NOOP")
    expect(smtp.command("NOOP"), 250, what="NOOP after RCPT")
    expect(smtp.command("RSET"), 250, what="RSET")


@pytest.mark.requirement(rfc=5321, section="4.1.1.9", level="SHOULD", ids=("RFC5321-4.1.1.9-1",))
def test_noop_ignores_its_parameter(smtp: SmtpDriver) -> None:
    """RFC 5321 §4.1.1.9: 'noop = "NOOP" [ SP String ] CRLF'; "If a parameter string is
    specified, servers SHOULD ignore it." """
    ehlo(smtp)
    expect(smtp.command("NOOP conformance"), 250, what="NOOP with an atom")
    expect(smtp.command('NOOP "a quoted string"'), 250, what="NOOP with a quoted string")


@pytest.mark.requirement(rfc=5321, section="4.5.1", level="MUST",
                         ids=("RFC5321-4.5.1-1", "RFC5321-4.5.1-2"))
@pytest.mark.requirement(rfc=5321, section="7.3", level="MUST", ids=("RFC5321-7.3-2",))
@pytest.mark.requirement(rfc=5321, section="3.5.2", level="MUST", ids=("RFC5321-3.5.2-1",))
@pytest.mark.requirement(rfc=5321, section="3.5.2", level="MUST NOT", ids=("RFC5321-3.5.2-6",))
@pytest.mark.requirement(rfc=5321, section="3.5.1", level="MUST",
                         ids=("RFC5321-3.5.1-2", "RFC5321-3.5.1-3"))
def test_vrfy_is_supported(smtp: SmtpDriver, recipient: str) -> None:
    """RFC 5321 §4.5.1: VRFY is among the commands that "MUST be supported"; §7.3: a site
    that disables it "MUST return a 252 response, rather than a code that could be
    confused with successful or unsuccessful verification" (not 500/502); §3.5.1 and
    §3.5.2: a 250 or 251 "MUST include the <Mailbox> name using a "<local-part@domain>"
    construction" ("User Name <local-part@domain>" or "local-part@domain"), and "Paths
    (explicit source routes) MUST NOT be returned by VRFY or EXPN"."""
    ehlo(smtp)
    reply = smtp.command(f"VRFY {recipient}")
    # RFC 5321 §4.3.2: VRFY  S: 250, 251, 252  E: 550, 551, 553, 502, 504
    expect(reply, 250, 251, 252, 550, 551, 553, what=f"VRFY {recipient}")
    if reply.code in (250, 251):
        assert _MAILBOX_IN_REPLY.search(reply.text), (
            f"VRFY answered {reply.code} without a local-part@domain mailbox: {reply}")
        assert not re.search(r"<@[^>]*:", reply.text), (
            f"VRFY answered with a source route: {reply}")


@pytest.mark.requirement(rfc=5321, section="3.5.3", level="MUST NOT",
                         ids=("RFC5321-3.5.3-1", "RFC5321-3.5.3-2"))
@pytest.mark.requirement(rfc=5321, section="7.3", level="MUST NOT", ids=("RFC5321-7.3-1",))
def test_vrfy_of_an_unknown_user_is_not_250(smtp: SmtpDriver, domain: str) -> None:
    """RFC 5321 §3.5.3: "A server MUST NOT return a 250 code in response to a VRFY or EXPN
    command unless it has actually verified the address. In particular, a server MUST NOT
    return 250 if all it has done is to verify that the syntax given is valid." """
    ehlo(smtp)
    unknown = f"conformance-no-such-user-{uuid.uuid4().hex[:12]}@{domain}"
    reply = smtp.command(f"VRFY {unknown}")
    assert reply.code != 250, f"VRFY of the made-up address {unknown} answered {reply}"


@pytest.mark.requirement(rfc=5321, section="3.5.1", level="MUST", ids=("RFC5321-3.5.1-8",))
def test_vrfy_recognizes_a_local_user_name(smtp: SmtpDriver, recipient: str) -> None:
    """RFC 5321 §3.5.1: "An implementation of the VRFY or EXPN commands MUST include at
    least recognition of local mailboxes as "user names"": VRFY of the local part alone
    is not refused as unknown or malformed (250, 251, 252, or 553 "User ambiguous")."""
    ehlo(smtp)
    user = recipient.rpartition("@")[0]
    expect(smtp.command(f"VRFY {user}"), 250, 251, 252, 553, what=f"VRFY {user}")


@pytest.mark.requirement(rfc=5321, section="3.5.2", level="MUST", ids=("RFC5321-3.5.2-9",))
def test_expn_if_supported_is_listed_in_ehlo(smtp: SmtpDriver) -> None:
    """RFC 5321 §3.5.2: "if EXPN is supported, it MUST be listed as a service extension in
    an EHLO response." An EXPN that is not refused as unknown (500/502) is supported."""
    ehlo(smtp)
    reply = smtp.command("EXPN postmaster")
    if reply.code not in (500, 502):
        assert "EXPN" in smtp.extensions, (
            f"EXPN is answered ({reply}) but EHLO does not list EXPN")


@pytest.mark.requirement(rfc=5321, section="3.5.2", level="MAY", ids=("RFC5321-3.5.2-8",))
@pytest.mark.informational
def test_vrfy_and_expn_replies(smtp: SmtpDriver, recipient: str,
                               observe: Callable[[str, object], None]) -> None:
    """RFC 5321 §3.5.2: sites "MAY ... disable either or both of these commands": what
    VRFY and EXPN answer here is recorded."""
    ehlo(smtp)
    observe("VRFY", str(smtp.command(f"VRFY {recipient}")))
    observe("EXPN", str(smtp.command("EXPN postmaster")))


@pytest.mark.requirement(rfc=5321, section="4.1.1.8", level="SHOULD", ids=("RFC5321-4.1.1.8-2",))
def test_help_without_arguments_gets_211_or_214(smtp: SmtpDriver) -> None:
    """RFC 5321 §4.1.1.8: "SMTP servers SHOULD support HELP without arguments"; §4.3.2:
    HELP  S: 211, 214."""
    ehlo(smtp)
    expect(smtp.command("HELP"), 211, 214, what="HELP")
    in_step(smtp, "after HELP")


# A mailbox in a VRFY or EXPN reply line: "<local-part@domain>", or a bare
# "local-part@domain" (RFC 5321 §3.5.1).
_REPLY_MAILBOX = re.compile(r"<([^<>\s]+@[^<>\s]+)>|(?:^|\s)([^<>\s]+@[^<>\s]+)(?:\s|$)")


def _mailboxes(lines: list[str]) -> list[str]:
    found = []
    for line in lines:
        match = _REPLY_MAILBOX.search(line)
        if match:
            found.append(match.group(1) or match.group(2))
    return found


@pytest.mark.requirement(rfc=5321, section="3.5.2", level="MUST", ids=("RFC5321-3.5.2-4",))
def test_the_mailbox_vrfy_returns_is_usable_in_rcpt(smtp: SmtpDriver, recipient: str) -> None:
    """RFC 5321 §3.5.2: "When addresses, rather than free-form debugging information, are
    returned, EXPN and VRFY MUST return only valid domain addresses that are usable in
    SMTP RCPT commands": the mailbox of a 250/251 reply to VRFY of a local user is then
    accepted by RCPT (VRFY of the local user's address, and of its local part)."""
    ehlo(smtp)
    mailboxes = []
    for name in (recipient, recipient.rpartition("@")[0]):
        reply = smtp.command(f"VRFY {name}")
        if reply.code in (250, 251):
            found = _mailboxes(reply.lines)
            assert found, f"VRFY {name} answered {reply.code} without a mailbox: {reply}"
            mailboxes += found
    if not mailboxes:
        pytest.skip(f"not observed: VRFY verified nothing (the last reply: {reply})")
    expect(smtp.mail_from(SENDER), 250, what="MAIL")
    for mailbox in mailboxes:
        expect(smtp.rcpt_to(mailbox), 250, 251, what=f"RCPT TO:<{mailbox}> (from VRFY)")
    expect(smtp.command("RSET"), 250, what="RSET")


@pytest.mark.requirement(rfc=5321, section="3.5.1", level="MUST", ids=("RFC5321-3.5.1-5",))
@pytest.mark.requirement(rfc=5321, section="3.5.2", level="MUST", ids=("RFC5321-3.5.2-4",))
@pytest.mark.needs("EXPN")
def test_expn_gives_the_mailboxes_of_the_list(smtp: SmtpDriver, recipient: str) -> None:
    """RFC 5321 §3.5.1: "For the EXPN command, the string identifies a mailing list, and
    the successful (i.e., 250) multiline response MAY include the full name of the users
    and MUST give the mailboxes on the mailing list"; §3.5.2: each "usable in SMTP RCPT
    commands". EXPN of postmaster (an alias at most sites) and of the local user."""
    ehlo(smtp)
    expanded = []
    for name in ("postmaster", recipient.rpartition("@")[0]):
        reply = smtp.command(f"EXPN {name}")
        if reply.code != 250:
            continue
        mailboxes = _mailboxes(reply.lines)
        assert len(mailboxes) == len(reply.lines), (
            f"EXPN {name}: a line of the 250 reply gives no mailbox: {reply}")
        expanded += mailboxes
    if not expanded:
        pytest.skip("not observed: EXPN expanded neither postmaster nor the local user")
    expect(smtp.mail_from(SENDER), 250, what="MAIL")
    for mailbox in expanded:
        expect(smtp.rcpt_to(mailbox), 250, 251, what=f"RCPT TO:<{mailbox}> (from EXPN)")
    expect(smtp.command("RSET"), 250, what="RSET")
