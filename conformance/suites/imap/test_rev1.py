"""RFC 9051 Appendix E and §7.2.2: a client that does not "ENABLE IMAP4rev2" on a server
advertising IMAP4rev1 gets RFC 3501 behaviour ("server responses MUST conform to [RFC3501]
until the client issues a command that uses an additional capability"): the untagged
SEARCH response, the RFC822, RFC822.HEADER and RFC822.TEXT FETCH items, CHECK, STATUS
RECENT."""

from __future__ import annotations

import pytest

from conformance.drivers.imap import ImapDriver
from conformance.suites.imap import messages
from conformance.suites.imap.conftest import KNOWN
from conformance.suites.imap.support import (
    Loaded,
    Scratch,
    expect_ok,
    fetched,
    flag_set,
    load,
    one_fetch,
    only,
    status_values,
)
from reference.imap.responses import EsearchData, SearchData

pytestmark = [pytest.mark.protocol("imap"), pytest.mark.needs("IMAP4rev1")]


@pytest.fixture
def rev1(rev1_session: ImapDriver, scratch: Scratch) -> Loaded:
    """The known messages, selected by an IMAP4rev1 client (nothing ENABLEd)."""
    return load(rev1_session, scratch.create(rev1_session, "rev1"), KNOWN)


@pytest.mark.requirement(rfc=9051, section="7.2.2", level="MUST", ids=("RFC9051-7.2.2-5",))
@pytest.mark.requirement(rfc=3501, section="6.4.4", level="MUST", ids=("RFC3501-6.4.4-2",))
def test_rev1_search_answers_search(rev1: Loaded) -> None:
    """RFC 3501 §6.4.4: "REQUIRED untagged response: SEARCH" — not ESEARCH, which a rev1
    client has not asked for (RFC 9051 §7.2.2 MUST conform to RFC 3501)."""
    for command, expected in (("SEARCH UNSEEN", (1, 3)),
                              ("UID SEARCH UNSEEN", (rev1.uids[0], rev1.uids[2])),
                              ('SEARCH SUBJECT "no such subject"', ())):
        done = expect_ok(rev1.driver.command(command), command)
        assert not done.of_type(EsearchData), (
            f"{command} from an IMAP4rev1 client was answered with ESEARCH")
        response = only(done.of_type(SearchData), f"untagged SEARCH response to {command}")
        assert tuple(sorted(response.numbers)) == expected, (
            f"{command}: SEARCH {response.numbers}, expected {expected}")


@pytest.mark.requirement(rfc=3501, section="6.4.5", level="MUST")
def test_rev1_fetch_rfc822_items(rev1: Loaded) -> None:
    """RFC 3501 §6.4.5: RFC822.HEADER is BODY.PEEK[HEADER], RFC822.TEXT is BODY[TEXT],
    RFC822 is BODY[] ("RFC822 ... Functionally equivalent to BODY[]"), RFC822.SIZE the
    size; RFC822 and RFC822.TEXT set \\Seen."""
    done = expect_ok(rev1.driver.command("FETCH 3 (RFC822.HEADER RFC822.SIZE)"),
                     "FETCH 3 (RFC822.HEADER RFC822.SIZE)")
    view = one_fetch(done, 3)
    assert view.rfc822.get("RFC822.HEADER") == messages.MULTIPART.header, (
        f"RFC822.HEADER: got {view.rfc822.get('RFC822.HEADER')!r}")
    assert view.size == len(messages.MULTIPART.raw), f"RFC822.SIZE {view.size}"
    flags = one_fetch(expect_ok(rev1.driver.command("FETCH 3 (FLAGS)"), "FETCH FLAGS"), 3)
    assert "\\SEEN" not in flag_set(flags.flags or ()), "RFC822.HEADER set \\Seen"
    done = expect_ok(rev1.driver.command("FETCH 3 (RFC822.TEXT)"), "FETCH 3 (RFC822.TEXT)")
    assert one_fetch(done, 3).rfc822.get("RFC822.TEXT") == messages.MULTIPART.text, (
        "RFC822.TEXT is not BODY[TEXT]")
    done = expect_ok(rev1.driver.command("FETCH 1 (RFC822)"), "FETCH 1 (RFC822)")
    assert one_fetch(done, 1).rfc822.get("RFC822") == messages.SIMPLE.raw, (
        "RFC822 is not BODY[]")
    views = fetched(expect_ok(rev1.driver.command("FETCH 1,3 (FLAGS)"), "FETCH 1,3 (FLAGS)"))
    for msn in (1, 3):
        assert "\\SEEN" in flag_set(views[msn].flags or ()), (
            f"FETCH RFC822{'.TEXT' if msn == 3 else ''} did not set \\Seen on message {msn}")


@pytest.mark.requirement(rfc=3501, section="6.4.1", level="MUST")
def test_rev1_check(rev1: Loaded) -> None:
    """RFC 3501 §6.4.1: CHECK "requests a checkpoint of the currently selected mailbox"
    (removed in IMAP4rev2, Appendix E); OK for a rev1 client."""
    expect_ok(rev1.driver.command("CHECK"), "CHECK")


@pytest.mark.requirement(rfc=3501, section="6.3.10", level="MUST")
def test_rev1_status_recent(rev1_session: ImapDriver, scratch: Scratch) -> None:
    """RFC 3501 §6.3.10: the STATUS data item RECENT, "The number of messages with the
    \\Recent flag set" (deprecated by IMAP4rev2, still valid for a rev1 client)."""
    name = scratch.create(rev1_session, "rev1-recent")
    expect_ok(rev1_session.append(name, messages.plain("recent")), f"APPEND to {name}")
    values = status_values(rev1_session, name, "MESSAGES RECENT")
    assert values.get("MESSAGES") == 1 and isinstance(values.get("RECENT"), int), (
        f"STATUS (MESSAGES RECENT) from a rev1 client: {values}")
    assert values["RECENT"] in (0, 1)


@pytest.mark.requirement(rfc=9051, section="7.2.2", level="MUST", ids=("RFC9051-7.2.2-5",))
@pytest.mark.needs("IMAP4rev2")
def test_enable_imap4rev2_switches_search(imap_login: ImapDriver, scratch: Scratch) -> None:
    """§7.2.2: responses conform to RFC 3501 "until the client issues a command that uses
    an additional capability. (For example, the client can issue ENABLE IMAP4rev2 to enable
    IMAP4rev2-specific behavior.)": after it, SEARCH is answered with ESEARCH alone (the
    contrast of test_rev1_search_answers_search)."""
    expect_ok(imap_login.command("ENABLE IMAP4rev2"), "ENABLE IMAP4rev2")
    load(imap_login, scratch.create(imap_login, "rev2-switch"), KNOWN)
    done = expect_ok(imap_login.command("SEARCH UNSEEN"), "SEARCH UNSEEN after ENABLE")
    assert done.of_type(EsearchData) and not done.of_type(SearchData), (
        "after ENABLE IMAP4rev2, SEARCH was not answered with ESEARCH alone")
