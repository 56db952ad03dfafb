"""aiosmtplib (an asyncio client) against the three listeners, and the raw client for what
aiosmtplib does not do: pipelined command groups (RFC 2920) and BDAT (RFC 3030).

aiosmtplib 5 sends MAIL and each RCPT one at a time, waiting for each reply, even when
PIPELINING is advertised; grouped commands are therefore written with ``RawClient`` in one
write, which is what a pipelining client does on the wire.
"""

from __future__ import annotations

from pathlib import Path

import aiosmtplib
import pytest
import trustme

from tests.e2e.conftest import PASSWORDS, RunningServer, start_server
from tests.e2e.helpers import RawClient, body_after_trace, enhanced, received_with

SENDER = "sender@elsewhere.test"
CONTENT = (b"From: <sender@elsewhere.test>\r\nTo: <alice@example.test>\r\n"
           b"Subject: aiosmtplib\r\nMessage-ID: <aio-1@elsewhere.test>\r\n\r\n"
           b"Sent by aiosmtplib.\r\n.starts with a dot\r\n")


async def test_aiosmtplib_delivers_on_the_mx_port_without_tls(server: RunningServer) -> None:
    """RFC 5321 §3.3 mail transaction over a plaintext MX connection; aiosmtplib also
    declares SIZE in lower case ("size=N"), which RFC 5321 §2.4 says is the same keyword."""
    host, port = server.smtp
    async with aiosmtplib.SMTP(hostname=host, port=port, start_tls=False) as client:
        errors, text = await client.sendmail(SENDER, ["alice@example.test"], CONTENT)
    assert errors == {}
    assert text.startswith("2.0.0 Message accepted for delivery")
    [stored] = await server.messages_async("alice@example.test")
    assert body_after_trace(stored) == CONTENT
    assert received_with(stored) == (b"ESMTP", None)


async def test_aiosmtplib_starttls_verifies_the_certificate_and_delivers(
        server: RunningServer) -> None:
    """RFC 3207 §4: after 220 the TLS handshake happens; the client verifies the server's
    certificate against the test CA (RFC 3207 §4.1), and the Received field of what is sent
    over TLS says ESMTPS with the TLS version and cipher (RFC 3848 §2)."""
    host, port = server.smtp
    client = aiosmtplib.SMTP(hostname=host, port=port, start_tls=False,
                             tls_context=server.client_context())
    await client.connect()
    try:
        await client.ehlo()
        assert client.supports_extension("starttls")
        response = await client.starttls(tls_context=server.client_context())
        assert response.code == 220
        assert client.get_transport_info("sslcontext") is not None
        peer = client.get_transport_info("peercert")
        assert ("DNS", "localhost") in peer["subjectAltName"]
        await client.ehlo()
        # RFC 3207 §4.2 MUST NOT: no STARTTLS in the EHLO reply after the handshake.
        assert not client.supports_extension("starttls")
        errors, _ = await client.sendmail(SENDER, ["alice@example.test"], CONTENT)
        assert errors == {}
        await client.quit()
    finally:
        client.close()
    [stored] = await server.messages_async("alice@example.test")
    protocol, tls = received_with(stored)
    assert protocol == b"ESMTPS"
    assert tls is not None and tls.startswith(b"TLSv1.")
    assert body_after_trace(stored) == CONTENT


async def test_aiosmtplib_submits_over_implicit_tls_with_auth(server: RunningServer) -> None:
    """RFC 8314 §3.3: submissions speaks TLS from the first byte; AUTH (RFC 4954) then
    MAIL; the Received field says ESMTPSA (RFC 3848: TLS and AUTH) and the envelope names
    the authenticated account."""
    host, port = server.submissions
    async with aiosmtplib.SMTP(hostname=host, port=port, use_tls=True,
                               tls_context=server.client_context(),
                               username="alice@example.test",
                               password=PASSWORDS["alice@example.test"]) as client:
        assert client.get_transport_info("sslcontext") is not None
        errors, _ = await client.sendmail("alice@example.test", ["bob@example.test"],
                                          CONTENT)
    assert errors == {}
    [stored] = await server.messages_async("bob@example.test")
    assert received_with(stored)[0] == b"ESMTPSA"
    assert body_after_trace(stored) == CONTENT
    [envelope] = await server.envelopes_async("bob@example.test")
    assert envelope.authenticated_as == "alice@example.test"


async def test_aiosmtplib_gets_each_recipient_refusal_paired_with_its_rcpt(
        server: RunningServer) -> None:
    """RFC 5321 §3.3: each RCPT gets its own reply; refused recipients (550 5.1.1 unknown,
    550 5.7.1 relaying) do not stop the others from receiving the message."""
    host, port = server.smtp
    async with aiosmtplib.SMTP(hostname=host, port=port, start_tls=False) as client:
        errors, _ = await client.sendmail(
            SENDER, ["alice@example.test", "nobody@example.test", "bob@example.test",
                     "someone@elsewhere.test"], CONTENT)
    assert set(errors) == {"nobody@example.test", "someone@elsewhere.test"}
    assert errors["nobody@example.test"].code == 550
    assert errors["nobody@example.test"].message.startswith("5.1.1 ")
    assert errors["someone@elsewhere.test"].code == 550
    assert errors["someone@elsewhere.test"].message.startswith("5.7.1 ")
    assert len(await server.messages_async("alice@example.test")) == 1
    assert len(await server.messages_async("bob@example.test")) == 1


async def test_aiosmtplib_refused_for_every_recipient_stores_nothing(
        server: RunningServer) -> None:
    """RFC 5321 §3.3: with no accepted recipient there is no transaction to complete;
    aiosmtplib reports the refusal and resets, the session goes on, nothing is stored."""
    host, port = server.smtp
    async with aiosmtplib.SMTP(hostname=host, port=port, start_tls=False) as client:
        with pytest.raises(aiosmtplib.SMTPRecipientsRefused):
            await client.sendmail(SENDER, ["nobody@example.test"], CONTENT)
        response = await client.noop()
        assert response.code == 250
    assert await server.messages_async("alice@example.test") == []
    assert await server.messages_async("bob@example.test") == []


def test_pipelined_mail_rcpt_data_get_their_replies_in_order(server: RunningServer) -> None:
    """RFC 2920 §3.1: MAIL, RCPT and DATA may be sent as one group; the server answers each
    in order (§3.2 "the server MUST send the replies in the same order"), and a refused
    RCPT in the group does not spoil the others."""
    with RawClient(server.smtp) as client:
        client.ehlo()
        client.send(b"MAIL FROM:<sender@elsewhere.test>\r\n"
                    b"RCPT TO:<alice@example.test>\r\n"
                    b"RCPT TO:<nobody@example.test>\r\n"
                    b"RCPT TO:<bob@example.test>\r\n"
                    b"DATA\r\n")
        mail, alice, nobody, bob, data = client.replies(5)
        assert (mail.code, alice.code, nobody.code, bob.code, data.code) == (
            250, 250, 550, 250, 354)
        assert enhanced(nobody) == "5.1.1"
        assert "nobody@example.test" in nobody.text
        client.send(b"Subject: pipelined\r\n\r\nbody\r\n.\r\nNOOP\r\nQUIT\r\n")
        done, noop, quit_ = client.replies(3)
        assert (done.code, noop.code, quit_.code) == (250, 250, 221)
    assert len(server.messages("alice@example.test")) == 1
    assert len(server.messages("bob@example.test")) == 1


def test_several_pipelined_transactions_in_one_write_are_all_delivered(
        server: RunningServer) -> None:
    """RFC 2920 §3.1: whole transactions may follow each other in a group; every message
    is stored and every reply arrives, in order."""
    group = b""
    for number in range(20):
        group += (b"MAIL FROM:<sender@elsewhere.test>\r\nRCPT TO:<alice@example.test>\r\n"
                  b"DATA\r\nSubject: pipelined %d\r\n\r\nbody %d\r\n.\r\n" % (number, number))
    with RawClient(server.smtp) as client:
        client.ehlo()
        client.send(group + b"QUIT\r\n")
        codes = [r.code for r in client.replies(20 * 4 + 1)]
    assert codes == [250, 250, 354, 250] * 20 + [221]
    stored = server.messages("alice@example.test")
    assert [m.split(b"\r\n\r\n", 1)[1] for m in stored] == [
        b"body %d\r\n" % n for n in range(20)]


def test_bdat_chunks_are_stored_as_sent(server: RunningServer) -> None:
    """RFC 3030 §2: BDAT carries the message in counted chunks, "BDAT 0 LAST" may end it,
    each chunk gets its own 250, and no dot-stuffing applies (a line "." and a line "..x"
    are content)."""
    parts = [b"Subject: chunked\r\nFrom: <sender@elsewhere.test>\r\n\r\n",
             b".\r\n..x\r\nsecond chunk, no transparency\r\n",
             b"third chunk ends the text\r\n"]
    with RawClient(server.smtp) as client:
        assert "CHUNKING" in client.ehlo().text
        assert client.command("MAIL FROM:<sender@elsewhere.test>").code == 250
        assert client.command("RCPT TO:<alice@example.test>").code == 250
        for part in parts:
            client.send(b"BDAT %d\r\n" % len(part) + part)
            response = client.reply()
            assert response.code == 250, response
            assert enhanced(response) == "2.0.0"
        last = client.command("BDAT 0 LAST")
        assert last.code == 250
        assert "accepted" in last.text
        assert client.command("NOOP").code == 250
    [stored] = server.messages("alice@example.test")
    assert body_after_trace(stored) == b"".join(parts)


def test_a_bdat_chunk_holding_an_end_of_data_and_commands_stays_data(
        server: RunningServer) -> None:
    """RFC 3030 §2: the chunk is exactly chunk-size octets "of the message"; a
    "<CRLF>.<CRLF>MAIL FROM:<x>" inside it ends nothing and starts nothing (no command is
    read from chunk bytes, so nothing can be smuggled)."""
    header = b"Subject: smuggle attempt\r\n\r\nbefore\r\n"
    trap = (b".\r\nMAIL FROM:<x@elsewhere.test>\r\nRCPT TO:<bob@example.test>\r\n"
            b"DATA\r\nSubject: smuggled\r\n\r\nhi\r\n.\r\n")
    chunk = header + trap
    with RawClient(server.smtp) as client:
        client.ehlo()
        client.send(b"MAIL FROM:<sender@elsewhere.test>\r\nRCPT TO:<alice@example.test>\r\n"
                    b"BDAT %d LAST\r\n" % len(chunk) + chunk)
        mail, rcpt, last = client.replies(3)
        assert (mail.code, rcpt.code, last.code) == (250, 250, 250)
        noop = client.command("NOOP")
        assert noop.code == 250
    [stored] = server.messages("alice@example.test")
    assert body_after_trace(stored) == chunk
    assert server.messages("bob@example.test") == []


def test_data_after_bdat_is_refused_and_the_transaction_can_finish(
        server: RunningServer) -> None:
    """RFC 3030 §2 MUST NOT: "The DATA command MUST NOT be used in the same transaction as
    BDAT" — 503 5.5.1, and the chunked transaction continues."""
    with RawClient(server.smtp) as client:
        client.ehlo()
        client.command("MAIL FROM:<sender@elsewhere.test>")
        client.command("RCPT TO:<alice@example.test>")
        client.send(b"BDAT 12\r\nSubject: x\r\n")
        assert client.reply().code == 250
        refused = client.command("DATA")
        assert (refused.code, enhanced(refused)) == (503, "5.5.1")
        client.send(b"BDAT 8 LAST\r\n\r\nbody\r\n")
        assert client.reply().code == 250
    [stored] = server.messages("alice@example.test")
    assert body_after_trace(stored) == b"Subject: x\r\n\r\nbody\r\n"


def test_replies_that_must_not_be_buffered_are_sent_at_once(tmp_path: Path,
                                                            ca: trustme.CA) -> None:
    """RFC 2920 §3.2 (2): a server "SHOULD elect to store responses to grouped RSET, MAIL
    FROM ... and RCPT TO commands in an internal buffer", but (5) "MUST NOT buffer
    responses to EHLO, DATA, VRFY, EXPN, TURN, QUIT, and NOOP" and (6) "MUST NOT buffer
    responses to unrecognized commands". The protocol trace shows each write of the
    server with its own time stamp: the reply to NOOP, VRFY or an unknown command ends
    a write, while RSET's may wait for company."""
    trace = tmp_path / "trace.log"
    running = start_server(tmp_path, ca, log={"trace": True, "trace_file": str(trace)})
    try:
        with RawClient(running.smtp) as client:
            client.ehlo()
            client.send(b"RSET\r\nNOOP\r\nRSET\r\nVRFY someone\r\nRSET\r\nXYZZY\r\nRSET\r\n"
                        b"EXPN list\r\nRSET\r\nQUIT\r\n")
            codes = [r.code for r in client.replies(10)]
            assert codes == [250, 250, 250, 252, 250, 500, 250, 502, 250, 221]
    finally:
        running.shutdown()
    sent = [line.split(" ", 3) for line in trace.read_text().splitlines()
            if line.split(" ", 3)[2] == "S:"]
    # (time stamp, reply text) of the replies to the pipelined group, in order.
    group = [(stamp, text) for stamp, _, _, text in sent][-10:]
    assert [text[:3] for _, text in group] == ["250", "250", "250", "252", "250", "500",
                                               "250", "502", "250", "221"]
    for index in (1, 3, 5, 7):               # NOOP, VRFY, XYZZY, EXPN
        assert group[index][0] != group[index + 1][0], (
            f"the reply {group[index][1]!r} was held back with the next one")
