"""Socket details every listener shares.

TCP_NODELAY (DESIGN principle 7): small replies must go out at once instead of waiting on
Nagle's algorithm and the peer's delayed ACK (measured at ~40 ms per reply on loopback,
../shared/peers/README.md). Both event loops we run on set it on every accepted TCP
socket themselves (asyncio since Python 3.6, uvloop likewise); tests/test_listeners.py
checks that this stays true, so the listeners do not set it a second time.
"""

from __future__ import annotations

import functools
import ipaddress


@functools.lru_cache(maxsize=1024)
def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False
