"""RFC 9051 §6.3.1 ENABLE (RFC 5161) and §7.2.1 ENABLED; RFC 2971 ID."""

from __future__ import annotations

import pytest

from conformance.drivers.imap import ImapDriver
from conformance.suites.imap.support import expect_ok, expect_refused, only
from reference.imap.responses import CapabilityData, EnabledData, IdData

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
