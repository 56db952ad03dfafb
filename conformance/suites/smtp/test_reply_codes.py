"""RFC 5321 §4.3.1 and §4.3.2: each command's reply code is one of the codes its
command-reply sequence allows (text may change, "the meanings and actions implied by the
code numbers and by the specific command reply sequence MUST be preserved")."""

from __future__ import annotations

import uuid

import pytest

from conformance.drivers.smtp import SmtpDriver
from conformance.suites.smtp.support import SENDER, Mailstore, in_step, known_message

pytestmark = pytest.mark.protocol("smtp")

# RFC 5321 §4.3.2 "Specific sequences are:" (S and E codes, the 354 of DATA apart).
SEQUENCES: dict[str, frozenset[int]] = {
    "EHLO": frozenset({250, 504, 550, 502}),
    "HELO": frozenset({250, 504, 550, 502}),
    "MAIL": frozenset({250, 552, 451, 452, 550, 553, 503, 455, 555}),
    "RCPT": frozenset({250, 251, 550, 551, 552, 553, 450, 451, 452, 503, 455, 555}),
    "DATA": frozenset({354, 503, 554}),
    "RSET": frozenset({250}),
    "VRFY": frozenset({250, 251, 252, 550, 551, 553, 502, 504}),
    "EXPN": frozenset({250, 252, 550, 500, 502, 504}),
    "HELP": frozenset({211, 214, 502, 504}),
    "NOOP": frozenset({250}),
    "QUIT": frozenset({221}),
}
# §4.3.2: "DATA I: 354 -> data -> S: 250 E: 552, 554, 451, 452 E: 450, 550".
END_OF_DATA = frozenset({250, 552, 554, 451, 452, 450, 550})
# §4.3.2: "In addition to the codes listed below, any SMTP command can return any of the
# following codes": 500 (line too long, not recognized), 501 (syntax), 421 (closing).
ANY_COMMAND = frozenset({500, 501, 421})


def _allowed(verb: str, extensions: dict[str, str]) -> frozenset[int]:
    codes = SEQUENCES[verb] | ANY_COMMAND
    # RFC 4954 §6 and RFC 3207 §4: 530 "Authentication required" / "Must issue a
    # STARTTLS command first", where the server offers AUTH or STARTTLS.
    if "AUTH" in extensions or "STARTTLS" in extensions:
        codes |= {530}
    return codes


@pytest.mark.requirement(rfc=5321, section="4.3.1", level="MUST", ids=("RFC5321-4.3.1-4",))
@pytest.mark.requirement(rfc=5321, section="4.3.2", level="MUST")
def test_every_reply_code_belongs_to_its_command_reply_sequence(
        smtp: SmtpDriver, recipient: str, domain: str, mailstore: Mailstore) -> None:
    """RFC 5321 §4.3.1: "A receiver MAY substitute text in the replies, but the meanings
    and actions implied by the code numbers and by the specific command reply sequence
    MUST be preserved." A session of accepted and refused commands of every kind
    (unknown recipient, bad syntax, out of sequence, a whole transaction): each reply
    code is one §4.3.2 lists for its command, or 500, 501, 421."""
    unknown = f"conformance-no-such-user-{uuid.uuid4().hex[:12]}@{domain}"
    message = known_message(recipient, subject="reply codes")
    mailstore.expect(message)
    session = ["EHLO conformance.test", "HELO conformance.test", "EHLO conformance.test",
               "NOOP", "HELP", "HELP MAIL", f"VRFY {recipient}", f"VRFY {unknown}",
               "EXPN postmaster", "DATA", f"RCPT TO:<{recipient}>",
               f"MAIL FROM:<{SENDER}>", f"MAIL FROM:<{SENDER}>", f"RCPT TO:<{unknown}>",
               "RCPT TO:<not an address>", f"RCPT TO:<{recipient}>", "RSET",
               f"MAIL FROM:<{SENDER}>", f"RCPT TO:<{recipient}>"]
    for line in session:
        verb = line.split(" ", 1)[0]
        reply = smtp.command(line)
        assert reply.code in _allowed(verb, smtp.extensions), (
            f"{line!r} was answered {reply}: RFC 5321 §4.3.2 allows {verb} only "
            f"{sorted(_allowed(verb, smtp.extensions))}")
    reply = smtp.data(message.raw)
    assert reply.code in END_OF_DATA | ANY_COMMAND, (
        f"the end of the mail data was answered {reply}: RFC 5321 §4.3.2 allows "
        f"{sorted(END_OF_DATA)}")
    in_step(smtp, "after a session of every command")
