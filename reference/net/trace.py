"""Per-connection protocol traces: the exact bytes in and out, with timestamps.

People debugging a client against a spec-faithful server want the conversation itself.
Each line is ``<UTC time> <connection id> C: <bytes>`` or ``S:``; bytes are shown with
Python escapes (``\\r\\n`` visible), so a bare LF or a NUL cannot hide.
"""

from __future__ import annotations

import datetime
import threading
from typing import TextIO


class TraceSink:
    """Where trace lines go: a text stream shared by every connection."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def write(self, connection: str, direction: str, data: bytes) -> None:
        now = datetime.datetime.now(datetime.UTC).isoformat(timespec="microseconds")
        lines = data.splitlines(keepends=True) or [data]
        text = "".join(f"{now} {connection} {direction}: {_show(line)}\n" for line in lines)
        with self._lock:
            self._stream.write(text)
            self._stream.flush()

    def close(self) -> None:
        self._stream.close()


def _show(line: bytes) -> str:
    return repr(line)[2:-1]


class Transcript:
    """One connection's view of the sink."""

    __slots__ = ("connection", "sink")

    def __init__(self, sink: TraceSink, connection: str) -> None:
        self.sink = sink
        self.connection = connection

    def received(self, data: bytes) -> None:
        self.sink.write(self.connection, "C", data)

    def sent(self, data: bytes) -> None:
        self.sink.write(self.connection, "S", data)

    def note(self, text: str) -> None:
        self.sink.write(self.connection, "*", text.encode())
