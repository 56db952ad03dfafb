"""SEARCH (RFC 9051 §6.4.4): search-key evaluation against one message, the full-text
narrowing, and the SEARCH / ESEARCH response. Pure: the session reads the store.

The session's loop, in outline::

    substrings = fts_substrings(command.keys)              # narrow with the index
    candidates = await store.search_candidates(mailbox, substrings) if substrings else None
    for each message of the view (in candidates, if any):
        subject = SearchSubject(msn, uid, flags, modseq, size, internal_date, recent,
                                raw=..., parsed=...)    # raw/parsed if search_needs_message
        if matches(command.keys, subject, context): found.append(SearchMatch(...))
    outcome = search_response(command, found, rev2=modes.rev2)

Implementation notes:

- String keys: "a message matches the key if the string is a substring of the associated
  text. The matching SHOULD be case insensitive" (§6.4.4). Both sides are compared after
  ``fold`` (Unicode full case folding, ``str.casefold``: wider than the ASCII range the
  RFC asks for, and per character, so a substring stays a substring after folding).
- Header keys (FROM, TO, CC, BCC, SUBJECT, HEADER) look in the value of every field of
  that name (what comes after the colon, HEADER's wording; "the envelope structure's FROM
  field" is built from the same field), unfolded with its RFC 2047 encoded-words decoded
  (§6.4.4 MUST: "[MIME-HDRS] strings in [RFC5322]/[MIME-IMB] headers MUST be decoded
  before comparing text"); UTF-8 field values (RFC 6532) are text already. The decoding
  is ``text.header_text``'s, so each value is a substring of the indexed text. An empty
  string matches every message that has the field (§6.4.4: "If the string to search is
  zero-length, this matches all messages that have a header field with the specified
  field-name"; the same rule for FROM ... SUBJECT).
- BODY looks in ``text.body_text`` (transfer encodings and charsets decoded, §6.4.4
  MUST), TEXT in ``text.search_text`` (header, body, and the MIME header fields of the
  body parts: "in the header (including MIME header fields) or body"). Full-text narrowing
  (``fts_substrings``) hands the index the strings every match must contain: those of
  the string keys in the top-level AND (not under NOT or OR, where a match need not
  contain them). Every text a string key looks in is a substring of ``search_text``, so
  the index never loses a match *provided it was fed* ``index_text`` (the folded
  ``search_text``): the store's trigram index folds case per character, and folding that
  changes length (German "ß" against "SS") must already be in the stored text.
- BODY and TEXT are decided from the texts the store keeps beside the index
  (``SearchText``, made at delivery by the same ``text.index_texts``) when the session
  has them: the same strings as reading the message again would give, without reading
  it (``search_needs_message`` is then false for them, ``search_needs_text`` true).
- Dates: BEFORE/ON/SINCE compare the internal date's calendar date in its own zone
  ("disregarding time and timezone"); SENT* the date written in the Date: field
  (``email.utils.parsedate_tz``, obsolete two-digit years included). A message without a
  Date: field, or with one that does not parse to a real calendar date, matches no
  SENT* key: it has no sent date to compare (NOT SENTON then matches it).
- Flags compare ASCII-case-insensitively (KEYWORD/UNKEYWORD and the system-flag
  keys): RFC 9051 §9 "Unless otherwise noted, all alphabetic characters are case
  insensitive", and RFC 8621 §4.1.1 "a keyword is a case-insensitive string". The
  store keeps a keyword in the spelling the account first used (``store.normalise``),
  which need not be the one a SEARCH names: KEYWORD $label finds $Label.
- "$" (RFC 5182, RFC 9051 §6.4.4.1) is kept as UIDs (``SearchContext.saved_uids``): UIDs
  survive expunges ("When a message listed in the search result variable is EXPUNGEd,
  it is automatically removed from the list") and serve SEARCH and UID SEARCH alike.
- MODSEQ (RFC 7162 §3.1.5): "Messages that have modification values that are equal to
  or greater than <mod-sequence-valzer>"; the store keeps one mod-sequence per message,
  so the entry name and type are ignored ("If the server doesn't store separate
  mod-sequences for different metadata items, it MUST ignore <entry-name> and
  <entry-type-req>").
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from email.utils import parsedate_tz

from reference.imap.commands import Search, SearchReturnOption
from reference.imap.grammar_search import (
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
from reference.imap.response_data import EsearchData, SearchData
from reference.imap.sequence_sets import (
    Intervals,
    SequenceSet,
    resolve_message_numbers,
)
from reference.message.encoded_words import decode_unstructured
from reference.message.headers import field_text
from reference.message.model import ParsedMessage
from reference.message.text import SearchText, fold, index_text, index_texts

__all__ = [
    "SearchContext",
    "SearchMatch",
    "SearchOutcome",
    "SearchSubject",
    "TextChecks",
    "check_sequence_numbers",
    "fold",
    "fts_substrings",
    "index_text",
    "matches",
    "search_needs_message",
    "search_needs_text",
    "search_response",
    "text_checks",
    "uses_modseq",
]

# The header field each envelope key looks in (RFC 9051 §6.4.4).
_FIELD_OF = {TextKeyName.FROM: "from", TextKeyName.TO: "to", TextKeyName.CC: "cc",
             TextKeyName.BCC: "bcc", TextKeyName.SUBJECT: "subject"}
_SENT = (DateKeyName.SENTBEFORE, DateKeyName.SENTON, DateKeyName.SENTSINCE)
_TEXTS = (TextKeyName.BODY, TextKeyName.TEXT)
# SimpleKey -> (system flag, whether it must be set).
_FLAG_KEYS = {
    SimpleKeyName.ANSWERED: ("\\answered", True), SimpleKeyName.UNANSWERED: ("\\answered", False),
    SimpleKeyName.DELETED: ("\\deleted", True), SimpleKeyName.UNDELETED: ("\\deleted", False),
    SimpleKeyName.DRAFT: ("\\draft", True), SimpleKeyName.UNDRAFT: ("\\draft", False),
    SimpleKeyName.FLAGGED: ("\\flagged", True), SimpleKeyName.UNFLAGGED: ("\\flagged", False),
    SimpleKeyName.SEEN: ("\\seen", True), SimpleKeyName.UNSEEN: ("\\seen", False),
}


# --- the subject and the context -------------------------------------------------------


@dataclass(frozen=True)
class SearchSubject:
    """One message as SEARCH sees it. ``raw`` and ``parsed`` are needed only when
    ``search_needs_message(keys)``; ``stored_text``, or else ``raw`` and ``parsed``,
    when ``search_needs_text(keys)``. The texts derived from them are computed once, on
    first use. ``recent``: RFC 3501 §2.3.2 \\Recent for this session (rev1 keys NEW,
    OLD, RECENT)."""

    msn: int
    uid: int
    flags: frozenset[str]
    modseq: int
    size: int
    internal_date: datetime
    recent: bool = False
    raw: bytes | None = None
    parsed: ParsedMessage | None = None
    stored_text: SearchText | None = None

    def _message(self) -> tuple[bytes, ParsedMessage]:
        if self.raw is None or self.parsed is None:
            raise ValueError("these search keys need the message (search_needs_message)")
        return self.raw, self.parsed

    @functools.cached_property
    def folded_flags(self) -> frozenset[str]:
        return frozenset(flag.lower() for flag in self.flags)

    @functools.cached_property
    def folded_fields(self) -> dict[str, list[str]]:
        """Lower-case field name -> the folded, decoded values of the fields so named."""
        raw, parsed = self._message()
        fields: dict[str, list[str]] = {}
        for span in parsed.fields:
            # The same decoding as text.header_text, so each value is in the index.
            value = decode_unstructured(field_text(span.raw_value(raw)))
            fields.setdefault(span.name.lower(), []).append(fold(value))
        return fields

    @functools.cached_property
    def search_text(self) -> SearchText:
        return self.stored_text or index_texts(*self._message())

    @property
    def folded_body(self) -> str:
        return self.search_text.body

    @functools.cached_property
    def folded_text(self) -> str:
        return self.search_text.whole

    @functools.cached_property
    def sent_date(self) -> date | None:
        """The calendar date of the Date: field as written, None when absent or invalid."""
        _, parsed = self._message()
        if parsed.envelope.date is None:
            return None
        fields = parsedate_tz(parsed.envelope.date)
        if fields is None:
            return None
        try:
            return date(fields[0], fields[1], fields[2])
        except ValueError:
            return None


@dataclass(frozen=True, slots=True)
class SearchContext:
    """The mailbox around the subject: ``message_count`` is what "*" means in a message
    set, ``max_uid`` what it means in a UID set (RFC 9051 §9 seq-number: "the unique
    identifier of the last message in the mailbox"), ``saved_uids`` the search result
    variable "$" as UIDs (RFC 9051 §6.4.4.1; empty after SELECT)."""

    message_count: int
    max_uid: int
    saved_uids: Intervals = field(default_factory=Intervals)


# --- what the keys need ----------------------------------------------------------------


def _walk(keys: Iterable[SearchKey]) -> Iterable[SearchKey]:
    for key in keys:
        yield key
        match key:
            case NotKey(key=inner):
                yield from _walk((inner,))
            case OrKey(left=left, right=right):
                yield from _walk((left, right))
            case GroupKey(keys=inner_keys):
                yield from _walk(inner_keys)


def search_needs_message(keys: Sequence[SearchKey]) -> bool:
    """Whether any key looks into the message's header fields (header or sent-date
    keys), so the subject needs ``raw`` and ``parsed``."""
    return any((isinstance(key, TextKey) and key.name not in _TEXTS)
               or isinstance(key, HeaderKey)
               or (isinstance(key, DateKey) and key.name in _SENT) for key in _walk(keys))


def search_needs_text(keys: Sequence[SearchKey]) -> bool:
    """Whether BODY or TEXT is used: the subject needs ``stored_text``, or ``raw`` and
    ``parsed`` to make it."""
    return any(isinstance(key, TextKey) and key.name in _TEXTS for key in _walk(keys))


def uses_modseq(keys: Sequence[SearchKey]) -> bool:
    """Whether a MODSEQ key is used anywhere: RFC 7162 §3.1.5 then adds the highest
    mod-sequence to a non-empty result."""
    return any(isinstance(key, ModSeqKey) for key in _walk(keys))


def fts_substrings(keys: Sequence[SearchKey]) -> list[str]:
    """The folded strings every matching message's ``index_text`` contains: those of the
    string keys in the top-level AND (parenthesised groups included, NOT and OR not).
    Empty strings are left out (they narrow nothing)."""
    found: list[str] = []
    for key in keys:
        match key:
            case TextKey(value=value) | HeaderKey(value=value):
                if value and fold(value) not in found:
                    found.append(fold(value))
            case GroupKey(keys=inner):
                found.extend(s for s in fts_substrings(inner) if s not in found)
    return found


@dataclass(frozen=True, slots=True)
class TextChecks:
    """The BODY and TEXT keys of the top-level AND, whose exact check the store can make
    on the texts it keeps (each string folded, as the matcher compares it), and the
    keys left for the matcher."""

    body: tuple[str, ...]
    text: tuple[str, ...]
    rest: tuple[SearchKey, ...]


def text_checks(keys: Sequence[SearchKey]) -> TextChecks:
    """Split the top-level AND (parenthesised groups flattened): a message matches
    ``keys`` exactly when its body text contains every ``body`` string, its whole text
    every ``text`` string (RFC 9051 §6.4.4), and it matches ``rest``."""
    body: list[str] = []
    text: list[str] = []
    rest: list[SearchKey] = []

    def split(group: Sequence[SearchKey]) -> None:
        for key in group:
            match key:
                case TextKey(name=TextKeyName.BODY, value=value):
                    body.append(fold(value))
                case TextKey(name=TextKeyName.TEXT, value=value):
                    text.append(fold(value))
                case GroupKey(keys=inner):
                    split(inner)
                case _:
                    rest.append(key)
    split(keys)
    return TextChecks(tuple(body), tuple(text), tuple(rest))


def check_sequence_numbers(keys: Sequence[SearchKey], message_count: int) -> None:
    """Raise ``SequenceSetError`` for a message sequence set naming a number beyond the
    mailbox (RFC 9051 §9 seq-number: "The server should respond with a tagged BAD
    response to a command that uses a message sequence number greater than the number of
    messages in the selected mailbox"). "$" is always valid (§6.4.4.1)."""
    for key in _walk(keys):
        if isinstance(key, SequenceKey) and not key.sequence_set.last_result:
            resolve_message_numbers(key.sequence_set, message_count)


# --- evaluation ------------------------------------------------------------------------


@functools.lru_cache(maxsize=128)
def _resolved(sequence_set: SequenceSet, largest: int) -> Intervals:
    return sequence_set.resolve(largest)


def matches(keys: Sequence[SearchKey], subject: SearchSubject, context: SearchContext
            ) -> bool:
    """Whether ``subject`` matches all of ``keys`` (RFC 9051 §6.4.4: "When multiple keys
    are specified, the result is the intersection (AND function) of all the messages
    that match those keys")."""
    return all(_matches(key, subject, context) for key in keys)


def _matches(key: SearchKey, subject: SearchSubject, context: SearchContext) -> bool:
    match key:
        case SimpleKey(name=name):
            return _simple(name, subject)
        case TextKey(name=TextKeyName.BODY, value=value):
            return fold(value) in subject.folded_body
        case TextKey(name=TextKeyName.TEXT, value=value):
            return fold(value) in subject.folded_text
        case TextKey(name=name, value=value):
            return _in_field(subject, _FIELD_OF[name], value)
        case HeaderKey(field_name=field_name, value=value):
            return _in_field(subject, field_name.lower(), value)
        case KeywordKey(keyword=keyword, present=present):
            # RFC 9051 §6.4.4 KEYWORD/UNKEYWORD, case-insensitive (module notes).
            return (keyword.lower() in subject.folded_flags) == present
        case DateKey(name=name, date=day):
            return _date(name, day, subject)
        case SizeKey(name=SizeKeyName.LARGER, size=size):
            return subject.size > size      # "RFC822.SIZE larger than the specified number"
        case SizeKey(name=SizeKeyName.SMALLER, size=size):
            return subject.size < size
        case SequenceKey(sequence_set=sequence_set):
            if sequence_set.last_result:
                return subject.uid in context.saved_uids
            return subject.msn in _resolved(sequence_set, context.message_count)
        case UidKey(sequence_set=sequence_set):
            if sequence_set.last_result:
                return subject.uid in context.saved_uids
            return subject.uid in _resolved(sequence_set, context.max_uid)
        case ModSeqKey(modseq=modseq):
            return subject.modseq >= modseq
        case NotKey(key=inner):
            return not _matches(inner, subject, context)
        case OrKey(left=left, right=right):
            return _matches(left, subject, context) or _matches(right, subject, context)
        case GroupKey(keys=inner_keys):
            return matches(inner_keys, subject, context)
    raise TypeError(f"not a search key: {key!r}")  # pragma: no cover


def _simple(name: SimpleKeyName, subject: SearchSubject) -> bool:
    if name is SimpleKeyName.ALL:
        return True
    if name in _FLAG_KEYS:
        flag, present = _FLAG_KEYS[name]
        return (flag in subject.folded_flags) == present
    # RFC 3501 §6.4.4: RECENT "Messages that have the \Recent flag set"; NEW "equivalent to
    # (RECENT UNSEEN)"; OLD "equivalent to NOT RECENT".
    if name is SimpleKeyName.RECENT:
        return subject.recent
    if name is SimpleKeyName.NEW:
        return subject.recent and "\\seen" not in subject.folded_flags
    if name is SimpleKeyName.OLD:
        return not subject.recent
    raise TypeError(f"not a simple search key: {name!r}")  # pragma: no cover


def _in_field(subject: SearchSubject, field_name: str, value: str) -> bool:
    needle = fold(value)
    return any(needle in found for found in subject.folded_fields.get(field_name, ()))


def _date(name: DateKeyName, day: date, subject: SearchSubject) -> bool:
    if name in _SENT:
        sent = subject.sent_date
        if sent is None:
            return False
        compared = sent
    else:
        # "internal date (disregarding time and timezone)": the date in its own zone.
        compared = subject.internal_date.date()
    if name in (DateKeyName.BEFORE, DateKeyName.SENTBEFORE):
        return compared < day           # "earlier than the specified date"
    if name in (DateKeyName.ON, DateKeyName.SENTON):
        return compared == day          # "within the specified date"
    return compared >= day              # SINCE: "within or later than the specified date"


# --- responses -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SearchMatch:
    """A message that matched: its number, UID and mod-sequence."""

    msn: int
    uid: int
    modseq: int = 0


@dataclass(frozen=True, slots=True)
class SearchOutcome:
    """What the session sends (``responses``: none or one, before the tagged OK) and the
    new value of the search result variable as UIDs (``saved_uids``; None when the
    command had no SAVE, so "$" is unchanged: RFC 9051 §6.4.4.1 "a successful SEARCH
    command with no SAVE result option" MUST NOT change it)."""

    responses: tuple[EsearchData | SearchData, ...]
    saved_uids: Intervals | None = None


def search_response(command: Search, found: Sequence[SearchMatch], *, rev2: bool
                    ) -> SearchOutcome:
    """The response to ``command`` that found ``found``.

    Without RETURN an IMAP4rev1 client gets the untagged SEARCH response (RFC 3501
    §7.2.5), an IMAP4rev2 session ESEARCH (RFC 9051 §6.4.4: "If no result option is
    specified or empty list of options is specified as "()", ALL is assumed"). With
    RETURN: one ESEARCH (RFC 4731 §3.1 "MUST return a single ESEARCH response").
    """
    ordered = sorted(found, key=lambda match: match.msn)
    numbers = [match.uid if command.uid else match.msn for match in ordered]
    with_modseq = uses_modseq(command.keys) and bool(ordered)
    if command.return_options is None and not rev2:
        # RFC 7162 §3.1.6: "the server MUST also append (to the end of the untagged
        # SEARCH response) the highest mod-sequence for all messages being returned".
        modseq = max(match.modseq for match in ordered) if with_modseq else None
        return SearchOutcome((SearchData(tuple(numbers), modseq),))
    options = frozenset(command.return_options or ()) or frozenset({SearchReturnOption.ALL})
    want_min = SearchReturnOption.MIN in options
    want_max = SearchReturnOption.MAX in options
    want_all = SearchReturnOption.ALL in options
    want_count = SearchReturnOption.COUNT in options
    first, last = (ordered[0], ordered[-1]) if ordered else (None, None)

    saved: Intervals | None = None
    if SearchReturnOption.SAVE in options:
        # RFC 9051 §6.4.4.1 Table 4: SAVE MIN -> MIN, SAVE MAX -> MAX, SAVE MIN MAX ->
        # MIN & MAX, SAVE with ALL and/or COUNT (or alone) -> all found messages.
        kept = ordered
        if (want_min or want_max) and not (want_all or want_count):
            kept = [m for m in (first if want_min else None, last if want_max else None)
                    if m is not None]
        saved = Intervals.of(match.uid for match in kept)
        if options == {SearchReturnOption.SAVE}:
            # §6.4.4 SAVE: "In absence of any other SEARCH result option, the SAVE result
            # option also suppresses any ESEARCH response".
            return SearchOutcome((), saved)

    modseq = None
    if with_modseq:
        # RFC 4731 §3.2: "If the SEARCH/UID SEARCH command contained a single MIN or MAX
        # result option, the MODSEQ result option contains the mod-sequence for the found
        # message. If ... both MIN and MAX result options and no ALL/COUNT option, ...
        # the highest mod-sequence for the two returned messages. Otherwise ... the
        # highest mod-sequence for all messages being returned."
        returned = ordered
        if (want_min or want_max) and not (want_all or want_count):
            returned = [m for m in (first if want_min else None, last if want_max else None)
                        if m is not None]
        modseq = max(match.modseq for match in returned)
    # §6.4.4: with no match the server "MUST NOT include" MIN, MAX, ALL; COUNT "MUST
    # always be included".
    response = EsearchData(
        tag=command.tag, uid=command.uid,
        min=numbers[0] if want_min and numbers else None,
        max=numbers[-1] if want_max and numbers else None,
        all=SequenceSet.from_numbers(numbers) if want_all and numbers else None,
        count=len(numbers) if want_count else None,
        modseq=modseq)
    return SearchOutcome((response,), saved)

