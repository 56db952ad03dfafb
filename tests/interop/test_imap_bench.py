"""The IMAP benchmark at a tiny size: its client reads literals right, both workloads run
against a real Dovecot and produce sane, checked numbers, and a build of rfcmail without
IMAP is reported as such instead of failing."""

from __future__ import annotations

import contextlib
import json
import re
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import imap_bench  # noqa: E402
from imap_client import ImapClient, search_hits, sequence_set_size, status_items  # noqa: E402
from imap_messages import BODY_COMMON, GeneratedMessage, Markers, MessageFactory  # noqa: E402
from imap_workloads import append_messages  # noqa: E402

from interop.providers.base import ProviderUnavailable  # noqa: E402
from interop.providers.dovecot import missing_packages  # noqa: E402
from interop.providers.rfcmail import (  # noqa: E402
    rfcmail_executable,
)

needs_dovecot = pytest.mark.skipif(
    bool(missing_packages()),
    reason=f"Dovecot is not installed (missing {', '.join(missing_packages())}): "
           "run scripts/install-peers.sh")


@pytest.fixture
def scripted_server() -> Iterator[tuple[int, list[bytes]]]:
    """A loopback listener that sends the greeting, then, once a command arrives, the
    scripted reply one byte at a time (every boundary a literal scanner can trip on)."""
    listener = socket.create_server(("127.0.0.1", 0))
    script: list[bytes] = []

    def serve() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.sendall(b"* OK [CAPABILITY IMAP4rev1 LITERAL+] ready\r\n")
            connection.recv(1024)
            for byte in b"".join(script):
                connection.sendall(bytes([byte]))
            connection.recv(1024)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1], script
    listener.close()
    thread.join(timeout=5)


def test_the_client_skips_literals_that_look_like_tagged_lines(
        scripted_server: tuple[int, list[bytes]]) -> None:
    port, script = scripted_server
    body = b"line\r\nt1 OK not the end\r\n{3}\r\n"
    script.append(b"* 1 FETCH (BODY[] {%d}\r\n%s)\r\n" % (len(body), body)
                  + b"* 2 FETCH (FLAGS (\\Seen))\r\nt1 OK done\r\n")
    client = ImapClient("127.0.0.1", port, timeout=10)
    assert "LITERAL+" in client.capabilities
    response = client.command("FETCH 1:2 (BODY[])")
    assert response.line == b"t1 OK done"
    assert body in response.data
    assert response.data.endswith(b"* 2 FETCH (FLAGS (\\Seen))")
    client.close()


def test_multiappend_waits_for_continuations_where_literal_minus_does_not_reach() -> None:
    """An IMAP4rev2 server with LITERAL- only (RFC 7888 §5): literals up to 4,096 octets
    go without waiting, a larger one waits for "+"."""
    listener = socket.create_server(("127.0.0.1", 0))
    received: list[tuple[bytes, bool]] = []       # each literal, and whether "+" was sent

    def serve() -> None:
        connection, _ = listener.accept()
        buffer = bytearray()

        def take(size: int | None) -> bytes:
            while (len(buffer) < size) if size is not None else (b"\r\n" not in buffer):
                chunk = connection.recv(65536)
                if not chunk:
                    raise EOFError
                buffer.extend(chunk)
            end = size if size is not None else buffer.index(b"\r\n")
            taken = bytes(buffer[:end])
            del buffer[:end if size is not None else end + 2]
            return taken

        with connection:
            connection.sendall(b"* OK [CAPABILITY IMAP4rev2 LITERAL- MULTIAPPEND] hi\r\n")
            with contextlib.suppress(EOFError, OSError):
                while True:
                    line = take(None)
                    tag = line.split(b" ", 1)[0]
                    while literal := re.search(rb"\{(\d+)(\+?)\}$", line):
                        synchronizing = not literal.group(2)
                        if synchronizing:
                            connection.sendall(b"+ go ahead\r\n")
                        received.append((take(int(literal.group(1))), synchronizing))
                        line = take(None)
                    connection.sendall(tag + b" OK done\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    messages = [GeneratedMessage(i, b"Subject: m\r\n\r\n" + b"x" * size, flags, "date")
                for i, (size, flags) in enumerate([(100, "\\Seen"), (5000, ""), (10, "")])]
    client = ImapClient("127.0.0.1", listener.getsockname()[1], timeout=10)
    try:
        method, octets = append_messages(client, "INBOX", messages, batch=3, window=2,
                                         deadline=time.monotonic() + 10)
        assert (method, octets) == ("MULTIAPPEND", sum(len(m.content) for m in messages))
        # Pipelined single APPENDs, too: completions are matched to their commands.
        append_messages(client, "INBOX", messages, batch=1, window=2,
                        deadline=time.monotonic() + 10)
    finally:
        client.close()
        listener.close()
        thread.join(timeout=5)
    assert received == [(m.content, len(m.content) > 4096) for m in messages] * 2


def test_search_answers_are_counted_in_both_forms() -> None:
    assert search_hits(b"* SEARCH 2 5 9") == 3
    assert search_hits(b"* SEARCH") == 0
    assert search_hits(b'* ESEARCH (TAG "t3") UID ALL 1:3,7,10:11') == 6
    assert search_hits(b'* ESEARCH (TAG "t3") UID COUNT 4') == 4
    assert sequence_set_size(b"5:2") == 4
    assert status_items(b"* STATUS INBOX (MESSAGES 30 UNSEEN 4)") == {"MESSAGES": 30,
                                                                      "UNSEEN": 4}


def test_generated_messages_are_deterministic_and_place_the_markers() -> None:
    markers = Markers(200)
    factory = MessageFactory(markers, seed=7)
    assert factory.message(42).content == MessageFactory(markers, seed=7).message(42).content
    assert markers.expected() == {"subject_rare": 10, "body_rare": 10, "body_common": 67}
    common = [i for i in range(200) if BODY_COMMON.encode() in factory.message(i).content]
    assert common == [i for i in range(200) if i % 3 == 0]
    assert factory.flags(3) == factory.message(3).flags


@needs_dovecot
def test_both_workloads_run_against_dovecot_with_checked_numbers(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "imap.json"
    previous = signal.getsignal(signal.SIGTERM)
    try:
        status = imap_bench.main([
            "--servers", "dovecot", "--count", "200", "--repeat", "2", "--clients", "2",
            "--seconds", "2", "--warmup", "0.5", "--load-processes", "1",
            "--timeout", "30", "--json", str(output)])
    finally:
        signal.signal(signal.SIGTERM, previous)
    printed = capsys.readouterr().out
    assert status == 0, printed
    assert "README sdbox" in printed
    results = json.loads(output.read_text())

    big = results["big_mailbox"]["dovecot sdbox"]["big_mailbox"]
    assert big["problems"] == []
    assert big["fill"]["messages"] == 200 and big["fill"]["method"] == "MULTIAPPEND"
    assert big["fill"]["messages_per_second"] > 0
    for operation, milliseconds in big["median_ms"].items():
        assert 0 < milliseconds < 10_000, operation
        assert big["median_server_cpu_ms"][operation] >= 0
        assert [run["result"] for run in big["runs"][operation]] == \
            [big["expected"][operation]] * 2
    assert set(big["memory"]) == {"idle", "after_fill", "end"}
    assert big["memory"]["idle"]["rss_mib"] > 0

    mix = results["mix"]["2"]["dovecot sdbox"]["mix"]
    assert mix["errors"] == 0, mix["error_samples"]
    assert mix["loops_per_second"] > 1
    assert mix["server_cores"] > 0
    for name in ("login", "fetch_body", "append", "expunge"):
        stats = mix["operations"][name]
        assert stats["per_second"] > 1
        assert 0 < stats["p50_ms"] <= stats["p99_ms"]


def _rfcmail_missing() -> str:
    try:
        rfcmail_executable()
    except ProviderUnavailable as exc:
        return str(exc)
    return ""


@pytest.mark.skipif(bool(_rfcmail_missing()), reason=_rfcmail_missing())
def test_the_big_mailbox_workload_runs_against_rfcmail_with_exact_counts(
        capsys: pytest.CaptureFixture[str]) -> None:
    """The benchmark logs in to rfcmail with whole addresses, fills the mailbox and checks
    every result count (a wrong count makes the exit status 1)."""
    previous = signal.getsignal(signal.SIGTERM)
    try:
        assert imap_bench.main(["--servers", "rfcmail", "--workloads", "big", "--count",
                                "40", "--repeat", "1", "--clients", "1"]) == 0
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert "results: every count as expected" in capsys.readouterr().out
