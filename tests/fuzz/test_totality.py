"""Issue 5, totality: on any bytes every parser returns a value or raises its protocol
error type, never another exception, and its work grows linearly with the input.

The targets are ``fuzz.targets`` (the same functions the atheris harnesses and
``fuzz/speed.py`` run); each also checks that what a server core writes back reads as a
reply or response with the reference client parser. Work is counted by ``fuzz.work``
(lines executed and calls made), never by wall time, so the linear bound is exact and
repeatable: an input grown from k to 4k copies of a fragment may cost at most 8 times
more (a quadratic parser costs 16 times more).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz.strategies import imap, messages, sasl, smtp, smtp_hostile
from fuzz.targets import (
    TARGETS,
    imap_command,
    imap_response,
    message,
    sequence_set,
    smtp_command,
    smtp_reply,
)
from fuzz.targets import sasl as sasl_target
from fuzz.work import linear_enough, linear_in
from reference.imap.commands import Command as ImapCommand
from reference.imap.grammar import LiteralForm
from reference.imap.serializer_commands import write_command as write_imap_command
from reference.message.addresses import Group, parse_address_list
from reference.message.mime import parse_message
from reference.smtp.commands import Command, Data, Ehlo
from reference.smtp.connection import ClientConnection
from reference.smtp.serializer import write_command, write_reply

TOTAL = settings(max_examples=100, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
LINEAR = settings(max_examples=15, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _smtp_wire(commands: list[Command], content: bytes) -> bytes:
    wire = b""
    for command in commands:
        wire += write_command(command)
        if isinstance(command, Data):
            wire += ClientConnection.send_data(content)    # RFC 5321 §4.5.2
    return wire


def smtp_sessions() -> st.SearchStrategy[bytes]:
    """Valid SMTP client sessions (EHLO first), as wire bytes."""
    return st.builds(lambda commands, content: _smtp_wire([Ehlo("c.example"), *commands],
                                                          content),
                     st.lists(smtp.commands(utf8=True), max_size=8), smtp.mail_data())


def _imap_wire(command: ImapCommand) -> bytes:
    return b"".join(write_imap_command(command, utf8=True,
                                       literal_form=LiteralForm.LITERAL_PLUS))


def mutated(valid: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    """A few byte-level mutations of valid wire bytes (insert, delete, duplicate, flip)."""
    @st.composite
    def build(draw: st.DrawFn) -> bytes:
        wire = bytearray(draw(valid))
        for _ in range(draw(st.integers(1, 4))):
            at = draw(st.integers(0, len(wire)))
            match draw(st.sampled_from(["insert", "delete", "duplicate", "flip"])):
                case "insert":
                    wire[at:at] = draw(st.sampled_from(
                        [b"\r", b"\n", b"\x00", b"\xff", b"{", b"}", b"(", b")", b"\"", b"\\",
                         b"{4294967296}\r\n", b"\r\n.\r\n", b"BDAT 9\r\n"])
                        | st.binary(min_size=1, max_size=6))
                case "delete":
                    del wire[at:at + draw(st.integers(1, 16))]
                case "duplicate":
                    wire[at:at] = wire[at:at + draw(st.integers(1, 64))]
                case _ if at < len(wire):
                    wire[at] ^= draw(st.integers(1, 255))
        return bytes(wire)
    return build()


# --- totality --------------------------------------------------------------------------------


@TOTAL
@given(st.one_of(smtp_sessions(), mutated(smtp_sessions()), st.binary(max_size=600)))
def test_the_smtp_command_parser_is_total(data: bytes) -> None:
    """RFC 5321 §4.2: each line gets a reply; refusals carry theirs (500/501/503/...)."""
    smtp_command(data)


@TOTAL
@given(st.one_of(imap.hostile_command_bytes(),
                 mutated(imap.commands(utf8=True).map(_imap_wire))),
       st.booleans())
def test_the_imap_command_parser_is_total(data: bytes, preauth: bool) -> None:
    """RFC 9051 §7.1: bad input gets a tagged or untagged BAD the client can read."""
    imap_command(data, preauth=preauth)


@TOTAL
@given(st.one_of(imap.hostile_response_bytes(), st.binary(max_size=400)))
def test_the_imap_response_parser_is_total(data: bytes) -> None:
    imap_response(data)


@TOTAL
@given(st.one_of(messages.hostile_messages(), mutated(messages.messages(max_leaves=4))))
def test_the_message_parser_is_total(data: bytes) -> None:
    """``parse_message`` "never fails" (reference/message/mime.py): deep nesting, huge
    header counts, broken boundaries, encodings and parameters all give a tree, and
    ENVELOPE, BODYSTRUCTURE and the stored JSON form follow from it."""
    message(data)


@TOTAL
@given(st.one_of(smtp_hostile.hostile_reply_bytes(),
                 mutated(smtp.replies().map(lambda r: write_reply(r, enhanced=True)))))
def test_the_smtp_reply_parser_is_total(data: bytes) -> None:
    """RFC 5321 §4.2: the client core reads a reply or refuses the line, nothing else."""
    smtp_reply(data)
    smtp_reply(b"\x01" + data)


def sasl_exchanges() -> st.SearchStrategy[bytes]:
    """``fuzz.targets.sasl`` inputs: a mechanism octet, then LF-separated client messages,
    each that mechanism's (valid) or a near miss."""
    hostile = sasl.hostile_sasl_messages()
    plain = st.sampled_from([b"\x00user\x00pencil", b"\x00user\x00wrong"]) | \
        sasl.plain_messages() | hostile
    login = sasl.login_fields() | st.sampled_from([b"user", b"pencil"]) | hostile
    scram = st.tuples(sasl.scram_client_first_messages() | st.just(b"n,,n=user,r=abc")
                      | hostile, sasl.scram_client_final_messages() | hostile,
                      st.just(b"") | hostile)
    return st.one_of(
        st.lists(plain, min_size=1, max_size=2).map(lambda m: b"\x00" + b"\n".join(m)),
        st.lists(login, min_size=1, max_size=3).map(lambda m: b"\x01" + b"\n".join(m)),
        st.builds(lambda m, n: b"\x02" + b"\n".join(m[:n]), scram, st.integers(1, 3)))


@settings(TOTAL, max_examples=40)
@given(sasl_exchanges())
def test_the_sasl_mechanisms_are_total(data: bytes) -> None:
    """``reference.directory.sasl``: "Network input never raises": any client messages give
    a Challenge, CredentialsRequested, Succeeded or Failed (RFC 4422 §3.6); the SCRAM client
    refuses a bad server-first-message with RemoteProtocolError."""
    sasl_target(data)


@TOTAL
@given(st.one_of(imap.sequence_sets().map(lambda s: str(s).encode()),
                 mutated(imap.sequence_sets().map(lambda s: str(s).encode())),
                 st.binary(max_size=60)))
def test_sequence_set_parsing_and_arithmetic_are_total_and_agree(data: bytes) -> None:
    """RFC 9051 §9 sequence-set: parsed or refused with GrammarError; resolved against a
    mailbox it gives sorted, disjoint intervals in range, or SequenceSetError (§9: "*" in an
    empty mailbox, numbers past the last message)."""
    sequence_set(data)


@pytest.mark.parametrize("value", [
    "x: " + "a:" * 5_000 + ";",
    "a: b: c@d; e@f;, g@h",
    "x:" * 3_000,
])
def test_groups_inside_groups_are_read_without_recursion(value: str) -> None:
    """RFC 5322 §3.4: group-list = mailbox-list / CFWS / obs-group-list; groups do not
    nest, and a header that nests them anyway is read as the members. (found by the
    linear-work property below: "From: a:a:a:..." raised RecursionError in
    parse_message)"""
    addresses = parse_address_list(value)
    assert all(isinstance(a, Group) for a in addresses[:1])
    parse_message(f"From: {value}\r\n\r\n".encode())


def test_nested_groups_flatten_to_the_outer_group() -> None:
    first, second = parse_address_list("a: b: c@d; e@f;, g@h")
    assert isinstance(first, Group)
    assert [m.local_part for m in first.members] == ["c", "e"]
    assert not isinstance(second, Group) and second.local_part == "g"


# --- linear work -----------------------------------------------------------------------------

# For each target: (prefix, fragment, suffix) pieces whose repetition reaches the parts of
# the grammar that nest, repeat or scan: lists, parentheses, quoting, folding, literals,
# multipart bodies, address lists.
PUMPS: dict[str, tuple[list[bytes], list[bytes], list[bytes]]] = {
    "smtp_command": (
        [b"", b"EHLO a.example\r\n", b"EHLO a\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d>\r\n"
         b"DATA\r\n", b"EHLO a\r\nAUTH PLAIN\r\n", b"MAIL FROM:<", b"EHLO [IPv6:",
         b"EHLO a\r\nMAIL FROM:<a@b> ", b"EHLO a\r\nMAIL FROM:<a@b>\r\nBDAT 100000\r\n"],
        [b"NOOP\r\n", b"x", b"\r", b"\n", b"line\r\n", b".\r\n", b"\"", b"1:", b"A",
         b"SIZE=1 ", b"\\\"", b"RCPT TO:<x@y>\r\n", b"\r\n.", b"\x00"],
        [b"", b"\r\n", b">\r\n", b"]\r\n", b".\r\n"]),
    "imap_command": (
        [b"", b"\x01", b"a SEARCH ", b"\x01a FETCH 1:* (", b"a LOGIN \"", b"\x01a STORE 1 +FLAGS (",
         b"\x01a FETCH ", b"a LOGIN {100000}\r\n", b"\x01a APPEND INBOX {1+}\r\nx",
         b"\x01a LIST \"\" ", b"\x01a ID ("],
        [b"a NOOP\r\n", b"(", b")", b"NOT ", b"OR ALL ", b"FLAGS ", b"\\\\", b"1,", b"x",
         b" {1+}\r\nx", b"\r", b"\"k\" \"v\" ", b"BODY[1.2]<0.1> ", b"*", b"\\Seen "],
        [b"", b"\r\n", b"ALL\r\n", b")\r\n", b"\" b\r\n"]),
    "imap_response": (
        [b"", b"* 1 FETCH (BODYSTRUCTURE ", b"* 1 FETCH (FLAGS (", b"* SEARCH",
         b"* LIST () \"/\" \"", b"* 1 FETCH (BODY[] {100000}\r\n", b"* CAPABILITY",
         b"* 1 FETCH (ENVELOPE (NIL NIL ("],
        [b"* OK x\r\n", b"(", b"\\Seen ", b" 1", b"\\\\", b"x", b" IMAP4rev2",
         b"(\"a\" NIL \"b\" \"c\")", b"* 1 EXISTS\r\n"],
        [b"", b"\r\n", b"))\r\n", b"\"\r\n"]),
    "message": (
        [b"", b"To: ", b"From: ", b"Subject: ", b"Content-Type: text/plain",
         b"Content-Type: multipart/mixed; boundary=a\r\n\r\n", b"X: "],
        [b"X: y\r\n", b"--a\r\n\r\nx\r\n", b"a@b, ", b"=?utf-8?q?a?= ", b"; a*1*=x", b"(",
         b"\"", b"\r\n ", b"a:", b"Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\n",
         b"Content-Type: message/rfc822\r\n\r\n", b"<a@b> ", b"\\", b"=?", b"\n"],
        [b"", b"\r\n\r\nbody", b"--a--\r\n", b";\r\n\r\n"]),
    "smtp_reply": (
        [b"", b"\x01", b"\x01250-", b"250 ", b"\x01250-2.0.0 "],
        [b"250-x\r\n", b"x", b"\r", b"\n", b"250 2.0.0 ok\r\n", b"-", b"\t"],
        [b"", b"\r\n", b"250 ok\r\n"]),
    # the first octet picks the mechanism: 0 PLAIN, 1 LOGIN, 2 SCRAM-SHA-256
    "sasl": (
        [b"\x00", b"\x00\x00", b"\x01", b"\x01user\n", b"\x02n,,n=", b"\x02n,,n=user,r=",
         b"\x02n,,n=user,r=abc", b"\x02n,,n=user,r=abc\nc=biws,r=NONCE",
         b"\x02n,,n=user,r=abc\n", b"\x02x\nr=cliX,s=QUJD,i=4096", b"\x02n,a="],
        [b"a", b"\x00", b"=2C", b",x=y", b"\n", b"A", b"\xc3\xa9", b"=", b","],
        [b"", b"\x00pw", b",r=abc", b",p=" + b"A" * 43 + b"=", b"\n"]),
    "sequence_set": (
        [b"", b"1:", b"*:"],
        [b"1,", b"1:*,", b"5:3,", b"4294967295,", b"*,", b"1:2,4:5,", b"9"],
        [b"1", b"*", b"$", b""]),
}


@pytest.mark.parametrize("name", sorted(PUMPS))
@LINEAR
@given(data=st.data())
def test_work_grows_linearly_with_the_input(name: str, data: st.DataObject) -> None:
    """Issue 5: "never more than linear time", measured by work (lines and calls), with
    the input grown to about 300 and 1,200 octets of one repeated fragment."""
    prefixes, fragments, suffixes = PUMPS[name]
    prefix = data.draw(st.sampled_from(prefixes), label="prefix")
    fragment = data.draw(st.sampled_from(fragments) | st.binary(min_size=1, max_size=8),
                         label="fragment")
    suffix = data.draw(st.sampled_from(suffixes), label="suffix")
    linear_enough(TARGETS[name], prefix, fragment, suffix, times=max(1, 300 // len(fragment)))


@pytest.mark.parametrize(("name", "prefix", "fragment", "suffix"), [
    ("message", b"From: ", b"a:", b";\r\n\r\n"),               # the nested-group recursion
    ("message", b"", b"Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\n", b""),
    ("message", b"To: ", b"a@b, ", b"\r\n\r\n"),
    ("imap_command", b"a SEARCH ", b"NOT ", b"ALL\r\n"),
    ("imap_command", b"", b"a NOOP\r\n", b""),
    ("imap_response", b"* 1 FETCH (FLAGS (", b"\\Seen ", b"))\r\n"),
    ("smtp_command", b"EHLO a\r\n", b"NOOP\r\n", b""),
    ("smtp_reply", b"\x01", b"250-2.0.0 x\r\n", b"250 2.0.0 y\r\n"),
    ("sasl", b"\x02n,,n=user,r=abc", b",x=y", b""),                  # SCRAM extensions
    ("sasl", b"\x02n,,n=", b"=2C", b",r=abc"),                         # saslname escapes
    ("sasl", b"\x02n,,n=user,r=abc\nc=biws,r=NONCE", b",x=y", b",p=" + b"A" * 43 + b"="),
    ("sasl", b"\x00\x00", b"\xc3\xa9", b"\x00pw"),                       # SASLprep
    ("sequence_set", b"", b"1:*,", b"1"),
])
def test_known_deep_or_long_inputs_cost_linear_work(name: str, prefix: bytes, fragment: bytes,
                                                     suffix: bytes) -> None:
    linear_enough(TARGETS[name], prefix, fragment, suffix, times=max(1, 400 // len(fragment)))


@pytest.mark.parametrize("step", [1, 2, 3, 7])
def test_sequence_sets_of_distinct_ranges_cost_linear_work(step: int) -> None:
    """RFC 9051 §9 sequence-set arithmetic over n distinct ranges (not one repeated): the
    intervals are sorted and coalesced, the UIDs looked up, in work linear in n."""
    def distinct(n: int) -> bytes:
        return ",".join(f"{k}:{k + step - 1}" if step > 1 else str(k)
                        for k in range(1, 2 * step * n, 2 * step)).encode()
    linear_in(sequence_set, distinct, times=100, what=f"{step}-wide ranges")


MIME_BOMBS = {
    # RFC 2231 §3: sections out of order, each with a charset (§4.1)
    "parameter sections": lambda n: ("Content-Type: a/b;" + "".join(
        f"\r\n name*{k}*=utf-8''%41;" for k in reversed(range(n))) + "\r\n\r\nx").encode(),
    # RFC 2046 §5.1.1: many body parts
    "body parts": lambda n: b"Content-Type: multipart/mixed; boundary=w\r\n\r\n"
    + b"--w\r\nContent-Type: text/plain\r\n\r\nx\r\n" * n + b"--w--\r\n",
    # RFC 2046 §5.1.1: nested boundaries that are prefixes of each other
    "prefix boundaries": lambda n: b"".join(
        b"Content-Type: multipart/mixed; boundary=" + b"b" * (k + 1) + b"\r\n\r\n--"
        + b"b" * (k + 1) + b"\r\n" for k in range(min(n, 60))) + b"x\r\n" * n,
    # RFC 2047 §6.2: adjacent encoded-words
    "encoded words": lambda n: b"Subject: " + b" ".join([b"=?utf-8?q?=C3=A9?="] * n)
    + b"\r\n\r\n",
}


@pytest.mark.parametrize("bomb", sorted(MIME_BOMBS))
def test_mime_bombs_cost_linear_work(bomb: str) -> None:
    """DESIGN.md principle 8: a message built for disproportionate work (the families of
    ``messages.mime_bombs()``) costs work linear in its size."""
    linear_in(message, MIME_BOMBS[bomb], times=60, what=bomb)


def test_a_quadratic_parser_fails_the_linear_bound() -> None:
    """The property can fail: a parser that rescans its input per octet is caught."""
    def quadratic(data: bytes) -> None:
        for index in range(len(data)):
            for _ in data[:index]:
                pass

    with pytest.raises(AssertionError, match="superlinear"):
        linear_enough(quadratic, b"", b"x", b"", times=50)



@pytest.mark.parametrize("raw", [
    b"To: \x00\x80\xc2\x00\x80\xc2\r\n\r\n",
    b"From: a\x00\xe2\x82\x00\xac@b\r\n\r\n",
])
def test_the_json_form_keeps_escaped_octets_that_became_adjacent(raw: bytes) -> None:
    """DESIGN.md principle 6: what is stored beside the raw bytes is what the parse gave.
    A local part whose words were apart in the field (obs-local-part, RFC 5322 §4.4) can
    join undecodable octets into valid UTF-8. (found: the JSON form read it back as
    other text)"""
    from reference.message.model import ParsedMessage

    parsed = parse_message(raw)
    assert ParsedMessage.from_json(parsed.to_json()) == parsed
