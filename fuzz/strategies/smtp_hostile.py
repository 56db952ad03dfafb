"""Hypothesis strategies for hostile SMTP input: wire bytes a server (or client) must
survive, built by mutating the valid values of ``fuzz.strategies.smtp``.

A conforming server core answers every command line with exactly one reply (RFC 5321
§4.2), refuses what it cannot read with a precise protocol error (500/501/503/...), and
never lets octets of one frame (a BDAT chunk, mail data, plaintext before TLS) be read as
another. Two kinds of strategy, both public and stable:

Near-valid mutations of command lines (each draws one CRLF-terminated line, or a short
run of them):

- ``one_byte_off_lines()``: a valid command with one octet replaced, deleted or inserted;
- ``bad_parameter_lines()``: MAIL/RCPT with broken ESMTP parameters (RFC 5321 §4.1.2
  ``esmtp-param``; SIZE RFC 1870, BODY RFC 6152, SMTPUTF8 RFC 6531, DSN RFC 3461, AUTH
  RFC 4954 §5), broken xtext (RFC 3461 §4) included;
- ``overlong_lines()``: command lines at, just past and far past the 512 octets of RFC
  5321 §4.5.3.1.4, and paths past §4.5.3.1.1-3;
- ``control_octet_lines()``: NUL, bare CR and bare LF inside a command (RFC 5321 §2.3.8);
- ``invalid_utf8_lines()``: ill-formed UTF-8 (RFC 3629 §3) in paths and arguments, with
  and without SMTPUTF8 (RFC 6531 §3.3);
- ``broken_auth_lines()``: AUTH with broken base64 (RFC 4954 §4, RFC 4648 §4) and
  ``broken_auth_responses()`` for the lines after a 334;
- ``near_valid_command_lines()``: any of the above.

The attack families, one strategy each:

- ``smuggling_endings()`` and ``smuggling_data()``: SMTP smuggling (SEC Consult, Dec 2023;
  CVE-2023-51764 Postfix, CVE-2023-51765 Sendmail, CVE-2023-51766 Exim): a fake end of
  data (``<LF>.<LF>``, ``<CR>.<CR>``, ``<LF>.<CR><LF>``, ``<CR><LF>.<LF>``,
  ``<CR>.<CR><LF>``...) followed by a second, spoofed transaction. RFC 5321 §4.1.1.4:
  only ``<CRLF>.<CRLF>`` ends the data, so the whole is one message;
- ``starttls_injections()``: plaintext commands pipelined behind STARTTLS (CVE-2011-0411,
  and the command-injection variants of Poddebniak et al., "Why TLS is better without
  STARTTLS", USENIX Security 2021: in the same segment, before the 220, after the 220
  and before the handshake). RFC 3207 §4.2: the server "MUST discard" them;
- ``starttls_response_injections()``: the same study's response injection, server side:
  replies sent in plaintext right behind the 220, which a client must not read as
  protected;
- ``pipelining_floods()``: hundreds of commands in one write (RFC 2920 §3.1), each of
  which still gets its one reply;
- ``bdat_chunk_lies()``: BDAT whose chunk-size is not the number of octets that follow
  (RFC 3030 §2: the size alone frames the chunk), and sizes beyond any number;
- ``huge_rcpt_counts()``: one transaction with more recipients than the 100 a server
  must buffer (RFC 5321 §4.5.3.1.8), which it refuses with 452 (§4.5.3.1.10);
- MIME bombs are message content: ``fuzz.strategies.messages.mime_bombs()``.

``hostile_command_bytes()`` mixes them all (client bytes after EHLO) and
``hostile_reply_bytes()`` draws server bytes for a client core, mirroring
``fuzz.strategies.imap``. Sizes are bounded so that a property runs in milliseconds per
example.

Example::

    from hypothesis import given
    from fuzz.strategies import smtp_hostile
    from reference.smtp.connection import ServerConnection

    @given(smtp_hostile.smuggling_data())
    def test_one_message_whatever_the_fake_end(data):
        ...  # feed b"EHLO ...MAIL...RCPT...DATA\\r\\n" + data; expect one reply
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from typing import Literal

from hypothesis import assume
from hypothesis import strategies as st

from fuzz.strategies import smtp
from fuzz.strategies.smtp import _cached, _check_bool, _check_int
from reference.smtp.commands import Bdat, Data, Mailbox, MailFrom, RcptTo, StartTls
from reference.smtp.serializer import write_command

__all__ = [
    "SMUGGLING_ENDINGS",
    "BdatChunkLie",
    "StarttlsInjection",
    "StarttlsResponseInjection",
    "bad_parameter_lines",
    "bdat_chunk_lies",
    "broken_auth_lines",
    "broken_auth_responses",
    "command_lines",
    "control_octet_lines",
    "hostile_command_bytes",
    "hostile_reply_bytes",
    "huge_rcpt_counts",
    "invalid_utf8_lines",
    "near_valid_command_lines",
    "one_byte_off_lines",
    "overlong_lines",
    "pipelining_floods",
    "smuggling_data",
    "smuggling_endings",
    "starttls_injections",
    "starttls_response_injections",
]

CRLF = b"\r\n"


# --- valid command lines, the material of the mutations ----------------------------------

# Commands that change the framing (DATA, BDAT) or the transport (STARTTLS) are left to
# their own families (smuggling, BDAT lies, STARTTLS injection).
_FRAMING = (Data, Bdat, StartTls)


@_cached
def command_lines(*, utf8: bool = False) -> st.SearchStrategy[bytes]:
    """Valid command lines (``smtp.commands()`` written with CRLF), without DATA, BDAT and
    STARTTLS, whose effect on framing the attack families cover."""
    _check_bool("utf8", utf8)
    return (smtp.commands(utf8=utf8).filter(lambda c: not isinstance(c, _FRAMING))
            .map(write_command))


def _mutate_octet(line: bytes, position: int, operation: int, octet: int) -> bytes:
    body = line[:-2] if line.endswith(CRLF) else line
    at = position % (len(body) + 1)
    if operation == 0 and at < len(body):
        body = body[:at] + bytes([octet]) + body[at + 1:]
    elif operation == 1 and at < len(body):
        body = body[:at] + body[at + 1:]
    else:
        body = body[:at] + bytes([octet]) + body[at:]
    return body + CRLF


@_cached
def one_byte_off_lines(*, utf8: bool = False) -> st.SearchStrategy[bytes]:
    """A valid command line with one octet of the command (not of its CRLF) replaced,
    deleted or inserted: the near misses a parser must refuse or read exactly."""
    _check_bool("utf8", utf8)
    return st.builds(_mutate_octet, command_lines(utf8=utf8), st.integers(0, 600),
                     st.integers(0, 2), st.integers(0, 255))


# RFC 5321 §4.1.2 esmtp-param = esmtp-keyword ["=" esmtp-value]; every one of these is
# unknown, malformed, duplicated or out of range for the extension that defines it.
_BAD_MAIL_PARAMETERS: tuple[bytes, ...] = (
    b"SIZE", b"SIZE=", b"SIZE=-1", b"SIZE=1e3", b"SIZE=0x10", b"SIZE=" + b"9" * 21,
    b"SIZE=99999999999999999999",                   # RFC 1870 §6: 1*20DIGIT, over any limit
    b"SIZE=1 SIZE=2",                               # RFC 5321 §4.1.2: once each
    b"BODY", b"BODY=9BIT", b"BODY=8bitmime=", b"BODY=BINARYMIME",
    b"SMTPUTF8=yes",                                # RFC 6531 §3.4: takes no value
    b"RET=", b"RET=FULLY", b"RET=HDRS RET=FULL",
    b"ENVID=", b"ENVID=+", b"ENVID=+G0", b"ENVID=+4", b"ENVID=a=b", b"ENVID=" + b"x" * 101,
    b"AUTH=", b"AUTH=+", b"AUTH=+ZZ", b"AUTH=<", b"AUTH=a+40b+4",     # RFC 4954 §5 xtext
    b"=", b"-X=1", b"X_Y=1", b"X=\x7f", b"X==", b"X=a=b", b"\x00=1", b"FOO=" + b"\xff",
)
_BAD_RCPT_PARAMETERS: tuple[bytes, ...] = (
    b"NOTIFY", b"NOTIFY=", b"NOTIFY=NEVER,SUCCESS", b"NOTIFY=ALWAYS", b"NOTIFY=SUCCESS,,",
    b"ORCPT", b"ORCPT=", b"ORCPT=rfc822", b"ORCPT=;a@b", b"ORCPT=rfc822;+G0",
    b"ORCPT=rfc822;" + b"x" * 600,                  # RFC 3461 §4.2: up to 500 characters
    b"NOTIFY=FAILURE NOTIFY=DELAY", b"SIZE=1", b"BODY=7BIT", b"X=", b"=",
)


@st.composite
def _bad_parameter_lines(draw: st.DrawFn) -> bytes:
    if draw(st.booleans()):
        path = write_command(MailFrom(draw(smtp.reverse_paths())))[:-2]
        parameters = _BAD_MAIL_PARAMETERS
    else:
        path = write_command(RcptTo(draw(smtp.forward_paths())))[:-2]
        parameters = _BAD_RCPT_PARAMETERS
    chosen = draw(st.lists(st.sampled_from(parameters), min_size=1, max_size=3))
    separator = draw(st.sampled_from([b" ", b"  ", b"\t", b""]))
    return path + b"".join(separator + parameter for parameter in chosen) + CRLF


@_cached
def bad_parameter_lines() -> st.SearchStrategy[bytes]:
    """MAIL FROM and RCPT TO with valid paths and broken parameters: unknown keywords,
    missing or extra values, numbers past RFC 1870 §6 ``1*20DIGIT``, values RFC 6152,
    RFC 6531 §3.4, RFC 3461 §4.1-4.4 and RFC 4954 §5 do not allow, invalid xtext (RFC 3461
    §4: "+" must be followed by two upper case hexadecimal digits), repeated parameters
    and bad separators. RFC 5321 §4.1.1.11: an unrecognized parameter gets 555, a bad one
    501."""
    return _bad_parameter_lines()


# Where an overlong line starts: verbs whose argument is read, and paths.
_OVERLONG_STARTS = (b"NOOP ", b"HELP ", b"VRFY ", b"EXPN ", b"EHLO ", b"HELO ",
                    b"MAIL FROM:<", b"RCPT TO:<", b"MAIL FROM:<a@b> X=", b"", b"XLONG ")


@st.composite
def _overlong_lines(draw: st.DrawFn, limit: int) -> bytes:
    start = draw(st.sampled_from(_OVERLONG_STARTS))
    # at the limit, one past it, and well past it (RFC 5321 §4.5.3.1.4 counts the CRLF)
    total = draw(st.sampled_from([limit, limit + 1, limit + 2, 2 * limit, 8 * limit]))
    filler = draw(st.sampled_from([b"a", b"x.", b"\"", b"@", b" "]))
    body = start + filler * ((total - 2 - len(start)) // len(filler) + 1)
    return body[:max(len(start), total - 2)] + CRLF


@st.composite
def _overlong_paths(draw: st.DrawFn) -> bytes:
    # RFC 5321 §4.5.3.1.1 local-part 64, §4.5.3.1.2 domain 255, §4.5.3.1.3 path 256
    local = b"l" * draw(st.sampled_from([64, 65, 200]))
    domain = b".".join([b"d" * 63] * draw(st.integers(1, 5)))
    verb = draw(st.sampled_from([b"MAIL FROM:<", b"RCPT TO:<"]))
    return verb + local + b"@" + domain + b">" + CRLF


@_cached
def overlong_lines(*, limit: int = 512) -> st.SearchStrategy[bytes]:
    """Command lines of ``limit`` octets with the CRLF (the most RFC 5321 §4.5.3.1.4
    allows: "The maximum total length of a command line including the command word and
    the <CRLF> is 512 octets"), one or two past it, and far past it; and paths past the
    local-part, domain and path limits of §4.5.3.1.1-3 (§4.5.3.1.10: "500 Line too
    long", "501 Path too long")."""
    _check_int("limit", limit, minimum=16, maximum=1 << 20)
    return st.one_of(_overlong_lines(limit), _overlong_paths())


@_cached
def control_octet_lines(*, utf8: bool = False) -> st.SearchStrategy[bytes]:
    """A valid command line with NUL, a bare CR or a bare LF (or CR LF the wrong way
    round) inserted before its CRLF. RFC 5321 §2.3.8: "SMTP client implementations MUST
    NOT transmit these characters except when they are intended as line terminators";
    a server MUST NOT recognize another line end (only CRLF ends the line)."""
    _check_bool("utf8", utf8)
    controls = st.sampled_from([b"\x00", b"\r", b"\n", b"\n\r", b"\x00\x00", b"\r\r"])

    def insert(line: bytes, at: int, control: bytes) -> bytes:
        at %= len(line) - 1
        return line[:at] + control + line[at:]

    return st.builds(insert, command_lines(utf8=utf8), st.integers(0, 600), controls)


# Ill-formed UTF-8 (RFC 3629 §3-4): lone continuation octets, truncated sequences,
# overlong forms, surrogates, code points past U+10FFFF, and octets never used.
_INVALID_UTF8 = (b"\x80", b"\xbf", b"\xc3", b"\xe2\x82", b"\xf0\x9f\x98", b"\xc0\xaf",
                 b"\xe0\x80\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xfe", b"\xff",
                 b"\xf8\x88\x80\x80\x80")


@st.composite
def _invalid_utf8_lines(draw: st.DrawFn) -> bytes:
    bad = draw(st.sampled_from(_INVALID_UTF8))
    where = draw(st.sampled_from(["mail", "rcpt", "ehlo", "vrfy", "noop"]))
    if where in ("mail", "rcpt"):
        mailbox = draw(smtp.mailboxes(utf8=True))
        line = write_command(MailFrom(mailbox, smtputf8=draw(st.booleans()))
                             if where == "mail" else RcptTo(mailbox))
        # at the start of the local part, before the "@", or before the ">"
        at = draw(st.sampled_from([line.index(b"<") + 1, line.rindex(b"@"),
                                   line.rindex(b">")]))
        return line[:at] + bad + line[at:]
    if where == "ehlo":
        return b"EHLO " + draw(smtp.domains(utf8=True)).encode() + bad + CRLF
    text = draw(smtp.atoms(utf8=True)).encode()
    at = draw(st.integers(0, len(text)))
    smtputf8 = b" SMTPUTF8" if where == "vrfy" and draw(st.booleans()) else b""
    return (b"VRFY " if where == "vrfy" else b"NOOP ") + text[:at] + bad + text[at:] \
        + smtputf8 + CRLF


@_cached
def invalid_utf8_lines() -> st.SearchStrategy[bytes]:
    """Command lines carrying ill-formed UTF-8 (RFC 3629 §3: lone continuation octets,
    truncated and overlong sequences, surrogates, past U+10FFFF) in a local part, a
    domain, EHLO's argument or a string, with and without SMTPUTF8. RFC 6531 §3.3 allows
    only well-formed ``UTF8-non-ascii``; without SMTPUTF8 no octet above 127 is valid."""
    return _invalid_utf8_lines()


# RFC 4648 §4 base64, which RFC 4954 §4 requires of initial responses and SASL lines.
_BROKEN_BASE64 = (b"==", b"====", b"AAAA=", b"AAAA====", b"A", b"AB", b"ABC", b"A===",
                  b"AB=C", b"AB==CD==", b"!!!!", b"AB\x00C", b"AB CD", b"YWxp\xff", b"Y W x p",
                  b"*=", b"**", b"-_-_", b"dGVzdA===", b"\xc3\xa9AA")


# RFC 4954 §8: base64 = base64-terminal / ( 1*(4base64-char) [base64-terminal] ), to
# keep the mutations below that happen to stay valid out of "broken"
_VALID_BASE64 = re.compile(rb"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")


@st.composite
def _broken_base64(draw: st.DrawFn) -> bytes:
    if draw(st.booleans()):
        return draw(st.sampled_from(_BROKEN_BASE64))
    # a valid encoding with one octet broken: a "=" inside, a character outside the
    # alphabet, one missing
    valid = base64.b64encode(draw(st.binary(min_size=1, max_size=60)))
    at = draw(st.integers(0, len(valid) - 1))
    broken = valid[:at] + draw(st.sampled_from([b"=", b"!", b" ", b"\x80", b""])) \
        + valid[at + 1:]
    assume(_VALID_BASE64.fullmatch(broken) is None)
    return broken


@st.composite
def _broken_auth_lines(draw: st.DrawFn) -> bytes:
    mechanism = draw(st.one_of(st.sampled_from([b"PLAIN", b"LOGIN", b"SCRAM-SHA-256",
                                                b"CRAM-MD5", b"XOAUTH2"]),
                               smtp.sasl_mechs().map(str.encode)))
    shape = draw(st.sampled_from(["response", "no-space", "extra", "long", "mechanism"]))
    if shape == "response":
        return b"AUTH " + mechanism + b" " + draw(_broken_base64()) + CRLF
    if shape == "no-space":
        return b"AUTH" + mechanism + CRLF
    if shape == "extra":
        return b"AUTH " + mechanism + b" AAAA AAAA" + CRLF
    if shape == "long":                 # RFC 4954 §4: past the 12288-octet AUTH line
        return (b"AUTH " + mechanism + b" " + b"QUFB" * draw(st.sampled_from([200, 3100]))
                + CRLF)
    bad = draw(st.sampled_from([b"", b"plain", b"A" * 21, b"PL AIN", b"PL\x00IN", b"\xc3\xa9"]))
    return b"AUTH " + bad + CRLF


@_cached
def broken_auth_lines() -> st.SearchStrategy[bytes]:
    """AUTH command lines (RFC 4954 §4 ``"AUTH" SP sasl-mech [SP initial-response]``)
    with broken base64 initial responses (RFC 4954 §4: "If the server cannot [BASE64]
    decode any client response, it MUST reject the AUTH command with a 501 reply"),
    mechanism names outside RFC 4422 §3.1 ``1*20mech-char``, extra arguments and lines
    too long to carry an initial response."""
    return _broken_auth_lines()


@_cached
def broken_auth_responses() -> st.SearchStrategy[bytes]:
    """Client lines after a 334 (RFC 4954 §4) that a server must refuse (501, or 500 when
    too long): broken base64, a ``*`` with junk, controls, bare CR or LF, and a line past
    the 12288 octets RFC 4954 §4 allows."""
    return st.one_of(
        _broken_base64().map(lambda text: text + CRLF),
        st.sampled_from([b"*x\r\n", b" *\r\n", b"\x00\r\n", b"AAAA\rAAAA\r\n",
                         b"AAAA\nAAAA\r\n", b"QUFB" * 3100 + CRLF]))


@_cached
def near_valid_command_lines(*, utf8: bool = False) -> st.SearchStrategy[bytes]:
    """Any of the near-valid mutations above."""
    _check_bool("utf8", utf8)
    return st.one_of(one_byte_off_lines(utf8=utf8), bad_parameter_lines(), overlong_lines(),
                     control_octet_lines(utf8=utf8), invalid_utf8_lines(),
                     broken_auth_lines())


# --- SMTP smuggling (CVE-2023-51764, CVE-2023-51765, CVE-2023-51766) ----------------------

# Fake ends of data: read as the end by some server, never by a conforming one (RFC 5321
# §4.1.1.4: the data ends with "<CRLF>.<CRLF>" only). Each is preceded by content that
# ends in CRLF (or nothing, at the very start), as a real message line would be.
SMUGGLING_ENDINGS: tuple[bytes, ...] = (
    b"\n.\n",            # <LF>.<LF>: Postfix, Sendmail (CVE-2023-51764/51765)
    b"\n.\r\n",          # <LF>.<CR><LF>: Exim (CVE-2023-51766), Cisco, GMX
    b"\r.\r",            # <CR>.<CR>
    b"\r.\r\n",          # <CR>.<CR><LF>
    b"\r\n.\n",          # <CR><LF>.<LF>
    b"\r\n.\r",          # <CR><LF>.<CR>
    b"\n.\r",            # <LF>.<CR>
    b"\r.\n",            # <CR>.<LF>
    b"\r\n.\r\r\n",      # a CR doubled before the CRLF
    b"\r\r\n.\r\r\n",
    b"\r\n\x00.\r\n",    # octets some servers strip: NUL, SP, HT, VT around the dot
    b"\r\n.\x00\r\n",
    b"\r\n .\r\n",
    b"\r\n. \r\n",
    b"\r\n.\t\r\n",
    b"\r\n\x0b.\r\n",
)


@st.composite
def _generated_endings(draw: st.DrawFn) -> bytes:
    before = draw(st.sampled_from([b"\n", b"\r", b"\r\n", b"\n\r", b"\r\r", b"\n\n",
                                   b"\r\n\r", b"\r\n\x00"]))
    dot = draw(st.sampled_from([b".", b". ", b"\x00.", b".\x00", b"..", b".\x0c"]))
    after = draw(st.sampled_from([b"\n", b"\r", b"\r\n", b"\n\r", b"\r\r\n", b"\r\x00\n"]))
    return before + dot + after


def _is_fake(ending: bytes) -> bool:
    # after content ending in CRLF, no real end of data is formed
    return b"\r\n.\r\n" not in b"\r\n" + ending


@_cached
def smuggling_endings() -> st.SearchStrategy[bytes]:
    """A fake end of data: one of ``SMUGGLING_ENDINGS`` (the published variants) or a
    combination of bare CR, LF, NUL and white space around a period that never forms
    ``<CRLF>.<CRLF>``."""
    return st.one_of(st.sampled_from(SMUGGLING_ENDINGS),
                     _generated_endings().filter(_is_fake))


def _stuff(content: bytes) -> bytes:
    """RFC 5321 §4.5.2: a line that starts with "." gets one more."""
    stuffed = content.replace(b"\r\n.", b"\r\n..")
    return b"." + stuffed if stuffed.startswith(b".") else stuffed


@st.composite
def _smuggled_transactions(draw: st.DrawFn) -> bytes:
    mail = write_command(MailFrom(draw(smtp.reverse_paths())))
    recipients = draw(st.lists(smtp.forward_paths(), min_size=1, max_size=3))
    smuggled = draw(smtp.mail_data(max_lines=4))
    spoofed = b"From: <ceo@victim.example>\r\nSubject: smuggled\r\n\r\n" + smuggled
    return (mail + b"".join(write_command(RcptTo(r)) for r in recipients)
            + b"DATA\r\n" + _stuff(spoofed))


@st.composite
def _smuggling_data(draw: st.DrawFn) -> bytes:
    content = _stuff(draw(smtp.mail_data(max_lines=5)))
    ending = draw(smuggling_endings())
    if not content and ending.startswith(b"\r\n"):
        content = b"x\r\n"              # a first line "\r\n." would be stuffed text
    wire = content + ending + draw(_smuggled_transactions()) + b".\r\n"
    return wire


def _one_end(wire: bytes) -> bool:
    # the only real end of data is the last five octets (counting the CRLF of DATA)
    return (b"\r\n" + wire).find(b"\r\n.\r\n") == len(wire) - 3


@_cached
def smuggling_data() -> st.SearchStrategy[bytes]:
    """The mail data a client sends after a 354: valid content, a fake end from
    ``smuggling_endings()``, a second transaction (MAIL, RCPT, DATA and a spoofed
    message) and the one real ``<CRLF>.<CRLF>`` at the very end. A conforming server
    reads one message (RFC 5321 §4.1.1.4) and, because of the bare CR or LF, refuses it
    (§2.3.8, 554) or keeps it whole; the smuggled commands never run."""
    return _smuggling_data().filter(_one_end)


# --- STARTTLS injection (CVE-2011-0411; Poddebniak et al., USENIX Security 2021) ---------


@dataclass(frozen=True)
class StarttlsInjection:
    """Plaintext the client side sends behind ``STARTTLS``, which RFC 3207 §4.2 says the
    server "MUST discard". ``when`` is where the injected octets arrive, in the terms of
    the 2021 study: ``"same-segment"`` (with the STARTTLS line, CVE-2011-0411),
    ``"before-reply"`` (after it, before the server's 220), ``"before-handshake"``
    (after the 220, before TLS is up)."""

    command: bytes
    injected: bytes
    when: Literal["same-segment", "before-reply", "before-handshake"]

    @property
    def wire(self) -> bytes:
        """Everything in one write, as an attacker on the path sends it."""
        return self.command + self.injected


_INJECTED = (b"RSET\r\n", b"MAIL FROM:<attacker@evil.example>\r\n",
             b"RCPT TO:<victim@example.com>\r\n", b"EHLO injected.example\r\n",
             b"AUTH PLAIN AGFsaWNlAHB3\r\n", b"NOOP\r\n", b"QUIT\r\n", b"XINJECT\r\n",
             b"STARTTLS\r\n", b"DATA\r\n", b"\x16\x03\x01\x00\x05hello")


@_cached
def starttls_injections() -> st.SearchStrategy[StarttlsInjection]:
    """``STARTTLS`` followed by injected plaintext commands (valid ones of
    ``smtp.commands()`` and the classic RSET/MAIL/AUTH/EHLO), arriving in the same
    segment, before the 220 or before the handshake."""
    injected = st.lists(st.one_of(st.sampled_from(_INJECTED), command_lines()),
                        min_size=1, max_size=5).map(b"".join)
    command = st.sampled_from([b"STARTTLS\r\n", b"starttls\r\n", b"StartTLS\r\n"])
    return st.builds(StarttlsInjection, command, injected,
                     st.sampled_from(["same-segment", "before-reply", "before-handshake"]))


@dataclass(frozen=True)
class StarttlsResponseInjection:
    """Replies a server (or a man in the middle) sends in plaintext behind its 220 to
    STARTTLS; the client "MUST discard any knowledge obtained from the server" (RFC 3207
    §4.2), so none of ``injected`` may be read as an answer after the handshake (the
    response-injection attack of the 2021 study)."""

    ready: bytes
    injected: bytes

    @property
    def wire(self) -> bytes:
        return self.ready + self.injected


_INJECTED_REPLIES = (b"250-mx.example\r\n250-AUTH PLAIN LOGIN\r\n250 SIZE 1\r\n",
                     b"250 2.1.0 OK\r\n", b"235 2.7.0 Authentication succeeded\r\n",
                     b"354 go ahead\r\n", b"221 2.0.0 bye\r\n", b"250 ok\r\n250 ok\r\n")


@_cached
def starttls_response_injections() -> st.SearchStrategy[StarttlsResponseInjection]:
    """A 220 to STARTTLS (with or without enhanced status) followed by injected replies:
    a forged EHLO reply without STARTTLS (a downgrade), an AUTH success, valid replies of
    ``smtp.replies()``."""
    from reference.smtp.serializer import write_reply

    ready = st.sampled_from([b"220 2.0.0 Ready to start TLS\r\n", b"220 go ahead\r\n"])
    valid = smtp.replies(enhanced=False).map(lambda r: write_reply(r, enhanced=False))
    injected = st.lists(st.one_of(st.sampled_from(_INJECTED_REPLIES), valid),
                        min_size=1, max_size=3).map(b"".join)
    return st.builds(StarttlsResponseInjection, ready, injected)


# --- pipelining floods (RFC 2920), BDAT lies (RFC 3030), recipient counts -------------------

_FLOOD_LINES = (b"NOOP\r\n", b"RSET\r\n", b"MAIL FROM:<>\r\n", b"RCPT TO:<postmaster>\r\n",
                b"HELP\r\n", b"VRFY postmaster\r\n", b"XFLOOD\r\n", b"RCPT TO:<a@b.example>\r\n",
                b"MAIL FROM:<a@b.example>\r\n", b"EHLO flood.example\r\n", b"\r\n")


@st.composite
def _pipelining_floods(draw: st.DrawFn, max_commands: int) -> bytes:
    pattern = draw(st.lists(st.one_of(st.sampled_from(_FLOOD_LINES), command_lines()),
                            min_size=1, max_size=4))
    times = draw(st.integers(1, max(1, max_commands // len(pattern))))
    return b"".join(pattern) * times


@_cached
def pipelining_floods(*, max_commands: int = 300) -> st.SearchStrategy[bytes]:
    """Up to ``max_commands`` command lines in one write: a short pattern of valid,
    refused and unknown commands repeated. RFC 2920 §3.1: the server "MUST NOT" lose
    any; RFC 5321 §4.2: each gets exactly one reply (until the server closes with 421
    after too many errors)."""
    _check_int("max_commands", max_commands, minimum=1, maximum=100_000)
    return _pipelining_floods(max_commands)


@dataclass(frozen=True)
class BdatChunkLie:
    """``BDAT <declared>`` followed by ``sent`` octets (RFC 3030 §2: "the chunk-size
    parameter ... is the number of octets" that follow, whatever they look like), then
    ``after``. A conforming server consumes exactly ``declared`` octets as the chunk and
    reads what follows them as commands; it never reads chunk octets as commands."""

    declared: int
    last: bool
    sent: bytes
    after: bytes

    @property
    def command(self) -> bytes:
        return f"BDAT {self.declared}{' LAST' if self.last else ''}\r\n".encode()

    @property
    def wire(self) -> bytes:
        return self.command + self.sent + self.after


@st.composite
def _bdat_chunk_lies(draw: st.DrawFn, max_chunk: int) -> BdatChunkLie:
    # chunk octets that look like commands, so a server that misframes shows it
    piece = draw(st.sampled_from([b"RSET\r\n", b"QUIT\r\n", b"MAIL FROM:<a@b>\r\n", b"x",
                                  b"\r\n.\r\n", b"BDAT 1 LAST\r\n"]))
    sent = (piece * (max_chunk // len(piece) + 1))[:draw(st.integers(0, max_chunk))]
    declared = max(0, len(sent) + draw(st.integers(-len(sent), max_chunk)))
    if declared == len(sent):
        declared += 1
    return BdatChunkLie(declared, draw(st.booleans()), sent,
                        draw(st.sampled_from([b"", b"RSET\r\n", b"QUIT\r\n"])))


@_cached
def bdat_chunk_lies(*, max_chunk: int = 200) -> st.SearchStrategy[BdatChunkLie]:
    """BDAT commands whose chunk-size is more or less than the octets sent, the chunk
    made of command lines (``RSET``, ``QUIT``, ``MAIL``, ``BDAT``, ``.``)."""
    _check_int("max_chunk", max_chunk, minimum=1, maximum=1 << 20)
    return _bdat_chunk_lies(max_chunk)


_BAD_BDAT_LINES = (b"BDAT\r\n", b"BDAT -1\r\n", b"BDAT 1e3\r\n", b"BDAT 0x10\r\n",
                   b"BDAT " + b"9" * 30 + b"\r\n", b"BDAT 18446744073709551616 LAST\r\n",
                   b"BDAT 10 LASTX\r\n", b"BDAT 10 LAST LAST\r\n", b"BDAT  10\r\n",
                   b"BDAT 10\x00\r\n", b"BDAT +10\r\n")


@st.composite
def _huge_rcpt_counts(draw: st.DrawFn, min_recipients: int, max_recipients: int) -> bytes:
    count = draw(st.integers(min_recipients, max_recipients))
    sender = write_command(MailFrom(draw(smtp.reverse_paths())))
    recipient = draw(st.one_of(smtp.forward_paths(), st.just(Mailbox("r", "example.com"))))
    line = write_command(RcptTo(recipient))
    ending = draw(st.sampled_from([b"", b"DATA\r\nSubject: many\r\n\r\nhi\r\n.\r\n",
                                   b"RSET\r\n"]))
    return sender + line * count + ending


@_cached
def huge_rcpt_counts(*, min_recipients: int = 101,
                     max_recipients: int = 600) -> st.SearchStrategy[bytes]:
    """MAIL FROM, then between ``min_recipients`` and ``max_recipients`` RCPT TO lines
    (past the 100 RFC 5321 §4.5.3.1.8 says a server MUST buffer), then DATA and a small
    message, RSET, or nothing. §4.5.3.1.10: past its limit a server replies 452 and keeps
    the recipients it accepted."""
    _check_int("min_recipients", min_recipients, minimum=1, maximum=100_000)
    _check_int("max_recipients", max_recipients, minimum=min_recipients, maximum=100_000)
    return _huge_rcpt_counts(min_recipients, max_recipients)


# --- everything together ----------------------------------------------------------------


@_cached
def hostile_command_bytes() -> st.SearchStrategy[bytes]:
    """Client bytes (to follow an EHLO) a server core must survive: any of the
    mutations and attack families above, a few of them in a row, and random octets."""
    envelope = b"MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n"
    families = st.one_of(
        near_valid_command_lines(utf8=True),
        smuggling_data().map(lambda data: envelope + b"DATA\r\n" + data),
        starttls_injections().map(lambda injection: injection.wire),
        pipelining_floods(max_commands=60),
        bdat_chunk_lies().map(lambda lie: envelope + lie.wire),
        st.sampled_from(_BAD_BDAT_LINES).map(lambda line: envelope + line),
        huge_rcpt_counts(max_recipients=150),
        broken_auth_responses().map(lambda line: b"AUTH PLAIN\r\n" + line),
        st.binary(max_size=200),
    )
    return st.lists(st.one_of(families, command_lines(utf8=True)), min_size=1,
                    max_size=4).map(b"".join)


_HOSTILE_REPLIES = (
    b"250-a\r\n251 b\r\n",                  # RFC 5321 §4.2.1: one code for all lines
    b"250-a\r\n",                           # a multi-line reply cut short
    b"600 x\r\n", b"199 x\r\n", b"25 x\r\n", b"2500 x\r\n", b"250x\r\n", b"abc\r\n",
    b"250 x\n", b"250 x\rmore\r\n", b"250 \x00\r\n", b"250 " + b"x" * 2000 + b"\r\n",
    b"250 2.0.0\r\n", b"250 9.9.9 x\r\n", b"250 5.0.0 x\r\n",   # RFC 3463 class mismatch
    b"250-" * 3 + b"\r\n", b"\r\n", b"250\xff\r\n",
)


@_cached
def hostile_reply_bytes() -> st.SearchStrategy[bytes]:
    """Server bytes a client core must survive: malformed reply lines (RFC 5321 §4.2),
    enhanced codes that disagree with the reply (RFC 3463 §2), over-long lines
    (§4.5.3.1.5), STARTTLS response injection, valid replies cut or mutated, random
    octets."""
    from reference.smtp.serializer import write_reply

    valid = smtp.replies().map(lambda r: write_reply(r, enhanced=True))
    cut = st.tuples(valid, st.integers(0, 600)).map(lambda p: p[0][:p[1]])
    return st.one_of(
        st.sampled_from(_HOSTILE_REPLIES), cut,
        st.builds(_mutate_octet, valid, st.integers(0, 600), st.integers(0, 2),
                  st.integers(0, 255)),
        starttls_response_injections().map(lambda injection: injection.wire),
        st.binary(max_size=200),
        st.lists(st.sampled_from(_HOSTILE_REPLIES), max_size=3).map(b"".join))
