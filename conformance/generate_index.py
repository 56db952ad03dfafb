"""Build the requirement index, conformance/rfc/index.json, from the vendored RFC texts.

Run as ``python -m conformance.generate_index``. The output is deterministic: the same texts
always give the same bytes, so the file is checked in and a test regenerates it to compare.

One entry per sentence of an indexed RFC that carries a BCP 14 keyword. RFC 2119 §1-§5 defines
the keywords; RFC 8174 §2 says they have that meaning only "when, and only when, they appear in
all capitals", so only upper-case keywords count here. Errata are not applied.

How the text is read (and the limits of it):

- Page layout. Paginated RFCs (everything before RFC 8650) carry a footer ("Klensin  Standards
  Track  [Page 12]"), a form feed and a running header ("RFC 5321  SMTP  October 2008") on
  every page; they are removed with the blank lines around them, so a paragraph that runs over
  a page break is joined again. v3 texts (RFC 9051) have a byte-order mark and no pages.
- Sections. A heading is a line that starts in column 0 with a section number: "6.3.2.  SELECT
  Command", "6.1  Server action ...", "Appendix A.  ...", "Appendix A - Changes ...", "A.1.  ..."
  (appendices are sections "A", "A.1"). A long heading wrapped onto an indented second line is
  joined. The table of contents is indented, so its lines are never headings, and the body
  starts at the first heading after it. A column-0 line of words without a number ("Full
  Copyright Statement", "Authors' Addresses", "Index") closes the section before it; its text
  is not indexed.
- Blocks. Body text is cut into paragraphs at blank lines, and paragraphs into items at list
  bullets ("o", "-", "*", "1.", "(a)", "5)"), at the values of the labels of IMAP command and
  response descriptions ("Arguments:", "Responses:", "Result:", "Contents:": one value a
  line), and after the term line of a definition list ("LIST" above an indented definition).
  Not prose, and skipped: protocol examples (lines starting "C:" or "S:" and their deeper
  continuations), ABNF rules ("name = ...", "name ::= ..." and their continuations), table
  rows ("| ... |", "+---+") and index lines with dot leaders. The comments of ABNF rules
  ("; MUST accept body-extension fields.") are prose, indexed in the section of the ABNF.
- Sentences. An item's lines are joined; a line that ends in a hyphen or a slash after a
  letter or digit is joined without a space ("non-" + "synchronizing", "client/" +
  "server"): RFCs do not hyphenate words to wrap them, so the hyphen is kept. A sentence ends
  at ".", "?" or "!" (with any closing quotes or brackets) before an upper-case letter,
  digit, quote or bracket, except after an abbreviation ("e.g.", "i.e.", "cf.", "et al."),
  after an ellipsis ("BINARY[...] FETCH"), and, when only one space follows, after an
  initial ("A. Melnikov"), a number ("RFC 821. The") or "etc.": the RFC Editor's style puts
  two spaces (or a line break) after a sentence, so a single space marks a non-sentence end.
- Keywords. Only keywords outside double quotes count, so the conventions paragraph ('The key
  words "MUST", "MUST NOT" ...') and quoted protocol strings are not requirements. The level
  is the strongest keyword of the sentence (MUST/MUST NOT over SHOULD/SHOULD NOT over MAY;
  the first one among equals), normalised as conformance/DESIGN.md says; NOT RECOMMENDED is
  SHOULD NOT (RFC 8174 §2 lists it with the others; RFC 2119 §4 gives SHOULD NOT its meaning).

The file is a JSON object: ``{"schema": 1, "rfcs": {"<rfc>": {"sections": {"<section>":
"<title>"}}}, "requirements": [{id, rfc, section, title, level, text}, ...]}``; ``sections``
lists every section (also those without a requirement) so that a section title can be shown
for any marker.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

RFC_DIR = Path(__file__).resolve().parent / "rfc"
INDEX_PATH = RFC_DIR / "index.json"

# The RFCs issue 4 asks to index; their texts are conformance/rfc/rfcNNNN.txt.
INDEXED_RFCS: tuple[int, ...] = (
    5321, 5322, 3207, 4954, 1870, 2920, 6152, 6531, 3030, 2034, 3463,
    9051, 3501, 7888, 2177, 4315, 6851, 5161, 2971, 4731, 5258, 6154, 7162,
)

SCHEMA = 1

# RFC 2119 §1-§5 and RFC 8174 §2: the BCP 14 keywords, longest first so "MUST NOT" wins over
# "MUST". Normalised levels as conformance/DESIGN.md defines them.
KEYWORD_LEVELS: dict[str, str] = {
    "MUST NOT": "MUST NOT",
    "SHALL NOT": "MUST NOT",
    "SHOULD NOT": "SHOULD NOT",
    "NOT RECOMMENDED": "SHOULD NOT",
    "MUST": "MUST",
    "REQUIRED": "MUST",
    "SHALL": "MUST",
    "SHOULD": "SHOULD",
    "RECOMMENDED": "SHOULD",
    "MAY": "MAY",
    "OPTIONAL": "MAY",
}
LEVELS: tuple[str, ...] = ("MUST", "MUST NOT", "SHOULD", "SHOULD NOT", "MAY")
LEVEL_STRENGTH: dict[str, int] = {
    "MUST": 3, "MUST NOT": 3, "SHOULD": 2, "SHOULD NOT": 2, "MAY": 1,
}

KEYWORD = re.compile(
    r"(?<![\w-])(MUST NOT|SHALL NOT|SHOULD NOT|NOT RECOMMENDED"
    r"|MUST|REQUIRED|SHALL|SHOULD|RECOMMENDED|MAY|OPTIONAL)(?![\w-])"
)
QUOTED = re.compile(r'"[^"]*"')

# --- page layout -------------------------------------------------------------------------

MONTHS = (
    "January|February|March|April|May|June|July|August|September|October|November|December"
)
PAGE_FOOTER = re.compile(r"\[Page \d+\]\s*$")
PAGE_HEADER = re.compile(rf"^RFC \d+\s.*\b(?:{MONTHS})\s+\d{{4}}\s*$")


def read_rfc_lines(path: Path) -> list[str]:
    """The lines of an RFC text: BOM dropped, tabs expanded, trailing blanks removed."""
    text = path.read_text(encoding="utf-8").removeprefix("\ufeff")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return [line.expandtabs(8).rstrip(" ") for line in text.split("\n")]


def remove_page_breaks(lines: Sequence[str]) -> list[str]:
    """Drop page footers, form feeds and running headers, and the blank lines around them.

    A paragraph that runs over the page break is joined again. When the last line before the
    break ends a sentence or introduces something (".", ":"), one blank line is kept so that
    what follows (often an example or ABNF) starts a new block.
    """
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if "\f" not in line:
            out.append(line)
            i += 1
            continue
        # The footer is the last non-blank line before the form feed.
        while out and not out[-1].strip():
            out.pop()
        if out and PAGE_FOOTER.search(out[-1]):
            out.pop()
            while out and not out[-1].strip():
                out.pop()
        # The header may share the form feed's line or follow it.
        after = line.replace("\f", "")
        i += 1
        if not after.strip() and i < len(lines) and PAGE_HEADER.match(lines[i]):
            i += 1
        while i < len(lines) and not lines[i].strip():
            i += 1
        if out and out[-1].endswith((".", ":")) and not _ends_with_abbreviation(out[-1]):
            out.append("")
        if after.strip() and not PAGE_HEADER.match(after):
            out.append(after)
    return out


# --- sections ----------------------------------------------------------------------------

HEADING = re.compile(
    r"^(?P<appendix>Appendix\s+)?"
    r"(?P<number>(?:\d{1,2}|[A-Z])(?:\.\d{1,2})*)\.?"
    r"(?:\s+-)?\s+(?P<title>\S.*)$"
)
UNNUMBERED_HEADING = re.compile(r"^[A-Z][A-Za-z0-9' ,&()/-]*$")
DOT_LEADER = re.compile(r"(?:\.\s?){3,}\s*\d+$")


@dataclass
class Section:
    """A numbered section of an RFC: its number ("6.3.2", "E", "A.1"), title and body lines."""

    number: str
    title: str
    lines: list[str] = field(default_factory=list)


def parse_heading(line: str) -> tuple[str, str] | None:
    """(number, title) when ``line`` is a numbered section heading, else None."""
    if not line or line[0].isspace() or DOT_LEADER.search(line):
        return None
    match = HEADING.match(line)
    if match is None:
        return None
    number, title = match["number"], match["title"].strip()
    if number[0].isalpha() and not match["appendix"] and "." not in match.group(0)[:3]:
        return None  # a bare letter is an appendix with "Appendix" before it or "." after it
    if " = " in title or title.startswith(("=", ":")):
        return None  # ABNF, not a heading
    return number, title


def split_sections(lines: Sequence[str]) -> list[Section]:
    """The numbered sections of the body, in document order, without the table of contents."""
    start = 0
    for i, line in enumerate(lines):
        if line.strip().lower() == "table of contents":
            start = i + 1
            # The contents are indented; they end at the next line that starts in column 0.
            while start < len(lines) and (not lines[start] or lines[start][0].isspace()):
                start += 1
            break
    sections: list[Section] = []
    seen: set[str] = set()
    current: Section | None = None
    i = start
    while i < len(lines):
        line = lines[i]
        heading = parse_heading(line)
        if heading is not None and heading[0] not in seen:
            number, title = heading
            # A long heading wraps onto the next, indented line.
            if len(line) >= 60 and i + 1 < len(lines) and lines[i + 1][:1].isspace() \
                    and lines[i + 1].strip():
                title = f"{title} {lines[i + 1].strip()}"
                i += 1
            current = Section(number=number, title=title)
            sections.append(current)
            seen.add(number)
        elif line and not line[0].isspace() and UNNUMBERED_HEADING.match(line) and sections:
            current = None  # "Full Copyright Statement", "Authors' Addresses", "Index" ...
        elif current is not None:
            current.lines.append(line)
        i += 1
    return sections


# --- blocks and items --------------------------------------------------------------------

EXAMPLE_LINE = re.compile(r"^\s*[CS]:(?:\s|$)")
ABNF_RULE = re.compile(r"^\s*<?[A-Za-z][A-Za-z0-9_-]*>?\s*(?:=/?|::=)(?:\s|$)")
ABNF_COMMENT = re.compile(r"^\s*;+\s?(?P<text>.*)$")
BULLET = re.compile(
    r"^(?P<indent>\s*)(?P<marker>[o*+\-\u2022]|\(?\d{1,3}\)|\d{1,2}\.|\(?[a-z]\)|[a-z]\.)"
    r"\s+(?=\S)"
)
# The IMAP command and response descriptions (RFC 3501 §6-7, RFC 9051 §6-7 and the
# extensions written like them) list one argument, response or result per line after these
# labels.
ITEM_LABEL = re.compile(
    r"^\s*(?:Arguments(?: \((?:basic|extended)\))?|Contents|Responses|Result):"
    r"(?:\s*$|\s+(?P<value>(?=\S)))"
)
TABLE_LINE = re.compile(r"^\s*(?:\||\+[-+=]+)")
SENTENCE_END = (".", "?", "!", ":", ";")


def indent_of(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def paragraphs(lines: Sequence[str]) -> Iterator[list[str]]:
    """Runs of non-blank lines."""
    block: list[str] = []
    for line in lines:
        if line.strip():
            block.append(line)
        elif block:
            yield block
            block = []
    if block:
        yield block


def abnf_comment_column(line: str) -> int | None:
    """Where the comment of an ABNF line starts (a ";" outside quotes), or None."""
    in_quotes = False
    for position, char in enumerate(line):
        if char == '"':
            in_quotes = not in_quotes
        elif char == ";" and not in_quotes:
            return position
    return None


COMMENT_CONTINUES = re.compile(r"(?:[,(/-]|\b(?:a|an|the|of|to|in|on|and|or|by|with|for|as|is))$")


def abnf_comments(segment: Sequence[str]) -> Iterator[list[str]]:
    """The comments of a run of ABNF, each comment's lines together.

    A comment runs over the following comment lines; it also takes a line without ";" that
    starts at or right of its ";" (RFC 5321 §4.4 has such wrapped comments). A comment line
    that starts with a capitalised word after one that ended a phrase starts a new comment
    ("; Servers MUST implement ... capabilities" / "; Servers which offer ...").
    """
    comment: list[str] = []
    column = 0
    for line in segment:
        semicolon = abnf_comment_column(line)
        if semicolon is not None and not line[:semicolon].strip():
            text = line[semicolon:].lstrip(";").strip()
            if comment and re.match(r"[A-Z][a-z]+\b", text) \
                    and not COMMENT_CONTINUES.search(comment[-1]):
                yield comment
                comment = []
            if not comment:
                column = semicolon
            comment.append(text)
            continue
        if comment and not ABNF_RULE.match(line) and indent_of(line) >= column:
            comment.append(line.strip())
            continue
        if comment:
            yield comment
            comment = []
        if semicolon is not None and ABNF_RULE.match(line):
            column = semicolon
            comment.append(line[semicolon:].lstrip(";").strip())
    if comment:
        yield comment


def block_segments(block: Sequence[str]) -> Iterator[tuple[bool, list[str]]]:
    """Cut a paragraph into runs of ABNF (True) and of prose (False).

    ABNF is a rule line ("name = ...", "name ::= ..."), a comment line (";..."), or a line
    indented deeper than the rule above it (its continuation). A page break can glue prose
    to the ABNF before it, so the runs are found line by line, not paragraph by paragraph.
    """
    segment: list[str] = []
    in_abnf = False
    rule_indent = 0
    for line in block:
        if ABNF_RULE.match(line) or ABNF_COMMENT.match(line):
            line_is_abnf = True
            if ABNF_RULE.match(line) or not in_abnf:
                rule_indent = indent_of(line)
        else:
            line_is_abnf = in_abnf and indent_of(line) > rule_indent
        if segment and line_is_abnf != in_abnf:
            yield in_abnf, segment
            segment = []
        in_abnf = line_is_abnf
        segment.append(line)
    if segment:
        yield in_abnf, segment


def prose_items(block: Sequence[str]) -> Iterator[list[str]]:
    """Cut a prose paragraph into items: list entries, labelled lines, definition terms.

    Lines that are not prose end the item before them and are dropped: protocol examples
    ("C: ...", "S: ..." and their deeper-indented continuations), table rows ("| ... |",
    "+----+") and index lines with dot leaders ("+FLAGS ........ 59").
    """
    item: list[str] = []
    item_indent = 0  # indent of the item's first line (the bullet or the label)
    value_column: int | None = None  # where the values of a "Responses:" label start
    example_indent: int | None = None
    for line in block:
        indent = indent_of(line)
        if example_indent is not None and indent > example_indent:
            continue  # continuation of an example line
        example_indent = None
        if EXAMPLE_LINE.match(line) or TABLE_LINE.match(line) or DOT_LEADER.search(line):
            if item:
                yield item
            item = []
            if EXAMPLE_LINE.match(line):
                example_indent = indent
            continue
        label = ITEM_LABEL.match(line)
        bullet = BULLET.match(line)
        if value_column is not None and (indent < value_column or label is not None):
            value_column = None
        starts_item = False
        if label is not None:
            starts_item = True
            value_column = len(label.group(0)) if label["value"] is not None else -1
        elif value_column == -1:
            starts_item = True  # the first value, on the line below its label
            value_column = indent
        elif value_column is not None and indent == value_column \
                and not (item and item[-1].endswith(",")):
            starts_item = True  # the next value of a "Responses:" label
        elif bullet is not None and _is_list_marker(bullet["marker"], item, indent, item_indent):
            starts_item = True
            value_column = None
        elif (
            len(item) == 1
            and indent > item_indent
            and not BULLET.match(item[0])
            and not ITEM_LABEL.match(item[0])
            and _is_term_line(item[0])
        ):
            starts_item = True  # "LIST" over its indented definition: the term is an item
        if starts_item or not item:
            if item:
                yield item
            item = []
            item_indent = indent
        item.append(line)
    if item:
        yield item


def _is_list_marker(marker: str, item: Sequence[str], indent: int, item_indent: int) -> bool:
    """A bullet-like start is a list marker unless it is a wrapped line of running prose."""
    if marker in ("o", "*", "+", "-", "\u2022"):
        return True
    # "1." or "a." at the start of a wrapped line ("... version\n   1. The ...") continues the
    # sentence; a real list item starts at the item's own indent or after an ended sentence.
    if not item:
        return True
    previous = item[-1].rstrip()
    return previous.endswith(SENTENCE_END) or indent < item_indent


def _is_term_line(line: str) -> bool:
    """A definition-list term: short, and not the start of a sentence that wraps on."""
    text = line.strip()
    return len(text) <= 60 and not text.endswith((".", ",", "-", "/"))


def section_items(lines: Sequence[str]) -> Iterator[str]:
    """The prose items of a section body, each as one line of text."""
    for block in paragraphs(lines):
        for is_abnf, segment in block_segments(block):
            if is_abnf:
                for comment in abnf_comments(segment):
                    yield join_lines(comment)
            else:
                yield from _prose_texts(segment)


def _prose_texts(segment: Sequence[str]) -> Iterator[str]:
    for item in prose_items(segment):
        first = item[0]
        bullet = BULLET.match(first)
        label = ITEM_LABEL.match(first)
        if label is not None:
            first = first[len(label.group(0)):]
        elif bullet is not None:
            first = first[len(bullet.group(0)):]
        text = join_lines([first, *item[1:]])
        if text:
            yield text


def join_lines(lines: Sequence[str]) -> str:
    """Join wrapped lines into one, keeping the two-space sentence gaps of the RFC style.

    A line break counts as a two-space gap (sentence ends are decided by the words, see
    split_sentences), except after a hyphen or slash that follows a letter or digit, where
    the words were wrapped at the hyphen or slash and are joined without a space.
    """
    text = ""
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        if not text:
            text = line
        elif re.search(r"[A-Za-z0-9][-/]$", text) and not re.search(r"\s-$", text):
            text += line
        else:
            text += "  " + line
    return text


# --- sentences ---------------------------------------------------------------------------

# Words after which a period does not end a sentence.
# (Only words that never end a sentence: "no." or "etc." can.)
ABBREVIATIONS = frozenset({
    "e.g", "E.g", "i.e", "I.e", "cf", "Cf", "vs", "viz", "al", "approx", "resp", "Fig",
    "Sec", "Ref", "Refs", "Mr", "Ms", "Dr", "Jr", "Sr", "Ed", "Eds", "Inc", "Corp", "Ltd",
    "Vol", "pp",
})
SENTENCE_BOUNDARY = re.compile(
    r"""(?P<end>[.?!])(?P<closers>["')\]]*)(?P<gap>\s+)(?=["'(\[]?[A-Z0-9<\\])"""
)


def _ends_with_abbreviation(text: str) -> bool:
    """True when ``text`` ends with an abbreviation such as "e.g." or "i.e."."""
    match = re.search(r"(\S+)\.$", text.rstrip())
    if match is None:
        return False
    return match.group(1).lstrip("(\"'[") in ABBREVIATIONS


def split_sentences(text: str) -> list[str]:
    """Split one item of prose into sentences, whitespace collapsed in each."""
    sentences: list[str] = []
    start = 0
    for match in SENTENCE_BOUNDARY.finditer(text):
        before = text[start:match.start("end")]
        word_match = re.search(r"(\S+)$", before)
        word = word_match.group(1) if word_match else ""
        bare = word.lstrip("(\"'[")
        single_space = match["gap"] == " "
        if match["end"] == "." and before.endswith(".."):
            continue  # an ellipsis: "BINARY[...] FETCH"
        if match["end"] == "." and not match["closers"]:
            if bare in ABBREVIATIONS:
                continue
            if single_space and re.fullmatch(r"[A-Z]", bare):
                continue  # an initial: "A. Melnikov"
            if single_space and re.fullmatch(r"[\d.]+|[A-Z](?:\.\d+)+", bare):
                continue  # "Section 6.3.2. The" written with one space
            if single_space and bare == "etc":
                continue
        end = match.end("closers")
        sentence = " ".join(text[start:end].split())
        if sentence:
            sentences.append(sentence)
        start = match.end("gap")
    last = " ".join(text[start:].split())
    if last:
        sentences.append(last)
    return sentences


def requirement_level(sentence: str) -> str | None:
    """The normalised level of the strongest keyword outside quotes, or None."""
    best: str | None = None
    for match in KEYWORD.finditer(QUOTED.sub('""', sentence)):
        level = KEYWORD_LEVELS[match.group(1)]
        if best is None or LEVEL_STRENGTH[level] > LEVEL_STRENGTH[best]:
            best = level
    return best


# --- the index ---------------------------------------------------------------------------


def index_rfc(rfc: int, lines: Sequence[str]) -> tuple[dict[str, str], list[dict[str, object]]]:
    """(section titles, requirement entries) of one RFC, in document order."""
    sections = split_sections(remove_page_breaks(lines))
    titles = {section.number: section.title for section in sections}
    entries: list[dict[str, object]] = []
    for section in sections:
        ordinal = 0
        for item in section_items(section.lines):
            for sentence in split_sentences(item):
                level = requirement_level(sentence)
                if level is None:
                    continue
                ordinal += 1
                entries.append({
                    "id": f"RFC{rfc}-{section.number}-{ordinal}",
                    "rfc": rfc,
                    "section": section.number,
                    "title": section.title,
                    "level": level,
                    "text": sentence,
                })
    return titles, entries


def build_index(rfc_dir: Path = RFC_DIR, rfcs: Iterable[int] = INDEXED_RFCS) -> dict[str, object]:
    """The whole index as a JSON-ready object; RFCs in numeric order."""
    sections: dict[str, dict[str, dict[str, str]]] = {}
    requirements: list[dict[str, object]] = []
    for rfc in sorted(set(rfcs)):
        titles, entries = index_rfc(rfc, read_rfc_lines(rfc_dir / f"rfc{rfc}.txt"))
        sections[str(rfc)] = {"sections": titles}
        requirements.extend(entries)
    return {"schema": SCHEMA, "rfcs": sections, "requirements": requirements}


def render_index(index: dict[str, object]) -> str:
    """The JSON text of the index, in the object's own (deterministic) key order."""
    return json.dumps(index, indent=1, ensure_ascii=False) + "\n"


def write_index(path: Path = INDEX_PATH, rfc_dir: Path = RFC_DIR,
                rfcs: Iterable[int] = INDEXED_RFCS) -> dict[str, object]:
    """Build the index and write it to ``path``; returns the index."""
    index = build_index(rfc_dir, rfcs)
    path.write_text(render_index(index), encoding="utf-8")
    return index


def iter_requirements(index: dict[str, object]) -> Iterator[dict[str, object]]:
    requirements = index["requirements"]
    assert isinstance(requirements, list)
    yield from requirements


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m conformance.generate_index",
        description="Rebuild conformance/rfc/index.json from the vendored RFC texts.",
    )
    parser.add_argument("--rfc-dir", type=Path, default=RFC_DIR,
                        help="directory holding rfcNNNN.txt (default: %(default)s)")
    parser.add_argument("--output", type=Path, default=INDEX_PATH,
                        help="where to write the index (default: %(default)s)")
    parser.add_argument("--rfc", type=int, action="append", dest="rfcs",
                        help="index only this RFC (repeatable; default: all of issue 4's)")
    args = parser.parse_args(argv)
    index = write_index(args.output, args.rfc_dir, args.rfcs or INDEXED_RFCS)
    counts: dict[int, int] = {}
    for entry in iter_requirements(index):
        rfc = int(str(entry["rfc"]))
        counts[rfc] = counts.get(rfc, 0) + 1
    summary = ", ".join(f"RFC {rfc}: {count}" for rfc, count in sorted(counts.items()))
    total = sum(counts.values())
    print(f"wrote {args.output}: {total} requirements ({summary})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
