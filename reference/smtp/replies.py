"""SMTP replies: reply codes (RFC 5321 §4.2.3), enhanced status codes (RFC 3463).

A ``Reply`` holds a code, an enhanced status (subject.detail only: the class digit is the
reply code's first digit, RFC 2034 §4: "All status codes returned by the server must agree
with the primary response code") and one or more text lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum, IntEnum


class ReplyCode(IntEnum):
    """RFC 5321 §4.2.3 reply codes in numeric order, plus the extensions' own."""

    SYSTEM_STATUS = 211            # System status, or system help reply
    HELP = 214                     # Help message
    SERVICE_READY = 220            # <domain> Service ready
    CLOSING = 221                  # <domain> Service closing transmission channel
    AUTH_SUCCEEDED = 235           # RFC 4954 §6: Authentication Succeeded
    OK = 250                       # Requested mail action okay, completed
    USER_NOT_LOCAL_WILL_FORWARD = 251
    CANNOT_VRFY = 252              # Cannot VRFY user, but will accept message
    AUTH_CHALLENGE = 334           # RFC 4954 §4: server challenge
    START_MAIL_INPUT = 354         # Start mail input; end with <CRLF>.<CRLF>
    SERVICE_NOT_AVAILABLE = 421    # <domain> Service not available, closing channel
    MAILBOX_UNAVAILABLE_TEMP = 450
    LOCAL_ERROR = 451              # Requested action aborted: local error in processing
    INSUFFICIENT_STORAGE = 452     # also "Too many recipients" (§4.5.3.1.10)
    TEMPORARY_FAILURE = 454        # RFC 3207 §4 TLS not available; RFC 4954 §6 temp auth
    PARAMETERS_NOT_ACCOMMODATED_TEMP = 455
    SYNTAX_ERROR = 500             # Syntax error, command unrecognized
    SYNTAX_ERROR_IN_PARAMETERS = 501
    COMMAND_NOT_IMPLEMENTED = 502
    BAD_SEQUENCE = 503             # Bad sequence of commands
    PARAMETER_NOT_IMPLEMENTED = 504
    AUTH_REQUIRED = 530            # RFC 4954 §6 / RFC 3207 §4: must authenticate / TLS
    AUTH_FAILED = 535              # RFC 4954 §6: Authentication credentials invalid
    ENCRYPTION_REQUIRED = 538      # RFC 4954 §6: Encryption required for mechanism
    MAILBOX_UNAVAILABLE = 550      # mailbox not found, no access, policy refusal
    USER_NOT_LOCAL = 551
    EXCEEDED_STORAGE = 552         # exceeded storage allocation; message too big
    MAILBOX_NAME_NOT_ALLOWED = 553
    TRANSACTION_FAILED = 554       # also "No valid recipients" (§3.3)
    PARAMETERS_NOT_RECOGNIZED = 555  # MAIL FROM/RCPT TO parameters not recognized


class Status(Enum):
    """Enhanced status codes as "subject.detail"; the class digit comes from the reply.

    RFC 3463 §3 in full, plus the codes the SMTP extensions registered (RFC 4954 §6,
    RFC 6531 §3.5). A client parsing a foreign server's reply keeps codes it does not
    know in the text (see ``parse_reply``).
    """

    UNDEFINED = "0.0"                       # X.0.0 Other undefined Status
    ADDRESS_OTHER = "1.0"                   # X.1.0 Other address status
    BAD_DESTINATION_MAILBOX = "1.1"         # X.1.1 Bad destination mailbox address
    BAD_DESTINATION_SYSTEM = "1.2"          # X.1.2 Bad destination system address
    BAD_DESTINATION_SYNTAX = "1.3"          # X.1.3 Bad destination mailbox address syntax
    DESTINATION_AMBIGUOUS = "1.4"           # X.1.4 Destination mailbox address ambiguous
    DESTINATION_VALID = "1.5"               # X.1.5 Destination address valid
    MAILBOX_MOVED = "1.6"                   # X.1.6 Destination mailbox has moved
    BAD_SENDER_SYNTAX = "1.7"               # X.1.7 Bad sender's mailbox address syntax
    BAD_SENDER_SYSTEM = "1.8"               # X.1.8 Bad sender's system address
    MAILBOX_OTHER = "2.0"                   # X.2.0 Other or undefined mailbox status
    MAILBOX_DISABLED = "2.1"                # X.2.1 Mailbox disabled, not accepting messages
    MAILBOX_FULL = "2.2"                    # X.2.2 Mailbox full
    MESSAGE_LENGTH_EXCEEDS_LIMIT = "2.3"    # X.2.3 Message length exceeds administrative limit
    LIST_EXPANSION_PROBLEM = "2.4"          # X.2.4 Mailing list expansion problem
    SYSTEM_OTHER = "3.0"                    # X.3.0 Other or undefined mail system status
    SYSTEM_FULL = "3.1"                     # X.3.1 Mail system full
    SYSTEM_NOT_ACCEPTING = "3.2"            # X.3.2 System not accepting network messages
    SYSTEM_NOT_CAPABLE = "3.3"              # X.3.3 System not capable of selected features
    MESSAGE_TOO_BIG = "3.4"                 # X.3.4 Message too big for system
    SYSTEM_MISCONFIGURED = "3.5"            # X.3.5 System incorrectly configured
    NETWORK_OTHER = "4.0"                   # X.4.0 Other or undefined network or routing
    NO_ANSWER = "4.1"                       # X.4.1 No answer from host
    BAD_CONNECTION = "4.2"                  # X.4.2 Bad connection
    DIRECTORY_FAILURE = "4.3"               # X.4.3 Directory server failure
    UNABLE_TO_ROUTE = "4.4"                 # X.4.4 Unable to route
    CONGESTION = "4.5"                      # X.4.5 Mail system congestion
    ROUTING_LOOP = "4.6"                    # X.4.6 Routing loop detected
    DELIVERY_TIME_EXPIRED = "4.7"           # X.4.7 Delivery time expired
    PROTOCOL_OTHER = "5.0"                  # X.5.0 Other or undefined protocol status
    INVALID_COMMAND = "5.1"                 # X.5.1 Invalid command
    SYNTAX_ERROR = "5.2"                    # X.5.2 Syntax error
    TOO_MANY_RECIPIENTS = "5.3"             # X.5.3 Too many recipients
    INVALID_ARGUMENTS = "5.4"               # X.5.4 Invalid command arguments
    WRONG_PROTOCOL_VERSION = "5.5"          # X.5.5 Wrong protocol version
    AUTH_LINE_TOO_LONG = "5.6"              # RFC 4954 §6: Authentication Exchange line too long
    MEDIA_OTHER = "6.0"                     # X.6.0 Other or undefined media error
    MEDIA_NOT_SUPPORTED = "6.1"             # X.6.1 Media not supported
    CONVERSION_PROHIBITED = "6.2"           # X.6.2 Conversion required and prohibited
    CONVERSION_UNSUPPORTED = "6.3"          # X.6.3 Conversion required but not supported
    CONVERSION_WITH_LOSS = "6.4"            # X.6.4 Conversion with loss performed
    CONVERSION_FAILED = "6.5"               # X.6.5 Conversion Failed
    NON_ASCII_ADDRESS = "6.7"               # RFC 6531 §3.5: "Non-ASCII addresses not permitted"
    SECURITY_OTHER = "7.0"                  # X.7.0 Other or undefined security status
    DELIVERY_NOT_AUTHORIZED = "7.1"         # X.7.1 Delivery not authorized, message refused
    LIST_EXPANSION_PROHIBITED = "7.2"       # X.7.2 Mailing list expansion prohibited
    SECURITY_CONVERSION_IMPOSSIBLE = "7.3"  # X.7.3 Security conversion required but not possible
    SECURITY_NOT_SUPPORTED = "7.4"          # X.7.4 Security features not supported
    CRYPTOGRAPHIC_FAILURE = "7.5"           # X.7.5 Cryptographic failure
    ALGORITHM_NOT_SUPPORTED = "7.6"         # X.7.6 Cryptographic algorithm not supported
    INTEGRITY_FAILURE = "7.7"               # X.7.7 Message integrity failure
    AUTH_CREDENTIALS_INVALID = "7.8"        # RFC 4954 §6: Authentication credentials invalid
    AUTH_MECHANISM_TOO_WEAK = "7.9"         # RFC 4954 §6: Authentication mechanism is too weak
    ENCRYPTION_REQUIRED = "7.11"            # RFC 4954 §6: Encryption required for mechanism
    PASSWORD_TRANSITION = "7.12"            # RFC 4954 §6: A password transition is needed

    def with_class(self, code: int) -> str:
        return f"{code // 100}.{self.value}"


_NOT_TEXTSTRING = re.compile("[\x00-\x08\x0a-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class Reply:
    """One SMTP reply: ``code``, optional enhanced ``status``, one or more text lines.

    RFC 5321 §4.2: 'Reply-line = *( Reply-code "-" [ textstring ] CRLF )
    Reply-code [ SP textstring ] CRLF'.
    """

    code: int
    status: Status | None
    lines: tuple[str, ...]

    def __post_init__(self) -> None:
        # RFC 5321 §4.2: Reply-code = %x32-35 %x30-35 %x30-39
        if not 200 <= self.code <= 599 or self.code // 10 % 10 > 5:
            raise ValueError(f"not a Reply-code: {self.code}")
        if not self.lines:
            raise ValueError("a reply has at least one line (possibly empty)")
        for line in self.lines:
            # RFC 5321 §4.2: textstring = 1*(%d09 / %d32-126) (RFC 6531 §3.7.4: UTF-8
            # too). A CR or LF in the text would let it inject reply lines.
            if _NOT_TEXTSTRING.search(line):
                raise ValueError(f"control character in reply text: {line!r}")

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    @property
    def is_positive(self) -> bool:
        return self.code < 400

    @property
    def is_permanent_failure(self) -> bool:
        return self.code >= 500


def reply(code: int, status: Status | None, *lines: str) -> Reply:
    """Shorthand: ``reply(550, Status.BAD_DESTINATION_MAILBOX, "No such user")``."""
    return Reply(code, status, lines or ("",))
