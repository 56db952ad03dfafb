"""SMTP AUTH (RFC 4954) with smtplib and the raw client: PLAIN (RFC 4616), LOGIN and
SCRAM-SHA-256 (RFC 5802, RFC 7677); and message submission (RFC 6409) on top of it."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from reference.directory.passwords import hash_password
from reference.directory.sasl import ClientScram
from reference.store.interface import MailStore
from tests.e2e.conftest import PASSWORDS, RunningServer, start_server
from tests.e2e.helpers import (
    RawClient,
    enhanced,
    plain_response,
    received_with,
)

ALICE = "alice@example.test"
CONTENT = b"Subject: submitted\r\n\r\nhello\r\n"


class ScramAuth:
    """smtplib's ``authobject`` for SCRAM-SHA-256 (RFC 5802 §5), on the project's client.

    smtplib calls it with ``None`` for the initial response, then with each decoded 334
    challenge; the server-final message is checked (``verified``) and answered with an
    empty response (RFC 4954 §4, RFC 4422 §5 item 2b)."""

    def __init__(self, user: str, password: str) -> None:
        self.client = ClientScram(user, password)
        self.step = 0
        self.verified = False

    def __call__(self, challenge: bytes | None = None) -> str:
        self.step += 1
        if self.step == 1:
            # The initial response, or the answer to the empty "334 " challenge.
            assert not challenge
            return self.client.client_first().decode()
        assert challenge is not None
        if self.step == 2:
            return self.client.client_final(challenge).decode()
        self.client.verify_server_final(challenge)
        self.verified = True
        return ""


def smtp(server: RunningServer, port: str = "smtp") -> smtplib.SMTP:
    client = smtplib.SMTP(*getattr(server, port), timeout=10)
    client.ehlo("client.example.test")
    return client


def login(client: smtplib.SMTP, mechanism: str, user: str, password: str, *,
          initial_response: bool = True) -> tuple[int, bytes]:
    """``client.auth`` with smtplib's own PLAIN and LOGIN objects, or ``ScramAuth``."""
    client.user, client.password = user, password
    authobject = {"PLAIN": client.auth_plain, "LOGIN": client.auth_login}.get(mechanism)
    if authobject is None:
        authobject = ScramAuth(user, password)
    return client.auth(mechanism, authobject, initial_response_ok=initial_response)


@pytest.mark.parametrize("initial_response", [True, False], ids=["initial", "challenge"])
@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN", "SCRAM-SHA-256"])
def test_each_mechanism_authenticates_with_and_without_initial_response(
        server: RunningServer, mechanism: str, initial_response: bool) -> None:
    """RFC 4954 §4: AUTH with or without an initial response; 334 challenges; success is
    "235 2.7.0 Authentication Succeeded" (§6). For SCRAM the client also verifies the
    server's signature (RFC 5802 §3: the server proves it knows the user's ServerKey).
    Authenticated, the client may use the session (a mail transaction)."""
    with smtp(server) as client:
        authobject = None
        if mechanism == "SCRAM-SHA-256":
            authobject = ScramAuth(ALICE, PASSWORDS[ALICE])
            code, text = client.auth(mechanism, authobject,
                                     initial_response_ok=initial_response)
        else:
            code, text = login(client, mechanism, ALICE, PASSWORDS[ALICE],
                               initial_response=initial_response)
        assert code == 235
        assert text.startswith(b"2.7.0 ")
        if authobject is not None:
            assert authobject.verified
        assert client.sendmail(ALICE, ["bob@example.test"], CONTENT) == {}
    [envelope] = server.envelopes("bob@example.test")
    assert envelope.authenticated_as == ALICE


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN", "SCRAM-SHA-256"])
def test_a_wrong_password_and_an_unknown_user_get_the_same_535(
        server: RunningServer, mechanism: str) -> None:
    """RFC 4954 §6: "535 5.7.8 Authentication credentials invalid"; RFC 4422 §3.6: the
    outcome "will not distinguish between a valid user with invalid credentials and an
    invalid user" — the two replies are identical."""
    replies = []
    for user, password in ((ALICE, "wrong-password"), ("nobody@example.test", "whatever")):
        with smtp(server) as client:
            with pytest.raises(smtplib.SMTPAuthenticationError) as failed:
                login(client, mechanism, user, password)
            replies.append((failed.value.smtp_code, failed.value.smtp_error))
            assert client.noop()[0] == 250            # the session goes on
    assert replies[0] == replies[1]
    code, text = replies[0]
    assert code == 535
    assert text.startswith(b"5.7.8 ")


def test_cancelling_with_a_star_gets_501(server: RunningServer) -> None:
    """RFC 4954 §4 MUST: "If the client wishes to cancel the authentication exchange, it
    issues a line with a single "*". If the server receives such a response, it MUST
    reject the AUTH command by sending a 501 reply." The session is still usable and not
    authenticated."""
    with RawClient(server.submission) as client:
        client.ehlo()
        challenge = client.command("AUTH LOGIN")
        assert challenge.code == 334
        cancelled = client.command("*")
        assert cancelled.code == 501
        assert enhanced(cancelled) == "5.5.2"
        refused = client.command(f"MAIL FROM:<{ALICE}>")
        assert (refused.code, enhanced(refused)) == (530, "5.7.0")
        # A new exchange may start after the cancelled one.
        ok = client.command(b"AUTH PLAIN " + plain_response(ALICE, PASSWORDS[ALICE]))
        assert ok.code == 235


def test_invalid_base64_gets_501_5_5_2(server: RunningServer) -> None:
    """RFC 4954 §4 MUST: "If the server cannot [BASE64] decode any client response, it
    MUST reject the AUTH command with a 501 reply (and an enhanced status code of
    5.5.2)" — in the initial response and in a continuation line."""
    with RawClient(server.smtp) as client:
        client.ehlo()
        initial = client.command("AUTH PLAIN not*base64!")
        assert (initial.code, enhanced(initial)) == (501, "5.5.2")
        assert client.command("AUTH PLAIN").code == 334
        continuation = client.command("%%%%")
        assert (continuation.code, enhanced(continuation)) == (501, "5.5.2")
        assert client.command("NOOP").code == 250


def test_a_second_auth_is_refused_with_503(server: RunningServer) -> None:
    """RFC 4954 §4 MUST: "After a successful AUTH command completes, a server MUST reject
    any further AUTH commands with a 503 reply" — also after a new EHLO, which does not
    end the authentication."""
    with RawClient(server.smtp) as client:
        client.ehlo()
        assert client.command(b"AUTH PLAIN " + plain_response(ALICE, PASSWORDS[ALICE])
                              ).code == 235
        again = client.command(b"AUTH PLAIN " + plain_response(ALICE, PASSWORDS[ALICE]))
        assert (again.code, enhanced(again)) == (503, "5.5.1")
        client.ehlo()
        after_ehlo = client.command(b"AUTH PLAIN " + plain_response(ALICE, PASSWORDS[ALICE]))
        assert (after_ehlo.code, enhanced(after_ehlo)) == (503, "5.5.1")


def test_auth_inside_a_mail_transaction_is_refused_with_503(server: RunningServer) -> None:
    """RFC 4954 §4 MUST: "The AUTH command is not permitted during a mail transaction. An
    AUTH command issued during a mail transaction MUST be rejected with a 503 reply." The
    transaction itself goes on."""
    with RawClient(server.smtp) as client:
        client.ehlo()
        assert client.command("MAIL FROM:<sender@elsewhere.test>").code == 250
        refused = client.command(b"AUTH PLAIN " + plain_response(ALICE, PASSWORDS[ALICE]))
        assert (refused.code, enhanced(refused)) == (503, "5.5.1")
        assert client.command("RCPT TO:<alice@example.test>").code == 250
        assert client.command("RSET").code == 250


def test_an_unknown_mechanism_gets_504(server: RunningServer) -> None:
    """RFC 4954 §4: "If the requested authentication mechanism is invalid (e.g., is not
    supported or requires an encryption layer), the server rejects the AUTH command with
    a 504 reply"; §6 "SHOULD return a 5.5.4 enhanced response code"."""
    with RawClient(server.smtp) as client:
        client.ehlo()
        response = client.command("AUTH CRAM-MD5")
        assert (response.code, enhanced(response)) == (504, "5.5.4")


def test_an_authorization_identity_other_than_oneself_is_refused(
        server: RunningServer) -> None:
    """RFC 4616 §2: the server verifies "that the authentication credentials permit the
    client to act as the (presented or derived) authorization identity"; alice's password
    does not let her act as bob, so the exchange fails (535, RFC 4954 §6), and she is not
    logged in as anybody."""
    with RawClient(server.submission) as client:
        client.ehlo()
        response = client.command(b"AUTH PLAIN " + plain_response(
            ALICE, PASSWORDS[ALICE], authzid="bob@example.test"))
        assert response.code == 535
        refused = client.command(f"MAIL FROM:<{ALICE}>")
        assert refused.code == 530
        # Naming oneself as authzid is the same as naming nobody (RFC 4422 §3.4.1).
        ok = client.command(b"AUTH PLAIN " + plain_response(ALICE, PASSWORDS[ALICE],
                                                            authzid=ALICE))
        assert ok.code == 235


# --- plaintext_auth = "never" -----------------------------------------------------------


@pytest.fixture
def strict_server(tmp_path: Path, ca: trustme.CA) -> Iterator[RunningServer]:
    running = start_server(tmp_path, ca, smtp={"plaintext_auth": "never"})
    yield running
    running.shutdown()


def test_without_tls_plaintext_mechanisms_are_not_offered_and_are_refused_538(
        strict_server: RunningServer) -> None:
    """RFC 4954 §4 MUST: a server "MUST implement a configuration in which it does NOT
    permit any plaintext password mechanisms, unless either the STARTTLS command has been
    negotiated"; asking for one anyway gets "538 5.7.11 Encryption required for requested
    authentication mechanism" (§6). SCRAM, which sends no password, still works."""
    with RawClient(strict_server.submission) as client:
        ehlo = client.ehlo()
        [auth_line] = [line for line in ehlo.lines if line.startswith("AUTH ")]
        assert auth_line.split()[1:] == ["SCRAM-SHA-256"]
        for mechanism in ("PLAIN", "LOGIN"):
            refused = client.command(f"AUTH {mechanism}")
            assert (refused.code, enhanced(refused)) == (538, "5.7.11")
        refused = client.command(b"AUTH PLAIN " + plain_response(ALICE, PASSWORDS[ALICE]))
        assert (refused.code, enhanced(refused)) == (538, "5.7.11")
    with smtp(strict_server, "submission") as client:
        authobject = ScramAuth(ALICE, PASSWORDS[ALICE])
        assert client.auth("SCRAM-SHA-256", authobject)[0] == 235
        assert authobject.verified


def test_after_starttls_plaintext_mechanisms_are_offered_and_work(
        strict_server: RunningServer) -> None:
    """RFC 4954 §4: once STARTTLS has been negotiated PLAIN may be used; the EHLO over TLS
    lists it (RFC 3207 §4.2: the extension list is sent anew)."""
    with smtp(strict_server, "submission") as client:
        client.starttls(context=strict_server.client_context())
        client.ehlo("client.example.test")
        assert set(client.esmtp_features["auth"].split()) == {"SCRAM-SHA-256", "PLAIN",
                                                              "LOGIN"}
        assert login(client, "PLAIN", ALICE, PASSWORDS[ALICE])[0] == 235
        assert client.sendmail(ALICE, ["bob@example.test"], CONTENT) == {}
    [stored] = strict_server.messages("bob@example.test")
    assert received_with(stored)[0] == b"ESMTPSA"


# --- submission (RFC 6409) --------------------------------------------------------------


def test_submission_refuses_mail_before_auth_with_530(server: RunningServer) -> None:
    """RFC 6409 §4.3 MUST: "The MSA MUST, by default, issue an error response to the MAIL
    command if the session has not been authenticated"; RFC 4954 §6: "530 5.7.0
    Authentication required"."""
    with smtp(server, "submission") as client:
        code, text = client.mail(ALICE)
        assert code == 530
        assert text.startswith(b"5.7.0 ")


def test_submission_refuses_a_sender_the_account_does_not_own(server: RunningServer) -> None:
    """RFC 6409 §6.1: the MSA checks the sender against the authenticated identity;
    "550 5.7.1" (RFC 3463 X.7.1: delivery not authorized). bob's address is not alice's."""
    with smtp(server, "submission") as client:
        login(client, "PLAIN", ALICE, PASSWORDS[ALICE])
        code, text = client.mail("bob@example.test")
        assert code == 550
        assert text.startswith(b"5.7.1 ")
        code, _ = client.mail("someone@elsewhere.test")
        assert code == 550
    assert server.messages("bob@example.test") == []


@pytest.mark.parametrize("sender", ["alice@example.test", "ALICE@Example.Test",
                                    "postmaster@example.test", "alice+lists@example.test",
                                    ""],
                         ids=["own", "case", "alias", "subaddress", "null"])
def test_submission_accepts_own_alias_subaddress_and_null_senders(
        server: RunningServer, sender: str) -> None:
    """RFC 6409 §6.1: the account's own address, an alias that delivers to it
    (postmaster@ → alice) and a subaddress (RFC 5233) are hers; §3.2 MUST NOT: a null
    reverse-path "MUST NOT, in itself, be cause for rejecting a message". Over plaintext
    on loopback the Received WITH clause is ESMTPA (RFC 3848: AUTH, no TLS)."""
    with smtp(server, "submission") as client:
        login(client, "PLAIN", ALICE, PASSWORDS[ALICE])
        assert client.sendmail(sender, ["bob@example.test"], CONTENT) == {}
    [stored] = server.messages("bob@example.test")
    assert stored.startswith(f"Return-Path: <{sender}>\r\n".encode())
    assert received_with(stored)[0] == b"ESMTPA"


def test_submission_to_a_remote_domain_is_refused_not_lost(server: RunningServer) -> None:
    """RFC 5321 §3.6.2 / issue 2: this server delivers locally only; an authenticated
    submitter's remote recipient is refused at RCPT with 550 5.7.1, never accepted and then
    dropped."""
    with smtp(server, "submission") as client:
        login(client, "PLAIN", ALICE, PASSWORDS[ALICE])
        assert client.mail(ALICE)[0] == 250
        code, text = client.rcpt("friend@elsewhere.test")
        assert code == 550
        assert text.startswith(b"5.7.1 ")
    assert server.total_messages() == 0


def test_submissions_over_implicit_tls_says_esmtpsa(server: RunningServer) -> None:
    """RFC 8314 §3.3 with AUTH: the Received field says ESMTPSA (RFC 3848)."""
    with smtplib.SMTP_SSL(*server.submissions, timeout=10,
                          context=server.client_context()) as client:
        client.ehlo("client.example.test")
        assert not client.has_extn("starttls")
        assert login(client, "SCRAM-SHA-256", ALICE, PASSWORDS[ALICE])[0] == 235
        assert client.sendmail(ALICE, ["bob@example.test"], CONTENT) == {}
    [stored] = server.messages("bob@example.test")
    protocol, tls = received_with(stored)
    assert protocol == b"ESMTPSA"
    assert tls is not None


def test_submission_accepts_the_u_label_form_of_the_users_own_domain(
        server: RunningServer) -> None:
    """RFC 6409 §6.1 with RFC 6531 §3.2 (domains "as A-labels or U-labels"): carol of
    xn--jxalpdlp.test may give her address as carol@δοκιμή.test."""
    async def idn_account(store: MailStore) -> None:
        await store.add_domain("xn--jxalpdlp.test")
        await store.add_account("carol@xn--jxalpdlp.test", hash_password("carol-password"))

    server.with_store(idn_account)
    with smtp(server, "submission") as client:
        login(client, "PLAIN", "carol@xn--jxalpdlp.test", "carol-password")
        assert client.sendmail("carol@δοκιμή.test", ["bob@example.test"], CONTENT,
                               mail_options=["SMTPUTF8"]) == {}
        code, _ = client.mail("carol@elsewhere.test")
        assert code == 550
