"""An IMAP session driven in-process, without a socket: the commands are handed to
``ImapSession.handle`` as parsed, and what it sends is collected."""

from __future__ import annotations

from reference.imap.capabilities import Modes
from reference.imap.responses import Response
from reference.imap.session import ImapSession
from reference.imap.session_core import ImapPolicy
from reference.net.listeners import Peer
from reference.store.interface import Account, MailStore


class Collected:
    """The session's Output: responses kept in order, an IMAP4rev2 client's modes."""

    def __init__(self) -> None:
        self.sent: list[Response] = []
        self.modes = Modes(advertised=frozenset({"IMAP4REV1", "IMAP4REV2"}),
                           enabled=frozenset({"IMAP4REV2"}))

    def send(self, response: Response) -> None:
        self.sent.append(response)

    async def drain(self) -> None:
        return None


def logged_in(store: MailStore, account: Account) -> tuple[ImapSession, Collected]:
    """A session of ``account`` in the authenticated state, and what it sends."""
    out = Collected()
    session = ImapSession(store, ImapPolicy("mail.example.test"),
                          Peer("127.0.0.1", 40000, True, "test"), out)
    session.account = account            # logged in (the state table's AUTHENTICATED)
    return session, out
