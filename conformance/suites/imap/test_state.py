"""RFC 9051 §3 and §6: the greeting, the four states, and which commands each state
permits. "It is a protocol error for the client to attempt a command while the connection
is in an inappropriate state, and the server will respond with a BAD or NO (depending upon
server implementation) command completion result" (§3). "A rejected command (BAD
response) never changes the state of the connection or of the selected mailbox" (§6)."""

from __future__ import annotations

import pytest

from conformance.drivers.imap import Completion, ImapDriver, quote
from conformance.suites.imap.support import (
    Loaded,
    Scratch,
    expect_bad,
    expect_ok,
    expect_refused,
    flag_set,
    search_result,
    show,
)
from reference.imap.response_data import FlagsItem
from reference.imap.responses import (
    Condition,
    Continuation,
    FetchData,
    Response,
    StatusResponse,
)

pytestmark = pytest.mark.protocol("imap")

# §6.3 and §6.4: what needs authentication; §6.4: what needs a selected mailbox.
NEEDS_AUTHENTICATION = (
    "SELECT INBOX",
    "EXAMINE INBOX",
    'CREATE "conformance-never-created"',
    'DELETE "conformance-never-created"',
    'RENAME "conformance-never-a" "conformance-never-b"',
    "SUBSCRIBE INBOX",
    "UNSUBSCRIBE INBOX",
    'LIST "" "*"',
    "STATUS INBOX (MESSAGES)",
    "FETCH 1 (FLAGS)",
    "STORE 1 +FLAGS (\\Seen)",
    "SEARCH ALL",
    "COPY 1 INBOX",
    "EXPUNGE",
    "CLOSE",
    "UID FETCH 1 (FLAGS)",
)
NEEDS_SELECTED = (
    "FETCH 1 (FLAGS)",
    "STORE 1 +FLAGS (\\Seen)",
    "SEARCH ALL",
    "COPY 1 INBOX",
    "EXPUNGE",
    "CLOSE",
    "UID FETCH 1 (FLAGS)",
    "UID STORE 1 +FLAGS (\\Seen)",
    "UID SEARCH ALL",
    "UID COPY 1 INBOX",
)


@pytest.mark.requirement(rfc=9051, section="7.1.1", level="MUST")
@pytest.mark.requirement(rfc=9051, section="3", level="MUST")
def test_greeting_is_ok_or_preauth(imap: ImapDriver) -> None:
    """§7.1.1/§7.1.4/§7.1.5: the greeting is an untagged OK (not authenticated), PREAUTH
    (authenticated) or BYE (rejected). A test target must accept the connection, so BYE
    is a failure here; the driver has already checked the greeting's grammar."""
    greeting = imap.greeting
    assert greeting is not None
    assert greeting.condition in (Condition.OK, Condition.PREAUTH), (
        f"greeting: expected '* OK' or '* PREAUTH', got '* {show(greeting)}'")


@pytest.mark.requirement(rfc=9051, section="3.1", level="MUST", ids=("RFC9051-3.1-1",))
@pytest.mark.requirement(rfc=9051, section="3", level="MUST")
@pytest.mark.parametrize("command", NEEDS_AUTHENTICATION)
def test_commands_need_authentication(imap: ImapDriver, command: str) -> None:
    """§3.1: "the client MUST supply authentication credentials before most commands will
    be permitted"; the server answers BAD or NO (§3), and the connection stays usable and
    not authenticated."""
    if imap.greeting is not None and imap.greeting.condition is Condition.PREAUTH:
        pytest.skip("the target pre-authenticates (PREAUTH greeting): no not-authenticated "
                    "state to test")
    expect_refused(imap.command(command), f"{command} in the not authenticated state")
    # The state did not change: a command that needs authentication is still refused,
    # and NOOP (any state, §6.1.2) still succeeds.
    expect_ok(imap.command("NOOP"), f"NOOP after the refused {command}")
    expect_refused(imap.command('LIST "" "*"'), f'LIST "" "*" after the refused {command} '
                   "(still not authenticated)")


@pytest.mark.requirement(rfc=9051, section="3.2", level="MUST", ids=("RFC9051-3.2-1",))
@pytest.mark.requirement(rfc=9051, section="3", level="MUST")
@pytest.mark.parametrize("command", NEEDS_SELECTED)
def test_commands_need_a_selected_mailbox(session: ImapDriver, command: str) -> None:
    """§3.2: the client "MUST select a mailbox to access before commands that affect
    messages will be permitted"; FETCH, STORE, SEARCH, COPY, EXPUNGE, CLOSE and their UID
    forms in the authenticated state get BAD or NO."""
    expect_refused(session.command(command), f"{command} in the authenticated state")
    expect_ok(session.command("NOOP"), f"NOOP after the refused {command}")


@pytest.mark.requirement(rfc=9051, section="6.2", level="MUST")
def test_login_again_is_refused(session: ImapDriver) -> None:
    """§6.2: LOGIN and AUTHENTICATE are commands of the not authenticated state; "Once
    authenticated (including as anonymous), it is not possible to re-enter not
    authenticated state", so a second LOGIN is refused."""
    account = session.spec.accounts[0]
    done = session.command(f"LOGIN {quote(account.user)} {quote(account.password)}")
    expect_refused(done, "LOGIN in the authenticated state")


@pytest.mark.requirement(rfc=9051, section="6.2", level="MUST")
@pytest.mark.needs("AUTH=PLAIN")
def test_authenticate_again_is_refused(session: ImapDriver) -> None:
    """§6.2: AUTHENTICATE is valid only in the not authenticated state. The refusal must
    come as a tagged BAD or NO, without a "+" challenge first."""
    tag, early = session.start("AUTHENTICATE PLAIN")
    assert early is None
    while True:
        response = session.read_response()
        if isinstance(response, Continuation):
            session.send(b"*\r\n")     # cancel (§6.2.2) so that the exchange ends
            done = session.finish(tag)
            raise AssertionError(
                "AUTHENTICATE PLAIN in the authenticated state: the server sent a \"+\" "
                f"challenge instead of refusing the command (then {show(done)!r} to \"*\")")
        if isinstance(response, StatusResponse) and response.tag == tag:
            break
    assert response.condition in (Condition.BAD, Condition.NO), (
        "AUTHENTICATE PLAIN in the authenticated state: expected a tagged BAD or NO, got "
        f"{show(response)!r}")


@pytest.mark.requirement(rfc=9051, section="7.1.3", level="MUST")
@pytest.mark.requirement(rfc=9051, section="6.5", level="MUST")
def test_unknown_command_is_bad(imap: ImapDriver) -> None:
    """§7.1.3: BAD "reports a protocol-level error in the client's command"; every command
    lists "BAD - command unknown or arguments invalid". An unknown command gets a tagged
    BAD and the connection stays usable."""
    expect_bad(imap.command("XCONFORMANCEUNKNOWN"), "an unknown command")
    expect_ok(imap.command("NOOP"), "NOOP after the unknown command")


@pytest.mark.requirement(rfc=9051, section="2.2.2", level="SHOULD", ids=("RFC9051-2.2.2-3",))
@pytest.mark.parametrize("command", ["NOOP EXTRA", "CAPABILITY  ", 'SELECT', "FETCH 1"])
def test_syntax_error_is_bad(session: ImapDriver, command: str) -> None:
    """§2.2.2: "Any client command with a protocol syntax error, including (but not
    limited to) missing or extraneous spaces or arguments, SHOULD be rejected and the
    client given a BAD server completion response." """
    expect_bad(session.command(command), f"{command!r} (a syntax error)")


@pytest.mark.requirement(rfc=9051, section="6", level="MUST")
def test_bad_does_not_change_selected_state(loaded: Loaded) -> None:
    """§6: "A rejected command (BAD response) never changes the state of the connection or
    of the selected mailbox." A malformed FETCH in the selected state leaves the mailbox
    selected: FETCH works afterwards."""
    imap = loaded.driver
    expect_bad(imap.command("FETCH 1 (NOT-A-FETCH-ITEM)"), "FETCH with an unknown item")
    done = expect_ok(imap.command("FETCH 1 (UID)"), "FETCH 1 (UID) after the BAD")
    assert done.of_type(FetchData), "FETCH after the BAD returned no FETCH response"


@pytest.mark.requirement(rfc=9051, section="6.3.2", level="MUST")
def test_failed_select_leaves_no_mailbox_selected(loaded: Loaded, scratch: Scratch) -> None:
    """§6.3.2: "if a mailbox is selected and a SELECT command that fails is attempted, no
    mailbox is selected" (result NO: "now in authenticated state")."""
    imap = loaded.driver
    missing = scratch.name(imap, "missing")
    done = imap.select(missing)
    assert done.tagged.condition is Condition.NO, (
        f"SELECT of a mailbox that does not exist: expected NO, got {show(done)!r}")
    expect_refused(imap.command("FETCH 1 (UID)"), "FETCH after a failed SELECT (no mailbox "
                   "is selected any more)")


@pytest.mark.requirement(rfc=9051, section="6.1", level="MUST")
@pytest.mark.parametrize("state", ["not authenticated", "authenticated", "selected"])
@pytest.mark.parametrize("command", ["CAPABILITY", "NOOP"])
def test_any_state_commands(request: pytest.FixtureRequest, state: str,
                            command: str) -> None:
    """§6.1: "The following commands are valid in any state: CAPABILITY, NOOP, and
    LOGOUT" (LOGOUT: test_capability.py)."""
    if state == "selected":
        driver = request.getfixturevalue("loaded").driver
    else:
        driver = request.getfixturevalue("imap" if state == "not authenticated"
                                         else "session")
    expect_ok(driver.command(command), f"{command} in the {state} state")


@pytest.mark.requirement(rfc=9051, section="2.2.1", level="MUST", ids=("RFC9051-2.2.1-1",))
def test_tag_reuse_is_accepted(session: ImapDriver) -> None:
    """§2.2.1: "the client SHOULD generate a unique tag for every command, but a server
    MUST accept tag reuse" (one after the other)."""
    for _ in range(3):
        tag, early = session.start("NOOP", tag="SAME")
        assert early is None
        expect_ok(session.finish(tag), "NOOP with the reused tag SAME")


@pytest.mark.requirement(rfc=9051, section="5.5", level="MUST", ids=("RFC9051-5.5-4",))
def test_pipelined_commands_run_in_order(loaded: Loaded) -> None:
    """§5.5: "If the server detects a possible ambiguity, it MUST execute commands to
    completion in the order given by the client" ("FETCH + STORE + SEARCH + NOOP" is a
    valid non-waiting sequence): FETCH FLAGS, STORE +FLAGS (\\Seen), SEARCH SEEN, FETCH
    FLAGS sent at once; the tagged responses come in order and each sees the state the
    previous left."""
    imap = loaded.driver
    commands = ["FETCH 3 (FLAGS)", "STORE 3 +FLAGS.SILENT (\\Seen)", "SEARCH SEEN",
                "FETCH 3 (FLAGS)"]
    tags = []
    for text in commands:
        tag, early = imap.start(text)          # sent at once, nobody waits
        assert early is None
        tags.append(tag)
    order: list[str] = []
    untagged: list[Response] = []
    while len(order) < len(tags):
        response = imap.read_response()
        if isinstance(response, StatusResponse) and response.tag is not None:
            order.append(response.tag)
            assert response.condition is Condition.OK, (
                f"pipelined {commands[tags.index(response.tag)]}: {show(response)!r}")
        else:
            untagged.append(response)
    assert order == tags, f"pipelined commands {tags} completed in the order {order}"
    # Untagged data may come before earlier commands' tagged responses (§5.5 lets the
    # server work ahead), so it is judged as one stream, in order.
    everything = Completion(StatusResponse(Condition.OK, "", "all"), untagged, b"")
    flags = [flag_set(item.flags) for data in everything.of_type(FetchData) if data.msn == 3
             for item in data.items if isinstance(item, FlagsItem)]
    # The first FLAGS comes from the first FETCH, the last from the second; a server may
    # add unsolicited FETCH responses in between (§7.5.2: a STORE .SILENT may still
    # report the change, as Cyrus does), so only the two ends are judged.
    assert len(flags) >= 2, f"two FETCH 3 (FLAGS) gave {len(flags)} FLAGS items"
    assert "\\SEEN" not in flags[0] and "\\SEEN" in flags[-1], (
        f"FETCH, STORE +FLAGS (\\Seen), FETCH pipelined: the FLAGS were {flags} (the STORE "
        "did not run between the two FETCHes)")
    assert search_result(everything, "SEARCH SEEN") >= {2, 3}, (
        "the pipelined SEARCH SEEN did not see the \\Seen the STORE before it set")
