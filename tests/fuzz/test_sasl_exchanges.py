"""Issue 5, valid mode for SASL: every message ``fuzz.strategies.sasl`` calls valid is
read as the mechanism's grammar says, and whole exchanges with the right password
succeed for any user name (escapes, non-ASCII, SASLprep-stable). The fixed RFC examples
are in tests/directory/test_sasl.py; totality and linear work in test_totality.py.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from fuzz.strategies import sasl
from reference.directory.passwords import derive_credentials, format_credentials
from reference.directory.sasl import (
    Challenge,
    ClientScram,
    CredentialsRequested,
    PlainServer,
    ScramSha256Server,
    Succeeded,
)

# PBKDF2 runs a few thousand rounds per exchange (RFC 7677 §4: at least 4096)
EXCHANGES = settings(max_examples=20, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow])


def unescaped(saslname: str) -> str:
    """RFC 5802 §5.1: "=2C" and "=3D" stand for "," and "=". (Written here, not imported,
    so the property does not test the parser against itself.)"""
    return saslname.replace("=2C", ",").replace("=3D", "=")


@EXCHANGES
@given(sasl.plain_messages())
def test_plain_messages_ask_for_the_credentials_of_their_authcid(message: bytes) -> None:
    """RFC 4616 §2: message = [authzid] UTF8NUL authcid UTF8NUL passwd; the right
    password succeeds as authcid, asking to act as authzid (None when empty, RFC 4422
    §3.4.1)."""
    authzid, authcid, password = message.decode().split("\x00")
    server = PlainServer()
    assert server.start(message) == CredentialsRequested(authcid)
    stored = format_credentials(derive_credentials(password, salt=b"s" * 16, iterations=4096))
    assert server.credentials(stored) == Succeeded(authcid, authzid or None)


@EXCHANGES
@given(sasl.saslnames(), sasl.passwords())
def test_scram_exchanges_succeed_for_any_user_name_and_password(saslname: str,
                                                                  password: str) -> None:
    """RFC 5802 §5: client-first, server-first, client-final, server-final; the proof of
    the right password verifies, and the server's signature verifies at the client (RFC
    5802 §3), for user names with "," and "=" (sent escaped, §5.1)."""
    username = unescaped(saslname)
    client = ClientScram(username, password)
    server = ScramSha256Server()
    assert server.start(client.client_first()) == CredentialsRequested(username)
    stored = format_credentials(derive_credentials(password, salt=b"s" * 16, iterations=4096))
    server_first = server.credentials(stored)
    assert isinstance(server_first, Challenge)
    server_final = server.respond(client.client_final(server_first.data))
    assert isinstance(server_final, Challenge)
    client.verify_server_final(server_final.data)
    assert server.respond(b"") == Succeeded(username, None)


@EXCHANGES
@given(sasl.scram_client_first_messages())
def test_scram_client_first_messages_name_their_user(message: bytes) -> None:
    """RFC 5802 §7 client-first-message-bare begins "n=" saslname; the server asks for
    the credentials of the unescaped name."""
    bare = message.decode().split(",", 2)[2]
    name = bare.split(",")[0][2:]
    assert ScramSha256Server().start(message) == CredentialsRequested(unescaped(name))
