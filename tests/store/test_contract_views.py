"""The store contract, what IMAP sessions read: the SELECT view, changes since a modseq
(RFC 7162 CONDSTORE/QRESYNC), \\Recent (RFC 3501 §2.3.2), full-text candidates (RFC 9051
§6.4.4) and change notification (IDLE, JMAP push). Written against the interface only."""

from __future__ import annotations

import asyncio
from array import array
from datetime import UTC, datetime

import pytest

from reference.message.headers import scan_header
from reference.message.text import SearchText
from reference.store.interface import (
    UID_ARRAY,
    Account,
    Delivery,
    MailboxId,
    MailboxNotFound,
    MailStore,
    MessageId,
    ModSeq,
    NewMessage,
    NotFound,
    StoreError,
    Uid,
)

from .conftest import assert_counters_exact, deliver, mailbox_named, message_bytes

SEEN, DELETED = "\\Seen", "\\Deleted"

# --- the SELECT view and what changed since


async def test_the_view_lists_every_message_in_uid_order(store: MailStore,
                                                         alice: Account) -> None:
    """What SELECT and UID FETCH 1:* (FLAGS) need: UID, flags as IMAP shows them here,
    MODSEQ, RFC822.SIZE, INTERNALDATE; HIGHESTMODSEQ from the same snapshot (RFC 7162
    §3.1.2.1)."""
    first = await deliver(store, alice.id, raw=b"one", keywords=frozenset({SEEN}))
    second = await deliver(store, alice.id, raw=b"second", keywords=frozenset({DELETED}))
    view = await store.mailbox_view(first.mailbox_id)
    assert (list(view.uids), view.flags) == ([1, 2], [{SEEN}, {DELETED}])
    # No int object per message: an array (MailboxView's notes).
    assert isinstance(view.uids, array) and view.uids.typecode == UID_ARRAY
    assert view.mailbox.highest_modseq == second.modseq and view.mailbox.uid_next == 3
    entries = await store.mailbox_entries(first.mailbox_id, [Uid(1), Uid(2), Uid(5)])
    assert [(e.uid, e.message_id, e.flags, e.modseq, e.size) for e in entries] == [
        (1, first.message_id, {SEEN}, first.modseq, 3),
        (2, second.message_id, {DELETED}, second.modseq, 6)]
    assert entries[0].internal_date == datetime(2025, 11, 24, 10, 0, 1, tzinfo=UTC)


async def test_changes_since_a_modseq_are_read_in_one_snapshot(store: MailStore,
                                                               alice: Account) -> None:
    """RFC 7162 §3.1.4.1 CHANGEDSINCE: messages whose MODSEQ is above the value; §3.2.10
    VANISHED: UIDs expunged after it. mailbox_changes gives both and the HIGHESTMODSEQ
    they lead to, so a session that remembers it misses nothing."""
    inbox = await mailbox_named(store, alice.id, "INBOX")
    for _ in range(4):
        await deliver(store, alice.id)
    known = (await store.mailbox_view(inbox.id)).mailbox.highest_modseq
    await store.update_flags(inbox.id, [2, 3], add=frozenset({DELETED}))
    await store.expunge(inbox.id, [Uid(3)])
    await store.update_flags(inbox.id, [1], add=frozenset({SEEN}))
    fifth = await deliver(store, alice.id)
    changes = await store.mailbox_changes(inbox.id, known)
    assert [(e.uid, e.flags) for e in changes.changed] == [
        (1, {SEEN}), (2, {DELETED}), (5, frozenset())]
    assert changes.expunged == [3]
    assert changes.mailbox.highest_modseq == fifth.modseq
    assert [(e.uid, e.message_id, e.flags, e.modseq)
            for e in await store.changed_since(inbox.id, known)] == changes.changed
    assert await store.expunged_since(inbox.id, known) == [3]
    latest = await store.mailbox_changes(inbox.id, changes.mailbox.highest_modseq)
    assert (latest.changed, latest.expunged) == ([], [])


async def test_changes_can_leave_out_the_callers_own_writes(store: MailStore,
                                                            alice: Account) -> None:
    """A session that made a write has its outcome (FlagUpdate): the changes it must
    learn are the others' -- by MODSEQ, so a message another writer changed after it
    is still there, with its latest state."""
    inbox = await mailbox_named(store, alice.id, "INBOX")
    for _ in range(3):
        await deliver(store, alice.id)
    known = (await store.mailbox_view(inbox.id)).mailbox.highest_modseq
    own = await store.update_flags(inbox.id, [1, 2], add=frozenset({SEEN}))
    other = await store.update_flags(inbox.id, [2, 3], add=frozenset({DELETED}))
    assert own.modseq is not None and other.modseq is not None
    changes = await store.mailbox_changes(inbox.id, known, excluding=[own.modseq])
    assert [(e.uid, e.flags) for e in changes.changed] == [
        (2, {SEEN, DELETED}), (3, {DELETED})]
    assert changes.mailbox.highest_modseq == other.modseq
    every = await store.mailbox_changes(inbox.id, known, excluding=[])
    assert [e.uid for e in every.changed] == [1, 2, 3]


async def test_views_of_a_deleted_mailbox_are_mailbox_not_found(store: MailStore,
                                                                alice: Account) -> None:
    lists = await store.create_mailbox(alice.id, "Lists")
    await store.delete_mailbox(alice.id, "Lists")
    for read in (store.mailbox_view(lists.id), store.changed_since(lists.id, ModSeq(0)),
                 store.expunged_since(lists.id, ModSeq(0)),
                 store.mailbox_changes(lists.id, ModSeq(0)),
                 store.mailbox_entries(lists.id, [Uid(1)]),
                 store.claim_recent(lists.id), store.expunge(lists.id),
                 store.search_candidates(lists.id, ["hello"])):
        with pytest.raises(MailboxNotFound):
            await read


# --- \Recent


async def test_each_message_is_recent_in_one_session(store: MailStore, alice: Account) -> None:
    """RFC 3501 §2.3.2 \\Recent: "This session is the first session to have been
    notified about this message; if the session is read-write, subsequent sessions will
    not see \\Recent set for this message." A read-only session looks without claiming."""
    inbox = await mailbox_named(store, alice.id, "INBOX")
    await deliver(store, alice.id)
    await deliver(store, alice.id)
    assert list(await store.claim_recent(inbox.id, claim=False)) == [1, 2]    # EXAMINE
    assert list(await store.claim_recent(inbox.id)) == [1, 2]                 # SELECT
    assert list(await store.claim_recent(inbox.id)) == []                     # the next
    await deliver(store, alice.id)
    claims = await asyncio.gather(store.claim_recent(inbox.id), store.claim_recent(inbox.id))
    assert sorted(list(claim) for claim in claims) == [[], [3]]


# --- full-text candidates


async def test_search_candidates_contain_every_substring(store: MailStore,
                                                         alice: Account) -> None:
    """RFC 9051 §6.4.4: "a message matches the key if the string is a substring of the
    associated text. The matching SHOULD be case insensitive for characters within the
    ASCII range." Several BODY/TEXT keys must all match."""
    inbox = await mailbox_named(store, alice.id, "INBOX")
    texts = ["The quick brown fox", "jumps over the lazy dog", "QUICK and LAZY",
             "nothing here", "Fuchs café Straße"]
    for text in texts:
        await deliver(store, alice.id, search_text=text, raw=text.encode())
    assert await store.search_candidates(inbox.id, ["quick"]) == {1, 3}
    assert await store.search_candidates(inbox.id, ["Lazy", "quICk"]) == {3}
    assert await store.search_candidates(inbox.id, ["own fo"]) == {1}     # mid-word, space
    assert await store.search_candidates(inbox.id, ["CAFÉ"]) == {5}       # beyond ASCII
    assert await store.search_candidates(inbox.id, ["elephant"]) == set()


async def test_strings_too_short_for_the_index_do_not_narrow(store: MailStore,
                                                             alice: Account) -> None:
    """The trigram index finds strings of 3 characters or more; shorter ones are left to
    the caller's exact check (None when nothing is left to narrow by)."""
    inbox = await mailbox_named(store, alice.id, "INBOX")
    await deliver(store, alice.id, search_text="ab cd")
    await deliver(store, alice.id, search_text="xyz")
    assert await store.search_candidates(inbox.id, ["ab"]) is None
    assert await store.search_candidates(inbox.id, []) is None
    assert await store.search_candidates(inbox.id, ["", "ab", "xyz"]) == {2}


@pytest.mark.parametrize("string", [
    'say "hi"', "a OR b", "NOT this", "x AND y", "pre*", "^start", "NEAR(a b)",
    "text: col", "-minus", "(paren", "a\x00bcd", "tab\there", "'single'", "\\back",
    "sur\udc80rogate"])
async def test_search_strings_are_literal_text(store: MailStore, alice: Account,
                                               string: str) -> None:
    """User strings are untrusted: FTS5 query syntax in them is just text."""
    inbox = await mailbox_named(store, alice.id, "INBOX")
    await deliver(store, alice.id, search_text=f"before {string} after")
    await deliver(store, alice.id, search_text="a b c x y pre start col minus paren")
    candidates = await store.search_candidates(inbox.id, [string])
    assert candidates is None or candidates == {1}


async def test_messages_without_search_text_are_always_candidates(store: MailStore,
                                                                  alice: Account) -> None:
    inbox = await mailbox_named(store, alice.id, "INBOX")
    await deliver(store, alice.id, search_text="indexed text")
    await deliver(store, alice.id)                               # no search_text
    assert await store.search_candidates(inbox.id, ["indexed"]) == {1, 2}
    assert await store.search_candidates(inbox.id, ["absent"]) == {2}


async def test_search_candidates_follow_the_mailbox(store: MailStore, alice: Account,
                                                    bob: Account) -> None:
    """Candidates are UIDs of this mailbox: copies have theirs, expunged ones none."""
    inbox = await mailbox_named(store, alice.id, "INBOX")
    archive = await mailbox_named(store, alice.id, "Archive")
    await deliver(store, alice.id, search_text="needle one")
    await deliver(store, alice.id, search_text="needle two")
    await deliver(store, bob.id, search_text="needle of bob")
    await store.copy_messages(inbox.id, [Uid(2)], archive.id)
    await store.copy_messages(inbox.id, [Uid(1)], inbox.id)      # a new message, UID 3
    assert await store.search_candidates(archive.id, ["needle"]) == {1}
    await store.update_flags(inbox.id, [1, 2], add=frozenset({DELETED}))
    await store.expunge(inbox.id)
    assert await store.search_candidates(inbox.id, ["needle"]) == {3}
    assert await store.search_candidates(archive.id, ["needle two"]) == {1}


async def test_message_texts_are_the_texts_stored_at_delivery(store: MailStore,
                                                               alice: Account) -> None:
    """What the exact check of SEARCH BODY/TEXT (RFC 9051 §6.4.4) reads instead of the
    message: the three texts stored at delivery, exactly as given; nothing for a
    message stored without (or one that does not exist). They are indexed too."""
    inbox = await mailbox_named(store, alice.id, "INBOX")
    stored = SearchText("subject: hello", "the body says hello", "filename=a.txt")
    [first] = await store.store_message(NewMessage(
        raw=b"Subject: hello\r\n\r\nthe body says hello\r\n",
        internal_date=datetime(2025, 11, 24, 10, 0, 1, tzinfo=UTC),
        deliveries=[Delivery(alice.id)], search_text=stored))
    second = await deliver(store, alice.id, search_text="nothing to see")
    third = await deliver(store, alice.id)                       # no search_text
    assert await store.message_texts([first.message_id, second.message_id,
                                      third.message_id, MessageId(9999)]) == {
        first.message_id: stored,
        second.message_id: SearchText("", "nothing to see", "")}
    assert await store.search_candidates(inbox.id, ["hello"]) == {first.uid, 3}
    assert await store.search_candidates(inbox.id, ["a.txt"]) == {first.uid, 3}


async def test_search_texts_containing_is_the_exact_check(store: MailStore,
                                                          alice: Account) -> None:
    """RFC 9051 §6.4.4 on the stored texts: BODY strings in the body text only, TEXT
    strings in the whole text (across the line end between header and body too), all
    of them; strings shorter than the index can narrow are still checked exactly;
    messages stored without text come back unchecked, for the caller."""
    inbox = await mailbox_named(store, alice.id, "INBOX")
    for text in (SearchText("subject: hello", "a body with milestones", ""),
                 SearchText("subject: milestones", "an empty body", ""),
                 SearchText("", "milestones and a bo", "name=x")):
        await store.store_message(NewMessage(
            raw=b"x", internal_date=datetime(2025, 11, 24, 10, 0, 1, tzinfo=UTC),
            deliveries=[Delivery(alice.id)], search_text=text))
    await deliver(store, alice.id)                               # no search_text: UID 4
    contains = store.search_texts_containing
    assert await contains(inbox.id, ["milestones"], []) == ({1, 3}, {4})
    assert await contains(inbox.id, [], ["milestones"]) == ({1, 2, 3}, {4})
    assert await contains(inbox.id, ["milestones", "bo"], ["name=x"]) == ({3}, {4})
    assert await contains(inbox.id, [], ["hello\na body"]) == ({1}, {4})
    assert await contains(inbox.id, ["bo"], []) is None           # nothing to narrow by


async def test_a_string_across_two_texts_is_still_a_candidate(store: MailStore,
                                                               alice: Account) -> None:
    """The texts are kept apart, but TEXT looks in them joined by line ends: a string
    spanning the header's end and the body's start must not be narrowed away."""
    inbox = await mailbox_named(store, alice.id, "INBOX")
    stored = SearchText("subject: last words", "first words of the body", "")
    [only] = await store.store_message(NewMessage(
        raw=b"x", internal_date=datetime(2025, 11, 24, 10, 0, 1, tzinfo=UTC),
        deliveries=[Delivery(alice.id)], search_text=stored))
    spanning = "last words\nfirst words"
    assert spanning in stored.whole
    assert await store.search_candidates(inbox.id, [spanning]) == {1}
    assert await store.message_texts([only.message_id]) == {only.message_id: stored}


# --- change notification


async def test_a_watcher_wakes_when_the_account_changes(store: MailStore,
                                                        alice: Account) -> None:
    """IMAP IDLE / JMAP push: a write to the account wakes its watchers with the new
    highest modseq (DESIGN principle 4: the JMAP state)."""
    async with await store.watch(alice.id) as watcher:
        start = watcher.modseq
        waiting = asyncio.ensure_future(watcher.wait())
        await asyncio.sleep(0.01)
        assert not waiting.done()
        delivered = await deliver(store, alice.id)
        assert await asyncio.wait_for(waiting, 5) == delivered.modseq > start
        # Changes made while nobody waits are reported together, once.
        await deliver(store, alice.id)
        third = await deliver(store, alice.id)
        assert await asyncio.wait_for(watcher.wait(), 5) == third.modseq


async def test_a_watcher_started_late_catches_up_from_since(store: MailStore,
                                                            alice: Account) -> None:
    """A session that read its view at modseq M and then starts to IDLE passes since=M,
    so a change between the two is not missed."""
    known = await store.highest_modseq(alice.id)
    delivered = await deliver(store, alice.id)
    watcher = await store.watch(alice.id, since=known)
    try:
        assert await asyncio.wait_for(watcher.wait(), 5) == delivered.modseq
    finally:
        watcher.close()


async def test_watchers_of_other_accounts_sleep(store: MailStore, alice: Account,
                                                bob: Account) -> None:
    watcher = await store.watch(bob.id)
    waiting = asyncio.ensure_future(watcher.wait())
    await deliver(store, alice.id)
    await asyncio.sleep(0.3)                       # several poll intervals
    assert not waiting.done()
    watcher.close()
    with pytest.raises(StoreError):
        await asyncio.wait_for(waiting, 5)


async def test_iterating_a_watcher_yields_modseqs_until_closed(store: MailStore,
                                                               alice: Account) -> None:
    watcher = await store.watch(alice.id)
    seen: list[ModSeq] = []

    async def consume() -> None:
        async for modseq in watcher:
            seen.append(modseq)
            if len(seen) == 2:
                watcher.close()

    consumer = asyncio.ensure_future(consume())
    for _ in range(2):
        await deliver(store, alice.id)
        await asyncio.sleep(0.01)
    await asyncio.wait_for(consumer, 5)
    assert seen == sorted(set(seen)) and len(seen) == 2


async def test_a_watcher_of_a_removed_account_raises_not_found(store: MailStore,
                                                               alice: Account) -> None:
    watcher = await store.watch(alice.id)
    await store.remove_account(alice.address)
    with pytest.raises(NotFound):
        await asyncio.wait_for(watcher.wait(), 5)
    watcher.close()
    with pytest.raises(NotFound):
        await store.watch(alice.id)


async def test_closing_the_store_ends_its_watchers(store: MailStore, alice: Account) -> None:
    watcher = await store.watch(alice.id)
    waiting = asyncio.ensure_future(watcher.wait())
    await asyncio.sleep(0)
    await store.close()
    with pytest.raises(StoreError):
        await asyncio.wait_for(waiting, 5)


async def test_an_append_wakes_watchers_only_once_durable(store: MailStore,
                                                          alice: Account) -> None:
    """DESIGN principle 3: what a watcher is woken for is committed: the modseq it
    reports is readable at once."""
    watcher = await store.watch(alice.id)
    waiting = asyncio.ensure_future(watcher.wait())
    await store.store_message(NewMessage(message_bytes(), datetime.now(UTC),
                                         [Delivery(alice.id, "Sent")]))
    modseq = await asyncio.wait_for(waiting, 5)
    assert await store.highest_modseq(alice.id) >= modseq
    sent = await mailbox_named(store, alice.id, "Sent")
    assert sent.highest_modseq == modseq
    watcher.close()
    await assert_counters_exact(store, alice.id)


async def test_unknown_mailbox_ids_are_mailbox_not_found(store: MailStore,
                                                         alice: Account) -> None:
    with pytest.raises(MailboxNotFound):
        await store.mailbox_view(MailboxId(12345))


async def test_message_contents_reads_bytes_and_structure_of_many(store: MailStore,
                                                                  alice: Account) -> None:
    """What FETCH BODY[] and SEARCH TEXT read: each message's bytes exactly as stored,
    with the parsed structure kept beside them (DESIGN principle 6); ids of messages
    that do not exist are left out."""
    first = await deliver(store, alice.id, raw=b"Subject: one\r\n\r\n1\r\n",
                          structure='{"kept": 1}')
    second = await deliver(store, alice.id, raw=b"Subject: two\r\n\r\n2\r\n")
    contents = await store.message_contents([first.message_id, second.message_id,
                                             MessageId(99999)])
    assert contents == {first.message_id: (b"Subject: one\r\n\r\n1\r\n", '{"kept": 1}'),
                        second.message_id: (b"Subject: two\r\n\r\n2\r\n", None)}
    assert await store.message_contents([]) == {}


# Messages whose header sections a FETCH of header fields alone must get whole: a plain
# one with a long body, one whose header is longer than any first read of it, one with
# no empty line at all (its header is the whole message, RFC 5322 §2.1), LF-only line
# ends, and an empty header (the message starts with the empty line, RFC 2046 §5.1.1).
_BODY = b"Body line of a long body.\r\n" * 4000
_HEADER_CASES = {
    "plain": b"Subject: one\r\nTo: a@example.com\r\n\r\n" + _BODY,
    "long header": b"".join(b"X-Trace-%d: %s\r\n" % (n, b"v" * 70) for n in range(400))
                   + b"Subject: last\r\n\r\n" + _BODY,
    "no empty line": b"".join(b"X-Only-%d: header\r\n" % n for n in range(2000)),
    "LF only": b"Subject: lf\nTo: a@example.com\n\n" + _BODY.replace(b"\r\n", b"\n"),
    "empty header": b"\r\n" + _BODY,
}


async def test_message_contents_headers_only_reads_whole_header_sections(
        store: MailStore, alice: Account) -> None:
    """headers_only: each message's bytes only as far as its header section and the
    empty line ending it go (a prefix of them, without the body), or all of them when
    there is no empty line; scanning the prefix finds the same fields and the same end
    as scanning the whole message (what BODY[HEADER.FIELDS (...)] answers from)."""
    delivered = {name: await deliver(store, alice.id, raw=raw)
                 for name, raw in _HEADER_CASES.items()}
    ids = [d.message_id for d in delivered.values()]
    read = await store.message_contents([*ids, MessageId(99999)], headers_only=True)
    assert set(read) == set(ids)
    for name, raw in _HEADER_CASES.items():
        prefix, structure = read[delivered[name].message_id]
        assert structure is None
        assert raw.startswith(prefix), name
        assert scan_header(prefix, 0, len(prefix), 10_000) == \
            scan_header(raw, 0, len(raw), 10_000), name
        if name == "no empty line":
            assert prefix == raw
        else:
            assert len(prefix) < len(raw), name      # the body was not read
    inbox = delivered["plain"].mailbox_id
    uids = [d.uid for d in delivered.values()]
    _, contents = await store.mailbox_contents(inbox, uids, max_octets=10 << 20,
                                               headers_only=True)
    assert contents == read


async def test_mailbox_contents_reads_entries_and_small_contents_in_one(
        store: MailStore, alice: Account) -> None:
    """A message list's FETCH: the entries of the UIDs asked for (those in the mailbox,
    in UID order, as mailbox_entries gives them) and, when their messages come to at
    most max_octets, their contents; above that, None (read them in batches)."""
    first = await deliver(store, alice.id, raw=b"Subject: one\r\n\r\n1\r\n",
                          structure='{"kept": 1}')
    second = await deliver(store, alice.id, raw=b"Subject: two\r\n\r\n22\r\n")
    inbox = first.mailbox_id
    wanted = [second.uid, first.uid, Uid(99)]
    entries, contents = await store.mailbox_contents(inbox, wanted, max_octets=1000)
    assert entries == await store.mailbox_entries(inbox, wanted)
    assert [entry.uid for entry in entries] == [first.uid, second.uid]
    assert contents == {first.message_id: (b"Subject: one\r\n\r\n1\r\n", '{"kept": 1}'),
                        second.message_id: (b"Subject: two\r\n\r\n22\r\n", None)}
    _, bare = await store.mailbox_contents(inbox, wanted, structure=False, max_octets=1000)
    assert bare == {first.message_id: (b"Subject: one\r\n\r\n1\r\n", None),
                    second.message_id: (b"Subject: two\r\n\r\n22\r\n", None)}
    total = sum(entry.size for entry in entries)
    assert (await store.mailbox_contents(inbox, wanted, max_octets=total))[1] is not None
    entries, contents = await store.mailbox_contents(inbox, wanted, max_octets=total - 1)
    assert len(entries) == 2 and contents is None
    with pytest.raises(MailboxNotFound):
        await store.mailbox_contents(MailboxId(12345), wanted, max_octets=1000)
