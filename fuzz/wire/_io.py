"""Socket timing shared by both executors: every read is bounded, by the hang timeout
when an answer is due and by a short quiet window when one may or may not come."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from conformance.drivers._wire import Wire


@contextlib.contextmanager
def timeout(wire: Wire, seconds: float) -> Iterator[None]:
    """Reads (and writes) on ``wire`` bounded by ``seconds`` inside the block."""
    saved = wire.timeout
    wire.timeout = seconds
    with contextlib.suppress(OSError):
        wire.sock.settimeout(seconds)
    try:
        yield
    finally:
        wire.timeout = saved
        with contextlib.suppress(OSError):
            wire.sock.settimeout(saved)
