"""Untagged server data (RFC 9051 §7.2-7.5) and the typed items of a FETCH response.

    response-data   = "*" SP (resp-cond-state / resp-cond-bye /
                      mailbox-data / message-data / capability-data /
                      enable-data) CRLF
    mailbox-data    =  "FLAGS" SP flag-list / "LIST" SP mailbox-list /
                       esearch-response /
                       "STATUS" SP mailbox SP "(" [status-att-list] ")" /
                       number SP "EXISTS" / namespace-response /
                       obsolete-search-response /
                       obsolete-recent-response
    message-data    = nz-number SP ("EXPUNGE" / ("FETCH" SP msg-att))

Mailbox names are Unicode; strings ``str`` or, for message data, ``bytes``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from reference.imap.commands import StatusAtt
from reference.imap.grammar_fetch import Section
from reference.imap.sequence_sets import SequenceSet
from reference.imap.values import Value

# --- §7.2 server status ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CapabilityData:
    """§7.2.2 ``capability-data = "CAPABILITY" *(SP capability) SP "IMAP4rev2"
    *(SP capability)``"""

    capabilities: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class EnabledData:
    """§7.2.1 ``enable-data = "ENABLED" *(SP capability)``"""

    capabilities: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class IdData:
    """RFC 2971 §3.2 ``id_response ::= "ID" SPACE id_params_list``"""

    parameters: tuple[tuple[str, str | None], ...] | None = None


# --- §7.3 mailbox status ---------------------------------------------------------------


# mbx-list-sflag  = "\NonExistent" / "\Noselect" / "\Marked" / "\Unmarked"
#                   ; Selectability flags; only one per LIST response
MBX_LIST_SFLAGS = ("\\NonExistent", "\\Noselect", "\\Marked", "\\Unmarked")
# mbx-list-oflag  = "\Noinferiors" / child-mbox-flag / "\Subscribed" / "\Remote" /
#                   flag-extension; child-mbox-flag = "\HasChildren" / "\HasNoChildren"
MBX_LIST_OFLAGS = ("\\Noinferiors", "\\HasChildren", "\\HasNoChildren", "\\Subscribed",
                   "\\Remote")


@dataclass(frozen=True, slots=True)
class ListData:
    """§7.3.1 ``"LIST" SP mailbox-list``:
    ``mailbox-list = "(" [mbx-list-flags] ")" SP (DQUOTE QUOTED-CHAR DQUOTE / nil) SP
    mailbox [SP mbox-list-extended]``.

    ``child_info`` is CHILDINFO's selection options (§6.3.9.6), ``old_name`` OLDNAME's
    mailbox (§6.3.9.7); other extended items stay as (tag, value) in ``extensions``, each
    value a typed tagged-ext-val (grammar_list.py: ``int``, sequence-set text, or a
    tuple of strings and non-empty tuples).
    LIST-STATUS (RFC 5819) pairs a LIST with a following ``StatusData`` response.
    """

    attributes: tuple[str, ...]
    delimiter: str | None
    mailbox: str
    child_info: tuple[str, ...] | None = None
    old_name: str | None = None
    extensions: tuple[tuple[str, Value], ...] = ()


@dataclass(frozen=True, slots=True)
class LsubData:
    """RFC 3501 §7.2.3 ``"LSUB" SP mailbox-list`` (IMAP4rev1)."""

    attributes: tuple[str, ...]
    delimiter: str | None
    mailbox: str


@dataclass(frozen=True, slots=True)
class NamespaceDescription:
    """``Namespace-Descr = "(" string SP (DQUOTE QUOTED-CHAR DQUOTE / nil)
    *(Namespace-Response-Extension) ")"``; extensions as (name, values)."""

    prefix: str
    delimiter: str | None
    extensions: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True, slots=True)
class NamespaceData:
    """§7.3.2 ``"NAMESPACE" SP namespace SP namespace SP namespace``: personal, other
    users', shared; each ``None`` (NIL) or one or more descriptions."""

    personal: tuple[NamespaceDescription, ...] | None
    other_users: tuple[NamespaceDescription, ...] | None
    shared: tuple[NamespaceDescription, ...] | None


@dataclass(frozen=True, slots=True)
class StatusData:
    """§7.3.3 ``"STATUS" SP mailbox SP "(" [status-att-list] ")"``; APPENDLIMIT may be
    NIL (RFC 7889 §5), hence ``int | None``."""

    mailbox: str
    attributes: tuple[tuple[StatusAtt, int | None], ...]


@dataclass(frozen=True, slots=True)
class EsearchData:
    """§7.3.4 ``esearch-response = "ESEARCH" [search-correlator] [SP "UID"]
    *(SP search-return-data)``; MODSEQ is RFC 7162 §3.1.5's return data."""

    tag: str | None = None
    uid: bool = False
    min: int | None = None
    max: int | None = None
    all: SequenceSet | None = None
    count: int | None = None
    modseq: int | None = None


@dataclass(frozen=True, slots=True)
class SearchData:
    """RFC 3501 §7.2.5 ``"SEARCH" *(SP nz-number)`` (obsolete-search-response), with
    RFC 7162 §3.1.5's ``search-sort-mod-seq`` when numbers are present."""

    numbers: tuple[int, ...] = ()
    modseq: int | None = None


@dataclass(frozen=True, slots=True)
class FlagsData:
    """§7.3.5 ``"FLAGS" SP flag-list``"""

    flags: tuple[str, ...]


# --- §7.4 mailbox size, §7.5 message status --------------------------------------------


@dataclass(frozen=True, slots=True)
class ExistsData:
    """§7.4.1 ``number SP "EXISTS"``"""

    count: int


@dataclass(frozen=True, slots=True)
class RecentData:
    """RFC 3501 §7.3.2 ``number SP "RECENT"`` (obsolete-recent-response)."""

    count: int


@dataclass(frozen=True, slots=True)
class ExpungeData:
    """§7.5.1 ``nz-number SP "EXPUNGE"``"""

    msn: int


@dataclass(frozen=True, slots=True)
class VanishedData:
    """RFC 7162 §3.2.10 ``expunged-resp = "VANISHED" [SP "(EARLIER)"] SP known-uids``"""

    uids: SequenceSet
    earlier: bool = False


# msg-att items (§7.5.2): msg-att-dynamic / msg-att-static


@dataclass(frozen=True, slots=True)
class FlagsItem:
    """``"FLAGS" SP "(" [flag-fetch *(SP flag-fetch)] ")"``"""

    flags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class EnvelopeItem:
    """``"ENVELOPE" SP envelope`` as a value (see grammar_body.check_envelope)."""

    envelope: Value


@dataclass(frozen=True, slots=True)
class InternalDateItem:
    """``"INTERNALDATE" SP date-time``"""

    internal_date: datetime


@dataclass(frozen=True, slots=True)
class Rfc822SizeItem:
    """``"RFC822.SIZE" SP number64``"""

    size: int


@dataclass(frozen=True, slots=True)
class BodyStructureItem:
    """``"BODY" ["STRUCTURE"] SP body``: ``extensible`` for BODYSTRUCTURE."""

    body: Value
    extensible: bool = True


@dataclass(frozen=True, slots=True)
class BodySectionItem:
    """``"BODY" section ["<" number ">"] SP nstring``"""

    section: Section
    data: bytes | None
    origin: int | None = None


@dataclass(frozen=True, slots=True)
class BinaryItem:
    """``"BINARY" section-binary ["<" number ">"] SP (nstring / literal8)``.

    ``origin`` is the origin octet of a partial fetch. DEVIATION: RFC 9051 §9 and RFC
    3516 §7 write ``"BINARY" section-binary SP (nstring / literal8)`` without it, but
    the prose of both gives it: RFC 9051 §7.5.2 ``BINARY[<section-binary>]<<number>>``,
    "If <number> is present, it refers to the offset within the DECODED section data"
    (RFC 3516 §4.3 ``BINARY<section-binary>[<<number>>]``), and §6.4.5: "The semantics
    of a partial FETCH BINARY command are the same as for a partial FETCH BODY command",
    whose answer names the origin ("BODY[]<0.2048> of a 1500-octet message will return
    BODY[]<0>"). Without it a client cannot tell two partial fetches of one part apart.
    Reported as RFC 9051 erratum 8217. Its form is BODY's: ``"<" number ">"``."""

    part: tuple[int, ...]
    data: bytes | None
    origin: int | None = None


@dataclass(frozen=True, slots=True)
class BinarySizeItem:
    """``"BINARY.SIZE" section-binary SP number``"""

    part: tuple[int, ...]
    size: int


@dataclass(frozen=True, slots=True)
class UidItem:
    """``"UID" SP uniqueid``"""

    uid: int


@dataclass(frozen=True, slots=True)
class ModSeqItem:
    """RFC 7162 §7 ``fetch-mod-resp = "MODSEQ" SP "(" permsg-modsequence ")"``"""

    modseq: int


@dataclass(frozen=True, slots=True)
class Rfc822Item:
    """RFC 3501 §9 ``"RFC822" [".HEADER" / ".TEXT"] SP nstring``; ``name`` is "RFC822",
    "RFC822.HEADER" or "RFC822.TEXT"."""

    name: str
    data: bytes | None


FetchItem = (FlagsItem | EnvelopeItem | InternalDateItem | Rfc822SizeItem | BodyStructureItem
             | BodySectionItem | BinaryItem | BinarySizeItem | UidItem | ModSeqItem
             | Rfc822Item)
RFC822_ITEMS = ("RFC822", "RFC822.HEADER", "RFC822.TEXT")


@dataclass(frozen=True, slots=True)
class FetchData:
    """§7.5.2 ``nz-number SP "FETCH" SP msg-att``"""

    msn: int
    items: tuple[FetchItem, ...]

    def item(self, kind: type) -> FetchItem | None:
        """The first item of the given class, if any."""
        for item in self.items:
            if isinstance(item, kind):
                return item
        return None


@dataclass(frozen=True, slots=True)
class FetchFlagsRun:
    """Many §7.5.2 FETCH responses of flags, written as one: the row ``(msn, uid,
    flags)`` is on the wire ``* msn FETCH (UID uid FLAGS (...))``, or without ``UID uid``
    when ``with_uid`` is false -- byte for byte what ``FetchData`` with those items
    writes, flags in ``flag_order``. It exists for speed alone: a STORE on thousands of
    messages, or the FETCH 1:* (UID FLAGS) of a resync, is one serializer call that
    checks and writes each distinct flag set once. A client reads it as one FetchData
    per row (the wire has no runs)."""

    rows: tuple[tuple[int, int, frozenset[str]], ...]
    with_uid: bool = True


Data = (CapabilityData | EnabledData | IdData | ListData | LsubData | NamespaceData
        | StatusData | EsearchData | SearchData | FlagsData | ExistsData | RecentData
        | ExpungeData | VanishedData | FetchData | FetchFlagsRun)
