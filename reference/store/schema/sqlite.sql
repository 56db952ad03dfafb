-- rfcmail SQLite schema.
--
-- Versioning: each "-- migration: N" section below takes a database from version N-1 to
-- version N, and PRAGMA user_version records the version a database file is at. The store
-- applies the missing sections in order, all in one BEGIN IMMEDIATE transaction that
-- also reads the version, so two processes opening a new file at once cannot both
-- migrate it (sqlite_schema.migrate). Append new sections; never edit a
-- released one.
--
-- Conventions: STRICT tables (types are checked, not guessed); times are ISO 8601 text
-- with their UTC offset, so they round-trip exactly; ids of things a client sees
-- (accounts, mailboxes, messages) use AUTOINCREMENT so an id is never handed out twice,
-- even after the row with the highest id is deleted (RFC 8620 §1.2: "All record ids are
-- assigned by the server and are immutable").

-- migration: 1

-- Store-wide counters that must never go backwards.
CREATE TABLE store_counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- RFC 9051 §2.3.1.1: the last UIDVALIDITY handed out, to any mailbox of any account.
INSERT INTO store_counters (name, value) VALUES ('uid_validity', 0);

CREATE TABLE domains (
    name TEXT PRIMARY KEY                   -- lower case, ASCII (A-labels)
) STRICT, WITHOUT ROWID;

CREATE TABLE accounts (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    address        TEXT NOT NULL UNIQUE,    -- lower case
    domain         TEXT NOT NULL REFERENCES domains (name),
    display_name   TEXT NOT NULL DEFAULT '',
    credentials    TEXT NOT NULL,           -- opaque: the directory layer hashes
    created        TEXT NOT NULL,
    -- DESIGN principle 4: the one per-account counter behind IMAP MODSEQ (RFC 7162 §3.1)
    -- and the JMAP state string (RFC 8620 §5.2).
    highest_modseq INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX accounts_by_domain ON accounts (domain);

CREATE TABLE aliases (
    id      INTEGER PRIMARY KEY,
    address TEXT NOT NULL UNIQUE            -- lower case; "@domain" is the catch-all
) STRICT;

-- A child table rather than a JSON list, so aliases_of(target) is an index lookup.
CREATE TABLE alias_targets (
    alias_id INTEGER NOT NULL REFERENCES aliases (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,              -- targets keep the order they were given in
    target   TEXT NOT NULL,
    PRIMARY KEY (alias_id, position),
    UNIQUE (alias_id, target)
) STRICT, WITHOUT ROWID;
CREATE INDEX alias_targets_by_target ON alias_targets (target);

CREATE TABLE mailboxes (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id     INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name           TEXT NOT NULL,           -- NFC; "INBOX" in upper case (RFC 9051 §5.1)
    special_use    TEXT,                    -- RFC 6154 §2 attribute, e.g. '\Sent'
    uid_validity   INTEGER NOT NULL,        -- RFC 9051 §2.3.1.1
    uid_next       INTEGER NOT NULL DEFAULT 1,
    highest_modseq INTEGER NOT NULL,        -- RFC 7162 §3.1.2.1 HIGHESTMODSEQ
    subscribed     INTEGER NOT NULL DEFAULT 0,
    -- Kept up to date by every write that changes them, so STATUS and Mailbox/get are
    -- point lookups instead of a scan of the mailbox.
    message_count  INTEGER NOT NULL DEFAULT 0,
    unseen_count   INTEGER NOT NULL DEFAULT 0,
    total_size     INTEGER NOT NULL DEFAULT 0,
    UNIQUE (account_id, name)
) STRICT;
-- RFC 8621 §2: "there MUST NOT be two Mailboxes in the same account with the same role".
CREATE UNIQUE INDEX mailboxes_one_per_role
    ON mailboxes (account_id, special_use) WHERE special_use IS NOT NULL;

-- Raw message bytes, content-addressed: identical bytes are stored once (INSERT OR IGNORE).
-- A rowid table, not WITHOUT ROWID: rows here are large.
CREATE TABLE blobs (
    id   TEXT PRIMARY KEY,                  -- "sha256:<hex>" of data
    size INTEGER NOT NULL,
    data BLOB NOT NULL
) STRICT;

-- One stored email of one account (a JMAP Email, RFC 8621 §4).
CREATE TABLE messages (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id          INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    blob_id             TEXT NOT NULL REFERENCES blobs (id),
    size                INTEGER NOT NULL,
    internal_date       TEXT NOT NULL,      -- RFC 9051 §2.3.3, with its own UTC offset
    internal_date_epoch INTEGER NOT NULL,   -- the same instant in Unix seconds, to sort on
    received_at         TEXT NOT NULL,      -- when this store committed it
    thread_id           INTEGER NOT NULL,   -- the id of the thread's first message
    keywords            TEXT NOT NULL,      -- JSON array, normalised spellings, sorted
    modseq              INTEGER NOT NULL,   -- of the last change to this message
    envelope            TEXT,               -- JSON of interface.Envelope
    header_message_id   TEXT                -- Message-ID without <>, for threading
) STRICT;
-- Threading looks up earlier messages of the account by Message-ID; the same index serves
-- the account foreign key (ON DELETE CASCADE from accounts).
CREATE INDEX messages_by_header_message_id ON messages (account_id, header_message_id);
CREATE INDEX messages_by_blob ON messages (blob_id);        -- blob garbage collection
CREATE INDEX messages_by_thread ON messages (thread_id);    -- JMAP Thread/get

-- A message's membership in a mailbox, with its UID there (RFC 9051 §2.3.1.1) and the
-- MODSEQ of its last change there (RFC 7162 §3.1).
CREATE TABLE mailbox_messages (
    mailbox_id INTEGER NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
    uid        INTEGER NOT NULL,
    message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    modseq     INTEGER NOT NULL,
    PRIMARY KEY (mailbox_id, uid)
) STRICT, WITHOUT ROWID;
CREATE INDEX mailbox_messages_by_message ON mailbox_messages (message_id);
-- RFC 7162 §3.1.4.1 FETCH CHANGEDSINCE and §3.1.5 SEARCH MODSEQ select by modseq.
CREATE INDEX mailbox_messages_by_modseq ON mailbox_messages (mailbox_id, modseq);

-- The per-account change log (DESIGN principle 4): JMAP /changes (RFC 8620 §5.2) and IMAP
-- QRESYNC (RFC 7162 §3.2) read it. Several rows can share one modseq (one write touches
-- an Email, its Mailbox and its Thread); seq keeps their order.
CREATE TABLE changes (
    seq         INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    modseq      INTEGER NOT NULL,
    object_type TEXT NOT NULL CHECK (object_type IN ('Email', 'Mailbox', 'Thread')),
    object_id   INTEGER NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('created', 'updated', 'destroyed'))
) STRICT;
CREATE INDEX changes_by_account_modseq ON changes (account_id, modseq);

-- migration: 2

-- A message that starts a thread names it after itself (RFC 8621 §4.1.1 threadId:
-- "immutable; server-set"). Inserted with thread_id 0, the id it gets is copied in by
-- SQLite itself, which saves the writer a statement per delivery.
CREATE TRIGGER messages_start_own_thread AFTER INSERT ON messages
    WHEN NEW.thread_id = 0
BEGIN
    UPDATE messages SET thread_id = NEW.id WHERE id = NEW.id;
END;

-- migration: 3

-- What IMAP4rev2 (RFC 9051), CONDSTORE/QRESYNC (RFC 7162) and full-text search need.

-- \Deleted belongs to the membership, not the message (interface.py, "Model decisions";
-- RFC 8621 §4.1.1: IMAP "uses a delete+expunge model, which JMAP does not"). Messages
-- that had it as a keyword keep it in every mailbox they were in.
ALTER TABLE mailbox_messages ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;
UPDATE mailbox_messages SET deleted = 1 WHERE message_id IN (
    SELECT m.id FROM messages m, json_each(m.keywords) k WHERE k.value = '\Deleted');
UPDATE messages SET keywords = json_remove(keywords, (
        SELECT k.fullkey FROM json_each(messages.keywords) k WHERE k.value = '\Deleted'))
    WHERE id IN (SELECT m.id FROM messages m, json_each(m.keywords) k
                 WHERE k.value = '\Deleted');
-- One spelling of each keyword set: compact JSON, as the store writes it from now on.
UPDATE messages SET keywords = json(keywords) WHERE keywords <> json(keywords);
-- EXPUNGE finds the \Deleted memberships of a mailbox without scanning it.
CREATE INDEX mailbox_messages_deleted ON mailbox_messages (mailbox_id, uid) WHERE deleted = 1;
-- A mailbox holds a message at most once (JMAP mailboxIds is a set); the same index
-- finds a message's memberships (it replaces the plain one on message_id).
DROP INDEX mailbox_messages_by_message;
CREATE UNIQUE INDEX mailbox_messages_by_message ON mailbox_messages (message_id, mailbox_id);

-- RFC 9051 §6.3.11 STATUS DELETED, kept like the other counters.
ALTER TABLE mailboxes ADD COLUMN deleted_count INTEGER NOT NULL DEFAULT 0;
UPDATE mailboxes SET deleted_count = (
    SELECT count(*) FROM mailbox_messages WHERE mailbox_id = mailboxes.id AND deleted = 1);
-- RFC 3501 §2.3.2 \Recent: UIDs from here on have not been claimed by a session yet.
ALTER TABLE mailboxes ADD COLUMN recent_uid INTEGER NOT NULL DEFAULT 1;

-- RFC 9051 §6.3.7: subscriptions are names; a subscribed name need not exist, and
-- deleting or renaming a mailbox leaves its subscription alone.
CREATE TABLE subscriptions (
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,               -- normalised like mailbox names
    PRIMARY KEY (account_id, name)
) STRICT, WITHOUT ROWID;
INSERT INTO subscriptions (account_id, name)
    SELECT account_id, name FROM mailboxes WHERE subscribed;
ALTER TABLE mailboxes DROP COLUMN subscribed;

-- RFC 7162 §3.2.10 VANISHED and §5.3: the UID and MODSEQ of every expunged membership,
-- kept while the mailbox exists.
CREATE TABLE expunged_uids (
    mailbox_id INTEGER NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
    uid        INTEGER NOT NULL,
    modseq     INTEGER NOT NULL,
    PRIMARY KEY (mailbox_id, uid)
) STRICT, WITHOUT ROWID;
CREATE INDEX expunged_uids_by_modseq ON expunged_uids (mailbox_id, modseq);

-- DESIGN principle 6, parse once: the parsed form of a blob (opaque JSON made by
-- reference/message), beside the bytes it was parsed from. A rowid table: rows are big.
CREATE TABLE blob_structures (
    blob_id   TEXT PRIMARY KEY REFERENCES blobs (id) ON DELETE CASCADE,
    structure TEXT NOT NULL
) STRICT;

-- Full-text search (RFC 9051 §6.4.4 BODY/TEXT: substring, case-insensitive): the
-- trigram tokenizer indexes every 3-character sequence, so any substring of 3 or more
-- characters is a phrase query. rowid = messages.id. detail=full keeps positions, so a
-- phrase matches only where its trigrams are adjacent (the candidates are the real
-- substring matches); columnsize=0 drops the per-row sizes only ranking would use.
CREATE VIRTUAL TABLE message_text USING fts5 (
    text, tokenize = 'trigram case_sensitive 0', detail = full, columnsize = 0);
-- Messages stored without search text (all of them, before this migration): search
-- cannot rule them out, so they are always candidates.
CREATE TABLE messages_without_text (
    message_id INTEGER PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE
) STRICT;
INSERT INTO messages_without_text (message_id) SELECT id FROM messages;
-- A destroyed message leaves the index with it (also when an account's removal
-- cascades to its messages).
CREATE TRIGGER messages_leave_text AFTER DELETE ON messages
BEGIN
    DELETE FROM message_text WHERE rowid = OLD.id;
END;

-- migration: 4

-- Keywords keep the spelling they were first used with in the account (normalise.py,
-- "Keywords"): IMAP clients look for their own spelling, and RFC 8621 §4.1.1 ("a
-- keyword is a case-insensitive string") makes a later use in another case the same
-- keyword, so it maps to the first spelling and a message never holds two. One row per
-- keyword the account has used; system flags and the keywords RFC 9051 §2.3.2 defines
-- have one spelling everywhere and no row. Rows stay when no message has the keyword
-- any more, as Dovecot's per-mailbox keyword list does.
CREATE TABLE keywords (
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    folded     TEXT NOT NULL,               -- lower(spelling): keywords are ASCII
    spelling   TEXT NOT NULL,
    PRIMARY KEY (account_id, folded)
) STRICT, WITHOUT ROWID;
-- The keywords messages have already: until now the store lower-cased them, so there is
-- one spelling of each (min() picks one should there be more).
INSERT INTO keywords (account_id, folded, spelling)
    SELECT m.account_id, lower(k.value), min(k.value)
    FROM messages m, json_each(m.keywords) k
    WHERE substr(k.value, 1, 1) <> '\'
      AND lower(k.value) NOT IN ('$forwarded', '$mdnsent', '$junk', '$notjunk', '$phishing')
    GROUP BY m.account_id, lower(k.value);

-- migration: 5

-- Full-text search keeps a message's three texts apart (reference/message/text.py
-- SearchText): the header text, the body text (what SEARCH BODY looks in) and the MIME
-- header text of the body parts; TEXT looks in all three. SEARCH then decides BODY and
-- TEXT from the texts kept here (the store's message_texts) instead of reading and
-- parsing each candidate again. A string found across two columns is found in each
-- of its lines (sqlite_reads.fts_query splits at line ends), so narrowing by the whole
-- row stays a superset. The texts stored before cannot be split again: those messages
-- become messages without text (always candidates, checked against the message).
DROP TRIGGER messages_leave_text;
INSERT OR IGNORE INTO messages_without_text (message_id) SELECT rowid FROM message_text;
DROP TABLE message_text;
CREATE VIRTUAL TABLE message_text USING fts5 (
    header, body, mime, tokenize = 'trigram case_sensitive 0', detail = full,
    columnsize = 0);
CREATE TRIGGER messages_leave_text AFTER DELETE ON messages
BEGIN
    DELETE FROM message_text WHERE rowid = OLD.id;
END;

-- migration: 6

-- FTS5 merges a level's segments once it has 8 of them, not 4 (its default): each
-- indexed text is rewritten by fewer merges. Storing 10,000 messages 500 at a time took
-- 8% less CPU; a MATCH reads at most twice as many segments per level, which measured
-- no slower (sqlite_writes_messages: the text of a batch is indexed at its COMMIT).
-- The setting lives in the table (message_text_config): a migration that makes the
-- table again must set it again.
INSERT INTO message_text (message_text, rank) VALUES ('automerge', 8);

-- migration: 7

-- The index keeps which messages hold each trigram, not where (detail = none): it is
-- a fifteenth of the size, and indexing a message's text costs 40% less CPU (measured
-- on bench/imap_messages.py mail: 17 KB and 0.38 ms per message with positions,
-- 1 KB and 0.23 ms without). A string is then looked up as all of its trigrams
-- (sqlite_reads.fts_query), not as a phrase, so a few more messages are candidates
-- than contain it; the exact check (instr() on the kept texts) decides, as before.
-- The texts are moved over as they are: no message loses its place in the index.
DROP TRIGGER messages_leave_text;
CREATE VIRTUAL TABLE message_text_trigrams USING fts5 (
    header, body, mime, tokenize = 'trigram case_sensitive 0', detail = none,
    columnsize = 0);
INSERT INTO message_text_trigrams (message_text_trigrams, rank) VALUES ('automerge', 8);
INSERT INTO message_text_trigrams (rowid, header, body, mime)
    SELECT rowid, header, body, mime FROM message_text;
DROP TABLE message_text;
ALTER TABLE message_text_trigrams RENAME TO message_text;
CREATE TRIGGER messages_leave_text AFTER DELETE ON messages
BEGIN
    DELETE FROM message_text WHERE rowid = OLD.id;
END;

-- migration: 8

-- The change log keeps runs: the ids of one object type that one write changed the same
-- way, in one row (a JSON array, in the order logged), instead of one row each. A STORE
-- on 1,000 messages logged 1,000 rows and index entries (a sixth of its time in the
-- store); it now logs one. changes_since expands the runs in order, so what it returns
-- is unchanged. The rows logged before become runs of one.
CREATE TABLE change_runs (
    seq         INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    modseq      INTEGER NOT NULL,
    object_type TEXT NOT NULL CHECK (object_type IN ('Email', 'Mailbox', 'Thread')),
    kind        TEXT NOT NULL CHECK (kind IN ('created', 'updated', 'destroyed')),
    object_ids  TEXT NOT NULL CHECK (json_type(object_ids) = 'array')
) STRICT;
INSERT INTO change_runs (seq, account_id, modseq, object_type, kind, object_ids)
    SELECT seq, account_id, modseq, object_type, kind, json_array(object_id) FROM changes;
DROP TABLE changes;
CREATE INDEX change_runs_by_account_modseq ON change_runs (account_id, modseq);
