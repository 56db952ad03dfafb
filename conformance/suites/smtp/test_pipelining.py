"""RFC 2920 PIPELINING: replies in the order of the commands (§3.2 (1)), pending replies
sent when the input runs dry (§3.2 (7)), nothing lost from the input (§3.2 (9))."""

from __future__ import annotations

import pytest

from conformance.drivers import DriverError
from conformance.drivers.smtp import Reply, SmtpDriver
from conformance.suites.smtp.support import (
    SENDER,
    Mailstore,
    ehlo,
    expect,
    in_step,
    known_message,
)

pytestmark = [pytest.mark.protocol("smtp"), pytest.mark.needs("PIPELINING")]


def read_replies(smtp: SmtpDriver, count: int, what: str) -> list[Reply]:
    """``count`` replies, each one in time; a missing one is a FAIL, not an ERROR."""
    replies: list[Reply] = []
    for _ in range(count):
        try:
            replies.append(smtp.read_reply())
        except DriverError as exc:
            raise AssertionError(
                f"{what}: {len(replies)} of {count} replies came, then none ({exc}); got "
                f"{[str(r) for r in replies]}") from None
    return replies


@pytest.mark.requirement(rfc=2920, section="3.2", level="MUST", ids=("RFC2920-3.2-1",))
@pytest.mark.requirement(rfc=2920, section="3.2", level="MUST NOT", ids=("RFC2920-3.2-9",))
@pytest.mark.requirement(rfc=5321, section="4.2", level="MUST", ids=("RFC5321-4.2-1",))
def test_replies_come_in_the_order_of_the_commands(smtp: SmtpDriver, recipient: str,
                                                   mailstore: Mailstore) -> None:
    """RFC 2920 §3.2: the server "(1) MUST respond to commands in the order they are
    received from the client" and "(9) MUST NOT flush or otherwise lose the contents of
    the TCP input buffer under any circumstances whatsoever". One write: RSET, MAIL, RCPT
    (local), RCPT (a syntax error), RCPT (local), DATA; six replies in that order, the
    refusal fourth and 354 last; then the message."""
    message = known_message(recipient, subject="pipelined")
    mailstore.expect(message)
    ehlo(smtp)
    smtp.send(b"RSET\r\n"
              + f"MAIL FROM:<{SENDER}>\r\n".encode()
              + f"RCPT TO:<{recipient}>\r\n".encode()
              + b"RCPT TO:<not an address>\r\n"
              + f"RCPT TO:<{recipient}>\r\n".encode()
              + b"DATA\r\n")
    replies = read_replies(smtp, 6, "a pipelined group of six commands")
    codes = [r.code for r in replies]
    expected = "250 (RSET), 250 (MAIL), 250 (RCPT), 5yz (bad RCPT), 250 (RCPT), 354 (DATA)"
    assert (codes[0] == 250 and codes[1] == 250 and codes[2] in (250, 251)
            and 500 <= codes[3] < 600 and codes[4] in (250, 251) and codes[5] == 354), (
        f"pipelined replies {[str(r) for r in replies]}; expected {expected}")
    smtp.send(smtp_stuffed(message.raw))
    expect(smtp.read_reply(), 250, what="the end of the pipelined message")
    in_step(smtp, "after a pipelined transaction")


@pytest.mark.requirement(rfc=2920, section="3.2", level="MUST", ids=("RFC2920-3.2-7",))
def test_pending_replies_are_sent_when_the_input_runs_dry(smtp: SmtpDriver,
                                                          recipient: str) -> None:
    """RFC 2920 §3.2: the server "(7) MUST send all pending responses immediately whenever
    the local TCP input buffer is emptied". A group that ends with RCPT (no DATA, no
    NOOP after it): its three replies come without anything more being sent."""
    ehlo(smtp)
    smtp.send(b"RSET\r\n" + f"MAIL FROM:<{SENDER}>\r\nRCPT TO:<{recipient}>\r\n".encode())
    replies = read_replies(smtp, 3, "a group of RSET, MAIL, RCPT with nothing after it")
    assert [r.code for r in replies] in ([250, 250, 250], [250, 250, 251]), (
        f"replies {[str(r) for r in replies]}")
    expect(smtp.command("RSET"), 250, what="RSET")


@pytest.mark.requirement(rfc=2920, section="3.2", level="MUST", ids=("RFC2920-3.2-1",))
@pytest.mark.requirement(rfc=2920, section="3.2", level="MUST NOT", ids=("RFC2920-3.2-9",))
def test_two_transactions_in_few_writes(smtp: SmtpDriver, recipient: str,
                                        mailstore: Mailstore) -> None:
    """RFC 2920 §3.2 (1) and (9): after one pipelined transaction, the next group (RSET,
    MAIL, RCPT, RCPT, NOOP) follows the end of the data in the same write; every reply
    comes, in order."""
    first = known_message(recipient, subject="pipelined 1")
    mailstore.expect(first)
    ehlo(smtp)
    smtp.send(f"MAIL FROM:<{SENDER}>\r\nRCPT TO:<{recipient}>\r\nDATA\r\n".encode())
    codes = [r.code for r in read_replies(smtp, 3, "MAIL, RCPT, DATA")]
    assert codes in ([250, 250, 354], [250, 251, 354]), f"replies {codes}"
    smtp.send(smtp_stuffed(first.raw) + b"RSET\r\n"
              + f"MAIL FROM:<{SENDER}>\r\nRCPT TO:<{recipient}>\r\n".encode()
              + f"RCPT TO:<{recipient}>\r\nNOOP\r\n".encode())
    replies = read_replies(smtp, 6, "the data's end and RSET, MAIL, RCPT, RCPT, NOOP")
    codes = [r.code for r in replies]
    assert codes[0] == 250 and codes[1:3] == [250, 250] and codes[3] in (250, 251) \
        and codes[4] in (250, 251) and codes[5] == 250, (
            f"replies {[str(r) for r in replies]}; expected 250 (data), 250 (RSET), 250 "
            "(MAIL), 250 (RCPT), 250 (RCPT), 250 (NOOP)")
    expect(smtp.command("RSET"), 250, what="RSET")
    in_step(smtp, "after two pipelined groups")


def smtp_stuffed(message: bytes) -> bytes:
    """The mail data as the reference client core sends it after 354 (RFC 5321 §4.5.2)."""
    from reference.smtp.connection import ClientConnection

    return ClientConnection.send_data(message)


@pytest.mark.requirement(rfc=2920, section="3.2", level="MUST NOT",
                         ids=("RFC2920-3.2-5", "RFC2920-3.2-6"))
@pytest.mark.parametrize("last", ["NOOP", "XCONFORMANCE-UNKNOWN", "VRFY postmaster"])
def test_groups_ending_in_unbuffered_commands_are_answered(smtp: SmtpDriver, last: str) -> None:
    """RFC 2920 §3.2: the server "(5) MUST NOT buffer responses to EHLO, DATA, VRFY, EXPN,
    TURN, QUIT, and NOOP" and "(6) MUST NOT buffer responses to unrecognized commands": a
    group RSET, MAIL, then NOOP (or an unknown command, or VRFY) gets all three replies
    with nothing sent after it."""
    ehlo(smtp)
    smtp.send(f"RSET\r\nMAIL FROM:<{SENDER}>\r\n{last}\r\n".encode())
    replies = read_replies(smtp, 3, f"a group of RSET, MAIL, {last}")
    assert [r.code for r in replies][:2] == [250, 250], f"replies {[str(r) for r in replies]}"
    expect(smtp.command("RSET"), 250, what="RSET")
