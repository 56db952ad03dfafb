"""SMTP steps for the wire fuzzer: the families a program is drawn from (``FAMILIES``),
taken from ``fuzz.strategies.smtp_hostile`` and framed as ``Step``s; the executor that
sends and judges them is ``fuzz.wire.smtp``."""

from __future__ import annotations

import base64
import re

from hypothesis import strategies as st

from fuzz.strategies import smtp as smtp_strategies
from fuzz.strategies import smtp_hostile
from fuzz.wire.model import Program, Step, one_family_of

FAMILIES = ("valid", "transaction", "one_byte_off", "nul_cr_lf", "overlong", "bad_parameter",
            "invalid_utf8", "random_line", "smuggling", "starttls_injection",
            "pipelining_flood", "rcpt_flood", "bdat", "bdat_lie", "auth")

# Where the families come from: the hostile SMTP strategies (fuzz.strategies.smtp_hostile:
# one concept, one place); this module only frames them as steps and judges the replies.
# A line that ends the session (QUIT) or opens a SASL exchange (AUTH) would change what
# the lines after it mean, so neither is drawn as a plain line or inside a flood.
_SESSION_CHANGING = re.compile(rb"(?im)^(?:QUIT|AUTH)\b")


def _plain(lines: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    return lines.filter(lambda data: _SESSION_CHANGING.search(data) is None)


@st.composite
def _bdat_steps(draw: st.DrawFn) -> Step:
    """An honest BDAT transaction (RFC 3030), its plan in Step.extra as
    "cuts=3,9;mix=data": where the message is cut into chunks, and a misuse after the
    first chunk or the last: DATA in a BDAT transaction, BDAT after BDAT LAST, or no
    LAST at all (then RSET). Size lies are ``bdat_lie`` (smtp_hostile.bdat_chunk_lies)."""
    data = draw(smtp_strategies.mail_data(max_lines=6))
    cuts = sorted(set(draw(st.lists(st.integers(0, len(data)), max_size=3))))
    plan = "cuts=" + ",".join(map(str, cuts))
    mix = draw(st.sampled_from(BDAT_MIXES))
    if mix:
        plan += f";mix={mix}"
    return Step("bdat", data, plan.encode("ascii"))


BDAT_MIXES = ("", "data", "bdat_after_last", "no_last")


def bdat_plan(extra: bytes) -> dict[str, str]:
    return dict(item.split("=", 1) for item in extra.decode("ascii").split(";") if "=" in item)


def _b64(text: bytes) -> bytes:
    return base64.b64encode(text)


# AUTH exchanges (RFC 4954 §4): the first line, then the client's answers to 334
# challenges (one per line; "*" is added when the server asks for more). Credentials
# are made up: no 235 is expected. Broken lines and answers: smtp_hostile's.
_EXCHANGES = (
    Step("auth", b"AUTH PLAIN\r\n", b"*\r\n"),
    Step("auth", b"AUTH PLAIN " + _b64(b"\0alice@example.test\0not-the-password") + b"\r\n"),
    Step("auth", b"AUTH PLAIN\r\n", _b64(b"\0alice@example.test\0not-the-password")
         + b"\r\n"),
    Step("auth", b"AUTH PLAIN =\r\n"),
    Step("auth", b"AUTH LOGIN\r\n", _b64(b"alice") + b"\r\n*\r\n"),
    Step("auth", b"AUTH LOGIN\r\n", _b64(b"alice") + b"\r\n" + _b64(b"not-the-password")
         + b"\r\n"),
)


def _auth_steps() -> st.SearchStrategy[Step]:
    return st.one_of(
        st.sampled_from(_EXCHANGES),
        smtp_hostile.broken_auth_lines().map(lambda line: Step("auth", line)),
        st.builds(lambda first, answer: Step("auth", first, answer),
                  st.sampled_from([b"AUTH PLAIN\r\n", b"AUTH LOGIN\r\n"]),
                  smtp_hostile.broken_auth_responses()),
    )


def steps() -> st.SearchStrategy[Step]:
    """One step of any family (sizes bounded: at most a few KiB per step)."""
    return one_family_of(
        _plain(smtp_hostile.command_lines()).map(lambda line: Step("valid", line)),
        smtp_strategies.mail_data(max_lines=8).map(lambda data: Step("transaction", data)),
        _plain(smtp_hostile.one_byte_off_lines()).map(lambda line: Step("one_byte_off", line)),
        _plain(smtp_hostile.control_octet_lines()).map(lambda line: Step("nul_cr_lf", line)),
        smtp_hostile.overlong_lines().map(lambda line: Step("overlong", line)),
        smtp_hostile.bad_parameter_lines().map(lambda line: Step("bad_parameter", line)),
        smtp_hostile.invalid_utf8_lines().map(lambda line: Step("invalid_utf8", line)),
        st.binary(max_size=80).map(lambda b: Step("random_line", b + b"\r\n")),
        smtp_hostile.smuggling_data().map(lambda data: Step("smuggling", data)),
        smtp_hostile.starttls_injections().map(lambda injection: Step(
            "starttls_injection", injection.command, injection.injected, injection.when)),
        _plain(smtp_hostile.pipelining_floods(max_commands=100))
        .map(lambda data: Step("pipelining_flood", data)),
        smtp_hostile.huge_rcpt_counts(max_recipients=150)
        .map(lambda data: Step("rcpt_flood", data)),
        _bdat_steps(),
        smtp_hostile.bdat_chunk_lies().map(lambda lie: Step(
            "bdat_lie", lie.command + lie.sent, lie.after, str(lie.declared))),
        _auth_steps(),
    )


def programs(max_steps: int = 8) -> st.SearchStrategy[Program]:
    return st.lists(steps(), min_size=1, max_size=max_steps)
