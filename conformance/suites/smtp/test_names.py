"""RFC 5321 names: the server's own name in its greeting and EHLO reply (§2.3.5, §4.1.2),
commands that are neither registered nor X-prefixed (§4.1.5, §2.2.2), and the deprecated
#-literals (Appendix F.4)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from conformance.drivers.smtp import SmtpDriver
from conformance.suites.smtp.support import (
    SENDER,
    ehlo,
    expect,
    expect_refusal,
    in_step,
)

pytestmark = pytest.mark.protocol("smtp")

Observe = Callable[[str, object], None]


@pytest.mark.requirement(rfc=5321, section="2.3.5", level="MUST NOT", ids=("RFC5321-2.3.5-2",))
@pytest.mark.informational
def test_the_name_the_server_gives_itself(smtp: SmtpDriver, observe: Observe) -> None:
    """RFC 5321 §2.3.5: "Only resolvable, fully-qualified domain names (FQDNs) are
    permitted when domain names are used in SMTP. ... Local nicknames or unqualified names
    MUST NOT be used." Whether a name is qualified depends on the DNS the server lives in
    (a one-label name can be an FQDN, and "localhost" resolves everywhere), and the name
    is the operator's setting: the names that begin the greeting and the EHLO reply are
    recorded, and whether they have more than one label. (Their syntax, letters, digits
    and hyphens, RFC 5321 §4.1.2, is checked by test_session and test_ehlo.)"""
    assert smtp.greeting is not None
    reply = ehlo(smtp)
    for what, line in (("greeting", smtp.greeting.lines[0]), ("EHLO reply", reply.lines[0])):
        name = line.split(" ", 1)[0]
        observe(f"{what} name", name)
        observe(f"{what} name has several labels or is an address literal",
                name.startswith("[") or "." in name.strip("."))


@pytest.mark.requirement(rfc=5321, section="4.1.5", level="MUST", ids=("RFC5321-4.1.5-2",))
@pytest.mark.requirement(rfc=5321, section="4.2", level="MUST", ids=("RFC5321-4.2-1",))
def test_a_command_neither_registered_nor_x_prefixed_is_not_accepted(smtp: SmtpDriver) -> None:
    """RFC 5321 §4.1.5: "Commands sent or accepted by SMTP systems that do not start with
    "X" MUST conform to the requirements of Section 2.2.2" (a registered extension): a
    made-up verb without the "X" is refused (500 "command not recognized", §4.2.4), with
    and without an argument, and the server stays in step."""
    ehlo(smtp)
    for line in ("CONFORMANCEVERB", "CONFORMANCEVERB argument"):
        reply = smtp.command(line)
        assert reply.code >= 500, f"the unregistered command {line!r} was answered {reply}"
    in_step(smtp, "after unregistered commands")


@pytest.mark.requirement(rfc=5321, section="F.4", level="MUST NOT", ids=("RFC5321-F.4-1",))
def test_hash_literals_are_not_accepted_as_domains(smtp: SmtpDriver) -> None:
    """RFC 5321 Appendix F.4: 'RFC 821 provided for specifying an Internet address as a
    decimal integer host number prefixed by a pound sign, "#". ... It is deprecated and
    MUST NOT be used.' (§4.1.3 address literals are the only numeric form): MAIL and RCPT
    with a #-literal domain are not accepted, and the session goes on."""
    ehlo(smtp)
    expect_refusal(smtp.mail_from("conformance@#3221225985"), what="MAIL with a #-literal")
    expect(smtp.mail_from(SENDER), 250, what="MAIL after the refused one")
    expect_refusal(smtp.rcpt_to("postmaster@#3221225985"), what="RCPT with a #-literal")
    expect(smtp.command("RSET"), 250, what="RSET")
    in_step(smtp, "after #-literals")
