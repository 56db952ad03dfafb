"""Python's smtplib against the MX listener: what a real client sends is stored, byte for
byte, behind the trace fields RFC 5321 §4.4 asks for.

Issue 2, "SMTP reception, end to end": reception on the MX port, local delivery, trace
fields, transparency, extensions (8BITMIME, SMTPUTF8, DSN) and the informational commands.
"""

from __future__ import annotations

import datetime
import email.utils
import re
import smtplib
import socket
from pathlib import Path

import pytest
import trustme

from reference.store.interface import MailStore
from tests.e2e.conftest import RunningServer, start_server
from tests.e2e.helpers import RawClient, enhanced, expect_closed

SENDER = "sender@elsewhere.test"

# RFC 5321 §4.4: Return-Path: <reverse-path>, then
#   Time-stamp-line = "Received:" FWS Stamp <CRLF>
#   Stamp = From-domain By-domain Opt-info [CFWS] ";" FWS date-time
#   Opt-info = [Via] [With] [ID] [For] [Additional-Registered-Clauses]
TRACE = re.compile(
    rb"Return-Path: <(?P<return_path>[^>]*)>\r\n"
    rb"Received: from (?P<helo>\S+) \(\[(?P<ip>[0-9.]+)\]\)\r\n"
    rb"\tby (?P<by>\S+) with (?P<protocol>[A-Z0-9]+)(?: \((?P<tls>[^)]*)\))? id (?P<id>\w+)"
    rb"(?:\r\n\tfor <(?P<for>[^>]*)>)?;\r\n"
    rb"\t(?P<date>[^\r\n]+)\r\n")


def split_trace(stored: bytes) -> tuple[re.Match[bytes], bytes]:
    """The Return-Path and Received fields prepended at delivery, and the bytes after them."""
    match = TRACE.match(stored)
    assert match is not None, stored[:400]
    return match, stored[match.end():]


def assert_recent(date: bytes) -> None:
    """RFC 5322 §3.3 date-time, and it is the time of delivery."""
    when = email.utils.parsedate_to_datetime(date.decode())
    assert when.tzinfo is not None
    now = datetime.datetime.now(datetime.UTC)
    assert abs((now - when).total_seconds()) < 120


def message(subject: str, body: str = "Hello.\r\n", **headers: str) -> bytes:
    fields = {"From": f"<{SENDER}>", "To": "<alice@example.test>", "Subject": subject,
              "Date": "Tue, 24 Nov 2026 12:00:00 +0000",
              "Message-ID": f"<{subject.replace(' ', '-')}@elsewhere.test>", **headers}
    head = "".join(f"{name}: {value}\r\n" for name, value in fields.items())
    return (head + "\r\n" + body).encode()


def send(server: RunningServer, sender: str, recipients: list[str], content: bytes,
         **options: list[str]) -> tuple[int, bytes]:
    """One transaction with smtplib's primitives; the reply to the data."""
    with smtplib.SMTP(*server.smtp, timeout=10) as client:
        client.ehlo("client.example.test")
        code, text = client.mail(sender, options.get("mail_options", []))
        assert code == 250, text
        for recipient in recipients:
            code, text = client.rcpt(recipient, options.get("rcpt_options", []))
            assert code == 250, (recipient, text)
        return client.data(content)


def test_a_message_to_a_local_user_is_stored_byte_exact_after_return_path_and_received(
        server: RunningServer) -> None:
    """RFC 5321 §4.4 MUST: the final delivery server "inserts a return-path line at the
    beginning of the mail data"; every SMTP server "MUST insert trace information" (a
    Received line with FROM, BY, WITH, ID, FOR and the date-time) and the content is not
    otherwise changed (§2.4 / DESIGN.md principle 6: raw bytes never rewritten)."""
    content = message("byte exact", "Line one\r\n\tindented line\r\n\r\ntrailing space \r\n")
    code, text = send(server, SENDER, ["alice@example.test"], content)
    assert code == 250
    assert text.startswith(b"2.0.0 ")
    [stored] = server.messages("alice@example.test")
    trace, rest = split_trace(stored)
    assert rest == content
    assert trace["return_path"] == SENDER.encode()
    assert trace["helo"] == b"client.example.test"
    assert trace["ip"] == b"127.0.0.1"
    assert trace["by"] == b"mx.example.test"
    assert trace["protocol"] == b"ESMTP"      # RFC 3848: EHLO, no TLS, no AUTH
    assert trace["tls"] is None
    assert trace["for"] == b"alice@example.test"
    # The ID clause names the same queue id the 250 reply gave the client.
    assert text.endswith(b"id " + trace["id"])
    assert_recent(trace["date"])
    assert server.messages("bob@example.test") == []


def test_dot_stuffed_lines_come_back_unstuffed(server: RunningServer) -> None:
    """RFC 5321 §4.5.2 MUST: "If the first character is a period and there are other
    characters on the line, the first character is deleted." smtplib stuffs every line
    that begins with a period; the store holds the lines as the author wrote them."""
    body = ".\r\n..\r\n.leading dot\r\n...three\r\n. \r\nend.\r\n.\r\n"
    content = message("dots", body)
    code, _ = send(server, SENDER, ["alice@example.test"], content)
    assert code == 250
    [stored] = server.messages("alice@example.test")
    assert split_trace(stored)[1] == content


def test_several_recipients_get_one_copy_per_account_and_received_has_no_for(
        server: RunningServer) -> None:
    """RFC 5321 §4.4: the FOR clause names one recipient; with several recipients the one
    stored copy must not name one of them (it would disclose the other recipients' copies
    as theirs). team@ expands to alice and bob, and bob@ is named again: each account gets
    exactly one copy (issue 2: one stored copy per account)."""
    content = message("team mail")
    code, _ = send(server, SENDER, ["team@example.test", "bob@example.test"], content)
    assert code == 250
    [to_alice] = server.messages("alice@example.test")
    [to_bob] = server.messages("bob@example.test")
    assert to_alice == to_bob
    trace, rest = split_trace(to_alice)
    assert rest == content
    assert trace["for"] is None
    assert b"\tfor " not in to_alice.split(b"\r\n\r\n", 1)[0]


def test_eight_bit_mime_content_is_stored_unchanged(server: RunningServer) -> None:
    """RFC 6152 §3: with BODY=8BITMIME the server must deliver the 8-bit content as is;
    the envelope keeps the BODY value."""
    content = message("8bit", "Grüße aus Köln — ça va? \xff is not UTF-8 but is 8-bit.\r\n",
                      **{"Content-Type": "text/plain; charset=utf-8",
                         "Content-Transfer-Encoding": "8bit"})
    content = content.replace("\xff".encode(), b"\xff")
    code, _ = send(server, SENDER, ["alice@example.test"], content,
                   mail_options=["BODY=8BITMIME"])
    assert code == 250
    [stored] = server.messages("alice@example.test")
    assert split_trace(stored)[1] == content
    [envelope] = server.envelopes("alice@example.test")
    assert envelope.body == "8BITMIME"


def test_an_unknown_utf8_address_is_refused_as_an_unknown_user(server: RunningServer) -> None:
    """RFC 6531 §3.4: with SMTPUTF8 a UTF-8 forward-path is well formed; an address with no
    account behind it gets the ordinary unknown-user refusal, 550 5.1.1 (RFC 3463)."""
    with smtplib.SMTP(*server.smtp, timeout=10) as client, \
            pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        client.sendmail(SENDER, ["δοκιμή@example.test"], message("utf8"),
                        mail_options=["SMTPUTF8"])
    [(code, text)] = refused.value.recipients.values()
    assert code == 550
    assert text.startswith(b"5.1.1 ")


def test_utf8_addresses_that_exist_are_delivered_with_smtputf8(server: RunningServer) -> None:
    """RFC 6531 §3.2/§3.4: a server that advertises SMTPUTF8 accepts UTF-8 mailboxes in
    MAIL and RCPT when the client asks for SMTPUTF8, and delivers to them. An account, an
    alias and a subaddress with UTF-8 local parts all arrive; the Received WITH clause is
    UTF8SMTP (RFC 6531 §3.7.3) and the envelope records SMTPUTF8."""
    async def create(store: MailStore) -> None:
        await store.add_account("δοκιμή@example.test", "not-a-password-hash")
        await store.add_alias("ομάδα@example.test", ["alice@example.test"])

    server.with_store(create)
    sender = "αποστολέας@elsewhere.test"
    content = "Subject: Καλημέρα\r\nFrom: <αποστολέας@elsewhere.test>\r\n\r\nΓεια σου.\r\n"
    with smtplib.SMTP(*server.smtp, timeout=10) as client:
        refused = client.sendmail(sender, ["δοκιμή@example.test", "ομάδα@example.test",
                                           "bob+ετικέτα@example.test"],
                                  content.encode(), mail_options=["SMTPUTF8"])
    assert refused == {}
    for account in ("δοκιμή@example.test", "alice@example.test", "bob@example.test"):
        [stored] = server.messages(account)
        trace, rest = split_trace(stored)
        assert rest == content.encode()
        assert trace["return_path"] == sender.encode()
        assert trace["protocol"] == b"UTF8SMTP"
        [envelope] = server.envelopes(account)
        assert envelope.smtputf8 is True
        assert envelope.mail_from == sender


def test_a_utf8_address_without_smtputf8_is_refused(server: RunningServer) -> None:
    """RFC 6531 §3.5: a non-ASCII address in a transaction without SMTPUTF8 is refused with
    553 5.6.7 ("Non-ASCII addresses not permitted for that sender/recipient")."""
    with smtplib.SMTP(*server.smtp, timeout=10) as client:
        client.ehlo("client.example.test")
        assert client.mail(SENDER)[0] == 250
        client.command_encoding = "utf-8"   # smtplib would refuse to send it otherwise
        code, text = client.rcpt("δοκιμή@example.test")
    assert code == 553
    assert text.startswith(b"5.6.7 ")


def test_dsn_parameters_are_kept_in_the_envelope(server: RunningServer) -> None:
    """RFC 3461 §4: RET and ENVID (MAIL) and NOTIFY and ORCPT (RCPT) are accepted when DSN
    is advertised and kept with the message, xtext-decoded (§4: "+2B" is "+")."""
    code, _ = send(server, SENDER, ["alice@example.test"], message("dsn"),
                   mail_options=["RET=HDRS", "ENVID=QQ314159+2Bx"],
                   rcpt_options=["NOTIFY=SUCCESS,DELAY", "ORCPT=rfc822;Alice+2Btag@example.test"])
    assert code == 250
    [envelope] = server.envelopes("alice@example.test")
    assert envelope.ret == "HDRS"
    assert envelope.envid == "QQ314159+x"
    assert envelope.notify == ("DELAY", "SUCCESS")
    assert envelope.original_recipient == "rfc822;Alice+tag@example.test"
    assert envelope.mail_from == SENDER
    assert envelope.recipient == "alice@example.test"
    assert envelope.helo == "client.example.test"
    assert envelope.client_address == "127.0.0.1"
    assert envelope.authenticated_as is None


def test_helo_gets_a_plain_smtp_session_and_received_says_smtp(server: RunningServer) -> None:
    """RFC 5321 §4.1.1.1: HELO starts a session without extensions; the WITH clause is
    "SMTP" (RFC 3848 §2 / RFC 5321 §4.4), and the mail is still delivered."""
    with smtplib.SMTP(*server.smtp, timeout=10) as client:
        code, _ = client.helo("old.example.test")
        assert code == 250
        assert not client.does_esmtp
        refused = client.sendmail(SENDER, ["alice@example.test"], message("helo"))
    assert refused == {}
    [stored] = server.messages("alice@example.test")
    trace, _ = split_trace(stored)
    assert trace["protocol"] == b"SMTP"
    assert trace["helo"] == b"old.example.test"


def test_ehlo_advertises_the_extensions_of_issue_2(server: RunningServer) -> None:
    """RFC 5321 §4.1.1.1: the EHLO reply lists the extensions the server supports; issue 2
    names SIZE (RFC 1870, with the limit), PIPELINING, 8BITMIME, SMTPUTF8,
    ENHANCEDSTATUSCODES, STARTTLS, AUTH, CHUNKING and DSN."""
    with smtplib.SMTP(*server.smtp, timeout=10) as client:
        code, text = client.ehlo("client.example.test")
        assert code == 250
        assert text.split(b"\n")[0].startswith(b"mx.example.test ")
        for keyword in ("pipelining", "8bitmime", "smtputf8", "enhancedstatuscodes",
                        "starttls", "chunking", "dsn", "auth"):
            assert client.has_extn(keyword), keyword
        assert client.esmtp_features["size"] == str(50 * 1024 * 1024)
        assert set(client.esmtp_features["auth"].split()) == {"SCRAM-SHA-256", "PLAIN",
                                                              "LOGIN"}


def test_vrfy_answers_252_without_disclosing_users(server: RunningServer) -> None:
    """RFC 5321 §3.5.3: 252 "Cannot VRFY user, but will accept message and attempt
    delivery"; the same answer for a user that exists and one that does not."""
    with smtplib.SMTP(*server.smtp, timeout=10) as client:
        client.ehlo("client.example.test")
        known = client.verify("alice@example.test")
        unknown = client.verify("nobody@example.test")
    assert known[0] == unknown[0] == 252
    assert known[1].startswith(b"2.0.0 ")
    assert known == unknown


def test_expn_is_not_offered_and_answers_502(server: RunningServer) -> None:
    """RFC 5321 §3.5.2: EXPN may be disabled; 502 (command not implemented) says so,
    with 5.5.1 (RFC 3463: invalid command), and the list members stay private."""
    with smtplib.SMTP(*server.smtp, timeout=10) as client:
        client.ehlo("client.example.test")
        code, text = client.expn("team@example.test")
        assert code == 502
        assert text.startswith(b"5.5.1 ")
        assert b"alice" not in text and b"bob" not in text
        assert client.noop()[0] == 250     # the session goes on


def test_a_new_ehlo_inside_a_transaction_resets_it(server: RunningServer) -> None:
    """RFC 5321 §4.1.4: an EHLO issued later in the session "is equivalent to a RSET":
    the sender and recipients given before it are forgotten, and nothing is delivered to
    them."""
    with smtplib.SMTP(*server.smtp, timeout=10) as client:
        client.ehlo("client.example.test")
        assert client.mail(SENDER)[0] == 250
        assert client.rcpt("bob@example.test")[0] == 250
        assert client.ehlo("again.example.test")[0] == 250
        code, text = client.docmd("DATA")
        assert code == 503
        assert text.startswith(b"5.5.1 ")
        assert client.sendmail(SENDER, ["alice@example.test"], message("after ehlo")) == {}
    assert server.messages("bob@example.test") == []
    [stored] = server.messages("alice@example.test")
    assert split_trace(stored)[0]["helo"] == b"again.example.test"


def test_help_noop_rset_and_quit_get_their_replies(server: RunningServer) -> None:
    """RFC 5321 §4.1.1.8 HELP → 214; §4.1.1.9 NOOP → 250; §4.1.1.5 RSET → 250 and the
    transaction is gone (RCPT now needs MAIL: 503); §4.1.1.10 QUIT → 221 and the server
    closes the channel."""
    client = smtplib.SMTP(*server.smtp, timeout=10)
    client.ehlo("client.example.test")
    help_text = client.help()
    assert help_text.startswith(b"2.0.0 ")
    assert b"EHLO" in help_text and b"MAIL" in help_text
    assert client.docmd("HELP")[0] == 214
    assert client.noop() == (250, b"2.0.0 OK")
    assert client.mail(SENDER)[0] == 250
    assert client.rset()[0] == 250
    code, text = client.rcpt("alice@example.test")
    assert code == 503
    assert text.startswith(b"5.5.1 ")
    code, text = client.quit()
    assert code == 221
    assert text.startswith(b"2.0.0 ")
    assert server.messages("alice@example.test") == []


def test_a_1000_octet_line_is_accepted_even_when_dot_stuffing_makes_it_longer(
        server: RunningServer) -> None:
    """RFC 5321 §4.5.3.1.6 MUST (limits are minimums a receiver must accept): "The maximum
    total length of a text line including the <CRLF> is 1000 octets (not counting the
    leading dot duplicated for transparency)". A 1000-octet line that begins with a period
    is 1001 octets on the wire and must still be accepted; a 1001-octet line may be
    refused, and is, as a whole message (554 5.6.0) with nothing stored."""
    longest = b"." + b"d" * 997 + b"\r\n"
    assert len(longest) == 1000
    content = b"Subject: long lines\r\n\r\n" + longest + b"e" * 998 + b"\r\n"
    code, _ = send(server, SENDER, ["alice@example.test"], content)
    assert code == 250
    [stored] = server.messages("alice@example.test")
    assert split_trace(stored)[1] == content
    with smtplib.SMTP(*server.smtp, timeout=10) as client:
        client.ehlo("client.example.test")
        client.mail(SENDER)
        client.rcpt("bob@example.test")
        code, text = client.data(b"Subject: too long\r\n\r\n" + b"f" * 999 + b"\r\n")
    assert code == 554
    assert text.startswith(b"5.6.0 ")
    assert server.messages("bob@example.test") == []


def test_quoted_and_source_routed_recipients_reach_the_same_mailbox(
        server: RunningServer) -> None:
    """RFC 5321 §4.1.2 MUST: for local parts "all quoted forms MUST be treated as
    equivalent" — <"alice"@example.test> is alice; §3.3 MUST: servers "MUST be prepared
    to encounter a list of source routes in the forward-path, but they SHOULD ignore the
    routes" (Appendix C). A quoted reverse-path is kept as such in Return-Path (§4.4)."""
    with smtplib.SMTP(*server.smtp, timeout=10) as client:
        client.ehlo("client.example.test")
        assert client.mail('"john smith"@elsewhere.test')[0] == 250
        assert client.rcpt('"alice"@example.test')[0] == 250
        assert client.docmd("RCPT", "TO:<@relay.test,@other.test:bob@example.test>"
                            )[0] == 250
        assert client.data(b"Subject: quoted\r\n\r\n")[0] == 250
    for account in ("alice@example.test", "bob@example.test"):
        [stored] = server.messages(account)
        assert stored.startswith(b'Return-Path: <"john smith"@elsewhere.test>\r\n')


def test_a_client_over_ipv6_is_named_by_an_ipv6_address_literal(
        tmp_path: Path, ca: trustme.CA) -> None:
    """RFC 5321 §4.4: the FROM clause carries the client's address as an address literal;
    §4.1.3: IPv6-address-literal = "IPv6:" IPv6-addr."""
    try:
        socket.socket(socket.AF_INET6).close()
    except OSError:
        pytest.skip("no IPv6 on this host")
    running = start_server(tmp_path, ca, smtp={"listen": "[::1]:0"})
    try:
        with smtplib.SMTP("::1", running.smtp[1], timeout=10) as client:
            assert client.sendmail(SENDER, ["alice@example.test"], message("v6")) == {}
        [stored] = running.messages("alice@example.test")
        assert b" ([IPv6:::1])\r\n\tby mx.example.test with ESMTP id " in stored
        [envelope] = running.envelopes("alice@example.test")
        assert envelope.client_address == "::1"
    finally:
        running.shutdown()


def test_quit_ends_the_session_and_commands_pipelined_after_it_get_no_reply(
        server: RunningServer) -> None:
    """RFC 5321 §4.1.1.10: "The receiver MUST send a "221 OK" reply, and then close the
    transmission channel"; nothing sent after QUIT is executed."""
    with RawClient(server.smtp) as client:
        client.ehlo()
        client.send(b"QUIT\r\nMAIL FROM:<x@elsewhere.test>\r\nRCPT TO:<alice@example.test>"
                    b"\r\nDATA\r\nSubject: after quit\r\n\r\n.\r\n")
        goodbye = client.reply()
        assert (goodbye.code, enhanced(goodbye)) == (221, "2.0.0")
        expect_closed(client)
    assert server.total_messages() == 0


def test_a_local_domain_written_in_u_labels_is_the_same_domain(server: RunningServer) -> None:
    """RFC 6531 §3.2: an SMTPUTF8 client "MAY transmit the domain parts of mailbox names
    within SMTP commands ... as A-labels or U-labels"; both name the same domain (RFC 5890
    §2.3.2.1), so mail for <carol@δοκιμή.test> reaches the account of the local domain
    xn--jxalpdlp.test, as mail for its A-label form does (one copy for both RCPTs)."""
    async def idn_domain(store: MailStore) -> None:
        await store.add_domain("xn--jxalpdlp.test")
        await store.add_account("carol@xn--jxalpdlp.test", "unused-credentials")

    server.with_store(idn_domain)
    with smtplib.SMTP(*server.smtp, timeout=10) as client:
        refused = client.sendmail(SENDER, ["carol@δοκιμή.test", "Carol@XN--JXALPDLP.test"],
                                  b"Subject: idn\r\n\r\n", mail_options=["SMTPUTF8"])
    assert refused == {}
    [stored] = server.messages("carol@xn--jxalpdlp.test")
    assert split_trace(stored)[0]["protocol"] == b"UTF8SMTP"
