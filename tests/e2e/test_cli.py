"""The ``rfcmail`` administration commands, run as real processes on a temporary data
directory (README "Commands"): domains, accounts, aliases, and looking at what arrived.
Errors are one line on standard error and exit status 1, never a traceback."""

from __future__ import annotations

import asyncio
import imaplib
import smtplib
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from reference.app import STORE_FILE
from reference.directory.passwords import verify_password
from reference.message.text import SearchText
from reference.store import open_store
from tests.e2e.conftest import PASSWORDS, RunningServer, provision
from tests.e2e.helpers import body_after_trace, plain_response

CLI = [sys.executable, "-m", "reference.cli"]


class Cli:
    """Runs `rfcmail ... --data-dir DIR` as a child process and checks how it ended."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    def __call__(self, data_dir: Path, *args: str, stdin: str | None = None,
                 expect: int = 0) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([*CLI, *args, "--data-dir", str(data_dir)], input=stdin,
                                capture_output=True, text=True, timeout=30, env=self.env,
                                cwd=data_dir.parent)
        assert result.returncode == expect, (args, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr, result.stderr
        if expect == 1:
            # One clear line, prefixed with the program name.
            assert result.stderr.startswith("rfcmail: "), result.stderr
            assert result.stderr.count("\n") == 1, result.stderr
        return result

    def raw(self, data_dir: Path, *args: str) -> bytes:
        """Standard output as bytes (``message show`` writes the message unchanged)."""
        result = subprocess.run([*CLI, *args, "--data-dir", str(data_dir)],
                                capture_output=True, timeout=30, env=self.env)
        assert result.returncode == 0, result.stderr
        return result.stdout


@pytest.fixture
def rfcmail(subprocess_env: dict[str, str]) -> Cli:
    return Cli(subprocess_env)


def credentials(data_dir: Path, address: str) -> str | None:
    async def read() -> str | None:
        store = await open_store(data_dir / STORE_FILE)
        try:
            return await store.get_credentials(address)
        finally:
            await store.close()
    return asyncio.run(read())


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def test_domains_are_added_listed_and_removed(rfcmail: Cli, data_dir: Path) -> None:
    """`rfcmail domain add|list|remove`; names are stored in lower case (RFC 5321 §2.4:
    domain names are not case sensitive)."""
    assert rfcmail(data_dir, "domain", "add", "Example.TEST").stdout == \
        "domain example.test added\n"
    rfcmail(data_dir, "domain", "add", "other.test")
    assert rfcmail(data_dir, "domain", "list").stdout.split() == ["example.test",
                                                                  "other.test"]
    assert rfcmail(data_dir, "domain", "remove", "other.test").stdout == \
        "domain other.test removed\n"
    assert rfcmail(data_dir, "domain", "list").stdout.split() == ["example.test"]


@pytest.mark.parametrize("name", ["not a domain", "bad-.test"])
def test_a_bad_domain_name_is_a_clear_error(rfcmail: Cli, data_dir: Path,
                                           name: str) -> None:
    """RFC 5321 §4.1.2 Domain grammar (labels of letters, digits and inner hyphens):
    anything else is refused with exit status 1 and a message that names the rule."""
    result = rfcmail(data_dir, "domain", "add", name, expect=1)
    assert "is not a domain name" in result.stderr


def test_without_a_store_commands_say_how_to_start(rfcmail: Cli, data_dir: Path) -> None:
    """README "Commands" (issue 2 CLI): a command that needs the store on a data
    directory that has none exits 1 with a hint, and no empty store is created behind
    the user's back."""
    result = rfcmail(data_dir, "account", "list", expect=1)
    assert "no store at" in result.stderr
    assert "rfcmail domain add" in result.stderr
    assert not (data_dir / STORE_FILE).exists()


@pytest.fixture
def provisioned(data_dir: Path) -> Path:
    """A data directory with the e2e store: example.test and catchall.test, alice and bob,
    postmaster@ and team@ aliases, and the catch-all @catchall.test."""
    data_dir.mkdir()
    asyncio.run(provision(data_dir / STORE_FILE))
    return data_dir


def test_accounts_take_passwords_from_the_flag_a_file_or_stdin(rfcmail: Cli,
                                                               provisioned: Path) -> None:
    """README "Commands": `rfcmail account add ADDRESS` with --password, --password-file
    or standard input; addresses are kept in lower case (RFC 5321 §2.4 lets the owning
    host decide), and the stored credentials verify against that password (and only
    it)."""
    secret_file = provisioned.parent / "dave.secret"
    secret_file.write_text("from-a-file\n")
    assert rfcmail(provisioned, "account", "add", "carol@example.test", "--password",
                   "from-the-flag", "--name", "Carol Ann").stdout == \
        "account carol@example.test added\n"
    rfcmail(provisioned, "account", "add", "Dave@Example.Test", "--password-file",
            str(secret_file))
    rfcmail(provisioned, "account", "add", "erin@catchall.test", stdin="from-stdin\n")
    listing = rfcmail(provisioned, "account", "list").stdout.splitlines()
    assert listing == ["alice@example.test", "bob@example.test",
                       "carol@example.test  (Carol Ann)", "dave@example.test",
                       "erin@catchall.test"]
    for address, password in (("carol@example.test", "from-the-flag"),
                              ("dave@example.test", "from-a-file"),
                              ("erin@catchall.test", "from-stdin")):
        stored = credentials(provisioned, address)
        assert stored is not None
        assert verify_password(stored, password)
        assert not verify_password(stored, password + "x")


def test_passwd_changes_and_remove_deletes_an_account(rfcmail: Cli,
                                                      provisioned: Path) -> None:
    """README "Commands": `account passwd` replaces the credentials (the old password no
    longer verifies) and `account remove` deletes the account and its credentials."""
    assert rfcmail(provisioned, "account", "passwd", "alice@example.test", "--password",
                   "new").stdout == "password of alice@example.test changed\n"
    stored = credentials(provisioned, "alice@example.test")
    assert stored is not None
    assert verify_password(stored, "new")
    assert not verify_password(stored, PASSWORDS["alice@example.test"])
    assert rfcmail(provisioned, "account", "remove", "bob@example.test").stdout == \
        "account bob@example.test removed\n"
    assert rfcmail(provisioned, "account", "list").stdout == "alice@example.test\n"
    assert credentials(provisioned, "bob@example.test") is None


def test_account_errors_are_clear(rfcmail: Cli, provisioned: Path) -> None:
    """Issue 2 CLI policy: a duplicate account, an address on a domain that is not local,
    an empty password, a malformed address (RFC 5321 §4.1.2 Mailbox), an account that
    does not exist: each exits 1 with one line saying what is wrong, and changes
    nothing."""
    duplicate = rfcmail(provisioned, "account", "add", "ALICE@example.test", "--password",
                        "pw", expect=1)
    assert "alice@example.test" in duplicate.stderr
    rfcmail(provisioned, "account", "add", "x@nowhere.test", "--password", "pw", expect=1)
    empty = rfcmail(provisioned, "account", "add", "carol@example.test", stdin="\n",
                    expect=1)
    assert "empty" in empty.stderr
    bad = rfcmail(provisioned, "account", "add", "not an address", "--password", "pw",
                  expect=1)
    assert "is not an email address" in bad.stderr
    rfcmail(provisioned, "account", "remove", "nobody@example.test", expect=1)
    rfcmail(provisioned, "account", "passwd", "nobody@example.test", "--password", "pw",
            expect=1)
    assert rfcmail(provisioned, "account", "list").stdout == \
        "alice@example.test\nbob@example.test\n"


@pytest.mark.parametrize("password", ["", "\u00ad", "bell\x07"],
                         ids=["empty", "empty-after-saslprep", "control-character"])
@pytest.mark.parametrize("action", ["add", "passwd"])
def test_a_password_saslprep_refuses_is_a_clear_error(
        rfcmail: Cli, provisioned: Path, action: str, password: str) -> None:
    """RFC 4616 §2: "if preparation fails or results in an empty string, verification
    SHALL fail" — such a password could never be used to log in, so `account add` and
    `account passwd` refuse it with one line (RFC 4013 SASLprep: U+00AD maps to nothing,
    control characters are prohibited) and change nothing."""
    address = "carol@example.test" if action == "add" else "alice@example.test"
    result = rfcmail(provisioned, "account", action, address, "--password", password,
                     expect=1)
    assert "password" in result.stderr
    stored = credentials(provisioned, "alice@example.test")
    assert stored is not None and verify_password(stored, PASSWORDS["alice@example.test"])
    assert credentials(provisioned, "carol@example.test") is None


def test_aliases_and_catch_alls_are_added_listed_and_removed(rfcmail: Cli,
                                                             provisioned: Path) -> None:
    """`rfcmail alias add ALIAS TARGET...` (``@domain`` is a catch-all); targets must be
    accounts or aliases here, and both the alias's domain and its targets must be local
    (this server delivers locally only, README)."""
    assert rfcmail(provisioned, "alias", "add", "Sales@example.test", "alice@example.test",
                   "team@example.test").stdout == \
        "alias sales@example.test -> alice@example.test, team@example.test added\n"
    rfcmail(provisioned, "alias", "add", "@Example.TEST", "bob@example.test")
    missing = rfcmail(provisioned, "alias", "add", "x@example.test", "ghost@example.test",
                      expect=1)
    assert "ghost@example.test is neither an account nor an alias" in missing.stderr
    remote = rfcmail(provisioned, "alias", "add", "x@elsewhere.test", "alice@example.test",
                     expect=1)
    assert "elsewhere.test is not a local domain" in remote.stderr
    rfcmail(provisioned, "alias", "add", "y@example.test", "friend@elsewhere.test",
            expect=1)
    assert sorted(rfcmail(provisioned, "alias", "list").stdout.splitlines()) == [
        "@catchall.test -> bob@example.test",
        "@example.test -> bob@example.test",
        "postmaster@example.test -> alice@example.test",
        "sales@example.test -> alice@example.test, team@example.test",
        "team@example.test -> alice@example.test, bob@example.test"]
    assert rfcmail(provisioned, "alias", "remove", "@example.test").stdout == \
        "alias @example.test removed\n"
    rfcmail(provisioned, "alias", "remove", "sales@example.test")
    assert len(rfcmail(provisioned, "alias", "list").stdout.splitlines()) == 3


def test_mailbox_ls_and_message_show_report_what_arrived(rfcmail: Cli,
                                                         server: RunningServer) -> None:
    """README "Commands", beside a running server (SQLite WAL lets both use the store):
    `mailbox ls` counts
    what SMTP delivered, `mailbox ls ADDRESS INBOX` lists it, and `message show` prints
    the stored bytes exactly (--headers: the header section; --envelope: the SMTP envelope
    first)."""
    content = (b"From: Sender <sender@elsewhere.test>\r\nSubject: Look at me\r\n\r\n"
               b"Body line\r\n")
    with smtplib.SMTP(*server.smtp, timeout=10) as client:
        assert client.sendmail("sender@elsewhere.test", ["alice@example.test"],
                               content) == {}
        assert client.sendmail("sender@elsewhere.test", ["alice@example.test"],
                               b"Subject: second\r\n\r\n") == {}
    data_dir = server.config.data_dir
    [first, _] = server.messages("alice@example.test")
    mailboxes = rfcmail(data_dir, "mailbox", "ls", "alice@example.test").stdout.splitlines()
    assert mailboxes[0].split() == ["MAILBOX", "MESSAGES", "UNSEEN", "SIZE", "SPECIAL-USE"]
    rows = {line.split()[0]: line.split()[1:] for line in mailboxes[1:]}
    assert set(rows) == {"INBOX", "Drafts", "Sent", "Trash", "Junk", "Archive"}
    assert rows["INBOX"][:2] == ["2", "2"]
    assert rows["Sent"] == ["0", "0", "0", "\\Sent"]
    listing = rfcmail(data_dir, "mailbox", "ls", "alice@example.test", "INBOX").stdout
    lines = listing.splitlines()
    assert len(lines) == 3
    assert lines[1].split()[0] == "1" and lines[1].endswith("Look at me")
    assert str(len(first)) in lines[1].split()
    shown = rfcmail.raw(data_dir, "message", "show", "alice@example.test", "1")
    assert shown == first
    assert body_after_trace(shown) == content
    headers = rfcmail.raw(data_dir, "message", "show", "alice@example.test", "1", "--headers")
    assert headers == first[: first.index(b"\r\n\r\n") + 4]
    envelope = rfcmail(data_dir, "message", "show", "alice@example.test", "1",
                       "--envelope").stdout
    assert "mail_from: sender@elsewhere.test\n" in envelope
    assert "recipient: alice@example.test\n" in envelope
    missing = rfcmail(data_dir, "message", "show", "alice@example.test", "99", expect=1)
    assert "no message with UID 99" in missing.stderr
    rfcmail(data_dir, "mailbox", "ls", "nobody@example.test", expect=1)
    rfcmail(data_dir, "mailbox", "ls", "alice@example.test", "Nope", expect=1)


def test_a_password_changed_with_the_cli_applies_to_the_running_server(
        rfcmail: Cli, server: RunningServer) -> None:
    """README: the commands "work beside a running server": after `account passwd` AUTH
    (RFC 4954) accepts the new password and refuses the old one with 535."""
    rfcmail(server.config.data_dir, "account", "passwd", "alice@example.test",
            stdin="brand-new\n")
    with smtplib.SMTP(*server.smtp, timeout=10) as client:
        client.ehlo("client.example.test")
        code, _ = client.docmd("AUTH", "PLAIN " + plain_response(
            "alice@example.test", PASSWORDS["alice@example.test"]).decode())
        assert code == 535
        code, _ = client.docmd("AUTH", "PLAIN " + plain_response(
            "alice@example.test", "brand-new").decode())
        assert code == 235


def test_internationalized_domains_are_kept_in_a_label_form(rfcmail: Cli,
                                                            provisioned: Path) -> None:
    """RFC 6531 §3.3 allows U-labels where a domain appears; the store keys domains on
    their A-labels (RFC 5890 §2.3.2.1), so `domain add δοκιμή.test` and an address written
    with U-labels in any case name the one domain xn--jxalpdlp.test."""
    assert rfcmail(provisioned, "domain", "add", "δοκιμή.test").stdout == \
        "domain xn--jxalpdlp.test added\n"
    assert rfcmail(provisioned, "account", "add", "Carol@ΔΟΚΙΜΉ.test", "--password",
                   "pw").stdout == "account carol@xn--jxalpdlp.test added\n"
    assert credentials(provisioned, "carol@xn--jxalpdlp.test") is not None


def test_message_reindex_indexes_what_was_stored_without_text(rfcmail: Cli,
                                                              server: RunningServer) -> None:
    """README "Commands": `message reindex` parses and indexes again the messages stored
    without search text (as schema migration 5 leaves those indexed before), beside the
    running server; `--all` does every message. SEARCH BODY finds them either way (RFC
    9051 §6.4.4), from the stored text once they are indexed again."""
    with smtplib.SMTP(*server.smtp, timeout=10) as client:
        client.sendmail("sender@elsewhere.test", ["alice@example.test"],
                        b"Subject: old\r\n\r\nan aardvark in the text\r\n")
    data_dir = server.config.data_dir

    async def forget_the_text() -> None:      # what migration 5 does to older texts
        store = await open_store(data_dir / STORE_FILE)
        try:
            await store.reindex(lambda raw: ("{}", SearchText("", "", "")), everything=True)
        finally:
            await store.close()
        with sqlite3.connect(data_dir / STORE_FILE) as db:
            db.execute("INSERT INTO messages_without_text SELECT rowid FROM message_text")
            db.execute("DELETE FROM message_text")

    asyncio.run(forget_the_text())
    assert rfcmail(data_dir, "message", "reindex").stdout == "1 message indexed\n"
    assert rfcmail(data_dir, "message", "reindex").stdout == "0 messages indexed\n"
    with sqlite3.connect(data_dir / STORE_FILE) as db:
        assert db.execute("SELECT count(*) FROM messages_without_text").fetchone() == (0,)
        assert db.execute("SELECT body FROM message_text").fetchall() == [
            ("an aardvark in the text\r\n",)]
    assert rfcmail(data_dir, "message", "reindex", "--all").stdout == "1 message indexed\n"
    with imaplib.IMAP4(server.endpoints["imap"].host, server.endpoints["imap"].port) as imap:
        imap.login("alice@example.test", PASSWORDS["alice@example.test"])
        imap.select("INBOX")
        assert imap.search(None, "BODY", "aardvark") == ("OK", [b"1"])
        typ, data = imap.fetch("1", "(BODYSTRUCTURE)")
        assert typ == "OK" and b"TEXT" in data[0]
