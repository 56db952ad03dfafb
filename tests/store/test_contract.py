"""The store contract: what every MailStore backend must do, tested through the
interface only (``store`` is parametrised by backend in conftest.py)."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta, timezone

import pytest

from reference.store import open_store
from reference.store.interface import (
    DEFAULT_MAILBOXES,
    Account,
    AccountId,
    AlreadyExists,
    BlobId,
    Change,
    ChangeKind,
    Delivery,
    Envelope,
    MailboxId,
    MailStore,
    MessageId,
    ModSeq,
    NewMessage,
    NotFound,
    ObjectType,
    SpecialUse,
    SpecialUseTaken,
    StoreError,
    ThreadKeys,
)

from .conftest import envelope_for, message_bytes, new_message

# --- domains


async def test_domains_are_stored_lower_case_and_listed(store: MailStore) -> None:
    await store.add_domain("Example.COM")
    await store.add_domain("a.example.org")
    assert [d.name for d in await store.list_domains()] == ["a.example.org", "example.com"]
    assert await store.is_local_domain("EXAMPLE.com")
    assert not await store.is_local_domain("example.net")


async def test_a_domain_cannot_be_added_twice(store: MailStore) -> None:
    await store.add_domain("example.com")
    with pytest.raises(AlreadyExists):
        await store.add_domain("EXAMPLE.COM")


@pytest.mark.parametrize("name", ["exämple.com", "", "bad domain", "-x.example", "a..b"])
async def test_a_domain_must_be_an_ascii_host_name(store: MailStore, name: str) -> None:
    with pytest.raises(StoreError):
        await store.add_domain(name)


async def test_removing_a_domain(store: MailStore) -> None:
    await store.add_domain("example.com")
    await store.remove_domain("Example.com")
    assert not await store.is_local_domain("example.com")
    with pytest.raises(NotFound):
        await store.remove_domain("example.com")


async def test_a_domain_with_accounts_cannot_be_removed(store: MailStore,
                                                        alice: Account) -> None:
    with pytest.raises(StoreError):
        await store.remove_domain("example.com")
    assert await store.is_local_domain("example.com")


# --- accounts and credentials


async def test_an_account_is_found_by_address_and_id(store: MailStore, alice: Account) -> None:
    assert alice.address == "alice@example.com"
    assert alice.display_name == "Alice"
    assert alice.created.utcoffset() is not None
    assert await store.get_account("ALICE@Example.com") == alice
    assert await store.get_account_by_id(alice.id) == alice
    assert await store.get_account("nobody@example.com") is None
    assert await store.get_account_by_id(AccountId(alice.id + 1000)) is None


async def test_addresses_are_normalised_to_lower_case(store: MailStore) -> None:
    await store.add_domain("example.com")
    account = await store.add_account("Bob.Smith@EXAMPLE.com", "c")
    assert account.address == "bob.smith@example.com"
    assert [a.address for a in await store.list_accounts()] == ["bob.smith@example.com"]


async def test_an_account_cannot_be_added_twice(store: MailStore, alice: Account) -> None:
    with pytest.raises(AlreadyExists):
        await store.add_account("Alice@example.com", "other")


async def test_an_account_needs_a_local_domain(store: MailStore) -> None:
    with pytest.raises(StoreError):
        await store.add_account("alice@example.com", "c")
    assert await store.list_accounts() == []


@pytest.mark.parametrize("address", ["alice", "@example.com", "al ice@example.com",
                                     "x" * 65 + "@example.com"])
async def test_an_account_address_must_be_valid(store: MailStore, address: str) -> None:
    await store.add_domain("example.com")
    with pytest.raises(StoreError):
        await store.add_account(address, "c")


async def test_a_new_account_has_the_default_mailboxes(store: MailStore,
                                                       alice: Account) -> None:
    mailboxes = {m.name: m for m in await store.list_mailboxes(alice.id)}
    assert {name: m.special_use for name, m in mailboxes.items()} == dict(DEFAULT_MAILBOXES)
    inbox = mailboxes["INBOX"]
    assert (inbox.messages, inbox.unseen, inbox.size, inbox.uid_next) == (0, 0, 0, 1)
    assert inbox.uid_validity > 0
    assert all(m.account_id == alice.id and m.subscribed for m in mailboxes.values())


async def test_credentials_are_kept_as_given(store: MailStore, alice: Account) -> None:
    assert await store.get_credentials("alice@EXAMPLE.com") == "{PLAIN}secret"
    await store.set_credentials("alice@example.com", "$argon2id$v=19$...")
    assert await store.get_credentials("alice@example.com") == "$argon2id$v=19$..."
    assert await store.get_credentials("nobody@example.com") is None
    with pytest.raises(NotFound):
        await store.set_credentials("nobody@example.com", "x")


async def test_removing_an_account_removes_its_mail(store: MailStore, alice: Account) -> None:
    inbox = await store.get_mailbox(alice.id, "INBOX")
    assert inbox is not None
    [delivered] = await store.store_message(new_message(Delivery(alice.id)))
    await store.remove_account("Alice@example.com")
    assert await store.get_account("alice@example.com") is None
    assert await store.get_account_by_id(alice.id) is None
    assert await store.get_credentials("alice@example.com") is None
    assert await store.list_mailboxes(alice.id) == []
    assert await store.list_messages(inbox.id) == []
    assert await store.get_message(delivered.message_id) is None
    with pytest.raises(NotFound):
        await store.highest_modseq(alice.id)
    with pytest.raises(NotFound):
        await store.remove_account("alice@example.com")


async def test_account_ids_are_not_reused(store: MailStore, alice: Account) -> None:
    await store.remove_account(alice.address)
    again = await store.add_account(alice.address, "c")
    assert again.id != alice.id


# --- aliases


async def test_aliases_are_added_listed_and_removed(store: MailStore, alice: Account) -> None:
    alias = await store.add_alias("Sales@Example.com",
                                  ["alice@example.com", "Partner@Remote.example"])
    # A remote local-part keeps its case (RFC 5321 §2.4); domains are folded.
    assert alias.address == "sales@example.com"
    assert alias.targets == ("alice@example.com", "Partner@remote.example")
    assert await store.get_alias("SALES@example.com") == alias
    catch_all = await store.add_alias("@example.com", ["alice@example.com"])
    assert await store.list_aliases() == [catch_all, alias]
    await store.remove_alias("sales@example.com")
    assert await store.get_alias("sales@example.com") is None
    with pytest.raises(NotFound):
        await store.remove_alias("sales@example.com")


async def test_alias_targets_keep_their_order(store: MailStore, alice: Account) -> None:
    targets = ["z@example.com", "a@example.com", "m@example.com"]
    alias = await store.add_alias("team@example.com", [*targets, "A@example.com"])
    assert alias.targets == tuple(targets)       # a local duplicate is dropped


async def test_an_alias_cannot_be_added_twice(store: MailStore, alice: Account) -> None:
    await store.add_alias("sales@example.com", ["alice@example.com"])
    with pytest.raises(AlreadyExists):
        await store.add_alias("SALES@example.com", ["alice@example.com"])


async def test_an_alias_needs_targets(store: MailStore, alice: Account) -> None:
    with pytest.raises(StoreError):
        await store.add_alias("sales@example.com", [])
    with pytest.raises(StoreError):
        await store.add_alias("sales@example.com", ["not an address"])


async def test_aliases_of_an_address_are_those_that_deliver_to_it(store: MailStore,
                                                                  alice: Account) -> None:
    await store.add_alias("sales@example.com", ["alice@example.com", "bob@example.com"])
    await store.add_alias("info@example.com", ["Alice@example.com"])
    await store.add_alias("support@example.com", ["bob@example.com"])
    assert await store.aliases_of("ALICE@example.com") == ["info@example.com",
                                                           "sales@example.com"]
    assert await store.aliases_of("carol@example.com") == []


# --- mailboxes


async def test_creating_a_mailbox(store: MailStore, alice: Account) -> None:
    before = await store.highest_modseq(alice.id)
    created = await store.create_mailbox(alice.id, "Projects/rfcmail")
    assert created.name == "Projects/rfcmail"
    assert created.special_use is None
    assert (created.uid_next, created.messages, created.unseen, created.size) == (1, 0, 0, 0)
    assert created.highest_modseq > before
    assert await store.get_mailbox(alice.id, "Projects/rfcmail") == created
    assert await store.get_mailbox(alice.id, "projects/RFCMAIL") is None
    changes = await store.changes_since(alice.id, before)
    assert changes == [Change(created.highest_modseq, ObjectType.MAILBOX, created.id,
                              ChangeKind.CREATED)]


async def test_a_mailbox_name_cannot_be_taken_twice(store: MailStore, alice: Account) -> None:
    await store.create_mailbox(alice.id, "Lists")
    with pytest.raises(AlreadyExists):
        await store.create_mailbox(alice.id, "Lists")
    with pytest.raises(AlreadyExists):
        await store.create_mailbox(alice.id, "inbox")


async def test_inbox_is_case_insensitive(store: MailStore, alice: Account) -> None:
    """RFC 9051 §5.1: "The case-insensitive mailbox name INBOX is a special name"."""
    assert await store.get_mailbox(alice.id, "InBox") == await store.get_mailbox(
        alice.id, "INBOX")


async def test_mailbox_names_are_compared_in_nfc(store: MailStore, alice: Account) -> None:
    """RFC 9051 §5.1: a server that converts names to NFC "MUST accept them in all IMAP
    commands that have a mailbox name parameter"."""
    created = await store.create_mailbox(alice.id, "Cafe\u0301")     # decomposed é
    assert created.name == "Caf\u00e9"
    assert await store.get_mailbox(alice.id, "Cafe\u0301") == created


async def test_one_mailbox_per_special_use(store: MailStore, alice: Account) -> None:
    """RFC 8621 §2: "there MUST NOT be two Mailboxes in the same account with the same
    role". The error says which uniqueness it was (IMAP's CREATE answers USEATTR for it,
    RFC 6154 §3), and is an AlreadyExists still."""
    with pytest.raises(SpecialUseTaken) as taken:
        await store.create_mailbox(alice.id, "Sent Items", special_use=SpecialUse.SENT)
    assert isinstance(taken.value, AlreadyExists)
    assert await store.get_mailbox(alice.id, "Sent Items") is None


async def test_creating_a_mailbox_needs_an_account(store: MailStore, alice: Account) -> None:
    with pytest.raises(NotFound):
        await store.create_mailbox(AccountId(alice.id + 1000), "Lists")
    with pytest.raises(StoreError):
        await store.create_mailbox(alice.id, "")


async def test_uid_validity_is_unique_across_names_and_accounts(store: MailStore,
                                                                bob: Account,
                                                                alice: Account) -> None:
    """RFC 9051 §2.3.1.1: UIDVALIDITY + UID "MUST NOT refer to any other message in the
    mailbox or any subsequent mailbox with the same name forever". The interface has no
    delete_mailbox yet; store-wide uniqueness is what makes re-created names safe."""
    await store.create_mailbox(alice.id, "Lists")
    await store.create_mailbox(bob.id, "Lists")
    values = [m.uid_validity for account in (alice, bob)
              for m in await store.list_mailboxes(account.id)]
    assert len(set(values)) == len(values)
    assert all(0 < v < 2**32 for v in values)


async def test_a_re_created_inbox_gets_a_new_uid_validity(store: MailStore,
                                                          alice: Account) -> None:
    """RFC 9051 §2.3.1.1 point 3: a mailbox re-created under a name must get a new
    UIDVALIDITY (here: the account, and with it INBOX, is removed and created again)."""
    old = await store.get_mailbox(alice.id, "INBOX")
    await store.remove_account(alice.address)
    again = await store.add_account(alice.address, "c")
    new = await store.get_mailbox(again.id, "INBOX")
    assert old is not None and new is not None
    assert new.uid_validity != old.uid_validity


# --- messages


async def test_storing_a_message(store: MailStore, alice: Account) -> None:
    raw = message_bytes("Greetings")
    envelope = Envelope(mail_from="carol@example.net", recipient="alice@example.com",
                        original_recipient="rfc822;alice@example.com",
                        notify=("SUCCESS", "FAILURE"), ret="HDRS", envid="QQ314159",
                        body="8BITMIME", smtputf8=True, helo="mx.example.net",
                        client_address="192.0.2.7", authenticated_as=None)
    date = datetime(2025, 11, 24, 9, 30, tzinfo=timezone(timedelta(hours=-5)))
    [delivered] = await store.store_message(NewMessage(
        raw=raw, internal_date=date,
        deliveries=[Delivery(alice.id, "INBOX", envelope, frozenset({"$Forwarded"}))]))
    inbox = await store.get_mailbox(alice.id, "INBOX")
    assert inbox is not None
    assert (delivered.account_id, delivered.mailbox_id, delivered.uid) == (alice.id,
                                                                          inbox.id, 1)
    [listed] = await store.list_messages(inbox.id)
    assert listed.id == delivered.message_id
    assert (listed.mailbox_id, listed.uid, listed.modseq) == (inbox.id, 1, delivered.modseq)
    assert listed.blob_id == BlobId("sha256:" + hashlib.sha256(raw).hexdigest())
    assert listed.size == len(raw)
    assert listed.internal_date == date
    assert listed.internal_date.utcoffset() == timedelta(hours=-5)
    assert listed.envelope == envelope
    assert listed.keywords == frozenset({"$Forwarded"})
    assert await store.read_blob(listed.blob_id) == raw
    fetched = await store.get_message(delivered.message_id)
    assert fetched is not None
    assert (fetched.mailbox_id, fetched.uid) == (None, None)
    assert fetched.envelope == envelope and fetched.thread_id == listed.thread_id
    assert await store.get_message(MessageId(delivered.message_id + 1000)) is None
    assert await store.read_blob(BlobId("sha256:" + "0" * 64)) is None


async def test_a_large_binary_message_reads_back_byte_for_byte(store: MailStore,
                                                               alice: Account) -> None:
    raw = bytes(range(256)) * 2048 + b"\r\n.\r\n\x00"          # 512 KiB and odd bytes
    [delivered] = await store.store_message(new_message(Delivery(alice.id), raw=raw))
    message = await store.get_message(delivered.message_id)
    assert message is not None and message.size == len(raw)
    assert await store.read_blob(message.blob_id) == raw


async def test_mailbox_counters_follow_deliveries(store: MailStore, alice: Account) -> None:
    first, second = message_bytes("one"), message_bytes("two, longer")
    await store.store_message(new_message(Delivery(alice.id), raw=first))
    await store.store_message(new_message(Delivery(alice.id, keywords=frozenset({"\\Seen"})),
                                          raw=second))
    inbox = await store.get_mailbox(alice.id, "INBOX")
    assert inbox is not None
    assert (inbox.messages, inbox.unseen, inbox.size, inbox.uid_next) == (
        2, 1, len(first) + len(second), 3)


async def test_keywords_are_stored_normalised(store: MailStore, alice: Account) -> None:
    """IMAP system flags and the keywords RFC 9051 §2.3.2 defines keep their RFC
    spelling; JMAP's $seen is \\Seen (RFC 8621 §4.1.1); other keywords keep the
    spelling the account first used (test_contract_keywords.py)."""
    keywords = frozenset({"\\SEEN", "$flagged", "$forwarded", "$Label1", "\\deleted"})
    await store.store_message(new_message(Delivery(alice.id, keywords=keywords)))
    inbox = await store.get_mailbox(alice.id, "INBOX")
    assert inbox is not None and inbox.unseen == 0
    [listed] = await store.list_messages(inbox.id)
    assert listed.keywords == frozenset({"\\Seen", "\\Flagged", "$Forwarded", "$Label1",
                                         "\\Deleted"})


@pytest.mark.parametrize("keyword", ["\\Recent", "\\Custom", "has space", "a]b", ""])
async def test_invalid_keywords_are_refused(store: MailStore, alice: Account,
                                            keyword: str) -> None:
    with pytest.raises(StoreError):
        await store.store_message(new_message(Delivery(alice.id,
                                                       keywords=frozenset({keyword}))))


async def test_an_internal_date_needs_a_time_zone(store: MailStore, alice: Account) -> None:
    with pytest.raises(StoreError):
        await store.store_message(NewMessage(message_bytes(), datetime(2025, 1, 1),
                                             [Delivery(alice.id)]))


async def test_a_message_needs_a_delivery(store: MailStore, alice: Account) -> None:
    with pytest.raises(StoreError):
        await store.store_message(new_message())


async def test_uids_are_strictly_ascending(store: MailStore, alice: Account) -> None:
    """RFC 9051 §2.3.1.1: "Unique identifiers are assigned in a strictly ascending
    fashion in the mailbox"."""
    uids = [(await store.store_message(new_message(Delivery(alice.id))))[0].uid
            for _ in range(5)]
    assert uids == [1, 2, 3, 4, 5]
    inbox = await store.get_mailbox(alice.id, "INBOX")
    assert inbox is not None and inbox.uid_next == 6
    assert [m.uid for m in await store.list_messages(inbox.id)] == uids


async def test_uids_are_per_mailbox(store: MailStore, alice: Account) -> None:
    [in_inbox, in_lists] = await store.store_message(new_message(
        Delivery(alice.id, "INBOX"), Delivery(alice.id, "Archive")))
    assert (in_inbox.uid, in_lists.uid) == (1, 1)
    assert in_inbox.mailbox_id != in_lists.mailbox_id


async def test_delivery_to_a_missing_mailbox_goes_to_inbox(store: MailStore,
                                                           alice: Account) -> None:
    [delivered] = await store.store_message(new_message(Delivery(alice.id, "No/Such")))
    inbox = await store.get_mailbox(alice.id, "INBOX")
    assert inbox is not None and delivered.mailbox_id == inbox.id


async def test_one_message_for_several_recipients_is_one_transaction(
        store: MailStore, alice: Account, bob: Account) -> None:
    raw = message_bytes("to both")
    results = await store.store_message(new_message(
        Delivery(alice.id, envelope=envelope_for(alice.address)),
        Delivery(bob.id, envelope=envelope_for(bob.address)), raw=raw))
    assert [d.account_id for d in results] == [alice.id, bob.id]
    messages = [await store.get_message(d.message_id) for d in results]
    assert [m.envelope.recipient for m in messages if m and m.envelope] == [
        alice.address, bob.address]
    # Identical bytes are one blob, shared.
    assert len({m.blob_id for m in messages if m}) == 1
    # A delivery that fails fails them all: nothing is stored for anyone.
    with pytest.raises(NotFound):
        await store.store_message(new_message(
            Delivery(alice.id), Delivery(AccountId(bob.id + 1000)), raw=b"x"))
    inbox = await store.get_mailbox(alice.id, "INBOX")
    assert inbox is not None and inbox.messages == 1


async def test_identical_bytes_share_one_blob(store: MailStore, alice: Account,
                                              bob: Account) -> None:
    raw = message_bytes("same")
    [first] = await store.store_message(new_message(Delivery(alice.id), raw=raw))
    [second] = await store.store_message(new_message(Delivery(bob.id), raw=raw))
    one, two = (await store.get_message(first.message_id),
                await store.get_message(second.message_id))
    assert one is not None and two is not None
    assert one.blob_id == two.blob_id
    await store.remove_account(alice.address)
    assert await store.read_blob(two.blob_id) == raw      # still used by bob's copy


# --- modseq and the change log


async def test_every_write_bumps_the_account_modseq(store: MailStore, alice: Account,
                                                    bob: Account) -> None:
    """DESIGN principle 4; RFC 7162 §3.1: the second operation's mod-sequence "MUST be
    greater than the mod-sequence of the first"."""
    start = await store.highest_modseq(alice.id)
    bob_start = await store.highest_modseq(bob.id)
    seen = []
    for _ in range(3):
        [delivered] = await store.store_message(new_message(Delivery(alice.id)))
        seen.append(delivered.modseq)
        assert await store.highest_modseq(alice.id) == delivered.modseq
    assert seen == sorted(set(seen)) and seen[0] > start
    inbox = await store.get_mailbox(alice.id, "INBOX")
    assert inbox is not None and inbox.highest_modseq == seen[-1]
    assert await store.highest_modseq(bob.id) == bob_start      # per account


async def test_changes_since_lists_later_changes_in_order(store: MailStore,
                                                          alice: Account) -> None:
    start = await store.highest_modseq(alice.id)
    [first] = await store.store_message(new_message(Delivery(alice.id), message_id="<a@x>"))
    [reply] = await store.store_message(new_message(Delivery(alice.id), message_id="<b@x>",
                                                    references=("<a@x>",)))
    changes = await store.changes_since(alice.id, start)
    assert changes == [
        Change(first.modseq, ObjectType.EMAIL, first.message_id, ChangeKind.CREATED),
        Change(first.modseq, ObjectType.MAILBOX, first.mailbox_id, ChangeKind.UPDATED),
        Change(first.modseq, ObjectType.THREAD, first.message_id, ChangeKind.CREATED),
        Change(reply.modseq, ObjectType.EMAIL, reply.message_id, ChangeKind.CREATED),
        Change(reply.modseq, ObjectType.MAILBOX, reply.mailbox_id, ChangeKind.UPDATED),
        Change(reply.modseq, ObjectType.THREAD, first.message_id, ChangeKind.UPDATED),
    ]
    assert await store.changes_since(alice.id, first.modseq) == changes[3:]
    assert await store.changes_since(alice.id, reply.modseq) == []
    with pytest.raises(NotFound):
        await store.changes_since(AccountId(alice.id + 1000), ModSeq(0))


# --- threads


async def test_a_reply_joins_the_thread_of_what_it_refers_to(store: MailStore,
                                                             alice: Account) -> None:
    [root] = await store.store_message(new_message(Delivery(alice.id),
                                                   message_id="<root@example.net>"))
    [reply] = await store.store_message(new_message(
        Delivery(alice.id), message_id="<r1@example.net>",
        references=("<root@example.net>",)))
    [deeper] = await store.store_message(new_message(
        Delivery(alice.id), message_id="<r2@example.net>",
        references=("<unknown@example.net>", "<r1@example.net>")))
    [other] = await store.store_message(new_message(Delivery(alice.id),
                                                    message_id="<other@example.net>"))
    threads = {d.message_id: (await store.get_message(d.message_id)).thread_id  # type: ignore[union-attr]
               for d in (root, reply, deeper, other)}
    assert threads[root.message_id] == root.message_id       # a new thread is named by
    assert threads[reply.message_id] == root.message_id      # its first message
    assert threads[deeper.message_id] == root.message_id
    assert threads[other.message_id] == other.message_id


async def test_threads_do_not_cross_accounts(store: MailStore, alice: Account,
                                             bob: Account) -> None:
    [root] = await store.store_message(new_message(Delivery(alice.id), message_id="<a@x>"))
    [reply] = await store.store_message(new_message(Delivery(bob.id), message_id="<b@x>",
                                                    references=("<a@x>",)))
    message = await store.get_message(reply.message_id)
    assert message is not None and message.thread_id == reply.message_id != root.message_id


async def test_message_ids_match_with_or_without_angle_brackets(store: MailStore,
                                                                alice: Account) -> None:
    [root] = await store.store_message(new_message(Delivery(alice.id), message_id="<a@x>"))
    [reply] = await store.store_message(new_message(
        Delivery(alice.id), raw=b"x", references=(" a@x ",)))
    message = await store.get_message(reply.message_id)
    assert message is not None and message.thread_id == root.message_id


# --- concurrency and durability


async def test_concurrent_deliveries_get_distinct_uids_and_are_durable(
        store_url: str, store: MailStore, alice: Account) -> None:
    results = await asyncio.gather(*(
        store.store_message(new_message(Delivery(alice.id), raw=f"message {i}".encode()))
        for i in range(200)))
    uids = [d.uid for [d] in results]
    modseqs = [d.modseq for [d] in results]
    assert sorted(uids) == list(range(1, 201))
    assert len(set(modseqs)) == 200
    # UID order is modseq order: both are allocated in the same transaction.
    by_uid = sorted(zip(uids, modseqs, strict=True))
    assert [m for _, m in by_uid] == sorted(modseqs)
    await store.close()
    reopened = await open_store(store_url)
    try:
        inbox = await reopened.get_mailbox(alice.id, "INBOX")
        assert inbox is not None and inbox.messages == 200 and inbox.uid_next == 201
        listed = await reopened.list_messages(inbox.id)
        assert [m.uid for m in listed] == list(range(1, 201))
        assert await reopened.highest_modseq(alice.id) == max(modseqs)
    finally:
        await reopened.close()


async def test_a_failing_write_does_not_fail_concurrent_ones(store: MailStore,
                                                             alice: Account) -> None:
    good = [store.store_message(new_message(Delivery(alice.id), raw=f"ok {i}".encode()))
            for i in range(50)]
    bad = store.store_message(new_message(Delivery(AccountId(alice.id + 1000))))
    results = await asyncio.gather(*good[:25], bad, *good[25:], return_exceptions=True)
    assert isinstance(results[25], NotFound)
    succeeded = [r for i, r in enumerate(results) if i != 25]
    assert all(isinstance(r, list) for r in succeeded)
    inbox = await store.get_mailbox(alice.id, "INBOX")
    assert inbox is not None and inbox.messages == 50
    assert sorted(m.uid for m in await store.list_messages(MailboxId(inbox.id))) == list(
        range(1, 51))


async def test_a_closed_store_refuses_work(store: MailStore, alice: Account) -> None:
    await store.close()
    with pytest.raises(StoreError):
        await store.get_account(alice.address)
    with pytest.raises(StoreError):
        await store.list_accounts()
    with pytest.raises(StoreError):
        await store.add_domain("example.org")
    await store.close()                       # closing twice is harmless


async def test_store_message_thread_keys_default(store: MailStore, alice: Account) -> None:
    """A message without a Message-ID starts its own thread."""
    [one] = await store.store_message(NewMessage(b"a", datetime.now(UTC),
                                                 [Delivery(alice.id)], ThreadKeys()))
    message = await store.get_message(one.message_id)
    assert message is not None and message.thread_id == one.message_id
