"""The peer providers start real servers on loopback and stop them again: the aiosmtpd
sink takes a message, Dovecot answers LHLO and CAPABILITY and stores what LMTP delivers,
Cyrus logs in and stores what LMTP delivers, rfcmail stores what SMTP delivers. A peer
that is not installed (or cannot be fetched, for Cyrus) is skipped, with why."""

from __future__ import annotations

import base64
import imaplib
import json
import os
import shutil
import smtplib
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from interop.providers.aiosmtpd_sink import AiosmtpdSinkProvider
from interop.providers.base import PROJECT_ROOT, TEST_PASSWORD, ProviderUnavailable, has_exited
from interop.providers.cyrus import CyrusProvider, unavailable_reason
from interop.providers.dovecot import DovecotProvider, missing_packages
from interop.providers.rfcmail import RfcmailProvider, rfcmail_executable
from interop.providers.tools import process_tree_cpu_seconds

MESSAGE = (b"From: <load@example.test>\r\nTo: <user0000@example.test>\r\n"
           b"Subject: provider test\r\n\r\nHello.\r\n")

needs_dovecot = pytest.mark.skipif(
    bool(missing_packages()),
    reason=f"Dovecot is not installed (missing {', '.join(missing_packages())}): "
           "run scripts/install-peers.sh")


def _rfcmail_missing() -> str:
    try:
        rfcmail_executable()
    except ProviderUnavailable as exc:
        return str(exc)
    return ""


def test_aiosmtpd_sink_accepts_a_message_and_stops_with_its_process() -> None:
    with AiosmtpdSinkProvider(start_timeout=20) as sink:
        pid = sink.pid
        with smtplib.SMTP(*sink.endpoints["smtp"], timeout=10) as client:
            client.ehlo("client.example.test")
            assert client.mail("load@example.test")[0] == 250
            assert client.rcpt("anyone@example.test")[0] == 250
            code, text = client.data(MESSAGE)
        assert code == 250, text
        assert process_tree_cpu_seconds(pid) > 0
    assert has_exited(pid)


@needs_dovecot
def test_dovecot_answers_lhlo_and_capability_and_stores_an_lmtp_delivery() -> None:
    with DovecotProvider(users=("alice", "user0000"), start_timeout=20) as dovecot:
        assert {"imap", "lmtp"} <= dovecot.endpoints.keys()
        with smtplib.LMTP(*dovecot.endpoints["lmtp"], timeout=10) as lmtp:
            code, _ = lmtp.ehlo("client.example.test")       # smtplib.LMTP sends LHLO
            assert code == 250
            assert lmtp.sendmail("load@example.test", ["user0000@example.test"],
                                 MESSAGE) == {}
        assert dovecot.stored_messages() == 1

        host, port = dovecot.endpoints["imap"]
        with imaplib.IMAP4(host, port, timeout=10) as imap:
            status, capabilities = imap.capability()
            assert status == "OK"
            assert b"IMAP4rev1" in capabilities[0].split()
            assert imap.login("alice", TEST_PASSWORD)[0] == "OK"
            assert imap.logout()[0] == "BYE"
        # RFC 9051 §11.2: "a cleartext port MUST allow STARTTLS" (a self-signed
        # certificate); plaintext LOGIN stays allowed for the load tests.
        self_signed = ssl.create_default_context()
        self_signed.check_hostname, self_signed.verify_mode = False, ssl.CERT_NONE
        with imaplib.IMAP4(host, port, timeout=10) as imap:
            assert b"STARTTLS" in imap.capability()[1][0].split()
            assert imap.starttls(self_signed)[0] == "OK"
            assert imap.login("alice", TEST_PASSWORD)[0] == "OK"
            assert imap.logout()[0] == "BYE"


@pytest.mark.skipif(bool(_rfcmail_missing()), reason=_rfcmail_missing())
def test_rfcmail_stores_what_it_accepts_over_smtp() -> None:
    with RfcmailProvider(users=("user0000",), start_timeout=30) as rfcmail:
        with smtplib.SMTP(*rfcmail.endpoints["smtp"], timeout=10) as client:
            assert client.sendmail("load@example.test", ["user0000@example.test"],
                                   MESSAGE) == {}
        assert rfcmail.stored_messages() == 1


@pytest.mark.skipif(bool(_rfcmail_missing()), reason=_rfcmail_missing())
def test_rfcmail_greets_with_a_fully_qualified_name() -> None:
    """RFC 5321 §2.3.5: "Local nicknames or unqualified names MUST NOT be used": the
    greeting and the EHLO reply name mail.<domain>, not the server's default localhost."""
    with RfcmailProvider(users=("user0000",), start_timeout=30) as rfcmail:
        client = smtplib.SMTP(timeout=10)
        try:
            code, greeting = client.connect(*rfcmail.endpoints["smtp"])
            assert code == 220
            assert greeting.split()[0] == b"mail.example.test", greeting
            code, ehlo = client.ehlo("client.example.test")
            assert code == 250
            assert ehlo.splitlines()[0].split()[0] == b"mail.example.test", ehlo
        finally:
            client.close()


@pytest.mark.skipif(bool(unavailable_reason()), reason=str(unavailable_reason()))
def test_cyrus_logs_in_stores_an_lmtp_delivery_and_stops_with_its_services() -> None:
    cyrus = CyrusProvider(users=("alice", "user0000"), start_timeout=60)
    try:
        cyrus.start()
    except ProviderUnavailable as exc:          # e.g. no network for the first download
        pytest.skip(f"Cyrus cannot be started here: {exc}")
    try:
        pid = cyrus.pid
        host, port = cyrus.endpoints["imap"]
        with imaplib.IMAP4(host, port, timeout=10) as imap:
            assert b"IMAP4rev1" in imap.capability()[1][0].split()
            assert imap.login("alice", TEST_PASSWORD)[0] == "OK"
            assert imap.select("INBOX")[0] == "OK"
            assert imap.logout()[0] == "BYE"
        with imaplib.IMAP4(host, port, timeout=10) as imap, \
                pytest.raises(imaplib.IMAP4.error):
            imap.login("alice", "not-the-password")
        with smtplib.LMTP(*cyrus.endpoints["lmtp"], timeout=10) as lmtp:
            assert lmtp.sendmail("load@example.test", ["user0000@example.test"],
                                 MESSAGE) == {}
        assert cyrus.stored_messages() == 1
    finally:
        cyrus.stop()
    assert has_exited(pid)


def _jmap(url: str, user: str, body: dict[str, Any] | None = None) -> Any:
    credentials = base64.b64encode(f"{user}:{TEST_PASSWORD}".encode()).decode()
    request = urllib.request.Request(
        url, data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Basic {credentials}",
                 "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


@pytest.mark.skipif(bool(unavailable_reason()), reason=str(unavailable_reason()))
def test_cyrus_with_jmap_answers_the_session_and_mailbox_get() -> None:
    cyrus = CyrusProvider(users=("alice",), jmap=True, start_timeout=60)
    try:
        cyrus.start()
    except ProviderUnavailable as exc:
        pytest.skip(f"Cyrus cannot be started here: {exc}")
    try:
        base = "http://{}:{}".format(*cyrus.endpoints["jmap"])
        session = _jmap(f"{base}/.well-known/jmap", "alice")
        account = session["primaryAccounts"]["urn:ietf:params:jmap:mail"]
        answer = _jmap(f"{base}{session['apiUrl']}", "alice", {
            "using": ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail"],
            "methodCalls": [["Mailbox/get", {"accountId": account}, "0"]]})
        name, arguments, _ = answer["methodResponses"][0]
        assert name == "Mailbox/get"
        assert "inbox" in {box.get("role") for box in arguments["list"]}
    finally:
        cyrus.stop()


def test_cyrus_is_unavailable_with_a_reason_when_not_root(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    reason = unavailable_reason()
    assert reason is not None and "root" in reason
    with pytest.raises(ProviderUnavailable, match="root"):
        CyrusProvider(users=("alice",)).start()


_ORPHAN = """
import os
import time
from interop.providers.base import ProviderUnavailable
from interop.providers.cyrus import CyrusProvider
cyrus = CyrusProvider(users=("alice",), start_timeout=60)
try:
    cyrus.start()
except ProviderUnavailable as exc:
    print("unavailable", exc, flush=True)
    os._exit(0)
print(cyrus.workdir, flush=True)
time.sleep(1)                          # the master's preforked services are up
os._exit(0)                            # dies without stopping it
"""


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@pytest.mark.skipif(bool(unavailable_reason()), reason=str(unavailable_reason()))
def test_cyrus_dies_with_a_caller_that_did_not_stop_it() -> None:
    """The master (and its preforked services) get SIGKILL when their parent dies. (A
    service the master forks in the very moment its caller dies can still escape: it
    sets its parent-death signal after the master is gone.)"""
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    out = subprocess.run([sys.executable, "-c", _ORPHAN], capture_output=True, text=True,
                         timeout=120, env=env, check=True).stdout.strip()
    if out.startswith("unavailable"):
        pytest.skip(out)
    try:
        deadline = time.monotonic() + 10
        while _processes_mentioning(out) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _processes_mentioning(out), f"Cyrus processes outlived their caller ({out})"
    finally:
        shutil.rmtree(out, ignore_errors=True)

