"""The SMTP session: policy and effects, one reply per event; no sockets.

Implementation notes
- Three listener roles (``Role``): ``MX`` takes mail for local domains from anyone and
  refuses relaying (550 5.7.1); ``SUBMISSION`` (RFC 6409) requires AUTH before MAIL
  (§4.3, 530 5.7.0) and checks the sender against the authenticated account (§6.1,
  550 5.7.1); ``SUBMISSIONS`` is submission over implicit TLS (RFC 8314 §3.3).
- Recipients are resolved at RCPT time, so an unknown user gets 550 5.1.1 at once and
  nothing is accepted that cannot be delivered. This server delivers locally only: a
  non-local recipient is refused with 550 5.7.1 (relaying denied) or, for an
  authenticated submitter, 550 5.7.1 naming the missing outbound route; it is never
  accepted and then lost.
- The 250 after the data is sent only once the store has committed the message for
  every recipient in one durable transaction (DESIGN.md: nothing acknowledged before it
  is durable). A store failure gives 451 4.3.0; the client keeps the message.
- Trace fields (RFC 5321 §4.4): Return-Path and one Received field are prepended; the
  received bytes are never rewritten otherwise.
"""

from __future__ import annotations

import asyncio
import datetime
import email.utils
import functools
import itertools
import logging
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum

from reference.delivery.indexing import new_message
from reference.delivery.local import LocalDelivery, Recipient
from reference.directory import sasl
from reference.directory.policy import PlaintextAuth
from reference.limits import SmtpLimits
from reference.logs import fields
from reference.net.listeners import Peer
from reference.smtp.commands import (
    Auth,
    AuthResponse,
    Bdat,
    BodyType,
    Data,
    Ehlo,
    Event,
    Expn,
    Helo,
    Help,
    Mailbox,
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
from reference.smtp.extensions import Extension
from reference.smtp.grammar import encode_base64, write_path
from reference.smtp.replies import Reply, Status, reply
from reference.store.interface import (
    Account,
    Delivery,
    Envelope,
    MailStore,
    StoreError,
)

log = logging.getLogger("rfcmail.smtp")


class Role(Enum):
    MX = "smtp"                    # port 25 style: local delivery, no relay
    SUBMISSION = "submission"      # RFC 6409, STARTTLS
    SUBMISSIONS = "submissions"    # RFC 8314 §3.3, implicit TLS


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    hostname: str
    role: Role
    limits: SmtpLimits
    tls_available: bool
    plaintext_auth: PlaintextAuth = PlaintextAuth.LOOPBACK
    auth_mechanisms: tuple[str, ...] = ("SCRAM-SHA-256", "PLAIN", "LOGIN")
    # Keys the made-up SCRAM salt of unknown users; the same in every worker and across
    # restarts, so an unknown user cannot be told from a real one by a changing salt.
    fake_credentials_key: bytes | None = None

    def __post_init__(self) -> None:
        # RFC 4422 §3.1: mechanism names are compared as upper case
        object.__setattr__(self, "auth_mechanisms",
                           tuple(name.upper() for name in self.auth_mechanisms))


@dataclass(slots=True)
class Transaction:
    """RFC 5321 §3.3: what MAIL and RCPT established, until the data ends or RSET."""

    mail: MailFrom
    recipients: list[tuple[RcptTo, list[Recipient]]] = field(default_factory=list)
    chunks: int = 0


# Replies that never change, built (and validated) once.
START_MAIL_INPUT = reply(354, None, "Start mail input; end with <CRLF>.<CRLF>")
RESET = reply(250, Status.UNDEFINED, "Reset state")
NOOP_OK = reply(250, Status.UNDEFINED, "OK")
READY_FOR_TLS = reply(220, Status.UNDEFINED, "Ready to start TLS")
# RFC 5321 §3.5.3: "252 Cannot VRFY user, but will accept message and attempt delivery";
# we do not disclose which addresses exist.
CANNOT_VRFY = reply(252, Status.UNDEFINED,
                    "Cannot VRFY user, but will accept message and attempt delivery")
# RFC 5321 §3.5.2: EXPN "may be disabled"; 502 says it is not offered.
NO_EXPN = reply(502, Status.INVALID_COMMAND, "EXPN is not available")
HELP = reply(214, Status.UNDEFINED,
             "Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS AUTH",
             "See RFC 5321 and https://www.rfc-editor.org/rfc/rfc5321")


@functools.lru_cache(maxsize=16)
def _closing(hostname: str) -> Reply:
    return reply(221, Status.UNDEFINED, f"{hostname} Service closing transmission channel")


class SmtpSession:
    def __init__(self, *, store: MailStore, delivery: LocalDelivery, policy: SessionPolicy,
                 peer: Peer) -> None:
        self.store = store
        self.delivery = delivery
        self.policy = policy
        self.peer = peer
        self.helo: str | None = None
        self.esmtp = False
        self.tls: str | None = None           # set by tls_established (either TLS kind)
        self.account: Account | None = None
        self.transaction: Transaction | None = None
        self._mechanism: sasl.ServerMechanism | None = None

    # --- lifecycle ---------------------------------------------------------------------

    def greeting(self) -> Reply:
        # RFC 5321 §4.3.1 / §4.2: "220 <domain> Service ready"; ESMTP in the text tells
        # the client that EHLO is understood.
        return reply(220, None, f"{self.policy.hostname} ESMTP rfcmail ready")

    def tls_established(self, description: str | None) -> None:
        """RFC 3207 §4.2: the server "MUST discard any knowledge obtained from the
        client ... which was not obtained from the TLS negotiation itself"."""
        self.tls = description or "TLS"
        self.helo = None
        self.esmtp = False
        self.account = None
        self.transaction = None
        self._mechanism = None

    def shutting_down(self) -> Reply:
        # RFC 5321 §3.8: "421 <domain> Service not available, closing transmission
        # channel"; 4.3.2 "System not accepting network messages"
        return reply(421, Status.SYSTEM_NOT_ACCEPTING,
                     f"{self.policy.hostname} Service shutting down, closing channel")

    def timed_out(self) -> Reply:
        return reply(421, Status.NETWORK_OTHER,
                     f"{self.policy.hostname} Timeout waiting for the client, closing channel")

    # --- events ------------------------------------------------------------------------

    async def handle(self, event: Event) -> Reply:
        match event:
            case Ehlo(domain=domain):
                return self._ehlo(domain)
            case Helo(domain=domain):
                self._reset(helo=domain, esmtp=False)
                return reply(250, None, f"{self.policy.hostname} Hello {domain}")
            case MailFrom():
                return await self._mail(event)
            case RcptTo():
                return await self._rcpt(event)
            case Data():
                return START_MAIL_INPUT
            case Bdat(chunk_size=size):
                assert self.transaction is not None
                self.transaction.chunks += 1
                return reply(250, Status.UNDEFINED, f"{size} octets received")
            case MessageReceived(content=content):
                return await self._deliver(content)
            case MessageRejected(reply=refusal):
                self._log_refused(refusal)
                self.transaction = None
                return refusal
            case Rset():
                self.transaction = None
                return RESET
            case Vrfy():
                return CANNOT_VRFY
            case Expn():
                return NO_EXPN
            case Help():
                return HELP
            case Noop():
                return NOOP_OK
            case Quit():
                return _closing(self.policy.hostname)
            case StartTls():
                return READY_FOR_TLS
            case Auth():
                return await self._auth_start(event)
            case AuthResponse(data=data):
                return await self._auth_continue(data)
        raise AssertionError(f"unhandled SMTP event {event!r}")

    # --- EHLO --------------------------------------------------------------------------

    def _ehlo(self, domain: str) -> Reply:
        self._reset(helo=domain, esmtp=True)
        limits = self.policy.limits
        lines = [f"{self.policy.hostname} Hello {domain} [{self.peer.address}]",
                 Extension.PIPELINING.value,
                 f"{Extension.SIZE.value} {limits.message_size}",
                 Extension.EIGHT_BIT_MIME.value,
                 Extension.SMTPUTF8.value,
                 Extension.ENHANCEDSTATUSCODES.value,
                 Extension.CHUNKING.value,
                 Extension.DSN.value]
        # RFC 3207 §4.2: "A server MUST NOT return the STARTTLS extension in response to
        # an EHLO command received after a TLS handshake has completed."
        if self.policy.tls_available and self.tls is None:
            lines.append(Extension.STARTTLS.value)
        mechanisms = self._offered_mechanisms()
        # Still listed once authenticated: RFC 4954 §4 "After a successful AUTH command
        # completes, a server MUST reject any further AUTH commands with a 503 reply", and
        # the core answers AUTH that the last EHLO did not announce with 502.
        if mechanisms:
            lines.append(f"{Extension.AUTH.value} {' '.join(mechanisms)}")
        lines.append(Extension.HELP.value)
        return Reply(250, None, tuple(lines))

    def _offered_mechanisms(self) -> list[str]:
        plaintext_ok = self.policy.plaintext_auth.permits(tls_active=self.tls is not None,
                                                          loopback=self.peer.loopback)
        return [name for name in self.policy.auth_mechanisms
                if plaintext_ok or name not in sasl.PLAINTEXT_MECHANISMS]

    def _reset(self, *, helo: str, esmtp: bool) -> None:
        # RFC 5321 §4.1.4: EHLO/HELO "...it is equivalent to a RSET"
        self.helo = helo
        self.esmtp = esmtp
        self.transaction = None

    # --- MAIL / RCPT -------------------------------------------------------------------

    async def _mail(self, command: MailFrom) -> Reply:
        submission = self.policy.role is not Role.MX
        if submission and self.account is None:
            # RFC 6409 §4.3: "The MSA MUST, by default, issue an error response to the
            # MAIL command if the session has not been authenticated"; "Reply code 530"
            return reply(530, Status.SECURITY_OTHER, "Authentication required")
        sender = command.reverse_path
        # RFC 6409 §3.2: a null return path "MUST NOT, in itself, be cause for rejecting a
        # message"; §6.1: other senders must belong to the authenticated account.
        if (submission and sender is not None and self.account is not None
                and not await self.delivery.may_send_as(self.account, _address(sender))):
            return reply(550, Status.DELIVERY_NOT_AUTHORIZED,
                             f"Sender {_in_reply(sender)} is not an address of "
                             f"{self.account.address}")
        self.transaction = Transaction(command)
        return reply(250, Status.UNDEFINED, f"Sender {_in_reply(sender)} OK")

    async def _rcpt(self, command: RcptTo) -> Reply:
        transaction = self.transaction
        assert transaction is not None      # the core enforces the recipient limit
        path = command.forward_path
        domain = path.domain
        if domain is None:
            # RFC 5321 §4.1.1.3: "<Postmaster>" without a domain is this host's
            # postmaster, which §4.5.1 says every receiving server MUST support.
            recipients = await self.delivery.resolve_postmaster()
            if not recipients:
                return reply(451, Status.SYSTEM_MISCONFIGURED,
                             "No postmaster is configured yet; try again later")
            transaction.recipients.append((command, recipients))
            return reply(250, Status.DESTINATION_VALID, "Recipient <Postmaster> OK")
        if not await self.delivery.is_local_domain(domain):
            if self.account is None:
                return reply(550, Status.DELIVERY_NOT_AUTHORIZED,
                             f"Relaying denied for {_in_reply(path)}")
            return reply(550, Status.DELIVERY_NOT_AUTHORIZED,
                         f"No outbound route for {_in_reply(path)}: this server delivers "
                         "to local domains only")
        recipients = await self.delivery.resolve(path.local_part, domain)
        if not recipients:
            return reply(550, Status.BAD_DESTINATION_MAILBOX,
                         f"No such user here: {_in_reply(path)}")
        transaction.recipients.append((command, recipients))
        return reply(250, Status.DESTINATION_VALID, f"Recipient {_in_reply(path)} OK")

    # --- the message -------------------------------------------------------------------

    async def _deliver(self, content: bytes) -> Reply:
        transaction = self.transaction
        self.transaction = None
        assert transaction is not None and transaction.recipients
        queue_id = next(_queue_ids)
        raw = self._trace_fields(transaction, queue_id) + content
        deliveries = self._deliveries(transaction)
        message = new_message(raw, _now(), deliveries)
        try:
            await self.store.store_message(message)
        except (StoreError, OSError) as exc:
            log.error("smtp.store-failed", extra=fields(
                conn=self.peer.connection_id, queue_id=queue_id, error=str(exc)))
            # RFC 5321 §4.2.3: "451 Requested action aborted: local error in processing"
            return reply(451, Status.SYSTEM_OTHER,
                         "Local error in processing; message not accepted, try again later")
        # One info line per message (connections are logged at debug): a log line costs
        # about as much CPU as the rest of a small message's SMTP exchange.
        log.info("smtp.delivered", extra=fields(
            conn=self.peer.connection_id, client=self.peer.address, queue_id=queue_id,
            size=len(raw),
            sender=transaction.mail.reverse_path or "<>",
            recipients=len(deliveries)))
        return reply(250, Status.UNDEFINED, f"Message accepted for delivery, id {queue_id}")

    def _deliveries(self, transaction: Transaction) -> list[Delivery]:
        mail = transaction.mail
        deliveries: dict[int, Delivery] = {}
        for command, recipients in transaction.recipients:
            for recipient in recipients:
                if recipient.account_id in deliveries:
                    continue       # one copy per account, even if several RCPTs reach it
                envelope = Envelope(
                    mail_from=_address(mail.reverse_path) if mail.reverse_path else "",
                    recipient=_address(command.forward_path),
                    original_recipient=(f"{command.orcpt.addr_type};{command.orcpt.address}"
                                        if command.orcpt else None),
                    notify=tuple(sorted(n.value for n in command.notify or ())),
                    ret=mail.ret.value if mail.ret else None,
                    envid=mail.envid,
                    body=mail.body.value if mail.body else None,
                    smtputf8=mail.smtputf8,
                    helo=self.helo,
                    client_address=self.peer.address,
                    authenticated_as=self.account.address if self.account else None)
                deliveries[recipient.account_id] = Delivery(recipient.account_id,
                                                            envelope=envelope)
        return list(deliveries.values())

    def _trace_fields(self, transaction: Transaction, queue_id: str) -> bytes:
        """RFC 5321 §4.4: Return-Path at final delivery, and a Received time stamp line.

        Time-stamp-line = "Received:" FWS Stamp <CRLF>
        Stamp = From-domain By-domain Opt-info [CFWS] ";" FWS date-time
        """
        mail = transaction.mail
        # "When the delivery SMTP server makes the "final delivery" of a message, it
        # inserts a return-path line at the beginning of the mail data."
        return_path = write_path(mail.reverse_path)
        # RFC 3848 / RFC 6531 §3.7.3: the WITH protocol names SMTP variants.
        protocol = ("UTF8SMTP" if mail.smtputf8 else "ESMTP" if self.esmtp else "SMTP")
        if self.esmtp or mail.smtputf8:
            protocol += ("S" if self.tls else "") + ("A" if self.account else "")
        peer = f"[{self.peer.address}]" if ":" not in self.peer.address \
            else f"[IPv6:{self.peer.address}]"
        tls_comment = f" ({self.tls})" if self.tls else ""
        # RFC 5321 §4.4: FOR names the recipient only when there is exactly one, so one
        # stored copy serves every recipient of the transaction.
        recipients = [command.forward_path for command, _ in transaction.recipients]
        for_clause = f"\r\n\tfor {write_path(recipients[0])}" if len(recipients) == 1 else ""
        received = (f"Received: from {self.helo or 'unknown'} ({peer})\r\n"
                    f"\tby {self.policy.hostname} with {protocol}{tls_comment} id {queue_id}"
                    f"{for_clause};\r\n\t{email.utils.format_datetime(_now())}\r\n")
        return f"Return-Path: {return_path}\r\n{received}".encode()

    def _log_refused(self, refusal: Reply) -> None:
        log.info("smtp.message-refused", extra=fields(
            conn=self.peer.connection_id, code=refusal.code, reason=refusal.text))

    # --- AUTH (RFC 4954) ---------------------------------------------------------------

    async def _auth_start(self, command: Auth) -> Reply:
        if command.mechanism not in self.policy.auth_mechanisms:
            # RFC 4954 §4: "504 reply ... SHOULD return a 5.5.4 enhanced response code"
            return reply(504, Status.INVALID_ARGUMENTS,
                         f"Unrecognized authentication mechanism {command.mechanism}")
        if command.mechanism not in self._offered_mechanisms():
            # RFC 4954 §6: "538 5.7.11 Encryption required for requested authentication
            # mechanism"
            return reply(538, Status.ENCRYPTION_REQUIRED,
                         "Encryption required for requested authentication mechanism")
        self._mechanism = sasl.server_mechanism(
            command.mechanism, fake_credentials_key=self.policy.fake_credentials_key)
        return await self._auth_step(self._mechanism.start(command.initial_response))

    async def _auth_continue(self, data: bytes | None) -> Reply:
        mechanism = self._mechanism
        if mechanism is None:
            return reply(501, Status.SYNTAX_ERROR, "No authentication exchange in progress")
        if data is None:
            self._mechanism = None
            # RFC 4954 §4: on "*" the server "MUST reject the AUTH command by sending a
            # 501 reply"
            return reply(501, Status.SYNTAX_ERROR, "Authentication cancelled")
        return await self._auth_step(mechanism.respond(data))

    async def _auth_step(self, step: sasl.Step) -> Reply:
        mechanism = self._mechanism
        assert mechanism is not None
        while isinstance(step, sasl.CredentialsRequested):
            stored = await self.store.get_credentials(step.authcid)
            # PLAIN and LOGIN recompute PBKDF2 (thousands of HMACs): off the event loop.
            step = await asyncio.to_thread(mechanism.credentials, stored)
        if isinstance(step, sasl.Challenge):
            # RFC 4954 §4: "A server challenge is sent as a 334 reply with the text part
            # containing the [BASE64] encoded string"
            return reply(334, None, encode_base64(step.data))
        self._mechanism = None
        if isinstance(step, sasl.Succeeded):
            # RFC 4616 §2: the server verifies "that the authentication credentials permit
            # the client to act as the (presented or derived) authorization identity";
            # here a user may act only as itself (RFC 4422 §3.4.1).
            step = sasl.authorize_default(step)
        if isinstance(step, sasl.Succeeded):
            account = await self.store.get_account(step.authcid)
            if account is not None:
                self.account = account
                log.info("smtp.authenticated", extra=fields(
                    conn=self.peer.connection_id, user=account.address))
                return reply(235, Status.SECURITY_OTHER, "Authentication succeeded")
        log.info("smtp.auth-failed", extra=fields(conn=self.peer.connection_id,
                                                  reason=getattr(step, "message", "")))
        if isinstance(step, sasl.Failed) and step.reason is sasl.FailureReason.MALFORMED:
            return reply(501, Status.SYNTAX_ERROR, f"Authentication failed: {step.message}")
        if isinstance(step, sasl.Failed) and step.reason is sasl.FailureReason.CREDENTIALS_UNUSABLE:
            # RFC 4954 §6: "454 4.7.0 Temporary authentication failure"
            return reply(454, Status.SECURITY_OTHER, "Temporary authentication failure")
        # RFC 4954 §6: "535 5.7.8 Authentication credentials invalid"
        return reply(535, Status.AUTH_CREDENTIALS_INVALID, "Authentication credentials invalid")


def _queue_id_generator() -> Iterator[str]:
    """Short ids for logs and the Received field, unique across processes and restarts:
    a random per-process prefix and a counter (cheaper than randomness per message)."""
    prefix = secrets.token_hex(4)
    for number in itertools.count(1):
        yield f"{prefix}{number:06x}"


_queue_ids = _queue_id_generator()


def _in_reply(path: Mailbox | None) -> str:
    """A path as a reply text names it. RFC 6531 §3.7.4.2: servers "MUST NOT include
    non-ASCII characters in replies except in the limited cases specifically permitted"
    (an address with 251 or 551), so a UTF-8 mailbox is not echoed."""
    text = write_path(path)
    return text if text.isascii() else "(a UTF-8 mailbox)"


def _address(mailbox: Mailbox) -> str:
    return f"{mailbox.local_part}@{mailbox.domain}" if mailbox.domain else mailbox.local_part


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


__all__ = ["BodyType", "Peer", "PlaintextAuth", "Role", "SessionPolicy", "SmtpSession"]
