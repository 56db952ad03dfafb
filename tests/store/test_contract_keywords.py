"""The store contract, keyword spelling: a keyword keeps the spelling it was first used
with in the account (normalise.py, "Keywords"), and every later use in any case is the
same keyword (RFC 8621 §4.1.1: "a keyword is a case-insensitive string"; RFC 9051 §9:
"Unless otherwise noted, all alphabetic characters are case insensitive"). System flags
and the keywords RFC 9051 §2.3.2 defines keep their RFC spelling.
Written against the MailStore interface only."""

from __future__ import annotations

from reference.store.interface import Account, Delivery, MailboxId, MailStore, ModSeq, Uid

from .conftest import (
    assert_counters_exact,
    deliver,
    mailbox_named,
    message_bytes,
    new_message,
)

SEEN, FLAGGED, DELETED = "\\Seen", "\\Flagged", "\\Deleted"


async def flags(store: MailStore, mailbox_id: MailboxId, *uids: int) -> list[frozenset[str]]:
    return [entry.flags for entry in await store.mailbox_entries(
        mailbox_id, [Uid(uid) for uid in uids])]


async def inbox_with(store: MailStore, account: Account, count: int) -> MailboxId:
    for i in range(count):
        await deliver(store, account.id, raw=message_bytes(f"message {i}"))
    return (await mailbox_named(store, account.id, "INBOX")).id


async def test_a_keyword_keeps_the_spelling_it_was_first_used_with(
        store: MailStore, alice: Account) -> None:
    """IMAP clients find their keywords by their own spelling (Thunderbird "$Label1",
    Apple Mail "$MailFlagBit0", "NonJunk"): STORE answers with it, and it is what the
    message has, through a mailbox and on its own (RFC 9051 §6.4.6: FETCH FLAGS)."""
    inbox = await inbox_with(store, alice, 1)
    update = await store.update_flags(
        inbox, [Uid(1)], add=frozenset({"$Label1", "$MailFlagBit0", "NonJunk"}))
    assert [entry.flags for entry in update.entries] == [
        {"$Label1", "$MailFlagBit0", "NonJunk"}]
    assert await flags(store, inbox, 1) == [{"$Label1", "$MailFlagBit0", "NonJunk"}]
    delivered = await deliver(store, alice.id, keywords=frozenset({"$Work", SEEN}))
    message = await store.get_message(delivered.message_id)
    assert message is not None and message.keywords == {"$Work", SEEN}


async def test_a_second_spelling_maps_to_the_first(store: MailStore, alice: Account) -> None:
    """RFC 8621 §4.1.1: keywords are case-insensitive, so "$LABEL" after "$Label" is the
    same keyword: a message that has it is unchanged (RFC 7162 §3.1: setting a set flag
    "SHOULD NOT change the mod-sequence"), others get the first spelling, deliveries
    too, and no message ever holds two spellings."""
    inbox = await inbox_with(store, alice, 2)
    first = await store.update_flags(inbox, [Uid(1)], add=frozenset({"$Label"}))
    second = await store.update_flags(inbox, [Uid(1), Uid(2)], add=frozenset({"$LABEL"}))
    assert [(entry.uid, entry.flags) for entry in second.entries] == [
        (1, {"$Label"}), (2, {"$Label"})]
    assert second.entries[0].modseq == first.modseq          # message 1 did not change
    assert second.entries[1].modseq == second.modseq
    delivered = await deliver(store, alice.id, keywords=frozenset({"$label", "$lAbEl"}))
    assert await flags(store, inbox, delivered.uid) == [{"$Label"}]
    again = await store.update_flags(inbox, [Uid(1)], add=frozenset({"$label", "$LABEL"}))
    assert again.modseq is None and [entry.flags for entry in again.entries] == [{"$Label"}]
    await assert_counters_exact(store, alice.id)


async def test_the_first_spelling_in_one_delivery_is_the_accounts(
        store: MailStore, alice: Account) -> None:
    """A keyword new to the account arrives with a delivery (APPEND, RFC 9051 §6.3.12
    flags): its spelling is the one the account keeps."""
    await deliver(store, alice.id, keywords=frozenset({"$Important"}))
    inbox = await inbox_with(store, alice, 1)
    update = await store.update_flags(inbox, [Uid(2)], add=frozenset({"$IMPORTANT"}))
    assert [entry.flags for entry in update.entries] == [{"$Important"}]


async def test_removing_in_another_case_removes_it(store: MailStore, alice: Account) -> None:
    """RFC 9051 §6.4.6 -FLAGS "Remove the argument from the flags for the message",
    compared case-insensitively (RFC 8621 §4.1.1)."""
    inbox = await inbox_with(store, alice, 2)
    await store.update_flags(inbox, [Uid(1), Uid(2)], add=frozenset({"$Label", SEEN}))
    removed = await store.update_flags(inbox, [Uid(1)], remove=frozenset({"$LABEL"}))
    assert removed.modseq is not None
    assert [entry.flags for entry in removed.entries] == [{SEEN}]
    removed = await store.update_flags(inbox, [Uid(2)], remove=frozenset({"$label", "\\SEEN"}))
    assert [entry.flags for entry in removed.entries] == [frozenset()]
    await assert_counters_exact(store, alice.id)


async def test_replacing_keeps_the_accounts_spelling(store: MailStore, alice: Account) -> None:
    """RFC 9051 §6.4.6 FLAGS "Replace the flags for the message": a keyword the message
    has, named in another case, stays as it is (no change, no new MODSEQ)."""
    inbox = await inbox_with(store, alice, 1)
    before = await store.update_flags(inbox, [Uid(1)], add=frozenset({"$Label", SEEN}))
    replaced = await store.update_flags(inbox, [Uid(1)],
                                        replace=frozenset({"$LABEL", "\\seen"}))
    assert replaced.modseq is None
    assert [(entry.flags, entry.modseq) for entry in replaced.entries] == [
        ({"$Label", SEEN}, before.modseq)]


async def test_system_flags_and_registered_keywords_keep_their_rfc_spelling(
        store: MailStore, alice: Account) -> None:
    """RFC 9051 §2.3.2: the system flags and the keywords it defines ($Forwarded,
    $MDNSent, $Junk, $NotJunk, $Phishing) have one spelling, whatever case a client
    uses first; JMAP's "$seen" is \\Seen (RFC 8621 §4.1.1)."""
    inbox = await inbox_with(store, alice, 1)
    update = await store.update_flags(
        inbox, [Uid(1)], add=frozenset({"\\SEEN", "\\fLaGgEd", "$junk", "$mdnsent",
                                        "$draft", "\\deleted"}))
    assert [entry.flags for entry in update.entries] == [
        {SEEN, FLAGGED, "\\Draft", "$Junk", "$MDNSent", DELETED}]


async def test_each_account_keeps_its_own_spelling(store: MailStore, alice: Account,
                                                   bob: Account) -> None:
    """The spelling is the account's: Bob's first use of a keyword is his, whatever
    Alice uses."""
    alice_inbox = await inbox_with(store, alice, 1)
    bob_inbox = await inbox_with(store, bob, 1)
    await store.update_flags(alice_inbox, [Uid(1)], add=frozenset({"$Label"}))
    update = await store.update_flags(bob_inbox, [Uid(1)], add=frozenset({"$LABEL"}))
    assert [entry.flags for entry in update.entries] == [{"$LABEL"}]
    assert await flags(store, alice_inbox, 1) == [{"$Label"}]


async def test_a_store_that_changes_nothing_registers_no_spelling(
        store: MailStore, alice: Account) -> None:
    """Only a keyword some message gets becomes the account's: a STORE to UIDs the
    mailbox does not have, or refused by UNCHANGEDSINCE (RFC 7162 §3.1.3), does not fix
    its spelling."""
    inbox = await inbox_with(store, alice, 1)
    await store.update_flags(inbox, [Uid(7)], add=frozenset({"$ghost"}))
    refused = await store.update_flags(inbox, [Uid(1)], add=frozenset({"$ghost"}),
                                       unchanged_since=ModSeq(0))
    assert refused.modified == (1,)
    update = await store.update_flags(inbox, [Uid(1)], add=frozenset({"$Ghost"}))
    assert [entry.flags for entry in update.entries] == [{"$Ghost"}]


async def test_copy_and_move_keep_the_spelling(store: MailStore, alice: Account) -> None:
    """RFC 9051 §6.4.7: "The flags and internal date of the message(s) SHOULD be
    preserved in the copy" -- in the spelling they have."""
    inbox = await inbox_with(store, alice, 2)
    archive = (await mailbox_named(store, alice.id, "Archive")).id
    await store.update_flags(inbox, [Uid(1), Uid(2)], add=frozenset({"$Label"}))
    await store.copy_messages(inbox, [Uid(1)], archive)
    await store.copy_messages(inbox, [Uid(1)], inbox)        # a second message
    await store.move_messages(inbox, [Uid(2)], archive)
    assert await flags(store, archive, 1, 2) == [{"$Label"}, {"$Label"}]
    assert await flags(store, inbox, 1, 3) == [{"$Label"}, {"$Label"}]
    await assert_counters_exact(store, alice.id)


async def test_one_delivery_to_several_accounts_spells_for_each(
        store: MailStore, alice: Account, bob: Account) -> None:
    """One message stored for two accounts (one SMTP transaction): each copy takes its
    own account's spelling."""
    await deliver(store, alice.id, keywords=frozenset({"$Label"}))
    [to_alice, to_bob] = await store.store_message(new_message(
        Delivery(alice.id, keywords=frozenset({"$LABEL"})),
        Delivery(bob.id, keywords=frozenset({"$LABEL"}))))
    for delivered, spelling in ((to_alice, "$Label"), (to_bob, "$LABEL")):
        message = await store.get_message(delivered.message_id)
        assert message is not None and message.keywords == {spelling}
