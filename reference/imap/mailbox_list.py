"""LIST and LSUB results: RFC 9051 §6.3.9 (with RFC 5258 LIST-EXTENDED, RFC 3348 CHILDREN,
RFC 6154 SPECIAL-USE, RFC 5819 LIST-STATUS) and RFC 3501 §6.3.9 LSUB. Pure: the session
passes the account's mailboxes and subscribed names in and sends what comes out.

Decisions where the RFCs leave a choice:

- Canonical pattern: the reference with the pattern appended (§6.3.9 "If a server
  implementation has no concept of break out characters, the canonical form is normally
  the reference name appended with the mailbox name"); there are no break-out characters
  (one personal namespace, prefix "").
- ``LIST "" ""`` (basic syntax) returns ``(\\Noselect) "/" ""`` whatever the reference:
  §6.3.9 "The value returned as the root MAY be the empty string if the reference is
  non-rooted"; our names are non-rooted. LSUB takes "the same form as those for LIST"
  (RFC 3501 §6.3.9) and answers ``LSUB "" ""`` the same way.
- Only the name INBOX is case-insensitive (RFC 9051 §5.1): it matches a pattern when some
  case variant of "INBOX" does. Its children are matched as spelled, as SELECT does.
- \\HasChildren / \\HasNoChildren are on every LIST response (§6.3.9.5 "these attributes
  MAY be returned in response to any LIST command"), computed from existing mailboxes
  only (Example 9: a subscribed, non-existent "foo/bar" leaves "foo" \\HasNoChildren).
  Special-use attributes are on every LIST response too (RFC 6154 §2 "MAY include any or
  all of the following attributes in responses to the non-extended IMAP LIST command";
  "The extended LIST command MAY return SPECIAL-USE attributes even if the client does
  not specify the return option"). So RETURN (CHILDREN) and RETURN (SPECIAL-USE) change
  nothing. \\Subscribed only when asked (selection or return option SUBSCRIBED), as in
  §6.3.9.8 Example 1. Never \\Marked/\\Unmarked (§7.3.1 "If it is not feasible ... SHOULD
  NOT send either") nor \\Noinferiors (every mailbox may have children).
- A level of hierarchy that does not exist (the store keeps "a/b" after "a" is deleted)
  is returned when it matches a pattern and has an existing descendant that matches none
  (§6.3.9.3 principle 2.B; §6.3.9 "If the "%" wildcard is the last character ... matching
  levels of hierarchy are also returned"). So ``LIST "" (% music/rock)`` does not return
  "music": §6.3.9.8 Example 10 allows both. It is flagged \\NonExistent \\HasChildren
  (§6.3.9.6 "SHOULD use the "\\NonExistent \\HasChildren" attribute pair", Example 10),
  but \\Noselect in the basic syntax of IMAP4rev1, which has no \\NonExistent (RFC 3501
  §6.3.8 "they are returned with the \\Noselect mailbox name attribute"). Never both:
  §9 mbx-list-sflag "only one per LIST response".
- RECURSIVEMATCH: a name that does not meet the selection criteria is returned with
  CHILDINFO only if a descendant meeting them matches no pattern (§6.3.9.3 principle 2.B,
  §6.3.9.6 "SHOULD suppress redundant CHILDINFO responses"); the second listing of
  Example 8 (pattern "*") shows "foo2" and "baz2" anyway, against that rule. A name that
  meets the criteria carries CHILDINFO whenever a descendant meets them (Table 3).
- LSUB: subscribed names that do not exist are \\Noselect (SELECT would fail); the
  unsubscribed parent that a "%" returns is \\Noselect (RFC 3501 §6.3.9 MUST) whether or
  not it exists. No child attributes (RFC 3348 §3 "might not be returned in response to a
  LSUB response").
- Order: INBOX first, then by hierarchy (a parent before its children).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from reference.imap.commands import List, ListReturnOption, ListSelectOption, Lsub
from reference.imap.mailbox_names import INBOX, canonical_mailbox
from reference.imap.response_data import ListData, LsubData

# RFC 9051 §5.1: the hierarchy delimiter; the store's HIERARCHY_SEPARATOR (this core does
# not import the store).
DELIMITER = "/"

NONEXISTENT = "\\NonExistent"
NOSELECT = "\\Noselect"
SUBSCRIBED = "\\Subscribed"
HAS_CHILDREN = "\\HasChildren"
HAS_NO_CHILDREN = "\\HasNoChildren"
# RFC 9051 §7.3.1 / RFC 6154 §2: the special-use attributes.
SPECIAL_USE_ATTRIBUTES = frozenset(
    ("\\All", "\\Archive", "\\Drafts", "\\Flagged", "\\Junk", "\\Sent", "\\Trash"))


class ListOptionError(ValueError):
    """A LIST the server answers with a tagged BAD; the message says why."""


class _SpecialUse(Protocol):
    @property
    def value(self) -> str: ...


class ListedMailbox(Protocol):
    """What LIST needs of a mailbox (``reference.store.interface.Mailbox`` has it)."""

    @property
    def name(self) -> str: ...

    @property
    def special_use(self) -> _SpecialUse | None: ...


# --- patterns ------------------------------------------------------------------------


def canonical_pattern(reference: str, pattern: str) -> str:
    """RFC 9051 §6.3.9: "the canonical form is normally the reference name appended with
    the mailbox name" (no break-out characters here)."""
    return reference + pattern


def matches_pattern(name: str, pattern: str, *, delimiter: str = DELIMITER) -> bool:
    """RFC 9051 §6.3.9: ""*" is a wildcard and matches zero or more characters at this
    position. The character "%" is similar to "*", but it does not match a hierarchy
    delimiter." Every other character matches itself (case-sensitively).

    An NFA run over the pattern positions: O(len(name) x len(pattern)) whatever the
    wildcards, never the exponential backtracking of a naive matcher.
    """
    states = _closure(pattern, {0})
    for char in name:
        following: set[int] = set()
        for position in states:
            if position == len(pattern):
                continue
            token = pattern[position]
            if token == "*" or (token == "%" and char != delimiter):
                following.add(position)             # the wildcard takes this character
            elif token == char and token != "%":
                following.add(position + 1)
        if not following:
            return False
        states = _closure(pattern, following)
    return len(pattern) in states


def _closure(pattern: str, states: set[int]) -> set[int]:
    """Add the positions reached by letting wildcards match nothing."""
    pending = list(states)
    while pending:
        position = pending.pop()
        if position < len(pattern) and pattern[position] in "*%" \
                and position + 1 not in states:
            states.add(position + 1)
            pending.append(position + 1)
    return states


def _matches_any(name: str, patterns: Sequence[str]) -> bool:
    if name == INBOX:
        # RFC 9051 §6.3.9: INBOX is listed "if the uppercase string "INBOX" matches the
        # interpreted reference and mailbox name arguments"; §5.1 "The case-insensitive
        # mailbox name INBOX": any case variant of it may be what the pattern spells.
        return any(matches_pattern(INBOX, _ascii_upper(p)) for p in patterns)
    return any(matches_pattern(name, p) for p in patterns)


def _ascii_upper(text: str) -> str:
    return "".join(c.upper() if "a" <= c <= "z" else c for c in text)


# --- the hierarchy ---------------------------------------------------------------------


def _ancestors(name: str) -> Iterable[str]:
    """The superior levels of hierarchy of ``name``: "a", "a/b" for "a/b/c"."""
    position = name.find(DELIMITER, 1)
    while position != -1:
        yield name[:position]
        position = name.find(DELIMITER, position + 1)


def _order(name: str) -> tuple[bool, list[str]]:
    return (name != INBOX, name.split(DELIMITER))


def _with_descendants(names: Iterable[str]) -> dict[str, list[str]]:
    """Each level of hierarchy above one of ``names``, with those of ``names`` below it."""
    below: dict[str, list[str]] = {}
    for name in names:
        for ancestor in _ancestors(name):
            below.setdefault(ancestor, []).append(name)
    return below


# --- LIST ------------------------------------------------------------------------------


def list_responses(command: List, mailboxes: Sequence[ListedMailbox],
                   subscriptions: Sequence[str], *, rev2: bool) -> list[ListData]:
    """The untagged LIST responses to ``command``, in order (RFC 9051 §6.3.9).

    ``subscriptions`` are the subscribed names, existing or not (§6.3.7). Raises
    ``ListOptionError`` for RECURSIVEMATCH without a base selection option.
    """
    selection = set(command.selection_options or ())
    returns = set(command.return_options or ())
    if ListSelectOption.RECURSIVEMATCH in selection and not (
            selection & {ListSelectOption.SUBSCRIBED, ListSelectOption.SPECIAL_USE}):
        # §6.3.9.1 MUST: "The RECURSIVEMATCH option MUST NOT occur as the only selection
        # option (or only with REMOTE) ... The server MUST return a BAD tagged response"
        raise ListOptionError("RECURSIVEMATCH needs another selection option")
    # §6.3.9.1 REMOTE: "Servers that don't support the concept of remote mailboxes can
    # ignore this option."
    if not command.extended and command.patterns == "":
        # §6.3.9: "In the basic syntax only, an empty ("" string) mailbox name argument is
        # a special request to return the hierarchy delimiter and the root name"; "The
        # value returned as the root MAY be the empty string if the reference is
        # non-rooted or is an empty string."
        return [ListData((NOSELECT,), DELIMITER, "")]
    raw = (command.patterns,) if isinstance(command.patterns, str) else command.patterns
    # §6.3.9: "In the extended syntax, any mailbox name arguments that are empty strings
    # are ignored."
    patterns = [canonical_pattern(command.reference, p) for p in raw if p != ""]

    existing = {mailbox.name: mailbox for mailbox in mailboxes}
    subscribed = {canonical_mailbox(name) for name in subscriptions}
    by_subscription = ListSelectOption.SUBSCRIBED in selection
    by_special_use = ListSelectOption.SPECIAL_USE in selection
    recursive = ListSelectOption.RECURSIVEMATCH in selection
    # §6.3.9.1 SUBSCRIBED: "the SUBSCRIBED selection option implies the SUBSCRIBED return
    # option"; §6.3.9.2: "MUST be accurately computed when the SUBSCRIBED return option is
    # specified".
    show_subscribed = by_subscription or ListReturnOption.SUBSCRIBED in returns
    nonexistent_flag = NONEXISTENT if rev2 or command.extended else NOSELECT

    def meets(name: str) -> bool:
        """§6.3.9: "a mailbox that matches the mailbox patterns is selected only if it
        also matches all of the selection options"."""
        if by_subscription and name not in subscribed:
            return False
        mailbox = existing.get(name)
        if by_special_use and (mailbox is None or mailbox.special_use is None):
            # RFC 6154 §2 MUST: "return only those mailboxes that have a special-use
            # attribute set"
            return False
        # SUBSCRIBED "list[s] subscribed names rather than the existing mailboxes"
        return by_subscription or mailbox is not None

    selected = {name for name in set(existing) | subscribed if meets(name)}
    selected_below = _with_descendants(selected)
    existing_below = _with_descendants(existing)

    results: list[ListData] = []
    for name in sorted(set(existing) | subscribed | set(existing_below) | set(selected_below),
                       key=_order):
        if not _matches_any(name, patterns):
            continue
        child_info: tuple[str, ...] | None = None
        if name in selected:
            # §6.3.9.3 principle 2.A: "The mailbox name also satisfies the selection
            # criteria."; Table 3: CHILDINFO when it "Has a child that meets the
            # selection criteria".
            if recursive and name in selected_below:
                child_info = _child_info(selection)
        elif recursive:
            # §6.3.9.3 principle 2.B: a descendant "that satisfies the selection criteria
            # and that doesn't match the canonical LIST pattern"; §6.3.9.6 "servers
            # SHOULD suppress redundant CHILDINFO responses".
            if not any(not _matches_any(d, patterns) for d in selected_below.get(name, ())):
                continue
            child_info = _child_info(selection)
        elif selection & {ListSelectOption.SUBSCRIBED, ListSelectOption.SPECIAL_USE}:
            # §6.3.9.8 Example 7 A: <LIST (SUBSCRIBED) "" "%"> "will return no mailboxes"
            # for an unsubscribed parent of a subscribed child.
            continue
        elif not any(not _matches_any(d, patterns) for d in existing_below.get(name, ())):
            # A level of hierarchy that does not exist: §6.3.9 "If the "%" wildcard is the
            # last character of a mailbox name argument, matching levels of hierarchy are
            # also returned"; Example 10 does not return "music" for (% music/rock).
            continue
        results.append(ListData(
            _attributes(name, existing.get(name), existing_below, nonexistent_flag,
                        subscribed=(name in subscribed) if show_subscribed else None),
            DELIMITER, name, child_info))
    return results


def _child_info(selection: set[ListSelectOption]) -> tuple[str, ...]:
    """§6.3.9.6: CHILDINFO "describes the selection criteria that has caused it to be
    returned" (the base options: childinfo-extended-item's list-select-base-opt-quoted)."""
    return tuple(option.value for option in (ListSelectOption.SUBSCRIBED,
                                             ListSelectOption.SPECIAL_USE)
                 if option in selection)


def _attributes(name: str, mailbox: ListedMailbox | None, existing_below: dict[str, list[str]],
                nonexistent_flag: str, *, subscribed: bool | None) -> tuple[str, ...]:
    attributes: list[str] = []
    if mailbox is None:
        # §7.3.1: "The "\NonExistent" attribute indicates that a mailbox name does not
        # refer to an existing mailbox"; "implies "\NoSelect"" (RFC 3501: \Noselect).
        attributes.append(nonexistent_flag)
    elif mailbox.special_use is not None:
        # RFC 6154 §2 / RFC 9051 §7.3.1: special-use attributes "are included along with
        # base attributes".
        attributes.append(mailbox.special_use.value)
    if subscribed:
        attributes.append(SUBSCRIBED)
    # §6.3.9.5: "It is an error for the server to return both a \HasChildren and a
    # \HasNoChildren attribute in the same LIST response."
    attributes.append(HAS_CHILDREN if name in existing_below else HAS_NO_CHILDREN)
    return tuple(attributes)


def selectable(data: ListData) -> bool:
    """Whether the session sends a STATUS after this LIST response (RFC 5819 §2 / RFC 9051
    §6.3.9.2: "For each selectable mailbox matching the list pattern and selection
    options"): not \\NonExistent or \\Noselect, and not a name returned only for its
    CHILDINFO (§6.3.9.8 Example 11: "no STATUS reply is returned because "foo" itself
    doesn't match the selection criteria").
    """
    flags = {attribute.upper() for attribute in data.attributes}
    if NONEXISTENT.upper() in flags or NOSELECT.upper() in flags:
        return False
    if data.child_info is None:
        return True
    # CHILDINFO names the selection criteria; a name meeting them carries their attributes.
    if ListSelectOption.SUBSCRIBED.value in data.child_info and SUBSCRIBED.upper() not in flags:
        return False
    if ListSelectOption.SPECIAL_USE.value in data.child_info:
        return bool(flags & {flag.upper() for flag in SPECIAL_USE_ATTRIBUTES})
    return True



# --- LSUB (IMAP4rev1) ------------------------------------------------------------------


def lsub_responses(command: Lsub, mailboxes: Sequence[ListedMailbox],
                   subscriptions: Sequence[str]) -> list[LsubData]:
    """The untagged LSUB responses to ``command`` (RFC 3501 §6.3.9)."""
    if command.pattern == "":
        # RFC 3501 §6.3.9: "The arguments to LSUB are in the same form as those for LIST";
        # §6.3.8's empty-name request for the delimiter.
        return [LsubData((NOSELECT,), DELIMITER, "")]
    patterns = [canonical_pattern(command.reference, command.pattern)]
    existing = {mailbox.name for mailbox in mailboxes}
    subscribed = {canonical_mailbox(name) for name in subscriptions}
    subscribed_below = _with_descendants(subscribed)
    results: list[LsubData] = []
    for name in sorted(subscribed | set(subscribed_below), key=_order):
        if not _matches_any(name, patterns):
            continue
        if name in subscribed:
            # A subscribed name that "no longer exists" stays listed (RFC 3501 §6.3.9 "MUST
            # NOT unilaterally remove") and cannot be selected.
            attributes: tuple[str, ...] = () if name in existing else (NOSELECT,)
        elif any(not _matches_any(d, patterns) for d in subscribed_below[name]):
            # RFC 3501 §6.3.9: "A "%" wildcard to LSUB must return foo, not foo/bar, in the
            # LSUB response, and it MUST be flagged with the \Noselect attribute."
            attributes = (NOSELECT,)
        else:
            continue
        results.append(LsubData(attributes, DELIMITER, name))
    return results
