"""RFC 9051 §9: what the formal syntax allows a client to write must be accepted —
keywords in any case ("Implementations MUST accept these strings in a case-insensitive
fashion"), the alternative forms of an argument (flags with or without parentheses, an
empty flag list, quoted header field names, a zero-length literal), "done" for DONE —
and what it forbids gets BAD (§2.2.2)."""

from __future__ import annotations

import pytest

from conformance.drivers.imap import ImapDriver, quote
from conformance.suites.imap import messages
from conformance.suites.imap.support import (
    Loaded,
    Scratch,
    expect_bad,
    expect_ok,
    flag_set,
    idle_start,
    one_fetch,
    read_until,
    search_result,
    show,
    status_values,
)
from reference.imap.responses import Condition, StatusData, StatusResponse

pytestmark = pytest.mark.protocol("imap")


@pytest.mark.requirement(rfc=9051, section="9", level="MUST", ids=("RFC9051-9-3",))
@pytest.mark.parametrize("command", [
    "fetch 1 (flags uid body.peek[header.fields (subject)])",
    "Uid Fetch 1:* (Flags)",
    "store 1 +flags.silent (\\answered)",
    "search unseen subject conformance",
    "uid search all",
    "noop",
    "capability",
])
def test_keywords_in_any_case(loaded: Loaded, command: str) -> None:
    """§9: "Unless otherwise noted, all alphabetic characters are case insensitive ...
    Implementations MUST accept these strings in a case-insensitive fashion." """
    expect_ok(loaded.driver.command(command), f"{command!r} (lower/mixed case)")


@pytest.mark.requirement(rfc=9051, section="9", level="MUST", ids=("RFC9051-9-3",))
def test_fetch_items_in_lower_case_answer(loaded: Loaded) -> None:
    """§9 case-insensitivity: "fetch 1 (body.peek[header.fields (subject)])" is answered
    like its upper-case form."""
    view = one_fetch(expect_ok(loaded.driver.command(
        "fetch 1 (body.peek[header.fields (subject)])"), "lower-case FETCH"), 1)
    assert view.sections.get("HEADER.FIELDS (SUBJECT)", (None,))[0] == (
        b"Subject: Conformance simple\r\n\r\n"), f"got items {view.names}"


@pytest.mark.requirement(rfc=9051, section="9", level="MUST", ids=("RFC9051-9-2",))
def test_store_flags_without_parentheses(loaded: Loaded) -> None:
    """§9: store-att-flags = (["+" / "-"] "FLAGS" [".SILENT"]) SP (flag-list / (flag
    *(SP flag))): the flags may come without parentheses."""
    expect_ok(loaded.driver.command("STORE 3 +FLAGS \\Answered \\Draft"),
              "STORE 3 +FLAGS \\Answered \\Draft (no parentheses)")
    view = one_fetch(expect_ok(loaded.driver.command("FETCH 3 (FLAGS)"), "FETCH FLAGS"), 3)
    assert {"\\ANSWERED", "\\DRAFT"} <= flag_set(view.flags or ()), (
        f"STORE without parentheses did not set both flags: {view.flags}")


@pytest.mark.requirement(rfc=9051, section="9", level="MUST", ids=("RFC9051-9-2",))
def test_append_empty_flag_list_and_zero_literal(session: ImapDriver,
                                                 scratch: Scratch) -> None:
    """§9: flag-list = "(" [flag *(SP flag)] ")" — "()" is a flag list; literal = "{"
    number64 "}" CRLF *CHAR8 — a search string may be a literal, even of length 0
    (HEADER X-Conformance with an empty literal matches the header's presence, §6.4.4)."""
    name = scratch.create(session, "grammar")
    expect_ok(session.command(f"APPEND {quote(name)} () {{}}",
                              literals=[messages.SIMPLE.raw]), "APPEND with ()")
    expect_ok(session.select(name), f"SELECT {name}")
    done = session.command("SEARCH HEADER X-Conformance {}", literals=[b""])
    assert search_result(done, "SEARCH HEADER X-Conformance {0}") == {1}, (
        "SEARCH HEADER with a zero-length literal did not find the message with the header")


@pytest.mark.requirement(rfc=9051, section="9", level="MUST", ids=("RFC9051-9-2",))
def test_quoted_header_field_names(loaded: Loaded) -> None:
    """§9: header-fld-name = astring — a field name may be a quoted string."""
    view = one_fetch(expect_ok(loaded.driver.command(
        'FETCH 1 (BODY.PEEK[HEADER.FIELDS ("Subject" "X-Conformance")])'),
        "FETCH with quoted header field names"), 1)
    data = view.sections.get("HEADER.FIELDS (SUBJECT X-CONFORMANCE)", (None,))[0]
    assert data == b"Subject: Conformance simple\r\nX-Conformance: alpha-marker\r\n\r\n", (
        f"quoted field names: got {data!r} (items {view.names})")


@pytest.mark.requirement(rfc=9051, section="9", level="MUST", ids=("RFC9051-9-3",))
@pytest.mark.requirement(rfc=2177, section="3", level="MUST")
def test_idle_done_in_lower_case(loaded: Loaded) -> None:
    """§9: idle = "IDLE" CRLF "DONE", and ABNF strings are case-insensitive: "done" ends
    IDLE."""
    imap = loaded.driver
    if not ({"IDLE", "IMAP4REV2"} & imap.capabilities):
        pytest.skip("UNSUPPORTED: neither IDLE nor IMAP4rev2 is advertised")
    tag = idle_start(imap)
    imap.send(b"done\r\n")
    done = imap.finish(tag)
    assert done.tagged.condition is Condition.OK, (
        f'"done" (lower case) after IDLE: expected the tagged OK, got {show(done)!r}')


@pytest.mark.requirement(rfc=9051, section="9", level="MUST", ids=("RFC9051-9-15",))
@pytest.mark.parametrize("spelling", ["iNbOx", "inbox"])
def test_inbox_any_case(session: ImapDriver, spelling: str) -> None:
    """§9: "All case variants of INBOX (e.g., "iNbOx") MUST be interpreted as INBOX, not as
    an astring": STATUS of the variant is STATUS of INBOX."""
    expect_ok(session.append("INBOX", messages.plain("inbox case")), "APPEND to INBOX")
    real = status_values(session, "INBOX", "MESSAGES UIDNEXT")
    done = expect_ok(session.command(f"STATUS {spelling} (MESSAGES UIDNEXT)"),
                     f"STATUS {spelling}")
    values = {att.value: value for response in done.of_type(StatusData)
              for att, value in response.attributes}
    assert values == real, f"STATUS {spelling} gives {values}, STATUS INBOX {real}"


@pytest.mark.requirement(rfc=9051, section="2.2.2", level="SHOULD", ids=("RFC9051-2.2.2-3",))
@pytest.mark.parametrize("command", ["NOOP\tX", "FETCH  1 (FLAGS)", "FETCH 1  (FLAGS)"])
def test_extra_or_tab_spaces_are_bad(loaded: Loaded, command: str) -> None:
    """§9: "In all cases, SP refers to exactly one space. It is NOT permitted to
    substitute TAB, insert additional spaces, or otherwise treat SP as being equivalent
    to linear whitespace"; such a command "SHOULD be rejected and the client given a BAD
    server completion response" (§2.2.2)."""
    expect_bad(loaded.driver.command(command), f"{command!r}")


@pytest.mark.requirement(rfc=9051, section="7.1.3", level="SHOULD")
def test_empty_line_is_bad(loaded: Loaded) -> None:
    """§7.1.3: the untagged BAD "indicates a protocol-level error for which the associated
    command can not be determined", e.g. "* BAD Empty command line"; the connection stays
    usable."""
    imap = loaded.driver
    imap.send(b"\r\n")
    responses, found = read_until(imap, lambda r: isinstance(r, StatusResponse)
                                  and r.condition is Condition.BAD, timeout=5.0)
    assert found, f"an empty command line got no BAD within 5 s ({responses})"
    expect_ok(imap.command("NOOP"), "NOOP after the empty line")
