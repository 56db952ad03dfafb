"""IMAP steps for the wire fuzzer: the families a program is drawn from (``FAMILIES``),
built on ``fuzz.strategies.imap`` and framed as ``Step``s; the executor that sends and
judges them is ``fuzz.wire.imap``."""

from __future__ import annotations

import base64
import re

from hypothesis import strategies as st

from fuzz.strategies import imap as imap_strategies
from fuzz.wire.model import Program, Step, one_family_of
from reference.imap.commands import Authenticate, Idle, Logout, StartTls
from reference.imap.grammar import LiteralForm
from reference.imap.serializer_commands import write_command

FAMILIES = ("valid", "one_byte_off", "bad_literal_count", "unbalanced_parens", "nul_cr_lf",
            "overlong", "literal_bomb", "pipelining_flood", "hostile", "literal_plus", "idle",
            "authenticate")

# Commands that wait for more than a command (IDLE's DONE, AUTHENTICATE's exchange),
# change the transport (STARTTLS) or end the session (LOGOUT) are not drawn.
_SKIPPED = (Idle, Authenticate, StartTls, Logout)
def _wire(command: object) -> bytes:
    return b"".join(write_command(command, literal_form=LiteralForm.SYNCHRONIZING))  # type: ignore[arg-type]


def _command_bytes() -> st.SearchStrategy[bytes]:
    return (imap_strategies.commands().filter(lambda c: not isinstance(c, _SKIPPED))
            .map(_wire).filter(lambda data: len(data) < 4096))


def _mutate(data: bytes, at: int, operation: int, octet: int) -> bytes:
    at %= max(1, len(data) - 2)
    if operation == 0:
        out = data[:at] + bytes([octet]) + data[at + 1:]
    elif operation == 1:
        out = data[:at] + data[at + 1:]
    else:
        out = data[:at] + bytes([octet]) + data[at:]
    return out if out.endswith(b"\r\n") else out + b"\r\n"


def _bad_count(data: bytes, delta: int) -> bytes:
    return re.sub(rb"\{([0-9]+)(\+?)\}\r\n",
                  lambda m: b"{%d%s}\r\n" % (max(0, int(m.group(1)) + delta), m.group(2)),
                  data, count=1)


def _parens(data: bytes, at: int, paren: bytes, delete: bool) -> bytes:
    positions = [i for i, c in enumerate(data) if c in b"()"]
    if delete and positions:
        i = positions[at % len(positions)]
        return data[:i] + data[i + 1:]
    i = at % max(1, len(data) - 2)
    return data[:i] + paren + data[i:]


_BOMB_SIZES = (2**31, 2**32 - 1, 2**32, 10**12, 2**63 - 1, 2**64)


def steps() -> st.SearchStrategy[Step]:
    commands = _command_bytes()
    with_literal = st.sampled_from([
        b"T1 APPEND INBOX {12}\r\nSubject: x\r\n\r\n",
        b'T1 APPEND INBOX (\\Seen) {12}\r\nSubject: x\r\n\r\n',
        b"T1 LOGIN {5}\r\nalice {6}\r\nsecret\r\n",
        b"T1 SELECT {5}\r\nINBOX\r\n",
        b"T1 SEARCH TEXT {3}\r\nabc\r\n",
    ])
    return one_family_of(
        commands.map(lambda data: Step("valid", data)),
        st.builds(_mutate, commands, st.integers(0, 600), st.integers(0, 2),
                  st.integers(0, 255)).map(lambda data: Step("one_byte_off", data)),
        st.builds(_bad_count, with_literal, st.integers(-4, 4).filter(bool))
        .map(lambda data: Step("bad_literal_count", data)),
        st.builds(_parens, commands.filter(lambda d: b"(" in d), st.integers(0, 600),
                  st.sampled_from([b"(", b")"]), st.booleans())
        .map(lambda data: Step("unbalanced_parens", data)),
        st.builds(lambda data, at, ctl: data[:at % (len(data) - 1)] + ctl
                  + data[at % (len(data) - 1):], commands, st.integers(0, 600),
                  st.sampled_from([b"\x00", b"\r", b"\n"]))
        .map(lambda data: Step("nul_cr_lf", data)),
        st.builds(lambda verb, n: verb + b"x" * n + b"\r\n",
                  st.sampled_from([b"T1 NOOP ", b"T1 SELECT ", b"T1 FETCH 1 ", b"T1 "]),
                  st.integers(1000, 80_000)).map(lambda data: Step("overlong", data)),
        st.builds(lambda verb, size, plus: verb + b"{%d%s}\r\n" % (size, b"+" if plus else b""),
                  st.sampled_from([b"T1 APPEND INBOX ", b"T1 LOGIN ", b"T1 SELECT "]),
                  st.sampled_from(_BOMB_SIZES), st.booleans())
        .map(lambda data: Step("literal_bomb", data)),
        st.integers(2, 100).map(lambda n: Step("pipelining_flood", b"".join(
            b"F%d NOOP\r\n" % i for i in range(n)))),
        imap_strategies.hostile_command_bytes().filter(lambda d: len(d) < 100_000)
        .map(lambda data: Step("hostile", data if data.endswith(b"\r\n") else data + b"\r\n")),
        st.one_of(
            _command_bytes().filter(lambda d: b"}\r\n" in d)
            .map(lambda data: Step("literal_plus", _plus_literals(data))),
            st.integers(LITERAL_MINUS_MAX + 1, 20_000).map(
                lambda size: Step("literal_plus", big_plus_append(size)))),
        st.sampled_from(_IDLE_ENDS).map(lambda end: Step("idle", b"I1 IDLE\r\n", end)),
        _authenticate_steps(),
    )


# RFC 7888: non-synchronizing literals. LITERAL- (and IMAP4rev2, RFC 9051 §4.3) allows
# them up to 4096 octets; past that a LITERAL- server answers BAD (APPEND: [TOOBIG]) or
# BYE, and must still not run the literal's octets as commands (§3). The big literal's
# octets are NOOP commands with tags of their own: a server that runs them answers them.
LITERAL_MINUS_MAX = 4096
SMUGGLED_TAG = b"LP"


def _plus_literals(data: bytes) -> bytes:
    return re.sub(rb"\{([0-9]+)\}\r\n", rb"{\1+}\r\n", data)


def big_plus_append(size: int) -> bytes:
    lines = b"".join(b"%s%d NOOP\r\n" % (SMUGGLED_TAG, i) for i in range(size // 12 + 1))
    return b"T1 APPEND INBOX {%d+}\r\n" % size + lines[:size] + b"\r\n"


# IDLE (RFC 9051 §6.3.13, RFC 2177): what the client sends after "+". "DONE" in any case
# ends it with OK (RFC 5234 §2.3: ABNF strings are case-insensitive); anything else is
# not the grammar's "DONE" (RFC 9051 §9: idle = "IDLE" CRLF "DONE").
_IDLE_ENDS = (b"DONE\r\n", b"done\r\n", b"DoNe\r\n", b"XDONE\r\n", b"I2 NOOP\r\n", b"\r\n",
              b"DONE\r\nI2 NOOP\r\n")

# AUTHENTICATE (RFC 9051 §6.2.2) on a connection not yet logged in: the command, then
# the client's answers to "+" ("*" once the step has none left). No credentials are
# sent: a failed login makes Dovecot delay every login from the address for up to 15 s
# (its auth penalty), which would stall the run and read as hangs.
_BAD_BASE64 = (b"=AAA", b"AAA=BBB", b"!!!!", b"dGVzdA=x", b"a b")


def _authenticate_steps() -> st.SearchStrategy[Step]:
    variants = [
        Step("authenticate", b"A1 AUTHENTICATE PLAIN\r\n", b"*\r\n"),
        *(Step("authenticate", b"A1 AUTHENTICATE PLAIN\r\n", bad + b"\r\n")
          for bad in _BAD_BASE64),
        *(Step("authenticate", b"A1 AUTHENTICATE PLAIN " + bad + b"\r\n")
          for bad in _BAD_BASE64),
        Step("authenticate", b"A1 AUTHENTICATE LOGIN\r\n",
             base64.b64encode(b"alice") + b"\r\n*\r\n"),
        Step("authenticate", b"A1 AUTHENTICATE PLAIN\r\n", b"A" * 70_000 + b"\r\n"),
        Step("authenticate", b"A1 AUTHENTICATE X-FUZZ-UNKNOWN\r\n"),
    ]
    return st.sampled_from(variants)


def programs(max_steps: int = 8) -> st.SearchStrategy[Program]:
    return st.lists(steps(), min_size=1, max_size=max_steps)
