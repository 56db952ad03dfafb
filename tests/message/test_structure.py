"""ENVELOPE, BODYSTRUCTURE and BODY (RFC 9051 §7.5.2 and §9), hand-written expectations."""

from __future__ import annotations

import pytest

from reference.message.mime import parse_message
from reference.message.structure import (
    ImapValue,
    body,
    bodystructure,
    envelope_structure,
)
from tests.message import corpus

NIL = None
TERRY = ("Terry Gray", NIL, "gray", "cac.washington.edu")


def test_the_rfc_9051_sample_connection_envelope_and_body() -> None:
    """RFC 9051 §8, "a003 fetch 12 full". The RFC's envelope ends in
    "<B27397-0100000@cac.washington.ed>" while its BODY[HEADER] shows ".edu>": a typo
    in the example; the header field's value is what ENVELOPE holds."""
    message = parse_message(corpus.RFC9051_SAMPLE)
    assert envelope_structure(message.envelope) == (
        "Wed, 17 Jul 1996 02:23:25 -0700 (PDT)",
        "IMAP4rev2 WG mtg summary and minutes",
        (TERRY,), (TERRY,), (TERRY,),
        ((NIL, NIL, "imap", "cac.washington.edu"),),
        ((NIL, NIL, "minutes", "CNRI.Reston.VA.US"),
         ("John Klensin", NIL, "KLENSIN", "MIT.EDU")),
        NIL, NIL,
        "<B27397-0100000@cac.washington.edu>")
    assert body(message) == ("TEXT", "PLAIN", ("CHARSET", "US-ASCII"), NIL, NIL, "7BIT",
                             3028, 92)


def test_the_simple_text_example_with_rfc_2045_defaults() -> None:
    """RFC 9051 §7.5.2: "a simple text message of 48 lines and 2279 octets can have a body
    structure of: ("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 2279 48)". The
    message has no Content-Type: RFC 2045 §5.2 "plain text in the US-ASCII character
    set"; no Content-Transfer-Encoding: RFC 2045 §6.1 "7BIT ... is the default"."""
    message = parse_message(corpus.SIMPLE_TEXT)
    assert body(message) == ("TEXT", "PLAIN", ("CHARSET", "US-ASCII"), NIL, NIL, "7BIT",
                             2279, 48)
    assert bodystructure(message) == ("TEXT", "PLAIN", ("CHARSET", "US-ASCII"), NIL, NIL,
                                      "7BIT", 2279, 48, NIL, NIL, NIL, NIL)


def test_the_two_part_example() -> None:
    """RFC 9051 §7.5.2: "a two-part message consisting of a text and a base64-encoded text
    attachment can have a body structure of" the RFC's list, which is a BODY (no
    extension data)."""
    message = parse_message(corpus.TWO_PART)
    assert body(message) == (
        ("TEXT", "PLAIN", ("CHARSET", "US-ASCII"), NIL, NIL, "7BIT", 1152, 23),
        ("TEXT", "PLAIN", ("CHARSET", "US-ASCII", "NAME", "cc.diff"),
         "<960723163407.20117h@cac.washington.edu>", "Compiler diff", "BASE64", 4554, 73),
        "MIXED")


def test_mixed_with_an_rfc_2231_attachment_name() -> None:
    """RFC 9051 §7.5.2: "if the message contains parameters "foo*0*" and "foo*1*", the
    server should decode them per [RFC2231], convert to UTF-8, concatenate, and return
    the resulting value as a parameter "foo*"". body-ext-mpart follows the subtype."""
    assert bodystructure(parse_message(corpus.MIXED)) == (
        ("TEXT", "PLAIN", ("CHARSET", "utf-8"), NIL, NIL, "QUOTED-PRINTABLE", 12, 1,
         NIL, NIL, NIL, NIL),
        ("APPLICATION", "PDF", ("NAME", "report.pdf"), "<part2@example.test>",
         "The report", "BASE64", 12,
         NIL, ("ATTACHMENT", ("FILENAME*", "résumé 2024.pdf")), NIL, NIL),
        "MIXED", ("BOUNDARY", "outer"), NIL, NIL, NIL)


def test_alternative_nested_in_mixed() -> None:
    assert bodystructure(parse_message(corpus.ALTERNATIVE_IN_MIXED)) == (
        (("TEXT", "PLAIN", ("CHARSET", "us-ascii", "FORMAT", "flowed"), NIL, NIL, "7BIT",
          10, 1, NIL, NIL, NIL, NIL),
         ("TEXT", "HTML", ("CHARSET", "us-ascii"), NIL, NIL, "7BIT", 22, 1,
          NIL, NIL, NIL, NIL),
         "ALTERNATIVE", ("BOUNDARY", "alt-b"), NIL, NIL, NIL),
        ("IMAGE", "PNG", NIL, NIL, NIL, "BASE64", 12,
         NIL, ("INLINE", ("FILENAME", "dot.png")), NIL, NIL),
        "MIXED", ("BOUNDARY", "mixed-b"), NIL, NIL, NIL)
    assert body(parse_message(corpus.ALTERNATIVE_IN_MIXED)) == (
        (("TEXT", "PLAIN", ("CHARSET", "us-ascii", "FORMAT", "flowed"), NIL, NIL, "7BIT",
          10, 1),
         ("TEXT", "HTML", ("CHARSET", "us-ascii"), NIL, NIL, "7BIT", 22, 1),
         "ALTERNATIVE"),
        ("IMAGE", "PNG", NIL, NIL, NIL, "BASE64", 12),
        "MIXED")


FORWARDED_ENVELOPE: ImapValue = (
    "Mon, 7 Feb 1994 21:52:25 -0800 (PST)",
    "=?utf-8?q?Caf=C3=A9?= minutes",                       # not decoded: the client does
    (("=?ISO-8859-1?Q?Andr=E9?= Pirard", NIL, "PIRARD", "vm1.ulg.ac.be"),),
    (("=?ISO-8859-1?Q?Andr=E9?= Pirard", NIL, "PIRARD", "vm1.ulg.ac.be"),),
    (("=?ISO-8859-1?Q?Andr=E9?= Pirard", NIL, "PIRARD", "vm1.ulg.ac.be"),),
    ((NIL, NIL, "Team", NIL),                               # start of group
     (NIL, NIL, "carol", "example.test"),
     ("Dan, D.", NIL, "dan", "example.test"),               # quoting removed
     (NIL, NIL, NIL, NIL)),                                 # end of group
    NIL, NIL,
    "<earlier@example.test>", "<inner@example.test>")


def test_a_message_rfc822_attachment() -> None:
    """body-type-msg = media-message SP body-fields SP envelope SP body SP body-fld-lines:
    "immediately after the basic fields, the envelope structure, body structure, and size
    in text lines of the encapsulated message"."""
    assert bodystructure(parse_message(corpus.FORWARDED)) == (
        ("TEXT", "PLAIN", ("CHARSET", "US-ASCII"), NIL, NIL, "7BIT", 10, 1,
         NIL, NIL, NIL, NIL),
        ("MESSAGE", "RFC822", NIL, NIL, NIL, "7BIT", 298, FORWARDED_ENVELOPE,
         ("TEXT", "PLAIN", ("CHARSET", "US-ASCII"), NIL, NIL, "7BIT", 18, 2,
          NIL, NIL, NIL, NIL),
         9, NIL, ("ATTACHMENT", NIL), NIL, NIL),
        "MIXED", ("BOUNDARY", "fwd"), NIL, NIL, NIL)


def test_content_language_location_and_md5() -> None:
    """body-ext-1part = body-fld-md5 SP body-fld-dsp SP body-fld-lang SP body-fld-loc;
    body-fld-lang = nstring / "(" string *(SP string) ")"."""
    assert bodystructure(parse_message(corpus.LANGUAGE_LOCATION)) == (
        "TEXT", "HTML", ("CHARSET", "UTF-8"), NIL, NIL, "7BIT", 14, 1,
        "Q2hlY2sgSW50ZWdyaXR5IQ==", NIL, ("en", "de-CH"), "http://example.test/page.html")
    one_language = parse_message(b"Content-Language: fr\r\n\r\nBonjour")
    assert bodystructure(one_language)[10] == "fr"  # type: ignore[index]


@pytest.mark.parametrize(("header", "expected"), [
    # RFC 9051 §7.5.2: absent Date/Subject/In-Reply-To/Message-ID → NIL, empty → "".
    (b"Subject:\r\nDate: \r\n", ("", "", NIL, NIL, NIL, NIL, NIL, NIL, NIL, NIL)),
    # From/To/Cc/Bcc "absent ... or are present but empty" → NIL; Sender and Reply-To
    # empty → the from member.
    (b"From: a@b.test\r\nSender:\r\nReply-To: \r\nTo:\r\nCc: ,\r\n",
     (NIL, NIL, ((NIL, NIL, "a", "b.test"),), ((NIL, NIL, "a", "b.test"),),
      ((NIL, NIL, "a", "b.test"),), NIL, NIL, NIL, NIL, NIL)),
    # Sender and Reply-To present: their own values.
    (b"From: a@b.test\r\nSender: s@b.test\r\nReply-To: r@b.test\r\n",
     (NIL, NIL, ((NIL, NIL, "a", "b.test"),), ((NIL, NIL, "s", "b.test"),),
      ((NIL, NIL, "r", "b.test"),), NIL, NIL, NIL, NIL, NIL)),
    # An empty group; an obsolete route (addr-adl); a missing host is "" not NIL.
    (b"To: undisclosed-recipients:;\r\nCc: <@relay.test,@hop.test:u@h.test>, root\r\n",
     (NIL, NIL, NIL, NIL, NIL,
      ((NIL, NIL, "undisclosed-recipients", NIL), (NIL, NIL, NIL, NIL)),
      ((NIL, "@relay.test,@hop.test", "u", "h.test"), (NIL, NIL, "root", "")),
      NIL, NIL, NIL)),
    # Folded values are unfolded; the first field of a name counts.
    (b"Subject: a long\r\n subject\r\nSubject: second\r\nBcc: \"Q \\\"x\\\"\" <q@x.test>\r\n",
     (NIL, "a long subject", NIL, NIL, NIL, NIL, NIL, (('Q "x"', NIL, "q", "x.test"),),
      NIL, NIL)),
])
def test_envelope_defaults_and_address_forms(header: bytes, expected: ImapValue) -> None:
    assert envelope_structure(parse_message(header + b"\r\nbody").envelope) == expected


def test_header_octets_that_are_not_utf8_reach_the_client_unchanged() -> None:
    """A str is sent as UTF-8; a value with other octets is handed over as bytes."""
    message = parse_message(b"Subject: caf\xe9\r\nX: y\r\n\r\n")
    assert envelope_structure(message.envelope)[1] == b"caf\xe9"  # type: ignore[index]
    utf8 = parse_message("Subject: café\r\n\r\n".encode())
    assert envelope_structure(utf8.envelope)[1] == "café"  # type: ignore[index]


def test_message_global_is_described_like_message_rfc822() -> None:
    """RFC 9051 §9 media-message = DQUOTE "MESSAGE" DQUOTE SP DQUOTE ("RFC822" /
    "GLOBAL") DQUOTE; RFC 6532 §3.7."""
    raw = ("Content-Type: message/global\r\n\r\nSubject: ünïcode\r\n\r\nbody\r\n").encode()
    structure = body(parse_message(raw))
    assert structure == ("MESSAGE", "GLOBAL", NIL, NIL, NIL, "7BIT", 28,
                         (NIL, "ünïcode", NIL, NIL, NIL, NIL, NIL, NIL, NIL, NIL),
                         ("TEXT", "PLAIN", ("CHARSET", "US-ASCII"), NIL, NIL, "7BIT", 6, 1),
                         3)


@pytest.mark.parametrize("raw", [
    # RFC 2046 §5.1.1: no boundary parameter
    b"Content-Type: multipart/mixed\r\n\r\n--x\r\n\r\nbody\r\n--x--\r\n",
    # RFC 2045 §6.4: an encoded composite
    b"Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\nU3ViamVjdDogeA==",
])
def test_opaque_parts_are_described_as_octet_streams(raw: bytes) -> None:
    """RFC 2046 §4.5.1 / RFC 6532 §3.7: what is not looked into is application/octet-stream;
    the model keeps the declared type and says why."""
    message = parse_message(raw)
    structure = body(message)
    assert structure[:2] == ("APPLICATION", "OCTET-STREAM")  # type: ignore[index]
    assert message.body.opaque is not None
    assert message.body.media_type in ("multipart", "message")


def test_a_multipart_without_body_parts_gets_one_empty_part() -> None:
    """RFC 9051 §9 body-type-mpart = 1*body SP media-subtype: at least one body."""
    message = parse_message(b"Content-Type: multipart/mixed; boundary=x\r\n\r\nno parts here")
    assert body(message) == (("TEXT", "PLAIN", ("CHARSET", "US-ASCII"), NIL, NIL, "7BIT",
                              0, 0), "MIXED")


def test_a_digest_defaults_its_parts_to_message_rfc822() -> None:
    """RFC 2046 §5.1.5: "in a digest, the default Content-Type value for a body part is
    changed from "text/plain" to "message/rfc822"."""
    raw = (b"Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\n"
           b"Subject: one\r\n\r\nfirst\r\n--d--\r\n")
    structure = body(parse_message(raw))
    assert structure[0][:2] == ("MESSAGE", "RFC822")  # type: ignore[index]
    assert structure[0][7][1] == "one"  # type: ignore[index]
