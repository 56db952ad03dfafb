"""The IMAP session: policy and effects for one connection; no sockets.

The adapter (``server.py``) reads events from the sans-IO ``ServerConnection`` and awaits
``ImapSession.handle`` for each; the session sends its untagged data and the tagged
completion through ``Output`` (which serializes through the core, so every response is
checked against the grammar and the state table on its way out).

Implementation notes
- Capabilities (RFC 9051 §6.1.1, §7.2.2): IMAP4rev1 and IMAP4rev2 both; a client that
  does not ENABLE IMAP4rev2 gets RFC 3501 behaviour where the two differ (Appendix E:
  \\Recent and RECENT, the untagged SEARCH response, [UNSEEN] at SELECT, RFC822.* items,
  modified UTF-7 mailbox names). CONDSTORE and QRESYNC are not offered.
- LOGINDISABLED (§6.2.3): before TLS on a connection that is not from loopback (by
  default; ``ImapPolicy.plaintext_auth``), LOGIN is refused and AUTH=PLAIN/LOGIN are not
  advertised; SCRAM-SHA-256 is.
- Authentication failures never say whether the user exists (RFC 4422 §3.6); LOGIN
  spends the same PBKDF2 work on an unknown user as on a known one.
- IDLE (RFC 2177, §6.3.13): after "+ idling" the adapter waits for the client's DONE and
  for the store's change watcher at once; a change calls ``idle_wake``, which sends what
  changed (EXPUNGE included: IDLE is a command in progress, §7.5.1).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace

from reference.directory import sasl
from reference.imap.capabilities import enableable
from reference.imap.commands import (
    Append,
    Authenticate,
    AuthenticateResponse,
    Capability,
    Check,
    Close,
    Command,
    ConnectionClosed,
    Copy,
    Create,
    Delete,
    Enable,
    Event,
    Examine,
    Expunge,
    Fetch,
    Id,
    Idle,
    IdleDone,
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
from reference.imap.mailbox_views import MailboxViews
from reference.imap.parser import clip
from reference.imap.responses import (
    CapabilityData,
    Condition,
    Continuation,
    EnabledData,
    IdData,
    ResponseCode,
    StatusResponse,
    bad,
    bye,
    no,
    ok,
)
from reference.imap.session_core import CommandFailed, ImapPolicy, Output
from reference.imap.session_mailboxes import MailboxCommands
from reference.imap.session_messages import MessageCommands
from reference.logs import fields
from reference.net.listeners import Peer
from reference.store.interface import (
    Account,
    ChangeWatcher,
    MailboxNotFound,
    MailStore,
    StoreError,
)

log = logging.getLogger("rfcmail.imap")

SERVER_ID = (("name", "rfcmail"), ("vendor", "rfcmail"),
             ("support-url", "https://www.rfc-editor.org/rfc/rfc9051"))
# Offered in every state (RFC 9051 §7.2.2 capability-data; each extension's RFC beside
# its name in reference/imap/capabilities.py).
BASE_CAPABILITIES = ("IMAP4rev1", "IMAP4rev2", "LITERAL+", "ENABLE", "ID", "IDLE",
                     "NAMESPACE", "UIDPLUS", "MOVE", "UNSELECT", "CHILDREN", "ESEARCH",
                     "SEARCHRES", "LIST-EXTENDED", "LIST-STATUS", "SPECIAL-USE",
                     "CREATE-SPECIAL-USE", "STATUS=SIZE", "BINARY", "MULTIAPPEND",
                     "SASL-IR")


class ImapSession(MailboxCommands, MessageCommands):
    """One IMAP connection's session."""

    def __init__(self, store: MailStore, policy: ImapPolicy, peer: Peer, out: Output, *,
                 tls_active: bool = False, views: MailboxViews | None = None) -> None:
        super().__init__(store, policy, peer, out, tls_active=tls_active, views=views)
        self._mechanism: sasl.ServerMechanism | None = None
        self._authenticating: Authenticate | None = None
        self._idling: Idle | None = None
        self.watcher: ChangeWatcher | None = None

    # --- what the adapter asks ----------------------------------------------------------

    def greeting(self) -> StatusResponse:
        # RFC 9051 §7.1: the CAPABILITY code in the greeting saves a round trip.
        return ok(None, f"{self.policy.hostname} rfcmail IMAP4rev2 ready",
                  ResponseCode.CAPABILITY, self.capabilities())

    def shutting_down(self) -> StatusResponse:
        # RFC 9051 §7.1.5: BYE "as part of a normal logout sequence" or "as a panic
        # shutdown announcement".
        return bye("Server shutting down", ResponseCode.UNAVAILABLE)

    def timed_out(self) -> StatusResponse:
        # RFC 9051 §7.1.5: "The server is closing the connection due to inactivity".
        return bye("Autologout; idle for too long")

    @property
    def autologout(self) -> float:
        return (self.policy.autologout if self.account is not None
                else self.policy.autologout_unauthenticated)

    def tls_established(self) -> None:
        self.tls_active = True

    @property
    def idling(self) -> bool:
        return self._idling is not None

    async def close(self) -> None:
        if self.watcher is not None:
            self.watcher.close()
            self.watcher = None

    # --- capabilities -------------------------------------------------------------------

    def plaintext_permitted(self) -> bool:
        return self.policy.plaintext_auth.permits(tls_active=self.tls_active,
                                                  loopback=self.peer.loopback)

    def offered_mechanisms(self) -> list[str]:
        plaintext = self.plaintext_permitted()
        return [name for name in self.policy.auth_mechanisms
                if plaintext or name not in sasl.PLAINTEXT_MECHANISMS]

    def capabilities(self) -> tuple[str, ...]:
        caps = list(BASE_CAPABILITIES)
        caps.append(f"APPENDLIMIT={self.policy.limits.append_size}")   # RFC 7889 §3
        if self.account is None:
            if self.policy.tls_available and not self.tls_active:
                caps.append("STARTTLS")
            if not self.plaintext_permitted():
                # RFC 9051 §6.2.3: "the server MUST advertise the LOGINDISABLED
                # capability" when it refuses LOGIN.
                caps.append("LOGINDISABLED")
            caps.extend(f"AUTH={name}" for name in self.offered_mechanisms())
        return tuple(caps)

    # --- dispatch -----------------------------------------------------------------------

    async def handle(self, event: Event) -> None:
        """Answer one event: its untagged data and, unless the command continues
        (AUTHENTICATE challenge, IDLE), its tagged completion."""
        if isinstance(event, ConnectionClosed):
            await self.close()
            return
        if isinstance(event, AuthenticateResponse):
            await self._authenticate_continue(event)
            return
        if isinstance(event, IdleDone):
            await self._idle_done()
            return
        try:
            response = await self._dispatch(event)
        except CommandFailed as failure:
            response = failure.response
        except MailboxNotFound:
            # The mailbox went away under the command (DELETE or RENAME, by this session
            # or another, of the selected mailbox): not a server bug (RFC 9051 §7.1
            # SERVERBUG) but NONEXISTENT, "The operation attempts to access a mailbox
            # that does not exist".
            response = no(event.tag, "The mailbox no longer exists",
                          ResponseCode.NONEXISTENT)
        except StoreError as error:
            log.warning("imap.store-error", extra=fields(conn=self.peer.connection_id,
                                                         error=str(error)))
            response = no(event.tag, f"Server error: {error}", ResponseCode.SERVERBUG)
        if response is None:
            return                            # the command goes on (IDLE, AUTHENTICATE)
        if response.condition is not Condition.BAD and not isinstance(
                event, Logout | Select | Examine | Close | Unselect):
            # Every completion carries the updates it may (RFC 9051 §7.4, §7.5.1).
            await self.refresh(event)
        self.send(self.sendable(response))

    def sendable(self, response: StatusResponse) -> StatusResponse:
        """``response`` with a text the client may be sent. RFC 9051 §9 text: "Non-ASCII
        text can only be returned after ENABLE IMAP4rev2 command"; completion texts
        quote what the client sent (mailbox names, SASL messages) and the RFC sections
        their rules come from ("§"), so before ENABLE IMAP4rev2 they are made printable
        US-ASCII as the core's own errors are."""
        if self.rev2 or response.text.isascii():
            return response
        return replace(response, text=clip(response.text))

    async def _dispatch(self, command: Command) -> StatusResponse | None:
        match command:
            case Capability():
                self.send(CapabilityData(self.capabilities()))
                return ok(command.tag, "CAPABILITY completed")
            case Noop() | Check():
                return ok(command.tag, f"{type(command).__name__.upper()} completed")
            case Logout():
                # RFC 9051 §6.1.3: "The server MUST send a BYE untagged response before
                # the (tagged) OK response".
                self.send(bye("Logging out"))
                await self.close()
                return ok(command.tag, "LOGOUT completed")
            case Id():
                # RFC 2971 §3.3: the server's own ID, whatever the client sent.
                self.send(IdData(SERVER_ID))
                return ok(command.tag, "ID completed")
            case StartTls():
                if not self.policy.tls_available:
                    return bad(command.tag, "STARTTLS is not offered here")
                return ok(command.tag, "Begin TLS negotiation now")
            case Login():
                return await self._login(command)
            case Authenticate():
                return await self._authenticate(command)
            case Enable():
                return self._enable(command)
            case Select() | Examine():
                return await self.select(command)
            case Create():
                return await self.create(command)
            case Delete():
                return await self.delete(command)
            case Rename():
                return await self.rename(command)
            case Subscribe() | Unsubscribe():
                return await self.subscribe(command)
            case List():
                return await self.list(command)
            case Lsub():
                return await self.lsub(command)
            case Namespace():
                return self.namespace(command)
            case Status():
                return await self.status(command)
            case Append():
                return await self.append(command)
            case Idle():
                return await self._idle(command)
            case Close() | Unselect():
                return await self.close_mailbox(command)
            case Expunge():
                return await self.expunge(command)
            case Search():
                return await self.search(command)
            case Fetch():
                return await self.fetch(command)
            case Store():
                return await self.store_flags(command)
            case Copy() | Move():
                return await self.copy(command)
        raise AssertionError(f"unhandled command {command!r}")

    # --- ENABLE (RFC 5161, §6.3.1) ------------------------------------------------------

    def _enable(self, command: Enable) -> StatusResponse:
        # §6.3.1: the ENABLED response lists what was newly enabled; unknown or
        # not-enableable names are ignored.
        enabled = enableable(command.capabilities, self.capabilities())
        already = self.out.modes.enabled
        self.send(EnabledData(tuple(name for name in enabled if name.upper() not in already)))
        return ok(command.tag, "ENABLE completed")

    # --- LOGIN (§6.2.3) -----------------------------------------------------------------

    async def _login(self, command: Login) -> StatusResponse:
        if not self.plaintext_permitted():
            # §6.2.3: with LOGINDISABLED the server "MUST" refuse LOGIN with NO.
            return no(command.tag, "LOGIN is disabled before TLS; use STARTTLS or "
                                   "AUTHENTICATE SCRAM-SHA-256", ResponseCode.PRIVACYREQUIRED)
        # LOGIN is PLAIN without an authorization identity (RFC 4616 §2): the same
        # checks, and the same work for an unknown user as for a known one (RFC 4422
        # §3.6).
        mechanism = sasl.PlainServer(fake_credentials_key=self.policy.fake_credentials_key)
        step = mechanism.start(b"\0" + command.userid.encode() + b"\0"
                               + command.password.encode())
        while isinstance(step, sasl.CredentialsRequested):
            stored = await self.store.get_credentials(step.authcid)
            step = await asyncio.to_thread(mechanism.credentials, stored)
        account = None
        if isinstance(step, sasl.Succeeded):
            account = await self.store.get_account(step.authcid)
        if account is None:
            log.info("imap.auth-failed", extra=fields(conn=self.peer.connection_id,
                                                      mechanism="LOGIN"))
            return no(command.tag, "Authentication failed", ResponseCode.AUTHENTICATIONFAILED)
        return self._logged_in(command.tag, account.address, account)

    def _logged_in(self, tag: str, user: str, account: Account) -> StatusResponse:
        self.account = account
        log.info("imap.authenticated", extra=fields(conn=self.peer.connection_id, user=user))
        # §6.2.3 / §7.1: the capabilities change after login, so they are sent along.
        return ok(tag, "Logged in", ResponseCode.CAPABILITY, self.capabilities())

    # --- AUTHENTICATE (§6.2.2, RFC 4959 SASL-IR) ----------------------------------------

    async def _authenticate(self, command: Authenticate) -> StatusResponse | None:
        name = command.auth_type.upper()
        if name not in self.policy.auth_mechanisms:
            # §6.2.2: "If the requested authentication mechanism is not supported, the
            # server SHOULD reject the AUTHENTICATE command by sending a tagged NO".
            return no(command.tag, f"Unsupported authentication mechanism {name}",
                      ResponseCode.CANNOT)
        if name not in self.offered_mechanisms():
            return no(command.tag, f"{name} sends the password in the clear; use TLS first",
                      ResponseCode.PRIVACYREQUIRED)
        # IMAP has no "additional data with success": SCRAM's server-final goes out as
        # one more challenge, answered by an empty line (RFC 4422 §5 item 2b).
        self._mechanism = sasl.server_mechanism(
            name, fake_credentials_key=self.policy.fake_credentials_key)
        self._authenticating = command
        return await self._authenticate_step(self._mechanism.start(command.initial_response))

    async def _authenticate_continue(self, event: AuthenticateResponse) -> None:
        command = self._authenticating
        mechanism = self._mechanism
        assert command is not None and mechanism is not None
        if event.data is None:
            self._mechanism = self._authenticating = None
            # §6.2.2: on "*" "the server MUST reject the AUTHENTICATE command by sending
            # a tagged BAD response".
            self.send(bad(command.tag, "Authentication cancelled"))
            return
        response = await self._authenticate_step(mechanism.respond(event.data))
        if response is not None:
            self.send(self.sendable(response))

    async def _authenticate_step(self, step: sasl.Step) -> StatusResponse | None:
        mechanism, command = self._mechanism, self._authenticating
        assert mechanism is not None and command is not None
        while isinstance(step, sasl.CredentialsRequested):
            stored = await self.store.get_credentials(step.authcid)
            step = await asyncio.to_thread(mechanism.credentials, stored)
        if isinstance(step, sasl.Challenge):
            # §7.6: "+" SP base64 — the server's challenge.
            self.send(Continuation(data=step.data))
            return None
        self._mechanism = self._authenticating = None
        if isinstance(step, sasl.Succeeded):
            step = sasl.authorize_default(step)
        if isinstance(step, sasl.Succeeded):
            account = await self.store.get_account(step.authcid)
            if account is not None:
                return self._logged_in(command.tag, account.address, account)
        log.info("imap.auth-failed", extra=fields(conn=self.peer.connection_id,
                                                  mechanism=command.auth_type.upper()))
        if isinstance(step, sasl.Failed) and step.reason is sasl.FailureReason.MALFORMED:
            return bad(command.tag, f"Authentication failed: {step.message}")
        if isinstance(step, sasl.Failed) and \
                step.reason is sasl.FailureReason.AUTHZID_NOT_PERMITTED:
            return no(command.tag, "Not authorized", ResponseCode.AUTHORIZATIONFAILED)
        if isinstance(step, sasl.Failed) and \
                step.reason is sasl.FailureReason.CREDENTIALS_UNUSABLE:
            return no(command.tag, "Temporary authentication failure",
                      ResponseCode.UNAVAILABLE)
        return no(command.tag, "Authentication failed", ResponseCode.AUTHENTICATIONFAILED)

    # --- IDLE (RFC 2177, §6.3.13) -------------------------------------------------------

    async def _idle(self, command: Idle) -> StatusResponse | None:
        account = self.require_account()
        await self.refresh(command)
        if self.selected is not None:
            self.watcher = await self.store.watch(account.id)
        self._idling = command
        self.send(Continuation("idling"))
        # Anything that changed between the refresh and the watcher's start.
        await self.refresh(command)
        return None

    async def idle_wake(self) -> None:
        """The watcher woke: tell the idling client what changed."""
        if self._idling is not None:
            await self.refresh(self._idling)

    async def _idle_done(self) -> None:
        command = self._idling
        assert command is not None
        self._idling = None
        if self.watcher is not None:
            self.watcher.close()
            self.watcher = None
        await self.refresh(command)
        self.send(ok(command.tag, "IDLE terminated"))


__all__ = ["ImapPolicy", "ImapSession", "Output"]
