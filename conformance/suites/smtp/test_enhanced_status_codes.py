"""RFC 2034 ENHANCEDSTATUSCODES (§3, §4) with the RFC 3463 code syntax (§2): every 2yz,
4yz and 5yz reply line but the greeting's and EHLO's/HELO's carries a status code whose
class is the reply's first digit, the same on every line of a reply, with or without
EHLO."""

from __future__ import annotations

import pytest

from conformance.drivers.smtp import Reply, SmtpDriver
from conformance.suites.smtp.support import SENDER, ehlo, expect

pytestmark = [pytest.mark.protocol("smtp"), pytest.mark.needs("ENHANCEDSTATUSCODES")]


def check_status_codes(reply: Reply, command: str) -> None:
    """RFC 2034 §4: "These codes must appear in all 2xx, 4xx, and 5xx response lines
    other than initial greeting and any response to HELO or EHLO"; "All status codes
    returned by the server must agree with the primary response code"; "When responses
    are continued across multiple lines the same status code must appear at the
    beginning of the text in each line". RFC 3463 §2: "Each numeric sub-code within the
    status-code MUST be expressed without leading zero digits"."""
    if reply.code // 100 == 3:
        return                  # "Note that 3xx responses are NOT included in this list."
    codes = []
    for line in reply.lines:
        # RFC 3463 §2: status-code = class "." subject "." detail, each 1*3digit
        head = line.split(" ", 1)[0]
        parts = head.split(".")
        assert len(parts) == 3 and all(p.isdigit() and 1 <= len(p) <= 3 for p in parts), (
            f"{command}: the reply line {line!r} does not begin with a status code "
            f"(RFC 2034 §4): {reply}")
        assert all(p == "0" or not p.startswith("0") for p in parts), (
            f"{command}: status code {head} has a leading zero (RFC 3463 §2): {reply}")
        assert parts[0] == str(reply.code)[0], (
            f"{command}: status code {head} does not agree with reply code {reply.code} "
            f"(RFC 2034 §4): {reply}")
        assert line == head or line[len(head)] == " ", (
            f"{command}: the status code {head} is not followed by a space: {line!r}")
        codes.append(head)
    assert len(set(codes)) == 1, (
        f"{command}: the lines of one reply carry different status codes {codes}: {reply}")


@pytest.mark.requirement(rfc=2034, section="4", level="MUST")
@pytest.mark.requirement(rfc=3463, section="2", level="MUST", ids=("RFC3463-2-1",))
def test_replies_carry_status_codes_of_their_class(smtp: SmtpDriver, recipient: str,
                                                   domain: str) -> None:
    """RFC 2034 §4 on the replies of a session: positive (250, 252, 214), transient or
    permanent refusals (500, 501, 503, 550/553, 555), each line prefaced with a status
    code of the reply's class."""
    ehlo(smtp)
    commands = [f"MAIL FROM:<{SENDER}>", f"RCPT TO:<{recipient}>",
                f"RCPT TO:<conformance-no-such-user@{domain}>",
                "RCPT TO:<not an address>", "RCPT TO:<x@example.net> XCONFORMANCE=1",
                "RSET", "NOOP", f"VRFY {recipient}", "HELP", "XCONFORMANCE-UNKNOWN",
                f"RCPT TO:<{recipient}>", "DATA", "MAIL FROM:<> XCONFORMANCE=1",
                "MAIL FROM:broken"]
    for command in commands:
        check_status_codes(smtp.command(command), command)


@pytest.mark.requirement(rfc=2034, section="4", level="MUST")
def test_the_reply_to_quit_carries_a_status_code(smtp: SmtpDriver) -> None:
    """RFC 2034 §3 (4): "the text part of all 2xx, 4xx, and 5xx SMTP responses other than
    the initial greeting and any response to HELO or EHLO are prefaced with a status
    code": 221 to QUIT included."""
    ehlo(smtp)
    reply = expect(smtp.quit(), 221, what="QUIT")
    check_status_codes(reply, "QUIT")


@pytest.mark.requirement(rfc=2034, section="4", level="MUST")
def test_status_codes_are_sent_after_helo_too(smtp: SmtpDriver, recipient: str) -> None:
    """RFC 2034 §4: "Servers supporting this extension must attach enhanced status codes
    to their responses regardless of whether or not EHLO is employed by the client"."""
    expect(smtp.helo(), 250, what="HELO")
    for command in (f"MAIL FROM:<{SENDER}>", f"RCPT TO:<{recipient}>", "RSET", "NOOP",
                    "XCONFORMANCE-UNKNOWN", f"RCPT TO:<{recipient}>"):
        check_status_codes(smtp.command(command), f"{command} (after HELO)")
