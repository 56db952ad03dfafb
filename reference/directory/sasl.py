"""Sans-IO SASL (RFC 4422) server mechanisms, and the client side of SCRAM-SHA-256.

SMTP AUTH (RFC 4954), IMAP AUTHENTICATE and ManageSieve AUTHENTICATE drive the same objects.
A mechanism is a state machine: bytes in (already base64-decoded by the protocol core),
steps out; it never looks anything up and imports no I/O (an import-linter contract in
pyproject.toml forbids asyncio, sockets, TLS and the store here).

    if name not in offered_mechanisms(tls_active=...):  # the session's policy; RFC 4954 §4
        ...                                            # 504, or 538 for plaintext
    mechanism = server_mechanism(name)
    step = mechanism.start(initial_response)          # None: the command carried none
    while True:
        match step:
            case Challenge(data):            step = mechanism.respond(await send(data))
            case CredentialsRequested(user): step = mechanism.credentials(await lookup(user))
            case Succeeded() | Failed():     break
    # respond(None) is the client cancelling ("*", RFC 4954 §4).

Implementation notes
- Mechanisms: PLAIN (RFC 4616), LOGIN (draft-murchison-sasl-login, de facto), SCRAM-SHA-256
  and SCRAM-SHA-256-PLUS (RFC 5802 with SHA-256, RFC 7677). PLAIN and LOGIN send the
  password in the clear (``PLAINTEXT_MECHANISMS``): the session decides whether to permit
  them without TLS (RFC 4954 §4 note); ``offered_mechanisms`` applies the RFC's rules.
- Credentials: the mechanism asks with ``CredentialsRequested(authcid)``; the session looks
  the stored string up (passwords.py's SCRAM form, or ``None`` for an unknown user) and
  hands it back with ``credentials()``. Lookup is the only asynchronous part.
- Client-first mechanisms without an initial response get an empty challenge (RFC 4422 §5
  item 2a: "the first server challenge MUST be empty"; in SMTP "334 ", RFC 4954 §4).
- SCRAM "additional data with success" (RFC 5802 §5.2 item 2b): SMTP has none (RFC 4954 §4),
  so by default server-final is sent as a ``Challenge`` and the client's empty response ends
  the exchange with ``Succeeded`` (RFC 4422 §5 item 2b: "the response to this challenge is
  an empty response"). ``success_with_additional_data=True`` is for protocols that carry it
  (ManageSieve, RFC 5804 §2.1): ``Succeeded.additional_data`` then holds server-final.
- Unknown users cannot be told apart (RFC 4422 §3.6: "the outcome message will not
  distinguish between a valid user with invalid credentials and an invalid user"). SCRAM
  continues with a salt and keys derived from the user name by HMAC under a server key
  (stable per name, like a real salt) and fails at the proof with the wrong-password
  message. PLAIN and LOGIN spend one PBKDF2 on such fake credentials so timing matches.
  Several processes behind one address must share ``fake_credentials_key``, or an unknown
  user's salt would change from connection to connection while a real user's does not.
- No SCRAM server-final "e=" is sent on failure; RFC 5802 §5.1 "a server
  implementation MAY conclude the SASL exchange with a failure without sending the
  server-final-message", and SMTP could not carry it anyway.
- Preparation: authcid and authzid are SASLprep'd as query strings before being reported
  (RFC 4616 §2, RFC 5802 §5.1, RFC 4954 §4); passwords are prepared in passwords.py.
- Authorization is the caller's: mechanisms report authcid and authzid (``None`` when
  absent or empty, RFC 4422 §3.4.1); ``authorize_default`` is the usual policy.
- Network input never raises: any bytes give a ``Challenge``, ``CredentialsRequested`` or a
  ``Failed`` whose message says what was wrong (client data quoted only through ``repr``,
  so it cannot inject lines into a reply). Calling a method out of turn is our bug:
  ``LocalProtocolError``.
"""

from __future__ import annotations

import binascii
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import ClassVar

from reference.directory.passwords import (
    DEFAULT_ITERATIONS,
    KEY_OCTETS,
    SALT_OCTETS,
    MalformedCredentials,
    ScramCredentials,
    client_key_from,
    hmac_sha256,
    parse_credentials,
    salted_password,
    server_key_from,
    sha256,
    stored_key_from,
    verify_password,
)
from reference.directory.saslprep import SaslPrepError, saslprep
from reference.errors import LocalProtocolError, RemoteProtocolError

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

# Per process unless the deployment passes a shared key (see the module notes).
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


# --- SCRAM-SHA-256 (RFC 5802, RFC 7677) -----------------------------------------------------

# RFC 5802 §7: printable = %x21-2B / %x2D-7E ("Printable ASCII except ","")
_PRINTABLE = re.compile(r"[\x21-\x2b\x2d-\x7e]+")
# RFC 5802 §7: saslname = 1*(value-safe-char / "=2C" / "=3D"); value-safe-char is any
# UTF-8 character except NUL, "=" and ",". (§5.1 spells the escapes in upper case.)
_SASLNAME = re.compile(r"(?:[^\x00=,]|=2C|=3D)+")
# RFC 5802 §7: cb-name = 1*(ALPHA / DIGIT / "." / "-")
_CB_NAME = re.compile(r"[A-Za-z0-9.\-]+")
# RFC 5802 §7: attr-val = ALPHA "=" value; value = 1*value-char (UTF-8 except NUL and ",")
_ATTR_VAL = re.compile(r"([A-Za-z])=[^\x00,]+")
# RFC 5802 §7: base64 = *base64-4 [base64-3 / base64-2]
_BASE64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2}==)?")
# RFC 5802 §5.1: the attributes SCRAM defines; in an extension position they are misplaced.
_SCRAM_ATTRIBUTES = frozenset("acenimprsv")


def _decode_scram_message(message: bytes, what: str) -> str:
    # RFC 5802 §7: values are UTF-8 (value-safe-char includes UTF8-2/3/4), NUL excluded.
    try:
        text = message.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _malformed(f"the {what} is not valid UTF-8 (octet {exc.start})") from exc
    if "\x00" in text:
        raise _malformed(f"the {what} contains NUL (RFC 5802 §7 value-char)")
    return text


def _decode_saslname(value: str, what: str) -> str:
    # RFC 5802 §5.1: "If the server receives a username that contains '=' not followed by
    # either '2C' or '3D', then the server MUST fail the authentication."
    if _SASLNAME.fullmatch(value) is None:
        raise _malformed(f"the {what} {value[:64]!r} is not a saslname: empty, or '=' not "
                         "followed by 2C or 3D (RFC 5802 §5.1)")
    return value.replace("=2C", ",").replace("=3D", "=")


def _encode_saslname(name: str) -> str:
    # RFC 5802 §5.1: "The characters ',' or '=' in usernames are sent as '=2C' and '=3D'"
    return name.replace("=", "=3D").replace(",", "=2C")


def _decode_scram_base64(value: str, what: str) -> bytes:
    if _BASE64.fullmatch(value) is None:
        raise _malformed(f"{what} is not base64 (RFC 5802 §7)")
    return binascii.a2b_base64(value.encode("ascii"))


def _encode_base64(value: bytes) -> str:
    return binascii.b2a_base64(value, newline=False).decode("ascii")


def _check_extensions(attributes: list[str], where: str) -> None:
    for attribute in attributes:
        match = _ATTR_VAL.fullmatch(attribute)
        if match is None:
            raise _malformed(f"{attribute[:64]!r} in the {where} is not an attribute "
                             "(RFC 5802 §7 attr-val)")
        name = match.group(1)
        # RFC 5802 §5.1 m: "its presence in a client or a server message MUST cause
        # authentication failure when the attribute is parsed by the other end."
        if name == "m":
            raise _Rejected(FailureReason.EXTENSION_NOT_SUPPORTED,
                            f"mandatory extension {attribute[:64]!r} is not supported "
                            "(RFC 5802 §5.1)")
        if name in _SCRAM_ATTRIBUTES:
            raise _malformed(f"attribute {name}= is out of place in the {where} "
                             "(RFC 5802 §7)")
        # RFC 5802 §7 extensions: "unrecognized attributes not defined in this document
        # MUST be ignored."


def _xor(left: bytes, right: bytes) -> bytes:
    return bytes(a ^ b for a, b in zip(left, right, strict=True))


class _ScramPhase(Enum):
    CLIENT_FIRST = "client-first-message"
    CLIENT_FINAL = "client-final-message"
    ACKNOWLEDGEMENT = "empty response to server-final-message"


class ScramSha256Server(ServerMechanism):
    """SCRAM-SHA-256 (RFC 7677 §3, RFC 5802 §5) without channel binding.

    ``channel_binding`` is the connection's binding data when the server offers
    SCRAM-SHA-256-PLUS beside this mechanism: a client that says "y" (it supports channel
    binding but thinks the server does not) is then failed (RFC 5802 §6).
    ``server_nonce`` fixes our part of the nonce, for tests; by default it is random.
    """

    name = "SCRAM-SHA-256"
    sends_password_in_clear = False

    def __init__(self, *, channel_binding: ChannelBinding | None = None,
                 success_with_additional_data: bool = False,
                 limits: SaslLimits | None = None,
                 fake_credentials_key: bytes | None = None,
                 server_nonce: str | None = None) -> None:
        super().__init__(limits=limits, fake_credentials_key=fake_credentials_key)
        if server_nonce is not None and _PRINTABLE.fullmatch(server_nonce) is None:
            raise ValueError("server_nonce must be printable ASCII without ',' "
                             "(RFC 5802 §7 printable)")
        self.channel_binding = channel_binding
        self.success_with_additional_data = success_with_additional_data
        # RFC 5802 §5.1 r: "It is important that this value be different for each
        # authentication (see [RFC4086] ...)": 18 random octets, URL-safe base64 (no ",").
        self._server_nonce = server_nonce or secrets.token_urlsafe(18)
        self._phase = _ScramPhase.CLIENT_FIRST
        self._gs2_header = ""
        self._channel_binding_data = b""
        self._client_first_bare = ""
        self._nonce = ""
        self._authcid = ""
        self._authzid: str | None = None
        self._server_first = ""
        self._credentials: ScramCredentials | None = None
        self._server_final = b""

    def _on_start(self, initial_response: bytes | None) -> Step:
        # RFC 5802 §5: "SCRAM is a client-first SASL mechanism"; RFC 4422 §5 item 2a.
        if initial_response is None:
            return Challenge(b"")
        return self._on_response(initial_response)

    def _on_response(self, response: bytes) -> Step:
        if self._phase is _ScramPhase.CLIENT_FIRST:
            return self._on_client_first(response)
        if self._phase is _ScramPhase.CLIENT_FINAL:
            return self._on_client_final(response)
        # RFC 4422 §5 item 2b: the response to a success-data challenge "is an empty
        # response".
        if response:
            raise _malformed("expected an empty response after the server-final-message "
                             "(RFC 4422 §5 item 2b)")
        return Succeeded(self._authcid, self._authzid)

    # client-first-message = gs2-header client-first-message-bare          (RFC 5802 §7)
    # gs2-header = gs2-cbind-flag "," [ authzid ] ","
    # client-first-message-bare = [reserved-mext ","] username "," nonce ["," extensions]
    def _on_client_first(self, message: bytes) -> Step:
        text = _decode_scram_message(message, "client-first-message")
        cbind_flag, comma, rest = text.partition(",")
        authzid_field, comma_2, bare = rest.partition(",")
        if not (comma and comma_2):
            raise _malformed("the client-first-message lacks a gs2-header "
                             "(gs2-cbind-flag \",\" [authzid] \",\", RFC 5802 §7)")
        self._check_cbind_flag(cbind_flag)
        if authzid_field:
            if not authzid_field.startswith("a="):
                raise _malformed(f"{authzid_field[:64]!r} in the gs2-header is not "
                                 "\"a=\" saslname (RFC 5802 §7 authzid)")
            self._authzid = _prepare_authzid(self._limited(
                _decode_saslname(authzid_field[2:], "authorization identity"),
                "authorization identity"))
        self._gs2_header = text[:len(text) - len(bare)]
        attributes = bare.split(",")
        # RFC 5802 §5.1 m: "its presence ... MUST cause authentication failure".
        if attributes[0].startswith("m="):
            raise _Rejected(FailureReason.EXTENSION_NOT_SUPPORTED,
                            f"mandatory extension {attributes[0][:64]!r} is not supported "
                            "(RFC 5802 §5.1)")
        if len(attributes) < 2 or not attributes[0].startswith("n="):
            raise _malformed("client-first-message-bare must begin with n=username "
                             "(RFC 5802 §5.1: \"A client MUST include it\")")
        if not attributes[1].startswith("r="):
            raise _malformed("the username must be followed by r=nonce (RFC 5802 §7)")
        username = self._limited(_decode_saslname(attributes[0][2:], "username"), "username")
        client_nonce = attributes[1][2:]
        if _PRINTABLE.fullmatch(client_nonce) is None:
            raise _malformed("the client nonce is empty or not printable ASCII without ',' "
                             "(RFC 5802 §7 c-nonce)")
        _check_extensions(attributes[2:], "client-first-message")
        # RFC 5802 §5.1 n: the server "MUST either prepare it using the "SASLprep" profile
        # ... treating it as a query string" and "MUST use it as received in hash
        # calculations" (client_first_bare keeps it as received).
        self._authcid = _prepare_authcid(username)
        self._client_first_bare = bare
        self._nonce = client_nonce + self._server_nonce
        self._phase = _ScramPhase.CLIENT_FINAL
        return CredentialsRequested(self._authcid)

    def _check_cbind_flag(self, cbind_flag: str) -> None:
        # RFC 5802 §5: "the client's first message will always start with "n", "y", or "p";
        # otherwise, the message is invalid and authentication MUST fail."
        # gs2-cbind-flag = ("p=" cb-name) / "n" / "y"                        (RFC 5802 §7)
        if cbind_flag == "n":
            return
        if cbind_flag == "y":
            # RFC 5802 §6: 'If the flag is set to "y" and the server supports channel
            # binding, the server MUST fail authentication.'
            if self.channel_binding is not None:
                raise _Rejected(FailureReason.CHANNEL_BINDING_FAILED,
                                "the client thinks the server lacks channel binding, but it "
                                "offers it: possible downgrade (RFC 5802 §6)")
            return
        if cbind_flag.startswith("p=") and _CB_NAME.fullmatch(cbind_flag[2:]):
            # RFC 5802 §6: 'If the channel binding flag was "p" and the server does not
            # support the indicated channel binding type, then the server MUST fail
            # authentication.' Without -PLUS no type is supported (RFC 5802 §4).
            raise _Rejected(FailureReason.CHANNEL_BINDING_FAILED,
                            f"channel binding {cbind_flag[2:]!r} is not supported by "
                            f"{self.name}; it needs the -PLUS mechanism (RFC 5802 §4, §6)")
        raise _malformed(f"gs2-cbind-flag {cbind_flag[:64]!r} is not n, y or p=cb-name "
                         "(RFC 5802 §5)")

    def _limited(self, value: str, what: str) -> str:
        if len(value.encode("utf-8")) > self.limits.field_octets:
            raise _malformed(f"the {what} exceeds {self.limits.field_octets} octets")
        return value

    def _on_credentials(self, stored: str | None) -> Step:
        credentials = self._credentials_or_fake(self._authcid, stored)
        self._credentials = credentials
        # server-first-message = [reserved-mext ","] nonce "," salt "," iteration-count
        #                        ["," extensions]                             (RFC 5802 §7)
        self._server_first = (f"r={self._nonce},s={_encode_base64(credentials.salt)},"
                              f"i={credentials.iterations}")
        return Challenge(self._server_first.encode("utf-8"))

    # client-final-message-without-proof = channel-binding "," nonce ["," extensions]
    # client-final-message = client-final-message-without-proof "," proof (RFC 5802 §7)
    def _on_client_final(self, message: bytes) -> Step:
        assert self._credentials is not None
        text = _decode_scram_message(message, "client-final-message")
        attributes = text.split(",")
        if len(attributes) < 3 or not attributes[0].startswith("c="):
            raise _malformed("the client-final-message must be c=...,r=...,p=... "
                             "(RFC 5802 §7)")
        if not attributes[1].startswith("r="):
            raise _malformed("c= must be followed by r=nonce (RFC 5802 §7)")
        if not attributes[-1].startswith("p="):
            raise _malformed("the client-final-message must end with p=proof (RFC 5802 §7)")
        _check_extensions(attributes[2:-1], "client-final-message")
        channel_binding = _decode_scram_base64(attributes[0][2:], "c=")
        # RFC 5802 §6: "The server MUST always validate the client's "c=" field." It holds
        # the gs2-header, followed by the binding data when "p" was used (§7 cbind-input).
        if channel_binding != self._gs2_header.encode("utf-8") + self._channel_binding_data:
            raise _Rejected(FailureReason.CHANNEL_BINDING_FAILED,
                            "c= does not match the gs2-header and channel binding data "
                            "(RFC 5802 §6)")
        # RFC 5802 §5.1 r: "The server MUST verify that the nonce sent by the client in the
        # second message is the same as the one sent by the server in its first message."
        if attributes[1][2:] != self._nonce:
            raise _malformed("the nonce differs from the one in the server-first-message "
                             "(RFC 5802 §5.1)")
        proof = _decode_scram_base64(attributes[-1][2:], "p=")
        if len(proof) != KEY_OCTETS:
            raise _malformed(f"the ClientProof has {len(proof)} octets; SHA-256 gives "
                             f"{KEY_OCTETS} (RFC 5802 §2.2)")
        without_proof = text[:len(text) - len(attributes[-1]) - 1]
        # RFC 5802 §3: AuthMessage := client-first-message-bare + "," +
        #     server-first-message + "," + client-final-message-without-proof
        auth_message = ",".join(
            (self._client_first_bare, self._server_first, without_proof)).encode("utf-8")
        credentials = self._credentials
        # RFC 5802 §3: ClientSignature := HMAC(StoredKey, AuthMessage); the server recovers
        # ClientKey := ClientProof XOR ClientSignature and compares H(ClientKey) to StoredKey.
        client_key = _xor(proof, hmac_sha256(credentials.stored_key, auth_message))
        if not hmac.compare_digest(sha256(client_key), credentials.stored_key):
            return Failed(FailureReason.BAD_CREDENTIALS, _BAD_CREDENTIALS_MESSAGE)
        # RFC 5802 §3: ServerSignature := HMAC(ServerKey, AuthMessage)
        server_signature = hmac_sha256(credentials.server_key, auth_message)
        # server-final-message = (server-error / verifier) ["," extensions]  (RFC 5802 §7)
        self._server_final = b"v=" + _encode_base64(server_signature).encode("ascii")
        if self.success_with_additional_data:
            return Succeeded(self._authcid, self._authzid, additional_data=self._server_final)
        # RFC 4954 §4: SMTP "doesn't support the SASL feature of returning additional data
        # with a successful outcome": server-final goes out as a challenge.
        self._phase = _ScramPhase.ACKNOWLEDGEMENT
        return Challenge(self._server_final)

    def _forget_secrets(self) -> None:
        self._credentials = None


class ScramSha256PlusServer(ScramSha256Server):
    """SCRAM-SHA-256-PLUS: SCRAM-SHA-256 bound to the TLS channel (RFC 5802 §6, RFC 7677)."""

    name = "SCRAM-SHA-256-PLUS"

    def __init__(self, *, channel_binding: ChannelBinding | None = None,
                 success_with_additional_data: bool = False,
                 limits: SaslLimits | None = None,
                 fake_credentials_key: bytes | None = None,
                 server_nonce: str | None = None) -> None:
        if channel_binding is None:
            raise ValueError("SCRAM-SHA-256-PLUS needs the connection's channel binding")
        super().__init__(channel_binding=channel_binding,
                         success_with_additional_data=success_with_additional_data,
                         limits=limits, fake_credentials_key=fake_credentials_key,
                         server_nonce=server_nonce)

    def _check_cbind_flag(self, cbind_flag: str) -> None:
        assert self.channel_binding is not None
        if cbind_flag.startswith("p=") and _CB_NAME.fullmatch(cbind_flag[2:]):
            # RFC 5802 §6.1: "Servers MUST choose the channel binding type indicated by the
            # client, or fail authentication if they don't support it."
            if cbind_flag[2:] != self.channel_binding.cb_type:
                raise _Rejected(FailureReason.CHANNEL_BINDING_FAILED,
                                f"channel binding type {cbind_flag[2:]!r} is not supported; "
                                f"this connection offers {self.channel_binding.cb_type!r} "
                                "(RFC 5802 §6.1)")
            self._channel_binding_data = self.channel_binding.data
            return
        if cbind_flag in ("n", "y"):
            # RFC 5802 §6: "if the client requires the use of channel binding then it MUST
            # use a "p" gs2-cbind-flag"; choosing -PLUS is requiring it (RFC 5802 §4).
            raise _Rejected(FailureReason.CHANNEL_BINDING_FAILED,
                            f"{self.name} requires channel binding, but the gs2-cbind-flag "
                            f"is {cbind_flag!r} (RFC 5802 §4, §6)")
        raise _malformed(f"gs2-cbind-flag {cbind_flag[:64]!r} is not n, y or p=cb-name "
                         "(RFC 5802 §5)")


# --- the client side of SCRAM-SHA-256 ----------------------------------------------------


class ClientScram:
    """The client half of SCRAM-SHA-256 / -PLUS (RFC 5802 §5), strict about what the server
    sends: for tests, conformance drivers and load users.

        client = ClientScram("user", "pencil")
        first = client.client_first()
        final = client.client_final(server_first)    # RemoteProtocolError if it is invalid
        client.verify_server_final(server_final)     # RemoteProtocolError unless verified

    ``channel_binding`` makes it use "p=<type>" (for -PLUS); without it the flag is "n".
    ``max_iterations`` bounds the count a server may ask for (RFC 5802 §9: "A hostile server
    can perform a computational denial-of-service attack on clients by sending a big
    iteration count value").
    """

    def __init__(self, username: str, password: str, *, authzid: str | None = None,
                 client_nonce: str | None = None,
                 channel_binding: ChannelBinding | None = None,
                 max_iterations: int = 600_000) -> None:
        # RFC 5802 §5.1 n: "the client SHOULD prepare the username using the "SASLprep"
        # profile ... treating it as a query string".
        self.username = saslprep(username, allow_unassigned=True)
        # RFC 5802 §2.2 Normalize(): the password is a "stored" string.
        self._normalized_password = saslprep(password, allow_unassigned=False)
        self.authzid = authzid
        if client_nonce is not None and _PRINTABLE.fullmatch(client_nonce) is None:
            raise ValueError("client_nonce must be printable ASCII without ','")
        self.client_nonce = client_nonce or secrets.token_urlsafe(18)
        self.channel_binding = channel_binding
        self.max_iterations = max_iterations
        self._client_first_bare: str | None = None
        self._server_signature: bytes | None = None

    @property
    def gs2_header(self) -> str:
        # gs2-header = gs2-cbind-flag "," [ authzid ] ","                    (RFC 5802 §7)
        flag = "n" if self.channel_binding is None else f"p={self.channel_binding.cb_type}"
        authzid = "" if self.authzid is None else "a=" + _encode_saslname(self.authzid)
        return f"{flag},{authzid},"

    def client_first(self) -> bytes:
        """client-first-message = gs2-header client-first-message-bare (RFC 5802 §7)."""
        if self._client_first_bare is not None:
            raise LocalProtocolError("client_first() was already called")
        self._client_first_bare = f"n={_encode_saslname(self.username)},r={self.client_nonce}"
        return (self.gs2_header + self._client_first_bare).encode("utf-8")

    def client_final(self, server_first: bytes) -> bytes:
        """Check the server-first-message and answer with the client-final-message."""
        if self._client_first_bare is None or self._server_signature is not None:
            raise LocalProtocolError("client_final() must follow client_first(), once")
        text = _server_text(server_first, "server-first-message")
        attributes = text.split(",")
        # RFC 5802 §5.1 m: presence "MUST cause authentication failure".
        if attributes[0].startswith("m="):
            raise RemoteProtocolError("the server-first-message has a mandatory extension "
                                      "m= (RFC 5802 §5.1)")
        # server-first-message = [reserved-mext ","] nonce "," salt "," iteration-count
        #                        ["," extensions]                             (RFC 5802 §7)
        if (len(attributes) < 3 or not attributes[0].startswith("r=")
                or not attributes[1].startswith("s=") or not attributes[2].startswith("i=")):
            raise RemoteProtocolError(f"the server-first-message {text[:200]!r} is not "
                                      "r=...,s=...,i=... (RFC 5802 §7)")
        nonce = attributes[0][2:]
        # RFC 5802 §5.1 r: "The client MUST verify that the initial part of the nonce used
        # in subsequent messages is the same as the nonce it initially specified."
        if (not nonce.startswith(self.client_nonce) or len(nonce) == len(self.client_nonce)
                or _PRINTABLE.fullmatch(nonce) is None):
            raise RemoteProtocolError("the server nonce does not extend the client nonce "
                                      "with printable characters (RFC 5802 §5.1)")
        salt = _server_base64(attributes[1][2:], "s=")
        if not salt:
            raise RemoteProtocolError("the salt is empty (RFC 5802 §5.1 s)")
        iterations_text = attributes[2][2:]
        # RFC 5802 §7: iteration-count = "i=" posit-number
        if re.fullmatch(r"[1-9][0-9]*", iterations_text) is None:
            raise RemoteProtocolError(f"i={iterations_text[:20]!r} is not a positive number "
                                      "(RFC 5802 §7 posit-number)")
        if len(iterations_text) > 10 or int(iterations_text) > self.max_iterations:
            raise RemoteProtocolError(f"iteration count {iterations_text[:20]} exceeds our "
                                      f"limit of {self.max_iterations} (RFC 5802 §9)")
        iterations = int(iterations_text)
        self._check_server_extensions(attributes[3:], "server-first-message")
        # RFC 5802 §7 cbind-input = gs2-header [ cbind-data ]; channel-binding = "c=" base64
        cbind_input = self.gs2_header.encode("utf-8")
        if self.channel_binding is not None:
            cbind_input += self.channel_binding.data
        without_proof = f"c={_encode_base64(cbind_input)},r={nonce}"
        auth_message = ",".join((self._client_first_bare, text, without_proof)).encode("utf-8")
        # RFC 5802 §3: SaltedPassword, ClientKey, StoredKey, ClientSignature, ClientProof,
        # ServerKey, ServerSignature.
        salted = salted_password(self._normalized_password, salt, iterations)
        client_key = client_key_from(salted)
        client_signature = hmac_sha256(stored_key_from(client_key), auth_message)
        proof = _xor(client_key, client_signature)
        self._server_signature = hmac_sha256(server_key_from(salted), auth_message)
        return f"{without_proof},p={_encode_base64(proof)}".encode("ascii")

    def verify_server_final(self, server_final: bytes) -> None:
        """Check the server-final-message; raise ``RemoteProtocolError`` unless it carries
        the ServerSignature we expect (RFC 5802 §3: this proves "that the server had access
        to the user's ServerKey")."""
        if self._server_signature is None:
            raise LocalProtocolError("verify_server_final() must follow client_final()")
        text = _server_text(server_final, "server-final-message")
        # server-final-message = (server-error / verifier) ["," extensions]  (RFC 5802 §7)
        attributes = text.split(",")
        if attributes[0].startswith("e="):
            raise RemoteProtocolError(f"the server reported {attributes[0][2:200]!r} "
                                      "(RFC 5802 §7 server-error)")
        if not attributes[0].startswith("v="):
            raise RemoteProtocolError(f"the server-final-message {text[:200]!r} is not "
                                      "v=... or e=... (RFC 5802 §7)")
        self._check_server_extensions(attributes[1:], "server-final-message")
        signature = _server_base64(attributes[0][2:], "v=")
        if not hmac.compare_digest(signature, self._server_signature):
            raise RemoteProtocolError("the ServerSignature does not verify: the server does "
                                      "not know this user's ServerKey (RFC 5802 §3)")

    @staticmethod
    def _check_server_extensions(attributes: list[str], where: str) -> None:
        try:
            _check_extensions(attributes, where)
        except _Rejected as rejection:
            raise RemoteProtocolError(rejection.failed.message) from rejection


def _server_text(message: bytes, what: str) -> str:
    try:
        return _decode_scram_message(message, what)
    except _Rejected as rejection:
        raise RemoteProtocolError(rejection.failed.message) from rejection


def _server_base64(value: str, what: str) -> bytes:
    try:
        return _decode_scram_base64(value, what)
    except _Rejected as rejection:
        raise RemoteProtocolError(rejection.failed.message) from rejection


# --- authorization ---------------------------------------------------------------------------


def authorize_default(outcome: Succeeded) -> Succeeded | Failed:
    """The default policy: a user may act only as itself.

    RFC 4422 §3.4.1: an absent (``None``) authorization identity means "act as the identity
    the server associates with the client's credentials"; one equal to authcid (compared
    case-insensitively, as user names are) says the same. Anything else fails, RFC 4422
    §3.6: "not authorized to act as the requested authorization identity".
    """
    if outcome.authzid is None or outcome.authzid.casefold() == outcome.authcid.casefold():
        return outcome
    return Failed(FailureReason.AUTHZID_NOT_PERMITTED,
                  f"{outcome.authcid!r} may not act as {outcome.authzid!r}")


# --- registry ----------------------------------------------------------------------------------

_MECHANISM_CLASSES: dict[str, type[ServerMechanism]] = {
    mechanism.name: mechanism
    for mechanism in (ScramSha256PlusServer, ScramSha256Server, PlainServer, LoginServer)
}
# Every mechanism this module implements, strongest first (RFC 5802 §9: clients sort by
# preference; offering in that order helps clients that take the first they know).
SERVER_MECHANISMS: tuple[str, ...] = tuple(_MECHANISM_CLASSES)
# RFC 4954 §4 note: "plaintext password mechanisms", which a server MUST be configurable not
# to permit before STARTTLS.
PLAINTEXT_MECHANISMS: frozenset[str] = frozenset(
    name for name, mechanism in _MECHANISM_CLASSES.items() if mechanism.sends_password_in_clear)


class UnknownMechanism(LookupError):
    """``server_mechanism`` was asked for a mechanism it cannot run on this connection.
    Sessions check the client's choice against what they offered first (RFC 4954 §4: 504)."""


def offered_mechanisms(*, tls_active: bool, channel_binding: ChannelBinding | None = None,
                       allow_plaintext_without_tls: bool = False) -> tuple[str, ...]:
    """The mechanisms to advertise (SMTP EHLO "AUTH", IMAP "AUTH=") on one connection,
    strongest first. Which to permit is the session's policy; this applies the RFC rules:

    - RFC 4954 §4: "A server implementation MUST implement a configuration in which it does
      NOT permit any plaintext password mechanisms, unless either the STARTTLS [SMTP-TLS]
      command has been negotiated or some other mechanism that protects the session from
      password snooping has been provided." ``allow_plaintext_without_tls`` is the other
      configuration, for a policy such as "loopback connections only".
    - RFC 5802 §6: "If the server cannot support channel binding, it SHOULD advertise only
      the non-PLUS-variant."
    """
    plaintext_allowed = tls_active or allow_plaintext_without_tls
    return tuple(name for name in SERVER_MECHANISMS
                 if (plaintext_allowed or name not in PLAINTEXT_MECHANISMS)
                 and (channel_binding is not None or name != ScramSha256PlusServer.name))


def server_mechanism(name: str, *, channel_binding: ChannelBinding | None = None,
                     success_with_additional_data: bool = False,
                     limits: SaslLimits | None = None,
                     fake_credentials_key: bytes | None = None) -> ServerMechanism:
    """A fresh server exchange for the mechanism ``name``.

    ``channel_binding``: the TLS channel's binding data when the connection offers it
    (required for SCRAM-SHA-256-PLUS; makes SCRAM-SHA-256 refuse the "y" flag, RFC 5802
    §6). ``success_with_additional_data``: the protocol can carry SCRAM's server-final in
    its success reply (not SMTP, RFC 4954 §4). Raises ``UnknownMechanism`` for a name this
    module does not implement, or -PLUS without channel binding.
    """
    # RFC 4422 §3.1: names are upper case; RFC 5321 §2.4 and RFC 9051 §9 (auth-type is an
    # atom) compare protocol keywords case-insensitively, so "plain" selects PLAIN.
    canonical = name.upper()
    mechanism = _MECHANISM_CLASSES.get(canonical)
    if mechanism is None:
        raise UnknownMechanism(f"mechanism {name[:40]!r} is not implemented")
    if issubclass(mechanism, ScramSha256Server):
        if issubclass(mechanism, ScramSha256PlusServer) and channel_binding is None:
            raise UnknownMechanism(f"{canonical} needs the connection's channel binding")
        return mechanism(channel_binding=channel_binding,
                         success_with_additional_data=success_with_additional_data,
                         limits=limits, fake_credentials_key=fake_credentials_key)
    assert issubclass(mechanism, _PasswordMechanism)
    return mechanism(limits=limits, fake_credentials_key=fake_credentials_key)
