"""Hypothesis strategies for RFC 5322 messages with MIME trees, valid and hostile.

Grammar rules draw wire text, composed like the ABNF (STYLE.md §E): ``atoms()``,
``quoted_strings()``, ``phrases()``, ``addr_specs()``, ``mailboxes()``, ``groups()``,
``address_lists()`` (RFC 5322 §3.2-3.4), ``unstructured_texts()`` with RFC 2047
encoded-words, ``parameters()`` with RFC 2231 continuations and charsets (RFC 2045 §5.1),
and whole messages: ``messages()`` draws the bytes of a valid message with a MIME tree
(nested multiparts, message/rfc822 and message/global parts, multipart/digest, encoded
words, RFC 2231 parameters, 8-bit bodies and, with ``utf8=True``, UTF-8 header fields as
RFC 6532 allows). ``rendered_messages()`` draws the same messages together with the tree
they were rendered from (``RenderedMessage``: for every entity its ``ContentFields``, its
header and body octets, its body parts or encapsulated message), for tree → bytes → tree
properties.

Valid means: a conforming parser must read the intended structure. In particular the
boundaries of one message are distinct, none is a prefix of another, and no body line
starts with "-", so no content line can be taken for a delimiter (RFC 2046 §5.1.1:
"Boundary delimiters must not appear within the encapsulated material"); encoded-words
stand apart from neighbouring words (RFC 2047 §5) and never inside quoted-strings.

``hostile_messages()`` draws what a server receives from the wild and from attackers:
deep nesting, missing boundaries and close delimiters, bad transfer encodings and
charsets, broken encoded-words and RFC 2231 sections, huge header counts, LF-only line
ends, truncated and spliced valid messages, and arbitrary bytes; ``mime_bombs()`` is its
family of messages built for disproportionate work (deep and wide trees, folding,
encoded-word and RFC 2231 section floods, boundaries that prefix each other).

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
from collections.abc import Iterator
from dataclasses import dataclass, replace
from itertools import count

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from reference.message.encoded_words import encode_encoded_words

__all__ = [
    "ContentFields",
    "ExpectedPart",
    "RenderedMessage",
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
    "mime_bombs",
    "parameters",
    "phrases",
    "quoted_strings",
    "rendered_messages",
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
class ContentFields:
    """What an entity's Content-* fields say (RFC 2045 §5-6, RFC 2183, RFC 3282, RFC 2557),
    as a conforming parser must read them: the media type in lower case after the RFC
    2045 §5.2 and RFC 2046 §5.1.5 defaults, parameters RFC 2231-decoded as (lower-case
    name, value) in order, the transfer encoding and disposition in lower case, the
    other values unfolded, as written."""

    content_type: str
    parameters: tuple[tuple[str, str], ...] = ()
    transfer_encoding: str | None = None
    disposition: str | None = None
    disposition_parameters: tuple[tuple[str, str], ...] = ()
    content_id: str | None = None
    description: str | None = None
    languages: tuple[str, ...] = ()
    location: str | None = None


@dataclass(frozen=True)
class ExpectedPart:
    """One entity of a rendered message (RFC 2045 §2.4) and what it was rendered from:
    ``header`` are its header fields' octets (each with its CRLF, folded as written),
    ``body`` its body's octets (in its transfer encoding; for a multipart the preamble,
    the body parts and the epilogue; RFC 2046 §5.1.1: the CRLF before a delimiter belongs
    to the delimiter). ``field_names`` name the header fields in order; ``children`` are
    a multipart's body parts, ``message`` the root entity of an encapsulated message
    (message/rfc822, message/global)."""

    content: ContentFields
    header: bytes
    body: bytes
    field_names: tuple[str, ...]
    children: tuple[ExpectedPart, ...] = ()
    message: ExpectedPart | None = None

    def walk(self) -> Iterator[ExpectedPart]:
        """This entity and every one inside it, in the order they occur."""
        yield self
        for child in self.children:
            yield from child.walk()
        if self.message is not None:
            yield from self.message.walk()


@dataclass(frozen=True)
class RenderedMessage:
    """The bytes of a valid message and the tree they were rendered from: ``raw`` is
    ``root.header`` + CRLF + ``root.body``."""

    raw: bytes
    root: ExpectedPart


@dataclass(frozen=True)
class _Leaf:
    header: tuple[str, ...]          # Content-* fields, type first
    body: bytes
    content: ContentFields


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
    content = ContentFields(f"text/{subtype}", (("charset", charset),))
    if draw(st.booleans()):
        header.append(f"Content-Transfer-Encoding: {encoding}")
        content = replace(content, transfer_encoding=encoding)
    elif encoding != "7bit":
        header.append(f"Content-Transfer-Encoding: {encoding.upper()}")
        content = replace(content, transfer_encoding=encoding)
    if encoding == "7bit" and subtype == "plain" and draw(st.booleans()):
        # RFC 2045 §5.2: "Content-type: text/plain; charset=us-ascii" by default
        header, content = [], ContentFields("text/plain", (("charset", "US-ASCII"),))
    more, content = draw(_optional_content_fields(utf8, content))
    return _Leaf(tuple(header + more), _encoded_body(octets, encoding), content)


@st.composite
def _attachments(draw: st.DrawFn, utf8: bool) -> _Leaf:
    media = draw(st.sampled_from(["application/octet-stream", "image/png", "audio/basic",
                                  "application/pdf", "x-custom/thing"]))
    filename = draw(_UTF8_PARAMETER_VALUES if utf8 else _PARAMETER_VALUES)
    disposition = draw(st.sampled_from(["attachment", "inline"]))
    header = [f"Content-Type: {media}" + draw(parameters("name", filename)),
              "Content-Transfer-Encoding: base64",
              f"Content-Disposition: {disposition}" + draw(parameters("filename", filename))]
    content = ContentFields(media, (("name", filename),), "base64", disposition,
                            (("filename", filename),))
    more, content = draw(_optional_content_fields(utf8, content))
    return _Leaf(tuple(header + more), _encoded_body(draw(st.binary(max_size=200)), "base64"),
                 content)


@st.composite
def _optional_content_fields(draw: st.DrawFn, utf8: bool, content: ContentFields
                             ) -> tuple[list[str], ContentFields]:
    fields = []
    if draw(st.booleans()):
        content_id = f"<{draw(atoms())}@{draw(domains())}>"
        fields.append(f"Content-ID: {content_id}")
        content = replace(content, content_id=content_id)
    if draw(st.booleans()):
        description = draw(unstructured_texts(utf8=utf8))
        fields.append(f"Content-Description: {description}")
        content = replace(content, description=description)
    if draw(st.integers(0, 4)) == 0:
        languages = draw(st.lists(st.sampled_from(["en", "fr", "de-CH", "x-klingon"]),
                                  min_size=1, max_size=3))
        fields.append("Content-Language: " + ", ".join(languages))
        content = replace(content, languages=tuple(languages))
    if draw(st.integers(0, 4)) == 0:
        location = f"http://{draw(domains())}/{draw(atoms())}"
        fields.append(f"Content-Location: {location}")
        content = replace(content, location=location)
    return fields, content


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


def _header_octets(lines: list[str]) -> bytes:
    return "".join(_fold(line) + CRLF for line in lines).encode()


def _names(lines: list[str]) -> tuple[str, ...]:
    return tuple(line.partition(":")[0] for line in lines)


def _render(node: _Leaf | _Multipart | _Message, boundaries: count[int], in_digest: bool = False
            ) -> tuple[list[str], bytes, ContentFields, tuple[ExpectedPart, ...],
                       ExpectedPart | None]:
    """(Content-* header lines, body octets, what the lines say, the expected body parts
    of a multipart, the expected root of an encapsulated message) of one entity."""
    if isinstance(node, _Leaf):
        return list(node.header), node.body, node.content, (), None
    if isinstance(node, _Message):
        # RFC 2046 §5.1.5: in a digest "the default Content-Type value for a body part is
        # changed from "text/plain" to "message/rfc822""
        header = [] if in_digest else [f"Content-Type: message/{node.subtype}"]
        media = "message/rfc822" if in_digest else f"message/{node.subtype}"
        root = _render_message(node, boundaries)
        return header, root.header + b"\r\n" + root.body, ContentFields(media), (), root
    boundary = f"=_{next(boundaries):04d}_{node.subtype}"
    body = [node.preamble.encode() + b"\r\n"] if node.preamble else []
    children = []
    for child in node.children:
        header, content, fields, parts, message = _render(
            child, boundaries, in_digest=node.subtype == "digest")
        octets = _header_octets(header)
        body.append(f"--{boundary}\r\n".encode() + octets + b"\r\n" + content + b"\r\n")
        children.append(ExpectedPart(fields, octets, content, _names(header), parts, message))
    body.append(f"--{boundary}--\r\n{node.epilogue}".encode())
    return ([f'Content-Type: multipart/{node.subtype}; boundary="{boundary}"'], b"".join(body),
            ContentFields(f"multipart/{node.subtype}", (("boundary", boundary),)),
            tuple(children), None)


def _render_message(message: _Message, boundaries: count[int]) -> ExpectedPart:
    """The root entity of ``message``: its header is the message's (RFC 2045 §3: the
    MIME fields are among the RFC 5322 fields)."""
    content_header, body, fields, parts, encapsulated = _render(message.root, boundaries)
    lines = [*message.header, "MIME-Version: 1.0", *content_header]
    return ExpectedPart(fields, _header_octets(lines), body, _names(lines), parts,
                        encapsulated)


def _rendered(message: _Message) -> RenderedMessage:
    root = _render_message(message, count(1))
    return RenderedMessage(root.header + b"\r\n" + root.body, root)


@_cached
def messages(*, utf8: bool = False, max_leaves: int = 6) -> st.SearchStrategy[bytes]:
    """The bytes of a valid RFC 5322 message with a MIME tree (see the module notes);
    ``utf8`` allows UTF-8 in header fields (RFC 6532) and message/global parts."""
    _check_bool("utf8", utf8)
    _check_int("max_leaves", max_leaves, minimum=1, maximum=100)
    return rendered_messages(utf8=utf8, max_leaves=max_leaves).map(lambda r: r.raw)


@_cached
def rendered_messages(*, utf8: bool = False,
                      max_leaves: int = 6) -> st.SearchStrategy[RenderedMessage]:
    """What ``messages()`` draws, with the tree it was rendered from: a
    ``RenderedMessage`` whose ``root`` holds, for every entity, its content fields, the
    octets of its header and body, and its body parts or encapsulated message, so that
    a parser can be checked to recover exactly that structure and those octets."""
    _check_bool("utf8", utf8)
    _check_int("max_leaves", max_leaves, minimum=1, maximum=100)
    return st.builds(_Message, _message_headers(utf8), _trees(utf8, max_leaves)).map(
        _rendered)


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


@st.composite
def _wide_multiparts(draw: st.DrawFn) -> bytes:
    # more body parts than MessageLimits.max_parts (10,000) allows, or close to it
    parts = draw(st.sampled_from([2_000, 10_001, 12_000]))
    empty = draw(st.booleans())
    part = b"--w\r\n\r\n" if empty else b"--w\r\nContent-Type: text/plain\r\n\r\nx\r\n"
    return (b"Content-Type: multipart/mixed; boundary=w\r\n\r\n" + part * parts
            + b"--w--\r\n")


@st.composite
def _parameter_bombs(draw: st.DrawFn) -> bytes:
    # RFC 2231 §3 continuations: thousands of sections, out of order, with gaps, huge
    # section numbers, and charsets on every section
    sections = draw(st.integers(500, 5_000))
    shape = draw(st.sampled_from(["ordered", "reversed", "gaps", "huge", "charset"]))
    if shape == "huge":
        items = [f"name*{10 ** draw(st.integers(5, 40))}=x" for _ in range(50)]
    else:
        numbers = list(range(sections))
        if shape == "reversed":
            numbers.reverse()
        elif shape == "gaps":
            numbers = numbers[::3]
        marker = "*" if shape == "charset" else ""
        prefix = "utf-8''" if shape == "charset" else ""
        items = [f"name*{n}{marker}={prefix}%41" if marker else f"name*{n}=a" for n in numbers]
    return ("Content-Type: application/octet-stream;\r\n " + ";\r\n ".join(items)
            + "\r\n\r\nbody\r\n").encode()


@st.composite
def _encoded_word_bombs(draw: st.DrawFn) -> bytes:
    # RFC 2047: thousands of encoded-words in one field, adjacent (§6.2: the white space
    # between them is ignored), some broken
    word = draw(st.sampled_from([b"=?utf-8?q?a?=", b"=?utf-8?b?YQ==?=", b"=?utf-8?q?=C3?=",
                                 b"=?x?q?a?=", b"=?utf-8?q?a", b"=?=?=?"]))
    count_ = draw(st.integers(1_000, 8_000))
    field = draw(st.sampled_from([b"Subject: ", b"From: ", b"Content-Type: text/plain; name="]))
    return field + b" ".join([word] * count_) + b"\r\n\r\nbody\r\n"


@st.composite
def _folding_bombs(draw: st.DrawFn) -> bytes:
    # RFC 5322 §2.2.3: one field folded over thousands of lines (or only white space)
    lines = draw(st.integers(1_000, 20_000))
    piece = draw(st.sampled_from([b"\r\n x", b"\r\n ", b"\r\n\t(", b"\r\n a@b,"]))
    field = draw(st.sampled_from([b"Subject:", b"To:", b"Content-Type: multipart/mixed;",
                                  b"References:"]))
    return field + piece * lines + b"\r\n\r\nbody\r\n"


@st.composite
def _boundary_bombs(draw: st.DrawFn) -> bytes:
    # RFC 2046 §5.1.1: nested multiparts whose boundaries are prefixes of one another
    # (each delimiter line of the inner part is also one of the outer part, with
    # "transport padding" or text after it), to depth and width
    depth = draw(st.integers(2, 60))
    width = draw(st.integers(1, 30))
    head, tail = [], []
    for level in range(depth):
        boundary = b"b" * (level + 1)
        head.append(b"Content-Type: multipart/mixed; boundary=\"" + boundary + b"\"\r\n\r\n"
                    + (b"--" + boundary + b"\r\n\r\nx\r\n") * width + b"--" + boundary
                    + b"\r\n")
        tail.append(b"\r\n--" + boundary + b"--\r\n")
    return b"".join(head) + b"innermost" + b"".join(reversed(tail))


@_cached
def mime_bombs() -> st.SearchStrategy[bytes]:
    """Messages built to make a parser do disproportionate work or hold too much: deep
    nesting (multipart and message/rfc822, RFC 2046 §5.1, §5.2.1), more body parts than
    any limit, huge header counts, one field folded over thousands of lines (RFC 5322
    §2.2.3), thousands of encoded-words (RFC 2047) and of RFC 2231 parameter sections
    (out of order, with gaps, with huge section numbers), and nested boundaries that are
    prefixes of each other (RFC 2046 §5.1.1). A parser must answer each with a tree
    (degraded at its documented limits) in time linear in the size."""
    return st.one_of(_deep_nesting(), _huge_headers(), _wide_multiparts(), _parameter_bombs(),
                     _encoded_word_bombs(), _folding_bombs(), _boundary_bombs())


@_cached
def hostile_messages() -> st.SearchStrategy[bytes]:
    """Bytes a server must survive (see the module notes): every one must parse."""
    return st.one_of(
        _spliced(), mime_bombs(),
        st.lists(st.sampled_from(_HOSTILE_PIECES) | st.binary(max_size=8), max_size=60)
        .map(b"".join),
        st.binary(max_size=2_000))
