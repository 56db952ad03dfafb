"""What a SASL mechanism asks of its caller (RFC 4422 §3.4, §3.6): the ``Step`` values,
why an exchange failed, the connection's channel binding and the bounds on client input.

See the package docstring (``reference.directory.sasl``) for the implementation notes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

# --- steps: what a mechanism asks of its caller ------------------------------------------


@dataclass(frozen=True, slots=True)
class Challenge:
    """RFC 4422 §3.4: a server challenge to send (SMTP "334 <base64>", IMAP "+ <base64>");
    ``b""`` is the empty challenge. Answer with ``respond()``."""

    data: bytes


@dataclass(frozen=True, slots=True)
class CredentialsRequested:
    """Look up the stored credentials of ``authcid`` (SASLprep'd) and answer with
    ``credentials(stored or None)``."""

    authcid: str


@dataclass(frozen=True, slots=True)
class Succeeded:
    """RFC 4422 §3.6: the client proved to be ``authcid``. ``authzid`` is the identity it
    asks to act as (``None``: itself); whether it may is the caller's decision
    (``authorize_default``). ``additional_data`` is SCRAM's server-final when the
    protocol carries success data (RFC 4422 §3.6 "additional data field")."""

    authcid: str
    authzid: str | None = None
    additional_data: bytes | None = None


class FailureReason(Enum):
    """Why an exchange failed; the comment gives the SMTP reply it suggests (RFC 4954 §6)."""

    # RFC 4422 §3.6: "the client's credentials could not be verified"; the same for an
    # unknown user. SMTP 535 5.7.8.
    BAD_CREDENTIALS = "bad-credentials"
    # The client's message breaks the mechanism's grammar, or an identity fails SASLprep
    # (RFC 4954 §4: "the server MUST fail the authentication"). SMTP 501 5.5.2.
    MALFORMED = "malformed"
    # RFC 4422 §3.5: the client aborted; RFC 4954 §4: "*", "MUST reject the AUTH command
    # by sending a 501 reply".
    CANCELLED = "cancelled"
    # RFC 4422 §3.6: "not authorized to act as the requested authorization identity".
    # SMTP 535 5.7.8.
    AUTHZID_NOT_PERMITTED = "authzid-not-permitted"
    # RFC 5802 §6: the gs2 channel-binding flag or the c= data does not agree with what this
    # connection offers (e=channel-bindings-dont-match and kin). SMTP 535 5.7.8.
    CHANNEL_BINDING_FAILED = "channel-binding-failed"
    # RFC 5802 §5.1 m: "its presence ... MUST cause authentication failure"
    # (e=extensions-not-supported). SMTP 535 5.7.8.
    EXTENSION_NOT_SUPPORTED = "extension-not-supported"
    # The stored credentials do not parse: the server's fault. RFC 4954 §6 "454 4.7.0
    # Temporary authentication failure".
    CREDENTIALS_UNUSABLE = "credentials-unusable"


@dataclass(frozen=True, slots=True)
class Failed:
    """The exchange is over and did not succeed. ``message`` is for logs and never tells an
    unknown user from a wrong password."""

    reason: FailureReason
    message: str


Step = Challenge | CredentialsRequested | Succeeded | Failed


@dataclass(frozen=True, slots=True)
class ChannelBinding:
    """The TLS channel's binding data (RFC 5056, RFC 5929), for SCRAM-SHA-256-PLUS."""

    cb_type: str          # RFC 5802 §7 cb-name, e.g. "tls-server-end-point", "tls-exporter"
    data: bytes


@dataclass(frozen=True, slots=True)
class SaslLimits:
    """Bounds on what a client may send, in octets."""

    # RFC 4616 §2: "Servers MUST be capable of accepting authzid, authcid, and passwd
    # productions up to and including 255 octets." Also bounds LOGIN's fields and SCRAM's
    # user names. Never below 255.
    field_octets: int = 255
    # One client message (decoded). RFC 4954 §4 calls 12288 octets of base64 on one line
    # sufficient for deployed mechanisms, 9216 octets decoded.
    message_octets: int = 9216

    def __post_init__(self) -> None:
        if self.field_octets < 255:
            raise ValueError("sasl limit field_octets is below the RFC 4616 §2 minimum 255")
        if self.message_octets < 3 * self.field_octets + 2:
            raise ValueError("sasl limit message_octets cannot hold a PLAIN message "
                             "(3 * field_octets + 2)")


class _Rejected(Exception):
    """Raised inside a mechanism to end the exchange with ``Failed``."""

    def __init__(self, reason: FailureReason, message: str) -> None:
        super().__init__(message)
        self.failed = Failed(reason, message)


def _malformed(message: str) -> _Rejected:
    return _Rejected(FailureReason.MALFORMED, message)
