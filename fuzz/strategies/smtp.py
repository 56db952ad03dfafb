"""Hypothesis strategies for SMTP (RFC 5321 and its extensions), composed like the ABNF.

One public strategy per ABNF rule, named after the rule in snake_case and in the plural
(STYLE.md §E), built from the strategies of the rules it is made of, in the order the RFC
gives them. Two kinds:

- grammar rules draw wire text, exactly as it may appear in a command line:
  ``domains()``, ``address_literals()``, ``atoms()``, ``dot_strings()``,
  ``quoted_strings()``, ``local_parts()``, ``esmtp_keywords()``, ``xtexts()``...
- value rules draw the typed values of ``reference.smtp``: ``mailboxes()`` draws
  ``Mailbox`` values whose local part is the semantic value (a Quoted-string arrives
  unquoted: RFC 5321 §4.1.2 "all quoted forms MUST be treated as equivalent"),
  ``reverse_paths()``/``forward_paths()`` the paths of MAIL and RCPT, one strategy per
  command (``ehlos()``, ``mail_froms()``, ``bdats()``... and ``commands()`` for any of
  them), ``replies()`` for server replies and ``mail_data()`` for message content.

Everything drawn is valid and within the default ``SmtpLimits`` (RFC 5321 §4.5.3.1:
local part at most 64 octets, domain 255, path 256; RFC 3461 §4.4 ENVID 100 characters,
§4.2 ORCPT 500), so a conforming parser must accept all of it. Hostile inputs are made by
mutating these (``fuzz.strategies.smtp_hostile``). Keyword arguments are validated when the
strategy is built, as the Hypothesis style guide asks.

Example::

    from hypothesis import given
    from fuzz.strategies import smtp
    from reference.smtp.serializer import write_command

    @given(smtp.commands(utf8=True))
    def test_every_command_is_one_crlf_terminated_line(command):
        line = write_command(command)
        assert line.endswith(b"\\r\\n")

    @given(smtp.mailboxes(utf8=True).filter(lambda m: not m.is_ascii))
    def test_utf8_mailboxes_need_smtputf8(mailbox): ...
"""

from __future__ import annotations

import functools
import string
from typing import Any, TypeVar

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from reference.limits import SmtpLimits
from reference.smtp.commands import (
    Auth,
    Bdat,
    BodyType,
    Command,
    Data,
    DsnNotify,
    DsnReturn,
    Ehlo,
    Expn,
    Helo,
    Help,
    Mailbox,
    MailFrom,
    Noop,
    OriginalRecipient,
    Quit,
    RcptTo,
    Rset,
    StartTls,
    Vrfy,
)
from reference.smtp.replies import Reply, Status

__all__ = [
    "a_d_ls",
    "address_literals",
    "atoms",
    "auth_values",
    "auths",
    "bdats",
    "commands",
    "datas",
    "dcontents",
    "domains",
    "dot_strings",
    "ehlos",
    "envids",
    "esmtp_keywords",
    "esmtp_params",
    "esmtp_values",
    "expns",
    "forward_paths",
    "general_address_literals",
    "helos",
    "helps",
    "ipv4_address_literals",
    "ipv6_address_literals",
    "ipv6_addrs",
    "ipv6_hexes",
    "ldh_strs",
    "let_digs",
    "local_parts",
    "mail_data",
    "mail_froms",
    "mailboxes",
    "noops",
    "notify_values",
    "orcpt_values",
    "qcontent_smtps",
    "quits",
    "quoted_strings",
    "rcpt_tos",
    "replies",
    "reply_codes",
    "reverse_paths",
    "rsets",
    "sasl_mechs",
    "size_values",
    "snums",
    "standardized_tags",
    "starttlses",
    "status_codes",
    "strings",
    "sub_domains",
    "textstrings",
    "u_labels",
    "unquote_local_part",
    "vrfys",
    "xtexts",
]

T = TypeVar("T")

# Strategies are built once per set of arguments: the composites below call the public
# functions on every draw, and building (and validating) a strategy costs more than
# drawing from it. Invalid arguments raise, and exceptions are never cached.
_cached = functools.lru_cache(maxsize=None, typed=True)

_LIMITS = SmtpLimits()
ALPHA = string.ascii_letters
DIGIT = string.digits
HEXDIG = string.digits + "ABCDEF"


# --- argument validation (Hypothesis style guide: fail when the strategy is built) -----


def _check_int(name: str, value: object, *, minimum: int, maximum: int | None = None) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidArgument(f"{name}={value!r} must be an integer")
    if value < minimum or (maximum is not None and value > maximum):
        bounds = f"at least {minimum}" if maximum is None else f"in {minimum}..{maximum}"
        raise InvalidArgument(f"{name}={value!r} must be {bounds}")
    return value


def _check_bool(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise InvalidArgument(f"{name}={value!r} must be True or False")
    return value


def _octets(text: str) -> int:
    return len(text.encode("utf-8"))


def _fit(text: str, max_octets: int) -> str:
    """Drop characters from the end of ``text`` until its UTF-8 form fits."""
    while _octets(text) > max_octets:
        text = text[:-1]
    return text


def _concat(*parts: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.tuples(*parts).map("".join)


def _optional(strategy: st.SearchStrategy[T]) -> st.SearchStrategy[T | None]:
    return st.one_of(st.none(), strategy)


# UTF8-non-ascii  = UTF8-2 / UTF8-3 / UTF8-4        (RFC 6532 §3.1; drawn as decoded text)
_UTF8_NON_ASCII = st.characters(min_codepoint=0x80, codec="utf-8")


# --- RFC 5321 §4.1.2: Domain ------------------------------------------------------------


@_cached
def let_digs() -> st.SearchStrategy[str]:
    """``Let-dig = ALPHA / DIGIT``."""
    return st.sampled_from(ALPHA + DIGIT)


@_cached
def ldh_strs(*, max_length: int = 63) -> st.SearchStrategy[str]:
    """``Ldh-str = *( ALPHA / DIGIT / "-" ) Let-dig``."""
    _check_int("max_length", max_length, minimum=1)
    return _concat(st.text(ALPHA + DIGIT + "-", max_size=max_length - 1), let_digs())


# U-labels are drawn from letters IDNA maps to themselves, so that each converts to an
# A-label (RFC 5890 §2.3.2.1) with the codec the grammar checks them with.
_U_LETTERS = ("àáâãäåæçèéêëìíîïñòóôõöøùúûüýþÿ"
              "αβγδεζηθικλμνξοπρστυφχψω"
              "абвгдежзийклмнопрстуфхцчшщъыьэюя"
              "中文日本語漢字한국어")


def _is_u_label(label: str) -> bool:
    try:
        label.encode("idna")
    except UnicodeError:
        return False
    return True


@_cached
def u_labels(*, max_length: int = 63) -> st.SearchStrategy[str]:
    """RFC 6531 §3.3 ``sub-domain =/ U-label`` (RFC 5890): at least one non-ASCII letter,
    and convertible to an A-label; ``max_length`` in UTF-8 octets."""
    _check_int("max_length", max_length, minimum=3)
    return (st.tuples(st.text(ALPHA + DIGIT, max_size=8), st.text(_U_LETTERS, min_size=1,
                                                                   max_size=12),
                      st.text(ALPHA + DIGIT, max_size=8))
            .map(lambda parts: _fit("".join(parts), max_length))
            .filter(lambda label: not label.isascii() and _is_u_label(label)))


@_cached
def sub_domains(*, utf8: bool = False, max_length: int = 63) -> st.SearchStrategy[str]:
    """``sub-domain = Let-dig [Ldh-str]``; with ``utf8`` also RFC 6531 §3.3 U-labels.

    ``max_length`` defaults to the DNS label bound (RFC 1035 §2.3.4: 63 octets)."""
    _check_bool("utf8", utf8)
    _check_int("max_length", max_length, minimum=1)
    ldh = (st.just("") if max_length == 1 else
           st.one_of(st.just(""), ldh_strs(max_length=max_length - 1)))
    ascii_label = _concat(let_digs(), ldh)
    if utf8 and max_length >= 3:
        return st.one_of(ascii_label, u_labels(max_length=max_length))
    return ascii_label


@st.composite
def _domains(draw: st.DrawFn, utf8: bool, max_length: int) -> str:
    labels = [draw(sub_domains(utf8=utf8, max_length=min(63, max_length)))]
    for label in draw(st.lists(sub_domains(utf8=utf8), max_size=7)):
        if _octets(".".join([*labels, label])) > max_length:
            break
        labels.append(label)
    return ".".join(labels)


@_cached
def domains(*, utf8: bool = False, max_length: int = 255) -> st.SearchStrategy[str]:
    """``Domain = sub-domain *("." sub-domain)``, at most ``max_length`` octets
    (RFC 5321 §4.5.3.1.2: 255)."""
    _check_bool("utf8", utf8)
    _check_int("max_length", max_length, minimum=1)
    return _domains(utf8, max_length)


# --- RFC 5321 §4.1.3: address literals ------------------------------------------------


@_cached
def snums() -> st.SearchStrategy[str]:
    """``Snum = 1*3DIGIT ; representing a decimal integer value in the range 0 through
    255`` (leading zeros included, as the ABNF allows)."""
    return st.builds(lambda n, width: f"{n:0{width}d}", st.integers(0, 255),
                     st.integers(1, 3))


@_cached
def ipv4_address_literals() -> st.SearchStrategy[str]:
    """``IPv4-address-literal = Snum 3("." Snum)``."""
    return st.lists(snums(), min_size=4, max_size=4).map(".".join)


@_cached
def ipv6_hexes() -> st.SearchStrategy[str]:
    """``IPv6-hex = 1*4HEXDIG`` (ABNF strings ignore case, RFC 5234 §2.3)."""
    return st.text(HEXDIG + "abcdef", min_size=1, max_size=4)


@_cached
def _hex_groups(count: int) -> st.SearchStrategy[str]:
    return st.lists(ipv6_hexes(), min_size=count, max_size=count).map(":".join)


@st.composite
def _compressed(draw: st.DrawFn, groups: int, tail: str) -> str:
    # [IPv6-hex *n(":" IPv6-hex)] "::" [IPv6-hex *n(":" IPv6-hex)]; "No more than
    # <groups> groups in addition to the "::" may be present."
    left = draw(st.integers(0, groups))
    right = draw(st.integers(0, groups - left))
    head = draw(_hex_groups(left)) if left else ""
    rest = draw(_hex_groups(right)) if right else ""
    if tail:
        return f"{head}::{rest + ':' if rest else ''}{tail}"
    return f"{head}::{rest}"


@_cached
def ipv6_addrs() -> st.SearchStrategy[str]:
    """``IPv6-addr = IPv6-full / IPv6-comp / IPv6v4-full / IPv6v4-comp``:

    IPv6-full   = IPv6-hex 7(":" IPv6-hex)
    IPv6-comp   = [IPv6-hex *5(":" IPv6-hex)] "::" [IPv6-hex *5(":" IPv6-hex)]
    IPv6v4-full = IPv6-hex 5(":" IPv6-hex) ":" IPv4-address-literal
    IPv6v4-comp = [IPv6-hex *3(":" IPv6-hex)] "::" [IPv6-hex *3(":" IPv6-hex) ":"]
                  IPv4-address-literal
    """
    v4 = ipv4_address_literals()
    return st.one_of(
        _hex_groups(8),
        _compressed(6, ""),
        _concat(_hex_groups(6), st.just(":"), v4),
        v4.flatmap(lambda tail: _compressed(4, tail)),
    )


@_cached
def ipv6_address_literals() -> st.SearchStrategy[str]:
    """``IPv6-address-literal = "IPv6:" IPv6-addr``."""
    return _concat(st.sampled_from(["IPv6:", "ipv6:", "IPV6:"]), ipv6_addrs())


@_cached
def standardized_tags() -> st.SearchStrategy[str]:
    """``Standardized-tag = Ldh-str`` other than "IPv6" (which has its own syntax)."""
    return ldh_strs(max_length=16).filter(lambda tag: tag.upper() != "IPV6")


@_cached
def dcontents() -> st.SearchStrategy[str]:
    """``dcontent = %d33-90 / %d94-126`` (printable US-ASCII excluding "[", "\\", "]")."""
    return st.sampled_from([chr(c) for c in [*range(33, 91), *range(94, 127)]])


@_cached
def general_address_literals() -> st.SearchStrategy[str]:
    """``General-address-literal = Standardized-tag ":" 1*dcontent``."""
    return _concat(standardized_tags(), st.just(":"),
                   st.lists(dcontents(), min_size=1, max_size=40).map("".join))


@_cached
def address_literals() -> st.SearchStrategy[str]:
    """``address-literal = "[" ( IPv4-address-literal / IPv6-address-literal /
    General-address-literal ) "]"``."""
    inner = st.one_of(ipv4_address_literals(), ipv6_address_literals(),
                      general_address_literals())
    return inner.map(lambda literal: f"[{literal}]")


# --- RFC 5321 §4.1.2: Local-part -------------------------------------------------------

# atext (RFC 5322 §3.2.3); RFC 6531 §3.3: atext =/ UTF8-non-ascii
ATEXT = ALPHA + DIGIT + "!#$%&'*+-/=?^_`{|}~"


@_cached
def _atext(utf8: bool) -> st.SearchStrategy[str]:
    ascii_atext = st.sampled_from(ATEXT)
    return st.one_of(ascii_atext, _UTF8_NON_ASCII) if utf8 else ascii_atext


@_cached
def atoms(*, utf8: bool = False, max_length: int = 64) -> st.SearchStrategy[str]:
    """``Atom = 1*atext``, at most ``max_length`` octets."""
    _check_bool("utf8", utf8)
    _check_int("max_length", max_length, minimum=4)
    return (st.lists(_atext(utf8), min_size=1, max_size=max_length)
            .map(lambda chars: _fit("".join(chars), max_length)).filter(bool))


@st.composite
def _joined(draw: st.DrawFn, part: st.SearchStrategy[str], separator: str,
            max_length: int, max_parts: int) -> str:
    parts = [draw(part)]
    for more in draw(st.lists(part, max_size=max_parts - 1)):
        if _octets(separator.join([*parts, more])) > max_length:
            break
        parts.append(more)
    return separator.join(parts)


@_cached
def dot_strings(*, utf8: bool = False, max_length: int = 64) -> st.SearchStrategy[str]:
    """``Dot-string = Atom *("." Atom)``, at most ``max_length`` octets."""
    _check_bool("utf8", utf8)
    _check_int("max_length", max_length, minimum=4)
    return _joined(atoms(utf8=utf8, max_length=max_length), ".", max_length, 6)


@_cached
def qcontent_smtps(*, utf8: bool = False) -> st.SearchStrategy[str]:
    """``QcontentSMTP = qtextSMTP / quoted-pairSMTP``:

    qtextSMTP       = %d32-33 / %d35-91 / %d93-126    ; RFC 6531 §3.3: =/ UTF8-non-ascii
    quoted-pairSMTP = %d92 %d32-126                   ; not extended by RFC 6531
    """
    _check_bool("utf8", utf8)
    qtext: st.SearchStrategy[str] = st.sampled_from(
        [chr(c) for c in [32, 33, *range(35, 92), *range(93, 127)]])
    if utf8:
        qtext = st.one_of(qtext, _UTF8_NON_ASCII)
    quoted_pair = st.sampled_from([chr(c) for c in range(32, 127)]).map(lambda c: "\\" + c)
    return st.one_of(qtext, quoted_pair)


@_cached
def quoted_strings(*, utf8: bool = False, max_length: int = 64) -> st.SearchStrategy[str]:
    """``Quoted-string = DQUOTE *QcontentSMTP DQUOTE``, at most ``max_length`` octets."""
    _check_bool("utf8", utf8)
    _check_int("max_length", max_length, minimum=2)

    def fit(contents: list[str]) -> str:
        while _octets("".join(contents)) > max_length - 2:
            contents = contents[:-1]
        return '"' + "".join(contents) + '"'

    return st.lists(qcontent_smtps(utf8=utf8), max_size=max_length - 2).map(fit)


@_cached
def local_parts(*, utf8: bool = False, max_length: int = 64) -> st.SearchStrategy[str]:
    """``Local-part = Dot-string / Quoted-string`` as wire text, at most ``max_length``
    octets (RFC 5321 §4.5.3.1.1: 64)."""
    _check_bool("utf8", utf8)
    _check_int("max_length", max_length, minimum=4)
    return st.one_of(dot_strings(utf8=utf8, max_length=max_length),
                     quoted_strings(utf8=utf8, max_length=max_length))


@_cached
def strings(*, utf8: bool = False, max_length: int = 64) -> st.SearchStrategy[str]:
    """``String = Atom / Quoted-string`` (the argument of VRFY, EXPN, HELP, NOOP)."""
    _check_bool("utf8", utf8)
    _check_int("max_length", max_length, minimum=4)
    return st.one_of(atoms(utf8=utf8, max_length=max_length),
                     quoted_strings(utf8=utf8, max_length=max_length))


def unquote_local_part(wire: str) -> str:
    """The semantic value of a Local-part: RFC 5321 §4.1.2 "all quoted forms MUST be
    treated as equivalent". (Written here, not imported, so that round-trip properties
    do not test the parser against itself.)"""
    if not wire.startswith('"'):
        return wire
    out, chars = [], iter(wire[1:-1])
    for char in chars:
        out.append(next(chars) if char == "\\" else char)
    return "".join(out)


@_cached
def a_d_ls() -> st.SearchStrategy[str]:
    """``A-d-l = At-domain *( "," At-domain )``, ``At-domain = "@" Domain``: the source
    route RFC 5321 §4.1.2 says MUST BE accepted and SHOULD be ignored."""
    at_domains = domains(max_length=40).map(lambda d: "@" + d)
    return st.lists(at_domains, min_size=1, max_size=3).map(",".join)


# --- mailboxes and paths (typed values) ------------------------------------------------


@st.composite
def _mailboxes(draw: st.DrawFn, utf8: bool) -> Mailbox:
    wire = draw(local_parts(utf8=utf8, max_length=_LIMITS.local_part))
    # RFC 5321 §4.5.3.1.3: the path "<" Mailbox ">" is at most 256 octets; the minimum
    # quoting a client sends is never longer than the drawn wire form.
    room = min(_LIMITS.domain, _LIMITS.path - 3 - _octets(wire))
    domain = draw(st.one_of(domains(utf8=utf8, max_length=room), address_literals()))
    return Mailbox(unquote_local_part(wire), domain)


@_cached
def mailboxes(*, utf8: bool = False) -> st.SearchStrategy[Mailbox]:
    """``Mailbox = Local-part "@" ( Domain / address-literal )`` as ``Mailbox`` values;
    with ``utf8`` they may hold UTF-8 (RFC 6531 §3.3), without it they are ASCII."""
    _check_bool("utf8", utf8)
    return _mailboxes(utf8)


@_cached
def reverse_paths(*, utf8: bool = False) -> st.SearchStrategy[Mailbox | None]:
    """``Reverse-path = Path / "<>"``; ``None`` is the null path."""
    _check_bool("utf8", utf8)
    return st.one_of(st.none(), mailboxes(utf8=utf8))


POSTMASTER = Mailbox("Postmaster", None)


@_cached
def forward_paths(*, utf8: bool = False) -> st.SearchStrategy[Mailbox]:
    """What RCPT TO takes: ``"<Postmaster@" Domain ">" / "<Postmaster>" / Forward-path``
    (RFC 5321 §4.1.1.3); ``<Postmaster>`` is ``Mailbox("Postmaster", None)``."""
    _check_bool("utf8", utf8)
    return st.one_of(mailboxes(utf8=utf8), st.just(POSTMASTER))


# --- RFC 5321 §4.1.2: ESMTP parameters; RFC 3461 §4 xtext -------------------------------


@_cached
def esmtp_keywords() -> st.SearchStrategy[str]:
    """``esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")``."""
    return _concat(let_digs(), st.text(ALPHA + DIGIT + "-", max_size=20))


@_cached
def esmtp_values(*, utf8: bool = False) -> st.SearchStrategy[str]:
    """``esmtp-value = 1*(%d33-60 / %d62-126)``; RFC 6531 §3.3 ``=/ UTF8-non-ascii``."""
    _check_bool("utf8", utf8)
    char: st.SearchStrategy[str] = st.sampled_from(
        [chr(c) for c in [*range(33, 61), *range(62, 127)]])
    if utf8:
        char = st.one_of(char, _UTF8_NON_ASCII)
    return st.lists(char, min_size=1, max_size=64).map("".join)


@_cached
def esmtp_params(*, utf8: bool = False) -> st.SearchStrategy[str]:
    """``esmtp-param = esmtp-keyword ["=" esmtp-value]``."""
    _check_bool("utf8", utf8)
    value = _optional(esmtp_values(utf8=utf8))
    return st.tuples(esmtp_keywords(), value).map(
        lambda kv: kv[0] if kv[1] is None else f"{kv[0]}={kv[1]}")


@_cached
def xtexts() -> st.SearchStrategy[str]:
    """``xtext = *( xchar / hexchar )`` (RFC 3461 §4), as wire text:

    xchar   = any ASCII CHAR between "!" (33) and "~" (126) inclusive, except "+" and "="
    hexchar = ASCII "+" immediately followed by two upper case hexadecimal digits
    """
    xchar = st.sampled_from([chr(c) for c in range(33, 127) if chr(c) not in "+="])
    hexchar = st.integers(0, 255).map(lambda octet: f"+{octet:02X}")
    return st.lists(st.one_of(xchar, hexchar), max_size=40).map("".join)


_PRINTABLE_ASCII = "".join(chr(c) for c in range(0x20, 0x7F))


@_cached
def size_values(*, max_size: int = _LIMITS.message_size) -> st.SearchStrategy[int]:
    """RFC 1870 §6 ``size-value ::= 1*20DIGIT``, at most ``max_size``."""
    _check_int("max_size", max_size, minimum=0, maximum=10**20 - 1)
    return st.integers(0, max_size)


@_cached
def envids() -> st.SearchStrategy[str]:
    """RFC 3461 §4.4 ``envid-parameter = "ENVID=" xtext``, decoded: "MUST consist
    entirely of printable (graphic and white space) characters from the US-ASCII
    [4] repertoire", "up to 100 characters"."""
    return st.text(_PRINTABLE_ASCII, min_size=1, max_size=100)


@_cached
def notify_values() -> st.SearchStrategy[frozenset[DsnNotify]]:
    """RFC 3461 §4.1 ``notify-esmtp-value = "NEVER" / 1#notify-list-element``."""
    elements = st.frozensets(st.sampled_from([DsnNotify.SUCCESS, DsnNotify.FAILURE,
                                              DsnNotify.DELAY]), min_size=1)
    return st.one_of(st.just(frozenset({DsnNotify.NEVER})), elements)


@st.composite
def _orcpt_values(draw: st.DrawFn) -> OriginalRecipient:
    # addr-type = atom; "=" cannot occur in an esmtp-value (RFC 5321 §4.1.2)
    addr_type = draw(st.text(ATEXT.replace("=", ""), min_size=1, max_size=20)).lower()
    address = draw(st.text(_PRINTABLE_ASCII, min_size=1, max_size=200))
    # RFC 3461 §4.2: "The entire ORCPT parameter MAY be up to 500 characters in length."
    while len(f"ORCPT={addr_type};{_xtext(address)}") > 500:
        address = address[:-1]
    return OriginalRecipient(addr_type, address)


@_cached
def orcpt_values() -> st.SearchStrategy[OriginalRecipient]:
    """RFC 3461 §4.2 ``original-recipient-address = addr-type ";" xtext``, decoded."""
    return _orcpt_values()


def _xtext(value: str) -> str:
    return "".join(c if 0x21 <= ord(c) <= 0x7E and c not in "+=" else f"+{o:02X}"
                   for c in value for o in c.encode("utf-8"))


@st.composite
def _auth_values(draw: st.DrawFn, utf8: bool) -> str:
    if draw(st.booleans()):
        return "<>"
    local = draw(local_parts(utf8=utf8))
    return f"{local}@{draw(st.one_of(domains(utf8=utf8, max_length=100), address_literals()))}"


@_cached
def auth_values(*, utf8: bool = False) -> st.SearchStrategy[str]:
    """RFC 4954 §5 ``auth-param = "AUTH=" xtext``, decoded: "The decoded form of the xtext
    MUST be either a <mailbox> or the two characters "<>""."""
    _check_bool("utf8", utf8)
    return _auth_values(utf8)


@_cached
def sasl_mechs() -> st.SearchStrategy[str]:
    """RFC 4422 §3.1 ``sasl-mech = 1*20mech-char``, ``mech-char = UPPER-ALPHA / DIGIT /
    HYPHEN / "_"``."""
    return st.text(string.ascii_uppercase + DIGIT + "-_", min_size=1, max_size=20)


# --- commands (RFC 5321 §4.1.1 and the extensions) --------------------------------------


@_cached
def ehlos() -> st.SearchStrategy[Ehlo]:
    """``ehlo = "EHLO" SP ( Domain / address-literal ) CRLF``."""
    return st.builds(Ehlo, domain=st.one_of(domains(), address_literals()))


@_cached
def helos() -> st.SearchStrategy[Helo]:
    """``helo = "HELO" SP Domain CRLF``."""
    return st.builds(Helo, domain=domains())


@st.composite
def _mail_froms(draw: st.DrawFn, utf8: bool, max_size: int) -> MailFrom:
    path = draw(reverse_paths(utf8=utf8))
    # RFC 6531 §3.4: a UTF-8 envelope "MUST supply the SMTPUTF8 parameter"
    needs_utf8 = path is not None and not path.is_ascii
    smtputf8 = needs_utf8 or (utf8 and draw(st.booleans()))
    return MailFrom(
        path,
        size=draw(_optional(size_values(max_size=max_size))),
        body=draw(_optional(st.sampled_from(BodyType))),
        smtputf8=smtputf8,
        ret=draw(_optional(st.sampled_from(DsnReturn))),
        envid=draw(_optional(envids())),
        auth=draw(_optional(auth_values(utf8=utf8))),
    )


@_cached
def mail_froms(*, utf8: bool = False,
               max_size: int = _LIMITS.message_size) -> st.SearchStrategy[MailFrom]:
    """``mail = "MAIL FROM:" Reverse-path [SP Mail-parameters] CRLF`` with the
    parameters of SIZE (RFC 1870), 8BITMIME (RFC 6152), SMTPUTF8 (RFC 6531), DSN
    (RFC 3461) and AUTH (RFC 4954); ``max_size`` bounds SIZE=."""
    _check_bool("utf8", utf8)
    _check_int("max_size", max_size, minimum=0, maximum=10**20 - 1)
    return _mail_froms(utf8, max_size)


@_cached
def rcpt_tos(*, utf8: bool = False) -> st.SearchStrategy[RcptTo]:
    """``rcpt = "RCPT TO:" ( "<Postmaster@" Domain ">" / "<Postmaster>" / Forward-path )
    [SP Rcpt-parameters] CRLF`` with RFC 3461's NOTIFY and ORCPT."""
    _check_bool("utf8", utf8)
    return st.builds(RcptTo, forward_path=forward_paths(utf8=utf8),
                     notify=_optional(notify_values()), orcpt=_optional(orcpt_values()))


@_cached
def datas() -> st.SearchStrategy[Data]:
    """``data = "DATA" CRLF``."""
    return st.just(Data())


@st.composite
def _bdats(draw: st.DrawFn, max_chunk: int) -> Bdat:
    chunk = draw(st.binary(max_size=max_chunk))
    return Bdat(len(chunk), last=draw(st.booleans()), chunk=chunk)


@_cached
def bdats(*, max_chunk: int = 1024) -> st.SearchStrategy[Bdat]:
    """RFC 3030 §2 ``bdat-cmd ::= "BDAT" SP chunk-size [ SP end-marker ] CR LF`` with
    its chunk (any octets)."""
    _check_int("max_chunk", max_chunk, minimum=0)
    return _bdats(max_chunk)


@_cached
def rsets() -> st.SearchStrategy[Rset]:
    """``rset = "RSET" CRLF``."""
    return st.just(Rset())


@_cached
def vrfys(*, utf8: bool = False) -> st.SearchStrategy[Vrfy]:
    """``vrfy = "VRFY" SP String CRLF``; RFC 6531 §3.7.4.2 adds ``[ SP "SMTPUTF8" ]``."""
    _check_bool("utf8", utf8)
    return st.builds(Vrfy, string=strings(utf8=utf8),
                     smtputf8=st.booleans() if utf8 else st.just(False))


@_cached
def expns(*, utf8: bool = False) -> st.SearchStrategy[Expn]:
    """``expn = "EXPN" SP String CRLF``; RFC 6531 §3.7.4.2 adds ``[ SP "SMTPUTF8" ]``."""
    _check_bool("utf8", utf8)
    return st.builds(Expn, string=strings(utf8=utf8),
                     smtputf8=st.booleans() if utf8 else st.just(False))


@_cached
def helps() -> st.SearchStrategy[Help]:
    """``help = "HELP" [ SP String ] CRLF``."""
    return st.builds(Help, topic=_optional(strings()))


@_cached
def noops() -> st.SearchStrategy[Noop]:
    """``noop = "NOOP" [ SP String ] CRLF``."""
    return st.builds(Noop, string=_optional(strings()))


@_cached
def quits() -> st.SearchStrategy[Quit]:
    """``quit = "QUIT" CRLF``."""
    return st.just(Quit())


@_cached
def starttlses() -> st.SearchStrategy[StartTls]:
    """RFC 3207 §4 ``"STARTTLS" CRLF``."""
    return st.just(StartTls())


@_cached
def auths() -> st.SearchStrategy[Auth]:
    """RFC 4954 §4 ``"AUTH" SP sasl-mech [SP initial-response] CRLF``; the initial
    response is kept short enough for the 512-octet line (RFC 4954 §4 "MUST NOT use the
    initial response parameter" when it would not fit)."""
    return st.builds(Auth, mechanism=sasl_mechs(),
                     initial_response=_optional(st.binary(max_size=300)))


@_cached
def commands(*, utf8: bool = False) -> st.SearchStrategy[Command]:
    """Any command of ``reference.smtp.commands``; with ``utf8`` the SMTPUTF8 forms."""
    _check_bool("utf8", utf8)
    strategies: list[st.SearchStrategy[Any]] = [
        ehlos(), helos(), mail_froms(utf8=utf8), rcpt_tos(utf8=utf8), datas(), bdats(),
        rsets(), vrfys(utf8=utf8), expns(utf8=utf8), helps(), noops(), quits(),
        starttlses(), auths(),
    ]
    return st.one_of(strategies)


# --- replies (RFC 5321 §4.2, RFC 2034, RFC 3463) ----------------------------------------


@_cached
def reply_codes() -> st.SearchStrategy[int]:
    """``Reply-code = %x32-35 %x30-35 %x30-39``."""
    return st.builds(lambda a, b, c: a * 100 + b * 10 + c,
                     st.integers(2, 5), st.integers(0, 5), st.integers(0, 9))


@_cached
def status_codes() -> st.SearchStrategy[Status]:
    """RFC 3463 §2 ``status-code = class "." subject "." detail`` as ``Status``
    (subject.detail); the class comes from the reply code (RFC 2034 §4)."""
    return st.sampled_from(Status)


@_cached
def textstrings(*, utf8: bool = False, max_length: int = 400) -> st.SearchStrategy[str]:
    """``textstring = 1*(%d09 / %d32-126)``; RFC 6531 §3.7.4 allows UTF-8 in replies."""
    _check_bool("utf8", utf8)
    _check_int("max_length", max_length, minimum=4)
    char: st.SearchStrategy[str] = st.sampled_from(["\t", *map(chr, range(32, 127))])
    if utf8:
        char = st.one_of(char, _UTF8_NON_ASCII)
    return (st.lists(char, min_size=1, max_size=max_length)
            .map(lambda chars: _fit("".join(chars), max_length)).filter(bool))


@st.composite
def _replies(draw: st.DrawFn, enhanced: bool, utf8: bool, max_lines: int) -> Reply:
    code = draw(reply_codes())
    status = draw(status_codes()) if enhanced and code // 100 != 3 else None
    texts = draw(st.lists(st.one_of(st.just(""), textstrings(utf8=utf8)),
                          min_size=1, max_size=max_lines))
    if status is not None:
        # RFC 2034 §3: the status code "is always followed by one or more spaces", so
        # text that itself starts with a space cannot be told apart from them.
        texts = [text.lstrip(" ") for text in texts]
    return Reply(code, status, tuple(texts))


@_cached
def replies(*, enhanced: bool = True, utf8: bool = False,
            max_lines: int = 5) -> st.SearchStrategy[Reply]:
    """``Reply-line = *( Reply-code "-" [ textstring ] CRLF ) Reply-code [ SP textstring ]
    CRLF`` as ``Reply`` values. With ``enhanced`` every 2xx/4xx/5xx reply carries a
    status (RFC 2034 §4 "These codes must appear in all 2xx, 4xx, and 5xx response
    lines"; "3xx responses are NOT included"). Lines fit the 512-octet reply line
    (RFC 5321 §4.5.3.1.5)."""
    _check_bool("enhanced", enhanced)
    _check_bool("utf8", utf8)
    _check_int("max_lines", max_lines, minimum=1)
    return _replies(enhanced, utf8, max_lines)


# --- mail data (RFC 5321 §4.1.1.4, §2.3.8) -----------------------------------------------


_SPECIAL_LINES = [b"", b".", b"..", b".x", b"...", b". ", b"From x", b"MAIL FROM:<a@b>"]


@_cached
def mail_data(*, max_lines: int = 20,
              max_line_length: int = _LIMITS.text_line - 2) -> st.SearchStrategy[bytes]:
    """Message content as a client hands it over: CRLF-terminated lines of any octets
    but CR and LF (RFC 5321 §2.3.8), each at most ``max_line_length`` octets (RFC 5321
    §4.5.3.1.6: 1000 with the CRLF), including lines that begin with "." or are "."."""
    _check_int("max_lines", max_lines, minimum=0)
    _check_int("max_line_length", max_line_length, minimum=2)
    octet = st.integers(0, 255).filter(lambda o: o not in (0x0A, 0x0D))
    line = st.one_of(st.sampled_from(_SPECIAL_LINES),
                     st.lists(octet, max_size=min(max_line_length, 120)).map(bytes),
                     _concat_bytes(st.just(b"."), st.lists(octet, max_size=40).map(bytes)))
    return (st.lists(line.map(lambda ln: ln[:max_line_length]), max_size=max_lines)
            .map(lambda lines: b"".join(ln + b"\r\n" for ln in lines)))


def _concat_bytes(*parts: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    return st.tuples(*parts).map(b"".join)
