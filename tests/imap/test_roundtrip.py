"""Round trips over fuzz/strategies/imap.py: parse(serialize(x)) == x for every command
and every response, in IMAP4rev1 (modified UTF-7, synchronizing literals) and IMAP4rev2
(UTF-8, LITERAL-) modes, with the client and server cores back to back (h11's
ConnectionPair, mox's FuzzParseRecord); and the h11 ``afl-server.py`` property: any bytes
give events, NEED_DATA or ImapRemoteProtocolError, nothing else."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from fuzz.strategies import imap
from reference.imap.capabilities import Modes
from reference.imap.client_connection import ClientConnection
from reference.imap.commands import Command, Noop
from reference.imap.framing import ResponseReader
from reference.imap.limits import ImapLimits
from reference.imap.parser_responses import ResponseContext, parse_response
from reference.imap.response_data import ListData
from reference.imap.responses import (
    Continuation,
    EnabledData,
    ImapRemoteProtocolError,
    Response,
    StatusResponse,
)
from reference.imap.serializer import write_response
from reference.imap.states import State
from reference.wire.buffer import ReceiveBuffer

from .helpers import NEED_DATA, REV1, REV1_LITERAL_PLUS, REV2, events, pair, state_for, transfer

FAST = settings(max_examples=120, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
MODES = {"rev1": Modes(advertised=frozenset({"IMAP4REV1"})),
         "rev2": Modes(advertised=frozenset({"IMAP4REV2"}))}


@pytest.mark.parametrize("capabilities", [REV1, REV2, REV1_LITERAL_PLUS],
                         ids=["rev1-sync", "rev2-utf8", "rev1-literal+"])
@FAST
@given(command=imap.commands(utf8=True))
def test_every_command_survives_the_client_core_then_the_server_core(
        capabilities: tuple[str, ...], command: Command) -> None:
    """RFC 9051 §9: what ClientConnection writes, ServerConnection reads back as the same
    command; synchronizing literals wait for the server's "+" (§4.3 MUST), names travel
    as modified UTF-7 before UTF-8 mode (Appendix A.1) and as UTF-8 after (§5.1)."""
    srv, cli = pair(state_for(command), capabilities)
    if command.tag == "s0":         # the SELECT of pair() is still the last tag seen
        return
    assert transfer(srv, cli, command) == command


def _read(wire: bytes, modes: Modes, *, authenticating: bool = False) -> Response:
    buffer = ReceiveBuffer()
    buffer.feed(wire)
    segments = ResponseReader(ImapLimits()).read(buffer)
    assert segments is not None and not buffer
    return parse_response(segments, ResponseContext(modes, authenticating=authenticating))


@pytest.mark.parametrize("mode", ["rev1", "rev2"])
@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_response_survives_write_then_parse(mode: str, data: st.DataObject) -> None:
    """RFC 9051 §7, §9: the server serializer writes what the client parser reads, with
    strings quoted or as literals (§4.3) and 8-bit text only in UTF-8 mode (§9 text,
    RFC 6855 §3)."""
    response = data.draw(imap.responses(utf8=mode == "rev2"))
    assert _read(write_response(response, MODES[mode]), MODES[mode]) == response


@pytest.mark.parametrize("mode", ["rev1", "rev2"])
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(response=imap.list_datas())
def test_list_extended_data_items_survive_write_then_parse(mode: str,
                                                           response: ListData) -> None:
    """RFC 5258 §9 / RFC 9051 §9 mbox-list-extended: CHILDINFO with any
    list-select-base-opt (§6.3.9.6), OLDNAME (§6.3.9.7) and other items whose
    tagged-ext-val is a number, a sequence-set, "()" or a nested tagged-ext-comp, in
    both string modes."""
    assert _read(write_response(response, MODES[mode]), MODES[mode]) == response


@FAST
@given(challenge=imap.continuations(data=True))
def test_sasl_challenges_survive_as_base64(challenge: Continuation) -> None:
    """RFC 9051 §6.2.2: "A server challenge consists of a command continuation request
    response with the "+" token followed by a base64-encoded ... string"."""
    wire = write_response(challenge, MODES["rev1"])
    assert _read(wire, MODES["rev1"], authenticating=True) == challenge


@pytest.mark.parametrize("capabilities", [REV1, REV2], ids=["rev1", "rev2"])
@FAST
@given(data=st.data())
def test_untagged_data_survives_the_server_core_then_the_client_core(
        capabilities: tuple[str, ...], data: st.DataObject) -> None:
    """The same through ServerConnection.send and ClientConnection.next_event, in the
    selected state with a NOOP in progress (EXPUNGE and FETCH are allowed then, §7.5.1)."""
    utf8 = capabilities == REV2
    response = data.draw(imap.responses(utf8=utf8).filter(
        lambda x: not isinstance(x, (Continuation, EnabledData))
        and not (isinstance(x, StatusResponse) and x.tag is not None)))
    srv, cli = pair(State.SELECTED, capabilities)
    assert transfer(srv, cli, Noop("n1")) == Noop("n1")
    cli.receive_data(srv.send(response))
    assert cli.next_event() == response


@FAST
@given(response=imap.status_responses(tagged=True))
def test_tagged_completions_survive_and_end_the_command(response: StatusResponse) -> None:
    """RFC 9051 §7.1: the tagged completion answers the command with that tag."""
    srv, cli = pair(State.AUTHENTICATED, REV1)
    command = Noop(response.tag or "x")
    if command.tag == "s0":
        return
    assert transfer(srv, cli, command) == command
    cli.receive_data(srv.send(response))
    assert cli.next_event() == response
    assert cli.in_flight == ()


@pytest.mark.parametrize("capabilities", [REV1, REV2, REV1_LITERAL_PLUS],
                         ids=["rev1", "rev2", "rev1-literal+"])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=imap.hostile_command_bytes(), preauth=st.booleans(), chunk=st.integers(1, 64))
def test_any_bytes_give_events_need_data_or_a_protocol_error(
        capabilities: tuple[str, ...], data: bytes, preauth: bool, chunk: int) -> None:
    """DESIGN.md principle 8 (h11 afl-server): bad input gets a precise protocol error,
    never another exception; each error carries the response to send (RFC 9051 §7.1.3)
    and that response can be sent in the connection's mode."""
    from .helpers import server

    conn = server(State.AUTHENTICATED if preauth else State.NOT_AUTHENTICATED, capabilities)
    for index in range(0, len(data), chunk):
        events(conn, data[index:index + chunk])
    events(conn, b"")
    assert conn.state is State.LOGOUT or conn.next_event() is NEED_DATA


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=imap.hostile_response_bytes())
def test_any_response_bytes_give_responses_need_data_or_a_protocol_error(data: bytes) -> None:
    """The client core is strict (it judges targets) but never crashes."""
    cli = ClientConnection()
    cli.receive_data(b"* OK [CAPABILITY IMAP4rev2] ready\r\n")
    cli.next_event()
    cli.send(Noop("a1"))
    cli.receive_data(data)
    cli.receive_data(b"")
    for _ in range(100):
        try:
            if cli.next_event() is NEED_DATA:
                return
        except ImapRemoteProtocolError:
            continue


def test_strategy_arguments_are_checked_when_built() -> None:
    """Hypothesis style guide: invalid arguments fail at once, not on the first draw."""
    with pytest.raises(InvalidArgument):
        imap.search_keys(max_depth=-1)
    with pytest.raises(InvalidArgument):
        imap.commands(utf8="yes")  # type: ignore[arg-type,unused-ignore]
    with pytest.raises(InvalidArgument):
        imap.sequence_sets(max_ranges=0)
