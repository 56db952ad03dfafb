"""RFC 5321 mail data: DATA (§4.1.1.4), transparency (§4.5.2), the end of the data and
bare line ends (§4.1.1.4, §2.3.8: SMTP smuggling), trace fields (§4.4), and the sizes a
receiver must take (§4.5.3.1.6, §4.5.3.1.7). Stored copies are read back over IMAP when
the target offers it (with ``--target reference`` it does)."""

from __future__ import annotations

import dataclasses
import re

import pytest

from conformance.drivers.smtp import SmtpDriver
from conformance.suites.smtp.support import (
    SENDER,
    KnownMessage,
    Mailstore,
    Observe,
    check_stored_as_sent,
    ehlo,
    expect,
    in_step,
    known_message,
    open_transaction,
    prepended_fields,
    stored_copy,
)
from conformance.targets import Account, TargetSpec

pytestmark = pytest.mark.protocol("smtp")

# RFC 5322 §3.3 date-time, without obs- forms (RFC 5321 §4.4: "the "obs-" forms,
# especially two-digit years, are prohibited in SMTP and MUST NOT be used").
_DATE_TIME = re.compile(
    rb"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)\s*,\s*)?\d{1,2}\s+"
    rb"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\s+\d{4}\s+"
    rb"\d{2}:\d{2}(?::\d{2})?\s+[+-]\d{4}(?:\s*\([^)]*\))?\s*$")


def unfolded(field: bytes) -> bytes:
    return re.sub(rb"\r\n[ \t]", b" ", field)


def stored_as_sent(smtp: SmtpDriver, recipient: str, mailstore: Mailstore,
                   message: KnownMessage, observe: Observe, what: str) -> None:
    """Send ``message`` to ``recipient`` in a transaction of its own, assert its 250, and
    (with IMAP) that it is stored as sent, behind trace fields only (RFC 5321 §4.4)."""
    mailstore.expect(message)
    open_transaction(smtp, recipient)
    expect(smtp.data(message.raw), 250, what=what)
    check_stored_as_sent(mailstore, message, observe)


@pytest.mark.requirement(rfc=5321, section="4.5.2", level="MUST")
@pytest.mark.requirement(rfc=5321, section="4.1.1.4", level="MUST",
                         ids=("RFC5321-4.1.1.4-6",))
@pytest.mark.requirement(rfc=5321, section="4.4", level="MUST", ids=("RFC5321-4.4-7",))
@pytest.mark.requirement(rfc=5321, section="2.1", level="MUST", ids=("RFC5321-2.1-2",))
@pytest.mark.requirement(rfc=5321, section="6.1", level="MUST NOT", ids=("RFC5321-6.1-1",))
@pytest.mark.requirement(rfc=5321, section="4.1.1.4", level="MUST NOT", ids=("RFC5321-4.1.1.4-2",))
def test_message_is_stored_exactly_as_sent(smtp: SmtpDriver, recipient: str,
                                           mailstore: Mailstore, observe: Observe) -> None:
    """RFC 5321 §4.5.2: the receiver removes the period the sender added to lines that
    begin with one; nothing else changes ("the SMTP server ... checks the line. If the
    line is composed of a single period, it is treated as the end of mail indicator. If
    the first character is a period and there are other characters on the line, the
    first character is deleted."). Lines ".", "..", ". " and ".x" come back as sent, with
    only trace fields in front (§4.4: "SMTP servers MUST prepend Received lines"), and
    the last line ends the message (§4.1.1.4: "the first <CRLF> of this terminating
    sequence is also the <CRLF> that ends the final line of the data. An extra <CRLF> MUST
    NOT be added, as that would cause an empty line to be added to the message")."""
    body = (b"Lines that begin with a period:\r\n.\r\n..\r\n. \r\n.leading\r\n"
            b"...three\r\n\r\nand others:\r\nends with a period.\r\n  indented\r\n"
            b"\ttabbed\r\ntrailing space \r\n\r\n\r\nlast line\r\n")
    message = known_message(recipient, subject="transparency", body=body)
    stored_as_sent(smtp, recipient, mailstore, message, observe,
                   what="the end of the mail data")


@pytest.mark.requirement(rfc=5321, section="4.5.2", level="MUST")
def test_the_server_deletes_the_first_period_of_a_line(smtp: SmtpDriver, recipient: str,
                                                       mailstore: Mailstore,
                                                       observe: Observe) -> None:
    """RFC 5321 §4.5.2: "If the first character is a period and there are other
    characters on the line, the first character is deleted" - whatever follows it. Sent
    as they are (not stuffed): ".x" is stored as "x", ". " as " ", "..y" as ".y"; none of
    them ends the data."""
    message = known_message(recipient, subject="unstuffing", body=b"")
    mailstore.expect(message)
    open_transaction(smtp, recipient)
    expect(smtp.command("DATA"), 354, what="DATA")
    smtp.send(message.raw + b".x\r\n. \r\n..y\r\nz\r\n.\r\n")
    expect(smtp.read_reply(), 250, what="the end of the mail data")
    stored = stored_copy(mailstore, message, observe)
    if stored is not None:
        prepended_fields(stored, message.raw + b"x\r\n \r\n.y\r\nz\r\n")


@pytest.mark.requirement(rfc=5321, section="4.1.1.4", level="MUST NOT",
                         ids=("RFC5321-4.1.1.4-4", "RFC5321-4.1.1.4-5"))
@pytest.mark.requirement(rfc=5321, section="2.3.8", level="MUST NOT", ids=("RFC5321-2.3.8-1",))
@pytest.mark.parametrize("sequence", [b"\n.\n", b"\n.\r\n", b"\r\n.\n", b"\r.\r"],
                         ids=["LF.LF", "LF.CRLF", "CRLF.LF", "CR.CR"])
def test_only_crlf_dot_crlf_ends_the_mail_data(smtp: SmtpDriver, recipient: str,
                                               mailstore: Mailstore, sequence: bytes) -> None:
    """RFC 5321 §4.1.1.4: "the sequence "<LF>.<LF>" (bare line feeds, without carriage
    returns) MUST NOT be treated as equivalent to <CRLF>.<CRLF> as the end of mail data
    indication" (SMTP smuggling, CVE-2023-51764/51765/51766, uses such sequences to end a
    message early and have what follows read as commands). The data holds the sequence,
    then "RSET" and another line, then the real end: the server answers the data once
    (accepted or refused) and RSET is never run, so QUIT's 221 comes next."""
    message = known_message(recipient, subject="end of data", body=b"")
    mailstore.expect(message)
    open_transaction(smtp, recipient)
    expect(smtp.command("DATA"), 354, what="DATA")
    smtp.send(message.raw + b"before" + sequence + b"RSET\r\nafter\r\n.\r\n")
    reply = smtp.read_reply()
    assert reply.code == 250 or reply.code >= 400, f"the mail data was answered {reply}"
    in_step(smtp, f"after mail data holding {sequence!r}")
    if reply.code == 250 and mailstore.available:
        stored = mailstore.fetch(message)
        assert stored is not None and b"RSET" in stored and b"after" in stored, (
            f"the data was accepted, but the stored message lacks what followed "
            f"{sequence!r}: {stored!r}")


@pytest.mark.requirement(rfc=5321, section="4.4", level="MUST",
                         ids=("RFC5321-4.4-1", "RFC5321-4.4-2", "RFC5321-4.4-3",
                              "RFC5321-4.4-11"))
@pytest.mark.requirement(rfc=5321, section="4.4", level="MUST NOT", ids=("RFC5321-4.4-26",))
@pytest.mark.requirement(rfc=5321, section="2.4", level="MUST",
                         ids=("RFC5321-2.4-2", "RFC5321-2.4-3"))
@pytest.mark.requirement(rfc=4954, section="7", level="MUST", ids=("RFC4954-7-1",))
@pytest.mark.requirement(rfc=5321, section="F.5", level="MUST", ids=("RFC5321-F.5-1",))
def test_trace_fields_are_prepended(smtp: SmtpDriver, recipient: str, mailstore: Mailstore,
                                    observe: Observe) -> None:
    """RFC 5321 §4.4: the server "MUST insert trace ("time stamp" or "Received")
    information at the beginning of the message content"; "The FROM clause ... MUST be
    supplied"; 'Stamp = From-domain By-domain Opt-info [CFWS] ";" FWS date-time' with a
    four-digit year; at final delivery "it inserts a return-path line" ("This use of
    return-path is required"), 'Return-path-line = "Return-Path:" FWS Reverse-path
    <CRLF>', the sender's local part in its case (§2.4: "MUST take care to preserve the
    case of mailbox local-parts")."""
    message = known_message(recipient, subject="trace fields")
    mailstore.expect(message)
    open_transaction(smtp, recipient)
    expect(smtp.data(message.raw), 250, what="the end of the mail data")
    stored = stored_copy(mailstore, message, observe)
    if stored is None:
        return
    fields = [unfolded(f) for f in prepended_fields(stored, message.raw)]
    received = [f for f in fields if f.lower().startswith(b"received:")]
    assert received, f"no Received field was prepended: {fields}"
    stamp = received[0][len(b"Received:"):]
    assert re.match(rb"\s*from\s+\S", stamp, re.IGNORECASE), (
        f"the first Received field has no FROM clause first: {received[0]!r}")
    assert re.search(rb"\sby\s+\S", stamp, re.IGNORECASE), (
        f"the first Received field has no BY clause: {received[0]!r}")
    date_time = stamp.rpartition(b";")[2]
    assert _DATE_TIME.match(date_time.strip()), (
        f"the first Received field does not end with '; date-time' (four-digit year): "
        f"{received[0]!r}")
    return_paths = [f for f in fields if f.lower().startswith(b"return-path:")]
    assert return_paths, f"no Return-Path field was prepended at final delivery: {fields}"
    value = return_paths[0][len(b"Return-Path:"):].strip()
    assert value == f"<{SENDER}>".encode(), (
        f"Return-Path is {value!r}, not the reverse-path <{SENDER}> as sent (case kept)")


@pytest.mark.requirement(rfc=5321, section="4.4", level="MUST", ids=("RFC5321-4.4-5",))
def test_received_for_clause_names_one_path(smtp: SmtpDriver, recipient: str,
                                            mailstore: Mailstore, observe: Observe) -> None:
    """RFC 5321 §4.4: "If the FOR clause appears, it MUST contain exactly one <path>
    entry, even when multiple RCPT commands have been given." Two RCPTs (the same
    mailbox twice), one message."""
    message = known_message(recipient, subject="for clause")
    mailstore.expect(message)
    open_transaction(smtp, recipient)
    expect(smtp.rcpt_to(recipient), 250, 251, what="a second RCPT")
    expect(smtp.data(message.raw), 250, what="the end of the mail data")
    stored = stored_copy(mailstore, message, observe)
    if stored is None:
        return
    for field in prepended_fields(stored, message.raw):
        line = unfolded(field)
        if not line.lower().startswith(b"received:"):
            continue
        clause = re.search(rb"\sfor\s+(.*?)\s*;", line, re.IGNORECASE)
        if clause is not None:
            paths = re.findall(rb"<[^>]*>|[^\s<>]+@[^\s<>;]+", clause.group(1))
            assert len(paths) == 1, f"a FOR clause names {len(paths)} paths: {line!r}"


@pytest.mark.requirement(rfc=5321, section="4.5.3.1.7", level="MUST", ids=("RFC5321-4.5.3.1.7-1",))
def test_a_message_of_64k_octets_is_accepted(smtp: SmtpDriver, recipient: str,
                                             mailstore: Mailstore, observe: Observe) -> None:
    """RFC 5321 §4.5.3.1.7: "The maximum total length of a message content (including any
    message header section as well as the message body) MUST BE at least 64K octets." """
    line = b"0123456789" * 7 + b"abcdef\r\n"                  # 78 octets
    message = known_message(recipient, subject="64K", body=line * 841)   # 65598 + header
    assert len(message.raw) >= 65536
    stored_as_sent(smtp, recipient, mailstore, message, observe,
                   what=f"a message of {len(message.raw)} octets")


@pytest.mark.requirement(rfc=5321, section="4.5.3.1", level="MUST", ids=("RFC5321-4.5.3.1-1",))
@pytest.mark.requirement(rfc=5321, section="4.5.3.1.6", level="MUST")
def test_text_lines_of_1000_octets_are_accepted(smtp: SmtpDriver, recipient: str,
                                                mailstore: Mailstore, observe: Observe) -> None:
    """RFC 5321 §4.5.3.1.6: "The maximum total length of a text line including the <CRLF>
    is 1000 octets (not counting the leading dot duplicated for transparency)"; every
    receiver MUST take such lines (§4.5.3.1). One line of 998 octets and CRLF, and one
    that begins with a period (1001 octets on the wire once stuffed)."""
    body = b"x" * 998 + b"\r\n" + b"." + b"y" * 997 + b"\r\n"
    message = known_message(recipient, subject="1000-octet lines", body=body)
    stored_as_sent(smtp, recipient, mailstore, message, observe,
                   what="a message with 1000-octet lines")


@pytest.mark.requirement(rfc=5321, section="3.3", level="MUST NOT", ids=("RFC5321-3.3-10",))
def test_data_is_not_invited_after_a_refused_mail(smtp: SmtpDriver) -> None:
    """RFC 5321 §3.3: "message data MUST NOT be sent unless a 354 reply is received": the
    server's side is never to answer 354 to DATA when MAIL was refused (here: a MAIL with
    an unknown parameter, 555 by §4.1.1.11), so no data can follow."""
    ehlo(smtp)
    refused = smtp.mail_from(SENDER, "XCONFORMANCE-UNKNOWN=1")
    if refused.code < 400:
        smtp.command("RSET")
        pytest.skip(f"not observed: MAIL with an unknown parameter was accepted ({refused})")
    reply = smtp.command("DATA")
    if reply.code == 354:
        smtp.send(b".\r\n")
        smtp.read_reply()
    expect(reply, 503, 554, what="DATA after a refused MAIL")
    in_step(smtp, "after DATA with no transaction")


@pytest.mark.requirement(rfc=5321, section="4.4", level="MUST NOT", ids=("RFC5321-4.4-6",))
@pytest.mark.requirement(rfc=5321, section="4.4", level="MUST", ids=("RFC5321-4.4-7",))
@pytest.mark.requirement(rfc=5321, section="3.7.2", level="MUST NOT", ids=("RFC5321-3.7.2-2",))
def test_trace_fields_already_in_the_message_are_kept(smtp: SmtpDriver, recipient: str,
                                                      mailstore: Mailstore,
                                                      observe: Observe) -> None:
    """RFC 5321 §4.4: "An Internet mail program MUST NOT change or delete a Received: line
    that was previously added to the message header section"; "they MUST NOT change the
    order of existing lines or insert Received lines in any other location"; §3.7.2:
    "receiving systems MUST NOT reject mail based on the format of a trace header field".
    Two Received fields arrive, one of them malformed; both are stored as they came."""
    received = [b"Received: from relay.conformance.test (relay.conformance.test [192.0.2.1])"
                b"\r\n\tby mx.conformance.test with ESMTP id 1;\r\n\t"
                b"Mon, 02 Mar 2026 09:59:00 +0000",
                b"Received: this one is not a Stamp at all"]
    base = known_message(recipient, subject="earlier trace fields")
    message = KnownMessage(base.token, b"\r\n".join(received) + b"\r\n" + base.raw)
    stored_as_sent(smtp, recipient, mailstore, message, observe,
                   what="a message with earlier (and malformed) Received fields")


@pytest.mark.requirement(rfc=5321, section="4.1.1.10", level="MUST", ids=("RFC5321-4.1.1.10-4",))
def test_a_transaction_cut_off_by_a_closed_connection_is_not_delivered(
        smtp: SmtpDriver, recipient: str, mailstore: Mailstore) -> None:
    """RFC 5321 §4.1.1.10: "If the connection is closed prematurely ... the server MUST
    cancel any pending transaction, but not undo any previously completed transaction".
    One message is completed (250), a second is cut off in its data by closing the
    connection: the first is delivered, the second never shows up (waited for 3 s)."""
    if not mailstore.available:
        pytest.skip("UNSUPPORTED: the target offers no IMAP to see what was delivered")
    done = known_message(recipient, subject="completed before the close")
    cut = known_message(recipient, subject="cut off by the close")
    mailstore.expect(cut)
    open_transaction(smtp, recipient)
    expect(smtp.data(done.raw), 250, what="the first message")
    expect(smtp.mail_from(SENDER), 250, what="MAIL")
    expect(smtp.rcpt_to(recipient), 250, 251, what="RCPT")
    expect(smtp.command("DATA"), 354, what="DATA")
    smtp.send(cut.raw)                       # no CRLF.CRLF
    smtp.close()
    assert mailstore.fetch(done) is not None, (
        "the message completed with 250 before the connection closed is not in the INBOX")
    stored = mailstore.fetch(cut, wait=3.0)
    assert stored is None, "a message whose data never ended was delivered"


@pytest.mark.requirement(rfc=5321, section="3.3", level="MUST NOT", ids=("RFC5321-3.3-13",))
def test_unmatched_resent_fields_are_not_a_reason_to_refuse(smtp: SmtpDriver, recipient: str,
                                                            mailstore: Mailstore) -> None:
    """RFC 5321 §3.3: "they MUST NOT reject messages in which the numbers of
    Resent-header fields do not match or Resent-to appears without Resent-from and/or
    Resent-date." """
    message = known_message(recipient, subject="resent fields",
                            headers=[f"Resent-To: <{recipient}>".encode(),
                                     b"Resent-To: <other@conformance.test>",
                                     b"Resent-Message-ID: <resent@conformance.test>"])
    mailstore.expect(message)
    open_transaction(smtp, recipient)
    expect(smtp.data(message.raw), 250, what="a message with Resent-To and no Resent-From")


@pytest.mark.requirement(rfc=5321, section="4.2.5", level="MUST NOT",
                         ids=("RFC5321-4.2.5-1", "RFC5321-4.2.5-3"))
@pytest.mark.requirement(rfc=5321, section="4.1.1.4", level="MUST", ids=("RFC5321-4.1.1.4-7",))
def test_the_reply_to_the_data_says_whether_the_message_is_delivered(
        smtp: SmtpDriver, recipient: str, mailstore: Mailstore) -> None:
    """RFC 5321 §4.2.5: "When an SMTP server returns a temporary error status (4yz) code
    after the DATA command is completed with <CRLF>.<CRLF>, it MUST NOT make a subsequent
    attempt to deliver that message", and after a 5yz "it MUST NOT make any subsequent
    attempt"; §4.1.1.4: "If the processing fails, the receiver MUST send a failure reply".
    A message with a bare LF in its body (§2.3.8 forbids it; servers refuse it or take
    it): refused, it never shows up (waited for 3 s); accepted (250), it does."""
    if not mailstore.available:
        pytest.skip("UNSUPPORTED: the target offers no IMAP to see what was delivered")
    message = known_message(recipient, subject="bare LF", body=b"bare\nLF\r\n")
    mailstore.expect(message)
    open_transaction(smtp, recipient)
    expect(smtp.command("DATA"), 354, what="DATA")
    smtp.send(message.raw + b".\r\n")
    reply = smtp.read_reply()
    if reply.code == 250:
        assert mailstore.fetch(message) is not None, (
            f"the message was accepted ({reply}) but is not in the INBOX")
    else:
        assert reply.code >= 400, f"the end of the mail data was answered {reply}"
        assert mailstore.fetch(message, wait=3.0) is None, (
            f"the message was refused ({reply}) and delivered all the same")
    in_step(smtp, "after the message with a bare LF")


@pytest.mark.requirement(rfc=5321, section="4.1.1.3", level="MUST NOT", ids=("RFC5321-4.1.1.3-3",))
def test_no_name_is_added_to_a_routed_reverse_path(smtp: SmtpDriver, recipient: str,
                                                   mailstore: Mailstore,
                                                   observe: Observe) -> None:
    """RFC 5321 §4.1.1.3: "relay hosts SHOULD strip or ignore source routes, and names
    MUST NOT be copied into the reverse-path"; the Return-Path of final delivery (§4.4)
    is the reverse-path as sent, or its mailbox alone, and names nothing else."""
    route = "@relay.conformance.test"
    ehlo(smtp)
    reply = smtp.mail_from(f"{route}:{SENDER}")
    if reply.code != 250:
        smtp.command("RSET")
        pytest.skip(f"not observed: MAIL with a source route was refused ({reply})")
    expect(smtp.rcpt_to(recipient), 250, 251, what="RCPT")
    message = known_message(recipient, subject="routed reverse-path")
    mailstore.expect(message)
    expect(smtp.data(message.raw), 250, what="the end of the mail data")
    stored = stored_copy(mailstore, message, observe)
    if stored is None:
        return
    fields = [unfolded(f) for f in prepended_fields(stored, message.raw)]
    paths = [f[len(b"Return-Path:"):].strip() for f in fields
             if f.lower().startswith(b"return-path:")]
    assert paths, f"no Return-Path field was prepended at final delivery: {fields}"
    assert paths[0] in (f"<{SENDER}>".encode(), f"<{route}:{SENDER}>".encode()), (
        f"Return-Path is {paths[0]!r}: neither the reverse-path as sent nor its mailbox")


@pytest.mark.requirement(rfc=5321, section="C", level="MUST NOT", ids=("RFC5321-C-7",))
@pytest.mark.accounts(2)
def test_the_envelope_not_the_header_says_where_the_message_goes(
        smtp: SmtpDriver, target: TargetSpec, accounts: list[Account], recipient: str,
        mailstore: Mailstore) -> None:
    """RFC 5321 Appendix C: "SMTP servers MUST NOT derive final message routing
    information from message header fields." A message whose To: names the second
    account, sent with RCPT to the first: the first gets it, the second never does
    (waited for 3 s)."""
    if mailstore.spec is None or len(mailstore.spec.accounts) < 2:
        pytest.skip("UNSUPPORTED: the target offers no IMAP with a second account")
    other = target.address(accounts[1])
    message = known_message(other, subject="header recipients",
                            headers=[f"Cc: <{other}>".encode()])
    mailstore.expect(message)
    others = Mailstore(dataclasses.replace(mailstore.spec,
                                           accounts=(mailstore.spec.accounts[1],)),
                       mailstore.timeout)
    others.expect(message)
    try:
        open_transaction(smtp, recipient)
        expect(smtp.data(message.raw), 250, what="the end of the mail data")
        assert mailstore.fetch(message) is not None, (
            f"the message sent to {recipient} (with To: {other}) is not in its INBOX")
        assert others.fetch(message, wait=3.0) is None, (
            f"the message sent to {recipient} only was delivered to {other}, named in "
            "its header fields")
    finally:
        others.cleanup()


@pytest.mark.requirement(rfc=5321, section="4.5.3.1.8", level="MUST NOT",
                         ids=("RFC5321-4.5.3.1.8-2",))
def test_many_recipients_in_header_fields_are_not_a_reason_to_refuse(
        smtp: SmtpDriver, recipient: str, mailstore: Mailstore, observe: Observe) -> None:
    """RFC 5321 §4.5.3.1.8: "relaying SMTP server MUST NOT, and delivery SMTP servers
    SHOULD NOT, perform validation tests on message header fields suggests that messages
    SHOULD NOT be rejected based on the total number of recipients shown in header
    fields": a message whose To: and Cc: name 300 addresses, sent to one, is taken."""
    names = [f"<conformance-{n}@example.com>".encode() for n in range(300)]
    to = b"To: " + b",\r\n ".join(names[:150])
    cc = b"Cc: " + b",\r\n ".join(names[150:])
    base = known_message(recipient, subject="many header recipients")
    head, _, body = base.raw.partition(b"\r\n\r\n")
    head = b"\r\n".join(line for line in head.split(b"\r\n") if not line.startswith(b"To:"))
    message = KnownMessage(base.token, head + b"\r\n" + to + b"\r\n" + cc + b"\r\n\r\n"
                           + body)
    stored_as_sent(smtp, recipient, mailstore, message, observe,
                   what="a message naming 300 recipients in its header")


@pytest.mark.requirement(rfc=5321, section="6.3", level="MUST", ids=("RFC5321-6.3-2",))
@pytest.mark.requirement(rfc=5321, section="6.3", level="SHOULD", ids=("RFC5321-6.3-1",))
@pytest.mark.informational
def test_a_message_with_many_received_fields(smtp: SmtpDriver, recipient: str,
                                             mailstore: Mailstore, observe: Observe) -> None:
    """RFC 5321 §6.3: "servers MUST contain provisions for detecting and stopping trivial
    loops"; "Simple counting of the number of "Received:" header fields in a message has
    proven to be an effective, although rarely optimal, method", with a threshold of
    "normally at least 100". A server that only delivers locally cannot loop, so what a
    message with 150 Received fields gets is recorded."""
    hop = (b"Received: from hop.conformance.test by hop.conformance.test with ESMTP;\r\n"
           b"\tMon, 02 Mar 2026 09:00:00 +0000")
    base = known_message(recipient, subject="150 hops")
    message = KnownMessage(base.token, b"\r\n".join([hop] * 150) + b"\r\n" + base.raw)
    mailstore.expect(message)
    open_transaction(smtp, recipient)
    observe("150 Received fields", str(smtp.data(message.raw)))
