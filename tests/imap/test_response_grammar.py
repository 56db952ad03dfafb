"""Response grammar corners (RFC 9051 §7, §9 and the extensions the core speaks): what
the strict serializer writes and the strict client parser reads, checked against the
ABNF of each RFC, case by case (the round trips over all values are in
test_roundtrip.py)."""

from __future__ import annotations

import pytest

from reference.errors import LocalProtocolError
from reference.imap.capabilities import Modes
from reference.imap.framing import ResponseReader
from reference.imap.limits import ImapLimits
from reference.imap.parser_responses import ResponseContext, parse_response
from reference.imap.response_data import (
    BinaryItem,
    EsearchData,
    FetchData,
    ListData,
    SearchData,
    VanishedData,
)
from reference.imap.responses import (
    CopyUid,
    ImapRemoteProtocolError,
    Response,
    ResponseCode,
    ok,
)
from reference.imap.sequence_sets import STAR, SequenceSet
from reference.imap.serializer import write_response
from reference.wire.buffer import ReceiveBuffer

REV1 = Modes(advertised=frozenset({"IMAP4REV1"}))
REV2 = Modes(advertised=frozenset({"IMAP4REV2"}))


def read(wire: bytes, modes: Modes = REV2) -> Response:
    buffer = ReceiveBuffer()
    buffer.feed(wire)
    segments = ResponseReader(ImapLimits()).read(buffer)
    assert segments is not None and not buffer
    return parse_response(segments, ResponseContext(modes))


# --- RFC 7162 §3.1.3 MODIFIED ------------------------------------------------------------


@pytest.mark.parametrize(("wire", "uids"), [
    (b"d105 OK [MODIFIED 7,9] Conditional STORE failed\r\n", SequenceSet.of(7, 9)),
    (b"a1 OK [MODIFIED 5:*] Conditional STORE failed\r\n", SequenceSet.of((5, STAR))),
    (b"a1 OK [MODIFIED *] Conditional STORE failed\r\n", SequenceSet.of((STAR, STAR))),
    (b"a1 OK [MODIFIED *:4,9] Conditional STORE failed\r\n",
     SequenceSet.of((STAR, 4), 9)),
    (b"a1 OK [MODIFIED $] Conditional STORE failed\r\n", SequenceSet(last_result=True)),
])
def test_modified_carries_any_sequence_set(wire: bytes, uids: SequenceSet) -> None:
    """RFC 7162 §7: resp-text-code =/ "MODIFIED" SP sequence-set (erratum 3506), and RFC
    9051 §9: sequence-set = (seq-number / seq-range) ["," sequence-set], seq-number =
    nz-number / "*", sequence-set =/ seq-last-command; §3.1.3 MUST: "the server MUST
    return in the tagged response a MODIFIED response code". The client reads every form
    the grammar allows, and the serializer writes it back unchanged."""
    response = ok(wire.split(b" ")[0].decode(), "Conditional STORE failed",
                  ResponseCode.MODIFIED, uids)
    assert read(wire) == response
    assert write_response(response, REV1) == wire


_MANY = SequenceSet.of(*range(1, 2 * 20_001, 2))     # 20,001 ranges


@pytest.mark.parametrize("response", [
    ok("a1", "Conditional STORE failed", ResponseCode.MODIFIED, _MANY),
    ok("a1", "done", ResponseCode.COPYUID, CopyUid(7, _MANY, _MANY)),
    VanishedData(_MANY, earlier=True),
    EsearchData("a1", uid=True, all=_MANY),
], ids=["MODIFIED", "COPYUID", "VANISHED", "ESEARCH"])
def test_response_sets_with_more_ranges_than_a_command_may_carry_are_read(
        response: Response) -> None:
    """RFC 7162 §3.1.3: MODIFIED lists "all messages that failed the UNCHANGEDSINCE test"
    (likewise COPYUID, RFC 4315 §3; VANISHED, RFC 7162 §3.2.10; ESEARCH ALL, RFC 4731
    §3.1): a set in a response is bounded by the response line
    (ImapLimits.response_line), not by the server's bound on what a command may ask
    (ImapLimits.sequence_set_ranges)."""
    assert read(write_response(response, REV2)) == response


# --- RFC 5258 §9 / RFC 9051 §9 mbox-list-extended -----------------------------------------


@pytest.mark.parametrize(("wire", "response"), [
    # RFC 9051 §6.3.9.8 / RFC 5258 §5 examples; the tag with and without quotes (Note 1)
    (b'* LIST () "/" "Foo" ("CHILDINFO" ("SUBSCRIBED"))\r\n',
     ListData((), "/", "Foo", child_info=("SUBSCRIBED",))),
    (b'* LIST () "/" Foo (childinfo ("SUBSCRIBED" "REMOTE"))\r\n',
     ListData((), "/", "Foo", child_info=("SUBSCRIBED", "REMOTE"))),
    # RFC 9051 §6.3.4 (CREATE) example of §6.3.9.7 OLDNAME
    (b'* LIST () "/" "Normalized" ("OLDNAME" ("NonNormalized"))\r\n',
     ListData((), "/", "Normalized", old_name="NonNormalized")),
    (b'* LIST () "/" x (OLDNAME ({3}\r\na b))\r\n', ListData((), "/", "x", old_name="a b")),
    # mbox-list-extended = "(" [mbox-list-extended-item *(SP mbox-list-extended-item)] ")"
    (b'* LIST () "/" x ()\r\n', ListData((), "/", "x")),
    # tagged-ext-simple = sequence-set / number / number64
    (b'* LIST () "/" x (X-A 0 X-B 9223372036854775807 X-C 1:*,5 X-D $ X-E *)\r\n',
     ListData((), "/", "x", extensions=(("X-A", 0), ("X-B", 2**63 - 1), ("X-C", "1:*,5"),
                                        ("X-D", "$"), ("X-E", "*")))),
    # "(" [tagged-ext-comp] ")"; tagged-ext-comp = astring / tagged-ext-comp *(SP
    # tagged-ext-comp) / "(" tagged-ext-comp ")"
    (b'* LIST () "/" x ("X-A" () X-B (a "b c" (d (e)) {2}\r\nf)))\r\n',
     ListData((), "/", "x", extensions=(("X-A", ()), ("X-B", ("a", "b c", ("d", ("e",)),
                                                               "f)"))))),
])
def test_list_extended_items_are_read_in_every_form_the_grammar_allows(
        wire: bytes, response: ListData) -> None:
    """RFC 5258 §9 / RFC 9051 §9: mailbox-list = ... mailbox [SP mbox-list-extended];
    mbox-list-extended-item = mbox-list-extended-item-tag SP tagged-ext-val, the tag an
    astring ("can be returned with or without surrounding quotes"); CHILDINFO (§6.3.9.6)
    and OLDNAME (§6.3.9.7) have their own fields. What is read is written back and read
    again as the same value."""
    assert read(wire) == response
    for modes in (REV1, REV2):
        assert read(write_response(response, modes), modes) == response


@pytest.mark.parametrize("option", ["SUBSCRIBED", "X-FOO", "vendor.x-y", "X-FOO (a)",
                                    "X-FOO (a (b c) ])", "X (((a)))"])
def test_childinfo_options_are_any_list_select_base_opt(option: str) -> None:
    """RFC 5258 §9: list-select-base-opt-quoted = DQUOTE list-select-base-opt DQUOTE;
    list-select-base-opt = "SUBSCRIBED" / option-extension; option-extension =
    (option-standard-tag / option-vendor-tag) [SP option-value]; option-value = "("
    option-val-comp ")"."""
    response = ListData((), "/", "x", child_info=(option,))
    wire = write_response(response, REV2)
    assert b'("CHILDINFO" ("' + option.encode() + b'"))' in wire
    assert read(wire) == response


@pytest.mark.parametrize("response", [
    ListData((), "/", "x", child_info=()),                         # 1*option
    ListData((), "/", "x", child_info=("a b",)),                   # not an option-extension
    ListData((), "/", "x", child_info=('a"b',)),
    ListData((), "/", "x", child_info=("X ()",)),                  # option-val-comp is 1*
    ListData((), "/", "x", child_info=("X (a",)),
    ListData((), "/", "x", extensions=(("CHILDINFO", ("SUBSCRIBED",)),)),   # its own field
    ListData((), "/", "x", extensions=(("oldname", ("y",)),)),
    ListData((), "/", "x", extensions=(("a b", 1),)),              # tag: an atom
    ListData((), "/", "x", extensions=(("X", "abc"),)),            # no bare string
    ListData((), "/", "x", extensions=(("X", "5"),)),              # a number is an int
    ListData((), "/", "x", extensions=(("X", "1:0"),)),
    ListData((), "/", "x", extensions=(("X", None),)),
    ListData((), "/", "x", extensions=(("X", 2**63),)),
    ListData((), "/", "x", extensions=(("X", -1),)),
    ListData((), "/", "x", extensions=(("X", ((),)),)),            # "(" tagged-ext-comp ")"
    ListData((), "/", "x", extensions=(("X", (None,)),)),          # astring, not NIL
    ListData((), "/", "x", extensions=(("X", (5,)),)),             # reads back as "5"
])
def test_list_extended_values_the_grammar_cannot_carry_are_refused(response: ListData) -> None:
    """RFC 5258 §9: what the serializer cannot write so that it reads back the same is a
    LocalProtocolError (our bug), never a response the grammar refuses."""
    with pytest.raises(LocalProtocolError):
        write_response(response, REV2)


@pytest.mark.parametrize("wire", [
    b'* LIST () "/" x (X (()))\r\n',              # nested "(" tagged-ext-comp ")" is 1*
    b'* LIST () "/" x (X ,,:)\r\n',               # not a sequence-set
    b'* LIST () "/" x (X 1:0)\r\n',
    b'* LIST () "/" x (X 99999999999999999999)\r\n',   # beyond number64
    b'* LIST () "/" x ("a b" 1)\r\n',             # the tag is an atom in quotes at most
    b'* LIST () "/" x (X NIL)\r\n',
    b'* LIST () "/" x (X "abc")\r\n',
    b'* LIST () "/" x (CHILDINFO ("a\\"b"))\r\n',
    b'* LIST () "/" x (CHILDINFO ())\r\n',
    b'* LIST () "/" x (CHILDINFO (SUBSCRIBED))\r\n',   # "always returned quoted" (Note 2)
    b'* LIST () "/" x (OLDNAME y)\r\n',
    b'* LIST () "/" x (X 1 )\r\n',
])
def test_list_extended_items_outside_the_grammar_are_refused(wire: bytes) -> None:
    """The client core judges a target strictly (RFC 5258 §9, RFC 9051 §9)."""
    with pytest.raises(ImapRemoteProtocolError, match="Malformed response"):
        read(wire)


# --- RFC 4731 §3.1 ESEARCH ----------------------------------------------------------------


@pytest.mark.parametrize("modseq", [0, -1, 2**63, 2**64])
def test_esearch_modseq_outside_mod_sequence_value_is_refused(modseq: int) -> None:
    """RFC 4731 §4: search-return-data =/ "MODSEQ" SP mod-sequence-value; RFC 7162 §7:
    mod-sequence-value = 1*DIGIT, "Positive unsigned 63-bit integer (1 <= n <=
    9,223,372,036,854,775,807)"."""
    with pytest.raises(LocalProtocolError):
        write_response(EsearchData("a1", min=1, modseq=modseq), REV2)


@pytest.mark.parametrize("modseq", [0, 2**63])
def test_search_modseq_outside_mod_sequence_value_is_refused(modseq: int) -> None:
    """RFC 7162 §7: search-sort-mod-seq = "(" "MODSEQ" SP mod-sequence-value ")"."""
    with pytest.raises(LocalProtocolError):
        write_response(SearchData((1,), modseq), REV2)


def test_esearch_modseq_bounds_are_written_and_read() -> None:
    for modseq in (1, 2**63 - 1):
        response = EsearchData("a1", uid=True, min=1, modseq=modseq)
        assert read(write_response(response, REV2)) == response


@pytest.mark.parametrize("tag", ["a\r\n* BYE x", "a\nb", "a b", "a+1", "", "a\"b", "a\\b",
                                 "t\u00e9", "a{1}", "a\x00", "a(", "a%", "a*"])
def test_esearch_correlator_that_is_no_tag_is_refused(tag: str) -> None:
    """RFC 4731 §3.1 / RFC 4466 §2.6.2: search-correlator = SP "(" "TAG" SP tag-string
    ")", RFC 9051 §9: tag-string = astring "; <tag> represented as <astring>", and tag =
    1*<any ASTRING-CHAR except "+">: a CR or LF would end the line (a response
    injection), and nothing else a tag cannot hold is written either."""
    with pytest.raises(LocalProtocolError):
        write_response(EsearchData(tag, min=1), REV2)


@pytest.mark.parametrize("tag", ["a1", "A.b-c_d]", "~!#$&'", "x" * 200])
def test_esearch_correlator_carries_any_tag(tag: str) -> None:
    """RFC 9051 §9 tag: "1*<any ASTRING-CHAR except "+">" (RFC 4466 tag-string = string:
    written quoted, which both grammars read)."""
    response = EsearchData(tag, count=3)
    wire = write_response(response, REV1)
    assert wire.startswith(b'* ESEARCH (TAG "' + tag.encode() + b'") COUNT 3')
    assert read(wire, REV1) == response


@pytest.mark.parametrize("wire", [
    b"* ESEARCH (TAG \"a1\") MODSEQ 0\r\n",
    b"* ESEARCH (TAG \"a1\") MODSEQ 9223372036854775808\r\n",
    b"* ESEARCH (TAG \"a b\") COUNT 1\r\n",
    b"* ESEARCH (TAG \"a+\") COUNT 1\r\n",
    b"* ESEARCH (TAG \"\") COUNT 1\r\n",
])
def test_esearch_outside_the_grammar_is_refused(wire: bytes) -> None:
    """RFC 7162 §7 mod-sequence-value (1 <= n); RFC 9051 §9 tag-string: a <tag>."""
    with pytest.raises(ImapRemoteProtocolError, match="Malformed response"):
        read(wire)


# --- RFC 3516 / RFC 9051 §7.5.2 BINARY ----------------------------------------------------


@pytest.mark.parametrize(("wire", "item"), [
    (b"* 1 FETCH (BINARY[1]<0> {3}\r\nabc)\r\n", BinaryItem((1,), b"abc", 0)),
    (b"* 1 FETCH (BINARY[2.1]<1024> ~{3}\r\na\x00c)\r\n", BinaryItem((2, 1), b"a\x00c", 1024)),
    (b'* 1 FETCH (BINARY[]<7> "xyz")\r\n', BinaryItem((), b"xyz", 7)),
    (b"* 1 FETCH (BINARY[1] NIL)\r\n", BinaryItem((1,), None)),
])
def test_binary_answer_may_carry_its_origin_octet(wire: bytes, item: BinaryItem) -> None:
    """RFC 9051 §7.5.2: "BINARY[<section-binary>]<<number>> ... If <number> is present,
    it refers to the offset within the DECODED section data" (RFC 3516 §4.3); §6.4.5: a
    partial FETCH BINARY has "the same" semantics as a partial FETCH BODY, whose answer
    carries the origin octet. §9's msg-att-static leaves it out (erratum 8217): the
    client reads the form the prose gives."""
    assert read(wire) == FetchData(1, (item,))


@pytest.mark.parametrize("wire", [
    b"* 1 FETCH (BINARY[1]<> {3}\r\nabc)\r\n",
    b"* 1 FETCH (BINARY[1]<0.3> {3}\r\nabc)\r\n",       # a request's partial, not an origin
    b"* 1 FETCH (BINARY[1]<4294967296> {3}\r\nabc)\r\n",
    b"* 1 FETCH (BINARY[1]<0>{3}\r\nabc)\r\n",
])
def test_binary_origin_outside_the_grammar_is_refused(wire: bytes) -> None:
    with pytest.raises(ImapRemoteProtocolError, match="Malformed response"):
        read(wire)


def test_binary_origin_is_written() -> None:
    """RFC 9051 §7.5.2 BINARY[<section-binary>]<<number>>: the server echoes the origin
    octet of a partial BINARY fetch, as for BODY (§6.4.5)."""
    response = FetchData(1, (BinaryItem((1,), b"abc", 0),))
    wire = write_response(response, REV2)
    assert wire == b'* 1 FETCH (BINARY[1]<0> "abc")\r\n'
    assert read(wire) == response
