"""IMAP strategies for server responses (RFC 9051 §7 and the extensions the core
speaks): status responses with typed response codes, continuations, every untagged data
response (``list_datas()``, ``esearch_datas()``, ``fetch_datas()``...), ENVELOPE and
BODYSTRUCTURE values, and ``responses()`` for any of them, each drawing the typed
response of ``reference.imap.responses``. Import through ``fuzz.strategies.imap``.
"""

from __future__ import annotations

import string

from hypothesis import strategies as st

from fuzz.strategies.imap_values import (
    _NO_SURROGATES,
    _PARTS,
    ATOM_CHARS,
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
    flag_extensions,
    mailbox_names,
    sections,
    sequence_sets,
    tags,
    texts,
    uid_sets,
)
from reference.imap.capabilities import Capability
from reference.imap.commands import StatusAtt
from reference.imap.mailbox_list import SPECIAL_USE_ATTRIBUTES
from reference.imap.response_data import (
    MBX_LIST_OFLAGS,
    MBX_LIST_SFLAGS,
    RFC822_ITEMS,
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
    LIST_CODES,
    NUMBER_CODES,
    AppendUid,
    CodeData,
    Condition,
    Continuation,
    CopyUid,
    Response,
    ResponseCode,
    StatusResponse,
)
from reference.imap.values import Value

__all__ = [
    "bodies",
    "capability_datas",
    "continuations",
    "enabled_datas",
    "envelopes",
    "esearch_datas",
    "exists_datas",
    "expunge_datas",
    "fetch_datas",
    "fetch_items",
    "flags_datas",
    "id_datas",
    "list_datas",
    "lsub_datas",
    "namespace_datas",
    "recent_datas",
    "response_codes",
    "responses",
    "search_datas",
    "status_datas",
    "status_responses",
    "vanished_datas",
]


_KNOWN_CODES = {code.value for code in ResponseCode}
# The codes without data: all but the parser's NUMBER_CODES and LIST_CODES and the three
# with a grammar of their own.
_NO_DATA_CODES = tuple(code for code in ResponseCode if code not in NUMBER_CODES | LIST_CODES
                       | {ResponseCode.APPENDUID, ResponseCode.COPYUID, ResponseCode.MODIFIED})
_CHARSETS = st.one_of(st.sampled_from(("UTF-8", "US-ASCII", "ISO-8859-1")),
                      st.text(string.ascii_letters + " -", min_size=1, max_size=10))


def _capability_lists() -> st.SearchStrategy[tuple[str, ...]]:
    # capability-data: IMAP4rev2 (or RFC 3501's IMAP4rev1) among the capabilities
    return st.tuples(st.sampled_from((Capability.IMAP4REV2.value, Capability.IMAP4REV1.value,
                                      Capability.IMAP4REV2.value.upper())),
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


# mbx-list-oflag and the RFC 6154 special-use attributes; mbx-list-sflag (one at most)
_MAILBOX_ATTRIBUTES = st.sampled_from((*MBX_LIST_OFLAGS, *sorted(SPECIAL_USE_ATTRIBUTES)))
_SFLAGS = st.sampled_from(MBX_LIST_SFLAGS)
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
        # RFC 9051 §7.5.2 BINARY[<section-binary>]<<number>> (the origin: see BinaryItem)
        st.builds(BinaryItem, _PARTS, _optional(st.binary(max_size=60)), _optional(_numbers())),
        st.builds(BinarySizeItem, _PARTS, _numbers()),
        st.builds(UidItem, _numbers(nonzero=True)),
        st.builds(ModSeqItem, _numbers(nonzero=True, maximum=NUMBER64_MAX)),
        st.builds(Rfc822Item, st.sampled_from(RFC822_ITEMS),
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
