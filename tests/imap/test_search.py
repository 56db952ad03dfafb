"""SEARCH evaluation, full-text narrowing and responses (reference/imap/search.py) against
RFC 9051 §6.4.4, RFC 3501 §6.4.4 (NEW/OLD/RECENT), RFC 4731 (ESEARCH), RFC 5182 (SAVE, "$")
and RFC 7162 §3.1.5 (MODSEQ)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz.strategies import messages
from reference.imap.capabilities import Modes
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
from reference.imap.search import (
    SearchContext,
    SearchMatch,
    SearchSubject,
    TextChecks,
    check_sequence_numbers,
    fold,
    fts_substrings,
    index_text,
    matches,
    search_needs_message,
    search_needs_text,
    search_response,
    text_checks,
    uses_modseq,
)
from reference.imap.sequence_sets import Intervals, SequenceSet, SequenceSetError
from reference.imap.serializer import write_response
from reference.message import text
from reference.message.mime import parse_message
from reference.message.text import index_texts
from tests.message import corpus

EST = timezone(timedelta(hours=-5))
# 23:30 in New York on 1 January is already 2 January in UTC.
LATE_EVENING = datetime(2024, 1, 1, 23, 30, tzinfo=EST)

ENCODED = (b"Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\r\n"
           b"From: =?ISO-8859-1?Q?Andr=E9?= Pirard <pirard@example.test>\r\n"
           b"To: Team <team@example.test>\r\n"
           b"Cc: copy@example.test\r\n"
           b"Bcc: hidden@example.test\r\n"
           b"Subject: =?utf-8?q?Caf=C3=A9?= STRASSE minutes\r\n"
           b"X-Empty:\r\n"
           b"Content-Type: text/plain; charset=utf-8\r\n"
           b"Content-Transfer-Encoding: quoted-printable\r\n"
           b"\r\n"
           b"Gr=C3=BC=C3=9Fe aus der Stra=C3=9Fe, unique-body-word\r\n")


def subject(raw: bytes | None = ENCODED, *, msn: int = 1, uid: int = 10,
            flags: Sequence[str] = (), modseq: int = 5, size: int | None = None,
            internal_date: datetime = LATE_EVENING, recent: bool = False) -> SearchSubject:
    return SearchSubject(msn=msn, uid=uid, flags=frozenset(flags), modseq=modseq,
                         size=len(raw or b"") if size is None else size,
                         internal_date=internal_date, recent=recent, raw=raw,
                         parsed=None if raw is None else parse_message(raw))


CONTEXT = SearchContext(message_count=3, max_uid=30)


def hit(*keys: SearchKey, on: SearchSubject | None = None,
        context: SearchContext = CONTEXT) -> bool:
    return matches(keys, subject() if on is None else on, context)


# --- flags, sizes, numbers ---------------------------------------------------------------


@pytest.mark.parametrize(("name", "flag"), [
    (SimpleKeyName.ANSWERED, "\\Answered"), (SimpleKeyName.DELETED, "\\Deleted"),
    (SimpleKeyName.DRAFT, "\\Draft"), (SimpleKeyName.FLAGGED, "\\Flagged"),
    (SimpleKeyName.SEEN, "\\Seen"),
])
def test_flag_keys(name: SimpleKeyName, flag: str) -> None:
    """RFC 9051 §6.4.4: ANSWERED/DELETED/DRAFT/FLAGGED/SEEN "Messages with the ... flag
    set", UN* "Messages that do not have the ... flag set"."""
    negated = SimpleKeyName("UN" + name.value)
    with_flag = subject(None, flags=(flag,))
    without = subject(None, flags=("\\Recent-not-a-flag",))
    assert hit(SimpleKey(name), on=with_flag) and not hit(SimpleKey(negated), on=with_flag)
    assert not hit(SimpleKey(name), on=without) and hit(SimpleKey(negated), on=without)
    # flags compare case-insensitively, as the store keeps them
    assert hit(SimpleKey(name), on=subject(None, flags=(flag.upper(),)))


def test_all_keyword_unkeyword() -> None:
    """RFC 9051 §6.4.4: ALL "All messages in the mailbox"; KEYWORD "Messages with the
    specified keyword flag set"; UNKEYWORD "do not have"."""
    tagged = subject(None, flags=("$Forwarded",))
    assert hit(SimpleKey(SimpleKeyName.ALL), on=subject(None))
    assert hit(KeywordKey("$forwarded"), on=tagged)
    assert not hit(KeywordKey("$forwarded", present=False), on=tagged)
    assert hit(KeywordKey("$Junk", present=False), on=tagged)
    assert not hit(KeywordKey("$Junk"), on=tagged)


def test_larger_smaller_are_strict() -> None:
    """RFC 9051 §6.4.4: LARGER "RFC822.SIZE larger than", SMALLER "smaller than"."""
    sized = subject(None, size=100)
    assert hit(SizeKey(SizeKeyName.LARGER, 99), on=sized)
    assert not hit(SizeKey(SizeKeyName.LARGER, 100), on=sized)
    assert hit(SizeKey(SizeKeyName.SMALLER, 101), on=sized)
    assert not hit(SizeKey(SizeKeyName.SMALLER, 100), on=sized)


def test_sequence_and_uid_sets_with_star() -> None:
    """RFC 9051 §6.4.4 <sequence set> and UID <sequence set>; §9 seq-number: "*" is the
    number of messages / the largest UID; a range runs "regardless of order"."""
    third = subject(None, msn=3, uid=30)
    assert hit(SequenceKey(SequenceSet.of(("*", 2))), on=third)
    assert not hit(SequenceKey(SequenceSet.of(1, 2)), on=third)
    assert hit(UidKey(SequenceSet.of((40, "*"))), on=third)     # 30:40
    assert not hit(UidKey(SequenceSet.of((1, 29))), on=third)


def test_saved_result_dollar() -> None:
    """RFC 5182 / RFC 9051 §6.4.4.1: "$" stands for the saved search result, in SEARCH and
    UID SEARCH alike; an empty one is "a valid, but non-matching, list"."""
    dollar = SequenceSet(last_result=True)
    context = SearchContext(3, 30, saved_uids=Intervals.of([10, 30]))
    assert hit(SequenceKey(dollar), on=subject(None, uid=10), context=context)
    assert hit(UidKey(dollar), on=subject(None, uid=30), context=context)
    assert not hit(SequenceKey(dollar), on=subject(None, uid=20), context=context)
    assert not hit(UidKey(dollar), on=subject(None, uid=10))


def test_message_numbers_beyond_the_mailbox() -> None:
    """RFC 9051 §9 seq-number: "The server should respond with a tagged BAD response to a
    command that uses a message sequence number greater than the number of messages";
    "$" is always valid."""
    check_sequence_numbers([SequenceKey(SequenceSet.of((1, "*")))], 3)
    check_sequence_numbers([NotKey(SequenceKey(SequenceSet(last_result=True)))], 0)
    with pytest.raises(SequenceSetError):
        check_sequence_numbers([OrKey(SimpleKey(SimpleKeyName.ALL),
                                      SequenceKey(SequenceSet.of(4)))], 3)


def test_not_or_and_groups() -> None:
    """RFC 9051 §6.4.4: NOT "do not match", OR "match either", keys ANDed, a
    parenthesised list is one key."""
    seen = subject(None, flags=("\\Seen",))
    yes, no = SimpleKey(SimpleKeyName.SEEN), SimpleKey(SimpleKeyName.DELETED)
    assert hit(OrKey(no, yes), on=seen) and not hit(OrKey(no, no), on=seen)
    assert hit(NotKey(no), on=seen) and not hit(NotKey(yes), on=seen)
    assert not hit(yes, no, on=seen) and hit(yes, NotKey(no), on=seen)
    assert hit(GroupKey((yes, NotKey(no))), on=seen)
    assert not hit(GroupKey((yes, no)), on=seen)


def test_modseq_key() -> None:
    """RFC 7162 §3.1.5: MODSEQ: "Messages that have modification values that are equal
    to or greater than <mod-sequence-valzer>"; entry names are ignored ("MUST ignore
    <entry-name> and <entry-type-req>" without per-item mod-sequences)."""
    message = subject(None, modseq=620)
    assert hit(ModSeqKey(620), on=message) and hit(ModSeqKey(0), on=message)
    assert not hit(ModSeqKey(621), on=message)
    assert hit(ModSeqKey(600, "/flags/\\draft", "all"), on=message)


def test_new_old_recent() -> None:
    """RFC 3501 §6.4.4: RECENT "\\Recent flag set", NEW "equivalent to (RECENT UNSEEN)",
    OLD "equivalent to NOT RECENT"."""
    fresh = subject(None, recent=True)
    read = subject(None, recent=True, flags=("\\Seen",))
    old = subject(None)
    new, old_key, recent = (SimpleKey(SimpleKeyName.NEW), SimpleKey(SimpleKeyName.OLD),
                            SimpleKey(SimpleKeyName.RECENT))
    assert [hit(key, on=fresh) for key in (new, old_key, recent)] == [True, False, True]
    assert [hit(key, on=read) for key in (new, old_key, recent)] == [False, False, True]
    assert [hit(key, on=old) for key in (new, old_key, recent)] == [False, True, False]


# --- dates -------------------------------------------------------------------------------


def test_internal_date_in_its_own_zone() -> None:
    """RFC 9051 §6.4.4: BEFORE / ON / SINCE compare the "internal date (disregarding time
    and timezone)": 23:30 -0500 on 1 January is ON 1 January (2 January in UTC)."""
    message = subject(None)
    jan1, jan2 = date(2024, 1, 1), date(2024, 1, 2)
    assert hit(DateKey(DateKeyName.ON, jan1), on=message)
    assert not hit(DateKey(DateKeyName.ON, jan2), on=message)
    assert hit(DateKey(DateKeyName.BEFORE, jan2), on=message)
    assert not hit(DateKey(DateKeyName.BEFORE, jan1), on=message)    # "earlier than"
    assert hit(DateKey(DateKeyName.SINCE, jan1), on=message)         # "within or later"
    assert not hit(DateKey(DateKeyName.SINCE, jan2), on=message)


def test_sent_dates_use_the_date_field() -> None:
    """RFC 9051 §6.4.4: SENTBEFORE / SENTON / SENTSINCE compare the "[RFC5322] Date:
    header field (disregarding time and timezone)": the date as written."""
    day = date(1996, 7, 17)
    assert hit(DateKey(DateKeyName.SENTON, day))
    assert not hit(DateKey(DateKeyName.SENTON, date(1996, 7, 16)))
    assert hit(DateKey(DateKeyName.SENTBEFORE, date(1996, 7, 18)))
    assert not hit(DateKey(DateKeyName.SENTBEFORE, day))
    assert hit(DateKey(DateKeyName.SENTSINCE, day))
    assert not hit(DateKey(DateKeyName.SENTSINCE, date(1996, 7, 18)))
    # the internal date is not the sent date
    assert not hit(DateKey(DateKeyName.SENTON, date(2024, 1, 1)))


@pytest.mark.parametrize("raw", [corpus.SIMPLE_TEXT,
                                 b"Date: 31 Feb 2020 10:00 +0000\r\n\r\nx\r\n",
                                 b"Date: yesterday\r\n\r\nx\r\n"])
def test_no_sent_date_matches_no_sent_key(raw: bytes) -> None:
    """RFC 9051 §6.4.4 SENT* need a Date: field; without one that parses to a calendar
    date there is nothing to compare, so no SENT* key matches (NOT SENTON does)."""
    message = subject(raw)
    for name in (DateKeyName.SENTBEFORE, DateKeyName.SENTON, DateKeyName.SENTSINCE):
        assert not hit(DateKey(name, date(2020, 2, 28)), on=message)
    assert hit(NotKey(DateKey(DateKeyName.SENTON, date(2020, 2, 28))), on=message)


# --- strings -----------------------------------------------------------------------------


@pytest.mark.parametrize(("key", "expected"), [
    (TextKey(TextKeyName.FROM, "andré"), True),            # RFC 2047 decoded
    (TextKey(TextKeyName.FROM, "PIRARD@EXAMPLE"), True),
    (TextKey(TextKeyName.FROM, "=?ISO"), False),
    (TextKey(TextKeyName.SUBJECT, "café strasse"), True),
    (TextKey(TextKeyName.SUBJECT, "Straße"), True),        # Unicode case folding
    (TextKey(TextKeyName.TO, "team@"), True),
    (TextKey(TextKeyName.TO, "copy"), False),
    (TextKey(TextKeyName.CC, "Copy@"), True),
    (TextKey(TextKeyName.BCC, "hidden"), True),
    (HeaderKey("content-TYPE", "CHARSET=UTF-8"), True),
    (HeaderKey("X-Empty", ""), True),                      # presence
    (HeaderKey("X-Missing", ""), False),
    (HeaderKey("Subject", "Content-Type"), False),
    (TextKey(TextKeyName.SUBJECT, ""), True),
])
def test_header_keys(key: SearchKey, expected: bool) -> None:
    """RFC 9051 §6.4.4: FROM/TO/CC/BCC/SUBJECT and HEADER match a substring of the field
    value, case-insensitively (SHOULD), after RFC 2047 decoding (MUST: "[MIME-HDRS]
    strings ... MUST be decoded before comparing text"); HEADER with an empty string
    "matches all messages that have a header field with the specified field-name"."""
    assert hit(key) is expected


def test_utf8_header_values() -> None:
    """RFC 6532 §3.2: UTF-8 in field values is text; SUBJECT finds it directly."""
    raw = "Subject: Grüße\r\nFrom: jürgen@example.test\r\n\r\nhi\r\n".encode()
    assert hit(TextKey(TextKeyName.SUBJECT, "GRÜSSE"), on=subject(raw))
    assert hit(TextKey(TextKeyName.FROM, "Jürgen"), on=subject(raw))


def test_body_and_text() -> None:
    """RFC 9051 §6.4.4: BODY looks in "the body of the message. Unlike TEXT ..., this
    doesn't match any header fields"; TEXT in "the header ... or body"; content transfer
    encodings "MUST be decoded before comparing text"."""
    assert hit(TextKey(TextKeyName.BODY, "grüße aus der strasse"))
    assert hit(TextKey(TextKeyName.BODY, "UNIQUE-BODY"))
    assert not hit(TextKey(TextKeyName.BODY, "=C3"))
    assert not hit(TextKey(TextKeyName.BODY, "Pirard"))
    assert hit(TextKey(TextKeyName.TEXT, "Pirard"))
    assert hit(TextKey(TextKeyName.TEXT, "unique-body-word"))
    assert hit(TextKey(TextKeyName.BODY, ""))
    assert not hit(TextKey(TextKeyName.TEXT, "not in there"))


def test_body_of_multipart_and_forwarded_message() -> None:
    """RFC 9051 §6.4.4 BODY: every text part, decoded (MIXED's quoted-printable part);
    the header of an encapsulated message is part of the body (FORWARDED)."""
    assert hit(TextKey(TextKeyName.BODY, "hello É"), on=subject(corpus.MIXED))
    assert not hit(TextKey(TextKeyName.BODY, "report"), on=subject(corpus.MIXED))
    assert hit(TextKey(TextKeyName.BODY, "Café minutes"), on=subject(corpus.FORWARDED))


def test_what_needs_the_message() -> None:
    """The session reads raw bytes and structure only for keys that look into the
    message's fields (header, sent-date keys), wherever they are nested; BODY and TEXT
    need the stored search text, or the message to make it."""
    assert not search_needs_message([SimpleKey(SimpleKeyName.SEEN), SizeKey(
        SizeKeyName.LARGER, 3), DateKey(DateKeyName.SINCE, date(2020, 1, 1))])
    assert search_needs_message([NotKey(OrKey(SimpleKey(SimpleKeyName.SEEN),
                                              HeaderKey("X", "")))])
    assert search_needs_message([GroupKey((DateKey(DateKeyName.SENTON, date(2020, 1, 1)),))])
    assert search_needs_message([TextKey(TextKeyName.SUBJECT, "x")])
    body = TextKey(TextKeyName.BODY, "x")
    assert not search_needs_message([body]) and search_needs_text([NotKey(body)])
    assert not search_needs_text([TextKey(TextKeyName.FROM, "x")])
    with pytest.raises(ValueError, match="need the message"):
        matches([body], subject(None), CONTEXT)


def test_body_and_text_are_decided_from_the_stored_text() -> None:
    """RFC 9051 §6.4.4 BODY / TEXT from the texts kept at delivery (index_texts): the
    same answer as from the message, and no message needed."""
    raw = (b"Subject: Greetings\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
           b"Stra\xc3\x9fe am See\r\n")
    stored = index_texts(raw, parse_message(raw))
    bare = replace(subject(None), stored_text=stored)
    for key, expected in ((TextKey(TextKeyName.BODY, "STRASSE"), True),
                          (TextKey(TextKeyName.BODY, "greetings"), False),
                          (TextKey(TextKeyName.TEXT, "greetings"), True)):
        assert matches([key], bare, CONTEXT) is expected
        assert matches([key], subject(raw), CONTEXT) is expected


# --- full-text narrowing -----------------------------------------------------------------


def test_fts_substrings_only_from_the_top_level_and() -> None:
    """RFC 9051 §6.4.4: keys are ANDed, so every match contains each top-level string;
    under NOT or OR it need not. Strings are folded like the indexed text."""
    keys: list[SearchKey] = [
        TextKey(TextKeyName.BODY, "Straße"), TextKey(TextKeyName.TEXT, "Hello"),
        GroupKey((TextKey(TextKeyName.SUBJECT, "Inner"), HeaderKey("X-A", "b"))),
        NotKey(TextKey(TextKeyName.BODY, "never")),
        OrKey(TextKey(TextKeyName.BODY, "left"), TextKey(TextKeyName.BODY, "right")),
        TextKey(TextKeyName.BODY, ""), TextKey(TextKeyName.TEXT, "HELLO")]
    assert fts_substrings(keys) == ["strasse", "hello", "inner", "b"]
    assert fts_substrings([SimpleKey(SimpleKeyName.ALL)]) == []


_KEY_NAMES = [TextKeyName.BODY, TextKeyName.TEXT, TextKeyName.SUBJECT, TextKeyName.FROM,
              TextKeyName.TO, TextKeyName.CC]


@st.composite
def search_cases(draw: st.DrawFn) -> tuple[list[bytes], list[SearchKey]]:
    raws = draw(st.lists(messages.messages(utf8=True, max_leaves=3), min_size=1, max_size=4))
    texts = [text.search_text(raw, parse_message(raw)) for raw in raws]

    def needles() -> st.SearchStrategy[str]:
        pick = st.integers(0, len(texts) - 1).flatmap(lambda index: st.tuples(
            st.just(texts[index]), st.integers(0, len(texts[index])), st.integers(0, 12)))
        from_text = pick.map(lambda t: t[0][t[1]:t[1] + t[2]])
        cased = st.tuples(from_text, st.booleans()).map(
            lambda pair: pair[0].upper() if pair[1] else pair[0].swapcase())
        return st.one_of(from_text, cased, st.text(max_size=4), st.just("ß"), st.just("SS"))

    leaf = st.one_of(
        st.builds(TextKey, st.sampled_from(_KEY_NAMES), needles()),
        st.builds(HeaderKey, st.sampled_from(["Subject", "from", "CONTENT-TYPE", "X-No"]),
                  needles()),
        st.just(SimpleKey(SimpleKeyName.ALL)))
    tree = st.recursive(leaf, lambda inner: st.one_of(
        st.builds(NotKey, inner), st.builds(OrKey, inner, inner),
        st.lists(inner, min_size=1, max_size=3).map(lambda keys: GroupKey(tuple(keys)))),
        max_leaves=6)
    return raws, draw(st.lists(tree, min_size=1, max_size=4))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(search_cases())
def test_narrowing_then_matching_equals_a_scan(case: tuple[list[bytes], list[SearchKey]]
                                               ) -> None:
    """Store contract (search_candidates "a superset of the UIDs whose search_text
    contains every one of substrings"): narrowing by ``fts_substrings`` and checking with
    ``matches`` finds exactly what a scan finds — the narrowing never loses a match."""
    raws, keys = case
    subjects = [subject(raw, msn=index + 1, uid=index + 1) for index, raw in enumerate(raws)]
    context = SearchContext(len(raws), len(raws))
    scan = [s.uid for s in subjects if matches(keys, s, context)]
    needles = fts_substrings(keys)
    # The index: case-insensitive substring containment on the text it was fed.
    indexed = {s.uid: index_text(s.raw or b"", s.parsed) for s in subjects
               if s.parsed is not None}
    candidates = {uid for uid, stored in indexed.items()
                  if all(needle in stored for needle in needles)}
    narrowed = [s.uid for s in subjects if s.uid in candidates and matches(keys, s, context)]
    assert narrowed == scan


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages.messages(utf8=True))
def test_indexed_text_covers_what_string_keys_look_in(raw: bytes) -> None:
    """The text the full-text index is fed (``index_text``, the folded
    ``text.search_text``) contains the body text BODY looks in and every header value the
    header keys look in, so narrowing by their strings is sound."""
    message = subject(raw)
    stored = index_text(raw, parse_message(raw))
    assert message.folded_body in stored
    assert message.folded_text == stored
    for values in message.folded_fields.values():
        for value in values:
            assert value in stored


def test_fold_keeps_length_changing_folds_consistent() -> None:
    """RFC 9051 §6.4.4 SHOULD ignore case: "STRASSE" finds "Straße" through the index and
    the exact check alike (full case folding on both sides)."""
    assert fold("Straße") == fold("STRASSE")
    raw = "Subject: x\r\n\r\nStraße\r\n".encode()
    (needle,) = fts_substrings([TextKey(TextKeyName.BODY, "STRASSE")])
    assert needle in index_text(raw, parse_message(raw))
    assert hit(TextKey(TextKeyName.BODY, "STRASSE"), on=subject(raw))


# --- responses ---------------------------------------------------------------------------


FOUND = [SearchMatch(2, 20, 7), SearchMatch(10, 100, 9), SearchMatch(11, 110, 8)]
FLAGGED: tuple[SearchKey, ...] = (SimpleKey(SimpleKeyName.FLAGGED),)


def search(options: tuple[SearchReturnOption, ...] | None, *, uid: bool = False,
           keys: tuple[SearchKey, ...] = FLAGGED) -> Search:
    return Search("A283", keys, return_options=options, uid=uid)


def wire(response: EsearchData | SearchData, rev2: bool = True) -> bytes:
    modes = Modes(enabled=frozenset({"IMAP4REV2"}) if rev2 else frozenset())
    return write_response(response, modes)


def test_rev1_search_response() -> None:
    """RFC 3501 §7.2.5: without RETURN an IMAP4rev1 client gets "* SEARCH" with the
    numbers (UIDs for UID SEARCH), and with none "* SEARCH" alone."""
    outcome = search_response(search(None), FOUND, rev2=False)
    assert outcome.responses == (SearchData((2, 10, 11)),) and outcome.saved_uids is None
    assert wire(outcome.responses[0], rev2=False) == b"* SEARCH 2 10 11\r\n"
    uids = search_response(search(None, uid=True), FOUND, rev2=False)
    assert uids.responses == (SearchData((20, 100, 110)),)
    assert search_response(search(None), [], rev2=False).responses == (SearchData(()),)


def test_rev1_search_with_modseq() -> None:
    """RFC 7162 §3.1.5 MUST: with a MODSEQ criterion and a non-empty result, "append ...
    the highest mod-sequence for all messages being returned"; none when empty."""
    keys: tuple[SearchKey, ...] = (NotKey(ModSeqKey(3)),)
    assert uses_modseq(keys)
    outcome = search_response(search(None, keys=keys), FOUND, rev2=False)
    assert outcome.responses == (SearchData((2, 10, 11), 9),)
    assert wire(outcome.responses[0], rev2=False) == b"* SEARCH 2 10 11 (MODSEQ 9)\r\n"
    empty = search_response(search(None, keys=keys), [], rev2=False)
    assert empty.responses == (SearchData((), None),)


def test_rev2_and_empty_return_mean_all() -> None:
    """RFC 9051 §6.4.4: "If no result option is specified or empty list of options is
    specified as "()", ALL is assumed"; ALL uses sequence-set syntax: "ALL 2,10:11"."""
    for outcome in (search_response(search(None), FOUND, rev2=True),
                    search_response(search(()), FOUND, rev2=False)):
        (response,) = outcome.responses
        assert response == EsearchData(tag="A283", all=SequenceSet.of(2, (10, 11)))
        assert wire(response) == b'* ESEARCH (TAG "A283") ALL 2,10:11\r\n'


def test_min_max_count_and_uid_indicator() -> None:
    """RFC 9051 §6.4.4 / RFC 4731 §3.1: MIN, MAX, COUNT; "An extended UID SEARCH command
    MUST cause an ESEARCH response with the UID indicator present"."""
    options = (SearchReturnOption.MIN, SearchReturnOption.MAX, SearchReturnOption.COUNT)
    (response,) = search_response(search(options, uid=True), FOUND, rev2=True).responses
    assert response == EsearchData(tag="A283", uid=True, min=20, max=110, count=3)
    assert wire(response) == b'* ESEARCH (TAG "A283") UID MIN 20 MAX 110 COUNT 3\r\n'


def test_empty_result_omits_min_max_all() -> None:
    """RFC 9051 §6.4.4 MUST NOT: with no matches MIN, MAX and ALL are left out, "however,
    it still MUST send the ESEARCH response"; COUNT "MUST always be included"."""
    every = (SearchReturnOption.MIN, SearchReturnOption.MAX, SearchReturnOption.ALL,
             SearchReturnOption.COUNT)
    (response,) = search_response(search(every), [], rev2=True).responses
    assert response == EsearchData(tag="A283", count=0)
    (bare,) = search_response(search(None), [], rev2=True).responses
    assert wire(bare) == b'* ESEARCH (TAG "A283")\r\n'


@pytest.mark.parametrize(("options", "saved", "sent"), [
    ((SearchReturnOption.SAVE,), [20, 100, 110], False),
    ((SearchReturnOption.SAVE, SearchReturnOption.MIN), [20], True),
    ((SearchReturnOption.SAVE, SearchReturnOption.MAX), [110], True),
    ((SearchReturnOption.SAVE, SearchReturnOption.MIN, SearchReturnOption.MAX), [20, 110],
     True),
    ((SearchReturnOption.SAVE, SearchReturnOption.MIN, SearchReturnOption.COUNT),
     [20, 100, 110], True),
    ((SearchReturnOption.SAVE, SearchReturnOption.ALL), [20, 100, 110], True),
])
def test_save(options: tuple[SearchReturnOption, ...], saved: list[int], sent: bool) -> None:
    """RFC 9051 §6.4.4.1 Table 4 (RFC 5182 §2.4): SAVE MIN -> MIN, SAVE MAX -> MAX, SAVE
    MIN MAX -> both, SAVE with ALL/COUNT -> all found; §6.4.4 "In absence of any other
    SEARCH result option, the SAVE result option also suppresses any ESEARCH response"."""
    outcome = search_response(search(options), FOUND, rev2=True)
    assert outcome.saved_uids == Intervals.of(saved)
    assert bool(outcome.responses) is sent


def test_save_of_nothing_saves_the_empty_set() -> None:
    """RFC 9051 §6.4.4.1: "if no messages were found, the search result variable will
    contain the empty sequence"; a SEARCH without SAVE leaves it as it is (None)."""
    assert search_response(search((SearchReturnOption.SAVE,)), [], rev2=True
                           ).saved_uids == Intervals()
    assert search_response(search(None), FOUND, rev2=True).saved_uids is None


@pytest.mark.parametrize(("options", "modseq"), [
    ((SearchReturnOption.MIN,), 7),
    ((SearchReturnOption.MAX,), 8),
    ((SearchReturnOption.MIN, SearchReturnOption.MAX), 8),
    ((SearchReturnOption.MIN, SearchReturnOption.COUNT), 9),
    ((SearchReturnOption.ALL,), 9),
])
def test_esearch_modseq(options: tuple[SearchReturnOption, ...], modseq: int) -> None:
    """RFC 4731 §3.2 / RFC 7162 §3.1.10 MUST: with a MODSEQ criterion, a single MIN or MAX
    gives that message's mod-sequence, MIN and MAX the higher of the two, otherwise the
    highest of all messages returned."""
    keys: tuple[SearchKey, ...] = (ModSeqKey(1),)
    (response,) = search_response(search(options, keys=keys), FOUND, rev2=True).responses
    assert isinstance(response, EsearchData) and response.modseq == modseq
    (empty,) = search_response(search(options, keys=keys), [], rev2=True).responses
    assert isinstance(empty, EsearchData) and empty.modseq is None


def test_esearch_without_modseq_key_has_none() -> None:
    """RFC 4731 §3.2: MODSEQ return data comes with the MODSEQ criterion only."""
    (response,) = search_response(search(()), FOUND, rev2=True).responses
    assert isinstance(response, EsearchData) and response.modseq is None


def test_matching_order_does_not_matter() -> None:
    """RFC 9051 §6.4.4 ALL: "the client MUST NOT assume that messages/UIDs will be listed
    in any particular order" — the session may collect matches in any order; MIN/MAX
    are still the lowest and highest."""
    options = (SearchReturnOption.MIN, SearchReturnOption.MAX)
    (response,) = search_response(search(options), list(reversed(FOUND)), rev2=True).responses
    assert response == EsearchData(tag="A283", min=2, max=11)


def test_subject_with_aware_utc_date() -> None:
    """BEFORE / ON / SINCE on a UTC internal date use the UTC calendar date."""
    message = subject(None, internal_date=datetime(2024, 1, 2, 0, 30, tzinfo=UTC))
    assert hit(DateKey(DateKeyName.ON, date(2024, 1, 2)), on=message)


# --- TEXT and the MIME header fields of body parts ------------------------------------------


@pytest.mark.parametrize(("raw", "needle"), [
    (corpus.MIXED, "application/pdf"),                 # Content-Type of part 2
    (corpus.MIXED, 'name="report.pdf"'),
    (corpus.MIXED, "<part2@example.test>"),            # Content-ID
    (corpus.MIXED, "The report"),                      # Content-Description
    (corpus.MIXED, "quoted-printable"),                # Content-Transfer-Encoding of part 1
    (corpus.MIXED, "résumé 2024.pdf"),                 # RFC 2231 filename, decoded
    (corpus.ALTERNATIVE_IN_MIXED, "format=flowed"),    # nested two deep
    (corpus.ALTERNATIVE_IN_MIXED, "filename=dot.png"),
    (corpus.FORWARDED, "Content-Type: message/rfc822"),
])
def test_text_matches_mime_header_fields_of_body_parts(raw: bytes, needle: str) -> None:
    """RFC 9051 §6.4.4 TEXT: "Messages that contain the specified string in the header
    (including MIME header fields) or body of the message": the MIME header of each body
    part (RFC 2045 §3, RFC 2046 §5.1.1 body-part headers) is in the body, and RFC 9051
    parses parameters "per RFCs 5322, 2045, and 2231" (§1 abstract), so an RFC 2231
    filename is found as it reads. The full-text index holds the same text, so narrowing
    keeps the message."""
    key = TextKey(TextKeyName.TEXT, needle)
    assert hit(key, on=subject(raw))
    (folded,) = fts_substrings([key])
    assert folded in index_text(raw, parse_message(raw))


def test_body_still_ignores_header_fields() -> None:
    """RFC 9051 §6.4.4 BODY: "Unlike TEXT ..., this doesn't match any header fields"
    (BODY keeps to the decoded text of the parts)."""
    assert not hit(TextKey(TextKeyName.BODY, "application/pdf"), on=subject(corpus.MIXED))
    assert not hit(TextKey(TextKeyName.TEXT, "application/zip"), on=subject(corpus.MIXED))


def test_text_checks_split_the_top_level_and() -> None:
    """The store may check the BODY/TEXT keys of the top-level AND (parenthesised groups
    are ANDs too, RFC 9051 §6.4.4); those under NOT or OR stay with the matcher."""
    flagged = SimpleKey(SimpleKeyName.FLAGGED)
    negated = NotKey(TextKey(TextKeyName.BODY, "no"))
    checks = text_checks([TextKey(TextKeyName.BODY, "Straße"),
                          GroupKey((TextKey(TextKeyName.TEXT, "HI"), flagged)), negated])
    assert (checks.body, checks.text) == (("strasse",), ("hi",))
    assert checks.rest == (flagged, negated)
    assert text_checks([flagged]) == TextChecks((), (), (flagged,))
