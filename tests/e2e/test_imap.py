"""The IMAP server through real sockets, with Python's imaplib and IMAPClient: every
test names the requirement it checks (RFC, section, level)."""

from __future__ import annotations

import imaplib
import smtplib
import time

import pytest
from imapclient import IMAPClient

from tests.e2e.conftest import PASSWORDS, RunningServer

ALICE = "alice@example.test"
PASSWORD = PASSWORDS[ALICE]


def imap_endpoint(server: RunningServer, name: str = "imap") -> tuple[str, int]:
    return server.endpoints[name].host, server.endpoints[name].port


def login(server: RunningServer) -> imaplib.IMAP4:
    client = imaplib.IMAP4(*imap_endpoint(server))
    client.login(ALICE, PASSWORD)
    return client


def deliver(server: RunningServer, subject: str, body: str = "hello") -> None:
    with smtplib.SMTP(*server.smtp) as smtp:
        smtp.sendmail("sender@elsewhere.test", [ALICE],
                      f"From: sender@elsewhere.test\r\nTo: {ALICE}\r\nSubject: {subject}\r\n"
                      f"Message-ID: <{subject.replace(' ', '.')}@elsewhere.test>\r\n\r\n"
                      f"{body}\r\n".encode())


def test_mail_delivered_by_smtp_appears_in_inbox(server: RunningServer) -> None:
    """Issue 3: "mail delivered by SMTP appears in INBOX"; RFC 9051 §6.3.2 SELECT MUST
    send FLAGS, EXISTS, UIDVALIDITY, UIDNEXT; §6.4.5 BODY.PEEK[] is the message."""
    deliver(server, "first", "a body with zebra inside")
    client = login(server)
    try:
        typ, data = client.select("INBOX")
        assert typ == "OK" and data == [b"1"]
        assert client.untagged_responses["UIDVALIDITY"]
        assert client.untagged_responses["UIDNEXT"] == [b"2"]
        typ, fetched = client.fetch("1", "(UID RFC822.SIZE BODY.PEEK[])")
        assert typ == "OK"
        head, raw = fetched[0]
        assert b"UID 1" in head
        assert raw.endswith(b"a body with zebra inside\r\n")
        assert f"RFC822.SIZE {len(raw)}".encode() in head
        # SEARCH BODY (RFC 9051 §6.4.4): a substring of the body.
        assert client.search(None, "BODY", "zebra") == ("OK", [b"1"])
        assert client.search(None, "BODY", "giraffe") == ("OK", [b""])
    finally:
        client.logout()


def test_store_copy_expunge_and_uidplus(server: RunningServer) -> None:
    """RFC 9051 §6.4.6 STORE answers with FETCH FLAGS; RFC 4315 §3 APPENDUID/COPYUID;
    §6.4.3 EXPUNGE sends EXPUNGE responses and the UIDs are never reused (§2.3.1.1)."""
    client = login(server)
    try:
        typ, data = client.append("INBOX", "(\\Seen)", None, b"Subject: one\r\n\r\n1\r\n")
        assert typ == "OK" and b"[APPENDUID " in data[0]
        client.append("INBOX", None, None, b"Subject: two\r\n\r\n2\r\n")
        client.select("INBOX")
        typ, data = client.store("1", "+FLAGS", "(\\Deleted $Label)")
        assert typ == "OK"
        # A keyword keeps the spelling it was first used with in the account.
        assert b"\\Deleted" in data[0] and b"$Label" in data[0]
        typ, data = client.copy("1:2", "Archive")
        assert typ == "OK" and b"[COPYUID " in data[0]
        typ, data = client.expunge()
        assert typ == "OK" and data == [b"1"]
        client.append("INBOX", None, None, b"Subject: three\r\n\r\n3\r\n")
        typ, data = client.uid("SEARCH", "ALL")
        assert data == [b"2 3"]                   # UID 1 is not reused
        assert client.status("Archive", "(MESSAGES)")[1] == [b'Archive (MESSAGES 2)']
    finally:
        client.logout()


def flags_of(fetched: bytes | tuple[bytes, bytes] | None) -> set[bytes]:
    """The flags in one FETCH response, without \\Recent (a session flag, RFC 3501
    §2.3.2, which this session may or may not see)."""
    assert isinstance(fetched, bytes), fetched
    return set(imaplib.ParseFlags(fetched)) - {b"\\Recent"}


def test_keywords_keep_their_spelling_and_compare_case_insensitively(
        server: RunningServer) -> None:
    """RFC 9051 §6.4.6 STORE answers with FETCH FLAGS, in the spelling the account first
    used for a keyword (what clients such as Thunderbird "$Label1" look for); keywords
    are case-insensitive (RFC 8621 §4.1.1: "a keyword is a case-insensitive string";
    RFC 9051 §9: "all alphabetic characters are case insensitive"), so -FLAGS in
    another case removes it and §6.4.4 SEARCH KEYWORD in another case finds it."""
    client = login(server)
    try:
        for subject in ("one", "two"):
            client.append("INBOX", None, None, f"Subject: {subject}\r\n\r\nx\r\n".encode())
        client.select("INBOX")
        typ, data = client.store("1", "+FLAGS", "($Label)")
        assert typ == "OK" and flags_of(data[0]) == {b"$Label"}
        typ, data = client.store("2", "+FLAGS", "($LABEL \\SEEN)")
        assert typ == "OK" and flags_of(data[0]) == {b"\\Seen", b"$Label"}
        assert client.search(None, "KEYWORD", "$label") == ("OK", [b"1 2"])
        assert client.search(None, "UNKEYWORD", "$LABEL") == ("OK", [b""])
        typ, data = client.store("1", "-FLAGS", "($LABEL)")
        assert typ == "OK" and flags_of(data[0]) == set()
        assert client.search(None, "KEYWORD", "$label") == ("OK", [b"2"])
        typ, data = client.fetch("2", "(FLAGS)")
        assert typ == "OK" and flags_of(data[0]) == {b"\\Seen", b"$Label"}
    finally:
        client.logout()


def test_imapclient_sees_folders_and_special_use(server: RunningServer) -> None:
    """Issue 3: special-use mailboxes exist for each new account (RFC 6154 §2); CREATE
    makes superiors (RFC 9051 §6.3.4 SHOULD); RENAME keeps inferiors (§6.3.6); MOVE
    (RFC 6851) with IMAPClient."""
    with IMAPClient(*imap_endpoint(server), ssl=False) as client:
        client.login(ALICE, PASSWORD)
        folders = {name: flags for flags, _, name in client.list_folders()}
        assert b"\\Sent" in folders["Sent"] and b"\\Trash" in folders["Trash"]
        assert client.find_special_folder(b"\\Drafts") == "Drafts"
        client.create_folder("Projects/2026/Q4")
        client.rename_folder("Projects", "Work")
        names = {name for _, _, name in client.list_folders("", "Work*")}
        assert names == {"Work", "Work/2026", "Work/2026/Q4"}
        client.append("Work/2026/Q4", b"Subject: plan\r\n\r\nplan\r\n")
        client.select_folder("Work/2026/Q4")
        client.move([1], "Archive")
        assert client.search() == []
        assert client.folder_status("Archive", ["MESSAGES"])[b"MESSAGES"] == 1


def test_two_sessions_and_idle(server: RunningServer) -> None:
    """RFC 2177 / RFC 9051 §6.3.13: an IDLE session is told of a delivery (EXISTS) and of
    another session's flag change (FETCH) and expunge (EXPUNGE) while idling."""
    watcher = IMAPClient(*imap_endpoint(server), ssl=False, timeout=10)
    other = IMAPClient(*imap_endpoint(server), ssl=False, timeout=10)
    try:
        watcher.login(ALICE, PASSWORD)
        other.login(ALICE, PASSWORD)
        other.append("INBOX", b"Subject: base\r\n\r\nbase\r\n")
        watcher.select_folder("INBOX")
        other.select_folder("INBOX")
        watcher.idle()
        deliver(server, "while idling")
        responses = watcher.idle_check(timeout=5)
        assert (2, b"EXISTS") in responses
        other.add_flags([1], [b"\\Flagged"])
        responses = watcher.idle_check(timeout=5)
        fetches = [dict(zip(r[2][::2], r[2][1::2], strict=True)) for r in responses
                   if len(r) > 2 and r[1] == b"FETCH"]
        assert any(b"\\Flagged" in fetch[b"FLAGS"] for fetch in fetches), responses
        other.delete_messages([1])
        other.expunge()
        # The \\Deleted FETCH and the EXPUNGE may come in separate wakes.
        responses = []
        deadline = time.monotonic() + 5
        while (1, b"EXPUNGE") not in responses and time.monotonic() < deadline:
            responses += watcher.idle_check(timeout=max(0.1, deadline - time.monotonic()))
        assert (1, b"EXPUNGE") in responses, responses
        watcher.idle_done()
        assert watcher.search() == [2]                # IMAPClient searches UIDs
    finally:
        watcher.logout()
        other.logout()


def test_no_expunge_during_fetch(server: RunningServer) -> None:
    """RFC 9051 §7.5.1 MUST NOT: no EXPUNGE "while responding to a FETCH, STORE, or
    SEARCH command"; the expunge is told at the next NOOP."""
    first = login(server)
    second = login(server)
    try:
        for n in range(3):
            first.append("INBOX", None, None, f"Subject: {n}\r\n\r\n{n}\r\n".encode())
        first.select("INBOX")
        second.select("INBOX")
        second.store("2", "+FLAGS", "(\\Deleted)")
        second.expunge()
        first.untagged_responses.clear()
        assert first.fetch("1", "(FLAGS)")[0] == "OK"
        assert "EXPUNGE" not in first.untagged_responses
        assert first.noop()[0] == "OK"
        assert first.untagged_responses.get("EXPUNGE") == [b"2"]
    finally:
        first.logout()
        second.logout()


def test_starttls_then_login(server: RunningServer) -> None:
    """RFC 9051 §6.2.1: STARTTLS on the IMAP port; after TLS the client may log in."""
    client = imaplib.IMAP4(*imap_endpoint(server))
    try:
        assert "STARTTLS" in client.capabilities
        client.starttls(ssl_context=server.client_context())
        typ, _ = client.login(ALICE, PASSWORD)
        assert typ == "OK"
    finally:
        client.logout()


def test_imaps_implicit_tls(server: RunningServer) -> None:
    """RFC 8314 §3.2: IMAP over implicit TLS; STARTTLS is not offered there."""
    client = imaplib.IMAP4_SSL(*imap_endpoint(server, "imaps"),
                               ssl_context=server.client_context())
    try:
        assert "STARTTLS" not in client.capabilities
        assert client.login(ALICE, PASSWORD)[0] == "OK"
    finally:
        client.logout()


def test_wrong_password_and_garbage(server: RunningServer) -> None:
    """RFC 9051 §6.2.3: a failed LOGIN is NO [AUTHENTICATIONFAILED] (RFC 5530); a
    malformed command gets BAD and the session goes on (§7.1.3)."""
    client = imaplib.IMAP4(*imap_endpoint(server))
    try:
        with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
            client.login(ALICE, "wrong")
        client.send(b"a1 FETCH 1 (FLAGS)\r\n")          # not in this state
        assert client.readline().startswith(b"a1 BAD ")
        client.send(b"a2 FROB\r\n")
        assert client.readline().startswith(b"a2 BAD ")
        client.send(b"\x00\xff\r\n")
        assert client.readline().startswith(b"* BAD ")
        assert client.noop()[0] == "OK"
    finally:
        client.shutdown()



def test_search_body_and_text_look_where_the_rfc_says(server: RunningServer) -> None:
    """RFC 9051 §6.4.4: BODY "in the body of the message" (transfer encoding and charset
    decoded: "MUST be decoded before comparing"), TEXT "in the header (including MIME
    header fields) or body"; case-insensitive for ASCII (SHOULD). Answered from the texts
    stored at delivery; strings too short for the index are checked all the same."""
    raw = (b"Subject: Quarterly figures\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
           b"Content-Type: text/plain; charset=utf-8\r\n"
           b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
           b"Die Stra=C3=9Fe ist lang.\r\n--b\r\n"
           b"Content-Type: application/pdf\r\n"
           b"Content-Disposition: attachment; filename=report-q3.pdf\r\n"
           b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--b--\r\n")
    client = login(server)
    try:
        client.append("INBOX", None, None, raw)
        client.append("INBOX", None, None, b"Subject: other\r\n\r\nnothing here\r\n")
        client.select("INBOX")
        client.literal = "straße".encode()               # 8-bit: sent as a literal
        assert client.search("UTF-8", "BODY") == ("OK", [b"1"])   # QP, UTF-8 decoded
        for key, value, expected in (
                ("BODY", "STRASSE", b"1"),         # full case folding
                ("BODY", "quarterly", b""),        # a header, not the body
                ("TEXT", "quarterly", b"1"),       # the header is TEXT's
                ("TEXT", "report-q3.pdf", b"1"),   # a body part's MIME header field
                ("BODY", "report-q3", b""),
                ("BODY", "is", b"1"),              # too short to narrow: checked exactly
                ("TEXT", "here", b"2")):
            typ, data = client.search("UTF-8", key, value.encode())
            assert typ == "OK" and data == [expected], (key, value, data)
    finally:
        client.logout()
