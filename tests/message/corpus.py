"""Sample messages shared by the message-model tests, written out in full so that
expected sections and structures can be checked against them by eye."""

from __future__ import annotations


def lines_of(count: int, width: int, *, last: int | None = None, crlf_last: bool = True
             ) -> bytes:
    """``count`` lines of ``width`` letters; the last one ``last`` letters long and,
    unless ``crlf_last``, without its CRLF (the CRLF before a delimiter is the
    delimiter's, RFC 2046 §5.1.1)."""
    body = b"".join(b"x" * width + b"\r\n" for _ in range(count - 1))
    return body + b"x" * (width if last is None else last) + (b"\r\n" if crlf_last else b"")


# RFC 9051 §8: "C: a003 fetch 12 full" / "C: a004 fetch 12 body[header]": the header is
# the RFC's own (342 octets); the body is 3028 octets in 92 lines, as its BODY says.
RFC9051_SAMPLE_HEADER = (
    b"Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\r\n"
    b"From: Terry Gray <gray@cac.washington.edu>\r\n"
    b"Subject: IMAP4rev2 WG mtg summary and minutes\r\n"
    b"To: imap@cac.washington.edu\r\n"
    b"cc: minutes@CNRI.Reston.VA.US, John Klensin <KLENSIN@MIT.EDU>\r\n"
    b"Message-Id: <B27397-0100000@cac.washington.edu>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n"
    b"\r\n")
RFC9051_SAMPLE = RFC9051_SAMPLE_HEADER + lines_of(84, 31) + lines_of(8, 30)

# RFC 9051 §7.5.2: "a simple text message of 48 lines and 2279 octets"; no Content-Type,
# so RFC 2045 §5.2's default applies.
SIMPLE_TEXT = (b"From: a@example.test\r\nSubject: simple\r\n\r\n"
               + lines_of(47, 45) + b"x" * 68 + b"\r\n")

# RFC 9051 §7.5.2: "a two-part message consisting of a text and a base64-encoded text
# attachment": 1152 octets in 23 lines, then 4554 octets in 73 lines.
TWO_PART = (b"From: a@example.test\r\n"
            b"Content-Type: MULTIPART/MIXED; BOUNDARY=\"x\"\r\n\r\n"
            b"--x\r\n"
            b"Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n\r\n"
            + lines_of(23, 48, last=52, crlf_last=False) + b"\r\n"
            b"--x\r\n"
            b"Content-Type: TEXT/PLAIN; CHARSET=US-ASCII; NAME=cc.diff\r\n"
            b"Content-ID: <960723163407.20117h@cac.washington.edu>\r\n"
            b"Content-Description: Compiler diff\r\n"
            b"Content-Transfer-Encoding: BASE64\r\n\r\n"
            + lines_of(73, 60, last=90, crlf_last=False) + b"\r\n"
            b"--x--\r\n")

# multipart/mixed: a text part and an attachment whose filename uses RFC 2231 §4.1
# (charset, continuation, and an unencoded section mixed in).
MIXED = (b"From: Alice <alice@example.test>\r\n"
         b"Subject: report\r\n"
         b"MIME-Version: 1.0\r\n"
         b'Content-Type: multipart/mixed; boundary="outer"\r\n'
         b"\r\n"
         b"preamble\r\n"
         b"--outer\r\n"
         b"Content-Type: text/plain; charset=utf-8\r\n"
         b"Content-Transfer-Encoding: quoted-printable\r\n"
         b"\r\n"
         b"Hello =C3=A9\r\n"
         b"--outer\r\n"
         b'Content-Type: application/pdf; name="report.pdf"\r\n'
         b"Content-Transfer-Encoding: base64\r\n"
         b"Content-Disposition: attachment;\r\n"
         b" filename*0*=utf-8''r%C3%A9sum%C3%A9%20;\r\n"
         b' filename*1="2024.pdf"\r\n'
         b"Content-ID: <part2@example.test>\r\n"
         b"Content-Description: The report\r\n"
         b"\r\n"
         b"JVBERi0xLjQK\r\n"
         b"--outer--\r\n"
         b"epilogue\r\n")

# multipart/alternative nested in multipart/mixed, with an inline image.
ALTERNATIVE_IN_MIXED = (
    b"From: a@example.test\r\n"
    b"Content-Type: multipart/mixed; boundary=mixed-b\r\n"
    b"\r\n"
    b"--mixed-b\r\n"
    b"Content-Type: multipart/alternative; boundary=alt-b\r\n"
    b"\r\n"
    b"--alt-b\r\n"
    b"Content-Type: text/plain; charset=us-ascii; format=flowed\r\n"
    b"\r\n"
    b"Hi there\r\n"
    b"\r\n"
    b"--alt-b\r\n"
    b"Content-Type: text/html; charset=us-ascii\r\n"
    b"\r\n"
    b"<p>Hi <b>there</b></p>\r\n"
    b"--alt-b--\r\n"
    b"\r\n"
    b"--mixed-b\r\n"
    b"Content-Type: image/png\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"Content-Disposition: inline; filename=dot.png\r\n"
    b"\r\n"
    b"iVBORw0KGgo=\r\n"
    b"--mixed-b--\r\n")

# A forwarded message (message/rfc822 attachment) whose own body is a single text part.
FORWARDED = (
    b"From: Bob <bob@example.test>\r\n"
    b"Subject: Fwd: minutes\r\n"
    b'Content-Type: multipart/mixed; boundary="fwd"\r\n'
    b"\r\n"
    b"--fwd\r\n"
    b"\r\n"
    b"See below.\r\n"
    b"--fwd\r\n"
    b"Content-Type: message/rfc822\r\n"
    b"Content-Disposition: attachment\r\n"
    b"\r\n"
    b"Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\r\n"
    b"From: =?ISO-8859-1?Q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>\r\n"
    b"To: Team: carol@example.test, \"Dan, D.\" <dan@example.test>;\r\n"
    b"Subject: =?utf-8?q?Caf=C3=A9?= minutes\r\n"
    b"Message-ID: <inner@example.test>\r\n"
    b"In-Reply-To: <earlier@example.test>\r\n"
    b"\r\n"
    b"line one\r\n"
    b"line two\r\n"
    b"--fwd--\r\n")

# Content-Language (RFC 3282) and Content-Location (RFC 2557) on a single part.
LANGUAGE_LOCATION = (
    b"From: a@example.test\r\n"
    b"Content-Type: text/html; charset=UTF-8\r\n"
    b"Content-Language: en, (comment) de-CH\r\n"
    b"Content-Location: http://example.test/page.html\r\n"
    b"Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\r\n"
    b"\r\n"
    b"<p>Hello</p>\r\n")

# RFC 9051 §6.4.5.1's "example of a complex message with some of its part specifiers".
COMPLEX = (
    b"From: Terry <terry@example.test>\r\n"
    b"Subject: complex\r\n"
    b'Content-Type: MULTIPART/MIXED; boundary="A"\r\n'
    b"\r\n"
    b"--A\r\n"
    b"Content-Type: TEXT/PLAIN\r\n"
    b"\r\n"
    b"part 1\r\n"
    b"--A\r\n"
    b"Content-Type: APPLICATION/OCTET-STREAM\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n"
    b"cGFydCAy\r\n"
    b"--A\r\n"
    b"Content-Type: MESSAGE/RFC822\r\n"
    b"\r\n"
    b"Subject: part 3\r\n"
    b'Content-Type: MULTIPART/MIXED; boundary="B"\r\n'
    b"\r\n"
    b"--B\r\n"
    b"Content-Type: TEXT/PLAIN\r\n"
    b"\r\n"
    b"part 3.1\r\n"
    b"--B\r\n"
    b"Content-Type: APPLICATION/OCTET-STREAM\r\n"
    b"\r\n"
    b"part 3.2\r\n"
    b"--B--\r\n"
    b"--A\r\n"
    b'Content-Type: MULTIPART/MIXED; boundary="C"\r\n'
    b"\r\n"
    b"--C\r\n"
    b"Content-Type: IMAGE/GIF\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n"
    b"R0lGODlh\r\n"
    b"--C\r\n"
    b"Content-Type: MESSAGE/RFC822\r\n"
    b"\r\n"
    b"Subject: part 4.2\r\n"
    b"From: Ned <ned@example.test>\r\n"
    b"X-Note: folded\r\n"
    b" value\r\n"
    b'Content-Type: MULTIPART/MIXED; boundary="D"\r\n'
    b"\r\n"
    b"--D\r\n"
    b"Content-Type: TEXT/PLAIN\r\n"
    b"\r\n"
    b"part 4.2.1\r\n"
    b"--D\r\n"
    b'Content-Type: MULTIPART/ALTERNATIVE; boundary="E"\r\n'
    b"\r\n"
    b"--E\r\n"
    b"Content-Type: TEXT/PLAIN\r\n"
    b"\r\n"
    b"part 4.2.2.1\r\n"
    b"--E\r\n"
    b"Content-Type: TEXT/RICHTEXT\r\n"
    b"\r\n"
    b"part 4.2.2.2\r\n"
    b"--E--\r\n"
    b"--D--\r\n"
    b"--C--\r\n"
    b"--A--\r\n")
