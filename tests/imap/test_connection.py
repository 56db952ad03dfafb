"""The sans-IO connections: the state table (RFC 9051 §3, §6.1-6.4), the core's own
refusals, STARTTLS, AUTHENTICATE and IDLE exchanges, and the rules the serializer
enforces on the session (LocalProtocolError: our bug, never sent)."""

from __future__ import annotations

import pytest

from reference.errors import LocalProtocolError
from reference.imap import client_connection, connection
from reference.imap import responses as r
from reference.imap.client_connection import ClientConnection
from reference.imap.commands import (
    Append,
    Authenticate,
    AuthenticateResponse,
    Capability,
    Close,
    ConnectionClosed,
    Enable,
    Fetch,
    Idle,
    IdleDone,
    Login,
    Noop,
    Search,
    Select,
    StartTls,
    Store,
    StoreAction,
)
from reference.imap.connection import ServerConnection
from reference.imap.grammar_fetch import FetchAttName, SimpleAtt
from reference.imap.grammar_search import SimpleKey, SimpleKeyName
from reference.imap.limits import ImapLimits
from reference.imap.responses import Condition, ImapRemoteProtocolError
from reference.imap.sequence_sets import SequenceSet
from reference.imap.states import State

from .helpers import NEED_DATA, REV1, REV1_LITERAL_PLUS, answer, events, pair, server, transfer


def only_error(result: list[object]) -> r.StatusResponse:
    assert len(result) == 1 and isinstance(result[0], tuple), result
    response = result[0][1]
    assert isinstance(response, r.StatusResponse)
    return response


def test_one_need_data_sentinel_for_both_directions() -> None:
    """An adapter holding both cores compares with one NEED_DATA (h11 has one)."""
    assert connection.NEED_DATA is client_connection.NEED_DATA


def test_greeting_moves_the_state() -> None:
    """RFC 9051 §3 (1) OK greeting: not authenticated; (2) PREAUTH: authenticated;
    (3) BYE: logout."""
    for response, state in ((r.ok(None, "hi"), State.NOT_AUTHENTICATED),
                            (r.preauth("hi"), State.AUTHENTICATED),
                            (r.bye("busy"), State.LOGOUT)):
        conn = ServerConnection()
        conn.send(response)
        assert conn.state is state


def test_greeting_must_be_untagged_ok_preauth_or_bye() -> None:
    """RFC 9051 §9 greeting = "*" SP (resp-cond-auth / resp-cond-bye) CRLF."""
    with pytest.raises(LocalProtocolError):
        ServerConnection().send(r.no(None, "no"))


def test_nothing_is_read_before_the_greeting() -> None:
    conn = ServerConnection()
    conn.receive_data(b"a1 NOOP\r\n")
    assert conn.next_event() is NEED_DATA


@pytest.mark.parametrize(("state", "line"), [
    (State.NOT_AUTHENTICATED, b"a1 SELECT INBOX\r\n"),
    (State.NOT_AUTHENTICATED, b"a1 FETCH 1 FLAGS\r\n"),
    (State.AUTHENTICATED, b"a1 LOGIN alice pw\r\n"),
    (State.AUTHENTICATED, b"a1 FETCH 1 FLAGS\r\n"),
    (State.AUTHENTICATED, b"a1 STARTTLS\r\n"),
    (State.SELECTED, b"a1 ENABLE CONDSTORE\r\n"),
    (State.SELECTED, b"a1 AUTHENTICATE PLAIN\r\n"),
])
def test_command_in_the_wrong_state_gets_a_tagged_bad(state: State, line: bytes) -> None:
    """RFC 9051 §3: "It is a protocol error for the client to attempt a command while the
    connection is in an inappropriate state, and the server will respond with a BAD or
    NO"; §6.3.1: ENABLE "is only valid in the authenticated state, before any mailbox is
    selected"."""
    conn = server(state, REV1)
    response = only_error(events(conn, line))
    assert (response.condition, response.tag) == (Condition.BAD, "a1")
    assert conn.state is state


@pytest.mark.parametrize("line", [b"garbage\r\n", b"\r\n", b"(a1 NOOP\r\n", b"+ NOOP\r\n"])
def test_line_without_a_tag_gets_an_untagged_bad(line: bytes) -> None:
    """RFC 9051 §7.1.3: an untagged BAD "indicates a protocol-level error for which the
    associated command can not be determined"."""
    response = only_error(events(server(State.AUTHENTICATED, REV1), line))
    assert (response.condition, response.tag) == (Condition.BAD, None)


def test_unknown_command_gets_a_tagged_bad() -> None:
    """RFC 9051 §2.2.2: a command with a protocol syntax error "SHOULD be rejected and
    the client given a BAD server completion response"."""
    response = only_error(events(server(State.AUTHENTICATED, REV1), b"a1 FROB\r\n"))
    assert (response.condition, response.tag) == (Condition.BAD, "a1")


def test_error_texts_are_seven_bit_before_imap4rev2() -> None:
    """RFC 9051 §9 text: "Non-ASCII text can only be returned after ENABLE IMAP4rev2";
    the octets an error quotes (NUL, 8-bit) are escaped, so the refusal can be sent."""
    conn = server(State.NOT_AUTHENTICATED, REV1)
    conn.receive_data(b"a1 SELECT \x00\xff\r\n")
    with pytest.raises(ImapRemoteProtocolError) as caught:
        conn.next_event()
    response = caught.value.response
    assert response is not None and response.text.isascii()
    wire = conn.send(response)
    assert wire.startswith(b"a1 BAD ") and b"\x00" not in wire


def test_refusal_must_be_sent_before_reading_on() -> None:
    conn = server(State.AUTHENTICATED, REV1)
    conn.receive_data(b"garbage\r\na2 NOOP\r\n")
    with pytest.raises(ImapRemoteProtocolError):
        conn.next_event()
    with pytest.raises(LocalProtocolError):
        conn.next_event()
    with pytest.raises(LocalProtocolError):
        conn.send(r.bad(None, "something else"))


def test_one_command_at_a_time() -> None:
    """RFC 9051 §5.5 lets a server execute pipelined commands in order: the next is read
    only after the tagged completion of the previous."""
    conn = server(State.AUTHENTICATED, REV1)
    conn.receive_data(b"a1 NOOP\r\na2 NOOP\r\n")
    assert conn.next_event() == Noop("a1")
    with pytest.raises(LocalProtocolError):
        conn.next_event()
    conn.send(r.ok("a1", "done"))
    assert conn.next_event() == Noop("a2")


def test_the_command_after_an_append_may_be_read_ahead_and_starts_after_it() -> None:
    """RFC 9051 §5.5: pipelined commands are executed in order. APPEND changes no state
    (§3), so while one is in progress the next command may be read (its messages parsed
    while the APPEND's are stored); it is in progress only once the APPEND has its
    tagged response, and one command at most is read ahead."""
    conn = server(State.SELECTED, REV1_LITERAL_PLUS)
    conn.receive_data(b"a1 APPEND INBOX {2+}\r\nhi\r\na2 FETCH 1 FLAGS\r\na3 NOOP\r\n")
    first = conn.next_event()
    assert isinstance(first, Append) and first.tag == "a1"
    ahead = conn.next_event()
    assert isinstance(ahead, Fetch) and ahead.tag == "a2"
    with pytest.raises(LocalProtocolError):
        conn.next_event()                           # a2 must start (and end) first
    with pytest.raises(LocalProtocolError):
        conn.send(r.ok("a2", "not yet"))            # a2 is not in progress yet
    conn.send(r.ExistsData(1))                      # the APPEND's own responses
    conn.send(r.ok("a1", "APPEND completed"))
    with pytest.raises(LocalProtocolError):
        conn.next_event()                           # now a2 is in progress
    conn.send(r.ok("a2", "FETCH completed"))
    assert conn.next_event() == Noop("a3")


def test_a_refusal_read_ahead_is_sent_after_the_append() -> None:
    """The core's BAD for a command read ahead waits until the APPEND completes: the
    APPEND's responses come first, in the order the commands were sent (§5.5)."""
    conn = server(State.AUTHENTICATED, REV1_LITERAL_PLUS)
    conn.receive_data(b"a1 APPEND INBOX {2+}\r\nhi\r\ngarbage\r\n")
    assert isinstance(conn.next_event(), Append)
    with pytest.raises(ImapRemoteProtocolError) as error:
        conn.next_event()
    refusal = error.value.response
    assert refusal is not None and refusal.tag is None and refusal.condition is Condition.BAD
    with pytest.raises(LocalProtocolError):
        conn.next_event()
    conn.send(r.ok("a1", "APPEND completed"))       # not refused: the APPEND's turn
    with pytest.raises(LocalProtocolError):
        conn.send(r.ok(None, "anything else"))      # the refusal is due now
    assert conn.send(refusal).startswith(b"* BAD ")
    assert conn.next_event() is NEED_DATA


def test_only_an_append_lets_the_next_command_be_read_ahead() -> None:
    """A command that may change the state (LOGIN, SELECT, CLOSE...) or what the next
    one means (ENABLE, STORE...) completes before the next is read."""
    conn = server(State.SELECTED, REV1)
    conn.receive_data(b"a1 CLOSE\r\na2 APPEND INBOX {2}\r\n")
    assert conn.next_event() == Close("a1")
    with pytest.raises(LocalProtocolError):
        conn.next_event()


def test_the_end_of_input_read_ahead_is_reported_after_the_append() -> None:
    """A client that closes its side right after pipelining an APPEND still gets the
    APPEND's answer: the end of input is reported once nothing is in progress."""
    conn = server(State.AUTHENTICATED, REV1_LITERAL_PLUS)
    conn.receive_data(b"a1 APPEND INBOX {2+}\r\nhi\r\n")
    conn.receive_data(b"")
    assert isinstance(conn.next_event(), Append)
    assert conn.next_event() is NEED_DATA
    assert conn.state is State.AUTHENTICATED
    conn.send(r.ok("a1", "APPEND completed"))
    assert isinstance(conn.next_event(), ConnectionClosed)


def test_too_many_errors_end_with_bye() -> None:
    """RFC 9051 §7.1.5 BYE "as a panic shutdown announcement": after ImapLimits.errors
    BAD responses the core appends a BYE and reads nothing more."""
    conn = server(State.AUTHENTICATED, REV1, ImapLimits(errors=3))
    wire = b""
    for line in (b"x\r\n", b"y\r\n", b"z\r\n"):
        conn.receive_data(line)
        with pytest.raises(ImapRemoteProtocolError) as caught:
            conn.next_event()
        assert caught.value.response is not None
        wire = conn.send(caught.value.response)
    assert wire.startswith(b"* BAD ") and b"\r\n* BYE " in wire
    assert conn.state is State.LOGOUT
    conn.receive_data(b"a9 NOOP\r\n")
    assert conn.next_event() is NEED_DATA


def test_tagged_ok_to_login_moves_to_authenticated_and_no_does_not() -> None:
    """RFC 9051 §3 (4): successful LOGIN or AUTHENTICATE."""
    conn = server(State.NOT_AUTHENTICATED, REV1)
    assert events(conn, b"") == []
    conn.receive_data(b"a1 LOGIN alice wrong\r\n")
    assert conn.next_event() == Login("a1", "alice", "wrong")
    conn.send(r.no("a1", "no", r.ResponseCode.AUTHENTICATIONFAILED))
    assert conn.state is State.NOT_AUTHENTICATED
    conn.receive_data(b"a2 LOGIN alice pw\r\n")
    assert conn.next_event() == Login("a2", "alice", "pw")
    conn.send(r.ok("a2", "welcome"))
    assert conn.state.value == State.AUTHENTICATED.value


def test_select_failure_leaves_the_selected_state() -> None:
    """RFC 9051 §6.3.2: "if a mailbox is selected and a SELECT command that fails is
    attempted, no mailbox is selected"."""
    conn = server(State.SELECTED, REV1)
    conn.receive_data(b"a1 SELECT nosuch\r\n")
    assert conn.next_event() == Select("a1", "nosuch")
    conn.send(r.no("a1", "no such mailbox", r.ResponseCode.NONEXISTENT))
    assert conn.state is State.AUTHENTICATED


def test_close_and_unsolicited_closed_leave_the_selected_state() -> None:
    """RFC 9051 §3 (6): CLOSE or UNSELECT, or an "unsolicited CLOSED response code"."""
    conn = server(State.SELECTED, REV1)
    conn.receive_data(b"a1 CLOSE\r\n")
    assert conn.next_event() == Close("a1")
    conn.send(r.ok("a1", "closed"))
    assert conn.state is State.AUTHENTICATED
    conn = server(State.SELECTED, REV1)
    conn.receive_data(b"a1 NOOP\r\n")
    conn.next_event()
    conn.send(r.ok(None, "gone", r.ResponseCode.CLOSED))
    assert conn.state is State.AUTHENTICATED


def test_closed_inside_select_marks_the_boundary_only() -> None:
    """RFC 9051 §7.1 CLOSED: within SELECT it separates the old and the new mailbox."""
    conn = server(State.SELECTED, REV1)
    conn.receive_data(b"a1 SELECT other\r\n")
    conn.next_event()
    conn.send(r.ok(None, "previous closed", r.ResponseCode.CLOSED))
    conn.send(r.ok("a1", "selected"))
    assert conn.state is State.SELECTED


def test_logout_ends_with_logout_state_and_eof_reports_closed() -> None:
    """RFC 9051 §3 (7)."""
    conn = server(State.AUTHENTICATED, REV1)
    conn.receive_data(b"a1 LOGOUT\r\n")
    conn.next_event()
    conn.send(r.bye("bye"))
    conn.send(r.ok("a1", "done"))
    assert conn.state is State.LOGOUT
    other = server(State.AUTHENTICATED, REV1)
    other.receive_data(b"")
    assert other.next_event() == ConnectionClosed()
    assert other.next_event() is NEED_DATA


def test_starttls_discards_the_plaintext_after_the_command() -> None:
    """RFC 9051 §6.2.1 MUST (choice 2): "Extra data from the TCP buffer is thrown away"
    (the STARTTLS command injection, CERT VU#555316)."""
    conn = server(State.NOT_AUTHENTICATED, REV1)
    conn.receive_data(b"a1 STARTTLS\r\na2 LOGIN alice pw\r\n")
    assert conn.next_event() == StartTls("a1")
    conn.send(r.ok("a1", "begin TLS"))
    assert conn.tls_pending and conn.discarded_plaintext == len(b"a2 LOGIN alice pw\r\n")
    conn.receive_data(b"a3 LOGIN mallory pw\r\n")      # still plaintext: dropped too
    assert conn.next_event() is NEED_DATA
    conn.tls_established()
    conn.receive_data(b"a4 CAPABILITY\r\n")
    assert conn.next_event() == Capability("a4")
    assert conn.state is State.NOT_AUTHENTICATED


def test_starttls_after_tls_is_bad() -> None:
    """RFC 9051 §6.2.1: "The server MUST always respond with a tagged BAD response when
    the STARTTLS command is received on an Implicit TLS port"."""
    conn = server(State.NOT_AUTHENTICATED, REV1, tls_active=True)
    response = only_error(events(conn, b"a1 STARTTLS\r\n"))
    assert (response.condition, response.tag) == (Condition.BAD, "a1")


def test_starttls_failure_keeps_reading_plaintext() -> None:
    conn = server(State.NOT_AUTHENTICATED, REV1)
    conn.receive_data(b"a1 STARTTLS\r\n")
    conn.next_event()
    conn.send(r.bad("a1", "no TLS here"))
    assert not conn.tls_pending
    with pytest.raises(LocalProtocolError):
        conn.tls_established()


def test_idle_is_ended_by_done() -> None:
    """RFC 9051 §6.3.13: "The IDLE command is terminated by the receipt of a "DONE"
    continuation from the client"; untagged data may be sent in between."""
    conn = server(State.SELECTED, REV1)
    conn.receive_data(b"a1 IDLE\r\n")
    assert conn.next_event() == Idle("a1")
    assert conn.send(r.Continuation("idling")) == b"+ idling\r\n"
    assert conn.next_event() is NEED_DATA
    assert conn.send(r.ExistsData(3)) == b"* 3 EXISTS\r\n"
    conn.receive_data(b"DONE\r\n")
    assert conn.next_event() == IdleDone()
    assert conn.send(r.ok("a1", "IDLE terminated")) == b"a1 OK IDLE terminated\r\n"


def test_anything_but_done_during_idle_is_bad() -> None:
    conn = server(State.AUTHENTICATED, REV1)
    result = events(conn, b"a1 IDLE\r\nNOOP\r\n")
    assert result[0] == Idle("a1")
    assert isinstance(result[1], tuple) and result[1][1] == r.bad(
        "a1", 'Expected "DONE" to end IDLE (RFC 9051 section 6.3.13)')


def test_authenticate_exchange_reads_base_64_lines() -> None:
    """RFC 9051 §6.2.2: the client's responses are base64 lines after "+" challenges."""
    conn = server(State.NOT_AUTHENTICATED, REV1)
    conn.receive_data(b"a1 AUTHENTICATE PLAIN\r\nAGFsaWNlAHB3\r\n")
    assert conn.next_event() == Authenticate("a1", "PLAIN")
    with pytest.raises(LocalProtocolError):      # no line is read before the challenge
        conn.next_event()
    assert conn.send(r.Continuation(data=b"")) == b"+ \r\n"
    assert conn.next_event() == AuthenticateResponse(b"\x00alice\x00pw")
    conn.send(r.ok("a1", "welcome"))
    assert conn.state is State.AUTHENTICATED


def test_authenticate_star_cancels() -> None:
    """RFC 9051 §6.2.2: "If the client wishes to cancel an authentication exchange, it
    issues a line consisting of a single "*"."""
    result = events(server(State.NOT_AUTHENTICATED, REV1),
                    b"a1 AUTHENTICATE PLAIN\r\n*\r\n")
    assert result == [Authenticate("a1", "PLAIN"), AuthenticateResponse(None)]


@pytest.mark.parametrize("line", [b"!!!!", b"AGFsaWNl=", b"QQ", b"QQ==QQ=="])
def test_invalid_base64_in_authenticate_is_a_tagged_bad(line: bytes) -> None:
    """RFC 9051 §6.2.2 MUST: "If the server receives an invalid base64 string ... it MUST
    reject the AUTHENTICATE command by sending a tagged BAD response"."""
    conn = server(State.NOT_AUTHENTICATED, REV1)
    result = events(conn, b"a1 AUTHENTICATE PLAIN\r\n" + line + b"\r\na2 NOOP\r\n")
    assert result[0] == Authenticate("a1", "PLAIN")
    assert isinstance(result[1], tuple) and result[1][1].tag == "a1"
    assert result[1][1].condition is Condition.BAD
    assert result[2] == Noop("a2")            # the exchange is over; commands again


def test_an_authenticate_challenge_is_base64_data() -> None:
    conn = server(State.NOT_AUTHENTICATED, REV1)
    conn.receive_data(b"a1 AUTHENTICATE PLAIN\r\n")
    conn.next_event()
    with pytest.raises(LocalProtocolError):
        conn.send(r.Continuation("type here"))


def test_continuation_outside_authenticate_or_idle_is_a_session_bug() -> None:
    """Literal continuations are the core's own (RFC 9051 §7.6)."""
    conn = server(State.AUTHENTICATED, REV1)
    conn.receive_data(b"a1 NOOP\r\n")
    conn.next_event()
    with pytest.raises(LocalProtocolError):
        conn.send(r.Continuation("go on"))


def _selected_with(command_line: bytes) -> ServerConnection:
    conn = server(State.SELECTED, REV1)
    conn.receive_data(command_line)
    assert conn.next_event() is not NEED_DATA
    return conn


@pytest.mark.parametrize("line", [b"a1 FETCH 1 FLAGS\r\n", b"a1 STORE 1 +FLAGS (\\Seen)\r\n",
                                  b"a1 SEARCH ALL\r\n"])
def test_expunge_during_fetch_store_or_search_is_a_local_protocol_error(line: bytes) -> None:
    """RFC 9051 §7.5.1 MUST NOT: "An EXPUNGE response MUST NOT be sent when no command is
    in progress, nor while responding to a FETCH, STORE, or SEARCH command."""
    conn = _selected_with(line)
    with pytest.raises(LocalProtocolError, match=r"7\.5\.1"):
        conn.send(r.ExpungeData(1))


def test_expunge_during_the_uid_forms_and_noop_is_allowed() -> None:
    """RFC 9051 §7.5.1: the rule names FETCH, STORE and SEARCH, not the UID forms
    (§6.4.9 lets them see EXPUNGE)."""
    assert _selected_with(b"a1 UID FETCH 1 FLAGS\r\n").send(r.ExpungeData(1)) == (
        b"* 1 EXPUNGE\r\n")
    assert _selected_with(b"a1 NOOP\r\n").send(r.ExpungeData(2)) == b"* 2 EXPUNGE\r\n"


def test_expunge_with_no_command_in_progress_is_a_local_protocol_error() -> None:
    conn = server(State.SELECTED, REV1)
    with pytest.raises(LocalProtocolError):
        conn.send(r.ExpungeData(1))


def test_client_refuses_expunge_during_fetch() -> None:
    """The client core judges a target by the same rule (RFC 9051 §7.5.1)."""
    srv, cli = pair(State.SELECTED, REV1)
    fetch = Fetch("a1", SequenceSet.of(1), (SimpleAtt(FetchAttName.FLAGS),))
    assert transfer(srv, cli, fetch) == fetch
    cli.receive_data(b"* 1 EXPUNGE\r\n")
    with pytest.raises(ImapRemoteProtocolError, match=r"7\.5\.1"):
        cli.next_event()


def test_enabled_answers_enable_only() -> None:
    """RFC 9051 §7.2.1: "The ENABLED response occurs as a result of an ENABLE command."""
    conn = server(State.AUTHENTICATED, REV1)
    conn.receive_data(b"a1 NOOP\r\n")
    conn.next_event()
    with pytest.raises(LocalProtocolError):
        conn.send(r.EnabledData(("CONDSTORE",)))


def test_enable_imap4rev2_switches_both_cores_to_utf8_names() -> None:
    """RFC 9051 §6.3.1 / Appendix E: after ENABLE IMAP4rev2 mailbox names travel in
    UTF-8 (§5.1), before it in modified UTF-7 (Appendix A.1)."""
    srv, cli = pair(State.AUTHENTICATED, ("IMAP4rev1", "IMAP4rev2"))
    select = Select("a1", "Entwürfe")
    assert cli.send(select) == b"a1 SELECT Entw&APw-rfe\r\n"
    srv.receive_data(b"a1 SELECT Entw&APw-rfe\r\n")
    assert srv.next_event() == select
    answer(srv, cli, r.no("a1", "no"))
    assert transfer(srv, cli, Enable("a2", ("IMAP4rev2",))) == Enable("a2", ("IMAP4rev2",))
    answer(srv, cli, r.EnabledData(("IMAP4rev2",)))
    answer(srv, cli, r.ok("a2", "enabled"))
    assert srv.modes.utf8 and cli.modes.utf8
    # UTF-8 goes quoted (ATOM-CHAR is 7-bit, RFC 9051 §9 QUOTED-CHAR has UTF8-2)
    assert cli.send(Select("a3", "Entwürfe")) == 'a3 SELECT "Entwürfe"\r\n'.encode()


def test_store_and_search_are_condstore_enabling_when_they_use_modseq() -> None:
    """RFC 7162 §3.1: "Once a client issues a CONDSTORE enabling command, it has
    announced itself as a "CONDSTORE-aware client"."""
    srv, cli = pair(State.SELECTED, REV1)
    store = Store("a1", SequenceSet.of(1), StoreAction.ADD, ("\\Seen",), unchangedsince=5)
    assert transfer(srv, cli, store) == store
    assert srv.modes.condstore
    srv2, cli2 = pair(State.SELECTED, REV1)
    search = Search("a1", (SimpleKey(SimpleKeyName.ALL),))
    assert transfer(srv2, cli2, search) == search
    assert not srv2.modes.condstore


def test_client_rejects_a_tagged_response_for_an_unknown_tag() -> None:
    _, cli = pair(State.AUTHENTICATED, REV1)
    cli.receive_data(b"zz OK what\r\n")
    with pytest.raises(ImapRemoteProtocolError):
        cli.next_event()


def test_client_waits_for_plus_before_sending_literal_data() -> None:
    """RFC 9051 §4.3 MUST: "the client MUST wait to receive a command continuation
    request ... before sending the octet data"."""
    _, cli = pair(State.NOT_AUTHENTICATED, REV1)
    assert cli.send(Login("a1", "al\nice", "pw")) == b"a1 LOGIN {6}\r\n"
    assert cli.waiting_for_continuation
    cli.receive_data(b"+ go\r\n")
    assert cli.next_event() is NEED_DATA
    assert cli.data_to_send() == b"al\nice pw\r\n"


def test_client_drops_the_literal_of_a_refused_command() -> None:
    """RFC 9051 §2.2.1 note: after a BAD in place of "+" the client sends no more of the
    command."""
    _, cli = pair(State.NOT_AUTHENTICATED, REV1)
    cli.send(Login("a1", "al\nice", "pw"))
    cli.receive_data(b"a1 BAD no\r\n")
    assert cli.next_event() == r.bad("a1", "no")
    assert not cli.waiting_for_continuation and cli.data_to_send() == b""


def test_client_closed_without_bye_is_reported() -> None:
    """RFC 9051 §3.4: "A server SHOULD NOT unilaterally close the connection without
    first sending an untagged BYE response"."""
    cli = ClientConnection()
    cli.receive_data(b"* OK hi\r\n")
    cli.next_event()
    cli.receive_data(b"")
    assert cli.next_event() == ConnectionClosed("closed without BYE")


def test_client_idle_done_needs_idle_in_flight() -> None:
    cli = ClientConnection()
    with pytest.raises(LocalProtocolError):
        cli.send(IdleDone())
