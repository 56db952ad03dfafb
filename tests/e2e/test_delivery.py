"""Local delivery seen from the outside: aliases, subaddresses (RFC 5233), catch-all,
alias loops, the postmaster fallback, and threading of replies (RFC 5322 §3.6.4)."""

from __future__ import annotations

import smtplib
import time

from reference.store.interface import MailStore
from tests.e2e.conftest import RunningServer
from tests.e2e.helpers import RawClient, body_after_trace, enhanced

SENDER = "sender@elsewhere.test"


def deliver(server: RunningServer, recipients: list[str], content: bytes) -> dict[str, object]:
    with smtplib.SMTP(*server.smtp, timeout=10) as client:
        return client.sendmail(SENDER, recipients, content)  # type: ignore[return-value]


def test_an_alias_delivers_to_each_of_its_targets(server: RunningServer) -> None:
    """Issue 2: team@ is an alias of alice and bob; one RCPT, one copy in each INBOX, and
    the envelope keeps the address the sender used (RFC 5321 §4.4 FOR names it)."""
    content = b"Subject: to the team\r\n\r\nhello team\r\n"
    assert deliver(server, ["team@example.test"], content) == {}
    for account in ("alice@example.test", "bob@example.test"):
        [stored] = server.messages(account)
        assert body_after_trace(stored) == content
        assert b"\tfor <team@example.test>;" in stored
        [envelope] = server.envelopes(account)
        assert envelope.recipient == "team@example.test"


def test_a_subaddress_reaches_the_base_account(server: RunningServer) -> None:
    """RFC 5233 §1: "user+detail" — the detail does not change the mailbox; alice+news@
    (and a subaddress of an alias, team+x@) deliver as alice@ (and team@) would."""
    assert deliver(server, ["alice+news@example.test"], b"Subject: news\r\n\r\n") == {}
    assert deliver(server, ["team+weekly@example.test"], b"Subject: weekly\r\n\r\n") == {}
    assert len(server.messages("alice@example.test")) == 2
    assert len(server.messages("bob@example.test")) == 1
    first = server.envelopes("alice@example.test")[0]
    assert first.recipient == "alice+news@example.test"


def test_the_catch_all_takes_any_local_part_of_its_domain(server: RunningServer) -> None:
    """Issue 2: "@catchall.test" → bob; any local part at that domain reaches bob, and the
    catch-all of one domain does not cover another (unknown@example.test is refused)."""
    assert deliver(server, ["anything@catchall.test", "Other.Name@CATCHALL.test"],
                   b"Subject: caught\r\n\r\n") == {}
    assert len(server.messages("bob@example.test")) == 1
    with smtplib.SMTP(*server.smtp, timeout=10) as client:
        client.ehlo("client.example.test")
        client.mail(SENDER)
        code, text = client.rcpt("anything@example.test")
    assert code == 550
    assert text.startswith(b"5.1.1 ")


def test_addresses_are_matched_without_regard_to_case(server: RunningServer) -> None:
    """RFC 5321 §2.4 lets the receiving host decide about local-part case; this server
    treats local parts case-insensitively (issue 2), and domains are case-insensitive
    (RFC 5321 §2.4: "domain names ... are not case sensitive")."""
    assert deliver(server, ["ALICE@EXAMPLE.TEST"], b"Subject: caps\r\n\r\n") == {}
    assert len(server.messages("alice@example.test")) == 1


def test_alias_loops_end_quickly_and_deliver_what_they_can(server: RunningServer) -> None:
    """Issue 2 delivery policy (cf. RFC 5321 §6.3 on mail loops): an alias cycle is a
    configuration error, not a route: resolution stops (no hang, no copy per turn). A
    pure cycle with no account in it has no mailbox: 550 5.1.1. A cycle that also names
    alice delivers to alice exactly once."""
    async def loops(store: MailStore) -> None:
        await store.add_alias("ping@example.test", ["pong@example.test"])
        await store.add_alias("pong@example.test", ["ping@example.test"])
        await store.add_alias("loop-a@example.test", ["loop-b@example.test",
                                                      "alice@example.test"])
        await store.add_alias("loop-b@example.test", ["loop-a@example.test"])
        await store.add_alias("self@example.test", ["self@example.test"])

    server.with_store(loops)
    started = time.monotonic()
    with RawClient(server.smtp, timeout=5) as client:
        client.ehlo()
        client.command(f"MAIL FROM:<{SENDER}>")
        for address in ("ping@example.test", "self@example.test"):
            response = client.command(f"RCPT TO:<{address}>")
            assert (response.code, enhanced(response)) == (550, "5.1.1")
        assert client.command("RCPT TO:<loop-b@example.test>").code == 250
        assert client.command("DATA").code == 354
        client.send(b"Subject: loop\r\n\r\n.\r\n")
        assert client.reply().code == 250
    assert time.monotonic() - started < 5
    assert len(server.messages("alice@example.test")) == 1
    assert server.messages("bob@example.test") == []


def test_postmaster_of_a_domain_without_one_goes_to_its_oldest_account(
        server: RunningServer) -> None:
    """RFC 5321 §4.5.1 MUST: postmaster@ every local domain must be accepted; a domain
    with no postmaster alias falls back to its oldest account (issue 2)."""
    async def domain(store: MailStore) -> None:
        await store.add_domain("other.test")
        await store.add_account("carol@other.test", "unused-credentials")
        await store.add_account("dave@other.test", "unused-credentials")

    server.with_store(domain)
    assert deliver(server, ["postmaster@other.test"], b"Subject: pm\r\n\r\n") == {}
    assert len(server.messages("carol@other.test")) == 1
    assert server.messages("dave@other.test") == []
    assert server.messages("alice@example.test") == []


def test_a_reply_joins_the_thread_of_the_message_it_answers(server: RunningServer) -> None:
    """RFC 5322 §3.6.4: In-Reply-To and References name the message replied to; the store
    puts the reply in the same thread (JMAP threadId, RFC 8621 §3), and an unrelated
    message starts its own thread."""
    original = (b"Message-ID: <original@elsewhere.test>\r\nSubject: Plans\r\n\r\n"
                b"Shall we?\r\n")
    reply = (b"Message-ID: <reply@elsewhere.test>\r\nSubject: Re: Plans\r\n"
             b"In-Reply-To: <original@elsewhere.test>\r\n"
             b"References: <original@elsewhere.test>\r\n\r\nYes.\r\n")
    second_reply = (b"Message-ID: <reply2@elsewhere.test>\r\nSubject: Re: Re: Plans\r\n"
                    b"References: <original@elsewhere.test>\r\n <reply@elsewhere.test>\r\n"
                    b"\r\nAgreed.\r\n")
    unrelated = b"Message-ID: <other@elsewhere.test>\r\nSubject: Lunch\r\n\r\nNoon?\r\n"
    for content in (original, reply, second_reply, unrelated):
        assert deliver(server, ["alice@example.test"], content) == {}
    first, answer, answer2, other = server.stored("alice@example.test")
    assert answer.thread_id == first.thread_id
    assert answer2.thread_id == first.thread_id
    assert other.thread_id != first.thread_id


def test_the_uids_of_delivered_messages_ascend(server: RunningServer) -> None:
    """RFC 9051 §2.3.1.1: UIDs are assigned in strictly ascending order as messages are
    added to a mailbox; deliveries get consecutive ascending UIDs."""
    for number in range(5):
        assert deliver(server, ["alice@example.test"],
                       b"Subject: %d\r\n\r\n" % number) == {}
    uids = [message.uid for message in server.stored("alice@example.test")]
    assert uids == sorted(uids) and len(set(uids)) == 5
    subjects = [body_after_trace(raw).split(b"\r\n")[0]
                for raw in server.messages("alice@example.test")]
    assert subjects == [b"Subject: %d" % n for n in range(5)]
