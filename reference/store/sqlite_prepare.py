"""The pure part of SQLite store writes, done on the event loop before a job is queued:
validation, normalisation, hashing, serialisation. The writer's transaction then runs
only SQL (``sqlite_writes*``), and a refusal costs no transaction at all.

Keywords are validated here and given one spelling each; which spelling the account
uses for a keyword (the first it was used with) is the transaction's to decide
(``sqlite_writes_messages.account_keywords``), since only it sees the account's
keywords as they are at commit.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime

from reference.message.text import SearchText
from reference.store.interface import BlobId, ModSeq, NewMessage, StoreError, Uid
from reference.store.normalise import (
    SEEN,
    normalise_keywords,
    normalise_mailbox_name,
    normalise_message_id,
)
from reference.store.sqlite_reads import searchable_text
from reference.store.sqlite_rows import DELETED, envelope_json
from reference.store.sqlite_writes import MAX_THREAD_REFERENCES, MAX_UINT32
from reference.store.sqlite_writes_flags import PreparedFlags
from reference.store.sqlite_writes_messages import PreparedDelivery, PreparedMessage

# Hash bigger messages off the event loop (hashlib releases the GIL for large inputs).
_HASH_INLINE_LIMIT = 256 * 1024


async def prepare_message(message: NewMessage) -> PreparedMessage:
    """The pure work of store_message."""
    if not message.deliveries:
        raise StoreError("a message needs at least one delivery")
    internal_date = message.internal_date
    if internal_date.utcoffset() is None:
        # RFC 9051 §2.3.3: the internal date includes a time zone ("date-time" in §9).
        raise StoreError("internal_date must carry a time zone")
    raw = message.raw
    digest = (hashlib.sha256(raw) if len(raw) <= _HASH_INLINE_LIMIT
              else await asyncio.to_thread(hashlib.sha256, raw))
    keys = message.thread_keys
    references = [ref for ref in map(normalise_message_id, keys.references) if ref]
    deliveries = []
    for delivery in message.deliveries:
        keywords = set(normalise_keywords(delivery.keywords))
        # \Deleted is the membership's (interface.py, "Model decisions").
        deleted = DELETED in keywords
        keywords.discard(DELETED)
        deliveries.append(PreparedDelivery(
            account_id=delivery.account_id,
            mailbox=normalise_mailbox_name(delivery.mailbox),
            keywords=tuple(sorted(keywords)),
            seen=SEEN in keywords,
            deleted=deleted,
            fallback_to_inbox=delivery.fallback_to_inbox,
            envelope_json=None if delivery.envelope is None else envelope_json(
                delivery.envelope)))
    return PreparedMessage(
        raw=raw,
        blob_id=BlobId(f"sha256:{digest.hexdigest()}"),
        internal_date=internal_date.isoformat(),
        internal_date_epoch=int(internal_date.timestamp()),
        received_at=datetime.now(UTC).isoformat(),
        header_message_id=normalise_message_id(keys.message_id),
        # The nearest ancestors come last in References (RFC 5322 §3.6.4).
        references=tuple(references[-MAX_THREAD_REFERENCES:]),
        deliveries=tuple(deliveries),
        structure=message.structure,
        search_text=None if message.search_text is None else prepare_search_text(
            message.search_text))


def prepare_search_text(text: SearchText) -> SearchText:
    """The texts as the index takes them (``sqlite_reads.searchable_text``)."""
    return SearchText(searchable_text(text.header), searchable_text(text.body),
                      searchable_text(text.mime))


def prepare_uids(uids: Iterable[Uid]) -> tuple[Uid, ...]:
    """Distinct UIDs, ascending; those no UID can be (RFC 9051 §2.3.1.1: "32-bit
    unsigned non-zero values") are left out, as UIDs not in the mailbox are."""
    return tuple(sorted({Uid(int(uid)) for uid in uids if 0 < int(uid) <= MAX_UINT32}))


def prepare_flags(uids: Iterable[Uid], *, add: frozenset[str], remove: frozenset[str],
                  replace: frozenset[str] | None,
                  unchanged_since: ModSeq | None) -> PreparedFlags:
    """An update_flags request, normalised (refusing flags no message can have)."""
    if replace is not None and (add or remove):
        raise StoreError("replace the flags, or add and remove some, not both")
    if unchanged_since is not None and unchanged_since < 0:
        raise StoreError("UNCHANGEDSINCE is a mod-sequence: 0 or more (RFC 7162 §3.1.3)")
    added, removed = set(normalise_keywords(add)), set(normalise_keywords(remove))
    replaced = None if replace is None else set(normalise_keywords(replace))
    deleted: bool | None
    if replaced is not None:
        deleted = DELETED in replaced
    elif DELETED in removed:
        deleted = False
    elif DELETED in added:
        deleted = True
    else:
        deleted = None
    for keywords in (added, removed, replaced):
        if keywords is not None:
            keywords.discard(DELETED)
    return PreparedFlags(
        uids=prepare_uids(uids), add=frozenset(added), remove=frozenset(removed),
        replace=None if replaced is None else frozenset(replaced), deleted=deleted,
        unchanged_since=unchanged_since)
