"""The IMAP session's CREATE with RFC 6154 §3's USE parameter, against the store tests'
fresh SQLite store (no socket): a refused special use leaves nothing created and says
USEATTR."""

from __future__ import annotations

import pytest

from reference.imap.commands import Create
from reference.imap.responses import Condition, ResponseCode, StatusResponse
from reference.imap.session import ImapSession
from reference.store.interface import Account, Mailbox, MailStore, SpecialUse
from tests.imap.sessions import Collected, logged_in


async def _create(session: ImapSession, out: Collected, command: Create) -> StatusResponse:
    await session.handle(command)
    tagged = [r for r in out.sent if isinstance(r, StatusResponse) and r.tag == command.tag]
    assert len(tagged) == 1, out.sent
    return tagged[0]


async def _names(store: MailStore, account: Account) -> set[str]:
    return {mailbox.name for mailbox in await store.list_mailboxes(account.id)}


async def test_create_with_a_free_special_use_sets_it(store: MailStore, alice: Account) -> None:
    account = alice
    session, out = logged_in(store, account)
    for mailbox in await store.list_mailboxes(account.id):
        if mailbox.special_use is SpecialUse.ARCHIVE:
            await store.delete_mailbox(account.id, mailbox.name)
    done = await _create(session, out, Create("a1", "Old/Mail", ("\\Archive",)))
    assert done.condition is Condition.OK, done
    created = await store.get_mailbox(account.id, "Old/Mail")
    assert created is not None and created.special_use is SpecialUse.ARCHIVE


@pytest.mark.parametrize("uses", [("\\Archive",), ("\\All",), ("\\XUnknown",),
                                  ("\\Drafts", "\\Sent")])
async def test_create_refused_for_its_use_says_useattr_and_creates_nothing(
        store: MailStore, alice: Account, uses: tuple[str, ...]) -> None:
    """RFC 6154 §3: "If the server cannot create a mailbox with the designated special use
    defined, for whatever reason, it MUST NOT create the mailbox, and MUST respond to the
    CREATE command with a tagged NO response", with USEATTR when the use is the reason.
    \\Archive is taken by the account's own Archive mailbox (one mailbox per use); the
    superior "Projects" of the refused "Projects/Old" is not made either."""
    account = alice
    session, out = logged_in(store, account)
    before = await _names(store, account)
    done = await _create(session, out, Create("a1", "Projects/Old", uses))
    assert done.condition is Condition.NO, done
    assert done.code is ResponseCode.USEATTR, done
    assert await _names(store, account) == before


async def test_create_whose_use_is_taken_meanwhile_says_useattr(
        store: MailStore, alice: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    """RFC 6154 §3 SHOULD: USEATTR when the use is why the CREATE is refused, also when
    another session took the use after this one looked (here: the look misses the
    account's Archive mailbox, the store still refuses a second one, RFC 8621 §2)."""
    session, out = logged_in(store, alice)
    mailboxes = await store.list_mailboxes(alice.id)

    async def looked_too_early(account_id: object) -> list[Mailbox]:
        return [m for m in mailboxes if m.special_use is not SpecialUse.ARCHIVE]

    monkeypatch.setattr(store, "list_mailboxes", looked_too_early)
    done = await _create(session, out, Create("a1", "Old", ("\\Archive",)))
    assert done.condition is Condition.NO, done
    assert done.code is ResponseCode.USEATTR, done
    assert await store.get_mailbox(alice.id, "Old") is None
