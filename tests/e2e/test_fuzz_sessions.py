"""Issue 5, server robustness: the reference server, fed hostile sessions (valid sessions
with byte-level mutations, sent at once), answers with replies and responses the
reference client parsers read, keeps serving other connections, and never acknowledges
a message it did not store (DESIGN.md principles 3 and 8).

"Acknowledged" is what a client may rely on: SMTP "250 ... Message accepted" after the
data (RFC 5321 §4.1.1.4, §6.1), IMAP "OK [APPENDUID ...]" (RFC 4315 §3). The count of
stored messages must have grown by at least as many. The ``server_log`` fixture fails the
test on any internal error or traceback.
"""

from __future__ import annotations

import socket
from contextlib import suppress

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reference.errors import RemoteProtocolError
from reference.imap.capabilities import Modes
from reference.imap.framing import ResponseReader
from reference.imap.limits import ImapLimits
from reference.imap.parser_responses import ResponseContext, parse_response
from reference.imap.responses import (
    Condition,
    ImapRemoteProtocolError,
    ResponseCode,
    StatusResponse,
)
from reference.smtp.connection import NEED_DATA, ClientConnection
from reference.wire.buffer import ReceiveBuffer
from tests.e2e.conftest import PASSWORDS, RunningServer
from tests.e2e.helpers import still_serving
from tests.fuzz.test_totality import mutated

SESSIONS = settings(max_examples=20, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])
ALICE = "alice@example.test"
MESSAGE = b"Subject: hello\r\nFrom: <s@elsewhere.test>\r\n\r\nbody line\r\n.dot line\r\n"


def exchange(address: tuple[str, int], data: bytes, timeout: float = 10.0) -> bytes:
    """Send ``data`` at once, close our side, read everything until the server closes."""
    received = bytearray()
    with socket.create_connection(address, timeout=timeout) as sock:
        with suppress(OSError):
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        with suppress(OSError):          # a reset after the server's close loses only the tail
            while chunk := sock.recv(65536):
                received += chunk
    return bytes(received)


# --- SMTP ------------------------------------------------------------------------------------

_SMTP_TRANSACTIONS = [
    b"MAIL FROM:<s@elsewhere.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n"
    + MESSAGE.replace(b"\r\n.", b"\r\n..") + b".\r\n",
    b"MAIL FROM:<s@elsewhere.test> BODY=8BITMIME\r\nRCPT TO:<alice@example.test>\r\n"
    b"BDAT " + str(len(MESSAGE)).encode() + b" LAST\r\n" + MESSAGE,
    b"RSET\r\n", b"NOOP\r\n", b"VRFY alice\r\n", b"HELP\r\n",
    b"MAIL FROM:<>\r\nRCPT TO:<team@example.test>\r\nRCPT TO:<x@nowhere.test>\r\nDATA\r\n"
    b"Subject: bounce\r\n\r\n.\r\n",
]


@st.composite
def smtp_sessions(draw: st.DrawFn) -> bytes:
    """EHLO, some transactions and other commands, QUIT (sometimes omitted)."""
    body = b"".join(draw(st.lists(st.sampled_from(_SMTP_TRANSACTIONS), min_size=1,
                                  max_size=4)))
    return b"EHLO client.example\r\n" + body + draw(st.sampled_from([b"QUIT\r\n", b""]))


def smtp_acknowledged(wire: bytes) -> int:
    """RFC 5321 §4.2: every reply the server wrote parses; the count of accepted messages."""
    client = ClientConnection(max_reply_line=512)
    client.enhanced_status_codes = True
    client.receive_data(wire[:wire.rfind(b"\r\n") + 2] if b"\r\n" in wire else b"")
    accepted = 0
    while True:
        try:
            reply = client.next_reply()
        except RemoteProtocolError as error:
            raise AssertionError(f"a reply outside RFC 5321 §4.2: {error}\n{wire!r}") from error
        if reply is NEED_DATA:
            return accepted
        assert not isinstance(reply, type(NEED_DATA))
        if reply.code == 250 and reply.lines[-1].startswith("Message accepted"):
            accepted += 1


@SESSIONS
@given(data=st.one_of(smtp_sessions(), mutated(smtp_sessions())))
def test_hostile_smtp_sessions_get_valid_replies_and_lose_nothing(
        server: RunningServer, data: bytes) -> None:
    before = server.total_messages()
    wire = exchange(server.smtp, data)
    assert wire.startswith(b"220 "), wire[:100]
    acknowledged = smtp_acknowledged(wire)
    assert server.total_messages() - before >= acknowledged, wire
    still_serving(server.smtp)


# --- IMAP ------------------------------------------------------------------------------------

_IMAP_COMMANDS = [
    b"a3 APPEND INBOX (\\Seen) {" + str(len(MESSAGE)).encode() + b"+}\r\n" + MESSAGE + b"\r\n",
    b"a4 FETCH 1:* (FLAGS ENVELOPE BODYSTRUCTURE BODY.PEEK[HEADER.FIELDS (SUBJECT)])\r\n",
    b"a5 STORE 1:* +FLAGS (\\Flagged)\r\n", b"a6 SEARCH OR SEEN (NOT DELETED) TEXT body\r\n",
    b"a7 NOOP\r\n", b"a8 STATUS INBOX (MESSAGES UIDNEXT)\r\n", b'a9 LIST "" *\r\n',
    b"b1 UID FETCH 1:* (UID RFC822.SIZE)\r\n", b"b2 CREATE x\r\nb3 DELETE x\r\n",
    b"b4 APPEND INBOX {5+}\r\nab\r\n\r\n",
]


@st.composite
def imap_sessions(draw: st.DrawFn) -> bytes:
    login = f'a1 LOGIN "{ALICE}" "{PASSWORDS[ALICE]}"\r\na2 SELECT INBOX\r\n'.encode()
    body = b"".join(draw(st.lists(st.sampled_from(_IMAP_COMMANDS), min_size=1, max_size=5)))
    return login + _IMAP_COMMANDS[0] + body + draw(st.sampled_from([b"z LOGOUT\r\n", b""]))


def imap_acknowledged(wire: bytes) -> int:
    """RFC 9051 §7: every response the server wrote parses; the count of APPENDUIDs."""
    buffer = ReceiveBuffer()
    buffer.feed(wire)
    reader = ResponseReader(ImapLimits())
    appended = 0
    while (segments := reader.read(buffer)) is not None:
        try:
            response = parse_response(segments, ResponseContext(Modes()))
        except ImapRemoteProtocolError as error:
            raise AssertionError(f"a response outside RFC 9051 §9: {error}\n{wire!r}"
                                 ) from error
        if (isinstance(response, StatusResponse) and response.tag is not None
                and response.condition is Condition.OK
                and response.code is ResponseCode.APPENDUID):
            appended += 1
    return appended


@SESSIONS
@given(data=st.one_of(imap_sessions(), mutated(imap_sessions())))
def test_hostile_imap_sessions_get_valid_responses_and_lose_nothing(
        server: RunningServer, data: bytes) -> None:
    imap = server.endpoints["imap"].host, server.endpoints["imap"].port
    before = server.total_messages()
    wire = exchange(imap, data)
    assert wire.startswith(b"* OK"), wire[:100]
    acknowledged = imap_acknowledged(wire)
    assert server.total_messages() - before >= acknowledged, wire
    still_serving(server.smtp)
    assert exchange(imap, b"z LOGOUT\r\n").startswith(b"* OK")
