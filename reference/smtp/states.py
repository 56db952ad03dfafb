"""The SMTP server's states and the order of commands (RFC 5321 §4.1.4, §3.3), as tables.

``ALLOWED`` says which commands a state accepts; anything not in it gets 503 (RFC 5321
§4.1.4 MUST: "If the commands in a transaction are out of order to the degree that they
cannot be processed by the server, a 503 failure reply MUST be returned"; §3.3: "If a
RCPT command appears without a previous MAIL command, the server MUST return a 503"). The
state changes only when the core sees a reply go out (``after_reply``): the session
never assigns a state.
"""

from __future__ import annotations

from enum import Enum

from reference.smtp.commands import (
    Auth,
    AuthResponse,
    Bdat,
    Data,
    Ehlo,
    Event,
    Expn,
    Helo,
    Help,
    MailFrom,
    MessageReceived,
    MessageRejected,
    Noop,
    Quit,
    RcptTo,
    Rset,
    StartTls,
    Vrfy,
)


class State(Enum):
    CONNECTED = "connected"        # no greeting sent yet
    REFUSED = "refused"            # 554 greeting: RFC 5321 §3.1, only QUIT is served
    GREETED = "greeted"            # 220 sent, EHLO/HELO expected (also after STARTTLS)
    READY = "ready"                # EHLO/HELO accepted, no mail transaction
    MAIL = "mail"                  # MAIL accepted, no recipient accepted yet
    RCPT = "rcpt"                  # at least one recipient accepted
    DATA = "data"                  # 354 sent: reading mail data (RFC 5321 §4.1.1.4)
    CHUNKING = "chunking"          # BDAT chunks being received (RFC 3030)
    AUTH = "auth"                  # SASL exchange under way: 334 sent (RFC 4954 §4)
    TLS_PENDING = "tls-pending"    # 220 to STARTTLS sent: only a TLS handshake may follow
    CLOSED = "closed"              # 221 or 421 sent


# Commands that are fine in any state where commands are read: RFC 5321 §4.1.4 "The
# NOOP, HELP, EXPN, VRFY, and RSET commands can be used at any time during a session".
ANYTIME: frozenset[type] = frozenset({Noop, Help, Expn, Vrfy, Rset, Quit})

ALLOWED: dict[State, frozenset[type]] = {
    # RFC 5321 §3.1: after a 554 greeting the server "MUST wait for the client to send a
    # QUIT command before closing" and answers 503 to anything else.
    State.REFUSED: frozenset({Quit}),
    # §4.1.4: "A session that will contain mail transactions MUST first be initialized by
    # the use of the EHLO command"; STARTTLS and AUTH need the EHLO that announces them.
    State.GREETED: ANYTIME | {Ehlo, Helo},
    State.READY: ANYTIME | {Ehlo, Helo, MailFrom, StartTls, Auth},
    # §4.1.4: an EHLO during a transaction resets it, like RSET. RFC 4954 §4: AUTH "issued
    # during a mail transaction MUST be rejected with a 503 reply".
    State.MAIL: ANYTIME | {Ehlo, Helo, RcptTo},
    State.RCPT: ANYTIME | {Ehlo, Helo, RcptTo, Data, Bdat},
    # RFC 3030 §2: "The DATA command MUST NOT be used in the same transaction as BDAT",
    # and all RCPTs precede the first BDAT.
    State.CHUNKING: ANYTIME | {Ehlo, Helo, Bdat},
}

# Why a command is out of order, per state, for a 503 text that helps the client.
SEQUENCE_HINTS: dict[tuple[State, type], str] = {
    (State.GREETED, MailFrom): "Send EHLO or HELO first",
    (State.GREETED, StartTls): "Send EHLO first",
    (State.GREETED, Auth): "Send EHLO first",
    (State.READY, RcptTo): "Need MAIL before RCPT",
    (State.READY, Data): "Need MAIL before DATA",
    (State.READY, Bdat): "Need MAIL before BDAT",
    (State.GREETED, RcptTo): "Need MAIL before RCPT",
    (State.GREETED, Data): "Need MAIL before DATA",
    (State.GREETED, Bdat): "Need MAIL before BDAT",
    (State.MAIL, MailFrom): "Nested MAIL command",
    (State.RCPT, MailFrom): "Nested MAIL command",
    (State.CHUNKING, MailFrom): "Nested MAIL command",
    (State.MAIL, Data): "Need RCPT before DATA",
    (State.MAIL, Bdat): "Need RCPT before BDAT",
    (State.MAIL, Auth): "AUTH is not permitted during a mail transaction (RFC 4954 §4)",
    (State.RCPT, Auth): "AUTH is not permitted during a mail transaction (RFC 4954 §4)",
    (State.MAIL, StartTls): "STARTTLS is not permitted during a mail transaction",
    (State.RCPT, StartTls): "STARTTLS is not permitted during a mail transaction",
    (State.CHUNKING, Data): "DATA cannot follow BDAT in a transaction (RFC 3030 §2)",
    (State.CHUNKING, RcptTo): "RCPT cannot follow BDAT in a transaction (RFC 3030 §2)",
    (State.REFUSED, Ehlo): "No SMTP service here; send QUIT",
}

TRANSACTION_STATES = frozenset({State.MAIL, State.RCPT, State.CHUNKING})


def after_reply(state: State, event: Event | None, code: int) -> State:
    """The state after the server sends a reply with ``code`` to ``event`` in ``state``.

    ``event`` is ``None`` for the greeting and for replies to lines the core refused.
    """
    if code == 421:
        return State.CLOSED        # RFC 5321 §3.8: 421 closes the transmission channel
    match event:
        case None if state is State.CONNECTED:
            return {220: State.GREETED, 554: State.REFUSED}.get(code, state)
        case None:
            return state
        case Quit() if code == 221:
            return State.CLOSED
        case Ehlo() | Helo():
            # §4.1.4: after a failed EHLO the server "MUST stay in the same state"
            return State.READY if code == 250 else state
        case MailFrom():
            return State.MAIL if code == 250 else state
        case RcptTo():
            return State.RCPT if code in (250, 251) else state
        case Data():
            return State.DATA if code == 354 else state
        case Bdat():
            # RFC 3030 §2: after a failed chunk "the transaction should be considered
            # failed"; further pipelined BDATs then meet 503.
            return State.CHUNKING if code == 250 else State.READY
        case MessageReceived() | MessageRejected():
            return State.READY     # §4.1.1.4: the transaction ends with the reply to data
        case Rset() if code == 250:
            return State.READY if state in TRANSACTION_STATES else state
        case StartTls():
            return State.TLS_PENDING if code == 220 else state
        case Auth() | AuthResponse():
            return State.AUTH if code == 334 else State.READY
    return state


# RFC 5321 §4.3.2 "Command-Reply Sequences": the replies each command may get, plus
# those of the extensions that answer it. Checked on every send, so that a session bug
# (say, 250 to DATA, which would leave the message to be read as commands) surfaces as
# LocalProtocolError instead of reaching a client. "In addition to the codes listed
# below, any SMTP command can return" 500, 501 and 421 (ANY_COMMAND_MAY_GET).
ANY_COMMAND_MAY_GET = frozenset({500, 501, 421})
GREETING_CODES = frozenset({220, 554})      # CONNECTION ESTABLISHMENT  S: 220  E: 554
# RFC 4954 §6 and RFC 6409 §4.3: 530 answers any command that needs authentication
# first; RFC 3207 §4: "530 Must issue a STARTTLS command first" likewise.
AUTH_FIRST = frozenset({530})
REPLY_CODES: dict[type, frozenset[int]] = {
    # EHLO or HELO  S: 250  E: 504, 550, 502
    Ehlo: frozenset({250, 504, 550, 502}),
    Helo: frozenset({250, 504, 550, 502}),
    # MAIL  S: 250  E: 552, 451, 452, 550, 553, 503, 455, 555
    MailFrom: frozenset({250, 552, 451, 452, 550, 553, 503, 455, 555}) | AUTH_FIRST,
    # RCPT  S: 250, 251  E: 550, 551, 552, 553, 450, 451, 452, 503, 455, 555
    RcptTo: frozenset({250, 251, 550, 551, 552, 553, 450, 451, 452, 503, 455, 555}),
    # DATA  I: 354  E: 503, 554
    Data: frozenset({354, 503, 554}) | AUTH_FIRST,
    # DATA ... data -> S: 250  E: 552, 554, 451, 452, 450, 550
    MessageReceived: frozenset({250, 552, 554, 451, 452, 450, 550}),
    MessageRejected: frozenset({552, 554, 451, 452, 450, 550}),
    # RFC 3030 §2: a BDAT chunk gets 250 or an error of the kinds DATA's end gets.
    Bdat: frozenset({250, 552, 554, 451, 452, 450, 550, 503}),
    # RSET  S: 250
    Rset: frozenset({250}),
    # VRFY  S: 250, 251, 252  E: 550, 551, 553, 502, 504
    Vrfy: frozenset({250, 251, 252, 550, 551, 553, 502, 504}),
    # EXPN  S: 250, 252  E: 550, 500, 502, 504
    Expn: frozenset({250, 252, 550, 500, 502, 504}),
    # HELP  S: 211, 214  E: 502, 504
    Help: frozenset({211, 214, 502, 504}),
    # NOOP  S: 250
    Noop: frozenset({250}),
    # QUIT  S: 221
    Quit: frozenset({221}),
    # RFC 3207 §4: 220 Ready to start TLS, 501 Syntax error, 454 TLS not available
    StartTls: frozenset({220, 501, 454, 503}),
    # RFC 4954 §4 and §6: 334 challenge, 235 success, and its error replies
    Auth: frozenset({334, 235, 432, 454, 500, 501, 503, 504, 530, 534, 535, 538}),
    AuthResponse: frozenset({334, 235, 432, 454, 500, 501, 535, 534, 538}),
}


def reply_allowed(event: Event | None, code: int) -> bool:
    """RFC 5321 §4.3.2: may ``code`` answer ``event`` (None: the greeting)?"""
    if event is None:
        return code in GREETING_CODES or code == 421
    return code in ANY_COMMAND_MAY_GET or code in REPLY_CODES.get(type(event), frozenset())
