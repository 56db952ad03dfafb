"""IMAP strategies for client commands (RFC 9051 §6.1-6.4 and the extensions the core
speaks): one per command (``logins()``, ``selects()``, ``fetches()``...) and
``commands()`` for any of them, each drawing the typed command of
``reference.imap.commands``. Import through ``fuzz.strategies.imap``.
"""

from __future__ import annotations

from typing import TypeVar

from hypothesis import strategies as st

from fuzz.strategies.imap_values import (
    NUMBER64_MAX,
    _cached,
    _check_bool,
    _check_int,
    _flag_lists,
    _id_parameters,
    _numbers,
    _optional,
    astrings,
    atoms,
    capabilities,
    date_times,
    fetch_atts,
    flag_extensions,
    list_mailboxes,
    mailbox_names,
    search_keys,
    sequence_sets,
    tags,
    uid_sets,
)
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
from reference.imap.grammar_fetch import FetchMacro
from reference.imap.mailbox_list import SPECIAL_USE_ATTRIBUTES

__all__ = [
    "appends",
    "authenticates",
    "commands",
    "copies",
    "creates",
    "enables",
    "examines",
    "expunges",
    "fetches",
    "ids",
    "lists",
    "logins",
    "lsubs",
    "moves",
    "renames",
    "searches",
    "selects",
    "statuses",
    "stores",
]

T = TypeVar("T")


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


# RFC 6154 §2 use-attr (reference.imap.mailbox_list), or any flag-extension
_USE_ATTRS = st.one_of(st.sampled_from(sorted(SPECIAL_USE_ATTRIBUTES)), flag_extensions())


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
