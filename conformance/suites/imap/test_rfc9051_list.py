"""RFC 9051 §6.3.9 extended LIST (RFC 5258 LIST-EXTENDED, RFC 5819 LIST-STATUS): what the
selection and return options must and must not change, \\Subscribed, \\Remote,
\\HasChildren / \\HasNoChildren and CHILDINFO computed accurately, STATUS after each
selectable LIST; §7.3.1 the LIST response: one selectability flag, names usable as a
reference and as a mailbox argument, extended item tags (§9)."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

import pytest

from conformance.drivers.imap import ImapDriver, quote
from conformance.suites.imap.support import Scratch, expect_ok, show
from reference.imap.responses import ListData, StatusData

pytestmark = pytest.mark.protocol("imap")

# §9: eitem-standard-tag = atom; eitem-vendor-tag = vendor-token "-" atom;
# vendor-token = "vendor." name-component, name-component MUST NOT contain ".", "/", "%",
# "*". atom-specials: "(" ")" "{" SP CTL "%" "*" DQUOTE "\" "]".
_ATOM = r'[^(){ \x00-\x1f\x7f%*"\\\]]+'
_ITEM_TAG = re.compile(rf"vendor\.[^./%*]+-{_ATOM}|{_ATOM}", re.IGNORECASE)


def _upper(attributes: tuple[str, ...]) -> set[str]:
    return {a.upper() for a in attributes}


def _listed(driver: ImapDriver, command: str) -> dict[str, ListData]:
    done = expect_ok(driver.command(command), command)
    return {item.mailbox: item for item in done.of_type(ListData)}


def _family(session: ImapDriver, scratch: Scratch) -> tuple[str, str, str]:
    """A parent with one child, and a leaf beside the parent: (parent, child, leaf)."""
    parent = scratch.create(session, "family")
    child = scratch.child(session, parent, "child")
    expect_ok(session.create(child), f"CREATE {child}")
    leaf = parent + "-leaf"
    scratch.track(leaf)
    expect_ok(session.create(leaf), f"CREATE {leaf}")
    return parent, child, leaf


@contextlib.contextmanager
def _subscribed(driver: ImapDriver, *names: str) -> Iterator[None]:
    """``names`` SUBSCRIBEd for the block, UNSUBSCRIBEd after it."""
    try:
        for name in names:
            expect_ok(driver.command(f"SUBSCRIBE {quote(name)}"), f"SUBSCRIBE {name}")
        yield
    finally:
        for name in names:
            driver.command(f"UNSUBSCRIBE {quote(name)}")


def _has_children(item: ListData) -> bool | None:
    """What the attributes say about children (\\NoInferiors implies \\HasNoChildren,
    §6.3.9.4), None when they say nothing."""
    attributes = _upper(item.attributes)
    if "\\HASCHILDREN" in attributes:
        return True
    if attributes & {"\\HASNOCHILDREN", "\\NOINFERIORS"}:
        return False
    return None


@pytest.mark.requirement(rfc=9051, section="6.3.9", level="MUST NOT", ids=("RFC9051-6.3.9-13",))
@pytest.mark.needs("LIST-EXTENDED|IMAP4rev2")
def test_return_options_add_no_names(session: ImapDriver, scratch: Scratch) -> None:
    """§6.3.9: "Return options MUST NOT cause the server to report information about
    additional mailbox names other than those that match the canonical LIST patterns and
    selection options": with "%" the child below the parent stays out, whatever is asked
    for."""
    parent, child, leaf = _family(session, scratch)
    pattern = quote(parent + "%")
    plain = set(_listed(session, f'LIST "" {pattern}'))
    assert plain == {parent, leaf}, f'LIST "" {pattern}: got {sorted(plain)}'
    returns = ["CHILDREN", "SUBSCRIBED", "CHILDREN SUBSCRIBED"]
    if "IMAP4REV2" in session.capabilities or "LIST-STATUS" in session.capabilities:
        returns.append("STATUS (MESSAGES)")
    for option in returns:
        command = f'LIST "" {pattern} RETURN ({option})'
        names = set(_listed(session, command))
        assert names == plain, (
            f"{command}: names {sorted(names)}, but without return options "
            f"{sorted(plain)} (the child {child} must stay out)")


@pytest.mark.requirement(rfc=9051, section="6.3.9", level="MUST",
                         ids=("RFC9051-6.3.9-15", "RFC9051-6.3.9-18"))
@pytest.mark.needs("LIST-EXTENDED|IMAP4rev2")
def test_initial_options_supported_and_repeats_act_once(session: ImapDriver,
                                                        scratch: Scratch) -> None:
    """§6.3.9: "Initial options defined in this document MUST be supported" (SUBSCRIBED,
    REMOTE, RECURSIVEMATCH; RETURN SUBSCRIBED, CHILDREN and, in IMAP4rev2, STATUS), and
    "if the client [specifies an option more than once], the server MUST act as if it
    received the option only once"."""
    parent, child, _ = _family(session, scratch)
    with _subscribed(session, child):
        pattern = quote(parent + "*")
        forms = [("(SUBSCRIBED)", ""), ("(SUBSCRIBED SUBSCRIBED)", ""),
                 ("(REMOTE)", ""), ("(REMOTE REMOTE)", ""),
                 ("(SUBSCRIBED RECURSIVEMATCH)", ""),
                 ("(SUBSCRIBED RECURSIVEMATCH RECURSIVEMATCH)", ""),
                 ("", " RETURN (SUBSCRIBED)"), ("", " RETURN (SUBSCRIBED SUBSCRIBED)"),
                 ("", " RETURN (CHILDREN)"), ("", " RETURN (CHILDREN CHILDREN)")]
        if "IMAP4REV2" in session.capabilities or "LIST-STATUS" in session.capabilities:
            forms.append(("", " RETURN (STATUS (MESSAGES))"))
        seen: dict[str, set[str]] = {}
        for selection, returns in forms:
            command = f'LIST {selection} "" {pattern}{returns}'.replace("LIST  ", "LIST ")
            listed = _listed(session, command)
            # The same option twice gives what it gives once: same names, same attributes.
            key = re.sub(r"\b(\w+) \1\b", r"\1", selection + returns)
            answer = {f"{name} {sorted(_upper(item.attributes))} {item.child_info}"
                      for name, item in listed.items()}
            if key in seen:
                assert answer == seen[key], (
                    f"{command}: {sorted(answer)}, but with the option once: "
                    f"{sorted(seen[key])}")
            seen[key] = answer
        subscribed = {line.split(" ")[0] for line in seen["(SUBSCRIBED)"]}
        assert subscribed == {child}, (
            f'LIST (SUBSCRIBED) "" {pattern}: expected exactly {child}, got {subscribed}')


@pytest.mark.requirement(rfc=9051, section="6.3.9.1", level="MUST", ids=("RFC9051-6.3.9.1-3",))
@pytest.mark.needs("LIST-EXTENDED|IMAP4rev2")
def test_remote_option_keeps_local_mailboxes_local(session: ImapDriver,
                                                   scratch: Scratch) -> None:
    """§6.3.9.1 REMOTE: "The "\\Remote" attribute MUST be accurately computed when the
    REMOTE option is specified": a mailbox the test just created here is listed, and it
    is not \\Remote."""
    name = scratch.create(session, "local")
    listed = _listed(session, f'LIST (REMOTE) "" {quote(name)}')
    assert name in listed, f"LIST (REMOTE) does not list the local mailbox {name}"
    assert "\\REMOTE" not in _upper(listed[name].attributes), (
        f"LIST (REMOTE) says the mailbox this server just created is \\Remote: "
        f"{listed[name].attributes}")


@pytest.mark.requirement(rfc=9051, section="6.3.9.2", level="MUST", ids=("RFC9051-6.3.9.2-1",))
@pytest.mark.needs("LIST-EXTENDED|IMAP4rev2")
def test_subscribed_return_option_is_accurate(session: ImapDriver, scratch: Scratch) -> None:
    """§6.3.9.2: "The "\\Subscribed" attribute MUST be supported and MUST be accurately
    computed when the SUBSCRIBED return option is specified": on the subscribed mailbox,
    not on its unsubscribed sibling."""
    parent, _, leaf = _family(session, scratch)
    with _subscribed(session, leaf):
        command = f'LIST "" {quote(parent + "%")} RETURN (SUBSCRIBED)'
        listed = _listed(session, command)
        assert {parent, leaf} <= set(listed), f"{command}: lists {sorted(listed)}"
        assert "\\SUBSCRIBED" in _upper(listed[leaf].attributes), (
            f"{command}: the subscribed {leaf} lacks \\Subscribed: {listed[leaf].attributes}")
        assert "\\SUBSCRIBED" not in _upper(listed[parent].attributes), (
            f"{command}: the unsubscribed {parent} is \\Subscribed")


@pytest.mark.requirement(rfc=9051, section="6.3.9.2", level="MUST", ids=("RFC9051-6.3.9.2-2",))
@pytest.mark.needs("LIST-EXTENDED|IMAP4rev2")
def test_subscribed_selection_computes_other_attributes(session: ImapDriver,
                                                        scratch: Scratch) -> None:
    """§6.3.9.2 SUBSCRIBED: "all other mailbox attributes MUST be accurately computed
    (this differs from the behavior of the obsolete LSUB command)": with RETURN
    (CHILDREN) the subscribed parent has children and the subscribed child none; a
    subscribed mailbox deleted since, when still listed, is \\NonExistent."""
    parent, child, leaf = _family(session, scratch)
    with _subscribed(session, parent, child, leaf):
        expect_ok(session.delete(leaf), f"DELETE {leaf}")
        command = f'LIST (SUBSCRIBED) "" {quote(parent + "*")} RETURN (CHILDREN)'
        listed = _listed(session, command)
        assert {parent, child} <= set(listed), f"{command}: lists {sorted(listed)}"
        assert _has_children(listed[parent]) is True, (
            f"{command}: {parent} has a child but is listed {listed[parent].attributes}")
        assert _has_children(listed[child]) is False, (
            f"{command}: {child} has no child but is listed {listed[child].attributes}")
        if leaf in listed:
            assert "\\NONEXISTENT" in _upper(listed[leaf].attributes), (
                f"{command}: {leaf} was deleted, yet is listed {listed[leaf].attributes} "
                "without \\NonExistent")


def _list_status_pairs(driver: ImapDriver, command: str) -> Iterator[
        tuple[ListData, StatusData | None]]:
    """Each LIST response of ``command`` with the STATUS response right after it."""
    done = expect_ok(driver.command(command), command)
    responses = done.untagged
    for index, response in enumerate(responses):
        if isinstance(response, ListData):
            following = responses[index + 1] if index + 1 < len(responses) else None
            yield response, following if isinstance(following, StatusData) else None


@pytest.mark.requirement(rfc=9051, section="6.3.9.2", level="MUST", ids=("RFC9051-6.3.9.2-3",))
@pytest.mark.needs("LIST-STATUS|IMAP4rev2")
def test_list_status_follows_each_selectable_mailbox(session: ImapDriver,
                                                     scratch: Scratch) -> None:
    """§6.3.9.2 STATUS: "For each selectable mailbox matching the list pattern and
    selection options, the server MUST return an untagged LIST response followed by an
    untagged STATUS response containing the information requested": each right after
    its LIST, with the true counts."""
    parent, child, leaf = _family(session, scratch)
    message = b"Subject: list-status\r\n\r\nbody\r\n"
    expect_ok(session.append(child, message), f"APPEND to {child}")
    expect_ok(session.append(child, message), f"APPEND to {child}")
    expect_ok(session.append(leaf, message), f"APPEND to {leaf}")
    command = f'LIST "" {quote(parent + "*")} RETURN (STATUS (MESSAGES))'
    counts = {}
    for listed, status in _list_status_pairs(session, command):
        if _upper(listed.attributes) & {"\\NOSELECT", "\\NONEXISTENT"}:
            continue
        assert status is not None, (
            f"{command}: the LIST response for {listed.mailbox} is not followed by its "
            "STATUS response")
        assert status.mailbox == listed.mailbox, (
            f"{command}: the STATUS after LIST {listed.mailbox} is for {status.mailbox}")
        counts[listed.mailbox] = dict((a.value, v) for a, v in status.attributes)
    expected = {parent: 0, child: 2, leaf: 1}
    assert {name: c.get("MESSAGES") for name, c in counts.items()} == expected, (
        f"{command}: STATUS MESSAGES {counts}, expected {expected}")


@pytest.mark.requirement(rfc=9051, section="6.3.9.2", level="MUST NOT",
                         ids=("RFC9051-6.3.9.2-4",))
@pytest.mark.needs("LIST-STATUS|IMAP4rev2")
def test_list_status_skips_unselectable_mailboxes(session: ImapDriver,
                                                  scratch: Scratch) -> None:
    """§6.3.9.2: when STATUS for a listed mailbox fails "because the mailbox can't be
    selected ... the STATUS response MUST NOT be returned, and the LIST response MUST
    include the \\NoSelect attribute". A parent deleted under its child stays as a
    \\Noselect name (§6.3.5), or a subscribed deleted name is \\NonExistent: neither may
    get a STATUS."""
    parent, child, _ = _family(session, scratch)
    gone = scratch.create(session, "gone")
    with _subscribed(session, gone):
        expect_ok(session.delete(gone), f"DELETE {gone}")
        session.delete(parent)            # allowed to fail (HASCHILDREN): then it stays
        unselectable = []
        for pattern, selection in ((parent + "*", ""), (gone, "(SUBSCRIBED) ")):
            command = f'LIST {selection}"" {quote(pattern)} RETURN (STATUS (MESSAGES))'
            for listed, status in _list_status_pairs(session, command):
                if _upper(listed.attributes) & {"\\NOSELECT", "\\NONEXISTENT"}:
                    unselectable.append(listed.mailbox)
                    assert status is None, (
                        f"{command}: {listed.mailbox} is {listed.attributes}, yet a "
                        f"STATUS response follows its LIST: {status}")
        if not unselectable:
            pytest.skip("UNSUPPORTED: the target lists no unselectable name for a deleted "
                        f"parent of {child} nor for a subscribed deleted mailbox")


@pytest.mark.requirement(rfc=9051, section="6.3.9.5", level="MUST",
                         ids=("RFC9051-6.3.9.5-2", "RFC9051-6.3.9.5-4"))
@pytest.mark.needs("LIST-EXTENDED|IMAP4rev2")
def test_children_return_option(session: ImapDriver, scratch: Scratch) -> None:
    """§6.3.9.5: the CHILDREN return option "defines two new attributes that MUST be
    returned within a LIST response: \\HasChildren and \\HasNoChildren", and "If the
    CHILDREN return option is present, the server MUST return these attributes"."""
    parent, child, leaf = _family(session, scratch)
    command = f'LIST "" {quote(parent + "*")} RETURN (CHILDREN)'
    listed = _listed(session, command)
    expected = {parent: True, child: False, leaf: False}
    got = {name: _has_children(listed[name]) if name in listed else "not listed"
           for name in expected}
    assert got == expected, (
        f"{command}: children per name {got}, expected {expected} "
        f"(attributes: { {n: listed[n].attributes for n in listed} })")


@pytest.mark.requirement(rfc=9051, section="6.3.9.6", level="MUST NOT", ids=("RFC9051-6.3.9.6-1",))
@pytest.mark.requirement(rfc=9051, section="9", level="MUST",
                         ids=("RFC9051-9-16", "RFC9051-9-19"))
@pytest.mark.needs("LIST-EXTENDED|IMAP4rev2")
def test_childinfo_only_with_recursivematch(session: ImapDriver, scratch: Scratch) -> None:
    """§6.3.9.6: "The CHILDINFO extended data item MUST NOT be returned unless the client
    has specified the RECURSIVEMATCH selection option": the unsubscribed parent of a
    subscribed child has CHILDINFO ("SUBSCRIBED") with RECURSIVEMATCH, and no LIST
    without it carries CHILDINFO. §9: every extended item tag is an atom or
    "vendor." name-component "-" atom, the name-component without ".", "/", "%", "*"."""
    parent, child, _ = _family(session, scratch)
    with _subscribed(session, child):
        pattern = quote(parent + "%")
        recursive = f'LIST (SUBSCRIBED RECURSIVEMATCH) "" {pattern}'
        done = expect_ok(session.command(recursive), recursive)
        listed = {item.mailbox: item for item in done.of_type(ListData)}
        assert parent in listed, (
            f"{recursive}: the parent of the subscribed {child} is not listed "
            f"(§6.3.9.1 RECURSIVEMATCH), got {sorted(listed)}")
        info = tuple(i.upper() for i in listed[parent].child_info or ())
        assert info == ("SUBSCRIBED",), (
            f'{recursive}: {parent} should carry ("CHILDINFO" ("SUBSCRIBED")), got {info}')
        responses = list(done.of_type(ListData))
        for command in (f'LIST (SUBSCRIBED) "" {pattern}',
                        f'LIST "" {pattern} RETURN (SUBSCRIBED CHILDREN)',
                        f'LIST "" {quote(parent + "*")}'):
            without = expect_ok(session.command(command), command).of_type(ListData)
            responses += without
            carrying = [item.mailbox for item in without if item.child_info is not None]
            assert not carrying, f"{command} (no RECURSIVEMATCH): CHILDINFO on {carrying}"
        for item in responses:
            for tag, _value in item.extensions:
                assert _ITEM_TAG.fullmatch(tag), (
                    f"LIST {item.mailbox}: extended item tag {tag!r} is neither an atom "
                    'nor "vendor.<name-component>-<atom>" (§9)')


@pytest.mark.requirement(rfc=9051, section="7.3.1", level="MUST NOT", ids=("RFC9051-7.3.1-5",))
def test_at_most_one_selectability_attribute(session: ImapDriver, scratch: Scratch) -> None:
    """§7.3.1: "The server MUST NOT send more than one of \\Marked, \\Unmarked, and
    \\Noselect for a single mailbox": for every mailbox of the account, after new mail in
    one (what makes a server mark it)."""
    _, child, _ = _family(session, scratch)
    expect_ok(session.append(child, b"Subject: marked\r\n\r\nnew\r\n"), f"APPEND to {child}")
    done = expect_ok(session.command('LIST "" "*"'), 'LIST "" "*"')
    for item in done.of_type(ListData):
        flags = _upper(item.attributes) & {"\\MARKED", "\\UNMARKED", "\\NOSELECT"}
        assert len(flags) <= 1, f"LIST: {item.mailbox} has {sorted(flags)}: more than one"


@pytest.mark.requirement(rfc=9051, section="7.3.1", level="MUST",
                         ids=("RFC9051-7.3.1-10", "RFC9051-7.3.1-11"))
@pytest.mark.requirement(rfc=9051, section="5.1.1", level="MUST", ids=("RFC9051-5.1.1-1",))
@pytest.mark.requirement(rfc=3501, section="7.2.2", level="MUST",
                         ids=("RFC3501-7.2.2-2", "RFC3501-7.2.2-3", "RFC3501-7.2.2-4"))
@pytest.mark.requirement(rfc=3501, section="5.1.1", level="MUST", ids=("RFC3501-5.1.1-1",))
def test_listed_names_work_as_reference_and_mailbox(session: ImapDriver,
                                                    scratch: Scratch) -> None:
    """§7.3.1: the name in a LIST response "MUST be valid for use as a reference in LIST
    command" and, "Unless \\Noselect or \\NonExistent is indicated, ... valid as an
    argument for commands, such as SELECT"; §5.1.1: hierarchical names are "left-to-right
    hierarchical, using a single ASCII character to separate levels"; all children of a
    node use the same separator (RFC 3501 §7.2.2)."""
    parent, child, leaf = _family(session, scratch)
    listed = _listed(session, f'LIST "" {quote(parent + "*")}')
    assert set(listed) == {parent, child, leaf}, f"LIST {parent}*: {sorted(listed)}"
    delimiters = {item.delimiter for item in listed.values()}
    assert len(delimiters) == 1, f"children of one root list several delimiters {delimiters}"
    delimiter = listed[child].delimiter
    assert delimiter is not None and len(delimiter) == 1 and delimiter.isascii(), (
        f"the hierarchy delimiter is {delimiter!r}, not a single ASCII character")
    assert child == parent + delimiter + child.rsplit(delimiter, 1)[1], (
        f"{child} is not {parent} + {delimiter!r} + its own name (left-to-right)")
    for name, item in listed.items():
        # As a reference: LIST <name><delimiter> "%" lists exactly its children.
        below = _listed(session, f'LIST {quote(name + delimiter)} "%"')
        expected = {child} if name == parent else set()
        assert set(below) == expected, (
            f'LIST {name + delimiter} "%": got {sorted(below)}, expected {sorted(expected)}')
        if not _upper(item.attributes) & {"\\NOSELECT", "\\NONEXISTENT"}:
            done = session.examine(name)
            assert done.ok, f"EXAMINE {name} (a listed selectable name): {show(done)}"
    expect_ok(session.command("UNSELECT") if "UNSELECT" in session.capabilities
              or "IMAP4REV2" in session.capabilities else session.command("CLOSE"),
              "leaving the examined mailbox")
