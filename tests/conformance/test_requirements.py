"""The requirement index (conformance/rfc/index.json): the generator on a sample RFC, spot
checks against known sentences of the vendored RFCs, and the RequirementIndex API."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from conformance import generate_index
from conformance.generate_index import (
    INDEX_PATH,
    INDEXED_RFCS,
    RFC_DIR,
    build_index,
    join_lines,
    parse_heading,
    remove_page_breaks,
    render_index,
    requirement_level,
    split_sentences,
)
from conformance.requirements import (
    LEVELS,
    Requirement,
    RequirementIndex,
    load_index,
    normalise_level,
    read_index,
)

MONTHS = (
    "January|February|March|April|May|June|July|August|September|October|November|December"
)

# A paginated RFC in miniature: a contents page, a page break inside a paragraph, a wrapped
# heading, a definition list, an example, ABNF with a comment, an appendix, and the closing
# unnumbered sections.
SAMPLE_RFC = """\




Internet Engineering Task Force (IETF)                          A. Author
Request for Comments: 9999                                      Example
Category: Standards Track                                      May 2024


                        A Sample Protocol

Abstract

   This document MUST NOT be indexed: the abstract is front matter.

Table of Contents

   1.  Introduction . . . . . . . . . . . . . . . . . . . . . . . .  2
   2.  The SAMPLE Command . . . . . . . . . . . . . . . . . . . . .  2
     2.1.  Replies  . . . . . . . . . . . . . . . . . . . . . . . .  3
   Appendix A.  Changes . . . . . . . . . . . . . . . . . . . . . .  3

1.  Introduction

   The key words "MUST", "MUST NOT", "REQUIRED", "SHALL", "SHALL NOT",
   "SHOULD", "SHOULD NOT", "RECOMMENDED", "NOT RECOMMENDED", "MAY", and
   "OPTIONAL" in this document are to be interpreted as described in
   BCP 14 [RFC2119] [RFC8174] when, and only when, they appear in all
   capitals, as shown here.

2.  The SAMPLE Command

   A server MUST accept the SAMPLE command (e.g. "SAMPLE 1") in any
   state, i.e. before and after login.  The client SHOULD send it only
   once; see Section 2.1. for the replies.  The non-



Author                       Standards Track                    [Page 1]
\f
RFC 9999                      Sample Protocol                   May 2024


   synchronizing form is OPTIONAL.

   LIST
      The server MUST return one LIST response per name.

   Example:

      C: a SAMPLE
      S: * SAMPLE MUST be ignored
      S: a OK done

   sample         = "SAMPLE" SP number
                    ; Servers MUST NOT send a number above 100.

   o  Clients MAY retry after a NO reply, and SHALL NOT retry after a
      BAD reply.

2.1.  Replies That Wrap Onto a Second Line Because Their Title Is Very
      Long

   Replies that carry text are NOT RECOMMENDED.

Appendix A.  Changes

   Implementations MUST ignore this example requirement.

Author's Address

   A. Author MUST be reachable.
"""


@pytest.fixture(scope="module")
def index() -> RequirementIndex:
    return load_index()


@pytest.fixture()
def sample_index(tmp_path: Path) -> dict[str, object]:
    (tmp_path / "rfc9999.txt").write_text(SAMPLE_RFC, encoding="utf-8")
    return build_index(tmp_path, [9999])


def sample_requirements(sample_index: dict[str, object]) -> list[dict[str, object]]:
    requirements = sample_index["requirements"]
    assert isinstance(requirements, list)
    return requirements


# --- the generator on a sample RFC -------------------------------------------------------


def test_sample_rfc_gives_one_entry_per_keyword_sentence(
    sample_index: dict[str, object],
) -> None:
    assert [(entry["id"], entry["level"], entry["text"])
            for entry in sample_requirements(sample_index)] == [
        ("RFC9999-2-1", "MUST", 'A server MUST accept the SAMPLE command (e.g. "SAMPLE 1") '
                                "in any state, i.e. before and after login."),
        ("RFC9999-2-2", "SHOULD", "The client SHOULD send it only once; see Section 2.1. "
                                  "for the replies."),
        ("RFC9999-2-3", "MAY", "The non-synchronizing form is OPTIONAL."),
        ("RFC9999-2-4", "MUST", "The server MUST return one LIST response per name."),
        ("RFC9999-2-5", "MUST NOT", "Servers MUST NOT send a number above 100."),
        ("RFC9999-2-6", "MUST NOT", "Clients MAY retry after a NO reply, and SHALL NOT retry "
                                    "after a BAD reply."),
        ("RFC9999-2.1-1", "SHOULD NOT", "Replies that carry text are NOT RECOMMENDED."),
        ("RFC9999-A-1", "MUST", "Implementations MUST ignore this example requirement."),
    ]


def test_sample_rfc_sections_come_from_the_body_not_the_contents(
    sample_index: dict[str, object],
) -> None:
    rfcs = sample_index["rfcs"]
    assert isinstance(rfcs, dict)
    assert rfcs["9999"]["sections"] == {
        "1": "Introduction",
        "2": "The SAMPLE Command",
        "2.1": "Replies That Wrap Onto a Second Line Because Their Title Is Very Long",
        "A": "Changes",
    }


def test_the_strongest_keyword_gives_the_level() -> None:
    assert requirement_level("Clients MAY retry, and servers MUST NOT crash.") == "MUST NOT"
    assert requirement_level("It is REQUIRED.") == "MUST"
    assert requirement_level("It is NOT RECOMMENDED.") == "SHOULD NOT"
    assert requirement_level("It SHALL be done.") == "MUST"
    assert requirement_level('The key words "MUST" and "MAY" are defined.') is None
    assert requirement_level("Servers must and may, in lower case.") is None
    assert requirement_level("The MUST-UNDERSTAND flag.") is None


def test_sentences_do_not_end_at_abbreviations_initials_or_section_numbers() -> None:
    assert split_sentences(
        "Use a literal (e.g. {3}), i.e. a count.  Next one.  See RFC 5321 Section 4.1.1.1."
        "  Then A. Melnikov wrote it. And etc. too."
    ) == [
        "Use a literal (e.g. {3}), i.e. a count.",
        "Next one.",
        "See RFC 5321 Section 4.1.1.1.",
        "Then A. Melnikov wrote it.",
        "And etc. too.",
    ]
    assert split_sentences('It says "stop."  Then it stops.  BINARY[...] FETCH ok.') == [
        'It says "stop."', "Then it stops.", "BINARY[...] FETCH ok.",
    ]


def test_wrapped_lines_join_at_hyphens_and_slashes() -> None:
    assert join_lines(["   a non-", "   synchronizing client/", "   server pair -", "  not"]) \
        == "a non-synchronizing client/server pair -  not"


def test_headings() -> None:
    assert parse_heading("6.3.2.  SELECT Command") == ("6.3.2", "SELECT Command")
    assert parse_heading("4.5.3.1.4.  Command Line") == ("4.5.3.1.4", "Command Line")
    assert parse_heading("6.1  Server action on receipt") == ("6.1", "Server action on receipt")
    assert parse_heading("Appendix E.  Changes from RFC 3501 / IMAP4rev1") == (
        "E", "Changes from RFC 3501 / IMAP4rev1")
    assert parse_heading("Appendix A - Changes from RFC 1830") == ("A", "Changes from RFC 1830")
    assert parse_heading("Appendix A.1.  Addressing Examples") == ("A.1", "Addressing Examples")
    assert parse_heading("A.1.  Mailbox International Naming") == (
        "A.1", "Mailbox International Naming")
    assert parse_heading("B.      Changes from RFC 2060") == ("B", "Changes from RFC 2060")
    assert parse_heading("   6.3.2.  SELECT Command") is None  # contents, indented
    assert parse_heading("1.  Introduction . . . . . . . . . . . 5") is None
    assert parse_heading("CHAR8           = %x01-ff") is None
    assert parse_heading("S:   * OK IMAP4rev1 Service Ready") is None


def test_page_breaks_are_removed_and_the_paragraph_joined() -> None:
    lines = ["   the text goes", "", "", "Author   Standards Track   [Page 3]", "\f",
             "RFC 9999   Sample   May 2024", "", "", "   on here."]
    assert remove_page_breaks(lines) == ["   the text goes", "   on here."]


# --- the vendored RFCs -------------------------------------------------------------------


def test_every_rfc_of_issue_4_is_vendored_and_indexed(index: RequirementIndex) -> None:
    for rfc in INDEXED_RFCS:
        assert (RFC_DIR / f"rfc{rfc}.txt").is_file()
        assert index.sections(rfc), rfc
    assert index.rfcs == tuple(sorted(INDEXED_RFCS))


def test_counts_per_rfc_are_plausible(index: RequirementIndex) -> None:
    counts = Counter(requirement.rfc for requirement in index)
    # Ranges around what the texts hold; a parsing regression moves a count out of its range.
    expected = {
        5321: (330, 400), 9051: (390, 470), 3501: (220, 280), 7162: (90, 120),
        5322: (55, 75), 4954: (60, 80), 5258: (40, 55), 6531: (35, 50),
        3030: (22, 32), 6154: (18, 28), 2971: (15, 25), 3207: (16, 24), 2920: (12, 20),
        6851: (8, 14), 5161: (7, 12), 4731: (7, 12), 4315: (6, 10), 7888: (7, 12),
        2177: (4, 8), 1870: (1, 2), 2034: (1, 2), 3463: (1, 2),
    }
    for rfc, (low, high) in expected.items():
        assert low <= counts[rfc] <= high, (rfc, counts[rfc])
    # RFC 6152 writes its rules in lower case ("must"): by RFC 8174 §2 none is a keyword.
    assert counts[6152] == 0


@pytest.mark.parametrize(("requirement_id", "level", "text"), [
    ("RFC9051-6.3.2-4", "MUST", "The server MUST return a LIST response with the mailbox name."),
    ("RFC9051-6.3.2-1", "MUST", "REQUIRED untagged responses: FLAGS, EXISTS, LIST"),
    ("RFC9051-6.3.2-2", "MUST",
     "REQUIRED OK untagged responses: PERMANENTFLAGS, UIDNEXT, UIDVALIDITY"),
    ("RFC3207-4.2-2", "MUST",
     "The client MUST discard any knowledge obtained from the server, such as the list of SMTP "
     "service extensions, which was not obtained from the TLS negotiation itself."),
    ("RFC5321-4.1.1.1-3", "SHOULD",
     "A client SMTP SHOULD start an SMTP session by issuing the EHLO command."),
    ("RFC5321-4.1.1.1-5", "MUST",
     "In any event, a client MUST issue HELO or EHLO before starting a mail transaction."),
    # Runs over a page break in the paginated text.
    ("RFC5321-4.1.1.1-1", "SHOULD",
     "In situations in which the SMTP client system does not have a meaningful domain name "
     "(e.g., when its address is dynamically allocated and no reverse mapping record is "
     "available), the client SHOULD send an address literal (see Section 4.1.3)."),
    # §4.5.3.1.4 (command line, 512 octets) has no keyword; the MUST is in §4.5.3.1.
    ("RFC5321-4.5.3.1-1", "MUST",
     "Every implementation MUST be able to receive objects of at least these sizes."),
    # An ABNF comment.
    ("RFC9051-9-5", "MUST", "Client implementations MUST accept body-extension fields."),
    ("RFC9051-E-2", "MUST",
     "Clarified that client implementations MUST ignore response codes that they do not "
     "recognize."),
])
def test_known_sentences(index: RequirementIndex, requirement_id: str, level: str,
                         text: str) -> None:
    requirement = index.get(requirement_id)
    assert requirement is not None
    assert (requirement.level, requirement.text) == (level, text)


def test_section_titles(index: RequirementIndex) -> None:
    assert index.title(9051, "6.3.2") == "SELECT Command"
    assert index.title("5321", "4.5.3.1.4") == "Command Line"
    assert index.in_section(5321, "4.5.3.1.4") == []
    assert index.title(9051, "E") == "Changes from RFC 3501 / IMAP4rev1"
    assert index.title(9051, "Appendix E") == "Changes from RFC 3501 / IMAP4rev1"
    assert index.title(9051, "11.3") == (
        "Client Handling of Unsolicited Responses Not Suitable for the Current Connection State")
    assert index.title(9051, "99.1") == ""
    assert index.has_section(3207, "4.2") and not index.has_section(3207, "4.9")


def test_entries_are_clean(index: RequirementIndex) -> None:
    header = re.compile(rf"RFC \d+ .*(?:{MONTHS}) \d{{4}}")
    for requirement in index:
        assert requirement.section and requirement.title, requirement.id
        assert requirement.level in LEVELS, requirement.id
        assert "[Page" not in requirement.text, requirement.id
        assert not header.search(requirement.text), requirement.id
        assert "\f" not in requirement.text and "  " not in requirement.text, requirement.id
        assert requirement.text == requirement.text.strip(), requirement.id
        assert not re.search(r"(?:^|\s)[CS]: ", requirement.text), requirement.id  # examples
        # The conventions paragraph quotes the keywords; it states no requirement.
        assert not requirement.text.startswith(("The key words", "When the terms")), requirement.id


def test_ids_are_unique_and_count_within_their_section(index: RequirementIndex) -> None:
    ids = [requirement.id for requirement in index]
    assert len(ids) == len(set(ids)) == len(index)
    ordinals: Counter[tuple[int, str]] = Counter()
    for requirement in index:
        rfc, section = requirement.rfc, requirement.section
        ordinals[rfc, section] += 1
        assert requirement.id == f"RFC{rfc}-{section}-{ordinals[rfc, section]}"


def test_the_generator_is_deterministic_and_the_checked_in_index_is_current(
    tmp_path: Path,
) -> None:
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    assert generate_index.main(["--output", str(first)]) == 0
    assert generate_index.main(["--output", str(second)]) == 0
    assert first.read_bytes() == second.read_bytes()
    assert first.read_bytes() == INDEX_PATH.read_bytes(), (
        "conformance/rfc/index.json is stale: run python -m conformance.generate_index")
    assert render_index(json.loads(first.read_text(encoding="utf-8"))) == first.read_text(
        encoding="utf-8")


# --- the RequirementIndex API ------------------------------------------------------------


def test_select_matches_a_section_and_its_subsections_only(index: RequirementIndex) -> None:
    sections = {requirement.section for requirement in index.select(rfc=9051, section="6.3")}
    assert "6.3.2" in sections and "6.3.9.6" in sections
    assert all(section == "6.3" or section.startswith("6.3.") for section in sections)
    # "2.3.1" is not a prefix of "2.3.10" or "2.3.11".
    assert "2.3.11" in {r.section for r in index.select(rfc=5321, section="2.3")}
    assert all(r.section == "2.3.1" for r in index.select(rfc=5321, section="2.3.1"))
    assert {r.section for r in index.select(rfc=5321, section="4.5.3.1")} == {
        "4.5.3.1", "4.5.3.1.7", "4.5.3.1.8", "4.5.3.1.10"}


def test_select_by_level_is_exact_and_takes_keywords(index: RequirementIndex) -> None:
    must = index.select(rfc="3207", level="MUST")
    assert must and all(r.level == "MUST" for r in must)
    assert index.select(rfc=3207, level="REQUIRED") == must
    assert not {r.id for r in must} & {r.id for r in index.select(rfc=3207, level="MUST NOT")}
    assert len(index.select()) == len(index)
    with pytest.raises(ValueError):
        index.select(level="MANDATORY")


def test_in_section_excludes_subsections(index: RequirementIndex) -> None:
    in_section = index.in_section(9051, "6.3")
    assert all(r.section == "6.3" for r in in_section)
    assert [r.id for r in index.in_section(3207, "4.2")] == [
        f"RFC3207-4.2-{n}" for n in range(1, 8)]


def test_index_api_on_a_small_index(tmp_path: Path) -> None:
    path = tmp_path / "index.json"
    path.write_text(json.dumps({
        "schema": 1,
        "rfcs": {"1": {"sections": {"6.3": "Three", "6.30": "Thirty", "7": "Empty"}}},
        "requirements": [
            {"id": "RFC1-6.3-1", "rfc": 1, "section": "6.3", "title": "Three",
             "level": "MUST", "text": "A MUST."},
            {"id": "RFC1-6.30-1", "rfc": 1, "section": "6.30", "title": "Thirty",
             "level": "MAY", "text": "A MAY."},
        ],
    }), encoding="utf-8")
    small = read_index(path)
    assert len(small) == 2
    assert [r.id for r in small] == ["RFC1-6.3-1", "RFC1-6.30-1"]
    assert [r.id for r in small.select(section="6.3")] == ["RFC1-6.3-1"]
    assert [r.id for r in small.select(section="6")] == ["RFC1-6.3-1", "RFC1-6.30-1"]
    assert small.get("RFC1-6.3-1") == Requirement(
        id="RFC1-6.3-1", rfc=1, section="6.3", title="Three", level="MUST", text="A MUST.")
    assert small.get("RFC1-9-9") is None
    assert small.title(1, "7") == "Empty" and small.in_section(1, "7") == []
    with pytest.raises(AttributeError):
        small.get("RFC1-6.3-1").level = "MAY"  # type: ignore[misc, union-attr]


def test_load_index_is_cached() -> None:
    assert load_index() is load_index()


def test_normalise_level() -> None:
    assert normalise_level("required") == "MUST"
    assert normalise_level("SHALL  NOT") == "MUST NOT"
    assert normalise_level("OPTIONAL") == "MAY"
