"""Write jobs of the SQLite store, mailboxes family: CREATE, DELETE, RENAME, SUBSCRIBE,
UNSUBSCRIBE (RFC 9051 §6.3.4-§6.3.8) and the \\Recent watermark (RFC 3501 §2.3.2).

Jobs are functions of the writer's connection, run inside its transaction (see
``sqlite_writes``); they may run twice, so they keep every effect in the database.
Names arrive normalised (``normalise.normalise_mailbox_name``) and, where they are
new, validated.
"""

from __future__ import annotations

import sqlite3

from reference.store.interface import (
    HIERARCHY_SEPARATOR,
    AccountId,
    AlreadyExists,
    ChangeKind,
    InboxNotDeletable,
    Mailbox,
    MailboxId,
    MailboxNotFound,
    MessageId,
    ObjectType,
    SpecialUse,
    StoreError,
    Uid,
)
from reference.store.normalise import INBOX
from reference.store.sqlite_writes import (
    bump_modseq,
    fetch_one,
    get_mailbox,
    insert_mailbox,
    mailbox_id_by_name,
    require_account,
)
from reference.store.sqlite_writes_messages import bump, settle_messages, touch_messages


def create_mailbox(connection: sqlite3.Connection, account_id: AccountId, name: str,
                   special_use: SpecialUse | None) -> Mailbox:
    require_account(connection, account_id)
    # A created mailbox is not subscribed by the store; subscribing is the client's
    # call. (RFC 9051 §6.3.4 allows the other choice: "If the server automatically
    # subscribes a mailbox when it is created".) A subscription to the name made
    # before it existed applies (§6.3.7).
    return insert_mailbox(connection, account_id, name, special_use,
                          bump_modseq(connection, account_id), subscribed=False)


def _existing(connection: sqlite3.Connection, account_id: AccountId, name: str) -> MailboxId:
    mailbox_id = mailbox_id_by_name(connection, account_id, name)
    if mailbox_id is None:
        require_account(connection, account_id)
        raise MailboxNotFound(f"no mailbox {name!r}")
    return mailbox_id


def delete_mailbox(connection: sqlite3.Connection, account_id: AccountId, name: str) -> None:
    """RFC 9051 §6.3.5 DELETE."""
    if name == INBOX:
        # RFC 9051 §6.3.5: "It is an error to attempt to delete INBOX".
        raise InboxNotDeletable("INBOX cannot be deleted")
    mailbox_id = _existing(connection, account_id, name)
    message_ids = [MessageId(message_id) for (message_id,) in connection.execute(
        "SELECT message_id FROM mailbox_messages WHERE mailbox_id = ?", (mailbox_id,))]
    log = bump(connection, account_id)
    # RFC 9051 §6.3.5: "all messages in that mailbox are removed"; "The DELETE command
    # MUST NOT remove inferior hierarchical names" (only this row goes; cascades take
    # its memberships and tombstones). A mailbox re-created under the name gets a new
    # UIDVALIDITY (insert_mailbox), so its UIDs never mean the old ones.
    connection.execute("DELETE FROM mailboxes WHERE id = ?", (mailbox_id,))
    log.add(ObjectType.MAILBOX, mailbox_id, ChangeKind.DESTROYED)
    settle_messages(connection, message_ids, log)
    log.write(connection)


def rename_mailbox(connection: sqlite3.Connection, account_id: AccountId, old: str,
                   new: str) -> Mailbox:
    """RFC 9051 §6.3.6 RENAME."""
    source_id = _existing(connection, account_id, old)
    # RFC 9051 §6.3.6: "It is an error to attempt to rename from a mailbox name that
    # does not exist or to a mailbox name that already exists."
    if mailbox_id_by_name(connection, account_id, new) is not None:
        raise AlreadyExists(f"mailbox {new!r} exists")
    if old == INBOX:
        return _rename_inbox(connection, account_id, source_id, new)
    prefix = old + HIERARCHY_SEPARATOR
    if new.startswith(prefix):
        raise StoreError(f"cannot rename {old!r} to its own inferior {new!r}")
    # RFC 9051 §6.3.6: "If the name has inferior hierarchical names, then the inferior
    # hierarchical names MUST also be renamed."
    family = connection.execute(
        "SELECT id, name FROM mailboxes WHERE account_id = ?"
        " AND (id = ? OR substr(name, 1, ?) = ?)",
        (account_id, source_id, len(prefix), prefix)).fetchall()
    renamed = {mailbox_id: new + name[len(old):] for mailbox_id, name in family}
    for new_name in renamed.values():
        other = mailbox_id_by_name(connection, account_id, new_name)
        if other is not None and other not in renamed:
            raise AlreadyExists(f"mailbox {new_name!r} exists")
    log = bump(connection, account_id)
    # Two steps, so no row takes a name another row of the family still has (SQLite
    # checks UNIQUE row by row). A control character never occurs in a real name.
    connection.executemany("UPDATE mailboxes SET name = ? WHERE id = ?",
                           [(f"\x00{mailbox_id}", mailbox_id) for mailbox_id in renamed])
    connection.executemany("UPDATE mailboxes SET name = ? WHERE id = ?",
                           [(name, mailbox_id) for mailbox_id, name in renamed.items()])
    # UIDVALIDITY and UIDs stay: the messages are the same, under another name. (RFC
    # 9051 §6.3.6 asks that the old name's UIDs not be reused by a new mailbox of that
    # name: a new mailbox gets a new UIDVALIDITY.) Subscriptions stay with the names
    # (§6.3.6: "renaming a mailbox doesn't update subscription information").
    log.updated(ObjectType.MAILBOX, sorted(renamed))
    log.write(connection)
    return get_mailbox(connection, source_id)


def _rename_inbox(connection: sqlite3.Connection, account_id: AccountId,
                  inbox_id: MailboxId, new: str) -> Mailbox:
    # RFC 9051 §6.3.6: renaming INBOX "moves all messages in INBOX to a new mailbox with
    # the given name, leaving INBOX empty. If the server implementation supports
    # inferior hierarchical names of INBOX, these are unaffected". INBOX keeps its
    # UIDVALIDITY and UIDNEXT; its messages are expunged from it (tombstones, for
    # QRESYNC sessions that have it selected) and numbered from 1 in the new mailbox.
    log = bump(connection, account_id)
    target = insert_mailbox(connection, account_id, new, None, log.modseq, subscribed=False)
    message_ids = [MessageId(message_id) for (message_id,) in connection.execute(
        "SELECT message_id FROM mailbox_messages WHERE mailbox_id = ? ORDER BY uid",
        (inbox_id,))]
    connection.execute(
        "INSERT INTO mailbox_messages (mailbox_id, uid, message_id, modseq, deleted)"
        " SELECT ?, row_number() OVER (ORDER BY uid), message_id, ?, deleted"
        " FROM mailbox_messages WHERE mailbox_id = ?", (target.id, log.modseq, inbox_id))
    connection.execute("INSERT INTO expunged_uids (mailbox_id, uid, modseq)"
                       " SELECT mailbox_id, uid, ? FROM mailbox_messages WHERE mailbox_id = ?",
                       (log.modseq, inbox_id))
    connection.execute("DELETE FROM mailbox_messages WHERE mailbox_id = ?", (inbox_id,))
    connection.execute(
        "UPDATE mailboxes SET (uid_next, message_count, unseen_count, total_size,"
        " deleted_count, highest_modseq) = (SELECT ? + 1, message_count, unseen_count,"
        " total_size, deleted_count, ? FROM mailboxes WHERE id = ?) WHERE id = ?",
        (len(message_ids), log.modseq, inbox_id, target.id))
    connection.execute(
        "UPDATE mailboxes SET message_count = 0, unseen_count = 0, total_size = 0,"
        " deleted_count = 0, highest_modseq = ? WHERE id = ?", (log.modseq, inbox_id))
    log.add(ObjectType.MAILBOX, inbox_id, ChangeKind.UPDATED)
    touch_messages(connection, message_ids, log)
    log.write(connection)
    return get_mailbox(connection, target.id)


# --- subscriptions


def subscribe(connection: sqlite3.Connection, account_id: AccountId, name: str) -> None:
    """RFC 9051 §6.3.7: OK "if the subscription is successful or if the mailbox is
    already subscribed"; the name need not exist."""
    require_account(connection, account_id)
    cursor = connection.execute("INSERT OR IGNORE INTO subscriptions (account_id, name)"
                                " VALUES (?, ?)", (account_id, name))
    if cursor.rowcount:
        _subscription_changed(connection, account_id, name)


def unsubscribe(connection: sqlite3.Connection, account_id: AccountId, name: str) -> None:
    """RFC 9051 §6.3.8: OK "if the unsubscription is successful or if the mailbox is
    not subscribed"."""
    require_account(connection, account_id)
    cursor = connection.execute("DELETE FROM subscriptions WHERE account_id = ? AND name = ?",
                                (account_id, name))
    if cursor.rowcount:
        _subscription_changed(connection, account_id, name)


def _subscription_changed(connection: sqlite3.Connection, account_id: AccountId,
                          name: str) -> None:
    # A change of the account (its JMAP state moves); of a Mailbox (isSubscribed,
    # RFC 8621 §2) when one has that name.
    log = bump(connection, account_id)
    mailbox_id = mailbox_id_by_name(connection, account_id, name)
    if mailbox_id is not None:
        log.add(ObjectType.MAILBOX, mailbox_id, ChangeKind.UPDATED)
        log.write(connection)


# --- \Recent


def claim_recent(connection: sqlite3.Connection, mailbox_id: MailboxId) -> range:
    """RFC 3501 §2.3.2: the UIDs recent to the session that claims them, and no other:
    the watermark moves to UIDNEXT in the same transaction. Nothing is written (and no
    modseq bumped: \\Recent is a session flag, not a change of the message) when no
    message arrived since the last claim."""
    row = fetch_one(connection, "SELECT recent_uid, uid_next FROM mailboxes WHERE id = ?",
                    (mailbox_id,))
    if row is None:
        raise MailboxNotFound(f"no mailbox with id {mailbox_id}")
    first, uid_next = Uid(row[0]), Uid(row[1])
    if first < uid_next:
        connection.execute("UPDATE mailboxes SET recent_uid = ? WHERE id = ?",
                           (uid_next, mailbox_id))
    return range(first, uid_next)
