"""What the listeners rely on the event loops for."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
import uvloop

from reference.net.listeners import is_loopback


async def accepted_socket_nodelay() -> int:
    loop = asyncio.get_running_loop()
    seen: asyncio.Future[int] = loop.create_future()

    class Probe(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            sock = transport.get_extra_info("socket")
            seen.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    server = await loop.create_server(Probe, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        return await asyncio.wait_for(seen, 5)
    finally:
        writer.close()
        server.close()


RUNNERS: dict[str, Callable[[Coroutine[Any, Any, int]], int]] = {
    "asyncio": asyncio.run, "uvloop": uvloop.run}


@pytest.mark.parametrize("loop_name", sorted(RUNNERS))
def test_accepted_sockets_have_tcp_nodelay_on_both_event_loops(loop_name: str) -> None:
    """DESIGN.md principle 7: "Sockets set TCP_NODELAY" (replies are not held back by
    Nagle's algorithm); the loops do it for every accepted connection."""
    assert RUNNERS[loop_name](accepted_socket_nodelay()) != 0


@pytest.mark.parametrize(("host", "expected"), [
    ("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("192.0.2.1", False),
    ("2001:db8::1", False), ("fe80::1%lo", False), ("not-an-address", False),
])
def test_loopback_addresses_are_recognised(host: str, expected: bool) -> None:
    assert is_loopback(host) is expected
