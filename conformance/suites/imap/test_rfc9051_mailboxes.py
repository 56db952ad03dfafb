"""RFC 9051 mailboxes: §2.3.1.1 the next UID after the highest one is expunged, §5.1.2
INBOX in the personal namespace and other users' mailboxes without rights, §5.1/§6.3.4
names that are not Net-Unicode (control characters, denormalized), Appendix A.1
modified UTF-7 as an IMAP4rev1 client sees it, §6.3.3 EXAMINE of an empty mailbox,
§6.4.7/§6.4.8 a failed or partial COPY/MOVE loses and duplicates nothing; RFC 3501
§6.3.6/§6.3.9 subscriptions outlive their mailbox."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

import pytest

from conformance.drivers.imap import Completion, ImapDriver, quote
from conformance.suites.imap.conftest import open_session, rev2_mode
from conformance.suites.imap.support import (
    Loaded,
    Scratch,
    code_of,
    exists_count,
    expect_ok,
    fetched,
    list_names,
    show,
    status_values,
)
from conformance.targets import Account
from reference.imap.responses import (
    Condition,
    ExistsData,
    FlagsData,
    ListData,
    LsubData,
    NamespaceData,
    RecentData,
)

pytestmark = pytest.mark.protocol("imap")

MESSAGE = b"Subject: mailbox conformance\r\n\r\nbody\r\n"


def _uids(driver: ImapDriver) -> list[int]:
    done = expect_ok(driver.command("FETCH 1:* (UID)"), "FETCH 1:* (UID)")
    views = fetched(done)
    return [views[msn].uid or 0 for msn in sorted(views)]


@pytest.mark.requirement(rfc=9051, section="2.3.1.1", level="MUST", ids=("RFC9051-2.3.1.1-4",))
@pytest.mark.requirement(rfc=3501, section="2.3.1.1", level="MUST",
                         ids=("RFC3501-2.3.1.1-4", "RFC3501-2.3.1.1-8"))
@pytest.mark.requirement(rfc=3501, section="2.3.1.1", level="MUST NOT",
                         ids=("RFC3501-2.3.1.1-1", "RFC3501-2.3.1.1-2"))
@pytest.mark.requirement(rfc=3501, section="2.3.1.2", level="MUST", ids=("RFC3501-2.3.1.2-1",))
def test_next_uid_after_the_highest_is_expunged(session: ImapDriver, scratch: Scratch) -> None:
    """§2.3.1.1: "the next unique identifier value MUST have the following two
    characteristics. First, the next unique identifier value MUST NOT change unless new
    messages are added to the mailbox; and second, the next unique identifier value MUST
    change whenever new messages are added": with the message of the highest UID expunged,
    UIDNEXT stays, and the next message gets a UID above every UID ever assigned (not the
    expunged one again). Sequence numbers follow ascending UIDs (RFC 3501 §2.3.1.2)."""
    name = scratch.create(session, "uidnext")
    for _ in range(3):
        expect_ok(session.append(name, MESSAGE), f"APPEND to {name}")
    expect_ok(session.select(name), f"SELECT {name}")
    first = _uids(session)
    before = status_values(session, name, "UIDNEXT")["UIDNEXT"]
    assert before is not None and before > max(first)
    expect_ok(session.command(f"UID STORE {first[-1]} +FLAGS.SILENT (\\Deleted)"), "UID STORE")
    expect_ok(session.command("EXPUNGE"), "EXPUNGE")
    after = status_values(session, name, "UIDNEXT")["UIDNEXT"]
    assert after == before, (
        f"UIDNEXT was {before}; after expunging the highest UID {first[-1]} (no message "
        f"added) it is {after}")
    expect_ok(session.append(name, MESSAGE), f"APPEND to {name}")
    expect_ok(session.command("NOOP"), "NOOP")
    uids = _uids(session)
    assert uids[:2] == first[:2] and len(uids) == 3, f"UIDs {first} then {uids}"
    assert uids[2] > first[-1], (
        f"the new message got UID {uids[2]}, not above the expunged highest UID {first[-1]}")
    grown = status_values(session, name, "UIDNEXT")["UIDNEXT"]
    assert grown is not None and grown > uids[2] and grown != before, (
        f"UIDNEXT {grown} after a new message with UID {uids[2]} (was {before})")
    assert uids == sorted(uids) and len(set(uids)) == 3, (
        f"UIDs by sequence number {uids} are not strictly ascending")


@pytest.mark.requirement(rfc=9051, section="5.1.2", level="MUST", ids=("RFC9051-5.1.2-1",))
@pytest.mark.needs("NAMESPACE|IMAP4rev2")
def test_inbox_is_in_the_personal_namespace(session: ImapDriver) -> None:
    """§5.1.2: "If an INBOX exists for a user, it MUST appear within the user's Personal
    Namespace": INBOX starts with (or is the root of) a personal prefix of NAMESPACE."""
    assert "INBOX" in {n.upper() for n in list_names(session, "", "INBOX")}, (
        'LIST "" INBOX does not list INBOX')
    done = expect_ok(session.command("NAMESPACE"), "NAMESPACE")
    found = done.of_type(NamespaceData)
    assert found and found[0].personal, f"NAMESPACE gives no personal namespace: {found}"
    prefixes = [(d.prefix, d.delimiter or "") for d in found[0].personal]
    inside = [p for p, delimiter in prefixes
              if "INBOX".startswith(p.upper()) or p.upper() == "INBOX" + delimiter]
    assert inside, f"INBOX lies in none of the personal namespaces {prefixes}"


@pytest.mark.requirement(rfc=9051, section="5.1.2", level="MUST", ids=("RFC9051-5.1.2-3",))
@pytest.mark.requirement(rfc=9051, section="11.5", level="MUST NOT", ids=("RFC9051-11.5-1",))
@pytest.mark.needs("NAMESPACE|IMAP4rev2")
@pytest.mark.accounts(2)
def test_other_users_mailboxes_need_rights(session: ImapDriver, accounts: list[Account],
                                           imap_factory: Callable[..., ImapDriver]) -> None:
    """§5.1.2: "To access mailboxes in the Other Users' Namespace, the currently
    authenticated user MUST be explicitly granted access rights"; §11.5: LIST of that
    prefix "MUST NOT list users that have not granted list access": the second account
    granted nothing, so nothing of it is listed or selectable."""
    done = expect_ok(session.command("NAMESPACE"), "NAMESPACE")
    found = done.of_type(NamespaceData)
    if not found or not found[0].other_users:
        pytest.skip("UNSUPPORTED: NAMESPACE announces no Other Users' Namespace")
    other = open_session(imap_factory, accounts[1])
    local = accounts[1].user.split("@")[0]
    expect_ok(other.select("INBOX"), f"SELECT INBOX as {accounts[1].user}")
    for description in found[0].other_users:
        prefix, delimiter = description.prefix, description.delimiter or ""
        listed = list_names(session, "", prefix + "*")
        leaked = [name for name in listed if local.lower() in name.lower()]
        assert not leaked, (
            f"LIST of the Other Users' prefix {prefix!r} shows {leaked} of "
            f"{accounts[1].user}, who granted no rights")
        for user in (local, accounts[1].user):
            mailbox = f"{prefix}{user}{delimiter}INBOX" if delimiter else f"{prefix}{user}"
            selected = session.examine(mailbox)
            assert not selected.ok, (
                f"EXAMINE {mailbox}: another user's mailbox opened without rights")


# Net-Unicode (RFC 5198 §2) excludes the C1 controls; NFC is its normal form.
_DENORMALIZED = "cafe\u0301"
_C1_CONTROL = "bell\u0085x"


@pytest.mark.requirement(rfc=9051, section="6.3.4", level="MUST", ids=("RFC9051-6.3.4-2",))
@pytest.mark.needs("IMAP4rev2")
@pytest.mark.parametrize("suffix", [_DENORMALIZED, _C1_CONTROL], ids=["nfd", "c1-control"])
def test_create_of_a_name_that_is_not_net_unicode(session: ImapDriver, scratch: Scratch,
                                                  suffix: str) -> None:
    """§6.3.4: "If a client attempts to create a UTF-8 mailbox name that is not a valid
    Net-Unicode name, the server MUST reject the creation or convert the name to
    Net-Unicode prior to creating the mailbox": refused, or listed in NFC without C1
    controls."""
    if not rev2_mode(session):
        pytest.skip("UNSUPPORTED: IMAP4rev2 could not be enabled on this connection")
    base = scratch.name(session, "netunicode")
    name = f"{base}-{suffix}"
    scratch.track(name)
    scratch.track(unicodedata.normalize("NFC", name))
    done = session.command("CREATE {}", literals=[name.encode()])
    if done.tagged.condition in (Condition.NO, Condition.BAD):
        return                                          # rejected: allowed
    expect_ok(done, f"CREATE {name!r}")
    listed = list(list_names(session, "", base + "*"))
    assert len(listed) == 1, f"LIST {base}* after CREATE {name!r}: {listed}"
    got = listed[0]
    assert unicodedata.is_normalized("NFC", got) and not any(
        unicodedata.category(c) == "Cc" for c in got), (
        f"CREATE {name!r} was accepted and created {got!r}, which is not Net-Unicode")


@pytest.mark.requirement(rfc=9051, section="5.1", level="MUST", ids=("RFC9051-5.1-4",))
@pytest.mark.requirement(rfc=9051, section="6.3.2", level="MUST", ids=("RFC9051-6.3.2-6",))
@pytest.mark.needs("IMAP4rev2")
def test_denormalized_name_accepted_everywhere(session: ImapDriver, scratch: Scratch) -> None:
    """§5.1: "Servers that choose to accept such denormalized UTF-8 mailbox names MUST
    accept them in all IMAP commands that have a mailbox name parameter"; §6.3.2: "If the
    server allows denormalized UTF-8 mailbox names ... and the supplied mailbox name
    differs from the normalized version, the server MUST return LIST with the OLDNAME
    extended data item"."""
    if not rev2_mode(session):
        pytest.skip("UNSUPPORTED: IMAP4rev2 could not be enabled on this connection")
    base = scratch.name(session, "nfc")
    normal = f"{base}-{unicodedata.normalize('NFC', _DENORMALIZED)}"
    denormal = f"{base}-{_DENORMALIZED}"
    scratch.track(normal)
    expect_ok(session.command("CREATE {}", literals=[normal.encode()]), f"CREATE {normal!r}")
    done = session.command("STATUS {} (MESSAGES)", literals=[denormal.encode()])
    if not done.ok:
        pytest.skip("UNSUPPORTED: the target does not accept denormalized UTF-8 names "
                    f"(STATUS {denormal!r}: {show(done)})")
    for command in ("APPEND {} {}", "EXAMINE {}", "SELECT {}"):
        literals = [denormal.encode(), MESSAGE] if command.startswith("APPEND") else [
            denormal.encode()]
        done = session.command(command, literals=literals)
        assert done.ok, (f"{command.split()[0]} {denormal!r}: {show(done)} (a denormalized "
                         "name STATUS accepted)")
        if command.startswith("SELECT"):
            old = [item for item in done.of_type(ListData) if item.old_name is not None]
            assert old and old[0].old_name == denormal and old[0].mailbox == normal, (
                f"SELECT {denormal!r}: expected a LIST {normal!r} with OLDNAME "
                f"{denormal!r}, got {done.of_type(ListData)}")


# LIST's mailbox as sent: an atom, or a quoted string (no literals for these names).
_LIST_LINE = re.compile(rb'\* LIST \([^)]*\) (?:"(?:[^"\\]|\\.)"|NIL) '
                        rb'(?:"((?:[^"\\]|\\.)*)"|([^ \r\n]+))')


def _wire_names(done: Completion) -> set[str]:
    """The mailbox names of the LIST responses exactly as on the wire (the driver hands
    out decoded names)."""
    names = set()
    for match in _LIST_LINE.finditer(done.raw):
        quoted, atom = match.groups()
        raw = atom if quoted is None else re.sub(rb"\\(.)", rb"\1", quoted)
        names.add(raw.decode("ascii"))
    return names


# "Entwürfe & Co.~é" (printable ASCII between two non-ASCII runs, an "&", a final
# non-ASCII character) as Appendix A.1 writes it: "&" as "&-", "ü" as "&APw-" (UTF-16BE
# 00 FC in modified base64), "é" as "&AOk-" and nothing else encoded.
UNICODE_SUFFIX = "Entw\u00fcrfe & Co.~\u00e9"
MODIFIED_UTF7_SUFFIX = "Entw&APw-rfe &- Co.~&AOk-"


@pytest.mark.requirement(rfc=9051, section="A.1", level="MUST NOT", ids=("RFC9051-A.1-1",))
@pytest.mark.requirement(rfc=9051, section="A.1", level="MUST",
                         ids=("RFC9051-A.1-2", "RFC9051-A.1-6"))
@pytest.mark.requirement(rfc=3501, section="5.1.3", level="MUST NOT", ids=("RFC3501-5.1.3-1",))
@pytest.mark.requirement(rfc=3501, section="5.1.3", level="MUST",
                         ids=("RFC3501-5.1.3-2", "RFC3501-5.1.3-6"))
@pytest.mark.needs("IMAP4rev1", "IMAP4rev2")
def test_rev1_client_sees_exact_modified_utf7(session: ImapDriver, rev1_session: ImapDriver,
                                              scratch: Scratch) -> None:
    """Appendix A.1: "Modified base64 MUST NOT be used to represent any printing US-ASCII
    character that can represent itself"; names "MUST end in US-ASCII; that is, a name
    that ends with a non-ASCII ISO-10646 character MUST end with a "-""; a server whose
    store does not keep modified UTF-7 "MUST convert any mailbox name that contains
    either non-ASCII characters or the "&" character": the name a rev2 client created
    reaches a rev1 client in exactly that form."""
    if not rev2_mode(session):
        pytest.skip("UNSUPPORTED: IMAP4rev2 could not be enabled on this connection")
    base = scratch.name(session, "mutf7")
    name = f"{base}-{UNICODE_SUFFIX}"
    scratch.track(name)
    expect_ok(session.command("CREATE {}", literals=[name.encode()]), f"CREATE {name!r}")
    done = expect_ok(rev1_session.command(f'LIST "" {quote(base + "*")}'),
                     f"LIST {base}* (IMAP4rev1 client)")
    expected = f"{base}-{MODIFIED_UTF7_SUFFIX}"
    assert _wire_names(done) == {expected}, (
        f"a rev1 client listing {base}*: expected {expected!r} on the wire, got "
        f"{done.raw!r}")


@pytest.mark.requirement(rfc=9051, section="A.1", level="MUST", ids=("RFC9051-A.1-3",))
@pytest.mark.requirement(rfc=3501, section="5.1.3", level="MUST", ids=("RFC3501-5.1.3-3",))
@pytest.mark.requirement(rfc=3501, section="5.1", level="MUST", ids=("RFC3501-5.1-4",))
@pytest.mark.needs("IMAP4rev1")
def test_modified_base64_is_case_sensitive(rev1_session: ImapDriver, scratch: Scratch) -> None:
    """Appendix A.1: "server implementations MUST preserve the exact form of the modified
    base64 portion of a modified UTF-7 name and treat that text as case sensitive, even
    if names are otherwise case insensitive or case folded": "&AOk-" (U+00E9) and "&Aok-"
    (U+0289) are two mailboxes, each listed as created."""
    base = scratch.name(rev1_session, "b64case")
    names = [f"{base}-&AOk-", f"{base}-&Aok-"]
    for name in names:
        scratch.track(name)
        expect_ok(rev1_session.create(name), f"CREATE {name}")
    done = expect_ok(rev1_session.command(f'LIST "" {quote(base + "*")}'), f"LIST {base}*")
    assert _wire_names(done) == set(names), (
        f"LIST {base}* does not return {names} as created: {done.raw!r}")


@pytest.mark.requirement(rfc=9051, section="6.3.3", level="MUST", ids=("RFC9051-6.3.3-1",))
@pytest.mark.requirement(rfc=3501, section="6.3.2", level="MUST", ids=("RFC3501-6.3.2-1",))
def test_examine_of_an_empty_mailbox(session: ImapDriver, rev1_session: ImapDriver,
                                     scratch: Scratch) -> None:
    """§6.3.3 EXAMINE: "REQUIRED untagged responses: FLAGS, EXISTS" (RFC 3501 §6.3.2:
    "FLAGS, EXISTS, RECENT"), also for a mailbox without messages: 0 EXISTS."""
    name = scratch.create(session, "empty")
    for driver, rev1 in ((session, not rev2_mode(session)), (rev1_session, True)):
        done = expect_ok(driver.examine(name), f"EXAMINE {name}")
        assert done.of_type(FlagsData), f"EXAMINE {name}: no untagged FLAGS"
        assert done.of_type(ExistsData) and exists_count(done) == 0, (
            f"EXAMINE {name} (empty): EXISTS {exists_count(done)}, expected 0 EXISTS")
        if rev1 and "IMAP4REV1" in driver.capabilities:
            assert done.of_type(RecentData), (
                f"EXAMINE {name} (IMAP4rev1 client): no untagged RECENT (RFC 3501 §6.3.2)")


@pytest.mark.requirement(rfc=9051, section="6.4.7", level="MUST", ids=("RFC9051-6.4.7-5",))
@pytest.mark.requirement(rfc=9051, section="6.4.8", level="MUST",
                         ids=("RFC9051-6.4.8-3", "RFC9051-6.4.8-4"))
@pytest.mark.requirement(rfc=3501, section="6.4.7", level="MUST", ids=("RFC3501-6.4.7-5",))
@pytest.mark.parametrize("command", ["COPY", "MOVE"])
def test_failed_or_partial_copy_and_move(loaded: Loaded, scratch: Scratch,
                                         command: str) -> None:
    """§6.4.7: "If the COPY command is unsuccessful for any reason, server
    implementations MUST restore the destination mailbox to its state before the COPY
    attempt"; §6.4.8: "each individual message MUST be either moved or unaffected" and
    "in at least one of the source or target mailboxes": a set naming message 2 and the
    nonexistent 9, refused or not, leaves every message exactly once."""
    imap = loaded.driver
    if command == "MOVE" and not {"MOVE", "IMAP4REV2"} & imap.capabilities:
        pytest.skip("UNSUPPORTED: neither MOVE nor IMAP4rev2 is advertised")
    target = scratch.create(imap, "partial")
    done = imap.command(f"{command} 2,9 {quote(target)}")
    copied = status_values(imap, target, "MESSAGES")["MESSAGES"]
    if not done.ok:
        assert copied == 0, f"{command} 2,9 failed ({show(done)}) yet left {copied} in {target}"
    expect_ok(imap.command("NOOP"), "NOOP")
    left = status_values(imap, loaded.name, "MESSAGES")["MESSAGES"]
    if command == "COPY":
        assert left == 3 and copied in (0, 1), (
            f"COPY 2,9 ({show(done)}): source {left}, destination {copied} messages")
    else:
        assert left is not None and copied is not None and left + copied == 3, (
            f"MOVE 2,9 ({show(done)}): source {left} + destination {copied} messages, "
            "expected the 3 messages each in one of them")


@pytest.mark.requirement(rfc=9051, section="6.4.8", level="MUST",
                         ids=("RFC9051-6.4.8-6", "RFC9051-6.4.8-8"))
@pytest.mark.requirement(rfc=9051, section="6.4.8", level="MUST NOT", ids=("RFC9051-6.4.8-7",))
@pytest.mark.needs("MOVE|IMAP4rev2")
def test_uid_move_to_missing_mailbox(loaded: Loaded, scratch: Scratch) -> None:
    """§6.4.8: "If the destination mailbox does not exist, a server MUST return an error.
    It MUST NOT automatically create the mailbox. Unless it is certain that the
    destination mailbox cannot be created, the server MUST send the response code
    "[TRYCREATE]"": UID MOVE of every message."""
    imap = loaded.driver
    missing = scratch.name(imap, "missing-move")
    uids = ",".join(map(str, loaded.uids))
    done = imap.command(f"UID MOVE {uids} {quote(missing)}")
    assert done.tagged.condition is Condition.NO and code_of(done.tagged) == "TRYCREATE", (
        f"UID MOVE to the missing {missing}: expected NO [TRYCREATE], got {show(done)!r}")
    assert missing not in list_names(imap, "", missing), f"UID MOVE created {missing}"
    assert _uids(imap) == loaded.uids, "the failed UID MOVE changed the source mailbox"


@pytest.mark.requirement(rfc=3501, section="6.3.6", level="MUST NOT", ids=("RFC3501-6.3.6-2",))
@pytest.mark.requirement(rfc=3501, section="6.3.9", level="MUST NOT", ids=("RFC3501-6.3.9-3",))
@pytest.mark.needs("IMAP4rev1")
def test_rev1_subscription_outlives_its_mailbox(rev1_session: ImapDriver,
                                                scratch: Scratch) -> None:
    """RFC 3501 §6.3.6 SUBSCRIBE / §6.3.9 LSUB: the server "MUST NOT unilaterally remove
    an existing mailbox name from the subscription list even if a mailbox by that name no
    longer exists": LSUB lists the deleted mailbox still."""
    name = scratch.create(rev1_session, "subscribed")
    expect_ok(rev1_session.command(f"SUBSCRIBE {quote(name)}"), f"SUBSCRIBE {name}")
    try:
        expect_ok(rev1_session.delete(name), f"DELETE {name}")
        done = expect_ok(rev1_session.command(f'LSUB "" {quote(name)}'), f"LSUB {name}")
        assert name in {item.mailbox for item in done.of_type(LsubData)}, (
            f"LSUB no longer lists {name}, subscribed, after DELETE {name}")
    finally:
        rev1_session.command(f"UNSUBSCRIBE {quote(name)}")
