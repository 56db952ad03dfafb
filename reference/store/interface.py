"""The one store interface every backend implements (SQLite now, PostgreSQL later).

Nouns: domains, accounts (with their credentials), aliases, mailboxes, messages and
their membership in mailboxes, blobs (raw message bytes, content-addressed), and the
per-account change log.

Model, chosen for IMAP and JMAP both (DESIGN.md principles 3, 4, 6):
- A *message* is one stored email of one account (a JMAP Email): stable ``MessageId``,
  one blob, size, internal date, thread id, keywords. It is in one or more mailboxes;
  each membership has its own IMAP ``Uid`` (RFC 9051 §2.3.1.1) and the ``ModSeq`` of
  its last change (RFC 7162 §3.1).
- Keywords (IMAP flags) belong to the message, as JMAP's Email/keywords do (RFC 8621
  §4.1.1); IMAP shows them in every mailbox that holds the message.
- Every write bumps the account's one monotonic counter; the new value is the MODSEQ of
  what changed and the JMAP state (RFC 8620 §5.2) of the account, so IMAP and JMAP
  views never disagree.
- Nothing is acknowledged before it is durable: a coroutine that writes returns only
  after its transaction is committed to stable storage.

Model decisions for IMAP4rev2 and JMAP sharing one data model:
- Keywords (every IMAP flag but \\Deleted: \\Seen \\Answered \\Flagged \\Draft $Forwarded
  and custom keywords) belong to the *message*, as JMAP Email keywords do (RFC 8621
  §4.1.1), and show in every mailbox that holds it. \\Deleted belongs to the
  *membership* (the message in one mailbox): RFC 8621 §4.1.1 leaves it out of JMAP
  because IMAP "uses a delete+expunge model, which JMAP does not", so marking a message
  \\Deleted in one mailbox does not mark its copy in another, and EXPUNGE in one mailbox
  removes only that membership. ``MailboxEntry.flags`` is what IMAP shows in a mailbox:
  the message's keywords plus this membership's \\Deleted.
- A mailbox holds a message at most once (JMAP mailboxIds is a set). IMAP COPY adds a
  membership to the same message, with a new UID in the target (the JMAP Email gains a
  mailbox); a COPY into a mailbox that already holds the message (into the same
  mailbox, say) makes a new message sharing the blob, keywords and thread, since IMAP
  asks for a second message there. MOVE removes the source membership and adds the
  target one in the same transaction (RFC 6851 §3.3).
- A message left in no mailbox is destroyed (JMAP Email destroyed), and its blob too
  when no other message uses it.
- Every write job bumps the account's modseq once, if it changes anything. Every
  membership it changes gets that value as its MODSEQ (RFC 7162 §3.1: per message in a
  mailbox), and the mailbox's ``highest_modseq`` (HIGHESTMODSEQ) becomes it. A keyword
  change touches every membership of the message, so every mailbox holding it sees it
  in ``changed_since``. Setting a flag that is set, or clearing one that is not, changes
  nothing and bumps nothing (RFC 7162 §3.1: it "SHOULD NOT change the mod-sequence").
- Expunged memberships leave a tombstone (mailbox, UID, MODSEQ of the expunge) for
  QRESYNC VANISHED (RFC 7162 §3.2.10, §5.3). Tombstones are kept as long as the mailbox
  exists (16-20 bytes each); ``expunged_since`` is therefore exact for every modseq.
  RFC 7162 §5.3 allows expiring them; this store does not yet.
- The change log records what JMAP can see: Email created/updated/destroyed (keywords,
  mailboxIds), Mailbox created/updated/destroyed (name, counts, subscription), Thread
  created/updated/destroyed (its emailIds). \\Deleted counts as a change of the Email
  and of the Mailbox: RFC 8621 §4.1.1 "Any message with the "\\Deleted" keyword MUST
  NOT be visible via JMAP", so a JMAP layer hides \\Deleted memberships (from
  mailboxIds, and from the counts: ``messages - deleted``).
- Subscriptions are names, kept apart from mailboxes (RFC 9051 §6.3.7: a name "no
  longer exists" may stay subscribed; deleting or renaming a mailbox leaves them alone,
  §6.3.6). ``Mailbox.subscribed`` says whether its current name is subscribed.
"""

from __future__ import annotations

from array import array
from collections.abc import AsyncIterator, Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from types import TracebackType
from typing import NamedTuple, NewType, Protocol, Self

from reference.message.text import SearchText

AccountId = NewType("AccountId", int)
MailboxId = NewType("MailboxId", int)
MessageId = NewType("MessageId", int)
ThreadId = NewType("ThreadId", int)
Uid = NewType("Uid", int)
ModSeq = NewType("ModSeq", int)
BlobId = NewType("BlobId", str)          # "sha256:<hex>" of the raw bytes


class StoreError(Exception):
    """A store operation could not be done; the message says why."""


class AlreadyExists(StoreError):
    """A name that must be unique (domain, address, mailbox name) is taken."""


class SpecialUseTaken(AlreadyExists):
    """Another mailbox of the account has the special use asked for (RFC 8621 §2:
    "there MUST NOT be two Mailboxes in the same account with the same role")."""


class NotFound(StoreError):
    """The named object does not exist."""


class MailboxNotFound(NotFound):
    """The named mailbox does not exist. IMAP answers APPEND, COPY and MOVE to it with
    NO [TRYCREATE] (RFC 9051 §6.3.12, §6.4.7: "the server MUST send the response code
    "[TRYCREATE]""); the other NotFound cases (no such account) are not that."""


class InboxNotDeletable(StoreError):
    """RFC 9051 §6.3.5: "It is an error to attempt to delete INBOX"."""


class SpecialUse(Enum):
    """RFC 6154 §2 special-use attributes of the mailboxes every account starts with."""

    DRAFTS = "\\Drafts"
    SENT = "\\Sent"
    TRASH = "\\Trash"
    JUNK = "\\Junk"
    ARCHIVE = "\\Archive"


# The mailboxes a new account gets: INBOX (RFC 9051 §5.1: "INBOX" is special) and one per
# special use (RFC 6154 §2; the names are the ones most clients look for).
DEFAULT_MAILBOXES: tuple[tuple[str, SpecialUse | None], ...] = (
    ("INBOX", None),
    ("Drafts", SpecialUse.DRAFTS),
    ("Sent", SpecialUse.SENT),
    ("Trash", SpecialUse.TRASH),
    ("Junk", SpecialUse.JUNK),
    ("Archive", SpecialUse.ARCHIVE),
)

# RFC 9051 §5.1: the hierarchy delimiter of mailbox names.
HIERARCHY_SEPARATOR = "/"


@dataclass(frozen=True, slots=True)
class Domain:
    name: str                       # lower case, ASCII (A-labels)


@dataclass(frozen=True, slots=True)
class Account:
    id: AccountId
    address: str                    # the login name and primary address, lower case
    display_name: str
    created: datetime


@dataclass(frozen=True, slots=True)
class Alias:
    """``address`` (lower case) delivers to every target address. An ``address`` of the
    form ``@domain`` is the domain's catch-all."""

    address: str
    targets: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Mailbox:
    id: MailboxId
    account_id: AccountId
    name: str                       # full hierarchical name, HIERARCHY_SEPARATOR between
    special_use: SpecialUse | None
    uid_validity: int               # RFC 9051 §2.3.1.1: changes if the name is re-created
    uid_next: Uid
    highest_modseq: ModSeq          # RFC 7162 §3.1.2.1 HIGHESTMODSEQ
    subscribed: bool                # its name is subscribed (RFC 9051 §6.3.7)
    messages: int                   # number of messages in it
    unseen: int                     # of those, without \Seen
    size: int                       # sum of message sizes (RFC 9051 §6.3.11 STATUS SIZE)
    deleted: int = 0                # of those, with \Deleted here (STATUS DELETED, §6.3.11)


@dataclass(frozen=True, slots=True)
class Envelope:
    """The SMTP envelope a message arrived with, kept with it (RFC 5321 §4.4 trace,
    RFC 3461 DSN parameters)."""

    mail_from: str                  # reverse-path without brackets; "" for <>
    recipient: str                  # the RCPT address this copy was delivered for
    original_recipient: str | None = None   # RFC 3461 §4.2 ORCPT, as "type;address"
    notify: tuple[str, ...] = ()            # RFC 3461 §4.1 NOTIFY values
    ret: str | None = None                  # RFC 3461 §4.3
    envid: str | None = None                # RFC 3461 §4.4
    body: str | None = None                 # RFC 6152 BODY=
    smtputf8: bool = False                  # RFC 6531
    helo: str | None = None
    client_address: str | None = None
    authenticated_as: str | None = None


@dataclass(frozen=True, slots=True)
class ThreadKeys:
    """What threading needs from the header, parsed once at delivery (principle 6):
    the Message-ID, and the ids it refers to (In-Reply-To, References; RFC 5322 §3.6.4)."""

    message_id: str | None = None
    references: tuple[str, ...] = ()
    subject: str = ""


@dataclass(frozen=True, slots=True)
class Delivery:
    """One recipient's copy of a message to store (an SMTP delivery, a Sieve fileinto,
    an IMAP APPEND)."""

    account_id: AccountId
    mailbox: str = "INBOX"
    envelope: Envelope | None = None
    # IMAP flags / JMAP keywords; \Deleted here marks the new membership (APPEND may
    # give any flag, RFC 9051 §6.3.12).
    keywords: frozenset[str] = frozenset()
    # A missing mailbox: True delivers to INBOX instead (SMTP, Sieve: the message is
    # kept); False raises MailboxNotFound (APPEND: RFC 9051 §6.3.12 "If the destination
    # mailbox does not exist, a server MUST return an error and MUST NOT automatically
    # create the mailbox").
    fallback_to_inbox: bool = True


@dataclass(frozen=True, slots=True)
class Delivered:
    account_id: AccountId
    mailbox_id: MailboxId
    message_id: MessageId
    uid: Uid
    modseq: ModSeq
    uid_validity: int = 0           # of the mailbox, for APPENDUID (RFC 4315 §3)


@dataclass(frozen=True, slots=True)
class Message:
    """A stored message (JMAP Email) and, when read through a mailbox, its UID there.

    ``keywords`` are the message's (no \\Deleted) from ``get_message``; read through a
    mailbox (``list_messages``) they are the flags IMAP shows there, \\Deleted of that
    membership included, and ``modseq`` is the membership's."""

    id: MessageId
    account_id: AccountId
    blob_id: BlobId
    size: int
    internal_date: datetime         # RFC 9051 §2.3.3
    thread_id: ThreadId
    keywords: frozenset[str]
    modseq: ModSeq
    envelope: Envelope | None
    mailbox_id: MailboxId | None = None
    uid: Uid | None = None


class ChangeKind(Enum):
    CREATED = "created"
    UPDATED = "updated"
    DESTROYED = "destroyed"


class ObjectType(Enum):
    """JMAP data types (RFC 8621) whose changes the log records."""

    EMAIL = "Email"
    MAILBOX = "Mailbox"
    THREAD = "Thread"


@dataclass(frozen=True, slots=True)
class Change:
    modseq: ModSeq
    object_type: ObjectType
    object_id: int
    kind: ChangeKind


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message to store for one or more recipients in one durable transaction."""

    raw: bytes
    internal_date: datetime
    deliveries: Sequence[Delivery]
    thread_keys: ThreadKeys = field(default_factory=ThreadKeys)
    # DESIGN principle 6, parse once: the parsed message (envelope, body structure, part
    # offsets) as opaque JSON text made by reference/message, kept beside the raw bytes
    # and read back with get_structure. A function of the bytes: stored once per blob.
    structure: str | None = None
    # The texts full-text search looks in (SEARCH BODY/TEXT, JMAP filters; made by
    # reference/message/text.index_texts), indexed for search_candidates and kept for
    # message_texts. None: not indexed, so such a message is always a candidate.
    search_text: SearchText | None = None


@dataclass(frozen=True, slots=True)
class MailboxEntry:
    """One message as IMAP sees it in one mailbox: what SELECT, FETCH FLAGS/MODSEQ/
    RFC822.SIZE/INTERNALDATE and the session's view need, without the message body."""

    uid: Uid
    message_id: MessageId
    flags: frozenset[str]           # the message's keywords + this membership's \Deleted
    modseq: ModSeq                  # RFC 7162 §3.1: of this message in this mailbox
    size: int                       # RFC822.SIZE
    internal_date: datetime         # RFC 9051 §2.3.3


@dataclass(frozen=True, slots=True)
class MailboxView:
    """A mailbox and the UID and flags of each of its messages, read in one snapshot:
    ``mailbox.highest_modseq`` is exactly the state they show, so changes after it are
    ``mailbox_changes`` from that value (RFC 7162 §3.1.2.1 HIGHESTMODSEQ at SELECT).

    Columns rather than one ``MailboxEntry`` per message: SELECT of a 100,000-message
    mailbox reads this, and needs nothing else per message. The UIDs are an array of
    unsigned 32-bit integers (``UID_ARRAY``, RFC 9051 §9 nz-number), not a list: a
    list held an int object per message, 100,000 at once, and the freed objects left
    the interpreter's memory arenas fragmented (3 MiB kept after a 100,000-message
    SELECT; none with the array)."""

    mailbox: Mailbox
    uids: Sequence[Uid]             # ascending; an array(UID_ARRAY)
    flags: list[frozenset[str]]     # flags[i] belong to uids[i]; equal sets are one object


# The array typecode of UIDs: unsigned and at least 32 bits (RFC 9051 §9: a UID is an
# nz-number, at most 4,294,967,295). "I" is at least 2 octets in C and 4 on every
# platform CPython runs on; checked once, so a UID never silently wraps.
UID_ARRAY = "I" if array("I").itemsize >= 4 else "L"


@dataclass(frozen=True, slots=True)
class MailboxChanges:
    """What changed in a mailbox after a modseq, read in one snapshot."""

    mailbox: Mailbox                # its state now: remember ``highest_modseq``
    changed: list[FlagState]        # new or changed messages (MODSEQ > since), UID order
    expunged: list[Uid]             # expunged after since, ascending (QRESYNC VANISHED)


class FlagState(NamedTuple):
    """A message's flags and MODSEQ in one mailbox: what STORE's FETCH responses show
    (``update_flags``) and what a view learns changed (``mailbox_changes``). A named
    tuple: a STORE on 1,000 messages makes 1,000."""

    uid: Uid
    message_id: MessageId
    flags: frozenset[str]           # the message's keywords + this membership's \Deleted
    modseq: ModSeq


@dataclass(frozen=True, slots=True)
class FlagUpdate:
    """The outcome of ``update_flags``."""

    # Every UID asked for that is in the mailbox and passed UNCHANGEDSINCE, ascending,
    # with its flags and MODSEQ after the update (what STORE's FETCH responses show).
    # Entries whose modseq equals ``modseq`` were changed by this update; the others
    # already looked like that and were left alone (RFC 7162 §3.1).
    entries: tuple[FlagState, ...]
    # RFC 7162 §3.1.3: UIDs whose MODSEQ was above UNCHANGEDSINCE, not updated; the
    # STORE answers them with the MODIFIED response code. Ascending.
    modified: tuple[Uid, ...]
    # The modseq this update wrote, or None when it changed nothing.
    modseq: ModSeq | None


class ChangeWatcher(Protocol):
    """Wakes when an account's highest modseq grows (IMAP IDLE, JMAP push), whichever
    process made the change. ``wait`` returns the new highest modseq; changes that
    happen before the caller waits again are reported together, by the next ``wait``.
    Iterating yields the same values. Close it (or leave its ``async with``) when done:
    watching costs the store a poll only while some watcher is open."""

    @property
    def modseq(self) -> ModSeq:
        """The highest modseq reported so far (or the ``since`` it started from)."""
        ...

    async def wait(self) -> ModSeq: ...
    def close(self) -> None: ...
    def __aiter__(self) -> AsyncIterator[ModSeq]: ...
    async def __anext__(self) -> ModSeq: ...
    async def __aenter__(self) -> Self: ...
    async def __aexit__(self, kind: type[BaseException] | None,
                        error: BaseException | None,
                        traceback: TracebackType | None) -> None: ...


# A message's bytes and its stored structure (``NewMessage.structure``; None when not
# asked for, or none is stored): what ``message_contents`` reads.
MessageContent = tuple[bytes, str | None]


class MailStore(Protocol):
    """What the protocol sessions need from storage. All writes are durable on return."""

    # --- lifecycle
    async def close(self) -> None: ...

    # --- domains
    async def add_domain(self, name: str) -> Domain: ...
    async def remove_domain(self, name: str) -> None: ...
    async def list_domains(self) -> list[Domain]: ...
    async def is_local_domain(self, name: str) -> bool: ...

    # --- accounts and credentials
    async def add_account(self, address: str, credentials: str, *,
                          display_name: str = "") -> Account: ...
    async def remove_account(self, address: str) -> None: ...
    async def get_account(self, address: str) -> Account | None: ...
    async def get_account_by_id(self, account_id: AccountId) -> Account | None: ...
    async def list_accounts(self) -> list[Account]: ...
    async def get_credentials(self, address: str) -> str | None: ...
    async def set_credentials(self, address: str, credentials: str) -> None: ...

    # --- aliases
    async def add_alias(self, address: str, targets: Sequence[str]) -> Alias: ...
    async def remove_alias(self, address: str) -> None: ...
    async def get_alias(self, address: str) -> Alias | None: ...
    async def list_aliases(self) -> list[Alias]: ...
    async def aliases_of(self, address: str) -> list[str]: ...

    # --- mailboxes
    async def list_mailboxes(self, account_id: AccountId) -> list[Mailbox]: ...
    async def get_mailbox(self, account_id: AccountId, name: str) -> Mailbox | None: ...
    async def get_mailbox_by_id(self, mailbox_id: MailboxId) -> Mailbox | None: ...
    async def create_mailbox(self, account_id: AccountId, name: str, *,
                             special_use: SpecialUse | None = None) -> Mailbox: ...
    async def delete_mailbox(self, account_id: AccountId, name: str) -> None:
        """RFC 9051 §6.3.5: remove the mailbox (not its inferiors) and its memberships;
        messages left in no mailbox are destroyed. INBOX: InboxNotDeletable; a missing
        name: MailboxNotFound. Subscriptions stay (§6.3.7)."""
        ...

    async def rename_mailbox(self, account_id: AccountId, old: str, new: str) -> Mailbox:
        """RFC 9051 §6.3.6: rename it and its inferiors, keeping UIDVALIDITY and UIDs.
        Renaming INBOX moves all its messages to a new mailbox ``new`` (new UIDVALIDITY,
        UIDs from 1) and leaves INBOX empty with its own UIDVALIDITY; INBOX's inferiors
        stay. ``new`` (or an inferior's new name) taken: AlreadyExists. Returns the
        mailbox now called ``new``."""
        ...

    # --- subscriptions (RFC 9051 §6.3.7, §6.3.8): names, existing mailboxes or not
    async def subscribe(self, account_id: AccountId, name: str) -> None: ...
    async def unsubscribe(self, account_id: AccountId, name: str) -> None: ...
    async def list_subscriptions(self, account_id: AccountId) -> list[str]: ...

    # --- messages
    async def store_message(self, message: NewMessage) -> list[Delivered]: ...
    async def store_messages(self, messages: Sequence[NewMessage]) -> list[list[Delivered]]:
        """Several messages in one transaction, all or none (RFC 3502 §6.3.11
        MULTIAPPEND: "If the server fails to append any message, it MUST NOT append any
        messages"); the deliveries of each, in order."""
        ...

    async def list_messages(self, mailbox_id: MailboxId) -> list[Message]: ...
    async def get_message(self, message_id: MessageId) -> Message | None: ...
    async def get_structure(self, message_id: MessageId) -> str | None:
        """The ``NewMessage.structure`` stored with the message's bytes, if any."""
        ...

    async def read_blob(self, blob_id: BlobId) -> bytes | None: ...

    async def message_contents(self, message_ids: Iterable[MessageId], *,
                               structure: bool = True, headers_only: bool = False
                               ) -> dict[MessageId, MessageContent]:
        """The bytes and stored structure (``NewMessage.structure``, if any; None when
        ``structure`` is false) of those messages that exist, in one read: a FETCH or
        SEARCH of many messages. With ``headers_only``, the bytes are only a prefix of
        the message that holds its whole header section and the empty line ending it
        (RFC 5322 §2.1), or the whole message when it has no empty line, and there is
        no structure: what a FETCH of header fields alone needs, without reading
        bodies."""
        ...

    # --- IMAP views of a mailbox (MailboxNotFound when it is gone)
    async def mailbox_view(self, mailbox_id: MailboxId) -> MailboxView:
        """SELECT: the mailbox and the UIDs and flags of its messages, one snapshot."""
        ...

    async def mailbox_entries(self, mailbox_id: MailboxId,
                              uids: Iterable[Uid] | None = None) -> list[MailboxEntry]:
        """Those of ``uids`` (None: every message) that are in the mailbox, in UID
        order."""
        ...

    async def mailbox_contents(self, mailbox_id: MailboxId, uids: Iterable[Uid], *,
                               structure: bool = True, max_octets: int,
                               headers_only: bool = False
                               ) -> tuple[list[MailboxEntry],
                                          dict[MessageId, MessageContent] | None]:
        """``mailbox_entries`` and, when their messages come to at most ``max_octets``
        in all, their ``message_contents`` (``headers_only`` as there), in one read: a
        message list's FETCH of a screenful costs one trip to the store, not two. None
        for the contents when they are larger (the caller reads them in batches)."""
        ...

    async def mailbox_changes(self, mailbox_id: MailboxId, since: ModSeq, *,
                              excluding: Collection[ModSeq] = ()) -> MailboxChanges:
        """Everything a session must learn after ``since``, one snapshot. Messages whose
        MODSEQ is one of ``excluding`` (the caller's own writes, whose outcome it has)
        are left out of ``changed``."""
        ...

    async def changed_since(self, mailbox_id: MailboxId, modseq: ModSeq) -> list[MailboxEntry]:
        """RFC 7162 §3.1.4.1 CHANGEDSINCE: messages whose MODSEQ is above ``modseq``."""
        ...

    async def expunged_since(self, mailbox_id: MailboxId, modseq: ModSeq) -> list[Uid]:
        """RFC 7162 §3.2.10: UIDs expunged after ``modseq`` (VANISHED), ascending."""
        ...

    async def claim_recent(self, mailbox_id: MailboxId, *, claim: bool = True) -> range:
        """RFC 3501 §2.3.2 \\Recent (IMAP4rev1 only): the UIDs recent to the caller.

        With ``claim`` (a read-write SELECT, and a read-write session learning of new
        messages) the mailbox's recent watermark moves to UIDNEXT in the same atomic
        step, so each message is recent in exactly one session: "subsequent sessions
        will not see \\Recent set". Without (EXAMINE) the range is only looked at.
        The range ends at UIDNEXT as of the claim."""
        ...

    # --- flags, expunge, copy and move (IMAP STORE, EXPUNGE, COPY, MOVE)
    async def update_flags(self, mailbox_id: MailboxId, uids: Iterable[Uid], *,
                           add: frozenset[str] = frozenset(),
                           remove: frozenset[str] = frozenset(),
                           replace: frozenset[str] | None = None,
                           unchanged_since: ModSeq | None = None) -> FlagUpdate:
        """RFC 9051 §6.4.6 STORE +FLAGS (``add``), -FLAGS (``remove``), FLAGS
        (``replace``, alone), with RFC 7162 §3.1.3 UNCHANGEDSINCE. UIDs not in the
        mailbox are ignored."""
        ...

    async def expunge(self, mailbox_id: MailboxId,
                      uids: Iterable[Uid] | None = None) -> list[Uid]:
        """RFC 9051 §6.4.3 EXPUNGE (every membership with \\Deleted) or RFC 4315 §2.1
        UID EXPUNGE (only those among ``uids``). Returns the expunged UIDs, ascending."""
        ...

    async def copy_messages(self, source_mailbox_id: MailboxId, uids: Iterable[Uid],
                            target_mailbox_id: MailboxId) -> list[tuple[Uid, Uid]]:
        """RFC 9051 §6.4.7 COPY: (source UID, new target UID) pairs in ascending order,
        for COPYUID (RFC 4315 §3). Flags, \\Deleted included, and internal date are
        kept. All or nothing. A missing target: MailboxNotFound."""
        ...

    async def move_messages(self, source_mailbox_id: MailboxId, uids: Iterable[Uid],
                            target_mailbox_id: MailboxId) -> list[tuple[Uid, Uid]]:
        """RFC 6851 §3.3 / RFC 9051 §6.4.8 MOVE: as copy_messages, and the source
        memberships are expunged in the same transaction (the source UIDs of the
        pairs are its expunges)."""
        ...

    # --- full-text search
    async def search_candidates(self, mailbox_id: MailboxId,
                                substrings: Sequence[str]) -> set[Uid] | None:
        """A narrowing for SEARCH BODY/TEXT (RFC 9051 §6.4.4): a superset of the UIDs
        whose ``search_text`` contains every one of ``substrings`` (case-insensitively),
        or None when the index cannot narrow at all. The caller checks exactly."""
        ...

    async def reindex(self, index: Callable[[bytes], tuple[str, SearchText]], *,
                      everything: bool = False, batch: int = 200) -> int:
        """Index again what an older version stored (DESIGN principle 6, parse once):
        each message stored without search text, or every message with ``everything``,
        gets the structure and search texts ``index(raw)`` makes now (reference/
        delivery/indexing.index_message), ``batch`` messages per write. Returns how many
        messages were indexed. Safe beside a running server."""
        ...

    async def unindexed_messages(self) -> int:
        """How many messages are stored without search text (stored by an older version,
        or left so by a migration): ``reindex`` indexes them. SEARCH BODY/TEXT reads
        each of them whole until then."""
        ...

    async def search_texts_containing(self, mailbox_id: MailboxId, body: Sequence[str],
                                      text: Sequence[str]
                                      ) -> tuple[set[Uid], set[Uid]] | None:
        """The exact check of SEARCH BODY/TEXT keys (RFC 9051 §6.4.4) on the stored
        texts, narrowed by the index: the UIDs whose body text contains every string of
        ``body`` and whose whole text (``SearchText.whole``) every string of ``text``
        (strings folded as the texts are), and the UIDs of messages stored without text,
        which the caller must check itself. None when the index cannot narrow (no
        string of three characters or more)."""
        ...

    async def message_texts(self, message_ids: Iterable[MessageId]
                            ) -> dict[MessageId, SearchText]:
        """The search texts stored with those messages (those stored without have none
        here), in one read: what the exact check of SEARCH BODY/TEXT looks in."""
        ...

    # --- change log and notification
    async def highest_modseq(self, account_id: AccountId) -> ModSeq: ...
    async def changes_since(self, account_id: AccountId, modseq: ModSeq) -> list[Change]: ...
    async def watch(self, account_id: AccountId, *,
                    since: ModSeq | None = None) -> ChangeWatcher:
        """A watcher that wakes when the account's highest modseq grows above ``since``
        (default: its value now). Give ``since`` the modseq your view was read at, so a
        change between that read and this call is not missed."""
        ...
