"""The known messages the IMAP suite APPENDs, and what RFC 9051 §7.5.2 says a server
must report for each: ENVELOPE, BODYSTRUCTURE and the octets of every section.

Every expectation is derived here from the octets themselves (part bodies are sliced out
of the message as §6.4.5.1 defines them), never copied from a server's answer, so a
test compares a target with the RFC, not with another implementation. Text bodies end
with CRLF before the boundary's own CRLF (RFC 2046 §5.1.1: "The CRLF preceding the
boundary delimiter line is conceptually attached to the boundary"), so the line counts
of §7.5.2 ("the size of the body in text lines") are unambiguous.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone

CRLF = b"\r\n"


def _lines(*lines: str) -> bytes:
    return b"".join(line.encode("ascii") + CRLF for line in lines)


@dataclass(frozen=True)
class KnownMessage:
    """A message to APPEND and the values a server must derive from it."""

    name: str
    raw: bytes
    # APPEND's date-time argument (RFC 9051 §6.3.12) and the instant it denotes.
    internal_date: str
    internal_instant: datetime
    # The ENVELOPE of §7.5.2 as parsed values (see reference.imap.values).
    envelope: tuple[object, ...]
    # section name (see support.section_name) -> octets
    sections: dict[str, bytes] = field(default_factory=dict)

    @property
    def header(self) -> bytes:
        """The RFC 5322 header with its delimiting blank line (§6.4.5.1 HEADER)."""
        return self.raw[:self.raw.index(CRLF + CRLF) + 4]

    @property
    def text(self) -> bytes:
        """The body after the blank line (§6.4.5.1 TEXT)."""
        return self.raw[self.raw.index(CRLF + CRLF) + 4:]


def _address(name: str | None, mailbox: str, host: str) -> tuple[object, ...]:
    # address = "(" addr-name SP addr-adl SP addr-mailbox SP addr-host ")"
    return (name, None, mailbox, host)


# --- 1. A single-part text message with every envelope field present -------------------

SIMPLE_BODY = _lines(
    "Hello Bob,",
    "this is the simple conformance message; its rare word is zebracorn.",
    "Bye",
)
SIMPLE = KnownMessage(
    name="simple",
    raw=_lines(
        "Date: Mon, 17 Jul 2023 09:08:07 +0200",
        'From: "Alice Example" <alice@example.org>',
        "Sender: Secretary <sec@example.org>",
        "Reply-To: replies@example.org",
        "To: Bob <bob@example.net>, carol@example.net",
        'Cc: "Dave D." <dave@example.com>',
        "Bcc: eve@example.com",
        "Subject: Conformance simple",
        "Message-ID: <simple.1@conformance.example.org>",
        "In-Reply-To: <parent.0@conformance.example.org>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=us-ascii",
        "Content-Transfer-Encoding: 7bit",
        "X-Conformance: alpha-marker",
        "",
    ) + SIMPLE_BODY,
    internal_date="17-Jul-2023 09:08:07 +0200",
    internal_instant=datetime(2023, 7, 17, 9, 8, 7, tzinfo=timezone(timedelta(hours=2))),
    envelope=(
        "Mon, 17 Jul 2023 09:08:07 +0200",
        "Conformance simple",
        (_address("Alice Example", "alice", "example.org"),),
        (_address("Secretary", "sec", "example.org"),),
        (_address(None, "replies", "example.org"),),
        (_address("Bob", "bob", "example.net"), _address(None, "carol", "example.net")),
        (_address("Dave D.", "dave", "example.com"),),
        (_address(None, "eve", "example.com"),),
        "<parent.0@conformance.example.org>",
        "<simple.1@conformance.example.org>",
    ),
)
# ("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" size lines)
SIMPLE_STRUCTURE = ("TEXT", "PLAIN", (("CHARSET", "us-ascii"),), None, None, "7BIT",
                    len(SIMPLE_BODY), SIMPLE_BODY.count(CRLF))


# --- 2. Defaults: absent Sender/Reply-To/Subject/Message-ID, group syntax ---------------

DEFAULTS = KnownMessage(
    name="defaults",
    raw=_lines(
        "Date: Tue, 18 Jul 2023 10:00:00 +0000",
        "From: Frank <frank@example.org>",
        "To: undisclosed-recipients:;",
        'Cc: Team: gina@example.org, "Hank H" <hank@example.org>;',
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=us-ascii",
        "",
        "No subject, no sender, no reply-to, no message-id.",
    ),
    internal_date="18-Jul-2023 10:00:00 +0000",
    internal_instant=datetime(2023, 7, 18, 10, 0, 0, tzinfo=UTC),
    envelope=(
        "Tue, 18 Jul 2023 10:00:00 +0000",
        None,                                                 # Subject absent: NIL
        (_address("Frank", "frank", "example.org"),),
        (_address("Frank", "frank", "example.org"),),         # Sender absent: = from
        (_address("Frank", "frank", "example.org"),),         # Reply-To absent: = from
        # group syntax: start marker (mailbox = group name, host NIL), end marker all NIL
        ((None, None, "undisclosed-recipients", None), (None, None, None, None)),
        ((None, None, "Team", None), _address(None, "gina", "example.org"),
         _address("Hank H", "hank", "example.org"), (None, None, None, None)),
        None,                                                 # Bcc absent: NIL
        None,                                                 # In-Reply-To absent: NIL
        None,                                                 # Message-ID absent: NIL
    ),
)


# --- 3. multipart/mixed: text, base64 attachment, message/rfc822 ------------------------

OUTER_BOUNDARY = "=_conformance_outer"
PART1_HEADER = _lines("Content-Type: text/plain; charset=us-ascii",
                      "Content-Transfer-Encoding: 7bit", "")
PART1_BODY = _lines("First part, plain text.", "It has three lines", "and mentions quokka.")
ATTACHMENT = bytes(range(32))
PART2_HEADER = _lines(
    'Content-Type: application/octet-stream; name="data.bin"',
    "Content-Transfer-Encoding: base64",
    "Content-ID: <part2.multi.1@conformance.example.org>",
    "Content-Description: Some binary data",
    'Content-Disposition: attachment; filename="data.bin"',
    "",
)
PART2_BODY = _lines("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
INNER_BODY = _lines("Inner body line one.", "Inner body line two=3D2.")
INNER_HEADER = _lines(
    "Date: Thu, 20 Jul 2023 08:00:00 +0000",
    "From: Kim <kim@example.org>",
    "To: Lee <lee@example.net>",
    "Subject: Inner message",
    "Message-ID: <inner.1@conformance.example.org>",
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=utf-8",
    "Content-Transfer-Encoding: quoted-printable",
    "",
)
INNER = INNER_HEADER + INNER_BODY
PART3_HEADER = _lines("Content-Type: message/rfc822", "")
PART3_BODY = INNER
MULTIPART_HEADER = _lines(
    "Date: Wed, 19 Jul 2023 11:22:33 -0700",
    "From: Ivy <ivy@example.org>",
    "To: Jack <jack@example.net>",
    "Subject: Conformance multipart",
    "Message-ID: <multi.1@conformance.example.org>",
    "MIME-Version: 1.0",
    f'Content-Type: multipart/mixed; boundary="{OUTER_BOUNDARY}"',
    "",
)
_DELIMITER = b"--" + OUTER_BOUNDARY.encode("ascii")
MULTIPART_TEXT = (
    _lines("This is the preamble of a multipart message.")
    + CRLF + _DELIMITER + CRLF + PART1_HEADER + PART1_BODY
    + CRLF + _DELIMITER + CRLF + PART2_HEADER + PART2_BODY
    + CRLF + _DELIMITER + CRLF + PART3_HEADER + PART3_BODY
    + CRLF + _DELIMITER + b"--" + CRLF
)
INNER_ENVELOPE = (
    "Thu, 20 Jul 2023 08:00:00 +0000",
    "Inner message",
    (_address("Kim", "kim", "example.org"),),
    (_address("Kim", "kim", "example.org"),),
    (_address("Kim", "kim", "example.org"),),
    (_address("Lee", "lee", "example.net"),),
    None, None, None,
    "<inner.1@conformance.example.org>",
)
MULTIPART = KnownMessage(
    name="multipart",
    raw=MULTIPART_HEADER + MULTIPART_TEXT,
    internal_date="19-Jul-2023 11:22:33 -0700",
    internal_instant=datetime(2023, 7, 19, 11, 22, 33,
                              tzinfo=timezone(timedelta(hours=-7))),
    envelope=(
        "Wed, 19 Jul 2023 11:22:33 -0700",
        "Conformance multipart",
        (_address("Ivy", "ivy", "example.org"),),
        (_address("Ivy", "ivy", "example.org"),),
        (_address("Ivy", "ivy", "example.org"),),
        (_address("Jack", "jack", "example.net"),),
        None, None, None,
        "<multi.1@conformance.example.org>",
    ),
    sections={
        "1": PART1_BODY,
        "1.MIME": PART1_HEADER,
        "2": PART2_BODY,
        "2.MIME": PART2_HEADER,
        "3": PART3_BODY,
        "3.MIME": PART3_HEADER,
        "3.HEADER": INNER_HEADER,
        "3.TEXT": INNER_BODY,
        "3.1": INNER_BODY,
    },
)


@dataclass(frozen=True)
class Leaf:
    """The basic fields of a non-multipart body (§7.5.2, in order): type, subtype,
    parameters (names case-insensitive; values compared exactly unless listed in
    ``ci_values``), id, description, encoding, size; then lines for TEXT and envelope,
    body, lines for MESSAGE/RFC822. ``disposition`` is checked when the server sends
    extension data."""

    type: str
    subtype: str
    params: tuple[tuple[str, str], ...]
    id: str | None
    description: str | None
    encoding: str
    size: int
    lines: int | None = None
    envelope: tuple[object, ...] | None = None
    inner: Leaf | None = None
    disposition: tuple[str, tuple[tuple[str, str], ...]] | None = None
    ci_values: frozenset[str] = frozenset({"CHARSET"})


@dataclass(frozen=True)
class Multi:
    parts: tuple[Leaf | Multi, ...]
    subtype: str
    params: tuple[tuple[str, str], ...]


MULTIPART_STRUCTURE = Multi(
    parts=(
        Leaf("TEXT", "PLAIN", (("CHARSET", "us-ascii"),), None, None, "7BIT",
             len(PART1_BODY), PART1_BODY.count(CRLF)),
        Leaf("APPLICATION", "OCTET-STREAM", (("NAME", "data.bin"),),
             "<part2.multi.1@conformance.example.org>", "Some binary data", "BASE64",
             len(PART2_BODY), disposition=("ATTACHMENT", (("FILENAME", "data.bin"),))),
        Leaf("MESSAGE", "RFC822", (), None, None, "7BIT", len(PART3_BODY),
             lines=PART3_BODY.count(CRLF), envelope=INNER_ENVELOPE,
             inner=Leaf("TEXT", "PLAIN", (("CHARSET", "utf-8"),), None, None,
                        "QUOTED-PRINTABLE", len(INNER_BODY), INNER_BODY.count(CRLF))),
    ),
    subtype="MIXED",
    params=(("BOUNDARY", OUTER_BOUNDARY),),
)
SIMPLE_LEAF = Leaf("TEXT", "PLAIN", (("CHARSET", "us-ascii"),), None, None, "7BIT",
                   len(SIMPLE_BODY), SIMPLE_BODY.count(CRLF))


def plain(subject: str, body: str = "conformance body", *, extra: str = "") -> bytes:
    """A small well-formed text message (RFC 5322) with the given subject."""
    headers = [
        "Date: Fri, 21 Jul 2023 12:00:00 +0000",
        "From: Conformance <conformance@example.org>",
        "To: Target <target@example.net>",
        f"Subject: {subject}",
        f"Message-ID: <{subject.replace(' ', '.')}@conformance.example.org>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=us-ascii",
    ]
    if extra:
        headers.append(extra)
    return _lines(*headers, "", body)
