"""The store contract, mailboxes: lookup by id, DELETE, RENAME, subscriptions, APPEND's
needs (RFC 9051 §6.3). Written against the MailStore interface only."""

from __future__ import annotations

import pytest

from reference.store.interface import (
    Account,
    AlreadyExists,
    Change,
    ChangeKind,
    Delivery,
    InboxNotDeletable,
    MailboxId,
    MailboxNotFound,
    MailStore,
    NotFound,
    ObjectType,
    StoreError,
)

from .conftest import (
    assert_counters_exact,
    deliver,
    mailbox_named,
    message_bytes,
    new_message,
)

# --- lookup


async def test_a_mailbox_is_found_by_id(store: MailStore, alice: Account) -> None:
    inbox = await mailbox_named(store, alice.id, "INBOX")
    assert await store.get_mailbox_by_id(inbox.id) == inbox
    assert await store.get_mailbox_by_id(MailboxId(inbox.id + 1000)) is None


# --- DELETE


async def test_deleting_a_mailbox_destroys_the_messages_only_it_held(
        store: MailStore, alice: Account) -> None:
    """RFC 9051 §6.3.5: "all messages in that mailbox are removed by the DELETE command";
    a message also in another mailbox stays there (it loses a mailbox)."""
    lists = await store.create_mailbox(alice.id, "Lists")
    only = await deliver(store, alice.id, "Lists", raw=message_bytes("only here"))
    shared = await deliver(store, alice.id, "Lists", raw=message_bytes("shared"))
    [(_, archived_uid)] = await store.copy_messages(
        lists.id, [shared.uid], (await mailbox_named(store, alice.id, "Archive")).id)
    before = await store.highest_modseq(alice.id)
    only_message = await store.get_message(only.message_id)
    assert only_message is not None
    await store.delete_mailbox(alice.id, "Lists")
    assert await store.get_mailbox(alice.id, "Lists") is None
    assert await store.get_mailbox_by_id(lists.id) is None
    assert await store.get_message(only.message_id) is None
    assert await store.read_blob(only_message.blob_id) is None       # collected
    assert await store.get_message(shared.message_id) is not None
    archive = await store.mailbox_view((await mailbox_named(store, alice.id, "Archive")).id)
    assert list(archive.uids) == [archived_uid]
    changes = await store.changes_since(alice.id, before)
    modseq = await store.highest_modseq(alice.id)
    assert modseq == before + 1
    assert Change(modseq, ObjectType.MAILBOX, lists.id, ChangeKind.DESTROYED) in changes
    assert Change(modseq, ObjectType.EMAIL, only.message_id, ChangeKind.DESTROYED) in changes
    assert Change(modseq, ObjectType.EMAIL, shared.message_id, ChangeKind.UPDATED) in changes
    assert Change(modseq, ObjectType.THREAD, only.message_id, ChangeKind.DESTROYED) in changes
    await assert_counters_exact(store, alice.id)


async def test_deleting_a_mailbox_keeps_its_inferiors(store: MailStore,
                                                      alice: Account) -> None:
    """RFC 9051 §6.3.5 MUST NOT: "The DELETE command MUST NOT remove inferior hierarchical
    names"."""
    await store.create_mailbox(alice.id, "foo")
    bar = await store.create_mailbox(alice.id, "foo/bar")
    await store.delete_mailbox(alice.id, "foo")
    assert await store.get_mailbox(alice.id, "foo/bar") == bar


async def test_inbox_cannot_be_deleted(store: MailStore, alice: Account) -> None:
    """RFC 9051 §6.3.5: "It is an error to attempt to delete INBOX"."""
    with pytest.raises(InboxNotDeletable):
        await store.delete_mailbox(alice.id, "inbox")
    assert await store.get_mailbox(alice.id, "INBOX") is not None


async def test_deleting_a_missing_mailbox_is_an_error(store: MailStore,
                                                      alice: Account) -> None:
    """RFC 9051 §6.3.5: an error to delete "a mailbox name that does not exist"."""
    with pytest.raises(MailboxNotFound):
        await store.delete_mailbox(alice.id, "No such")


async def test_a_mailbox_re_created_after_delete_gets_a_new_uid_validity(
        store: MailStore, alice: Account) -> None:
    """RFC 9051 §6.3.5: the old UIDs must not be reused by a new mailbox of that name
    "unless the new incarnation has a different unique identifier validity value"."""
    old = await store.create_mailbox(alice.id, "Lists")
    await deliver(store, alice.id, "Lists")
    await store.delete_mailbox(alice.id, "Lists")
    new = await store.create_mailbox(alice.id, "Lists")
    assert new.uid_validity != old.uid_validity and new.id != old.id


# --- RENAME


async def test_renaming_moves_inferiors_and_keeps_uids(store: MailStore,
                                                       alice: Account) -> None:
    """RFC 9051 §6.3.6 MUST: "If the name has inferior hierarchical names, then the
    inferior hierarchical names MUST also be renamed"."""
    foo = await store.create_mailbox(alice.id, "foo")
    bar = await store.create_mailbox(alice.id, "foo/bar")
    await store.create_mailbox(alice.id, "foobar")          # not an inferior
    delivered = await deliver(store, alice.id, "foo/bar")
    renamed = await store.rename_mailbox(alice.id, "foo", "zap")
    assert (renamed.id, renamed.name, renamed.uid_validity) == (foo.id, "zap", foo.uid_validity)
    names = {m.name for m in await store.list_mailboxes(alice.id)}
    assert {"zap", "zap/bar", "foobar"} <= names and not {"foo", "foo/bar"} & names
    moved = await mailbox_named(store, alice.id, "zap/bar")
    assert (moved.id, moved.uid_validity) == (bar.id, bar.uid_validity)
    entries = await store.mailbox_entries(moved.id, [delivered.uid])
    assert [(e.uid, e.message_id) for e in entries] == [
        (delivered.uid, delivered.message_id)]


async def test_renaming_to_an_existing_name_is_an_error(store: MailStore,
                                                        alice: Account) -> None:
    """RFC 9051 §6.3.6: an error to rename "to a mailbox name that already exists"
    (an inferior's new name counts too)."""
    await store.create_mailbox(alice.id, "a")
    await store.create_mailbox(alice.id, "a/x")
    await store.create_mailbox(alice.id, "b")
    await store.create_mailbox(alice.id, "c/x")
    with pytest.raises(AlreadyExists):
        await store.rename_mailbox(alice.id, "a", "b")
    with pytest.raises(AlreadyExists):
        await store.rename_mailbox(alice.id, "a", "c")     # a/x would become c/x
    with pytest.raises(AlreadyExists):
        await store.rename_mailbox(alice.id, "a", "a")
    with pytest.raises(MailboxNotFound):
        await store.rename_mailbox(alice.id, "nope", "d")
    with pytest.raises(StoreError):
        await store.rename_mailbox(alice.id, "a", "a/b")   # into its own inferior
    assert {m.name for m in await store.list_mailboxes(alice.id)} >= {"a", "a/x", "b"}


async def test_renaming_up_into_a_name_the_family_frees(store: MailStore,
                                                        alice: Account) -> None:
    """Renaming a/b to a turns a/b/b into a/b: a name the renamed family itself frees."""
    await store.create_mailbox(alice.id, "a/b")
    deep = await store.create_mailbox(alice.id, "a/b/b")
    await store.rename_mailbox(alice.id, "a/b", "a")
    assert (await mailbox_named(store, alice.id, "a/b")).id == deep.id
    assert await store.get_mailbox(alice.id, "a/b/b") is None


async def test_renaming_inbox_moves_its_messages_to_a_new_mailbox(store: MailStore,
                                                                  alice: Account) -> None:
    """RFC 9051 §6.3.6: renaming INBOX "moves all messages in INBOX to a new mailbox with
    the given name, leaving INBOX empty"; its inferiors "are unaffected"."""
    inbox = await mailbox_named(store, alice.id, "INBOX")
    child = await store.create_mailbox(alice.id, "INBOX/child")
    first = await deliver(store, alice.id, keywords=frozenset({"\\Seen"}))
    second = await deliver(store, alice.id)
    third = await deliver(store, alice.id, keywords=frozenset({"\\Deleted"}))
    await store.expunge(inbox.id, [third.uid])
    fourth = await deliver(store, alice.id)
    old_mail = await store.rename_mailbox(alice.id, "INBOX", "old-mail")
    assert old_mail.id != inbox.id and old_mail.uid_validity != inbox.uid_validity
    moved = await store.mailbox_view(old_mail.id)
    assert list(moved.uids) == [1, 2, 3]
    assert moved.flags[0] == frozenset({"\\Seen"})
    entries = await store.mailbox_entries(old_mail.id, moved.uids)
    assert [e.message_id for e in entries] == [first.message_id, second.message_id,
                                               fourth.message_id]
    after = await store.mailbox_view(inbox.id)
    assert list(after.uids) == []
    assert (after.mailbox.uid_validity, after.mailbox.uid_next) == (inbox.uid_validity, 5)
    assert await store.expunged_since(inbox.id, fourth.modseq) == [1, 2, 4]
    assert await store.get_mailbox(alice.id, "INBOX/child") == child
    await assert_counters_exact(store, alice.id)


# --- subscriptions


async def test_subscriptions_are_names_apart_from_mailboxes(store: MailStore,
                                                            alice: Account) -> None:
    """RFC 9051 §6.3.7: a subscription may name a mailbox that does not exist, and the
    server "SHOULD NOT unilaterally remove an existing mailbox name from the
    subscription list even if a mailbox by that name no longer exists"."""
    defaults = await store.list_subscriptions(alice.id)
    assert defaults == ["INBOX", "Archive", "Drafts", "Junk", "Sent", "Trash"]
    await store.subscribe(alice.id, "#news.comp.mail.mime")        # the RFC's example
    await store.subscribe(alice.id, "#news.comp.mail.mime")        # again: still OK
    await store.create_mailbox(alice.id, "Lists")
    await store.subscribe(alice.id, "Lists")
    assert (await mailbox_named(store, alice.id, "Lists")).subscribed
    await store.delete_mailbox(alice.id, "Lists")
    assert "Lists" in await store.list_subscriptions(alice.id)
    again = await store.create_mailbox(alice.id, "Lists")
    assert again.subscribed                   # the name was still subscribed
    await store.unsubscribe(alice.id, "Lists")
    await store.unsubscribe(alice.id, "Lists")                     # not subscribed: OK
    assert not (await mailbox_named(store, alice.id, "Lists")).subscribed
    assert await store.list_subscriptions(alice.id) == [    # INBOX first, then by name
        "INBOX", "#news.comp.mail.mime", *defaults[1:]]


async def test_renaming_leaves_subscriptions_alone(store: MailStore, alice: Account) -> None:
    """RFC 9051 §6.3.6: "renaming a mailbox doesn't update subscription information on
    the original name"."""
    await store.create_mailbox(alice.id, "X")
    await store.subscribe(alice.id, "X")
    renamed = await store.rename_mailbox(alice.id, "X", "Y")
    assert not renamed.subscribed
    assert "X" in await store.list_subscriptions(alice.id)


async def test_a_subscription_change_is_a_mailbox_change(store: MailStore,
                                                         alice: Account) -> None:
    """JMAP Mailbox isSubscribed (RFC 8621 §2) changes with it: the state moves."""
    lists = await store.create_mailbox(alice.id, "Lists")
    before = await store.highest_modseq(alice.id)
    await store.subscribe(alice.id, "Lists")
    assert await store.changes_since(alice.id, before) == [
        Change(before + 1, ObjectType.MAILBOX, lists.id, ChangeKind.UPDATED)]
    await store.subscribe(alice.id, "Lists")
    assert await store.highest_modseq(alice.id) == before + 1   # no change, no bump


async def test_subscriptions_need_an_account_and_a_valid_name(store: MailStore,
                                                              alice: Account) -> None:
    with pytest.raises(NotFound):
        await store.subscribe(alice.id + 1000, "X")  # type: ignore[arg-type]
    with pytest.raises(StoreError):
        await store.subscribe(alice.id, "")


# --- APPEND's needs


async def test_append_to_a_missing_mailbox_is_mailbox_not_found(store: MailStore,
                                                                alice: Account) -> None:
    """RFC 9051 §6.3.12: "If the destination mailbox does not exist, a server MUST
    return an error and MUST NOT automatically create the mailbox" (and answers
    [TRYCREATE]: MailboxNotFound tells that case apart)."""
    with pytest.raises(MailboxNotFound):
        await store.store_message(new_message(
            Delivery(alice.id, "No/Such", fallback_to_inbox=False)))
    assert await store.get_mailbox(alice.id, "No/Such") is None
    assert (await mailbox_named(store, alice.id, "INBOX")).messages == 0
    with pytest.raises(NotFound) as raised:
        await store.store_message(new_message(
            Delivery(alice.id + 1000, "INBOX", fallback_to_inbox=False)))  # type: ignore[arg-type]
    assert not isinstance(raised.value, MailboxNotFound)


async def test_append_returns_uid_and_uid_validity(store: MailStore, alice: Account) -> None:
    """RFC 4315 §3 APPENDUID needs the UIDVALIDITY and UID of the appended message."""
    sent = await mailbox_named(store, alice.id, "Sent")
    delivered = await deliver(store, alice.id, "Sent", keywords=frozenset({"\\Seen"}))
    assert (delivered.mailbox_id, delivered.uid, delivered.uid_validity) == (
        sent.id, 1, sent.uid_validity)


async def test_append_with_deleted_marks_the_membership(store: MailStore,
                                                        alice: Account) -> None:
    """\\Deleted given to APPEND is the new membership's (STATUS DELETED counts it), and
    is no keyword of the message (RFC 8621 §4.1.1)."""
    delivered = await deliver(store, alice.id, keywords=frozenset({"\\Deleted", "\\Seen"}))
    inbox = await mailbox_named(store, alice.id, "INBOX")
    assert (inbox.messages, inbox.deleted, inbox.unseen) == (1, 1, 0)
    [entry] = await store.mailbox_entries(inbox.id)
    assert entry.flags == frozenset({"\\Deleted", "\\Seen"})
    message = await store.get_message(delivered.message_id)
    assert message is not None and message.keywords == frozenset({"\\Seen"})


async def test_the_parsed_structure_is_kept_beside_the_bytes(store: MailStore,
                                                             alice: Account,
                                                             bob: Account) -> None:
    """DESIGN principle 6, parse once: the structure given with the message comes back
    as it was given; one stored copy per blob serves every message of those bytes."""
    structure = '{"type": "text/plain", "parts": [], "note": "\\u00e9"}'
    raw = message_bytes("parsed")
    first = await deliver(store, alice.id, raw=raw, structure=structure)
    second = await deliver(store, bob.id, raw=raw)
    other = await deliver(store, alice.id, raw=message_bytes("unparsed"))
    assert await store.get_structure(first.message_id) == structure
    assert await store.get_structure(second.message_id) == structure
    assert await store.get_structure(other.message_id) is None
    await store.remove_account(alice.address)
    assert await store.get_structure(second.message_id) == structure


# --- MULTIAPPEND


async def test_store_messages_appends_all_in_order(store: MailStore, alice: Account) -> None:
    """RFC 3502 §6.3.11: the messages of one MULTIAPPEND get ascending UIDs, in order."""
    delivered = await store.store_messages([
        new_message(Delivery(alice.id, "Drafts", fallback_to_inbox=False),
                    raw=message_bytes(f"draft {n}")) for n in range(3)])
    uids = [one.uid for [one] in delivered]
    assert uids == sorted(uids) and len(set(uids)) == 3
    drafts = await mailbox_named(store, alice.id, "Drafts")
    assert drafts.messages == 3


async def test_store_messages_appends_none_when_one_fails(store: MailStore,
                                                          alice: Account) -> None:
    """RFC 3502 §6.3.11 MUST: "If the server fails to append any message, it MUST NOT
    append any messages." The second message's mailbox is missing."""
    with pytest.raises(MailboxNotFound):
        await store.store_messages([
            new_message(Delivery(alice.id, "Drafts", fallback_to_inbox=False)),
            new_message(Delivery(alice.id, "Missing", fallback_to_inbox=False))])
    drafts = await mailbox_named(store, alice.id, "Drafts")
    assert drafts.messages == 0
    assert drafts.uid_next == 1
