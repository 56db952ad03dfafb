"""Authentication policy shared by every protocol that takes passwords (SMTP AUTH, IMAP
LOGIN and AUTHENTICATE, ManageSieve)."""

from __future__ import annotations

from enum import Enum


class PlaintextAuth(Enum):
    """When mechanisms that send the password itself (PLAIN, LOGIN, IMAP's LOGIN
    command) are permitted before TLS.

    RFC 4954 §4 (SMTP) and RFC 9051 §6.2.3 (IMAP LOGINDISABLED) ask for a configuration
    that refuses them without TLS: that is ``NEVER``."""

    NEVER = "never"
    LOOPBACK = "loopback"          # only on connections from 127.0.0.0/8 or ::1
    ALWAYS = "always"

    def permits(self, *, tls_active: bool, loopback: bool) -> bool:
        return (tls_active or self is PlaintextAuth.ALWAYS
                or (self is PlaintextAuth.LOOPBACK and loopback))
