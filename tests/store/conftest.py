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

from reference.store import open_store
from reference.store.interface import (
    Account,
    Delivery,
    Envelope,
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
