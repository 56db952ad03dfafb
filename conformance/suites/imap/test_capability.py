"""RFC 9051 §6.1 (any state): CAPABILITY (§6.1.1, §7.2.2), NOOP (§6.1.2), LOGOUT
(§6.1.3, §3.4, §7.1.5)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from conformance.drivers.imap import ImapDriver
from conformance.suites.imap.support import WAIT, Loaded, expect_ok, only, show
from reference.imap.responses import CapabilityData, Condition, StatusResponse

pytestmark = pytest.mark.protocol("imap")


def _capability(driver: ImapDriver, state: str) -> tuple[str, ...]:
    done = expect_ok(driver.command("CAPABILITY"), f"CAPABILITY in the {state} state")
    # §6.1.1: "a single untagged CAPABILITY response ... before the (tagged) OK"; a
    # Completion holds exactly what came before its tagged response.
    response = only(done.of_type(CapabilityData),
                    "untagged CAPABILITY response before the tagged OK (RFC 9051 §6.1.1)")
    return response.capabilities


@pytest.mark.requirement(rfc=9051, section="6.1.1", level="MUST",
                         ids=("RFC9051-6.1.1-1", "RFC9051-6.1.1-2"))
@pytest.mark.requirement(rfc=9051, section="7.2.2", level="MUST", ids=("RFC9051-7.2.2-1",))
@pytest.mark.requirement(rfc=3501, section="6.1.1", level="MUST",
                         ids=("RFC3501-6.1.1-1", "RFC3501-6.1.1-2"))
@pytest.mark.parametrize("state", ["not authenticated", "authenticated"])
def test_capability_lists_the_revision(request: pytest.FixtureRequest, state: str) -> None:
    """§6.1.1: "The server MUST send a single untagged CAPABILITY response with "IMAP4rev2"
    as one of the listed capabilities before the (tagged) OK response" (RFC 3501 §6.1.1:
    "IMAP4rev1" for a server of that revision)."""
    driver = request.getfixturevalue("imap" if state == "not authenticated" else "session")
    capabilities = {c.upper() for c in _capability(driver, state)}
    assert {"IMAP4REV2", "IMAP4REV1"} & capabilities, (
        f"the CAPABILITY response lists neither IMAP4rev2 nor IMAP4rev1: {sorted(capabilities)}")


@pytest.mark.requirement(rfc=9051, section="6.1.1", level="MUST", ids=("RFC9051-6.1.1-2",))
@pytest.mark.needs("IMAP4rev2")
def test_capability_lists_imap4rev2(imap: ImapDriver) -> None:
    """A server advertising IMAP4rev2 somewhere (greeting, after login) lists it in the
    CAPABILITY response of the not authenticated state too (§6.1.1 MUST, in every state)."""
    capabilities = {c.upper() for c in _capability(imap, "not authenticated")}
    assert "IMAP4REV2" in capabilities, (
        f"CAPABILITY before login lacks IMAP4rev2: {sorted(capabilities)}")


@pytest.mark.requirement(rfc=9051, section="6.1.1", level="MUST", ids=("RFC9051-6.1.1-4",))
@pytest.mark.requirement(rfc=9051, section="7.2.2", level="MUST", ids=("RFC9051-7.2.2-2",))
def test_auth_plain_or_starttls_offered(imap: ImapDriver) -> None:
    """§6.1.1: "Client and server implementations MUST also implement AUTH=PLAIN ... on
    both cleartext and Implicit TLS ports" and STARTTLS/LOGINDISABLED on cleartext ports.
    Observable before login: AUTH=PLAIN is advertised, or (a cleartext port that keeps
    plaintext mechanisms for after TLS) STARTTLS is."""
    capabilities = {c.upper() for c in _capability(imap, "not authenticated")}
    assert "AUTH=PLAIN" in capabilities or "STARTTLS" in capabilities, (
        "neither AUTH=PLAIN nor STARTTLS is advertised before login: "
        f"{sorted(capabilities)}")


@pytest.mark.requirement(rfc=9051, section="6.1.1", level="MUST", ids=("RFC9051-6.1.1-3",))
@pytest.mark.informational
def test_cleartext_port_offers_starttls(imap: ImapDriver,
                                        observe: Callable[[str, Any], None]) -> None:
    """§6.1.1: STARTTLS and LOGINDISABLED MUST be implemented on cleartext ports; whether
    a test target is configured to offer them is the operator's choice: recorded."""
    capabilities = {c.upper() for c in _capability(imap, "not authenticated")}
    observe("starttls", "STARTTLS" in capabilities)
    observe("logindisabled", "LOGINDISABLED" in capabilities)
    observe("capabilities_before_login", sorted(capabilities))


@pytest.mark.requirement(rfc=9051, section="6.1.2", level="MUST")
@pytest.mark.parametrize("state", ["not authenticated", "authenticated", "selected"])
def test_noop_always_succeeds(request: pytest.FixtureRequest, state: str) -> None:
    """§6.1.2: "The NOOP command always succeeds." """
    if state == "selected":
        driver = request.getfixturevalue("loaded").driver
    else:
        driver = request.getfixturevalue("imap" if state == "not authenticated"
                                         else "session")
    expect_ok(driver.command("NOOP"), f"NOOP in the {state} state")


def _check_logout(driver: ImapDriver, state: str) -> None:
    done = driver.command("LOGOUT")
    byes = [r for r in done.of_type(StatusResponse) if r.condition is Condition.BYE]
    assert byes, (f"LOGOUT in the {state} state: no untagged BYE before the tagged "
                  f"{show(done)!r} (RFC 9051 §6.1.3 REQUIRED)")
    assert done.tagged.condition is Condition.OK, (
        f"LOGOUT in the {state} state: expected a tagged OK after the BYE, got "
        f"{show(done)!r}")
    assert driver.wait_closed(WAIT), (
        f"LOGOUT in the {state} state: the server did not close the connection within "
        f"{WAIT:g} s of its OK (RFC 9051 §6.1.3: \"and then close the network connection\")")


@pytest.mark.requirement(rfc=9051, section="6.1.3", level="MUST",
                         ids=("RFC9051-6.1.3-1", "RFC9051-6.1.3-2"))
@pytest.mark.requirement(rfc=9051, section="3.4", level="MUST", ids=("RFC9051-3.4-1",))
@pytest.mark.requirement(rfc=3501, section="6.1.3", level="MUST",
                         ids=("RFC3501-6.1.3-1", "RFC3501-6.1.3-2"))
@pytest.mark.parametrize("state", ["not authenticated", "authenticated", "selected"])
def test_logout_bye_then_ok_then_close(request: pytest.FixtureRequest, state: str) -> None:
    """§6.1.3: "The server MUST send a BYE untagged response before the (tagged) OK
    response, and then close the network connection." """
    if state == "selected":
        loaded: Loaded = request.getfixturevalue("loaded")
        driver = loaded.driver
    else:
        driver = request.getfixturevalue("imap" if state == "not authenticated"
                                         else "session")
    _check_logout(driver, state)


@pytest.mark.requirement(rfc=9051, section="7.2.2", level="MUST", ids=("RFC9051-7.2.2-1",))
def test_greeting_capability_code_lists_the_revision(imap: ImapDriver) -> None:
    """§7.2.2: a server "MAY send capabilities automatically, by using the CAPABILITY
    response code in the initial PREAUTH or OK"; when it does, the listing is a
    capability-data and "MUST include the atom "IMAP4rev2"" (or IMAP4rev1, RFC 3501)."""
    greeting = imap.greeting
    assert greeting is not None
    if greeting.code is None or getattr(greeting.code, "value", None) != "CAPABILITY":
        pytest.skip("the greeting carries no CAPABILITY response code (it MAY)")
    listed = {c.upper() for c in greeting.code_data or ()}    # type: ignore[union-attr]
    assert {"IMAP4REV2", "IMAP4REV1"} & listed, (
        f"the greeting's [CAPABILITY ...] lists neither IMAP4rev2 nor IMAP4rev1: "
        f"{sorted(listed)}")
