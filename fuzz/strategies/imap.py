"""Hypothesis strategies for IMAP (RFC 9051, with IMAP4rev1 forms and the extensions the
core speaks), composed like the ABNF of RFC 9051 §9.

One public strategy per rule, in the plural (STYLE.md §E), each drawing the *typed values*
of ``reference.imap``: commands (``commands()`` for any of them, or one strategy per
command: ``logins()``, ``selects()``, ``fetches()``...) and responses (``responses()``, or
``status_responses()``, ``list_datas()``, ``fetch_datas()``...), and the values inside
them (``mailbox_names()``, ``sequence_sets()``, ``search_keys()``, ``fetch_atts()``,
``envelopes()``, ``bodies()``...). Everything drawn is valid and within the default
``ImapLimits``, so ``parse(serialize(x)) == x`` must hold for all of it; where the typed
model has two spellings of one wire form (``"inbox"`` and ``"INBOX"``, ``\\seen`` and
``\\Seen``, ``RETURN (STATUS ...)`` with ``return_options=None``) only the canonical one is
drawn.

``utf8=True`` draws what may travel in UTF-8 mode (IMAP4rev2 or ENABLE UTF8=ACCEPT,
RFC 6855 §3): non-ASCII response text, for instance, is only valid there (RFC 9051 §9
``text``). Mailbox names are Unicode in both modes: the serializer picks UTF-8 or modified
UTF-7 (RFC 9051 Appendix A.1).

Hostile inputs (``hostile_command_bytes()``, ``hostile_response_bytes()``) are wire bytes:
valid commands cut short, bad literals, huge numbers, deep nesting, bare CR/LF, random
octets. A conforming core answers each with events, NEED_DATA or a precise protocol
error, never another exception. Keyword arguments are checked when the strategy is built
(Hypothesis style guide).

Example::

    from hypothesis import given
    from fuzz.strategies import imap
    from reference.imap.serializer_commands import write_command

    @given(imap.commands(utf8=False))
    def test_every_command_ends_with_crlf(command):
        assert b"".join(write_command(command)).endswith(b"\\r\\n")
"""

from __future__ import annotations

import functools
import string
from datetime import date, datetime, timedelta, timezone
from typing import Literal, TypeVar

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from reference.imap.commands import (
    Append,
    AppendMessage,
    Authenticate,
    Capability,
    Check,
    Close,
    Command,
    Copy,
    Create,
    Delete,
    Enable,
    Examine,
    Expunge,
    Fetch,
    Id,
    Idle,
    List,
    ListReturnOption,
    ListSelectOption,
    Login,
    Logout,
    Lsub,
    Move,
    Namespace,
    Noop,
    QresyncParameters,
    Rename,
    Search,
    SearchReturnOption,
    Select,
    StartTls,
    Status,
    StatusAtt,
    Store,
    StoreAction,
    Subscribe,
    Unselect,
    Unsubscribe,
)
from reference.imap.grammar_fetch import (
    BinarySection,
    BinarySize,
    BodySection,
    FetchAtt,
    FetchAttName,
    FetchMacro,
    Partial,
    Section,
    SectionText,
    SimpleAtt,
)
from reference.imap.grammar_search import (
    ENTRY_TYPES,
    DateKey,
    DateKeyName,
    GroupKey,
    HeaderKey,
    KeywordKey,
    ModSeqKey,
    NotKey,
    OrKey,
    SearchKey,
    SequenceKey,
    SimpleKey,
    SimpleKeyName,
    SizeKey,
    SizeKeyName,
    TextKey,
    TextKeyName,
    UidKey,
)
from reference.imap.response_data import (
    BinaryItem,
    BinarySizeItem,
    BodySectionItem,
    BodyStructureItem,
    CapabilityData,
    EnabledData,
    EnvelopeItem,
    EsearchData,
    ExistsData,
    ExpungeData,
    FetchData,
    FetchItem,
    FlagsData,
    FlagsItem,
    IdData,
    InternalDateItem,
    ListData,
    LsubData,
    ModSeqItem,
    NamespaceData,
    NamespaceDescription,
    RecentData,
    Rfc822Item,
    Rfc822SizeItem,
    SearchData,
    StatusData,
    UidItem,
    VanishedData,
)
from reference.imap.responses import (
    AppendUid,
    CodeData,
    Condition,
    Continuation,
    CopyUid,
    Response,
    ResponseCode,
    StatusResponse,
)
from reference.imap.sequence_sets import STAR, SeqNumber, SequenceSet
from reference.imap.values import Value

__all__ = [
    "appends",
    "astrings",
    "atoms",
    "authenticates",
    "bodies",
    "capabilities",
    "capability_datas",
    "commands",
    "continuations",
    "copies",
    "creates",
    "date_times",
    "dates",
    "enabled_datas",
    "enables",
    "envelopes",
    "esearch_datas",
    "examines",
    "exists_datas",
    "expunge_datas",
    "expunges",
    "fetch_atts",
    "fetch_datas",
    "fetch_items",
    "fetches",
    "flag_keywords",
    "flags",
    "flags_datas",
    "hostile_command_bytes",
    "hostile_response_bytes",
    "id_datas",
    "ids",
    "list_datas",
    "list_mailboxes",
    "lists",
    "logins",
    "lsub_datas",
    "lsubs",
    "mailbox_names",
    "moves",
    "namespace_datas",
    "partials",
    "recent_datas",
    "renames",
    "response_codes",
    "responses",
    "search_datas",
    "search_keys",
    "searches",
    "sections",
    "selects",
    "sequence_sets",
    "status_datas",
    "status_responses",
    "statuses",
    "stores",
    "tags",
    "texts",
    "uid_sets",
    "vanished_datas",
]

T = TypeVar("T")
# Unicode general categories left out of drawn text: surrogates cannot be encoded;
# control and separator characters are not TEXT-CHAR.
_NO_SURROGATES: tuple[Literal["Cs"], ...] = ("Cs",)
_NO_CONTROLS: tuple[Literal["Cs", "Cc", "Zl", "Zp"], ...] = ("Cs", "Cc", "Zl", "Zp")

# Strategies are built once per set of arguments (see fuzz/strategies/smtp.py).
_cached = functools.lru_cache(maxsize=None, typed=True)

NUMBER_MAX = 2**32 - 1          # number, nz-number
NUMBER64_MAX = 2**63 - 1        # number64, mod-sequence-value


def _check_int(name: str, value: object, *, minimum: int, maximum: int | None = None) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidArgument(f"{name}={value!r} must be an integer")
    if value < minimum or (maximum is not None and value > maximum):
        bounds = f"at least {minimum}" if maximum is None else f"in {minimum}..{maximum}"
        raise InvalidArgument(f"{name}={value!r} must be {bounds}")
    return value


def _check_bool(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise InvalidArgument(f"{name}={value!r} must be True or False")
    return value


def _optional(strategy: st.SearchStrategy[T]) -> st.SearchStrategy[T | None]:
    return st.one_of(st.none(), strategy)


def _numbers(*, nonzero: bool = False, maximum: int = NUMBER_MAX) -> st.SearchStrategy[int]:
    """Small numbers most of the time, the bounds sometimes."""
    low = 1 if nonzero else 0
    return st.one_of(st.integers(low, 50), st.integers(low, maximum),
                     st.sampled_from((low, maximum)))


# --- RFC 9051 §9 lexical rules -------------------------------------------------------

# ATOM-CHAR = <any CHAR except atom-specials>
ATOM_CHARS = "".join(chr(c) for c in range(0x21, 0x7F)
                     if chr(c) not in '(){ %*"\\]')
# tag = 1*<any ASTRING-CHAR except "+">
TAG_CHARS = ATOM_CHARS.replace("+", "") + "]"


@_cached
def atoms(*, max_length: int = 20) -> st.SearchStrategy[str]:
    """``atom = 1*ATOM-CHAR``"""
    _check_int("max_length", max_length, minimum=1)
    return st.text(st.sampled_from(ATOM_CHARS), min_size=1, max_size=max_length)


@_cached
def tags() -> st.SearchStrategy[str]:
    """``tag = 1*<any ASTRING-CHAR except "+">``"""
    return st.one_of(st.from_regex(r"[a-z][0-9]{1,4}", fullmatch=True),
                     st.text(st.sampled_from(TAG_CHARS), min_size=1, max_size=12))


@_cached
def astrings(*, utf8: bool = False, max_length: int = 40) -> st.SearchStrategy[str]:
    """Text an ``astring`` may carry: anything but NUL (CHAR8 excludes it); the writer
    chooses atom, quoted or literal. Non-ASCII only with ``utf8`` (it then goes quoted
    in UTF-8 mode or as a literal otherwise)."""
    _check_bool("utf8", utf8)
    _check_int("max_length", max_length, minimum=0)
    if utf8:
        alphabet = st.characters(codec="utf-8", exclude_characters="\x00",
                                 exclude_categories=_NO_SURROGATES)
    else:
        alphabet = st.characters(min_codepoint=1, max_codepoint=0x7F)
    return st.one_of(atoms(max_length=max(max_length, 1)),
                     st.text(alphabet, max_size=max_length))


_TEXT_ASCII = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
_TEXT_UTF8 = st.characters(codec="utf-8", exclude_categories=_NO_CONTROLS)


@_cached
def texts(*, utf8: bool = False, max_length: int = 40) -> st.SearchStrategy[str]:
    """``text = 1*(TEXT-CHAR / UTF8-2 / UTF8-3 / UTF8-4)`` (may be empty, RFC 9051
    Appendix E item 23); non-ASCII only with ``utf8`` (IMAP4rev2, §9 ``text``). Never
    starts with "[" (a response code) nor ends like a literal header."""
    _check_bool("utf8", utf8)
    _check_int("max_length", max_length, minimum=0)
    alphabet = _TEXT_UTF8 if utf8 else _TEXT_ASCII
    return st.text(alphabet, max_size=max_length).filter(
        lambda t: not t.startswith("[") and not t.endswith("}"))


# --- flags (§2.3.2) ------------------------------------------------------------------

SYSTEM_FLAGS = ("\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft")
_RESERVED_BACKSLASH = {f.upper() for f in (*SYSTEM_FLAGS, "\\Recent")}


@_cached
def flag_keywords() -> st.SearchStrategy[str]:
    """``flag-keyword = "$MDNSent" / "$Forwarded" / "$Junk" / "$NotJunk" / "$Phishing" /
    atom``"""
    return st.one_of(st.sampled_from(("$MDNSent", "$Forwarded", "$Junk", "$NotJunk",
                                      "$Phishing")), atoms(max_length=12))


@_cached
def flag_extensions() -> st.SearchStrategy[str]:
    """``flag-extension = "\\" atom`` (not a case variant of a system flag, which the
    parser spells canonically)."""
    return atoms(max_length=12).map(lambda a: "\\" + a).filter(
        lambda f: f.upper() not in _RESERVED_BACKSLASH)


@_cached
def flags(*, fetch: bool = False, perm: bool = False) -> st.SearchStrategy[str]:
    """``flag`` (system flags in the RFC's spelling); ``fetch`` adds "\\Recent"
    (flag-fetch), ``perm`` adds "\\*" (flag-perm)."""
    _check_bool("fetch", fetch)
    _check_bool("perm", perm)
    extra = (("\\Recent",) if fetch else ()) + (("\\*",) if perm else ())
    choices = [st.sampled_from(SYSTEM_FLAGS + extra), flag_keywords(), flag_extensions()]
    return st.one_of(*choices)


def _flag_lists(**kwargs: bool) -> st.SearchStrategy[tuple[str, ...]]:
    return st.lists(flags(**kwargs), max_size=5).map(tuple)


# --- dates (§9 date, date-time) --------------------------------------------------------


@_cached
def dates() -> st.SearchStrategy[date]:
    """``date-text = date-day "-" date-month "-" date-year`` (date-year is 4DIGIT)."""
    return st.dates(min_value=date(1000, 1, 1), max_value=date(9999, 12, 31))


@st.composite
def _date_times(draw: st.DrawFn) -> datetime:
    day = draw(st.datetimes(min_value=datetime(1000, 1, 2), max_value=datetime(9999, 12, 30)))
    # zone = ("+" / "-") 4DIGIT; Python's timezone stays within +-23:59.
    minutes = draw(st.integers(-(23 * 60 + 59), 23 * 60 + 59))
    return day.replace(microsecond=0, tzinfo=timezone(timedelta(minutes=minutes)))


@_cached
def date_times() -> st.SearchStrategy[datetime]:
    """``date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone
    DQUOTE``: aware, whole seconds, zone within +-2359."""
    return _date_times()


# --- mailbox names (§5.1, §9 mailbox, list-mailbox) ------------------------------------

_NAME_CHARS = st.characters(codec="utf-8", exclude_characters="\x00\r\n",
                            exclude_categories=_NO_SURROGATES)


@_cached
def mailbox_names(*, max_length: int = 30) -> st.SearchStrategy[str]:
    """Unicode mailbox names (``mailbox = "INBOX" / astring``); any case of INBOX is
    drawn as "INBOX" (§9: "MUST be interpreted as INBOX")."""
    _check_int("max_length", max_length, minimum=1)
    other = st.text(_NAME_CHARS, max_size=max_length).filter(lambda n: n.upper() != "INBOX")
    hierarchy = st.lists(st.text(string.ascii_letters + string.digits + " &-_", min_size=1,
                                 max_size=8), min_size=1, max_size=3).map("/".join)
    return st.one_of(st.just("INBOX"), hierarchy, other)


@_cached
def list_mailboxes(*, max_length: int = 30) -> st.SearchStrategy[str]:
    """``list-mailbox = 1*list-char / string``: patterns with the wildcards % and *."""
    _check_int("max_length", max_length, minimum=1)
    return st.one_of(st.sampled_from(("*", "%", "", "INBOX", "Archive/%", "a*b")),
                     st.text(_NAME_CHARS, max_size=max_length))


# --- sequence sets (§9 sequence-set; §6.4.4.1 "$") ------------------------------------


def _seq_numbers(allow_star: bool) -> st.SearchStrategy[SeqNumber]:
    numbers: st.SearchStrategy[SeqNumber] = _numbers(nonzero=True)
    return st.one_of(numbers, st.just(STAR)) if allow_star else numbers


@_cached
def sequence_sets(*, allow_star: bool = True, allow_last: bool = True,
                  max_ranges: int = 8) -> st.SearchStrategy[SequenceSet]:
    """``sequence-set = (seq-number / seq-range) ["," sequence-set] / seq-last-command``"""
    _check_bool("allow_star", allow_star)
    _check_bool("allow_last", allow_last)
    _check_int("max_ranges", max_ranges, minimum=1)
    number = _seq_numbers(allow_star)
    ranges = st.lists(st.one_of(number.map(lambda n: (n, n)), st.tuples(number, number)),
                      min_size=1, max_size=max_ranges).map(lambda r: SequenceSet(tuple(r)))
    if allow_last:
        return st.one_of(ranges, st.just(SequenceSet(last_result=True)))
    return ranges


@_cached
def uid_sets(*, max_ranges: int = 8) -> st.SearchStrategy[SequenceSet]:
    """``uid-set = (uniqueid / uid-range) *("," uid-set)``: no "*", no "$"."""
    return sequence_sets(allow_star=False, allow_last=False, max_ranges=max_ranges)


# --- SEARCH (§6.4.4) -------------------------------------------------------------------

_HEADER_NAME = st.text(st.sampled_from([chr(c) for c in range(33, 127) if c != 58]),
                       min_size=1, max_size=16)


def _leaf_search_keys(charset_ascii: bool) -> st.SearchStrategy[SearchKey]:
    text = astrings(utf8=not charset_ascii, max_length=20)
    entry_flag = st.one_of(st.sampled_from(SYSTEM_FLAGS), flag_keywords())
    return st.one_of(
        st.builds(SimpleKey, st.sampled_from(SimpleKeyName)),
        st.builds(TextKey, st.sampled_from(TextKeyName), text),
        st.builds(HeaderKey, _HEADER_NAME, text),
        st.builds(KeywordKey, flag_keywords(), st.booleans()),
        st.builds(DateKey, st.sampled_from(DateKeyName), dates()),
        st.builds(SizeKey, st.sampled_from(SizeKeyName), _numbers(maximum=NUMBER64_MAX)),
        st.builds(SequenceKey, sequence_sets()),
        st.builds(UidKey, sequence_sets()),
        st.builds(ModSeqKey, _numbers(maximum=NUMBER64_MAX)),
        st.builds(ModSeqKey, _numbers(maximum=NUMBER64_MAX),
                  entry_flag.map(lambda f: "/flags/" + f), st.sampled_from(ENTRY_TYPES)),
    )


@_cached
def search_keys(*, max_depth: int = 3, charset_ascii: bool = False
                ) -> st.SearchStrategy[SearchKey]:
    """``search-key``, with NOT, OR and parenthesised groups nested at most
    ``max_depth`` deep; ``charset_ascii`` keeps strings to US-ASCII."""
    _check_int("max_depth", max_depth, minimum=0, maximum=20)
    _check_bool("charset_ascii", charset_ascii)
    leaves = _leaf_search_keys(charset_ascii)
    if max_depth == 0:
        return leaves
    inner = search_keys(max_depth=max_depth - 1, charset_ascii=charset_ascii)
    return st.one_of(
        leaves, leaves, leaves,
        st.builds(NotKey, inner),
        st.builds(OrKey, inner, inner),
        st.lists(inner, min_size=1, max_size=3).map(lambda keys: GroupKey(tuple(keys))),
    )


# --- FETCH (§6.4.5) --------------------------------------------------------------------

_PARTS = st.lists(_numbers(nonzero=True), max_size=3).map(tuple)


@st.composite
def _sections(draw: st.DrawFn) -> Section:
    part = draw(_PARTS)
    choices: list[SectionText | None] = [None, *SectionText]
    if not part:
        choices.remove(SectionText.MIME)
    text = draw(st.sampled_from(choices))
    fields: tuple[str, ...] = ()
    if text in (SectionText.HEADER_FIELDS, SectionText.HEADER_FIELDS_NOT):
        fields = tuple(draw(st.lists(_HEADER_NAME, min_size=1, max_size=4)))
    return Section(part, text, fields)


@_cached
def sections() -> st.SearchStrategy[Section]:
    """``section = "[" [section-spec] "]"``"""
    return _sections()


@_cached
def partials() -> st.SearchStrategy[Partial]:
    """``partial = "<" number64 "." nz-number64 ">"``"""
    return st.builds(Partial, _numbers(maximum=NUMBER64_MAX),
                     _numbers(nonzero=True, maximum=NUMBER64_MAX))


@_cached
def fetch_atts() -> st.SearchStrategy[FetchAtt]:
    """``fetch-att`` (RFC 3501's RFC822.* and RFC 7162's MODSEQ included)."""
    return st.one_of(
        st.builds(SimpleAtt, st.sampled_from(FetchAttName)),
        st.builds(BodySection, sections(), st.booleans(), _optional(partials())),
        st.builds(BinarySection, _PARTS, st.booleans(), _optional(partials())),
        st.builds(BinarySize, _PARTS),
    )


# --- commands (§6.1-6.4) ----------------------------------------------------------------


@_cached
def capabilities() -> st.SearchStrategy[str]:
    """``capability = ("AUTH=" auth-type) / atom``"""
    return st.one_of(st.sampled_from(("IMAP4rev2", "CONDSTORE", "QRESYNC", "UTF8=ACCEPT",
                                      "AUTH=PLAIN", "LITERAL+")), atoms(max_length=16))


def _id_parameters(utf8: bool) -> st.SearchStrategy[tuple[tuple[str, str | None], ...] | None]:
    # RFC 2971 §3.3: fields at most 30 octets, values 1024, at most 30 pairs.
    field = astrings(utf8=utf8, max_length=30).filter(lambda k: len(k.encode()) <= 30)
    value = _optional(astrings(utf8=utf8, max_length=60))
    return _optional(st.lists(st.tuples(field, value), max_size=5).map(tuple))


@_cached
def ids(*, utf8: bool = False) -> st.SearchStrategy[Id]:
    """RFC 2971 ``id ::= "ID" SPACE id_params_list``"""
    return st.builds(Id, tags(), _id_parameters(_check_bool("utf8", utf8)))


@_cached
def authenticates() -> st.SearchStrategy[Authenticate]:
    """``"AUTHENTICATE" SP auth-type [SP initial-resp]`` (SASL-IR; b"" is "=")."""
    return st.builds(Authenticate, tags(), st.sampled_from(("PLAIN", "XOAUTH2", "SCRAM-SHA-256"))
                     | atoms(max_length=12), _optional(st.binary(max_size=40)))


@_cached
def logins(*, utf8: bool = False) -> st.SearchStrategy[Login]:
    """``"LOGIN" SP userid SP password``"""
    text = astrings(utf8=_check_bool("utf8", utf8))
    return st.builds(Login, tags(), text, text)


@_cached
def enables() -> st.SearchStrategy[Enable]:
    """``"ENABLE" 1*(SP capability)``"""
    return st.builds(Enable, tags(), st.lists(capabilities(), min_size=1, max_size=4).map(tuple))


_QRESYNC = st.builds(QresyncParameters, _numbers(nonzero=True),
                     _numbers(nonzero=True, maximum=NUMBER64_MAX),
                     _optional(uid_sets()), _optional(st.tuples(uid_sets(), uid_sets())))


@_cached
def selects() -> st.SearchStrategy[Select]:
    """``"SELECT" SP mailbox [select-params]`` (CONDSTORE, QRESYNC: RFC 7162)."""
    return st.builds(Select, tags(), mailbox_names(), st.booleans(), _optional(_QRESYNC))


@_cached
def examines() -> st.SearchStrategy[Examine]:
    """``"EXAMINE" SP mailbox [select-params]``"""
    return st.builds(Examine, tags(), mailbox_names(), st.booleans(), _optional(_QRESYNC))


_USE_ATTRS = st.one_of(st.sampled_from(("\\All", "\\Archive", "\\Drafts", "\\Flagged",
                                        "\\Junk", "\\Sent", "\\Trash")), flag_extensions())


@_cached
def creates() -> st.SearchStrategy[Create]:
    """``"CREATE" SP mailbox [create-params]`` (RFC 6154 USE)."""
    return st.builds(Create, tags(), mailbox_names(),
                     _optional(st.lists(_USE_ATTRS, max_size=3).map(tuple)))


@_cached
def renames() -> st.SearchStrategy[Rename]:
    """``"RENAME" SP mailbox SP mailbox``"""
    return st.builds(Rename, tags(), mailbox_names(), mailbox_names())


def _unique_tuple(strategy: st.SearchStrategy[T], *, min_size: int = 0
                  ) -> st.SearchStrategy[tuple[T, ...]]:
    return st.lists(strategy, min_size=min_size, max_size=4, unique=True).map(tuple)


_SELECT_OPTIONS = _unique_tuple(st.sampled_from(ListSelectOption)).filter(
    lambda o: ListSelectOption.RECURSIVEMATCH not in o
    or ListSelectOption.SUBSCRIBED in o or ListSelectOption.SPECIAL_USE in o)
_STATUS_ATTS = _unique_tuple(st.sampled_from(StatusAtt), min_size=1)


@st.composite
def _lists(draw: st.DrawFn) -> List:
    patterns = draw(st.one_of(list_mailboxes(),
                              st.lists(list_mailboxes(), min_size=1, max_size=3).map(tuple)))
    returns = draw(_optional(_unique_tuple(st.sampled_from(ListReturnOption))))
    # RETURN (STATUS ...) reads back with return_options=(): draw that spelling.
    status = draw(_optional(_STATUS_ATTS)) if returns is not None else None
    return List(draw(tags()), draw(mailbox_names()), patterns, draw(_optional(_SELECT_OPTIONS)),
                returns, status)


@_cached
def lists() -> st.SearchStrategy[List]:
    """``"LIST" [SP list-select-opts] SP mailbox SP mbox-or-pat [SP list-return-opts]``"""
    return _lists()


@_cached
def lsubs() -> st.SearchStrategy[Lsub]:
    """RFC 3501 ``"LSUB" SP mailbox SP list-mailbox``"""
    return st.builds(Lsub, tags(), mailbox_names(), list_mailboxes())


@_cached
def statuses() -> st.SearchStrategy[Status]:
    """``"STATUS" SP mailbox SP "(" status-att *(SP status-att) ")"``"""
    return st.builds(Status, tags(), mailbox_names(), _STATUS_ATTS)


@st.composite
def _append_messages(draw: st.DrawFn) -> AppendMessage:
    kind = draw(st.sampled_from(("literal", "literal8", "utf8")))
    if kind == "literal":
        message = draw(st.binary(max_size=200).map(lambda b: b.replace(b"\x00", b"")))
    else:
        message = draw(st.binary(max_size=200))
    return AppendMessage(message, draw(_optional(_flag_lists())), draw(_optional(date_times())),
                         binary=kind != "literal", utf8=kind == "utf8")


@_cached
def appends(*, max_messages: int = 3) -> st.SearchStrategy[Append]:
    """``"APPEND" SP mailbox 1*append-message`` (RFC 3502 MULTIAPPEND, RFC 3516 literal8,
    RFC 6855 UTF8)."""
    _check_int("max_messages", max_messages, minimum=1)
    return st.builds(Append, tags(), mailbox_names(),
                     st.lists(_append_messages(), min_size=1, max_size=max_messages).map(tuple))


@_cached
def expunges() -> st.SearchStrategy[Expunge]:
    """``"EXPUNGE"`` and ``"UID EXPUNGE" SP sequence-set``"""
    return st.one_of(st.builds(Expunge, tags()),
                     st.builds(Expunge, tags(), sequence_sets(), uid=st.just(True)))


@st.composite
def _searches(draw: st.DrawFn) -> Search:
    charset = draw(st.sampled_from((None, None, "UTF-8", "US-ASCII", "utf-8")))
    ascii_only = charset == "US-ASCII"
    keys = draw(st.lists(search_keys(charset_ascii=ascii_only), min_size=1, max_size=3))
    returns = draw(_optional(_unique_tuple(st.sampled_from(SearchReturnOption))))
    return Search(draw(tags()), tuple(keys), charset, returns, uid=draw(st.booleans()))


@_cached
def searches() -> st.SearchStrategy[Search]:
    """``["UID" SP] "SEARCH" [search-return-opts] SP search-program``"""
    return _searches()


@st.composite
def _fetches(draw: st.DrawFn) -> Fetch:
    uid = draw(st.booleans())
    items = draw(st.one_of(st.sampled_from(FetchMacro),
                           st.lists(fetch_atts(), min_size=1, max_size=4).map(tuple)))
    changedsince = draw(_optional(_numbers(nonzero=True, maximum=NUMBER64_MAX)))
    vanished = uid and changedsince is not None and draw(st.booleans())
    return Fetch(draw(tags()), draw(sequence_sets()), items, uid=uid,
                 changedsince=changedsince, vanished=vanished)


@_cached
def fetches() -> st.SearchStrategy[Fetch]:
    """``["UID" SP] "FETCH" SP sequence-set SP (macro / fetch-att / "(" ... ")")
    [fetch-modifiers]``"""
    return _fetches()


@_cached
def stores() -> st.SearchStrategy[Store]:
    """``["UID" SP] "STORE" SP sequence-set [store-modifiers] SP store-att-flags``"""
    return st.builds(Store, tags(), sequence_sets(), st.sampled_from(StoreAction),
                     _flag_lists(), silent=st.booleans(), uid=st.booleans(),
                     unchangedsince=_optional(_numbers(maximum=NUMBER64_MAX)))


@_cached
def copies() -> st.SearchStrategy[Copy]:
    """``["UID" SP] "COPY" SP sequence-set SP mailbox``"""
    return st.builds(Copy, tags(), sequence_sets(), mailbox_names(), uid=st.booleans())


@_cached
def moves() -> st.SearchStrategy[Move]:
    """``["UID" SP] "MOVE" SP sequence-set SP mailbox`` (RFC 6851)"""
    return st.builds(Move, tags(), sequence_sets(), mailbox_names(), uid=st.booleans())


@_cached
def commands(*, utf8: bool = False) -> st.SearchStrategy[Command]:
    """Any command of reference.imap.commands."""
    _check_bool("utf8", utf8)
    simple = st.sampled_from((Capability, Noop, Logout, StartTls, Namespace, Idle, Check,
                              Close, Unselect))
    one_mailbox = st.sampled_from((Delete, Subscribe, Unsubscribe))
    return st.one_of(
        st.builds(lambda cls, tag: cls(tag), simple, tags()),
        st.builds(lambda cls, tag, name: cls(tag, name), one_mailbox, tags(), mailbox_names()),
        ids(utf8=utf8), authenticates(), logins(utf8=utf8), enables(), selects(),
        examines(), creates(), renames(), lists(), lsubs(), statuses(), appends(),
        expunges(), searches(), fetches(), stores(), copies(), moves(),
    )


# --- status responses (§7.1) -------------------------------------------------------------

_KNOWN_CODES = {code.value for code in ResponseCode}
_NO_DATA_CODES = tuple(code for code in ResponseCode if code not in {
    ResponseCode.UIDNEXT, ResponseCode.UIDVALIDITY, ResponseCode.UNSEEN,
    ResponseCode.HIGHESTMODSEQ, ResponseCode.CAPABILITY, ResponseCode.PERMANENTFLAGS,
    ResponseCode.BADCHARSET, ResponseCode.APPENDUID, ResponseCode.COPYUID,
    ResponseCode.MODIFIED})
_CHARSETS = st.one_of(st.sampled_from(("UTF-8", "US-ASCII", "ISO-8859-1")),
                      st.text(string.ascii_letters + " -", min_size=1, max_size=10))


def _capability_lists() -> st.SearchStrategy[tuple[str, ...]]:
    # capability-data: IMAP4rev2 (or RFC 3501's IMAP4rev1) among the capabilities
    return st.tuples(st.sampled_from(("IMAP4rev2", "IMAP4rev1", "IMAP4REV2")),
                     st.lists(capabilities(), max_size=5)).map(
        lambda pair: (pair[0], *pair[1]))


@_cached
def response_codes() -> st.SearchStrategy[tuple[ResponseCode | str, CodeData]]:
    """``resp-text-code`` with typed data (unknown codes as atom and text)."""
    unknown = atoms(max_length=12).filter(lambda a: a.upper() not in _KNOWN_CODES)
    code_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E,
                                      exclude_characters="]"), min_size=1, max_size=20)
    nz = _numbers(nonzero=True)
    pairs: list[st.SearchStrategy[tuple[ResponseCode | str, CodeData]]] = [
        st.tuples(st.sampled_from(_NO_DATA_CODES), st.none()),
        st.tuples(st.sampled_from((ResponseCode.UIDNEXT, ResponseCode.UIDVALIDITY,
                                   ResponseCode.UNSEEN)), nz),
        st.tuples(st.just(ResponseCode.HIGHESTMODSEQ),
                  _numbers(nonzero=True, maximum=NUMBER64_MAX)),
        st.tuples(st.just(ResponseCode.CAPABILITY), _capability_lists()),
        st.tuples(st.just(ResponseCode.PERMANENTFLAGS), _flag_lists(perm=True)),
        st.tuples(st.just(ResponseCode.BADCHARSET),
                  _optional(st.lists(_CHARSETS, min_size=1, max_size=3).map(tuple))),
        st.tuples(st.just(ResponseCode.APPENDUID), st.builds(AppendUid, nz, uid_sets())),
        st.tuples(st.just(ResponseCode.COPYUID),
                  st.builds(CopyUid, nz, uid_sets(), uid_sets())),
        # RFC 7162 §7: "MODIFIED" SP sequence-set ("*" and "$" included)
        st.tuples(st.just(ResponseCode.MODIFIED), sequence_sets()),
        st.tuples(unknown, _optional(code_text)),
    ]
    return st.one_of(*pairs)


@st.composite
def _status_responses(draw: st.DrawFn, utf8: bool, tagged: bool | None) -> StatusResponse:
    is_tagged = draw(st.booleans()) if tagged is None else tagged
    if is_tagged:
        condition = draw(st.sampled_from((Condition.OK, Condition.NO, Condition.BAD)))
        tag: str | None = draw(tags())
    else:
        condition = draw(st.sampled_from((Condition.OK, Condition.NO, Condition.BAD,
                                          Condition.BYE)))
        tag = None
    code, data = draw(_optional(response_codes())) or (None, None)
    return StatusResponse(condition, draw(texts(utf8=utf8)), tag, code, data)


@_cached
def status_responses(*, utf8: bool = False, tagged: bool | None = None
                     ) -> st.SearchStrategy[StatusResponse]:
    """``resp-cond-state`` / ``resp-cond-bye`` with ``resp-text``; ``tagged`` None for
    both forms (PREAUTH, a greeting only, is not drawn)."""
    _check_bool("utf8", utf8)
    if tagged is not None:
        _check_bool("tagged", tagged)
    return _status_responses(utf8, tagged)


@_cached
def continuations(*, utf8: bool = False, data: bool = False
                  ) -> st.SearchStrategy[Continuation]:
    """``continue-req = "+" SP (resp-text / base64) CRLF``: a SASL challenge with
    ``data``, text otherwise."""
    _check_bool("utf8", utf8)
    if _check_bool("data", data):
        return st.builds(Continuation, data=st.binary(max_size=60))
    return st.builds(Continuation, text=texts(utf8=utf8))


# --- untagged data (§7.2-7.5) ------------------------------------------------------------


@_cached
def capability_datas() -> st.SearchStrategy[CapabilityData]:
    return st.builds(CapabilityData, _capability_lists())


@_cached
def enabled_datas() -> st.SearchStrategy[EnabledData]:
    return st.builds(EnabledData, st.lists(capabilities(), max_size=4).map(tuple))


@_cached
def id_datas(*, utf8: bool = False) -> st.SearchStrategy[IdData]:
    return st.builds(IdData, _id_parameters(_check_bool("utf8", utf8)))


_MAILBOX_ATTRIBUTES = st.sampled_from(("\\HasChildren", "\\HasNoChildren", "\\Subscribed",
                                       "\\Remote", "\\All", "\\Archive", "\\Drafts",
                                       "\\Flagged", "\\Junk", "\\Sent", "\\Trash"))
_SFLAGS = st.sampled_from(("\\NonExistent", "\\Noselect", "\\Marked", "\\Unmarked"))
_DELIMITERS = st.one_of(st.none(), st.sampled_from("/."),
                        st.characters(min_codepoint=1, max_codepoint=0x7F,
                                      exclude_characters="\r\n"))


@st.composite
def _mbx_attributes(draw: st.DrawFn) -> tuple[str, ...]:
    found = draw(st.lists(st.one_of(_MAILBOX_ATTRIBUTES, flag_extensions()), max_size=3,
                          unique_by=str.upper))
    sflag = draw(_optional(_SFLAGS))
    return tuple(found) + ((sflag,) if sflag else ())


# tagged-ext-val = tagged-ext-simple / "(" [tagged-ext-comp] ")" (grammar_list.py)
# tagged-ext-comp = astring / tagged-ext-comp *(SP tagged-ext-comp) / "(" tagged-ext-comp ")"
_COMP_STRINGS: st.SearchStrategy[Value] = st.one_of(
    atoms(max_length=8),
    st.text(st.characters(codec="utf-8", exclude_characters="\x00",
                          exclude_categories=_NO_SURROGATES), max_size=12),
    st.binary(max_size=8).filter(lambda b: b"\x00" not in b and not _is_utf8(b)))
_EXT_COMP: st.SearchStrategy[tuple[Value, ...]] = st.recursive(
    st.lists(_COMP_STRINGS, min_size=1, max_size=3).map(tuple),
    lambda inner: st.lists(st.one_of(_COMP_STRINGS, inner), min_size=1, max_size=3)
    .map(tuple), max_leaves=8)
_EXT_VALUES: st.SearchStrategy[Value] = st.one_of(
    _numbers(maximum=NUMBER64_MAX),
    sequence_sets().map(str).filter(lambda text: not text.isdigit()),
    st.just(()), _EXT_COMP)
# list-select-base-opt = "SUBSCRIBED" / option-extension; option-extension = (option-
# standard-tag / option-vendor-tag) [SP option-value]; option-value = "(" option-val-comp
# ")"; inside the DQUOTEs of CHILDINFO an astring is 1*ASTRING-CHAR.
_OPTION_WORDS = st.text(st.sampled_from(ATOM_CHARS + "]"), min_size=1, max_size=6)
_OPTION_VAL_COMP: st.SearchStrategy[str] = st.recursive(
    _OPTION_WORDS, lambda inner: st.lists(st.one_of(inner, inner.map(lambda c: f"({c})")),
                                          min_size=1, max_size=3).map(" ".join),
    max_leaves=6)
_BASE_OPTS = st.one_of(
    st.sampled_from(("SUBSCRIBED", "REMOTE", "SPECIAL-USE", "vendor.x-option")),
    st.tuples(atoms(max_length=10), _OPTION_VAL_COMP).map(lambda p: f"{p[0]} ({p[1]})"))


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@_cached
def list_datas() -> st.SearchStrategy[ListData]:
    """``"LIST" SP mailbox-list`` with ``mbox-list-extended`` in every form RFC 5258 §9
    allows: CHILDINFO with any list-select-base-opt, OLDNAME, and other items whose
    tagged-ext-val is a number, a sequence-set, "()" or a nested tagged-ext-comp."""
    extension_tag = atoms(max_length=10).filter(
        lambda t: t.upper() not in ("CHILDINFO", "OLDNAME"))
    return st.builds(
        ListData, _mbx_attributes(), _DELIMITERS, mailbox_names(),
        _optional(st.lists(_BASE_OPTS, min_size=1, max_size=3).map(tuple)),
        _optional(mailbox_names()),
        st.lists(st.tuples(extension_tag, _EXT_VALUES), max_size=3).map(tuple))


@_cached
def lsub_datas() -> st.SearchStrategy[LsubData]:
    return st.builds(LsubData, _mbx_attributes(), _DELIMITERS, mailbox_names())


@_cached
def namespace_datas() -> st.SearchStrategy[NamespaceData]:
    """``"NAMESPACE" SP namespace SP namespace SP namespace``"""
    extension = st.tuples(astrings(max_length=10),
                          st.lists(astrings(max_length=10), min_size=1, max_size=2).map(tuple))
    description = st.builds(NamespaceDescription, mailbox_names(), _DELIMITERS,
                            st.lists(extension, max_size=2).map(tuple))
    namespace = _optional(st.lists(description, min_size=1, max_size=2).map(tuple))
    return st.builds(NamespaceData, namespace, namespace, namespace)


_STATUS_VALUE_RANGES = {
    StatusAtt.UIDNEXT: _numbers(nonzero=True), StatusAtt.UIDVALIDITY: _numbers(nonzero=True),
    StatusAtt.SIZE: _numbers(maximum=NUMBER64_MAX),
    StatusAtt.HIGHESTMODSEQ: _numbers(maximum=NUMBER64_MAX),
    StatusAtt.APPENDLIMIT: _optional(_numbers()),
}


@st.composite
def _status_datas(draw: st.DrawFn) -> StatusData:
    atts = draw(st.lists(st.sampled_from(StatusAtt), max_size=5, unique=True))
    pairs = tuple((att, draw(_STATUS_VALUE_RANGES.get(att, _numbers()))) for att in atts)
    return StatusData(draw(mailbox_names()), pairs)


@_cached
def status_datas() -> st.SearchStrategy[StatusData]:
    """``"STATUS" SP mailbox SP "(" [status-att-list] ")"``"""
    return _status_datas()


@_cached
def esearch_datas() -> st.SearchStrategy[EsearchData]:
    """``esearch-response`` (RFC 7162 MODSEQ included)."""
    nz = _numbers(nonzero=True)
    return st.builds(EsearchData, _optional(tags()), st.booleans(), _optional(nz),
                     _optional(nz), _optional(sequence_sets(allow_last=False)),
                     _optional(_numbers()), _optional(_numbers(nonzero=True,
                                                               maximum=NUMBER64_MAX)))


@st.composite
def _search_datas(draw: st.DrawFn) -> SearchData:
    numbers = tuple(draw(st.lists(_numbers(nonzero=True), max_size=6)))
    modseq = draw(_optional(_numbers(nonzero=True, maximum=NUMBER64_MAX))) if numbers else None
    return SearchData(numbers, modseq)


@_cached
def search_datas() -> st.SearchStrategy[SearchData]:
    """RFC 3501 ``"SEARCH" *(SP nz-number)`` [RFC 7162 search-sort-mod-seq]"""
    return _search_datas()


@_cached
def flags_datas() -> st.SearchStrategy[FlagsData]:
    return st.builds(FlagsData, _flag_lists())


@_cached
def exists_datas() -> st.SearchStrategy[ExistsData]:
    return st.builds(ExistsData, _numbers())


@_cached
def recent_datas() -> st.SearchStrategy[RecentData]:
    return st.builds(RecentData, _numbers())


@_cached
def expunge_datas() -> st.SearchStrategy[ExpungeData]:
    return st.builds(ExpungeData, _numbers(nonzero=True))


@_cached
def vanished_datas() -> st.SearchStrategy[VanishedData]:
    """RFC 7162 ``"VANISHED" [SP "(EARLIER)"] SP known-uids``"""
    return st.builds(VanishedData, uid_sets(), st.booleans())


# --- ENVELOPE and BODYSTRUCTURE (§7.5.2), as values ------------------------------------

_STRING_VALUES = st.text(st.characters(codec="utf-8", exclude_characters="\x00",
                                       exclude_categories=_NO_SURROGATES), max_size=20)
_NSTRINGS = _optional(_STRING_VALUES)
_ADDRESSES = _optional(st.lists(st.tuples(_NSTRINGS, _NSTRINGS, _NSTRINGS, _NSTRINGS),
                                min_size=1, max_size=3).map(tuple))


@_cached
def envelopes() -> st.SearchStrategy[Value]:
    """``envelope``: date, subject, from, sender, reply-to, to, cc, bcc, in-reply-to,
    message-id."""
    return st.tuples(_NSTRINGS, _NSTRINGS, _ADDRESSES, _ADDRESSES, _ADDRESSES, _ADDRESSES,
                     _ADDRESSES, _ADDRESSES, _NSTRINGS, _NSTRINGS)


_PARAMS = _optional(st.lists(st.tuples(_STRING_VALUES, _STRING_VALUES), min_size=1,
                             max_size=2).map(lambda pairs: tuple(x for p in pairs for x in p)))
_BODY_EXTENSIONS: st.SearchStrategy[Value] = st.recursive(
    st.one_of(_NSTRINGS, _numbers(maximum=NUMBER64_MAX)),
    lambda inner: st.lists(inner, min_size=1, max_size=3).map(tuple), max_leaves=5)


@st.composite
def _extension_tail(draw: st.DrawFn) -> tuple[Value, ...]:
    """[SP body-fld-dsp [SP body-fld-lang [SP body-fld-loc *(SP body-extension)]]]"""
    dsp = draw(_optional(st.tuples(_STRING_VALUES, _PARAMS)))
    lang = draw(st.one_of(_NSTRINGS, st.lists(_STRING_VALUES, min_size=1, max_size=2)
                          .map(tuple)))
    loc = draw(_NSTRINGS)
    more = tuple(draw(st.lists(_BODY_EXTENSIONS, max_size=2)))
    return (dsp, lang, loc, *more)[:draw(st.integers(0, 3 + len(more)))]


@st.composite
def _bodies(draw: st.DrawFn, extensible: bool, depth: int) -> Value:
    kind = draw(st.sampled_from(("basic", "text", "message", "multipart")
                                if depth > 0 else ("basic", "text")))
    if kind == "multipart":
        parts = draw(st.lists(_bodies(extensible, depth - 1), min_size=1, max_size=3))
        subtype = draw(st.sampled_from(("MIXED", "alternative", "related")))
        tail: tuple[Value, ...] = ()
        if extensible and draw(st.booleans()):
            tail = (draw(_PARAMS), *draw(_extension_tail()))
        return (*parts, subtype, *tail)
    fields = (draw(_PARAMS), draw(_NSTRINGS), draw(_NSTRINGS),
              draw(st.sampled_from(("7BIT", "8BIT", "BASE64", "quoted-printable"))),
              draw(_numbers()))
    if kind == "basic":
        media: tuple[Value, ...] = (draw(st.sampled_from(("APPLICATION", "image", "AUDIO"))),
                                    draw(st.sampled_from(("OCTET-STREAM", "png", "x-y"))))
        specific: tuple[Value, ...] = ()
    elif kind == "text":
        media = ("TEXT", draw(st.sampled_from(("PLAIN", "html"))))
        specific = (draw(_numbers(maximum=NUMBER64_MAX)),)
    else:
        media = ("MESSAGE", draw(st.sampled_from(("RFC822", "global"))))
        specific = (draw(envelopes()), draw(_bodies(extensible, depth - 1)),
                    draw(_numbers(maximum=NUMBER64_MAX)))
    tail = ()
    if extensible and draw(st.booleans()):
        tail = (draw(_NSTRINGS), *draw(_extension_tail()))
    return (*media, *fields, *specific, *tail)


@_cached
def bodies(*, extensible: bool = True, max_depth: int = 2) -> st.SearchStrategy[Value]:
    """``body``: single parts (basic, text, message/rfc822) and multiparts nested at most
    ``max_depth`` deep; extension data only when ``extensible`` (BODYSTRUCTURE)."""
    _check_bool("extensible", extensible)
    _check_int("max_depth", max_depth, minimum=0, maximum=10)
    return _bodies(extensible, max_depth)


_DATA = st.binary(max_size=60).map(lambda b: b.replace(b"\x00", b""))


@_cached
def fetch_items() -> st.SearchStrategy[FetchItem]:
    """``msg-att-dynamic`` / ``msg-att-static``: every FETCH item type."""
    return st.one_of(
        st.builds(FlagsItem, _flag_lists(fetch=True)),
        st.builds(EnvelopeItem, envelopes()),
        st.builds(InternalDateItem, date_times()),
        st.builds(Rfc822SizeItem, _numbers(maximum=NUMBER64_MAX)),
        st.booleans().flatmap(lambda ext: st.builds(BodyStructureItem,
                                                    bodies(extensible=ext), st.just(ext))),
        st.builds(BodySectionItem, sections(), _optional(_DATA), _optional(_numbers())),
        st.builds(BinaryItem, _PARTS, _optional(st.binary(max_size=60))),
        st.builds(BinarySizeItem, _PARTS, _numbers()),
        st.builds(UidItem, _numbers(nonzero=True)),
        st.builds(ModSeqItem, _numbers(nonzero=True, maximum=NUMBER64_MAX)),
        st.builds(Rfc822Item, st.sampled_from(("RFC822", "RFC822.HEADER", "RFC822.TEXT")),
                  _optional(_DATA)),
    )


@_cached
def fetch_datas() -> st.SearchStrategy[FetchData]:
    """``nz-number SP "FETCH" SP msg-att``"""
    return st.builds(FetchData, _numbers(nonzero=True),
                     st.lists(fetch_items(), min_size=1, max_size=4).map(tuple))


@_cached
def responses(*, utf8: bool = False) -> st.SearchStrategy[Response]:
    """Any response but PREAUTH (a greeting) and a SASL challenge (which reads as text
    unless an AUTHENTICATE waits: ``continuations(data=True)``)."""
    _check_bool("utf8", utf8)
    return st.one_of(
        status_responses(utf8=utf8), continuations(utf8=utf8), capability_datas(),
        enabled_datas(), id_datas(utf8=utf8), list_datas(), lsub_datas(), namespace_datas(),
        status_datas(), esearch_datas(), search_datas(), flags_datas(), exists_datas(),
        recent_datas(), expunge_datas(), vanished_datas(), fetch_datas(),
    )


# --- hostile bytes --------------------------------------------------------------------

_HOSTILE_COMMANDS = (
    b"a1 LOGIN {5}\r\nal",                             # literal cut short
    b"a1 LOGIN {99999999999999999999999}\r\n",          # a size beyond number64
    b"a1 LOGIN {5+}\r\nalice {3+}\r\npw1\r\n",
    b"a1 LOGIN ~{3}\r\nabc xyz\r\n",                   # literal8 where a literal goes
    b"a1 APPEND INBOX {-1}\r\n",
    b"a1 APPEND INBOX {5000+}\r\n",                     # non-sync over 4096 (LITERAL-)
    b"a1 FETCH 99999999999999999999 FLAGS\r\n",
    b"a1 FETCH 1:* BODY[1.2.3.4294967296]\r\n",
    b"a1 FETCH 1 BODY[]<0.0>\r\n",
    b"a1 SEARCH " + b"(" * 200 + b"ALL" + b")" * 200 + b"\r\n",
    b"a1 SEARCH " + b"NOT " * 200 + b"ALL\r\n",
    b"a1 SEARCH " + b"OR ALL " * 100 + b"ALL\r\n",
    b"a1 SEARCH CHARSET KOI9-X TEXT abc\r\n",
    b'a1 LOGIN "unterminated\r\n',
    b'a1 LOGIN "a\\x" b\r\n',
    b"a1 SELECT INBOX\rX\r\n",
    b"a1 NOOP\n",
    b"\x00\xff\xfe\r\n",
    b"* OK\r\n",
    b"+ x\r\n",
    b"a1 UID NOOP\r\n",
    b"a1 STORE 1 FLAGS.LOUD (\\Seen)\r\n",
    b"a1 AUTHENTICATE PLAIN ====\r\n",
    b"a1 ID (" + b'"k" "v" ' * 40 + b")\r\n",
)


@_cached
def hostile_command_bytes() -> st.SearchStrategy[bytes]:
    """Client bytes a server core must survive: valid commands cut or mutated, known
    attacks (deep nesting, huge numbers, bad literals) and random octets."""
    valid = commands().map(lambda c: _wire(c))
    cut = st.tuples(valid, st.integers(0, 200)).map(lambda p: p[0][:p[1]])
    mutated = st.tuples(valid, st.integers(0, 200), st.binary(min_size=1, max_size=4)).map(
        lambda p: p[0][:p[1]] + p[2] + p[0][p[1] + 1:])
    return st.one_of(st.sampled_from(_HOSTILE_COMMANDS), cut, mutated,
                     st.binary(max_size=200),
                     st.lists(st.sampled_from((*_HOSTILE_COMMANDS, b"a2 NOOP\r\n")),
                              max_size=4).map(b"".join))


def _wire(command: Command) -> bytes:
    from reference.imap.grammar import LiteralForm
    from reference.imap.serializer_commands import write_command

    return b"".join(write_command(command, utf8=True, literal_form=LiteralForm.LITERAL_PLUS))


_HOSTILE_RESPONSES = (
    b"* 1 FETCH (BODY[] {5}\r\nab",
    b"* 1 FETCH (BODY[] {5+}\r\nabcde)\r\n",
    b"* 99999999999999999999 EXISTS\r\n",
    b"* 1 FETCH (BODYSTRUCTURE " + b"(" * 300 + b")\r\n",
    b"* OK [UIDNEXT 0] x\r\n",
    b"* CAPABILITY IMAP2\r\n",
    b"* 0 EXPUNGE\r\n",
    b"* LIST (\\Noselect \\Marked) \"/\" x\r\n",
    b"+\r\n",
    b"* BYE\r\n",
)


@_cached
def hostile_response_bytes() -> st.SearchStrategy[bytes]:
    """Server bytes a client core must survive (same families as for commands)."""
    return st.one_of(st.sampled_from(_HOSTILE_RESPONSES), st.binary(max_size=200),
                     st.lists(st.sampled_from(_HOSTILE_RESPONSES), max_size=3).map(b"".join))
