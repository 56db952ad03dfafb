"""IMAP AUTHENTICATE (PLAIN with and without SASL-IR, SCRAM-SHA-256), bad input and
commands in the wrong state, through a real socket byte by byte (``ImapWire``). Every
test names the requirement it checks (RFC, section, level)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import RunningServer
from tests.e2e.imap_wire import (
    ALICE,
    PASSWORD,
    ImapWire,
    append,
    b64,
    connect,
    endpoint,
    plain,
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


# --- AUTHENTICATE (RFC 9051 §6.2.2, RFC 4959 SASL-IR, RFC 5802/7677 SCRAM) ------------


def test_authenticate_plain_with_initial_response_needs_no_continuation(
        wire: ImapWire) -> None:
    """RFC 4959 §3 (SASL-IR, optional for the client): the second AUTHENTICATE argument
    "represents the contents of the "initial client response"" of RFC 4422 §5.1, so no
    continuation request comes between the command and its completion; RFC 9051 §6.2.2:
    the OK ends authentication (with the new CAPABILITY, §7.1) and SELECT is allowed."""
    assert b"SASL-IR" in wire.greeting and b"AUTH=PLAIN" in wire.greeting
    done = wire.command(b"AUTHENTICATE PLAIN " + plain(ALICE, PASSWORD))
    assert done.untagged == []                       # no "+" in between
    assert done.tagged.startswith(b"OK [CAPABILITY IMAP4rev1 IMAP4rev2 "), done
    assert b"AUTH=" not in done.tagged               # capabilities after login
    assert wire.command("SELECT INBOX").status == b"OK"


def test_authenticate_plain_without_initial_response_uses_a_continuation(
        wire: ImapWire) -> None:
    """RFC 4959 §3 MUST: "Servers that implement this extension MUST support clients that
    omit the initial client response"; the mechanism is then "negotiated using the
    challenge/response exchange described in [RFC3501], with an initial zero-length
    server challenge" ("+ " and an empty base64 string, RFC 9051 §7.6), answered by one
    base64 line (RFC 9051 §6.2.2)."""
    tag = wire.tag()
    wire.send(tag + b" AUTHENTICATE PLAIN\r\n")
    assert wire.continuation() == b"+ \r\n"
    wire.send(plain(ALICE, PASSWORD) + b"\r\n")
    done = wire.completion(tag)
    assert done.untagged == [] and done.tagged.startswith(b"OK "), done
    assert wire.command("SELECT INBOX").status == b"OK"


def scram_client_first(user: str) -> tuple[bytes, bytes]:
    """RFC 5802 §7: client-first-message = gs2-header client-first-message-bare, with
    gs2-header "n,," (no channel binding, no authzid)."""
    nonce = base64.b64encode(secrets.token_bytes(18))
    bare = b"n=" + user.replace("=", "=3D").replace(",", "=2C").encode() + b",r=" + nonce
    return b"n,," + bare, bare


def scram_client_final(password: str, client_first_bare: bytes, server_first: bytes,
                       client_nonce: bytes) -> tuple[bytes, bytes]:
    """RFC 5802 §3 with SHA-256 (RFC 7677): the client-final-message and the
    ServerSignature the server must prove it knows."""
    attributes = dict(item.split(b"=", 1) for item in server_first.split(b","))
    nonce, salt, iterations = attributes[b"r"], base64.b64decode(attributes[b"s"]), \
        int(attributes[b"i"])
    # RFC 5802 §5.1 MUST: the server's nonce starts with the client's.
    assert nonce.startswith(client_nonce) and len(nonce) > len(client_nonce), server_first
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.digest(salted, b"Client Key", "sha256")
    stored_key = hashlib.sha256(client_key).digest()
    without_proof = b"c=" + b64(b"n,,") + b",r=" + nonce
    auth_message = client_first_bare + b"," + server_first + b"," + without_proof
    signature = hmac.digest(stored_key, auth_message, "sha256")
    proof = bytes(a ^ b for a, b in zip(client_key, signature, strict=True))
    server_key = hmac.digest(salted, b"Server Key", "sha256")
    server_signature = hmac.digest(server_key, auth_message, "sha256")
    return without_proof + b",p=" + b64(proof), server_signature


@pytest.mark.parametrize("initial_response", [True, False], ids=["sasl-ir", "continuation"])
def test_authenticate_scram_sha_256_proves_the_server_knows_the_password(
        wire: ImapWire, initial_response: bool) -> None:
    """RFC 7677 §3 / RFC 5802 §5.1: SCRAM-SHA-256 through IMAP AUTHENTICATE. "The client
    MUST verify that the initial part of the nonce used in subsequent messages is the
    same as the nonce it initially specified"; "v" is the ServerSignature "used by the
    client to verify that the server has access to the user's authentication
    information" (compared here with our own computation from the password). RFC 9051
    §6.2.2: the server-final goes out as one more challenge, answered by an empty
    response, then OK."""
    assert b"AUTH=SCRAM-SHA-256" in wire.greeting
    client_first, bare = scram_client_first(ALICE)
    client_nonce = bare.rsplit(b",r=", 1)[1]
    tag = wire.tag()
    if initial_response:
        wire.send(tag + b" AUTHENTICATE SCRAM-SHA-256 " + b64(client_first) + b"\r\n")
    else:
        wire.send(tag + b" AUTHENTICATE SCRAM-SHA-256\r\n")
        assert wire.continuation() == b"+ \r\n"
        wire.send(b64(client_first) + b"\r\n")
    server_first = base64.b64decode(wire.continuation()[2:-2], validate=True)
    assert re.fullmatch(rb"r=[!-+\--~]+,s=[A-Za-z0-9+/=]+,i=\d+", server_first), server_first
    client_final, expected_signature = scram_client_final(PASSWORD, bare, server_first,
                                                          client_nonce)
    wire.send(b64(client_final) + b"\r\n")
    server_final = base64.b64decode(wire.continuation()[2:-2], validate=True)
    assert server_final == b"v=" + b64(expected_signature)
    wire.send(b"\r\n")
    done = wire.completion(tag)
    assert done.tagged.startswith(b"OK [CAPABILITY "), done
    assert wire.command("SELECT INBOX").status == b"OK"


def test_authenticate_with_a_wrong_password_is_no_authenticationfailed(
        wire: ImapWire) -> None:
    """RFC 9051 §6.2.2 "NO - authenticate failure: unsupported authentication mechanism,
    credentials rejected" with §7.1 AUTHENTICATIONFAILED ("Authentication failed for some
    reason on which the server is unwilling to elaborate") — for PLAIN and for a SCRAM
    proof computed from the wrong password (RFC 5802 §5.1 p: the server checks it). The
    client may then try again."""
    done = wire.command(b"AUTHENTICATE PLAIN " + plain(ALICE, "not-the-password"))
    assert done.tagged.startswith(b"NO [AUTHENTICATIONFAILED] "), done

    client_first, bare = scram_client_first(ALICE)
    tag = wire.tag()
    wire.send(tag + b" AUTHENTICATE SCRAM-SHA-256 " + b64(client_first) + b"\r\n")
    server_first = base64.b64decode(wire.continuation()[2:-2])
    client_final, _ = scram_client_final("not-the-password", bare, server_first,
                                         bare.rsplit(b",r=", 1)[1])
    wire.send(b64(client_final) + b"\r\n")
    done = wire.completion(tag)
    assert done.tagged.startswith(b"NO [AUTHENTICATIONFAILED] "), done
    # Still not authenticated; a correct attempt then succeeds.
    assert wire.command("SELECT INBOX").status == b"BAD"
    assert wire.command(b"AUTHENTICATE PLAIN " + plain(ALICE, PASSWORD)).status == b"OK"


def test_authenticate_cancelled_with_star_is_bad(wire: ImapWire) -> None:
    """RFC 9051 §6.2.2 MUST: "If the client wishes to cancel an authentication exchange,
    it issues a line consisting of a single "*". If the server receives such a response,
    or if it receives an invalid base64 string ..., it MUST reject the AUTHENTICATE
    command by sending a tagged BAD response." — at the first and at a later step; the
    session stays usable and not authenticated."""
    tag = wire.tag()
    wire.send(tag + b" AUTHENTICATE PLAIN\r\n")
    assert wire.continuation() == b"+ \r\n"
    wire.send(b"*\r\n")
    assert wire.completion(tag).status == b"BAD"

    client_first, _ = scram_client_first(ALICE)
    tag = wire.tag()
    wire.send(tag + b" AUTHENTICATE SCRAM-SHA-256 " + b64(client_first) + b"\r\n")
    wire.continuation()                                  # server-first
    wire.send(b"*\r\n")
    assert wire.completion(tag).status == b"BAD"

    tag = wire.tag()
    wire.send(tag + b" AUTHENTICATE PLAIN\r\n")
    wire.continuation()
    wire.send(b"not base64!\r\n")
    assert wire.completion(tag).status == b"BAD"

    assert wire.command("NOOP").status == b"OK"
    assert wire.command("SELECT INBOX").status == b"BAD"      # not authenticated
    wire.login(ALICE, PASSWORD)


def test_a_malformed_sasl_message_gets_an_ascii_answer(wire: ImapWire) -> None:
    """RFC 9051 §6.2.2: "BAD - command unknown or arguments invalid, authentication
    exchange canceled" or "NO - authenticate failure"; RFC 4959 §3 MUST: "To send a
    zero-length initial response, the client MUST send a single pad character ("=")" (an
    empty PLAIN message is malformed, RFC 4616 §2); RFC 9051 §9 text: "Non-ASCII text
    can only be returned after ENABLE IMAP4rev2 command", so the failure texts (which
    cite RFC sections) reach the client as ASCII and the session goes on."""
    for command in (b"AUTHENTICATE PLAIN =", b"AUTHENTICATE PLAIN " + b64(b"no-nul-here"),
                    b"AUTHENTICATE SCRAM-SHA-256 " + b64(b"x,,n=alice,r=abc")):
        done = wire.command(command)
        assert done.status in (b"BAD", b"NO") and done.tagged.isascii(), (command, done)
    assert wire.command("SELECT INBOX").status == b"BAD"
    wire.login(ALICE, PASSWORD)


# --- bad input (RFC 9051 §7.1.3, RFC 2683 §3.2.1.5; DESIGN.md principle 8) ------------


def test_a_command_line_over_the_limit_is_bad_and_the_session_goes_on(
        alice: ImapWire) -> None:
    """RFC 2683 §3.2.1.5 SHOULD: "send a BAD response to a command that does not end
    within the server's maximum accepted command length"; RFC 9051 §7.1.3 BAD; the
    connection stays usable (the rest of the long line is not read as commands)."""
    limit = 64 * 1024                                    # ImapLimits.command_line default
    tag = alice.tag()
    alice.send(tag + b" NOOP " + b"x" * limit + b" w999 LOGOUT\r\n")
    done = alice.completion(tag)
    assert done.status == b"BAD" and b"long" in done.tagged.lower(), done
    assert done.untagged == []
    assert alice.command("NOOP").status == b"OK"
    assert alice.command("SELECT INBOX").status == b"OK"


def test_unknown_commands_and_bad_sequence_sets_get_a_precise_bad(alice: ImapWire) -> None:
    """RFC 9051 §7.1.3: "The BAD response indicates an error message from the server.
    When tagged, it reports a protocol-level error in the client's command"; §9
    sequence-set has no "0", "1,,2", "1:" or "a", and seq-number: "The server should
    respond with a tagged BAD response to a command that uses a message sequence number
    greater than the number of messages" (SHOULD). The session goes on after each
    (DESIGN.md principle 8)."""
    done = alice.command("FROBNICATE 1 2")
    assert done.tagged == b"BAD Unknown command FROBNICATE"
    append(alice, "INBOX", b"Subject: one\r\n\r\none\r\n")
    assert alice.command("SELECT INBOX").status == b"OK"
    for sequence_set in ("0", "1,,2", "1:", "a", "2"):
        done = alice.command(f"FETCH {sequence_set} (FLAGS)")
        assert done.status == b"BAD" and done.untagged == [], (sequence_set, done)
    assert alice.command("FETCH 1 (FLAGS)").status == b"OK"


def test_commands_in_the_wrong_state_get_bad(wire: ImapWire) -> None:
    """RFC 9051 §6.4: selected-state commands (FETCH, STORE, SEARCH, CLOSE, UNSELECT,
    EXPUNGE) are only valid in the selected state, §6.3 ones after authentication; a
    command in the wrong state is a protocol error, BAD (§7.1.3)."""
    for command in ("SELECT INBOX", "LIST \"\" *", "FETCH 1 (FLAGS)"):
        assert wire.command(command).status == b"BAD", command
    wire.login(ALICE, PASSWORD)
    for command in ("FETCH 1 (FLAGS)", "STORE 1 +FLAGS (\\Seen)", "SEARCH ALL",
                    "CLOSE", "UNSELECT", "EXPUNGE", "LOGIN a b"):
        done = wire.command(command)
        assert done.status == b"BAD" and done.untagged == [], (command, done)
    assert wire.command("NOOP").status == b"OK"


def test_message_numbers_in_an_empty_mailbox_get_bad_not_a_crash(alice: ImapWire) -> None:
    """RFC 9051 §9 seq-number: "The server should respond with a tagged BAD response to
    a command that uses a message sequence number greater than the number of messages in
    the selected mailbox. This includes "*" if the selected mailbox is empty." — in
    US-ASCII text for an IMAP4rev1 client (§9 text), the session going on; the UID forms
    name no message and succeed (§6.4.9 "A non-existent unique identifier is ignored")."""
    assert alice.command("CREATE Empty").status == b"OK"
    assert alice.command("SELECT Empty").status == b"OK"
    for command in ("FETCH 1:* (FLAGS)", "FETCH * (UID)", "SEARCH 1:*",
                    "STORE 1 +FLAGS (\\Seen)", "COPY 1 INBOX"):
        done = alice.command(command)
        assert done.status == b"BAD" and done.tagged.isascii() and done.untagged == [], \
            (command, done)
    done = alice.command("UID FETCH 1:* (FLAGS)")
    assert done.status == b"OK" and done.untagged == []
    assert alice.command("UID SEARCH ALL").untagged == [b"* SEARCH\r\n"]
