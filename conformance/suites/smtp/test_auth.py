"""RFC 4954 AUTH: PLAIN (235, 535), the exchange (334 challenges, "*" to cancel, BASE64
checks: 501), 503 after success and in a transaction, 504 for unknown mechanisms (§4),
the AUTH= parameter of MAIL (§5), 530 where authentication is required and 538 where a
mechanism needs TLS (§6)."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable

import pytest

from conformance.drivers.smtp import Reply, SmtpDriver
from conformance.suites.smtp.support import (
    SENDER,
    ehlo,
    enhanced_code,
    expect,
    in_step,
    unsupported,
)
from conformance.targets import Account, TargetSpec

pytestmark = [pytest.mark.protocol("smtp"), pytest.mark.needs("AUTH")]

# RFC 4648 §4 base64 (RFC 4954 §4: challenges are "encoded as described in Section 4 of
# [BASE64]"), possibly empty.
_BASE64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")


def mechanisms(smtp: SmtpDriver) -> list[str]:
    return smtp.extensions.get("AUTH", "").upper().split()


def ready_for_plain(smtp: SmtpDriver) -> None:
    """EHLO, and STARTTLS first when PLAIN is offered only under TLS (RFC 4954 §4: servers
    "MUST implement the [PLAIN] SASL mechanism running over TLS"); UNSUPPORTED when PLAIN
    is offered neither way."""
    ehlo(smtp)
    if "PLAIN" in mechanisms(smtp):
        return
    if "STARTTLS" in smtp.extensions and smtp.starttls().code == 220:
        ehlo(smtp)
        if "PLAIN" in mechanisms(smtp):
            return
    unsupported("AUTH PLAIN is not offered, with or without TLS")


@pytest.mark.requirement(rfc=4954, section="4", level="MUST", ids=("RFC4954-4-31",))
@pytest.mark.requirement(rfc=4954, section="6", level="MUST")
def test_auth_plain_with_good_credentials_gets_235(smtp: SmtpDriver,
                                                   accounts: list[Account]) -> None:
    """RFC 4954 §4: implementations "MUST implement the [PLAIN] SASL mechanism running over
    TLS"; §6: "235 2.7.0 Authentication Succeeded"."""
    ready_for_plain(smtp)
    account = accounts[0]
    expect(smtp.auth_plain(account.user, account.password), 235,
           what=f"AUTH PLAIN as {account.user}")


@pytest.mark.requirement(rfc=4954, section="4", level="SHOULD", ids=("RFC4954-4-21",))
def test_auth_plain_with_a_wrong_password_gets_535(smtp: SmtpDriver,
                                                   accounts: list[Account]) -> None:
    """RFC 4954 §4: "If the server is unable to authenticate the client, it SHOULD reject
    the AUTH command with a 535 reply unless a more specific error code is appropriate";
    §6: "535 5.7.8 Authentication credentials invalid"."""
    ready_for_plain(smtp)
    reply = smtp.auth_plain(accounts[0].user, accounts[0].password + "-wrong")
    expect(reply, 535, what="AUTH PLAIN with a wrong password")
    if "ENHANCEDSTATUSCODES" in smtp.extensions:
        assert enhanced_code(reply.lines[0]) == "5.7.8", f"{reply}: RFC 4954 §6 5.7.8"
    in_step(smtp, "after a failed AUTH")


@pytest.mark.requirement(rfc=4954, section="4", level="MUST", ids=("RFC4954-4-2",))
def test_auth_after_a_successful_auth_gets_503(smtp: SmtpDriver,
                                               accounts: list[Account]) -> None:
    """RFC 4954 §4: "After a successful AUTH command completes, a server MUST reject any
    further AUTH commands with a 503 reply." """
    ready_for_plain(smtp)
    account = accounts[0]
    expect(smtp.auth_plain(account.user, account.password), 235, what="AUTH PLAIN")
    expect(smtp.auth_plain(account.user, account.password), 503, what="a second AUTH")
    in_step(smtp, "after a second AUTH")


@pytest.mark.requirement(rfc=4954, section="4", level="MUST", ids=("RFC4954-4-3",))
def test_auth_in_a_mail_transaction_gets_503(smtp_factory: Callable[..., SmtpDriver],
                                             target: TargetSpec, recipient: str) -> None:
    """RFC 4954 §4: "An AUTH command issued during a mail transaction MUST be rejected
    with a 503 reply." (On a plain SMTP listener: MAIL needs no AUTH there.)"""
    if target.submission:
        unsupported("MAIL needs AUTH first on a submission listener")
    smtp = smtp_factory()
    ehlo(smtp)
    expect(smtp.mail_from(SENDER), 250, what="MAIL")
    mechanism = (mechanisms(smtp) or ["PLAIN"])[0]
    expect(smtp.command(f"AUTH {mechanism}"), 503, what=f"AUTH {mechanism} after MAIL")
    expect(smtp.rcpt_to(recipient), 250, 251, what="RCPT after the refused AUTH")
    expect(smtp.command("RSET"), 250, what="RSET")


@pytest.mark.requirement(rfc=4954, section="4", level="MUST",
                         ids=("RFC4954-4-6", "RFC4954-4-7"))
@pytest.mark.requirement(rfc=4954, section="4", level="MUST NOT", ids=("RFC4954-4-5",))
def test_a_cancelled_exchange_gets_501(smtp: SmtpDriver) -> None:
    """RFC 4954 §4: "A server challenge is sent as a 334 reply with the text part
    containing the [BASE64] encoded string supplied by the SASL mechanism. This challenge
    MUST NOT contain any text other than the BASE64 encoded challenge."; "If the client
    wishes to cancel the authentication exchange, it issues a line with a single "*". If
    the server receives such a response, it MUST reject the AUTH command by sending a 501
    reply." PLAIN without an initial response: "the server MUST proceed as defined in
    Section 5.1 of [SASL]" (an empty challenge)."""
    ready_for_plain(smtp)
    challenge = expect(smtp.command("AUTH PLAIN"), 334, what="AUTH PLAIN without a response")
    text = challenge.raw[4:].rstrip(b"\r\n").decode("ascii", "replace")
    assert _BASE64.fullmatch(text), (
        f"the 334 challenge carries more than BASE64: {challenge.raw!r}")
    expect(smtp.command("*"), 501, what='the "*" that cancels the exchange')
    in_step(smtp, "after a cancelled AUTH")


@pytest.mark.requirement(rfc=4954, section="4", level="MUST",
                         ids=("RFC4954-4-12", "RFC4954-4-14"))
@pytest.mark.parametrize("response", ["=AAA", "AAA=BBB", "AG!@#$"],
                         ids=["pad-first", "pad-inside", "outside-alphabet"])
def test_a_response_that_is_not_base64_gets_501(smtp: SmtpDriver, response: str) -> None:
    """RFC 4954 §4: "If the server cannot [BASE64] decode any client response, it MUST
    reject the AUTH command with a 501 reply (and an enhanced status code of 5.5.2)";
    "servers ... MUST reject (and not ignore) any character not explicitly allowed by the
    BASE64 alphabet, and MUST reject any sequence of BASE64 characters that contains the
    pad character ('=') anywhere other than the end of the string (e.g., "=AAA" and
    "AAA=BBB" are not allowed)". Sent after the 334 challenge."""
    ready_for_plain(smtp)
    expect(smtp.command("AUTH PLAIN"), 334, what="AUTH PLAIN without a response")
    reply = expect(smtp.command(response), 501, what=f"the response {response!r}")
    check_5_5_2(smtp, reply)
    in_step(smtp, f"after the response {response!r}")


@pytest.mark.requirement(rfc=4954, section="4", level="MUST",
                         ids=("RFC4954-4-12", "RFC4954-4-14"))
def test_an_initial_response_that_is_not_base64_gets_501(smtp: SmtpDriver) -> None:
    """RFC 4954 §4: the same for the initial response of the AUTH command: "=AAA" is not
    BASE64 (501, 5.5.2)."""
    ready_for_plain(smtp)
    reply = expect(smtp.command("AUTH PLAIN =AAA"), 501, what="AUTH PLAIN =AAA")
    check_5_5_2(smtp, reply)
    in_step(smtp, "after AUTH PLAIN =AAA")


def check_5_5_2(smtp: SmtpDriver, reply: Reply) -> None:
    if "ENHANCEDSTATUSCODES" in smtp.extensions:
        assert enhanced_code(reply.lines[0]) == "5.5.2", (
            f"{reply}: RFC 4954 §4 asks for the enhanced status code 5.5.2")


@pytest.mark.requirement(rfc=4954, section="4", level="MUST")
@pytest.mark.requirement(rfc=4954, section="4", level="SHOULD", ids=("RFC4954-4-4",))
def test_an_unknown_mechanism_gets_504(smtp: SmtpDriver) -> None:
    """RFC 4954 §4: "If the requested authentication mechanism is not supported, the
    server rejects the AUTH command with a 504 reply. If the server supports the
    [ESMTP-CODES] extension, it SHOULD return a 5.5.4 enhanced response code." The name
    X-CONF-UNKNOWN is a well-formed one (RFC 4422 §3.1: sasl-mech = 1*20mech-char)."""
    ehlo(smtp)
    reply = expect(smtp.command("AUTH X-CONF-UNKNOWN"), 504,
                   what="AUTH with an unknown mechanism")
    if "ENHANCEDSTATUSCODES" in smtp.extensions:
        assert enhanced_code(reply.lines[0]) == "5.5.4", f"{reply}: RFC 4954 §4 5.5.4"
    in_step(smtp, "after AUTH with an unknown mechanism")


@pytest.mark.requirement(rfc=4954, section="5", level="MUST", ids=("RFC4954-5-2",))
@pytest.mark.requirement(rfc=4954, section="15", level="MUST", ids=("RFC4954-15-1",))
def test_mail_takes_the_auth_parameter_without_authentication(
        smtp: SmtpDriver, target: TargetSpec, recipient: str) -> None:
    """RFC 4954 §5: "servers that advertise support for this extension MUST support the
    AUTH parameter to the MAIL FROM command even when the client has not authenticated
    itself to the server" ('auth-param = "AUTH=" xtext': "<>" or a mailbox)."""
    if target.submission:
        unsupported("MAIL needs AUTH first on a submission listener")
    ehlo(smtp)
    expect(smtp.mail_from(SENDER, "AUTH=<>"), 250, what="MAIL with AUTH=<>")
    expect(smtp.command("RSET"), 250, what="RSET")
    xtext = SENDER.replace("+", "+2B").replace("=", "+3D")
    expect(smtp.mail_from(SENDER, f"AUTH={xtext}"), 250, what=f"MAIL with AUTH={xtext}")
    expect(smtp.rcpt_to(recipient), 250, 251, what="RCPT")
    expect(smtp.command("RSET"), 250, what="RSET")


@pytest.mark.requirement(rfc=4954, section="6", level="SHOULD", ids=("RFC4954-6-6",))
def test_mail_before_auth_on_submission_gets_530(submission: SmtpDriver,
                                                 accounts: list[Account]) -> None:
    """RFC 4954 §6: "530 5.7.0 Authentication required. This response SHOULD be returned
    by any command other than AUTH, EHLO, HELO, NOOP, RSET, or QUIT when server policy
    requires authentication in order to perform the requested action and authentication
    is not currently in force." (A submission listener requires it: RFC 6409 §4.3.) After
    AUTH the same MAIL is accepted."""
    smtp = submission
    ehlo(smtp)
    if "AUTH" not in smtp.extensions and "STARTTLS" in smtp.extensions:
        expect(smtp.starttls(), 220, what="STARTTLS on the submission listener")
        ehlo(smtp)
    account = (smtp.spec.accounts or tuple(accounts))[0]
    address = smtp.spec.address(account)
    reply = expect(smtp.mail_from(address), 530, what="MAIL before AUTH on submission")
    if "ENHANCEDSTATUSCODES" in smtp.extensions:
        assert enhanced_code(reply.lines[0]) == "5.7.0", f"{reply}: RFC 4954 §6 5.7.0"
    if "PLAIN" in mechanisms(smtp):
        expect(smtp.auth_plain(account.user, account.password), 235, what="AUTH PLAIN")
        expect(smtp.mail_from(address), 250, what="MAIL after AUTH")
        expect(smtp.command("RSET"), 250, what="RSET")


@pytest.mark.requirement(rfc=4954, section="6", level="SHOULD", ids=("RFC4954-6-1",))
def test_a_mechanism_that_needs_tls_gets_538_without_it(smtp: SmtpDriver) -> None:
    """RFC 4954 §6: "538 5.7.11 Encryption required for requested authentication
    mechanism: This response to the AUTH command indicates that the selected
    authentication mechanism may only be used when the underlying SMTP connection is
    encrypted." A mechanism offered under TLS but not before it, tried before it."""
    ehlo(smtp)
    before = set(mechanisms(smtp))
    if "STARTTLS" not in smtp.extensions:
        unsupported("no STARTTLS, so no mechanism can need it")
    probe = SmtpDriver.connect(smtp.spec, smtp.wire.timeout)
    try:
        ehlo(probe)
        expect(probe.starttls(), 220, what="STARTTLS")
        ehlo(probe)
        only_tls = sorted(set(mechanisms(probe)) - before)
        probe.command("QUIT")
    finally:
        probe.close()
    if not only_tls:
        unsupported(f"every mechanism offered under TLS is offered without it too "
                    f"({' '.join(sorted(before))})")
    mechanism = only_tls[0]
    expect(smtp.command(f"AUTH {mechanism}"), 538,
           what=f"AUTH {mechanism} (offered only under TLS) without TLS")


@pytest.mark.requirement(rfc=4954, section="4", level="SHOULD NOT", ids=("RFC4954-4-30",))
@pytest.mark.informational
def test_plaintext_password_mechanisms_without_tls(smtp: SmtpDriver,
                                                   observe: Callable[[str, object], None]
                                                   ) -> None:
    """RFC 4954 §4: "Server sites SHOULD NOT use any configuration which permits a
    plaintext password mechanism without such a protection mechanism against password
    snooping" (a site's choice, e.g. allowed on loopback): recorded."""
    ehlo(smtp)
    offered = mechanisms(smtp)
    observe("mechanisms without TLS", " ".join(offered))
    observe("plaintext password mechanisms without TLS",
            [m for m in offered if m in ("PLAIN", "LOGIN")])



@pytest.mark.requirement(rfc=4954, section="4", level="MUST", ids=("RFC4954-4-10",))
def test_an_initial_response_to_a_server_first_mechanism_gets_501(smtp: SmtpDriver) -> None:
    """RFC 4954 §4: "If the client uses an initial-response argument to the AUTH command
    with a SASL mechanism in which the client does not begin the authentication exchange,
    the server MUST reject the AUTH command with a 501 reply." CRAM-MD5 (RFC 2195) and
    DIGEST-MD5 (RFC 2831) begin with the server's challenge."""
    ehlo(smtp)
    offered = [m for m in ("CRAM-MD5", "DIGEST-MD5") if m in mechanisms(smtp)]
    if not offered:
        unsupported("no server-first mechanism (CRAM-MD5, DIGEST-MD5) is offered")
    expect(smtp.command(f"AUTH {offered[0]} Y29uZm9ybWFuY2U="), 501,
           what=f"AUTH {offered[0]} with an initial response")
    in_step(smtp, "after a refused initial response")


@pytest.mark.requirement(rfc=4954, section="8", level="MUST", ids=("RFC4954-8-1",))
def test_mechanism_names_are_case_insensitive(smtp: SmtpDriver,
                                              accounts: list[Account]) -> None:
    """RFC 4954 §8: 'auth-command = "AUTH" SP sasl-mech [SP initial-response]' with the
    mechanism names of RFC 4422; "Implementations MUST accept these strings in a
    case-insensitive fashion." 'AUTH plain' authenticates like 'AUTH PLAIN'."""
    ready_for_plain(smtp)
    account = accounts[0]
    token = base64.b64encode(f"\0{account.user}\0{account.password}".encode()).decode()
    expect(smtp.command(f"AUTH plain {token}"), 235, what="AUTH plain (lower case)")


@pytest.mark.requirement(rfc=4954, section="4", level="MUST", ids=("RFC4954-4-15",))
@pytest.mark.parametrize("initial", [True, False], ids=["initial-response", "after-334"])
def test_a_plain_response_of_the_largest_size_is_handled(smtp: SmtpDriver,
                                                         accounts: list[Account],
                                                         initial: bool) -> None:
    """RFC 4954 §4: "Clients and servers MUST be able to handle the maximum encoded size
    of challenges and responses generated by their supported authentication mechanisms"
    (the AUTH line may be up to 12288 octets). RFC 4616 §2 limits each of authzid,
    authcid and passwd to 255 octets: a PLAIN response of 767 octets is 1024 in BASE64,
    twice the 512 octets of a command line. Wrong credentials of that size are judged as
    credentials (535, not 500 "line too long" or 501), in the initial response and after
    the 334, and the server stays in step."""
    ready_for_plain(smtp)
    user = accounts[0].user
    token = base64.b64encode(f"{user:x<255}\0{user:y<255}\0{'z' * 255}".encode()).decode()
    assert len(token) == 1024
    if initial:
        reply = smtp.command(f"AUTH PLAIN {token}")
    else:
        expect(smtp.command("AUTH PLAIN"), 334, what="AUTH PLAIN without a response")
        reply = smtp.command(token)
    assert reply.code >= 400 and reply.code not in (500, 501), (
        f"a 1024-octet PLAIN response with wrong credentials was answered {reply}")
    in_step(smtp, "after a 1024-octet PLAIN response")


@pytest.mark.requirement(rfc=4954, section="4", level="MUST", ids=("RFC4954-4-18",))
def test_an_authorization_identity_that_prepares_to_nothing_fails(
        smtp: SmtpDriver, accounts: list[Account]) -> None:
    """RFC 4954 §4: "If preparation of the authorization identity fails or results in an
    empty string (unless it was transmitted as the empty string), the server MUST fail
    the authentication." SASLprep (RFC 4013 §2.2, RFC 3454 B.1) maps U+00AD SOFT HYPHEN to
    nothing: PLAIN with the right credentials and that authzid is not 235."""
    ready_for_plain(smtp)
    account = accounts[0]
    reply = smtp.auth_plain(account.user, account.password, authzid="\u00ad")
    assert reply.code != 235, (
        f"AUTH PLAIN with the authzid U+00AD (empty once prepared) succeeded: {reply}")
    in_step(smtp, "after AUTH PLAIN with an authzid that prepares to nothing")
