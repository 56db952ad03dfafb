"""Round trips over the strategies of fuzz/strategies/smtp.py: parse(write(x)) == x for
commands and replies, and client and server cores back to back (h11's ConnectionPair)."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from fuzz.strategies import smtp
from reference.errors import LocalProtocolError
from reference.limits import SmtpLimits
from reference.smtp.commands import (
    Auth,
    Bdat,
    Command,
    Data,
    Ehlo,
    Expn,
    Helo,
    Help,
    Mailbox,
    MailFrom,
    MessageReceived,
    Noop,
    RcptTo,
    StartTls,
    Vrfy,
)
from reference.smtp.connection import NEED_DATA, ClientConnection
from reference.smtp.extensions import Advertised, Extension
from reference.smtp.parser import (
    ParseContext,
    Tolerances,
    assemble_reply,
    parse_command,
    parse_reply_line,
)
from reference.smtp.replies import Reply
from reference.smtp.serializer import write_command, write_reply
from reference.smtp.states import State

from .helpers import answer, drive, server, split_at

EVERYTHING = ParseContext(Advertised(frozenset(Extension)), SmtpLimits(), Tolerances(),
                          transaction_smtputf8=True)


@given(smtp.commands(utf8=True))
@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
def test_every_command_survives_write_then_parse(command: Command) -> None:
    """RFC 5321 §4.1.1 and the extensions: the serializer writes what the parser reads
    (mox FuzzParseRecord); BDAT's chunk follows its line, so the line parses to an empty
    chunk."""
    wire = write_command(command)
    line, _, rest = wire.partition(b"\r\n")
    parsed = parse_command(line, EVERYTHING)
    if isinstance(command, Bdat):
        assert rest == command.chunk
        command = dataclasses.replace(command, chunk=b"")
    else:
        assert rest == b""
    assert parsed == command


@given(smtp.commands(utf8=True).filter(lambda c: not isinstance(c, Data)))
@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
def test_every_written_command_fits_the_advertised_line_limit(command: Command) -> None:
    """RFC 5321 §4.5.3.1.4 (512 octets, raised by the extensions' parameters): what the
    strategies draw is within the limits, so the server core reads it as the same event."""
    conn = server()
    wire = write_command(command)
    limit = conn.advertised.command_line_limit(conn.limits.command_line)
    assert len(wire.partition(b"\r\n")[0]) + 2 <= limit
    first = drive(conn, wire).events[0]
    # The order table may refuse it (RCPT or BDAT before MAIL, RFC 5321 §4.1.4); the
    # syntax never does.
    if isinstance(command, Bdat):
        assert isinstance(first, Reply) and first.code == 503
    else:
        assert first == command or (isinstance(first, Reply) and first.code == 503)


@given(smtp.replies(utf8=True))
@settings(max_examples=500)
def test_every_reply_survives_write_then_parse(reply: Reply) -> None:
    """RFC 5321 §4.2.1 multi-line replies; RFC 2034 §4 status on every line."""
    wire = write_reply(reply, enhanced=True)
    lines = [parse_reply_line(line) for line in wire.split(b"\r\n")[:-1]]
    assert wire.endswith(b"\r\n") and len(lines) == len(reply.lines)
    assert [line.last for line in lines] == [False] * (len(lines) - 1) + [True]
    assert assemble_reply(lines, enhanced=True) == reply


@given(smtp.replies(enhanced=False, utf8=True))
@settings(max_examples=200)
def test_every_reply_without_enhanced_codes_survives_write_then_parse(reply: Reply) -> None:
    """RFC 5321 §4.2.1: Reply-line without RFC 2034 status codes."""
    wire = write_reply(reply, enhanced=False)
    lines = [parse_reply_line(line) for line in wire.split(b"\r\n")[:-1]]
    assert assemble_reply(lines, enhanced=False) == reply


@given(smtp.mail_data(), st.lists(st.integers(0, 100_000), max_size=5))
@settings(max_examples=300)
def test_client_dot_stuffing_and_server_unstuffing_are_inverse(content: bytes,
                                                               cuts: list[int]) -> None:
    """RFC 5321 §4.5.2: the client inserts a period before a line that begins with one,
    the server deletes it; the message arrives exactly as sent, in any chunking."""
    conn = server()
    drive(conn, b"MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n")
    wire = ClientConnection.send_data(content)
    assert drive(conn, split_at(wire, cuts)).events == [MessageReceived(content)]


@given(st.lists(smtp.commands().filter(lambda c: not isinstance(c, Bdat | Data | StartTls)),
                max_size=10))
@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
def test_the_client_core_reads_every_reply_the_server_core_writes(
        commands: list[Command]) -> None:
    """RFC 5321 §4.2 both ways (h11's ConnectionPair): each server reply, parsed by the
    client core that learnt ENHANCEDSTATUSCODES from EHLO (RFC 2034 §3), is the reply the
    session gave."""
    conn = server(ehlo=False)
    client = ClientConnection()
    ehlo_wire = drive(conn, b"EHLO c.example\r\n").wire
    client.receive_data(ehlo_wire)
    ehlo = client.next_reply()
    assert isinstance(ehlo, Reply)
    client.learn_ehlo(ehlo)
    for command in commands:
        transcript = drive(conn, client.send(command))
        client.receive_data(transcript.wire)
        for event in transcript.events:
            expected = event if isinstance(event, Reply) else answer(event)
            if expected is None:
                continue
            got = client.next_reply()
            assert got == expected
        assert client.next_reply() is NEED_DATA
        if conn.state is State.CLOSED:
            break


# --- the strategies themselves ---------------------------------------------------------------


@pytest.mark.parametrize(("factory", "kwargs"), [
    (smtp.domains, {"max_length": 0}), (smtp.domains, {"utf8": "yes"}),
    (smtp.local_parts, {"max_length": 2}), (smtp.quoted_strings, {"max_length": 1}),
    (smtp.mailboxes, {"utf8": 1}), (smtp.mail_froms, {"max_size": -1}),
    (smtp.bdats, {"max_chunk": 1.5}), (smtp.replies, {"max_lines": 0}),
    (smtp.mail_data, {"max_line_length": 1}), (smtp.atoms, {"max_length": True}),
    (smtp.textstrings, {"max_length": 3}), (smtp.size_values, {"max_size": 10**20}),
])
def test_strategies_refuse_bad_keyword_arguments_when_built(factory: object,
                                                             kwargs: dict[str, object]) -> None:
    """Hypothesis style guide: validate arguments eagerly (STYLE.md §E)."""
    with pytest.raises(InvalidArgument):
        factory(**kwargs)  # type: ignore[operator]


@given(smtp.mailboxes(utf8=True))
@settings(max_examples=200)
def test_generated_mailboxes_respect_the_rfc_5321_limits(mailbox: object) -> None:
    """RFC 5321 §4.5.3.1.1-3: local part ≤ 64 octets, domain ≤ 255, path ≤ 256 (as the
    client writes them, with the minimum quoting)."""
    from reference.smtp.grammar import write_local_part, write_path
    assert len(write_local_part(mailbox.local_part).encode()) <= 64  # type: ignore[attr-defined]
    assert len(mailbox.domain.encode()) <= 255  # type: ignore[attr-defined]
    assert len(write_path(mailbox).encode()) <= 256  # type: ignore[arg-type]


@pytest.mark.parametrize("command", [
    Ehlo("x.example\r\nRSET"), Helo("x\n"), Noop("a\r\nQUIT"), Vrfy("a\rb"),
    MailFrom(Mailbox("a\n", "example.com")), RcptTo(Mailbox("a", "example.com\r\nDATA")),
    Auth("PLAIN\r\nQUIT"), Help("x\x00y"), Expn("\n"),
])
def test_a_command_value_with_a_line_break_is_not_written(command: Command) -> None:
    """RFC 5321 §2.3.8 / §4.1.1: a command is one CRLF-terminated line; a CR or LF in a
    value would write a second command (injection through the client core). (found:
    write_command wrote them, and write_local_part left "a\\n" unquoted)"""
    with pytest.raises(LocalProtocolError):
        write_command(command)
