"""Hypothesis strategies for RFC 5322 messages with MIME trees, valid and hostile.

Grammar rules draw wire text, composed like the ABNF (STYLE.md §E): ``atoms()``,
``quoted_strings()``, ``phrases()``, ``addr_specs()``, ``mailboxes()``, ``groups()``,
``address_lists()`` (RFC 5322 §3.2-3.4), ``unstructured_texts()`` with RFC 2047
encoded-words, ``parameters()`` with RFC 2231 continuations and charsets (RFC 2045 §5.1),
and whole messages: ``messages()`` draws the bytes of a valid message with a MIME tree
(nested multiparts, message/rfc822 and message/global parts, multipart/digest, encoded
words, RFC 2231 parameters, 8-bit bodies and, with ``utf8=True``, UTF-8 header fields as
RFC 6532 allows).

Valid means: a conforming parser must read the intended structure. In particular the
boundaries of one message are distinct, none is a prefix of another, and no body line
starts with "-", so no content line can be taken for a delimiter (RFC 2046 §5.1.1:
"Boundary delimiters must not appear within the encapsulated material"); encoded-words
stand apart from neighbouring words (RFC 2047 §5) and never inside quoted-strings.

``hostile_messages()`` draws what a server receives from the wild and from attackers:
deep nesting, missing boundaries and close delimiters, bad transfer encodings and
charsets, broken encoded-words and RFC 2231 sections, huge header counts, LF-only line
ends, truncated and spliced valid messages, and arbitrary bytes.

Example::

    from hypothesis import given
    from fuzz.strategies import messages
    from reference.message.mime import parse_message

    @given(messages.hostile_messages())
    def test_parsing_never_fails(raw):
        parse_message(raw)
"""

from __future__ import annotations

import base64
import binascii
import functools
import string
from dataclasses import dataclass
from itertools import count

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from reference.message.encoded_words import encode_encoded_words

__all__ = [
    "addr_specs",
    "address_lists",
    "atoms",
    "domains",
    "dot_atoms",
    "encoded_texts",
    "field_names",
    "groups",
    "hostile_messages",
    "local_parts",
    "mailboxes",
    "messages",
    "parameters",
    "phrases",
    "quoted_strings",
    "unstructured_texts",
]

_cached = functools.lru_cache(maxsize=None, typed=True)

# atext (RFC 5322 §3.2.3) without "?": "=?" never starts an accidental encoded-word.
ATEXT = string.ascii_letters + string.digits + "!#$%&'*+-/=^_`{|}~"
# Letters for UTF8-non-ascii (RFC 6532 §3.1): accented Latin, Greek, Cyrillic, CJK.
NON_ASCII = "éèüßøåñçÉÖλπΩжщЯ中文日本語한국"
# qtext (RFC 5322 §3.2.4) without "?" (Python's email decodes encoded-words in quotes).
QTEXT = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in '"\\?')
CRLF = "\r\n"


def _check_bool(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise InvalidArgument(f"{name}={value!r} must be True or False")
    return value


def _check_int(name: str, value: object, *, minimum: int, maximum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not minimum <= value <= maximum:
        raise InvalidArgument(f"{name}={value!r} must be an integer in {minimum}..{maximum}")
    return value


# --- RFC 5322 §3.2 lexical tokens, §3.4 addresses ----------------------------------------

@_cached
def atoms(*, utf8: bool = False) -> st.SearchStrategy[str]:
    """``atom = [CFWS] 1*atext [CFWS]`` (the atext only); RFC 6532 adds UTF-8."""
    _check_bool("utf8", utf8)
    return st.text(ATEXT + (NON_ASCII if utf8 else ""), min_size=1, max_size=10)


@_cached
def dot_atoms(*, utf8: bool = False) -> st.SearchStrategy[str]:
    """``dot-atom-text = 1*atext *("." 1*atext)``."""
    return st.lists(atoms(utf8=utf8), min_size=1, max_size=3).map(".".join)


@_cached
def quoted_strings(*, utf8: bool = False) -> st.SearchStrategy[str]:
    """``quoted-string = DQUOTE *([FWS] qcontent) [FWS] DQUOTE``, qcontent = qtext /
    quoted-pair; specials, spaces and escaped quotes and backslashes included."""
    alphabet = QTEXT + " " + (NON_ASCII if utf8 else "")
    content = st.text(alphabet + '"\\', min_size=1, max_size=16).filter(
        lambda text: text.strip() == text)
    return content.map(lambda text: '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"')


@_cached
def encoded_texts() -> st.SearchStrategy[tuple[str, str]]:
    """(wire, decoded): a run of RFC 2047 encoded-words and the text it decodes to (RFC
    2047 §6.2: the whitespace between adjacent encoded-words is ignored)."""
    text = st.text(string.ascii_letters + " .,!:" + NON_ASCII, min_size=1, max_size=30)

    def encode(draw_text: str, charset: str, encoding: str) -> tuple[str, str]:
        try:
            draw_text.encode(charset)
        except UnicodeEncodeError:
            charset = "utf-8"
        return " ".join(encode_encoded_words(draw_text, charset=charset,
                                             encoding=encoding)), draw_text

    return st.builds(encode, text, st.sampled_from(["utf-8", "iso-8859-1", "UTF-8"]),
                     st.sampled_from(["Q", "B", "q", "b"]))


@_cached
def phrases(*, utf8: bool = False) -> st.SearchStrategy[str]:
    """``phrase = 1*word`` with RFC 2047 §5 (3) encoded-words among the words, each
    separated from its neighbours by a space."""
    word = st.one_of(atoms(utf8=utf8), quoted_strings(utf8=utf8),
                     encoded_texts().map(lambda pair: pair[0]))
    return st.lists(word, min_size=1, max_size=4).map(" ".join)


@_cached
def domains() -> st.SearchStrategy[str]:
    """``domain = dot-atom`` as host names (RFC 5321 §4.1.2 sub-domains)."""
    label = st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=8)
    return st.lists(label, min_size=1, max_size=3).map(lambda labels: ".".join(
        [*labels, "test"]))


@_cached
def local_parts(*, utf8: bool = False) -> st.SearchStrategy[str]:
    """``local-part = dot-atom / quoted-string``."""
    return st.one_of(dot_atoms(utf8=utf8), quoted_strings(utf8=utf8))


@_cached
def addr_specs(*, utf8: bool = False) -> st.SearchStrategy[str]:
    """``addr-spec = local-part "@" domain``."""
    return st.builds(lambda local, domain: f"{local}@{domain}", local_parts(utf8=utf8),
                     domains())


@_cached
def mailboxes(*, utf8: bool = False) -> st.SearchStrategy[str]:
    """``mailbox = name-addr / addr-spec``; ``name-addr = [display-name] angle-addr``."""
    return st.one_of(addr_specs(utf8=utf8),
                     st.builds(lambda addr: f"<{addr}>", addr_specs(utf8=utf8)),
                     st.builds(lambda name, addr: f"{name} <{addr}>", phrases(utf8=utf8),
                               addr_specs(utf8=utf8)))


@_cached
def groups(*, utf8: bool = False) -> st.SearchStrategy[str]:
    """``group = display-name ":" [group-list] ";" [CFWS]``."""
    return st.builds(lambda name, members: f"{name}: {', '.join(members)};",
                     phrases(utf8=utf8), st.lists(mailboxes(utf8=utf8), max_size=3))


@_cached
def address_lists(*, utf8: bool = False, with_groups: bool = True) -> st.SearchStrategy[str]:
    """``address-list = (address *("," address))``; ``address = mailbox / group``."""
    _check_bool("with_groups", with_groups)
    address = st.one_of(mailboxes(utf8=utf8), groups(utf8=utf8)) if with_groups \
        else mailboxes(utf8=utf8)
    return st.lists(address, min_size=1, max_size=4).map(", ".join)


@_cached
def unstructured_texts(*, utf8: bool = False) -> st.SearchStrategy[str]:
    """``unstructured = *([FWS] VCHAR)`` with RFC 2047 §5 (1) encoded-words as words;
    with ``utf8`` also raw UTF-8 words (RFC 6532 §3.2)."""
    plain = st.text(ATEXT + "()<>@,;:.[]\"" + (NON_ASCII if utf8 else ""), min_size=1,
                    max_size=12)
    word = st.one_of(plain, encoded_texts().map(lambda pair: pair[0]))
    return st.lists(word, min_size=1, max_size=6).map(" ".join)


@_cached
def field_names() -> st.SearchStrategy[str]:
    """``field-name = 1*ftext`` as extension fields ("X-...")."""
    return st.text(string.ascii_letters + string.digits + "-", min_size=1, max_size=12).map(
        lambda name: "X-" + name)


# --- RFC 2045 §5.1 parameters with RFC 2231 §3-4 ----------------------------------------

def _percent_encode(octets: bytes) -> str:
    # RFC 2231 §7: extended-other-values := *(ext-octet / attribute-char)
    safe = set((string.ascii_letters + string.digits + "!#$&+-.^_`|~").encode())
    return "".join(chr(octet) if octet in safe else f"%{octet:02X}" for octet in octets)


def _split(text: str, pieces: int) -> list[str]:
    size = max(1, -(-len(text) // pieces))
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]


@st.composite
def parameters(draw: st.DrawFn, name: str, value: str) -> str:
    """``; name=value`` in one of the forms that decode to ``value``: token, quoted-string,
    RFC 2231 §3 continuations (name*0="..."; name*1="..."), RFC 2231 §4 charset
    encoding (name*=utf-8''...), or both (§4.1: name*0*=utf-8''...; name*1*=...)."""
    # tokens (RFC 2045 §5.1) but without "'" and "*", which email reads as RFC 2231 marks
    is_token = value and all(c in ATEXT.translate({ord(c): None for c in "=/'*"})
                             for c in value)
    forms = ["quoted", "continued", "encoded", "encoded-continued"] + (
        ["token"] if is_token else [])
    if not value.isascii():
        forms = ["encoded", "encoded-continued"]
    form = draw(st.sampled_from(forms))
    if form == "token":
        return f"; {name}={value}"
    if form == "quoted":
        return f"; {name}={_quote(value)}"
    pieces = _split(value, draw(st.integers(1, 3)))
    if form == "continued":
        return "".join(f"; {name}*{index}={_quote(piece)}" for index, piece in enumerate(pieces))
    charset = draw(st.sampled_from(["utf-8", "UTF-8", "us-ascii"] if value.isascii()
                                   else ["utf-8", "UTF-8"]))
    language = draw(st.sampled_from(["", "en", "de-CH"]))
    if form == "encoded":
        return f"; {name}*={charset}'{language}'{_percent_encode(value.encode('utf-8'))}"
    encoded = [_percent_encode(piece.encode("utf-8")) for piece in pieces]
    return "".join(f"; {name}*{index}*={charset}'{language}'{text}" if index == 0 else
                   f"; {name}*{index}*={text}" for index, text in enumerate(encoded))


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


_PARAMETER_VALUES = st.text(string.ascii_letters + string.digits + " ._-()'\"\\",
                            min_size=1, max_size=40).filter(lambda v: v.strip() == v)
_UTF8_PARAMETER_VALUES = st.text(string.ascii_letters + " ._-" + NON_ASCII, min_size=1,
                                 max_size=30).filter(lambda v: v.strip() == v)


# --- MIME trees ----------------------------------------------------------------------------

@dataclass(frozen=True)
class _Leaf:
    media: str
    header: tuple[str, ...]          # Content-* fields, type first
    body: bytes


@dataclass(frozen=True)
class _Multipart:
    subtype: str
    children: tuple[_Leaf | _Multipart | _Message, ...]
    preamble: str
    epilogue: str


@dataclass(frozen=True)
class _Message:
    header: tuple[str, ...]          # RFC 5322 fields
    root: _Leaf | _Multipart | _Message
    subtype: str = "rfc822"          # as a part: message/rfc822 or message/global


_TEXT_LINE = st.text(string.ascii_letters + string.digits + " .,;:!?'\"()=<>@", max_size=50)
_UTF8_TEXT_LINE = st.text(string.ascii_letters + " .,!" + NON_ASCII, max_size=40)


def _not_dash(line: str) -> str:
    return ("x" + line) if line.startswith("-") else line


def _encoded_body(octets: bytes, encoding: str) -> bytes:
    if encoding == "base64":
        return base64.encodebytes(octets).replace(b"\n", b"\r\n")
    if encoding == "quoted-printable":
        return binascii.b2a_qp(octets.replace(b"\r\n", b"\n")).replace(b"\n", b"\r\n")
    return octets


@st.composite
def _text_leaves(draw: st.DrawFn, utf8: bool) -> _Leaf:
    subtype = draw(st.sampled_from(["plain", "html", "x-custom"]))
    lines = [_not_dash(line) for line in draw(st.lists(
        st.one_of(_TEXT_LINE, _UTF8_TEXT_LINE) if utf8 else _TEXT_LINE, max_size=6))]
    text = CRLF.join(lines) + draw(st.sampled_from(["", CRLF]))
    if subtype == "html":
        text = f"<html><body><p>{text}</p></body></html>"
    charset = "us-ascii" if text.isascii() else draw(st.sampled_from(["utf-8", "iso-8859-1"]))
    try:
        octets = text.encode(charset)
    except UnicodeEncodeError:
        charset, octets = "utf-8", text.encode("utf-8")
    encodings = ["quoted-printable", "base64"] + (["7bit"] if text.isascii() else ["8bit"])
    encoding = draw(st.sampled_from(encodings))
    header = [f"Content-Type: text/{subtype}" + draw(parameters("charset", charset))]
    if draw(st.booleans()):
        header.append(f"Content-Transfer-Encoding: {encoding}")
    elif encoding != "7bit":
        header.append(f"Content-Transfer-Encoding: {encoding.upper()}")
    if encoding == "7bit" and subtype == "plain" and draw(st.booleans()):
        header = []                  # RFC 2045 §5.2: text/plain; charset=us-ascii, 7bit
    header += draw(_optional_content_fields(utf8))
    return _Leaf("text", tuple(header), _encoded_body(octets, encoding))


@st.composite
def _attachments(draw: st.DrawFn, utf8: bool) -> _Leaf:
    media = draw(st.sampled_from(["application/octet-stream", "image/png", "audio/basic",
                                  "application/pdf", "x-custom/thing"]))
    filename = draw(_UTF8_PARAMETER_VALUES if utf8 else _PARAMETER_VALUES)
    header = [f"Content-Type: {media}" + draw(parameters("name", filename)),
              "Content-Transfer-Encoding: base64",
              f"Content-Disposition: {draw(st.sampled_from(['attachment', 'inline']))}"
              + draw(parameters("filename", filename))]
    header += draw(_optional_content_fields(utf8))
    return _Leaf(media.split("/")[0], tuple(header), _encoded_body(
        draw(st.binary(max_size=200)), "base64"))


@st.composite
def _optional_content_fields(draw: st.DrawFn, utf8: bool) -> list[str]:
    fields = []
    if draw(st.booleans()):
        fields.append(f"Content-ID: <{draw(atoms())}@{draw(domains())}>")
    if draw(st.booleans()):
        fields.append(f"Content-Description: {draw(unstructured_texts(utf8=utf8))}")
    if draw(st.integers(0, 4)) == 0:
        fields.append("Content-Language: " + ", ".join(draw(st.lists(
            st.sampled_from(["en", "fr", "de-CH", "x-klingon"]), min_size=1, max_size=3))))
    if draw(st.integers(0, 4)) == 0:
        fields.append(f"Content-Location: http://{draw(domains())}/{draw(atoms())}")
    return fields


@st.composite
def _message_headers(draw: st.DrawFn, utf8: bool) -> tuple[str, ...]:
    header = [f"From: {draw(mailboxes(utf8=utf8))}",
              f"To: {draw(address_lists(utf8=utf8))}",
              f"Subject: {draw(unstructured_texts(utf8=utf8))}",
              "Date: " + draw(st.sampled_from(["Tue, 1 Jul 2003 10:52:37 +0200",
                                               "Wed, 17 Jul 1996 02:23:25 -0700 (PDT)"])),
              f"Message-ID: <{draw(dot_atoms())}@{draw(domains())}>"]
    if draw(st.booleans()):
        header.append(f"Cc: {draw(address_lists(utf8=utf8))}")
    if draw(st.booleans()):
        header.append(f"Reply-To: {draw(address_lists(utf8=utf8, with_groups=False))}")
    header += [f"{name}: {value}" for name, value in draw(st.lists(
        st.tuples(field_names(), unstructured_texts(utf8=utf8)), max_size=3))]
    order = draw(st.permutations(range(len(header))))
    return tuple(header[index] for index in order)


def _trees(utf8: bool, max_leaves: int) -> st.SearchStrategy[_Leaf | _Multipart | _Message]:
    leaves = st.one_of(_text_leaves(utf8), _attachments(utf8))
    preamble = st.one_of(st.just(""), _TEXT_LINE.map(_not_dash))

    def extend(children: st.SearchStrategy[_Leaf | _Multipart | _Message]
               ) -> st.SearchStrategy[_Leaf | _Multipart | _Message]:
        multipart = st.builds(_Multipart, st.sampled_from(["mixed", "alternative", "related"]),
                              st.lists(children, min_size=1, max_size=4).map(tuple),
                              preamble, preamble)
        message = st.builds(_Message, _message_headers(utf8), children,
                            st.sampled_from(["rfc822", "global"] if utf8 else ["rfc822"]))
        digest = st.builds(_Multipart, st.just("digest"),
                           st.lists(message, min_size=1, max_size=3).map(tuple),
                           preamble, preamble)
        return st.one_of(multipart, message, digest)

    return st.recursive(leaves, extend, max_leaves=max_leaves)


def _fold(line: str) -> str:
    """RFC 5322 §2.2.3 folding at spaces so lines stay under 78 characters; the first
    word of the value stays on the field name's line."""
    name, _, value = line.partition(" ")
    words = value.split(" ")
    out, current = [], f"{name} {words[0]}" if value else name
    for word in words[1:]:
        if len(current) + 1 + len(word) > 76 and current.strip() and word:
            out.append(current)
            current = word
        else:
            current = f"{current} {word}"
    out.append(current)
    return "\r\n ".join(out)


def _render(node: _Leaf | _Multipart | _Message, boundaries: count[int],
            in_digest: bool = False) -> tuple[list[str], bytes]:
    """(Content-* header lines, body octets) of one entity."""
    if isinstance(node, _Leaf):
        return list(node.header), node.body
    if isinstance(node, _Message):
        header = [] if in_digest else [f"Content-Type: message/{node.subtype}"]
        return header, _render_message(node, boundaries)
    boundary = f"=_{next(boundaries):04d}_{node.subtype}"
    body = [node.preamble.encode() + b"\r\n"] if node.preamble else []
    for child in node.children:
        header, content = _render(child, boundaries, in_digest=node.subtype == "digest")
        body.append(f"--{boundary}\r\n".encode() + "".join(
            _fold(line) + CRLF for line in header).encode() + b"\r\n" + content + b"\r\n")
    body.append(f"--{boundary}--\r\n{node.epilogue}".encode())
    return [f'Content-Type: multipart/{node.subtype}; boundary="{boundary}"'], b"".join(body)


def _render_message(message: _Message, boundaries: count[int]) -> bytes:
    content_header, body = _render(message.root, boundaries)
    lines = [*message.header, "MIME-Version: 1.0", *content_header]
    return "".join(_fold(line) + CRLF for line in lines).encode() + b"\r\n" + body


@_cached
def messages(*, utf8: bool = False, max_leaves: int = 6) -> st.SearchStrategy[bytes]:
    """The bytes of a valid RFC 5322 message with a MIME tree (see the module notes);
    ``utf8`` allows UTF-8 in header fields (RFC 6532) and message/global parts."""
    _check_bool("utf8", utf8)
    _check_int("max_leaves", max_leaves, minimum=1, maximum=100)
    return st.builds(_Message, _message_headers(utf8), _trees(utf8, max_leaves)).map(
        lambda message: _render_message(message, count(1)))


# --- Hostile messages ---------------------------------------------------------------------

@st.composite
def _deep_nesting(draw: st.DrawFn) -> bytes:
    depth = draw(st.integers(20, 400))
    kinds = draw(st.sampled_from(["multipart", "message", "alternating"]))
    head, tail = [], []
    for level in range(depth):
        multipart = kinds == "multipart" or (kinds == "alternating" and level % 2 == 0)
        if multipart:
            head.append(f'Content-Type: multipart/mixed; boundary="b{level}"\r\n\r\n'
                        f"--b{level}\r\n".encode())
            tail.append(f"\r\n--b{level}--\r\n".encode())
        else:
            head.append(b"Subject: level\r\nContent-Type: message/rfc822\r\n\r\n")
    return b"".join(head) + b"Content-Type: text/plain\r\n\r\ninnermost" + b"".join(
        reversed(tail))


@st.composite
def _huge_headers(draw: st.DrawFn) -> bytes:
    fields = draw(st.integers(1_000, 30_000))
    return b"Subject: many\r\n" + b"X-Field: value\r\n" * fields + b"\r\nbody\r\n"


_HOSTILE_PIECES = [b"--", b"\r\n", b"\n", b"\r", b":", b" ", b"\t", b"=?", b"?=", b"\r\n\r\n",
                   b"--a\r\n", b"--a--\r\n", b"Content-Type: multipart/mixed; boundary=a\r\n",
                   b"Content-Type: message/rfc822\r\n", b"Content-Type: multipart/digest; "
                   b"boundary=\"a\"\r\n", b"Content-Transfer-Encoding: x-uuencode\r\n",
                   b"Content-Transfer-Encoding: base64\r\n", b"=?utf-8?B?####?=",
                   b"=?bogus?Q?x?=", b"; name*1*=%ZZ; name*3=x; name*0*=x-unknown''%FF",
                   b"From: \"unterminated <a@b\r\n", b"To: a@b, , (comment (nested) <c@d>;;\r\n",
                   b"\xff\xfe", b"\x00", b"(", b"\"", b"<", b">", b"\\"]


@st.composite
def _spliced(draw: st.DrawFn) -> bytes:
    raw = bytearray(draw(messages(max_leaves=4)))
    for _ in range(draw(st.integers(1, 4))):
        operation = draw(st.sampled_from(["truncate", "delete", "duplicate", "insert",
                                          "lf-only", "drop-close", "drop-boundary", "flip"]))
        at = draw(st.integers(0, len(raw)))
        until = draw(st.integers(at, len(raw)))
        if operation == "truncate":
            del raw[at:]
        elif operation == "delete":
            del raw[at:until]
        elif operation == "duplicate":
            raw[at:at] = raw[at:until]
        elif operation == "insert":
            raw[at:at] = draw(st.sampled_from(_HOSTILE_PIECES))
        elif operation == "lf-only":
            raw = bytearray(raw.replace(b"\r\n", b"\n"))
        elif operation == "drop-close":
            raw = bytearray(raw.replace(b"--\r\n", b"\r\n"))
        elif operation == "drop-boundary":
            raw = bytearray(raw.replace(b"boundary=", b"b="))
        elif at < len(raw):
            raw[at] ^= draw(st.integers(1, 255))
    return bytes(raw)


@_cached
def hostile_messages() -> st.SearchStrategy[bytes]:
    """Bytes a server must survive (see the module notes): every one must parse."""
    return st.one_of(
        _spliced(), _deep_nesting(), _huge_headers(),
        st.lists(st.sampled_from(_HOSTILE_PIECES) | st.binary(max_size=8), max_size=60)
        .map(b"".join),
        st.binary(max_size=2_000))
