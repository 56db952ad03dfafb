"""The store contract, flags: STORE (RFC 9051 §6.4.6, RFC 7162 §3.1.3), EXPUNGE (RFC 9051
§6.4.3, RFC 4315 §2.1), COPY and MOVE (RFC 9051 §6.4.7, §6.4.8, RFC 6851), with the
model's decisions (interface.py): keywords per message, \\Deleted per membership.
Written against the MailStore interface only; every test ends with the counters
recomputed from the messages."""

from __future__ import annotations

import asyncio

import pytest

from reference.store.interface import (
    Account,
    Change,
    ChangeKind,
    Mailbox,
    MailboxId,
    MailboxNotFound,
    MailStore,
    ModSeq,
    ObjectType,
    StoreError,
    Uid,
)

from .conftest import assert_counters_exact, deliver, mailbox_named, message_bytes

SEEN, FLAGGED, DELETED = "\\Seen", "\\Flagged", "\\Deleted"


async def filled(store: MailStore, account: Account, count: int = 3,
                 name: str = "INBOX") -> Mailbox:
    for i in range(count):
        await deliver(store, account.id, name, raw=message_bytes(f"message {i}"))
    return await mailbox_named(store, account.id, name)


async def flags_of(store: MailStore, mailbox_id: MailboxId) -> dict[Uid, frozenset[str]]:
    view = await store.mailbox_view(mailbox_id)
    return dict(zip(view.uids, view.flags, strict=True))


# --- STORE


async def test_store_adds_removes_and_replaces_flags(store: MailStore,
                                                     alice: Account) -> None:
    """RFC 9051 §6.4.6: FLAGS replaces, +FLAGS adds, -FLAGS removes; the answer shows
    each message's flags after the update, with its new MODSEQ (RFC 7162 §3.1.3)."""
    inbox = await filled(store, alice)
    before = await store.highest_modseq(alice.id)
    added = await store.update_flags(inbox.id, [1, 2], add=frozenset({SEEN, "$Label"}))
    assert added.modseq == before + 1 and added.modified == ()
    assert [(e.uid, e.flags, e.modseq) for e in added.entries] == [
        (1, {SEEN, "$Label"}, added.modseq), (2, {SEEN, "$Label"}, added.modseq)]
    removed = await store.update_flags(inbox.id, [2], remove=frozenset({"$LABEL"}))
    assert [e.flags for e in removed.entries] == [{SEEN}]
    replaced = await store.update_flags(inbox.id, [1, 3],
                                        replace=frozenset({FLAGGED, DELETED}))
    assert [e.flags for e in replaced.entries] == [{FLAGGED, DELETED}] * 2
    assert await flags_of(store, inbox.id) == {1: {FLAGGED, DELETED}, 2: {SEEN},
                                               3: {FLAGGED, DELETED}}
    view = await store.mailbox_view(inbox.id)
    assert view.mailbox.highest_modseq == replaced.modseq
    assert (view.mailbox.unseen, view.mailbox.deleted) == (2, 2)
    await assert_counters_exact(store, alice.id)


async def test_setting_a_set_flag_changes_no_modseq(store: MailStore, alice: Account) -> None:
    """RFC 7162 §3.1: "Setting a flag that is already set, or clearing a flag that is not
    set, SHOULD NOT change the mod-sequence" (§3.1.11, to prevent spurious
    resynchronisation)."""
    inbox = await filled(store, alice)
    first = await store.update_flags(inbox.id, [1], add=frozenset({SEEN}))
    again = await store.update_flags(inbox.id, [1, 2], add=frozenset({SEEN, DELETED}),
                                     remove=frozenset({FLAGGED}))
    second = await store.update_flags(inbox.id, [1], add=frozenset({SEEN}))
    assert second.modseq is None
    assert [(e.uid, e.modseq) for e in second.entries] == [(1, again.entries[0].modseq)]
    assert again.entries[0].modseq == again.modseq != first.modseq   # \Deleted was new
    nothing = await store.update_flags(inbox.id, [3], remove=frozenset({SEEN}))
    assert nothing.modseq is None
    assert await store.highest_modseq(alice.id) == again.modseq
    assert (await mailbox_named(store, alice.id, "INBOX")).highest_modseq == again.modseq


async def test_only_the_messages_that_change_get_the_new_modseq(store: MailStore,
                                                                alice: Account) -> None:
    inbox = await filled(store, alice)
    await store.update_flags(inbox.id, [2], add=frozenset({SEEN}))
    view = await store.mailbox_view(inbox.id)
    before = await store.mailbox_entries(inbox.id)
    update = await store.update_flags(inbox.id, [1, 2, 3], add=frozenset({SEEN}))
    assert [e.modseq for e in update.entries] == [
        update.modseq, before[1].modseq, update.modseq]
    assert [e.uid for e in await store.changed_since(inbox.id, view.mailbox.highest_modseq)
            ] == [1, 3]


async def test_unchangedsince_refuses_messages_changed_after_it(store: MailStore,
                                                                alice: Account) -> None:
    """RFC 7162 §3.1.3: "if the mod-sequence of any metadata item of the message is
    greater than the specified UNCHANGEDSINCE value, then the requested operation MUST
    NOT be performed"; those messages are reported for the MODIFIED response code."""
    inbox = await filled(store, alice)
    known = (await mailbox_named(store, alice.id, "INBOX")).highest_modseq
    await store.update_flags(inbox.id, [2], add=frozenset({FLAGGED}))    # another client
    update = await store.update_flags(inbox.id, [1, 2, 3], add=frozenset({DELETED}),
                                      unchanged_since=known)
    assert update.modified == (2,)
    assert [e.uid for e in update.entries] == [1, 3]
    assert await flags_of(store, inbox.id) == {1: {DELETED}, 2: {FLAGGED}, 3: {DELETED}}
    await assert_counters_exact(store, alice.id)


async def test_unchangedsince_zero_always_fails(store: MailStore, alice: Account) -> None:
    """RFC 7162 §3.1.3: "Use of UNCHANGEDSINCE with a modification sequence of 0 always
    fails if the metadata item exists.  A system flag MUST always be considered
    existent, whether it was set or not." (Example 7.)"""
    inbox = await filled(store, alice, 1)
    update = await store.update_flags(inbox.id, [1], add=frozenset({"$MDNSent"}),
                                      unchanged_since=ModSeq(0))
    assert (update.modified, update.entries, update.modseq) == ((1,), (), None)


async def test_keywords_belong_to_the_message_in_every_mailbox(store: MailStore,
                                                               alice: Account) -> None:
    """A keyword is the message's (RFC 8621 §4.1.1 Email keywords): set through one
    mailbox, every mailbox holding it shows it, with a new MODSEQ there too (RFC 7162
    §3.1), so a session on the other mailbox learns of it (CHANGEDSINCE)."""
    inbox = await filled(store, alice, 2)
    archive = await mailbox_named(store, alice.id, "Archive")
    [(_, copy_uid)] = await store.copy_messages(inbox.id, [1], archive.id)
    archive_before = (await mailbox_named(store, alice.id, "Archive")).highest_modseq
    update = await store.update_flags(inbox.id, [1], add=frozenset({SEEN, FLAGGED}))
    [entry] = await store.changed_since(archive.id, archive_before)
    assert (entry.uid, entry.flags, entry.modseq) == (copy_uid, {SEEN, FLAGGED},
                                                      update.modseq)
    archive_now = await mailbox_named(store, alice.id, "Archive")
    assert archive_now.highest_modseq == update.modseq and archive_now.unseen == 0
    changes = await store.changes_since(alice.id, archive_before)
    assert Change(update.modseq, ObjectType.EMAIL, entry.message_id,
                  ChangeKind.UPDATED) in changes
    assert Change(update.modseq, ObjectType.MAILBOX, archive.id,       # unreadEmails
                  ChangeKind.UPDATED) in changes
    await assert_counters_exact(store, alice.id)


async def test_deleted_belongs_to_the_membership(store: MailStore, alice: Account) -> None:
    """\\Deleted marks the message in one mailbox only (RFC 8621 §4.1.1: IMAP "uses a
    delete+expunge model, which JMAP does not"): its copy elsewhere is unmarked and
    untouched."""
    inbox = await filled(store, alice, 1)
    archive = await mailbox_named(store, alice.id, "Archive")
    [(_, copy_uid)] = await store.copy_messages(inbox.id, [1], archive.id)
    archived = await store.mailbox_view(archive.id)
    update = await store.update_flags(inbox.id, [1], add=frozenset({DELETED}))
    assert await flags_of(store, inbox.id) == {1: {DELETED}}
    assert await flags_of(store, archive.id) == {copy_uid: frozenset()}
    assert await store.changed_since(archive.id, archived.mailbox.highest_modseq) == []
    assert (await mailbox_named(store, alice.id, "Archive")).highest_modseq == (
        archived.mailbox.highest_modseq)
    message = await store.get_message(update.entries[0].message_id)
    assert message is not None and DELETED not in message.keywords
    assert (await mailbox_named(store, alice.id, "INBOX")).deleted == 1
    await assert_counters_exact(store, alice.id)


async def test_store_ignores_uids_not_in_the_mailbox(store: MailStore, alice: Account) -> None:
    inbox = await filled(store, alice, 2)
    update = await store.update_flags(inbox.id, [2, 7, 0, 2**40], add=frozenset({SEEN}))
    assert [e.uid for e in update.entries] == [2]


@pytest.mark.parametrize("flags", [{"\\Recent"}, {"\\Custom"}, {"a b"}, {"x]"}])
async def test_store_refuses_flags_no_message_can_have(store: MailStore, alice: Account,
                                                       flags: set[str]) -> None:
    """RFC 3501 §2.3.2: "\\Recent can not be used as an argument in a STORE"; RFC 8621
    §4.1.1 keyword syntax."""
    inbox = await filled(store, alice, 1)
    with pytest.raises(StoreError):
        await store.update_flags(inbox.id, [1], add=frozenset(flags))


async def test_store_replaces_or_adds_not_both(store: MailStore, alice: Account) -> None:
    inbox = await filled(store, alice, 1)
    with pytest.raises(StoreError):
        await store.update_flags(inbox.id, [1], add=frozenset({SEEN}),
                                 replace=frozenset({FLAGGED}))
    with pytest.raises(MailboxNotFound):
        await store.update_flags(MailboxId(inbox.id + 1000), [1], add=frozenset({SEEN}))


# --- EXPUNGE


async def test_expunge_removes_the_deleted_and_leaves_tombstones(store: MailStore,
                                                                 alice: Account) -> None:
    """RFC 9051 §6.4.3: EXPUNGE "permanently removes all messages that have the \\Deleted
    flag set"; RFC 7162 §3.2.7: the server "MUST increment the per-mailbox
    mod-sequence" and "MUST remember the incremented mod-sequence and corresponding
    UID" of each (VANISHED)."""
    inbox = await filled(store, alice, 5)
    marked = await store.update_flags(inbox.id, [2, 4, 5], add=frozenset({DELETED}))
    assert marked.modseq is not None
    expunged = await store.expunge(inbox.id)
    assert expunged == [2, 4, 5]
    after = await store.mailbox_view(inbox.id)
    assert list(after.uids) == [1, 3]
    assert after.mailbox.highest_modseq > marked.modseq
    assert await store.expunged_since(inbox.id, marked.modseq) == [2, 4, 5]
    assert await store.expunged_since(inbox.id, after.mailbox.highest_modseq) == []
    for entry in marked.entries:                     # in no other mailbox: destroyed
        assert await store.get_message(entry.message_id) is None
    assert await store.expunge(inbox.id) == []       # nothing marked: no change
    assert await store.highest_modseq(alice.id) == after.mailbox.highest_modseq
    # RFC 9051 §2.3.1.1: UIDs are never reused.
    assert (await deliver(store, alice.id)).uid == 6
    await assert_counters_exact(store, alice.id)


async def test_uid_expunge_removes_only_the_given_deleted_messages(store: MailStore,
                                                                   alice: Account) -> None:
    """RFC 4315 §2.1: UID EXPUNGE removes the messages with \\Deleted "and UIDs that are
    included in the specified sequence set"."""
    inbox = await filled(store, alice, 4)
    await store.update_flags(inbox.id, [1, 2, 3], add=frozenset({DELETED}))
    assert await store.expunge(inbox.id, [2, 3, 4]) == [2, 3]
    assert await flags_of(store, inbox.id) == {1: {DELETED}, 4: frozenset()}
    await assert_counters_exact(store, alice.id)


async def test_expunge_keeps_a_message_that_is_in_another_mailbox(store: MailStore,
                                                                  alice: Account) -> None:
    inbox = await filled(store, alice, 1)
    archive = await mailbox_named(store, alice.id, "Archive")
    await store.copy_messages(inbox.id, [1], archive.id)
    update = await store.update_flags(inbox.id, [1], add=frozenset({DELETED}))
    message_id = update.entries[0].message_id
    assert await store.expunge(inbox.id) == [1]
    message = await store.get_message(message_id)
    assert message is not None                      # JMAP: the Email lost a mailbox
    assert await store.read_blob(message.blob_id) is not None
    changes = await store.changes_since(alice.id, update.modseq or ModSeq(0))
    assert [(c.object_type, c.object_id, c.kind) for c in changes] == [
        (ObjectType.MAILBOX, inbox.id, ChangeKind.UPDATED),
        (ObjectType.EMAIL, message_id, ChangeKind.UPDATED)]
    await assert_counters_exact(store, alice.id)


# --- COPY and MOVE


async def test_copy_returns_copyuid_pairs_and_keeps_flags_and_date(store: MailStore,
                                                                   alice: Account) -> None:
    """RFC 9051 §6.4.7: "The flags and internal date of the message(s) SHOULD be preserved
    in the copy"; RFC 4315 §3 COPYUID pairs the source UIDs with the new ones, in order.
    The copy is the same message (JMAP: the Email gains a mailbox), \\Deleted copied."""
    inbox = await filled(store, alice, 4)
    await store.update_flags(inbox.id, [2], add=frozenset({SEEN, DELETED}))
    await deliver(store, alice.id, "Archive")           # the target already has UID 1
    archive = await mailbox_named(store, alice.id, "Archive")
    pairs = await store.copy_messages(inbox.id, [4, 2, 3, 9], archive.id)
    assert pairs == [(2, 2), (3, 3), (4, 4)]
    source = {e.uid: e for e in await store.mailbox_entries(inbox.id)}
    target = await store.mailbox_view(archive.id)
    target_entries = await store.mailbox_entries(archive.id)
    for entry in target_entries[1:]:
        original = source[next(s for s, t in pairs if t == entry.uid)]
        assert (entry.message_id, entry.flags, entry.internal_date, entry.size) == (
            original.message_id, original.flags, original.internal_date, original.size)
    # RFC 7162 §3.1: the copies get a modseq above every other in the target.
    assert min(e.modseq for e in target_entries[1:]) > target_entries[0].modseq
    assert target.mailbox.uid_next == 5
    await assert_counters_exact(store, alice.id)


async def test_copy_into_the_same_mailbox_makes_new_messages(store: MailStore,
                                                             alice: Account) -> None:
    """A mailbox holds a message once (JMAP mailboxIds is a set), so a copy into a
    mailbox that has it already is a new message, with the same bytes and flags."""
    inbox = await filled(store, alice, 2)
    await store.update_flags(inbox.id, [1], add=frozenset({FLAGGED}))
    assert await store.copy_messages(inbox.id, [1, 2], inbox.id) == [(1, 3), (2, 4)]
    entries = await store.mailbox_entries(inbox.id)
    assert len({e.message_id for e in entries}) == 4
    assert entries[2].flags == {FLAGGED}
    one, copy = (await store.get_message(entries[0].message_id),
                 await store.get_message(entries[2].message_id))
    assert one is not None and copy is not None
    assert (copy.blob_id, copy.thread_id) == (one.blob_id, one.thread_id)
    await store.update_flags(inbox.id, [3], add=frozenset({SEEN}))   # its own keywords
    assert await flags_of(store, inbox.id) == {1: {FLAGGED}, 2: frozenset(),
                                               3: {FLAGGED, SEEN}, 4: frozenset()}
    await assert_counters_exact(store, alice.id)


async def test_copy_to_a_missing_mailbox_changes_nothing(store: MailStore,
                                                         alice: Account,
                                                         bob: Account) -> None:
    """RFC 9051 §6.4.7: "If the destination mailbox does not exist, a server MUST return
    an error"; "partial copy MUST NOT be done". Copies stay within one account."""
    inbox = await filled(store, alice, 2)
    before = await store.highest_modseq(alice.id)
    with pytest.raises(MailboxNotFound):
        await store.copy_messages(inbox.id, [1, 2], MailboxId(inbox.id + 1000))
    bob_inbox = await mailbox_named(store, bob.id, "INBOX")
    with pytest.raises(StoreError):
        await store.copy_messages(inbox.id, [1], bob_inbox.id)
    archive = await mailbox_named(store, alice.id, "Archive")
    assert await store.copy_messages(inbox.id, [7], archive.id) == []   # no such UID
    assert await store.highest_modseq(alice.id) == before


async def test_move_expunges_the_source_in_the_same_change(store: MailStore,
                                                           alice: Account) -> None:
    """RFC 6851 §3.3 / RFC 9051 §6.4.8: the message is "removed from the source
    mailbox" and appears in the target "as a single action"; the \\Deleted flag "MUST
    NOT be set for any message"."""
    inbox = await filled(store, alice, 3)
    trash = await mailbox_named(store, alice.id, "Trash")
    view = await store.mailbox_view(inbox.id)
    before = await store.mailbox_entries(inbox.id)
    pairs = await store.move_messages(inbox.id, [1, 3], trash.id)
    assert pairs == [(1, 1), (3, 2)]
    after = await store.mailbox_view(inbox.id)
    moved = await store.mailbox_view(trash.id)
    moved_entries = await store.mailbox_entries(trash.id)
    assert list(after.uids) == [2]
    assert await store.expunged_since(inbox.id, view.mailbox.highest_modseq) == [1, 3]
    assert after.mailbox.highest_modseq == moved.mailbox.highest_modseq   # one change
    assert [e.message_id for e in moved_entries] == [
        before[0].message_id, before[2].message_id]
    assert all(DELETED not in flags for flags in moved.flags)
    await assert_counters_exact(store, alice.id)


async def test_move_within_a_mailbox_renumbers_the_same_message(store: MailStore,
                                                                alice: Account) -> None:
    """RFC 9051 §6.4.8: moving "where the source and target mailboxes are the same" is
    allowed: a new UID, the old one expunged."""
    inbox = await filled(store, alice, 2)
    view = await store.mailbox_view(inbox.id)
    before = await store.mailbox_entries(inbox.id)
    assert await store.move_messages(inbox.id, [1], inbox.id) == [(1, 3)]
    after = await store.mailbox_entries(inbox.id)
    assert [(e.uid, e.message_id) for e in after] == [
        (2, before[1].message_id), (3, before[0].message_id)]
    assert await store.expunged_since(inbox.id, view.mailbox.highest_modseq) == [1]
    await assert_counters_exact(store, alice.id)


async def test_move_to_a_mailbox_holding_the_message_leaves_one_copy_each(
        store: MailStore, alice: Account) -> None:
    inbox = await filled(store, alice, 1)
    archive = await mailbox_named(store, alice.id, "Archive")
    await store.copy_messages(inbox.id, [1], archive.id)
    assert await store.move_messages(inbox.id, [1], archive.id) == [(1, 2)]
    assert await store.mailbox_entries(inbox.id) == []
    assert len({e.message_id for e in await store.mailbox_entries(archive.id)}) == 2
    await assert_counters_exact(store, alice.id)


async def test_concurrent_flag_changes_and_deliveries_keep_counters_exact(
        store: MailStore, alice: Account) -> None:
    inbox = await filled(store, alice, 20)
    archive = await mailbox_named(store, alice.id, "Archive")
    await store.copy_messages(inbox.id, range(1, 21), archive.id)  # type: ignore[arg-type]
    work = [store.update_flags(inbox.id, [i, i + 1], add=frozenset({SEEN, DELETED}))
            for i in range(1, 20, 3)]
    work += [store.update_flags(archive.id, [i], remove=frozenset({SEEN}))
             for i in range(1, 20, 2)]
    work += [deliver(store, alice.id) for _ in range(10)]
    work += [store.expunge(inbox.id, [i]) for i in range(1, 20, 4)]
    work += [store.move_messages(archive.id, [i], inbox.id) for i in range(2, 20, 5)]
    await asyncio.gather(*work)
    await assert_counters_exact(store, alice.id)
