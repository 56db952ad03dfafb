"""SMTP over the wire: the rules a program is drawn from, and the executor that runs a
program against a target and judges every reply.

Families (``FAMILIES``): ``valid`` (one command of ``fuzz.strategies.smtp``),
``transaction`` (MAIL, RCPT, DATA and a message), ``one_byte_off``, ``nul_cr_lf``,
``overlong``, ``random_line``, ``smuggling`` (end-of-data variants, CVE-2023-51764/5/6),
``starttls_injection`` (CVE-2011-0411) and ``pipelining_flood``.

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
  §4.3.2) and AUTH (334, RFC 4954 §4).
"""

from __future__ import annotations

import contextlib

from hypothesis import strategies as st

from conformance.drivers import GrammarViolation, TargetClosed, TargetTimeout
from conformance.drivers.smtp import Reply, SmtpDriver
from conformance.targets import TargetSpec
from fuzz.strategies import smtp as smtp_strategies
from fuzz.wire import _io
from fuzz.wire.model import Program, Step
from fuzz.wire.session import WireSession
from reference.smtp.commands import Auth, Bdat, Data, Quit, StartTls
from reference.smtp.connection import ClientConnection
from reference.smtp.serializer import write_command

FAMILIES = ("valid", "transaction", "one_byte_off", "nul_cr_lf", "overlong", "random_line",
            "smuggling", "starttls_injection", "pipelining_flood")

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
    )


def programs(max_steps: int = 8) -> st.SearchStrategy[Program]:
    return st.lists(steps(), min_size=1, max_size=max_steps)


# --- the executor -------------------------------------------------------------------------


class SmtpSession(WireSession[SmtpDriver]):
    """Runs one program on fresh connections; raises ``Finding``."""

    driver_type = SmtpDriver
    unannounced_close = ("the connection closed without a 421 reply (RFC 5321 §3.8: a "
                         "server MUST NOT close it except after QUIT, with 421, or at a "
                         "timeout)")

    def __init__(self, spec: TargetSpec, *, hang_timeout: float, quiet: float) -> None:
        super().__init__(spec, hang_timeout=hang_timeout, quiet=quiet)
        self.in_transaction = False
        self.acknowledged = 0
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
        self._expect_one(b"EHLO fuzz.test\r\n", "EHLO")
        self.in_transaction = False
        return driver

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

    def run(self, program: Program, on_step: object = None) -> None:
        self.connect()
        try:
            for step in program:
                if callable(on_step):
                    on_step(step)
                if self.driver is None:
                    self.connect()
                getattr(self, f"step_{step.family}")(step)
        finally:
            self.end()

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

    def _open_transaction(self) -> bool:
        for line, what in ((b"RSET\r\n", "RSET"), (b"MAIL FROM:<fuzz@fuzz.test>\r\n", "MAIL"),
                           (f"RCPT TO:<{self.recipient}>\r\n".encode(), "RCPT")):
            reply = self._replies(line, what, 1, 1)
            if not reply or reply[0].code // 100 != 2 or self.driver is None:
                return False
        reply = self._replies(b"DATA\r\n", "DATA", 1, 1, settle=False)
        if not reply or self.driver is None:
            return False
        return reply[0].code == 354

    def _end_of_data(self, data: bytes, what: str) -> None:
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
        if replies and replies[0].code == 250:
            self.acknowledged += 1
        self.in_transaction = False

    def step_transaction(self, step: Step) -> None:
        if self._open_transaction():
            self._end_of_data(ClientConnection.send_data(step.data), "the message")

    def step_smuggling(self, step: Step) -> None:
        if self._open_transaction():
            self._end_of_data(step.data + b"\r\n.\r\n", "a message with a bare end-of-data")

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
        self._replies(b"EHLO fuzz.test\r\n", "EHLO over TLS", 1, 1)

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
