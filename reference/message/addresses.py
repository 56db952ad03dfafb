"""RFC 5322 §3.4 address lists: mailboxes and groups, obsolete forms (§4.4) tolerated.

Implementation notes:

- Two steps, like the RFC: a tokenizer for the lexical tokens of structured fields
  (RFC 5322 §3.2: atoms, quoted-strings, domain-literals, specials, CFWS) and a
  recursive-descent parser over the tokens for ``address-list`` (§3.4). The parser never
  fails: whatever cannot be read as an address is skipped up to the next ",".
- Each mailbox keeps what IMAP's ENVELOPE needs (RFC 9051 §9 ``address``): the phrase of
  the display name "after removing [RFC5322] quoting" with encoded-words left as written
  (``name``; the client decodes them), the obs-route (``route``), the local-part after
  removing quoting, the domain. ``display_name`` is the RFC 2047-decoded phrase (for JMAP
  and for search).
- RFC 5322 §3.2.2: CFWS between lexical tokens "semantically interpreted as a single
  space character": a phrase's words are joined by one space where CFWS separated them,
  and by nothing where they touched (obs-phrase "Q." in "John Q. Public").
- Comments are dropped: an old-style "user@host (Full Name)" has no display name (the
  comment is not a phrase; RFC 9051's addr-name is the phrase).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from reference.message.encoded_words import ENCODED_WORD, decode_encoded_word


@dataclass(frozen=True, slots=True)
class Mailbox:
    """RFC 5322 §3.4 mailbox = name-addr / addr-spec."""
    name: str | None            # display-name phrase, quoting removed, encoded-words as written
    route: str | None           # RFC 5322 §4.4 obs-route as "@a,@b", or None
    local_part: str             # quoting removed
    domain: str | None          # None when the address has no "@domain"
    display_name: str | None    # ``name`` with its encoded-words decoded (RFC 2047 §5 (3))


@dataclass(frozen=True, slots=True)
class Group:
    """RFC 5322 §3.4 group = display-name ":" [group-list] ";" [CFWS]."""
    name: str                   # phrase, quoting removed, encoded-words as written
    display_name: str           # decoded
    members: tuple[Mailbox, ...]


Address = Mailbox | Group


# --- RFC 5322 §3.2 lexical tokens -------------------------------------------------------
# atext = ALPHA / DIGIT / "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "/" /
#         "=" / "?" / "^" / "_" / "`" / "{" / "|" / "}" / "~"
# atext =/ UTF8-non-ascii                               (RFC 6532 §3.2)
ATEXT = "A-Za-z0-9!#$%&'*+\\-/=?^_`{|}~\u0080-\U0010ffff"
# atom = [CFWS] 1*atext [CFWS]
ATOM = f"[{ATEXT}]+"
# quoted-string = [CFWS] DQUOTE *([FWS] qcontent) [FWS] DQUOTE [CFWS]; qcontent = qtext /
# quoted-pair. An unterminated quoted-string runs to the end of the field.
QUOTED_STRING = r"\"((?:[^\"\\]|\\.)*)(?:\"|\\?\Z)"
# domain-literal = [CFWS] "[" *([FWS] dtext) [FWS] "]" [CFWS]; obs-dtext = obs-NO-WS-CTL /
# quoted-pair (RFC 5322 §4.4)
DOMAIN_LITERAL = r"\[(?:[^\]\\]|\\.)*(?:\]|\\?\Z)"
# specials = "(" / ")" / "<" / ">" / "[" / "]" / ":" / ";" / "@" / "\" / "," / "." / DQUOTE
_ENCODED_WORD_TOKEN = re.compile(ENCODED_WORD + r"(?=[ \t\r\n()<>,;:\"]|\Z)")
_ATOM = re.compile(ATOM)
_QUOTED_STRING = re.compile(QUOTED_STRING, re.DOTALL)
_DOMAIN_LITERAL = re.compile(DOMAIN_LITERAL, re.DOTALL)
_SPECIALS = "<>:;@,."
_QUOTED_PAIR = re.compile(r"\\(.)", re.DOTALL)
_WSP = " \t\r\n"

ATOM_KIND, QUOTED_KIND, LITERAL_KIND, SPECIAL_KIND = "atom", "quoted", "literal", "special"


@dataclass(frozen=True, slots=True)
class Token:
    kind: str               # atom, quoted, literal or special
    text: str               # quoted: the content with quoting removed
    spaced: bool            # CFWS came before it
    encoded: bool = False   # an atom that is an encoded-word (RFC 2047 §6.1 (2))


def tokenize(value: str) -> list[Token]:
    """The lexical tokens of a structured field body (RFC 5322 §3.2), CFWS dropped but
    remembered as ``spaced``. Characters that start no token (stray ")", "\\", controls)
    are skipped."""
    tokens: list[Token] = []
    pos, length, spaced = 0, len(value), False
    while pos < length:
        character = value[pos]
        if character in _WSP:
            pos, spaced = pos + 1, True
            continue
        if character == "(":
            pos, spaced = _skip_comment(value, pos), True
            continue
        if character == '"':
            match = _QUOTED_STRING.match(value, pos)
            assert match is not None                      # an unterminated one matches too
            tokens.append(Token(QUOTED_KIND, _QUOTED_PAIR.sub(r"\1", match.group(1)), spaced))
        elif character == "[":
            match = _DOMAIN_LITERAL.match(value, pos)
            assert match is not None
            tokens.append(Token(LITERAL_KIND, match.group(), spaced))
        elif character in _SPECIALS:
            tokens.append(Token(SPECIAL_KIND, character, spaced))
            pos, spaced = pos + 1, False
            continue
        elif (match := _ENCODED_WORD_TOKEN.match(value, pos)) is not None:
            tokens.append(Token(ATOM_KIND, match.group(), spaced, encoded=True))
        elif (match := _ATOM.match(value, pos)) is not None:
            tokens.append(Token(ATOM_KIND, match.group(), spaced))
        else:
            pos += 1
            continue
        pos, spaced = match.end(), False
    return tokens


def _skip_comment(value: str, pos: int) -> int:
    """RFC 5322 §3.2.2 comment = "(" *([FWS] ccontent) [FWS] ")"; comments nest."""
    depth = 0
    while pos < len(value):
        character = value[pos]
        if character == "\\":
            pos += 1
        elif character == "(":
            depth += 1
        elif character == ")":
            depth -= 1
            if depth == 0:
                return pos + 1
        pos += 1
    return pos


# --- RFC 5322 §3.4 address-list ---------------------------------------------------------

def parse_address_list(value: str) -> tuple[Address, ...]:
    """RFC 5322 §3.4 address-list = (address *("," address)) / obs-addr-list.

    obs-addr-list (§4.4) allows empty members ("a@b,,c@d"); they are skipped. A group
    inside a group (not allowed) is read as its members.
    """
    parser = _Parser(tokenize(value))
    addresses: list[Address] = []
    while not parser.at_end():
        if parser.accept(","):
            continue
        address = parser.address()
        if address is not None:
            addresses.append(address)
        else:
            parser.skip_past(",")
    return tuple(addresses)


def mailboxes(addresses: tuple[Address, ...]) -> list[Mailbox]:
    """The mailboxes of an address list, group members in place of their groups."""
    flat: list[Mailbox] = []
    for address in addresses:
        flat.extend(address.members if isinstance(address, Group) else (address,))
    return flat


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.pos = 0

    def at_end(self) -> bool:
        return self.pos >= len(self.tokens)

    def peek(self) -> Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def accept(self, special: str) -> bool:
        token = self.peek()
        if token is not None and token.kind == SPECIAL_KIND and token.text == special:
            self.pos += 1
            return True
        return False

    def skip_past(self, special: str) -> None:
        while not self.at_end() and not self.accept(special):
            self.pos += 1

    def words(self) -> list[Token]:
        """phrase = 1*word / obs-phrase; obs-phrase = word *(word / "." / CFWS). Also the
        words of a local-part (obs-local-part = word *("." word))."""
        words: list[Token] = []
        while (token := self.peek()) is not None and (
                token.kind in (ATOM_KIND, QUOTED_KIND)
                or (token.kind == SPECIAL_KIND and token.text == ".")):
            words.append(token)
            self.pos += 1
        return words

    def address(self) -> Address | None:
        """address = mailbox / group; mailbox = name-addr / addr-spec."""
        words = self.words()
        token = self.peek()
        if token is not None and token.kind == SPECIAL_KIND:
            if token.text == "<":
                return self.angle_addr(words)
            if token.text == ":":
                self.pos += 1
                return self.group(words)
            if token.text == "@":
                self.pos += 1
                return Mailbox(None, None, _local_part(words), self.domain(), None)
        if not words:
            return None
        # DEVIATION: a lone local-part without "@domain" ("To: root") is kept as a mailbox
        # with no domain; RFC 5322 §3.4.1 requires the domain.
        return Mailbox(None, None, _local_part(words), None, None)

    def angle_addr(self, phrase: list[Token]) -> Mailbox:
        """angle-addr = [CFWS] "<" addr-spec ">" [CFWS] / obs-angle-addr;
        obs-angle-addr = [CFWS] "<" obs-route addr-spec ">" [CFWS]."""
        self.pos += 1                                     # "<"
        route = self.obs_route()
        local_words = self.words()
        domain = self.domain() if self.accept("@") else None
        while not self.at_end() and not self.accept(">"):
            token = self.peek()
            if token is not None and token.kind == SPECIAL_KIND and token.text in ",;":
                break                                     # unterminated angle-addr
            self.pos += 1
        name, display_name = _phrase(phrase)
        return Mailbox(name, route, _local_part(local_words), domain, display_name)

    def obs_route(self) -> str | None:
        """obs-route = obs-domain-list ":"; obs-domain-list = *(CFWS / ",") "@" domain
        *("," [CFWS] ["@" domain]). RFC 5322 §4.4: the route "SHOULD be ignored" when
        interpreting the address; IMAP still reports it (RFC 9051 §9 addr-adl)."""
        start = self.pos
        domains: list[str] = []
        while self.accept(","):
            pass
        while self.accept("@"):
            domains.append("@" + self.domain())
            while self.accept(","):
                pass
        if domains and self.accept(":"):
            return ",".join(domains)
        self.pos = start
        return None

    def domain(self) -> str:
        """domain = dot-atom / domain-literal / obs-domain; obs-domain = atom *("." atom).
        CFWS between the atoms (obsolete) is dropped."""
        parts: list[str] = []
        while (token := self.peek()) is not None and (
                token.kind in (ATOM_KIND, LITERAL_KIND)
                or (token.kind == SPECIAL_KIND and token.text == ".")):
            parts.append(token.text)
            self.pos += 1
        return "".join(parts)

    def group(self, phrase: list[Token]) -> Group:
        """group = display-name ":" [group-list] ";" [CFWS];
        group-list = mailbox-list / CFWS / obs-group-list.

        RFC 5322 §3.4: a group-list holds mailboxes, never groups. A group inside a group
        is read as its members, counting the open groups instead of recursing: "a:b:c:..."
        nests as deep as the field is long (found: a RecursionError in parse_message).
        """
        members: list[Mailbox] = []
        open_groups = 1
        while not self.at_end():
            if self.accept(";"):
                open_groups -= 1
                if open_groups == 0:
                    break
                continue
            if self.accept(",") or self.accept(":"):
                continue
            start = self.pos
            if self.words() and self.accept(":"):       # display-name ":" of a nested group
                open_groups += 1
                continue
            self.pos = start
            address = self.address()
            if isinstance(address, Mailbox):
                members.append(address)
            else:
                self.pos += 1
        name, display_name = _phrase(phrase)
        return Group(name or "", display_name or "", tuple(members))


def _local_part(words: list[Token]) -> str:
    """local-part = dot-atom / quoted-string / obs-local-part, quoting removed. CFWS
    between the words (obsolete, RFC 5322 §4.4) is dropped."""
    return "".join(word.text for word in words)


def _phrase(words: list[Token]) -> tuple[str | None, str | None]:
    """The phrase as IMAP reports it and as displayed: (quoting removed, encoded-words as
    written) and (encoded-words decoded). None for an absent or empty phrase.

    RFC 2047 §6.2: "any 'linear-white-space' that separates a pair of adjacent
    'encoded-word's is ignored".
    """
    if not words:
        return None, None
    raw: list[str] = []
    shown: list[str] = []
    previous_encoded = False
    for index, word in enumerate(words):
        separator = " " if index and word.spaced else ""
        raw.append(separator + word.text)
        decoded = decode_encoded_word(word.text) if word.encoded else None
        if decoded is None:
            shown.append(separator + word.text)
            previous_encoded = False
        else:
            shown.append(decoded if previous_encoded else separator + decoded)
            previous_encoded = True
    name, display_name = "".join(raw), "".join(shown)
    return (name or None), (display_name or None)
