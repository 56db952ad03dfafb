"""SMTP over the wire: the executor that runs a program against a target and judges
every reply. The families it runs (drawn in ``fuzz.wire.smtp_steps``):

Families (``FAMILIES``), drawn from ``fuzz.strategies.smtp_hostile`` (the hostile SMTP
strategies; this module frames them as steps and judges): ``valid`` (a command line),
``transaction`` (MAIL, RCPT, DATA and a message), ``one_byte_off``, ``nul_cr_lf``,
``overlong``, ``bad_parameter`` (broken ESMTP parameters), ``invalid_utf8``,
``random_line``, ``smuggling`` (fake ends of data and a smuggled transaction,
CVE-2023-51764/5/6), ``starttls_injection`` (plaintext behind STARTTLS, in the same
write, before the 220 or before the handshake: CVE-2011-0411 and the 2021 study),
``pipelining_flood``, ``rcpt_flood`` (past 100 recipients), ``bdat`` (RFC 3030, honest
chunks: cuts, LAST, DATA after BDAT, BDAT after LAST, no LAST then RSET), ``bdat_lie``
(chunk sizes that lie, chunks that look like commands) and ``auth`` (RFC 4954: "*",
broken BASE64 lines and answers, made-up credentials, lines past 12288 octets). BDAT and
STARTTLS steps are sent only when the last EHLO advertised the extension.

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

import contextlib
import itertools
import re
import uuid

from conformance.drivers import GrammarViolation, TargetClosed, TargetTimeout
from conformance.drivers.smtp import Reply, SmtpDriver, parse_ehlo_extensions
from conformance.targets import TargetSpec
from fuzz.wire import _io
from fuzz.wire.mailbox import ID_FIELD, SMUGGLED_FIELD, Mailbox, StoreCheck
from fuzz.wire.model import Finding, Step
from fuzz.wire.session import WireSession, is_base64
from fuzz.wire.smtp_steps import bdat_plan
from reference.smtp.connection import ClientConnection

_GREETING = re.compile(rb"(?im)^(?:HELO|EHLO)\b")


# --- the executor -------------------------------------------------------------------------


class SmtpSession(WireSession[SmtpDriver]):
    """Runs one program on fresh connections; raises ``Finding``."""

    driver_type = SmtpDriver
    unannounced_close = ("the connection closed without a 421 reply (RFC 5321 §3.8: a "
                         "server MUST NOT close it except after QUIT, with 421, or at a "
                         "timeout)")

    def __init__(self, spec: TargetSpec, *, hang_timeout: float, quiet: float,
                 mailbox: Mailbox | None = None, store_wait: float = 5.0,
                 lmtp: bool = False) -> None:
        super().__init__(spec, hang_timeout=hang_timeout, quiet=quiet)
        self.in_transaction = False
        # LMTP (RFC 2033): LHLO instead of EHLO (§4.1), and after the data one reply per
        # recipient accepted (§4.2); ``recipients`` counts them per transaction.
        self.lmtp = lmtp
        self.recipients = 1
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
        reply = self._expect_one(b"LHLO fuzz.test\r\n" if self.lmtp else b"EHLO fuzz.test\r\n",
                                 "LHLO" if self.lmtp else "EHLO")
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
        if not message_id:                  # not marked: not looked for
            return
        if reply.code == 250:
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
        if verb == b"HELO" and reply.code == 250:
            # RFC 5321 §4.1.1.1: after HELO the session has no service extensions.
            assert self.driver is not None
            self.driver.extensions = {}
        elif verb == b"EHLO" and reply.code == 250:
            assert self.driver is not None
            self.driver.extensions = parse_ehlo_extensions(reply)
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
        if len(replies) > (self.recipients if self.lmtp else 1):
            self._smuggled_stored(len(replies))
            raise self._finding("state", f"{len(replies)} replies to one message ({what}): "
                                "only CRLF \".\" CRLF ends the mail data (RFC 5321 §4.1.1.4, "
                                "§2.3.8; SMTP smuggling)")
        self._data_reply(replies[0] if replies else None, message_id)
        self.in_transaction = False

    def _smuggled_stored(self, replies: int) -> None:
        """After several replies to one message: when the mailbox shows the smuggled
        message, that (the stronger evidence) is the finding."""
        if self.mailbox is None or not self.store.smuggling:
            return
        self.close()
        broken = self.store.check(self.mailbox, self.store_wait)
        if broken is not None and broken[0] == "smuggled":
            raise self._finding("smuggled", f"{broken[1]}; {replies} replies to the one "
                                "message sent")

    def step_transaction(self, step: Step) -> None:
        if self._open_transaction():
            message_id, data = self._marked(step.data)
            self._end_of_data(ClientConnection.send_data(data), "the message", message_id)

    def step_smuggling(self, step: Step) -> None:
        """smtp_hostile.smuggling_data(): content, a fake end of data, a smuggled
        transaction, and the one real end. The content is the body (an empty line after
        the id), so no smuggled mark can be read as a header of the real message."""
        if self._open_transaction():
            message_id, data = self._marked(b"\r\n" + self._smuggled(step.data))
            self._end_of_data(data, "a message with a fake end of data", message_id)

    def step_starttls_injection(self, step: Step) -> bool:
        """STARTTLS with plaintext behind it (smtp_hostile.starttls_injections): in the
        same write, after the line before the 220, or after the 220 before the
        handshake (``step.variant``). Nothing of it may be answered (RFC 3207 §4.2)."""
        assert self.driver is not None
        if "STARTTLS" not in self.driver.extensions or self.driver.tls:
            return False
        driver = self.driver
        if step.variant == "before-handshake":
            self._send(step.data)
        elif step.variant == "before-reply":
            self._send(step.data)
            self._send(step.extra)
        else:
            self._send(step.data + step.extra)
        first = self._read("STARTTLS")
        if first.code != 220:     # refused: the state after the injected octets is theirs
            self._settle(first)
            self.close()
            return True
        if step.variant == "before-handshake":
            self._send(step.extra)
        try:
            with _io.timeout(driver.wire, self.quiet):
                plaintext = driver.wire.fill()
        except (TargetTimeout, TargetClosed):
            plaintext = False
        if (plaintext or driver.wire.buffer) and step.variant != "before-handshake":
            driver.wire.flush_unread()
            raise self._finding("state", "plaintext bytes after the 220 to STARTTLS: the "
                                "commands sent with it were answered (RFC 3207 §4.2; "
                                "CVE-2011-0411)")
        try:
            driver.wire.start_tls()
        except (TargetTimeout, TargetClosed):
            self.close()                    # the injected bytes broke the handshake: safe
            return True
        driver.tls = True
        try:
            noop = self._replies(b"NOOP\r\n", "NOOP, the first command over TLS", 1, 1)
        except Finding as finding:
            # TLS 1.3: the client's handshake is done before the server has read it; a
            # server whose handshake the injected octets broke closes here. Safe.
            if finding.kind != "closed":
                raise
            self.close()
            return True
        if noop and noop[0].code != 250:
            raise self._finding("state", f"{noop[0].code} to the first NOOP over TLS: the "
                                "commands sent before the handshake were kept and answered "
                                "(RFC 3207 §4.2 MUST discard; CVE-2011-0411)")
        self._ehlo()
        return True

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
        self.in_transaction = False
        for number, chunk in enumerate(chunks):
            last = number == len(chunks) - 1 and mix != "no_last"
            what = f"BDAT chunk {number + 1} of {len(chunks)} ({len(chunk)} octets)"
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

    def step_bdat_lie(self, step: Step) -> bool:
        """smtp_hostile.bdat_chunk_lies(): ``BDAT <declared>`` with more or fewer octets
        than declared, chunk octets that look like commands, then ``step.extra``.
        Declared more: the target must wait for the missing octets (a reply before them
        would read the octets still to come as commands); they are then sent, as "x".
        Declared fewer: what is past the count is command lines. Either way each line
        gets one reply; the session is reopened afterwards (RFC 3030 §3: the state after
        a failed BDAT is indeterminate)."""
        assert self.driver is not None
        if "CHUNKING" not in self.driver.extensions:
            return False
        if not self._open_transaction(data=False):
            return True
        declared = int(step.variant)
        header, _, sent = step.data.partition(b"\r\n")
        what = f"{header.decode('ascii', 'replace')} with {len(sent)} octets"
        self.in_transaction = False
        if declared > len(sent):
            self._send(step.data)
            try:
                early = self._read(what, wait=self.quiet * 2)
            except TargetTimeout:
                early = None
            if early is not None:
                raise self._finding("state", f"{early.code} to a BDAT chunk before its "
                                    "declared size arrived (RFC 3030 §2: the reply comes "
                                    "\"Once the receiver-SMTP receives the specified number "
                                    "of octets\")")
            rest = b"x" * (declared - len(sent)) + step.extra
            lines = step.extra.count(b"\r\n")
            self._replies(rest, f"{what} once its last octets came", 1 + lines,
                          1 + lines + step.extra.count(b"\n"))
        else:
            rest = sent[declared:] + step.extra
            tail = b"\r\n" if rest and not rest.endswith(b"\r\n") else b""
            rest += tail
            lines = rest.count(b"\r\n")
            self._replies(step.data + step.extra + tail, what, 1 + lines,
                          1 + lines + rest.count(b"\n") + rest.count(b"\r"))
        self.close()
        return True

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
        # A line with a bare CR or LF, or a NUL, is refused as a line (RFC 5321 §2.3.8):
        # 500 then, like an initial response past the 512 octets of a command line.
        line_error = len(step.data) > 512 or any(c in s for s in sent for c in b"\r\n\0")
        if bad and not overlong and reply.code != 501 and not (
                reply.code == 500 and line_error):
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
        if self.driver is not None and _GREETING.search(data):
            # A HELO among the lines leaves the session without extensions (RFC 5321
            # §4.1.1.1), an EHLO with its own: greet again to know which.
            self._ehlo()

    def step_one_byte_off(self, step: Step) -> None:
        self._lines(step)

    def step_nul_cr_lf(self, step: Step) -> None:
        self._lines(step)

    def step_overlong(self, step: Step) -> None:
        self._lines(step)

    def step_random_line(self, step: Step) -> None:
        self._lines(step)

    def step_invalid_utf8(self, step: Step) -> None:
        self._lines(step)

    def step_bad_parameter(self, step: Step) -> None:
        """MAIL/RCPT with broken ESMTP parameters (smtp_hostile.bad_parameter_lines): one
        reply, and never 2xx (RFC 5321 §4.1.1.11: an unrecognized parameter gets 555,
        RFC 5321 §4.1.2 grammar: a malformed one 501; RFC 1870, 3461, 4954, 6152, 6531:
        values outside the extension's own)."""
        replies = self._replies(step.data, "MAIL/RCPT with a broken parameter", 1,
                                1 + step.data.count(b"\n") + step.data.count(b"\r") - 1)
        if replies and replies[0].code // 100 == 2:
            raise self._finding("state", f"{replies[0].code} to MAIL/RCPT with a broken ESMTP "
                                "parameter (RFC 5321 §4.1.1.11: a parameter the server does "
                                "not recognize or cannot implement gets 555; a malformed "
                                "one 501)")
        verb = step.data[:4].upper()
        self.in_transaction = self.in_transaction and verb != b"MAIL"
        if replies and verb == b"MAIL" and replies[0].code == 250:
            self.in_transaction = True

    def step_rcpt_flood(self, step: Step) -> None:
        """MAIL, more RCPTs than the 100 a server must take (smtp_hostile.huge_rcpt_counts;
        RFC 5321 §4.5.3.1.8, §4.5.3.1.10: then 452), and DATA with a message, RSET, or
        nothing: one reply per line."""
        commands, data, message = step.data.partition(b"DATA\r\n")
        self._replies(b"RSET\r\n", "RSET", 1, 1)
        if self.driver is None:
            return
        count = commands.count(b"\r\n")
        replies = self._replies(commands, f"{count} pipelined MAIL/RCPT", count, count)
        if self.driver is None:
            return
        accepted = sum(r.code // 100 == 2 for r in replies[1:])
        if data and accepted:
            reply = self._replies(data, "DATA", 1, 1, settle=False)
            if reply and reply[0].code == 354 and self.driver is not None:
                self.recipients = accepted
                try:
                    self._end_of_data(message, "the message to many recipients", "")
                finally:
                    self.recipients = 1
        self.in_transaction = False

    def step_pipelining_flood(self, step: Step) -> None:
        self._lines(step, extra_per_line=False)
        self.in_transaction = False
