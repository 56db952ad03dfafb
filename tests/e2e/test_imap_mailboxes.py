"""IMAP mailbox commands through a real socket byte by byte (``ImapWire``): LIST-EXTENDED
(RFC 5258) with LIST-STATUS (RFC 5819), NAMESPACE, ID, STATUS SIZE/DELETED, CREATE,
DELETE, RENAME INBOX, SUBSCRIBE with LSUB. Every test names the requirement it checks
(RFC, section, level)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import RunningServer
from tests.e2e.imap_wire import (
    ALICE,
    PASSWORD,
    Completion,
    ImapWire,
    append,
    connect,
    endpoint,
    status_values,
)


@pytest.fixture
def wire(server: RunningServer) -> Iterator[ImapWire]:
    """A connection in the not-authenticated state."""
    with ImapWire(endpoint(server)) as connection:
        yield connection


@pytest.fixture
def alice(server: RunningServer) -> Iterator[ImapWire]:
    """An IMAP4rev1 client (nothing enabled), logged in as alice."""
    with connect(server) as connection:
        yield connection


def uidvalidity(connection: ImapWire, mailbox: str) -> int:
    return status_values(connection, mailbox, "UIDVALIDITY")[b"UIDVALIDITY"]


def all_expunged(done: Completion, count: int) -> bool:
    """Whether the EXPUNGE responses of ``done``, applied in order (RFC 9051 §7.5.1: each
    renumbers the messages after it), remove all ``count`` messages."""
    numbers = list(range(1, count + 1))
    for line in done.starting(b"* "):
        words = line.split()
        if words[2:] == [b"EXPUNGE"]:
            position = int(words[1])
            if not 1 <= position <= len(numbers):
                return False
            del numbers[position - 1]
    return numbers == []


# --- LIST-EXTENDED (RFC 5258 / RFC 9051 §6.3.9), LIST-STATUS (RFC 5819) ---------------


def make_tree(alice: ImapWire) -> None:
    """Work (unsubscribed) with Work/Q1 (subscribed), and a subscribed name that does not
    exist."""
    for name in ("Work", "Work/Q1"):
        assert alice.command(f"CREATE {name}").status == b"OK"
    assert alice.command("UNSUBSCRIBE Work").status == b"OK"
    assert alice.command("SUBSCRIBE Work/Q1").status == b"OK"
    assert alice.command("SUBSCRIBE Gone").status == b"OK"


def test_list_subscribed_selection_lists_subscribed_names(alice: ImapWire) -> None:
    """RFC 9051 §6.3.9.1 SUBSCRIBED: "Causes the LIST command to list subscribed names
    rather than the existing mailboxes", and "implies the SUBSCRIBED return option"
    (\\Subscribed on each); a subscribed name that does not exist is \\NonExistent
    (§6.3.9.8 Example 6)."""
    make_tree(alice)
    done = alice.command('LIST (SUBSCRIBED) "" "*"')
    assert done.status == b"OK"
    listed = {line.rsplit(b" ", 1)[1][:-2]: line for line in done.starting(b"* LIST ")}
    assert b"Work" not in listed
    assert listed[b"Work/Q1"] == b'* LIST (\\Subscribed \\HasNoChildren) "/" Work/Q1\r\n'
    assert listed[b"Gone"] == b'* LIST (\\NonExistent \\Subscribed \\HasNoChildren) "/" Gone\r\n'
    assert all(b"\\Subscribed" in line for line in listed.values()), listed


def test_list_recursivematch_returns_the_parent_with_childinfo(alice: ImapWire) -> None:
    """RFC 9051 §6.3.9.1 RECURSIVEMATCH / §6.3.9.6 CHILDINFO (§6.3.9.8 Example 7): with
    (SUBSCRIBED RECURSIVEMATCH) and "%", the unsubscribed "Work" is returned with
    ("CHILDINFO" ("SUBSCRIBED")) because its child is subscribed; without
    RECURSIVEMATCH it is not returned at all. RECURSIVEMATCH alone "MUST" be a BAD."""
    make_tree(alice)
    done = alice.command('LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"')
    assert done.status == b"OK"
    assert b'* LIST (\\HasChildren) "/" Work ("CHILDINFO" ("SUBSCRIBED"))\r\n' in done.untagged
    plain_listing = alice.command('LIST (SUBSCRIBED) "" "%"')
    assert not [line for line in plain_listing.untagged if b'"/" Work' in line]
    bad = alice.command('LIST (RECURSIVEMATCH) "" "%"')
    assert bad.status == b"BAD" and bad.untagged == []


def test_list_special_use_selection_and_return_options(alice: ImapWire) -> None:
    """RFC 6154 §2 MUST: the SPECIAL-USE selection option returns "only those mailboxes
    that have a special-use attribute set"; RETURN (SPECIAL-USE) includes the attributes;
    RFC 9051 §6.3.9.5 / RFC 3348: RETURN (CHILDREN) gives \\HasChildren / \\HasNoChildren
    accurately (never both)."""
    make_tree(alice)
    done = alice.command('LIST (SPECIAL-USE) "" "*" RETURN (SPECIAL-USE)')
    assert done.status == b"OK"
    assert sorted(done.starting(b"* LIST ")) == [
        b'* LIST (\\Archive \\HasNoChildren) "/" Archive\r\n',
        b'* LIST (\\Drafts \\HasNoChildren) "/" Drafts\r\n',
        b'* LIST (\\Junk \\HasNoChildren) "/" Junk\r\n',
        b'* LIST (\\Sent \\HasNoChildren) "/" Sent\r\n',
        b'* LIST (\\Trash \\HasNoChildren) "/" Trash\r\n',
    ]
    done = alice.command('LIST "" "Work*" RETURN (CHILDREN)')
    assert done.untagged == [b'* LIST (\\HasChildren) "/" Work\r\n',
                             b'* LIST (\\HasNoChildren) "/" Work/Q1\r\n']
    done = alice.command('LIST "" "Sent" RETURN (SPECIAL-USE)')
    assert done.untagged == [b'* LIST (\\Sent \\HasNoChildren) "/" Sent\r\n']


def test_list_return_status_follows_each_selectable_mailbox(alice: ImapWire) -> None:
    """RFC 5819 §2 / RFC 9051 §6.3.9.2 STATUS return option: "For each selectable mailbox
    matching the list pattern and selection options, the server MUST return an untagged
    LIST response followed by an untagged STATUS response"; none for a \\NonExistent
    name (§6.3.9.8 Example 11); the values are those of STATUS (RFC 8438 SIZE)."""
    make_tree(alice)
    message = b"Subject: q1\r\n\r\nquarter one\r\n"
    append(alice, "Work/Q1", message)
    done = alice.command('LIST (SUBSCRIBED) "" "*" RETURN (STATUS (MESSAGES UNSEEN SIZE))')
    assert done.status == b"OK"
    index = done.untagged.index(b'* LIST (\\Subscribed \\HasNoChildren) "/" Work/Q1\r\n')
    assert done.untagged[index + 1] == \
        f"* STATUS Work/Q1 (MESSAGES 1 UNSEEN 1 SIZE {len(message)})\r\n".encode()
    assert b'* LIST (\\NonExistent \\Subscribed \\HasNoChildren) "/" Gone\r\n' in done.untagged
    assert not done.starting(b"* STATUS Gone ")
    lists, statuses = done.starting(b"* LIST "), done.starting(b"* STATUS ")
    assert len(statuses) == len(lists) - 1                       # all but Gone


# --- NAMESPACE, ID, STATUS ------------------------------------------------------------


def test_namespace_names_one_personal_namespace(alice: ImapWire) -> None:
    """RFC 9051 §6.3.10 / RFC 2342 §5: "a single untagged NAMESPACE response" with the
    personal, other users' and shared namespaces; "The response will contain a NIL for
    any namespace class that is not available". RFC 2342 §2 MUST: INBOX "MUST appear
    within the user's personal namespace" (prefix "" holds it), and the delimiter is
    the one LIST "" "" reports (§6.3.9)."""
    done = alice.command("NAMESPACE")
    assert done.status == b"OK"
    assert done.untagged == [b'* NAMESPACE (("" "/")) NIL NIL\r\n']
    assert alice.command('LIST "" ""').untagged == [b'* LIST (\\Noselect) "/" ""\r\n']


@pytest.mark.parametrize("parameters", ['("name" "e2e" "version" "1.0")', "NIL"])
def test_id_is_answered_in_any_state(wire: ImapWire, parameters: str) -> None:
    """RFC 2971 §3.1: ID "is valid in any state"; §3.2 MUST: "A server MUST send a
    tagged ID response to an ID command" (an untagged ID with a field-value list or NIL);
    §3.3 MUST NOT: at most 30 pairs, field strings at most 30 octets."""
    for state in ("not authenticated", "authenticated"):
        done = wire.command(f"ID {parameters}")
        assert done.status == b"OK"
        (line,) = done.untagged
        match = re.fullmatch(rb'\* ID (NIL|\(("[^"]*" (?:"[^"]*"|NIL) ?)+\))\r\n', line)
        assert match is not None, line
        pairs = re.findall(rb'"([^"]*)" ("[^"]*"|NIL)', line)
        assert len(pairs) <= 30 and all(len(field) <= 30 for field, _ in pairs)
        assert (b"name", b'"rfcmail"') in pairs, state
        if state == "not authenticated":
            wire.login(ALICE, PASSWORD)


def test_status_size_and_deleted(alice: ImapWire) -> None:
    """RFC 8438 §3 STATUS=SIZE: SIZE is "the total size of the mailbox in octets" (the
    sum of the messages' RFC822.SIZE); RFC 9051 §6.3.11 DELETED: "The number of messages
    that have the \\Deleted flag set"; both without selecting the mailbox."""
    first = b"Subject: a\r\n\r\nfirst message\r\n"
    second = b"Subject: b\r\n\r\nsecond, longer message\r\n"
    assert alice.command("CREATE Sizes").status == b"OK"
    assert status_values(alice, "Sizes", "MESSAGES SIZE DELETED") == {
        b"MESSAGES": 0, b"SIZE": 0, b"DELETED": 0}
    append(alice, "Sizes", first, "\\Deleted")
    append(alice, "Sizes", second, "\\Seen")
    assert status_values(alice, "Sizes", "MESSAGES SIZE DELETED UNSEEN") == {
        b"MESSAGES": 2, b"SIZE": len(first) + len(second), b"DELETED": 1, b"UNSEEN": 1}
    done = alice.command("STATUS Nowhere (MESSAGES)")
    assert done.tagged.startswith(b"NO [NONEXISTENT] "), done


# --- CREATE, DELETE, RENAME, SUBSCRIBE (RFC 9051 §6.3.4-6.3.8, RFC 3501 §6.3.9) -------


def test_create_of_an_existing_name_is_no_alreadyexists(alice: ImapWire) -> None:
    """RFC 9051 §6.3.4: "It is an error to attempt to create INBOX or a mailbox with a
    name that refers to an extant mailbox"; §7.1 ALREADYEXISTS names that error; INBOX
    is case-insensitive (§5.1)."""
    assert alice.command("CREATE Projects").status == b"OK"
    for name in ("Projects", "Projects/", "INBOX", "inbox"):
        done = alice.command(f"CREATE {name}")
        assert done.tagged.startswith(b"NO [ALREADYEXISTS] "), (name, done)


def test_delete_then_create_gets_a_new_uidvalidity(alice: ImapWire) -> None:
    """RFC 9051 §2.3.1.1: "If the mailbox is deleted/renamed and a new mailbox with the
    same name is created at a later date, the server must either keep track of unique
    identifiers from the previous instance of the mailbox or assign a new UIDVALIDITY
    value"; a new UIDVALIDITY "MUST be greater than the one used in the earlier session".
    §6.3.5: DELETE of INBOX or of a name that does not exist is NO."""
    assert alice.command("CREATE Temp").status == b"OK"
    old = uidvalidity(alice, "Temp")
    old_uid = append(alice, "Temp", b"Subject: old\r\n\r\nold\r\n")
    assert old_uid.startswith(f"OK [APPENDUID {old} 1]".encode())
    assert alice.command("DELETE Temp").status == b"OK"
    assert alice.command("STATUS Temp (MESSAGES)").tagged.startswith(b"NO [NONEXISTENT]")
    assert alice.command("CREATE Temp").status == b"OK"
    new = uidvalidity(alice, "Temp")
    assert new > old
    assert status_values(alice, "Temp", "MESSAGES UIDNEXT") == {b"MESSAGES": 0, b"UIDNEXT": 1}
    assert append(alice, "Temp", b"Subject: new\r\n\r\nnew\r\n").startswith(
        f"OK [APPENDUID {new} 1]".encode())
    assert alice.command("DELETE Temp2").tagged.startswith(b"NO [NONEXISTENT]")
    assert alice.command("DELETE INBOX").status == b"NO"


def test_delete_of_a_mailbox_with_inferiors_keeps_them(alice: ImapWire) -> None:
    """RFC 9051 §6.3.5: "The DELETE command MUST NOT remove inferior hierarchical names";
    the deleted name stays as a level of hierarchy that cannot be selected — \\Noselect
    in the basic LIST of an IMAP4rev1 client (RFC 3501 §6.3.8, the §6.3.5 example's
    "LIST (\\Noselect) "." foo"), \\NonExistent in an extended LIST (§6.3.9.6 SHOULD
    "\\NonExistent \\HasChildren") — and deleting it again is an error."""
    assert alice.command("CREATE Fruit/Apple").status == b"OK"
    append(alice, "Fruit", b"Subject: basket\r\n\r\nbasket\r\n")
    append(alice, "Fruit/Apple", b"Subject: apple\r\n\r\napple\r\n")
    assert alice.command("DELETE Fruit").status == b"OK"
    assert alice.command('LIST "" "Fruit*"').untagged == [
        b'* LIST (\\HasNoChildren) "/" Fruit/Apple\r\n']
    assert alice.command('LIST "" "%"').starting(b'* LIST (\\Noselect') == [
        b'* LIST (\\Noselect \\HasChildren) "/" Fruit\r\n']
    assert alice.command('LIST () "" "Fruit"').untagged == [
        b'* LIST (\\NonExistent \\HasChildren) "/" Fruit\r\n']
    assert status_values(alice, "Fruit/Apple", "MESSAGES") == {b"MESSAGES": 1}
    assert alice.command("SELECT Fruit").tagged.startswith(b"NO [NONEXISTENT] ")
    assert alice.command("DELETE Fruit").status == b"NO"


def test_commands_on_a_deleted_selected_mailbox_get_no_nonexistent(
        server: RunningServer, alice: ImapWire) -> None:
    """RFC 9051 §6.3.5 DELETE of the selected mailbox (by this session or another): its
    messages are gone (EXPUNGE responses, §7.5.1), and what the client then asks of it is
    answered as for any mailbox that does not exist, NO [NONEXISTENT] (§7.1, as SELECT
    and STATUS answer) — not [SERVERBUG], which §7.1 keeps for "The server encountered a
    bug in itself or violated one of its own invariants" (§7.1 defines the codes; no
    RFC 2119 level)."""
    for name in ("Doomed", "Doomed2"):
        assert alice.command(f"CREATE {name}").status == b"OK"
        append(alice, name, b"Subject: one\r\n\r\none\r\n")
        append(alice, name, b"Subject: two\r\n\r\ntwo\r\n")
    assert alice.command("SELECT Doomed").status == b"OK"
    done = alice.command("DELETE Doomed")
    assert done.status == b"OK"
    assert all_expunged(done, 2), done
    done = alice.command("UID SEARCH ALL")
    assert done.tagged.startswith(b"NO [NONEXISTENT] "), done

    assert alice.command("SELECT Doomed2").status == b"OK"
    with ImapWire(endpoint(server)) as other:
        other.login(ALICE, PASSWORD)
        assert other.command("DELETE Doomed2").status == b"OK"
    done = alice.command("NOOP")
    assert done.status == b"OK" and all_expunged(done, 2), done
    assert alice.command("UID SEARCH ALL").tagged.startswith(b"NO [NONEXISTENT] ")
    assert alice.command("SELECT INBOX").status == b"OK"


def test_rename_inbox_moves_its_messages_and_leaves_it_empty(alice: ImapWire) -> None:
    """RFC 9051 §6.3.6: "Renaming INBOX is permitted ... It moves all messages in INBOX to
    a new mailbox with the given name, leaving INBOX empty. If the server implementation
    supports inferior hierarchical names of INBOX, these are unaffected"."""
    append(alice, "INBOX", b"Subject: one\r\n\r\none\r\n", "\\Flagged")
    append(alice, "INBOX", b"Subject: two\r\n\r\ntwo\r\n")
    assert alice.command("CREATE INBOX/Child").status == b"OK"
    assert alice.command("RENAME INBOX Old-Inbox").status == b"OK"
    assert status_values(alice, "INBOX", "MESSAGES")[b"MESSAGES"] == 0
    assert status_values(alice, "Old-Inbox", "MESSAGES")[b"MESSAGES"] == 2
    assert status_values(alice, "INBOX/Child", "MESSAGES")[b"MESSAGES"] == 0
    assert alice.command('LIST "" "Old-Inbox/*"').untagged == []
    assert alice.command("SELECT Old-Inbox").status == b"OK"
    done = alice.command("FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert [b"Subject: one" in line and b"\\Flagged" in line for line in done.untagged] == \
        [True, False]
    assert b"* 0 EXISTS\r\n" in alice.command("SELECT INBOX").untagged


def test_subscribe_unsubscribe_and_lsub(alice: ImapWire) -> None:
    """RFC 9051 §6.3.7/§6.3.8 SUBSCRIBE/UNSUBSCRIBE change the subscribed names that LSUB
    lists (RFC 3501 §6.3.9); for "%" the unsubscribed parent of a subscribed child is
    returned and "it MUST be flagged with the \\Noselect attribute" (RFC 3501 §6.3.9
    MUST); a subscription outlives its mailbox: "The server MUST NOT unilaterally remove
    an existing mailbox name from the subscription list" (RFC 3501 §6.3.9 MUST)."""
    for name in ("Lists", "Lists/ietf", "Lists/python"):
        assert alice.command(f"CREATE {name}").status == b"OK"
        assert alice.command(f"UNSUBSCRIBE {name}").status == b"OK"
    assert alice.command('LSUB "" "Lists*"').untagged == []
    assert alice.command("SUBSCRIBE Lists/ietf").status == b"OK"
    assert alice.command("SUBSCRIBE Lists/python").status == b"OK"
    assert alice.command('LSUB "" "Lists/*"').untagged == [
        b'* LSUB () "/" Lists/ietf\r\n', b'* LSUB () "/" Lists/python\r\n']
    assert alice.command('LSUB "" "Lists%"').untagged == [b'* LSUB (\\Noselect) "/" Lists\r\n']
    assert alice.command("UNSUBSCRIBE Lists/python").status == b"OK"
    assert alice.command("DELETE Lists/ietf").status == b"OK"
    assert alice.command('LSUB "Lists/" "*"').untagged == [
        b'* LSUB (\\Noselect) "/" Lists/ietf\r\n']


def test_failures_quote_mailbox_names_as_the_client_spells_them(
        server: RunningServer, alice: ImapWire) -> None:
    """RFC 9051 §9 text: "Non-ASCII text can only be returned after ENABLE IMAP4rev2
    command"; an IMAP4rev1 client names mailboxes in modified UTF-7 (RFC 3501 §5.1.3),
    so a NO naming "äbc" quotes "&AOQ-bc" to it, and the UTF-8 name to an IMAP4rev2
    client (§5.1 "mailbox names are encoded in Net-Unicode"). A name the client sent
    never costs it the connection (DESIGN.md principle 8)."""
    done = alice.command("SELECT &AOQ-bc")
    assert done.tagged == b"NO [NONEXISTENT] No mailbox named '&AOQ-bc'", done
    assert alice.command("CREATE &AOQ-bc").status == b"OK"
    done = alice.command("CREATE &AOQ-bc")
    assert done.tagged == b"NO [ALREADYEXISTS] Mailbox '&AOQ-bc' exists", done
    done = alice.command("RENAME &AOQ-bd Other")
    assert done.tagged == b"NO [NONEXISTENT] No mailbox named '&AOQ-bd'", done
    assert alice.command('LIST "" "&AOQ-*"').untagged == [
        b'* LIST (\\HasNoChildren) "/" &AOQ-bc\r\n']
    with ImapWire(endpoint(server)) as rev2:
        rev2.login(ALICE, PASSWORD)
        assert rev2.command("ENABLE IMAP4rev2").untagged == [b"* ENABLED IMAP4rev2\r\n"]
        done = rev2.command('CREATE "äbc"'.encode())
        assert done.tagged == "NO [ALREADYEXISTS] Mailbox 'äbc' exists".encode(), done
        done = rev2.command('STATUS "äbd" (MESSAGES)'.encode())
        assert done.tagged == "NO [NONEXISTENT] No mailbox named 'äbd'".encode(), done
