"""RFC 3207 STARTTLS: the command's replies (§4), the session reset after the handshake
(§4.2: the server forgets the EHLO; no STARTTLS in the new EHLO reply), no plaintext
command run under TLS (§4.2, §6; CVE-2011-0411), mail without TLS (§4)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from conformance.drivers import DriverError, GrammarViolation
from conformance.drivers.smtp import SmtpDriver
from conformance.suites.smtp.support import (
    SENDER,
    WAIT,
    ehlo,
    expect,
    in_step,
)
from conformance.targets import TargetSpec

pytestmark = [pytest.mark.protocol("smtp"), pytest.mark.needs("STARTTLS")]


def start_tls(smtp: SmtpDriver) -> None:
    """EHLO, STARTTLS (220) and the handshake, as a precondition."""
    ehlo(smtp)
    expect(smtp.starttls(), 220, what="STARTTLS")


@pytest.mark.requirement(rfc=3207, section="4", level="MUST")
def test_starttls_with_a_parameter_gets_501(smtp: SmtpDriver) -> None:
    """RFC 3207 §4: 'STARTTLS with no parameters'; the server answers "501 Syntax error
    (no parameters allowed)", and the session goes on in plaintext."""
    ehlo(smtp)
    expect(smtp.command("STARTTLS conformance"), 501, what="STARTTLS with a parameter")
    in_step(smtp, "after STARTTLS with a parameter")


@pytest.mark.requirement(rfc=3207, section="4.2", level="MUST NOT", ids=("RFC3207-4.2-7",))
def test_ehlo_after_tls_does_not_offer_starttls(smtp: SmtpDriver) -> None:
    """RFC 3207 §4.2: "A server MUST NOT return the STARTTLS extension in response to an
    EHLO command received after a TLS handshake has completed." """
    start_tls(smtp)
    expect(smtp.ehlo(), 250, what="EHLO under TLS")
    assert "STARTTLS" not in smtp.extensions, "EHLO under TLS still offers STARTTLS"


@pytest.mark.requirement(rfc=3207, section="4.2", level="MUST", ids=("RFC3207-4.2-5",))
def test_a_second_starttls_is_refused(smtp: SmtpDriver) -> None:
    """RFC 3207 §4.2: "Both the client and the server MUST know if there is a TLS session
    active" ("A client MUST NOT attempt to start a TLS session if a TLS session is
    already active"): STARTTLS under TLS is not answered 220."""
    start_tls(smtp)
    ehlo(smtp)
    reply = smtp.command("STARTTLS")
    assert 500 <= reply.code < 600, f"STARTTLS under TLS answered {reply}"
    in_step(smtp, "after STARTTLS under TLS")


@pytest.mark.requirement(rfc=3207, section="4.2", level="MUST", ids=("RFC3207-4.2-1",))
@pytest.mark.requirement(rfc=3207, section="6", level="MUST", ids=("RFC3207-6-4",))
def test_the_server_forgets_the_ehlo_after_tls(
        smtp_factory: Callable[..., SmtpDriver]) -> None:
    """RFC 3207 §4.2: "Upon completion of the TLS handshake, the SMTP protocol is reset to
    the initial state (the state in SMTP after a server issues a 220 service ready
    greeting). The server MUST discard any knowledge obtained from the client, such as
    the argument to the EHLO command". Observable where the server wants EHLO before
    MAIL: then MAIL right after the handshake must get 503 too."""
    plain = smtp_factory()
    before = plain.mail_from(SENDER)
    plain.command("QUIT")
    if before.code != 503:
        pytest.skip(f"UNSUPPORTED: the target takes MAIL without EHLO ({before}), so a "
                    "forgotten EHLO cannot be seen")
    smtp = smtp_factory()
    start_tls(smtp)
    expect(smtp.mail_from(SENDER), 503,
           what="MAIL right after the TLS handshake (the EHLO before it must be forgotten)")
    ehlo(smtp)
    expect(smtp.mail_from(SENDER), 250, what="MAIL after EHLO under TLS")
    expect(smtp.command("RSET"), 250, what="RSET")


@pytest.mark.requirement(rfc=3207, section="4.2", level="MUST", ids=("RFC3207-4.2-1",))
@pytest.mark.requirement(rfc=3207, section="6", level="MUST", ids=("RFC3207-6-4",))
def test_commands_sent_with_starttls_are_not_run_under_tls(smtp: SmtpDriver) -> None:
    """CVE-2011-0411 (command injection): "STARTTLS" CRLF "NOOP" CRLF in one plaintext
    write. RFC 3207 §4.2: after the handshake the server "MUST discard any knowledge
    obtained from the client ... which was not obtained from the TLS negotiation itself":
    the NOOP that came in plaintext is never answered, neither before the handshake nor
    inside TLS; the first reply under TLS is the one to QUIT."""
    ehlo(smtp)
    smtp.send(b"STARTTLS\r\nNOOP\r\n")
    reply = expect(smtp.read_reply(), 220, what="STARTTLS (with NOOP behind it)")
    if smtp.wire.buffer:
        raise GrammarViolation("the server answered the NOOP sent with STARTTLS before the "
                               "TLS handshake", bytes(smtp.wire.buffer))
    smtp.wire.start_tls()
    smtp.tls = True
    smtp.extensions = {}
    smtp.send(b"QUIT\r\n")
    try:
        first = smtp.read_reply()
    except DriverError as exc:
        raise AssertionError(f"no reply to QUIT under TLS after {reply} ({exc})") from None
    assert first.code == 221, (
        f"the first reply under TLS is {first}, not QUIT's 221: the NOOP sent in plaintext "
        "behind STARTTLS was run inside TLS (CVE-2011-0411)")
    assert smtp.wait_closed(WAIT), "the server did not close after 221"


@pytest.mark.requirement(rfc=3207, section="4", level="MUST NOT", ids=("RFC3207-4-1",))
def test_local_delivery_does_not_require_tls(smtp: SmtpDriver, target: TargetSpec,
                                             recipient: str) -> None:
    """RFC 3207 §4: "A publicly-referenced SMTP server MUST NOT require use of the STARTTLS
    extension in order to deliver mail locally." (Not a submission server: RFC 6409 and
    RFC 3207 §4.3 let those require it.)"""
    if target.submission:
        pytest.skip("UNSUPPORTED: a submission listener may require TLS (RFC 3207 §4.3)")
    ehlo(smtp)
    expect(smtp.mail_from(SENDER), 250, what="MAIL without TLS")
    expect(smtp.rcpt_to(recipient), 250, 251, what="RCPT to a local mailbox without TLS")
    expect(smtp.command("RSET"), 250, what="RSET")


@pytest.mark.requirement(rfc=3207, section="4.2", level="MUST", ids=("RFC3207-4.2-1",))
def test_a_mail_transaction_works_under_tls(smtp: SmtpDriver, recipient: str) -> None:
    """RFC 3207 §4.2: after the handshake the session starts over from the greeting
    state: EHLO, MAIL and RCPT work under TLS."""
    start_tls(smtp)
    ehlo(smtp)
    expect(smtp.mail_from(SENDER), 250, what="MAIL under TLS")
    expect(smtp.rcpt_to(recipient), 250, 251, what="RCPT under TLS")
    expect(smtp.command("RSET"), 250, what="RSET")
    in_step(smtp, "under TLS")
