"""RFC 9051 §6.4.4 SEARCH (every kind of key against the known messages: flags, envelope
strings, BODY/TEXT/HEADER, sizes, dates, UID and sequence sets, NOT/OR/parentheses,
CHARSET), §6.4.9 UID SEARCH, and ESEARCH (§7.3.4, RFC 4731: RETURN (MIN MAX COUNT ALL)).

The mailbox (``loaded``): 1 SIMPLE (\\Flagged, 591 octets, sent and received 17-Jul-2023),
2 DEFAULTS (\\Seen, 277 octets, 18-Jul-2023), 3 MULTIPART (no flags, 1193 octets,
19-Jul-2023). A rev2 target answers in ESEARCH (after ENABLE IMAP4rev2), a rev1 target in
SEARCH; ``search_result`` reads either."""

from __future__ import annotations

import pytest

from conformance.drivers.imap import Completion, ImapDriver
from conformance.suites.imap import messages
from conformance.suites.imap.conftest import rev2_mode
from conformance.suites.imap.support import (
    Loaded,
    Scratch,
    code_of,
    expect_bad,
    expect_no,
    expect_ok,
    fetched,
    load,
    numbers_of,
    only,
    search_result,
    show,
)
from reference.imap.responses import Condition, EsearchData, SearchData

pytestmark = pytest.mark.protocol("imap")


def _search(loaded: Loaded, criteria: str, *, uid: bool = False) -> set[int]:
    command = f"{'UID ' if uid else ''}SEARCH {criteria}"
    return search_result(loaded.driver.command(command), command)


def _run(driver: ImapDriver, command: str) -> tuple[str, Completion]:
    tag, early = driver.start(command)
    return tag, early if early is not None else driver.finish(tag)


@pytest.mark.requirement(rfc=9051, section="6.4.4", level="MUST")
@pytest.mark.requirement(rfc=3501, section="6.4.4", level="MUST")
@pytest.mark.parametrize("criteria, expected", [
    ("ALL", {1, 2, 3}),
    ("FLAGGED", {1}),
    ("UNFLAGGED", {2, 3}),
    ("SEEN", {2}),
    ("UNSEEN", {1, 3}),
    ("SUBJECT Conformance", {1, 3}),
    ('SUBJECT "simple"', {1}),
    ("FROM ivy@example.org", {3}),
    ('TO "bob@example.net"', {1}),
    ("CC dave", {1}),
    ("BCC eve", {1}),
    ("BODY zebracorn", {1}),
    ("BODY quokka", {3}),
    ('BODY "Conformance simple"', set()),
    ("TEXT alpha-marker", {1}),
    ("TEXT zebracorn", {1}),
    ('HEADER X-Conformance "alpha"', {1}),
    ('HEADER X-Conformance ""', {1}),
    ('HEADER Message-ID "<multi.1@"', {3}),
    ("LARGER 1000", {3}),
    ("SMALLER 300", {2}),
    ("LARGER 277", {1, 3}),
    ("SMALLER 277", set()),
    ("NOT FLAGGED", {2, 3}),
    ("OR FLAGGED SEEN", {1, 2}),
    ("OR (SUBJECT simple) (FROM ivy)", {1, 3}),
    ("(FLAGGED UNSEEN)", {1}),
    ("UNSEEN SUBJECT Conformance", {1, 3}),
    ("NOT (OR FLAGGED SEEN)", {3}),
    ("2:*", {2, 3}),
    ("*", {3}),
    ("1,3", {1, 3}),
    ("3:2 UNSEEN", {3}),
    ("SENTON 18-Jul-2023", {2}),
    ("SENTBEFORE 18-Jul-2023", {1}),
    ("SENTSINCE 19-Jul-2023", {3}),
    ('SUBJECT "no such subject anywhere"', set()),
])
def test_search_key(loaded: Loaded, criteria: str, expected: set[int]) -> None:
    """§6.4.4: each search key as defined there ("When multiple keys are specified, the
    result is the intersection"; strings are substrings of the field; LARGER/SMALLER
    compare RFC822.SIZE strictly; SENT* the Date header's date)."""
    found = _search(loaded, criteria)
    assert found == expected, (
        f"SEARCH {criteria}: expected messages {sorted(expected)}, got {sorted(found)}")


@pytest.mark.requirement(rfc=9051, section="6.4.4", level="MUST")
@pytest.mark.parametrize("criteria, expected", [
    ("SINCE 18-Jul-2023", {2, 3}),
    ("BEFORE 18-Jul-2023", {1}),
    ("ON 18-Jul-2023", {2}),
])
def test_search_internal_date(loaded: Loaded, criteria: str, expected: set[int]) -> None:
    """§6.4.4 SINCE/BEFORE/ON: by the internal date "disregarding time and timezone". The
    messages were APPENDed with their dates (honoured: checked first, a SHOULD tested in
    test_append.py)."""
    views = fetched(expect_ok(loaded.driver.command("FETCH 1:3 (INTERNALDATE)"),
                              "FETCH INTERNALDATE"))
    for msn, message in enumerate(loaded.messages, 1):
        assert isinstance(message, messages.KnownMessage)
        if views[msn].internal_date != message.internal_instant:
            pytest.skip("the target did not keep APPEND's date-time (SHOULD), so the "
                        "internal dates are unknown")
    found = _search(loaded, criteria)
    assert found == expected, (
        f"SEARCH {criteria}: expected messages {sorted(expected)}, got {sorted(found)}")


@pytest.mark.requirement(rfc=9051, section="6.4.4", level="SHOULD", ids=("RFC9051-6.4.4-20",))
@pytest.mark.parametrize("criteria, expected", [
    ("SUBJECT CONFORMANCE", {1, 3}),
    ("FROM IVY@EXAMPLE.ORG", {3}),
    ("BODY ZEBRACORN", {1}),
    ("TEXT ALPHA-MARKER", {1}),
])
def test_search_is_case_insensitive(loaded: Loaded, criteria: str,
                                    expected: set[int]) -> None:
    """§6.4.4: "The matching SHOULD be case insensitive for characters within the ASCII
    range." """
    found = _search(loaded, criteria)
    assert found == expected, (
        f"SEARCH {criteria}: expected messages {sorted(expected)}, got {sorted(found)}")


@pytest.mark.requirement(rfc=9051, section="6.4.4", level="MUST")
@pytest.mark.parametrize("criteria, expected", [
    ("DELETED", {2}), ("UNDELETED", {1, 3}), ("ANSWERED", {3}), ("UNANSWERED", {1, 2}),
    ("DRAFT", {1}), ("UNDRAFT", {2, 3}),
])
def test_search_stored_flags(loaded: Loaded, criteria: str, expected: set[int]) -> None:
    """§6.4.4 DELETED, ANSWERED, DRAFT and their UN- forms, after STOREs."""
    for store in ("1 +FLAGS.SILENT (\\Draft)", "2 +FLAGS.SILENT (\\Deleted)",
                  "3 +FLAGS.SILENT (\\Answered)"):
        expect_ok(loaded.driver.command(f"STORE {store}"), f"STORE {store}")
    found = _search(loaded, criteria)
    assert found == expected, (
        f"SEARCH {criteria}: expected messages {sorted(expected)}, got {sorted(found)}")


@pytest.mark.requirement(rfc=9051, section="2.3.2", level="SHOULD", ids=("RFC9051-2.3.2-2",))
def test_search_keyword(loaded: Loaded) -> None:
    """§2.3.2: $Forwarded and the other keywords of RFC 9051 "SHOULD be supported (allowed
    in SEARCH and allowed and preserved in APPEND, COPY, and MOVE commands)"; §6.4.4
    KEYWORD / UNKEYWORD."""
    done = loaded.driver.command("STORE 3 +FLAGS.SILENT ($Forwarded)")
    assert done.ok, f"STORE 3 +FLAGS ($Forwarded): {show(done)}"
    assert _search(loaded, "KEYWORD $Forwarded") == {3}, "SEARCH KEYWORD $Forwarded"
    assert _search(loaded, "UNKEYWORD $Forwarded") == {1, 2}, "SEARCH UNKEYWORD $Forwarded"


@pytest.mark.requirement(rfc=9051, section="6.4.4", level="MUST")
def test_uid_search_returns_uids(loaded: Loaded) -> None:
    """§6.4.9: with UID SEARCH "the numbers returned ... are unique identifiers instead of
    message sequence numbers"; UID keys select by UID."""
    uids = loaded.uids
    assert _search(loaded, "FLAGGED", uid=True) == {uids[0]}, "UID SEARCH FLAGGED"
    assert _search(loaded, f"UID {uids[1]}:{uids[2]}") == {2, 3}, (
        f"SEARCH UID {uids[1]}:{uids[2]}")
    assert _search(loaded, f"UID {uids[2]}:*", uid=True) == {uids[2]}, (
        f"UID SEARCH UID {uids[2]}:*")
    assert _search(loaded, f"UID {max(uids) + 100}:*", uid=True) == {uids[2]}, (
        "UID SEARCH UID n:* with n above every UID must still find the last message "
        "(§6.4.9)")


@pytest.mark.requirement(rfc=9051, section="6.4.4", level="MUST", ids=("RFC9051-6.4.4-15",))
@pytest.mark.requirement(rfc=3501, section="6.4.4", level="MUST", ids=("RFC3501-6.4.4-6",))
def test_search_charset_us_ascii(loaded: Loaded) -> None:
    """§6.4.4: "Servers MUST support US-ASCII and UTF-8 charsets" (RFC 3501: "US-ASCII MUST
    be supported")."""
    assert _search(loaded, "CHARSET US-ASCII SUBJECT simple") == {1}, (
        "SEARCH CHARSET US-ASCII SUBJECT simple")


@pytest.mark.requirement(rfc=9051, section="6.4.4", level="MUST",
                         ids=("RFC9051-6.4.4-15", "RFC9051-6.4.4-17"))
@pytest.mark.needs("IMAP4rev2")
def test_search_charset_utf8(session: ImapDriver, scratch: Scratch) -> None:
    """§6.4.4: "Servers MUST support US-ASCII and UTF-8 charsets"; without CHARSET
    "IMAP4rev2 servers MUST assume UTF-8". A UTF-8 subject (RFC 2047 encoded, "MUST be
    decoded before comparing text") is found by a UTF-8 literal."""
    raw = messages.plain("x", extra="").replace(
        b"Subject: x", b"Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?=")
    loaded = load(session, scratch.create(session, "utf8"), [(raw, ())])
    word = "Köln".encode()
    for prefix in ("CHARSET UTF-8 ", ""):
        if not prefix and not rev2_mode(session):
            continue
        done = session.command(f"SEARCH {prefix}SUBJECT {{}}", literals=[word])
        found = search_result(done, f"SEARCH {prefix}SUBJECT Köln")
        assert found == {1}, f"SEARCH {prefix}SUBJECT \"Köln\" (UTF-8): got {sorted(found)}"
    del loaded


@pytest.mark.requirement(rfc=9051, section="6.4.4", level="MUST", ids=("RFC9051-6.4.4-18",))
@pytest.mark.requirement(rfc=3501, section="6.4.4", level="MUST", ids=("RFC3501-6.4.4-7",))
def test_search_unknown_charset_is_no(loaded: Loaded) -> None:
    """§6.4.4: "If the server does not support the specified [CHARSET], it MUST return a
    tagged NO response (not a BAD)." """
    expect_no(loaded.driver.command("SEARCH CHARSET X-CONFORMANCE-UNKNOWN SUBJECT x"),
              "SEARCH with an unknown CHARSET")


@pytest.mark.requirement(rfc=9051, section="6.4.4", level="SHOULD", ids=("RFC9051-6.4.4-19",))
@pytest.mark.requirement(rfc=3501, section="6.4.4", level="SHOULD", ids=("RFC3501-6.4.4-8",))
def test_search_unknown_charset_says_badcharset(loaded: Loaded) -> None:
    """§6.4.4: the NO "SHOULD contain the BADCHARSET response code"."""
    done = loaded.driver.command("SEARCH CHARSET X-CONFORMANCE-UNKNOWN SUBJECT x")
    assert code_of(done.tagged) == "BADCHARSET", (
        f"SEARCH with an unknown CHARSET: expected NO [BADCHARSET ...], got {show(done)!r}")


# --- IMAP4rev2 ESEARCH as the SEARCH response --------------------------------------------


def _esearch(driver: ImapDriver, command: str) -> tuple[str, EsearchData]:
    tag, done = _run(driver, command)
    expect_ok(done, command)
    assert not done.of_type(SearchData), (
        f"{command}: an untagged SEARCH response came (RFC 9051 §6.4.4 answers with "
        "ESEARCH)")
    response = only(done.of_type(EsearchData), f"ESEARCH response to {command}")
    if response.tag is not None:
        # RFC 4466 §2.6.2: "if it is present, it contains the tag of the command"
        assert response.tag == tag, (
            f"{command}: the ESEARCH correlator is (TAG \"{response.tag}\"), the command's "
            f"tag is {tag}")
    return tag, response


@pytest.mark.requirement(rfc=9051, section="6.4.4", level="MUST")
@pytest.mark.needs("IMAP4rev2")
def test_rev2_search_answers_esearch(loaded: Loaded) -> None:
    """§6.4.4 (IMAP4rev2): "If no result option is specified or empty list of options is
    specified as "()", ALL is assumed"; the answer is an ESEARCH response."""
    if not rev2_mode(loaded.driver):
        pytest.skip("IMAP4rev2 could not be enabled on this connection")
    for command in ("SEARCH UNSEEN", "SEARCH RETURN () UNSEEN"):
        _, response = _esearch(loaded.driver, command)
        assert numbers_of(response.all) == {1, 3}, (
            f"{command}: ESEARCH ALL {response.all}, expected 1,3")
        assert not response.uid, f"{command}: ESEARCH has the UID indicator for a SEARCH"


@pytest.mark.requirement(rfc=9051, section="6.4.9", level="MUST", ids=("RFC9051-6.4.9-1",))
@pytest.mark.needs("IMAP4rev2")
def test_rev2_uid_search_has_uid_indicator(loaded: Loaded) -> None:
    """§6.4.9: for UID SEARCH "the corresponding ESEARCH response MUST include the UID
    indicator"."""
    if not rev2_mode(loaded.driver):
        pytest.skip("IMAP4rev2 could not be enabled on this connection")
    _, response = _esearch(loaded.driver, "UID SEARCH UNSEEN")
    assert response.uid, "UID SEARCH: the ESEARCH response lacks the UID indicator"
    assert numbers_of(response.all) == {loaded.uids[0], loaded.uids[2]}, (
        f"UID SEARCH UNSEEN: ALL {response.all}, expected UIDs {loaded.uids[0]} and "
        f"{loaded.uids[2]}")


@pytest.mark.requirement(rfc=9051, section="6.4.4", level="MUST NOT", ids=("RFC9051-6.4.4-9",))
@pytest.mark.requirement(rfc=9051, section="7.3.4", level="MUST NOT", ids=("RFC9051-7.3.4-6",))
@pytest.mark.needs("IMAP4rev2")
def test_rev2_search_without_match(loaded: Loaded) -> None:
    """§6.4.4 ALL: "If the SEARCH results in no matches, the server MUST NOT include the ALL
    result option in the ESEARCH response; however, it still MUST send the ESEARCH
    response." """
    if not rev2_mode(loaded.driver):
        pytest.skip("IMAP4rev2 could not be enabled on this connection")
    _, response = _esearch(loaded.driver, 'SEARCH SUBJECT "no such subject anywhere"')
    assert response.all is None, f"ESEARCH with no match carries ALL {response.all}"


# --- ESEARCH result options (RFC 4731) -------------------------------------------------


@pytest.mark.requirement(rfc=4731, section="3.1", level="MUST",
                         ids=("RFC4731-3.1-5", "RFC4731-3.1-6"))
@pytest.mark.requirement(rfc=9051, section="6.4.4", level="MUST",
                         ids=("RFC9051-6.4.4-10", "RFC9051-6.4.4-11"))
@pytest.mark.needs("ESEARCH|IMAP4rev2")
def test_esearch_min_max_count_all(loaded: Loaded) -> None:
    """RFC 4731 §3.1 / RFC 9051 §6.4.4: MIN, MAX, COUNT and ALL in "a single ESEARCH
    response"; "COUNT ... MUST always be included"."""
    _, response = _esearch(loaded.driver, "SEARCH RETURN (MIN MAX COUNT ALL) UNSEEN")
    assert (response.min, response.max, response.count) == (1, 3, 2), (
        f"SEARCH RETURN (MIN MAX COUNT ALL) UNSEEN: MIN {response.min} MAX {response.max} "
        f"COUNT {response.count}, expected 1, 3, 2")
    assert numbers_of(response.all) == {1, 3}, f"ALL {response.all}, expected 1,3"
    _, response = _esearch(loaded.driver, "SEARCH RETURN (COUNT) ALL")
    assert response.count == 3 and response.min is None and response.all is None, (
        f"SEARCH RETURN (COUNT) ALL: expected only COUNT 3, got {response}")


@pytest.mark.requirement(rfc=4731, section="3.1", level="MUST NOT",
                         ids=("RFC4731-3.1-1", "RFC4731-3.1-2", "RFC4731-3.1-4",
                              "RFC4731-3.1-5"))
@pytest.mark.requirement(rfc=9051, section="6.4.4", level="MUST NOT",
                         ids=("RFC9051-6.4.4-6", "RFC9051-6.4.4-7", "RFC9051-6.4.4-9"))
@pytest.mark.needs("ESEARCH|IMAP4rev2")
def test_esearch_no_match(loaded: Loaded) -> None:
    """RFC 4731 §3.1: with no match the server "MUST NOT include the MIN/MAX/ALL result
    option in the ESEARCH response; however, it still MUST send the ESEARCH response",
    and COUNT (0) "MUST always be included"."""
    _, response = _esearch(loaded.driver,
                           'SEARCH RETURN (MIN MAX COUNT ALL) SUBJECT "no such subject"')
    assert response.min is None and response.max is None and response.all is None, (
        f"ESEARCH for no match carries MIN/MAX/ALL: {response}")
    assert response.count == 0, f"ESEARCH for no match: COUNT {response.count}, expected 0"


@pytest.mark.requirement(rfc=4731, section="3.1", level="MUST", ids=("RFC4731-3.1-7",))
@pytest.mark.needs("ESEARCH|IMAP4rev2")
def test_esearch_uid(loaded: Loaded) -> None:
    """RFC 4731 §3.1: "An extended UID SEARCH command MUST cause an ESEARCH response with
    the UID indicator present", its data UIDs."""
    _, response = _esearch(loaded.driver, "UID SEARCH RETURN (MIN MAX COUNT) UNSEEN")
    assert response.uid, "UID SEARCH RETURN (...): the ESEARCH response lacks UID"
    assert (response.min, response.max, response.count) == (
        loaded.uids[0], loaded.uids[2], 2), (
        f"UID SEARCH RETURN (MIN MAX COUNT) UNSEEN: {response}, expected MIN "
        f"{loaded.uids[0]} MAX {loaded.uids[2]} COUNT 2")


@pytest.mark.requirement(rfc=9051, section="6.4.4", level="MUST", ids=("RFC9051-6.4.4-4",))
@pytest.mark.needs("ESEARCH|IMAP4rev2")
def test_esearch_unknown_option_is_bad(loaded: Loaded) -> None:
    """§6.4.4: "Any options not defined by extensions that the server supports MUST be
    rejected with a BAD response." """
    expect_bad(loaded.driver.command("SEARCH RETURN (X-CONFORMANCE) ALL"),
               "SEARCH RETURN with an unknown result option")


@pytest.mark.requirement(rfc=9051, section="6.4.4", level="MUST")
def test_search_bad_key_is_bad(loaded: Loaded) -> None:
    """§6.4.4 "BAD - command unknown or arguments invalid": an unknown search key."""
    done = loaded.driver.command("SEARCH X-CONFORMANCE-NOT-A-KEY")
    assert done.tagged.condition is Condition.BAD, (
        f"SEARCH with an unknown key: expected BAD, got {show(done)!r}")


ENCODED = (b"Date: Sat, 22 Jul 2023 11:00:00 +0000\r\n"
           b"From: Encoder <encoder@example.org>\r\n"
           b"Subject: =?UTF-8?B?cGxhdHlwdXM=?= sighting\r\n"
           b"MIME-Version: 1.0\r\n"
           b"Content-Type: multipart/mixed; boundary=\"b64\"\r\n"
           b"\r\n"
           b"--b64\r\n"
           b"Content-Type: text/plain; charset=us-ascii\r\n"
           b"Content-Transfer-Encoding: base64\r\n"
           b"\r\n"
           b"VGhlIGVjaGlkbmEgaGlkZXMgaW4gYSBiYXNlNjQgcGFydC4NCg==\r\n"
           b"--b64\r\n"
           b"Content-Type: text/plain; charset=us-ascii\r\n"
           b"Content-Transfer-Encoding: quoted-printable\r\n"
           b"\r\n"
           b"A soft line break splits the word wom=\r\n"
           b"bat here.\r\n"
           b"--b64--\r\n")


@pytest.mark.requirement(rfc=9051, section="6.4.4", level="MUST", ids=("RFC9051-6.4.4-14",))
@pytest.mark.requirement(rfc=3501, section="6.4.4", level="MUST", ids=("RFC3501-6.4.4-5",))
@pytest.mark.parametrize("criteria", ["SUBJECT platypus", "BODY echidna", "TEXT echidna",
                                      "BODY wombat"])
def test_search_decodes_before_comparing(session: ImapDriver, scratch: Scratch,
                                         criteria: str) -> None:
    """§6.4.4: "[MIME-IMB] content transfer encodings and [MIME-HDRS] strings in
    [RFC5322]/[MIME-IMB] headers MUST be decoded before comparing text": an RFC 2047
    encoded word in Subject ("platypus"), a base64 text part ("echidna"), a
    quoted-printable soft line break inside a word ("wom=" CRLF "bat")."""
    loaded = load(session, scratch.create(session, "decode"), [(ENCODED, ())])
    found = _search(loaded, criteria)
    assert found == {1}, f"SEARCH {criteria} in the encoded message: got {sorted(found)}"
