"""Returning free memory to the operating system once the store has been idle.

Why: the store's work allocates and frees in bursts -- a batch of messages and its index
segments, a SEARCH reading the stored texts of thousands of candidates, FETCH reading
message bodies -- and glibc's malloc keeps what is freed for reuse instead of returning
it, in every thread's arena (the event loop's, the writer's helper thread's, each reader
thread's). So the process stayed at the size of its largest burst: after filling 10,000
messages the server had 167 MiB RSS, of which SQLite held 7 MiB and Python a few;
``malloc_trim`` brought it to about 60 MiB. After a SEARCH BODY with 10,000 hits on a
30,000-message mailbox, 163 MiB.

How: every write and every pooled read notes itself (``note``); once nothing has been
noted for ``after`` seconds, one thread of the loop's default executor calls glibc's
``malloc_trim(0)`` through ctypes (which releases the GIL while it runs). Where the C
library has no malloc_trim (musl, macOS) nothing happens. Not after every write: under
load, memory would be returned and faulted in again at once (measured: filling 10,000
messages took 15% longer trimming after every batch, 4% at most once a second, nothing
measurable after half a second of quiet).
"""

from __future__ import annotations

import asyncio
import ctypes
from collections.abc import Callable

DEFAULT_RELEASE_AFTER = 0.5     # seconds without store work


def _malloc_trim() -> Callable[[], object] | None:
    """glibc's ``malloc_trim(0)``: free heap memory, in every arena, back to the
    operating system; None where the C library has none."""
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return lambda: trim(0)


RELEASE_MEMORY = _malloc_trim()


class IdleMemoryRelease:
    """Calls ``RELEASE_MEMORY`` once ``note`` has not been called for ``after`` seconds
    (None: never). Used on one event loop."""

    def __init__(self, after: float | None = DEFAULT_RELEASE_AFTER) -> None:
        self._after = None if RELEASE_MEMORY is None else after
        self._timer: asyncio.TimerHandle | None = None
        self._closed = False
        self.releases = 0       # calls made so far, for tests and benchmarks

    def note(self) -> None:
        """The store did some work: release its leftovers once it has been quiet."""
        if self._after is None or self._closed:
            return
        if self._timer is not None:
            self._timer.cancel()
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(self._after, self._release, loop)

    def _release(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = None
        assert RELEASE_MEMORY is not None
        self.releases += 1
        loop.run_in_executor(None, RELEASE_MEMORY)

    def close(self) -> None:
        """No release from now on (the store is closing)."""
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
