"""TLS on the wire: STARTTLS (RFC 3207) on the MX and submission listeners, implicit TLS
(RFC 8314 §3.3) on submissions, certificates from the per-run test CA (trustme)."""

from __future__ import annotations

import socket
import ssl

import pytest
import trustme

from tests.e2e.conftest import PASSWORDS, RunningServer
from tests.e2e.helpers import (
    LogCapture,
    RawClient,
    enhanced,
    plain_response,
    received_with,
    still_serving,
)

CONTENT = b"Subject: over TLS\r\n\r\nsecret\r\n"


def keywords(ehlo_text: str) -> set[str]:
    return {line.split(" ")[0].upper() for line in ehlo_text.split("\n")[1:]}


def test_after_starttls_ehlo_lists_the_extensions_again_without_starttls(
        server: RunningServer) -> None:
    """RFC 3207 §4.2: after the handshake "the SMTP protocol is reset to the initial state"
    (so MAIL before a new EHLO is out of order: 503), the client SHOULD send EHLO again,
    and "A server MUST NOT return the STARTTLS extension in response to an EHLO command
    received after a TLS handshake has completed"; the other extensions are announced
    again."""
    with RawClient(server.smtp) as client:
        before = keywords(client.ehlo().text)
        assert "STARTTLS" in before
        response = client.starttls(server.client_context())
        assert (response.code, enhanced(response)) == (220, "2.0.0")
        out_of_order = client.command("MAIL FROM:<sender@elsewhere.test>")
        assert (out_of_order.code, enhanced(out_of_order)) == (503, "5.5.1")
        after = keywords(client.ehlo().text)
        assert "STARTTLS" not in after
        assert after == before - {"STARTTLS"}
        assert client.mail_transaction("sender@elsewhere.test", ["alice@example.test"],
                                       CONTENT).code == 250
    [stored] = server.messages("alice@example.test")
    protocol, tls = received_with(stored)
    assert protocol == b"ESMTPS"
    assert tls is not None and tls.startswith(b"TLSv1.")


def test_a_command_in_the_same_write_as_the_end_of_the_handshake_is_answered(
        server: RunningServer, server_log: LogCapture) -> None:
    """RFC 3207 §4.2: after the handshake the client sends EHLO over TLS; a fast client
    sends it right behind its last handshake message, and both can reach the server in one
    read. That EHLO was sent under TLS and must be answered, not dropped as the plaintext
    injection that RFC 3207 §4.2 / CVE-2011-0411 forbid (a dropped EHLO leaves both sides
    waiting for ever)."""
    with RawClient(server.smtp, timeout=5) as client:
        client.ehlo()
        client.starttls_and_send(server.client_context(), b"EHLO fast.example.test\r\n")
        ehlo = client.reply()
        assert ehlo.code == 250
        assert "STARTTLS" not in keywords(ehlo.text)
        assert client.command("NOOP").code == 250
    assert "smtp.starttls-discarded" not in server_log.events()


def test_the_certificate_chain_verifies_with_the_test_ca(server: RunningServer) -> None:
    """RFC 3207 §4.1 / RFC 8314 §4.1: the client verifies the server's certificate; the
    chain the server presents verifies against the CA, for the name it answers to, and a
    client that does not trust the CA refuses it."""
    with RawClient(server.smtp) as client:
        client.ehlo()
        client.starttls(server.client_context())
        assert isinstance(client.sock, ssl.SSLSocket)
        certificate = client.sock.getpeercert()
        assert ("DNS", "localhost") in certificate["subjectAltName"]
        assert client.sock.version() in ("TLSv1.2", "TLSv1.3")   # RFC 8314 §4.1
        assert client.ehlo().code == 250
    stranger = ssl.create_default_context()
    trustme.CA().configure_trust(stranger)                       # some other CA
    with RawClient(server.smtp) as client:
        client.ehlo()
        with pytest.raises(ssl.SSLCertVerificationError):
            client.starttls(stranger)
    still_serving(server.smtp)


def test_starttls_again_over_tls_is_refused_with_503(server: RunningServer) -> None:
    """RFC 3207 §4.2: STARTTLS is not offered once TLS is active; a second STARTTLS is a
    bad sequence, 503 5.5.1, and the session goes on over the first TLS layer."""
    with RawClient(server.smtp) as client:
        client.ehlo()
        client.starttls(server.client_context())
        client.ehlo()
        again = client.command("STARTTLS")
        assert (again.code, enhanced(again)) == (503, "5.5.1")
        assert client.command("NOOP").code == 250


def test_starttls_with_a_parameter_is_a_syntax_error(server: RunningServer) -> None:
    """RFC 3207 §4: "501 Syntax error (no parameters allowed)"."""
    with RawClient(server.smtp) as client:
        client.ehlo()
        response = client.command("STARTTLS now")
        assert response.code == 501
        assert enhanced(response) is not None and enhanced(response).startswith("5.5.")
        assert client.starttls(server.client_context()).code == 220
        assert client.ehlo().code == 250


def test_a_failed_handshake_closes_that_connection_and_the_server_keeps_serving(
        server: RunningServer, server_log: LogCapture) -> None:
    """RFC 3207 §4.1: if the negotiation fails the server may close the connection; a
    client that answers 220 with garbage instead of a ClientHello gets the connection
    closed and nothing else: no crash, no internal error, other clients are served."""
    with RawClient(server.smtp) as client:
        client.ehlo()
        assert client.command("STARTTLS").code == 220
        client.send(b"this is not a TLS ClientHello\r\nEHLO x\r\n" * 20)
        rest = client.read_until_closed()
        assert rest is not None, "the server kept the connection after a failed handshake"
        assert b"250 " not in rest and b"250-" not in rest    # at most a TLS alert
    still_serving(server.smtp)
    assert "smtp.tls-failed" in server_log.events()
    assert not server_log.internal_errors()


def test_a_client_that_vanishes_during_the_handshake_does_no_harm(
        server: RunningServer, server_log: LogCapture) -> None:
    """RFC 3207 §4.1 (a failed negotiation ends the connection) / DESIGN.md principle 8:
    a client that asks for STARTTLS and disconnects before any handshake byte ends only
    its own connection, quietly, and the server serves the next one."""
    for _ in range(3):
        with RawClient(server.smtp) as client:
            client.ehlo()
            assert client.command("STARTTLS").code == 220
    still_serving(server.smtp)
    assert not server_log.internal_errors()


def test_tls_discards_what_was_learnt_before_it_including_authentication(
        server: RunningServer) -> None:
    """RFC 3207 §4.2 MUST: the server "MUST discard any knowledge obtained from the client
    ... which was not obtained from the TLS negotiation itself". An AUTH done in plaintext
    does not survive STARTTLS: on submission MAIL then needs AUTH again (RFC 6409 §4.3:
    530 5.7.0)."""
    with RawClient(server.submission) as client:
        client.ehlo()
        ok = client.command(b"AUTH PLAIN " + plain_response(
            "alice@example.test", PASSWORDS["alice@example.test"]))
        assert ok.code == 235
        client.starttls(server.client_context())
        ehlo = client.ehlo()
        assert "AUTH" in keywords(ehlo.text)
        refused = client.command("MAIL FROM:<alice@example.test>")
        assert (refused.code, enhanced(refused)) == (530, "5.7.0")


def test_submission_over_starttls_with_auth_says_esmtpsa(server: RunningServer) -> None:
    """RFC 3848 §2: "ESMTPSA" = ESMTP with STARTTLS and AUTH; the TLS comment names the
    negotiated version and cipher."""
    with RawClient(server.submission) as client:
        client.ehlo()
        client.starttls(server.client_context())
        client.ehlo()
        ok = client.command(b"AUTH PLAIN " + plain_response(
            "alice@example.test", PASSWORDS["alice@example.test"]))
        assert ok.code == 235
        assert client.mail_transaction("alice@example.test", ["bob@example.test"],
                                       CONTENT).code == 250
    [stored] = server.messages("bob@example.test")
    protocol, tls = received_with(stored)
    assert protocol == b"ESMTPSA"
    assert tls is not None and tls.startswith(b"TLSv1.")


def test_implicit_tls_greets_only_inside_tls_and_offers_no_starttls(
        server: RunningServer) -> None:
    """RFC 8314 §3.3: on the submissions port TLS starts at once and the SMTP greeting
    comes inside it; STARTTLS is neither advertised nor accepted there (503: TLS is
    already active)."""
    with RawClient(server.submissions, tls=server.client_context()) as client:
        assert client.greeting is not None and client.greeting.code == 220
        assert isinstance(client.sock, ssl.SSLSocket)
        ehlo = client.ehlo()
        assert "STARTTLS" not in keywords(ehlo.text)
        assert {"AUTH", "PIPELINING", "CHUNKING"} <= keywords(ehlo.text)
        refused = client.command("STARTTLS")
        assert (refused.code, enhanced(refused)) == (503, "5.5.1")


def test_a_plaintext_client_on_the_implicit_tls_port_gets_no_smtp(
        server: RunningServer, server_log: LogCapture) -> None:
    """RFC 8314 §3.3: the submissions port speaks TLS first; a client that speaks SMTP in
    plaintext gets no greeting (nothing but a TLS alert, or nothing), the connection ends,
    and the server goes on serving."""
    with socket.create_connection(server.submissions, timeout=5) as raw:
        raw.sendall(b"EHLO plaintext.example.test\r\n")
        received = b""
        while True:
            try:
                data = raw.recv(4096)
            except ConnectionResetError:
                break
            if not data:
                break
            received += data
        assert not received.startswith(b"220")
        assert b"SMTP" not in received and b"ESMTP" not in received
    with RawClient(server.submissions, tls=server.client_context()) as client:
        assert client.ehlo().code == 250
    assert not server_log.internal_errors()
