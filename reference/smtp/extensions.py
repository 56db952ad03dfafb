"""SMTP service extensions: EHLO keywords and the MAIL/RCPT parameters each one adds.

The server core learns which extensions are in effect from the EHLO reply it sends
(RFC 5321 §3.2: EHLO "requests that the server provide a list of the extensions it
supports"), so the session that writes that reply is the one place extensions are
configured. After HELO no extension is in effect (RFC 5321 §3.2: "Servers MUST NOT return
the extended EHLO-style response to a HELO command.").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Extension(Enum):
    """EHLO keywords this server implements, each with the RFC that defines it."""

    SIZE = "SIZE"                                # RFC 1870
    PIPELINING = "PIPELINING"                    # RFC 2920
    EIGHT_BIT_MIME = "8BITMIME"                  # RFC 6152
    SMTPUTF8 = "SMTPUTF8"                        # RFC 6531
    ENHANCEDSTATUSCODES = "ENHANCEDSTATUSCODES"  # RFC 2034
    STARTTLS = "STARTTLS"                        # RFC 3207
    AUTH = "AUTH"                                # RFC 4954
    CHUNKING = "CHUNKING"                        # RFC 3030
    DSN = "DSN"                                  # RFC 3461
    HELP = "HELP"                                # RFC 5321 §4.1.1.8 (informational keyword)


# Which extension makes each MAIL/RCPT parameter legal. RFC 5321 §4.1.1.11: a parameter
# of an extension the server did not announce gets 555.
MAIL_PARAMETERS: dict[str, Extension] = {
    "SIZE": Extension.SIZE,                 # RFC 1870 §6
    "BODY": Extension.EIGHT_BIT_MIME,       # RFC 6152 §2
    "SMTPUTF8": Extension.SMTPUTF8,         # RFC 6531 §3.4
    "RET": Extension.DSN,                   # RFC 3461 §4.3
    "ENVID": Extension.DSN,                 # RFC 3461 §4.4
    "AUTH": Extension.AUTH,                 # RFC 4954 §5
}
RCPT_PARAMETERS: dict[str, Extension] = {
    "NOTIFY": Extension.DSN,                # RFC 3461 §4.1
    "ORCPT": Extension.DSN,                 # RFC 3461 §4.2
}


# RFC 5321 §4.5.3.1.4: the 512-octet command line limit, "SMTP extensions may be used to
# increase this limit". What each extension adds for the parameters it defines; the sum
# over the advertised ones bounds every MAIL and RCPT line a client may then send.
COMMAND_LINE_INCREASE: dict[Extension, int] = {
    # RFC 1870 §3 (5): "the maximum length of a MAIL FROM command line is increased by 26
    # characters by the possible addition of the SIZE keyword and value"
    Extension.SIZE: 26,
    # RFC 6152 §2 defines BODY= without a figure: " BODY=8BITMIME" is 14 octets
    Extension.EIGHT_BIT_MIME: 14,
    # RFC 6531 §3.1 (5): "The maximum length of a MAIL command line is increased by 10
    # characters to accommodate the possible addition of the SMTPUTF8 parameter."
    Extension.SMTPUTF8: 10,
    # RFC 4954 §3 (5): AUTH= "extends the maximum line length of the MAIL FROM command by
    # 500 characters"
    Extension.AUTH: 500,
    # RFC 3461 §5.4 MUST: "command-lines which are at least 1036 characters long (530
    # characters for the ORCPT and NOTIFY parameters of the RCPT command, in addition to
    # the 512 characters required by [1])"; ENVID (100) and RET (8) on MAIL fit in it.
    Extension.DSN: 530,
}


@dataclass(frozen=True, slots=True)
class Advertised:
    """The extensions announced in the last EHLO reply, with their parameters."""

    keywords: frozenset[Extension] = frozenset()
    size_limit: int | None = None                 # RFC 1870 §4: "SIZE" [SP number]
    auth_mechanisms: frozenset[str] = frozenset()
    # What the keywords add to the command line limit, summed once (read per command).
    command_line_increase: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        object.__setattr__(self, "command_line_increase", sum(
            COMMAND_LINE_INCREASE.get(keyword, 0) for keyword in self.keywords))

    def __contains__(self, extension: object) -> bool:
        return extension in self.keywords

    def command_line_limit(self, base: int) -> int:
        """The command line limit with what the advertised extensions add to ``base``
        (RFC 5321 §4.5.3.1.4: "SMTP extensions may be used to increase this limit")."""
        return base + self.command_line_increase

    @classmethod
    def from_ehlo_lines(cls, lines: tuple[str, ...]) -> Advertised:
        """Read ``ehlo-line``s (RFC 5321 §4.1.1.1) after the greeting line."""
        keywords: set[Extension] = set()
        size_limit: int | None = None
        mechanisms: frozenset[str] = frozenset()
        for line in lines[1:]:
            keyword, _, params = line.partition(" ")
            try:
                extension = Extension(keyword.upper())
            except ValueError:
                continue
            keywords.add(extension)
            if extension is Extension.SIZE and params.isdigit() and int(params) > 0:
                size_limit = int(params)
            elif extension is Extension.AUTH:
                mechanisms = frozenset(params.upper().split())
        return cls(frozenset(keywords), size_limit, mechanisms)


NOTHING_ADVERTISED = Advertised()
