"""RFC 1870 SIZE: the EHLO keyword's parameter (§4), the MAIL SIZE= parameter (§6), the
552 for a declared size over the limit (§6.1), and the end of the data not taken from the
declared size (§6)."""

from __future__ import annotations

import pytest

from conformance.drivers.smtp import SmtpDriver
from conformance.suites.smtp.support import (
    SENDER,
    Mailstore,
    ehlo,
    enhanced_code,
    expect,
    in_step,
    known_message,
)

pytestmark = [pytest.mark.protocol("smtp"), pytest.mark.needs("SIZE")]

# RFC 1870 §6: size-value ::= 1*20DIGIT
MAX_SIZE_VALUE = 10**20 - 1
# Sending a message over the limit is tried only for limits up to this (octets).
MAX_LIMIT_SENT = 16 * 1024 * 1024


def fixed_maximum(smtp: SmtpDriver) -> int | None:
    """The fixed maximum message size from "SIZE" [SP number] (RFC 1870 §4), None
    when the server declares none (no number, or 0)."""
    params = smtp.extensions["SIZE"]
    return int(params) if params.isdigit() and int(params) > 0 else None


@pytest.mark.requirement(rfc=1870, section="4", level="MUST")
def test_size_keyword_parameter_is_a_number(smtp: SmtpDriver) -> None:
    """RFC 1870 §4: 'size-param ::= [1*DIGIT]': the SIZE keyword has no parameter or one
    decimal number."""
    ehlo(smtp)
    params = smtp.extensions["SIZE"]
    assert params == "" or params.isdigit(), f"EHLO SIZE parameter {params!r} is not 1*DIGIT"


@pytest.mark.requirement(rfc=1870, section="6", level="MUST")
def test_mail_with_a_size_under_the_limit_is_accepted(smtp: SmtpDriver) -> None:
    """RFC 1870 §4: "A server that supports the Message Size Declaration extension will
    accept the extended version of the MAIL command"; §6: 'esmtp-keyword is "SIZE"'."""
    ehlo(smtp)
    expect(smtp.mail_from(SENDER, "SIZE=1000"), 250, what="MAIL with SIZE=1000")
    expect(smtp.command("RSET"), 250, what="RSET")


@pytest.mark.requirement(rfc=1870, section="6.1", level="MUST")
def test_mail_with_a_size_over_the_limit_gets_552(smtp: SmtpDriver) -> None:
    """RFC 1870 §6.1 (2): "If the indicated size is larger than the server's fixed
    maximum message size, the server responds with code "552 message size exceeds fixed
    maximium message size"", and the MAIL is refused (a MAIL after it is accepted)."""
    ehlo(smtp)
    limit = fixed_maximum(smtp)
    if limit is None or limit >= MAX_SIZE_VALUE:
        pytest.skip("UNSUPPORTED: the target declares no fixed maximum message size")
    expect(smtp.mail_from(SENDER, f"SIZE={limit + 1}"), 552,
           what=f"MAIL with SIZE={limit + 1} (the limit is {limit})")
    expect(smtp.mail_from(SENDER, f"SIZE={limit}"), 250,
           what=f"MAIL with SIZE={limit}, the limit itself")
    expect(smtp.command("RSET"), 250, what="RSET")


@pytest.mark.requirement(rfc=3463, section="3.4", level="SHOULD")
@pytest.mark.needs("ENHANCEDSTATUSCODES")
def test_size_refusal_has_a_size_enhanced_code(smtp: SmtpDriver) -> None:
    """RFC 3463 §3.4 "X.3.4 Message too big for system" (or §3.3 X.2.3 "Message length
    exceeds administrative limit") names the refusal of RFC 1870 §6.1 (2)."""
    ehlo(smtp)
    limit = fixed_maximum(smtp)
    if limit is None or limit >= MAX_SIZE_VALUE:
        pytest.skip("UNSUPPORTED: the target declares no fixed maximum message size")
    reply = expect(smtp.mail_from(SENDER, f"SIZE={limit + 1}"), 552,
                   what=f"MAIL with SIZE={limit + 1}")
    assert enhanced_code(reply.lines[0]) in ("5.3.4", "5.2.3"), (
        f"the size refusal {reply} has no 5.3.4 (or 5.2.3) enhanced code")


@pytest.mark.requirement(rfc=5321, section="4.1.4", level="MUST", ids=("RFC5321-4.1.4-13",))
@pytest.mark.requirement(rfc=1870, section="6", level="MUST")
def test_a_size_that_is_not_a_number_gets_501(smtp: SmtpDriver) -> None:
    """RFC 1870 §6: 'size-value ::= 1*20DIGIT'; RFC 5321 §4.1.4: "If the transaction
    beginning command argument is not acceptable, a 501 failure reply MUST be returned
    and the SMTP server MUST stay in the same state"."""
    ehlo(smtp)
    expect(smtp.mail_from(SENDER, "SIZE=big"), 501, what="MAIL with SIZE=big")
    expect(smtp.mail_from(SENDER), 250, what="MAIL after the refused one")
    expect(smtp.command("RSET"), 250, what="RSET")


@pytest.mark.requirement(rfc=1870, section="6", level="MUST NOT", ids=("RFC1870-6-1",))
def test_the_declared_size_does_not_end_the_data(smtp: SmtpDriver, recipient: str,
                                                 mailstore: Mailstore) -> None:
    """RFC 1870 §6: "Servers MUST NOT use the SIZE parameter to determine end of content in
    the DATA command." Declared 100 octets, sent about 2000: one reply at CRLF.CRLF (250,
    or 552 per §6.3, "unless the actual size ... is greater than the declared"), and no
    line of the message is run as a command."""
    body = b"".join(b"line %04d of a message longer than declared\r\n" % n
                    for n in range(40)) + b"NOOP\r\n"
    message = known_message(recipient, subject="declared too small", body=body)
    mailstore.expect(message)
    ehlo(smtp)
    expect(smtp.mail_from(SENDER, "SIZE=100"), 250, what="MAIL with SIZE=100")
    expect(smtp.rcpt_to(recipient), 250, 251, what="RCPT")
    reply = smtp.data(message.raw)
    expect(reply, 250, 552, what=f"a message of {len(message.raw)} octets declared as 100")
    in_step(smtp, "after a message larger than declared")


@pytest.mark.requirement(rfc=1870, section="4", level="MUST")
def test_a_message_over_the_limit_gets_552(smtp: SmtpDriver, recipient: str,
                                           mailstore: Mailstore) -> None:
    """RFC 1870 §4: "Any attempt by a client to transfer a message which is larger than
    this limit will be rejected with a permanent failure (552) reply code." Sent without
    SIZE=, one octet over the declared limit (tried for limits up to 16 MiB)."""
    ehlo(smtp)
    limit = fixed_maximum(smtp)
    if limit is None or limit > MAX_LIMIT_SENT:
        pytest.skip(f"not tried: the fixed maximum ({limit}) is not declared or is above "
                    f"{MAX_LIMIT_SENT} octets, too much to send in a test")
    head = known_message(recipient, subject="over the limit", body=b"")
    line = b"x" * 76 + b"\r\n"
    count = (limit + 1 - len(head.raw)) // len(line) + 1
    raw = head.raw + line * count
    assert len(raw) > limit
    mailstore.expect(head)
    expect(smtp.mail_from(SENDER), 250, what="MAIL")
    expect(smtp.rcpt_to(recipient), 250, 251, what="RCPT")
    expect(smtp.data(raw), 552, what=f"a message of {len(raw)} octets (limit {limit})")
    in_step(smtp, "after a message over the limit")
