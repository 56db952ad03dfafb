"""The per-process copies SELECT starts from (reference/imap/mailbox_views.py): every
snapshot equals what the store reads afresh, whatever happened since the copy was made
(RFC 9051 §6.3.2: SELECT reports the mailbox as it is; §2.3.1.1 UIDs ascend)."""

from __future__ import annotations

import asyncio

import pytest

from reference.imap.mailbox_views import MailboxSnapshot, MailboxViews
from reference.store.interface import Account, MailboxId, MailboxNotFound, MailStore, Uid
from tests.store.conftest import deliver, mailbox_named

SEEN, DELETED = "\\Seen", "\\Deleted"


State = tuple[list[int], dict[int, frozenset[str]]]


async def fresh(store: MailStore, mailbox_id: MailboxId) -> State:
    view = await store.mailbox_view(mailbox_id)
    return [int(uid) for uid in view.uids], dict(zip(view.uids, view.flags, strict=True))


def state(snapshot: MailboxSnapshot) -> State:
    return list(snapshot.uids), dict(snapshot.columns.items())


async def test_a_kept_copy_follows_every_change_of_the_store(store: MailStore,
                                                            alice: Account) -> None:
    """New messages, flag changes and expunges made after the copy (by anyone) are in
    the next snapshot, exactly as a fresh read shows them."""
    for _ in range(5):
        await deliver(store, alice.id)
    inbox = await mailbox_named(store, alice.id, "INBOX")
    views = MailboxViews(store)
    first = await views.snapshot(inbox.id)
    assert state(first) == await fresh(store, inbox.id)
    await store.update_flags(inbox.id, [Uid(2), Uid(4)], add=frozenset({SEEN, "$Work"}))
    await store.update_flags(inbox.id, [Uid(3)], add=frozenset({DELETED}))
    await store.expunge(inbox.id)
    await deliver(store, alice.id, keywords=frozenset({"$Later"}))
    second = await views.snapshot(inbox.id)
    assert state(second) == await fresh(store, inbox.id)
    assert list(second.uids) == [1, 2, 4, 5, 6]
    assert second.mailbox.highest_modseq == (await mailbox_named(
        store, alice.id, "INBOX")).highest_modseq
    assert {"$Work", "$Later", SEEN} <= second.keywords
    # The first snapshot is the session's own: later changes did not touch it.
    assert state(first) == ([1, 2, 3, 4, 5], dict.fromkeys(range(1, 6), frozenset()))


async def test_snapshots_share_the_kept_copy_until_the_mailbox_changes(
        store: MailStore, alice: Account) -> None:
    """A SELECT of an unchanged mailbox copies nothing: its snapshot is the kept copy's
    own columns (read-only to sessions, SelectedMailbox copies before changing them).
    Moving the copy forward works on a copy, so what was handed out stays as it was."""
    await deliver(store, alice.id)
    inbox = await mailbox_named(store, alice.id, "INBOX")
    views = MailboxViews(store)
    first = await views.snapshot(inbox.id)
    second = await views.snapshot(inbox.id)
    assert second.columns is first.columns
    await store.update_flags(inbox.id, [Uid(1)], add=frozenset({"$Mine"}))
    await deliver(store, alice.id)
    third = await views.snapshot(inbox.id)
    assert state(third) == ([1, 2], {1: frozenset({"$Mine"}), 2: frozenset()})
    assert state(first) == ([1], {1: frozenset()}) and third.columns is not first.columns


async def test_once_no_session_holds_a_snapshot_the_copy_moves_forward_in_place(
        store: MailStore, alice: Account) -> None:
    """The copy on write costs a copy only while a session still reads the handed-out
    columns; once every holder is gone (the sessions logged out, or copied their own),
    the next change is applied to the same columns."""
    await deliver(store, alice.id)
    inbox = await mailbox_named(store, alice.id, "INBOX")
    views = MailboxViews(store)
    first = await views.snapshot(inbox.id)
    kept = id(first.columns)
    del first
    await deliver(store, alice.id)
    second = await views.snapshot(inbox.id)
    assert id(second.columns) == kept
    assert state(second) == ([1, 2], {1: frozenset(), 2: frozenset()})


async def test_concurrent_selects_see_one_consistent_mailbox(store: MailStore,
                                                            alice: Account) -> None:
    """Two SELECTs in flight while mail arrives: each gets a state the store had, and
    the kept copy never goes back (only a newer snapshot moves it)."""
    for _ in range(3):
        await deliver(store, alice.id)
    inbox = await mailbox_named(store, alice.id, "INBOX")
    views = MailboxViews(store)
    await views.snapshot(inbox.id)
    results = await asyncio.gather(*(views.snapshot(inbox.id) for _ in range(4)),
                                   deliver(store, alice.id), deliver(store, alice.id))
    for snapshot in results[:4]:
        assert isinstance(snapshot, MailboxSnapshot)
        uids = list(snapshot.uids)
        assert uids[:3] == [1, 2, 3] and uids == sorted(set(uids))
    assert state(await views.snapshot(inbox.id)) == await fresh(store, inbox.id)


async def test_copies_are_bounded_and_the_least_recent_is_dropped(store: MailStore,
                                                                  alice: Account) -> None:
    """Memory does not grow with the mailboxes selected: at most max_messages are kept;
    a mailbox bigger than that is read for its SELECT alone."""
    for _ in range(3):
        await deliver(store, alice.id)
    await deliver(store, alice.id, "Archive")
    inbox = await mailbox_named(store, alice.id, "INBOX")
    archive = await mailbox_named(store, alice.id, "Archive")
    views = MailboxViews(store, max_messages=3)
    await views.snapshot(inbox.id)
    assert views.held_messages == 3
    await views.snapshot(archive.id)                # INBOX makes room
    assert views.held_messages == 1
    small = MailboxViews(store, max_messages=2)
    assert state(await small.snapshot(inbox.id)) == await fresh(store, inbox.id)
    assert small.held_messages == 0


async def test_a_deleted_mailbox_is_not_found_and_forgotten(store: MailStore,
                                                            alice: Account) -> None:
    lists = await store.create_mailbox(alice.id, "Lists")
    views = MailboxViews(store)
    await views.snapshot(lists.id)
    await store.delete_mailbox(alice.id, "Lists")
    with pytest.raises(MailboxNotFound):
        await views.snapshot(lists.id)
    assert views.held_messages == 0
    again = await store.create_mailbox(alice.id, "Lists")   # a new id, a new copy
    assert again.id != lists.id and len((await views.snapshot(again.id)).uids) == 0
