"""Rows of the SQLite store and the values they stand for: the column lists reads and
writes select, and the pure functions that turn a row into an interface value.

Implementation notes:
- Keywords are stored as a compact JSON array, sorted (``keywords_json``), so equal sets
  are equal text. A mailbox's messages mostly share a few sets (none, \\Seen, \\Seen
  \\Answered...), so ``FlagDecoder`` decodes each distinct (text, \\Deleted) pair once per
  read: a 100,000-message SELECT parses a handful of JSON arrays, not 100,000.
- ``Mailbox.subscribed`` is not a column: subscriptions are names in their own table
  (RFC 9051 §6.3.7), so it is looked up by the mailbox's current name.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from reference.store.interface import (
    Account,
    AccountId,
    BlobId,
    Envelope,
    Mailbox,
    MailboxEntry,
    MailboxId,
    Message,
    MessageId,
    ModSeq,
    SpecialUse,
    ThreadId,
    Uid,
)

DELETED = "\\Deleted"
SEEN = "\\Seen"

ACCOUNT_COLUMNS = "id, address, display_name, created"

# Select from "mailboxes b".
MAILBOX_COLUMNS = (
    "b.id, b.account_id, b.name, b.special_use, b.uid_validity, b.uid_next,"
    " b.highest_modseq,"
    " EXISTS (SELECT 1 FROM subscriptions s WHERE s.account_id = b.account_id"
    " AND s.name = b.name),"
    " b.message_count, b.unseen_count, b.total_size, b.deleted_count")

# Select from "mailbox_messages mm JOIN messages m ON m.id = mm.message_id".
ENTRY_COLUMNS = ("mm.uid, mm.message_id, m.keywords, mm.deleted, mm.modseq, m.size,"
                 " m.internal_date")

_ENVELOPE_FIELDS = tuple(field.name for field in dataclasses.fields(Envelope))


def keywords_json(keywords: Iterable[str]) -> str:
    """A keyword set as stored: compact JSON, sorted; system flags in RFC 9051 §2.3.2
    spelling, other keywords in the account's (the ``keywords`` table), no \\Deleted."""
    return json.dumps(sorted(keywords), ensure_ascii=False, separators=(",", ":"))


def uids_json(uids: Iterable[int]) -> str:
    """UIDs as a JSON array, for ``IN (SELECT value FROM json_each(?))``: one parameter
    however many UIDs (SQLite limits the number of parameters of a statement)."""
    return json.dumps(sorted({int(uid) for uid in uids}))


def one_of(column: str, values: Sequence[int]) -> tuple[str, tuple[int, ...] | tuple[str]]:
    """SQL that ``column`` is one of ``values`` (distinct, ascending: UIDs or message ids),
    and its parameters. A contiguous range (a STORE or FETCH of "a:b", the messages it
    names) is a BETWEEN: a range scan of the key, where an IN over json_each seeks each
    value (1,000 of them: 0.3 ms less)."""
    if values and values[-1] - values[0] + 1 == len(values):
        return f"{column} BETWEEN ? AND ?", (int(values[0]), int(values[-1]))
    return f"{column} IN (SELECT value FROM json_each(?))", (uids_json(values),)


class FlagDecoder:
    """Stored keywords + a membership's \\Deleted -> the flags IMAP shows, with each
    distinct pair decoded once (see the module notes)."""

    def __init__(self) -> None:
        self._keywords: dict[str, frozenset[str]] = {}
        self._flags: dict[tuple[str, int], frozenset[str]] = {}

    def keywords(self, text: str) -> frozenset[str]:
        decoded = self._keywords.get(text)
        if decoded is None:
            decoded = self._keywords[text] = frozenset(json.loads(text))
        return decoded

    def flags(self, text: str, deleted: int) -> frozenset[str]:
        key = (text, deleted)
        flags = self._flags.get(key)
        if flags is None:
            keywords = self.keywords(text)
            flags = self._flags[key] = (keywords | {DELETED}) if deleted else keywords
        return flags


def entries(rows: Iterable[Sequence[Any]], decoder: FlagDecoder | None = None
            ) -> list[MailboxEntry]:
    """Rows of ENTRY_COLUMNS as MailboxEntry values."""
    decoder = decoder or FlagDecoder()
    flags = decoder.flags
    parse_date = datetime.fromisoformat
    return [MailboxEntry(Uid(uid), MessageId(message_id), flags(keywords, deleted),
                         ModSeq(modseq), size, parse_date(internal_date))
            for uid, message_id, keywords, deleted, modseq, size, internal_date in rows]


def account(row: Sequence[Any]) -> Account:
    return Account(AccountId(row[0]), row[1], row[2], datetime.fromisoformat(row[3]))


def mailbox(row: Sequence[Any]) -> Mailbox:
    return Mailbox(
        id=MailboxId(row[0]), account_id=AccountId(row[1]), name=row[2],
        special_use=None if row[3] is None else SpecialUse(row[3]),
        uid_validity=row[4], uid_next=Uid(row[5]), highest_modseq=ModSeq(row[6]),
        subscribed=bool(row[7]), messages=row[8], unseen=row[9], size=row[10],
        deleted=row[11])


def message(row: Sequence[Any]) -> Message:
    """A row of id, account_id, blob_id, size, internal_date, thread_id, keywords,
    modseq, envelope, mailbox_id, uid (the last two NULL outside a mailbox), deleted."""
    keywords = frozenset(json.loads(row[6]))
    if row[11]:
        keywords |= {DELETED}
    return Message(
        id=MessageId(row[0]), account_id=AccountId(row[1]), blob_id=BlobId(row[2]),
        size=row[3], internal_date=datetime.fromisoformat(row[4]),
        thread_id=ThreadId(row[5]), keywords=keywords,
        modseq=ModSeq(row[7]), envelope=envelope(row[8]),
        mailbox_id=None if row[9] is None else MailboxId(row[9]),
        uid=None if row[10] is None else Uid(row[10]))


def envelope_json(value: Envelope) -> str:
    # dataclasses.asdict deep-copies every value; the fields are flat, so this is the
    # same dict at a tenth of the cost, on the path of every delivery.
    return json.dumps({name: getattr(value, name) for name in _ENVELOPE_FIELDS},
                      ensure_ascii=False)


def envelope(text: str | None) -> Envelope | None:
    """The stored JSON back into the Envelope it was made from (lists become the
    tuples they were); keys a newer version added are ignored."""
    if text is None:
        return None
    data = json.loads(text)
    values: dict[str, Any] = {}
    for field in dataclasses.fields(Envelope):
        if field.name in data:
            value = data[field.name]
            values[field.name] = tuple(value) if isinstance(value, list) else value
    return Envelope(**values)
