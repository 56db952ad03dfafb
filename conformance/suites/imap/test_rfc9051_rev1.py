"""RFC 3501 rules as an IMAP4rev1 client (nothing enabled) sees them, where the suite
checked only the RFC 9051 form so far: LOGOUT's BYE (§3.4), EXISTS without asking
(§5.2), lower-case keywords and INBOX in any case (§9), a recreated mailbox's UIDs
(§6.3.3), STARTTLS and AUTH=PLAIN offered (§6.1.1, §7.2.1,
§9)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from conformance.drivers import TargetClosed, TargetTimeout
from conformance.drivers.imap import ImapDriver, quote
from conformance.suites.imap.support import (
    Scratch,
    exists_count,
    expect_ok,
    load,
    status_values,
)
from conformance.suites.imap.test_rfc9051_protocol import raw_lines_until
from reference.imap.responses import Condition, StatusData, StatusResponse

pytestmark = [pytest.mark.protocol("imap"), pytest.mark.needs("IMAP4rev1")]

MESSAGE = b"Subject: rev1 conformance\r\n\r\nbody\r\n"


@pytest.mark.requirement(rfc=3501, section="3.4", level="MUST", ids=("RFC3501-3.4-1",))
def test_rev1_logout_sends_bye(rev1_session: ImapDriver) -> None:
    """RFC 3501 §3.4: "If the client requests the logout state, the server MUST send an
    untagged BYE response and a tagged OK response to the LOGOUT command before the
    server closes the connection"."""
    done = rev1_session.logout()
    byes = [r for r in done.of_type(StatusResponse) if r.condition is Condition.BYE]
    assert byes and done.ok, f"LOGOUT: expected * BYE then a tagged OK, got {done}"
    assert rev1_session.wait_closed(), "the server did not close the connection after LOGOUT"


@pytest.mark.requirement(rfc=3501, section="5.2", level="MUST", ids=("RFC3501-5.2-3",))
def test_rev1_exists_without_asking(rev1_session: ImapDriver, scratch: Scratch,
                                    another: Callable[[], ImapDriver]) -> None:
    """RFC 3501 §5.2: "A server MUST send mailbox size updates automatically if a mailbox
    size change is observed during the processing of a command": another session's
    APPEND shows as EXISTS at the next NOOP."""
    name = scratch.create(rev1_session, "rev1-exists")
    expect_ok(rev1_session.select(name), f"SELECT {name}")
    expect_ok(another().append(name, MESSAGE), f"APPEND to {name} (another session)")
    done = expect_ok(rev1_session.command("NOOP"), "NOOP")
    assert exists_count(done) == 1, (
        f"NOOP after another session's APPEND: EXISTS {exists_count(done)}, expected 1")


@pytest.mark.requirement(rfc=3501, section="9", level="MUST",
                         ids=("RFC3501-9-3", "RFC3501-9-15"))
def test_rev1_lower_case_and_inbox_in_any_case(rev1_session: ImapDriver) -> None:
    """RFC 3501 §9: "Implementations MUST accept these strings in a case-insensitive
    fashion"; "All case variants of INBOX (e.g., "iNbOx") MUST be interpreted as INBOX
    not as an astring"."""
    inbox = status_values(rev1_session, "INBOX", "MESSAGES UIDVALIDITY")
    for command in ("examine iNbOx", "status inbox (messages uidvalidity)", "noop",
                    "fetch 1:* (flags)" if inbox["MESSAGES"] else "search all",
                    "close"):
        done = rev1_session.command(command)
        assert done.tagged.condition is Condition.OK, f"{command!r}: {done.tagged}"
    done = expect_ok(rev1_session.command("STATUS iNbOx (MESSAGES UIDVALIDITY)"),
                     "STATUS iNbOx")
    data = done.of_type(StatusData)
    assert len(data) == 1 and data[0].mailbox.upper() == "INBOX", (
        f"STATUS iNbOx: expected one STATUS response for INBOX, got {data}")
    assert {att.value: value for att, value in data[0].attributes} == inbox, (
        f"STATUS iNbOx gives {data[0].attributes}, STATUS INBOX {inbox}")


@pytest.mark.requirement(rfc=3501, section="6.3.3", level="MUST", ids=("RFC3501-6.3.3-4",))
def test_rev1_recreated_mailbox_has_greater_uids(rev1_session: ImapDriver,
                                                 scratch: Scratch) -> None:
    """RFC 3501 §6.3.3: "If a new mailbox is created with the same name as a mailbox which
    was deleted, its unique identifiers MUST be greater than the unique identifiers used
    in the previous incarnation of the mailbox UNLESS the new incarnation has a different
    unique identifier validity value"."""
    name = scratch.create(rev1_session, "rev1-again")
    first = load(rev1_session, name, [(MESSAGE, ())])
    expect_ok(rev1_session.command("CLOSE"), "CLOSE")
    expect_ok(rev1_session.delete(name), f"DELETE {name}")
    expect_ok(rev1_session.create(name), f"CREATE {name} again")
    second = load(rev1_session, name, [(MESSAGE, ())])
    if second.uidvalidity == first.uidvalidity:
        assert second.uids[0] > first.uids[0], (
            f"the recreated {name} has the same UIDVALIDITY {first.uidvalidity} and gave "
            f"UID {second.uids[0]}, not above the old {first.uids[0]}")


@pytest.mark.requirement(rfc=3501, section="9", level="MUST", ids=("RFC3501-9-11",))
@pytest.mark.requirement(rfc=3501, section="7.2.1", level="MUST", ids=("RFC3501-7.2.1-2",))
@pytest.mark.requirement(rfc=3501, section="6.1.1", level="MUST", ids=("RFC3501-6.1.1-3",))
def test_rev1_auth_plain_offered(imap: ImapDriver) -> None:
    """RFC 3501 §9: "Servers MUST implement the STARTTLS, AUTH=PLAIN ... and
    LOGINDISABLED capabilities" (§6.1.1, §7.2.1): the AUTH=PLAIN half, before login or
    after STARTTLS (the STARTTLS half is test_rfc9051_protocol's
    test_cleartext_port_allows_starttls; LOGINDISABLED is for the operator to turn
    on)."""
    caps = set(imap.capabilities)
    if "AUTH=PLAIN" not in caps and "STARTTLS" in caps:
        expect_ok(imap.starttls(), "STARTTLS")
        caps = set(imap.capabilities)
    assert "AUTH=PLAIN" in caps, f"AUTH=PLAIN is not offered, even after TLS: {sorted(caps)}"


@pytest.mark.requirement(rfc=3501, section="3.4", level="MUST NOT", ids=("RFC3501-3.4-2",))
def test_rev1_no_close_without_bye(rev1_session: ImapDriver) -> None:
    """RFC 3501 §3.4: "A server MUST NOT unilaterally close the connection without
    sending an untagged BYE response": after an overlong line and a run of bad commands
    (what makes servers give up on a client), either the connection still answers, or a
    BYE came before it closed."""
    imap = rev1_session
    imap.send(b"long1 NOOP " + b"x" * 70_000 + b"\r\n")
    imap.send(b"".join(b"bad%02d NO-SUCH-COMMAND\r\n" % n for n in range(30)))
    imap.send(b"last NOOP\r\n")
    try:
        lines = raw_lines_until(imap, b"last")
    except (TargetClosed, TargetTimeout):
        # A reset after the close: judge what was received before it.
        lines = [data for side, data in imap.wire.transcript if side == "S"]
    if lines and lines[-1].startswith(b"last "):
        return                                    # still serving: nothing closed
    assert any(line.startswith(b"* BYE") for line in lines), (
        f"the server closed the connection without an untagged BYE; last lines: {lines[-3:]}")


@pytest.mark.requirement(rfc=3501, section="6.3.11", level="MUST", ids=("RFC3501-6.3.11-9",))
def test_rev1_refused_append_leaves_the_mailbox(rev1_session: ImapDriver,
                                                scratch: Scratch) -> None:
    """RFC 3501 §6.3.11: "If the append is unsuccessful for any reason, the mailbox MUST
    be restored to its state before the APPEND attempt": an APPEND with an invalid
    date-time (a synchronizing literal, sent only after "+") is refused, and MESSAGES
    and UIDNEXT are as before."""
    imap = rev1_session
    name = scratch.create(imap, "rev1-append")
    expect_ok(imap.append(name, MESSAGE), f"APPEND to {name}")
    before = status_values(imap, name, "MESSAGES UIDNEXT")
    imap.send(f'ap1 APPEND {quote(name)} "31-Foo-2023 99:99:99 +9999" {{{len(MESSAGE)}}}\r\n'
              .encode())
    lines = raw_lines_until(imap, b"+", b"ap1")
    if lines and lines[-1].startswith(b"+"):
        imap.send(MESSAGE + b"\r\n")
        lines = raw_lines_until(imap, b"ap1")
    assert lines and lines[-1].startswith((b"ap1 BAD", b"ap1 NO")), (
        f"APPEND with an invalid date-time: expected a tagged NO or BAD, got {lines[-1:]}")
    after = status_values(imap, name, "MESSAGES UIDNEXT")
    assert after == before, f"STATUS {name} was {before}, after a refused APPEND {after}"
