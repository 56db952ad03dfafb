"""RFC 6152 8BITMIME: the BODY= parameter of MAIL (§2, §3) and 8-bit content delivered with
every bit kept (§3)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from conformance.drivers.smtp import SmtpDriver
from conformance.suites.smtp.support import (
    SENDER,
    Mailstore,
    check_stored_as_sent,
    ehlo,
    expect,
    known_message,
)

pytestmark = [pytest.mark.protocol("smtp"), pytest.mark.needs("8BITMIME")]


@pytest.mark.requirement(rfc=6152, section="3", level="MUST")
@pytest.mark.parametrize("body", ["8BITMIME", "7BIT", "8bitmime"])
def test_mail_with_a_body_parameter_is_accepted(smtp: SmtpDriver, body: str) -> None:
    """RFC 6152 §2: 'body-value = "7BIT" / "8BITMIME"'; §3: a server that lists 8BITMIME
    "is indicating that it supports the extended MAIL command" (values are not case
    sensitive: RFC 5321 §2.4)."""
    ehlo(smtp)
    expect(smtp.mail_from(SENDER, f"BODY={body}"), 250, what=f"MAIL with BODY={body}")
    expect(smtp.command("RSET"), 250, what="RSET")


@pytest.mark.requirement(rfc=5321, section="4.1.4", level="MUST", ids=("RFC5321-4.1.4-13",))
@pytest.mark.requirement(rfc=5321, section="4.1.1.11", level="MUST")
def test_an_unknown_body_value_gets_501_or_555(smtp: SmtpDriver) -> None:
    """RFC 6152 §2 knows only 7BIT and 8BITMIME. RFC 5321 §4.1.4: "If the transaction
    beginning command argument is not acceptable, a 501 failure reply MUST be returned
    and the SMTP server MUST stay in the same state"; §4.1.1.11: parameters the server
    "does not recognize or cannot implement" get 555. (§4.3.2 lists no 504 for MAIL.)"""
    ehlo(smtp)
    expect(smtp.mail_from(SENDER, "BODY=9BIT"), 501, 555, what="MAIL with BODY=9BIT")
    expect(smtp.mail_from(SENDER), 250, what="MAIL after the refused one")
    expect(smtp.command("RSET"), 250, what="RSET")


@pytest.mark.requirement(rfc=6152, section="3", level="MUST")
def test_8bit_content_is_delivered_with_every_bit(smtp: SmtpDriver, recipient: str,
                                                  mailstore: Mailstore,
                                                  observe: Callable[[str, object], None]
                                                  ) -> None:
    """RFC 6152 §3: "A server that supports the 8-bit MIME transport service extension
    shall preserve all bits in each octet passed using the DATA command." A MIME text
    part in UTF-8 and every octet 0x80-0xFF, 8bit transfer encoding."""
    high = bytes(range(0x80, 0x100))
    body = ("Grüße, 你好, Привет\r\n".encode() + high[:64] + b"\r\n" + high[64:] + b"\r\n")
    message = known_message(
        recipient, subject="8bit", body=body,
        headers=[b"MIME-Version: 1.0", b"Content-Type: text/plain; charset=utf-8",
                 b"Content-Transfer-Encoding: 8bit"])
    mailstore.expect(message)
    ehlo(smtp)
    expect(smtp.mail_from(SENDER, "BODY=8BITMIME"), 250, what="MAIL with BODY=8BITMIME")
    expect(smtp.rcpt_to(recipient), 250, 251, what="RCPT")
    expect(smtp.data(message.raw), 250, what="8-bit mail data")
    check_stored_as_sent(mailstore, message, observe)
