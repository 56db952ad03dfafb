"""RFC 5321 order of commands: §3.3 (RCPT needs MAIL; DATA needs recipients), §4.1.4
(503 for commands out of order, the state kept; no nested MAIL; commands usable before
EHLO)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from conformance.drivers.smtp import SmtpDriver
from conformance.suites.smtp.support import (
    SENDER,
    Mailstore,
    ehlo,
    expect,
    in_step,
    known_message,
    open_transaction,
)

pytestmark = pytest.mark.protocol("smtp")


@pytest.mark.requirement(rfc=5321, section="3.3", level="MUST", ids=("RFC5321-3.3-8",))
@pytest.mark.requirement(rfc=5321, section="4.1.4", level="MUST", ids=("RFC5321-4.1.4-14",))
def test_rcpt_without_mail_gets_503_and_the_state_is_kept(smtp: SmtpDriver,
                                                          recipient: str) -> None:
    """RFC 5321 §3.3: "If a RCPT command appears without a previous MAIL command, the
    server MUST return a 503 "Bad sequence of commands" response"; §4.1.4: "and the SMTP
    server MUST stay in the same state" (a MAIL is accepted next)."""
    ehlo(smtp)
    expect(smtp.rcpt_to(recipient), 503, what="RCPT without MAIL")
    expect(smtp.mail_from(SENDER), 250, what="MAIL after the refused RCPT")
    expect(smtp.command("RSET"), 250, what="RSET")


@pytest.mark.requirement(rfc=5321, section="4.1.4", level="MUST", ids=("RFC5321-4.1.4-14",))
@pytest.mark.requirement(rfc=5321, section="3.3", level="MAY", ids=("RFC5321-3.3-9",))
def test_data_without_mail_gets_503_or_554(smtp: SmtpDriver) -> None:
    """RFC 5321 §3.3: "If there was no MAIL, or no RCPT, command, or all such commands
    were rejected, the server MAY return a "command out of sequence" (503) or "no valid
    recipients" (554) reply in response to the DATA command"; never 354 (§4.1.4: out of
    order, "a 503 failure reply MUST be returned")."""
    ehlo(smtp)
    reply = smtp.command("DATA")
    if reply.code == 354:
        smtp.send(b".\r\n")
        smtp.read_reply()
    expect(reply, 503, 554, what="DATA without MAIL")
    in_step(smtp, "after DATA without MAIL")


@pytest.mark.requirement(rfc=5321, section="4.1.4", level="MUST", ids=("RFC5321-4.1.4-14",))
@pytest.mark.requirement(rfc=5321, section="3.3", level="MAY", ids=("RFC5321-3.3-9",))
def test_data_without_rcpt_gets_503_or_554(smtp: SmtpDriver) -> None:
    """RFC 5321 §3.3 / §4.1.4: DATA after MAIL but before any RCPT is out of order: 503
    (or 554 "no valid recipients"), never 354; the transaction stays open."""
    ehlo(smtp)
    expect(smtp.mail_from(SENDER), 250, what="MAIL")
    reply = smtp.command("DATA")
    if reply.code == 354:
        smtp.send(b".\r\n")
        smtp.read_reply()
    expect(reply, 503, 554, what="DATA without RCPT")
    expect(smtp.command("RSET"), 250, what="RSET")
    in_step(smtp, "after DATA without RCPT")


@pytest.mark.requirement(rfc=2920, section="3.2", level="SHOULD", ids=("RFC2920-3.2-3",))
@pytest.mark.requirement(rfc=5321, section="3.3", level="MAY", ids=("RFC5321-3.3-9",))
@pytest.mark.needs("PIPELINING")
def test_data_after_every_rcpt_was_refused_is_not_354(smtp: SmtpDriver, domain: str) -> None:
    """RFC 2920 §3.2 (3): the server "SHOULD issue a positive response to the DATA command
    if and only if one or more valid RCPT TO addresses have been previously received";
    RFC 5321 §3.3: when "all such commands were rejected" it MAY answer 503 or 554."""
    ehlo(smtp)
    expect(smtp.mail_from(SENDER), 250, what="MAIL")
    unknown = f"conformance-no-such-user-{uuid.uuid4().hex[:12]}@{domain}"
    rcpt = smtp.rcpt_to(unknown)
    if rcpt.code < 400:
        smtp.command("RSET")
        pytest.skip(f"UNSUPPORTED: the target accepts the unknown recipient {unknown} "
                    f"({rcpt}), so no RCPT was refused")
    reply = smtp.command("DATA")
    if reply.code == 354:
        smtp.send(b".\r\n")
        final = smtp.read_reply()
        # RFC 2920 §3.2 (4): after that empty message the server "MUST NOT ... send any
        # message whatsoever to anybody"; a 250 here would claim it did.
        assert final.code >= 400, (
            f"DATA with no valid recipient was answered 354 and the empty message {final}")
    expect(reply, 503, 554, what="DATA after the only RCPT was refused")
    in_step(smtp, "after DATA with no valid recipient")


@pytest.mark.requirement(rfc=5321, section="4.1.4", level="MUST", ids=("RFC5321-4.1.4-14",))
@pytest.mark.requirement(rfc=5321, section="4.1.4", level="MUST NOT", ids=("RFC5321-4.1.4-12",))
def test_nested_mail_gets_503_and_the_transaction_stays(smtp: SmtpDriver,
                                                        recipient: str) -> None:
    """RFC 5321 §4.1.4: "MAIL ... MUST NOT be sent if a mail transaction is already
    open"; one that is gets 503 and "the SMTP server MUST stay in the same state": the
    first transaction takes a RCPT afterwards."""
    ehlo(smtp)
    expect(smtp.mail_from(SENDER), 250, what="MAIL")
    expect(smtp.mail_from(SENDER), 503, what="a second MAIL in the open transaction")
    expect(smtp.rcpt_to(recipient), 250, 251, what="RCPT in the first transaction")
    expect(smtp.command("RSET"), 250, what="RSET")


@pytest.mark.requirement(rfc=5321, section="4.1.4", level="MUST", ids=("RFC5321-4.1.4-14",))
@pytest.mark.requirement(rfc=5321, section="4.1.4", level="MUST NOT", ids=("RFC5321-4.1.4-12",))
@pytest.mark.requirement(rfc=5321, section="4.1.1.4", level="MUST", ids=("RFC5321-4.1.1.4-6",))
def test_the_transaction_ends_with_the_data_and_a_new_one_can_start(
        smtp: SmtpDriver, recipient: str, mailstore: Mailstore) -> None:
    """RFC 5321 §4.1.1.4: "If the processing is successful, the receiver MUST send an OK
    reply"; the transaction is then over: a RCPT is out of sequence (§3.3: 503), and a
    MAIL starts the next one (§4.1.4: MAIL may be sent "if the previous one successfully
    concluded with a successful DATA command")."""
    message = known_message(recipient, subject="transaction end")
    mailstore.expect(message)
    open_transaction(smtp, recipient)
    expect(smtp.data(message.raw), 250, what="the end of the mail data")
    expect(smtp.rcpt_to(recipient), 503, what="RCPT after the transaction ended")
    expect(smtp.mail_from(SENDER), 250, what="MAIL for a second transaction")
    expect(smtp.command("RSET"), 250, what="RSET")


@pytest.mark.requirement(rfc=5321, section="4.1.4", level="SHOULD", ids=("RFC5321-4.1.4-11",))
def test_noop_rset_vrfy_help_work_before_ehlo(smtp: SmtpDriver, recipient: str) -> None:
    """RFC 5321 §4.1.4: "The NOOP, HELP, EXPN, VRFY, and RSET commands can be used at any
    time during a session, or without previously initializing a session. SMTP servers
    SHOULD process these normally (that is, not return a 503 code) even if no EHLO
    command has yet been received." (EXPN may be disabled: §3.5.2.)"""
    for line in ("NOOP", "RSET", f"VRFY {recipient}", "HELP"):
        reply = smtp.command(line)
        assert reply.code != 503, f"{line} before EHLO got 503: {reply}"
    in_step(smtp, "after NOOP, RSET, VRFY and HELP before EHLO")


@pytest.mark.requirement(rfc=5321, section="4.1.4", level="MUST", ids=("RFC5321-4.1.4-1",))
@pytest.mark.informational
def test_mail_before_ehlo(smtp: SmtpDriver, observe: Callable[[str, object], None]) -> None:
    """RFC 5321 §4.1.4: "A session that will contain mail transactions MUST first be
    initialized by the use of the EHLO command" binds the client; whether the server
    refuses MAIL before EHLO/HELO (503) or takes it is its own choice: recorded."""
    reply = smtp.mail_from(SENDER)
    observe("MAIL before EHLO", str(reply))
    if reply.code == 250:
        smtp.command("RSET")
