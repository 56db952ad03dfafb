"""Issue 5, server robustness in-process: the SMTP server core (``reference.smtp``,
sans-IO) fed the hostile strategies of ``fuzz.strategies.smtp_hostile``.

Generative counterparts of the fixed cases in ``tests/smtp/`` (test_data.py,
test_starttls_core.py, test_bdat.py, test_connection.py): every near-valid command line
gets exactly one reply that the reference client parser reads (RFC 5321 §4.2); no fake
end of data ends the data or opens a second transaction (CVE-2023-51764/51765/51766);
plaintext injected behind STARTTLS is discarded (CVE-2011-0411, RFC 3207 §4.2); a BDAT
chunk is framed by its declared size alone (RFC 3030 §2); recipients past the limit get
452 (RFC 5321 §4.5.3.1.10).
"""

from __future__ import annotations

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from fuzz.strategies import smtp_hostile
from fuzz.targets import smtp_command
from reference.limits import SmtpLimits
from reference.smtp.commands import (
    Bdat,
    ConnectionClosed,
    Ehlo,
    Event,
    MailFrom,
    MessageReceived,
    MessageRejected,
    Quit,
    RcptTo,
    StartTls,
)
from reference.smtp.connection import NEED_DATA, ClientConnection, ServerConnection
from reference.smtp.data import has_bare_line_end
from reference.smtp.parser import Tolerances
from reference.smtp.replies import Reply, Status, reply
from reference.smtp.states import State
from tests.smtp.helpers import Transcript, drive, pump, server, split_at

HOSTILE = settings(max_examples=60, deadline=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
ENVELOPE = b"MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n"


def replies_in(wire: bytes) -> list[Reply]:
    """RFC 5321 §4.2: the server's octets, read by the reference client parser (strict:
    a malformed reply raises)."""
    client = ClientConnection()
    client.enhanced_status_codes = True
    client.receive_data(wire)
    out = []
    while (parsed := client.next_reply()) is not NEED_DATA:
        assert isinstance(parsed, Reply)
        out.append(parsed)
    return out


def lines_of(data: bytes) -> list[bytes]:
    """CRLF-terminated lines (RFC 5321 §2.3.8: only CRLF ends a line)."""
    return [line + b"\r\n" for line in data.split(b"\r\n")[:-1]]


# --- near-valid command lines and floods: one reply each ----------------------------------


@HOSTILE
@given(st.lists(st.one_of(smtp_hostile.near_valid_command_lines(utf8=True),
                          smtp_hostile.broken_auth_lines()), min_size=1, max_size=6)
       .map(b"".join) | smtp_hostile.pipelining_floods(max_commands=120))
def test_every_hostile_command_line_gets_exactly_one_reply(data: bytes) -> None:
    """RFC 5321 §4.2 "every command MUST generate exactly one reply"; RFC 2920 §3.1: none
    is lost in a pipelined batch. Fed one line at a time, each line (command or SASL
    response, RFC 4954 §4) gets one reply the client parser reads, until the server
    closes (221, or 421 after too many errors, RFC 5321 §3.8); fed at once, the same
    bytes come back."""
    conn = server()
    transcript = Transcript()
    for line in lines_of(data):
        before = len(transcript.wire)
        conn.receive_data(line)
        pump(conn, transcript)
        answered = replies_in(transcript.wire[before:])
        if conn.state is State.CLOSED:
            assert 1 <= len(answered) <= 2 and answered[-1].code in (221, 421)
            break
        assert len(answered) == 1, (line, answered)
    whole = drive(server(), data)
    assert whole.wire.startswith(transcript.wire)


def first_answer(setup: bytes, line: bytes) -> tuple[object, State]:
    conn = server()
    if setup:
        drive(conn, setup)
    events = drive(conn, line).events
    return events[0], conn.state


@HOSTILE
@given(smtp_hostile.bad_parameter_lines())
def test_broken_esmtp_parameters_are_refused(line: bytes) -> None:
    """RFC 5321 §4.1.1.11: "If the server SMTP does not recognize or cannot implement one
    or more of the parameters associated with a particular MAIL FROM or RCPT TO command,
    it will return code 555"; a malformed one is a 501 (§4.3.2), a SIZE over the limit a
    552 (RFC 1870 §6). Never accepted."""
    setup = b"MAIL FROM:<a@b.example>\r\n" if line.startswith(b"RCPT") else b""
    answer, _ = first_answer(setup, line)
    assert isinstance(answer, Reply) and answer.code in (500, 501, 552, 555), answer


@HOSTILE
@given(smtp_hostile.control_octet_lines(utf8=True) | smtp_hostile.invalid_utf8_lines())
def test_controls_and_ill_formed_utf8_in_a_command_are_refused(line: bytes) -> None:
    """RFC 5321 §2.3.8 MUST NOT: bare CR or LF is no line end, so the line is refused
    whole; NUL and other controls are no command text; RFC 6531 §3.3 UTF8-non-ascii is
    well-formed UTF-8 (RFC 3629 §4), and without SMTPUTF8 no octet above 127 belongs in
    a command. Every such line gets a 5xx, never an event."""
    answer, _ = first_answer(b"MAIL FROM:<a@b.example>\r\n" if b"RCPT" in line[:6] else b"",
                             line)
    assert isinstance(answer, Reply) and answer.code // 100 == 5, answer


@HOSTILE
@given(smtp_hostile.broken_auth_responses())
def test_a_broken_sasl_response_ends_the_exchange_with_501(line: bytes) -> None:
    """RFC 4954 §4 MUST: "If the server cannot [BASE64] decode any client response, it
    MUST reject the AUTH command with a 501 reply (and an enhanced status code of
    5.5.2)"; a line past the AUTH limit gets 500 5.5.6. The exchange is over."""
    answer, state = first_answer(b"AUTH PLAIN\r\n", line)
    assert isinstance(answer, Reply) and answer.code in (500, 501), answer
    assert state is State.READY


@HOSTILE
@given(smtp_hostile.hostile_command_bytes())
def test_hostile_sessions_get_replies_the_client_parser_reads(data: bytes) -> None:
    """The in-process fuzz target (``fuzz.targets.smtp_command``) on every family at
    once: events or refusals with replies, never another exception or a reply the
    reference ClientConnection cannot read."""
    smtp_command(b"EHLO c.example\r\n" + data)


@HOSTILE
@given(smtp_hostile.hostile_command_bytes(), st.lists(st.integers(0, 5_000), max_size=6))
def test_hostile_sessions_give_the_same_replies_however_they_are_cut(
        data: bytes, cuts: list[int]) -> None:
    """RFC 5321 §2.3.7: lines (and mail data, BDAT chunks) are framed by their octets,
    not by the reads that carry them. (Inputs with STARTTLS are left out: octets after
    the handshake are TLS data, so where the cut falls changes what was plaintext.)"""
    assume(data and b"STARTTLS" not in data.upper())
    whole = drive(server(), data)
    cut = drive(server(), split_at(data, cuts))
    assert cut.events == whole.events
    assert cut.wire == whole.wire


# --- SMTP smuggling: one message, whatever fake end it carries ------------------------------


def data_events(wire: bytes, cuts: list[int],
                tolerances: Tolerances | None) -> list[Event | Reply]:
    conn = server(tolerances=tolerances)
    drive(conn, ENVELOPE + b"DATA\r\n")
    assert conn.state is State.DATA
    return drive(conn, [*split_at(wire, cuts), b"QUIT\r\n"]).events


@HOSTILE
@given(smtp_hostile.smuggling_data(), st.lists(st.integers(0, 2_000), max_size=3),
       st.booleans())
def test_no_fake_end_of_data_ends_the_data_or_opens_a_second_transaction(
        wire: bytes, cuts: list[int], tolerant: bool) -> None:
    """RFC 5321 §4.1.1.4: the data ends with <CRLF>.<CRLF> only, so the fake end and the
    spoofed transaction behind it are one message: exactly one message event, no MAIL or
    RCPT, then the QUIT that follows. Strict (§2.3.8 MUST NOT bare CR/LF), a message with
    a bare CR or LF is refused with 554 5.6.0; with the named tolerance it is kept whole,
    the smuggled MAIL inside it. However the bytes are cut."""
    tolerances = Tolerances(accept_bare_line_ends_in_data=True) if tolerant else None
    events = data_events(wire, cuts, tolerances)
    assert len(events) == 2 and events[1] == Quit(), events
    [message] = events[:1]
    assert not any(isinstance(e, (MailFrom, RcptTo)) for e in events)
    if has_bare_line_end(wire) and not tolerant:
        assert isinstance(message, MessageRejected)
        assert (message.reply.code, message.reply.status) == (554, Status.MEDIA_OTHER)
    elif isinstance(message, MessageReceived):
        assert b"MAIL FROM:<" in message.content.replace(b"\r\n..", b"\r\n.")
    else:                                 # the only other refusal: a line over 1000
        assert isinstance(message, MessageRejected) and message.reply.code == 554


# --- STARTTLS injection: plaintext behind the command is discarded ----------------------------

READY_TO_START = reply(220, Status.UNDEFINED, "Ready to start TLS")


@HOSTILE
@given(smtp_hostile.starttls_injections())
def test_plaintext_injected_behind_starttls_is_never_read(
        injection: smtp_hostile.StarttlsInjection) -> None:
    """RFC 3207 §4.2 MUST: the server "MUST discard any knowledge obtained from the
    client ... which was not obtained from the TLS negotiation itself" (CVE-2011-0411).
    Wherever the injected octets arrive (same segment, before the 220, before the
    handshake), none becomes an event, and the session starts over on TLS with EHLO."""
    conn = server()
    conn.receive_data(injection.wire if injection.when == "same-segment"
                      else injection.command)
    assert conn.next_event() == StartTls()
    if injection.when == "before-reply":
        conn.receive_data(injection.injected)
    conn.send(READY_TO_START)
    if injection.when == "before-handshake":
        conn.receive_data(injection.injected)
    assert conn.next_event() is NEED_DATA
    conn.tls_established()
    assert conn.discarded_plaintext == len(injection.injected)
    assert conn.next_event() is NEED_DATA
    assert drive(conn, b"EHLO c.example\r\n").events == [Ehlo("c.example")]


@HOSTILE
@given(smtp_hostile.starttls_response_injections(), st.integers(0, 200))
def test_replies_injected_behind_the_220_are_never_read_over_tls(
        injection: smtp_hostile.StarttlsResponseInjection, cut: int) -> None:
    """RFC 3207 §4.2 MUST: "The client MUST discard any knowledge obtained from the server
    ... which was not obtained from the TLS negotiation itself" (the response injection
    of the 2021 NO STARTTLS study). However the 220 and what follows it arrive, the client
    core drops what was not read at the handshake; the first reply over TLS is the
    server's own."""
    client = ClientConnection()
    client.enhanced_status_codes = True
    wire = injection.wire
    at = len(injection.ready) + cut % (len(injection.injected) + 1)
    client.receive_data(wire[:at])
    ready = client.next_reply()
    assert isinstance(ready, Reply) and ready.code == 220
    if wire[at:]:                         # (b"" would be the end of the connection)
        client.receive_data(wire[at:])
    assert client.tls_established() == len(injection.injected)
    assert client.next_reply() is NEED_DATA
    client.receive_data(b"250 2.0.0 over TLS\r\n")
    assert client.next_reply() == Reply(250, None, ("2.0.0 over TLS",))


# --- BDAT: the declared size frames the chunk -----------------------------------------------


def after_rcpt() -> ServerConnection:
    # no error budget: a refused message (a 5xx) must not move the 421 (RFC 5321 §3.8)
    conn = server(limits=SmtpLimits(errors=1_000_000))
    drive(conn, ENVELOPE)
    assert conn.state is State.RCPT
    return conn


@HOSTILE
@given(smtp_hostile.bdat_chunk_lies())
def test_a_bdat_chunk_is_exactly_its_declared_size(lie: smtp_hostile.BdatChunkLie) -> None:
    """RFC 3030 §2: "The BDAT verb takes two arguments. The first argument indicates the
    length, in octets, of the binary data chunk"; the chunk is never parsed. Whatever the
    chunk looks like (command lines, ".") the server takes exactly ``declared`` octets,
    and what follows them reads exactly as it would after a chunk of plain "x"s."""
    sent = lie.sent + lie.after
    events = drive(after_rcpt(), [lie.wire, b""]).events
    if lie.declared > len(sent):
        assert events == [ConnectionClosed()]          # still inside the chunk at EOF
        return
    chunk, rest = sent[:lie.declared], sent[lie.declared:]
    first = events[0]
    if isinstance(first, Bdat):
        assert not lie.last and first.chunk == chunk
    elif isinstance(first, MessageReceived):
        assert lie.last and first.content == chunk
    else:
        assert lie.last and isinstance(first, MessageRejected), first
    plain = lie.command + b"x" * lie.declared + rest
    control = drive(after_rcpt(), [plain, b""]).events
    # a later BDAT LAST ends a message that holds this chunk too: its content (and
    # verdict) differs, its place in the sequence does not
    assert [framing(e) for e in events[1:]] == [framing(e) for e in control[1:]]


def framing(event: Event | Reply) -> object:
    return "message" if isinstance(event, (MessageReceived, MessageRejected)) else event


# --- many recipients ------------------------------------------------------------------------


@settings(HOSTILE, max_examples=10)
@given(smtp_hostile.huge_rcpt_counts(max_recipients=300))
def test_recipients_past_the_limit_get_452_and_the_accepted_ones_stay(data: bytes) -> None:
    """RFC 5321 §4.5.3.1.8: a server MUST buffer at least 100 recipients; §4.5.3.1.10:
    past its limit it "MUST use a response code of 452", and the transaction goes on
    with those accepted (DATA is still answered 354)."""
    limits = SmtpLimits(recipients=100)
    transcript = drive(server(limits=limits), data)
    codes = [r.code for r in replies_in(transcript.wire)]
    count = data.count(b"RCPT TO:")
    assert codes[0] == 250
    assert codes[1:1 + count] == [250] * limits.recipients + [452] * (count - limits.recipients)
    if b"DATA\r\n" in data:
        assert codes[1 + count:] == [354, 250]


def test_the_published_smuggling_variants_are_all_fake_ends() -> None:
    """None of ``SMUGGLING_ENDINGS`` forms <CRLF>.<CRLF> after a line (RFC 5321
    §4.1.1.4), so each is a fake end a conforming server reads as text."""
    assert all(b"\r\n.\r\n" not in b"\r\n" + ending
               for ending in smtp_hostile.SMUGGLING_ENDINGS)
