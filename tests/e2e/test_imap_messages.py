"""IMAP message commands through a real socket byte by byte (``ImapWire``): ESEARCH
(RFC 4731) and SEARCHRES (RFC 5182), FETCH BINARY (RFC 3516), MULTIAPPEND (RFC 3502),
literals and their limits (RFC 9051 §4.3, RFC 7888, RFC 7889). Every test names the
requirement it checks (RFC, section, level)."""

from __future__ import annotations

import asyncio
import base64
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from reference.imap.commands import Append
from reference.imap.session_messages import MessageCommands
from reference.store import SqliteStore
from reference.store.interface import NewMessage
from tests.e2e.conftest import RunningServer, start_server
from tests.e2e.helpers import LogCapture
from tests.e2e.imap_wire import (
    ALICE,
    PASSWORD,
    Completion,
    ImapWire,
    append,
    connect,
    endpoint,
    literal_plus,
    message,
    status_values,
)

# The APPEND limits of the ``small`` server (ImapLimits minimums: 4096 octets).
APPEND_SIZE = 4096
APPEND_COMMAND_SIZE = 8192


@pytest.fixture
def alice(server: RunningServer) -> Iterator[ImapWire]:
    """An IMAP4rev1 client (nothing enabled), logged in as alice."""
    with connect(server) as connection:
        yield connection


@pytest.fixture
def alice2(server: RunningServer) -> Iterator[ImapWire]:
    """An IMAP4rev2 client: logged in as alice, ENABLE IMAP4rev2 done."""
    with connect(server, rev2=True) as connection:
        yield connection


@pytest.fixture
def small(tmp_path: Path, ca: trustme.CA, server_log: LogCapture) -> Iterator[RunningServer]:
    """A server whose APPEND accepts 4096 octets a message, 8192 a command."""
    running = start_server(tmp_path, ca, imap={"limits": {
        "append_size": APPEND_SIZE, "append_command_size": APPEND_COMMAND_SIZE,
        "literal_size": 4096}})
    yield running
    running.shutdown()


def fill(connection: ImapWire, mailbox: str, count: int, flagged: set[int]) -> None:
    if mailbox != "INBOX":
        assert connection.command(f"CREATE {mailbox}").status == b"OK"
    for n in range(1, count + 1):
        append(connection, mailbox, message(f"m{n}"), "\\Flagged" if n in flagged else "")


def esearch(done: Completion, tag: bytes) -> tuple[bool, dict[bytes, bytes]]:
    """The one ESEARCH response of a command: (UID indicator, {return item: data})."""
    (line,) = done.starting(b"* ESEARCH ")
    match = re.fullmatch(rb'\* ESEARCH \(TAG "([^"]+)"\)( UID)?((?: \S+ \S+)*)\r\n', line)
    assert match is not None, line
    assert match[1] == tag, line
    words = match[3].split()
    items = dict(zip(words[::2], words[1::2], strict=True))
    assert len(items) == len(words) // 2, line       # each return item once (§7.3.4)
    return match[2] is not None, items


def fetched_uids(done: Completion) -> list[int]:
    return [int(m[1]) for line in done.untagged
            if (m := re.match(rb"\* \d+ FETCH \(UID (\d+)", line))]


# --- SEARCH: ESEARCH (RFC 4731 / RFC 9051 §6.4.4), SEARCHRES (RFC 5182) ---------------


def test_esearch_result_options_after_enable_imap4rev2(alice2: ImapWire) -> None:
    """RFC 9051 §6.4.4 / RFC 4731 §3.1: RETURN (MIN MAX COUNT ALL) give the lowest,
    highest, number and set of matches in one ESEARCH (TAG ...) response; with no match
    MIN/MAX/ALL "MUST NOT" be included but the ESEARCH "still MUST" be sent and COUNT
    "MUST always be included"; UID SEARCH answers with the UID indicator (§7.3.4)."""
    fill(alice2, "INBOX", 5, flagged={2, 4, 5})
    alice2.command("SELECT INBOX")
    alice2.command("STORE 1 +FLAGS.SILENT (\\Deleted)")
    assert alice2.command("EXPUNGE").status == b"OK"        # UIDs 2..5 are now 1..4

    tag = alice2.tag()
    alice2.send(tag + b" SEARCH RETURN (MIN MAX COUNT ALL) FLAGGED\r\n")
    done = alice2.completion(tag)
    assert done.status == b"OK"
    assert esearch(done, tag) == (False, {b"MIN": b"1", b"MAX": b"4", b"COUNT": b"3",
                                          b"ALL": b"1,3:4"})
    tag = alice2.tag()
    alice2.send(tag + b" UID SEARCH RETURN (MIN MAX COUNT ALL) FLAGGED\r\n")
    assert esearch(alice2.completion(tag), tag) == (
        True, {b"MIN": b"2", b"MAX": b"5", b"COUNT": b"3", b"ALL": b"2,4:5"})
    tag = alice2.tag()
    alice2.send(tag + b" SEARCH RETURN (MIN MAX COUNT ALL) DRAFT\r\n")
    assert esearch(alice2.completion(tag), tag) == (False, {b"COUNT": b"0"})
    tag = alice2.tag()
    alice2.send(tag + b" SEARCH RETURN () FLAGGED\r\n")    # §6.4.4 "()": ALL is assumed
    assert esearch(alice2.completion(tag), tag) == (False, {b"ALL": b"1,3:4"})
    bad = alice2.command("SEARCH RETURN (FROB) ALL")       # §6.4.4 MUST: unknown option
    assert bad.status == b"BAD" and bad.untagged == []


def test_search_return_save_and_the_dollar_marker(alice: ImapWire) -> None:
    """RFC 5182 §2.1 (RFC 9051 §6.4.4.1): SAVE alone "suppresses any SEARCH response";
    "$" then names the saved messages in FETCH, STORE, SEARCH and UID COPY; a SEARCH
    that gets BAD "MUST NOT change the search result variable"; SELECT resets it to
    empty. §2.4: with MIN (and no ALL/COUNT) "$" holds only the MIN message."""
    fill(alice, "Saved", 5, flagged={2, 4})
    assert alice.command("SELECT Saved").status == b"OK"
    done = alice.command("FETCH $ (UID)")                   # nothing saved yet
    assert done.status == b"OK" and done.untagged == []

    done = alice.command("SEARCH RETURN (SAVE) FLAGGED")
    assert done.status == b"OK" and done.untagged == []
    assert fetched_uids(alice.command("FETCH $ (UID)")) == [2, 4]
    done = alice.command("STORE $ +FLAGS (\\Answered)")
    assert [line.split(b" FETCH")[0] for line in done.untagged] == [b"* 2", b"* 4"]
    assert alice.command("SEARCH $ ANSWERED").untagged == [b"* SEARCH 2 4\r\n"]
    assert alice.command("SEARCH $ NOT ANSWERED").untagged == [b"* SEARCH\r\n"]
    done = alice.command("UID COPY $ Archive")
    assert done.tagged.startswith(b"OK [COPYUID ") and b" 2,4 1:2]" in done.tagged, done

    assert alice.command("SEARCH RETURN (SAVE) FROB").status == b"BAD"
    assert fetched_uids(alice.command("FETCH $ (UID)")) == [2, 4]      # unchanged

    tag = alice.tag()
    alice.send(tag + b" SEARCH RETURN (SAVE MIN) FLAGGED\r\n")
    assert esearch(alice.completion(tag), tag) == (False, {b"MIN": b"2"})
    assert fetched_uids(alice.command("FETCH $ (UID)")) == [2]
    tag = alice.tag()
    alice.send(tag + b" SEARCH RETURN (SAVE COUNT) FLAGGED\r\n")
    assert esearch(alice.completion(tag), tag) == (False, {b"COUNT": b"2"})
    assert fetched_uids(alice.command("FETCH $ (UID)")) == [2, 4]
    # "When a message listed in the search result variable is EXPUNGEd, it is
    # automatically removed from the list" (UID 4 is message 3 after the EXPUNGE).
    assert alice.command("STORE 2 +FLAGS.SILENT (\\Deleted)").status == b"OK"
    assert alice.command("EXPUNGE").starting(b"* 2 EXPUNGE\r\n")
    assert alice.command("FETCH $ (UID)").untagged == [b"* 3 FETCH (UID 4)\r\n"]

    assert alice.command("SELECT Saved").status == b"OK"
    assert alice.command("FETCH $ (UID)").untagged == []


def test_a_search_with_save_that_fails_with_no_empties_the_saved_result(
        alice: ImapWire) -> None:
    """RFC 9051 §6.4.4.1 / RFC 5182 §2.1: "A SEARCH command with the SAVE result option
    that caused the server to return the NO tagged response sets the value of the search
    result variable to the empty sequence" (an unsupported CHARSET is such a NO, §6.4.4
    MUST "return a tagged NO response (not a BAD)")."""
    fill(alice, "Saved", 3, flagged={2})
    assert alice.command("SELECT Saved").status == b"OK"
    assert alice.command("SEARCH RETURN (SAVE) FLAGGED").status == b"OK"
    assert fetched_uids(alice.command("FETCH $ (UID)")) == [2]
    done = alice.command("SEARCH RETURN (SAVE) CHARSET KOI8-R ALL")
    assert done.tagged.startswith(b"NO [BADCHARSET"), done
    assert alice.command("FETCH $ (UID)").untagged == []


# --- FETCH BINARY (RFC 3516, RFC 9051 §6.4.5) -----------------------------------------

OCTETS = bytes(range(256)) * 2              # every octet value, NUL included
QP_ENCODED = b"caf=C3=A9 =3D soft=\r\nbreak\r\nline two"
QP_DECODED = "café = softbreak\r\nline two".encode()
MIME = (b"MIME-Version: 1.0\r\nSubject: binary\r\n"
        b'Content-Type: multipart/mixed; boundary="sep"\r\n\r\n'
        b"--sep\r\nContent-Type: application/octet-stream\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(OCTETS).replace(b"\n", b"\r\n")
        + b"--sep\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        + QP_ENCODED
        + b"\r\n--sep\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: x-rot13\r\n"
        b"\r\nuryyb\r\n--sep--\r\n")


def test_fetch_binary_decodes_base64_and_quoted_printable(alice: ImapWire) -> None:
    """RFC 3516 §4.2/§4.3 (RFC 9051 §6.4.5): BINARY[part] is the part's content "after
    removing any CTE-related encoding"; decoded data with NUL goes out as literal8
    (§9 "~{" number "}"); BINARY.SIZE "MUST match the size of the <nstring> or
    <literal8> that will be returned"; <origin.length> counts decoded octets;
    BINARY.PEEK leaves \\Seen alone, BINARY sets it (§6.4.5 "The \\Seen flag is
    implicitly set")."""
    append(alice, "INBOX", MIME)
    assert alice.command("SELECT INBOX").status == b"OK"
    done = alice.command("FETCH 1 (BINARY.SIZE[1] BINARY.SIZE[2])")
    assert done.untagged == [b"* 1 FETCH (BINARY.SIZE[1] %d BINARY.SIZE[2] %d)\r\n"
                             % (len(OCTETS), len(QP_DECODED))]
    done = alice.command("FETCH 1 (BINARY.PEEK[1])")
    assert done.untagged == [b"* 1 FETCH (BINARY[1] ~{%d}\r\n" % len(OCTETS) + OCTETS
                             + b")\r\n"]
    done = alice.command("FETCH 1 (BINARY.PEEK[1]<250.10>)")
    (line,) = done.untagged
    assert re.fullmatch(rb"\* 1 FETCH \(BINARY\[1\](<250>)? ~\{10\}\r\n(.{10})\)\r\n",
                        line, re.DOTALL), line
    assert line.endswith(OCTETS[250:260] + b")\r\n")
    assert alice.command("FETCH 1 (FLAGS)").untagged == [b"* 1 FETCH (FLAGS (\\Recent))\r\n"]

    done = alice.command("FETCH 1 (BINARY[2])")
    (line,) = done.untagged
    literal = b"{%d}\r\n" % len(QP_DECODED) + QP_DECODED
    assert line.startswith(b"* 1 FETCH (") and b"BINARY[2] " + literal in line, line
    assert b"\\Seen" in line                         # §6.4.5 SHOULD: the new flags
    assert alice.command("FETCH 1 (FLAGS)").untagged == [
        b"* 1 FETCH (FLAGS (\\Seen \\Recent))\r\n"]


def test_fetch_binary_sends_text_with_crlf_line_ends(alice: ImapWire) -> None:
    """RFC 9051 §7.5.2 MUST: "When sending data in a BINARY[...] FETCH data item,
    servers MUST ensure that textual line-oriented sections are always transmitted using
    the IMAP CRLF line termination syntax, regardless of the underlying storage
    representation" — a base64 text/plain part with bare LFs comes out with CRLF, and
    BINARY.SIZE counts those octets ("MUST match"); a non-text part is left as decoded."""
    lf_text = base64.b64encode(b"line one\nline two\n")
    for content_type in (b"text/plain; charset=utf-8", b"application/octet-stream"):
        append(alice, "INBOX", b"Subject: lf\r\nMIME-Version: 1.0\r\nContent-Type: "
               + content_type + b"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
               + lf_text + b"\r\n")
    assert alice.command("SELECT INBOX").status == b"OK"
    done = alice.command("FETCH 1:2 (BINARY.PEEK[1] BINARY.SIZE[1])")
    assert done.untagged == [
        b"* 1 FETCH (BINARY[1] {20}\r\nline one\r\nline two\r\n BINARY.SIZE[1] 20)\r\n",
        b"* 2 FETCH (BINARY[1] {18}\r\nline one\nline two\n BINARY.SIZE[1] 18)\r\n"]


def test_fetch_binary_of_an_unknown_encoding_is_no_unknown_cte(alice: ImapWire) -> None:
    """RFC 3516 §4.3 MUST (RFC 9051 §7.1 UNKNOWN-CTE): "If the server does not know how
    to decode the section's CTE, it MUST fail the request and issue a "NO" response that
    contains the "UNKNOWN-CTE" extended response code" — BINARY and BINARY.SIZE alike;
    BODY[3] (no decoding) still works."""
    append(alice, "INBOX", MIME)
    assert alice.command("SELECT INBOX").status == b"OK"
    for item in ("BINARY.PEEK[3]", "BINARY.SIZE[3]", "BINARY[3]"):
        done = alice.command(f"FETCH 1 ({item})")
        assert done.tagged.startswith(b"NO [UNKNOWN-CTE] "), (item, done)
    done = alice.command("FETCH 1 (BODY.PEEK[3])")
    assert done.untagged == [b'* 1 FETCH (BODY[3] "uryyb")\r\n']


def test_a_failed_binary_fetch_does_not_set_seen(alice: ImapWire) -> None:
    """RFC 3516 §4.3 MUST: the server "MUST fail the request" it cannot decode; RFC 9051
    §7.1.2: a tagged NO "indicates unsuccessful completion of the associated command",
    so the implicit \\Seen of §6.4.5 (which goes with returning the content) must not
    be left behind by it."""
    append(alice, "INBOX", MIME)
    assert alice.command("SELECT INBOX").status == b"OK"
    assert alice.command("FETCH 1 (BINARY[3])").tagged.startswith(b"NO [UNKNOWN-CTE] ")
    assert alice.command("FETCH 1 (FLAGS)").untagged == [b"* 1 FETCH (FLAGS (\\Recent))\r\n"]


# --- APPEND: MULTIAPPEND (RFC 3502), literals (RFC 9051 §4.3, RFC 7888, RFC 7889) -----


def test_multiappend_stores_every_message_with_one_appenduid_set(alice2: ImapWire) -> None:
    """RFC 3502 §3: one APPEND with several messages, each with its own flags and date;
    RFC 4315 §3 APPENDUID "<uid-set>" (RFC 9051 §7.1 APPENDUID) names them all, in
    order; the messages are stored byte for byte."""
    assert alice2.command("CREATE Multi").status == b"OK"
    first, second, third = message("one"), message("two", "x" * 3000), message("three")
    done = alice2.command(b"APPEND Multi (\\Seen) \"05-Mar-2024 10:11:12 +0100\" "
                         + literal_plus(first) + b" (\\Flagged $Work) " + literal_plus(second)
                         + b" " + literal_plus(third))
    match = re.fullmatch(rb"OK \[APPENDUID (\d+) 1:3\] .*", done.tagged)
    assert match is not None, done
    validity = status_values(alice2, "Multi", "UIDVALIDITY MESSAGES")
    assert validity == {b"UIDVALIDITY": int(match[1]), b"MESSAGES": 3}
    assert alice2.command("EXAMINE Multi").status == b"OK"
    done = alice2.command("FETCH 1:3 (BODY.PEEK[])")
    assert done.untagged == [b"* %d FETCH (BODY[] {%d}\r\n%s)\r\n" % (n, len(data), data)
                             for n, data in enumerate((first, second, third), 1)]
    done = alice2.command("FETCH 1:3 (FLAGS)")
    flags = []
    for line in done.untagged:
        listed = re.fullmatch(rb"\* \d FETCH \(FLAGS \(([^)]*)\)\)\r\n", line)
        assert listed is not None, line
        flags.append(set(listed[1].lower().split()))
    # Flags and keywords compare case-insensitively (RFC 9051 §9 "Unless otherwise noted,
    # all alphabetic characters are case insensitive").
    assert flags == [{b"\\seen"}, {b"\\flagged", b"$work"}, set()], done
    done = alice2.command("FETCH 1 (INTERNALDATE)")
    # RFC 9051 §9: date-day-fixed = (SP DIGIT) / 2DIGIT
    assert done.untagged in ([b'* 1 FETCH (INTERNALDATE "05-Mar-2024 10:11:12 +0100")\r\n'],
                             [b'* 1 FETCH (INTERNALDATE " 5-Mar-2024 10:11:12 +0100")\r\n'])


def test_pipelined_appends_are_executed_and_answered_in_the_order_sent(
        alice2: ImapWire) -> None:
    """RFC 9051 §5.5: the server reads the next command while an APPEND is stored (and
    parses its messages), but executes and answers commands in the order sent: UIDs
    ascend with the commands, a pipelined bad line gets its BAD after the APPEND before
    it, the synchronizing literal of a command read ahead still gets its "+", and a
    cancelled (zero-length) APPEND read ahead stores nothing (RFC 3502)."""
    assert alice2.command("CREATE Piped").status == b"OK"
    assert alice2.command("SELECT Piped").status == b"OK"
    batches = [[message(f"batch {batch} message {n}", "x" * (200 * n)) for n in range(1, 6)]
               for batch in range(3)]
    wire = b""
    for number, batch in enumerate(batches, 1):
        wire += b"p%d APPEND Piped" % number + b"".join(
            b" " + literal_plus(data) for data in batch) + b"\r\n"
    wire += b"garbage\r\n"
    wire += b"p4 APPEND Piped " + literal_plus(message("after the error")) + b"\r\n"
    wire += b"p5 APPEND Piped " + literal_plus(b"") + b"\r\n"
    wire += b"p6 NOOP\r\n"
    alice2.send(wire)
    answers = []
    while len(answers) < 7:
        response = alice2.response()
        if not response.startswith(b"* ") or response.startswith(b"* BAD"):
            answers.append(response)
    assert [answer.split(b" ", 2)[:2] for answer in answers] == [
        [b"p1", b"OK"], [b"p2", b"OK"], [b"p3", b"OK"], [b"*", b"BAD"], [b"p4", b"OK"],
        [b"p5", b"NO"], [b"p6", b"OK"]]
    uid_sets = [re.search(rb"\[APPENDUID \d+ ([0-9:]+)\]", answer)
                for answer in answers[:3] + answers[4:5]]
    assert [found[1] if found else None for found in uid_sets] == [
        b"1:5", b"6:10", b"11:15", b"16"]
    # A synchronizing literal read ahead: its "+" may come before the APPEND's answer.
    alice2.send(b"s1 APPEND Piped " + literal_plus(message("sync one")) + b"\r\n"
                + b"s2 APPEND Piped {%d}\r\n" % len(message("sync two")))
    responses: list[bytes] = []
    while len(responses) < 2:
        response = alice2.response()
        if not response.startswith(b"* "):
            responses.append(response)
    assert sorted(response[:2] for response in responses) == [b"+ ", b"s1"], responses
    alice2.send(message("sync two") + b"\r\n")
    assert re.match(rb"OK \[APPENDUID \d+ 18\]", alice2.completion(b"s2").tagged)
    done = alice2.command("FETCH 1:* (BODY.PEEK[])")
    stored = [re.search(rb"\{\d+\}\r\n(.*)\)\r\n\Z", line, re.S)[1]  # type: ignore[index]
              for line in done.starting(b"* ")  if b" FETCH " in line]
    assert stored == [data for batch in batches for data in batch] + [
        message("after the error"), message("sync one"), message("sync two")]


def test_an_append_arriving_while_one_is_stored_is_parsed_meanwhile(
        alice2: ImapWire, monkeypatch: pytest.MonkeyPatch) -> None:
    """RFC 9051 §5.5 pipelining: an APPEND whose bytes arrive after the one before it has
    begun to be stored (a MULTIAPPEND of hundreds of messages is still on its way) is
    read and its messages parsed while that one is stored, not after it; the two are
    still executed and answered in the order sent."""
    assert alice2.command("CREATE Later").status == b"OK"
    events: list[str] = []
    storing = threading.Event()        # the server runs in a thread of this process
    store_messages = SqliteStore.store_messages
    prepare_append = MessageCommands.prepare_append

    async def slow_store(store: SqliteStore, messages: list[NewMessage]) -> object:
        events.append("store begins")
        storing.set()
        await asyncio.sleep(1.0)        # long enough for the second command to arrive
        result = await store_messages(store, messages)
        events.append("store ends")
        return result

    async def recorded(session: MessageCommands, command: Append) -> None:
        events.append(f"{command.tag} parsed ahead")
        await prepare_append(session, command)

    monkeypatch.setattr(SqliteStore, "store_messages", slow_store)
    monkeypatch.setattr(MessageCommands, "prepare_append", recorded)
    alice2.send(b"q1 APPEND Later " + literal_plus(message("first")) + b"\r\n")
    assert storing.wait(10)             # q1 is being stored when q2 starts to arrive
    second = literal_plus(message("second", "x" * 5000))
    alice2.send(b"q2 APPEND Later " + second[:100])
    time.sleep(0.2)
    alice2.send(second[100:] + b"\r\n")
    assert re.match(rb"OK \[APPENDUID \d+ 1\]", alice2.completion(b"q1").tagged)
    assert re.match(rb"OK \[APPENDUID \d+ 2\]", alice2.completion(b"q2").tagged)
    assert events == ["store begins", "q2 parsed ahead", "store ends", "store begins",
                      "store ends"]


def test_multiappend_with_a_bad_date_stores_nothing(alice: ImapWire) -> None:
    """RFC 3502 §6.3.11 MUST: "If the append is unsuccessful for any reason (including
    being cancelled), the mailbox MUST be restored to its state before the APPEND
    attempt; no partial appending is permitted." A date-time that is not valid (RFC 9051
    §9 date-time) is a BAD, and the first, well-formed message is not stored either."""
    assert alice.command("CREATE Atomic").status == b"OK"
    for date in ('"31-Foo-2024 10:00:00 +0000"', '"99-Jan-2024 10:00:00 +0000"'):
        done = alice.command(b"APPEND Atomic " + literal_plus(message("kept?"))
                             + b" " + date.encode() + b" " + literal_plus(message("bad date")))
        assert done.status == b"BAD", (date, done)
    assert status_values(alice, "Atomic", "MESSAGES UIDNEXT") == {
        b"MESSAGES": 0, b"UIDNEXT": 1}
    assert alice.command("NOOP").status == b"OK"


def test_a_zero_length_message_cancels_the_whole_append(alice: ImapWire) -> None:
    """RFC 3502 §6.3.11 MUST: "A zero-length message literal argument is an error, and
    MUST return a NO. This can be used to cancel the append." and "If the append is
    unsuccessful for any reason (including being cancelled), the mailbox MUST be restored
    to its state before the APPEND attempt" — with a synchronizing {0} after a first
    message (the server may refuse it at once or after the "+") and with {0+}."""
    assert alice.command("CREATE Cancel").status == b"OK"
    first = message("first")
    tag = alice.tag()
    alice.send(tag + b" APPEND Cancel {%d}\r\n" % len(first))
    alice.continuation()
    alice.send(first + b" {0}\r\n")
    answer = alice.response()
    if answer.startswith(b"+"):
        alice.send(b"\r\n")
        done = alice.completion(tag)
    else:
        assert answer.startswith(tag + b" "), answer
        done = Completion([], answer[len(tag) + 1:-2])
    assert done.status == b"NO", done
    done = alice.command(b"APPEND Cancel " + literal_plus(first) + b" " + literal_plus(b""))
    assert done.status == b"NO", done
    assert status_values(alice, "Cancel", "MESSAGES UIDNEXT") == {
        b"MESSAGES": 0, b"UIDNEXT": 1}


def test_multiappend_over_the_command_limit_stores_nothing(small: RunningServer) -> None:
    """RFC 3502 §6.3.11 MUST ("no partial appending is permitted"; "The server MAY
    return an error before processing all the message arguments") with synchronizing
    literals: the third message would take the command past its limit, so the server
    refuses that literal instead of sending "+", with TOOBIG (RFC 7889 §4 SHALL: "reject
    the APPEND command with a tagged TOOBIG response code"); the two it has read are not
    stored."""
    piece = message("part", "y" * 3000)
    with connect(small) as alice:
        assert alice.command("CREATE Atomic").status == b"OK"
        tag = alice.tag()
        alice.send(tag + b" APPEND Atomic {%d}\r\n" % len(piece))
        alice.continuation()
        alice.send(piece + b" {%d}\r\n" % len(piece))
        alice.continuation()
        alice.send(piece + b" {%d}\r\n" % len(piece))
        done = alice.completion(tag)                       # no "+" for the third
        assert done.status in (b"NO", b"BAD") and b"[TOOBIG]" in done.tagged, done
        assert status_values(alice, "Atomic", "MESSAGES")[b"MESSAGES"] == 0
        assert alice.command("NOOP").status == b"OK"


def test_a_synchronizing_literal_over_the_limit_is_refused_before_it_is_read(
        small: RunningServer) -> None:
    """RFC 9051 §7.5 / §4.3: the server answers a synchronizing literal it will not take
    with a tagged response instead of "+", so the client never sends it; RFC 7889 §4
    SHALL: an APPEND over APPENDLIMIT is rejected "with a tagged TOOBIG response code".
    The connection stays usable (the octets were never sent)."""
    with connect(small) as alice:
        assert f"APPENDLIMIT={APPEND_SIZE}".encode() in \
            alice.command("CAPABILITY").untagged[0]
        tag = alice.tag()
        alice.send(tag + b" APPEND INBOX {%d}\r\n" % (APPEND_SIZE + 1))
        done = alice.completion(tag)
        assert done.status in (b"NO", b"BAD") and b"[TOOBIG]" in done.tagged, done
        tag = alice.tag()
        alice.send(tag + b" SELECT {5000}\r\n")             # over literal_size
        done = alice.completion(tag)
        assert done.status in (b"NO", b"BAD") and done.untagged == [], done
        assert alice.command("NOOP").status == b"OK"
        fits = message("fits", "z" * (APPEND_SIZE - 100))
        tag = alice.tag()
        alice.send(tag + b" APPEND INBOX {%d}\r\n" % len(fits))
        alice.continuation()
        alice.send(fits + b"\r\n")
        assert alice.completion(tag).tagged.startswith(b"OK [APPENDUID ")
        assert status_values(alice, "INBOX", "MESSAGES")[b"MESSAGES"] == 1


def test_a_non_synchronizing_literal_over_the_limit_is_read_and_refused(
        small: RunningServer) -> None:
    """RFC 7888 §4: for a non-synchronizing literal too big to accept the server may
    "Read the number of bytes specified ... and reject the command" (choice 1), its
    octets never being taken as commands; RFC 7889 §4 SHALL: "TOOBIG" for APPEND. The
    session goes on and nothing is stored."""
    with connect(small) as alice:
        big = b"Subject: big\r\n\r\n" + b"a1 LOGOUT\r\n" * 500
        assert len(big) > APPEND_SIZE
        done = alice.command(b"APPEND INBOX " + literal_plus(big))
        assert done.status in (b"NO", b"BAD") and b"[TOOBIG]" in done.tagged, done
        assert alice.command("NOOP").status == b"OK"
        assert status_values(alice, "INBOX", "MESSAGES")[b"MESSAGES"] == 0


def test_literal_plus_non_synchronizing_literals_anywhere(server: RunningServer) -> None:
    """RFC 7888 §3 (LITERAL+) / RFC 9051 §4.3: the non-synchronizing literal "may be used
    from client to server anywhere a synchronizing literal is permitted", and "The server
    does not generate a command continuation request in response to a non-synchronizing
    literal": LOGIN (RFC 7888's own example shape), APPEND and SELECT get no "+"."""
    with ImapWire(endpoint(server)) as wire:
        assert b"LITERAL+" in wire.greeting
        done = wire.command(b"LOGIN " + literal_plus(ALICE.encode()) + b" "
                            + literal_plus(PASSWORD.encode()))
        assert done.status == b"OK" and done.untagged == [], done
        body = message("plus", "with {3+}\r\nnot a literal")
        done = wire.command(b"APPEND " + literal_plus(b"INBOX") + b" " + literal_plus(body))
        assert done.tagged.startswith(b"OK [APPENDUID ") and done.untagged == [], done
        done = wire.command(b"SELECT " + literal_plus(b"INBOX"))
        assert done.status == b"OK" and b"* 1 EXISTS\r\n" in done.untagged
        done = wire.command("FETCH 1 (BODY.PEEK[])")
        assert done.untagged == [b"* 1 FETCH (BODY[] {%d}\r\n%s)\r\n" % (len(body), body)]
