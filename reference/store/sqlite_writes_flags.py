"""Write jobs of the SQLite store, flags family: STORE (RFC 9051 §6.4.6, RFC 7162 §3.1.3),
EXPUNGE and UID EXPUNGE (RFC 9051 §6.4.3, RFC 4315 §2.1), COPY and MOVE (RFC 9051
§6.4.7, §6.4.8, RFC 6851).

Jobs are functions of the writer's connection, run inside its transaction (see
``sqlite_writes``); they may run twice, so they keep every effect in the database.
"""

from __future__ import annotations

import sqlite3
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from reference.store.interface import (
    AccountId,
    FlagState,
    FlagUpdate,
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
    SEEN,
    FlagDecoder,
    keywords_json,
    one_of,
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

# A message's keywords before and after an update.
_SetChange = tuple[frozenset[str], frozenset[str]]
# A membership: its UID, and the message's id.
_Member = tuple[Uid, MessageId]

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
    (``account_keywords``), so +FLAGS ($LABEL) on a message with $Label changes nothing.

    The work is per distinct keyword set, not per message: a mailbox's messages share a
    few sets, and the messages of one stored set all end with one new set. So each new
    set is encoded once and written by one UPDATE for all its messages, and the
    memberships, counters and change log take one statement per kind of change (a STORE
    on 1,000 messages is a handful of statements, not thousands of executions)."""
    box = get_mailbox(connection, mailbox_id)
    chosen, parameters = one_of("mm.uid", request.uids)
    rows = connection.execute(
        "SELECT mm.uid, mm.message_id, m.keywords, mm.deleted, mm.modseq"
        " FROM mailbox_messages mm JOIN messages m ON m.id = mm.message_id"
        f" WHERE mm.mailbox_id = ? AND {chosen} ORDER BY mm.uid",
        (mailbox_id, *parameters)).fetchall()
    modified: list[Uid] = []
    if request.unchanged_since is not None:
        # RFC 7162 §3.1.3: "if the mod-sequence of any metadata item of the message is
        # greater than the specified UNCHANGEDSINCE value, then the requested operation
        # MUST NOT be performed". (UNCHANGEDSINCE 0 always fails: MODSEQs are positive.)
        since = request.unchanged_since
        modified = [Uid(row[0]) for row in rows if row[4] > since]
        rows = [row for row in rows if row[4] <= since]
    if not rows:
        # Nothing to do; in particular no keyword is registered in the account.
        return FlagUpdate((), tuple(modified), None)
    new_keywords = _KeywordUpdate(connection, box.account_id, request)
    # The memberships whose message's keywords change, by (stored keywords, keywords
    # after), as (uid, message id).
    changed_sets: defaultdict[_SetChange, list[_Member]] = defaultdict(list)
    # The memberships whose \Deleted changes (all to request.deleted).
    deleted_changed: list[Uid] = []
    for uid, message_id, text, deleted, _ in rows:
        old, new = new_keywords(text)
        if new is not old:          # _KeywordUpdate gives an unchanged set as itself
            changed_sets[old, new].append((uid, message_id))
        if request.deleted is not None and request.deleted != bool(deleted):
            deleted_changed.append(uid)
    if not changed_sets and not deleted_changed:
        # RFC 7162 §3.1: "Setting a flag that is already set, or clearing a flag that is
        # not set, SHOULD NOT change the mod-sequence" -- nothing changed, nothing bumps.
        return FlagUpdate(_entries(rows, new_keywords, request.deleted, None, set()),
                          tuple(modified), None)
    log = bump(connection, box.account_id)
    modseq = log.modseq
    keywords_changed = sorted(message_id for memberships in changed_sets.values()
                              for _, message_id in memberships)
    unseen: defaultdict[MailboxId, int] = defaultdict(int)
    touched: set[MailboxId] = set()
    jmap_counts: set[MailboxId] = set()
    if changed_sets:
        _write_keywords(connection, changed_sets, modseq)
        # One statement per kind of change to the counters: the unseen delta, and
        # whether JMAP's counts move.
        kinds: defaultdict[tuple[int, bool], list[_Member]] = defaultdict(list)
        for (old, new), memberships in changed_sets.items():
            kinds[(SEEN in old) - (SEEN in new),
                  bool((old ^ new) & _JMAP_COUNTED)] += memberships
        for (delta, counted), memberships in kinds.items():
            holders = _bump_memberships(connection, mailbox_id, memberships, modseq)
            touched.update(holders)
            if delta:
                for holder, count in holders.items():
                    unseen[holder] += delta * count
            if counted:
                jmap_counts.update(holders)
    deleted_delta = 0
    if deleted_changed:
        assert request.deleted is not None
        chosen, parameters = one_of("uid", deleted_changed)
        connection.execute(
            "UPDATE mailbox_messages SET deleted = ?, modseq = ? WHERE mailbox_id = ?"
            f" AND {chosen}", (int(request.deleted), modseq, mailbox_id, *parameters))
        deleted_delta = len(deleted_changed) if request.deleted else -len(deleted_changed)
        touched.add(mailbox_id)
        jmap_counts.add(mailbox_id)     # RFC 8621 §4.1.1: \Deleted hides it from JMAP
    connection.executemany(
        "UPDATE mailboxes SET highest_modseq = ?, unseen_count = unseen_count + ?,"
        " deleted_count = deleted_count + ? WHERE id = ?",
        [(modseq, unseen[holder], deleted_delta if holder == mailbox_id else 0, holder)
         for holder in sorted(touched)])
    log.updated(ObjectType.EMAIL, keywords_changed)
    if deleted_changed:
        # Messages whose membership's \Deleted alone changed: JMAP sees them change too.
        uids = set(deleted_changed)
        keyword_ids = set(keywords_changed)
        touch_messages(connection, [MessageId(row[1]) for row in rows
                                    if row[0] in uids and row[1] not in keyword_ids], log)
    log.updated(ObjectType.MAILBOX, sorted(jmap_counts))
    log.write(connection)
    changed_uids = set(deleted_changed)
    changed_uids.update(uid for memberships in changed_sets.values() for uid, _ in memberships)
    return FlagUpdate(_entries(rows, new_keywords, request.deleted, modseq, changed_uids),
                      tuple(modified), modseq)


def _bump_memberships(connection: sqlite3.Connection, mailbox_id: MailboxId,
                      memberships: list[_Member], modseq: ModSeq) -> Counter[MailboxId]:
    """RFC 7162 §3.1: a message's MODSEQ moves in *every* mailbox holding it, so every
    session on any of them learns of its new keywords (CHANGEDSINCE). The memberships
    asked for are updated by UID (a range scan for a range; by message id, 1,000
    scattered row updates took twice as long), then these messages' memberships in
    other mailboxes by message id (a mailbox holds a message once). How many
    memberships of each mailbox moved."""
    uids = sorted(uid for uid, _ in memberships)
    chosen, parameters = one_of("uid", uids)
    moved = connection.execute(
        f"UPDATE mailbox_messages SET modseq = ? WHERE mailbox_id = ? AND {chosen}",
        (modseq, mailbox_id, *parameters)).rowcount
    holders = Counter({mailbox_id: moved})
    holders.update(holder for (holder,) in connection.execute(
        "UPDATE mailbox_messages SET modseq = ? WHERE message_id IN"
        " (SELECT value FROM json_each(?)) AND mailbox_id != ? RETURNING mailbox_id",
        (modseq, uids_json(message_id for _, message_id in memberships), mailbox_id)))
    return holders


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
        self._done: dict[str, _SetChange] = {}

    def __call__(self, text: str) -> _SetChange:
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
            if new == old:
                new = old       # one object: the sets are compared and hashed again
            done = self._done[text] = (old, new)
        return done


def _write_keywords(connection: sqlite3.Connection,
                    changed: dict[_SetChange, list[_Member]],
                    modseq: ModSeq) -> None:
    """One UPDATE per new keyword set, encoded once."""
    by_new: defaultdict[frozenset[str], list[MessageId]] = defaultdict(list)
    for (_, new), memberships in changed.items():
        by_new[new] += (message_id for _, message_id in memberships)
    for new, ids in by_new.items():
        chosen, parameters = one_of("id", sorted(ids))
        connection.execute(f"UPDATE messages SET keywords = ?, modseq = ? WHERE {chosen}",
                           (keywords_json(new), modseq, *parameters))


def _entries(rows: Sequence[Sequence[Any]], new_keywords: _KeywordUpdate,
             deleted: bool | None, modseq: ModSeq | None,
             changed: set[Uid]) -> tuple[FlagState, ...]:
    """The flag states of the rows (uid, message id, keywords, deleted, modseq) after the
    update: flags, and the new MODSEQ for the ``changed`` UIDs. The flags are made once
    per distinct pair of stored keywords and \\Deleted."""
    flags_of: dict[tuple[str, bool], frozenset[str]] = {}
    result: list[FlagState] = []
    append = result.append
    for uid, message_id, text, was_deleted, old_modseq in rows:
        is_deleted = bool(was_deleted) if deleted is None else deleted
        flags = flags_of.get((text, is_deleted))
        if flags is None:
            _, new = new_keywords(text)
            flags = flags_of[text, is_deleted] = (new | {DELETED}) if is_deleted else new
        # The row's values are the interface's types already (Uid, MessageId and ModSeq
        # are ints): no conversion per row.
        append(FlagState(uid, message_id, flags,
                         modseq if modseq is not None and uid in changed else old_modseq))
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
