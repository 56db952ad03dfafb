"""LIST and LSUB results (RFC 9051 §6.3.9, RFC 5258, RFC 3348, RFC 6154, RFC 5819, RFC 3501
§6.3.8-6.3.9), mostly on the RFCs' own examples.

The RFC examples' \\Marked and \\NoInferiors on "inbox" are that example server's; this
server sends neither, and sends \\HasChildren / \\HasNoChildren and special-use attributes
on every LIST response (the module's documented choice), so the expected rows carry them.
Rows compare attributes as sets: their order in a LIST response carries no meaning.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from reference.imap.commands import List, ListReturnOption, ListSelectOption, Lsub
from reference.imap.mailbox_list import (
    DELIMITER,
    ListOptionError,
    canonical_pattern,
    list_responses,
    lsub_responses,
    matches_pattern,
    selectable,
)
from reference.imap.response_data import ListData, LsubData
from reference.store.interface import (
    HIERARCHY_SEPARATOR,
    AccountId,
    Mailbox,
    MailboxId,
    ModSeq,
    SpecialUse,
    Uid,
)

SUBSCRIBED = ListSelectOption.SUBSCRIBED
RECURSIVEMATCH = ListSelectOption.RECURSIVEMATCH
REMOTE = ListSelectOption.REMOTE
SPECIAL_USE = ListSelectOption.SPECIAL_USE
R_SUBSCRIBED = ListReturnOption.SUBSCRIBED
R_CHILDREN = ListReturnOption.CHILDREN
R_SPECIAL_USE = ListReturnOption.SPECIAL_USE
HAS = "\\HasChildren"
HASNO = "\\HasNoChildren"

Row = tuple[str, frozenset[str], tuple[str, ...] | None]


def account(*names: str, special: dict[str, SpecialUse] | None = None) -> list[Mailbox]:
    uses = special or {}
    return [Mailbox(MailboxId(number), AccountId(1), name, uses.get(name), 1, Uid(1),
                    ModSeq(1), False, 0, 0, 0)
            for number, name in enumerate(names, start=1)]


def row(name: str, *attributes: str, child_info: tuple[str, ...] | None = None) -> Row:
    return (name, frozenset(attributes), child_info)


def rows(found: Sequence[ListData | LsubData]) -> list[Row]:
    out: list[Row] = []
    for data in found:
        assert data.delimiter == "/"
        info = data.child_info if isinstance(data, ListData) else None
        out.append((data.mailbox, frozenset(data.attributes), info))
    return out


def listed(command: List, mailboxes: Sequence[Mailbox], subscriptions: Sequence[str] = (),
           *, rev2: bool = True) -> list[Row]:
    return rows(list_responses(command, mailboxes, subscriptions, rev2=rev2))


def lsubbed(command: Lsub, mailboxes: Sequence[Mailbox], subscriptions: Sequence[str]
            ) -> list[Row]:
    return rows(lsub_responses(command, mailboxes, subscriptions))


# RFC 9051 §6.3.9.8 Example 1 (RFC 5258 §5 Example 1): "the complete local hierarchy".
FRUIT = account("INBOX", "Fruit", "Fruit/Apple", "Fruit/Banana", "Tofu", "Vegetable",
                "Vegetable/Broccoli", "Vegetable/Corn")
# Example 2: "Fruit/Peach" is subscribed "but it does not actually exist".
FRUIT_SUBSCRIBED = ("INBOX", "Fruit/Banana", "Fruit/Peach", "Vegetable", "Vegetable/Broccoli")
# RFC 6154 §5.1: special-use mailboxes next to ordinary ones.
RFC6154 = account("INBOX", "ToDo", "Projects", "Projects/Plan", "SentMail", "MyDrafts",
                  "Trash", special={"SentMail": SpecialUse.SENT, "MyDrafts": SpecialUse.DRAFTS,
                                    "Trash": SpecialUse.TRASH})


# --- matches_pattern ------------------------------------------------------------------


def test_delimiter_is_the_stores() -> None:
    """RFC 9051 §7.3.1: "All children of a top-level hierarchy node MUST use the same
    separator character" — the one the store builds names with."""
    assert DELIMITER == HIERARCHY_SEPARATOR


@pytest.mark.parametrize(("name", "pattern", "expected"), [
    ("Fruit/Apple", "*", True),
    ("Fruit/Apple", "%", False),
    ("Fruit", "%", True),
    ("Fruit/Apple", "Fruit/%", True),
    ("Fruit/Apple/Core", "Fruit/%", False),
    ("Fruit/Apple/Core", "Fruit/*", True),
    ("Fruit", "Fruit/*", False),
    ("Fruit", "Fruit*", True),
    ("Fruit", "F%t", True),
    ("F/t", "F%t", False),
    ("F/t", "F*t", True),
    ("foo2/bar2", "*2", True),
    ("foo2/bar1", "*2", False),
    ("fruit", "Fruit", False),
    ("", "", True),
    ("", "%", True),
    ("a", "", False),
])
def test_wildcards(name: str, pattern: str, expected: bool) -> None:
    """RFC 9051 §6.3.9: "The character "*" is a wildcard and matches zero or more
    characters at this position. The character "%" is similar to "*", but it does not
    match a hierarchy delimiter." """
    assert matches_pattern(name, pattern) is expected


def test_many_stars_do_not_backtrack_exponentially() -> None:
    """RFC 9051 §6.3.9 SHOULD: "The LIST command SHOULD return its data quickly, without
    undue delay" — a pattern of many "*" against a long name is answered, not explored
    exponentially (a naive backtracking matcher does not finish this)."""
    name = "a" * 5000
    assert not matches_pattern(name, "*a*a*a*a*a*a*a*a*a*a*b")
    assert matches_pattern(name + "b", "*a*a*a*a*a*a*a*a*a*a*b")
    assert not matches_pattern(name, "%a%a%a%a%a%a%a%a%a%a%b")


def test_canonical_pattern_appends_the_mailbox_name_to_the_reference() -> None:
    """RFC 9051 §6.3.9 Table 1: reference "archive/" and mailbox name "%" are interpreted
    as "archive/%"; "the canonical form is normally the reference name appended with the
    mailbox name"."""
    assert canonical_pattern("archive/", "%") == "archive/%"
    assert canonical_pattern("", "*") == "*"


# --- basic LIST -----------------------------------------------------------------------


def test_example_1_lists_the_complete_hierarchy() -> None:
    """RFC 9051 §6.3.9.8 Example 1: <LIST "" "*"> returns every mailbox; "The returned
    mailbox names MUST match the supplied mailbox name pattern(s)"; INBOX first."""
    assert listed(List("A01", "", "*"), FRUIT) == [
        row("INBOX", HASNO),
        row("Fruit", HAS),
        row("Fruit/Apple", HASNO),
        row("Fruit/Banana", HASNO),
        row("Tofu", HASNO),
        row("Vegetable", HAS),
        row("Vegetable/Broccoli", HASNO),
        row("Vegetable/Corn", HASNO),
    ]


def test_percent_lists_one_level() -> None:
    """RFC 9051 §6.3.9.8 Example 3 (and 7: <LIST "" "%" RETURN (CHILDREN)>): "%" does
    not cross the delimiter; the CHILDREN return option "defines two new attributes that
    MUST be returned"."""
    command = List("A03", "", "%", (), (R_CHILDREN,))
    assert listed(command, FRUIT) == [
        row("INBOX", HASNO), row("Fruit", HAS), row("Tofu", HASNO), row("Vegetable", HAS)]


def test_children_attributes_without_the_return_option() -> None:
    """RFC 3348 §3 Example 3.1: <LIST "" *> with \\HasChildren / \\HasNoChildren (RFC 9051
    §6.3.9.5: "these attributes MAY be returned in response to any LIST command")."""
    mailboxes = account("INBOX", "ITEM_1", "ITEM_1/ITEM_1A", "ITEM_2", "ITEM_2/TOP_SECRET")
    assert listed(List("A001", "", "*"), mailboxes, rev2=False) == [
        row("INBOX", HASNO), row("ITEM_1", HAS), row("ITEM_1/ITEM_1A", HASNO),
        row("ITEM_2", HAS), row("ITEM_2/TOP_SECRET", HASNO)]


def test_never_both_children_attributes_nor_noinferiors_nor_marked() -> None:
    """RFC 9051 §6.3.9.5: "It is an error for the server to return both a \\HasChildren
    and a \\HasNoChildren attribute in the same LIST response"; §7.3.1: \\Marked/\\Unmarked
    only when the server can tell ("SHOULD NOT send either")."""
    for data in list_responses(List("A", "", "*"), FRUIT, FRUIT_SUBSCRIBED, rev2=True):
        assert (HAS in data.attributes) != (HASNO in data.attributes)
        assert not {"\\Noinferiors", "\\Marked", "\\Unmarked"} & set(data.attributes)


def test_reference_is_prefixed_to_the_pattern() -> None:
    """RFC 9051 §6.3.9: "Any part of the reference argument that is included in the
    interpreted form SHOULD prefix the interpreted form"; Table 1 "archive/ %"."""
    assert listed(List("A", "Fruit/", "%"), FRUIT) == [
        row("Fruit/Apple", HASNO), row("Fruit/Banana", HASNO)]
    assert listed(List("A", "Fruit", "*"), FRUIT) == [
        row("Fruit", HAS), row("Fruit/Apple", HASNO), row("Fruit/Banana", HASNO)]


def test_empty_pattern_returns_delimiter_and_root() -> None:
    """RFC 9051 §6.3.9.8 (RFC 3501 §6.3.8) example A101: <LIST "" ""> gives
    `* LIST (\\Noselect) "/" ""` — "a special request to return the hierarchy delimiter
    and the root name"; the root "MAY be the empty string if the reference is
    non-rooted"."""
    assert list_responses(List("A101", "", ""), FRUIT, (), rev2=True) == [
        ListData(("\\Noselect",), "/", "")]
    assert list_responses(List("A102", "Fruit/Apple", ""), FRUIT, (), rev2=False) == [
        ListData(("\\Noselect",), "/", "")]


def test_empty_pattern_is_ignored_in_the_extended_syntax() -> None:
    """RFC 9051 §6.3.9: "In the extended syntax, any mailbox name arguments that are empty
    strings are ignored"; RFC 5258 §3 MUST: "the empty string MUST be ignored for the
    purpose of matching"."""
    assert listed(List("A", "", ("",)), FRUIT) == []
    assert listed(List("A", "Fruit", ("",)), FRUIT) == []      # not "Fruit" + ""
    assert listed(List("A", "", "", ()), FRUIT) == []
    assert listed(List("A", "", ("", "Tofu")), FRUIT) == [row("Tofu", HASNO)]


def test_multiple_patterns_list_each_name_once() -> None:
    """RFC 5258 §5 Example 7: <LIST "" ("INBOX" "Drafts" "Sent/%")>; §3 SHOULD: "If a
    mailbox name matches multiple mailbox patterns from the list, the server SHOULD return
    only a single LIST response" (RFC 9051 §6.3.9.3 principle 1)."""
    mailboxes = account("INBOX", "Drafts", "Sent", "Sent/March2004", "Sent/December2003",
                        "Sent/August2004", "Other")
    assert listed(List("BBB", "", ("INBOX", "Drafts", "Sent/%")), mailboxes) == [
        row("INBOX", HASNO), row("Drafts", HASNO), row("Sent/August2004", HASNO),
        row("Sent/December2003", HASNO), row("Sent/March2004", HASNO)]
    twice = listed(List("A", "", ("*", "%", "Tofu")), FRUIT)
    assert len(twice) == len({name for name, _, _ in twice}) == len(FRUIT)


@pytest.mark.parametrize("pattern", ["inbox", "InBoX", "INBOX", "i%", "*x"])
def test_inbox_matches_case_insensitively(pattern: str) -> None:
    """RFC 9051 §5.1: "The case-insensitive mailbox name INBOX"; §6.3.9: INBOX is
    included "if the uppercase string "INBOX" matches the interpreted reference and
    mailbox name arguments"."""
    assert listed(List("A", "", pattern), FRUIT) == [row("INBOX", HASNO)]


def test_other_names_match_case_sensitively() -> None:
    """RFC 9051 §5.1: "this specification takes no position on case sensitivity in
    non-INBOX mailbox names"; this server's names are case-sensitive, as SELECT is."""
    assert listed(List("A", "", "fruit"), FRUIT) == []


def test_order_is_inbox_then_parents_before_children() -> None:
    """RFC 9051 §6.3.9.8 Example 1 order: INBOX first, each parent before its children."""
    mailboxes = account("a b", "a", "a/b", "INBOX/x", "Zed", "INBOX")
    assert [name for name, _, _ in listed(List("A", "", "*"), mailboxes)] == [
        "INBOX", "INBOX/x", "Zed", "a", "a/b", "a b"]


# --- levels of hierarchy that do not exist ---------------------------------------------


MUSIC = account("INBOX", "music/rock")


def test_missing_level_is_nonexistent_with_children() -> None:
    """RFC 9051 §6.3.9.8 Example 10 (a2): <LIST () "" %> gives
    `(\\NonExistent \\HasChildren) "/" music`; §6.3.9.6 SHOULD: "such servers SHOULD use
    the "\\NonExistent \\HasChildren" attribute pair"."""
    assert listed(List("a2", "", "%", ()), MUSIC) == [
        row("INBOX", HASNO), row("music", "\\NonExistent", HAS)]
    assert listed(List("a2", "", "%"), MUSIC, rev2=True) == [
        row("INBOX", HASNO), row("music", "\\NonExistent", HAS)]


def test_missing_level_is_noselect_in_rev1_basic_list() -> None:
    """RFC 3501 §6.3.8 (RFC 9051 §6.3.9): "If the "%" wildcard is the last character of a
    mailbox name argument, matching levels of hierarchy are also returned. If these levels
    of hierarchy are not also selectable mailboxes, they are returned with the \\Noselect
    mailbox name attribute"; example A202 <LIST ~/Mail/ %>. Only one selectability flag:
    RFC 9051 §9 mbx-list-sflag "only one per LIST response"."""
    mailboxes = account("INBOX", "Mail/foo/bar", "Mail/meetings")
    assert listed(List("A202", "Mail/", "%"), mailboxes, rev2=False) == [
        row("Mail/foo", "\\Noselect", HAS), row("Mail/meetings", HASNO)]


def test_missing_level_is_not_listed_when_its_children_are() -> None:
    """RFC 9051 §6.3.9.8 Example 10: <LIST "" (% music/rock)> returns only music/rock
    ("there's no need for the server to also return "music""; §6.3.9.3 principle 2.B), and
    <LIST "" *> lists no "music" (Example 10 a1)."""
    assert listed(List("a3.1", "", ("%", "music/rock")), MUSIC) == [
        row("INBOX", HASNO), row("music/rock", HASNO)]
    assert listed(List("a1", "", "*"), MUSIC) == [row("INBOX", HASNO), row("music/rock", HASNO)]


def test_missing_level_deeper_down() -> None:
    """RFC 9051 §6.3.9: "matching levels of hierarchy are also returned" — at any depth."""
    mailboxes = account("a/b/c")
    assert listed(List("A", "", "a/%"), mailboxes) == [row("a/b", "\\NonExistent", HAS)]
    assert listed(List("A", "", "%"), mailboxes) == [row("a", "\\NonExistent", HAS)]
    assert listed(List("A", "", "%/%/%"), mailboxes) == [row("a/b/c", HASNO)]


# --- SUBSCRIBED -------------------------------------------------------------------------


def test_example_2_subscribed_selection_includes_nonexistent_names() -> None:
    """RFC 9051 §6.3.9.8 Example 2 / RFC 5258 §5 Example 2: <LIST (SUBSCRIBED) "" "*">;
    §6.3.9.1 MUST: "the list MUST include exactly those mailbox names that match the
    canonical list pattern and are subscribed to"; "\\Subscribed" "MUST be accurately
    computed when the SUBSCRIBED selection option is specified"."""
    assert listed(List("A02", "", "*", (SUBSCRIBED,)), FRUIT, FRUIT_SUBSCRIBED) == [
        row("INBOX", "\\Subscribed", HASNO),
        row("Fruit/Banana", "\\Subscribed", HASNO),
        row("Fruit/Peach", "\\Subscribed", "\\NonExistent", HASNO),
        row("Vegetable", "\\Subscribed", HAS),
        row("Vegetable/Broccoli", "\\Subscribed", HASNO),
    ]


def test_example_5_remote_is_ignored() -> None:
    """RFC 9051 §6.3.9.8 Example 5 <LIST (REMOTE SUBSCRIBED) "" "*">; §6.3.9.1: "Servers
    that don't support the concept of remote mailboxes can ignore this option"."""
    assert listed(List("A05", "", "*", (REMOTE, SUBSCRIBED)), FRUIT, FRUIT_SUBSCRIBED) == \
        listed(List("A02", "", "*", (SUBSCRIBED,)), FRUIT, FRUIT_SUBSCRIBED)


def test_example_6_subscribed_return_option() -> None:
    """RFC 9051 §6.3.9.8 Example 6 <LIST (REMOTE) "" "*" RETURN (SUBSCRIBED)>: every
    existing mailbox, \\Subscribed on the subscribed ones, no "Fruit/Peach" (§6.3.9: "Return
    options MUST NOT cause the server to report information about additional mailbox
    names"); §6.3.9.2 MUST: "\\Subscribed" accurately computed."""
    assert listed(List("A06", "", "*", (REMOTE,), (R_SUBSCRIBED,)), FRUIT,
                  FRUIT_SUBSCRIBED) == [
        row("INBOX", "\\Subscribed", HASNO),
        row("Fruit", HAS),
        row("Fruit/Apple", HASNO),
        row("Fruit/Banana", "\\Subscribed", HASNO),
        row("Tofu", HASNO),
        row("Vegetable", "\\Subscribed", HAS),
        row("Vegetable/Broccoli", "\\Subscribed", HASNO),
        row("Vegetable/Corn", HASNO),
    ]


def test_subscribed_is_sent_only_when_asked() -> None:
    """RFC 9051 §6.3.9.8 Example 1 (no \\Subscribed on a subscribed "inbox"); §6.3.9: "If
    no return options are specified, the client is only expecting information about
    mailbox attributes" — this server sends \\Subscribed only for SUBSCRIBED."""
    found = list_responses(List("A01", "", "*"), FRUIT, FRUIT_SUBSCRIBED, rev2=True)
    assert all("\\Subscribed" not in data.attributes for data in found)


def test_subscribed_names_are_canonical_inbox() -> None:
    """RFC 9051 §9: "All case variants of INBOX (e.g., "iNbOx") MUST be interpreted as
    INBOX"."""
    assert listed(List("A", "", "*", (SUBSCRIBED,)), FRUIT, ["inbox"]) == [
        row("INBOX", "\\Subscribed", HASNO)]


def test_subscribed_selection_does_not_list_unsubscribed_parents() -> None:
    """RFC 9051 §6.3.9.8 Example 7 A: "if the client issues <LIST (SUBSCRIBED) "" "%">,
    the server will return no mailboxes (as the mailboxes "Moo", "Foo", and "Inbox" are NOT
    subscribed)"."""
    mailboxes = account("INBOX", "Foo", "Foo/Bar", "Foo/Baz", "Moo")
    assert listed(List("C02", "", "*", (SUBSCRIBED,)), mailboxes, ["Foo/Baz"]) == [
        row("Foo/Baz", "\\Subscribed", HASNO)]
    assert listed(List("C03", "", "%", (SUBSCRIBED,)), mailboxes, ["Foo/Baz"]) == []


# --- RECURSIVEMATCH and CHILDINFO -------------------------------------------------------


FOO = account("INBOX", "Foo", "Foo/Bar", "Foo/Baz", "Moo")
SUB = ("SUBSCRIBED",)


def test_recursivematch_alone_is_bad() -> None:
    """RFC 9051 §6.3.9.1 MUST: "The RECURSIVEMATCH option MUST NOT occur as the only
    selection option (or only with REMOTE) ... The server MUST return a BAD tagged response
    in such case.\""""
    for options in ((RECURSIVEMATCH,), (REMOTE, RECURSIVEMATCH)):
        with pytest.raises(ListOptionError):
            list_responses(List("A", "", "*", options), FOO, (), rev2=True)


def test_example_7_childinfo_on_an_unsubscribed_parent() -> None:
    """RFC 9051 §6.3.9.8 Example 7 A: <LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"> gives
    `() "/" "Foo" ("CHILDINFO" ("SUBSCRIBED"))`; §6.3.9.1 RECURSIVEMATCH "Forces the server
    to return information about parent mailboxes that don't match other selection options
    but have some submailboxes that do"."""
    command = List("C04", "", "%", (SUBSCRIBED, RECURSIVEMATCH))
    assert listed(command, FOO, ["Foo/Baz"]) == [row("Foo", HAS, child_info=SUB)]


def test_example_7_a1_subscribed_parent_keeps_childinfo() -> None:
    """RFC 9051 §6.3.9.8 Example 7 A1: `(\\Subscribed \\HasChildren) "/" "Foo" ("CHILDINFO"
    ("SUBSCRIBED"))`; §6.3.9.6 Table 3 "yes | yes | yes → (<attr>) + CHILDINFO"."""
    command = List("C04", "", "%", (SUBSCRIBED, RECURSIVEMATCH))
    assert listed(command, FOO, ["Foo", "Foo/Baz"]) == [
        row("Foo", "\\Subscribed", HAS, child_info=SUB)]


def test_example_7_a2_nonexistent_parent_with_childinfo() -> None:
    """RFC 9051 §6.3.9.8 Example 7 A2: `(\\NonExistent) "/" "Foo" ("CHILDINFO"
    ("SUBSCRIBED"))`; Table 3 "no | no | yes → (\\NonExistent) + CHILDINFO"."""
    mailboxes = account("INBOX", "Foo/Bar", "Foo/Baz", "Moo")
    command = List("C04", "", "%", (SUBSCRIBED, RECURSIVEMATCH))
    assert listed(command, mailboxes, ["Foo/Baz"]) == [
        row("Foo", "\\NonExistent", HAS, child_info=SUB)]


def test_example_7_b_nothing_subscribed_lists_nothing() -> None:
    """RFC 9051 §6.3.9.8 Example 7 B: "no mailbox is subscribed ... will return no
    responses"; Table 3 "no LIST response returned"."""
    assert listed(List("C04", "", "%", (SUBSCRIBED, RECURSIVEMATCH)), FOO, []) == []


def test_example_7_c_no_childinfo_without_subscribed_children() -> None:
    """RFC 9051 §6.3.9.8 Example 7 C: only "Foo" and "Moo" subscribed gives
    `(\\HasChildren \\Subscribed) "/" "Foo"` and `(\\HasNoChildren \\Subscribed) "/" "Moo"`;
    §6.3.9.6: CHILDINFO "indicates that the mailbox has at least one descendant mailbox
    that matches the selection criteria"."""
    command = List("C04", "", "%", (SUBSCRIBED, RECURSIVEMATCH), (R_CHILDREN,))
    assert listed(command, FOO, ["Foo", "Moo"]) == [
        row("Foo", "\\Subscribed", HAS), row("Moo", "\\Subscribed", HASNO)]


EXAMPLE_8 = account("INBOX", "foo2", "foo2/bar1", "foo2/bar2", "baz2", "baz2/bar2",
                    "baz2/bar22", "baz2/bar222", "eps2", "eps2/mamba", "qux2/bar2")
EXAMPLE_8_SUBSCRIBED = ("foo2/bar1", "foo2/bar2", "baz2/bar2", "baz2/bar22", "baz2/bar222",
                        "eps2", "eps2/mamba", "qux2/bar2")


def test_example_8_childinfo_whether_or_not_children_match() -> None:
    """RFC 9051 §6.3.9.8 Example 8 <LIST (RECURSIVEMATCH SUBSCRIBED) "" "*2">; §6.3.9.6
    SHOULD: "Servers SHOULD only return a non-matching mailbox name along with CHILDINFO if
    at least one matching child is not also being returned" (so no "baz2", no "qux2")."""
    command = List("D03", "", "*2", (RECURSIVEMATCH, SUBSCRIBED))
    assert listed(command, EXAMPLE_8, EXAMPLE_8_SUBSCRIBED) == [
        row("baz2/bar2", "\\Subscribed", HASNO),
        row("baz2/bar22", "\\Subscribed", HASNO),
        row("baz2/bar222", "\\Subscribed", HASNO),
        row("eps2", "\\Subscribed", HAS, child_info=SUB),
        row("foo2", HAS, child_info=SUB),
        row("foo2/bar2", "\\Subscribed", HASNO),
        row("qux2/bar2", "\\Subscribed", HASNO),
    ]


def test_example_8_star_suppresses_redundant_childinfo() -> None:
    """RFC 9051 §6.3.9.3 principle 2.B: a name not meeting the criteria is listed only for
    a descendant "that doesn't match the canonical LIST pattern"; with "*" every
    descendant matches, so "foo2" and "baz2" are left out (Example 8's second listing shows
    them anyway, against §6.3.9.6's SHOULD). "eps2" meets the criteria and keeps its
    CHILDINFO (Table 3)."""
    command = List("D03", "", "*", (RECURSIVEMATCH, SUBSCRIBED))
    found = listed(command, EXAMPLE_8, EXAMPLE_8_SUBSCRIBED)
    assert [name for name, _, _ in found] == [
        "baz2/bar2", "baz2/bar22", "baz2/bar222", "eps2", "eps2/mamba", "foo2/bar1",
        "foo2/bar2", "qux2/bar2"]
    assert row("eps2", "\\Subscribed", HAS, child_info=SUB) in found


def test_example_9_childinfo_does_not_imply_haschildren() -> None:
    """RFC 9051 §6.3.9.8 Example 9: "foo" exists, "foo/bar" is subscribed but does not;
    <LIST (SUBSCRIBED RECURSIVEMATCH) "" foo RETURN (CHILDREN)> gives
    `(\\HasNoChildren) "/" foo ("CHILDINFO" ("SUBSCRIBED"))`."""
    mailboxes = account("INBOX", "foo")
    assert listed(List("a1", "", ("foo",)), mailboxes, ["foo/bar"]) == [row("foo", HASNO)]
    assert listed(List("a2", "", "foo/*", (SUBSCRIBED,)), mailboxes, ["foo/bar"]) == [
        row("foo/bar", "\\Subscribed", "\\NonExistent", HASNO)]
    command = List("a3", "", "foo", (SUBSCRIBED, RECURSIVEMATCH), (R_CHILDREN,))
    assert listed(command, mailboxes, ["foo/bar"]) == [row("foo", HASNO, child_info=SUB)]


def test_childinfo_only_with_recursivematch() -> None:
    """RFC 9051 §6.3.9.6 MUST NOT: "The CHILDINFO extended data item MUST NOT be returned
    unless the client has specified the RECURSIVEMATCH selection option"."""
    for command, mailboxes in ((List("A", "", "*", (SUBSCRIBED,)), EXAMPLE_8),
                               (List("A", "", "%"), EXAMPLE_8),
                               (List("A", "", "*", (SPECIAL_USE,), (R_CHILDREN,)), RFC6154)):
        found = list_responses(command, mailboxes, EXAMPLE_8_SUBSCRIBED, rev2=True)
        assert found
        assert all(data.child_info is None for data in found)


# --- SPECIAL-USE ------------------------------------------------------------------------


def test_rfc6154_example_1_basic_list_carries_special_use() -> None:
    """RFC 6154 §5.1 <LIST "" "%">: `(\\Sent \\HasNoChildren) "/" SentMail`; §2: a server
    "MAY include any or all of the following attributes in responses to the non-extended
    IMAP LIST command"."""
    assert listed(List("t1", "", "%"), RFC6154, rev2=False) == [
        row("INBOX", HASNO), row("MyDrafts", "\\Drafts", HASNO), row("Projects", HAS),
        row("SentMail", "\\Sent", HASNO), row("ToDo", HASNO), row("Trash", "\\Trash", HASNO)]


def test_rfc6154_example_2_special_use_return_option() -> None:
    """RFC 6154 §2 MUST: "If the client specifies the "SPECIAL-USE" return option, the LIST
    command MUST return the new special-use attributes on those mailboxes that have them
    set" (§5.2 t2)."""
    found = listed(List("t2", "", "%", None, (R_SPECIAL_USE,)), RFC6154)
    assert row("SentMail", "\\Sent", HASNO) in found
    assert row("MyDrafts", "\\Drafts", HASNO) in found
    assert row("ToDo", HASNO) in found


def test_rfc6154_example_2_special_use_selection() -> None:
    """RFC 6154 §5.2 t3 <LIST (SPECIAL-USE) "" "*">; §2 MUST: "If the client specifies the
    "SPECIAL-USE" selection option, the LIST command MUST return only those mailboxes that
    have a special-use attribute set"; the return option "is implied"."""
    assert listed(List("t3", "", "*", (SPECIAL_USE,)), RFC6154) == [
        row("MyDrafts", "\\Drafts", HASNO), row("SentMail", "\\Sent", HASNO),
        row("Trash", "\\Trash", HASNO)]


def test_selection_options_are_cumulative() -> None:
    """RFC 9051 §6.3.9: "a mailbox that matches the mailbox patterns is selected only if it
    also matches all of the selection options"."""
    command = List("A", "", "*", (SPECIAL_USE, SUBSCRIBED))
    assert listed(command, RFC6154, ["INBOX", "Trash", "Gone"]) == [
        row("Trash", "\\Trash", "\\Subscribed", HASNO)]


def test_special_use_recursivematch() -> None:
    """RFC 9051 §6.3.9.1 RECURSIVEMATCH with the SPECIAL-USE selection (RFC 6154 §2): a
    parent with a special-use descendant carries CHILDINFO ("SPECIAL-USE")."""
    mailboxes = account("INBOX", "Work", "Work/Sent", special={"Work/Sent": SpecialUse.SENT})
    command = List("A", "", "%", (SPECIAL_USE, RECURSIVEMATCH))
    assert listed(command, mailboxes) == [row("Work", HAS, child_info=("SPECIAL-USE",))]


# --- which results get a STATUS (RFC 5819) ----------------------------------------------


def test_status_only_for_selectable_names() -> None:
    """RFC 5819 §2 / RFC 9051 §6.3.9.2 MUST: "For each selectable mailbox matching the list
    pattern and selection options, the server MUST return an untagged LIST response
    followed by an untagged STATUS response"; Example 11: "The "bar" mailbox isn't
    selectable, so it has no STATUS reply"."""
    mailboxes = account("INBOX", "foo", "bar/baz")
    found = list_responses(List("A01", "", "%", None, None, ()), mailboxes, (), rev2=True)
    assert [(data.mailbox, selectable(data)) for data in found] == [
        ("INBOX", True), ("bar", False), ("foo", True)]
    rev1 = list_responses(List("A01", "", "%"), mailboxes, (), rev2=False)
    assert [(data.mailbox, selectable(data)) for data in rev1] == [
        ("INBOX", True), ("bar", False), ("foo", True)]


def test_no_status_for_a_name_listed_only_for_childinfo() -> None:
    """RFC 9051 §6.3.9.8 Example 11 A02 <LIST (SUBSCRIBED RECURSIVEMATCH) "" % RETURN
    (STATUS (MESSAGES))>: "no STATUS reply is returned because "foo" itself doesn't match
    the selection criteria"."""
    mailboxes = account("INBOX", "foo", "foo/bar")
    command = List("A02", "", "%", (SUBSCRIBED, RECURSIVEMATCH), None, ())
    found = list_responses(command, mailboxes, ["INBOX", "foo/bar"], rev2=True)
    assert [(data.mailbox, selectable(data)) for data in found] == [
        ("INBOX", True), ("foo", False)]
    subscribed_too = list_responses(command, mailboxes, ["foo", "foo/bar"], rev2=True)
    assert [(data.mailbox, selectable(data)) for data in subscribed_too] == [("foo", True)]


def test_no_status_for_nonexistent_subscribed_names() -> None:
    """RFC 5819 §2: STATUS only for a "selectable mailbox"; RFC 9051 §7.3.1: "The
    "\\NonExistent" attribute implies "\\NoSelect""."""
    found = list_responses(List("A", "", "*", (SUBSCRIBED,)), FRUIT, FRUIT_SUBSCRIBED,
                           rev2=True)
    assert [data.mailbox for data in found if not selectable(data)] == ["Fruit/Peach"]


# --- LSUB (RFC 3501 §6.3.9) -------------------------------------------------------------


NEWS = account("INBOX", "news/comp/mail/mime", "news/comp/mail/misc", "news/comp/mail")


def test_lsub_lists_subscribed_names() -> None:
    """RFC 3501 §6.3.9 example A002 <LSUB "#news." "comp.mail.*"> (here with "/"): "The
    LSUB command returns a subset of names from the set of names that the user has declared
    as being "active" or "subscribed"."""
    subscribed = ["news/comp/mail/mime", "news/comp/mail/misc"]
    assert lsubbed(Lsub("A002", "news/", "comp/mail/*"), NEWS, subscribed) == [
        row("news/comp/mail/mime"), row("news/comp/mail/misc")]


def test_lsub_percent_returns_the_unsubscribed_parent_noselect() -> None:
    """RFC 3501 §6.3.9 MUST: "A "%" wildcard to LSUB must return foo, not foo/bar, in the
    LSUB response, and it MUST be flagged with the \\Noselect attribute" (example A003
    <LSUB "#news." "comp.%"> gives `(\\NoSelect) "." #news.comp.mail`)."""
    subscribed = ["news/comp/mail/mime", "news/comp/mail/misc"]
    assert lsubbed(Lsub("A003", "news/", "comp/%"), NEWS, subscribed) == [
        row("news/comp/mail", "\\Noselect")]
    assert lsubbed(Lsub("A", "", "%"), account("INBOX"), ["foo/bar"]) == [
        row("foo", "\\Noselect")]


def test_lsub_star_does_not_add_parents() -> None:
    """RFC 3501 §6.3.9: LSUB returns subscribed names; with "*" the subscribed child itself
    matches, so no unsubscribed parent is returned."""
    assert lsubbed(Lsub("A", "", "*"), account("INBOX", "foo", "foo/bar"), ["foo/bar"]) == [
        row("foo/bar")]


def test_lsub_keeps_names_that_no_longer_exist() -> None:
    """RFC 3501 §6.3.9 MUST NOT: "The server MUST NOT unilaterally remove an existing
    mailbox name from the subscription list even if a mailbox by that name no longer
    exists" — it is listed, and it cannot be selected."""
    assert lsubbed(Lsub("A", "", "*"), account("INBOX"), ["INBOX", "Gone"]) == [
        row("INBOX"), row("Gone", "\\Noselect")]


def test_lsub_subscribed_parent_is_not_noselect() -> None:
    """RFC 3501 §6.3.9: the \\Noselect rule is for a parent that is not subscribed."""
    mailboxes = account("INBOX", "foo", "foo/bar")
    assert lsubbed(Lsub("A", "", "%"), mailboxes, ["foo", "foo/bar"]) == [row("foo")]


def test_lsub_inbox_case_and_empty_pattern() -> None:
    """RFC 3501 §6.3.9: "The arguments to LSUB are in the same form as those for LIST":
    INBOX matches in any case, and "" asks for the delimiter (§6.3.8)."""
    assert lsubbed(Lsub("A", "", "inbox"), FRUIT, ["inbox"]) == [row("INBOX")]
    assert lsub_responses(Lsub("A", "", ""), FRUIT, []) == [
        LsubData(("\\Noselect",), "/", "")]
