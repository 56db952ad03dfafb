"""IMAP strategies for the values inside commands and responses (RFC 9051 §9): the
lexical rules, flags, dates, mailbox names, sequence sets, search keys, FETCH attributes
and capabilities, with the argument checks and helpers the other IMAP strategy modules
share. The grammar's own tables (character classes, system flags, number bounds,
capabilities) come from ``reference.imap``, so a grammar fix lands once. Import through
``fuzz.strategies.imap``.
"""

from __future__ import annotations

import functools
import re
import string
from datetime import date, datetime, timedelta, timezone
from typing import Literal, TypeVar

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from reference.imap.capabilities import Capability
from reference.imap.grammar import ATOM_CHAR, NUMBER64_MAX, NUMBER_MAX, TAG_CHAR
from reference.imap.grammar_fetch import (
    BinarySection,
    BinarySize,
    BodySection,
    FetchAtt,
    FetchAttName,
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
from reference.imap.grammar_values import ANY_KEYWORD, FLAG_KEYWORDS, RECENT, SYSTEM_FLAGS
from reference.imap.parser_commands import ID_FIELD_MAX, ID_PAIRS_MAX
from reference.imap.sequence_sets import STAR, SeqNumber, SequenceSet

__all__ = [
    "ATOM_CHARS",
    "NUMBER64_MAX",
    "NUMBER_MAX",
    "SYSTEM_FLAGS",
    "TAG_CHARS",
    "astrings",
    "atoms",
    "capabilities",
    "date_times",
    "dates",
    "fetch_atts",
    "flag_extensions",
    "flag_keywords",
    "flags",
    "list_mailboxes",
    "mailbox_names",
    "partials",
    "search_keys",
    "sections",
    "sequence_sets",
    "tags",
    "texts",
    "uid_sets",
]

T = TypeVar("T")
# Unicode general categories left out of drawn text: surrogates cannot be encoded;
# control and separator characters are not TEXT-CHAR.
_NO_SURROGATES: tuple[Literal["Cs"], ...] = ("Cs",)
_NO_CONTROLS: tuple[Literal["Cs", "Cc", "Zl", "Zp"], ...] = ("Cs", "Cc", "Zl", "Zp")

# Strategies are built once per set of arguments (see fuzz/strategies/smtp.py).
_cached = functools.lru_cache(maxsize=None, typed=True)


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



def _characters(char_class: bytes) -> str:
    """The characters of one of reference.imap.grammar's character classes."""
    one = re.compile(b"[" + char_class + b"]")
    return "".join(chr(c) for c in range(0x80) if one.fullmatch(bytes([c])))


# ATOM-CHAR = <any CHAR except atom-specials>
ATOM_CHARS = _characters(ATOM_CHAR)
# tag = 1*<any ASTRING-CHAR except "+">
TAG_CHARS = _characters(TAG_CHAR)


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

_RESERVED_BACKSLASH = {f.upper() for f in (*SYSTEM_FLAGS, RECENT)}


@_cached
def flag_keywords() -> st.SearchStrategy[str]:
    """``flag-keyword = "$MDNSent" / "$Forwarded" / "$Junk" / "$NotJunk" / "$Phishing" /
    atom``"""
    return st.one_of(st.sampled_from(FLAG_KEYWORDS), atoms(max_length=12))


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
    extra = ((RECENT,) if fetch else ()) + ((ANY_KEYWORD,) if perm else ())
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


# --- capabilities (§9 capability) ----------------------------------------------------


# The capabilities this core knows (reference.imap.capabilities), and a SASL one.
_KNOWN_CAPABILITIES = (*(c.value for c in Capability), "AUTH=PLAIN")


@_cached
def capabilities() -> st.SearchStrategy[str]:
    """``capability = ("AUTH=" auth-type) / atom``"""
    return st.one_of(st.sampled_from(_KNOWN_CAPABILITIES), atoms(max_length=16))


# --- ID (RFC 2971 §3.3) ----------------------------------------------------------------


def _id_parameters(utf8: bool) -> st.SearchStrategy[tuple[tuple[str, str | None], ...] | None]:
    # RFC 2971 §3.3: fields of at most 30 octets, values of at most 1024, at most 30
    # pairs (the parser's bounds).
    field = astrings(utf8=utf8, max_length=ID_FIELD_MAX).filter(
        lambda k: len(k.encode()) <= ID_FIELD_MAX)
    value = _optional(astrings(utf8=utf8, max_length=60))
    return _optional(st.lists(st.tuples(field, value), max_size=min(5, ID_PAIRS_MAX))
                     .map(tuple))
