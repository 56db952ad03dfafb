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

from reference.directory.sasl.base import ServerMechanism, fake_credentials
from reference.directory.sasl.plain import LoginServer, PlainServer, _PasswordMechanism
from reference.directory.sasl.scram import ScramSha256PlusServer, ScramSha256Server
from reference.directory.sasl.scram_client import ClientScram
from reference.directory.sasl.steps import (
    Challenge,
    ChannelBinding,
    CredentialsRequested,
    Failed,
    FailureReason,
    SaslLimits,
    Step,
    Succeeded,
)

__all__ = [
    "PLAINTEXT_MECHANISMS",
    "SERVER_MECHANISMS",
    "Challenge",
    "ChannelBinding",
    "ClientScram",
    "CredentialsRequested",
    "Failed",
    "FailureReason",
    "LoginServer",
    "PlainServer",
    "SaslLimits",
    "ScramSha256PlusServer",
    "ScramSha256Server",
    "ServerMechanism",
    "Step",
    "Succeeded",
    "UnknownMechanism",
    "authorize_default",
    "fake_credentials",
    "offered_mechanisms",
    "server_mechanism",
]

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
