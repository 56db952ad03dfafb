"""Structured, readable logs: ``key=value`` pairs (logfmt) or one JSON object per line.

Call ``log.info("smtp.accepted", extra=fields(conn=..., size=...))``; the formatter
renders the event name and the fields, so logs read well and parse well.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

_FIELDS = "rfcmail_fields"


def fields(**values: Any) -> dict[str, Any]:
    """``extra=`` for a log call: the structured fields of one event."""
    return {_FIELDS: values}


def _quote(value: Any) -> str:
    text = str(value)
    if not text or any(c in text for c in ' ="\\') or not text.isprintable():
        return json.dumps(text, ensure_ascii=False)
    return text


class _UtcSeconds:
    """RFC 3339 UTC time stamps to the millisecond, the seconds part formatted once per
    second (strftime per record was a measurable share of a log line's cost)."""

    def __init__(self) -> None:
        self._second = -1
        self._text = ""

    def __call__(self, created: float) -> str:
        second = int(created)
        if second != self._second:
            self._second = second
            self._text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self._text}.{int((created - second) * 1000):03d}Z"


class LogfmtFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__()
        self._timestamp = _UtcSeconds()

    def format(self, record: logging.LogRecord) -> str:
        parts = [f"ts={self._timestamp(record.created)}",
                 f"level={record.levelname.lower()}", f"logger={record.name}",
                 f"event={_quote(record.getMessage())}"]
        for key, value in getattr(record, _FIELDS, {}).items():
            parts.append(f"{key}={_quote(value)}")
        if record.exc_info:
            parts.append(f"exception={_quote(self.formatException(record.exc_info))}")
        return " ".join(parts)


class JsonFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__()
        self._timestamp = _UtcSeconds()

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {"ts": self._timestamp(record.created),
                                 "level": record.levelname.lower(), "logger": record.name,
                                 "event": record.getMessage()}
        entry.update(getattr(record, _FIELDS, {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(level: str = "info", fmt: str = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else LogfmtFormatter())
    root = logging.getLogger("rfcmail")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False
