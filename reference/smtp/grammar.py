"""RFC 5321 §4.1.2 command argument syntax, with RFC 6531 §3.3's UTF-8 extensions.

The ABNF is quoted above each definition; regular expressions are composed rule by rule
in the same order, so each reads like its production. ``parse_<rule>`` functions take the
text and a position and return the value and the position after it; ``write_<rule>``
functions are their inverses. A mismatch raises ``GrammarError``; the parser turns it into
the reply the RFC asks for (501 with the enhanced code of the failing argument).
"""

from __future__ import annotations

import binascii
import re

from reference.smtp.commands import Mailbox


class GrammarError(ValueError):
    """Text does not match the rule; ``rule`` names the ABNF production."""

    def __init__(self, rule: str, detail: str) -> None:
        super().__init__(f"{rule}: {detail}")
        self.rule = rule
        self.detail = detail


# UTF8-non-ascii  = UTF8-2 / UTF8-3 / UTF8-4      (RFC 6532 §3.1; text is already decoded)
UTF8_NON_ASCII = "\u0080-\U0010ffff"

# Let-dig        = ALPHA / DIGIT
LET_DIG = "[A-Za-z0-9]"
# Ldh-str        = *( ALPHA / DIGIT / "-" ) Let-dig
LDH_STR = f"[A-Za-z0-9-]*{LET_DIG}"
# sub-domain     = Let-dig [Ldh-str]
SUB_DOMAIN = f"{LET_DIG}(?:{LDH_STR})?"
# sub-domain     =/ U-label                       (RFC 6531 §3.3; IDNA checked afterwards)
U_LET_DIG = f"[A-Za-z0-9{UTF8_NON_ASCII}]"
U_LABEL = f"{U_LET_DIG}(?:[A-Za-z0-9{UTF8_NON_ASCII}-]*{U_LET_DIG})?"
# Domain         = sub-domain *("." sub-domain)
DOMAIN = f"{SUB_DOMAIN}(?:\\.{SUB_DOMAIN})*"
DOMAIN_UTF8 = f"{U_LABEL}(?:\\.{U_LABEL})*"

# Snum           = 1*3DIGIT  ; representing a decimal integer value in the range 0 through 255
SNUM = "[0-9]{1,3}"
# IPv4-address-literal  = Snum 3("."  Snum)
IPV4_ADDRESS_LITERAL = f"{SNUM}(?:\\.{SNUM}){{3}}"
# IPv6-address-literal  = "IPv6:" IPv6-addr       (IPv6-addr checked by check_ipv6_addr)
IPV6_ADDRESS_LITERAL = "[Ii][Pp][Vv]6:[0-9A-Fa-f:.]+"  # ABNF strings ignore case (RFC 5234 §2.3)
# IPv6-hex       = 1*4HEXDIG
IPV6_HEX = "[0-9A-Fa-f]{1,4}"
# IPv6-full      = IPv6-hex 7(":" IPv6-hex)
IPV6_FULL = f"{IPV6_HEX}(?::{IPV6_HEX}){{7}}"
# IPv6-comp      = [IPv6-hex *5(":" IPv6-hex)] "::"
#                [IPv6-hex *5(":" IPv6-hex)]
#                ; The "::" represents at least 2 16-bit groups of
#                ; zeros.  No more than 6 groups in addition to the
#                ; "::" may be present.
IPV6_COMP = f"(?:{IPV6_HEX}(?::{IPV6_HEX}){{0,5}})?::(?:{IPV6_HEX}(?::{IPV6_HEX}){{0,5}})?"
# IPv6v4-full    = IPv6-hex 5(":" IPv6-hex) ":" IPv4-address-literal
IPV6V4_FULL = f"{IPV6_HEX}(?::{IPV6_HEX}){{5}}:{IPV4_ADDRESS_LITERAL}"
# IPv6v4-comp    = [IPv6-hex *3(":" IPv6-hex)] "::"
#                [IPv6-hex *3(":" IPv6-hex) ":"]
#                IPv4-address-literal
#                ; The "::" represents at least 2 16-bit groups of
#                ; zeros.  No more than 4 groups in addition to the
#                ; "::" and IPv4-address-literal may be present.
IPV6V4_COMP = (f"(?:{IPV6_HEX}(?::{IPV6_HEX}){{0,3}})?::"
               f"(?:{IPV6_HEX}(?::{IPV6_HEX}){{0,3}}:)?{IPV4_ADDRESS_LITERAL}")
# IPv6-addr      = IPv6-full / IPv6-comp / IPv6v4-full / IPv6v4-comp
# General-address-literal  = Standardized-tag ":" 1*dcontent
# Standardized-tag  = Ldh-str
# dcontent       = %d33-90 / ; Printable US-ASCII
#                  %d94-126 ; excl. "[", "\", "]"
GENERAL_ADDRESS_LITERAL = f"{LDH_STR}:[\\x21-\\x5a\\x5e-\\x7e]+"
# address-literal  = "[" ( IPv4-address-literal / IPv6-address-literal /
#                    General-address-literal ) "]"
ADDRESS_LITERAL = (f"\\[(?:{IPV4_ADDRESS_LITERAL}|{IPV6_ADDRESS_LITERAL}"
                   f"|{GENERAL_ADDRESS_LITERAL})\\]")

# atext = ALPHA / DIGIT / "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "/" /
#         "=" / "?" / "^" / "_" / "`" / "{" / "|" / "}" / "~"     (RFC 5322 §3.2.3)
ATEXT = "A-Za-z0-9!#$%&'*+\\-/=?^_`{|}~"
# Atom           = 1*atext
ATOM = f"[{ATEXT}]+"
ATOM_UTF8 = f"[{ATEXT}{UTF8_NON_ASCII}]+"      # atext =/ UTF8-non-ascii (RFC 6531 §3.3)
# Dot-string     = Atom *("."  Atom)
DOT_STRING = f"{ATOM}(?:\\.{ATOM})*"
DOT_STRING_UTF8 = f"{ATOM_UTF8}(?:\\.{ATOM_UTF8})*"
# qtextSMTP      = %d32-33 / %d35-91 / %d93-126
# quoted-pairSMTP  = %d92 %d32-126
# QcontentSMTP   = qtextSMTP / quoted-pairSMTP
# Quoted-string  = DQUOTE *QcontentSMTP DQUOTE
QUOTED_STRING = '"(?:[\\x20\\x21\\x23-\\x5b\\x5d-\\x7e]|\\\\[\\x20-\\x7e])*"'
# RFC 6531 §3.3: qtextSMTP =/ UTF8-non-ascii (quoted-pairSMTP is not extended)
QUOTED_STRING_UTF8 = (f'"(?:[\\x20\\x21\\x23-\\x5b\\x5d-\\x7e{UTF8_NON_ASCII}]'
                      f'|\\\\[\\x20-\\x7e])*"')
# Local-part     = Dot-string / Quoted-string
LOCAL_PART = f"(?:{DOT_STRING}|{QUOTED_STRING})"
LOCAL_PART_UTF8 = f"(?:{DOT_STRING_UTF8}|{QUOTED_STRING_UTF8})"
# At-domain      = "@" Domain
# A-d-l          = At-domain *( "," At-domain )
A_D_L = f"@{DOMAIN}(?:,@{DOMAIN})*"

# esmtp-keyword  = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
ESMTP_KEYWORD = "[A-Za-z0-9][A-Za-z0-9-]*"
# esmtp-value    = 1*(%d33-60 / %d62-126)     ; esmtp-value =/ UTF8-non-ascii (RFC 6531)
ESMTP_VALUE = "[\\x21-\\x3c\\x3e-\\x7e]+"
ESMTP_VALUE_UTF8 = f"[\\x21-\\x3c\\x3e-\\x7e{UTF8_NON_ASCII}]+"
# esmtp-param    = esmtp-keyword ["=" esmtp-value]
# Mail-parameters  = esmtp-param *(SP esmtp-param)

_IPV6_FULL = re.compile(IPV6_FULL)
_IPV6_COMP = re.compile(IPV6_COMP)
_IPV6V4_FULL = re.compile(IPV6V4_FULL)
_IPV6V4_COMP = re.compile(IPV6V4_COMP)
_DOMAIN = re.compile(DOMAIN)
_DOMAIN_UTF8 = re.compile(DOMAIN_UTF8)
_ADDRESS_LITERAL = re.compile(ADDRESS_LITERAL)
_LOCAL_PART = re.compile(LOCAL_PART)
_LOCAL_PART_UTF8 = re.compile(LOCAL_PART_UTF8)
_A_D_L = re.compile(A_D_L)
_ESMTP_PARAM = re.compile(f"({ESMTP_KEYWORD})(?:=({ESMTP_VALUE}))?")
_ESMTP_PARAM_UTF8 = re.compile(f"({ESMTP_KEYWORD})(?:=({ESMTP_VALUE_UTF8}))?")
_DOT_STRING = re.compile(DOT_STRING)
_QUOTED_PAIR = re.compile(r"\\(.)")
_NEEDS_QUOTING = re.compile(f"^(?!{DOT_STRING_UTF8}\\Z)")


def parse_domain(text: str, pos: int = 0, *, utf8: bool = False) -> tuple[str, int]:
    """``Domain``; with ``utf8`` also U-labels (RFC 6531 §3.3)."""
    match = (_DOMAIN_UTF8 if utf8 else _DOMAIN).match(text, pos)
    if match is None:
        raise GrammarError("Domain", f"no domain at {text[pos:pos + 20]!r}")
    domain = match.group()
    if not domain.isascii():
        check_u_labels(domain)
    return domain, match.end()


def check_u_labels(domain: str) -> None:
    """RFC 6531 §3.3 ``sub-domain =/ U-label``: each non-ASCII label must convert to an
    A-label. DEVIATION: Python's codec implements IDNA 2003, not RFC 5891's IDNA 2008;
    the two agree on the common scripts."""
    for label in domain.split("."):
        if label.isascii():
            continue
        try:
            label.encode("idna")
        except UnicodeError as exc:
            raise GrammarError("U-label", f"{label!r} is not a valid U-label") from exc


def parse_address_literal(text: str, pos: int = 0) -> tuple[str, int]:
    """``address-literal``: IPv4 (Snum 0-255), IPv6 (RFC 5321 §4.1.3), or general."""
    match = _ADDRESS_LITERAL.match(text, pos)
    if match is None:
        raise GrammarError("address-literal", f"no address literal at {text[pos:pos + 20]!r}")
    literal = match.group()
    inner = literal[1:-1]
    if inner[:5].upper() == "IPV6:":
        check_ipv6_addr(inner[5:])
    elif ":" not in inner:
        check_snums(inner)
    return literal, match.end()


def check_snums(ipv4: str) -> None:
    """Snum = 1*3DIGIT "representing a decimal integer value in the range 0 through 255"."""
    if any(int(snum) > 255 for snum in ipv4.split(".")):
        raise GrammarError("Snum", f"{ipv4!r} has a number above 255")


def check_ipv6_addr(text: str) -> None:
    """``IPv6-addr`` exactly as RFC 5321 §4.1.3 writes it, group counts included.

    Not ``ipaddress.IPv6Address``: that accepts what RFC 4291 allows and RFC 5321 does
    not (a zone index "%eth0", "::" standing for one group) and refuses what RFC 5321
    allows (an Snum with leading zeros in the embedded IPv4 address).
    """
    def groups(part: str) -> int:
        return len(part.split(":")) if part else 0

    if _IPV6_FULL.fullmatch(text):
        return
    if _IPV6_COMP.fullmatch(text):
        head, _, tail = text.partition("::")
        if groups(head) + groups(tail) <= 6:   # "No more than 6 groups in addition"
            return
    elif _IPV6V4_FULL.fullmatch(text):
        check_snums(text.rpartition(":")[2])
        return
    elif _IPV6V4_COMP.fullmatch(text):
        head, _, tail = text.partition("::")
        tail, _, ipv4 = tail.rpartition(":") if ":" in tail else ("", "", tail)
        check_snums(ipv4)
        if groups(head) + groups(tail) <= 4:   # "No more than 4 groups in addition"
            return
    raise GrammarError("IPv6-addr", f"{text!r} is not an RFC 5321 IPv6-addr")


def parse_local_part(text: str, pos: int = 0, *, utf8: bool = False) -> tuple[str, int]:
    """``Local-part = Dot-string / Quoted-string``; returns the unquoted value."""
    match = (_LOCAL_PART_UTF8 if utf8 else _LOCAL_PART).match(text, pos)
    if match is None:
        raise GrammarError("Local-part", f"no local part at {text[pos:pos + 20]!r}")
    local_part = match.group()
    if local_part.startswith('"'):
        # RFC 5321 §4.1.2: "all quoted forms MUST be treated as equivalent"
        local_part = _QUOTED_PAIR.sub(r"\1", local_part[1:-1])
    return local_part, match.end()


def parse_mailbox(text: str, pos: int = 0, *, utf8: bool = False,
                  limits: tuple[int, int] = (64, 255)) -> tuple[Mailbox, int]:
    """``Mailbox = Local-part "@" ( Domain / address-literal )``.

    ``limits`` are the local-part and domain bounds in octets (RFC 5321 §4.5.3.1.1-2).
    """
    start = pos
    local_part, pos = parse_local_part(text, pos, utf8=utf8)
    # RFC 5321 §4.5.3.1.1: "The maximum total length of a user name or other local-part
    # is 64 octets": the Local-part as sent, quotes and quoted-pair backslashes included.
    if len(text[start:pos].encode()) > limits[0]:
        raise GrammarError("Local-part", "longer than the local-part limit (RFC 5321 "
                           "§4.5.3.1.1)")
    if text[pos:pos + 1] != "@":
        raise GrammarError("Mailbox", 'expected "@" after the local part')
    pos += 1
    if text[pos:pos + 1] == "[":
        domain, pos = parse_address_literal(text, pos)
    else:
        domain, pos = parse_domain(text, pos, utf8=utf8)
    if len(domain.encode()) > limits[1]:
        raise GrammarError("Domain", "longer than the domain limit (RFC 5321 §4.5.3.1.2)")
    return Mailbox(local_part, domain), pos


def parse_path(text: str, pos: int = 0, *, utf8: bool = False,
               limits: tuple[int, int] = (64, 255)) -> tuple[Mailbox, int]:
    """``Path = "<" [ A-d-l ":" ] Mailbox ">"``.

    RFC 5321 §4.1.2: the source route "MUST BE accepted, SHOULD NOT be generated, and
    SHOULD be ignored": it is parsed and dropped.
    """
    if text[pos:pos + 1] != "<":
        raise GrammarError("Path", 'expected "<"')
    pos += 1
    route = _A_D_L.match(text, pos)
    if route is not None and text[route.end():route.end() + 1] == ":":
        pos = route.end() + 1
    mailbox, pos = parse_mailbox(text, pos, utf8=utf8, limits=limits)
    if text[pos:pos + 1] != ">":
        raise GrammarError("Path", 'expected ">" after the mailbox')
    return mailbox, pos + 1


def parse_reverse_path(text: str, pos: int = 0, *, utf8: bool = False,
                       limits: tuple[int, int] = (64, 255)) -> tuple[Mailbox | None, int]:
    """``Reverse-path = Path / "<>"``; ``None`` is the null reverse-path."""
    if text.startswith("<>", pos):
        return None, pos + 2
    return parse_path(text, pos, utf8=utf8, limits=limits)


def parse_esmtp_params(text: str, pos: int = 0, *, utf8: bool = False
                       ) -> list[tuple[str, str | None]]:
    """``Mail-parameters = esmtp-param *(SP esmtp-param)``; keywords upper-cased.

    ``text[pos:]`` must be empty or start with the SP that separates them from the path.
    """
    params: list[tuple[str, str | None]] = []
    pattern = _ESMTP_PARAM_UTF8 if utf8 else _ESMTP_PARAM
    while pos < len(text):
        if text[pos] != " ":
            raise GrammarError("esmtp-param", f"expected SP at {text[pos:pos + 20]!r}")
        match = pattern.match(text, pos + 1)
        if match is None or (match.end() < len(text) and text[match.end()] != " "):
            raise GrammarError("esmtp-param", f"malformed parameter at {text[pos + 1:pos + 21]!r}")
        params.append((match.group(1).upper(), match.group(2)))
        pos = match.end()
    return params


# xtext = *( xchar / hexchar )                         (RFC 3461 §4)
# xchar = any ASCII CHAR between "!" (33) and "~" (126) inclusive, except for "+" and "=".
# hexchar = ASCII "+" immediately followed by two upper case hexadecimal digits
_XTEXT = re.compile("(?:[\\x21-\\x2a\\x2c-\\x3c\\x3e-\\x7e]|\\+[0-9A-F]{2})*")


_HEXCHAR = re.compile(rb"\+([0-9A-F]{2})")


def parse_xtext(value: str) -> str:
    """Decode RFC 3461 §4 xtext into the string it encodes.

    RFC 3461 §4: ""hexchar"s are intended to encode octets that cannot appear as ASCII
    characters within an esmtp-value"; the octets are read as UTF-8 (ASCII for ENVID and
    rfc822 ORCPT, UTF-8 for an RFC 6531 mailbox in AUTH=).
    """
    if _XTEXT.fullmatch(value) is None:
        raise GrammarError("xtext", f"{value!r} is not xtext")
    octets = _HEXCHAR.sub(lambda m: bytes([int(m.group(1), 16)]), value.encode("ascii"))
    try:
        return octets.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise GrammarError("xtext", f"{value!r} does not encode UTF-8 text") from exc


def write_xtext(value: str) -> str:
    """RFC 3461 §4: "When encoding an octet sequence as xtext", octets outside "!".."~",
    and "+" and "=", become "+XX"; text is encoded as its UTF-8 octets."""
    return "".join(chr(octet) if 0x21 <= octet <= 0x7E and octet not in b"+=" else
                   f"+{octet:02X}" for octet in value.encode("utf-8"))


# RFC 4954 §8: base64          = base64-terminal /
#                                 ( 1*(4base64-char) [base64-terminal] )
#              base64-char     = ALPHA / DIGIT / "+" / "/"
#              base64-terminal = (2base64-char "==") / (3base64-char "=")
# (an empty line is the empty response, RFC 4954 §4)
_BASE64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")


def decode_base64(value: str) -> bytes:
    """RFC 4954 §4: strict BASE64; "=" alone is an empty response.

    "servers and clients MUST reject (and not ignore) any character not explicitly
    allowed by the BASE64 alphabet, and MUST reject any sequence of BASE64 characters
    that contains the pad character ('=') anywhere other than the end of the string";
    padding is only what completes the last quantum (§8 ``base64-terminal``): "AAAA=" and
    "AAAA====" are refused, which ``binascii``'s strict mode lets through.
    """
    if value == "=":
        return b""
    if _BASE64.fullmatch(value) is None:
        raise GrammarError("base64 (RFC 4954 §8)", value[:32])
    try:
        return binascii.a2b_base64(value.encode("ascii"), strict_mode=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise GrammarError("base64", str(exc)) from exc


def encode_base64(value: bytes) -> str:
    return binascii.b2a_base64(value, newline=False).decode("ascii")


def write_local_part(local_part: str) -> str:
    """RFC 5321 §4.1.2: "the sending system SHOULD transmit the form that uses the
    minimum quoting possible": a Dot-string when it is one, else a Quoted-string."""
    if local_part and _NEEDS_QUOTING.match(local_part) is None:
        return local_part
    escaped = local_part.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def write_mailbox(mailbox: Mailbox) -> str:
    if mailbox.domain is None:
        return mailbox.local_part
    return f"{write_local_part(mailbox.local_part)}@{mailbox.domain}"


def write_path(mailbox: Mailbox | None) -> str:
    return "<>" if mailbox is None else f"<{write_mailbox(mailbox)}>"
