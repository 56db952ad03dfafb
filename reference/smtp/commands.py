"""SMTP commands and the events the server core emits, as frozen dataclasses.

Keyword fields are named as in the RFCs (``reverse_path``, ``forward_path``, ``size``,
``body``); a command is exactly what the client asked for, already checked against the
grammar. Other happenings use the past tense (``MessageReceived``, ``ConnectionClosed``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from reference.smtp.replies import Reply


@dataclass(frozen=True, slots=True)
class Mailbox:
    """RFC 5321 §4.1.2 ``Mailbox = Local-part "@" ( Domain / address-literal )``.

    ``local_part`` is the semantic value: a Quoted-string arrives here unquoted, since
    "all quoted forms MUST be treated as equivalent" (RFC 5321 §4.1.2). ``domain`` is a
    Domain or an address literal with its brackets; it is ``None`` only for the special
    recipient ``<Postmaster>`` (RFC 5321 §4.1.1.3).
    """

    local_part: str
    domain: str | None

    def __str__(self) -> str:
        from reference.smtp.grammar import write_mailbox

        return write_mailbox(self)

    @property
    def is_ascii(self) -> bool:
        return self.local_part.isascii() and (self.domain or "").isascii()


class BodyType(Enum):
    """RFC 6152 §2 ``BODY=`` values: "7BIT" / "8BITMIME"."""

    SEVEN_BIT = "7BIT"
    EIGHT_BIT_MIME = "8BITMIME"


class DsnReturn(Enum):
    """RFC 3461 §4.3 ``RET=`` values."""

    FULL = "FULL"
    HDRS = "HDRS"


class DsnNotify(Enum):
    """RFC 3461 §4.1 ``notify-list-element``; NEVER stands alone."""

    NEVER = "NEVER"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    DELAY = "DELAY"


@dataclass(frozen=True, slots=True)
class OriginalRecipient:
    """RFC 3461 §4.2 ``original-recipient-address = addr-type ";" xtext`` (decoded)."""

    addr_type: str
    address: str


# --- commands (RFC 5321 §4.1.1 and the extensions) ----------------------------------


@dataclass(frozen=True, slots=True)
class Ehlo:
    """RFC 5321 §4.1.1.1 ``"EHLO" SP ( Domain / address-literal ) CRLF``."""

    domain: str


@dataclass(frozen=True, slots=True)
class Helo:
    """RFC 5321 §4.1.1.1 ``"HELO" SP Domain CRLF``."""

    domain: str


@dataclass(frozen=True, slots=True)
class MailFrom:
    """RFC 5321 §4.1.1.2 ``"MAIL FROM:" Reverse-path [SP Mail-parameters] CRLF``.

    ``reverse_path`` is ``None`` for the null path ``<>``.
    """

    reverse_path: Mailbox | None
    size: int | None = None                 # RFC 1870 §6
    body: BodyType | None = None            # RFC 6152 §2
    smtputf8: bool = False                  # RFC 6531 §3.4
    ret: DsnReturn | None = None            # RFC 3461 §4.3
    envid: str | None = None                # RFC 3461 §4.4, decoded from xtext
    auth: str | None = None                 # RFC 4954 §5 AUTH=, decoded: addr-spec or "<>"


@dataclass(frozen=True, slots=True)
class RcptTo:
    """RFC 5321 §4.1.1.3 ``"RCPT TO:" ( "<Postmaster@" Domain ">" / "<Postmaster>" /
    Forward-path ) [SP Rcpt-parameters] CRLF``."""

    forward_path: Mailbox
    notify: frozenset[DsnNotify] | None = None          # RFC 3461 §4.1
    orcpt: OriginalRecipient | None = None              # RFC 3461 §4.2


@dataclass(frozen=True, slots=True)
class Data:
    """RFC 5321 §4.1.1.4 ``"DATA" CRLF``."""


@dataclass(frozen=True, slots=True)
class Bdat:
    """RFC 3030 §2 ``bdat-cmd ::= "BDAT" SP chunk-size [ SP end-marker ] CR LF``.

    The core reads the ``chunk_size`` octets that follow the command and hands them over
    in ``chunk``, so a session never waits on the socket inside a frame.
    """

    chunk_size: int
    last: bool
    chunk: bytes


@dataclass(frozen=True, slots=True)
class Rset:
    """RFC 5321 §4.1.1.5 ``"RSET" CRLF``."""


@dataclass(frozen=True, slots=True)
class Vrfy:
    """RFC 5321 §4.1.1.6 ``"VRFY" SP String CRLF``."""

    string: str
    smtputf8: bool = False   # RFC 6531 §3.7.4.2


@dataclass(frozen=True, slots=True)
class Expn:
    """RFC 5321 §4.1.1.7 ``"EXPN" SP String CRLF``."""

    string: str
    smtputf8: bool = False


@dataclass(frozen=True, slots=True)
class Help:
    """RFC 5321 §4.1.1.8 ``"HELP" [ SP String ] CRLF``."""

    topic: str | None = None


@dataclass(frozen=True, slots=True)
class Noop:
    """RFC 5321 §4.1.1.9 ``"NOOP" [ SP String ] CRLF``."""

    string: str | None = None


@dataclass(frozen=True, slots=True)
class Quit:
    """RFC 5321 §4.1.1.10 ``"QUIT" CRLF``."""


@dataclass(frozen=True, slots=True)
class StartTls:
    """RFC 3207 §4 ``"STARTTLS" CRLF``."""


@dataclass(frozen=True, slots=True)
class Auth:
    """RFC 4954 §4 ``"AUTH" SP sasl-mech [SP initial-response] CRLF``.

    ``initial_response`` is decoded from base64; ``b""`` for the single "=".
    """

    mechanism: str
    initial_response: bytes | None = None


Command = (Ehlo | Helo | MailFrom | RcptTo | Data | Bdat | Rset | Vrfy | Expn | Help | Noop
           | Quit | StartTls | Auth)


# --- other events -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuthResponse:
    """RFC 4954 §4: one client line of a SASL exchange; ``data`` is ``None`` for "*"."""

    data: bytes | None


@dataclass(frozen=True, slots=True)
class MessageReceived:
    """The mail data after DATA, complete: dot-unstuffed (RFC 5321 §4.5.2), CRLF lines,
    without the terminating ``.CRLF``."""

    content: bytes


@dataclass(frozen=True, slots=True)
class MessageRejected:
    """The mail data after DATA ended but cannot be accepted; ``reply`` says why.

    The transaction is over (RFC 5321 §4.1.1.4): the session answers with ``reply``.
    """

    reply: Reply


@dataclass(frozen=True, slots=True)
class ConnectionClosed:
    """The client closed its side (EOF)."""


Event = Command | AuthResponse | MessageReceived | MessageRejected | ConnectionClosed
