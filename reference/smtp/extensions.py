"""SMTP service extensions: EHLO keywords and the MAIL/RCPT parameters each one adds.

The server core learns which extensions are in effect from the EHLO reply it sends
(RFC 5321 §4.1.1.1: the reply lists "the SMTP service extensions the server supports"),
so the session that writes that reply is the one place extensions are configured. After
HELO no extension is in effect (RFC 5321 §4.1.1.1: HELO "does not" announce extensions).
"""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True, slots=True)
class Advertised:
    """The extensions announced in the last EHLO reply, with their parameters."""

    keywords: frozenset[Extension] = frozenset()
    size_limit: int | None = None                 # RFC 1870 §4: "SIZE" [SP number]
    auth_mechanisms: frozenset[str] = frozenset()

    def __contains__(self, extension: object) -> bool:
        return extension in self.keywords

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
