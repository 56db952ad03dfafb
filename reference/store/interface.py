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
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import NewType, Protocol

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


class NotFound(StoreError):
    """The named object does not exist."""


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
    highest_modseq: ModSeq
    subscribed: bool
    messages: int                   # number of messages in it
    unseen: int                     # of those, without \Seen
    size: int                       # sum of message sizes (RFC 8438 STATUS SIZE)


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
    """One recipient's copy of a message to store."""

    account_id: AccountId
    mailbox: str = "INBOX"
    envelope: Envelope | None = None
    keywords: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Delivered:
    account_id: AccountId
    mailbox_id: MailboxId
    message_id: MessageId
    uid: Uid
    modseq: ModSeq


@dataclass(frozen=True, slots=True)
class Message:
    """A stored message (JMAP Email) and, when read through a mailbox, its UID there."""

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
    async def create_mailbox(self, account_id: AccountId, name: str, *,
                             special_use: SpecialUse | None = None) -> Mailbox: ...

    # --- messages
    async def store_message(self, message: NewMessage) -> list[Delivered]: ...
    async def list_messages(self, mailbox_id: MailboxId) -> list[Message]: ...
    async def get_message(self, message_id: MessageId) -> Message | None: ...
    async def read_blob(self, blob_id: BlobId) -> bytes | None: ...

    # --- change log
    async def highest_modseq(self, account_id: AccountId) -> ModSeq: ...
    async def changes_since(self, account_id: AccountId, modseq: ModSeq) -> list[Change]: ...
