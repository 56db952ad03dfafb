"""Protocol errors shared by every sans-IO core (the h11 model).

``RemoteProtocolError`` means the peer broke the protocol: it carries the exact reply
the core wants sent (an SMTP ``Reply``, later an IMAP tagged BAD), so the adapter never
invents error text. ``LocalProtocolError`` means our own code tried something the state
table forbids: a bug, tested as such.
"""

from __future__ import annotations

from typing import Any


class ProtocolError(Exception):
    """Base class of every error a protocol core raises."""


class LocalProtocolError(ProtocolError):
    """Our side tried to do something illegal (send a reply in the wrong state...)."""


class RemoteProtocolError(ProtocolError):
    """The peer sent something illegal; ``reply`` is what to answer with."""

    def __init__(self, message: str, *, reply: Any = None) -> None:
        super().__init__(message)
        self.reply = reply
