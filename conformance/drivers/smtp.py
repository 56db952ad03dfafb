"""A byte-exact SMTP client for conformance tests, with a transcript.

Every reply is framed and parsed by the reference client core (``reference.smtp``:
``ClientConnection`` -> ``parse_reply_line`` / ``assemble_reply``), strictly: a line
without CRLF (RFC 5321 §2.3.8), over 512 octets (§4.5.3.1.5), with a bad reply code or a
control character (§4.2), or a multiline reply whose lines disagree on the code (§4.2.1)
raises ``GrammarViolation``.

    driver = SmtpDriver.connect(spec)          # reads the greeting: driver.greeting
    reply = driver.ehlo()                      # driver.extensions {"PIPELINING": "", ...}
    reply = driver.command("MAIL FROM:<a@example.test>")
    reply = driver.data(b"Subject: x\\r\\n\\r\\nbody\\r\\n")   # dot-stuffed here
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass

from conformance.drivers._wire import (
    DriverError,
    GrammarViolation,
    TargetClosed,
    Wire,
    WireDriver,
)
from conformance.targets import TargetSpec
from reference.errors import RemoteProtocolError
from reference.smtp.connection import NEED_DATA, ClientConnection

# RFC 3463 §2: status-code = class "." subject "." detail; class = "2" / "4" / "5";
# subject = 1*3digit; detail = 1*3digit. RFC 2034 §3: it prefaces the text, followed by
# one or more spaces (or ends the line).
_ENHANCED = re.compile(r"([245])\.([0-9]{1,3})\.([0-9]{1,3})(?: +|$)")
# RFC 5321 §4.1.1.1: ehlo-line = ehlo-keyword *( SP ehlo-param )
#   ehlo-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-"); ehlo-param = 1*(%d33-126)
_EHLO_LINE = re.compile(r"([A-Za-z0-9][A-Za-z0-9-]*)((?: [\x21-\x7e]+)*)")


@dataclass(frozen=True)
class Reply:
    """One reply: ``lines`` are the texts after the code and separator, verbatim
    (enhanced status code included); ``enhanced`` is the RFC 3463 code of the first line
    ("2.1.0") when the last EHLO advertised ENHANCEDSTATUSCODES and the line has one."""

    code: int
    enhanced: str | None
    lines: list[str]
    raw: bytes

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def __str__(self) -> str:
        return self.raw.decode("utf-8", "replace").rstrip("\r\n")


class SmtpDriver(WireDriver):
    """One SMTP connection. ``timeout`` bounds every connect, read and write."""

    def __init__(self, spec: TargetSpec, wire: Wire) -> None:
        super().__init__(wire)
        self.spec = spec
        self._client = ClientConnection()
        self.extensions: dict[str, str] = {}
        self.enhanced_status_codes = False
        self.greeting: Reply | None = None
        self.tls = spec.tls == "implicit"

    @classmethod
    def connect(cls, spec: TargetSpec, timeout: float = 10.0, *,
                read_greeting: bool = True) -> SmtpDriver:
        driver = cls(spec, cls.open_wire(spec, timeout))
        if read_greeting:
            try:
                driver.greeting = driver.read_reply()
            except BaseException:
                driver.close()
                raise
        return driver

    # --- the wire -----------------------------------------------------------------------

    def read_reply(self) -> Reply:
        """The next complete reply, parsed strictly."""
        raw = bytearray()
        while True:
            line = self.wire.take_line()
            if line is None:
                if len(self.wire.buffer) > self._client.max_reply_line:
                    line = bytes(self.wire.buffer)   # the core reports it as too long
                    self.wire.buffer.clear()
                elif not self.wire.fill():
                    self.wire.flush_unread()
                    if raw:
                        self.wire.received(bytes(raw))
                    raise TargetClosed("connection closed" + (" in the middle of a reply"
                                                             if raw else " (no reply)"))
                else:
                    continue
            raw += line
            self._client.receive_data(line)
            try:
                result = self._client.next_reply()
            except RemoteProtocolError as exc:
                self.wire.received(bytes(raw))
                self._client = ClientConnection()
                raise GrammarViolation(f"SMTP reply: {exc}", bytes(raw)) from None
            if result is NEED_DATA:
                continue
            self.wire.received(bytes(raw))
            enhanced = None
            if self.enhanced_status_codes:
                match = _ENHANCED.match(result.lines[0])
                if match and match.group(1) == str(result.code)[0]:
                    enhanced = ".".join(match.groups())
            return Reply(result.code, enhanced, list(result.lines), bytes(raw))

    # --- commands -----------------------------------------------------------------------

    def command(self, line: str | bytes) -> Reply:
        """Send ``line`` + CRLF and read one reply."""
        data = line.encode("utf-8") if isinstance(line, str) else line
        self.send(data + b"\r\n")
        return self.read_reply()

    def ehlo(self, name: str = "conformance.test") -> Reply:
        """EHLO; on 250 ``extensions`` maps each keyword (upper case) to its parameters."""
        reply = self.command(f"EHLO {name}")
        if reply.code == 250:
            self.extensions = parse_ehlo_extensions(reply)
            # RFC 2034 §3: with ENHANCEDSTATUSCODES the server prefixes its replies.
            self.enhanced_status_codes = "ENHANCEDSTATUSCODES" in self.extensions
        return reply

    def helo(self, name: str = "conformance.test") -> Reply:
        return self.command(f"HELO {name}")

    def starttls(self) -> Reply:
        """STARTTLS; on 220 the TLS handshake. RFC 3207 §4.2: the client "MUST discard
        any knowledge obtained from the server" (``extensions`` is emptied); bytes the
        server sent after its 220, before the handshake, are a GrammarViolation (they
        would be read as if protected: CVE-2011-0411)."""
        reply = self.command("STARTTLS")
        if reply.code == 220:
            if self.wire.buffer:
                unread = bytes(self.wire.buffer)
                self.wire.flush_unread()
                raise GrammarViolation("bytes after the 220 reply to STARTTLS, before TLS "
                                       "(RFC 3207 §4.2)", unread)
            self.wire.start_tls()
            self.tls = True
            self.extensions = {}
            self.enhanced_status_codes = False
        return reply

    def auth_plain(self, user: str, password: str, authzid: str = "") -> Reply:
        """AUTH PLAIN with an initial response (RFC 4954 §4, RFC 4616 §2:
        message = [authzid] UTF8NUL authcid UTF8NUL passwd)."""
        token = base64.b64encode(f"{authzid}\0{user}\0{password}".encode()).decode()
        return self.command(f"AUTH PLAIN {token}")

    def mail_from(self, reverse_path: str, parameters: str = "") -> Reply:
        return self.command(f"MAIL FROM:<{reverse_path}>" + (f" {parameters}"
                                                             if parameters else ""))

    def rcpt_to(self, forward_path: str, parameters: str = "") -> Reply:
        return self.command(f"RCPT TO:<{forward_path}>" + (f" {parameters}"
                                                           if parameters else ""))

    def data(self, message: bytes) -> Reply:
        """DATA; after a 354 the message, dot-stuffed and ended with CRLF.CRLF (RFC 5321
        §4.5.2, done by the reference client core), and its reply. Any other reply to
        DATA is returned as it is."""
        reply = self.command("DATA")
        if reply.code != 354:
            return reply
        self.send(ClientConnection.send_data(message))
        return self.read_reply()

    def quit(self) -> Reply:
        return self.command("QUIT")


def parse_ehlo_extensions(reply: Reply) -> dict[str, str]:
    """RFC 5321 §4.1.1.1: the lines after the first of a 250 reply to EHLO, each an
    ``ehlo-line``; a line that is not one is a GrammarViolation."""
    extensions: dict[str, str] = {}
    for line in reply.lines[1:]:
        match = _EHLO_LINE.fullmatch(line)
        if match is None:
            raise GrammarViolation(f"EHLO reply line is not an ehlo-line (RFC 5321 "
                                   f"§4.1.1.1): {line!r}", reply.raw)
        extensions[match.group(1).upper()] = match.group(2).strip()
    return extensions


__all__ = ["DriverError", "GrammarViolation", "Reply", "SmtpDriver", "parse_ehlo_extensions"]
