"""RFC 9051 §4.3 and §7.6 literals: a synchronizing literal waits for the server's "+";
RFC 7888 LITERAL+ (non-synchronizing literals, accepted at the end of any line, never
answered with "+") and LITERAL- (never advertised together with LITERAL+).

The driver sends ``{n+}`` when LITERAL+ is advertised and ``{n}`` (waiting for "+")
otherwise; the synchronizing tests hide LITERAL+ from it so that it waits."""

from __future__ import annotations

import pytest

from conformance.drivers import TargetTimeout
from conformance.drivers.imap import Completion, ImapDriver, quote
from conformance.suites.imap import messages
from conformance.suites.imap.support import Scratch, expect_ok, status_values
from conformance.targets import Account

pytestmark = pytest.mark.protocol("imap")


def _synchronizing(driver: ImapDriver, text: str, literals: list[bytes]) -> Completion:
    """``text`` with synchronizing literals: each {n} waits for the server's "+"."""
    advertised = driver.capabilities
    driver.modes = driver.modes.advertise(advertised - {"LITERAL+", "LITERAL-"})
    try:
        return driver.command(text, literals=literals)
    except TargetTimeout:
        raise AssertionError(f'{text}: the server sent no "+" continuation request for a '
                             "synchronizing literal (RFC 9051 §7.6)") from None
    finally:
        driver.modes = driver.modes.advertise(advertised)


@pytest.mark.requirement(rfc=9051, section="7.6", level="MUST")
@pytest.mark.requirement(rfc=9051, section="4.3", level="MUST")
def test_synchronizing_literal_in_login(imap: ImapDriver, accounts: list[Account]) -> None:
    """§7.6: "The client is not permitted to send the octets of the synchronizing literal
    unless the server indicates that it is expected" ("+"): LOGIN {n} ... {m} ... works
    (as in the example "C: A001 LOGIN {11}" / "S: + Ready for additional command text")."""
    if "LOGINDISABLED" in imap.capabilities:
        pytest.skip("LOGINDISABLED is advertised")
    account = accounts[0]
    done = _synchronizing(imap, "LOGIN {} {}", [account.user.encode(),
                                                 account.password.encode()])
    expect_ok(done, "LOGIN with two synchronizing literals")


@pytest.mark.requirement(rfc=9051, section="6.3.12", level="MUST")
@pytest.mark.requirement(rfc=9051, section="7.6", level="MUST")
def test_append_with_synchronizing_literal(session: ImapDriver, scratch: Scratch) -> None:
    """§6.3.12 with §7.6: APPEND mailbox {n}, "+", the octets, CRLF: stored."""
    name = scratch.create(session, "sync-literal")
    done = _synchronizing(session, f"APPEND {quote(name)} {{}}",
                          [messages.plain("synchronizing")])
    expect_ok(done, "APPEND with a synchronizing literal")
    assert status_values(session, name, "MESSAGES")["MESSAGES"] == 1


@pytest.mark.requirement(rfc=7888, section="3", level="MUST",
                         ids=("RFC7888-3-2", "RFC7888-3-3"))
@pytest.mark.needs("LITERAL+")
def test_literal_plus_in_append(session: ImapDriver, scratch: Scratch) -> None:
    """RFC 7888 §3: "The protocol receiver of an IMAP server MUST check the end of every
    received line ... for an open brace ('{') followed by an octet count, a plus ('+'),
    and a close brace" and "MUST treat the specified number of following octets and the
    following line ... as part of the same command": APPEND with {n+}, all octets at
    once; a "+" from the server would be a violation the driver reports."""
    name = scratch.create(session, "literal-plus")
    done = session.command(f"APPEND {quote(name)} {{}}", literals=[messages.plain("plus")])
    assert b"+}\r\n" in b"".join(data for way, data in session.transcript if way == "C"), (
        "the driver did not send a non-synchronizing literal")
    expect_ok(done, "APPEND with a non-synchronizing literal")
    assert status_values(session, name, "MESSAGES")["MESSAGES"] == 1


@pytest.mark.requirement(rfc=7888, section="3", level="MUST",
                         ids=("RFC7888-3-2", "RFC7888-3-3"))
@pytest.mark.needs("LITERAL+")
def test_literal_plus_in_login(imap: ImapDriver, accounts: list[Account]) -> None:
    """RFC 7888 §3: non-synchronizing literals in any command: LOGIN {n+} user {m+} pw."""
    if "LOGINDISABLED" in imap.capabilities:
        pytest.skip("LOGINDISABLED is advertised")
    if "LITERAL+" not in imap.capabilities:
        imap.capability()
    account = accounts[0]
    done = imap.command("LOGIN {} {}", literals=[account.user.encode(),
                                                  account.password.encode()])
    expect_ok(done, "LOGIN with non-synchronizing literals")


@pytest.mark.requirement(rfc=7888, section="5", level="MUST NOT", ids=("RFC7888-5-5",))
def test_not_both_literal_plus_and_minus(session: ImapDriver) -> None:
    """RFC 7888 §5: "IMAP servers MUST NOT advertise both of these capabilities at the
    same time." """
    caps = session.capabilities
    assert not {"LITERAL+", "LITERAL-"} <= caps, (
        f"both LITERAL+ and LITERAL- are advertised: {sorted(caps)}")
