"""Server responses: status responses with their codes (RFC 9051 §7.1), continuation
requests (§7.6), and (re-exported from ``response_data``) the untagged data of §7.2-7.5.

A ``StatusResponse`` is OK, NO or BAD, tagged or untagged, or PREAUTH or BYE (always
untagged). Its optional response code is a ``ResponseCode`` with typed ``code_data``;
a code this module does not know stays a ``str`` (RFC 9051 §7.1: "Client implementations
MUST ignore response codes that they do not recognize", so the client keeps them as
text rather than failing).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from reference.errors import RemoteProtocolError
from reference.imap.response_data import (
    CapabilityData,
    Data,
    EnabledData,
    EsearchData,
    ExistsData,
    ExpungeData,
    FetchData,
    FetchFlagsRun,
    FlagsData,
    IdData,
    ListData,
    LsubData,
    NamespaceData,
    RecentData,
    SearchData,
    StatusData,
    VanishedData,
)
from reference.imap.sequence_sets import SequenceSet


class Condition(Enum):
    """resp-cond-state / resp-cond-auth / resp-cond-bye (RFC 9051 §7.1.1-7.1.5)."""

    OK = "OK"
    NO = "NO"
    BAD = "BAD"
    PREAUTH = "PREAUTH"
    BYE = "BYE"


class ResponseCode(Enum):
    """resp-text-code: RFC 9051 §7.1, RFC 5530 §3, and the extensions' own codes.

    The doc-comment after each member quotes its definition.
    """

    ALERT = "ALERT"
    """§7.1: "The human-readable text contains a special alert that is presented to the
    user in a fashion that calls the user's attention to the message." """
    ALREADYEXISTS = "ALREADYEXISTS"
    """§7.1 (RFC 5530): "The operation attempts to create something that already exists,
    such as when a CREATE or RENAME command attempts to create a mailbox and there is
    already one of that name." """
    APPENDUID = "APPENDUID"
    """§7.1 (RFC 4315): "Followed by the UIDVALIDITY of the destination mailbox and the
    UID assigned to the appended message"; data ``AppendUid``."""
    AUTHENTICATIONFAILED = "AUTHENTICATIONFAILED"
    """§7.1 (RFC 5530): "Authentication failed for some reason on which the server is
    unwilling to elaborate." """
    AUTHORIZATIONFAILED = "AUTHORIZATIONFAILED"
    """§7.1 (RFC 5530): "the server cannot or will not allow the authentication identity
    to act as the requested authorization identity." """
    BADCHARSET = "BADCHARSET"
    """§7.1: "Optionally followed by a parenthesized list of charsets. A SEARCH failed
    because the given charset is not supported"; data ``tuple[str, ...]`` or None."""
    CANNOT = "CANNOT"
    """§7.1 (RFC 5530): "This operation violates some invariant of the server and can
    never succeed." """
    CAPABILITY = "CAPABILITY"
    """§7.1: "Followed by a list of capabilities. This can appear in the initial OK or
    PREAUTH response"; data ``tuple[str, ...]``."""
    CLIENTBUG = "CLIENTBUG"
    """§7.1 (RFC 5530): "The server has detected a client bug." """
    CLOSED = "CLOSED"
    """§7.1 (RFC 7162): "returns the CLOSED response code when the currently selected
    mailbox is closed implicitly using the SELECT or EXAMINE command on another
    mailbox." """
    CONTACTADMIN = "CONTACTADMIN"
    """§7.1 (RFC 5530): "The user should contact the system administrator or support
    desk." """
    COPYUID = "COPYUID"
    """§7.1 (RFC 4315): "Followed by the UIDVALIDITY of the destination mailbox, a UID
    set containing the UIDs of the message(s) in the source mailbox that were copied ...
    followed by another UID set"; data ``CopyUid``."""
    CORRUPTION = "CORRUPTION"
    """§7.1 (RFC 5530): "The server discovered that some relevant data (e.g., the
    mailbox) are corrupt." """
    EXPIRED = "EXPIRED"
    """§7.1 (RFC 5530): "access is no longer permitted using that passphrase." """
    EXPUNGEISSUED = "EXPUNGEISSUED"
    """§7.1 (RFC 5530): "Someone else has issued an EXPUNGE for the same mailbox." """
    HASCHILDREN = "HASCHILDREN"
    """§7.1: "The mailbox delete operation failed because the mailbox has one or more
    children, and the server doesn't allow deletion of mailboxes with children." """
    INUSE = "INUSE"
    """§7.1 (RFC 5530): "An operation has not been carried out because it involves sawing
    off a branch someone else is sitting on." """
    LIMIT = "LIMIT"
    """§7.1 (RFC 5530): "The operation ran up against an implementation limit of some
    kind" """
    NONEXISTENT = "NONEXISTENT"
    """§7.1 (RFC 5530): "The operation attempts to delete something that does not
    exist." """
    NOPERM = "NOPERM"
    """§7.1 (RFC 5530): "The access control system (e.g., ACL; see [RFC4314]) does not
    permit this user to carry out an operation" """
    NOTSAVED = "NOTSAVED"
    """§6.4.4.3 (RFC 5182): "the server MUST return a tagged NO response containing the
    NOTSAVED response code" when it refuses to save a SEARCH result."""
    OVERQUOTA = "OVERQUOTA"
    """§7.1 (RFC 5530): "The user would be over quota after the operation." """
    PARSE = "PARSE"
    """§7.1: "The human-readable text represents an error in parsing the [RFC5322] header
    or [MIME-IMB] headers of a message in the mailbox." """
    PERMANENTFLAGS = "PERMANENTFLAGS"
    """§7.1: "Followed by a parenthesized list of flags and indicates which of the known
    flags the client can change permanently"; data ``tuple[str, ...]`` (``\\*``
    included)."""
    PRIVACYREQUIRED = "PRIVACYREQUIRED"
    """§7.1 (RFC 5530): "The operation is not permitted due to a lack of data
    confidentiality." """
    READ_ONLY = "READ-ONLY"
    """§7.1: "The mailbox is selected as read-only" """
    READ_WRITE = "READ-WRITE"
    """§7.1: "The mailbox is selected as read-write" """
    SERVERBUG = "SERVERBUG"
    """§7.1 (RFC 5530): "The server encountered a bug in itself or violated one of its
    own invariants." """
    TRYCREATE = "TRYCREATE"
    """§7.1: "An APPEND, COPY, or MOVE attempt is failing because the target mailbox
    does not exist" """
    UIDNEXT = "UIDNEXT"
    """§7.1: "Followed by a decimal number and indicates the next unique identifier
    value."; data ``int``."""
    UIDNOTSTICKY = "UIDNOTSTICKY"
    """§7.1 (RFC 4315): "The selected mailbox is supported by a mail store that does not
    support persistent UIDs" """
    UIDVALIDITY = "UIDVALIDITY"
    """§7.1: "Followed by a decimal number and indicates the unique identifier validity
    value."; data ``int``."""
    UNAVAILABLE = "UNAVAILABLE"
    """§7.1 (RFC 5530): "Temporary failure because a subsystem is down." """
    UNKNOWN_CTE = "UNKNOWN-CTE"
    """§7.1 (RFC 3516): "The server does not know how to decode the section's
    Content-Transfer-Encoding." """
    UNSEEN = "UNSEEN"
    """RFC 3501 §7.1: "Followed by a decimal number, indicates the number of the first
    message without the \\Seen flag set" (deprecated, RFC 9051 Appendix E item 11);
    data ``int``."""
    HIGHESTMODSEQ = "HIGHESTMODSEQ"
    """RFC 7162 §3.1.2.1: "the highest mod-sequence value of all messages in the
    mailbox"; data ``int``."""
    NOMODSEQ = "NOMODSEQ"
    """RFC 7162 §3.1.2.2: "the server doesn't support the persistent storage of
    mod-sequences for the mailbox" """
    MODIFIED = "MODIFIED"
    """RFC 7162 §3.1.3: "the MODIFIED response code ... with the set of messages" that
    failed the UNCHANGEDSINCE test; data ``SequenceSet``."""
    TOOBIG = "TOOBIG"
    """RFC 4469 §4.2: "returned if the resulting message will exceed the 4-GB IMAP
    message limit ... may also wish to return the TOOBIG response code if the resulting
    message exceeds a server-specific message size limit"; RFC 7889 §4, RFC 7888 §5."""
    USEATTR = "USEATTR"
    """RFC 6154 §3: "the server MAY respond with ... the USEATTR response code" when a
    special-use attribute cannot be set on CREATE."""


@dataclass(frozen=True, slots=True)
class AppendUid:
    """resp-code-apnd = "APPENDUID" SP nz-number SP append-uid; with MULTIAPPEND the
    second value is a uid-set (§7.1 APPENDUID)."""

    uidvalidity: int
    uids: SequenceSet


@dataclass(frozen=True, slots=True)
class CopyUid:
    """resp-code-copy = "COPYUID" SP nz-number SP uid-set SP uid-set"""

    uidvalidity: int
    source_uids: SequenceSet
    destination_uids: SequenceSet


CodeData = None | int | str | tuple[str, ...] | SequenceSet | AppendUid | CopyUid

# The codes whose data is a number (nz-number; HIGHESTMODSEQ mod-sequence-value).
NUMBER_CODES = frozenset({ResponseCode.UIDNEXT, ResponseCode.UIDVALIDITY, ResponseCode.UNSEEN,
                          ResponseCode.HIGHESTMODSEQ})
LIST_CODES = frozenset({ResponseCode.CAPABILITY, ResponseCode.PERMANENTFLAGS,
                        ResponseCode.BADCHARSET})


@dataclass(frozen=True, slots=True)
class StatusResponse:
    """resp-cond-state / resp-cond-auth / resp-cond-bye with resp-text:
    ``resp-text = ["[" resp-text-code "]" SP] [text]``.

    ``tag`` is ``None`` for the untagged form ("*"). ``code`` is a ``ResponseCode``, or a
    ``str`` for an atom this module does not know (its text then in ``code_data``).
    """

    condition: Condition
    text: str = ""
    tag: str | None = None
    code: ResponseCode | str | None = None
    code_data: CodeData = None

    @property
    def tagged(self) -> bool:
        return self.tag is not None


@dataclass(frozen=True, slots=True)
class Continuation:
    """RFC 9051 §7.6 ``continue-req = "+" SP (resp-text / base64) CRLF``.

    ``data`` (base64-encoded on the wire) is a SASL challenge (§6.2.2); otherwise
    ``text`` is human-readable (IDLE's "+ idling", a literal's "+ Ready").
    """

    text: str = ""
    data: bytes | None = None


def ok(tag: str | None, text: str = "", code: ResponseCode | None = None,
       code_data: CodeData = None) -> StatusResponse:
    return StatusResponse(Condition.OK, text, tag, code, code_data)


def no(tag: str | None, text: str = "", code: ResponseCode | None = None,
       code_data: CodeData = None) -> StatusResponse:
    return StatusResponse(Condition.NO, text, tag, code, code_data)


def bad(tag: str | None, text: str = "", code: ResponseCode | None = None,
        code_data: CodeData = None) -> StatusResponse:
    return StatusResponse(Condition.BAD, text, tag, code, code_data)


def bye(text: str = "", code: ResponseCode | None = None,
        code_data: CodeData = None) -> StatusResponse:
    return StatusResponse(Condition.BYE, text, None, code, code_data)


def preauth(text: str = "", code: ResponseCode | None = None,
            code_data: CodeData = None) -> StatusResponse:
    return StatusResponse(Condition.PREAUTH, text, None, code, code_data)


Response = (StatusResponse | Continuation | CapabilityData | EnabledData | ListData
            | LsubData | NamespaceData | StatusData | EsearchData | SearchData | FlagsData
            | ExistsData | RecentData | ExpungeData | VanishedData | FetchData
            | FetchFlagsRun | IdData)

__all__ = [
    "AppendUid",
    "CapabilityData",
    "CodeData",
    "Condition",
    "Continuation",
    "CopyUid",
    "Data",
    "EnabledData",
    "EsearchData",
    "ExistsData",
    "ExpungeData",
    "FetchData",
    "FetchFlagsRun",
    "FlagsData",
    "IdData",
    "ImapRemoteProtocolError",
    "ListData",
    "LsubData",
    "NamespaceData",
    "RecentData",
    "Response",
    "ResponseCode",
    "SearchData",
    "StatusData",
    "StatusResponse",
    "VanishedData",
    "bad",
    "bye",
    "no",
    "ok",
    "preauth",
]


class ImapRemoteProtocolError(RemoteProtocolError):
    """The peer broke the protocol. On the server side ``response`` is the exact BAD
    (tagged when the tag could be read, untagged otherwise), NO or BYE to send (h11's
    ``error_status_hint``); on the client side it is ``None``."""

    def __init__(self, message: str, response: StatusResponse | None = None) -> None:
        super().__init__(message, reply=response)
        self.response = response
