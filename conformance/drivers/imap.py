"""A byte-exact IMAP client for conformance tests, with a transcript.

Every response is framed by ``reference.imap.framing.ResponseReader`` and parsed by
``reference.imap.parser_responses.parse_response`` (RFC 9051 §9), strictly; on top the
driver checks what a client can see of §7 (as ``reference.imap.client_connection`` does):
the greeting's form, tags, continuation requests nobody waits for, ENABLED without ENABLE,
EXPUNGE during a non-UID FETCH/STORE/SEARCH. Anything else raises ``GrammarViolation``.

Commands are given as text (the test decides every byte); the driver adds the tag and CRLF
and sends literals (RFC 9051 §4.3): synchronizing ``{n}`` after the server's "+", or
``{n+}`` when LITERAL+ is advertised (RFC 7888 §3). In ``command``'s text, ``{}`` marks
where each literal goes; without any mark the literals follow the text, space-separated.

    imap = ImapDriver.connect(spec)        # imap.greeting, imap.capabilities
    imap.login("alice", "secret")          # refreshes capabilities (RFC 9051 §6.2.3)
    done = imap.command("SELECT INBOX")    # Completion(tagged, untagged, raw)
    done = imap.append("INBOX", b"Subject: x\\r\\n\\r\\nhi\\r\\n", flags=("\\\\Seen",))
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from conformance.drivers._wire import (
    DriverError,
    GrammarViolation,
    TargetClosed,
    Wire,
    WireDriver,
)
from conformance.targets import TargetSpec
from reference.imap.capabilities import Modes
from reference.imap.framing import ResponseReader
from reference.imap.limits import ImapLimits
from reference.imap.parser_responses import ResponseContext, parse_response
from reference.imap.responses import (
    CapabilityData,
    Condition,
    Continuation,
    EnabledData,
    ExpungeData,
    ImapRemoteProtocolError,
    NamespaceData,
    Response,
    ResponseCode,
    StatusResponse,
)
from reference.imap.sequence_sets import SequenceSet, SequenceSetError
from reference.wire.buffer import ReceiveBuffer

T = TypeVar("T")


@dataclass(frozen=True)
class Completion:
    """A command's result: its tagged status, the untagged responses that came while it
    ran (in order), and every byte received for it."""

    tagged: StatusResponse
    untagged: list[Response]
    raw: bytes

    @property
    def condition(self) -> Condition:
        return self.tagged.condition

    @property
    def ok(self) -> bool:
        return self.tagged.condition is Condition.OK

    def of_type(self, kind: type[T]) -> list[T]:
        """The untagged responses of one type, e.g. ``done.of_type(FetchData)``."""
        return [r for r in self.untagged if isinstance(r, kind)]

    def __str__(self) -> str:
        return self.raw.decode("utf-8", "replace")


class ImapDriver(WireDriver):
    """One IMAP connection. ``timeout`` bounds every connect, read and write."""

    def __init__(self, spec: TargetSpec, wire: Wire, limits: ImapLimits | None = None) -> None:
        super().__init__(wire)
        self.spec = spec
        self.limits = limits or ImapLimits()
        self.modes = Modes()
        self.greeting: StatusResponse | None = None
        self.last_raw = b""
        self._buffer = ReceiveBuffer()
        self._reader = ResponseReader(self.limits)
        self._in_flight: dict[str, str] = {}   # tag -> command name (upper case)
        self._waiting_literal = False
        self._early: list[Response] = []     # untagged responses before a literal's "+"
        self._next_tag = 1

    @classmethod
    def connect(cls, spec: TargetSpec, timeout: float = 10.0, *,
                read_greeting: bool = True) -> ImapDriver:
        driver = cls(spec, cls.open_wire(spec, timeout))
        if read_greeting:
            try:
                driver.read_greeting()
            except BaseException:
                driver.close()
                raise
        return driver

    @property
    def capabilities(self) -> frozenset[str]:
        """What the server advertised last (upper case): by CAPABILITY responses and
        CAPABILITY response codes."""
        return self.modes.advertised or frozenset()

    @property
    def in_flight(self) -> dict[str, str]:
        """Commands sent and not yet ended: tag -> command name (UID FETCH: "FETCH")."""
        return dict(self._in_flight)

    @property
    def enabled(self) -> frozenset[str]:
        return self.modes.enabled

    # --- the wire -----------------------------------------------------------------------

    def read_greeting(self) -> StatusResponse:
        response = self.read_response()
        # RFC 9051 §9: greeting = "*" SP (resp-cond-auth / resp-cond-bye) CRLF
        if (not isinstance(response, StatusResponse) or response.tag is not None
                or response.condition not in (Condition.OK, Condition.PREAUTH,
                                              Condition.BYE)):
            raise GrammarViolation("the greeting must be an untagged OK, PREAUTH or BYE "
                                   "(RFC 9051 §9 greeting)", self.last_raw)
        self.greeting = response
        self._learn_code(response)
        return response

    def read_response(self) -> Response:
        """The next response, parsed and judged; its bytes are in ``last_raw``. A tagged
        response ends its command (``in_flight`` no longer has the tag)."""
        raw = bytearray()
        while True:
            segments = self._frame(raw)
            if segments is not None:
                break
        self.last_raw = bytes(raw)
        self.wire.received(self.last_raw)
        authenticating = any(v == "AUTHENTICATE" for v in self._in_flight.values())
        try:
            response = parse_response(segments, ResponseContext(
                self.modes, self.limits,
                authenticating=authenticating and not self._waiting_literal))
        except ImapRemoteProtocolError as exc:
            raise GrammarViolation(str(exc), self.last_raw) from None
        if self.greeting is not None:
            self._judge(response)
        return response

    def _frame(self, raw: bytearray) -> list[bytes] | None:
        """Move received bytes into the framing core until it has one response."""
        try:
            segments = self._reader.read(self._buffer)
        except ImapRemoteProtocolError as exc:
            self.wire.received(bytes(raw))
            raise GrammarViolation(str(exc), bytes(raw)) from None
        if segments is not None:
            return segments
        # Feed what the wire has: a whole line, or (inside a literal) everything.
        line = self.wire.take_line()
        if line is None:
            if self.wire.buffer:
                chunk = bytes(self.wire.buffer)
                self.wire.buffer.clear()
                raw += chunk
                self._buffer.feed(chunk)
                return None
            if not self.wire.fill():
                self.wire.received(bytes(raw))
                raise TargetClosed("connection closed" + (" in the middle of a response"
                                                         if raw else ""))
            return None
        raw += line
        self._buffer.feed(line)
        return None

    def _judge(self, response: Response) -> None:
        """What RFC 9051 §7 lets a client check, beyond the grammar."""
        if isinstance(response, StatusResponse):
            if response.condition is Condition.PREAUTH:
                raise GrammarViolation("PREAUTH after the greeting (RFC 9051 §7.1.4: only "
                                       "as a greeting)", self.last_raw)
            self._learn_code(response)
            # RFC 9051 §2.2.2: the tagged response ends the command with that tag.
            if response.tag is not None and self._in_flight.pop(response.tag, None) is None:
                raise GrammarViolation(f"tagged response for tag {response.tag!r}, which no "
                                       "command in progress has (RFC 9051 §2.2.2)",
                                       self.last_raw)
        elif isinstance(response, Continuation):
            if not (self._waiting_literal or any(
                    v in ("AUTHENTICATE", "IDLE") for v in self._in_flight.values())):
                raise GrammarViolation("continuation request with no literal, AUTHENTICATE "
                                       "or IDLE waiting for one (RFC 9051 §7.6)", self.last_raw)
        elif isinstance(response, CapabilityData):
            self.modes = self.modes.advertise(response.capabilities)
        elif isinstance(response, EnabledData):
            if "ENABLE" not in self._in_flight.values():
                raise GrammarViolation("ENABLED without ENABLE (RFC 9051 §7.2.1: it \"occurs "
                                       "as a result of an ENABLE command\")", self.last_raw)
            self.modes = self.modes.enable(response.capabilities)
        elif isinstance(response, ExpungeData) and any(
                v in ("FETCH", "STORE", "SEARCH") for v in self._in_flight.values()):
            raise GrammarViolation("EXPUNGE while responding to a FETCH, STORE or "
                                       "SEARCH (RFC 9051 §7.5.1 MUST NOT)", self.last_raw)

    def _learn_code(self, response: StatusResponse) -> None:
        if response.code is ResponseCode.CAPABILITY and isinstance(response.code_data, tuple):
            self.modes = self.modes.advertise(response.code_data)

    # --- commands -----------------------------------------------------------------------

    def new_tag(self) -> str:
        tag = f"C{self._next_tag:03d}"
        self._next_tag += 1
        return tag

    def start(self, text: str | bytes, *, literals: Sequence[bytes] = (),
              tag: str | None = None) -> tuple[str, Completion | None]:
        """Send a command (tag, text, literals, CRLF) without waiting for its end.
        Returns the tag, and a Completion when the server ended the command early (a
        tagged NO/BAD instead of "+" for a synchronizing literal)."""
        tag = tag or self.new_tag()
        data = text.encode("utf-8") if isinstance(text, str) else text
        words = data.upper().split(b" ", 2)
        # "UID FETCH" stays apart from "FETCH": RFC 9051 §7.5.1 lets an EXPUNGE come
        # during the UID forms.
        verb = b"UID " + words[1] if words[0] == b"UID" and len(words) > 1 else words[0]
        self._in_flight[tag] = verb.decode("ascii", "replace")
        if literals and b"{}" not in data:
            data += b" {}" * len(literals)
        pieces = data.split(b"{}") if literals else [data]
        if len(pieces) != len(literals) + 1:
            raise ValueError("as many {} marks as literals, or none")
        # RFC 7888 §3: with LITERAL+ the client may send every literal as {n+} at once.
        plus = "LITERAL+" in self.capabilities
        out = tag.encode() + b" " + pieces[0]
        self._early = []
        for literal, after in zip(literals, pieces[1:], strict=True):
            self.send(out + b"{%d%s}\r\n" % (len(literal), b"+" if plus else b""))
            if not plus:
                early = self._await_continuation(tag)
                if early is not None:
                    return tag, early
            out = literal + after
        self.send(out + b"\r\n")
        return tag, None

    def _await_continuation(self, tag: str) -> Completion | None:
        """RFC 9051 §4.3: a synchronizing literal waits for "+"; the command's tagged
        response instead is a refusal (returned as its Completion)."""
        self._waiting_literal = True
        raw = bytearray()
        try:
            while True:
                response = self.read_response()
                raw += self.last_raw
                if isinstance(response, Continuation):
                    return None
                if isinstance(response, StatusResponse) and response.tag == tag:
                    return Completion(response, self._early, bytes(raw))
                self._early.append(response)
        finally:
            self._waiting_literal = False

    def finish(self, tag: str) -> Completion:
        """Read responses until the tagged one for ``tag``."""
        untagged, self._early = self._early, []
        raw = bytearray()
        while True:
            response = self.read_response()
            raw += self.last_raw
            if isinstance(response, StatusResponse) and response.tag is not None:
                if response.tag == tag:
                    return Completion(response, untagged, bytes(raw))
                continue    # another command's end (a test that pipelines)
            untagged.append(response)

    def command(self, text: str | bytes, *, literals: Sequence[bytes] = ()) -> Completion:
        """A whole command: sent with a fresh tag, read to its tagged response."""
        tag, early = self.start(text, literals=literals)
        return early if early is not None else self.finish(tag)

    def capability(self) -> Completion:
        return self.command("CAPABILITY")

    def login(self, user: str, password: str) -> Completion:
        """LOGIN; on OK the capabilities are refreshed (from the OK's CAPABILITY code, or
        by a CAPABILITY command: RFC 9051 §6.2.3 "capabilities may change")."""
        args, literals = _astrings(user, password)
        done = self.command("LOGIN " + args, literals=literals)
        if done.ok and done.tagged.code is not ResponseCode.CAPABILITY:
            self.capability()
        return done

    def starttls(self) -> Completion:
        """STARTTLS; on OK the TLS handshake, then CAPABILITY (RFC 9051 §6.2.1: the
        client MUST discard cached capability information)."""
        done = self.command("STARTTLS")
        if done.ok:
            if self.wire.buffer:
                unread = bytes(self.wire.buffer)
                self.wire.flush_unread()
                raise GrammarViolation("bytes after the OK to STARTTLS, before TLS "
                                       "(RFC 9051 §6.2.1)", unread)
            self.wire.start_tls()
            self.modes = Modes()
            self.capability()
        return done

    def select(self, mailbox: str) -> Completion:
        args, literals = _astrings(mailbox)
        return self.command("SELECT " + args, literals=literals)

    def examine(self, mailbox: str) -> Completion:
        args, literals = _astrings(mailbox)
        return self.command("EXAMINE " + args, literals=literals)

    def create(self, mailbox: str) -> Completion:
        args, literals = _astrings(mailbox)
        return self.command("CREATE " + args, literals=literals)

    def delete(self, mailbox: str) -> Completion:
        args, literals = _astrings(mailbox)
        return self.command("DELETE " + args, literals=literals)

    def append(self, mailbox: str, message: bytes, flags: Iterable[str] = (),
               date_time: str | None = None) -> Completion:
        """APPEND mailbox [(flags)] [date-time] literal (RFC 9051 §6.3.12)."""
        args, literals = _astrings(mailbox)
        flag_list = " (" + " ".join(flags) + ")" if flags else ""
        when = f' "{date_time}"' if date_time else ""
        return self.command(f"APPEND {args}{flag_list}{when} {{}}",
                            literals=[*literals, message])

    def logout(self) -> Completion:
        return self.command("LOGOUT")

    def personal_prefix(self) -> str:
        """Where this account creates mailboxes: the prefix of the first personal
        namespace (RFC 9051 §6.3.10: "just use the first Personal Namespace"; e.g.
        "INBOX." on Cyrus without altnamespace), "" without NAMESPACE or IMAP4rev2."""
        if not {"NAMESPACE", "IMAP4REV2"} & self.capabilities:
            return ""
        found = self.command("NAMESPACE").of_type(NamespaceData)
        personal = found[0].personal if found else None
        return personal[0].prefix if personal else ""


# RFC 9051 §9: quoted = DQUOTE *QUOTED-CHAR DQUOTE; QUOTED-CHAR = <any TEXT-CHAR except
# quoted-specials> / "\" quoted-specials; TEXT-CHAR excludes CR and LF.
# A set a server sends back in these suites (COPYUID, APPENDUID, ESEARCH ALL) names a few
# dozen numbers; anything beyond this is the server's error, said so rather than listed
# (a hostile "1:4294967295" is a dozen octets and four billion numbers).
MAX_LISTED_NUMBERS = 100_000


def listed_numbers(sequence_set: SequenceSet, what: str) -> list[int]:
    """The numbers of a set the server sent, in its order (RFC 4315 §3: a uid-set lists
    UIDs "in the order they were transmitted"); AssertionError naming ``what`` for "*"
    or more than MAX_LISTED_NUMBERS of them."""
    try:
        count = sequence_set.count()
    except SequenceSetError as error:
        raise AssertionError(f"{what}: {sequence_set} ({error})") from None
    assert count <= MAX_LISTED_NUMBERS, (
        f"{what}: the set {sequence_set} names {count:,} numbers")
    return list(sequence_set.in_order())


def quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _astrings(*values: str) -> tuple[str, list[bytes]]:
    """Arguments as quoted strings, or as literals (``{}``) where a quoted string cannot
    carry them (CR, LF, NUL, 8-bit)."""
    parts, literals = [], []
    for value in values:
        if value.isascii() and not any(c in value for c in "\r\n\0"):
            parts.append(quote(value))
        else:
            parts.append("{}")
            literals.append(value.encode("utf-8"))
    return " ".join(parts), literals


__all__ = ["MAX_LISTED_NUMBERS", "Completion", "DriverError", "GrammarViolation",
           "ImapDriver", "listed_numbers", "quote"]
