"""RFC 5258 LIST-EXTENDED, by its own requirement ids: §3 the extended syntax (empty and
unaccepted patterns, several selection options, return options that add no names, unknown
and repeated options, extended items only for an extended LIST, \\NonExistent), §3.1 the
selection options SUBSCRIBED, REMOTE and RECURSIVEMATCH, §3.2 the return options
SUBSCRIBED and CHILDREN, §3.5 CHILDINFO, §4 \\HasChildren / \\HasNoChildren, §6 the
extended item tags.

RFC 9051 §6.3.9 took these rules over; test_rfc9051_list.py checks them by RFC 9051 ids,
and its helpers (a parent with a child and a leaf, subscriptions undone after the block)
serve here too. A server that offers IMAP4rev2 without LIST-EXTENDED has the extended
LIST of RFC 9051, so ``needs("LIST-EXTENDED|IMAP4rev2")`` as there."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator

import pytest

from conformance.drivers.imap import ImapDriver, quote
from conformance.suites.imap.support import Scratch, expect_bad, expect_ok
from conformance.suites.imap.test_rfc9051_list import (
    _ITEM_TAG,
    _family,
    _has_children,
    _listed,
    _subscribed,
    _upper,
)
from reference.imap.responses import ListData

pytestmark = pytest.mark.protocol("imap")

EXTENDED = "LIST-EXTENDED|IMAP4rev2"
# Special-use attributes (RFC 6154 §2), for telling a special-use mailbox apart.
SPECIAL_USES = {"\\ALL", "\\ARCHIVE", "\\DRAFTS", "\\FLAGGED", "\\JUNK", "\\SENT", "\\TRASH"}


def _shown(listed: dict[str, ListData]) -> str:
    return "; ".join(f"{name} {item.attributes}" for name, item in listed.items()) or "nothing"


@contextlib.contextmanager
def _subscribed_then_deleted(session: ImapDriver, scratch: Scratch, name: str) -> Iterator[str]:
    """``name`` created, SUBSCRIBEd and DELETEd for the block: a subscribed name that does
    not exist (some servers cannot subscribe a name that never existed)."""
    scratch.track(name)
    expect_ok(session.create(name), f"CREATE {name}")
    with _subscribed(session, name):
        expect_ok(session.delete(name), f"DELETE {name}")
        yield name


@pytest.mark.requirement(rfc=5258, section="3", level="MUST NOT", ids=("RFC5258-3-2",))
@pytest.mark.requirement(rfc=5258, section="3", level="MUST", ids=("RFC5258-3-3",))
@pytest.mark.needs(EXTENDED)
def test_extended_list_treats_the_empty_name_as_a_pattern(session: ImapDriver,
                                                          scratch: Scratch) -> None:
    """§3: "ANY extended LIST command ... MUST NOT treat the empty mailbox name as such a
    special request" (the delimiter and root of the basic LIST "" ""): an empty pattern
    matches no mailbox, so nothing is listed; "if an extended LIST command has multiple
    mailbox names and one (or more) of them is the empty string, the empty string MUST be
    ignored for the purpose of matching"."""
    name = scratch.create(session, "empty")
    for command in ('LIST () "" ""', 'LIST "" "" RETURN ()', 'LIST "" "" RETURN (CHILDREN)',
                    'LIST (SUBSCRIBED) "" ""', 'LIST "" ("")', 'LIST "" ("" "")'):
        listed = _listed(session, command)
        assert not listed, (
            f"{command}: an extended LIST with an empty pattern lists {_shown(listed)}; "
            "only the basic LIST takes it as the request for the delimiter")
    command = f'LIST "" ("" {quote(name)})'
    listed = _listed(session, command)
    assert set(listed) == {name}, (
        f"{command}: expected exactly {name}, the empty name ignored; got {_shown(listed)}")


@pytest.mark.requirement(rfc=5258, section="3", level="MUST", ids=("RFC5258-3-4",))
@pytest.mark.needs(EXTENDED)
def test_unaccepted_patterns_are_silently_ignored(session: ImapDriver,
                                                  scratch: Scratch) -> None:
    """§3: "Some servers might restrict which patterns are allowed in a LIST command. If a
    server doesn't accept a particular pattern, it MUST silently ignore it": patterns in
    namespaces the account may not have (another user's, a shared one) give a tagged OK,
    and beside a pattern that matches, they leave its answer whole."""
    name = scratch.create(session, "ignored")
    odd = ("#conformance-no-such-namespace/*", "~conformance-nobody/*",
           "#shared/conformance-none/%", "Other Users/conformance-nobody/*")
    for pattern in odd:
        _listed(session, f'LIST "" {quote(pattern)}')        # a tagged OK, whatever it lists
    patterns = " ".join(quote(p) for p in (*odd, name))
    command = f'LIST "" ({patterns})'
    listed = _listed(session, command)
    assert name in listed, (
        f"{command}: the patterns the server does not accept must be ignored, not spoil "
        f"the others: {name} is not listed ({_shown(listed)})")


@pytest.mark.requirement(rfc=5258, section="3", level="MUST", ids=("RFC5258-3-5",))
@pytest.mark.needs(EXTENDED)
def test_several_selection_options_must_all_be_met(session: ImapDriver,
                                                   scratch: Scratch) -> None:
    """§3: "When multiple selection options are specified, the server MUST return
    information about mailbox names that satisfy every selection option": (SUBSCRIBED
    REMOTE) lists subscribed names only ("A request for (REMOTE RECURSIVEMATCH SUBSCRIBED)
    is asking for all subscribed mailboxes, both local and remote", §3.1); with
    SPECIAL-USE (RFC 6154) advertised, (SUBSCRIBED SPECIAL-USE) lists exactly the names
    both (SUBSCRIBED) and (SPECIAL-USE) list."""
    parent, child, leaf = _family(session, scratch)
    with _subscribed(session, child):
        for options in ("(SUBSCRIBED REMOTE)", "(REMOTE SUBSCRIBED)"):
            command = f'LIST {options} "" {quote(parent + "*")}'
            listed = _listed(session, command)
            assert set(listed) == {child}, (
                f"{command}: only {child} is subscribed (not {parent} nor {leaf}); "
                f"got {_shown(listed)}")
        if "SPECIAL-USE" in session.capabilities:
            subscribed = set(_listed(session, 'LIST (SUBSCRIBED) "" "*"'))
            special = set(_listed(session, 'LIST (SPECIAL-USE) "" "*"'))
            command = 'LIST (SUBSCRIBED SPECIAL-USE) "" "*"'
            both = _listed(session, command)
            assert set(both) == subscribed & special, (
                f"{command}: expected the names both subscribed and of special use "
                f"{sorted(subscribed & special)}, got {_shown(both)}")


@pytest.mark.requirement(rfc=5258, section="3", level="MUST NOT", ids=("RFC5258-3-6",))
@pytest.mark.needs(EXTENDED)
def test_return_options_never_add_names(session: ImapDriver, scratch: Scratch) -> None:
    """§3: "Note that return options MUST NOT cause the server to report information about
    additional mailbox names": neither beside a selection option ((SUBSCRIBED) with "%"
    lists nothing for an unsubscribed parent of a subscribed child) nor without one."""
    parent, child, leaf = _family(session, scratch)
    returns = ["CHILDREN", "SUBSCRIBED", "SUBSCRIBED CHILDREN"]
    if "SPECIAL-USE" in session.capabilities:
        returns.append("SPECIAL-USE")
    if {"LIST-STATUS", "IMAP4REV2"} & session.capabilities:
        returns.append("STATUS (MESSAGES)")
    pattern = quote(parent + "%")
    # Per selection: the names without return options (the child matches no "%").
    expected = {"(SUBSCRIBED) ": {leaf}, "": {parent, leaf}}
    with _subscribed(session, child, leaf):
        for selection, option in itertools.product(expected, ["", *returns]):
            command = f'LIST {selection}"" {pattern}' + (f" RETURN ({option})" if option else "")
            names = set(_listed(session, command))
            assert names == expected[selection], (
                f"{command}: lists {sorted(names)}; with no return option it must list "
                f"{sorted(expected[selection])}, and never {child}")


@pytest.mark.requirement(rfc=5258, section="3", level="MUST", ids=("RFC5258-3-8",))
@pytest.mark.needs(EXTENDED)
def test_unknown_options_are_answered_bad(session: ImapDriver) -> None:
    """§3: "A server MUST respond to options it does not recognize with a BAD response":
    an unknown selection option, an unknown return option, an unknown vendor option (§9.2
    vendor-token), each alone and beside known ones."""
    for command in ('LIST (X-CONFORMANCE-UNKNOWN) "" "*"',
                    'LIST (SUBSCRIBED X-CONFORMANCE-UNKNOWN) "" "*"',
                    'LIST "" "*" RETURN (X-CONFORMANCE-UNKNOWN)',
                    'LIST "" "*" RETURN (CHILDREN X-CONFORMANCE-UNKNOWN)',
                    'LIST (vendor.conformance-unknown) "" "*"',
                    'LIST "" "*" RETURN (vendor.conformance-unknown)'):
        expect_bad(session.command(command), f"{command} (an option the server cannot know)")


@pytest.mark.requirement(rfc=5258, section="3", level="MUST", ids=("RFC5258-3-9",))
@pytest.mark.needs(EXTENDED)
def test_an_option_given_twice_acts_once(session: ImapDriver, scratch: Scratch) -> None:
    """§3: "if the client does this [specifies an option more than once], the server MUST
    act as if it received the option only once": the same responses, each name once."""
    parent, child, _ = _family(session, scratch)
    pattern = quote(parent + "%")
    pairs = [("(SUBSCRIBED)", "(SUBSCRIBED SUBSCRIBED)"),
             ("(SUBSCRIBED RECURSIVEMATCH)", "(RECURSIVEMATCH SUBSCRIBED RECURSIVEMATCH)"),
             ("(REMOTE)", "(REMOTE REMOTE)"),
             ("RETURN (CHILDREN)", "RETURN (CHILDREN CHILDREN)"),
             ("RETURN (SUBSCRIBED)", "RETURN (SUBSCRIBED SUBSCRIBED)")]
    with _subscribed(session, child):
        for once, twice in pairs:
            answers = []
            for options in (once, twice):
                command = (f'LIST "" {pattern} {options}' if options.startswith("RETURN")
                           else f'LIST {options} "" {pattern}')
                done = expect_ok(session.command(command), command)
                items = done.of_type(ListData)
                names = [item.mailbox for item in items]
                assert len(names) == len(set(names)), f"{command}: a name twice in {names}"
                answers.append({(item.mailbox, frozenset(_upper(item.attributes)),
                                 item.child_info, item.extensions) for item in items})
            assert answers[0] == answers[1], (
                f"{twice} answers {sorted(answers[1], key=str)}, but {once} answers "
                f"{sorted(answers[0], key=str)}")


@pytest.mark.requirement(rfc=5258, section="3", level="MUST NOT", ids=("RFC5258-3-12",))
def test_basic_list_carries_no_extended_items(rev1_session: ImapDriver,
                                              scratch: Scratch) -> None:
    """§3: "The server MUST NOT return any extended data item unless the client has
    expressed its ability to support extended LIST responses, for example, by using an
    extended LIST command": an IMAP4rev1 client's basic LIST (nothing ENABLEd; an
    IMAP4rev2 client takes mbox-list-extended by RFC 9051) gets none, even where an
    extended LIST would carry CHILDINFO or OLDNAME."""
    session = rev1_session
    if "IMAP4REV1" not in session.capabilities:
        pytest.skip("UNSUPPORTED: the target offers no IMAP4rev1, whose LIST responses "
                    "have no extended items")
    parent, child, leaf = _family(session, scratch)
    renamed = leaf + "-renamed"
    scratch.track(renamed)
    expect_ok(session.command(f"RENAME {quote(leaf)} {quote(renamed)}"), f"RENAME {leaf}")
    with _subscribed(session, child):
        for command in (f'LIST "" {quote(parent + "%")}', f'LIST "" {quote(parent + "*")}',
                        f'LIST "" {quote(renamed)}', 'LIST "" "*"', 'LIST "" "%"'):
            done = expect_ok(session.command(command), command)
            carrying = [f"{item.mailbox}: {item.child_info or item.old_name or item.extensions}"
                        for item in done.of_type(ListData)
                        if item.child_info is not None or item.old_name is not None
                        or item.extensions]
            assert not carrying, f"{command} (basic LIST): extended data items on {carrying}"


@pytest.mark.requirement(rfc=5258, section="3", level="MUST", ids=("RFC5258-3-15",))
@pytest.mark.needs(EXTENDED)
def test_nonexistent_is_accurate(session: ImapDriver, scratch: Scratch) -> None:
    """§3: "The "\\NonExistent" attribute MUST be supported and MUST be accurately
    computed": with (SUBSCRIBED) an existing subscribed mailbox is not \\NonExistent; a
    subscribed name whose mailbox was deleted, when listed, is; and with
    (SUBSCRIBED RECURSIVEMATCH) an existing parent returned for its CHILDINFO is not."""
    parent, child, _ = _family(session, scratch)
    with _subscribed(session, child), \
            _subscribed_then_deleted(session, scratch, parent + "-gone") as gone:
        command = f'LIST (SUBSCRIBED) "" {quote(parent + "*")}'
        listed = _listed(session, command)
        assert child in listed, f"{command}: the subscribed {child} is not listed"
        assert "\\NONEXISTENT" not in _upper(listed[child].attributes), (
            f"{command}: {child} exists, yet is {listed[child].attributes}")
        if gone in listed:
            assert "\\NONEXISTENT" in _upper(listed[gone].attributes), (
                f"{command}: {gone} was deleted, yet is listed {listed[gone].attributes} "
                "without \\NonExistent")
        command = f'LIST (SUBSCRIBED RECURSIVEMATCH) "" {quote(parent)}'
        listed = _listed(session, command)
        assert parent in listed, f"{command}: {parent} (parent of {child}) is not listed"
        assert "\\NONEXISTENT" not in _upper(listed[parent].attributes), (
            f"{command}: {parent} exists, yet is {listed[parent].attributes}")


@pytest.mark.requirement(rfc=5258, section="3.1", level="MUST",
                         ids=("RFC5258-3.1-1", "RFC5258-3.1-3"))
@pytest.mark.needs(EXTENDED)
def test_subscribed_selection_lists_exactly_the_subscribed(session: ImapDriver,
                                                           scratch: Scratch) -> None:
    """§3.1 SUBSCRIBED: "the list MUST include exactly those mailbox names that match the
    canonical list pattern and are subscribed to", and "The "\\Subscribed" attribute MUST
    be supported and MUST be accurately computed when the SUBSCRIBED selection option is
    specified": the subscribed parent and leaf, not the unsubscribed child, each
    \\Subscribed; a subscribed name since deleted, if listed, \\Subscribed too."""
    parent, child, leaf = _family(session, scratch)
    with _subscribed(session, parent, leaf), \
            _subscribed_then_deleted(session, scratch, parent + "-gone") as gone:
        for pattern in (parent + "*", parent + "%"):
            command = f'LIST (SUBSCRIBED) "" {quote(pattern)}'
            listed = _listed(session, command)
            assert {parent, leaf} <= set(listed) <= {parent, leaf, gone}, (
                f"{command}: expected {parent} and {leaf} (and {gone} if the server "
                f"keeps its subscription), not {child}; got {_shown(listed)}")
            unflagged = [n for n, item in listed.items()
                         if "\\SUBSCRIBED" not in _upper(item.attributes)]
            assert not unflagged, f"{command}: without \\Subscribed: {unflagged}"


@pytest.mark.requirement(rfc=5258, section="3.1", level="MUST", ids=("RFC5258-3.1-4",))
@pytest.mark.needs(EXTENDED)
def test_remote_option_flags_no_local_mailbox(session: ImapDriver, scratch: Scratch) -> None:
    """§3.1 REMOTE: "The "\\Remote" attribute MUST be accurately computed when the REMOTE
    option is specified": the local mailboxes this session just created are all listed,
    none \\Remote, alone and with (REMOTE SUBSCRIBED)."""
    parent, child, leaf = _family(session, scratch)
    with _subscribed(session, leaf):
        for options, expected in (("(REMOTE)", {parent, child, leaf}),
                                  ("(REMOTE SUBSCRIBED)", {leaf})):
            command = f'LIST {options} "" {quote(parent + "*")}'
            listed = _listed(session, command)
            assert set(listed) == expected, (
                f"{command}: expected {sorted(expected)}, got {_shown(listed)}")
            remote = [n for n, item in listed.items() if "\\REMOTE" in _upper(item.attributes)]
            assert not remote, f"{command}: local mailboxes flagged \\Remote: {remote}"


@pytest.mark.requirement(rfc=5258, section="3.1", level="MUST NOT", ids=("RFC5258-3.1-5",))
@pytest.mark.requirement(rfc=5258, section="3.1", level="MUST", ids=("RFC5258-3.1-6",))
@pytest.mark.needs(EXTENDED)
def test_recursivematch_without_a_base_option_is_bad(session: ImapDriver) -> None:
    """§3.1: "The RECURSIVEMATCH option MUST NOT occur as the only selection option (or
    only with REMOTE) ... The server MUST return BAD tagged response in such case." """
    for options in ("(RECURSIVEMATCH)", "(REMOTE RECURSIVEMATCH)", "(RECURSIVEMATCH REMOTE)",
                    "(RECURSIVEMATCH RECURSIVEMATCH)"):
        command = f'LIST {options} "" "*"'
        expect_bad(session.command(command), f"{command} (no base selection option)")


@pytest.mark.requirement(rfc=5258, section="3.2", level="MUST",
                         ids=("RFC5258-3.2-1", "RFC5258-3.2-2"))
@pytest.mark.needs(EXTENDED)
def test_subscribed_return_option_is_accurate(session: ImapDriver, scratch: Scratch) -> None:
    """§3.2 SUBSCRIBED: "The "\\Subscribed" attribute MUST be supported and MUST be
    accurately computed when the SUBSCRIBED return option is specified. Further, all
    mailbox flags MUST be accurately computed (this differs from the behavior of the LSUB
    command)": \\Subscribed on the subscribed child and leaf only; the unsubscribed parent
    with a subscribed child is no \\Noselect (LSUB's meaning) nor \\NonExistent, and the
    children attributes are right."""
    parent, child, leaf = _family(session, scratch)
    with _subscribed(session, child, leaf):
        for pattern in (parent + "*", parent + "%"):
            command = f'LIST "" {quote(pattern)} RETURN (SUBSCRIBED CHILDREN)'
            listed = _listed(session, command)
            expected = {parent, child, leaf} if pattern.endswith("*") else {parent, leaf}
            assert set(listed) == expected, (
                f"{command}: expected {sorted(expected)}, got {_shown(listed)}")
            flagged = {n for n, item in listed.items()
                       if "\\SUBSCRIBED" in _upper(item.attributes)}
            assert flagged == expected - {parent}, (
                f"{command}: \\Subscribed on {sorted(flagged)}, subscribed are "
                f"{sorted(expected - {parent})}")
            wrong = _upper(listed[parent].attributes) & {"\\NOSELECT", "\\NONEXISTENT"}
            assert not wrong, (
                f"{command}: {parent} exists and is selectable, yet is {sorted(wrong)}")
            children = {n: _has_children(item) for n, item in listed.items()}
            assert children == {n: n == parent for n in expected}, (
                f"{command}: children per name {children} ({_shown(listed)})")


@pytest.mark.requirement(rfc=5258, section="3.2", level="MUST", ids=("RFC5258-3.2-3",))
@pytest.mark.requirement(rfc=5258, section="4", level="MUST",
                         ids=("RFC5258-4-2", "RFC5258-4-4"))
@pytest.mark.needs(EXTENDED)
def test_children_return_option_is_supported_and_accurate(session: ImapDriver,
                                                          scratch: Scratch) -> None:
    """§3.2 CHILDREN: "This option MUST be supported by all servers"; §4: "\\HasChildren and
    \\HasNoChildren" "MUST be returned within a LIST response", "If the CHILDREN return
    option is present, the server MUST return these attributes": one of them on every
    name (\\NoInferiors implies \\HasNoChildren, §3.4), never both, right before and after
    the only child is deleted."""
    parent, child, leaf = _family(session, scratch)
    command = f'LIST "" {quote(parent + "*")} RETURN (CHILDREN)'
    for expected in ({parent: True, child: False, leaf: False}, {parent: False, leaf: False}):
        if child not in expected:
            expect_ok(session.delete(child), f"DELETE {child}")
        listed = _listed(session, command)
        for name, item in listed.items():
            both = _upper(item.attributes) >= {"\\HASCHILDREN", "\\HASNOCHILDREN"}
            assert not both, f"{command}: {name} is both {item.attributes}"
        got = {name: _has_children(item) for name, item in listed.items()}
        assert got == expected, (
            f"{command}: children per name {got}, expected {expected} ({_shown(listed)})")


@pytest.mark.requirement(rfc=5258, section="3.5", level="MUST NOT",
                         ids=("RFC5258-3.5-1", "RFC5258-3.5-2"))
@pytest.mark.requirement(rfc=5258, section="6", level="MUST", ids=("RFC5258-6-1",))
@pytest.mark.needs(EXTENDED)
def test_childinfo_needs_recursivematch_and_never_means_noselect(session: ImapDriver,
                                                                 scratch: Scratch) -> None:
    """§3.5: "The CHILDINFO extended data item MUST NOT be returned unless the client has
    specified the RECURSIVEMATCH selection option"; "The LSUB command indicates this
    condition [a descendant meets the criteria] by using the "\\NoSelect" attribute, but
    the LIST (SUBSCRIBED) command MUST NOT do that". §6: an extended item tag "MUST
    conform to either "eitem-vendor-tag" or "eitem-standard-tag""."""
    parent, child, _ = _family(session, scratch)
    pattern = quote(parent + "%")
    with _subscribed(session, child):
        responses: list[ListData] = []
        recursive = f'LIST (SUBSCRIBED RECURSIVEMATCH) "" {pattern}'
        listed = _listed(session, recursive)
        responses += listed.values()
        assert parent in listed, (
            f"{recursive}: the parent of the subscribed {child} is not listed: "
            f"{_shown(listed)}")
        info = tuple(i.upper() for i in listed[parent].child_info or ())
        assert info == ("SUBSCRIBED",), (
            f'{recursive}: {parent} must carry ("CHILDINFO" ("SUBSCRIBED")), got {info}')
        commands = (f'LIST (SUBSCRIBED) "" {pattern}', f'LIST (REMOTE SUBSCRIBED) "" {pattern}',
                    f'LIST "" {pattern} RETURN (SUBSCRIBED CHILDREN)',
                    f'LIST (SUBSCRIBED) "" {quote(parent + "*")}')
        for command in commands:
            listed = _listed(session, command)
            responses += listed.values()
            carrying = [name for name, item in listed.items() if item.child_info is not None]
            assert not carrying, f"{command} (no RECURSIVEMATCH): CHILDINFO on {carrying}"
            if command.startswith("LIST (") and parent in listed:
                assert "\\NOSELECT" not in _upper(listed[parent].attributes), (
                    f"{command}: the unsubscribed parent of the subscribed {child} is "
                    f"listed \\Noselect, LSUB's meaning: {listed[parent].attributes}")
        with _subscribed(session, parent):
            # Table 3's "(<attr>) + CHILDINFO" is for RECURSIVEMATCH only, too.
            for command in commands:
                listed = _listed(session, command)
                carrying = [name for name, item in listed.items() if item.child_info is not None]
                assert not carrying, (
                    f"{command} (no RECURSIVEMATCH; {parent} and {child} subscribed): "
                    f"CHILDINFO on {carrying}")
        for item in responses:
            for tag, _value in item.extensions:
                assert _ITEM_TAG.fullmatch(tag), (
                    f"LIST {item.mailbox}: extended item tag {tag!r} is neither an atom "
                    'nor "vendor.<name-component>-<atom>" (§6)')
