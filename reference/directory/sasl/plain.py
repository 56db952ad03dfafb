"""PLAIN (RFC 4616) and LOGIN (draft-murchison-sasl-login): the client sends the password
itself, so both are "plaintext password mechanisms" (RFC 4954 §4).

See the package docstring (``reference.directory.sasl``) for the implementation notes.
"""

from __future__ import annotations

from typing import ClassVar

from reference.directory.passwords import verify_password
from reference.directory.sasl.base import (
    _BAD_CREDENTIALS_MESSAGE,
    ServerMechanism,
    _prepare_authcid,
    _prepare_authzid,
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
)

# --- PLAIN (RFC 4616) and LOGIN ----------------------------------------------------------


class _PasswordMechanism(ServerMechanism):
    """PLAIN and LOGIN: the client sends the password itself (RFC 4954 §4 "plaintext")."""

    sends_password_in_clear = True

    def __init__(self, *, limits: SaslLimits | None = None,
                 fake_credentials_key: bytes | None = None) -> None:
        super().__init__(limits=limits, fake_credentials_key=fake_credentials_key)
        self._password: str | None = None

    def _verify(self, authcid: str, authzid: str | None, stored: str | None) -> Step:
        assert self._password is not None
        # An unknown user costs the same PBKDF2 as a known one (RFC 4422 §3.6).
        credentials = self._credentials_or_fake(authcid, stored)
        verified = verify_password(credentials, self._password)
        if not verified or stored is None:
            return Failed(FailureReason.BAD_CREDENTIALS, _BAD_CREDENTIALS_MESSAGE)
        return Succeeded(authcid, authzid)

    def _forget_secrets(self) -> None:
        self._password = None


class PlainServer(_PasswordMechanism):
    """RFC 4616: one client message, ``[authzid] NUL authcid NUL passwd``."""

    name = "PLAIN"

    def __init__(self, *, limits: SaslLimits | None = None,
                 fake_credentials_key: bytes | None = None) -> None:
        super().__init__(limits=limits, fake_credentials_key=fake_credentials_key)
        self._identities: tuple[str, str | None] | None = None

    def _on_start(self, initial_response: bytes | None) -> Step:
        # PLAIN is client-first: RFC 4422 §5 item 2a, the first challenge MUST be empty
        # (RFC 4616 §4 example: 'S: + ""').
        if initial_response is None:
            return Challenge(b"")
        return self._on_response(initial_response)

    def _on_response(self, response: bytes) -> Step:
        # RFC 4616 §2: message = [authzid] UTF8NUL authcid UTF8NUL passwd
        fields = response.split(b"\x00")
        if len(fields) != 3:
            raise _malformed(f"a PLAIN message is [authzid] NUL authcid NUL passwd; found "
                             f"{len(fields) - 1} NUL separators (RFC 4616 §2)")
        authzid_octets, authcid_octets, password_octets = fields
        # RFC 4616 §2: authcid = 1*SAFE, passwd = 1*SAFE.
        if not authcid_octets:
            raise _malformed("the authentication identity is empty (RFC 4616 §2 1*SAFE)")
        if not password_octets:
            raise _malformed("the password is empty (RFC 4616 §2 1*SAFE)")
        authcid = _prepare_authcid(self._field(authcid_octets, "authentication identity"))
        authzid = _prepare_authzid(self._field(authzid_octets, "authorization identity"))
        self._password = self._field(password_octets, "password")
        self._identities = (authcid, authzid)
        return CredentialsRequested(authcid)

    def _on_credentials(self, stored: str | None) -> Step:
        assert self._identities is not None
        authcid, authzid = self._identities
        return self._verify(authcid, authzid, stored)

    def _field(self, octets: bytes, what: str) -> str:
        return _decode_field(octets, what, self.limits.field_octets)


class LoginServer(_PasswordMechanism):
    """LOGIN (draft-murchison-sasl-login): the user name, then the password, each in answer
    to a challenge; an initial response is taken as the user name."""

    name = "LOGIN"
    # draft-murchison-sasl-login lists the challenges "User Name" and "Password", then
    # notes that a widely deployed client requires "Username:" and "Password:" and lets
    # servers send those instead; deployed servers do.
    USERNAME_CHALLENGE: ClassVar[bytes] = b"Username:"
    PASSWORD_CHALLENGE: ClassVar[bytes] = b"Password:"

    def __init__(self, *, limits: SaslLimits | None = None,
                 fake_credentials_key: bytes | None = None) -> None:
        super().__init__(limits=limits, fake_credentials_key=fake_credentials_key)
        self._authcid: str | None = None

    def _on_start(self, initial_response: bytes | None) -> Step:
        if initial_response is None:
            return Challenge(self.USERNAME_CHALLENGE)
        # Clients send "AUTH LOGIN <base64 user name>" and deployed servers take it as the
        # answer to the first challenge.
        return self._take_username(initial_response)

    def _on_response(self, response: bytes) -> Step:
        if self._authcid is None:
            return self._take_username(response)
        if not response:
            raise _malformed("the password is empty")
        self._password = _decode_field(response, "password", self.limits.field_octets)
        return CredentialsRequested(self._authcid)

    def _take_username(self, response: bytes) -> Step:
        if not response:
            raise _malformed("the user name is empty")
        self._authcid = _prepare_authcid(
            _decode_field(response, "user name", self.limits.field_octets))
        return Challenge(self.PASSWORD_CHALLENGE)

    def _on_credentials(self, stored: str | None) -> Step:
        assert self._authcid is not None
        # LOGIN carries no authorization identity.
        return self._verify(self._authcid, None, stored)


def _decode_field(octets: bytes, what: str, limit: int) -> str:
    # RFC 4616 §2: "Servers MUST be capable of accepting ... up to and including 255
    # octets"; beyond our limit we refuse.
    if len(octets) > limit:
        raise _malformed(f"the {what} has {len(octets)} octets; the limit is {limit}")
    # RFC 4616 §2: the productions "SHALL be transferred as [UTF-8] encoded strings".
    try:
        return octets.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _malformed(f"the {what} is not valid UTF-8 (octet {exc.start})") from exc
