"""Every bound a protocol core enforces, with its default and the RFC minimum it honours.

One frozen dataclass per protocol, passed to the core's constructor (STYLE.md §A). The
configuration file (``[smtp.limits]``) maps onto these fields one to one.
"""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True, slots=True)
class SmtpLimits:
    """Bounds of the SMTP server core; lengths are in octets."""

    # RFC 5321 §4.5.3.1.4: "The maximum total length of a command line including the
    # command word and the <CRLF> is 512 octets." Never below 512.
    command_line: int = 512
    # RFC 4954 §4: "12288 octets is considered to be a sufficient line length limit for
    # handling of deployed authentication mechanisms."
    auth_line: int = 12288
    # RFC 5321 §4.5.3.1.6: a text line is at most 1000 octets including the CRLF, "not
    # counting the leading dot duplicated for transparency". Never below 1000.
    text_line: int = 1000
    # RFC 5321 §4.5.3.1.1: local-part at most 64 octets.
    local_part: int = 64
    # RFC 5321 §4.5.3.1.2: domain at most 255 octets.
    domain: int = 255
    # RFC 5321 §4.5.3.1.3: reverse-path or forward-path at most 256 octets.
    path: int = 256
    # RFC 5321 §4.5.3.1.8: "The minimum total number of recipients that MUST be buffered
    # is 100 recipients." Never below 100.
    recipients: int = 100
    # RFC 1870 §3: the SIZE advertised in EHLO; RFC 5321 §4.5.3.1.7: at least 64K.
    message_size: int = 50 * 1024 * 1024
    # Replies of class 5 (and 421) a client may provoke before we close with 421.
    # Not in the RFCs; Postfix's smtpd_hard_error_limit is 20.
    errors: int = 20
    # Mail transactions on one connection before 421: bounds one client's share.
    transactions: int = 1000
    # RFC 5321 §4.5.3.2.7: "Server Timeout: 5 Minutes" to wait for the next command.
    command_timeout: float = 300.0
    # RFC 5321 §4.5.3.2.7 again, per buffer of mail data (§4.5.3.2: "for each buffer of
    # the data transfer").
    data_timeout: float = 300.0

    def __post_init__(self) -> None:
        minimums = {"command_line": 512, "text_line": 1000, "recipients": 100,
                    "local_part": 64, "domain": 255, "path": 256,
                    "message_size": 64 * 1024, "auth_line": 12288}
        for name, minimum in minimums.items():
            if getattr(self, name) < minimum:
                raise ValueError(f"smtp limit {name}={getattr(self, name)} is below the RFC "
                                 f"minimum {minimum}")
        for field in fields(self):
            if getattr(self, field.name) <= 0:
                raise ValueError(f"smtp limit {field.name} must be positive")
