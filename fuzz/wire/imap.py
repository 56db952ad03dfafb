"""IMAP over the wire: the executor that runs a program against a target (logged in,
INBOX selected) and judges every response. The families it runs (drawn in
``fuzz.wire.imap_steps``):

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

import contextlib
import re

from conformance.drivers import GrammarViolation, TargetClosed, TargetTimeout
from conformance.drivers.imap import ImapDriver
from conformance.targets import TargetSpec
from fuzz.wire import _io
from fuzz.wire.imap_steps import LITERAL_MINUS_MAX, SMUGGLED_TAG
from fuzz.wire.model import Step
from fuzz.wire.session import WireSession, is_base64
from reference.imap.responses import (
    Condition,
    Continuation,
    Response,
    ResponseCode,
    StatusResponse,
)
from reference.imap.serializer import TAG_PATTERN

_LITERAL = re.compile(rb"~?\{([0-9]{1,30})(\+?)\}\r\n\Z")
LITERAL_CAP = 65536            # literals larger than this are bombs: never sent
# The longest tag at the start of a line (RFC 9051 §9 tag; the serializer's pattern).
_TAG_PREFIX = re.compile(TAG_PATTERN.pattern.removesuffix(r"\Z").encode("ascii"))
PIECE = 8192                   # larger sends look for a BYE between pieces
_BYE = re.compile(rb"(?:^|\n)\* BYE ")


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

    def _read(self, what: str, wait: float | None = None, *, literal: bool = False
              ) -> Response:
        """The next response; ``literal``: a "+" for a literal is awaited meanwhile."""
        assert self.driver is not None
        try:
            self.driver._waiting_literal = literal
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
        finally:
            if self.driver is not None:
                self.driver._waiting_literal = False
        if isinstance(response, StatusResponse) and response.condition is Condition.BYE:
            self.closing = True
        return response

    def _await(self, tag: str | None, what: str, *, literal: bool = False) -> str:
        """Read until ``tag``'s completion (or an untagged BAD for a tag the server could
        not read, RFC 9051 §7.1.3); with ``literal``, until "+" or that completion.
        Returns "done", "continue" or "closed"."""
        while True:
            try:
                response = self._read(what, literal=literal)
            except _Closed:
                self.close()
                return "closed"
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
            try:
                response = self._read(what, wait=self.quiet, literal=literal)
            except TargetTimeout:
                return "done"
            except _Closed:
                self.close()
                return "closed"
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
        smuggled = {f"{SMUGGLED_TAG.decode()}{i}" for i in range(len(step.data) // 12 + 1)}
        for tag in smuggled:
            self.driver._in_flight[tag] = "NOOP"
        self.completion = None
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
