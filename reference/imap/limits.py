"""Every bound the IMAP core enforces, with its default and the RFC guidance it honours.

``ImapLimits`` is passed to ``ServerConnection`` and ``ClientConnection`` (STYLE.md §A).
It lives here until the lead merges it into ``reference/limits.py`` next to
``SmtpLimits``. Lengths are in octets.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

# RFC 9051 §4.3 MUST: "Unless otherwise specified in an IMAP extension,
# non-synchronizing literals MUST NOT be larger than 4096 octets." (RFC 7888 §5:
# LITERAL- likewise.) A server must therefore accept literals of this size.
NON_SYNCHRONIZING_LITERAL_MAX = 4096


@dataclass(frozen=True, slots=True)
class ImapLimits:
    """Bounds of the IMAP server core (and, for the ``response_*`` fields, the client)."""

    # RFC 2683 §3.2.1.5: "a server should allow for a command line of at least 8000
    # octets" and "should send a BAD response to a command that does not end within the
    # server's maximum accepted command length". Counts every line of one command with
    # its CRLF, literal data excluded. Never below 8000.
    command_line: int = 64 * 1024
    # Literal data in one command other than APPEND's messages (LOGIN passwords, SEARCH
    # strings, mailbox names...), all literals of the command together. RFC 7888 §4:
    # "Implementations can generally impose much lower limits on literal sizes for all
    # commands other than APPEND." Never below 4096 (RFC 9051 §4.3, see above).
    literal_size: int = 1024 * 1024
    # One APPEND message (RFC 9051 §6.3.12); RFC 7889 §4: a bigger one is rejected
    # "with a tagged TOOBIG response code". What APPENDLIMIT should advertise.
    append_size: int = 50 * 1024 * 1024
    # All messages of one APPEND command together (MULTIAPPEND, RFC 3502 §3: "the
    # server MUST NOT" append any message if one fails, so all are held at once).
    append_command_size: int = 200 * 1024 * 1024
    # Parentheses nesting in one command or response: search keys (RFC 9051 §6.4.4
    # "(" search-key *(SP search-key) ")"), tagged-ext-val, BODYSTRUCTURE on the client
    # side. Not in the RFCs; a bound against "((((((..." bombs.
    nesting: int = 64
    # Ranges and numbers in one sequence-set (RFC 9051 §9 sequence-set). RFC 2683
    # §3.2.1.5 asks clients to send ranges; the command line bounds it as well.
    sequence_set_ranges: int = 10_000
    # Octets of an oversized non-synchronizing literal the server reads and throws
    # away to keep the connection (RFC 7888 §4 choice 1); above this it sends BYE
    # (choice 2: "Send an untagged BYE response ... and close the connection").
    discard_literal: int = 16 * 1024 * 1024
    # BAD responses a client may provoke before the server closes with BYE. Not in the
    # RFCs (RFC 9051 §7.1.5 BYE "as a panic shutdown announcement").
    errors: int = 20
    # Client side: one response line (without literals). A FETCH of many FLAGS or a
    # large BODYSTRUCTURE is one line; RFC 9051 sets no maximum.
    response_line: int = 4 * 1024 * 1024
    # Client side: one literal in a response (BODY[] of a large message).
    response_literal: int = 1024 * 1024 * 1024

    def __post_init__(self) -> None:
        minimums = {"command_line": 8000, "literal_size": NON_SYNCHRONIZING_LITERAL_MAX,
                    "nesting": 8, "sequence_set_ranges": 100,
                    "response_line": 8000, "append_size": NON_SYNCHRONIZING_LITERAL_MAX}
        for name, minimum in minimums.items():
            if getattr(self, name) < minimum:
                raise ValueError(f"imap limit {name}={getattr(self, name)} is below the "
                                 f"minimum {minimum}")
        for field in fields(self):
            if getattr(self, field.name) <= 0:
                raise ValueError(f"imap limit {field.name} must be positive")
        if self.append_command_size < self.append_size:
            raise ValueError("imap limit append_command_size must be at least append_size")
