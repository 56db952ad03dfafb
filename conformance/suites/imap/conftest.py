"""Fixtures of the IMAP suite, on top of the plugin's (``imap_factory``, ``accounts``):

- ``session``: logged in as the first account; when the target offers both IMAP4rev1 and
  IMAP4rev2, ``ENABLE IMAP4rev2`` is done first (RFC 9051 Appendix A: "an IMAP client that
  wants to use IMAP4rev2 MUST issue an "ENABLE IMAP4rev2" command"), so a rev2 target is
  judged by RFC 9051 and a rev1-only target by the RFC 3501 rules the tests share;
- ``rev1_session``: logged in, nothing enabled (an IMAP4rev1 client, RFC 9051 Appendix E);
- ``scratch``: mailboxes created through the protocol, deleted after the test;
- ``loaded``: a scratch mailbox with the three known messages, selected in ``session``;
- ``another``: more sessions of the same account (concurrency, IDLE).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from conformance.drivers.imap import ImapDriver
from conformance.suites.imap import messages
from conformance.suites.imap.support import Loaded, Scratch, expect_ok, load
from conformance.targets import Account


def open_session(factory: Callable[..., ImapDriver], account: Account | None = None, *,
                 rev2: bool = True) -> ImapDriver:
    driver = factory(login=True, account=account)
    caps = driver.capabilities
    if rev2 and "IMAP4REV2" in caps and "IMAP4REV1" in caps:
        expect_ok(driver.command("ENABLE IMAP4rev2"), "ENABLE IMAP4rev2")
    return driver


def rev2_mode(driver: ImapDriver) -> bool:
    """Whether the server must answer this connection by RFC 9051 (not RFC 3501)."""
    caps = driver.capabilities
    return "IMAP4REV2" in driver.enabled or ("IMAP4REV2" in caps and "IMAP4REV1" not in caps)


@pytest.fixture
def session(imap_factory: Callable[..., ImapDriver]) -> ImapDriver:
    return open_session(imap_factory)


@pytest.fixture
def rev1_session(imap_factory: Callable[..., ImapDriver]) -> ImapDriver:
    return open_session(imap_factory, rev2=False)


@pytest.fixture
def another(imap_factory: Callable[..., ImapDriver]) -> Callable[[], ImapDriver]:
    """``another()``: one more session of the first account (rev2 enabled as in
    ``session``)."""
    return lambda: open_session(imap_factory)


@pytest.fixture
def scratch(imap_factory: Callable[..., ImapDriver]) -> Iterator[Scratch]:
    box = Scratch(lambda: imap_factory(login=True))
    yield box
    box.cleanup()


# The three known messages and the flags they are APPENDed with.
KNOWN = (
    (messages.SIMPLE, ("\\Flagged",)),
    (messages.DEFAULTS, ("\\Seen",)),
    (messages.MULTIPART, ()),
)


@pytest.fixture
def loaded(session: ImapDriver, scratch: Scratch) -> Loaded:
    """A scratch mailbox holding SIMPLE (\\Flagged), DEFAULTS (\\Seen) and MULTIPART (no
    flags), in that order, selected in ``session``."""
    name = scratch.create(session, "loaded")
    return load(session, name, KNOWN)
