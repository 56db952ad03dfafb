"""Reads of the SQLite store that IMAP sessions make of a mailbox: the view at SELECT,
what changed since a modseq (RFC 7162 CONDSTORE/QRESYNC), and full-text candidates.

Functions of a read connection, run on the store's reader threads. A read that needs
several statements runs them in one read transaction (``snapshot``), so they all see
the same committed state: a mailbox's HIGHESTMODSEQ and its messages must agree, or a
session would skip or repeat changes.

Full-text search (``fts_query``): the FTS5 table ``message_text`` uses the trigram
tokenizer and keeps, for each trigram, which messages hold it (``detail = none``: not
where), matched case-insensitively (``case_sensitive 0``: the tokenizer folds the case
of each character, with SQLite's Unicode case folding). RFC 9051 §6.4.4: "a message
matches the key if the string is a substring of the associated text"; the server's
exact check stays with the caller (or ``search_texts_containing``'s instr()), so the
index need only narrow: every message whose text contains the strings must be among the
candidates, and a few more may be.
- A string is looked up as every trigram it contains (a text containing the string
  contains each of them); a string shorter than 3 characters has none and is left out
  of the narrowing; if no string is left, there is no narrowing (None).
- User strings are untrusted: each trigram becomes one FTS5 string literal, in double
  quotes with inner quotes doubled, so no FTS5 operator (AND, OR, NOT, NEAR, ``*``,
  ``^``, column filters) in it has any effect. A NUL or a lone surrogate cannot be
  passed (NUL ends the query text, a surrogate is not UTF-8), so the string is split
  there and each piece kept as a narrowing of its own: text containing the whole
  contains each piece. Strings are split at line ends too: a message's texts are three
  columns (header, body, MIME headers), and a trigram spanning two of them is in none;
  each line of the whole text lies in one column.
- ``message_texts`` reads the stored texts of given messages, for the caller's exact
  check (BODY in the body column, TEXT in all three joined), batch by batch.
- Stored text gets the same treatment (``searchable_text``): the tokenizer stops at a
  NUL, and a surrogate cannot be stored, so each becomes a space. A string piece
  without them matches the text with them replaced wherever it matched before.
- The query stays small: at most ``MAX_TRIGRAMS`` distinct trigrams, taken from the
  longest pieces first (fewer trigrams only narrow less).
- Case folding: the index folds case per character, so a substring match after the
  caller's own folding (of text and strings alike) is always a match in the index
  too, provided the caller stored ``search_text`` in the form it compares (e.g.
  casefolded, or NFC). Folding that changes length (German ß to "ss") must be applied
  by the caller before storing and searching, or those matches are missed.
- Messages stored without search text (``messages_without_text``: all messages from
  before schema version 3) are always candidates.
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import threading
from array import array
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import islice
from typing import TypeVar, cast

from reference.message.text import SearchText
from reference.store.interface import (
    UID_ARRAY,
    FlagState,
    MailboxChanges,
    MailboxEntry,
    MailboxId,
    MailboxView,
    MessageContent,
    MessageId,
    ModSeq,
    Uid,
)
from reference.store.sqlite_commit import translate_error
from reference.store.sqlite_rows import ENTRY_COLUMNS, FlagDecoder, entries
from reference.store.sqlite_writes import get_mailbox

T = TypeVar("T")

TRIGRAM = 3                         # the shortest string the trigram tokenizer can find
MAX_TRIGRAMS = 32
# Where FTS5 query text cannot carry a character: NUL, and UTF-16 surrogates.
_UNQUERYABLE = re.compile("[\x00\ud800-\udfff]")
# Where a query string is cut into pieces that narrow each on its own: the above, and
# line ends, since a message's texts are columns and a trigram is indexed within one
# column only; every column boundary is a line end of the whole text (SearchText.whole).
_QUERY_BREAKS = re.compile("[\x00\n\ud800-\udfff]")

_ENTRIES = (f"SELECT {ENTRY_COLUMNS} FROM mailbox_messages mm"
            " JOIN messages m ON m.id = mm.message_id WHERE mm.mailbox_id = ?")


class ReaderPool:
    """Threads for the larger reads, each with its own read connection."""

    def __init__(self, connect_reader: Callable[[], sqlite3.Connection], threads: int):
        self._connect_reader = connect_reader
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=threads,
                                            thread_name_prefix="rfcmail-sqlite-read")

    async def run(self, query: Callable[[sqlite3.Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._run, query)

    def _run(self, query: Callable[[sqlite3.Connection], T]) -> T:
        try:
            connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
            if connection is None:
                connection = self._connect_reader()
                self._local.connection = connection
                with self._lock:
                    self._connections.append(connection)
            return query(connection)
        except sqlite3.Error as error:
            raise translate_error(error) from error

    def close(self) -> None:
        """Blocking: wait for running reads, then close every connection."""
        self._executor.shutdown(wait=True)
        with self._lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()


def snapshot(connection: sqlite3.Connection, read: Callable[[sqlite3.Connection], T]) -> T:
    """Run ``read`` in one read transaction: every statement sees the same state."""
    connection.execute("BEGIN")
    try:
        return read(connection)
    finally:
        connection.execute("COMMIT")      # ends the read transaction; nothing to write


def mailbox_view(connection: sqlite3.Connection, mailbox_id: MailboxId) -> MailboxView:
    def read(connection: sqlite3.Connection) -> MailboxView:
        box = get_mailbox(connection, mailbox_id)
        # The primary key (mailbox_id, uid) is the table's order: one range scan, in UID
        # order, and one rowid lookup per message for its keywords.
        # Row by row, not fetchall(): each row's tuple and keywords text is freed as the
        # next is read, so a 100,000-message SELECT never holds 100,000 of them (whose
        # freed memory stayed in the process, about 60 octets a message).
        uids: array[int] = array(UID_ARRAY)
        flags: list[frozenset[str]] = []
        decode = FlagDecoder().flags
        for uid, keywords, deleted in connection.execute(
                "SELECT mm.uid, m.keywords, mm.deleted FROM mailbox_messages mm"
                " JOIN messages m ON m.id = mm.message_id WHERE mm.mailbox_id = ?"
                " ORDER BY mm.uid", (mailbox_id,)):
            uids.append(uid)
            flags.append(decode(keywords, deleted))
        return MailboxView(box, cast(Sequence[Uid], uids), flags)
    return snapshot(connection, read)


def mailbox_entries(connection: sqlite3.Connection, mailbox_id: MailboxId,
                    uids_json: str | None) -> list[MailboxEntry]:
    return snapshot(connection, lambda connection: _entries_of(connection, mailbox_id,
                                                               uids_json))


def mailbox_contents(connection: sqlite3.Connection, mailbox_id: MailboxId, uids_json: str,
                     *, structure: bool, max_octets: int, headers_only: bool = False
                     ) -> tuple[list[MailboxEntry], dict[MessageId, MessageContent] | None]:
    def read(connection: sqlite3.Connection
             ) -> tuple[list[MailboxEntry], dict[MessageId, MessageContent] | None]:
        found = _entries_of(connection, mailbox_id, uids_json)
        # Counted whole, headers_only or not: a message whose header has no end is read
        # whole, so this bounds what is read either way.
        if sum(entry.size for entry in found) > max_octets:
            return found, None
        ids = json.dumps([entry.message_id for entry in found])
        if headers_only:
            return found, message_headers(connection, ids)
        return found, message_contents(connection, ids, structure=structure)
    return snapshot(connection, read)


def _entries_of(connection: sqlite3.Connection, mailbox_id: MailboxId,
                uids_json: str | None) -> list[MailboxEntry]:
    get_mailbox(connection, mailbox_id)
    if uids_json is None:
        return entries(connection.execute(_ENTRIES + " ORDER BY mm.uid",
                                          (mailbox_id,)).fetchall())
    return entries(connection.execute(
        _ENTRIES + " AND mm.uid IN (SELECT value FROM json_each(?)) ORDER BY mm.uid",
        (mailbox_id, uids_json)).fetchall())


def message_contents(connection: sqlite3.Connection, ids_json: str, *, structure: bool
                     ) -> dict[MessageId, MessageContent]:
    """The bytes and stored structure (None without ``structure``) of those messages
    that exist."""
    sql = ("SELECT m.id, b.data, s.structure FROM messages m"
           " JOIN blobs b ON b.id = m.blob_id"
           " LEFT JOIN blob_structures s ON s.blob_id = m.blob_id"
           " WHERE m.id IN (SELECT value FROM json_each(?))") if structure else (
           "SELECT m.id, b.data, NULL FROM messages m JOIN blobs b ON b.id = m.blob_id"
           " WHERE m.id IN (SELECT value FROM json_each(?))")
    return {MessageId(message_id): (bytes(data), stored)
            for message_id, data, stored in connection.execute(sql, (ids_json,))}


# A message's header section is read as a prefix of its bytes this long, which holds
# most headers (a long Received chain and DKIM signatures included), then eight times
# as long, and so on, until the empty line ending it is in it or the whole message is.
HEADER_PREFIX = 8192
# RFC 5322 §2.1: the header section ends at "an empty line": where a line starts (at
# the start, or after an LF) with CRLF or a bare LF, as headers.scan_header finds it.
_HEADER_END = re.compile(rb"(?:\A|\n)\r?\n")


def message_headers(connection: sqlite3.Connection, ids_json: str
                    ) -> dict[MessageId, MessageContent]:
    """The header sections of those messages that exist, for a FETCH of header fields
    alone (a client's message list): each a prefix of the message's bytes that holds
    its whole header section and the empty line ending it -- or the whole message, when
    it has no empty line. No structure. Run in a snapshot (the rows found stay).

    The prefix is read with SQLite's incremental blob I/O, which reads the pages of the
    octets asked for; any SQL function of the column (substr()) loads the whole value
    first: 1.4 ms for one 5 MB message instead of 9 us."""
    found: dict[MessageId, MessageContent] = {}
    for message_id, rowid in connection.execute(
            "SELECT m.id, b.rowid FROM messages m JOIN blobs b ON b.id = m.blob_id"
            " WHERE m.id IN (SELECT value FROM json_each(?))", (ids_json,)).fetchall():
        with connection.blobopen("blobs", "data", rowid, readonly=True) as blob:
            # The blob's own length, not the size column: a read always ends.
            length = len(blob)
            prefix = blob.read(HEADER_PREFIX)
            while len(prefix) < length and _HEADER_END.search(prefix) is None:
                prefix += blob.read(7 * len(prefix))        # eight times as long
        found[MessageId(message_id)] = (prefix, None)
    return found


def mailbox_changes(connection: sqlite3.Connection, mailbox_id: MailboxId,
                    since: ModSeq, excluding: Sequence[ModSeq] = ()) -> MailboxChanges:
    def read(connection: sqlite3.Connection) -> MailboxChanges:
        box = get_mailbox(connection, mailbox_id)
        return MailboxChanges(box, _flags_changed(connection, mailbox_id, since, excluding),
                              _expunged(connection, mailbox_id, since))
    return snapshot(connection, read)


def changed_since(connection: sqlite3.Connection, mailbox_id: MailboxId,
                  since: ModSeq) -> list[MailboxEntry]:
    def read(connection: sqlite3.Connection) -> list[MailboxEntry]:
        get_mailbox(connection, mailbox_id)
        return _changed(connection, mailbox_id, since)
    return snapshot(connection, read)


def expunged_since(connection: sqlite3.Connection, mailbox_id: MailboxId,
                   since: ModSeq) -> list[Uid]:
    def read(connection: sqlite3.Connection) -> list[Uid]:
        get_mailbox(connection, mailbox_id)
        return _expunged(connection, mailbox_id, since)
    return snapshot(connection, read)


# RFC 7162 §3.1.4.1 CHANGEDSINCE: "only messages that have a mod-sequence value greater
# than the specified value"; the (mailbox_id, modseq) indexes find them. "ORDER BY +uid"
# sorts the few rows found: with a plain "ORDER BY uid" SQLite read the whole mailbox in
# UID order (its primary key) to skip the sort, checking each row's modseq -- every
# SELECT and refresh of a 100,000-message mailbox read 100,000 rows to find none.
CHANGED_SINCE = _ENTRIES + " AND mm.modseq > ? ORDER BY +mm.uid"
# What a view learns (mailbox_changes): flags and MODSEQ, not sizes and dates to parse.
_FLAG_STATES = ("SELECT mm.uid, mm.message_id, m.keywords, mm.deleted, mm.modseq"
                " FROM mailbox_messages mm JOIN messages m ON m.id = mm.message_id"
                " WHERE mm.mailbox_id = ?")
FLAGS_CHANGED_SINCE = _FLAG_STATES + " AND mm.modseq > ? ORDER BY +mm.uid"
FLAGS_CHANGED_SINCE_EXCLUDING = (_FLAG_STATES + " AND mm.modseq > ? AND mm.modseq NOT IN"
                                 " (SELECT value FROM json_each(?)) ORDER BY +mm.uid")
EXPUNGED_SINCE = ("SELECT uid FROM expunged_uids WHERE mailbox_id = ? AND modseq > ?"
                  " ORDER BY +uid")


def _changed(connection: sqlite3.Connection, mailbox_id: MailboxId,
             since: ModSeq) -> list[MailboxEntry]:
    return entries(connection.execute(CHANGED_SINCE, (mailbox_id, since)).fetchall(),
                   FlagDecoder())


def _flags_changed(connection: sqlite3.Connection, mailbox_id: MailboxId,
                   since: ModSeq, excluding: Sequence[ModSeq]) -> list[FlagState]:
    rows = connection.execute(
        FLAGS_CHANGED_SINCE_EXCLUDING, (mailbox_id, since, json.dumps(sorted(excluding)))
    ) if excluding else connection.execute(FLAGS_CHANGED_SINCE, (mailbox_id, since))
    flags = FlagDecoder().flags
    return [FlagState(uid, message_id, flags(keywords, deleted), modseq)
            for uid, message_id, keywords, deleted, modseq in rows]


def _expunged(connection: sqlite3.Connection, mailbox_id: MailboxId,
              since: ModSeq) -> list[Uid]:
    return [Uid(uid) for (uid,) in connection.execute(
        EXPUNGED_SINCE, (mailbox_id, since)).fetchall()]


# --- full-text search


def searchable_text(text: str) -> str:
    """The text as the index takes it (see the module notes). Most texts have neither
    NUL nor surrogate, which is told without the regular expression's scan (190 us for
    a 16 KB text, at every message stored): an ASCII string is known to be ASCII, and
    only a string with a surrogate fails to encode as UTF-8."""
    if "\x00" not in text:
        if text.isascii():
            return text
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            pass
        else:
            return text
    return _UNQUERYABLE.sub(" ", text)


def fts_query(substrings: Sequence[str]) -> str | None:
    """The FTS5 query for text containing all of ``substrings``, or None when none of
    them can be looked up (see the module notes)."""
    pieces = sorted({piece for string in substrings for piece in _QUERY_BREAKS.split(string)
                     if len(piece) >= TRIGRAM}, key=lambda piece: (-len(piece), piece))
    # Distinct, in the order found.
    trigrams = list(dict.fromkeys(islice(
        (piece[start:start + TRIGRAM] for piece in pieces
         for start in range(len(piece) - TRIGRAM + 1)), MAX_TRIGRAMS * 4)))[:MAX_TRIGRAMS]
    if not trigrams:
        return None
    return " AND ".join('"' + trigram.replace('"', '""') + '"' for trigram in trigrams)


def search_candidates(connection: sqlite3.Connection, mailbox_id: MailboxId,
                      query: str) -> set[Uid]:
    def read(connection: sqlite3.Connection) -> set[Uid]:
        get_mailbox(connection, mailbox_id)
        # The index answers first (one MATCH), then each hit is looked up in the
        # mailbox: a join with the mailbox outside would run a MATCH per message.
        hits = {Uid(uid) for (uid,) in connection.execute(
            "SELECT mm.uid FROM mailbox_messages mm WHERE mm.mailbox_id = ?"
            " AND mm.message_id IN"
            " (SELECT rowid FROM message_text WHERE message_text MATCH ?)",
            (mailbox_id, query))}
        return hits | _uids_without_text(connection, mailbox_id)
    return snapshot(connection, read)


def _uids_without_text(connection: sqlite3.Connection, mailbox_id: MailboxId) -> set[Uid]:
    """Messages of the mailbox stored without search text: always candidates."""
    return {Uid(uid) for (uid,) in connection.execute(
        "SELECT mm.uid FROM messages_without_text u JOIN mailbox_messages mm"
        " ON mm.message_id = u.message_id AND mm.mailbox_id = ?", (mailbox_id,))}


def search_texts_containing(connection: sqlite3.Connection, mailbox_id: MailboxId,
                            query: str, body: Sequence[str], text: Sequence[str]
                            ) -> tuple[set[Uid], set[Uid]]:
    def read(connection: sqlite3.Connection) -> tuple[set[Uid], set[Uid]]:
        get_mailbox(connection, mailbox_id)
        # CROSS JOIN keeps the index's hits the outer loop (one MATCH, see
        # search_candidates); instr() is the exact substring check, on the same folded
        # texts the caller's matcher would read.
        checks = "".join([" AND instr(h.body, ?) > 0"] * len(body)
                         + [" AND instr(h.header || char(10) || h.body || char(10) ||"
                            " h.mime, ?) > 0"] * len(text))
        matched = {Uid(uid) for (uid,) in connection.execute(
            "SELECT mm.uid FROM message_text h CROSS JOIN mailbox_messages mm"
            " ON mm.message_id = h.rowid AND mm.mailbox_id = ? WHERE message_text MATCH ?"
            + checks, (mailbox_id, query, *body, *text))}
        return matched, _uids_without_text(connection, mailbox_id)
    return snapshot(connection, read)


def message_texts(connection: sqlite3.Connection, ids_json: str
                  ) -> dict[MessageId, SearchText]:
    # The index's own copy of its texts (FTS5's content table, rowid = message id): a
    # lookup by rowid, where a MATCH-less query of the virtual table would scan it.
    return {MessageId(message_id): SearchText(header, body, mime)
            for message_id, header, body, mime in connection.execute(
                "SELECT id, c0, c1, c2 FROM message_text_content"
                " WHERE id IN (SELECT value FROM json_each(?))", (ids_json,))}
