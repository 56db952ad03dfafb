"""RFC 9051 §6.3.9 LIST (patterns "*" and "%", the empty pattern for the delimiter, the
extended syntax's options), §6.3.7-6.3.8 SUBSCRIBE/UNSUBSCRIBE, RFC 3501 §6.3.9 LSUB
(IMAP4rev1), §6.3.10 NAMESPACE (RFC 2342), §7.3.1 the LIST response."""

from __future__ import annotations

import re

import pytest

from conformance.drivers.imap import ImapDriver, quote
from conformance.suites.imap.support import (
    Scratch,
    expect_bad,
    expect_ok,
    list_names,
    only,
)
from reference.imap.responses import ListData, LsubData, NamespaceData

pytestmark = pytest.mark.protocol("imap")


def _matches(name: str, pattern: str, delimiter: str | None) -> bool:
    """§6.3.9: "*" matches zero or more characters; "%" the same except the hierarchy
    delimiter. INBOX is matched case-insensitively (§5.1)."""
    regex = ""
    for char in pattern:
        if char == "*":
            regex += ".*"
        elif char == "%":
            regex += f"[^{re.escape(delimiter)}]*" if delimiter else ".*"
        else:
            regex += re.escape(char)
    candidate = name
    if name.upper() == "INBOX" or name.upper().startswith("INBOX" + (delimiter or "")):
        candidate = "INBOX" + name[5:]
    return re.fullmatch(regex, candidate) is not None


@pytest.mark.requirement(rfc=9051, section="6.3.9", level="MUST")
@pytest.mark.requirement(rfc=3501, section="6.3.8", level="MUST")
def test_list_empty_pattern_gives_delimiter(session: ImapDriver) -> None:
    """§6.3.9: "an empty ("" string) mailbox name argument is a special request to return
    the hierarchy delimiter and the root name of the name given in the reference ... In
    all cases, a hierarchy delimiter (or NIL if there is no hierarchy) is returned." The
    one LIST response is \\Noselect (§6.3.9.8 example 1)."""
    done = expect_ok(session.command('LIST "" ""'), 'LIST "" ""')
    response = only(done.of_type(ListData), 'LIST response to LIST "" ""')
    assert response.mailbox == "", (
        f'LIST "" "": the root name for an empty reference is "", got {response.mailbox!r}')
    assert {a.upper() for a in response.attributes} & {"\\NOSELECT"}, (
        f'LIST "" "": the root is not selectable, but its attributes are '
        f"{response.attributes}")


@pytest.mark.requirement(rfc=9051, section="6.3.9", level="MUST", ids=("RFC9051-6.3.9-4",))
@pytest.mark.requirement(rfc=3501, section="6.3.8", level="MUST", ids=("RFC3501-6.3.8-3",))
def test_list_star_finds_everything_and_only_matches(session: ImapDriver,
                                                     scratch: Scratch) -> None:
    """§6.3.9: "*" matches zero or more characters, delimiters included; "The returned
    mailbox names MUST match the supplied mailbox name pattern(s)"; INBOX is listed when
    it matches (§6.3.9 "The special name INBOX is included in the output")."""
    parent = scratch.create(session, "list")
    child = scratch.child(session, parent, "child")
    expect_ok(session.create(child), f"CREATE {child}")
    everything = list_names(session, "", "*")
    assert any(n.upper() == "INBOX" for n in everything), (
        f'LIST "" "*" does not list INBOX: {sorted(everything)[:20]}')
    assert parent in everything and child in everything, (
        f'LIST "" "*" lacks {parent} or {child}')
    pattern = parent + "*"
    listed = list_names(session, "", pattern)
    assert set(listed) >= {parent, child}, (
        f'LIST "" "{pattern}": expected {parent} and {child}, got {sorted(listed)}')
    delimiter = scratch.namespace(session).delimiter
    wrong = [n for n in listed if not _matches(n, pattern, delimiter)]
    assert not wrong, f'LIST "" "{pattern}" returned names that do not match: {wrong}'


@pytest.mark.requirement(rfc=9051, section="6.3.9", level="MUST", ids=("RFC9051-6.3.9-4",))
@pytest.mark.requirement(rfc=3501, section="6.3.8", level="MUST", ids=("RFC3501-6.3.8-3",))
def test_list_percent_stops_at_the_delimiter(session: ImapDriver, scratch: Scratch) -> None:
    """§6.3.9: "The character "%" is similar to "*", but it does not match a hierarchy
    delimiter": "parent%" lists the parent, not its child; "parent/%" the child only."""
    parent = scratch.create(session, "percent")
    child = scratch.child(session, parent, "child")
    grandchild = scratch.child(session, child, "deeper")
    expect_ok(session.create(grandchild), f"CREATE {grandchild}")
    if not list_names(session, "", child):
        expect_ok(session.create(child), f"CREATE {child}")
    delimiter = scratch.namespace(session).delimiter
    assert delimiter is not None
    top = list_names(session, "", parent + "%")
    assert parent in top, f'LIST "" "{parent}%" lacks {parent}: {sorted(top)}'
    assert child not in top and grandchild not in top, (
        f'LIST "" "{parent}%" matched across the delimiter {delimiter!r}: {sorted(top)}')
    level = list_names(session, "", parent + delimiter + "%")
    assert set(level) == {child}, (
        f'LIST "" "{parent}{delimiter}%": expected exactly {child}, got {sorted(level)}')


@pytest.mark.requirement(rfc=9051, section="7.3.1", level="MUST", ids=("RFC9051-7.3.1-9",))
def test_list_delimiter_is_consistent(session: ImapDriver, scratch: Scratch) -> None:
    """§7.3.1: "All children of a top-level hierarchy node MUST use the same separator
    character", the one LIST "" "" reports."""
    parent = scratch.create(session, "delim")
    child = scratch.child(session, parent, "child")
    expect_ok(session.create(child), f"CREATE {child}")
    delimiter = scratch.namespace(session).delimiter
    listed = list_names(session, "", parent + "*")
    for name in (parent, child):
        assert listed[name].delimiter == delimiter, (
            f"LIST gives {name} the delimiter {listed[name].delimiter!r}; LIST \"\" \"\" "
            f"gave {delimiter!r}")


@pytest.mark.requirement(rfc=9051, section="6.3.9", level="MUST", ids=("RFC9051-6.3.9-17",))
@pytest.mark.needs("LIST-EXTENDED|IMAP4rev2")
def test_list_unknown_option_is_bad(session: ImapDriver) -> None:
    """§6.3.9 (RFC 5258 §3): "A server MUST respond to options it does not recognize with
    a BAD response." """
    expect_bad(session.command('LIST (X-CONFORMANCE-UNKNOWN) "" "*"'),
               "LIST with an unknown selection option")


@pytest.mark.requirement(rfc=9051, section="6.3.9.1", level="MUST",
                         ids=("RFC9051-6.3.9.1-4", "RFC9051-6.3.9.1-5"))
@pytest.mark.needs("LIST-EXTENDED|IMAP4rev2")
def test_list_recursivematch_alone_is_bad(session: ImapDriver) -> None:
    """§6.3.9.1: "The RECURSIVEMATCH option MUST NOT occur as the only selection option
    ... The server MUST return a BAD tagged response in such case." """
    expect_bad(session.command('LIST (RECURSIVEMATCH) "" "*"'),
               "LIST (RECURSIVEMATCH) without another selection option")


@pytest.mark.requirement(rfc=9051, section="6.3.7", level="MUST")
@pytest.mark.requirement(rfc=9051, section="6.3.9.1", level="MUST",
                         ids=("RFC9051-6.3.9.1-1", "RFC9051-6.3.9.1-2"))
@pytest.mark.needs("LIST-EXTENDED|IMAP4rev2")
def test_subscribe_and_list_subscribed(session: ImapDriver, scratch: Scratch) -> None:
    """§6.3.7 SUBSCRIBE adds the name to the subscribed set "as returned by the LIST
    (SUBSCRIBED) command"; §6.3.9.1: that list "MUST include exactly those mailbox names
    that match the canonical list pattern and are subscribed to", each with
    \\Subscribed; UNSUBSCRIBE (§6.3.8) removes it."""
    name = scratch.create(session, "subscribe")
    other = name + "-other"
    scratch.track(other)
    expect_ok(session.create(other), f"CREATE {other}")
    expect_ok(session.command(f"SUBSCRIBE {quote(name)}"), f"SUBSCRIBE {name}")
    pattern = name + "*"                            # matches both
    try:
        done = expect_ok(session.command(f'LIST (SUBSCRIBED) "" {quote(pattern)}'),
                         "LIST (SUBSCRIBED)")
        listed = {item.mailbox: item for item in done.of_type(ListData)}
        assert name in listed, f"LIST (SUBSCRIBED) lacks the subscribed {name}"
        assert other not in listed, f"LIST (SUBSCRIBED) lists the unsubscribed {other}"
        assert "\\SUBSCRIBED" in {a.upper() for a in listed[name].attributes}, (
            f"LIST (SUBSCRIBED) gives {name} no \\Subscribed attribute: "
            f"{listed[name].attributes}")
    finally:
        expect_ok(session.command(f"UNSUBSCRIBE {quote(name)}"), f"UNSUBSCRIBE {name}")
    done = expect_ok(session.command(f'LIST (SUBSCRIBED) "" {quote(pattern)}'),
                     "LIST (SUBSCRIBED) after UNSUBSCRIBE")
    assert name not in {item.mailbox for item in done.of_type(ListData)}, (
        f"LIST (SUBSCRIBED) still lists {name} after UNSUBSCRIBE")


@pytest.mark.requirement(rfc=9051, section="6.3.7", level="MUST")
@pytest.mark.requirement(rfc=9051, section="6.3.8", level="MUST")
@pytest.mark.needs("IMAP4rev2")
def test_subscribe_twice_and_unsubscribe_twice_are_ok(session: ImapDriver,
                                                      scratch: Scratch) -> None:
    """§6.3.7: SUBSCRIBE "returns a tagged OK response if the subscription is successful
    or if the mailbox is already subscribed"; §6.3.8: UNSUBSCRIBE returns OK "if the
    unsubscription is successful or if the mailbox is not subscribed"."""
    name = scratch.create(session, "subscribe-twice")
    for attempt in ("SUBSCRIBE", "SUBSCRIBE", "UNSUBSCRIBE", "UNSUBSCRIBE"):
        expect_ok(session.command(f"{attempt} {quote(name)}"), f"{attempt} {name}")


@pytest.mark.requirement(rfc=3501, section="6.3.9", level="MUST")
def test_rev1_lsub_lists_subscriptions(rev1_session: ImapDriver, scratch: Scratch) -> None:
    """RFC 3501 §6.3.9: LSUB "returns a subset of names from the set of names that the user
    has declared as being "active" or "subscribed"" (an IMAP4rev1 command; RFC 9051
    Appendix E keeps it for rev1 clients)."""
    if "IMAP4REV1" not in rev1_session.capabilities:
        pytest.skip("the target does not offer IMAP4rev1")
    name = scratch.create(rev1_session, "lsub")
    expect_ok(rev1_session.command(f"SUBSCRIBE {quote(name)}"), f"SUBSCRIBE {name}")
    try:
        done = expect_ok(rev1_session.command(f'LSUB "" {quote(name)}'), f"LSUB {name}")
        names = [item.mailbox for item in done.of_type(LsubData)]
        assert names == [name], f'LSUB "" "{name}": expected one LSUB for it, got {names}'
    finally:
        rev1_session.command(f"UNSUBSCRIBE {quote(name)}")
    done = expect_ok(rev1_session.command(f'LSUB "" {quote(name)}'), "LSUB after UNSUBSCRIBE")
    assert not done.of_type(LsubData), f"LSUB still lists {name} after UNSUBSCRIBE"


@pytest.mark.requirement(rfc=9051, section="6.3.10", level="MUST", ids=("RFC9051-6.3.10-1",))
def test_namespace(session: ImapDriver) -> None:
    """§6.3.10: "The NAMESPACE command causes a single untagged NAMESPACE response to be
    returned" (RFC 2342 for IMAP4rev1 servers advertising NAMESPACE); the personal
    namespace's delimiter is the one LIST reports for it."""
    if not ({"NAMESPACE", "IMAP4REV2"} & session.capabilities):
        pytest.skip("UNSUPPORTED: neither NAMESPACE nor IMAP4rev2 is advertised")
    done = expect_ok(session.command("NAMESPACE"), "NAMESPACE")
    response = only(done.of_type(NamespaceData), "untagged NAMESPACE response")
    if response.personal:
        first = response.personal[0]
        root = expect_ok(session.command(f'LIST {quote(first.prefix)} ""'),
                         f'LIST "{first.prefix}" ""')
        lists = root.of_type(ListData)
        if lists:
            assert lists[0].delimiter == first.delimiter, (
                f"NAMESPACE gives the personal namespace the delimiter {first.delimiter!r}, "
                f"LIST gives {lists[0].delimiter!r}")


@pytest.mark.requirement(rfc=9051, section="6.3.9", level="MUST", ids=("RFC9051-6.3.9-12",))
def test_list_unaccepted_pattern_is_silently_empty(session: ImapDriver) -> None:
    """§6.3.9: "Any syntactically valid pattern that is not accepted by a server for any
    reason MUST be silently ignored, i.e., it results in no LIST responses, and the LIST
    command still returns a tagged OK response." A pattern nothing matches: OK, nothing
    listed."""
    done = expect_ok(session.command('LIST "" "conformance-no-such-%-name-*-x"'),
                     "LIST with a pattern that matches nothing")
    assert not done.of_type(ListData), (
        f"LIST with a pattern nothing matches returned {done.of_type(ListData)}")

