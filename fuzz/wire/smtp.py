"""SMTP over the wire: the rules a program is drawn from, and the executor that runs a
program against a target and judges every reply.

Families (``FAMILIES``): ``valid`` (one command of ``fuzz.strategies.smtp``),
``transaction`` (MAIL, RCPT, DATA and a message), ``one_byte_off``, ``nul_cr_lf``,
``overlong``, ``random_line``, ``smuggling`` (end-of-data variants, CVE-2023-51764/5/6),
``starttls_injection`` (CVE-2011-0411), ``pipelining_flood``, ``bdat`` (RFC 3030: chunk
cuts, LAST, size lies, DATA after BDAT, BDAT after LAST, no LAST then RSET; sent only when
CHUNKING is advertised) and ``auth`` (RFC 4954: PLAIN/LOGIN with bad BASE64, "*",
made-up credentials, a response line past 12288 octets).

What the executor enforces, beyond the reply grammar the driver checks (RFC 5321 §4.2,
§4.5.3.1.5; RFC 3463/2034 when advertised):

- a reply to every command line, within the hang timeout (RFC 5321 §4.2 "every command
  MUST generate exactly one reply"), and no more replies than lines sent;
- no close without a reply, except after 221 or 421 (RFC 5321 §3.8);
- a single reply to a message whatever bare CR/LF it carries: only CRLF "." CRLF ends the
  data (RFC 5321 §4.1.1.4, §2.3.8: SMTP smuggling);
- no reply, in plaintext or after the handshake, to commands sent after STARTTLS before
  TLS (RFC 3207 §4.2: "The server MUST discard any knowledge obtained from the client");
- 503, not 2xx, to RCPT outside a transaction (RFC 5321 §4.1.4); 3xx only to DATA (354,
  §4.3.2) and AUTH (334, RFC 4954 §4);
- BDAT: one reply per chunk, once all its octets came, never 3xx; 503 to DATA after BDAT
  and to BDAT after LAST (RFC 3030 §2, §3);
- AUTH, when the mechanism is offered: 501 to "*" and to a response that is not BASE64,
  500/501 to a response line past 12288 octets, never 235 (RFC 4954 §4);
- with a mailbox to read (``fuzz.wire.mailbox``): acknowledged messages stored, refused
  and smuggled ones not.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import re
import uuid

from hypothesis import strategies as st

from conformance.drivers import GrammarViolation, TargetClosed, TargetTimeout
from conformance.drivers.smtp import Reply, SmtpDriver, parse_ehlo_extensions
from conformance.targets import TargetSpec
from fuzz.strategies import smtp as smtp_strategies
from fuzz.wire import _io
from fuzz.wire.mailbox import ID_FIELD, SMUGGLED_FIELD, Mailbox, StoreCheck
from fuzz.wire.model import Program, Step
from fuzz.wire.session import WireSession, is_base64
from reference.smtp.commands import Auth, Bdat, Data, Quit, StartTls
from reference.smtp.connection import ClientConnection
from reference.smtp.serializer import write_command

FAMILIES = ("valid", "transaction", "one_byte_off", "nul_cr_lf", "overlong", "random_line",
            "smuggling", "starttls_injection", "pipelining_flood", "bdat", "auth")

# Commands a "valid" step sends alone: not those that change the framing (DATA, BDAT),
# the transport (STARTTLS), end the session (QUIT) or wait for a SASL exchange (AUTH).
_SKIPPED = (Data, Bdat, StartTls, Quit, Auth)


def _command_lines() -> st.SearchStrategy[bytes]:
    return (smtp_strategies.commands()
            .filter(lambda c: not isinstance(c, _SKIPPED)).map(write_command))


def _one_byte_off(line: bytes, position: int, operation: int, octet: int) -> bytes:
    at = position % max(1, len(line) - 2)          # mutate the command, not its CRLF
    if operation == 0:
        out = line[:at] + bytes([octet]) + line[at + 1:]
    elif operation == 1:
        out = line[:at] + line[at + 1:]
    else:
        out = line[:at] + bytes([octet]) + line[at:]
    return out if out.endswith(b"\r\n") else out + b"\r\n"


# RFC 5321 §4.1.1.4 / §2.3.8: only CRLF "." CRLF ends the mail data. Variants seen in
# the SMTP smuggling advisories (CVE-2023-51764, -51765, -51766).
END_OF_DATA_VARIANTS = (b"\n.\n", b"\n.\r\n", b"\r.\r", b"\r.\r\n", b"\r\n.\n", b"\r\n.\r",
                        b"\n.\r", b"\r\n\x00.\r\n", b"\r\n.\x00\r\n")
_SMUGGLED = (b"MAIL FROM:<smuggled@fuzz.test>\r\nRCPT TO:<postmaster>\r\nDATA\r\n"
             b"Subject: smuggled\r\n\r\nsmuggled\r\n")
_INJECTED = (b"XFUZZINJECT\r\n", b"NOOP\r\nXFUZZINJECT\r\n", b"EHLO injected.test\r\n")
_FLOOD = (b"NOOP\r\n", b"RSET\r\n", b"MAIL FROM:<>\r\n", b"RCPT TO:<postmaster>\r\n",
          b"HELP\r\n", b"VRFY postmaster\r\n", b"XFUZZ\r\n")
_OVERLONG_VERBS = (b"NOOP ", b"MAIL FROM:<", b"RCPT TO:<", b"EHLO ", b"VRFY ", b"")


def steps() -> st.SearchStrategy[Step]:
    """One step of any family (sizes bounded: at most a few KiB per step)."""
    lines = _command_lines()
    return st.one_of(
        lines.map(lambda line: Step("valid", line)),
        smtp_strategies.mail_data(max_lines=8).map(lambda data: Step("transaction", data)),
        st.builds(_one_byte_off, lines, st.integers(0, 600), st.integers(0, 2),
                  st.integers(0, 255)).map(lambda line: Step("one_byte_off", line)),
        st.builds(lambda line, at, ctl: line[:at % (len(line) - 1)] + ctl
                  + line[at % (len(line) - 1):], lines, st.integers(0, 600),
                  st.sampled_from([b"\x00", b"\r", b"\n"]))
        .map(lambda line: Step("nul_cr_lf", line)),
        st.builds(lambda verb, n: verb + b"a" * n + b"\r\n", st.sampled_from(_OVERLONG_VERBS),
                  st.integers(500, 4000)).map(lambda line: Step("overlong", line)),
        st.binary(max_size=80).map(lambda b: Step("random_line", b + b"\r\n")),
        st.builds(lambda text, variant: Step("smuggling", b"Subject: fuzz\r\n\r\n" + text
                                             + variant + _SMUGGLED),
                  st.sampled_from([b"hello", b"", b"a\r\nb"]),
                  st.sampled_from(END_OF_DATA_VARIANTS)),
        st.sampled_from(_INJECTED).map(lambda injected: Step(
            "starttls_injection", b"STARTTLS\r\n", injected)),
        st.builds(lambda line, n: Step("pipelining_flood", line * n),
                  st.sampled_from(_FLOOD), st.integers(2, 100)),
        _bdat_steps(),
        _auth_steps(),
    )


# BDAT plans (RFC 3030), carried in Step.extra as "cuts=3,9;lie=short:2;mix=data":
# where the message is cut into chunks, one size lie on the first chunk (declared
# shorter or longer than what is sent), and a misuse after the chunks: DATA in a BDAT
# transaction, BDAT after BDAT LAST, or no LAST at all (then RSET).
BDAT_LIES = ("", "short", "long")
BDAT_MIXES = ("", "data", "bdat_after_last", "no_last")


@st.composite
def _bdat_steps(draw: st.DrawFn) -> Step:
    data = draw(smtp_strategies.mail_data(max_lines=6))
    cuts = sorted(set(draw(st.lists(st.integers(0, len(data)), max_size=3))))
    lie = draw(st.sampled_from(BDAT_LIES))
    plan = "cuts=" + ",".join(map(str, cuts))
    if lie:
        plan += f";lie={lie}:{draw(st.integers(1, 8))}"
    mix = draw(st.sampled_from(BDAT_MIXES))
    if mix:
        plan += f";mix={mix}"
    return Step("bdat", data, plan.encode("ascii"))


def bdat_plan(extra: bytes) -> dict[str, str]:
    return dict(item.split("=", 1) for item in extra.decode("ascii").split(";") if "=" in item)


def _b64(text: bytes) -> bytes:
    return base64.b64encode(text)


# AUTH exchanges (RFC 4954 §4): the first line, then the client's answers to 334
# challenges (one per line; "*" is added when the server asks for more). Credentials
# are made up: no 235 is expected.
_BAD_BASE64 = (b"=AAA", b"AAA=BBB", b"!!!!", b"dGVzdA=x", b"YWxp\xffY2U=", b"a b")
_OVERLONG_RESPONSE = b"A" * 12300                 # past RFC 4954 §4's 12288 octets


def _auth_steps() -> st.SearchStrategy[Step]:
    wrong = _b64(b"\0alice@example.test\0not-the-password")
    variants = [
        *(Step("auth", b"AUTH PLAIN " + bad + b"\r\n") for bad in _BAD_BASE64),
        Step("auth", b"AUTH PLAIN\r\n", b"*\r\n"),
        Step("auth", b"AUTH PLAIN " + wrong + b"\r\n"),
        Step("auth", b"AUTH PLAIN\r\n", wrong + b"\r\n"),
        Step("auth", b"AUTH PLAIN =\r\n"),
        *(Step("auth", b"AUTH LOGIN\r\n", bad + b"\r\n") for bad in _BAD_BASE64),
        Step("auth", b"AUTH LOGIN\r\n", _b64(b"alice") + b"\r\n*\r\n"),
        Step("auth", b"AUTH LOGIN\r\n", _OVERLONG_RESPONSE + b"\r\n"),
        Step("auth", b"AUTH LOGIN\r\n", _b64(b"alice") + b"\r\n"
             + _b64(b"not-the-password") + b"\r\n"),
    ]
    return st.sampled_from(variants)


def programs(max_steps: int = 8) -> st.SearchStrategy[Program]:
    return st.lists(steps(), min_size=1, max_size=max_steps)


# --- the executor -------------------------------------------------------------------------


class SmtpSession(WireSession[SmtpDriver]):
    """Runs one program on fresh connections; raises ``Finding``."""

    driver_type = SmtpDriver
    unannounced_close = ("the connection closed without a 421 reply (RFC 5321 §3.8: a "
                         "server MUST NOT close it except after QUIT, with 421, or at a "
                         "timeout)")

    def __init__(self, spec: TargetSpec, *, hang_timeout: float, quiet: float,
                 mailbox: Mailbox | None = None, store_wait: float = 5.0) -> None:
        super().__init__(spec, hang_timeout=hang_timeout, quiet=quiet)
        self.in_transaction = False
        self.acknowledged = 0
        # Acknowledged vs stored (fuzz.wire.mailbox): every message is marked with an id
        # of this run of the program.
        self.mailbox = mailbox
        self.store_wait = store_wait
        self.store = StoreCheck(uuid.uuid4().hex[:12])
        self._family = ""
        accounts = spec.accounts
        self.recipient = (spec.address(accounts[0]) if accounts and (
            "@" in accounts[0].user or spec.domain) else "postmaster")

    # connection handling ----------------------------------------------------------------

    def connect(self) -> SmtpDriver:
        self.close()
        try:
            driver = SmtpDriver.connect(self.spec, timeout=self.hang_timeout,
                                        read_greeting=False)
        except TargetTimeout as exc:
            raise self._finding("hang", f"connect: {exc}") from None
        except TargetClosed as exc:
            raise self._finding("crash", f"cannot connect: {exc}") from None
        self.driver = driver
        greeting = self._read("the greeting")
        if greeting.code != 220:
            raise self._finding("state", f"greeting {greeting.code}, not 220 (RFC 5321 §4.2: "
                                "the session opens with 220; this run needs one)")
        self._ehlo()
        self.in_transaction = False
        return driver

    def _ehlo(self) -> None:
        """EHLO, and what it advertises (STARTTLS, CHUNKING, AUTH decide which steps
        can be sent)."""
        assert self.driver is not None
        reply = self._expect_one(b"EHLO fuzz.test\r\n", "EHLO")
        if reply.code == 250:
            try:
                self.driver.extensions = parse_ehlo_extensions(reply)
            except GrammarViolation as exc:
                raise self._finding("grammar", f"reply to EHLO: {exc}") from None
            self.driver.enhanced_status_codes = "ENHANCEDSTATUSCODES" in self.driver.extensions

    def end(self) -> None:
        """QUIT at the end of a program (the reply is not judged), and close."""
        if self.driver is not None:
            with contextlib.suppress(Exception), _io.timeout(self.driver.wire, self.quiet * 4):
                self.driver.send(b"QUIT\r\n")
                self.driver.read_reply()
        self.close()

    # replies ------------------------------------------------------------------------------

    def _read(self, what: str, *, wait: float | None = None) -> Reply:
        assert self.driver is not None
        try:
            with _io.timeout(self.driver.wire, wait or self.hang_timeout):
                return self.driver.read_reply()
        except GrammarViolation as exc:
            raise self._finding("grammar", f"reply to {what}: {exc}") from None
        except TargetTimeout:
            if wait is not None:
                raise
            raise self._finding("hang", f"no reply to {what} in {self.hang_timeout:g} s "
                                "(RFC 5321 §4.2: every command gets exactly one reply)") \
                from None
        except TargetClosed as exc:
            raise self.crashed_or_closed(f"waiting for the reply to {what}: {exc}") from None

    def _expect_one(self, data: bytes, what: str) -> Reply:
        assert self.driver is not None
        self._send(data)
        return self._read(what)

    def _send(self, data: bytes) -> None:
        assert self.driver is not None
        try:
            self.driver.send(data)
        except TargetTimeout:
            raise self._finding("hang", f"the target stopped reading ({len(data)} octets "
                                "not accepted)") from None
        except TargetClosed as exc:
            raise self.crashed_or_closed(f"sending: {exc}") from None

    def _replies(self, data: bytes, what: str, minimum: int, maximum: int, *,
                 settle: bool = True) -> list[Reply]:
        """Send ``data``; read ``minimum`` replies (a hang otherwise), then up to
        ``maximum`` within the quiet window; more than ``maximum`` is a finding. Replies
        that change the framing (354, 334, 220, 221, 421) end the reading, and the
        session is brought back to command state."""
        if data:
            self._send(data)
        replies: list[Reply] = []
        while True:
            wait = None if len(replies) < minimum else self.quiet
            try:
                reply = self._read(f"{what} (reply {len(replies) + 1})", wait=wait)
            except TargetTimeout:
                return replies
            replies.append(reply)
            if settle and self._settle(reply):
                return replies
            if len(replies) > maximum:
                raise self._finding("state", f"{len(replies)} replies to {what}, which has at "
                                    f"most {maximum} command line(s) (RFC 5321 §4.2: exactly "
                                    "one reply per command)")

    def _settle(self, reply: Reply) -> bool:
        """True when ``reply`` ended the step (the session is back in command state, or
        closed and to be reopened)."""
        if reply.code == 354:          # a mutated line became DATA: end the (empty) data
            self._send(b"\r\n.\r\n")
            self._read("the end of data after an unexpected 354")
            self.in_transaction = False
            return True
        if reply.code == 334:          # RFC 4954 §4: "*" cancels the exchange
            self._send(b"*\r\n")
            self._read("the cancelled AUTH exchange")
            return True
        if reply.code in (220, 221, 421):   # STARTTLS accepted, or the end of the session
            self.close()
            return True
        return False

    # steps --------------------------------------------------------------------------------

    def step(self, step: Step) -> bool | None:
        self._family = step.family
        return super().step(step)

    def after(self) -> None:
        if self.mailbox is not None and self.store.needed():
            broken = self.store.check(self.mailbox, self.store_wait)
            if broken is not None:
                stored = self._finding(broken[0], broken[1])
                stored.family = broken[2]
                raise stored

    # marks for the mailbox check ------------------------------------------------------

    def _marked(self, data: bytes) -> tuple[str, bytes]:
        """A new id for a message, and the message with its ``X-Fuzz-Id`` field first."""
        message_id = f"{self.store.token}.{len(self.store.families)}"
        self.store.families[message_id] = self._family
        return message_id, ID_FIELD + b": " + message_id.encode() + b"\r\n" + data

    def _smuggled(self, data: bytes) -> bytes:
        """``data`` with the mark of this run after each smuggled DATA command, and the
        smuggled RCPT addressed to the mailbox that is read."""
        self.store.smuggling = self._family
        mark = SMUGGLED_FIELD + b": " + self.store.token.encode() + b"\r\n"
        data = re.sub(rb"(?i)(RCPT TO:<)[^>\r\n]*>",
                      lambda m: m.group(1) + self.recipient.encode() + b">", data)
        return re.sub(rb"(?i)(DATA\r?\n)", lambda m: m.group(1) + mark, data)

    def _data_reply(self, reply: Reply | None, message_id: str, why: str = "") -> None:
        """Record what the target said to a whole message: 250 acknowledges it, 4yz/5yz
        refuses it (RFC 5321 §4.2.5); no reply leaves it unknown."""
        if reply is None:
            return
        if reply.code == 250:
            self.acknowledged += 1
            self.store.acknowledged.append(message_id)
        elif reply.code >= 400:
            self.store.refused[message_id] = why or (
                f"{reply.code} after the data; RFC 5321 §4.2.5: the server \"MUST NOT make "
                "a(ny) subsequent attempt to deliver\" it")

    def step_valid(self, step: Step) -> None:
        verb = step.data.split(b" ", 1)[0].split(b"\r", 1)[0].upper()
        replies = self._replies(step.data, verb.decode("ascii", "replace"), 1, 1)
        if not replies:
            return
        reply = replies[0]
        if reply.code < 200 or 300 <= reply.code < 400:
            raise self._finding("state", f"{reply.code} to {verb!r}: intermediate replies "
                                "belong to DATA and AUTH only (RFC 5321 §4.3.2)")
        if verb in (b"EHLO", b"HELO", b"RSET"):
            self.in_transaction = False
        elif verb == b"MAIL" and reply.code == 250:
            self.in_transaction = True
        elif verb == b"RCPT" and reply.code // 100 == 2 and not self.in_transaction:
            raise self._finding("state", f"{reply.code} to RCPT outside a mail transaction "
                                "(RFC 5321 §4.1.4: commands out of order MUST get 503)")

    def _open_transaction(self, *, data: bool = True) -> bool:
        for line, what in ((b"RSET\r\n", "RSET"), (b"MAIL FROM:<fuzz@fuzz.test>\r\n", "MAIL"),
                           (f"RCPT TO:<{self.recipient}>\r\n".encode(), "RCPT")):
            reply = self._replies(line, what, 1, 1)
            if not reply or reply[0].code // 100 != 2 or self.driver is None:
                return False
        if not data:
            return True
        reply = self._replies(b"DATA\r\n", "DATA", 1, 1, settle=False)
        if not reply or self.driver is None:
            return False
        return reply[0].code == 354

    def _end_of_data(self, data: bytes, what: str, message_id: str) -> None:
        replies: list[Reply] = []
        self._send(data)
        while True:
            wait = None if not replies else self.quiet
            try:
                replies.append(self._read(what, wait=wait))
            except TargetTimeout:
                break
            if replies[-1].code in (221, 421):
                self.close()
                break
        if len(replies) > 1:
            raise self._finding("state", f"{len(replies)} replies to one message ({what}): "
                                "only CRLF \".\" CRLF ends the mail data (RFC 5321 §4.1.1.4, "
                                "§2.3.8; SMTP smuggling)")
        self._data_reply(replies[0] if replies else None, message_id)
        self.in_transaction = False

    def step_transaction(self, step: Step) -> None:
        if self._open_transaction():
            message_id, data = self._marked(step.data)
            self._end_of_data(ClientConnection.send_data(data), "the message", message_id)

    def step_smuggling(self, step: Step) -> None:
        if self._open_transaction():
            message_id, data = self._marked(self._smuggled(step.data))
            self._end_of_data(data + b"\r\n.\r\n", "a message with a bare end-of-data",
                              message_id)

    def step_starttls_injection(self, step: Step) -> None:
        assert self.driver is not None
        if "STARTTLS" not in self.driver.extensions or self.driver.tls:
            return
        driver = self.driver
        self._send(step.data + step.extra)
        first = self._read("STARTTLS")
        if first.code != 220:           # refused: the commands after it get their replies
            count = step.extra.count(b"\r\n")
            if not self._settle(first):
                self._replies(b"", "the commands after a refused STARTTLS", count,
                              count + step.extra.count(b"\n"))
            return
        try:
            with _io.timeout(driver.wire, self.quiet):
                plaintext = driver.wire.fill()
        except (TargetTimeout, TargetClosed):
            plaintext = False
        if plaintext or driver.wire.buffer:
            driver.wire.flush_unread()
            raise self._finding("state", "plaintext bytes after the 220 to STARTTLS: the "
                                "commands sent with it were answered (RFC 3207 §4.2; "
                                "CVE-2011-0411)")
        try:
            driver.wire.start_tls()
        except (TargetTimeout, TargetClosed):
            self.close()                    # the injected bytes broke the handshake: safe
            return
        driver.tls = True
        noop = self._replies(b"NOOP\r\n", "NOOP, the first command over TLS", 1, 1)
        if noop and noop[0].code != 250:
            raise self._finding("state", f"{noop[0].code} to the first NOOP over TLS: the "
                                "commands sent before the handshake were kept and answered "
                                "(RFC 3207 §4.2 MUST discard; CVE-2011-0411)")
        self._ehlo()

    # BDAT (RFC 3030) -----------------------------------------------------------------------

    def _chunk(self, size: int, octets: bytes, last: bool, what: str) -> Reply | None:
        """One ``BDAT size [LAST]`` and its octets; exactly one reply, 250 or a refusal
        (RFC 3030 §2: "A 250 response MUST be sent to each successful BDAT data block";
        there is no intermediate reply)."""
        line = b"BDAT %d%s\r\n" % (size, b" LAST" if last else b"")
        replies = self._replies(line + octets, what, 1, 1, settle=False)
        if not replies:
            return None
        reply = replies[0]
        if reply.code < 200 or 300 <= reply.code < 400:
            self._settle(reply)
            raise self._finding("state", f"{reply.code} to {what}: BDAT has no intermediate "
                                "reply (RFC 3030 §2: \"Once the receiver-SMTP receives the "
                                "specified number of octets, it will return a 250 reply "
                                "code\")")
        return reply

    def step_bdat(self, step: Step) -> bool:
        assert self.driver is not None
        if "CHUNKING" not in self.driver.extensions:
            return False
        if not self._open_transaction(data=False):
            return True
        plan = bdat_plan(step.extra)
        message_id, data = self._marked(step.data)
        shift = len(data) - len(step.data)
        cuts = [0] + [int(c) + shift for c in plan.get("cuts", "").split(",") if c] \
            + [len(data)]
        chunks = [data[a:b] for a, b in itertools.pairwise(cuts)]
        mix = plan.get("mix", "")
        lie, _, amount = plan.get("lie", "").partition(":")
        self.in_transaction = False
        for number, chunk in enumerate(chunks):
            last = number == len(chunks) - 1 and mix != "no_last"
            what = f"BDAT chunk {number + 1} of {len(chunks)} ({len(chunk)} octets)"
            if number == 0 and lie:
                self._bdat_lie(lie, int(amount or 1), chunk, last, what)
                return True
            reply = self._chunk(len(chunk), chunk, last, what)
            if reply is None or self.driver is None:
                return True
            if reply.code != 250:
                if last:
                    self._data_reply(reply, message_id)
                self._replies(b"RSET\r\n", "RSET after a refused chunk", 1, 1)
                return True
            if last:
                self._data_reply(reply, message_id)
            elif mix == "data" and number == 0:
                self._bdat_then_data()
                return True
        if mix == "no_last":
            self._replies(b"RSET\r\n", "RSET before BDAT LAST", 1, 1)
            self.store.refused[message_id] = (
                "BDAT chunks without LAST, then RSET; RFC 3030 §3: RSET \"clears all "
                "segments sent during that transaction\"")
        elif mix == "bdat_after_last":
            reply = self._chunk(3, b"abc", True, "BDAT after BDAT LAST")
            if reply is not None and reply.code != 503:
                raise self._finding("state", f"{reply.code} to BDAT after BDAT LAST (RFC 3030 "
                                    "§3: \"Any BDAT command sent after the BDAT LAST is "
                                    "illegal and MUST be replied to with a 503\")")
            self._replies(b"RSET\r\n", "RSET", 1, 1)
        return True

    def _bdat_then_data(self) -> None:
        replies = self._replies(b"DATA\r\n", "DATA after BDAT", 1, 1)
        if replies and replies[0].code != 503:
            raise self._finding("state", f"{replies[0].code} to DATA after BDAT in one "
                                "transaction (RFC 3030 §3: \"If a DATA statement is issued "
                                "after a BDAT for the current transaction, a 503 ... MUST be "
                                "issued\")")
        if self.driver is not None:
            self._replies(b"RSET\r\n", "RSET", 1, 1)

    def _bdat_lie(self, lie: str, amount: int, chunk: bytes, last: bool, what: str) -> None:
        """A chunk whose size is a lie. Declared longer: the target must wait for the
        missing octets (a reply before them reads the octets still to come as commands);
        declared shorter: the octets past the count are a command line of their own. The
        session is reopened afterwards (RFC 3030 §3: the state is indeterminate)."""
        assert self.driver is not None
        suffix = b" LAST" if last else b""
        if lie == "long":
            self._send(b"BDAT %d%s\r\n" % (len(chunk) + amount, suffix) + chunk)
            try:
                early = self._read(f"{what}, declared {amount} octets longer",
                                   wait=self.quiet * 2)
            except TargetTimeout:
                early = None
            if early is not None:
                raise self._finding("state", f"{early.code} to a BDAT chunk {amount} octet(s) "
                                    "before its declared size arrived (RFC 3030 §2: the "
                                    "reply comes \"Once the receiver-SMTP receives the "
                                    "specified number of octets\")")
            self._replies(b"x" * amount, f"{what} once its last octets came", 1, 1,
                          settle=False)
        else:
            cut = max(0, len(chunk) - amount)
            rest = chunk[cut:] + b"\r\n"
            lines = rest.count(b"\r\n")
            self._replies(b"BDAT %d%s\r\n" % (cut, suffix) + chunk[:cut] + rest,
                          f"{what}, declared {amount} octets shorter", 1 + lines,
                          1 + lines + rest.count(b"\n") + rest.count(b"\r"), settle=False)
        self.close()

    # AUTH (RFC 4954) -------------------------------------------------------------------------

    def step_auth(self, step: Step) -> None:
        """The exchange: the first line, then one answer per 334 ("*" once the step has
        none left). What the final reply must be, by what was sent (RFC 4954 §4): 501
        after "*" or a response that is not BASE64, 500 or 501 for a response line past
        12288 octets; never 235 (the credentials are made up)."""
        assert self.driver is not None
        mechanisms = self.driver.extensions.get("AUTH", "").upper().split()
        words = step.data.split()
        mechanism = words[1].decode("ascii", "replace").upper() if len(words) > 1 else ""
        answers = [line + b"\r\n" for line in step.extra.split(b"\r\n") if line]
        sent = [words[2]] if len(words) > 2 else []
        reply = self._expect_one(step.data, "AUTH")
        while reply.code == 334 and self.driver is not None:
            answer = answers.pop(0) if answers else b"*\r\n"
            sent.append(answer.rstrip(b"\r\n"))
            reply = self._expect_one(answer, "an AUTH response")
        if self.driver is None or reply.code in (221, 421):
            self.close()
            return
        if reply.code == 235:
            raise self._finding("state", "235 to AUTH with credentials the fuzzer made up "
                                "(RFC 4954 §6: 535 \"Authentication credentials invalid\")")
        if mechanism not in mechanisms or not sent:
            return                          # not offered: any refusal will do
        if sent[-1] == b"*" and len(sent) > 1 and reply.code != 501:
            raise self._finding("state", f"{reply.code} to \"*\" in an AUTH exchange (RFC "
                                "4954 §4: \"it MUST reject the AUTH command by sending a 501 "
                                "reply\")")
        overlong = any(len(s) > 12288 for s in sent)
        if overlong and reply.code not in (500, 501):
            raise self._finding("state", f"{reply.code} to an AUTH response line of over "
                                "12288 octets (RFC 4954 §4: a line longer than the "
                                "authentication buffer fails \"with the 500 reply\")")
        bad = [s for s in sent if s not in (b"*", b"=") and not is_base64(s)]
        if bad and not overlong and reply.code != 501 and not (
                reply.code == 500 and len(step.data) > 512):
            raise self._finding("state", f"{reply.code} to an AUTH response that is not "
                                f"BASE64 (RFC 4954 §4: \"If the server cannot [BASE64] "
                                "decode any client response, it MUST reject the AUTH "
                                "command with a 501 reply\")")

    def _lines(self, step: Step, extra_per_line: bool = True) -> None:
        data = step.data
        minimum = data.count(b"\r\n")
        maximum = minimum + data.count(b"\n") + data.count(b"\r") + len(data) // 500 + 1
        self._replies(data, f"a {step.family} line {data[:40]!r}", minimum,
                      maximum if extra_per_line else minimum)

    def step_one_byte_off(self, step: Step) -> None:
        self._lines(step)

    def step_nul_cr_lf(self, step: Step) -> None:
        self._lines(step)

    def step_overlong(self, step: Step) -> None:
        self._lines(step)

    def step_random_line(self, step: Step) -> None:
        self._lines(step)

    def step_pipelining_flood(self, step: Step) -> None:
        self._lines(step, extra_per_line=False)
        self.in_transaction = False
