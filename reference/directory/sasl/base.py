"""The common state machine of every server mechanism, the SASLprep of the identities a
client presents, and the fake credentials that keep unknown users indistinguishable
(RFC 4422 §3.6).

See the package docstring (``reference.directory.sasl``) for the implementation notes.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from enum import Enum
from typing import ClassVar

from reference.directory.passwords import (
    DEFAULT_ITERATIONS,
    SALT_OCTETS,
    MalformedCredentials,
    ScramCredentials,
    hmac_sha256,
    parse_credentials,
)
from reference.directory.sasl.steps import (
    Challenge,
    CredentialsRequested,
    Failed,
    FailureReason,
    SaslLimits,
    Step,
    Succeeded,
    _malformed,
    _Rejected,
)
from reference.directory.saslprep import SaslPrepError, saslprep
from reference.errors import LocalProtocolError

# --- the common state machine ------------------------------------------------------------


class _Expecting(Enum):
    START = "start"
    RESPONSE = "respond"
    CREDENTIALS = "credentials"
    NOTHING = "nothing"


# The step just returned decides what the mechanism accepts next: one table for all.
_NEXT: dict[type, _Expecting] = {
    Challenge: _Expecting.RESPONSE,
    CredentialsRequested: _Expecting.CREDENTIALS,
    Succeeded: _Expecting.NOTHING,
    Failed: _Expecting.NOTHING,
}

_BAD_CREDENTIALS_MESSAGE = "invalid credentials"


class ServerMechanism:
    """One server-side SASL exchange. Subclasses implement ``_on_start``, ``_on_response``
    and, when they ask for credentials, ``_on_credentials``."""

    name: ClassVar[str]
    # RFC 4954 §4 note: a "plaintext password mechanism" (offered only under TLS).
    sends_password_in_clear: ClassVar[bool]

    def __init__(self, *, limits: SaslLimits | None = None,
                 fake_credentials_key: bytes | None = None) -> None:
        self.limits = limits or SaslLimits()
        self._fake_credentials_key = fake_credentials_key or _PROCESS_FAKE_CREDENTIALS_KEY
        self._expecting = _Expecting.START

    @property
    def finished(self) -> bool:
        """True once ``Succeeded`` or ``Failed`` has been returned."""
        return self._expecting is _Expecting.NOTHING

    def start(self, initial_response: bytes | None) -> Step:
        """Begin; ``initial_response`` is ``None`` when the command carried none and
        ``b""`` when it carried an empty one (SMTP "=", RFC 4954 §4)."""
        self._require(_Expecting.START)
        return self._step(lambda: self._on_start(self._bounded(initial_response)))

    def respond(self, response: bytes | None) -> Step:
        """Feed the client's answer to the last challenge; ``None`` means it cancelled."""
        self._require(_Expecting.RESPONSE)
        if response is None:
            # RFC 4422 §3.5: "A client may abort the authentication exchange"; RFC 4954 §4:
            # '"*"... MUST reject the AUTH command by sending a 501 reply'.
            return self._step(lambda: Failed(FailureReason.CANCELLED,
                                             "the client cancelled the exchange"))
        return self._step(lambda: self._on_response(self._bounded_response(response)))

    def credentials(self, stored: str | None) -> Step:
        """Hand over the stored credentials asked for, or ``None`` for an unknown user."""
        self._require(_Expecting.CREDENTIALS)
        return self._step(lambda: self._on_credentials(stored))

    # --- for subclasses ------------------------------------------------------------------

    def _on_start(self, initial_response: bytes | None) -> Step:
        raise NotImplementedError

    def _on_response(self, response: bytes) -> Step:
        raise NotImplementedError

    def _on_credentials(self, stored: str | None) -> Step:
        raise NotImplementedError

    def _credentials_or_fake(self, authcid: str, stored: str | None) -> ScramCredentials:
        if stored is None:
            return fake_credentials(authcid, self._fake_credentials_key)
        try:
            return parse_credentials(stored)
        except MalformedCredentials as exc:
            raise _Rejected(FailureReason.CREDENTIALS_UNUSABLE,
                            f"the stored credentials of {authcid!r} are unusable: {exc}") from exc

    # --- machinery -----------------------------------------------------------------------

    def _require(self, expected: _Expecting) -> None:
        if self._expecting is not expected:
            awaited = ("nothing more: the exchange is over"
                       if self._expecting is _Expecting.NOTHING else f"{self._expecting.value}()")
            raise LocalProtocolError(
                f"{self.name}: {expected.value}() called, but the mechanism awaits {awaited}")

    def _step(self, produce: Callable[[], Step]) -> Step:
        try:
            step = produce()
        except _Rejected as rejection:
            step = rejection.failed
        self._expecting = _NEXT[type(step)]
        if self.finished:
            self._forget_secrets()
        return step

    def _bounded(self, message: bytes | None) -> bytes | None:
        return None if message is None else self._bounded_response(message)

    def _bounded_response(self, message: bytes) -> bytes:
        if len(message) > self.limits.message_octets:
            raise _malformed(f"a message of {len(message)} octets exceeds the limit of "
                             f"{self.limits.message_octets}")
        return message

    def _forget_secrets(self) -> None:
        """Drop references to passwords and keys once the exchange is over."""


# --- identities: SASLprep of what the client presents (PLAIN, LOGIN and SCRAM) ----------


def _prepare_authcid(authcid: str) -> str:
    # RFC 4616 §2 and RFC 5802 §5.1: the presented name is prepared with SASLprep as a
    # query string; "If the preparation of the username fails or results in an empty
    # string, the server SHOULD abort the authentication exchange."
    try:
        prepared = saslprep(authcid, allow_unassigned=True)
    except SaslPrepError as exc:
        raise _malformed(f"the authentication identity fails SASLprep: {exc}") from exc
    if not prepared:
        raise _malformed("the authentication identity is empty after SASLprep")
    return prepared


def _prepare_authzid(authzid: str) -> str | None:
    # RFC 4422 §3.4.1: "An empty string is equivalent to an absent authorization identity."
    if not authzid:
        return None
    # RFC 4954 §4: "If preparation of the authorization identity fails or results in an
    # empty string (unless it was transmitted as the empty string), the server MUST fail
    # the authentication."
    try:
        prepared = saslprep(authzid, allow_unassigned=True)
    except SaslPrepError as exc:
        raise _malformed(f"the authorization identity fails SASLprep: {exc}") from exc
    if not prepared:
        raise _malformed("the authorization identity is empty after SASLprep")
    return prepared


# --- fake credentials for unknown users ---------------------------------------------------

# Per process unless the deployment passes a shared key (see the package notes).
_PROCESS_FAKE_CREDENTIALS_KEY = secrets.token_bytes(32)


def fake_credentials(authcid: str, key: bytes) -> ScramCredentials:
    """Credentials for a user who does not exist: salt and keys derived from the name, so
    the salt is as stable as a real user's and no password ever matches."""
    name = authcid.encode("utf-8", "surrogatepass")
    return ScramCredentials(
        iterations=DEFAULT_ITERATIONS,
        salt=hmac_sha256(key, b"salt\x00" + name)[:SALT_OCTETS],
        stored_key=hmac_sha256(key, b"stored-key\x00" + name),
        server_key=hmac_sha256(key, b"server-key\x00" + name))
