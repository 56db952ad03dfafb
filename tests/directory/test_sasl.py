"""The sans-IO SASL mechanisms: PLAIN (RFC 4616), LOGIN, SCRAM-SHA-256 (RFC 5802, RFC 7677)."""

from __future__ import annotations

import base64

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reference.directory.passwords import derive_credentials, format_credentials
from reference.directory.sasl import (
    PLAINTEXT_MECHANISMS,
    SERVER_MECHANISMS,
    Challenge,
    ChannelBinding,
    ClientScram,
    CredentialsRequested,
    Failed,
    FailureReason,
    LoginServer,
    PlainServer,
    SaslLimits,
    ScramSha256PlusServer,
    ScramSha256Server,
    ServerMechanism,
    Step,
    Succeeded,
    UnknownMechanism,
    authorize_default,
    fake_credentials,
    offered_mechanisms,
    server_mechanism,
)
from reference.directory.saslprep import SaslPrepError, saslprep
from reference.errors import LocalProtocolError, RemoteProtocolError

# RFC 7677 §3: user "user", password "pencil", and the exchange's nonces and salt.
RFC7677_SALT = base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ==")
RFC7677_CLIENT_NONCE = "rOprNGfwEbeRWgbNEkqO"
RFC7677_SERVER_NONCE = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
RFC7677_CLIENT_FIRST = b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
RFC7677_SERVER_FIRST = (b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                        b"s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
RFC7677_CLIENT_FINAL = (b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                        b"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
RFC7677_SERVER_FINAL = b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
PENCIL = format_credentials(derive_credentials("pencil", salt=RFC7677_SALT, iterations=4096))
RFC7677_NONCE = (RFC7677_CLIENT_NONCE + RFC7677_SERVER_NONCE).encode()


def rfc7677_server(**options: object) -> ScramSha256Server:
    return ScramSha256Server(server_nonce=RFC7677_SERVER_NONCE, **options)  # type: ignore[arg-type]


def scram_exchange(server: ScramSha256Server, client: ClientScram, stored: str | None) -> Step:
    """Run ClientScram against the server mechanism, as an SMTP session would."""
    step = server.start(client.client_first())
    assert isinstance(step, CredentialsRequested)
    step = server.credentials(stored)
    assert isinstance(step, Challenge)
    step = server.respond(client.client_final(step.data))
    if isinstance(step, Challenge):
        client.verify_server_final(step.data)
        step = server.respond(b"")
    return step


def until_credentials(mechanism: ServerMechanism, *messages: bytes | None) -> Step:
    """Start with the first message and answer each challenge with the next."""
    step = mechanism.start(messages[0])
    for message in messages[1:]:
        assert isinstance(step, Challenge), step
        step = mechanism.respond(message)
    return step


# --- SCRAM-SHA-256: the RFC 7677 §3 example ----------------------------------------------------


def test_scram_server_reproduces_the_rfc7677_exchange_byte_for_byte() -> None:
    """RFC 7677 §3: the example exchange, with the server-final message sent as a 334
    challenge and the client's empty response ending it (RFC 4954 §4, RFC 4422 §5 2b)."""
    server = rfc7677_server()
    assert server.start(RFC7677_CLIENT_FIRST) == CredentialsRequested("user")
    assert server.credentials(PENCIL) == Challenge(RFC7677_SERVER_FIRST)
    assert server.respond(RFC7677_CLIENT_FINAL) == Challenge(RFC7677_SERVER_FINAL)
    assert server.respond(b"") == Succeeded("user", None)
    assert server.finished


def test_scram_client_reproduces_the_rfc7677_exchange_byte_for_byte() -> None:
    client = ClientScram("user", "pencil", client_nonce=RFC7677_CLIENT_NONCE)
    assert client.client_first() == RFC7677_CLIENT_FIRST
    assert client.client_final(RFC7677_SERVER_FIRST) == RFC7677_CLIENT_FINAL
    client.verify_server_final(RFC7677_SERVER_FINAL)


def test_scram_without_initial_response_starts_with_an_empty_challenge() -> None:
    """RFC 4422 §5 item 2a: client-first mechanism, "the first server challenge MUST be
    empty" (SMTP "334 ", RFC 4954 §4)."""
    server = rfc7677_server()
    assert server.start(None) == Challenge(b"")
    assert server.respond(RFC7677_CLIENT_FIRST) == CredentialsRequested("user")


def test_scram_success_data_rides_in_the_outcome_when_the_protocol_allows() -> None:
    """RFC 4422 §3.6 additional data with success (ManageSieve RFC 5804 §2.1)."""
    server = rfc7677_server(success_with_additional_data=True)
    server.start(RFC7677_CLIENT_FIRST)
    server.credentials(PENCIL)
    assert server.respond(RFC7677_CLIENT_FINAL) == Succeeded(
        "user", None, additional_data=RFC7677_SERVER_FINAL)


def test_scram_wrong_password_fails_at_the_proof() -> None:
    step = scram_exchange(ScramSha256Server(), ClientScram("user", "pencil"),
                          format_credentials(derive_credentials(
                              "pencl", salt=RFC7677_SALT, iterations=4096)))
    assert step == Failed(FailureReason.BAD_CREDENTIALS, "invalid credentials")


def test_scram_unknown_user_looks_like_a_real_one_until_the_proof() -> None:
    """RFC 4422 §3.6: the outcome must "not distinguish between a valid user with invalid
    credentials and an invalid user": a stable salt per name, the usual count, the same
    failure as a wrong password."""
    key = b"k" * 32
    firsts = []
    for _ in range(2):
        server = ScramSha256Server(fake_credentials_key=key, server_nonce="abc")
        server.start(b"n,,n=nobody,r=xyz")
        step = server.credentials(None)
        assert isinstance(step, Challenge)
        firsts.append(step.data)
    assert firsts[0] == firsts[1]
    assert firsts[0].startswith(b"r=xyzabc,s=") and firsts[0].endswith(b",i=4096")
    assert fake_credentials("nobody", key).salt != fake_credentials("somebody", key).salt

    client = ClientScram("nobody", "pencil")
    server = ScramSha256Server(fake_credentials_key=key)
    assert scram_exchange(server, client, None) == Failed(
        FailureReason.BAD_CREDENTIALS, "invalid credentials")


def test_scram_username_escapes_are_decoded_and_the_name_prepared() -> None:
    """RFC 5802 §5.1: ',' and '=' travel as '=2C' and '=3D'; the server prepares the name
    with SASLprep as a query string, but hashes it as received."""
    server = ScramSha256Server()
    assert server.start(b"n,,n=a=2Cb=3Dc,r=x") == CredentialsRequested("a,b=c")
    server = ScramSha256Server()
    assert server.start("n,,n=I\u00adX,r=x".encode()) == CredentialsRequested("IX")
    # The proof covers the name as sent: a client that sent "I<SHY>X" still succeeds.
    stored = format_credentials(derive_credentials("pw", salt=b"salt", iterations=4096))
    assert scram_exchange(ScramSha256Server(), ClientScram("I\u00adX", "pw"), stored) \
        == Succeeded("IX", None)


def test_scram_reports_the_authzid() -> None:
    """RFC 5802 §5.1 a: the authorization identity, same quoting as n."""
    client = ClientScram("user", "pencil", authzid="admin,x")
    assert client.gs2_header == "n,a=admin=2Cx,"
    step = scram_exchange(ScramSha256Server(), client, PENCIL)
    assert step == Succeeded("user", "admin,x")
    assert authorize_default(step) == Failed(FailureReason.AUTHZID_NOT_PERMITTED,
                                              "'user' may not act as 'admin,x'")


def test_scram_unknown_optional_extensions_are_ignored() -> None:
    """RFC 5802 §7: "unrecognized attributes not defined in this document MUST be ignored"."""
    server = rfc7677_server()
    assert server.start(RFC7677_CLIENT_FIRST + b",x=1,y=two") == CredentialsRequested("user")


M = FailureReason.MALFORMED
CB = FailureReason.CHANNEL_BINDING_FAILED
EXT = FailureReason.EXTENSION_NOT_SUPPORTED


@pytest.mark.parametrize(("client_first", "reason", "fragment"), [
    (b"", M, "gs2-header"),
    (b"x,,n=user,r=abc", M, "gs2-cbind-flag"),           # RFC 5802 §5: n, y or p only
    (b"N,,n=user,r=abc", M, "gs2-cbind-flag"),
    (b"p=,,n=user,r=abc", M, "gs2-cbind-flag"),
    (b"p=tls-unique,,n=user,r=abc", CB, "not supported"),  # §6: we offer no binding here
    (b"n,b=user,n=user,r=abc", M, "authzid"),
    (b"n,a=,n=user,r=abc", M, "saslname"),               # saslname = 1*(...)
    (b"n,a=x=2Dy,n=user,r=abc", M, "saslname"),
    (b"n,,m=ext,n=user,r=abc", EXT, "mandatory"),        # §5.1 m MUST fail
    (b"n,,n=user,r=abc,m=ext", EXT, "mandatory"),
    (b"n,,r=abc,n=user", M, "n=username"),
    (b"n,,n=user", M, "n=username"),
    (b"n,,n=,r=abc", M, "saslname"),
    (b"n,,n=us=er,r=abc", M, "saslname"),                # §5.1 "=" not =2C/=3D MUST fail
    (b"n,,n=us=2cer,r=abc", M, "saslname"),              # §5.1 spells =2C in upper case
    (b"n,,n=user,x=abc", M, "r=nonce"),
    (b"n,,n=user,r=", M, "nonce"),
    (b"n,,n=user,r=a\x7fc", M, "nonce"),
    (b"n,,n=user,r=ab\xc3\xa9", M, "nonce"),
    (b"n,,n=user,r=abc,", M, "attr-val"),
    (b"n,,n=user,r=abc,xx=1", M, "attr-val"),
    (b"n,,n=user,r=abc,e=oops", M, "out of place"),      # e= belongs to the server
    (b"n,,n=user,r=abc,n=again", M, "out of place"),
    (b"n,,n=us\x00er,r=abc", M, "NUL"),
    (b"n,,n=\xff,r=abc", M, "UTF-8"),
    (b"n,,n=\xe2\x80\x8e,r=abc", M, "SASLprep"),         # U+200E: RFC 3454 C.8
    (b"n,,n=\xc2\xad,r=abc", M, "empty after SASLprep"),
    (b"n,a=\xc2\xad,n=user,r=abc", M, "empty after SASLprep"),
    (b"n,,n=" + b"u" * 256 + b",r=abc", M, "255 octets"),
])
def test_scram_rejects_a_bad_client_first_message(
        client_first: bytes, reason: FailureReason, fragment: str) -> None:
    step = ScramSha256Server().start(client_first)
    assert isinstance(step, Failed), step
    assert step.reason is reason
    assert fragment in step.message


def test_scram_y_flag_is_accepted_without_channel_binding_and_refused_with_it() -> None:
    """RFC 5802 §6: 'If the flag is set to "y" and the server supports channel binding,
    the server MUST fail authentication.'"""
    assert ScramSha256Server().start(b"y,,n=user,r=abc") == CredentialsRequested("user")
    with_binding = ScramSha256Server(channel_binding=ChannelBinding("tls-exporter", b"x"))
    step = with_binding.start(b"y,,n=user,r=abc")
    assert isinstance(step, Failed) and step.reason is CB and "downgrade" in step.message


def client_final_for(nonce: bytes = RFC7677_NONCE, *, channel_binding: bytes = b"biws",
                     extensions: bytes = b"",
                     proof: bytes = b"dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=") -> bytes:
    return b"c=" + channel_binding + b",r=" + nonce + extensions + b",p=" + proof


@pytest.mark.parametrize(("client_final", "reason", "fragment"), [
    (b"", M, "c=...,r=...,p=..."),
    (b"r=x,c=biws,p=abcd", M, "c=...,r=...,p=..."),
    (client_final_for()[:-47], M, "c=...,r=...,p=..."),         # no proof at all
    (client_final_for().replace(b",r=", b",x="), M, "r=nonce"),
    (client_final_for() + b",x=1", M, "end with p="),
    (client_final_for(channel_binding=b"eSws"), CB, "gs2-header"),   # "y,," instead of "n,,"
    (client_final_for(channel_binding=b"bi ws"), M, "base64"),
    (client_final_for(channel_binding=b"biws="), M, "base64"),
    (client_final_for(RFC7677_NONCE + b"x"), M, "nonce"),            # §5.1 MUST verify
    (client_final_for(RFC7677_CLIENT_NONCE.encode()), M, "nonce"),
    (client_final_for(extensions=b",m=x"), EXT, "mandatory"),
    (client_final_for(extensions=b",e=x"), M, "out of place"),
    (client_final_for(proof=b"dHzb"), M, "ClientProof"),
    (client_final_for(proof=b"dHzb*"), M, "base64"),
    (client_final_for(proof=b"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
     FailureReason.BAD_CREDENTIALS, "invalid credentials"),
    (b"\xff" + client_final_for(), M, "UTF-8"),
])
def test_scram_rejects_a_bad_client_final_message(
        client_final: bytes, reason: FailureReason, fragment: str) -> None:
    server = rfc7677_server()
    server.start(RFC7677_CLIENT_FIRST)
    server.credentials(PENCIL)
    step = server.respond(client_final)
    assert isinstance(step, Failed), step
    assert step.reason is reason
    assert fragment in step.message


def test_scram_optional_extensions_in_the_client_final_message_are_covered_by_the_proof() -> None:
    """An ignored extension still counts in AuthMessage, so the RFC's proof no longer fits."""
    server = rfc7677_server()
    server.start(RFC7677_CLIENT_FIRST)
    server.credentials(PENCIL)
    step = server.respond(client_final_for(extensions=b",x=1"))
    assert step == Failed(FailureReason.BAD_CREDENTIALS, "invalid credentials")


def test_scram_needs_an_empty_response_after_the_server_final_message() -> None:
    """RFC 4422 §5 item 2b: the response to the success-data challenge "is an empty
    response"."""
    server = rfc7677_server()
    server.start(RFC7677_CLIENT_FIRST)
    server.credentials(PENCIL)
    server.respond(RFC7677_CLIENT_FINAL)
    step = server.respond(b"=")
    assert isinstance(step, Failed) and step.reason is M and "empty response" in step.message


def test_scram_unusable_stored_credentials_are_the_servers_fault() -> None:
    server = rfc7677_server()
    server.start(RFC7677_CLIENT_FIRST)
    step = server.credentials("SCRAM-SHA-256$not-a-count")
    assert isinstance(step, Failed) and step.reason is FailureReason.CREDENTIALS_UNUSABLE


# --- SCRAM-SHA-256-PLUS -----------------------------------------------------------------------

BINDING = ChannelBinding("tls-exporter", b"\x01\x02 exported keying material")


def test_scram_plus_succeeds_with_matching_channel_binding() -> None:
    """RFC 5802 §6 and §7: c= carries the gs2-header and the channel's binding data."""
    client = ClientScram("user", "pencil", channel_binding=BINDING)
    assert client.gs2_header == "p=tls-exporter,,"
    server = ScramSha256PlusServer(channel_binding=BINDING)
    assert scram_exchange(server, client, PENCIL) == Succeeded("user", None)


def test_scram_plus_fails_when_the_channels_differ() -> None:
    """A man in the middle terminates two TLS channels: their binding data differ."""
    client = ClientScram("user", "pencil", channel_binding=ChannelBinding("tls-exporter", b"a"))
    server = ScramSha256PlusServer(channel_binding=ChannelBinding("tls-exporter", b"b"))
    step = server.start(client.client_first())
    step = server.credentials(PENCIL)
    assert isinstance(step, Challenge)
    step = server.respond(client.client_final(step.data))
    assert isinstance(step, Failed) and step.reason is CB


@pytest.mark.parametrize(("client_first", "fragment"), [
    (b"p=tls-unique,,n=user,r=abc", "6.1"),              # another type: MUST fail (§6.1)
    (b"n,,n=user,r=abc", "requires channel binding"),
    (b"y,,n=user,r=abc", "requires channel binding"),
])
def test_scram_plus_refuses_other_flags(client_first: bytes, fragment: str) -> None:
    step = ScramSha256PlusServer(channel_binding=BINDING).start(client_first)
    assert isinstance(step, Failed) and step.reason is CB and fragment in step.message


def test_scram_plus_needs_channel_binding_to_exist() -> None:
    with pytest.raises(ValueError, match="channel binding"):
        ScramSha256PlusServer()


# --- the SCRAM client is strict about the server ----------------------------------------------


@pytest.mark.parametrize(("server_first", "fragment"), [
    (b"m=x," + RFC7677_SERVER_FIRST, "mandatory extension"),
    (b"s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", "r=...,s=...,i=..."),
    (RFC7677_SERVER_FIRST.replace(b"rOpr", b"XOpr"), "extend the client nonce"),
    (b"r=" + RFC7677_CLIENT_NONCE.encode() + b",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
     "extend the client nonce"),
    (RFC7677_SERVER_FIRST.replace(b"s=W22Z", b"s=*22Z"), "base64"),
    (RFC7677_SERVER_FIRST.replace(b"i=4096", b"i=0"), "positive"),
    (RFC7677_SERVER_FIRST.replace(b"i=4096", b"i=4096000000"), "limit"),
    (RFC7677_SERVER_FIRST + b",e=x", "out of place"),
])
def test_scram_client_rejects_a_bad_server_first_message(server_first: bytes,
                                                         fragment: str) -> None:
    client = ClientScram("user", "pencil", client_nonce=RFC7677_CLIENT_NONCE)
    client.client_first()
    with pytest.raises(RemoteProtocolError, match=fragment):
        client.client_final(server_first)


@pytest.mark.parametrize(("server_final", "fragment"), [
    (b"v=" + base64.b64encode(bytes(32)), "does not verify"),
    (b"e=invalid-proof", "invalid-proof"),
    (b"x=1", "v=... or e=..."),
    (b"v=***", "base64"),
])
def test_scram_client_rejects_a_bad_server_final_message(server_final: bytes,
                                                         fragment: str) -> None:
    client = ClientScram("user", "pencil", client_nonce=RFC7677_CLIENT_NONCE)
    client.client_first()
    client.client_final(RFC7677_SERVER_FIRST)
    with pytest.raises(RemoteProtocolError, match=fragment):
        client.verify_server_final(server_final)


def test_scram_client_refuses_to_run_out_of_order() -> None:
    client = ClientScram("user", "pencil")
    with pytest.raises(LocalProtocolError):
        client.client_final(RFC7677_SERVER_FIRST)
    with pytest.raises(LocalProtocolError):
        client.verify_server_final(RFC7677_SERVER_FINAL)


# --- PLAIN (RFC 4616) --------------------------------------------------------------------------


TANSTAAF = format_credentials(derive_credentials("tanstaaftanstaaf", salt=b"s" * 16,
                                                 iterations=4096))
XIPJ = format_credentials(derive_credentials("xipj3plmq", salt=b"s" * 16, iterations=4096))


def test_plain_rfc4616_example_one_empty_challenge_then_the_message() -> None:
    """RFC 4616 §4: 'S: + ""' then 'C: <NUL>tim<NUL>tanstaaftanstaaf'."""
    plain = PlainServer()
    assert plain.start(None) == Challenge(b"")
    assert plain.respond(b"\x00tim\x00tanstaaftanstaaf") == CredentialsRequested("tim")
    assert plain.credentials(TANSTAAF) == Succeeded("tim", None)


def test_plain_rfc4616_example_two_authzid_not_permitted() -> None:
    """RFC 4616 §4: 'Ursel<NUL>Kurt<NUL>xipj3plmq' as an initial response; Kurt may not
    act as Ursel ('NO "Not authorized to requested authorization identity"')."""
    plain = PlainServer()
    assert plain.start(b"Ursel\x00Kurt\x00xipj3plmq") == CredentialsRequested("Kurt")
    outcome = plain.credentials(XIPJ)
    assert outcome == Succeeded("Kurt", "Ursel")
    assert isinstance(outcome, Succeeded)
    assert authorize_default(outcome) == Failed(FailureReason.AUTHZID_NOT_PERMITTED,
                                                "'Kurt' may not act as 'Ursel'")


def test_plain_rfc4954_example_authzid_equal_to_authcid() -> None:
    """RFC 4954 §4.1: "AUTH PLAIN dGVzdAB0ZXN0ADEyMzQ=" is test NUL test NUL 1234."""
    plain = PlainServer()
    assert plain.start(base64.b64decode("dGVzdAB0ZXN0ADEyMzQ=")) == CredentialsRequested("test")
    outcome = plain.credentials(format_credentials(
        derive_credentials("1234", salt=b"s" * 16, iterations=4096)))
    assert outcome == Succeeded("test", "test")
    assert isinstance(outcome, Succeeded)
    assert authorize_default(outcome) is outcome
    assert authorize_default(Succeeded("Test", "tEST")) == Succeeded("Test", "tEST")


def test_plain_wrong_password_and_unknown_user_fail_alike() -> None:
    """RFC 4422 §3.6: unknown user and wrong password are indistinguishable."""
    outcomes = []
    for stored in (XIPJ, None):
        plain = PlainServer()
        plain.start(b"\x00Kurt\x00wrong")
        outcomes.append(plain.credentials(stored))
    assert outcomes == [Failed(FailureReason.BAD_CREDENTIALS, "invalid credentials")] * 2


def test_plain_reports_prepared_identities() -> None:
    """RFC 4616 §2: presented strings are prepared as SASLprep query strings; the password
    too (RFC 4013 §3 example 5 matches example 1)."""
    plain = PlainServer()
    step = plain.start("\u2168\x00I\u00adX\x00\u2168".encode())
    assert step == CredentialsRequested("IX")
    stored = format_credentials(derive_credentials("IX", salt=b"s" * 16, iterations=4096))
    assert plain.credentials(stored) == Succeeded("IX", "IX")


def test_plain_accepts_255_octet_fields() -> None:
    """RFC 4616 §2: "Servers MUST be capable of accepting authzid, authcid, and passwd
    productions up to and including 255 octets." Beyond the limit, refused."""
    field = "é" * 127 + "x"          # 255 octets in UTF-8
    assert len(field.encode()) == 255
    message = "\x00".join((field, field, field)).encode()
    assert PlainServer().start(message) == CredentialsRequested(saslprep(field))
    longer = "\x00".join((field, field + "y", field)).encode()
    step = PlainServer().start(longer)
    assert isinstance(step, Failed) and "256 octets" in step.message
    roomy = PlainServer(limits=SaslLimits(field_octets=300))
    assert isinstance(roomy.start(longer), CredentialsRequested)


@pytest.mark.parametrize(("message", "fragment"), [
    (b"", "found 0 NUL"),                 # "=" in SMTP: present but empty
    (b"tim\x00tanstaaf", "found 1 NUL"),
    (b"\x00tim\x00tans\x00taaf", "found 3 NUL"),
    (b"\x00\x00tanstaaf", "authentication identity is empty"),
    (b"\x00tim\x00", "password is empty"),
    (b"\x00t\xffim\x00pw", "not valid UTF-8"),
    (b"\x00tim\x00p\xc0\x80w", "not valid UTF-8"),       # overlong NUL
    (b"\x00t\xed\xa0\x80\x00pw", "not valid UTF-8"),     # a surrogate
    (b"\x00t\x07m\x00pw", "fails SASLprep"),
    (b"\x00\xc2\xad\x00pw", "empty after SASLprep"),
    (b"\xe2\x80\x8e\x00tim\x00pw", "authorization identity fails SASLprep"),
])
def test_plain_rejects_malformed_messages(message: bytes, fragment: str) -> None:
    step = PlainServer().start(message)
    assert isinstance(step, Failed), step
    assert step.reason is FailureReason.MALFORMED
    assert fragment in step.message


def test_plain_unusable_stored_credentials() -> None:
    plain = PlainServer()
    plain.start(b"\x00tim\x00pw")
    step = plain.credentials("plaintext-password")
    assert isinstance(step, Failed) and step.reason is FailureReason.CREDENTIALS_UNUSABLE


# --- LOGIN ---------------------------------------------------------------------------------------


def test_login_asks_for_the_user_name_then_the_password() -> None:
    login = LoginServer()
    assert login.start(None) == Challenge(b"Username:")
    assert login.respond(b"tim") == Challenge(b"Password:")
    assert login.respond(b"tanstaaftanstaaf") == CredentialsRequested("tim")
    assert login.credentials(TANSTAAF) == Succeeded("tim", None)


def test_login_takes_an_initial_response_as_the_user_name() -> None:
    login = LoginServer()
    assert login.start(b"tim") == Challenge(b"Password:")
    assert login.respond(b"wrong") == CredentialsRequested("tim")
    assert login.credentials(TANSTAAF) == Failed(FailureReason.BAD_CREDENTIALS,
                                                 "invalid credentials")


@pytest.mark.parametrize("messages", [
    (b"",), (None, b""), (b"tim", b""), (b"\xff",), (b"t\x00m",), (b"u" * 256,),
])
def test_login_rejects_empty_or_bad_fields(messages: tuple[bytes | None, ...]) -> None:
    step = until_credentials(LoginServer(), *messages)
    assert isinstance(step, Failed) and step.reason is FailureReason.MALFORMED


# --- common behaviour ----------------------------------------------------------------------------


@pytest.mark.parametrize("mechanism", [PlainServer, LoginServer, ScramSha256Server])
def test_the_client_may_cancel(mechanism: type[ServerMechanism]) -> None:
    """RFC 4422 §3.5; RFC 4954 §4: "*" cancels, and the server MUST answer 501."""
    instance = mechanism()
    assert isinstance(instance.start(None), Challenge)
    assert instance.respond(None) == Failed(FailureReason.CANCELLED,
                                            "the client cancelled the exchange")
    assert instance.finished


@pytest.mark.parametrize("mechanism", [PlainServer, LoginServer, ScramSha256Server])
def test_calls_out_of_turn_are_local_errors(mechanism: type[ServerMechanism]) -> None:
    instance = mechanism()
    with pytest.raises(LocalProtocolError, match="start"):
        instance.respond(b"x")
    with pytest.raises(LocalProtocolError):
        instance.credentials(None)
    instance.start(None)
    with pytest.raises(LocalProtocolError):
        instance.start(None)
    with pytest.raises(LocalProtocolError):
        instance.credentials(None)
    instance.respond(None)
    with pytest.raises(LocalProtocolError, match="exchange is over"):
        instance.respond(b"")


def test_after_success_nothing_more_is_accepted() -> None:
    plain = PlainServer()
    plain.start(b"\x00tim\x00tanstaaftanstaaf")
    plain.credentials(TANSTAAF)
    with pytest.raises(LocalProtocolError, match="exchange is over"):
        plain.respond(b"")


def test_oversized_messages_are_refused_before_parsing() -> None:
    step = ScramSha256Server().start(b"n,,n=user,r=" + b"a" * 10_000)
    assert isinstance(step, Failed) and "exceeds the limit" in step.message


def test_limits_keep_their_rfc_minimums() -> None:
    with pytest.raises(ValueError, match="255"):
        SaslLimits(field_octets=254)
    with pytest.raises(ValueError, match="PLAIN"):
        SaslLimits(message_octets=700)


# --- registry ------------------------------------------------------------------------------------


def test_registry_names_and_plaintext_mechanisms() -> None:
    assert SERVER_MECHANISMS == ("SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", "PLAIN", "LOGIN")
    assert frozenset({"PLAIN", "LOGIN"}) == PLAINTEXT_MECHANISMS


def test_offered_mechanisms_follow_tls_and_channel_binding() -> None:
    """RFC 4954 §4: no plaintext mechanisms without TLS (unless configured); RFC 5802 §6:
    -PLUS only where channel binding is supported."""
    assert offered_mechanisms(tls_active=False) == ("SCRAM-SHA-256",)
    assert offered_mechanisms(tls_active=False, allow_plaintext_without_tls=True) == (
        "SCRAM-SHA-256", "PLAIN", "LOGIN")
    assert offered_mechanisms(tls_active=True) == ("SCRAM-SHA-256", "PLAIN", "LOGIN")
    assert offered_mechanisms(tls_active=True, channel_binding=BINDING) == SERVER_MECHANISMS


def test_server_mechanism_builds_each_by_name_case_insensitively() -> None:
    assert isinstance(server_mechanism("plain"), PlainServer)
    assert isinstance(server_mechanism("LOGIN"), LoginServer)
    scram = server_mechanism("Scram-Sha-256")
    assert type(scram) is ScramSha256Server
    assert isinstance(server_mechanism("SCRAM-SHA-256-PLUS", channel_binding=BINDING),
                      ScramSha256PlusServer)
    with pytest.raises(UnknownMechanism):
        server_mechanism("CRAM-MD5")
    with pytest.raises(UnknownMechanism, match="channel binding"):
        server_mechanism("SCRAM-SHA-256-PLUS")


# --- properties ----------------------------------------------------------------------------------


def _preparable(text: str) -> bool:
    try:
        return bool(saslprep(text))
    except SaslPrepError:
        return False


passwords = st.text(min_size=1, max_size=24).filter(_preparable)
usernames = st.text(min_size=1, max_size=24).filter(_preparable)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(username=usernames, password=passwords)
def test_scram_client_and_server_agree_on_any_password(username: str, password: str) -> None:
    stored = format_credentials(derive_credentials(password, salt=b"0123456789abcdef",
                                                   iterations=4096))
    step = scram_exchange(ScramSha256Server(), ClientScram(username, password), stored)
    assert step == Succeeded(saslprep(username, allow_unassigned=True), None)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(password=passwords, other=passwords)
def test_scram_fails_for_any_other_password(password: str, other: str) -> None:
    if saslprep(password) == saslprep(other):
        return
    stored = format_credentials(derive_credentials(password, salt=b"0123456789abcdef",
                                                   iterations=4096))
    step = scram_exchange(ScramSha256Server(), ClientScram("user", other), stored)
    assert step == Failed(FailureReason.BAD_CREDENTIALS, "invalid credentials")


MECHANISMS: list[type[ServerMechanism]] = [PlainServer, LoginServer, ScramSha256Server]
network_messages = st.one_of(st.none(), st.binary(max_size=64),
                             st.text(max_size=32).map(str.encode))


def _drive(mechanism: ServerMechanism, messages: list[bytes | None],
           stored: str | None) -> Step:
    step = mechanism.start(messages[0])
    for message in messages[1:]:
        if isinstance(step, CredentialsRequested):
            step = mechanism.credentials(stored)
        if not isinstance(step, Challenge):
            break
        step = mechanism.respond(message)
    while isinstance(step, CredentialsRequested):
        step = mechanism.credentials(stored)
    return step


@settings(max_examples=150, deadline=None)
@given(mechanism=st.sampled_from(MECHANISMS),
       messages=st.lists(network_messages, min_size=1, max_size=4),
       stored=st.sampled_from([None, PENCIL, "garbage"]))
def test_any_bytes_end_in_a_step_never_an_exception(
        mechanism: type[ServerMechanism], messages: list[bytes | None],
        stored: str | None) -> None:
    step = _drive(mechanism(), messages, stored)
    assert isinstance(step, (Challenge, Failed)), step


@settings(max_examples=100, deadline=None)
@given(client_final=st.one_of(
    st.binary(max_size=128),
    st.tuples(st.integers(0, len(RFC7677_CLIENT_FINAL) - 1), st.binary(min_size=1, max_size=3))
    .map(lambda cut: RFC7677_CLIENT_FINAL[:cut[0]] + cut[1] + RFC7677_CLIENT_FINAL[cut[0]:]),
))
def test_scram_any_client_final_ends_in_a_step(client_final: bytes) -> None:
    server = rfc7677_server()
    server.start(RFC7677_CLIENT_FIRST)
    server.credentials(PENCIL)
    step = server.respond(client_final)
    assert isinstance(step, (Challenge, Failed)), step
    if isinstance(step, Challenge):                 # only the RFC's own message verifies
        assert step.data == RFC7677_SERVER_FINAL
