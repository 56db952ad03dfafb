"""The IMAP connection states (RFC 9051 §3) and the commands each accepts (§6.1-6.4), as
tables.

``ALLOWED`` maps a state to the command classes it accepts; anything else gets a tagged
BAD whose text says why (RFC 9051 §3: "It is a protocol error for the client to attempt
a command while the connection is in an inappropriate state, and the server will respond
with a BAD or NO"). The state changes only on responses the core sees go out
(``after_tagged``, ``after_untagged``), following the diagram of §3:

    (1) connection without pre-authentication (OK greeting)
    (2) pre-authenticated connection (PREAUTH greeting)
    (3) rejected connection (BYE greeting)
    (4) successful LOGIN or AUTHENTICATE command
    (5) successful SELECT or EXAMINE command
    (6) CLOSE or UNSELECT command, unsolicited CLOSED response code, or
        failed SELECT or EXAMINE command
    (7) LOGOUT command, server shutdown, or connection closed
"""

from __future__ import annotations

from enum import Enum

from reference.imap.commands import (
    COMMAND_NAMES,
    Append,
    Authenticate,
    Capability,
    Check,
    Close,
    Command,
    Copy,
    Create,
    Delete,
    Enable,
    Examine,
    Expunge,
    Fetch,
    Id,
    Idle,
    List,
    Login,
    Logout,
    Lsub,
    Move,
    Namespace,
    Noop,
    Rename,
    Search,
    Select,
    StartTls,
    Status,
    Store,
    Subscribe,
    Unselect,
    Unsubscribe,
)
from reference.imap.responses import Condition, ResponseCode, StatusResponse


class State(Enum):
    GREETING = "greeting"                      # connected, no greeting sent yet
    NOT_AUTHENTICATED = "not authenticated"    # §3.1
    AUTHENTICATED = "authenticated"            # §3.2
    SELECTED = "selected"                      # §3.3
    LOGOUT = "logout"                          # §3.4


# §6.1 "Client Commands - Any State" (ID: RFC 2971 §3.1, "may be issued at any time").
ANY_STATE: frozenset[type] = frozenset({Capability, Noop, Logout, Id})
# §6.2 "Client Commands - Not Authenticated State"
NOT_AUTHENTICATED_COMMANDS: frozenset[type] = frozenset({StartTls, Authenticate, Login})
# §6.3 "Client Commands - Authenticated State" (LSUB: RFC 3501 §6.3.9)
AUTHENTICATED_COMMANDS: frozenset[type] = frozenset({
    Enable, Select, Examine, Create, Delete, Rename, Subscribe, Unsubscribe, List, Lsub,
    Namespace, Status, Append, Idle})
# §6.4 "Client Commands - Selected State" (CHECK: RFC 3501 §6.4.1)
SELECTED_COMMANDS: frozenset[type] = frozenset({
    Check, Close, Unselect, Expunge, Search, Fetch, Store, Copy, Move})

ALLOWED: dict[State, frozenset[type]] = {
    State.NOT_AUTHENTICATED: ANY_STATE | NOT_AUTHENTICATED_COMMANDS,
    State.AUTHENTICATED: ANY_STATE | AUTHENTICATED_COMMANDS,
    # §6.4: "In addition to the universal commands ... and the authenticated state
    # commands (SELECT, EXAMINE, NAMESPACE, CREATE, DELETE, RENAME, SUBSCRIBE,
    # UNSUBSCRIBE, LIST, STATUS, and APPEND)". §6.3.1: "The ENABLE command is only valid
    # in the authenticated state, before any mailbox is selected."
    State.SELECTED: ANY_STATE | (AUTHENTICATED_COMMANDS - {Enable}) | SELECTED_COMMANDS,
}


def wrong_state_text(state: State, command_type: type) -> str:
    """The text of the tagged BAD for a command the state does not accept."""
    name = COMMAND_NAMES[command_type]
    if state is State.LOGOUT:
        return f"{name} not accepted: the connection is logging out (RFC 9051 §3.4)"
    if command_type in NOT_AUTHENTICATED_COMMANDS:
        return (f"{name} is only valid in the not authenticated state; already "
                "authenticated (RFC 9051 §6.2)")
    if command_type is Enable:
        return ("ENABLE is only valid in the authenticated state, before any mailbox is "
                "selected (RFC 9051 §6.3.1)")
    if command_type in SELECTED_COMMANDS:
        return (f"{name} needs a selected mailbox: SELECT or EXAMINE first "
                "(RFC 9051 §6.4)")
    return f"{name} needs authentication: LOGIN or AUTHENTICATE first (RFC 9051 §6.3)"


def after_greeting(response: StatusResponse) -> State:
    """§3 (1), (2), (3); §7.1.1, §7.1.4, §7.1.5: the three greetings."""
    return {Condition.OK: State.NOT_AUTHENTICATED, Condition.PREAUTH: State.AUTHENTICATED,
            Condition.BYE: State.LOGOUT}[response.condition]


def after_tagged(state: State, command: Command, condition: Condition) -> State:
    """The state after the tagged completion of ``command``."""
    if state is State.LOGOUT:
        return state
    match command:
        case Login() | Authenticate() if condition is Condition.OK:
            return State.AUTHENTICATED                                       # (4)
        case Select() | Examine() if condition is Condition.OK:
            return State.SELECTED                                            # (5)
        case Select() | Examine() if condition is Condition.NO:
            # §6.3.2: "if a mailbox is selected and a SELECT command that fails is
            # attempted, no mailbox is selected." ("NO - select failure, now in
            # authenticated state")
            return State.AUTHENTICATED                                       # (6)
        case Close() | Unselect() if condition is Condition.OK:
            return State.AUTHENTICATED                                       # (6)
        case Logout() if condition is Condition.OK:
            return State.LOGOUT                                              # (7)
    return state


def after_untagged(state: State, response: StatusResponse, in_progress: Command | None
                   ) -> State:
    """The state after an untagged status response."""
    if response.condition is Condition.BYE:
        return State.LOGOUT                                                  # (7)
    if (response.code is ResponseCode.CLOSED and state is State.SELECTED
            and not isinstance(in_progress, (Select, Examine))):
        # (6) "unsolicited CLOSED response code"; within SELECT/EXAMINE, CLOSED only
        # marks the boundary between the old and the new mailbox (§7.1 CLOSED).
        return State.AUTHENTICATED
    return state
