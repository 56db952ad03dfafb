"""What every listener shares: its settings, how it is started, the peer it accepts.

TCP_NODELAY (DESIGN principle 7): small replies must go out at once instead of waiting on
Nagle's algorithm and the peer's delayed ACK (measured at ~40 ms per reply on loopback,
../shared/peers/README.md). Both event loops we run on set it on every accepted TCP
socket themselves (asyncio since Python 3.6, uvloop likewise); tests/test_listeners.py
checks that this stays true, so the listeners do not set it a second time.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import ssl
from collections.abc import Callable
from dataclasses import dataclass

from reference.net.trace import TraceSink


@dataclass(frozen=True, slots=True)
class ListenerSettings:
    name: str                              # "smtp", "submission", "imaps", ...
    starttls_context: ssl.SSLContext | None
    implicit_tls: bool                     # else STARTTLS, when there is a context
    tls_handshake_timeout: float = 30.0
    trace: TraceSink | None = None


@dataclass(frozen=True, slots=True)
class Peer:
    """The client end of one connection, as sessions see it."""

    address: str
    port: int
    loopback: bool
    connection_id: str


@functools.lru_cache(maxsize=1024)
def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def peername(transport: asyncio.BaseTransport) -> tuple[str, int]:
    """The client's address and port ("unknown", 0 when the transport does not say)."""
    peer = transport.get_extra_info("peername")
    if isinstance(peer, tuple) and len(peer) >= 2:
        return str(peer[0]), int(peer[1])
    return "unknown", 0


async def start_listener(host: str, port: int, settings: ListenerSettings,
                         protocol_factory: Callable[[], asyncio.Protocol], *,
                         reuse_port: bool = False) -> asyncio.Server:
    loop = asyncio.get_running_loop()
    ssl_context = settings.starttls_context if settings.implicit_tls else None
    return await loop.create_server(
        protocol_factory, host, port,
        ssl=ssl_context, reuse_address=True, reuse_port=reuse_port,
        ssl_handshake_timeout=settings.tls_handshake_timeout if ssl_context else None)
