"""Hostile clients over real sockets: one test per attack, each checking the exact reply,
that the connection stays in step (or is closed cleanly when it should be), that other
clients are still served, and that no input makes the server log an internal error
(DESIGN.md principle 8: "Bad input gets a precise protocol error, never a crash, a hang or
lost data"). The ``server_log`` fixture fails the test on any traceback or error record.
"""

from __future__ import annotations

import random
import socket
import threading
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from reference.smtp.connection import NEED_DATA
from tests.e2e.conftest import RunningServer, start_server
from tests.e2e.helpers import (
    LogCapture,
    RawClient,
    enhanced,
    expect_closed,
    flood_until_blocked,
    still_serving,
    wait_for,
)

SENDER = "sender@elsewhere.test"


def disconnects(log: LogCapture) -> int:
    return log.events().count("smtp.disconnect")


def assert_clean(server: RunningServer, log: LogCapture) -> None:
    """Another client is served, and nothing went wrong inside the server."""
    still_serving(server.smtp)
    assert not log.internal_errors(), [r.getMessage() for r in log.internal_errors()]


# --- SMTP smuggling (CVE-2023-51764, -51765, -51766) ------------------------------------

# Sequences that some servers read as the end of the data and others do not.
FAKE_ENDS = {
    "LF.LF": b"\n.\n",
    "CRLF.LF": b"\r\n.\n",
    "LF.CRLF": b"\n.\r\n",
    "CR.CRLF": b"\r.\r\n",
    "CRLF.CR": b"\r\n.\r",
    "CR.CR": b"\r.\r",
    "CR.LF": b"\r.\n",
}


@pytest.mark.parametrize("fake_end", FAKE_ENDS.values(), ids=FAKE_ENDS.keys())
def test_smtp_smuggling_gets_one_554_and_stores_nothing(
        server: RunningServer, server_log: LogCapture, fake_end: bytes) -> None:
    """RFC 5321 §4.1.1.4: the data ends only with "<CRLF>.<CRLF>"; §2.3.8: a bare CR or LF
    "MUST NOT" appear in it. A message holding a fake end followed by a second, spoofed
    transaction is one message, refused as a whole with 554 5.6.0 after the real end:
    exactly one reply for the data, nothing stored for anyone, and the connection in step
    (the next command gets its own reply)."""
    smuggled = (b"From: <ceo@example.test>\r\nSubject: harmless\r\n\r\nhello" + fake_end
                + b"MAIL FROM:<ceo@example.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n"
                b"From: <ceo@example.test>\r\nSubject: smuggled\r\n\r\nwire the money\r\n"
                b".\r\n")
    with RawClient(server.smtp) as client:
        client.ehlo()
        assert client.command(f"MAIL FROM:<{SENDER}>").code == 250
        assert client.command("RCPT TO:<alice@example.test>").code == 250
        assert client.command("DATA").code == 354
        client.send(smuggled)
        refused = client.reply()
        assert (refused.code, enhanced(refused)) == (554, "5.6.0")
        # Exactly one reply: nothing else was produced for the smuggled commands.
        assert client.core.next_reply() is NEED_DATA
        noop = client.command("NOOP")
        assert (noop.code, noop.text) == (250, "OK")
        assert client.command("QUIT").code == 221
    assert_clean(server, server_log)
    assert server.total_messages() == 0


def test_smuggling_in_pipelined_data_does_not_start_a_transaction(
        server: RunningServer, server_log: LogCapture) -> None:
    """The same with everything in one write (RFC 2920 pipelining up to DATA, then the
    data): still one 554 5.6.0 for the data and no message for bob."""
    with RawClient(server.smtp) as client:
        client.ehlo()
        client.send(b"MAIL FROM:<sender@elsewhere.test>\r\nRCPT TO:<alice@example.test>\r\n"
                    b"DATA\r\n")
        assert [r.code for r in client.replies(3)] == [250, 250, 354]
        client.send(b"Subject: a\r\n\r\nx\n.\nMAIL FROM:<x@elsewhere.test>\r\n"
                    b"RCPT TO:<bob@example.test>\r\nDATA\r\nSubject: b\r\n\r\ny\r\n.\r\n"
                    b"NOOP\r\n")
        refused, noop = client.replies(2)
        assert (refused.code, enhanced(refused)) == (554, "5.6.0")
        assert noop.code == 250
    assert_clean(server, server_log)
    assert server.total_messages() == 0


# --- STARTTLS command injection (CVE-2011-0411) ------------------------------------------


def test_starttls_plaintext_injection_is_discarded(
        server: RunningServer, server_log: LogCapture) -> None:
    """RFC 3207 §4.2: after the handshake the server "MUST discard any knowledge obtained
    from the client ... which was not obtained from the TLS negotiation itself". Commands
    sent in plaintext in the same write as STARTTLS must not run over TLS: the first reply
    over TLS is the one to EHLO, not a 250 for the injected RSET."""
    with RawClient(server.smtp) as client:
        client.ehlo()
        client.send(b"STARTTLS\r\nRSET\r\nMAIL FROM:<injected@elsewhere.test>\r\n")
        assert client.reply().code == 220
        assert client.core.next_reply() is NEED_DATA
        client.sock = server.client_context().wrap_socket(client.sock,
                                                           server_hostname="localhost")
        ehlo = client.command("EHLO client.example.test")
        assert ehlo.code == 250
        assert ehlo.lines[0].startswith("mx.example.test Hello client.example.test")
        assert "PIPELINING" in ehlo.lines
        # The injected MAIL did not open a transaction: RCPT is out of order.
        rcpt = client.command("RCPT TO:<alice@example.test>")
        assert (rcpt.code, enhanced(rcpt)) == (503, "5.5.1")
        assert client.command("NOOP").code == 250
    assert "smtp.starttls-discarded" in server_log.events()
    assert_clean(server, server_log)


# --- malformed command lines --------------------------------------------------------------


def test_an_overlong_command_line_gets_500_and_the_next_command_works(
        server: RunningServer, server_log: LogCapture) -> None:
    """RFC 5321 §4.5.3.1.4: a command line is at most 512 octets (plus what announced
    extensions add); §4.5.3.1.9: "500 Line too long."; 5.5.2 (RFC 3463 syntax error).
    The rest of the long line is discarded, and the next line is a command again."""
    with RawClient(server.smtp) as client:
        before_ehlo = client.command(b"NOOP " + b"a" * 600)
        assert (before_ehlo.code, enhanced(before_ehlo)) == (500, "5.5.2")
        client.ehlo()
        too_long = client.command(b"MAIL FROM:<" + b"b" * 2000 + b"@elsewhere.test>")
        assert (too_long.code, enhanced(too_long)) == (500, "5.5.2")
        assert client.command("NOOP").code == 250
        # A line of a megabyte, arriving in pieces, gets one 500, not one per piece.
        client.send(b"NOOP ")
        for _ in range(16):
            client.send(b"c" * 65536)
        client.send(b"\r\nNOOP\r\n")
        one, noop = client.replies(2)
        assert (one.code, enhanced(one)) == (500, "5.5.2")
        assert noop.code == 250
    assert_clean(server, server_log)


def test_a_bare_lf_ends_no_command_and_gets_500(
        server: RunningServer, server_log: LogCapture) -> None:
    """RFC 5321 §2.3.8: "SMTP client implementations MUST NOT transmit these characters
    except when they are intended as line terminators and then MUST transmit them only as
    a <CRLF> sequence", and "Conforming implementations MUST NOT recognize ... any other
    character or character sequence as a line terminator": a bare LF ends nothing, so
    "MAIL ...<LF>RCPT ...<CRLF>" is one line with a bare LF, refused with 500 5.5.2, and
    neither command runs (no transaction: a later RCPT gets 503)."""
    with RawClient(server.smtp) as client:
        client.ehlo()
        client.send(b"MAIL FROM:<sender@elsewhere.test>\nRCPT TO:<alice@example.test>\r\n")
        [refused] = client.replies(1)
        assert (refused.code, enhanced(refused)) == (500, "5.5.2")
        rcpt = client.command("RCPT TO:<alice@example.test>")
        assert (rcpt.code, enhanced(rcpt)) == (503, "5.5.1")
        bare_cr = client.command(b"NOOP\rRSET")
        assert (bare_cr.code, enhanced(bare_cr)) == (500, "5.5.2")
        assert client.command("NOOP").code == 250
    assert_clean(server, server_log)


def test_nul_bytes_in_a_command_get_a_syntax_error(
        server: RunningServer, server_log: LogCapture) -> None:
    """RFC 5321 §4.1.2: a path with characters outside the grammar "MUST" be rejected with
    501; a NUL in a verb makes the line no command at all (500 5.5.2)."""
    with RawClient(server.smtp) as client:
        client.ehlo()
        verb = client.command(b"NO\x00OP")
        assert (verb.code, enhanced(verb)) == (500, "5.5.2")
        path = client.command(b"MAIL FROM:<send\x00er@elsewhere.test>")
        assert path.code == 501
        assert enhanced(path) is not None and enhanced(path).startswith("5.")
        assert client.command("NOOP").code == 250
    assert_clean(server, server_log)


def test_binary_garbage_gets_500s_then_421_and_the_connection_is_closed(
        server: RunningServer, server_log: LogCapture) -> None:
    """After ``limits.errors`` (20) refused lines the server gives up on the client: RFC
    5321 §3.8 "421 <domain> Service not available, closing transmission channel" with
    4.3.2, and closes. Every line before it got a 5xx with an enhanced code."""
    rng = random.Random(20231218)
    garbage = b"".join(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))
                       + b"\x00\r\n" for _ in range(60))
    with RawClient(server.smtp) as client:
        client.send(garbage)
        replies = []
        while True:
            response = client.reply()
            replies.append(response)
            if response.code == 421:
                break
        *errors, closing = replies
        assert len(errors) == 20
        assert all(r.code >= 500 and enhanced(r) is not None for r in errors), errors
        assert enhanced(closing) == "4.3.2"
        expect_closed(client)
    assert_clean(server, server_log)


def test_an_http_request_gets_500s_and_is_not_mistaken_for_smtp(
        server: RunningServer, server_log: LogCapture) -> None:
    """Cross-protocol requests (a browser pointed at port 25): RFC 5321 §4.2.4 "500 ...
    command unrecognized" for each line, with RFC 3463 X.5.1 "Invalid command"; none is
    taken for a command, and the connection then ends politely."""
    with RawClient(server.smtp) as client:
        client.send(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        for response in client.replies(3):
            assert (response.code, enhanced(response)) == (500, "5.5.1")
        assert client.command("QUIT").code == 221
    assert_clean(server, server_log)


def test_an_auth_line_beyond_the_limit_fails_the_exchange_with_500_5_5_6(
        server: RunningServer, server_log: LogCapture) -> None:
    """RFC 4954 §4: a client response longer than the server accepts fails the AUTH
    command "with the 500 reply ... SHOULD return an enhanced status code of 5.5.6"
    (Authentication Exchange line is too long); the session goes on."""
    with RawClient(server.smtp) as client:
        client.ehlo()
        assert client.command("AUTH LOGIN").code == 334
        too_long = client.command(b"A" * 20000)
        assert (too_long.code, enhanced(too_long)) == (500, "5.5.6")
        assert client.command("NOOP").code == 250
    assert_clean(server, server_log)


# --- clients that are too slow, too fast, or gone -----------------------------------------


@pytest.fixture
def impatient_server(tmp_path: Path, ca: trustme.CA,
                     server_log: LogCapture) -> Iterator[RunningServer]:
    running = start_server(tmp_path, ca, smtp={"limits": {"command_timeout": 0.5,
                                                          "data_timeout": 0.5}})
    yield running
    running.shutdown()


def test_a_silent_client_gets_421_4_4_0_and_is_closed(
        impatient_server: RunningServer, server_log: LogCapture) -> None:
    """RFC 5321 §4.5.3.2.7: the server waits a bounded time for the next command; when
    it expires it may close with "421 <domain> ... closing transmission channel" (§3.8);
    4.4.0 (RFC 3463: network or routing status, here no answer from the client)."""
    with RawClient(impatient_server.smtp) as client:
        client.ehlo()
        started = time.monotonic()
        timed_out = client.reply()
        assert (timed_out.code, enhanced(timed_out)) == (421, "4.4.0")
        assert 0.3 < time.monotonic() - started < 5
        expect_closed(client)
    assert_clean(impatient_server, server_log)


def test_a_command_trickled_byte_by_byte_does_not_reset_the_timeout(
        impatient_server: RunningServer, server_log: LogCapture) -> None:
    """RFC 5321 §4.5.3.2.7: the timeout bounds the time for a whole command line, so a
    client that sends one byte now and then (slowloris) is still cut off: 421 4.4.0."""
    with RawClient(impatient_server.smtp) as client:
        client.ehlo()
        started = time.monotonic()
        client.sock.settimeout(0.05)
        line = b"NOOP " + b"x" * 200
        answer = b""
        for byte in line:
            try:
                client.send(bytes([byte]))
            except OSError:
                break
            time.sleep(0.05)
            try:
                answer += client.sock.recv(4096)
            except TimeoutError:
                continue
            if answer:
                break
        assert answer.startswith(b"421 4.4.0 "), answer
        assert time.monotonic() - started < 5
    assert_clean(impatient_server, server_log)


def test_data_that_stops_coming_times_out_and_nothing_is_stored(
        impatient_server: RunningServer, server_log: LogCapture) -> None:
    """RFC 5321 §4.5.3.2: timeouts apply to "each buffer of the data transfer";
    a client that goes quiet inside DATA gets 421 4.4.0 and its half message is dropped
    (the 250 was never sent, so the client still owns it, §6.1)."""
    with RawClient(impatient_server.smtp) as client:
        client.ehlo()
        client.command(f"MAIL FROM:<{SENDER}>")
        client.command("RCPT TO:<alice@example.test>")
        assert client.command("DATA").code == 354
        client.send(b"Subject: half\r\n\r\nthe first half\r\n")
        timed_out = client.reply()
        assert (timed_out.code, enhanced(timed_out)) == (421, "4.4.0")
        expect_closed(client)
    assert_clean(impatient_server, server_log)
    assert impatient_server.total_messages() == 0


def test_a_client_that_disconnects_inside_huge_data_leaves_nothing_stored(
        server: RunningServer, server_log: LogCapture) -> None:
    """RFC 5321 §6.1: the server takes responsibility only with its 250 after the data;
    data cut off by a disconnect (several megabytes, no terminator, the last line even
    ends "<CRLF>." without its CRLF) is dropped, quietly."""
    before = disconnects(server_log)
    with RawClient(server.smtp) as client:
        client.ehlo()
        client.command(f"MAIL FROM:<{SENDER}>")
        client.command("RCPT TO:<alice@example.test>")
        assert client.command("DATA").code == 354
        block = b"Subject: endless\r\n\r\n" + (b"z" * 78 + b"\r\n") * 12_000
        for _ in range(5):
            client.send(block)
        client.send(b"\r\n.")
    assert wait_for(lambda: disconnects(server_log) > before)
    assert_clean(server, server_log)
    assert server.total_messages() == 0


def test_ten_thousand_pipelined_commands_are_answered_in_order(
        server: RunningServer, server_log: LogCapture) -> None:
    """RFC 2920 §3.2: the server "MUST send the replies in the same order" as the
    commands. Ten thousand commands in one write, four kinds in turn so that the order is
    visible, get ten thousand replies in order, and the session is still usable."""
    kinds = [(b"NOOP\r\n", 250, "OK"), (b"VRFY someone\r\n", 252, None),
             (b"RSET\r\n", 250, "Reset state"), (b"HELP\r\n", 214, None)]
    count = 10_000
    flood = b"".join(kinds[i % 4][0] for i in range(count))
    with RawClient(server.smtp, timeout=30) as client:
        client.ehlo()
        sender = threading.Thread(target=client.send, args=(flood,))
        sender.start()
        replies = client.replies(count)
        sender.join()
        for index, response in enumerate(replies):
            _, code, text = kinds[index % 4]
            assert response.code == code, (index, response)
            if text is not None:
                assert response.text == text, (index, response)
        assert client.command("NOOP").code == 250
    assert_clean(server, server_log)


def test_a_client_that_never_reads_is_throttled_and_does_not_wedge_the_server(
        server: RunningServer, server_log: LogCapture) -> None:
    """DESIGN.md principle 8 / RFC 2920 §3.1 (a server may buffer replies to grouped
    commands, within bounds): a client that pipelines commands without ever reading the
    replies is stopped by back-pressure — the server stops reading from it once its
    replies cannot be written — instead of buffering without bound; meanwhile every other
    client is served."""
    hog = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    hog.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    hog.connect(server.smtp)
    hog.settimeout(1.0)
    command = b"HELP\r\n" * 10_000            # each HELP draws a two-line reply
    limit = 64 * 1024 * 1024
    sent = 0
    try:
        while sent < limit:
            try:
                sent += hog.send(command)
            except TimeoutError:
                break                          # the server stopped reading: throttled
        assert sent < limit, "the server read 64 MB from a client that reads nothing"
        still_serving(server.smtp)
    finally:
        hog.close()
    assert_clean(server, server_log)


def test_many_idle_connections_do_not_keep_others_from_being_served(
        server: RunningServer, server_log: LogCapture) -> None:
    """DESIGN.md principle 8 (never a hang): a crowd of connections that said nothing
    after the greeting does not keep a working client from being served promptly."""
    idle = []
    try:
        for _ in range(100):
            idle.append(RawClient(server.smtp))
        started = time.monotonic()
        still_serving(server.smtp)
        assert time.monotonic() - started < 2
    finally:
        for client in idle:
            client.close()
    assert_clean(server, server_log)


@pytest.fixture
def few_transactions_server(tmp_path: Path, ca: trustme.CA,
                            server_log: LogCapture) -> Iterator[RunningServer]:
    running = start_server(tmp_path, ca, smtp={"limits": {"transactions": 3}})
    yield running
    running.shutdown()


def test_too_many_transactions_on_one_connection_end_it_with_421(
        few_transactions_server: RunningServer, server_log: LogCapture) -> None:
    """``limits.transactions`` bounds one client's share of a connection: the MAIL that
    would open one transaction too many gets 421 4.3.2 (RFC 5321 §3.8) and the connection
    closes; the messages already accepted are stored."""
    with RawClient(few_transactions_server.smtp) as client:
        client.ehlo()
        for number in range(3):
            assert client.mail_transaction(SENDER, ["alice@example.test"],
                                           b"Subject: %d\r\n\r\n" % number).code == 250
        refused = client.command(f"MAIL FROM:<{SENDER}>")
        assert (refused.code, enhanced(refused)) == (421, "4.3.2")
        expect_closed(client)
    assert len(few_transactions_server.messages("alice@example.test")) == 3
    assert_clean(few_transactions_server, server_log)


def reset(client: RawClient) -> None:
    """Close with a TCP RST instead of a FIN (SO_LINGER with a zero timeout)."""
    client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                           (1).to_bytes(4, "little") + (0).to_bytes(4, "little"))
    client.sock.close()


RESET_POINTS = {
    "after-greeting": [],
    "mid-command": [b"MAIL FROM:<sender@elsewhere"],
    "in-transaction": [b"EHLO x.test\r\n", b"MAIL FROM:<sender@elsewhere.test>\r\n",
                       b"RCPT TO:<alice@example.test>\r\n"],
    "in-data": [b"EHLO x.test\r\nMAIL FROM:<sender@elsewhere.test>\r\n"
                b"RCPT TO:<alice@example.test>\r\nDATA\r\n", b"Subject: cut\r\n\r\nhalf"],
    "in-bdat": [b"EHLO x.test\r\nMAIL FROM:<sender@elsewhere.test>\r\n"
                b"RCPT TO:<alice@example.test>\r\nBDAT 1000 LAST\r\n", b"Subject: cut"],
    "in-auth": [b"EHLO x.test\r\n", b"AUTH LOGIN\r\n"],
    "in-tls-handshake": [b"EHLO x.test\r\n", b"STARTTLS\r\n", b"\x16\x03\x01\x02\x00\x01"],
}


@pytest.mark.parametrize("steps", RESET_POINTS.values(), ids=RESET_POINTS.keys())
def test_a_connection_reset_at_any_point_is_handled_quietly(
        server: RunningServer, server_log: LogCapture, steps: list[bytes]) -> None:
    """DESIGN.md principle 8 / RFC 5321 §6.1 (responsibility only with the 250): a peer
    that vanishes (TCP reset) anywhere in the session — mid-line, inside a
    transaction, inside DATA or a BDAT chunk, inside AUTH or the TLS handshake — ends that
    connection only: no message is stored, nothing is logged as an internal error, and the
    server keeps serving."""
    before = disconnects(server_log)
    client = RawClient(server.smtp)
    for step in steps:
        client.send(step)
        if step.endswith(b"\r\n"):
            time.sleep(0.05)         # let the server answer before the next step
    reset(client)
    assert wait_for(lambda: disconnects(server_log) > before)
    assert_clean(server, server_log)
    assert server.total_messages() == 0


def test_a_reset_on_the_implicit_tls_port_before_the_handshake_is_quiet(
        server: RunningServer, server_log: LogCapture) -> None:
    """RFC 8314 §3.3 port: a client that connects and resets before or inside the TLS
    handshake costs nothing but that connection."""
    for payload in (b"", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"):
        raw = socket.create_connection(server.submissions, timeout=5)
        raw.sendall(payload)
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                       (1).to_bytes(4, "little") + (0).to_bytes(4, "little"))
        raw.close()
    with RawClient(server.submissions, tls=server.client_context()) as client:
        assert client.ehlo().code == 250
    assert_clean(server, server_log)


def test_a_client_that_stops_reading_is_dropped_after_the_timeout(
        impatient_server: RunningServer, server_log: LogCapture) -> None:
    """RFC 5321 §4.5.3.2.7 bounds how long a server waits on a client; a client that
    neither reads its replies nor sends anything holds a connection the server can no
    longer write to. It is dropped once the command timeout passes, like a silent
    client, instead of holding the connection for ever."""
    before = disconnects(server_log)
    hog = flood_until_blocked(impatient_server.smtp)
    try:
        assert wait_for(lambda: disconnects(server_log) > before, timeout=5), \
            "the server still holds a connection it cannot write to"
    finally:
        hog.close()
    assert_clean(impatient_server, server_log)


def test_replies_to_a_pipelined_group_are_not_amplified_in_memory(
        server: RunningServer, server_log: LogCapture) -> None:
    """RFC 2920 §3.1 lets the server buffer replies to a group of commands; DESIGN.md
    principle 8 bounds every buffer. 240 KB of HELP commands (each draws a two-line reply,
    twenty-five times its size) from a client that reads nothing must not make the server
    hold megabytes of replies: it answers in batches and stops reading while the client
    does not read."""
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        hog = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        hog.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        hog.connect(server.smtp)
        try:
            hog.sendall(b"HELP\r\n" * 40_000)
            # Until the server's memory use has settled (it has done what it will do).
            last, still = -1, 0
            deadline = time.monotonic() + 10
            while still < 5 and time.monotonic() < deadline:
                time.sleep(0.1)
                current = tracemalloc.get_traced_memory()[1]
                still = still + 1 if current == last else 0
                last = current
            peak = tracemalloc.get_traced_memory()[1] - baseline
        finally:
            hog.close()
    finally:
        tracemalloc.stop()
    assert peak < 3_000_000, f"{peak} bytes held for 240 KB of commands"
    assert_clean(server, server_log)
