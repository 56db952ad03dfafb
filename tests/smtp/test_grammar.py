"""RFC 5321 §4.1.2-§4.1.3 argument syntax, RFC 6531 §3.3 UTF-8 forms, RFC 3461 §4 xtext,
RFC 4954 §4 base64: every production with valid and invalid examples."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fuzz.strategies import smtp
from reference.errors import RemoteProtocolError
from reference.limits import SmtpLimits
from reference.smtp.commands import Ehlo, Mailbox, MailFrom, RcptTo
from reference.smtp.extensions import Advertised, Extension
from reference.smtp.grammar import (
    GrammarError,
    decode_base64,
    encode_base64,
    parse_address_literal,
    parse_domain,
    parse_local_part,
    parse_mailbox,
    parse_path,
    parse_reverse_path,
    parse_xtext,
    write_local_part,
    write_xtext,
)
from reference.smtp.parser import ParseContext, Tolerances, parse_command
from reference.smtp.replies import Status

EVERYTHING = Advertised(frozenset(Extension))


def context(*, smtputf8: bool = False, limits: SmtpLimits | None = None) -> ParseContext:
    return ParseContext(EVERYTHING, limits or SmtpLimits(), Tolerances(),
                        transaction_smtputf8=smtputf8)


def parse(line: str, **options: object) -> object:
    return parse_command(line.encode(), context(**options))  # type: ignore[arg-type]


def refusal(line: str | bytes, **options: object) -> tuple[int, str]:
    raw = line.encode() if isinstance(line, str) else line
    with pytest.raises(RemoteProtocolError) as info:
        parse_command(raw, context(**options))  # type: ignore[arg-type]
    reply = info.value.reply
    return reply.code, reply.status.with_class(reply.code)


def whole(parser: object, text: str, **options: object) -> object:
    value, end = parser(text, 0, **options)  # type: ignore[operator]
    assert end == len(text), f"{text!r} only parsed up to {end}"
    return value


def rejects(parser: object, text: str, **options: object) -> bool:
    try:
        _, end = parser(text, 0, **options)  # type: ignore[operator]
    except GrammarError:
        return True
    return end != len(text)


# --- Domain, sub-domain, Let-dig, Ldh-str -------------------------------------------


@pytest.mark.parametrize("domain", [
    "a", "example.com", "mx-1.example.org", "a--b.c", "123.example", "1a.2b.3c",
    "xn--9ca.example", "A.B.C", "x" * 63 + ".com",
])
def test_a_domain_is_sub_domains_of_letters_digits_and_inner_hyphens(domain: str) -> None:
    """RFC 5321 §4.1.2: Domain = sub-domain *("." sub-domain); sub-domain = Let-dig
    [Ldh-str]; Ldh-str = *( ALPHA / DIGIT / "-" ) Let-dig."""
    assert whole(parse_domain, domain) == domain


@pytest.mark.parametrize("text", [
    "", "-a.com", "a-.com", "a..com", ".a.com", "a.com.", "a_b.com", "a b.com", "a!.com",
    "exämple.com",
])
def test_a_domain_with_a_bad_label_is_refused(text: str) -> None:
    """RFC 5321 §4.1.2 MUST: "characters outside the set of alphabetic characters, digits,
    and hyphen MUST NOT appear in domain name labels ... In particular, the underscore
    character is not permitted." (non-ASCII only with SMTPUTF8, RFC 6531 §3.3)."""
    assert rejects(parse_domain, text)


@given(smtp.domains())
@settings(max_examples=300)
def test_every_generated_domain_parses_whole(domain: str) -> None:
    """RFC 5321 §4.1.2 Domain: the strategy and the parser agree on the production."""
    assert whole(parse_domain, domain) == domain


@pytest.mark.parametrize("line", ["EHLO a_b.example", "EHLO -a.example", "EHLO a.", "EHLO"])
def test_ehlo_with_an_invalid_domain_gets_501(line: str) -> None:
    """RFC 5321 §4.1.2 MUST: "SMTP servers that receive a command in which invalid
    character codes have been employed ... MUST reject that command with a 501"."""
    assert refusal(line)[0] == 501


def test_a_domain_longer_than_255_octets_is_refused_in_ehlo() -> None:
    """RFC 5321 §4.5.3.1.2: "The maximum total length of a domain name or number is 255
    octets." (found: EHLO accepted any length the command line allowed)"""
    domain = ".".join(["a" * 63] * 4)          # 255 octets
    assert parse(f"EHLO {domain}") == Ehlo(domain)
    assert refusal(f"EHLO {domain}b")[0] == 501


# --- U-labels (RFC 6531 §3.3) ---------------------------------------------------------


@pytest.mark.parametrize("domain", ["例子.广告", "bücher.example", "παράδειγμα.δοκιμή"])
def test_u_labels_are_domains_only_in_utf8_mode(domain: str) -> None:
    """RFC 6531 §3.3: sub-domain =/ U-label."""
    assert whole(parse_domain, domain, utf8=True) == domain
    assert rejects(parse_domain, domain)


@pytest.mark.parametrize("label", ["a\ufffdb", "é" * 60])
def test_a_non_ascii_label_that_is_no_u_label_is_refused(label: str) -> None:
    """RFC 6531 §3.3: the UTF-8 label must be a U-label "that conforms with IDNA
    definitions [RFC5890]" (here: not convertible to an A-label)."""
    assert rejects(parse_domain, f"{label}.example", utf8=True)


@given(smtp.domains(utf8=True))
@settings(max_examples=200)
def test_every_generated_utf8_domain_parses_whole(domain: str) -> None:
    """RFC 6531 §3.3 sub-domain =/ U-label."""
    assert whole(parse_domain, domain, utf8=True) == domain


# --- address literals (RFC 5321 §4.1.3) -----------------------------------------------


@pytest.mark.parametrize("literal", [
    "[192.0.2.1]", "[0.0.0.0]", "[255.255.255.255]", "[001.02.3.004]",
    "[IPv6:2001:db8::1]", "[IPv6:::1]", "[IPv6:::]", "[ipv6:ABCD::]", "[IPv6:1:2:3:4:5:6:7:8]",
    "[IPv6:1:2:3::6:7:8]", "[IPv6:1:2:3:4:5:6:192.0.2.1]", "[IPv6:::ffff:192.0.2.1]",
    "[IPv6:1:2:3:4::192.0.2.1]", "[IPv6:1::2:3:4:192.0.2.1]", "[IPv6:1:2:3:4:5:6::]",
    "[x400:c=us;a=;p=x]", "[tag:!\"#$%&'()*+,-./:;<=>?@^_`{|}~]",
])
def test_valid_address_literals_are_accepted(literal: str) -> None:
    """RFC 5321 §4.1.3: address-literal = "[" ( IPv4-address-literal /
    IPv6-address-literal / General-address-literal ) "]"."""
    assert whole(parse_address_literal, literal) == literal


@pytest.mark.parametrize("literal", [
    "[256.0.0.1]", "[1.2.3.999]", "[1.2.3]", "[1.2.3.4.5]", "[1234.1.1.1]", "[]",
])
def test_ipv4_literals_with_a_bad_snum_are_refused(literal: str) -> None:
    """RFC 5321 §4.1.3: Snum = 1*3DIGIT "representing a decimal integer value in the
    range 0 through 255"; IPv4-address-literal = Snum 3("." Snum)."""
    assert rejects(parse_address_literal, literal)


@pytest.mark.parametrize("literal", [
    "[IPv6:1:2:3:4:5:6:7:8:9]", "[IPv6:12345::]", "[IPv6:g::]", "[IPv6:1:2:3:4:5:6:7]",
    "[IPv6:1:::2]", "[IPv6:::1.2.3.256]",
    # found: a zone index was accepted (Python's ipaddress allows "%scope")
    "[IPv6:fe80::1%eth0]",
    # found: "No more than 6 groups in addition to the "::" may be present."
    "[IPv6:1:2:3:4:5:6:7::]", "[IPv6:1::2:3:4:5:6:7]",
    # found: "No more than 4 groups in addition to the "::" and IPv4-address-literal"
    "[IPv6:1:2:3:4:5::192.0.2.1]", "[IPv6:1:2::3:4:5:192.0.2.1]",
])
def test_ipv6_literals_outside_the_rfc_5321_ipv6_grammar_are_refused(literal: str) -> None:
    """RFC 5321 §4.1.3: IPv6-addr = IPv6-full / IPv6-comp / IPv6v4-full / IPv6v4-comp,
    with the group counts its comments give."""
    assert rejects(parse_address_literal, literal)


@pytest.mark.parametrize("literal", ["[tag]", "[tag:]", "[tag:a\\b]", "[tag:a[b]", "[:x]",
                                     "[-:x]", "[tag:a b]"])
def test_general_literals_need_a_tag_a_colon_and_dcontent(literal: str) -> None:
    """RFC 5321 §4.1.3: General-address-literal = Standardized-tag ":" 1*dcontent;
    dcontent = %d33-90 / %d94-126 (excluding "[", "\\", "]")."""
    assert rejects(parse_address_literal, literal)


@given(smtp.address_literals())
@settings(max_examples=300)
def test_every_generated_address_literal_parses_whole(literal: str) -> None:
    """RFC 5321 §4.1.3 address-literal."""
    assert whole(parse_address_literal, literal) == literal


def test_ehlo_takes_an_address_literal_and_helo_does_not() -> None:
    """RFC 5321 §4.1.1.1: ehlo = "EHLO" SP ( Domain / address-literal ); helo = "HELO" SP
    Domain."""
    assert parse("EHLO [192.0.2.1]") == Ehlo("[192.0.2.1]")
    assert refusal("HELO [192.0.2.1]")[0] == 501


# --- Local-part: Dot-string, Atom, Quoted-string -------------------------------------


@pytest.mark.parametrize("local", ["a", "john.q.public", "a!#$%&'*+-/=?^_`{|}~z", "1", "-"])
def test_a_dot_string_local_part_is_its_own_value(local: str) -> None:
    """RFC 5321 §4.1.2: Dot-string = Atom *("." Atom); Atom = 1*atext."""
    assert whole(parse_local_part, local) == local


@pytest.mark.parametrize("text", [".a", "a.", "a..b", "a b", "a(b)", "a,b", "a:b", "a\\b",
                                  "é"])
def test_a_local_part_that_is_neither_dot_string_nor_quoted_is_refused(text: str) -> None:
    """RFC 5321 §4.1.2: Local-part = Dot-string / Quoted-string."""
    assert rejects(parse_local_part, text)


@pytest.mark.parametrize(("wire", "value"), [
    ('"a b"', "a b"), ('"a\\"b"', 'a"b'), ('"\\\\"', "\\"), ('"a\\ b"', "a b"), ('""', ""),
    ('"Joe\\,Smith"', "Joe,Smith"), ('"\\a\\b\\c"', "abc"), ('"a@b"', "a@b"),
])
def test_a_quoted_string_arrives_unquoted(wire: str, value: str) -> None:
    """RFC 5321 §4.1.2 MUST: "all quoted forms MUST be treated as equivalent"; the
    example: "Joe\\,Smith" "indicates a single nine-character user name string"."""
    assert whole(parse_local_part, wire) == value


def test_every_quoted_form_of_a_mailbox_is_the_same_mailbox() -> None:
    """RFC 5321 §4.1.2 MUST: "all quoted forms MUST be treated as equivalent"."""
    forms = ["abc@example.com", '"abc"@example.com', '"a\\bc"@example.com',
             '"\\a\\b\\c"@example.com']
    assert {whole(parse_mailbox, form) for form in forms} == {Mailbox("abc", "example.com")}


@pytest.mark.parametrize("text", ['"abc', '"a"b"', '"a\\"', '"\x01"', '"a\\\x01"'])
def test_malformed_quoted_strings_are_refused(text: str) -> None:
    """RFC 5321 §4.1.2: qtextSMTP = %d32-33 / %d35-91 / %d93-126; quoted-pairSMTP = %d92
    %d32-126."""
    assert rejects(parse_local_part, text)


def test_a_quoted_pair_does_not_escape_a_utf8_character() -> None:
    """RFC 6531 §3.3 extends qtextSMTP with UTF8-non-ascii but not quoted-pairSMTP, which
    stays %d92 %d32-126. (found: "\\é" was accepted)"""
    assert whole(parse_local_part, '"é"', utf8=True) == "é"
    assert rejects(parse_local_part, '"\\é"', utf8=True)


@given(smtp.local_parts())
@settings(max_examples=300)
def test_every_generated_local_part_parses_to_its_unquoted_value(wire: str) -> None:
    """RFC 5321 §4.1.2: Local-part = Dot-string / Quoted-string; quoted forms
    equivalent."""
    assert whole(parse_local_part, wire) == smtp.unquote_local_part(wire)


@given(smtp.local_parts(utf8=True))
@settings(max_examples=200)
def test_every_generated_utf8_local_part_parses_in_utf8_mode(wire: str) -> None:
    """RFC 6531 §3.3: atext =/ UTF8-non-ascii; qtextSMTP =/ UTF8-non-ascii."""
    assert whole(parse_local_part, wire, utf8=True) == smtp.unquote_local_part(wire)


@pytest.mark.parametrize(("value", "wire"), [
    ("abc", "abc"), ("a.b", "a.b"), ("a b", '"a b"'), ('a"b', '"a\\"b"'), ("", '""'),
    ("a..b", '"a..b"'), (".a", '".a"'), ("a\\b", '"a\\\\b"'), ("用户", "用户"),
])
def test_local_parts_are_written_with_the_minimum_quoting(value: str, wire: str) -> None:
    """RFC 5321 §4.1.2 SHOULD: "the sending system SHOULD transmit the form that uses the
    minimum quoting possible"."""
    assert write_local_part(value) == wire


# --- Mailbox, Path, source routes, Postmaster ------------------------------------------


def test_a_mailbox_may_have_an_address_literal_as_domain() -> None:
    """RFC 5321 §4.1.2: Mailbox = Local-part "@" ( Domain / address-literal )."""
    assert whole(parse_mailbox, "a@[192.0.2.1]") == Mailbox("a", "[192.0.2.1]")
    assert whole(parse_mailbox, "a@[IPv6:::1]") == Mailbox("a", "[IPv6:::1]")


@pytest.mark.parametrize("text", ["a", "a@", "@b", "a@@b", "a@b@c", "a@-b", "a@[1.2.3.4"])
def test_malformed_mailboxes_are_refused(text: str) -> None:
    """RFC 5321 §4.1.2: Mailbox = Local-part "@" ( Domain / address-literal )."""
    assert rejects(parse_mailbox, text)


@pytest.mark.parametrize("path", ["<@a.example:u@c.example>",
                                  "<@a.example,@b.example:u@c.example>",
                                  "<@x.y,@z:u@c.example>"])
def test_a_source_route_is_accepted_and_ignored(path: str) -> None:
    """RFC 5321 §4.1.2 MUST: the source route "MUST BE accepted, SHOULD NOT be
    generated, and SHOULD be ignored" (Path = "<" [ A-d-l ":" ] Mailbox ">")."""
    assert whole(parse_path, path) == Mailbox("u", "c.example")
    assert parse(f"MAIL FROM:{path}") == MailFrom(Mailbox("u", "c.example"))
    assert parse(f"RCPT TO:{path}") == RcptTo(Mailbox("u", "c.example"))


@given(smtp.a_d_ls(), smtp.mailboxes())
@settings(max_examples=200)
def test_any_source_route_is_dropped(route: str, mailbox: Mailbox) -> None:
    """RFC 5321 §4.1.2 SHOULD: the source route "SHOULD be ignored"."""
    text = f"<{route}:{mailbox}>"
    if len(text.encode()) <= 256:
        assert parse(f"RCPT TO:{text}") == RcptTo(mailbox)


@pytest.mark.parametrize("path", ["<@a.example u@c.example>", "<@a.example:>", "<@:u@c>",
                                  "<@a.example,u@c.example>", "<u@c.example", "u@c.example"])
def test_malformed_paths_are_refused(path: str) -> None:
    """RFC 5321 §4.1.2: Path = "<" [ A-d-l ":" ] Mailbox ">"."""
    assert rejects(parse_path, path)


def test_the_null_reverse_path_is_none() -> None:
    """RFC 5321 §4.1.2: Reverse-path = Path / "<>"."""
    assert whole(parse_reverse_path, "<>") is None
    assert parse("MAIL FROM:<>") == MailFrom(None)


@pytest.mark.parametrize("path", ["<Postmaster>", "<postmaster>", "<POSTMASTER>"])
def test_rcpt_to_postmaster_without_a_domain_is_accepted(path: str) -> None:
    """RFC 5321 §4.1.1.3: "<Postmaster>" is a valid RCPT argument; §2.4 verbs and
    argument values "are not case sensitive, with the sole exception in this specification
    of a mailbox local-part" (and §4.5.1 makes "Postmaster" case-insensitive)."""
    assert parse(f"RCPT TO:{path}") == RcptTo(Mailbox("Postmaster", None))


def test_postmaster_with_a_domain_is_an_ordinary_mailbox() -> None:
    """RFC 5321 §4.1.1.3: "<Postmaster@" Domain ">"."""
    assert parse("RCPT TO:<Postmaster@example.com>") == RcptTo(
        Mailbox("Postmaster", "example.com"))


def test_mail_from_postmaster_without_a_domain_is_refused() -> None:
    """RFC 5321 §4.1.1.2: the domain-less "<Postmaster>" form exists only for RCPT."""
    assert refusal("MAIL FROM:<Postmaster>") == (501, "5.1.7")


# --- RFC 6531: UTF-8 mailboxes need SMTPUTF8 -------------------------------------------


def test_a_utf8_sender_with_the_smtputf8_parameter_is_accepted() -> None:
    """RFC 6531 §3.4: a UTF-8 envelope "MUST supply the SMTPUTF8 parameter"."""
    assert parse("MAIL FROM:<用户@例子.广告> SMTPUTF8") == MailFrom(
        Mailbox("用户", "例子.广告"), smtputf8=True)


@pytest.mark.parametrize("path", ["<用户@example.com>", "<user@例子.广告>", '<"é"@example.com>'])
def test_a_utf8_sender_without_smtputf8_gets_550_5_6_7(path: str) -> None:
    """RFC 6531 §3.5: "When messages are rejected because the MAIL command requires an
    ASCII address, the reply-code 550 is returned" with X.6.7 (§3.6 / RFC 6531
    registration "Non-ASCII addresses not permitted for that sender/recipient")."""
    assert refusal(f"MAIL FROM:{path}") == (550, "5.6.7")


def test_a_utf8_recipient_when_mail_lacked_smtputf8_gets_553_5_6_7() -> None:
    """RFC 6531 §3.5: "When messages are rejected because the RCPT command requires an
    ASCII address, the reply-code 553 is returned"."""
    assert refusal("RCPT TO:<用户@例子.广告>", smtputf8=False) == (553, "5.6.7")
    assert parse("RCPT TO:<用户@例子.广告>", smtputf8=True) == RcptTo(Mailbox("用户", "例子.广告"))


@given(smtp.mailboxes(utf8=True).filter(lambda m: not m.is_ascii))
@settings(max_examples=200)
def test_any_non_ascii_mailbox_needs_smtputf8(mailbox: Mailbox) -> None:
    """RFC 6531 §3.5: 550 for MAIL, 553 for RCPT, both with 5.6.7."""
    assert refusal(f"MAIL FROM:<{mailbox}>") == (550, "5.6.7")
    assert parse(f"MAIL FROM:<{mailbox}> SMTPUTF8") == MailFrom(mailbox, smtputf8=True)
    assert refusal(f"RCPT TO:<{mailbox}>") == (553, "5.6.7")


# --- limits (RFC 5321 §4.5.3.1) --------------------------------------------------------


def test_a_local_part_of_64_octets_is_accepted_and_65_refused() -> None:
    """RFC 5321 §4.5.3.1.1: "The maximum total length of a user name or other local-part
    is 64 octets."; §4.5.3.1.9 "501 Path too long"."""
    assert parse(f"MAIL FROM:<{'a' * 64}@example.com>") == MailFrom(
        Mailbox("a" * 64, "example.com"))
    assert refusal(f"MAIL FROM:<{'a' * 65}@example.com>")[0] == 501
    assert refusal(f"RCPT TO:<{'a' * 65}@example.com>")[0] == 501


def test_the_local_part_limit_counts_the_octets_sent_with_their_quotes() -> None:
    """RFC 5321 §4.5.3.1.1: the local-part (the Local-part production, quotes and
    backslashes included) is at most 64 octets. (found: the limit was applied to the
    unquoted value, so 130 octets of quoted pairs passed)"""
    assert refusal('MAIL FROM:<"' + "\\a" * 40 + '"@example.com>')[0] == 501
    assert refusal('MAIL FROM:<"' + " " * 63 + '"@example.com>')[0] == 501
    assert parse('MAIL FROM:<"' + " " * 62 + '"@example.com>') == MailFrom(
        Mailbox(" " * 62, "example.com"))


def test_a_utf8_local_part_is_measured_in_octets() -> None:
    """RFC 5321 §4.5.3.1.1: 64 octets; RFC 6531 §3.3 text is UTF-8 on the wire."""
    assert refusal(f"MAIL FROM:<{'é' * 33}@example.com> SMTPUTF8")[0] == 501
    assert parse(f"MAIL FROM:<{'é' * 32}@example.com> SMTPUTF8").reverse_path == Mailbox(
        "é" * 32, "example.com")


def test_a_domain_of_255_octets_is_accepted_and_256_refused() -> None:
    """RFC 5321 §4.5.3.1.2: "The maximum total length of a domain name or number is 255
    octets." (with a larger path limit, so only the domain bound applies)"""
    limits = SmtpLimits(path=600)
    domain = ".".join(["a" * 63] * 4)
    assert parse(f"RCPT TO:<u@{domain}>", limits=limits) == RcptTo(Mailbox("u", domain))
    assert refusal(f"RCPT TO:<u@{domain}b>", limits=limits)[0] == 501
    with pytest.raises(GrammarError) as info:
        parse_mailbox(f"u@{domain}b")
    assert info.value.rule == "Domain"


def test_a_path_of_256_octets_is_accepted_and_257_refused() -> None:
    """RFC 5321 §4.5.3.1.3: "The maximum total length of a reverse-path or forward-path
    is 256 octets (including the punctuation and element separators)."; §4.5.3.1.9:
    "501 Path too long"."""
    local = "a" * 64
    domain = "b" * 63 + "." + "c" * 63 + "." + "d" * (256 - 2 - 65 - 128)
    path = f"<{local}@{domain}>"
    assert len(path) == 256
    assert parse(f"MAIL FROM:{path}") == MailFrom(Mailbox(local, domain))
    assert refusal(f"MAIL FROM:<{local}@{domain}e>") == (501, "5.1.7")
    assert refusal(f"RCPT TO:<{local}@{domain}e>") == (501, "5.1.3")


# --- xtext (RFC 3461 §4) ----------------------------------------------------------------


@pytest.mark.parametrize(("xtext", "value"), [
    ("abc", "abc"), ("a+2Bb", "a+b"), ("+3D", "="), ("a+20b", "a b"), ("", ""),
    ("+2B+2B", "++"), ("user@example.com", "user@example.com"),
    ("+C3+A9", "é"),
])
def test_xtext_decodes_hexchars(xtext: str, value: str) -> None:
    """RFC 3461 §4: xtext = *( xchar / hexchar ); hexchar = "+" followed by two upper case
    hexadecimal digits, "intended to encode octets" (decoded here as UTF-8)."""
    assert parse_xtext(xtext) == value


@pytest.mark.parametrize("xtext", ["a+2b", "a=b", "a b", "+4", "+", "é", "+GG", "a\x01"])
def test_malformed_xtext_is_refused(xtext: str) -> None:
    """RFC 3461 §4: xchar excludes "+" and "="; hexchar needs two UPPER case hex digits."""
    with pytest.raises(GrammarError):
        parse_xtext(xtext)


def test_xtext_encodes_plus_equals_and_non_graphic_characters() -> None:
    """RFC 3461 §4: "ASCII CHARs that fall outside the range above must be encoded as
    "hexchar""; "+" and "=" too."""
    assert write_xtext("a+b=c d\x01") == "a+2Bb+3Dc+20d+01"


@given(st.text())
@settings(max_examples=300)
def test_xtext_encoding_round_trips_any_text(value: str) -> None:
    """RFC 3461 §4: hexchars encode octets; text is carried as its UTF-8 octets.
    (found: "+1F600" was written for U+1F600 and read back as "\\x1f600")"""
    assert parse_xtext(write_xtext(value)) == value


@given(smtp.xtexts())
@settings(max_examples=300)
def test_every_generated_xtext_is_valid(xtext: str) -> None:
    """RFC 3461 §4 xtext."""
    try:
        value = parse_xtext(xtext)
    except GrammarError as exc:          # hexchars that are not UTF-8 octets
        assert exc.rule == "xtext"
        return
    assert parse_xtext(write_xtext(value)) == value


# --- base64 (RFC 4954 §4) -----------------------------------------------------------------


@pytest.mark.parametrize(("text", "value"), [
    ("dGVzdA==", b"test"), ("dGVzdDE=", b"test1"), ("dGVzdDEy", b"test12"), ("=", b""),
    ("AGFsaWNlAHB3", b"\x00alice\x00pw"),
])
def test_base64_decodes_strictly_valid_text(text: str, value: bytes) -> None:
    """RFC 4954 §4: responses are BASE64; "=" alone is the empty initial response."""
    assert decode_base64(text) == value


@pytest.mark.parametrize("text", ["dGVzdA", "dGVzdA===", "dG=VzdA==", "dGVzdA==\n",
                                  "dGV zdA==", "dGVzdA== ", "*", "é", "dGVz!A==", "=="])
def test_base64_with_bad_characters_or_padding_is_refused(text: str) -> None:
    """RFC 4954 §4 MUST: "servers and clients MUST reject (and not ignore) any character
    not explicitly allowed by the BASE64 alphabet, and MUST reject any sequence of BASE64
    characters that contains the pad character ('=') anywhere other than the end"."""
    with pytest.raises(GrammarError):
        decode_base64(text)


@pytest.mark.parametrize("text", ["AAAA=", "AAAA==", "AAAA====", "dGVzdDEy=", "dGVzdA==="])
def test_padding_after_a_complete_quantum_is_refused(text: str) -> None:
    """RFC 4954 §8: base64 = base64-terminal / ( 1*(4base64-char) [base64-terminal] ),
    base64-terminal = (2base64-char "==") / (3base64-char "="): padding only completes
    the last quantum. (found by fuzz.strategies.smtp_hostile.broken_auth_lines: "AUTH
    PLAIN AAAA====" was taken as the response b"\0\0\0", because binascii's strict
    mode accepts extra "=" after a complete quantum)"""
    with pytest.raises(GrammarError):
        decode_base64(text)


@given(st.binary())
@settings(max_examples=200)
def test_base64_round_trips_any_octets(value: bytes) -> None:
    """RFC 4954 §4: BASE64 [RFC 4648]."""
    assert decode_base64(encode_base64(value) or "=") == value


def test_a_utf8_mailbox_is_refused_where_only_ascii_is_allowed() -> None:
    """RFC 5321 §4.1.2 MUST NOT: non-ASCII "MUST NOT be used in MAIL or RCPT commands"
    unless an extension (RFC 6531) allows it."""
    with pytest.raises(GrammarError):
        parse_mailbox("用户@example.com")
    assert whole(parse_mailbox, "用户@example.com", utf8=True) == Mailbox("用户", "example.com")
    assert Status.NON_ASCII_ADDRESS.with_class(553) == "5.6.7"


@pytest.mark.parametrize("value", ["a\n", "a.b\n", "x\r"])
def test_a_local_part_that_is_no_dot_string_is_never_written_bare(value: str) -> None:
    """RFC 5321 §4.1.2: Local-part = Dot-string / Quoted-string; a value with a trailing
    line end is not a Dot-string. (found: "$" matched before the final newline, so
    "a\\n" was written as the Dot-string "a\\n")"""
    assert write_local_part(value) != value
