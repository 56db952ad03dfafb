"""RFC 9051 session rules that need a little more set-up: §2.3.1.1 UIDs after changes
seen from a later session, §4.3.1/§7.5.2/§9 binary octets only in literal8, §6.2.2 an
initial response with a mechanism that has none, §6.3.4/§6.3.6 unsolicited LIST of an
automatically subscribed mailbox, §7.1 PERMANENTFLAGS when a keyword limit is reached,
§7.2.2 an IMAP4rev2-only server's responses."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable

import pytest

from conformance.drivers.imap import ImapDriver, quote
from conformance.suites.imap.support import (
    Loaded,
    Scratch,
    code_of,
    expect_bad,
    expect_ok,
    fetched,
    load,
    untagged_codes,
)
from reference.imap.response_data import EsearchData, ListData, RecentData, SearchData
from reference.imap.responses import Condition, StatusResponse

pytestmark = pytest.mark.protocol("imap")


@pytest.mark.requirement(rfc=9051, section="2.3.1.1", level="MUST", ids=("RFC9051-2.3.1.1-6",))
def test_uids_after_changes_seen_from_a_later_session(
        loaded: Loaded, another: Callable[[], ImapDriver]) -> None:
    """§2.3.1.1: "If unique identifiers from an earlier session fail to persist in this
    session, the unique identifier validity value MUST be greater than the one used in
    the earlier session": after an EXPUNGE and an APPEND, the first session ends; a new
    one sees the UIDs the first knew, or a greater UIDVALIDITY."""
    imap = loaded.driver
    expect_ok(imap.command("STORE 2 +FLAGS.SILENT (\\Deleted)"), "STORE 2 +FLAGS (\\Deleted)")
    expect_ok(imap.command("EXPUNGE"), "EXPUNGE")
    expect_ok(imap.append(loaded.name, b"Subject: later\r\n\r\nbody\r\n"), "APPEND")
    views = fetched(expect_ok(imap.command("FETCH 1:* (UID)"), "FETCH 1:* (UID)"))
    known = [views[msn].uid for msn in sorted(views)]
    imap.logout()
    later = another()
    again = load(later, loaded.name, [])
    views = fetched(expect_ok(later.command("FETCH 1:* (UID)"), "FETCH 1:* (UID), later"))
    seen = [views[msn].uid for msn in sorted(views)]
    if again.uidvalidity == loaded.uidvalidity:
        assert seen == known, (
            f"UIDVALIDITY {again.uidvalidity} is unchanged, but the UIDs were {known} and "
            f"a later session sees {seen}")
    else:
        assert again.uidvalidity > loaded.uidvalidity, (
            f"the UIDs changed and UIDVALIDITY went from {loaded.uidvalidity} down to "
            f"{again.uidvalidity}")


NUL = b"\x00"


def _nul_outside_literal8(raw: bytes) -> list[str]:
    """Where NUL octets are, outside the payload of a literal8 ("~{n}" CRLF *OCTET)."""
    problems = []
    position = 0
    header = re.compile(rb"(~?)\{(\d+)\+?\}\r\n")
    while position < len(raw):
        match = header.search(raw, position)
        end = match.start() if match else len(raw)
        if NUL in raw[position:end]:
            problems.append(f"NUL at octet {raw.index(NUL, position)} outside literals")
        if match is None:
            break
        payload_start, size = match.end(), int(match.group(2))
        payload = raw[payload_start:payload_start + size]
        if not match.group(1) and NUL in payload:
            problems.append(f"NUL in the {{{size}}} literal at octet {payload_start} "
                            "(only a literal8 may carry one)")
        position = payload_start + size
    return problems


@pytest.mark.requirement(rfc=9051, section="4.3.1", level="MUST", ids=("RFC9051-4.3.1-4",))
@pytest.mark.requirement(rfc=9051, section="7.5.2", level="MUST", ids=("RFC9051-7.5.2-10",))
@pytest.mark.requirement(rfc=9051, section="9", level="MUST NOT", ids=("RFC9051-9-4",))
@pytest.mark.requirement(rfc=3501, section="4.3.1", level="MUST", ids=("RFC3501-4.3.1-2",))
@pytest.mark.requirement(rfc=3501, section="7.4.2", level="MUST", ids=("RFC3501-7.4.2-5",))
@pytest.mark.requirement(rfc=3501, section="9", level="MUST NOT", ids=("RFC3501-9-4",))
def test_binary_octets_only_in_literal8(loaded: Loaded) -> None:
    """§4.3.1: "Unless returned in response to BINARY.PEEK[...]/BINARY[...] FETCH, client
    and server implementations MUST encode binary data into a textual form"; §9: "The
    ASCII NUL character, %x00, MUST NOT be used anywhere, with the exception of the OCTET
    production" (literal8): the base64 attachment of the multipart message (octets 0-31)
    travels encoded in BODY[] and BODY[2], and its NULs only inside a literal8 of
    BINARY[2] (where the target has BINARY)."""
    items = "BODY.PEEK[] BODY.PEEK[2] BODYSTRUCTURE"
    caps = loaded.driver.capabilities
    if "BINARY" in caps or "IMAP4REV2" in caps:
        items += " BINARY.PEEK[2]"
    done = expect_ok(loaded.driver.command(f"FETCH 3 ({items})"), f"FETCH 3 ({items})")
    problems = _nul_outside_literal8(done.raw)
    assert not problems, f"FETCH 3 ({items}): " + "; ".join(problems)
    view = fetched(done)[3]
    part = view.section("2")
    assert part is not None and b"\x00" not in part and base64.b64decode(part) == bytes(
        range(32)), f"BODY[2] is not the base64 text of octets 0-31: {part!r}"


@pytest.mark.requirement(rfc=9051, section="6.2.2", level="MUST", ids=("RFC9051-6.2.2-9",))
@pytest.mark.needs("SASL-IR|IMAP4rev2")
def test_initial_response_with_a_server_first_mechanism_is_bad(imap: ImapDriver) -> None:
    """§6.2.2: "If the client uses an initial response with a SASL mechanism that does
    not support an initial response, the server MUST reject the command with a tagged BAD
    response" (CRAM-MD5 and DIGEST-MD5 begin with the server's challenge)."""
    mechanism = next((m for m in ("CRAM-MD5", "DIGEST-MD5")
                      if f"AUTH={m}" in imap.capabilities), None)
    if mechanism is None:
        pytest.skip("UNSUPPORTED: no server-first SASL mechanism (CRAM-MD5, DIGEST-MD5) "
                    "is advertised")
    initial = base64.b64encode(b"conformance initial response").decode()
    expect_bad(imap.command(f"AUTHENTICATE {mechanism} {initial}"),
               f"AUTHENTICATE {mechanism} with an initial response")


def _subscribed(driver: ImapDriver, name: str) -> bool:
    done = expect_ok(driver.command(f'LIST (SUBSCRIBED) "" {quote(name)}'),
                     f"LIST (SUBSCRIBED) {name}")
    return any(item.mailbox == name for item in done.of_type(ListData))


@pytest.mark.requirement(rfc=9051, section="6.3.4", level="MUST", ids=("RFC9051-6.3.4-5",))
@pytest.mark.requirement(rfc=9051, section="6.3.6", level="MUST", ids=("RFC9051-6.3.6-8",))
@pytest.mark.needs("LIST-EXTENDED|IMAP4rev2")
def test_unsolicited_list_of_an_autosubscribed_mailbox(session: ImapDriver,
                                                       scratch: Scratch) -> None:
    """§6.3.4 (CREATE) and §6.3.6 (RENAME): "if the server automatically subscribes a
    mailbox when it is created [renamed], then the unsolicited LIST response for each
    affected subscribed mailbox name MUST include the \\Subscribed attribute"."""
    name = scratch.name(session, "autosub")
    created = expect_ok(session.create(name), f"CREATE {name}")
    if not _subscribed(session, name):
        pytest.skip("UNSUPPORTED: the target does not subscribe a mailbox it creates")
    renamed = scratch.name(session, "autosub-renamed")
    try:
        moved = expect_ok(session.command(f"RENAME {quote(name)} {quote(renamed)}"),
                          f"RENAME {name} {renamed}")
        for what, done, mailbox in (("CREATE", created, name), ("RENAME", moved, renamed)):
            for item in done.of_type(ListData):
                if item.mailbox == mailbox and (what == "CREATE" or _subscribed(
                        session, renamed)):
                    assert "\\SUBSCRIBED" in {a.upper() for a in item.attributes}, (
                        f"{what}: the unsolicited LIST for the subscribed {mailbox} lacks "
                        f"\\Subscribed: {item.attributes}")
    finally:
        for mailbox in (name, renamed):
            session.command(f"UNSUBSCRIBE {quote(mailbox)}")


def _flags(permanent: StatusResponse) -> tuple[str, ...]:
    data = permanent.code_data
    return tuple(data) if isinstance(data, tuple) else ()


@pytest.mark.requirement(rfc=9051, section="7.1", level="MUST", ids=("RFC9051-7.1-7",))
def test_keyword_limit_reported_by_permanentflags(loaded: Loaded) -> None:
    """§7.1 PERMANENTFLAGS: "if the server has a limit on the number of different
    keywords that can be stored in a mailbox and that limit is reached, the server MUST
    send a new PERMANENTFLAGS response code without the special flag \\*": new keywords
    until 300 or a refusal; a refusal must come with (or after) that PERMANENTFLAGS."""
    imap = loaded.driver
    permanent = untagged_codes(loaded.select).get("PERMANENTFLAGS")
    if permanent is None or "\\*" not in _flags(permanent):
        pytest.skip("UNSUPPORTED: PERMANENTFLAGS has no \\* (no new keywords at all)")
    limited = False
    for batch in range(6):
        keywords = " ".join(f"kw{batch:02d}x{n:02d}" for n in range(50))
        done = imap.command(f"STORE 1 +FLAGS.SILENT ({keywords})")
        updates = [r for r in done.of_type(StatusResponse)
                   if r.tag is None and code_of(r) == "PERMANENTFLAGS"]
        limited = limited or any("\\*" not in _flags(r) for r in updates)
        if done.tagged.condition is not Condition.OK:
            assert limited, (
                f"STORE of keywords {batch * 50 + 1}-{batch * 50 + 50} refused "
                f"({done.tagged}) without a PERMANENTFLAGS response lacking \\*")
            return


@pytest.mark.requirement(rfc=9051, section="7.2.2", level="MUST", ids=("RFC9051-7.2.2-4",))
@pytest.mark.needs("IMAP4rev2")
def test_rev2_only_server_answers_by_rfc_9051(imap_login: ImapDriver,
                                              scratch: Scratch) -> None:
    """§7.2.2: "If IMAP4rev1 capability is not advertised, server responses MUST conform
    to this document until the client issues a command that uses an additional
    capability": without any ENABLE, no RECENT at SELECT and ESEARCH (not SEARCH) for
    SEARCH."""
    if "IMAP4REV1" in imap_login.capabilities:
        pytest.skip("UNSUPPORTED: IMAP4rev1 is advertised too (RFC 9051 Appendix E rules)")
    loaded = load(imap_login, scratch.create(imap_login, "rev2only"),
                  [(b"Subject: rev2\r\n\r\nbody\r\n", ())])
    assert not loaded.select.of_type(RecentData), "SELECT sent RECENT (RFC 3501 only)"
    done = expect_ok(imap_login.command("SEARCH ALL"), "SEARCH ALL")
    assert done.of_type(EsearchData) and not done.of_type(SearchData), (
        "SEARCH ALL without ENABLE on an IMAP4rev2-only server: expected ESEARCH")
