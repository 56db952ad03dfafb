"""STARTTLS in the core (RFC 3207 §4, §4.2): plaintext behind the command is discarded
(CVE-2011-0411), and the session starts over after the handshake."""

from __future__ import annotations

import pytest

from reference.errors import LocalProtocolError, RemoteProtocolError
from reference.smtp.commands import Ehlo, Mailbox, MailFrom, Noop, Rset, StartTls
from reference.smtp.connection import NEED_DATA, ServerConnection
from reference.smtp.extensions import NOTHING_ADVERTISED, Extension
from reference.smtp.replies import Status, reply
from reference.smtp.states import State

from .helpers import ALL_KEYWORDS, drive, ehlo_reply, server

READY_TO_START = reply(220, Status.UNDEFINED, "Ready to start TLS")
INJECTED = b"RSET\r\nMAIL FROM:<attacker@evil.example>\r\n"


def starttls_accepted(after: bytes = b"") -> ServerConnection:
    conn = server()
    conn.receive_data(b"STARTTLS\r\n" + after)
    assert conn.next_event() == StartTls()
    assert conn.send(READY_TO_START) == b"220 2.0.0 Ready to start TLS\r\n"
    assert conn.state is State.TLS_PENDING
    return conn


def test_commands_in_the_starttls_packet_are_discarded() -> None:
    """RFC 3207 §4.2 MUST: the server "MUST discard any knowledge obtained from the client
    ... which was not obtained from the TLS negotiation itself"; CVE-2011-0411: commands
    pipelined in plaintext behind STARTTLS must not run after the handshake."""
    conn = starttls_accepted(INJECTED)
    assert conn.buffered == 0
    assert conn.discarded_plaintext == len(INJECTED)
    conn.tls_established()
    assert conn.next_event() is NEED_DATA


def test_plaintext_received_before_the_handshake_completes_is_discarded() -> None:
    """RFC 3207 §4.2: only what comes over TLS counts after the 220; octets the adapter
    hands over before tls_established() are plaintext and dropped."""
    conn = starttls_accepted()
    conn.receive_data(INJECTED)
    assert conn.next_event() is NEED_DATA
    conn.tls_established()
    assert conn.next_event() is NEED_DATA
    assert conn.discarded_plaintext == len(INJECTED)


def test_plaintext_that_arrived_before_the_220_was_sent_is_discarded_too() -> None:
    """CVE-2011-0411: the injected commands may arrive before the server replies."""
    conn = server()
    conn.receive_data(b"STARTTLS\r\n")
    assert conn.next_event() == StartTls()
    conn.receive_data(INJECTED)
    conn.send(READY_TO_START)
    conn.tls_established()
    assert conn.next_event() is NEED_DATA
    assert conn.discarded_plaintext == len(INJECTED)


def test_after_the_handshake_the_session_starts_over() -> None:
    """RFC 3207 §4.2 MUST: "Upon completion of the TLS handshake, the SMTP protocol is reset
    to the initial state (the state in SMTP after a server issues a 220 service ready
    greeting). The server MUST discard any knowledge obtained from the client, such as the
    argument to the EHLO command"; the client "SHOULD send an EHLO command as the first
    command"."""
    conn = server()
    conn.receive_data(b"AUTH PLAIN AGFsaWNlAHB3\r\n")
    conn.next_event()
    conn.send(reply(235, Status.SECURITY_OTHER, "ok"))
    assert conn.authenticated
    conn.receive_data(b"STARTTLS\r\n")
    conn.next_event()
    conn.send(READY_TO_START)
    conn.tls_established()
    assert conn.state is State.GREETED
    assert conn.tls_active
    assert conn.advertised == NOTHING_ADVERTISED
    assert not conn.authenticated
    events = drive(conn, b"MAIL FROM:<a@example.com>\r\nEHLO c.example\r\n"
                   b"MAIL FROM:<a@example.com>\r\n").events
    assert events == [reply(503, Status.INVALID_COMMAND, "Send EHLO or HELO first"),
                      Ehlo("c.example"), MailFrom(Mailbox("a", "example.com"))]


def test_extension_parameters_need_the_ehlo_after_tls() -> None:
    """RFC 3207 §4.2: what the pre-TLS EHLO reply announced is forgotten (here SIZE), until
    the new EHLO announces it again."""
    conn = starttls_accepted()
    conn.tls_established()
    drive(conn, b"HELO c.example\r\n")
    conn.receive_data(b"MAIL FROM:<a@example.com> SIZE=10\r\n")
    with pytest.raises(RemoteProtocolError) as info:
        conn.next_event()
    assert info.value.reply.code == 555


def test_starttls_over_tls_gets_503() -> None:
    """RFC 3207 §4.2: "A server MUST NOT return the STARTTLS extension in response to an
    EHLO command received after a TLS handshake has completed"; asking anyway is out of
    sequence."""
    conn = starttls_accepted()
    conn.tls_established()
    conn.receive_data(b"EHLO c.example\r\n")
    conn.next_event()
    conn.send(ehlo_reply(*(k for k in ALL_KEYWORDS if k != "STARTTLS")))
    assert Extension.STARTTLS not in conn.advertised
    conn.receive_data(b"STARTTLS\r\n")
    with pytest.raises(RemoteProtocolError) as info:
        conn.next_event()
    assert (info.value.reply.code, info.value.reply.status) == (503, Status.INVALID_COMMAND)


def test_starttls_not_advertised_gets_502() -> None:
    """RFC 3207 §4: STARTTLS is an extension; RFC 5321 §4.2.4 502 "Command not
    implemented"."""
    conn = server("PIPELINING")
    conn.receive_data(b"STARTTLS\r\n")
    with pytest.raises(RemoteProtocolError) as info:
        conn.next_event()
    assert info.value.reply.code == 502


def test_starttls_with_a_parameter_gets_501() -> None:
    """RFC 3207 §4: "STARTTLS" CRLF; "501 Syntax error (no parameters allowed)"."""
    conn = server()
    conn.receive_data(b"STARTTLS now\r\n")
    with pytest.raises(RemoteProtocolError) as info:
        conn.next_event()
    assert info.value.reply.code == 501


def test_a_refused_starttls_leaves_the_pipelined_commands_alone() -> None:
    """RFC 3207 §4: "454 TLS not available due to temporary reason": the session goes on
    in plaintext, and the commands behind STARTTLS are read (RFC 2920 §3)."""
    conn = server()
    conn.receive_data(b"STARTTLS\r\nNOOP\r\nRSET\r\n")
    assert conn.next_event() == StartTls()
    conn.send(reply(454, Status.SECURITY_OTHER, "TLS not available due to temporary reason"))
    assert conn.state is State.READY
    assert conn.discarded_plaintext == 0
    assert conn.next_event() == Noop()


def test_tls_established_without_a_pending_starttls_is_a_local_error() -> None:
    """RFC 3207 §4: the handshake follows only a 220 to STARTTLS."""
    with pytest.raises(LocalProtocolError):
        server().tls_established()


def test_nothing_is_read_while_the_handshake_is_pending() -> None:
    """RFC 3207 §4: after the 220, "the client MUST start the TLS negotiation": no SMTP."""
    conn = starttls_accepted()
    conn.receive_data(b"\x16\x03\x01\x02\x00")          # a ClientHello, for the adapter
    assert conn.next_event() is NEED_DATA
    assert conn.state is State.TLS_PENDING


def test_rset_after_tls_is_an_ordinary_command() -> None:
    """RFC 3207 §4.2: after the reset, commands arrive over TLS as usual."""
    conn = starttls_accepted(INJECTED)
    conn.tls_established()
    assert drive(conn, b"RSET\r\n").events == [Rset()]


def test_starttls_over_tls_gets_503_even_if_the_ehlo_reply_listed_it() -> None:
    """RFC 3207 §4.2 MUST NOT: STARTTLS is not offered after the handshake; a session that
    lists it anyway does not get TLS inside TLS. (found: the core passed the command on)"""
    conn = starttls_accepted()
    conn.tls_established()
    drive(conn, b"EHLO c.example\r\n")                  # the trivial session lists STARTTLS
    conn.receive_data(b"STARTTLS\r\n")
    with pytest.raises(RemoteProtocolError) as info:
        conn.next_event()
    assert info.value.reply == reply(503, Status.INVALID_COMMAND, "TLS already active")


def test_starttls_on_an_implicit_tls_connection_gets_503() -> None:
    """RFC 8314 §3.3 (TLS from the first octet) with RFC 3207 §4.2: no second handshake."""
    conn = ServerConnection()
    conn.start_implicit_tls()
    conn.send(reply(220, None, "mx.example ESMTP"))
    drive(conn, b"EHLO c.example\r\n")
    conn.receive_data(b"STARTTLS\r\n")
    with pytest.raises(RemoteProtocolError) as info:
        conn.next_event()
    assert info.value.reply.code == 503


def test_the_client_drops_replies_injected_behind_the_220() -> None:
    """RFC 3207 §4.2 MUST: "The client MUST discard any knowledge obtained from the server
    ... which was not obtained from the TLS negotiation itself". Replies sent in plaintext
    behind the 220 (the response injection of the 2021 "NO STARTTLS" study) are dropped at
    the handshake, so the first reply read over TLS is the server's. (found: the client
    core kept them buffered and handed them out after TLS as answers)"""
    from reference.smtp.connection import ClientConnection
    from reference.smtp.replies import Reply

    client = ClientConnection()
    client.learn_ehlo(Reply(250, None, ("mx.example", "STARTTLS", "ENHANCEDSTATUSCODES")))
    injected = b"250-mx.example\r\n250 AUTH PLAIN\r\n235 2.7.0 Authentication successful\r\n"
    client.receive_data(b"220 2.0.0 Ready to start TLS\r\n" + injected)
    assert client.next_reply() == Reply(220, Status.UNDEFINED, ("Ready to start TLS",))
    assert client.tls_established() == len(injected)
    assert client.discarded_plaintext == len(injected)
    assert client.advertised == NOTHING_ADVERTISED and not client.enhanced_status_codes
    assert client.next_reply() is NEED_DATA
    client.receive_data(b"250-mx.example\r\n250 SIZE 100\r\n")
    assert client.next_reply() == Reply(250, None, ("mx.example", "SIZE 100"))
