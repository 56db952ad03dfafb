"""Write jobs of the SQLite store, flags family: STORE (RFC 9051 §6.4.6, RFC 7162 §3.1.3),
EXPUNGE and UID EXPUNGE (RFC 9051 §6.4.3, RFC 4315 §2.1), COPY and MOVE (RFC 9051
§6.4.7, §6.4.8, RFC 6851).

Jobs are functions of the writer's connection, run inside its transaction (see
``sqlite_writes``); they may run twice, so they keep every effect in the database.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from reference.store.interface import (
    AccountId,
    FlagUpdate,
    MailboxEntry,
    MailboxId,
    MessageId,
    ModSeq,
    ObjectType,
    StoreError,
    Uid,
)
from reference.store.normalise import keyword_key
from reference.store.sqlite_rows import (
    DELETED,
    ENTRY_COLUMNS,
    SEEN,
    FlagDecoder,
    keywords_json,
    uids_json,
)
from reference.store.sqlite_writes import get_mailbox
from reference.store.sqlite_writes_messages import (
    account_keywords,
    add_members,
    bump,
    members,
    remove_members,
    settle_messages,
    touch_messages,
)

# RFC 8621 §2 unreadEmails counts Emails with "neither the $seen keyword nor the $draft
# keyword": a change of either changes what JMAP shows of the mailbox.
_JMAP_COUNTED = frozenset({SEEN, "\\Draft"})

# A message the update applies to: UID, message id, keywords and \Deleted after the
# update, MODSEQ before it, size, internal date (as stored).
_Kept = tuple[Uid, MessageId, frozenset[str], bool, ModSeq, int, str]


@dataclass(frozen=True, slots=True)
class PreparedFlags:
    """An update_flags request, normalised: keywords apart from \\Deleted, in the
    spelling the request gave (the job maps them to the account's)."""

    uids: tuple[Uid, ...]
    add: frozenset[str]
    remove: frozenset[str]
    replace: frozenset[str] | None
    deleted: bool | None            # the \Deleted memberships end with; None: unchanged
    unchanged_since: ModSeq | None


def update_flags(connection: sqlite3.Connection, mailbox_id: MailboxId,
                 request: PreparedFlags) -> FlagUpdate:
    """RFC 9051 §6.4.6 STORE with RFC 7162 §3.1.3 UNCHANGEDSINCE. Keywords compare
    case-insensitively (RFC 8621 §4.1.1: "a keyword is a case-insensitive string"):
    -FLAGS ($LABEL) removes $Label, and added keywords take the account's spelling
    (``account_keywords``), so +FLAGS ($LABEL) on a message with $Label changes nothing."""
    box = get_mailbox(connection, mailbox_id)
    rows = connection.execute(
        f"SELECT {ENTRY_COLUMNS} FROM mailbox_messages mm JOIN messages m"
        " ON m.id = mm.message_id WHERE mm.mailbox_id = ?"
        " AND mm.uid IN (SELECT value FROM json_each(?)) ORDER BY mm.uid",
        (mailbox_id, uids_json(request.uids))).fetchall()
    modified: list[Uid] = []
    applies = []
    for row in rows:
        # RFC 7162 §3.1.3: "if the mod-sequence of any metadata item of the message is
        # greater than the specified UNCHANGEDSINCE value, then the requested operation
        # MUST NOT be performed". (UNCHANGEDSINCE 0 always fails: MODSEQs are positive.)
        if request.unchanged_since is not None and row[4] > request.unchanged_since:
            modified.append(Uid(row[0]))
        else:
            applies.append(row)
    if not applies:
        # Nothing to do; in particular no keyword is registered in the account.
        return FlagUpdate((), tuple(modified), None)
    new_keywords = _KeywordUpdate(connection, box.account_id, request)
    keywords_changed: dict[MessageId, tuple[frozenset[str], frozenset[str]]] = {}
    deleted_changed: dict[Uid, bool] = {}
    kept: list[_Kept] = []
    for uid, message_id, text, deleted, modseq, size, internal_date in applies:
        old, new = new_keywords(text)
        if new != old:
            keywords_changed[MessageId(message_id)] = (old, new)
        if request.deleted is not None and request.deleted != bool(deleted):
            deleted_changed[Uid(uid)] = request.deleted
        kept.append((Uid(uid), MessageId(message_id), new,
                     bool(deleted) if request.deleted is None else request.deleted,
                     ModSeq(modseq), size, internal_date))
    if not keywords_changed and not deleted_changed:
        # RFC 7162 §3.1: "Setting a flag that is already set, or clearing a flag that is
        # not set, SHOULD NOT change the mod-sequence" -- nothing changed, nothing bumps.
        return FlagUpdate(_entries(kept, None, set()), tuple(modified), None)
    log = bump(connection, box.account_id)
    changed_uids = set(deleted_changed)
    changed_uids.update(uid for uid, message_id, *_ in kept if message_id in keywords_changed)
    unseen: defaultdict[MailboxId, int] = defaultdict(int)
    touched: set[MailboxId] = set()
    jmap_counts: set[MailboxId] = set()
    if keywords_changed:
        _write_keywords(connection, keywords_changed, log.modseq)
        # RFC 7162 §3.1: the message's MODSEQ in *every* mailbox holding it moves, so
        # every session on any of them learns of the new flags (CHANGEDSINCE).
        delta = {message_id: (SEEN in old) - (SEEN in new)
                 for message_id, (old, new) in keywords_changed.items()}
        counted = {message_id for message_id, (old, new) in keywords_changed.items()
                   if (old ^ new) & _JMAP_COUNTED}
        for holder, message_id in connection.execute(
                "UPDATE mailbox_messages SET modseq = ? WHERE message_id IN"
                " (SELECT value FROM json_each(?)) RETURNING mailbox_id, message_id",
                (log.modseq, uids_json(keywords_changed))).fetchall():
            touched.add(holder)
            unseen[holder] += delta[message_id]
            if message_id in counted:
                jmap_counts.add(holder)
    deleted_delta = 0
    if deleted_changed:
        connection.executemany(
            "UPDATE mailbox_messages SET deleted = ?, modseq = ? WHERE mailbox_id = ?"
            " AND uid = ?", [(int(value), log.modseq, mailbox_id, uid)
                             for uid, value in deleted_changed.items()])
        deleted_delta = sum(1 if value else -1 for value in deleted_changed.values())
        touched.add(mailbox_id)
        jmap_counts.add(mailbox_id)     # RFC 8621 §4.1.1: \Deleted hides it from JMAP
    connection.executemany(
        "UPDATE mailboxes SET highest_modseq = ?, unseen_count = unseen_count + ?,"
        " deleted_count = deleted_count + ? WHERE id = ?",
        [(log.modseq, unseen[holder], deleted_delta if holder == mailbox_id else 0, holder)
         for holder in sorted(touched)])
    deleted_messages = [message_id for uid, message_id, *_ in kept
                        if uid in deleted_changed and message_id not in keywords_changed]
    log.updated(ObjectType.EMAIL, sorted(keywords_changed))
    touch_messages(connection, deleted_messages, log)
    log.updated(ObjectType.MAILBOX, sorted(jmap_counts))
    log.write(connection)
    return FlagUpdate(_entries(kept, log.modseq, changed_uids), tuple(modified),
                      log.modseq)


class _KeywordUpdate:
    """A message's stored keywords -> (its keywords, its keywords after the update),
    computed once per distinct stored set (a mailbox's messages share a few)."""

    def __init__(self, connection: sqlite3.Connection, account_id: AccountId,
                 request: PreparedFlags) -> None:
        self._decoder = FlagDecoder()
        # The account's spelling of what is set (registering new keywords); what is
        # removed needs none: it is compared case-insensitively.
        self._replace = (None if request.replace is None
                         else account_keywords(connection, account_id, request.replace))
        self._add = account_keywords(connection, account_id, request.add)
        self._added = frozenset(map(keyword_key, self._add))
        self._removed = frozenset(map(keyword_key, request.remove))
        self._done: dict[str, tuple[frozenset[str], frozenset[str]]] = {}

    def __call__(self, text: str) -> tuple[frozenset[str], frozenset[str]]:
        done = self._done.get(text)
        if done is None:
            old = self._decoder.keywords(text)
            if self._replace is not None:
                new = self._replace
            else:
                # Case-insensitive (RFC 8621 §4.1.1): a stored keyword the request adds
                # in the account's spelling or removes in any case is replaced or gone,
                # never kept beside another spelling of itself.
                new = frozenset(keyword for keyword in old
                                if keyword_key(keyword) not in self._added
                                and keyword_key(keyword) not in self._removed)
                new |= {keyword for keyword in self._add
                        if keyword_key(keyword) not in self._removed}
            done = self._done[text] = (old, new)
        return done


def _write_keywords(connection: sqlite3.Connection,
                    changed: dict[MessageId, tuple[frozenset[str], frozenset[str]]],
                    modseq: ModSeq) -> None:
    connection.executemany("UPDATE messages SET keywords = ?, modseq = ? WHERE id = ?",
                           [(keywords_json(new), modseq, message_id)
                            for message_id, (_, new) in changed.items()])


def _entries(rows: Sequence[_Kept], modseq: ModSeq | None,
             changed: set[Uid]) -> tuple[MailboxEntry, ...]:
    result = []
    for uid, message_id, keywords, deleted, old_modseq, size, internal_date in rows:
        flags = (keywords | {DELETED}) if deleted else keywords
        result.append(MailboxEntry(
            uid, message_id, flags,
            modseq if modseq is not None and uid in changed else old_modseq,
            size, datetime.fromisoformat(internal_date)))
    return tuple(result)


def expunge(connection: sqlite3.Connection, mailbox_id: MailboxId,
            uids: tuple[Uid, ...] | None) -> list[Uid]:
    """RFC 9051 §6.4.3: "permanently removes all messages that have the \\Deleted flag
    set from the currently selected mailbox"; RFC 4315 §2.1 UID EXPUNGE: only those
    among ``uids``."""
    box = get_mailbox(connection, mailbox_id)
    removed = members(connection, mailbox_id, uids, deleted_only=True)
    if not removed:
        return []
    log = bump(connection, box.account_id)
    remove_members(connection, mailbox_id, removed, log)
    settle_messages(connection, [m.message_id for m in removed], log)
    log.write(connection)
    return [m.uid for m in removed]


def copy_messages(connection: sqlite3.Connection, source_id: MailboxId,
                  uids: tuple[Uid, ...], target_id: MailboxId, *,
                  move: bool) -> list[tuple[Uid, Uid]]:
    """RFC 9051 §6.4.7 COPY, and with ``move`` §6.4.8 MOVE: one transaction, so "partial
    copy MUST NOT be done" and a moved message is "either moved or unaffected"."""
    source = get_mailbox(connection, source_id)
    target = get_mailbox(connection, target_id)
    if source.account_id != target.account_id:
        raise StoreError("messages can only be copied between mailboxes of one account")
    chosen = members(connection, source_id, uids)
    if not chosen:
        return []
    log = bump(connection, source.account_id)
    if move:
        # RFC 6851 §3.3 (RFC 9051 §6.4.8): the source sees the messages expunged; the
        # \Deleted flag "MUST NOT be set for any message" -- it is never touched here.
        remove_members(connection, source_id, chosen, log)
    # RFC 9051 §6.4.7: "The flags and internal date of the message(s) SHOULD be
    # preserved in the copy": the message is the same one (keywords, date), and the
    # membership's \Deleted is copied.
    new_uids = add_members(connection, target_id, chosen, log)
    if move:
        settle_messages(connection, [m.message_id for m in chosen], log)
    log.write(connection)
    return [(member.uid, uid) for member, uid in zip(chosen, new_uids, strict=True)]
