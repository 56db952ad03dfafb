"""RFC 9051 §6.3.1 ENABLE (RFC 5161) and §7.2.1 ENABLED; RFC 2971 ID."""

from __future__ import annotations

import platform
from collections.abc import Callable
from dataclasses import replace

import pytest

from conformance.drivers.imap import Completion, ImapDriver, quote
from conformance.suites.imap import messages
from conformance.suites.imap.support import (
    Scratch,
    capabilities_now,
    expect_ok,
    expect_refused,
    load,
    only,
    show,
    without_recent,
)
from conformance.targets import Account
from reference.imap.response_data import FlagsItem
from reference.imap.responses import (
    CapabilityData,
    EnabledData,
    FetchData,
    IdData,
    RecentData,
    StatusResponse,
)

pytestmark = pytest.mark.protocol("imap")


def _needs_enable(driver: ImapDriver) -> None:
    if not ({"ENABLE", "IMAP4REV2"} & driver.capabilities):
        pytest.skip("UNSUPPORTED: neither ENABLE nor IMAP4rev2 is advertised")


@pytest.mark.requirement(rfc=9051, section="6.3.1", level="MUST",
                         ids=("RFC9051-6.3.1-1", "RFC9051-6.3.1-4"))
@pytest.mark.requirement(rfc=5161, section="3.1", level="MUST",
                         ids=("RFC5161-3.1-1", "RFC5161-3.1-4"))
def test_enable_ignores_unknown_extensions(imap_login: ImapDriver) -> None:
    """§6.3.1: "If the argument is not an extension known to the server, the server MUST
    ignore the argument"; "If the ENABLE command is successful, the server MUST send an
    untagged ENABLED response ... The ENABLED response is sent even if no extensions were
    enabled." """
    _needs_enable(imap_login)
    done = expect_ok(imap_login.command("ENABLE X-CONFORMANCE-UNKNOWN"),
                     "ENABLE X-CONFORMANCE-UNKNOWN")
    response = only(done.of_type(EnabledData), "untagged ENABLED response")
    assert not response.capabilities, (
        f"ENABLE of an unknown extension enabled {response.capabilities}")


@pytest.mark.requirement(rfc=9051, section="6.3.1", level="MUST", ids=("RFC9051-6.3.1-3",))
@pytest.mark.requirement(rfc=9051, section="A", level="MUST", ids=("RFC9051-A-1",))
@pytest.mark.needs("IMAP4rev1", "IMAP4rev2")
def test_enable_imap4rev2(imap_login: ImapDriver) -> None:
    """§6.3.1: "If the argument is an extension that is supported by the server and that
    needs to be enabled, the server MUST enable the extension"; Appendix A: a server
    offering both revisions is switched to IMAP4rev2 by "ENABLE IMAP4rev2"."""
    done = expect_ok(imap_login.command("ENABLE IMAP4rev2"), "ENABLE IMAP4rev2")
    response = only(done.of_type(EnabledData), "untagged ENABLED response")
    assert "IMAP4REV2" in {c.upper() for c in response.capabilities}, (
        f"ENABLE IMAP4rev2: ENABLED lists {response.capabilities}")


@pytest.mark.requirement(rfc=9051, section="6.3.1", level="MUST NOT", ids=("RFC9051-6.3.1-8",))
@pytest.mark.requirement(rfc=5161, section="3.1", level="MUST NOT", ids=("RFC5161-3.1-8",))
def test_enable_keeps_the_capability_list(imap_login: ImapDriver) -> None:
    """§6.3.1: "The server MUST NOT change the CAPABILITY list as a result of executing
    ENABLE; that is, a CAPABILITY command issued right after an ENABLE command MUST list
    the same capabilities as a CAPABILITY command issued before the ENABLE command." """
    _needs_enable(imap_login)
    before = only(expect_ok(imap_login.command("CAPABILITY"), "CAPABILITY").of_type(
        CapabilityData), "CAPABILITY response").capabilities
    candidates = [c for c in ("IMAP4rev2", "CONDSTORE", "UTF8=ACCEPT", "QRESYNC")
                  if c.upper() in imap_login.capabilities]
    expect_ok(imap_login.command("ENABLE " + " ".join(candidates or ["X-CONFORMANCE"])),
              "ENABLE")
    after = only(expect_ok(imap_login.command("CAPABILITY"), "CAPABILITY").of_type(
        CapabilityData), "CAPABILITY response").capabilities
    assert sorted(c.upper() for c in after) == sorted(c.upper() for c in before), (
        f"CAPABILITY changed with ENABLE {' '.join(candidates)}: before {sorted(before)}, "
        f"after {sorted(after)}")


@pytest.mark.requirement(rfc=9051, section="6.3.1", level="MUST")
@pytest.mark.requirement(rfc=5161, section="3.1", level="MUST")
def test_enable_needs_authentication(imap: ImapDriver) -> None:
    """§6.3.1 (RFC 5161 §3.1): "The ENABLE command is only valid in the authenticated
    state"; before login it is refused (BAD or NO, §3)."""
    expect_refused(imap.command("ENABLE IMAP4rev2"), "ENABLE in the not authenticated state")


# --- ID (RFC 2971) ------------------------------------------------------------------------


def _check_id(response: IdData) -> None:
    parameters = response.parameters or ()
    assert len(parameters) <= 30, (
        f"the ID response has {len(parameters)} field-value pairs (RFC 2971 §3.3: MUST NOT "
        "send more than 30)")
    names = [name.lower() for name, _ in parameters]
    assert len(set(names)) == len(names), (
        f"the ID response repeats field names: {names} (RFC 2971 §3.3 MUST NOT)")
    for name, value in parameters:
        assert len(name.encode()) <= 30, (
            f"ID field {name!r} is longer than 30 octets (RFC 2971 §3.3 MUST NOT)")
        assert value is None or len(value.encode()) <= 1024, (
            f"ID value of {name!r} is longer than 1024 octets (RFC 2971 §3.3 MUST NOT)")


@pytest.mark.requirement(rfc=2971, section="3.2", level="MUST", ids=("RFC2971-3.2-1",))
@pytest.mark.requirement(rfc=2971, section="3.3", level="MUST NOT",
                         ids=("RFC2971-3.3-1", "RFC2971-3.3-2", "RFC2971-3.3-3",
                              "RFC2971-3.3-5"))
@pytest.mark.needs("ID")
@pytest.mark.parametrize("arguments", ["NIL", '("name" "rfcmail-conformance" "version" "1")'])
@pytest.mark.parametrize("state", ["not authenticated", "authenticated"])
def test_id(request: pytest.FixtureRequest, arguments: str, state: str) -> None:
    """RFC 2971 §3.1: "This command is valid in any state"; §3.2: "A server MUST send a
    tagged ID response to an ID command" (the untagged "* ID" of the examples; NIL or a
    list); §3.3: fields at most 30 octets, values at most 1024, at most 30 pairs, no field
    twice."""
    driver: ImapDriver = request.getfixturevalue(
        "imap" if state == "not authenticated" else "imap_login")
    done = expect_ok(driver.command(f"ID {arguments}"), f"ID {arguments} ({state})")
    _check_id(only(done.of_type(IdData), "untagged ID response"))


# RFC 2971 §3 MUST NOT: "Implementations MUST NOT make operational changes based on the
# data sent as part of the ID command": no capability, response or refusal may depend on
# what a client says of itself. The suite says only what is true of itself (§3: "MUST NOT
# send false information in an ID command"), so it cannot pose as a client a server may
# single out; it varies what it says instead: nothing (NIL), "can not or will not specify"
# (NIL values, §3.1), who it is, and a list at every §3.3 limit.
def _at_the_limits() -> str:
    """30 field-value pairs, one field of 30 octets and one value of 1024 (§3.3: the
    most an implementation may send); the padding says what it is."""
    pairs = [("name", "rfcmail-conformance"),
             ("x-rfcmail-field-of-30-octets".ljust(30, "-"), "a field name of 30 octets"),
             ("x-rfcmail-value-of-1024", ("padding to the 1024 octets RFC 2971 section 3.3 "
                                          "allows; " * 20)[:1024])]
    pairs += [(f"x-rfcmail-pair-{n:02}", f"pair {n} of 30") for n in range(4, 31)]
    return "(" + " ".join(f"{quote(field)} {quote(value)}" for field, value in pairs) + ")"


IDENTITIES = {
    "nil": "NIL",
    "unspecified": '("name" NIL "version" NIL "os" NIL "vendor" NIL)',
    "conformance": (f'("name" "rfcmail-conformance" "vendor" "rfcmail" "os" '
                    f'{quote(platform.system())} "os-version" {quote(platform.release())})'),
    "at-the-limits": _at_the_limits(),
}


def _identify(driver: ImapDriver, identity: str, state: str) -> None:
    done = expect_ok(driver.command(f"ID {IDENTITIES[identity]}"),
                     f"ID ({identity}, {state}; RFC 2971 §3 MUST NOT: servers must not "
                     "refuse service based on information from the ID command)")
    _check_id(only(done.of_type(IdData), "untagged ID response"))


@pytest.mark.requirement(rfc=2971, section="3", level="MUST NOT",
                         ids=("RFC2971-3-1", "RFC2971-3-2", "RFC2971-3-4"))
@pytest.mark.needs("ID")
@pytest.mark.parametrize("identity", IDENTITIES)
def test_id_changes_no_capability(imap_factory: Callable[..., ImapDriver], accounts: list[Account],
                                  identity: str) -> None:
    """RFC 2971 §3: "Servers MUST NOT provide features to a client or otherwise optimize
    for a particular client by using information from the ID command" (nor "work around
    client bugs"): after ID, before and after LOGIN, CAPABILITY lists what it lists to a
    client that sent no ID."""
    account = accounts[0]
    plain = imap_factory()
    plain_before = capabilities_now(plain)
    expect_ok(plain.login(account.user, account.password), f"LOGIN as {account.user}")
    plain_after = capabilities_now(plain)

    identified = imap_factory()
    _identify(identified, identity, "not authenticated")
    before = capabilities_now(identified)
    expect_ok(identified.login(account.user, account.password), f"LOGIN as {account.user}")
    _identify(identified, identity, "authenticated")
    after = capabilities_now(identified)
    for state, without, with_id in (("before LOGIN", plain_before, before),
                                    ("after LOGIN", plain_after, after)):
        assert with_id == without, (
            f"CAPABILITY {state} after ID {identity}: added {sorted(with_id - without)}, "
            f"removed {sorted(without - with_id)} against a session without ID (RFC 2971 "
            "§3 MUST NOT make operational changes based on the ID command)")


def _observed(done: Completion) -> list[object]:
    """A command's responses less what two sessions alike may differ in: the human
    texts, the ID and \\Recent (RFC 3501's flag of one session)."""
    seen: list[object] = [done.tagged.condition, done.tagged.code, done.tagged.code_data]
    for response in done.untagged:
        if isinstance(response, RecentData | IdData):
            continue
        if isinstance(response, StatusResponse):
            response = replace(response, text="")
        elif isinstance(response, FetchData):
            response = replace(response, items=tuple(
                FlagsItem(tuple(sorted(without_recent(item.flags))))
                if isinstance(item, FlagsItem) else item for item in response.items))
        seen.append(response)
    return seen


def _workload(driver: ImapDriver, mailbox: str) -> dict[str, list[object]]:
    """What the server answers to a client's usual first commands, by command."""
    commands = []
    candidates = [c for c in ("IMAP4rev2", "CONDSTORE", "QRESYNC", "UTF8=ACCEPT")
                  if c.upper() in driver.capabilities]
    if candidates and {"ENABLE", "IMAP4REV2"} & driver.capabilities:
        commands.append("ENABLE " + " ".join(candidates))
    if {"NAMESPACE", "IMAP4REV2"} & driver.capabilities:
        commands.append("NAMESPACE")
    commands += [f'LIST "" {quote(mailbox)}',
                 f"STATUS {quote(mailbox)} (MESSAGES UIDNEXT UIDVALIDITY UNSEEN)",
                 f"EXAMINE {quote(mailbox)}",
                 "FETCH 1:* (FLAGS UID INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE "
                 "BODY.PEEK[])"]
    return {command: _observed(driver.command(command)) for command in commands}


@pytest.mark.requirement(rfc=2971, section="3", level="MUST NOT",
                         ids=("RFC2971-3-1", "RFC2971-3-2", "RFC2971-3-4", "RFC2971-3-6"))
@pytest.mark.needs("ID")
@pytest.mark.parametrize("identity", IDENTITIES)
def test_id_changes_no_service(imap_factory: Callable[..., ImapDriver], accounts: list[Account],
                               scratch: Scratch, identity: str) -> None:
    """RFC 2971 §3: "Servers MUST NOT deny access to or refuse service for a client based
    on information from the ID command", nor "work around client bugs" or "optimize for a
    particular client" with it: after ID, LOGIN succeeds, and a mailbox is listed,
    examined and fetched from exactly as for a client that sent no ID."""
    account = accounts[0]
    provisioner = imap_factory(login=True)
    mailbox = scratch.create(provisioner, "id")
    load(provisioner, mailbox, [(messages.SIMPLE, ("\\Flagged",)), (messages.MULTIPART, ())],
         examine=True)
    plain = imap_factory()
    expect_ok(plain.login(account.user, account.password), f"LOGIN as {account.user}")
    expected = _workload(plain, mailbox)

    identified = imap_factory()
    _identify(identified, identity, "not authenticated")
    done = identified.login(account.user, account.password)
    assert done.ok, (
        f"LOGIN as {account.user} after ID {identity}: {show(done)!r} (RFC 2971 §3 MUST "
        "NOT deny access based on information from the ID command)")
    _identify(identified, identity, "authenticated")
    for command, seen in _workload(identified, mailbox).items():
        assert command in expected, (
            f"after ID {identity} the session offers {command.split()[0]}, a session "
            "without ID does not (RFC 2971 §3 MUST NOT)")
        differ = [(a, b) for a, b in zip(seen, expected[command], strict=False) if a != b]
        assert seen == expected[command], (
            f"{command} after ID {identity} answers otherwise than without ID: "
            f"{differ[0] if differ else (len(seen), len(expected[command]))!r} (with ID, "
            "without; RFC 2971 §3 MUST NOT make operational changes based on the ID "
            "command)")
