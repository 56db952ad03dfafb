"""`rfcmail serve` as a real process: start-up announcements, graceful shutdown on
SIGTERM (RFC 5321 §3.8), durability across SIGKILL (DESIGN.md principle 3: "Nothing is
acknowledged (SMTP 250 ...) before it is durable"), protocol traces and several workers."""

from __future__ import annotations

import asyncio
import os
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from reference.app import STORE_FILE
from reference.smtp.connection import ClientConnection
from reference.store import open_store
from reference.store.interface import Message
from tests.e2e.conftest import PASSWORDS, provision, start_server
from tests.e2e.helpers import (
    LogCapture,
    RawClient,
    body_after_trace,
    enhanced,
    expect_closed,
    flood_until_blocked,
    wait_for,
)

SENDER = "sender@elsewhere.test"
ANNOUNCEMENT = re.compile(r"(smtp|submission|submissions) listening on ([0-9.]+):(\d+)")


class ServeProcess:
    """One `rfcmail serve` child process on loopback, ports chosen by the system."""

    def __init__(self, data_dir: Path, env: dict[str, str], *extra: str) -> None:
        self.data_dir = data_dir
        self.log_file = data_dir.parent / f"serve-{time.monotonic_ns()}.log"
        self.log = self.log_file.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "reference.cli", "serve", "--data-dir", str(data_dir),
             "--smtp", "127.0.0.1:0", "--submission", "127.0.0.1:0",
             "--submissions", "127.0.0.1:0", "--imap", "", "--imaps", "",
             "--hostname", "mx.example.test", *extra],
            stdout=subprocess.PIPE, stderr=self.log, env=env, cwd=data_dir.parent)
        self.announced: list[str] = []
        self.endpoints: dict[str, tuple[str, int]] = {}
        self._read_announcements()

    def _read_announcements(self, timeout: float = 20.0) -> None:
        assert self.process.stdout is not None
        stdout = self.process.stdout.fileno()      # unbuffered reads: select() stays true
        deadline = time.monotonic() + timeout
        pending = b""
        while len(self.endpoints) < 3:
            remaining = deadline - time.monotonic()
            ready, _, _ = select.select([stdout], [], [], max(remaining, 0))
            assert ready, f"no announcement within {timeout} s: {self.stderr()}"
            data = os.read(stdout, 4096)
            assert data, f"rfcmail serve exited: {self.stderr()}"
            pending += data
            *lines, pending = pending.split(b"\n")
            for line in lines:
                self.announced.append(line.decode())
                match = ANNOUNCEMENT.fullmatch(line.decode())
                assert match is not None, line
                self.endpoints[match[1]] = (match[2], int(match[3]))
        assert pending == b"", pending

    @property
    def smtp(self) -> tuple[str, int]:
        return self.endpoints["smtp"]

    def stderr(self) -> str:
        if not self.log.closed:
            self.log.flush()
        return self.log_file.read_text(errors="replace")

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def wait(self, timeout: float = 20.0) -> int:
        code = self.process.wait(timeout)
        self.log.close()
        if self.process.stdout is not None:
            self.process.stdout.close()
        return code

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.wait()

    def assert_no_internal_errors(self) -> None:
        text = self.stderr()
        assert "Traceback" not in text and "internal-error" not in text, text
        assert "level=error" not in text, text


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    asyncio.run(provision(path / STORE_FILE))
    return path


@pytest.fixture
def serve(data_dir: Path, subprocess_env: dict[str, str]) -> Iterator[ServeProcess]:
    process = ServeProcess(data_dir, subprocess_env)
    yield process
    process.stop()


def stored(data_dir: Path, address: str) -> list[tuple[Message, bytes]]:
    async def read() -> list[tuple[Message, bytes]]:
        store = await open_store(data_dir / STORE_FILE)
        try:
            account = await store.get_account(address)
            assert account is not None
            box = await store.get_mailbox(account.id, "INBOX")
            assert box is not None
            messages = sorted(await store.list_messages(box.id), key=lambda m: m.uid or 0)
            return [(m, await store.read_blob(m.blob_id) or b"") for m in messages]
        finally:
            await store.close()
    return asyncio.run(read())


def test_serve_announces_each_listener_and_serves_on_it(serve: ServeProcess) -> None:
    """README: `rfcmail serve` prints "smtp listening on HOST:PORT" (and submission,
    submissions) once each listener is bound; port 0 shows the port the system chose, and
    a client is greeted there (RFC 5321 §4.3.1 "220 <domain> Service ready")."""
    assert sorted(serve.endpoints) == ["smtp", "submission", "submissions"]
    assert all(port > 0 for _, port in serve.endpoints.values())
    assert [line.split()[0] for line in serve.announced] == ["smtp", "submission",
                                                             "submissions"]
    with RawClient(serve.smtp) as client:
        assert client.greeting is not None
        assert client.greeting.code == 220
        assert client.greeting.text.startswith("mx.example.test ")
        assert client.command("QUIT").code == 221
    serve.signal(signal.SIGTERM)
    assert serve.wait() == 0
    serve.assert_no_internal_errors()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
def test_sigterm_tells_an_idle_client_421_and_exits_0(serve: ServeProcess,
                                                      signum: signal.Signals) -> None:
    """RFC 5321 §3.8: a server that must shut down sends "421 <domain> Service not
    available, closing transmission channel" (4.3.2, RFC 3463: system not accepting
    network messages) to a client it is not in a transaction with, without waiting for a
    command; the process then exits with status 0 and takes no new connection. Ctrl-C
    (SIGINT) stops it the same way (README)."""
    with RawClient(serve.smtp) as client:
        client.ehlo()
        serve.signal(signum)
        goodbye = client.reply()
        assert (goodbye.code, enhanced(goodbye)) == (421, "4.3.2")
        assert goodbye.text.startswith("mx.example.test ")
        expect_closed(client)
    assert serve.wait() == 0
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(serve.smtp, timeout=2).close()
    serve.assert_no_internal_errors()


def test_sigterm_lets_a_transaction_finish_and_then_says_421(
        serve: ServeProcess, data_dir: Path) -> None:
    """RFC 5321 §3.8 with issue 2's shutdown policy: a transaction in flight (after RCPT,
    before DATA) may finish — its message is stored and acknowledged with 250 — and only
    then does the client get 421 4.3.2. New connections are no longer accepted meanwhile."""
    content = b"Subject: finished during shutdown\r\n\r\nstill delivered\r\n"
    with RawClient(serve.smtp) as client:
        client.ehlo()
        assert client.command(f"MAIL FROM:<{SENDER}>").code == 250
        assert client.command("RCPT TO:<alice@example.test>").code == 250
        serve.signal(signal.SIGTERM)
        assert wait_for(lambda: "rfcmail.stopping" in serve.stderr())
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(serve.smtp, timeout=2).close()
        assert client.command("DATA").code == 354
        client.send(ClientConnection.send_data(content))
        accepted = client.reply()
        assert accepted.code == 250
        goodbye = client.reply()
        assert (goodbye.code, enhanced(goodbye)) == (421, "4.3.2")
        expect_closed(client)
    assert serve.wait() == 0
    [(_, raw)] = stored(data_dir, "alice@example.test")
    assert body_after_trace(raw) == content
    serve.assert_no_internal_errors()


@pytest.mark.slow
def test_a_message_acknowledged_with_250_survives_sigkill(
        data_dir: Path, subprocess_env: dict[str, str]) -> None:
    """DESIGN.md principle 3 / RFC 5321 §6.1: once the server has sent 250 for the data it
    has "accepted responsibility" for the message, so the 250 goes out only after the
    message is durable. Twenty times: send one message, SIGKILL the server the moment the
    250 is read, start it again on the same data directory — every acknowledged message
    is there, byte for byte, and the next start serves as usual."""
    rounds = 20
    for number in range(rounds):
        server = ServeProcess(data_dir, subprocess_env)
        try:
            with RawClient(server.smtp) as client:
                client.ehlo()
                content = b"Subject: durable %d\r\n\r\nmessage %d\r\n" % (number, number)
                reply = client.mail_transaction(SENDER, ["alice@example.test"], content)
                if reply.code == 250:
                    server.signal(signal.SIGKILL)
                assert reply.code == 250
        finally:
            server.stop()
        assert server.process.returncode == -signal.SIGKILL
    messages = stored(data_dir, "alice@example.test")
    assert [body_after_trace(raw) for _, raw in messages] == [
        b"Subject: durable %d\r\n\r\nmessage %d\r\n" % (n, n) for n in range(rounds)]
    uids = [message.uid for message, _ in messages]
    assert uids == sorted(set(uids))
    last = ServeProcess(data_dir, subprocess_env)
    try:
        with RawClient(last.smtp) as client:
            assert client.ehlo().code == 250
    finally:
        last.signal(signal.SIGTERM)
        assert last.wait() == 0


def test_trace_file_shows_the_conversation_byte_for_byte(
        data_dir: Path, subprocess_env: dict[str, str]) -> None:
    """README "Seeing the conversation": --trace-file writes every byte in (C:) and out
    (S:) per connection, with timestamps and escapes, so CRLF shows as \\r\\n and a NUL or
    a bare LF cannot hide."""
    trace = data_dir.parent / "trace.log"
    server = ServeProcess(data_dir, subprocess_env, "--trace-file", str(trace))
    try:
        with RawClient(server.smtp) as client:
            client.ehlo("client.example.test")
            client.command(b"NO\x00OP")
            client.send(b"RSET\n\r\n")       # one line with a bare LF in it: 500
            client.reply()
            client.mail_transaction(SENDER, ["alice@example.test"], b"Subject: t\r\n\r\n")
            client.command("QUIT")
    finally:
        server.signal(signal.SIGTERM)
        assert server.wait() == 0
    lines = trace.read_text().splitlines()
    line = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00 (smtp-\d+) ([CS]): (.*)")
    parsed = [line.fullmatch(text) for text in lines]
    assert all(parsed), [t for t, m in zip(lines, parsed, strict=True) if m is None]
    conversation = [(m[2], m[3]) for m in parsed if m is not None]
    assert len({m[1] for m in parsed if m is not None}) == 1      # one connection
    assert conversation[0] == ("S", r"220 mx.example.test ESMTP rfcmail ready\r\n")
    assert ("C", r"EHLO client.example.test\r\n") in conversation
    assert ("C", r"NO\x00OP\r\n") in conversation
    assert ("C", r"RSET\n") in conversation          # the trace shows the bare LF
    assert ("C", r"MAIL FROM:<sender@elsewhere.test>\r\n") in conversation
    assert ("C", r"Subject: t\r\n") in conversation
    assert ("C", r".\r\n") in conversation
    assert ("C", r"QUIT\r\n") in conversation
    assert any(d == "S" and t.startswith("250 2.0.0 Message accepted") for d, t in conversation)
    assert conversation[-1][0] == "S" and conversation[-1][1].startswith("221 2.0.0 ")


def test_two_workers_both_accept_and_store_into_one_store(
        data_dir: Path, subprocess_env: dict[str, str]) -> None:
    """README / DESIGN.md principle 7: --workers 2 runs two processes on the same
    listeners (SO_REUSEPORT; with port 0 both on the announced port) and one store.
    Fifty messages, one connection each: all are stored, both processes took some (the
    queue ids in the Received fields carry a per-process prefix), and the UIDs are unique
    and ascend in the order the 250s were given (RFC 9051 §2.3.1.1)."""
    server = ServeProcess(data_dir, subprocess_env, "--workers", "2")
    queue_ids = []
    try:
        for number in range(50):
            with RawClient(server.smtp) as client:
                client.ehlo()
                reply = client.mail_transaction(
                    SENDER, ["alice@example.test"], b"Subject: worker test %d\r\n\r\n" % number)
                assert reply.code == 250
                queue_ids.append(reply.text.rsplit(" ", 1)[1])
    finally:
        server.signal(signal.SIGTERM)
        assert server.wait() == 0
    server.assert_no_internal_errors()
    messages = stored(data_dir, "alice@example.test")
    assert [body_after_trace(raw) for _, raw in messages] == [
        b"Subject: worker test %d\r\n\r\n" % n for n in range(50)]
    uids = [message.uid for message, _ in messages]
    assert len(set(uids)) == 50 and uids == sorted(uids)
    prefixes = {queue_id[:8] for queue_id in queue_ids}
    assert len(prefixes) == 2, "only one worker accepted connections"
    assert os.path.exists(data_dir / "tls" / "certificate.pem")


def test_a_transaction_that_outlasts_the_shutdown_grace_gets_421_and_stores_nothing(
        tmp_path: Path, ca: trustme.CA) -> None:
    """RFC 5321 §3.8 with the configured server.shutdown_grace: a client still inside a
    transaction when the grace runs out is told 421 4.3.2 and disconnected; its
    unfinished message was never acknowledged and is not stored."""
    running = start_server(tmp_path, ca, server={"shutdown_grace": 0.5})
    stopper = threading.Thread(target=running.shutdown)
    with RawClient(running.smtp) as client:
        client.ehlo()
        assert client.command(f"MAIL FROM:<{SENDER}>").code == 250
        assert client.command("RCPT TO:<alice@example.test>").code == 250
        assert client.command("DATA").code == 354
        client.send(b"Subject: never finished\r\n\r\n")
        started = time.monotonic()
        stopper.start()
        goodbye = client.reply()
        assert (goodbye.code, enhanced(goodbye)) == (421, "4.3.2")
        assert 0.3 < time.monotonic() - started < 5
        expect_closed(client)
    stopper.join(10)
    assert not stopper.is_alive()
    assert stored(running.config.data_dir, "alice@example.test") == []


def test_shutdown_is_not_held_up_by_a_client_that_does_not_read(
        tmp_path: Path, ca: trustme.CA, server_log: LogCapture) -> None:
    """RFC 5321 §3.8 / server.shutdown_grace: a client that pipelines without reading its
    replies cannot be told 421 (its receive window is full); when the grace runs out it is
    cut off all the same and the server stops on time, its store closed."""
    running = start_server(tmp_path, ca, server={"shutdown_grace": 0.5})
    hog = flood_until_blocked(running.smtp)
    try:
        started = time.monotonic()
        running.shutdown()
        assert running.thread is not None and not running.thread.is_alive()
        assert time.monotonic() - started < 3, "shutdown waited on a blocked client"
        assert "rfcmail.stopped" in server_log.events()
    finally:
        hog.close()


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_listener_address_in_use_is_a_clear_error(
        data_dir: Path, subprocess_env: dict[str, str], workers: str) -> None:
    """A port that is taken: `rfcmail serve` says which listener could not be bound, in
    one line, and exits 1 — no traceback (README: errors are messages, not crashes)."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "reference.cli", "serve", "--data-dir", str(data_dir),
             "--smtp", f"127.0.0.1:{port}", "--submission", "", "--submissions", "",
             "--imap", "", "--imaps", "", "--workers", workers],
            capture_output=True, text=True, timeout=30, env=subprocess_env)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("rfcmail: ")]
    assert errors, result.stderr
    assert f"127.0.0.1:{port}" in errors[0] and "smtp" in errors[0]


def test_an_imap_client_that_stops_reading_a_fetch_is_cut_off_without_an_internal_error(
        tmp_path: Path, ca: trustme.CA, server_log: LogCapture) -> None:
    """RFC 9051 §7.1.5 keeps BYE for announcements a client can read: a client that
    stops reading a long FETCH (its receive window full) cannot be told, so at shutdown
    it is cut off when the grace runs out; the server logs that, not an internal error,
    and stops on time."""
    running = start_server(tmp_path, ca, server={"shutdown_grace": 0.5})
    host, port = running.endpoints["imap"].host, running.endpoints["imap"].port
    body = b"Subject: big\r\n\r\n" + b"x" * 200_000 + b"\r\n"
    client = socket.create_connection((host, port), timeout=10)
    try:
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        client.recv(4096)
        literal = b"{%d+}\r\n" % len(body)
        password = PASSWORDS["alice@example.test"].encode()
        client.sendall(b"a LOGIN alice@example.test " + password
                       + b"\r\nb APPEND INBOX " + literal + body + b"\r\n"
                       + b"c APPEND INBOX " + literal + body + b"\r\nd SELECT INBOX\r\n")
        replies = b""
        while b"d OK" not in replies:
            chunk = client.recv(65536)
            assert chunk, replies
            replies += chunk
        # Ask for far more than the socket buffers hold, and read none of it.
        client.sendall(b"e FETCH 1:* BODY.PEEK[]\r\n" * 20)
        time.sleep(0.5)
        started = time.monotonic()
        running.shutdown()
        assert time.monotonic() - started < 5, "shutdown waited on a blocked client"
    finally:
        client.close()
    assert "imap.not-reading" in server_log.events()
    assert server_log.internal_errors() == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_workers_stop_when_the_parent_is_killed_outright(
        data_dir: Path, subprocess_env: dict[str, str]) -> None:
    """A parent killed with SIGKILL (or by the OOM killer) cannot forward the stop to
    its workers: they stop by themselves instead of serving on, orphaned (the
    durability test above left two such processes per round)."""
    server = ServeProcess(data_dir, subprocess_env, "--workers", "2")
    parent = server.process.pid
    children_file = Path(f"/proc/{parent}/task/{parent}/children")
    workers = [int(pid) for pid in children_file.read_text().split()]
    assert len(workers) == 2, workers
    server.signal(signal.SIGKILL)
    server.wait()

    def gone() -> bool:
        for pid in workers:
            try:
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except FileNotFoundError:
                continue
            if state != "Z":                 # a zombie has stopped; init reaps it
                return False
        return True

    assert wait_for(gone, timeout=20), f"workers still running: {server.stderr()}"
