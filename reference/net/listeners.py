"""Socket details every listener shares."""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket


def set_nodelay(transport: asyncio.BaseTransport) -> None:
    """TCP_NODELAY: small replies go out at once instead of waiting on Nagle's algorithm
    and the peer's delayed ACK (measured at ~40 ms per reply on loopback, see
    ../shared/peers/README.md)."""
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


@functools.lru_cache(maxsize=1024)
def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False
