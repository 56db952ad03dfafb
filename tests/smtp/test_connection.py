"""ServerConnection as byte-exact tables: bytes in → events, replies → bytes out.

Order of commands (RFC 5321 §4.1.4), enhanced status codes (RFC 2034), multi-line replies
(§4.2.1), PIPELINING (RFC 2920), limits, EOF, the AUTH exchange framing (RFC 4954 §4),
and totality: any bytes give events or a RemoteProtocolError carrying a valid reply.
"""

from __future__ import annotations

import base64
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz.strategies import smtp
from reference.errors import LocalProtocolError, RemoteProtocolError
from reference.limits import SmtpLimits
from reference.smtp.commands import (
    Auth,
    AuthResponse,
    Command,
    ConnectionClosed,
    Data,
    DsnNotify,
    Ehlo,
    Event,
    Expn,
    Helo,
    Help,
    Mailbox,
    MailFrom,
    MessageReceived,
    Noop,
    Quit,
    RcptTo,
    Rset,
    StartTls,
    Vrfy,
)
from reference.smtp.connection import NEED_DATA, ClientConnection, ServerConnection
from reference.smtp.replies import Reply, Status, reply
from reference.smtp.serializer import write_command
from reference.smtp.states import State

from .helpers import (
    ALL_KEYWORDS,
    GREETING,
    OK,
    Transcript,
    answer,
    drive,
    ehlo_reply,
    pump,
    server,
    split_at,
    tr,
)

A = Mailbox("a", "example.com")
B = Mailbox("b", "example.com")


def refused(conn: ServerConnection, line: bytes) -> Reply:
    """Feed one line that the core must refuse; return the reply it asks for."""
    conn.receive_data(line)
    with pytest.raises(RemoteProtocolError) as info:
        conn.next_event()
    assert isinstance(info.value.reply, Reply)
    return info.value.reply


# --- greeting (RFC 5321 §3.1, §4.3.1) ------------------------------------------------------


def test_the_220_greeting_is_written_without_an_enhanced_code() -> None:
    """RFC 2034 §3 (4): status codes on all 2xx/4xx/5xx "other than the initial
    greeting"; RFC 5321 §4.3.1 "220 <domain> Service ready"."""
    conn = ServerConnection()
    assert conn.send(reply(220, Status.UNDEFINED, "mx.example ESMTP")) == (
        b"220 mx.example ESMTP\r\n")
    assert conn.state is State.GREETED


def test_commands_sent_before_the_greeting_wait_for_it() -> None:
    """RFC 5321 §3.1: the client waits for the greeting; the core reads nothing before."""
    conn = ServerConnection()
    conn.receive_data(b"EHLO x\r\n")
    assert conn.next_event() is NEED_DATA
    conn.send(GREETING)
    assert conn.next_event() == Ehlo("x")


@pytest.mark.parametrize("code", [250, 221, 354, 500])
def test_a_greeting_other_than_220_421_554_is_a_local_error(code: int) -> None:
    """RFC 5321 §4.3.2: CONNECTION ESTABLISHMENT S: 220 E: 554 (and §3.8 421)."""
    status = None if code == 354 else Status.UNDEFINED
    with pytest.raises(LocalProtocolError):
        ServerConnection().send(reply(code, status, "x"))


def test_after_a_554_greeting_only_quit_is_served() -> None:
    """RFC 5321 §3.1 MUST: after a 554 greeting "A server taking this approach MUST still
    wait for the client to send a QUIT (see Section 4.1.1.10) before closing the
    connection and SHOULD respond to any intervening commands with "503 bad sequence of
    commands"."."""
    conn = ServerConnection()
    assert conn.send(reply(554, None, "No SMTP service here")) == b"554 No SMTP service here\r\n"
    assert conn.state is State.REFUSED
    assert refused(conn, b"EHLO x\r\n") == reply(503, Status.INVALID_COMMAND,
                                                 "No SMTP service here; send QUIT")
    conn.send(reply(503, Status.INVALID_COMMAND, "No SMTP service here; send QUIT"))
    conn.receive_data(b"QUIT\r\n")
    assert conn.next_event() == Quit()
    conn.send(reply(221, Status.UNDEFINED, "Bye"))
    assert conn.state is State.CLOSED


def test_a_421_greeting_closes() -> None:
    """RFC 5321 §3.8: 421 "Service not available, closing transmission channel"."""
    conn = ServerConnection()
    conn.send(reply(421, None, "mx.example busy"))
    assert conn.state is State.CLOSED


# --- EHLO and the advertised extensions (RFC 5321 §4.1.1.1) --------------------------------


def test_the_ehlo_reply_is_multiline_without_enhanced_codes() -> None:
    """RFC 5321 §4.1.1.1: ehlo-ok-rsp = ( "250" SP Domain [ SP ehlo-greet ] CRLF ) /
    ( "250-" Domain [ SP ehlo-greet ] CRLF *( "250-" ehlo-line CRLF ) "250" SP ehlo-line
    CRLF ); RFC 2034 §3 (4): no status on "any response to HELO or EHLO"."""
    conn = server(ehlo=False)
    conn.receive_data(b"EHLO client.example\r\n")
    assert conn.next_event() == Ehlo("client.example")
    wire = conn.send(ehlo_reply("SIZE 1000000", "PIPELINING", "ENHANCEDSTATUSCODES"))
    assert wire == (b"250-mx.example greets you\r\n250-SIZE 1000000\r\n250-PIPELINING\r\n"
                    b"250 ENHANCEDSTATUSCODES\r\n")
    assert conn.state is State.READY


def test_the_advertised_extensions_decide_which_parameters_parse() -> None:
    """RFC 5321 §4.1.1.11: 555 for a parameter of an extension not announced; RFC 1870 §6:
    552 above the announced SIZE."""
    conn = server("8BITMIME", "SIZE 1000")
    assert refused(conn, b"MAIL FROM:<a@example.com> RET=FULL\r\n").code == 555
    conn.send(reply(555, Status.INVALID_ARGUMENTS, "no"))
    too_big = refused(conn, b"MAIL FROM:<a@example.com> SIZE=1001\r\n")
    assert (too_big.code, too_big.status) == (552, Status.MESSAGE_TOO_BIG)
    conn.send(too_big)
    conn.receive_data(b"MAIL FROM:<a@example.com> SIZE=1000 BODY=8BITMIME\r\n")
    assert isinstance(conn.next_event(), MailFrom)


def test_after_helo_no_extension_is_in_effect() -> None:
    """RFC 5321 §4.1.1.1: HELO opens a session without extensions; a later EHLO that
    listed some is forgotten."""
    conn = server()
    conn.receive_data(b"HELO client.example\r\n")
    assert conn.next_event() == Helo("client.example")
    assert conn.send(reply(250, None, "mx.example")) == b"250 mx.example\r\n"
    assert refused(conn, b"MAIL FROM:<a@example.com> BODY=8BITMIME\r\n").code == 555


def test_a_refused_ehlo_leaves_the_state_unchanged() -> None:
    """RFC 5321 §4.1.4 MUST: "If the EHLO command is not acceptable to the SMTP server,
    501, 500, 502, or 550 failure replies MUST be returned as appropriate. The SMTP
    server MUST stay in the same state after transmitting these replies"."""
    conn = server(ehlo=False)
    conn.receive_data(b"EHLO client.example\r\n")
    conn.next_event()
    conn.send(reply(550, None, "Not you"))
    assert conn.state is State.GREETED
    assert refused(conn, b"MAIL FROM:<a@example.com>\r\n").code == 503


def test_ehlo_in_a_transaction_resets_it() -> None:
    """RFC 5321 §4.1.4 MUST: "If it is issued after the session begins and the EHLO
    command is acceptable to the SMTP server, the SMTP server MUST clear all buffers and
    reset the state exactly as if a RSET command had been issued"."""
    events = drive(server(), b"MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\n"
                   b"EHLO again.example\r\nMAIL FROM:<a@example.com>\r\nDATA\r\n").events
    assert events == [MailFrom(A), RcptTo(B), Ehlo("again.example"), MailFrom(A),
                      reply(503, Status.INVALID_COMMAND, "Need RCPT before DATA")]


# --- order of commands (RFC 5321 §4.1.4) ---------------------------------------------------

IN_GREETED = b"NOOP\r\n"
IN_READY = b"EHLO c.example\r\n"
IN_MAIL = IN_READY + b"MAIL FROM:<a@example.com>\r\n"
IN_RCPT = IN_MAIL + b"RCPT TO:<b@example.com>\r\n"
IN_CHUNKING = IN_RCPT + b"BDAT 1\r\nx"


@pytest.mark.parametrize(("before", "line", "hint"), [
    (IN_GREETED, b"MAIL FROM:<a@example.com>", "Send EHLO or HELO first"),
    (IN_GREETED, b"RCPT TO:<a@example.com>", "Need MAIL before RCPT"),
    (IN_GREETED, b"DATA", "Need MAIL before DATA"),
    (IN_GREETED, b"STARTTLS", "Send EHLO first"),
    (IN_GREETED, b"AUTH PLAIN", "Send EHLO first"),
    (IN_READY, b"RCPT TO:<a@example.com>", "Need MAIL before RCPT"),
    (IN_READY, b"DATA", "Need MAIL before DATA"),
    (IN_MAIL, b"MAIL FROM:<a@example.com>", "Nested MAIL command"),
    (IN_MAIL, b"DATA", "Need RCPT before DATA"),
    (IN_MAIL, b"AUTH PLAIN", "AUTH is not permitted during a mail transaction (RFC 4954 §4)"),
    (IN_MAIL, b"STARTTLS", "STARTTLS is not permitted during a mail transaction"),
    (IN_RCPT, b"MAIL FROM:<a@example.com>", "Nested MAIL command"),
    (IN_RCPT, b"AUTH PLAIN", "AUTH is not permitted during a mail transaction (RFC 4954 §4)"),
    (IN_RCPT, b"STARTTLS", "STARTTLS is not permitted during a mail transaction"),
    (IN_CHUNKING, b"MAIL FROM:<a@example.com>", "Nested MAIL command"),
    (IN_CHUNKING, b"RCPT TO:<a@example.com>", "RCPT cannot follow BDAT in a transaction "
                                              "(RFC 3030 §2)"),
    (IN_CHUNKING, b"DATA", "DATA cannot follow BDAT in a transaction (RFC 3030 §2)"),
    (IN_CHUNKING, b"AUTH PLAIN", "Bad sequence of commands"),
    (IN_CHUNKING, b"STARTTLS", "Bad sequence of commands"),
])
def test_a_command_out_of_order_gets_503_with_a_hint(before: bytes, line: bytes,
                                                     hint: str) -> None:
    """RFC 5321 §4.1.4 MUST: "If the commands in a transaction are out of order to
    the degree that they cannot be processed by the server, a 503 failure reply MUST be
    returned"; "A session that will contain mail
    transactions MUST first be initialized by the use of the EHLO command"; §3.3 MUST: "If
    a RCPT command appears without a previous MAIL command, the server MUST return a 503";
    RFC 4954 §4 MUST: AUTH during a transaction "MUST be rejected with a 503"; RFC 3030 §2
    MUST: DATA after BDAT gets 503."""
    conn = server(ehlo=False)
    drive(conn, before)
    expected = reply(503, Status.INVALID_COMMAND, hint)
    assert refused(conn, line + b"\r\n") == expected
    assert conn.send(expected) == f"503 5.5.1 {hint}\r\n".encode()


@pytest.mark.parametrize(("before", "line", "hint"), [
    (IN_GREETED, b"MAIL FROM:<no-bracket", "Send EHLO or HELO first"),
    (IN_READY, "RCPT TO:<用户@例子.广告>".encode(), "Need MAIL before RCPT"),
    (IN_READY, b"RCPT TO:<a@example.com> NOTIFY=SOMETIMES", "Need MAIL before RCPT"),
    (IN_READY, b"DATA now", "Need MAIL before DATA"),
    (IN_MAIL, b"MAIL FROM:<a@example.com> SIZE=x", "Nested MAIL command"),
    (IN_RCPT, b"AUTH !", "AUTH is not permitted during a mail transaction (RFC 4954 §4)"),
])
def test_a_command_out_of_order_gets_503_whatever_its_arguments(before: bytes, line: bytes,
                                                                hint: str) -> None:
    """RFC 5321 §4.1.4 MUST: "If the commands in a transaction are out of order to
    the degree that they cannot be processed by the server, a 503 failure reply MUST be
    returned"; the 553 of RFC 6531 §3.5 judges a RCPT
    against its MAIL, which is missing.
    (found: a UTF-8 RCPT before MAIL got 553, a malformed one 501)"""
    conn = server(ehlo=False)
    drive(conn, before)
    assert refused(conn, line + b"\r\n") == reply(503, Status.INVALID_COMMAND, hint)


def test_a_verb_that_only_begins_with_bdat_is_an_unknown_command() -> None:
    """RFC 5321 §4.2.4: 500 for an unrecognized command; only a real (malformed) BDAT makes
    the framing unknowable. (found: "BDATX" closed the connection like a bad BDAT)"""
    conn = server()
    assert drive(conn, b"BDATX 5\r\nNOOP\r\n").events == [
        reply(500, Status.INVALID_COMMAND, "Command unrecognized"), Noop()]
    assert conn.state is State.READY


@pytest.mark.parametrize("before", [IN_GREETED, IN_READY, IN_MAIL, IN_RCPT, IN_CHUNKING])
@pytest.mark.parametrize(("line", "event"), [
    (b"NOOP", Noop()), (b"HELP", Help()), (b"VRFY a", Vrfy("a")), (b"EXPN a", Expn("a")),
    (b"RSET", Rset()), (b"QUIT", Quit()), (b"EHLO x", Ehlo("x")), (b"HELO x", Helo("x")),
])
def test_commands_allowed_at_any_time_are_accepted_in_every_state(
        before: bytes, line: bytes, event: Command) -> None:
    """RFC 5321 §4.1.4: "The NOOP, HELP, EXPN, VRFY, and RSET commands can be used at any
    time during a session"; EHLO/HELO may be repeated (§4.1.4) and QUIT is always
    answered (§4.1.1.10)."""
    conn = server(ehlo=False)
    drive(conn, before)
    conn.receive_data(line + b"\r\n")
    assert conn.next_event() == event


@pytest.mark.parametrize(("before", "after"), [
    (IN_GREETED, State.GREETED), (IN_READY, State.READY), (IN_MAIL, State.READY),
    (IN_RCPT, State.READY), (IN_CHUNKING, State.READY),
])
def test_rset_ends_any_transaction_and_nothing_else(before: bytes, after: State) -> None:
    """RFC 5321 §4.1.1.5: RSET "specifies that the current mail transaction will be
    aborted"; it does not undo EHLO (§4.1.4: "RSET ... is effectively equivalent to a
    NOOP" outside a transaction)."""
    conn = server(ehlo=False)
    drive(conn, before + b"RSET\r\n")
    assert conn.state is after


def test_mail_rcpt_data_move_through_the_transaction_states() -> None:
    """RFC 5321 §3.3: MAIL, then one or more RCPT, then DATA; the state changes only on
    the replies the core sees (a refused RCPT does not count)."""
    conn = server()
    states = []
    unknown = reply(550, Status.BAD_DESTINATION_MAILBOX, "no")
    for line, response in [(b"MAIL FROM:<a@example.com>\r\n", OK),
                           (b"RCPT TO:<x@example.com>\r\n", unknown),
                           (b"RCPT TO:<b@example.com>\r\n", OK),
                           (b"DATA\r\n", reply(354, None, "go"))]:
        conn.receive_data(line)
        conn.next_event()
        conn.send(response)
        states.append(conn.state)
    assert states == [State.MAIL, State.MAIL, State.RCPT, State.DATA]


# --- replies: enhanced codes, multi-line, what may answer what ------------------------------


def test_every_2xx_4xx_5xx_reply_after_ehlo_carries_the_enhanced_code() -> None:
    """RFC 2034 §4: "These codes must appear in all 2xx, 4xx, and 5xx response lines other
    than initial greeting and any response to HELO or EHLO"."""
    wire = drive(server(), b"MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\n"
                 b"NOOP\r\nFOO\r\nVRFY a\r\nHELP\r\nRSET\r\nQUIT\r\n").wire
    lines = wire.split(b"\r\n")[:-1]
    assert lines == [b"250 2.0.0 OK", b"250 2.0.0 OK", b"250 2.0.0 OK",
                     b"500 5.5.1 Command unrecognized",
                     b"252 2.0.0 Cannot VRFY user, but will accept message",
                     b"214 2.0.0 See RFC 5321", b"250 2.0.0 OK", b"221 2.0.0 Bye"]


def test_a_reply_without_its_enhanced_code_is_a_local_error() -> None:
    """RFC 2034 §4: the code "must appear"; forgetting it is our bug (LocalProtocolError)."""
    conn = server()
    conn.receive_data(b"NOOP\r\n")
    conn.next_event()
    with pytest.raises(LocalProtocolError):
        conn.send(reply(250, None, "OK"))
    assert conn.send(OK) == b"250 2.0.0 OK\r\n"


def test_a_3xx_reply_with_an_enhanced_code_is_a_local_error() -> None:
    """RFC 2034 §4: "Note that 3xx responses are NOT included in this list"."""
    conn = server()
    drive(conn, b"MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\n")
    conn.receive_data(b"DATA\r\n")
    conn.next_event()
    with pytest.raises(LocalProtocolError):
        conn.send(reply(354, Status.UNDEFINED, "go"))


def test_a_multiline_reply_repeats_code_and_status_on_each_line() -> None:
    """RFC 5321 §4.2.1: "every line, except the last, begin with the reply code, followed
    immediately by a hyphen"; "The last line will begin with the reply code, followed
    immediately by <SP>"; RFC 2034 §4: "the same status code must appear at the beginning
    of the text in each line"."""
    conn = server()
    conn.receive_data(b"HELP\r\n")
    conn.next_event()
    assert conn.send(Reply(214, Status.UNDEFINED, ("Commands:", "EHLO MAIL", "End"))) == (
        b"214-2.0.0 Commands:\r\n214-2.0.0 EHLO MAIL\r\n214 2.0.0 End\r\n")


@pytest.mark.parametrize(("line", "response"), [
    (b"NOOP", reply(354, None, "go")), (b"NOOP", reply(221, Status.UNDEFINED, "bye")),
    (b"NOOP", reply(235, Status.SECURITY_OTHER, "ok")), (b"NOOP", reply(334, None, "")),
    (b"NOOP", reply(220, Status.UNDEFINED, "go ahead")),
])
def test_replies_reserved_for_other_commands_are_local_errors(line: bytes,
                                                              response: Reply) -> None:
    """RFC 5321 §4.3.2: 354 answers only DATA, 221 only QUIT; RFC 4954 §4/§6: 334 and
    235 only AUTH; RFC 3207 §4: 220 only STARTTLS (besides the greeting)."""
    conn = server()
    conn.receive_data(line + b"\r\n")
    conn.next_event()
    with pytest.raises(LocalProtocolError):
        conn.send(response)


@pytest.mark.parametrize(("lines", "response"), [
    # 250 to DATA would leave the message body to be read as commands.
    ([b"MAIL FROM:<a@b.example>", b"RCPT TO:<c@d.example>", b"DATA"],
     reply(250, Status.UNDEFINED, "OK")),
    ([b"RSET"], reply(550, Status.UNDEFINED, "no")),
    ([b"QUIT"], reply(250, Status.UNDEFINED, "OK")),
    ([b"MAIL FROM:<a@b.example>"], reply(251, Status.UNDEFINED, "forwarding")),
    ([b"HELP"], reply(250, Status.UNDEFINED, "help")),
])
def test_replies_outside_the_command_reply_sequences_are_local_errors(
        lines: list[bytes], response: Reply) -> None:
    """RFC 5321 §4.3.2 "Command-Reply Sequences": DATA gets 354, 503 or 554; RSET and
    NOOP get 250; QUIT gets 221; MAIL never 251; HELP 211 or 214."""
    conn = server()
    for line in lines[:-1]:
        conn.receive_data(line + b"\r\n")
        conn.next_event()
        conn.send(OK)
    conn.receive_data(lines[-1] + b"\r\n")
    conn.next_event()
    with pytest.raises(LocalProtocolError, match=r"RFC 5321 §4\.3\.2"):
        conn.send(response)


def test_reading_the_next_event_before_replying_is_a_local_error() -> None:
    """RFC 2920 §3.2 MUST: "respond to commands in the order they are received"; one reply
    per command."""
    conn = server()
    conn.receive_data(b"NOOP\r\nNOOP\r\n")
    assert conn.next_event() == Noop()
    with pytest.raises(LocalProtocolError):
        conn.next_event()


def test_replying_when_nothing_awaits_a_reply_is_a_local_error() -> None:
    """RFC 5321 §4.2: every reply answers a command (besides the greeting and §3.8's 421)."""
    conn = server()
    with pytest.raises(LocalProtocolError):
        conn.send(OK)


def test_a_421_may_be_sent_at_any_time_and_closes() -> None:
    """RFC 5321 §3.8: 421 "can be issued after the server receives any command or, if
    necessary, asynchronously from command receipt"; the channel closes."""
    conn = server()
    conn.receive_data(b"NOOP")                 # half a command
    assert conn.send(reply(421, Status.BAD_CONNECTION, "Timeout, closing")) == (
        b"421 4.4.2 Timeout, closing\r\n")
    assert conn.state is State.CLOSED
    conn.receive_data(b"\r\nQUIT\r\n")
    assert conn.next_event() is NEED_DATA


@pytest.mark.parametrize("lines", [("a\r\nb",), ("a\n",), ("a\rb",), ("\x00",), ("ok", "x\x1b")])
def test_a_reply_text_with_control_characters_cannot_be_built(lines: tuple[str, ...]) -> None:
    """RFC 5321 §4.2: textstring = 1*(%d09 / %d32-126): a CR or LF in reply text would let
    session text inject reply lines. (found: Reply accepted any text and write_reply
    wrote it out)"""
    with pytest.raises(ValueError):
        Reply(250, Status.UNDEFINED, lines)


@pytest.mark.parametrize("code", [199, 260, 299, 600, 270, 2500])
def test_a_reply_code_outside_the_reply_code_grammar_cannot_be_built(code: int) -> None:
    """RFC 5321 §4.2: Reply-code = %x32-35 %x30-35 %x30-39. (found: 260, 299 accepted)"""
    with pytest.raises(ValueError):
        Reply(code, None, ("x",))


# --- PIPELINING (RFC 2920) --------------------------------------------------------------------


def test_a_pipelined_batch_is_answered_one_command_at_a_time_in_order() -> None:
    """RFC 2920 §3.2 MUST: a server that offers pipelining "MUST respond to commands in the
    order they are received from the client"; the core hands out one command per reply."""
    conn = server()
    conn.receive_data(b"MAIL FROM:<a@example.com>\r\nRCPT TO:<a@example.com>\r\n"
                      b"RCPT TO:<b@example.com>\r\nDATA\r\n")
    wire = b""
    seen: list[Event] = []
    for response in (OK, reply(550, Status.BAD_DESTINATION_MAILBOX, "No such user"), OK,
                     reply(354, None, "go")):
        event = conn.next_event()
        assert event is not NEED_DATA
        seen.append(event)
        wire += conn.send(response)
    assert seen == [MailFrom(A), RcptTo(A), RcptTo(B), Data()]
    assert wire == (b"250 2.0.0 OK\r\n550 5.1.1 No such user\r\n250 2.0.0 OK\r\n354 go\r\n")
    assert conn.next_event() is NEED_DATA


def test_a_whole_session_gives_the_same_events_however_it_arrives() -> None:
    """RFC 5321 §2.3.7/§4.1.1: lines are delimited by CRLF, not by packets (h11's tr()
    pattern: whole, byte by byte, with trailing data)."""
    session = (b"EHLO c.example\r\nMAIL FROM:<a@example.com> SIZE=10\r\n"
               b"RCPT TO:<b@example.com> NOTIFY=NEVER\r\nDATA\r\nSubject: x\r\n\r\n..hi\r\n.\r\n"
               b"FOO\r\nQUIT\r\n")
    tr(lambda: server(ehlo=False), session, [
        Ehlo("c.example"), MailFrom(A, size=10),
        RcptTo(B, notify=frozenset({DsnNotify.NEVER})), Data(),
        MessageReceived(b"Subject: x\r\n\r\n.hi\r\n"),
        reply(500, Status.INVALID_COMMAND, "Command unrecognized"), Quit(),
    ], b"250-mx.example greets you\r\n" + b"".join(
        f"250{'-' if i < len(ALL_KEYWORDS) - 1 else ' '}{k}\r\n".encode()
        for i, k in enumerate(ALL_KEYWORDS)) + b"250 2.0.0 OK\r\n250 2.0.0 OK\r\n354 End data "
        b"with <CR><LF>.<CR><LF>\r\n250 2.0.0 Queued\r\n500 5.5.1 Command unrecognized\r\n"
        b"221 2.0.0 Bye\r\n")


# --- line limits and line ends (RFC 5321 §4.5.3.1.4, §2.3.8) -----------------------------------


def test_a_command_line_of_512_octets_is_read_and_513_gets_500() -> None:
    """RFC 5321 §4.5.3.1.4: "The maximum total length of a command line including the
    command word and the <CRLF> is 512 octets"; §4.5.3.1.9 "500 Line too long"."""
    fits = b"NOOP " + b"x" * (512 - 7) + b"\r\n"
    too_long = b"NOOP " + b"x" * (513 - 7) + b"\r\n"
    assert len(fits) == 512 and len(too_long) == 513
    tr(lambda: server(ehlo=False), fits + too_long + b"NOOP\r\n", [
        Noop("x" * 505), reply(500, Status.SYNTAX_ERROR, "Line too long (limit 512 octets)"),
        Noop()])


def test_the_rest_of_a_too_long_line_is_not_read_as_a_command() -> None:
    """RFC 5321 §4.5.3.1.4: the line is refused whole; what follows its end is the next
    command (and nothing inside it is)."""
    payload = b"NOOP " + b"x" * 600 + b"\r\nQUIT\r\n"
    tr(lambda: server(ehlo=False), b"NOOP " + b"x" * 600 + b"QUIT\r\nRSET\r\n" + payload, [
        reply(500, Status.SYNTAX_ERROR, "Line too long (limit 512 octets)"), Rset(),
        reply(500, Status.SYNTAX_ERROR, "Line too long (limit 512 octets)"), Quit()])


def test_the_command_line_limit_grows_by_what_the_advertised_extensions_add() -> None:
    """RFC 3461 §5.4 MUST: "A conforming MTA MUST be able to accept SMTP command-lines which
    are at least 1036 characters long"; RFC 4954 §3: AUTH= "extends the maximum line length
    of the MAIL FROM command by 500 characters"; RFC 1870 §3 (+26), RFC 6531 §3.1 (+10).
    (found: a 500-character ORCPT, which §5.4 says MUST be accepted, got "500 Line too
    long")"""
    orcpt = "ORCPT=rfc822;" + "x" * (500 - len("ORCPT=rfc822;"))
    line = f"RCPT TO:<b@example.com> NOTIFY=SUCCESS,FAILURE,DELAY {orcpt}\r\n".encode()
    events = drive(server(), IN_MAIL[len(IN_READY):] + line).events
    assert isinstance(events[-1], RcptTo)
    auth = "AUTH=" + "+2B" * 64 + "@" + "b" * 189          # xtext of "+" * 64 "@" ...
    mail = f"MAIL FROM:<{'a' * 64}@{'b' * 189}> SIZE=1 BODY=8BITMIME SMTPUTF8 {auth}\r\n"
    assert len(mail) > 650
    assert isinstance(drive(server(), mail.encode()).events[-1], MailFrom)
    # Without the extensions the RFC 5321 limit stands.
    refusal = drive(server("PIPELINING"), line).events
    assert refusal[0] == reply(500, Status.SYNTAX_ERROR, "Line too long (limit 512 octets)")


@pytest.mark.parametrize("line", [b"NOOP\n\r\n", b"NOOP\rx\r\n", b"NO\nOP\r\n", b"\n\r\n"])
def test_a_bare_lf_or_cr_in_a_command_line_gets_500(line: bytes) -> None:
    """RFC 5321 §2.3.8 MUST NOT: "Conforming implementations MUST NOT recognize or generate
    any other character or character sequence as a line terminator"; a line with a bare
    CR or LF is not a command line (SMTP smuggling starts here)."""
    events = drive(server(), line + b"QUIT\r\n").events
    assert isinstance(events[0], Reply) and events[0].code == 500
    assert events[-1] == Quit()


def test_what_follows_a_bare_lf_is_no_command() -> None:
    """RFC 5321 §2.3.8: a bare LF is no line terminator, so "NOOP<LF>QUIT<CRLF>" is one
    line with a bare LF in it: one 500, and no QUIT."""
    events = drive(server(), b"NOOP\nQUIT\r\n").events
    assert len(events) == 1 and isinstance(events[0], Reply) and events[0].code == 500


# --- errors and transactions budgets, EOF --------------------------------------------------------


def test_after_the_error_budget_the_server_says_421_and_closes() -> None:
    """SmtpLimits.errors (Postfix's smtpd_hard_error_limit); RFC 5321 §3.8: 421 closes."""
    conn = server(limits=SmtpLimits(errors=3))
    transcript = drive(conn, b"FOO\r\nBAR\r\nBAZ\r\nNOOP\r\n")
    assert transcript.wire == (
        b"500 5.5.1 Command unrecognized\r\n" * 3
        + b"421 4.3.2 Too many errors on this connection, closing\r\n")
    assert conn.state is State.CLOSED
    assert Noop() not in transcript.events


def test_after_the_transaction_budget_mail_gets_421() -> None:
    """SmtpLimits.transactions: bounds one client's share; RFC 5321 §3.8 421 closes."""
    conn = server(limits=SmtpLimits(transactions=1))
    one = b"MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\nx\r\n.\r\n"
    transcript = drive(conn, one + b"MAIL FROM:<a@example.com>\r\nNOOP\r\n")
    assert transcript.events[-1] == reply(
        421, Status.SYSTEM_NOT_ACCEPTING, "Too many mail transactions on one connection, closing")
    assert conn.state is State.CLOSED


def test_eof_gives_connection_closed_once() -> None:
    """The client closed its side: the core reports it, after the complete commands
    before it; a partial line is dropped."""
    conn = server()
    conn.receive_data(b"NOOP\r\nRSET")
    conn.receive_data(b"")
    assert conn.next_event() == Noop()
    conn.send(OK)
    assert conn.next_event() == ConnectionClosed()
    assert conn.state is State.CLOSED
    assert conn.next_event() is NEED_DATA


def test_eof_in_the_middle_of_mail_data_loses_the_message() -> None:
    """RFC 5321 §4.1.1.4: the message is complete only at <CRLF>.<CRLF>."""
    events = drive(server(), [b"MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\n"
                              b"DATA\r\nhello\r\n", b""]).events
    assert events[-1] == ConnectionClosed()
    assert not any(isinstance(e, MessageReceived) for e in events)


# --- AUTH exchange framing (RFC 4954 §4) ------------------------------------------------------


def authenticating(line: bytes = b"AUTH LOGIN\r\n") -> ServerConnection:
    conn = server()
    conn.receive_data(line)
    assert isinstance(conn.next_event(), Auth)
    assert conn.send(reply(334, None, "VXNlcm5hbWU6")) == b"334 VXNlcm5hbWU6\r\n"
    assert conn.state is State.AUTH
    return conn


def test_a_334_keeps_the_connection_reading_base64_responses() -> None:
    """RFC 4954 §4: "A server challenge is sent as a 334 reply"; "A client response
    consists of a line containing a [BASE64] encoded string"; 235 ends it."""
    conn = authenticating()
    conn.receive_data(b"dXNlcg==\r\nRSET\r\n")
    assert conn.next_event() == AuthResponse(b"user")
    conn.send(reply(334, None, "UGFzc3dvcmQ6"))
    # Still in the exchange: "RSET" is a (valid base64) response, not a command.
    assert conn.next_event() == AuthResponse(base64.b64decode(b"RSET"))
    assert conn.send(reply(235, Status.SECURITY_OTHER, "Authentication succeeded")) == (
        b"235 2.7.0 Authentication succeeded\r\n")
    assert conn.authenticated
    assert conn.state is State.READY


def test_an_empty_334_challenge_is_code_and_space() -> None:
    """RFC 4954 §4: "the complete response line is "334 "" for a challenge with no data."""
    conn = server()
    conn.receive_data(b"AUTH PLAIN\r\n")
    conn.next_event()
    assert conn.send(reply(334, None, "")) == b"334 \r\n"


def test_a_star_cancels_the_exchange() -> None:
    """RFC 4954 §4 MUST: "If the client wishes to cancel an authentication exchange, it
    issues a line with a single "*". If the server receives such a response, it MUST
    reject the AUTH command by sending a 501 reply"."""
    conn = authenticating()
    conn.receive_data(b"*\r\n")
    assert conn.next_event() == AuthResponse(None)
    conn.send(reply(501, Status.SYNTAX_ERROR, "Authentication cancelled"))
    assert conn.state is State.READY
    assert not conn.authenticated


def test_an_empty_line_is_an_empty_response() -> None:
    """RFC 4954 §4: a response is a BASE64 string, possibly empty."""
    conn = authenticating()
    conn.receive_data(b"\r\n")
    assert conn.next_event() == AuthResponse(b"")


@pytest.mark.parametrize("line", [b"dXNlcg\r\n", b"d XNlcg==\r\n", b"dXNlcg==x\r\n",
                                  b"\xff\r\n", b"==\r\n"])
def test_a_response_that_is_not_base64_gets_501_5_5_2_and_ends_the_exchange(line: bytes) -> None:
    """RFC 4954 §4 MUST: "If the server cannot [BASE64] decode any client response, it MUST
    reject the AUTH command with a 501 reply (and an enhanced status code of 5.5.2)"."""
    conn = authenticating()
    error = refused(conn, line)
    assert (error.code, error.status) == (501, Status.SYNTAX_ERROR)
    assert conn.send(error).startswith(b"501 5.5.2 ")
    assert conn.state is State.READY


def test_a_response_line_longer_than_the_auth_limit_gets_500_5_5_6() -> None:
    """RFC 4954 §4 SHOULD: a line longer than the server accepts: "the server fails the
    AUTH command with the 500 reply ... SHOULD return an enhanced status code of 5.5.6";
    §4: 12288 octets "is considered to be a sufficient line length limit"."""
    conn = authenticating()
    conn.receive_data(b"QUFB" * 3071 + b"\r\n")          # 12286 octets with CRLF: fits
    assert isinstance(conn.next_event(), AuthResponse)
    conn.send(reply(334, None, ""))
    error = refused(conn, b"QUFB" * 3072 + b"\r\nNOOP\r\n")
    assert (error.code, error.status) == (500, Status.AUTH_LINE_TOO_LONG)
    conn.send(error)
    assert conn.state is State.READY
    assert conn.next_event() == Noop()


def test_a_second_auth_after_success_gets_503() -> None:
    """RFC 4954 §4 MUST: "After a successful AUTH command completes, a server MUST reject
    any further AUTH commands with a 503 reply"."""
    conn = authenticating(b"AUTH PLAIN\r\n")
    conn.receive_data(b"AGFsaWNlAHB3\r\n")
    assert conn.next_event() == AuthResponse(b"\x00alice\x00pw")
    conn.send(reply(235, Status.SECURITY_OTHER, "ok"))
    error = refused(conn, b"AUTH PLAIN\r\n")
    assert (error.code, error.status) == (503, Status.INVALID_COMMAND)


def test_auth_with_an_initial_response_is_one_event() -> None:
    """RFC 4954 §4: "AUTH" SP sasl-mech SP initial-response; "=" is a zero-length one."""
    conn = server()
    conn.receive_data(b"AUTH PLAIN AGFsaWNlAHB3\r\n")
    assert conn.next_event() == Auth("PLAIN", b"\x00alice\x00pw")
    conn.send(reply(535, Status.AUTH_CREDENTIALS_INVALID, "no"))
    assert conn.state is State.READY and not conn.authenticated


def test_auth_when_not_advertised_gets_502() -> None:
    """RFC 4954 §3: AUTH exists only where the EHLO keyword announced it; RFC 5321 §4.2.4
    502 "Command not implemented"."""
    assert refused(server("PIPELINING"), b"AUTH PLAIN\r\n").code == 502


# --- totality -----------------------------------------------------------------------------------

# RFC 5321 §4.2: Reply-line, with RFC 6531 §3.7.4 UTF-8 text; §4.5.3.1.5: 512 octets.
REPLY_LINE = re.compile(rb"[2-5][0-5][0-9](?:[ -][\t\x20-\x7e\x80-\xff]*)?")


def assert_valid_reply_lines(wire: bytes) -> None:
    assert wire == b"" or wire.endswith(b"\r\n")
    for line in wire.split(b"\r\n")[:-1]:
        assert REPLY_LINE.fullmatch(line), line
        assert len(line) + 2 <= 512
        line.decode("utf-8")


def run_totally(chunks: list[bytes], *, tls: bool = True) -> Transcript:
    """Feed ``chunks`` then EOF to a server with every extension, answering every event;
    anything but RemoteProtocolError fails the test, and so does an event without end
    (each event consumes at least one octet, bar ConnectionClosed)."""
    conn = server()
    transcript = Transcript()
    budget = sum(map(len, chunks)) + 5
    respond = answer if tls else _no_tls
    for chunk in [*chunks, b""]:
        conn.receive_data(chunk)
        pump(conn, transcript, respond=respond, tls=tls, max_steps=budget)
    assert_valid_reply_lines(transcript.wire)
    return transcript


def _no_tls(event: Event) -> Reply | None:
    if isinstance(event, StartTls):
        return reply(454, Status.SECURITY_OTHER, "TLS not available")
    return answer(event)


@given(st.binary(max_size=2000))
@settings(max_examples=400)
def test_any_bytes_give_events_or_protocol_errors_with_valid_replies(data: bytes) -> None:
    """STYLE.md §E (h11 afl-server): any bytes → event, NEED_DATA or RemoteProtocolError
    carrying a Reply; every reply serializes to RFC 5321 §4.2 Reply-lines."""
    run_totally([data])


def _session_wire(commands: list[Command], content: bytes) -> bytes:
    wire = b""
    for command in commands:
        wire += write_command(command)
        if isinstance(command, Data):
            wire += ClientConnection.send_data(content)    # RFC 5321 §4.5.2
    return wire


@st.composite
def mutated_sessions(draw: st.DrawFn) -> bytes:
    """A valid client session with a few byte-level mutations: insertions (including CR,
    LF, dots and NULs), deletions, replacements and duplications."""
    commands = draw(st.lists(smtp.commands(), max_size=12))
    wire = bytearray(_session_wire([Ehlo("c.example"), *commands], draw(smtp.mail_data())))
    interesting = st.sampled_from([b"\r", b"\n", b"\r\n", b".", b"\r\n.\r\n", b"\x00",
                                   b"\xff", b" ", b"BDAT 5\r\n", b"DATA\r\n", b"STARTTLS\r\n"])
    for _ in range(draw(st.integers(0, 6))):
        at = draw(st.integers(0, len(wire)))
        operation = draw(st.sampled_from(["insert", "delete", "replace", "duplicate"]))
        if operation == "insert":
            wire[at:at] = draw(st.one_of(interesting, st.binary(min_size=1, max_size=8)))
        elif operation == "delete":
            del wire[at:at + draw(st.integers(1, 16))]
        elif operation == "replace" and at < len(wire):
            wire[at] = draw(st.integers(0, 255))
        else:
            wire[at:at] = wire[at:at + draw(st.integers(1, 64))]
    return bytes(wire)


@given(mutated_sessions(), st.lists(st.integers(0, 10_000), max_size=8))
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_mutated_sessions_never_raise_anything_but_protocol_errors(
        data: bytes, cuts: list[int]) -> None:
    """STYLE.md §E: totality on near-valid input, in any chunking."""
    run_totally(split_at(data, cuts))


@given(mutated_sessions(), st.lists(st.integers(0, 10_000), max_size=8))
@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
def test_chunking_never_changes_the_events(data: bytes, cuts: list[int]) -> None:
    """STYLE.md §E chunking invariance: lines, mail data and chunks are framed by their
    content, never by how the octets were split into reads (STARTTLS is refused here:
    with TLS, bytes after the handshake are a different stream)."""
    whole = run_totally([data], tls=False)
    chunked = run_totally(split_at(data, cuts), tls=False)
    assert chunked.events == whole.events
    assert chunked.wire == whole.wire


# --- reply line length (RFC 5321 §4.5.3.1.5) -------------------------------------------------


@pytest.mark.parametrize("line", [
    b"MAIL FROM:<a@example.com> " + b"X" * 480,
    b"MAIL FROM:<a@example.com> SIZE=" + b"1" * 480,
    b"MAIL FROM:<a@[IPv6:" + b"1:" * 230 + b"1]>",
    b"MAIL FROM:<a@example.com>\r\nRCPT TO:<b@[1." + b"1" * 200 + b".1.1]>",
    b"EHLO [IPv6:" + b"ab:" * 160 + b"]",
    b"EHLO " + b"a" * 255 + b"." + b"_" * 200,
    "MAIL FROM:<用户@[1.2.3.4".encode() + "é".encode() * 200 + b"]> SMTPUTF8",
    b"MAIL FROM:<" + b"a" * 300 + b"@example.com>",
])
def test_refusals_quoting_a_long_argument_still_fit_a_reply_line(line: bytes) -> None:
    """RFC 5321 §4.5.3.1.5: "The maximum total length of a reply line including the reply
    code and the <CRLF> is 512 octets." (found: a 501 quoting a long address literal
    wrote a longer line)"""
    conn = server()
    transcript = drive(conn, line + b"\r\n")
    assert any(isinstance(event, Reply) for event in transcript.events)
    for reply_line in transcript.wire.split(b"\r\n")[:-1]:
        assert len(reply_line) + 2 <= 512


def test_a_session_reply_line_longer_than_512_octets_is_a_local_error() -> None:
    """RFC 5321 §4.5.3.1.5: 512 octets per reply line; "More information may be conveyed
    through multiple-line replies."."""
    conn = server()
    conn.receive_data(b"NOOP\r\n")
    conn.next_event()
    with pytest.raises(LocalProtocolError):
        conn.send(reply(250, Status.UNDEFINED, "x" * 501))
    assert conn.send(Reply(250, Status.UNDEFINED, ("x" * 250, "x" * 250))).count(b"\r\n") == 2


def test_recipients_beyond_the_limit_get_452_and_the_accepted_ones_stay() -> None:
    """RFC 5321 §4.5.3.1.10 MUST: "If an SMTP server has an implementation limit on the
    number of RCPT commands and this limit is exhausted, it MUST use a response code of
    452"; §4.5.3.1.8: previously accepted addresses are not discarded."""
    conn = server(limits=SmtpLimits(recipients=100))
    conn.receive_data(b"MAIL FROM:<a@b.example>\r\n")
    conn.next_event()
    conn.send(OK)
    for number in range(100):
        conn.receive_data(b"RCPT TO:<user%d@d.example>\r\n" % number)
        assert isinstance(conn.next_event(), RcptTo)
        conn.send(OK)
    conn.receive_data(b"RCPT TO:<one-too-many@d.example>\r\nDATA\r\n")
    with pytest.raises(RemoteProtocolError) as refused:
        conn.next_event()
    assert conn.send(refused.value.reply) == b"452 4.5.3 Too many recipients\r\n"
    assert conn.next_event() == Data()           # the transaction is still open
    assert conn.state is State.RCPT


def test_the_recipient_count_starts_again_with_each_transaction() -> None:
    """RFC 5321 §4.5.3.1.8: the limit is per mail transaction."""
    conn = server(limits=SmtpLimits(recipients=100))
    for _ in range(2):
        conn.receive_data(b"MAIL FROM:<a@b.example>\r\n")
        conn.next_event()
        conn.send(OK)
        for number in range(100):
            conn.receive_data(b"RCPT TO:<u%d@d.example>\r\n" % number)
            conn.next_event()
            conn.send(OK)
        conn.receive_data(b"RSET\r\n")
        assert conn.next_event() == Rset()
        conn.send(OK)
