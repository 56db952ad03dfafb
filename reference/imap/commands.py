"""IMAP commands and the other events the server core emits, as frozen dataclasses.

One class per command of RFC 9051 §6, grouped as §6.1-6.4, plus the IMAP4rev1 commands
RFC 3501 still defines (CHECK, LSUB) and ID (RFC 2971). ``tag`` comes first; the other
fields are named after the RFC's arguments. The UID forms (§6.4.9) are the same classes
with ``uid=True``. Mailbox names are the Unicode names (the wire form, UTF-8 or modified
UTF-7, is the parser's and serializer's business); strings are ``str``, message data
``bytes``. Other happenings use the past tense or the RFC's word (``IdleDone``,
``AuthenticateResponse``, ``ConnectionClosed``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

from reference.imap.grammar_fetch import FetchAtt, FetchMacro
from reference.imap.grammar_search import SearchKey
from reference.imap.sequence_sets import SequenceSet

Tag = str


class StatusAtt(Enum):
    """status-att (RFC 9051 §6.3.11; RECENT: RFC 3501; HIGHESTMODSEQ: RFC 7162 §3.1.8;
    APPENDLIMIT: RFC 7889 §3.1; SIZE: RFC 8438)."""

    MESSAGES = "MESSAGES"
    UIDNEXT = "UIDNEXT"
    UIDVALIDITY = "UIDVALIDITY"
    UNSEEN = "UNSEEN"
    DELETED = "DELETED"
    SIZE = "SIZE"
    RECENT = "RECENT"
    HIGHESTMODSEQ = "HIGHESTMODSEQ"
    APPENDLIMIT = "APPENDLIMIT"


# --- §6.1 any state --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Capability:
    """RFC 9051 §6.1.1 ``"CAPABILITY"``"""

    tag: Tag


@dataclass(frozen=True, slots=True)
class Noop:
    """RFC 9051 §6.1.2 ``"NOOP"``"""

    tag: Tag


@dataclass(frozen=True, slots=True)
class Logout:
    """RFC 9051 §6.1.3 ``"LOGOUT"``"""

    tag: Tag


@dataclass(frozen=True, slots=True)
class Id:
    """RFC 2971 §3.1 ``"ID" SPACE id_params_list``; ``None`` for NIL. Valid in any
    state ("the ID command ... may be issued at any time")."""

    tag: Tag
    parameters: tuple[tuple[str, str | None], ...] | None = None


# --- §6.2 not authenticated state -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class StartTls:
    """RFC 9051 §6.2.1 ``"STARTTLS"``"""

    tag: Tag


@dataclass(frozen=True, slots=True)
class Authenticate:
    """RFC 9051 §6.2.2 ``"AUTHENTICATE" SP auth-type [SP initial-resp]``.

    ``initial_response`` (RFC 4959 SASL-IR, folded into RFC 9051) is decoded from base64;
    ``b""`` for "=", the zero-length response; ``None`` when absent.
    """

    tag: Tag
    auth_type: str
    initial_response: bytes | None = None


@dataclass(frozen=True, slots=True)
class Login:
    """RFC 9051 §6.2.3 ``"LOGIN" SP userid SP password``"""

    tag: Tag
    userid: str
    password: str


# --- §6.3 authenticated state ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Enable:
    """RFC 9051 §6.3.1 ``"ENABLE" 1*(SP capability)``"""

    tag: Tag
    capabilities: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class QresyncParameters:
    """RFC 7162 §3.2.5 ``"QRESYNC" SP "(" uidvalidity SP mod-sequence-value
    [SP known-uids] [SP seq-match-data] ")"``; seq-match-data is the pair
    (known-sequence-set, known-uid-set)."""

    uidvalidity: int
    modseq: int
    known_uids: SequenceSet | None = None
    seq_match_data: tuple[SequenceSet, SequenceSet] | None = None


@dataclass(frozen=True, slots=True)
class Select:
    """RFC 9051 §6.3.2 ``"SELECT" SP mailbox [select-params]`` (RFC 4466); select-param
    CONDSTORE (RFC 7162 §3.1.8) and QRESYNC (§3.2.5)."""

    tag: Tag
    mailbox: str
    condstore: bool = False
    qresync: QresyncParameters | None = None


@dataclass(frozen=True, slots=True)
class Examine:
    """RFC 9051 §6.3.3 ``"EXAMINE" SP mailbox [select-params]``"""

    tag: Tag
    mailbox: str
    condstore: bool = False
    qresync: QresyncParameters | None = None


@dataclass(frozen=True, slots=True)
class Create:
    """RFC 9051 §6.3.4 ``"CREATE" SP mailbox [create-params]``; ``special_use`` is RFC
    6154 §3's ``USE (use-attr ...)``."""

    tag: Tag
    mailbox: str
    special_use: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class Delete:
    """RFC 9051 §6.3.5 ``"DELETE" SP mailbox``"""

    tag: Tag
    mailbox: str


@dataclass(frozen=True, slots=True)
class Rename:
    """RFC 9051 §6.3.6 ``"RENAME" SP mailbox SP mailbox`` (existing, new)."""

    tag: Tag
    existing_mailbox: str
    new_mailbox: str


@dataclass(frozen=True, slots=True)
class Subscribe:
    """RFC 9051 §6.3.7 ``"SUBSCRIBE" SP mailbox``"""

    tag: Tag
    mailbox: str


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    """RFC 9051 §6.3.8 ``"UNSUBSCRIBE" SP mailbox``"""

    tag: Tag
    mailbox: str


class ListSelectOption(Enum):
    """RFC 9051 §6.3.9.1 selection options (SPECIAL-USE: RFC 6154 §3)."""

    SUBSCRIBED = "SUBSCRIBED"
    REMOTE = "REMOTE"
    RECURSIVEMATCH = "RECURSIVEMATCH"
    SPECIAL_USE = "SPECIAL-USE"


class ListReturnOption(Enum):
    """RFC 9051 §6.3.9.2 return options (STATUS: RFC 5819, in ``return_status``)."""

    SUBSCRIBED = "SUBSCRIBED"
    CHILDREN = "CHILDREN"
    SPECIAL_USE = "SPECIAL-USE"


@dataclass(frozen=True, slots=True)
class List:
    """RFC 9051 §6.3.9 ``"LIST" [SP list-select-opts] SP mailbox SP mbox-or-pat
    [SP list-return-opts]``.

    ``patterns`` is a ``str`` for one list-mailbox, a tuple for "(" patterns ")".
    ``selection_options``/``return_options`` are ``None`` when absent: whether the
    extended syntax is in use matters (§6.3.9: an empty pattern is special only in the
    basic syntax). ``return_status`` is RFC 5819's ``STATUS (status-att ...)``.
    """

    tag: Tag
    reference: str
    patterns: str | tuple[str, ...]
    selection_options: tuple[ListSelectOption, ...] | None = None
    return_options: tuple[ListReturnOption, ...] | None = None
    return_status: tuple[StatusAtt, ...] | None = None

    @property
    def extended(self) -> bool:
        """§6.3.9: the extended syntax is in use if selection options, a parenthesised
        pattern list or return options are present."""
        return (self.selection_options is not None or isinstance(self.patterns, tuple)
                or self.return_options is not None or self.return_status is not None)


@dataclass(frozen=True, slots=True)
class Lsub:
    """RFC 3501 §6.3.9 ``"LSUB" SP mailbox SP list-mailbox`` (IMAP4rev1; deprecated by
    RFC 9051 Appendix E item 19)."""

    tag: Tag
    reference: str
    pattern: str


@dataclass(frozen=True, slots=True)
class Namespace:
    """RFC 9051 §6.3.10 ``"NAMESPACE"``"""

    tag: Tag


@dataclass(frozen=True, slots=True)
class Status:
    """RFC 9051 §6.3.11 ``"STATUS" SP mailbox SP "(" status-att *(SP status-att) ")"``"""

    tag: Tag
    mailbox: str
    attributes: tuple[StatusAtt, ...]


@dataclass(frozen=True, slots=True)
class AppendMessage:
    """One append-message (RFC 4466 §2.2): ``append-opts SP append-data``.

    ``binary`` marks literal8 (RFC 3516 §4.4: "APPEND ... literal8"); ``utf8`` RFC 6855
    §4's ``"UTF8" SP "(" literal8 ")"``.
    """

    message: bytes
    flags: tuple[str, ...] | None = None
    date_time: datetime | None = None
    binary: bool = False
    utf8: bool = False


@dataclass(frozen=True, slots=True)
class Append:
    """RFC 9051 §6.3.12 ``"APPEND" SP mailbox [SP flag-list] [SP date-time] SP literal``,
    and RFC 3502 §6.3.11 MULTIAPPEND: ``1*append-message``."""

    tag: Tag
    mailbox: str
    messages: tuple[AppendMessage, ...]


@dataclass(frozen=True, slots=True)
class Idle:
    """RFC 9051 §6.3.13 ``"IDLE" CRLF "DONE"`` (the DONE arrives as ``IdleDone``)."""

    tag: Tag


# --- §6.4 selected state ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Check:
    """RFC 3501 §6.4.1 ``"CHECK"`` (IMAP4rev1; removed by RFC 9051 Appendix E item 17)."""

    tag: Tag


@dataclass(frozen=True, slots=True)
class Close:
    """RFC 9051 §6.4.1 ``"CLOSE"``"""

    tag: Tag


@dataclass(frozen=True, slots=True)
class Unselect:
    """RFC 9051 §6.4.2 ``"UNSELECT"``"""

    tag: Tag


@dataclass(frozen=True, slots=True)
class Expunge:
    """RFC 9051 §6.4.3 ``"EXPUNGE"``; with ``uid=True`` §6.4.9 ``uid-expunge =
    "EXPUNGE" SP sequence-set`` (RFC 4315 UIDPLUS)."""

    tag: Tag
    sequence_set: SequenceSet | None = None
    uid: bool = False

    def __post_init__(self) -> None:
        if self.uid != (self.sequence_set is not None):
            raise ValueError("UID EXPUNGE takes a sequence set, EXPUNGE none")


class SearchReturnOption(Enum):
    """RFC 9051 §6.4.4 search-return-opt."""

    MIN = "MIN"
    MAX = "MAX"
    ALL = "ALL"
    COUNT = "COUNT"
    SAVE = "SAVE"


@dataclass(frozen=True, slots=True)
class Search:
    """RFC 9051 §6.4.4 ``"SEARCH" [search-return-opts] SP search-program``.

    ``return_options`` is ``None`` without RETURN (RFC 3501 SEARCH response for IMAP4rev1
    clients; ESEARCH ALL in IMAP4rev2), ``()`` for ``RETURN ()``. ``charset`` is the
    CHARSET as written, ``None`` when absent.
    """

    tag: Tag
    keys: tuple[SearchKey, ...]
    charset: str | None = None
    return_options: tuple[SearchReturnOption, ...] | None = None
    uid: bool = False


@dataclass(frozen=True, slots=True)
class Fetch:
    """RFC 9051 §6.4.5 ``"FETCH" SP sequence-set SP ("ALL" / "FULL" / "FAST" / fetch-att
    / "(" fetch-att *(SP fetch-att) ")")`` [fetch-modifiers] (RFC 4466): CHANGEDSINCE
    (RFC 7162 §3.1.4.1) and VANISHED (§3.2.6, UID FETCH only)."""

    tag: Tag
    sequence_set: SequenceSet
    items: FetchMacro | tuple[FetchAtt, ...]
    uid: bool = False
    changedsince: int | None = None
    vanished: bool = False


class StoreAction(Enum):
    """store-att-flags = (["+" / "-"] "FLAGS" [".SILENT"])"""

    REPLACE = ""
    ADD = "+"
    REMOVE = "-"


@dataclass(frozen=True, slots=True)
class Store:
    """RFC 9051 §6.4.6 ``"STORE" SP sequence-set [store-modifiers] SP store-att-flags``;
    UNCHANGEDSINCE is RFC 7162 §3.1.3's store-modifier."""

    tag: Tag
    sequence_set: SequenceSet
    action: StoreAction
    flags: tuple[str, ...]
    silent: bool = False
    uid: bool = False
    unchangedsince: int | None = None


@dataclass(frozen=True, slots=True)
class Copy:
    """RFC 9051 §6.4.7 ``"COPY" SP sequence-set SP mailbox``"""

    tag: Tag
    sequence_set: SequenceSet
    mailbox: str
    uid: bool = False


@dataclass(frozen=True, slots=True)
class Move:
    """RFC 9051 §6.4.8 ``"MOVE" SP sequence-set SP mailbox`` (RFC 6851)."""

    tag: Tag
    sequence_set: SequenceSet
    mailbox: str
    uid: bool = False


Command = (Capability | Noop | Logout | Id | StartTls | Authenticate | Login | Enable
           | Select | Examine | Create | Delete | Rename | Subscribe | Unsubscribe | List
           | Lsub | Namespace | Status | Append | Idle | Check | Close | Unselect | Expunge
           | Search | Fetch | Store | Copy | Move)


# --- other events ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IdleDone:
    """RFC 9051 §6.3.13: "The IDLE command is terminated by the receipt of a "DONE"
    continuation from the client"."""


@dataclass(frozen=True, slots=True)
class AuthenticateResponse:
    """RFC 9051 §6.2.2: one client line of a SASL exchange, decoded from base64;
    ``None`` for "*" ("If the client wishes to cancel an authentication exchange, it
    issues a line consisting of a single "*"")."""

    data: bytes | None


@dataclass(frozen=True, slots=True)
class ConnectionClosed:
    """The client closed its side (EOF)."""

    reason: str = field(default="")


Event = Command | IdleDone | AuthenticateResponse | ConnectionClosed

# The command word of each class, as the grammar spells it (the UID forms add "UID ").
COMMAND_NAMES: dict[type, str] = {
    Capability: "CAPABILITY", Noop: "NOOP", Logout: "LOGOUT", Id: "ID",
    StartTls: "STARTTLS", Authenticate: "AUTHENTICATE", Login: "LOGIN", Enable: "ENABLE",
    Select: "SELECT", Examine: "EXAMINE", Create: "CREATE", Delete: "DELETE",
    Rename: "RENAME", Subscribe: "SUBSCRIBE", Unsubscribe: "UNSUBSCRIBE", List: "LIST",
    Lsub: "LSUB", Namespace: "NAMESPACE", Status: "STATUS", Append: "APPEND", Idle: "IDLE",
    Check: "CHECK", Close: "CLOSE", Unselect: "UNSELECT", Expunge: "EXPUNGE",
    Search: "SEARCH", Fetch: "FETCH", Store: "STORE", Copy: "COPY", Move: "MOVE",
}
COMMANDS_BY_NAME: dict[str, type] = {name: cls for cls, name in COMMAND_NAMES.items()}
# uid = "UID" SP (copy / move / fetch / search / store / uid-expunge)
UID_COMMANDS = frozenset({"COPY", "MOVE", "FETCH", "SEARCH", "STORE", "EXPUNGE"})


def command_name(command: Command) -> str:
    """"FETCH", or "UID FETCH" for the UID form."""
    name = COMMAND_NAMES[type(command)]
    return f"UID {name}" if getattr(command, "uid", False) else name
