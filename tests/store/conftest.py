"""Fixtures for the store contract suite: one ``store`` per backend.

``STORE_BACKENDS`` lists the backends the contract tests run against. To add PostgreSQL:
append "postgresql" and teach ``store_url`` to create a fresh database (or schema) for
the test and return its ``postgresql://`` URL; every contract test then runs on both.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from reference.message.text import SearchText
from reference.store import open_store
from reference.store.interface import (
    Account,
    AccountId,
    Delivered,
    Delivery,
    Envelope,
    Mailbox,
    MailStore,
    NewMessage,
    ThreadKeys,
)

STORE_BACKENDS = ["sqlite"]


@pytest.fixture(params=STORE_BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a fresh, empty store lives for this test."""
    backend = request.param
    if backend == "sqlite":
        return f"sqlite://{tmp_path / 'mail.db'}"
    raise NotImplementedError(backend)


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[MailStore]:
    opened = await open_store(store_url)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def alice(store: MailStore) -> Account:
    """An account on a local domain, with its default mailboxes."""
    await store.add_domain("example.com")
    return await store.add_account("alice@example.com", "{PLAIN}secret",
                                   display_name="Alice")


@pytest.fixture
async def bob(store: MailStore, alice: Account) -> Account:
    return await store.add_account("bob@example.com", "{PLAIN}hunter2")


def message_bytes(subject: str = "Hello", *, message_id: str | None = None,
                  in_reply_to: str | None = None) -> bytes:
    """A small RFC 5322 message."""
    lines = ["From: Carol <carol@example.net>", "To: alice@example.com",
             f"Subject: {subject}", "Date: Mon, 24 Nov 2025 10:00:00 +0100"]
    if message_id:
        lines.append(f"Message-ID: {message_id}")
    if in_reply_to:
        lines.append(f"In-Reply-To: {in_reply_to}")
    return ("\r\n".join(lines) + "\r\n\r\nHi there.\r\n").encode()


def new_message(*deliveries: Delivery, raw: bytes | None = None,
                message_id: str | None = None,
                references: tuple[str, ...] = ()) -> NewMessage:
    """A NewMessage with sensible defaults, for one or more deliveries."""
    return NewMessage(
        raw=raw if raw is not None else message_bytes(message_id=message_id),
        internal_date=datetime(2025, 11, 24, 10, 0, 1, tzinfo=UTC),
        deliveries=deliveries,
        thread_keys=ThreadKeys(message_id=message_id, references=references),
    )


def envelope_for(recipient: str) -> Envelope:
    return Envelope(mail_from="carol@example.net", recipient=recipient)


async def assert_counters_exact(store: MailStore, account_id: AccountId) -> None:
    """Every mailbox's kept counters equal what its messages add up to, read in one
    snapshot (mailbox_view): MESSAGES, UNSEEN, SIZE and DELETED (RFC 9051 §6.3.11), and
    HIGHESTMODSEQ at least every message's MODSEQ (RFC 7162 §3.1.2.1: "the highest
    mod-sequence value of all messages in the mailbox"), UIDNEXT above every UID."""
    for listed in await store.list_mailboxes(account_id):
        box = listed
        entries = await store.mailbox_entries(listed.id)
        uids = [entry.uid for entry in entries]
        assert uids == sorted(set(uids)), box.name
        counted = (len(entries), sum("\\Seen" not in e.flags for e in entries),
                   sum(e.size for e in entries), sum("\\Deleted" in e.flags for e in entries))
        assert (box.messages, box.unseen, box.size, box.deleted) == counted, box.name
        assert all(entry.modseq <= box.highest_modseq for entry in entries), box.name
        assert all(uid < box.uid_next for uid in uids), box.name


async def deliver(store: MailStore, account_id: AccountId, mailbox: str = "INBOX", *,
                  keywords: frozenset[str] = frozenset(), search_text: str | None = None,
                  raw: bytes | None = None, structure: str | None = None) -> Delivered:
    """Store one message for one recipient; return where it went. ``search_text`` is
    the body text the message is indexed with (no header text)."""
    [delivered] = await store.store_message(NewMessage(
        raw=raw if raw is not None else message_bytes(),
        internal_date=datetime(2025, 11, 24, 10, 0, 1, tzinfo=UTC),
        deliveries=[Delivery(account_id, mailbox, keywords=keywords)],
        structure=structure,
        search_text=None if search_text is None else SearchText("", search_text, "")))
    return delivered


async def mailbox_named(store: MailStore, account_id: AccountId, name: str) -> Mailbox:
    found = await store.get_mailbox(account_id, name)
    assert found is not None, name
    return found
