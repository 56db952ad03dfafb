"""RFC 2047 encoded-words, and MIME parameters with RFC 2231 continuations and charsets.

Implementation notes:

- Text here is ``str`` decoded from the raw octets as UTF-8 (RFC 6532 §3.2); octets that
  are not UTF-8 arrive as lone surrogates (``surrogateescape``, see ``headers.field_text``)
  and pass through untouched.
- Encoded-words are decoded where RFC 2047 §5 allows them: as whole whitespace-separated
  words of unstructured text (§5(1), ``decode_unstructured``) and as words of a phrase
  (§5(3), ``decode_encoded_word``, used by ``addresses``). Never inside a quoted-string
  (§5: "An 'encoded-word' MUST NOT appear within a 'quoted-string'") and never in MIME
  parameters (§5: "MUST NOT be used in parameter of a MIME Content-Type or
  Content-Disposition field").
- An encoded-word in a charset Python does not know stays as written (RFC 2047 §6.2 (a):
  "display the 'encoded-word' as ordinary text"); one whose octets do not decode in its
  charset is decoded with U+FFFD replacements (§6.3: "MUST NOT prevent the display").
- Parameters: ``parse_parameters`` reads ``*(";" parameter)`` (RFC 2045 §5.1) leniently
  (comments, a missing value, an unquoted value with spaces) and collapses RFC 2231
  sections and charsets into one ``Parameter`` per name, in order of first appearance. A
  parameter whose value was percent-decoded (any section written ``name*...*``) has
  ``extended=True``: RFC 9051 §7.5.2 asks IMAP to return it under the name "foo*".
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
from dataclasses import dataclass

# --- RFC 2047 §2 -------------------------------------------------------------------------
# encoded-word = "=?" charset "?" encoding "?" encoded-text "?="
# charset = token    ; RFC 2231 §7: charset ["*" language]
# encoding = token
# token = 1*<Any CHAR except SPACE, CTLs, and especials>
# especials = "(" / ")" / "<" / ">" / "@" / "," / ";" / ":" / "
#             <"> / "/" / "[" / "]" / "?" / "." / "="
# encoded-text = 1*<Any printable ASCII character other than "?" or SPACE>
# DEVIATION: an empty encoded-text is accepted (it decodes to ""), as other readers do.
TOKEN_2047 = r"[^\x00-\x20\x7f()<>@,;:\\\"/\[\]?.=*]+"
ENCODED_TEXT = r"[\x21-\x3e\x40-\x7e]*"
ENCODED_WORD = (f"=\\?({TOKEN_2047})(?:\\*({TOKEN_2047}))?\\?([BbQq])\\?({ENCODED_TEXT})\\?=")
_ENCODED_WORD = re.compile(ENCODED_WORD)
_WHITESPACE_RUNS = re.compile(r"([ \t\r\n]+)")
# RFC 2047 §4.2 (2): "=" followed by two hexadecimal digits; (3): "_" is SPACE.
_Q_ESCAPE = re.compile(rb"=([0-9A-Fa-f]{2})")
# RFC 2047 §5 (3): in a phrase a "Q"-encoded word may only hold letters, digits and
# "!", "*", "+", "-", "/", "=", "_"; everything else is written =XX.
_Q_PHRASE_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!*+-/")
_BASE64_ALPHABET = re.compile(rb"[^A-Za-z0-9+/]")


def decode_charset(data: bytes, charset: str) -> str | None:
    """``data`` decoded from ``charset`` (a MIME charset name), or None when Python does not
    know it as a text encoding. Undecodable octets become U+FFFD. US-ASCII is read as
    UTF-8, its superset, so stray 8-bit octets in mislabelled text keep their meaning."""
    name = charset.strip().lower()
    if name in ("us-ascii", "ascii", "utf8"):
        name = "utf-8"
    try:
        codec = codecs.lookup(name)
    except (LookupError, ValueError):
        return None
    if not codec._is_text_encoding:       # "base64", "zlib"...: not a character set
        return None
    try:
        return data.decode(codec.name, "replace")
    except (UnicodeError, LookupError):   # the "undefined" codec refuses everything
        return None


def decode_base64_lenient(data: bytes) -> bytes:
    """RFC 2045 §6.8: "Any characters outside of the base64 alphabet are to be ignored";
    missing "=" padding is supplied and a dangling sixth bit-group dropped."""
    data = data.split(b"=", 1)[0]
    data = _BASE64_ALPHABET.sub(b"", data)
    if len(data) % 4 == 1:
        data = data[:-1]
    return binascii.a2b_base64(data + b"=" * (-len(data) % 4))


def decode_encoded_word(word: str) -> str | None:
    """The text of one encoded-word (RFC 2047 §4), or None if ``word`` is not one or its
    charset is unknown (the caller then shows it as written, RFC 2047 §6.2 (a))."""
    match = _ENCODED_WORD.fullmatch(word)
    if match is None:
        return None
    charset, _language, encoding, text = match.groups()
    encoded = text.encode("ascii")
    if encoding in "Bb":
        octets = decode_base64_lenient(encoded)            # RFC 2047 §4.1
    else:                                                  # RFC 2047 §4.2
        octets = _Q_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]),
                               encoded.replace(b"_", b" "))
    return decode_charset(octets, charset)


def decode_unstructured(text: str) -> str:
    """Decode the encoded-words of unstructured text (a Subject, Comments, any '*text').

    RFC 2047 §6.1 (1): each sequence of printable characters that begins the field body
    or follows linear-white-space is "examined to see if it is an 'encoded-word'".
    RFC 2047 §6.2: "any 'linear-white-space' that separates a pair of adjacent
    'encoded-word's is ignored". Other whitespace is kept as written.
    """
    if "=?" not in text:
        return text
    pieces = _WHITESPACE_RUNS.split(text)   # word, space, word, space, ..., word
    out: list[str] = []
    previous_was_encoded = False
    pending_space = ""
    for index, piece in enumerate(pieces):
        if index % 2:                       # a whitespace run
            pending_space = piece
            continue
        decoded = decode_encoded_word(piece) if piece.startswith("=?") else None
        if decoded is None:
            out.append(pending_space + piece)
            previous_was_encoded = False
        else:
            out.append(decoded if previous_was_encoded else pending_space + decoded)
            previous_was_encoded = True
        pending_space = ""
    return "".join(out) + pending_space


def encode_encoded_word(text: str, *, charset: str = "utf-8", encoding: str = "Q") -> str:
    """One encoded-word for ``text`` (RFC 2047 §4), Q-encoded with only the characters a
    phrase allows (§5 (3)), so the word is valid in unstructured text and phrases alike.
    No length limit: ``encode_encoded_words`` splits to the 75-character limit of §2."""
    octets = text.encode(charset)
    if encoding.upper() == "B":
        body = base64.b64encode(octets).decode("ascii")
    else:
        body = "".join("_" if octet == 0x20 else chr(octet) if octet in _Q_PHRASE_SAFE
                       else f"={octet:02X}" for octet in octets)
    return f"=?{charset}?{encoding.upper()}?{body}?="


def encode_encoded_words(text: str, *, charset: str = "utf-8", encoding: str = "Q",
                         max_length: int = 75) -> list[str]:
    """``text`` as encoded-words of at most ``max_length`` characters each (RFC 2047 §2:
    "An 'encoded-word' may not be more than 75 characters long"), split between
    characters (§5: "Each 'encoded-word' MUST represent an integral number of
    characters"). Joined with a space they decode back to ``text`` (§6.2)."""
    words: list[str] = []
    chunk = ""
    for character in text:
        candidate = encode_encoded_word(chunk + character, charset=charset, encoding=encoding)
        if chunk and len(candidate) > max_length:
            words.append(encode_encoded_word(chunk, charset=charset, encoding=encoding))
            chunk = character
        else:
            chunk += character
    if chunk or not words:
        words.append(encode_encoded_word(chunk, charset=charset, encoding=encoding))
    return words


# --- RFC 2045 §5.1 parameters, RFC 2231 continuations and charsets ----------------------

@dataclass(frozen=True, slots=True)
class Parameter:
    """A MIME parameter after RFC 2231 decoding: ``name`` lower-cased without its section
    marks (RFC 2045 §5.1: "Matching of attributes is ALWAYS case-insensitive"), ``value``
    with quoting removed and sections joined, percent-decoded and charset-decoded."""
    name: str
    value: str
    extended: bool = False      # some section was written name*...* (RFC 2231 §4)


# tspecials :=  "(" / ")" / "<" / ">" / "@" / "," / ";" / ":" / "\" / <"> / "/" / "[" /
#               "]" / "?" / "="
# token := 1*<any (US-ASCII) CHAR except SPACE, CTLs, or tspecials>
# DEVIATION: octets above US-ASCII are accepted in tokens (RFC 6532 era UTF-8 values).
TOKEN = r"[^\x00-\x20\x7f()<>@,;:\\\"/\[\]?=]+"
# quoted-string = DQUOTE *(qtext / quoted-pair) DQUOTE   (RFC 5322 §3.2.4; unterminated
# strings end at the end of the field)
QUOTED_STRING = r"\"((?:[^\"\\]|\\.)*)(?:\"|\\?\Z)"
_TOKEN = re.compile(TOKEN)
_QUOTED_STRING = re.compile(QUOTED_STRING, re.DOTALL)
_QUOTED_PAIR = re.compile(r"\\(.)", re.DOTALL)
_UNQUOTED_VALUE_REST = re.compile(r"[^;\"(]*")
# RFC 2231 §7: regular-parameter-name := attribute [section]
#              extended-initial-name := attribute [initial-section] "*"
#              extended-other-names := attribute other-sections "*"
#              section := initial-section / other-sections; initial-section := "*0"
_SECTIONED_NAME = re.compile(r"(.+?)(?:\*([0-9]+))?(\*)?")
# extended-initial-value := [charset] "'" [language] "'" extended-other-values
_EXTENDED_INITIAL_VALUE = re.compile(r"([^']*)'([^']*)'(.*)", re.DOTALL)
# ext-octet := "%" 2(DIGIT / "A" / "B" / "C" / "D" / "E" / "F")  (lower case tolerated)
_EXT_OCTET = re.compile(rb"%([0-9A-Fa-f]{2})")


def skip_cfws(text: str, pos: int) -> int:
    """Skip whitespace and RFC 5322 §3.2.2 comments (nested, with quoted-pairs) from
    ``pos``; an unterminated comment runs to the end of the text."""
    while True:
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
        if pos >= len(text) or text[pos] != "(":
            return pos
        depth = 0
        while pos < len(text):
            character = text[pos]
            if character == "\\":
                pos += 1
            elif character == "(":
                depth += 1
            elif character == ")":
                depth -= 1
                if depth == 0:
                    pos += 1
                    break
            pos += 1


def read_token(text: str, pos: int) -> tuple[str | None, int]:
    """A ``token`` at ``pos`` after CFWS, or None."""
    pos = skip_cfws(text, pos)
    match = _TOKEN.match(text, pos)
    if match is None:
        return None, pos
    return match.group(), match.end()


def parse_parameters(text: str, pos: int = 0) -> tuple[Parameter, ...]:
    """``*(";" parameter)`` from ``pos`` (RFC 2045 §5.1), RFC 2231-decoded.

    Lenient where mail in the wild is broken: a parameter without "=" or with an empty
    value is skipped, an unquoted value runs to the next ";" (spaces included), junk
    between parameters is skipped up to the next ";".
    """
    raw: list[tuple[str, str]] = []
    length = len(text)
    while pos < length:
        pos = skip_cfws(text, pos)
        if pos >= length:
            break
        if text[pos] != ";":
            next_semicolon = text.find(";", pos)
            if next_semicolon < 0:
                break
            pos = next_semicolon
        pos += 1
        name, pos = read_token(text, pos)
        pos = skip_cfws(text, pos)
        if name is None or not text.startswith("=", pos):
            continue
        pos = skip_cfws(text, pos + 1)
        quoted = _QUOTED_STRING.match(text, pos)
        if quoted is not None:
            value = _QUOTED_PAIR.sub(r"\1", quoted.group(1))
            pos = quoted.end()
        else:
            unquoted = _UNQUOTED_VALUE_REST.match(text, pos)
            assert unquoted is not None                 # the pattern matches ""
            value = unquoted.group().rstrip(" \t\r\n")
            pos = unquoted.end()
            if not value:
                continue
        raw.append((name, value))
    return collapse_rfc2231(raw)


def collapse_rfc2231(raw: list[tuple[str, str]]) -> tuple[Parameter, ...]:
    """Join RFC 2231 sections (§3) and decode charsets (§4, §4.1).

    Each name keeps the place of its first section. Sections are joined in numeric order
    (§3: "by concatenating the various sections of the parameter, in order"); a gap or a
    duplicate, both forbidden, is tolerated by joining what is there. Encoded sections
    (name*n*) are percent-decoded to octets, unencoded ones taken as written; the joined
    octets are decoded with the charset of the initial section (§4.1 (1): "Language and
    character set information only appear at the beginning"). An unknown or empty charset
    reads the octets as UTF-8, keeping any others as surrogates.

    A plain ``name=`` and an RFC 2231 ``name*=`` of the same name are two parameters: the
    second is marked ``extended`` (RFC 9051 §7.5.2 names it "name*").
    """
    order: list[tuple[str, bool]] = []
    plain: dict[str, str] = {}
    sections: dict[str, list[tuple[int, bool, str]]] = {}
    for written_name, value in raw:
        match = _SECTIONED_NAME.fullmatch(written_name)
        assert match is not None                        # ".+?" matches any token
        base, number, star = match.group(1).lower(), match.group(2), match.group(3)
        if number is None and star is None:
            if base not in plain:
                plain[base] = value
                order.append((base, False))
            continue
        if base not in sections:
            sections[base] = []
            order.append((base, True))
        sections[base].append((int(number) if number is not None else 0, star is not None,
                               value))
    parameters: list[Parameter] = []
    for base, is_sectioned in order:
        if not is_sectioned:
            parameters.append(Parameter(base, plain[base]))
            continue
        parts = sorted(sections[base], key=lambda section: section[0])
        charset = ""
        octets = bytearray()
        for index, (_number, encoded, value) in enumerate(parts):
            if encoded:
                if index == 0:
                    initial = _EXTENDED_INITIAL_VALUE.fullmatch(value)
                    if initial is not None:
                        charset, _language, value = initial.groups()
                octets += _EXT_OCTET.sub(lambda m: bytes([int(m.group(1), 16)]),
                                         value.encode("utf-8", "surrogateescape"))
            else:
                octets += value.encode("utf-8", "surrogateescape")
        any_encoded = any(encoded for _number, encoded, _value in parts)
        text = decode_charset(bytes(octets), charset) if charset else None
        if text is None:
            text = bytes(octets).decode("utf-8", "surrogateescape")
        parameters.append(Parameter(base, text, extended=any_encoded))
    return tuple(parameters)


def find_parameter(parameters: tuple[Parameter, ...], name: str) -> str | None:
    """The value of parameter ``name`` (lower case). When both ``name`` and an RFC 2231
    ``name*`` are present, the RFC 2231 value wins: it is the one that can carry the
    characters the plain one had to approximate (RFC 2231 §4)."""
    found = None
    for parameter in parameters:
        if parameter.name == name:
            if parameter.extended:
                return parameter.value
            if found is None:
                found = parameter.value
    return found
