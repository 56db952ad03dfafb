"""Reception policy on the MX listener: no relaying, unknown users, recipient and size
limits, and the postmaster every SMTP receiver must have."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from reference.store.interface import MailStore
from tests.e2e.conftest import RunningServer, start_server
from tests.e2e.helpers import RawClient, body_after_trace, enhanced

SENDER = "sender@elsewhere.test"
SIZE_LIMIT = 64 * 1024          # RFC 5321 §4.5.3.1.7: the smallest a server may set


def test_the_mx_port_refuses_to_relay_to_a_remote_domain(server: RunningServer) -> None:
    """RFC 5321 §3.3: "servers MAY decline to accept mail that is destined for other hosts
    or systems"; issue 2 policy: an unauthenticated client on the MX port cannot send to
    a domain that is not local: 550 5.7.1 (RFC 3463 X.7.1 delivery not authorized).
    Local recipients of the same transaction still get the message."""
    with smtplib.SMTP(*server.smtp, timeout=10) as client:
        client.ehlo("client.example.test")
        assert client.mail(SENDER)[0] == 250
        code, text = client.rcpt("victim@elsewhere.test")
        assert code == 550
        assert text.startswith(b"5.7.1 ")
        code, text = client.rcpt("victim@[192.0.2.1]")
        assert code == 550
        assert client.rcpt("alice@example.test")[0] == 250
        assert client.data(b"Subject: mixed\r\n\r\nx\r\n")[0] == 250
    assert len(server.messages("alice@example.test")) == 1
    assert server.total_messages() == 1


def test_an_unknown_local_user_is_refused_at_rcpt_with_550_5_1_1(server: RunningServer) -> None:
    """RFC 5321 §3.3: "550 ... mailbox unavailable" at RCPT for a recipient that does not
    exist; RFC 3463 X.1.1 "Bad destination mailbox address". Refused at RCPT, nothing is
    accepted that cannot be delivered (no backscatter later)."""
    with smtplib.SMTP(*server.smtp, timeout=10) as client:
        client.ehlo("client.example.test")
        assert client.mail(SENDER)[0] == 250
        code, text = client.rcpt("nobody@example.test")
        assert code == 550
        assert text.startswith(b"5.1.1 ")
        # With no accepted recipient there is nothing to send data for (RFC 5321 §3.3).
        code, _ = client.docmd("DATA")
        assert code in (503, 554)


@pytest.fixture
def recipients_server(tmp_path: Path, ca: trustme.CA) -> Iterator[RunningServer]:
    running = start_server(tmp_path, ca, smtp={"limits": {"recipients": 100}})

    async def accounts(store: MailStore) -> None:
        for number in range(101):
            await store.add_account(f"user{number:03d}@example.test", "unused-credentials")

    running.with_store(accounts)
    yield running
    running.shutdown()


def test_the_101st_recipient_gets_452_and_the_first_100_get_the_message(
        recipients_server: RunningServer) -> None:
    """RFC 5321 §4.5.3.1.10 MUST: a server that refuses a recipient because there are too
    many "MUST use a response code of 452"; RFC 3463 X.5.3 "Too many recipients". The
    transaction goes on with the first 100 (§4.5.3.1.8: at least 100 MUST be accepted),
    and each of them, but not the 101st, receives the message."""
    addresses = [f"user{number:03d}@example.test" for number in range(101)]
    with RawClient(recipients_server.smtp) as client:
        client.ehlo()
        # One pipelined group (RFC 2920), as a bulk sender would send it.
        client.send(b"MAIL FROM:<sender@elsewhere.test>\r\n" + b"".join(
            f"RCPT TO:<{address}>\r\n".encode() for address in addresses))
        mail, *rcpts = client.replies(102)
        assert mail.code == 250
        assert [r.code for r in rcpts[:100]] == [250] * 100
        assert (rcpts[100].code, enhanced(rcpts[100])) == (452, "4.5.3")
        assert client.command("DATA").code == 354
        client.send(b"Subject: to a hundred\r\n\r\nhello\r\n.\r\n")
        assert client.reply().code == 250
    for address in addresses[:100]:
        [stored] = recipients_server.messages(address)
        assert body_after_trace(stored) == b"Subject: to a hundred\r\n\r\nhello\r\n"
    assert recipients_server.messages(addresses[100]) == []


@pytest.fixture
def small_server(tmp_path: Path, ca: trustme.CA) -> Iterator[RunningServer]:
    running = start_server(tmp_path, ca, smtp={"limits": {"message_size": SIZE_LIMIT}})
    yield running
    running.shutdown()


def test_ehlo_announces_the_configured_size_limit(small_server: RunningServer) -> None:
    """RFC 1870 §4: "SIZE" SP number announces the fixed maximum message size."""
    with RawClient(small_server.smtp) as client:
        assert f"SIZE {SIZE_LIMIT}" in client.ehlo().lines


def test_a_declared_size_above_the_limit_is_refused_at_mail_with_552(
        small_server: RunningServer) -> None:
    """RFC 1870 §6: a SIZE= parameter above the fixed maximum gets "552 message size exceeds
    fixed maximum message size" at MAIL; RFC 3463 X.3.4 "Message too big for system". A
    SIZE at the limit is accepted."""
    with RawClient(small_server.smtp) as client:
        client.ehlo()
        refused = client.command(f"MAIL FROM:<{SENDER}> SIZE={SIZE_LIMIT + 1}")
        assert (refused.code, enhanced(refused)) == (552, "5.3.4")
        # No transaction was opened.
        assert client.command("RCPT TO:<alice@example.test>").code == 503
        assert client.command(f"MAIL FROM:<{SENDER}> SIZE={SIZE_LIMIT}").code == 250


def test_data_above_the_limit_is_refused_after_the_data_and_nothing_is_stored(
        small_server: RunningServer) -> None:
    """RFC 1870 §6: a message that turns out larger than the limit is refused with 552
    (X.3.4) after its data; nothing of it is stored, and the connection stays in step
    (the next transaction works)."""
    big = b"Subject: too big\r\n\r\n" + b"x" * 998 + b"\r\n" + (b"y" * 998 + b"\r\n") * 70
    assert len(big) > SIZE_LIMIT
    with RawClient(small_server.smtp) as client:
        client.ehlo()
        response = client.mail_transaction(SENDER, ["alice@example.test"], big)
        assert (response.code, enhanced(response)) == (552, "5.3.4")
        assert client.command("NOOP").code == 250
        ok = client.mail_transaction(SENDER, ["alice@example.test"],
                                     b"Subject: small\r\n\r\nfits\r\n")
        assert ok.code == 250
    [stored] = small_server.messages("alice@example.test")
    assert body_after_trace(stored) == b"Subject: small\r\n\r\nfits\r\n"


def test_bdat_above_the_limit_is_refused_and_nothing_is_stored(
        small_server: RunningServer) -> None:
    """RFC 3030 §2 with RFC 1870: chunks that add up to more than the limit end in 552
    5.3.4; the chunk bytes are still consumed (never read as commands) and nothing is
    stored."""
    chunk = b"z" * 40_000
    with RawClient(small_server.smtp) as client:
        client.ehlo()
        client.command(f"MAIL FROM:<{SENDER}>")
        client.command("RCPT TO:<alice@example.test>")
        client.send(b"BDAT %d\r\n" % len(chunk) + chunk)
        assert client.reply().code == 250
        client.send(b"BDAT %d LAST\r\n" % len(chunk) + chunk)
        refused = client.reply()
        assert (refused.code, enhanced(refused)) == (552, "5.3.4")
        assert client.command("NOOP").code == 250
    assert small_server.messages("alice@example.test") == []


def test_postmaster_without_a_domain_is_delivered(server: RunningServer) -> None:
    """RFC 5321 §4.1.1.3: "<Postmaster>" without a domain is accepted as the recipient,
    and §4.5.1 MUST: every SMTP server "MUST support the reserved mailbox "postmaster""
    (case-insensitive). The message lands in a real mailbox (alice, the oldest account,
    when no postmaster is configured)."""
    with RawClient(server.smtp) as client:
        client.ehlo()
        for recipient in ("Postmaster", "postmaster", "POSTMASTER"):
            response = client.mail_transaction(SENDER, [recipient],
                                               f"Subject: to {recipient}\r\n\r\n".encode())
            assert response.code == 250
    stored = server.messages("alice@example.test")
    assert len(stored) == 3
    assert b"\tfor <Postmaster>;" in stored[0]


def test_postmaster_at_a_local_domain_is_delivered_case_insensitively(
        server: RunningServer) -> None:
    """RFC 5321 §4.5.1 MUST: "postmaster" is a case-insensitive local name at every domain
    the server accepts mail for."""
    with smtplib.SMTP(*server.smtp, timeout=10) as client:
        assert client.sendmail(SENDER, ["PostMaster@Example.Test"], b"Subject: pm\r\n\r\n"
                               ) == {}
    assert len(server.messages("alice@example.test")) == 1


@pytest.fixture
def configured_postmaster(tmp_path: Path, ca: trustme.CA) -> Iterator[RunningServer]:
    running = start_server(tmp_path, ca, delivery={"postmaster": "bob@example.test"})
    yield running
    running.shutdown()


def test_postmaster_goes_to_the_configured_address(
        configured_postmaster: RunningServer) -> None:
    """RFC 5321 §4.5.1 / configuration delivery.postmaster: "<Postmaster>" reaches the
    configured mailbox (bob), not the oldest account."""
    with RawClient(configured_postmaster.smtp) as client:
        client.ehlo()
        assert client.mail_transaction(SENDER, ["Postmaster"],
                                       b"Subject: pm\r\n\r\n").code == 250
    assert len(configured_postmaster.messages("bob@example.test")) == 1
    assert configured_postmaster.messages("alice@example.test") == []


def test_the_null_reverse_path_is_accepted_on_the_mx_port(server: RunningServer) -> None:
    """RFC 5321 §4.5.5: non-delivery notifications (§3.7) and DSNs (RFC 3461) are sent
    with a null reverse-path "<>", so a receiver takes them; the Return-Path added at
    delivery (§4.4) is "<>"."""
    with RawClient(server.smtp) as client:
        client.ehlo()
        assert client.mail_transaction("", ["alice@example.test"],
                                       b"Subject: bounce\r\n\r\n").code == 250
    [stored] = server.messages("alice@example.test")
    assert stored.startswith(b"Return-Path: <>\r\n")
