"""IMAP over the wire: the rules a program is drawn from, and the executor that runs a
program against a target (logged in, INBOX selected) and judges every response.

Families (``FAMILIES``): ``valid`` (one command of ``fuzz.strategies.imap``),
``one_byte_off``, ``bad_literal_count``, ``unbalanced_parens``, ``nul_cr_lf``,
``overlong``, ``literal_bomb``, ``pipelining_flood``, ``hostile`` (the
``hostile_command_bytes()`` of ``fuzz.strategies.imap``), ``literal_plus`` (commands with
non-synchronizing literals, and one past LITERAL-'s 4096 octets whose octets are NOOP
commands: RFC 7888), ``idle`` (IDLE, then DONE in any case, or something else: RFC 9051
§6.3.13) and ``authenticate`` (on a connection not logged in: "*", bad base64, an
overlong response, an unknown mechanism: §6.2.2).

The executor frames what it sends as the server must (RFC 9051 §4.3: a line ending in
``{n}`` CRLF is followed by n octets of literal; only CRLF ends a line, §2.2), sends
synchronizing literals only after "+" like a client (§7.6), and enforces, beyond the
response grammar the driver checks (§9, and the driver's §7 checks: known tags, "+"
only when awaited, ENABLED only after ENABLE, no EXPUNGE during FETCH/STORE/SEARCH):

- a tagged completion for every complete command within the hang timeout (§2.2.2: "the
  server completes the command ... with a tagged response"), or an untagged BAD when the
  tag cannot be read (§7.1.3);
- "+" or a tagged NO/BAD to a synchronizing literal (§4.3, §7.6);
- no close without BYE (§7.1.5: BYE "indicates that the server is about to close the
  connection"; §6.1.3);
- IDLE ended by DONE completes with OK, by anything else not (§6.3.13, §9);
- "*" ends AUTHENTICATE with a tagged BAD, and so does bad base64 on an IMAP4rev2 server
  (§6.2.2);
- the octets of a non-synchronizing literal are never run as commands (RFC 7888 §3), and
  one past 4096 octets on a LITERAL- server gets BAD [TOOBIG] (APPEND) or BYE (§5).
"""

from __future__ import annotations

import base64
import contextlib
import re

from hypothesis import strategies as st

from conformance.drivers import GrammarViolation, TargetClosed, TargetTimeout
from conformance.drivers.imap import ImapDriver
from conformance.targets import TargetSpec
from fuzz.strategies import imap as imap_strategies
from fuzz.wire import _io
from fuzz.wire.model import Program, Step, one_family_of
from fuzz.wire.session import WireSession, is_base64
from reference.imap.commands import Authenticate, Idle, Logout, StartTls
from reference.imap.grammar import LiteralForm
from reference.imap.responses import (
    Condition,
    Continuation,
    Response,
    ResponseCode,
    StatusResponse,
)
from reference.imap.serializer import TAG_PATTERN
from reference.imap.serializer_commands import write_command

FAMILIES = ("valid", "one_byte_off", "bad_literal_count", "unbalanced_parens", "nul_cr_lf",
            "overlong", "literal_bomb", "pipelining_flood", "hostile", "literal_plus", "idle",
            "authenticate")

# Commands that wait for more than a command (IDLE's DONE, AUTHENTICATE's exchange),
# change the transport (STARTTLS) or end the session (LOGOUT) are not drawn.
_SKIPPED = (Idle, Authenticate, StartTls, Logout)
_LITERAL = re.compile(rb"~?\{([0-9]{1,30})(\+?)\}\r\n\Z")
LITERAL_CAP = 65536            # literals larger than this are bombs: never sent
# The longest tag at the start of a line (RFC 9051 §9 tag; the serializer's pattern).
_TAG_PREFIX = re.compile(TAG_PATTERN.pattern.removesuffix(r"\Z").encode("ascii"))
PIECE = 8192                   # larger sends look for a BYE between pieces
_BYE = re.compile(rb"(?:^|\n)\* BYE ")


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
                lambda size: Step("literal_plus", _big_plus_append(size)))),
        st.sampled_from(_IDLE_ENDS).map(lambda end: Step("idle", b"I1 IDLE\r\n", end)),
        _authenticate_steps(),
    )


# RFC 7888: non-synchronizing literals. LITERAL- (and IMAP4rev2, RFC 9051 §4.3) allows
# them up to 4096 octets; past that a LITERAL- server answers BAD (APPEND: [TOOBIG]) or
# BYE, and must still not run the literal's octets as commands (§3). The big literal's
# octets are NOOP commands with tags of their own: a server that runs them answers them.
LITERAL_MINUS_MAX = 4096
_SMUGGLED_TAG = b"LP"


def _plus_literals(data: bytes) -> bytes:
    return re.sub(rb"\{([0-9]+)\}\r\n", rb"{\1+}\r\n", data)


def _big_plus_append(size: int) -> bytes:
    lines = b"".join(b"%s%d NOOP\r\n" % (_SMUGGLED_TAG, i) for i in range(size // 12 + 1))
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


# --- the executor -------------------------------------------------------------------------


class ImapSession(WireSession[ImapDriver]):
    """Runs one program on fresh connections; raises ``Finding``."""

    driver_type = ImapDriver
    unannounced_close = ("the connection closed without BYE (RFC 9051 §7.1.5: BYE "
                         "\"indicates that the server is about to close the connection\")")

    def __init__(self, spec: TargetSpec, *, hang_timeout: float, quiet: float) -> None:
        super().__init__(spec, hang_timeout=hang_timeout, quiet=quiet)
        self.closing = False            # BYE seen: the close that follows is announced
        self.verbs: dict[str, str] = {}  # tag -> command name, of the commands sent
        self.completion: StatusResponse | None = None   # the last tagged one awaited

    def connect(self, *, login: bool = True) -> None:
        self.close()
        try:
            self.driver = ImapDriver.connect(self.spec, timeout=self.hang_timeout)
        except GrammarViolation as exc:
            raise self._finding("grammar", f"greeting: {exc}") from None
        except TargetTimeout as exc:
            raise self._finding("hang", f"no greeting: {exc}") from None
        except TargetClosed as exc:
            raise self._finding("crash", f"no greeting: {exc}") from None
        self.closing = False
        if self.spec.accounts and login:
            account = self.spec.accounts[0]
            self._guarded(lambda d: d.login(account.user, account.password), "LOGIN")
            self._guarded(lambda d: d.select("INBOX"), "SELECT INBOX")

    def _guarded(self, action: object, what: str) -> None:
        assert self.driver is not None and callable(action)
        try:
            action(self.driver)
        except GrammarViolation as exc:
            raise self._finding("grammar", f"{what}: {exc}") from None
        except TargetTimeout as exc:
            raise self._finding("hang", f"{what}: {exc}") from None
        except TargetClosed as exc:
            raise self.crashed_or_closed(f"{what}: {exc}") from None

    def end(self) -> None:
        if self.driver is not None and not self.closing:
            try:
                with _io.timeout(self.driver.wire, self.quiet * 4):
                    self.driver.send(b"Z LOGOUT\r\n")
                    self.driver.wait_closed(self.quiet * 4)
            except Exception:
                pass
        self.close()

    def connected(self) -> bool:
        return self.driver is not None and not self.closing

    def step(self, step: Step) -> bool | None:
        method = getattr(self, f"step_{step.family}", None)
        if method is None:
            self.send_commands(step)
            return True
        return bool(method(step) is not False)

    # reading ------------------------------------------------------------------------------

    def _read(self, what: str, wait: float | None = None) -> Response:
        assert self.driver is not None
        try:
            with _io.timeout(self.driver.wire, wait or self.hang_timeout):
                response = self.driver.read_response()
        except GrammarViolation as exc:
            raise self._finding("grammar", f"response to {what}: {exc}") from None
        except TargetTimeout:
            if wait is not None:
                raise
            raise self._finding("hang", f"no completion of {what} in {self.hang_timeout:g} s "
                                "(RFC 9051 §2.2.2: the server completes every command with "
                                "a tagged response)") from None
        except TargetClosed as exc:
            if self.closing:
                raise _Closed from None
            raise self.crashed_or_closed(f"waiting for {what}: {exc}") from None
        if isinstance(response, StatusResponse) and response.condition is Condition.BYE:
            self.closing = True
        return response

    def _await(self, tag: str | None, what: str, *, literal: bool = False) -> str:
        """Read until ``tag``'s completion (or an untagged BAD for a tag the server could
        not read, RFC 9051 §7.1.3); with ``literal``, until "+" or that completion.
        Returns "done", "continue" or "closed"."""
        while True:
            assert self.driver is not None
            self.driver._waiting_literal = literal
            try:
                response = self._read(what)
            except _Closed:
                self.close()
                return "closed"
            finally:
                if self.driver is not None:
                    self.driver._waiting_literal = False
            if literal and isinstance(response, Continuation):
                return "continue"
            if isinstance(response, Continuation) and tag is not None:
                # A (mutated) IDLE waits for DONE (RFC 2177 §3), AUTHENTICATE for the
                # client's answer, which "*" cancels (RFC 9051 §6.2.2).
                verb = self.verbs.get(tag, "")
                self._send(b"DONE\r\n" if verb == "IDLE" else b"*\r\n")
                continue
            if isinstance(response, StatusResponse):
                if response.tag is not None and tag is None:
                    return "done"   # the line had no tag: the server found one in it
                if response.tag is not None and response.tag == tag:
                    self.completion = response
                    if (response.condition is Condition.OK
                            and self.verbs.get(tag) == "STARTTLS"):
                        self.close()            # TLS is due: this session cannot go on
                        return "closed"
                    return "done"
                if response.tag is None and response.condition is Condition.BAD:
                    return "done" if tag is None else self._maybe_tagged(tag, what,
                                                                         literal=literal)

    def _maybe_tagged(self, tag: str, what: str, *, literal: bool = False) -> str:
        """An untagged BAD for a command with a tag: its tagged response may follow (or,
        with ``literal``, the "+": the BAD was about an earlier line)."""
        while True:
            assert self.driver is not None
            self.driver._waiting_literal = literal
            try:
                response = self._read(what, wait=self.quiet)
            except TargetTimeout:
                return "done"
            except _Closed:
                self.close()
                return "closed"
            finally:
                if self.driver is not None:
                    self.driver._waiting_literal = False
            if literal and isinstance(response, Continuation):
                return "continue"
            if isinstance(response, StatusResponse) and response.tag == tag:
                self.completion = response
                return "done"

    # sending ------------------------------------------------------------------------------

    def _send(self, data: bytes) -> None:
        """Send ``data``; past ``PIECE`` octets in pieces, stopping once the target says
        BYE: a server that closes with our octets unread resets the connection (TCP),
        and the reset would throw away the BYE it sent."""
        assert self.driver is not None
        wire = self.driver.wire
        try:
            for start in range(0, max(1, len(data)), PIECE):
                self.driver.send(data[start:start + PIECE])
                if len(data) <= PIECE:
                    break
                with contextlib.suppress(TargetTimeout), _io.timeout(wire, self.quiet):
                    wire.fill()
                if _BYE.search(wire.buffer):
                    return
        except TargetTimeout:
            raise self._finding("hang", f"the target stopped reading ({len(data)} octets "
                                "not accepted)") from None
        except TargetClosed as exc:
            if self.closing or _BYE.search(wire.buffer):
                raise _Closed from None
            if len(data) > PIECE and "reset" in str(exc).lower():
                # The target closed with our octets unread: TCP resets, and a BYE it sent
                # before closing may be lost with them. Unconfirmed, said so.
                raise self.crashed_or_closed(f"reset while sending {len(data)} octets (a BYE "
                                             "sent before the close is lost in a reset: "
                                             "unconfirmed)") from None
            raise self.crashed_or_closed(f"sending: {exc}") from None

    def _register(self, data: bytes) -> str | None:
        """The command's tag (None when it is not one), registered in flight; the words
        after a bare CR or LF are registered too, in case the server splits there."""
        assert self.driver is not None
        in_flight = self.driver._in_flight
        tag = _tag(data)
        if tag is not None:
            in_flight[tag] = self.verbs[tag] = _verb(data)
        pieces = re.split(rb"\r(?!\n)|(?<!\r)\n", data)
        for piece in pieces if tag is None else pieces[1:]:
            extra = _tag(piece)
            if extra is not None:
                in_flight.setdefault(extra, _verb(piece))
        prefix = _TAG_PREFIX.match(data)
        if tag is None and prefix is not None:
            # No valid tag: a server may answer with the part before the first octet a
            # tag cannot hold (Cyrus: "a}" of "a}<NUL>b"), or untagged (RFC 9051 §7.1.3).
            in_flight.setdefault(prefix.group().decode("ascii"), _verb(data))
        return tag

    def send_commands(self, step: Step) -> None:
        """Send the step's bytes command by command, framed as RFC 9051 §4.3 frames them,
        and await each command's completion."""
        try:
            self._send_commands(step)
        except _Closed:
            self.close()

    def _send_commands(self, step: Step) -> None:
        data, pos = step.data, 0
        while pos < len(data) and self.driver is not None and not self.closing:
            start = pos
            tag: str | None = None
            first = True
            answered = False
            while True:                           # one command: lines and literals
                crlf = data.find(b"\r\n", pos)
                line = data[pos:crlf + 2] if crlf >= 0 else data[pos:] + b"\r\n"
                pos = crlf + 2 if crlf >= 0 else len(data)
                if first:
                    tag = self._register(line)
                    first = False
                else:
                    self._register_pieces(line)
                what = f"{step.family} command {data[start:start + 40]!r}"
                literal = _LITERAL.search(line)
                if literal is None:
                    self._send(line)
                    break
                size, plus = int(literal.group(1)), bool(literal.group(2))
                if size > LITERAL_CAP:
                    self._bomb(line, tag, plus, what)
                    return
                if not plus:
                    self._send(line)
                    answer = self._await(tag, what, literal=True)
                    if answer != "continue":   # refused (or closed): the command is over
                        pos = self._skip_command(data, pos, size)
                        answered = True
                        break
                    payload = data[pos:pos + size].ljust(size, b"x")
                    self._send(payload)
                else:
                    payload = data[pos:pos + size].ljust(size, b"x")
                    self._send(line + payload)
                pos += size
                if pos >= len(data):
                    self._send(b"\r\n")
                    break
            if not answered and self.driver is not None and not self.closing:
                self._await(tag, what)

    # LITERAL+ / LITERAL- (RFC 7888), IDLE (RFC 9051 §6.3.13), AUTHENTICATE (§6.2.2) -------

    def _capabilities(self) -> frozenset[str]:
        assert self.driver is not None
        if not self.driver.capabilities:
            self._guarded(lambda d: d.capability(), "CAPABILITY")
        return self.driver.capabilities

    def step_literal_plus(self, step: Step) -> bool:
        capabilities = self._capabilities()
        plus = "LITERAL+" in capabilities
        if not (plus or "LITERAL-" in capabilities or "IMAP4REV2" in capabilities):
            return False
        sizes = [int(m.group(1)) for m in re.finditer(rb"\{([0-9]+)\+\}\r\n", step.data)]
        if plus or all(size <= LITERAL_MINUS_MAX for size in sizes):
            self.send_commands(step)
            return True
        assert self.driver is not None
        smuggled = {f"{_SMUGGLED_TAG.decode()}{i}" for i in range(len(step.data) // 12 + 1)}
        for tag in smuggled:
            self.driver._in_flight[tag] = "NOOP"
        try:
            self.send_commands(step)
            completion = self.completion
            if self.driver is not None and not self.closing:
                self.send_commands(Step(step.family, b"T2 NOOP\r\n"))
        except _Closed:
            self.close()
            completion = None
        answered = sorted(t for t in smuggled
                          if self.driver is None or t not in self.driver._in_flight)
        if self.driver is not None:
            for tag in smuggled:
                self.driver._in_flight.pop(tag, None)
        if answered and self.driver is not None:
            raise self._finding("state", f"the octets of a non-synchronizing literal of "
                                f"{max(sizes)} octets were run as commands ({answered[0]} "
                                "was answered; RFC 7888 §3: the server \"MUST treat the "
                                "specified number of following octets ... as part of the "
                                "same command\")")
        if (completion is not None and completion.tag == "T1"
                and completion.condition is not Condition.BYE
                and step.data.upper().startswith(b"T1 APPEND")
                and (completion.condition is not Condition.BAD
                     or completion.code is not ResponseCode.TOOBIG)):
            code = f"[{getattr(completion.code, 'value', completion.code)}] " \
                if completion.code else ""
            raise self._finding("state", f"{completion.condition.value} {code}"
                                f"to APPEND with a non-synchronizing literal of {max(sizes)} "
                                "octets, past LITERAL-'s 4096 (RFC 7888 §5: \"the tagged BAD "
                                "response MUST contain the TOOBIG response code\")")
        return True

    def step_idle(self, step: Step) -> bool:
        """IDLE, "+", then the step's ending: DONE (any case) must complete it with OK
        (RFC 9051 §6.3.13), anything else is not the grammar's DONE and must not."""
        if not {"IDLE", "IMAP4REV2"} & self._capabilities():
            return False
        tag = self._register(step.data)
        self._send(step.data)
        if self._await(tag, "IDLE", literal=True) != "continue":
            return True
        first, _, rest = step.extra.partition(b"\r\n")
        if rest:
            self._register(rest)
        self._send(step.extra)
        self.completion = None
        if self._await(tag, f"IDLE ended by {first!r}") != "done" or self.completion is None:
            return True
        done = first.upper() == b"DONE"
        if done and self.completion.condition is not Condition.OK:
            raise self._finding("state", f"{self.completion.condition.value} to IDLE ended by "
                                f"{first!r} (RFC 9051 §6.3.13: \"OK - IDLE completed after "
                                "client sent 'DONE'\"; RFC 5234 §2.3: case-insensitive)")
        if not done and self.completion.condition is Condition.OK:
            raise self._finding("state", f"OK to IDLE ended by {first!r}, which is not "
                                "\"DONE\" (RFC 9051 §9: idle = \"IDLE\" CRLF \"DONE\")")
        if rest and self.driver is not None and not self.closing:
            self._await(_tag(rest), "the command after DONE")
        return True

    def step_authenticate(self, step: Step) -> bool:
        """AUTHENTICATE on a new connection that has not logged in; never OK (no
        credentials are sent). When the mechanism is offered (AUTH=...): "*" gets a tagged
        BAD (RFC 9051 §6.2.2 and RFC 3501 §6.2.2 MUST), and so does a response that is
        not base64 from an IMAP4rev2 server (RFC 9051 §6.2.2 only)."""
        self.connect(login=False)
        assert self.driver is not None
        mechanism = step.data.split()[2].decode("ascii", "replace").upper()
        capabilities = self._capabilities()
        offered = f"AUTH={mechanism}" in capabilities
        rev2 = "IMAP4REV2" in capabilities
        tag = self._register(step.data)
        assert tag is not None
        answers = [line + b"\r\n" for line in step.extra.split(b"\r\n") if line]
        words = step.data.split()
        sent = [words[3]] if len(words) > 3 else []
        self._send(step.data)
        while True:
            answer = self._await(tag, "AUTHENTICATE", literal=True)
            if answer != "continue":
                break
            line = answers.pop(0) if answers else b"*\r\n"
            sent.append(line.rstrip(b"\r\n"))
            self._send(line)
        completion, self.completion = self.completion, None
        self.close()                         # not logged in: the next step reconnects
        if answer != "done" or completion is None or completion.tag != tag:
            return True
        if completion.condition is Condition.OK:
            raise self._finding("state", "OK to AUTHENTICATE without credentials (RFC 9051 "
                                "§6.2.2: NO - authenticate failure)")
        cancelled = bool(sent) and sent[-1] == b"*"
        bad = [s for s in sent if s not in (b"*", b"=") and not is_base64(s)] if rev2 else []
        if offered and (cancelled or bad) and completion.condition is not Condition.BAD:
            raise self._finding("state", f"{completion.condition.value} to AUTHENTICATE "
                                + ("cancelled with \"*\"" if cancelled else
                                   f"answered with {bad[0][:20]!r}, not base64")
                                + " (RFC 9051 §6.2.2: the server \"MUST reject the "
                                "AUTHENTICATE command by sending a tagged BAD response\")")
        return True

    def _register_pieces(self, line: bytes) -> None:
        assert self.driver is not None
        for piece in re.split(rb"\r(?!\n)|(?<!\r)\n", line)[1:]:
            extra = _tag(piece)
            if extra is not None:
                self.driver._in_flight.setdefault(extra, _verb(piece))

    @staticmethod
    def _skip_command(data: bytes, pos: int, size: int) -> int:
        """After a refused literal: past the literal and the rest of the command."""
        pos += size
        while True:
            crlf = data.find(b"\r\n", pos)
            if crlf < 0:
                return len(data)
            literal = _LITERAL.search(data[pos:crlf + 2])
            if literal is None:
                return crlf + 2
            pos = crlf + 2 + int(literal.group(1))

    def _bomb(self, line: bytes, tag: str | None, plus: bool, what: str) -> None:
        """A literal too large to send: a synchronizing one must get "+" or a refusal
        (RFC 9051 §4.3, §7.6); after "+" (or a non-synchronizing one the server may wait
        for) the session cannot go on, and is reopened."""
        self._send(line)
        if plus:
            assert self.driver is not None
            with contextlib.suppress(TargetTimeout, _Closed):
                self._read(what, wait=self.quiet * 4)
        else:
            self._await(tag, what, literal=True)
        self.close()


class _Closed(Exception):
    """The connection closed after a BYE (announced: not a finding)."""


def _tag(data: bytes) -> str | None:
    word = data.split(b" ", 1)[0].rstrip(b"\r\n")
    try:
        text = word.decode("ascii")
    except UnicodeDecodeError:
        return None
    return text if TAG_PATTERN.match(text) and text != "*" else None


def _verb(data: bytes) -> str:
    words = data.rstrip(b"\r\n").upper().split(b" ", 3)
    if len(words) > 2 and words[1] == b"UID":
        return "UID " + words[2].decode("ascii", "replace")
    return words[1].decode("ascii", "replace") if len(words) > 1 else ""
