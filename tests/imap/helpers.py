"""Shared helpers for the IMAP core tests: connections in a given state, the client and
server cores back to back (h11's ConnectionPair), and feeding bytes whole, byte by byte
and with trailing data (h11's ``tr()``)."""

from __future__ import annotations

from reference.imap import responses as r
from reference.imap.client_connection import NEED_DATA, ClientConnection
from reference.imap.commands import (
    Authenticate,
    AuthenticateResponse,
    Command,
    ConnectionClosed,
    Event,
    Idle,
    IdleDone,
    Select,
)
from reference.imap.connection import ServerConnection
from reference.imap.limits import ImapLimits
from reference.imap.responses import ImapRemoteProtocolError, StatusResponse
from reference.imap.states import NOT_AUTHENTICATED_COMMANDS, SELECTED_COMMANDS, State

REV1 = ("IMAP4rev1",)                     # modified UTF-7, synchronizing literals only
REV2 = ("IMAP4rev2",)                     # UTF-8, LITERAL- (RFC 9051 §4.3)
REV1_LITERAL_PLUS = ("IMAP4rev1", "LITERAL+")

__all__ = ["NEED_DATA", "REV1", "REV1_LITERAL_PLUS", "REV2"]


def greeting(capabilities: tuple[str, ...], *, preauth: bool) -> StatusResponse:
    make = r.preauth if preauth else (lambda *a, **k: r.ok(None, *a, **k))
    return make("ready", r.ResponseCode.CAPABILITY, capabilities)


def server(state: State = State.AUTHENTICATED, capabilities: tuple[str, ...] = REV2,
           limits: ImapLimits | None = None, *, tls_active: bool = False) -> ServerConnection:
    """A server core in ``state``, reached through the responses it sent."""
    conn = ServerConnection(limits, tls_active=tls_active)
    conn.send(greeting(capabilities, preauth=state is not State.NOT_AUTHENTICATED))
    if state is State.SELECTED:
        conn.receive_data(b"s0 SELECT INBOX\r\n")
        assert conn.next_event() == Select("s0", "INBOX")
        conn.send(r.ok("s0", "selected", r.ResponseCode.READ_WRITE))
    assert conn.state is state
    return conn


def pair(state: State = State.AUTHENTICATED, capabilities: tuple[str, ...] = REV2
         ) -> tuple[ServerConnection, ClientConnection]:
    """A server core and a client core that have seen the same exchange."""
    srv = ServerConnection()
    cli = ClientConnection()
    hello = greeting(capabilities, preauth=state is not State.NOT_AUTHENTICATED)
    cli.receive_data(srv.send(hello))
    assert cli.next_event() == hello
    if state is State.SELECTED:
        assert transfer(srv, cli, Select("s0", "INBOX")) == Select("s0", "INBOX")
        answer(srv, cli, r.ok("s0", "selected"))
    assert srv.state is state and cli.state is state
    return srv, cli


def state_for(command: Command) -> State:
    """A state in which ``command`` is valid (RFC 9051 §6.1-6.4)."""
    if type(command) in NOT_AUTHENTICATED_COMMANDS:
        return State.NOT_AUTHENTICATED
    if type(command) in SELECTED_COMMANDS:
        return State.SELECTED
    return State.AUTHENTICATED


def transfer(srv: ServerConnection, cli: ClientConnection,
             command: Command | AuthenticateResponse | IdleDone) -> Event:
    """Send ``command`` from the client core to the server core, relaying the "+"
    continuations the server core emits for synchronizing literals (RFC 9051 §4.3)."""
    srv.receive_data(cli.send(command))
    for _ in range(100):
        event = srv.next_event()
        if event is not NEED_DATA:
            assert not cli.data_to_send()
            return event
        cli.receive_data(srv.data_to_send())
        assert cli.next_event() is NEED_DATA       # the "+" is consumed by the client core
        sent = cli.data_to_send()
        assert sent, "the client core has nothing more to send"
        srv.receive_data(sent)
    raise AssertionError("no event after 100 continuations")


def answer(srv: ServerConnection, cli: ClientConnection, response: r.Response) -> r.Response:
    """Send ``response`` from the server core and read it with the client core."""
    cli.receive_data(srv.send(response))
    event = cli.next_event()
    assert not isinstance(event, ConnectionClosed) and event is not NEED_DATA
    return event


def events(conn: ServerConnection, data: bytes = b"", *, exchanges: bool = True
           ) -> list[object]:
    """Feed ``data`` and collect events until NEED_DATA, sending each refusal the core
    raises (as the adapter must) and recording it as ``("error", response)``; commands
    are completed with a tagged OK; IDLE and AUTHENTICATE are continued ("+") when
    ``exchanges``, completed at once otherwise."""
    if data:
        conn.receive_data(data)
    out: list[object] = []
    current = ""
    for _ in range(1000):
        try:
            event = conn.next_event()
        except ImapRemoteProtocolError as error:
            assert error.response is not None
            out.append(("error", error.response))
            conn.send(error.response)
            continue
        if event is NEED_DATA:
            return out
        out.append(event)
        if isinstance(event, ConnectionClosed):
            return out
        if not isinstance(event, (IdleDone, AuthenticateResponse)):
            current = event.tag
        if isinstance(event, (Idle, Authenticate)) and not exchanges:
            conn.send(r.ok(current, "done"))
        elif isinstance(event, Idle):
            conn.send(r.Continuation("idling"))
        elif isinstance(event, Authenticate):
            conn.send(r.Continuation(data=b""))
        elif isinstance(event, (IdleDone, AuthenticateResponse)):
            conn.send(r.ok(current, "done"))
        else:
            conn.send(r.ok(current, "done"))
    raise AssertionError("no NEED_DATA after 1000 events")


def fed_three_ways(make: object, data: bytes) -> list[list[object]]:
    """The events of ``data`` fed whole, byte by byte, and followed by a NOOP (h11's
    ``tr()``); the NOOP's event is dropped from the last."""
    assert callable(make)
    whole = events(make(), data, exchanges=False)
    conn = make()
    by_byte: list[object] = []
    for index in range(len(data)):
        by_byte += events(conn, data[index:index + 1], exchanges=False)
    trailing = events(make(), data + b"zz NOOP\r\n", exchanges=False)
    assert trailing and getattr(trailing[-1], "tag", None) == "zz"
    return [whole, by_byte, trailing[:-1]]
