"""IMAP4rev1 vs IMAP4rev2 clients (RFC 9051 Appendix E) and leaving the selected state
(CLOSE / UNSELECT, RFC 3691; EXAMINE read-only), through a real socket byte by byte
(``ImapWire``). Every test names the requirement it checks (RFC, section, level)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.conftest import RunningServer
from tests.e2e.imap_wire import ImapWire, append, connect, message, status_values


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


def fill(connection: ImapWire, mailbox: str, count: int, flagged: set[int]) -> None:
    if mailbox != "INBOX":
        assert connection.command(f"CREATE {mailbox}").status == b"OK"
    for n in range(1, count + 1):
        append(connection, mailbox, message(f"m{n}"), "\\Flagged" if n in flagged else "")


# --- CLOSE / UNSELECT (RFC 3691, RFC 9051 §6.4.1-6.4.2), EXAMINE (§6.3.3) -------------


def test_close_expunges_silently_and_unselect_does_not_expunge(alice: ImapWire) -> None:
    """RFC 9051 §6.4.1: CLOSE "permanently removes all messages that have the \\Deleted
    flag set ... No untagged EXPUNGE responses are sent"; RFC 3691 §2 (RFC 9051 §6.4.2):
    UNSELECT "performs the same actions as CLOSE, except that no messages are permanently
    removed from the currently selected mailbox". Both return to the authenticated state
    (the RFCs state these rules without an RFC 2119 keyword)."""
    fill(alice, "Box", 3, flagged=set())
    assert alice.command("SELECT Box").status == b"OK"
    assert alice.command("STORE 1,3 +FLAGS.SILENT (\\Deleted)").status == b"OK"
    done = alice.command("UNSELECT")
    assert done.status == b"OK" and done.untagged == []
    assert status_values(alice, "Box", "MESSAGES DELETED") == {b"MESSAGES": 3, b"DELETED": 2}
    assert alice.command("FETCH 1 (FLAGS)").status == b"BAD"        # not selected

    assert alice.command("SELECT Box").status == b"OK"
    done = alice.command("CLOSE")
    assert done.status == b"OK" and done.untagged == [], done
    assert status_values(alice, "Box", "MESSAGES DELETED") == {b"MESSAGES": 1, b"DELETED": 0}
    assert alice.command("FETCH 1 (FLAGS)").status == b"BAD"
    assert alice.command("SELECT Box").status == b"OK"
    done = alice.command("FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert b"Subject: m2\r\n" in done.untagged[0]


def test_examine_is_read_only(alice: ImapWire) -> None:
    """RFC 9051 §6.3.3: EXAMINE selects "read-only. No changes to the permanent state of
    the mailbox, including per-user state, are permitted": the tagged OK carries
    [READ-ONLY], STORE and EXPUNGE are refused (NO), FETCH BODY[] does not set \\Seen,
    and §6.4.1: CLOSE removes nothing "if the mailbox is selected by an EXAMINE
    command"."""
    fill(alice, "Look", 2, flagged=set())
    assert alice.command("SELECT Look").status == b"OK"
    assert alice.command("STORE 1 +FLAGS.SILENT (\\Deleted)").status == b"OK"
    done = alice.command("EXAMINE Look")
    assert done.tagged.startswith(b"OK [READ-ONLY] "), done
    assert b"* OK [PERMANENTFLAGS ()] Flags permitted\r\n" in done.untagged
    done = alice.command("STORE 2 +FLAGS (\\Flagged)")
    assert done.tagged.startswith(b"NO [READ-ONLY] ") and done.untagged == [], done
    assert alice.command("EXPUNGE").status == b"NO"
    done = alice.command("FETCH 2 (BODY[TEXT])")
    assert done.untagged == [b"* 2 FETCH (BODY[TEXT] {6}\r\nbody\r\n)\r\n"]
    assert alice.command("CLOSE").status == b"OK"
    assert status_values(alice, "Look", "MESSAGES DELETED UNSEEN") == {
        b"MESSAGES": 2, b"DELETED": 1, b"UNSEEN": 2}


# --- IMAP4rev1 vs IMAP4rev2 (RFC 9051 Appendix E) -------------------------------------


def test_search_answers_search_to_rev1_and_esearch_to_rev2(
        alice: ImapWire, alice2: ImapWire) -> None:
    """RFC 9051 Appendix E item 4: "SEARCH command now requires to return the ESEARCH
    response" (after ENABLE IMAP4rev2, §6.3.1), while an IMAP4rev1 client gets the
    untagged SEARCH response of RFC 3501 §7.2.5 — also when nothing matches."""
    fill(alice, "INBOX", 3, flagged={1, 3})
    for connection in (alice, alice2):
        assert connection.command("SELECT INBOX").status == b"OK"
    assert alice.command("SEARCH FLAGGED").untagged == [b"* SEARCH 1 3\r\n"]
    assert alice.command("SEARCH DRAFT").untagged == [b"* SEARCH\r\n"]
    assert alice.command("UID SEARCH ALL").untagged == [b"* SEARCH 1 2 3\r\n"]
    tag = alice2.tag()
    alice2.send(tag + b" SEARCH FLAGGED\r\n")
    assert alice2.completion(tag).untagged == [b'* ESEARCH (TAG "' + tag + b'") ALL 1,3\r\n']
    tag = alice2.tag()
    alice2.send(tag + b" SEARCH DRAFT\r\n")
    assert alice2.completion(tag).untagged == [b'* ESEARCH (TAG "' + tag + b'")\r\n']
    tag = alice2.tag()
    alice2.send(tag + b" UID SEARCH ALL\r\n")
    assert alice2.completion(tag).untagged == [
        b'* ESEARCH (TAG "' + tag + b'") UID ALL 1:3\r\n']


def test_recent_is_for_imap4rev1_clients_only(server: RunningServer) -> None:
    """RFC 9051 Appendix E item 12: the RECENT response and \\Recent are deprecated, so
    an IMAP4rev2 client sees neither; an IMAP4rev1 client does (RFC 3501 §7.3.2 RECENT,
    §2.3.2 \\Recent: "This session is the first session to have been notified about this
    message; if the session is read-write, subsequent sessions will not see \\Recent").
    A rev2 SELECT "MUST" include a LIST response (§6.3.2, Appendix E item 10), and
    unsolicited FETCH updates "are required to include UID" (Appendix E item 21)."""
    with connect(server) as writer:
        append(writer, "INBOX", message("new"))
    with connect(server, rev2=True) as rev2, connect(server) as rev1, \
            connect(server) as later:
        done = rev2.command("SELECT INBOX")
        assert not [line for line in done.untagged if b"RECENT" in line], done
        assert b'* LIST (\\HasNoChildren) "/" INBOX\r\n' in done.untagged
        assert rev2.command("FETCH 1 (FLAGS)").untagged == [b"* 1 FETCH (FLAGS ())\r\n"]
        done = rev1.command("SELECT INBOX")
        assert b"* 1 RECENT\r\n" in done.untagged
        assert not [line for line in done.untagged if line.startswith(b"* LIST ")]
        assert rev1.command("FETCH 1 (FLAGS)").untagged == [
            b"* 1 FETCH (FLAGS (\\Recent))\r\n"]
        assert b"* 0 RECENT\r\n" in later.command("SELECT INBOX").untagged
        # A new message while selected: RECENT goes with EXISTS to rev1 only.
        append(rev2, "INBOX", message("newer"))
        assert rev1.command("NOOP").untagged == [b"* 2 EXISTS\r\n", b"* 2 RECENT\r\n"]
        assert rev1.command("FETCH 2 (FLAGS)").untagged == [
            b"* 2 FETCH (FLAGS (\\Recent))\r\n"]
        assert rev2.command("FETCH 2 (FLAGS)").untagged == [b"* 2 FETCH (FLAGS ())\r\n"]
        assert rev1.command("STORE 2 +FLAGS.SILENT (\\Flagged)").status == b"OK"
        assert rev2.command("NOOP").untagged == [
            b"* 2 FETCH (UID 2 FLAGS (\\Flagged))\r\n"]


def test_rfc822_fetch_items_work_for_imap4rev1_clients(alice: ImapWire) -> None:
    """RFC 3501 §6.4.5 (RFC 9051 Appendix E item 18 deprecates them for rev2 clients):
    RFC822.HEADER is BODY.PEEK[HEADER], RFC822.TEXT is BODY[TEXT] (sets \\Seen), RFC822
    is BODY[] and RFC822.SIZE its size; the answers carry the same names (§7.4.2)."""
    raw = b"From: a@example.test\r\nSubject: old style\r\n\r\nline one\r\nline two\r\n"
    header, text = raw.split(b"\r\n\r\n", 1)
    header += b"\r\n\r\n"
    append(alice, "INBOX", raw)
    assert alice.command("SELECT INBOX").status == b"OK"
    done = alice.command("FETCH 1 (RFC822.HEADER RFC822.SIZE)")
    assert done.untagged == [b"* 1 FETCH (RFC822.HEADER {%d}\r\n%s RFC822.SIZE %d)\r\n"
                             % (len(header), header, len(raw))]
    assert b"\\Seen" not in alice.command("FETCH 1 (FLAGS)").untagged[0]
    done = alice.command("FETCH 1 (RFC822.TEXT)")
    (line,) = done.untagged
    assert b"RFC822.TEXT {%d}\r\n%s" % (len(text), text) in line and b"\\Seen" in line, line
    done = alice.command("FETCH 1 (RFC822)")
    assert done.untagged == [b"* 1 FETCH (RFC822 {%d}\r\n%s)\r\n" % (len(raw), raw)]
