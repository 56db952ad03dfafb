"""Smoke tests of the pipeline: the greeting and EHLO, strictly parsed by the driver."""

import pytest

from conformance.drivers.smtp import SmtpDriver

pytestmark = pytest.mark.protocol("smtp")


@pytest.mark.requirement(rfc=5321, section="4.2", level="MUST", ids=("RFC5321-4.2-9",))
@pytest.mark.requirement(rfc=5321, section="4.2.1", level="MUST", ids=("RFC5321-4.2.1-4",))
def test_greeting_is_a_well_formed_220(smtp: SmtpDriver) -> None:
    # RFC 5321 §3.1 / §4.3.2: the connection opens with 220 (or 554, a refusal); the
    # driver has already parsed it against §4.2's Reply-line grammar.
    assert smtp.greeting is not None
    assert smtp.greeting.code in (220, 554), f"greeting {smtp.greeting}"


@pytest.mark.requirement(rfc=5321, section="4.1.1.1", level="MUST", ids=("RFC5321-4.1.1.1-4",))
def test_ehlo_is_accepted_with_ehlo_lines(smtp: SmtpDriver) -> None:
    # RFC 5321 §4.1.1.1: "servers MUST support the HELO command" and EHLO (§4.1.4);
    # the 250 reply's lines after the first are ehlo-lines (checked by the driver).
    reply = smtp.ehlo()
    assert reply.code == 250, f"EHLO answered {reply}"
    assert all(keyword == keyword.upper() for keyword in smtp.extensions)


@pytest.mark.requirement(rfc=5321, section="4.1.1.1", level="MUST", ids=("RFC5321-4.1.1.1-4",))
def test_helo_is_accepted(smtp: SmtpDriver) -> None:
    reply = smtp.helo()
    assert reply.code == 250, f"HELO answered {reply}"


@pytest.mark.requirement(rfc=3207, section="4.2", level="MUST")
def test_submission_starttls_then_ehlo(submission: SmtpDriver) -> None:
    # RFC 3207 §4.2: after the handshake "the SMTP protocol is reset to the initial
    # state"; the client sends EHLO again and the server answers it afresh.
    assert submission.ehlo().code == 250
    if "STARTTLS" not in submission.extensions:
        pytest.skip("UNSUPPORTED: the submission listener does not offer STARTTLS")
    assert submission.starttls().code == 220
    assert submission.ehlo().code == 250
    assert "STARTTLS" not in submission.extensions
