"""Regenerate the seed corpora under fuzz/corpus/<target>/: the RFCs' own examples plus
inputs drawn (derandomized, so the output is stable) from fuzz.strategies, valid and
hostile. Run from the repository root: ``.venv/bin/python -m fuzz.harness.make_corpus``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz.strategies import imap, messages, sasl, smtp, smtp_hostile
from reference.smtp.replies import Reply

ROOT = Path(__file__).resolve().parent.parent / "corpus"

# RFC 5321 Appendix D.1 "A Typical SMTP Transaction Scenario" (client side), and the
# extensions' examples: RFC 3030 §4.1 BDAT, RFC 4954 §4 AUTH, RFC 3207 §4 STARTTLS.
SMTP_RFC = [
    b"EHLO bar.com\r\nMAIL FROM:<Smith@bar.com>\r\nRCPT TO:<Jones@foo.com>\r\n"
    b"RCPT TO:<Green@foo.com>\r\nRCPT TO:<Brown@foo.com>\r\nDATA\r\nBlah blah blah...\r\n"
    b"...etc. etc. etc.\r\n.\r\nQUIT\r\n",
    b"EHLO Example.ORG\r\nMAIL FROM:<Sam@Random.com>\r\nRCPT TO:<Susan@Random.com>\r\n"
    b"BDAT 86 LAST\r\n" + b"x" * 86,
    b"EHLO client.example.com\r\nAUTH PLAIN dGVzdAB0ZXN0ADEyMzQ=\r\n",
    b"EHLO client.example.com\r\nAUTH LOGIN\r\ndGVzdA==\r\nMTIzNA==\r\n",
    b"EHLO client.example.com\r\nSTARTTLS\r\nEHLO client.example.com\r\n",
    b"EHLO a\r\nMAIL FROM:<a@b> SIZE=100 BODY=8BITMIME RET=HDRS ENVID=x+2B\r\n"
    b"RCPT TO:<c@d> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;c@d\r\n",
    b"EHLO a\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nx\n.\nMAIL FROM:<e@f>\r\n.\r\n",
]
# RFC 9051 §8 sample dialog (client side), literals (§4.3, RFC 7888), IDLE (§6.3.13).
IMAP_RFC = [
    b"a001 login mrc secret\r\na002 select inbox\r\na003 fetch 12 full\r\n"
    b"a004 fetch 12 body[header]\r\na005 store 12 +flags \\deleted\r\na006 logout\r\n",
    b"A001 LOGIN {11}\r\nFRED FOOBAR {7}\r\nfat man\r\n",
    b"\x01A003 APPEND saved-messages (\\Seen) {5+}\r\nhello\r\n",
    b"\x01A004 IDLE\r\nDONE\r\nA005 SEARCH CHARSET UTF-8 OR FROM x (NOT SEEN SINCE 1-Feb-1994)\r\n",
    b"\x01a UID FETCH 1:*,$ (BODY.PEEK[1.2.HEADER.FIELDS (SUBJECT)]<0.100> BINARY[1])\r\n",
    b"a AUTHENTICATE PLAIN\r\nAGZyZWQAZmF0IG1hbg==\r\n",
    b'\x01a LIST (SUBSCRIBED) "" ("INBOX" "%") RETURN (CHILDREN STATUS (MESSAGES))\r\n',
]
# RFC 9051 §8 sample dialog (server side).
IMAP_RESPONSES_RFC = [
    b"* 172 EXISTS\r\n* 1 RECENT\r\n* OK [UNSEEN 12] Message 12 is first unseen\r\n"
    b"* OK [UIDVALIDITY 3857529045] UIDs valid\r\n* FLAGS (\\Answered \\Flagged \\Deleted "
    b"\\Seen \\Draft)\r\na1 OK [READ-WRITE] SELECT completed\r\n",
    b'* 12 FETCH (FLAGS (\\Seen) INTERNALDATE "17-Jul-1996 02:44:25 -0700" RFC822.SIZE '
    b'4286 ENVELOPE ("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)" "IMAP4rev2 WG mtg summary '
    b'and minutes" (("Terry Gray" NIL "gray" "cac.washington.edu")) NIL NIL NIL NIL NIL '
    b'"<B27397-0100000@cac.washington.edu>") BODY ("TEXT" "PLAIN" ("CHARSET" "US-ASCII") '
    b'NIL NIL "7BIT" 3028 92))\r\na1 OK FETCH completed\r\n',
    b"* 1 FETCH (BODY[HEADER] {10}\r\nSubject: x)\r\n",
    b"* ESEARCH (TAG \"a1\") UID MIN 1 MAX 9 ALL 1:3,9\r\n",
]
# RFC 2046 §5.1.1 example, RFC 2231 §3-4 parameters, RFC 2047 §8 examples.
MESSAGE_RFC = [
    b"From: Nathaniel Borenstein <nsb@bellcore.com>\r\nTo: Ned Freed <ned@innosoft.com>\r\n"
    b"Date: Sun, 21 Mar 1993 23:56:48 -0800 (PST)\r\nSubject: Sample message\r\n"
    b"MIME-Version: 1.0\r\nContent-type: multipart/mixed; boundary=\"simple boundary\"\r\n\r\n"
    b"This is the preamble.\r\n--simple boundary\r\n\r\nThis is implicitly typed plain US-ASCII "
    b"text.\r\n--simple boundary\r\nContent-type: text/plain; charset=us-ascii\r\n\r\n"
    b"This is explicitly typed.\r\n\r\n--simple boundary--\r\n\r\nThis is the epilogue.\r\n",
    b"Content-Type: application/x-stuff;\r\n title*0*=us-ascii'en'This%20is%20even%20more%20"
    b"\r\n title*1*=%2A%2A%2Afun%2A%2A%2A%20\r\n title*2=\"isn't it!\"\r\n\r\nx",
    b"From: =?US-ASCII?Q?Keith_Moore?= <moore@cs.utk.edu>\r\nTo: =?ISO-8859-1?Q?Keld_J="
    b"F8rn_Simonsen?= <keld@dkuug.dk>\r\nCC: =?ISO-8859-1?Q?Andr=E9?= Pirard <PIRARD@vm1.ulg."
    b"ac.be>\r\nSubject: =?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?=\r\n =?ISO-8859-2?B?"
    b"dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?=\r\n\r\n",
    b"To: A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;\r\n"
    b"Cc: Undisclosed recipients:;\r\n\r\n",
    b"Content-Type: message/rfc822\r\n\r\nContent-Type: multipart/digest; boundary=d\r\n\r\n"
    b"--d\r\n\r\nSubject: inner\r\n\r\nx\r\n--d--\r\n",
]
# RFC 5321 Appendix D.1 (server side), RFC 2034 §9 and RFC 4954 §4 examples, multi-line.
SMTP_REPLIES_RFC = [
    b"\x00220 foo.com Simple Mail Transfer Service Ready\r\n250-foo.com greets bar.com\r\n"
    b"250-8BITMIME\r\n250-SIZE\r\n250-DSN\r\n250 HELP\r\n250 OK\r\n"
    b"550 No such user here\r\n354 Start mail input; end with <CRLF>.<CRLF>\r\n"
    b"221 foo.com Service closing transmission channel\r\n",
    b"\x01250 2.1.0 Originator <ned@ymir.claremont.edu> ok\r\n"
    b"550 5.1.1 Mailbox \"nosuchuser\" does not exist\r\n",
    b"\x01334 \r\n235 2.7.0 Authentication successful\r\n",
    b"\x01220 2.0.0 Ready to start TLS\r\n250-injected\r\n250 AUTH PLAIN\r\n",
]
# RFC 4616 §4 (PLAIN), LOGIN, RFC 7677 §3 (SCRAM-SHA-256; the server's nonce is NONCE);
# the first octet picks the mechanism (fuzz.targets.sasl).
SASL_RFC = [
    b"\x00\x00tim\x00tanstaaftanstaaf",
    b"\x00Ursel\x00Kurt\x00xipj3plmq",
    b"\x00\x00user\x00pencil",
    b"\x01tim\ntanstaaftanstaaf",
    b"\x02n,,n=user,r=rOprNGfwEbeRWgbNEkqO\nc=biws,r=NONCE,"
    b"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=\n",
    b"\x02n,,n=user,r=rOprNGfwEbeRWgbNEkqO\n"
    b"r=cli%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
]
# RFC 9051 §9 sequence-set examples ("2,4:7,9,12:*"), §6.4.4.1 "$", edges.
SEQUENCE_SETS_RFC = [b"2,4:7,9,12:*", b"1:*", b"*:4", b"$", b"*", b"4294967295",
                     b"1,3,5,7,9:7", b"2:4,3:5"]


def draw(strategy: st.SearchStrategy[bytes], count: int) -> list[bytes]:
    found: list[bytes] = []

    @settings(max_examples=count, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(data: bytes) -> None:
        if data not in found and len(data) <= 16_384:
            found.append(data)

    collect()
    return found[:count]


def _smtp_session(commands: list[object], content: bytes) -> bytes:
    from reference.smtp.commands import Data
    from reference.smtp.connection import ClientConnection
    from reference.smtp.serializer import write_command

    wire = b"EHLO c.example\r\n"
    for command in commands:
        wire += write_command(command)  # type: ignore[arg-type]
        if isinstance(command, Data):
            wire += ClientConnection.send_data(content)    # RFC 5321 §4.5.2
    return wire


def _imap_wire(command: object) -> bytes:
    from reference.imap.grammar import LiteralForm
    from reference.imap.serializer_commands import write_command

    return b"".join(write_command(command, utf8=True,  # type: ignore[arg-type]
                                  literal_form=LiteralForm.LITERAL_PLUS))


def _smtp_replies(replies: list[Reply]) -> bytes:
    from reference.smtp.serializer import write_reply

    return b"\x01" + b"".join(write_reply(r, enhanced=True) for r in replies)


def corpora() -> dict[str, list[bytes]]:
    from reference.imap.capabilities import Modes
    from reference.imap.serializer import write_response

    rev2 = Modes(advertised=frozenset({"IMAP4REV2"}))
    return {
        "smtp_command": SMTP_RFC + draw(st.builds(
            _smtp_session, st.lists(smtp.commands(utf8=True), max_size=6), smtp.mail_data()), 20)
        + draw(smtp_hostile.hostile_command_bytes().map(lambda b: b"EHLO c.example\r\n" + b),
               12),
        "imap_command": IMAP_RFC + draw(st.lists(imap.commands(utf8=True), min_size=1,
                                                 max_size=4).map(
            lambda cs: b"\x01" + b"".join(map(_imap_wire, cs))), 15)
        + draw(imap.hostile_command_bytes(), 10),
        "imap_response": IMAP_RESPONSES_RFC + draw(imap.responses(utf8=True).map(
            lambda r: write_response(r, rev2)), 15) + draw(imap.hostile_response_bytes(), 8),
        "message": MESSAGE_RFC + draw(messages.messages(utf8=True), 15)
        + draw(messages.hostile_messages(), 10),
        "smtp_reply": SMTP_REPLIES_RFC + draw(st.lists(smtp.replies(), min_size=1, max_size=4)
                                              .map(_smtp_replies), 10)
        + draw(smtp_hostile.hostile_reply_bytes(), 8),
        "sasl": SASL_RFC + draw(st.builds(lambda first, final: b"\x02" + first + b"\n" + final,
                                          sasl.scram_client_first_messages(),
                                          sasl.scram_client_final_messages()), 5)
        + draw(sasl.plain_messages().map(lambda m: b"\x00" + m), 4)
        + draw(sasl.hostile_sasl_messages().map(lambda m: b"\x02" + m), 6),
        "sequence_set": SEQUENCE_SETS_RFC + draw(imap.sequence_sets(max_ranges=20).map(
            lambda s: str(s).encode()), 12),
    }


def main(names: list[str] | None = None) -> None:
    """Regenerate the corpora of ``names`` (all without)."""
    for name, inputs in corpora().items():
        if names and name not in names:
            continue
        folder = ROOT / name
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.iterdir():
            old.unlink()
        for data in inputs:
            (folder / hashlib.sha1(data).hexdigest()[:16]).write_bytes(data)
        print(f"{name}: {len(inputs)} inputs")


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
