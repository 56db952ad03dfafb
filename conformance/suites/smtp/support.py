"""Helpers of the SMTP suite: strict reply assertions with messages that say what the RFC
wanted and what came, known messages, the "in step" check, and reading delivered
messages back through IMAP (then deleting them) when the target also offers IMAP.

Nothing here knows a particular server: addresses come from the target's accounts and
domain, extensions from its EHLO reply.
"""

from __future__ import annotations

import contextlib
import re
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import pytest

from conformance.drivers import DriverError
from conformance.drivers.imap import Completion, ImapDriver, listed_numbers, quote
from conformance.drivers.smtp import Reply, SmtpDriver
from conformance.targets import Account, TargetSpec
from conformance.verdicts import SetupFailed
from reference.imap.response_data import (
    BodySectionItem,
    EsearchData,
    FetchData,
    SearchData,
    UidItem,
)

# How long a test waits for something the target does on its own (a delivery to show up
# in IMAP, a close after 221): bounded, never forever.
WAIT = 10.0
# A sender outside every test target's domains, with a mixed-case local part (RFC 5321
# §2.4: "SMTP implementations MUST take care to preserve the case of mailbox local-parts").
SENDER = "Conformance.Sender@example.com"
# A recipient in a domain no test target serves (RFC 2606 §3 reserves example.net).
FOREIGN_RECIPIENT = "conformance-relay-check@example.net"

# RFC 5321 §4.1.2: sub-domain = Let-dig [Ldh-str]; Domain = sub-domain *("." sub-domain);
# address-literal = "[" ( IPv4-address-literal / IPv6-address-literal /
# General-address-literal ) "]"
_DOMAIN = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
_ADDRESS_LITERAL = r"\[[\x21-\x5a\x5e-\x7e]+\]"
DOMAIN_OR_LITERAL = re.compile(rf"(?:{_DOMAIN}|{_ADDRESS_LITERAL})")
# RFC 3463 §2: status-code = class "." subject "." detail; class = "2"/"4"/"5";
# subject = 1*3digit; detail = 1*3digit. RFC 2034 §4: it prefaces the text and "is
# always followed by one or more spaces" (or ends an otherwise empty line).
ENHANCED_CODE = re.compile(r"([245])\.([0-9]{1,3})\.([0-9]{1,3})(?: +|$)")


# observe(key, value): the plugin's fixture that records an informational finding.
Observe = Callable[[str, object], None]


# --- replies -----------------------------------------------------------------------------


def expect(reply: Reply, *codes: int, what: str) -> Reply:
    """Assert that ``reply`` has one of ``codes``; the message shows the reply."""
    wanted = " or ".join(str(code) for code in codes)
    assert reply.code in codes, f"{what}: expected {wanted}, got {reply}"
    return reply


def expect_positive(reply: Reply, what: str) -> Reply:
    """Assert a 2yz reply (RFC 5321 §4.2.1: "Positive Completion reply")."""
    assert 200 <= reply.code < 300, f"{what}: expected a 2yz reply, got {reply}"
    return reply


def expect_refusal(reply: Reply, what: str) -> Reply:
    """Assert a 4yz or 5yz reply (RFC 5321 §4.2.1)."""
    assert reply.code >= 400, f"{what}: expected a 4yz or 5yz refusal, got {reply}"
    return reply


def enhanced_code(line: str) -> str | None:
    """The RFC 3463 status code that prefaces one reply line's text, or None."""
    match = ENHANCED_CODE.match(line)
    return ".".join(match.groups()) if match else None


def in_step(smtp: SmtpDriver, what: str) -> None:
    """Send QUIT and assert that the very next reply is its 221.

    RFC 5321 §4.2: "Every command MUST generate exactly one reply." A server that took
    one command for two (or read part of some data as a command) has replies queued that
    QUIT's reply would come after; one that swallowed a command has one reply too few,
    and waits. Either way the next reply read is not 221, or none comes.
    """
    smtp.send(b"QUIT\r\n")
    try:
        reply = smtp.read_reply()
    except DriverError as exc:
        raise AssertionError(f"{what}: no 221 reply to QUIT ({exc}); the server is out of "
                             "step with the commands sent") from None
    assert reply.code == 221, (
        f"{what}: the reply read after QUIT is {reply}, not its 221: the server answered "
        "more (or fewer) commands than were sent")


def ehlo(smtp: SmtpDriver, name: str = "conformance.test") -> Reply:
    """EHLO as a precondition (not what the test checks): anything but 250 is an ERROR."""
    reply = smtp.ehlo(name)
    if reply.code != 250:
        raise SetupFailed(f"EHLO {name} answered {reply}")
    return reply


def open_transaction(smtp: SmtpDriver, recipient: str, *, sender: str = SENDER,
                     mail_parameters: str = "") -> None:
    """EHLO, MAIL and one RCPT, each asserted positive (preconditions of the test)."""
    ehlo(smtp)
    reply = smtp.mail_from(sender, mail_parameters)
    if reply.code != 250:
        raise SetupFailed(f"MAIL FROM:<{sender}> {mail_parameters} answered {reply}")
    reply = smtp.rcpt_to(recipient)
    if reply.code not in (250, 251):
        raise SetupFailed(f"RCPT TO:<{recipient}> answered {reply}")


def unsupported(why: str) -> None:
    """Skip as UNSUPPORTED: the target does not offer what the test needs."""
    pytest.skip(f"UNSUPPORTED: {why}")


# --- messages ----------------------------------------------------------------------------


@dataclass(frozen=True)
class KnownMessage:
    """A message this suite sends, findable by its Message-ID."""

    token: str
    raw: bytes

    @property
    def message_id(self) -> str:
        return f"<{self.token}@conformance.test>"


def known_message(recipient: str, *, subject: str = "conformance test",
                  body: bytes = b"Hello.\r\n", headers: Iterable[bytes] = ()) -> KnownMessage:
    """A well-formed RFC 5322 message with a unique Message-ID; ``body`` in CRLF lines."""
    token = f"smtp-{uuid.uuid4().hex}"
    head = [b"From: Conformance <" + SENDER.encode() + b">",
            b"To: <" + recipient.encode() + b">",
            b"Subject: " + subject.encode(),
            b"Date: Mon, 02 Mar 2026 10:00:00 +0000",
            b"Message-ID: <" + token.encode() + b"@conformance.test>",
            *headers]
    return KnownMessage(token, b"\r\n".join(head) + b"\r\n\r\n" + body)


def prepended_fields(stored: bytes, sent: bytes) -> list[bytes]:
    """The header fields the server put before the message it received, asserting that
    the stored message is exactly those fields followed by the message as sent."""
    assert stored.endswith(sent), (
        "the stored message does not end with the message as sent (RFC 5321 §4.5.2, "
        f"§4.4: fields are only prepended).\nsent:   {sent[:300]!r}\nstored: "
        f"{stored[-len(sent) - 100:][:400]!r}")
    prefix = stored[: len(stored) - len(sent)]
    assert not prefix or prefix.endswith(b"\r\n"), f"the stored prefix {prefix!r} is not lines"
    fields: list[bytes] = []
    for line in prefix.split(b"\r\n")[:-1]:
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += b"\r\n" + line              # RFC 5322 §2.2.3 folding
        else:
            assert re.match(rb"[\x21-\x39\x3b-\x7e]+:", line), (
                f"the server put {line!r} before the message: not a header field")
            fields.append(line)
    return fields


# --- reading back through IMAP -------------------------------------------------------------


@dataclass
class Mailstore:
    """Delivered messages read back from the first account's INBOX over IMAP (when the
    target offers IMAP), and deleted after the test (provisioning through the protocol:
    the suite cleans up after itself)."""

    spec: TargetSpec | None
    timeout: float
    expected: list[str] = field(default_factory=list)
    _imap: ImapDriver | None = None

    @property
    def available(self) -> bool:
        return self.spec is not None and bool(self.spec.accounts)

    def expect(self, message: KnownMessage) -> None:
        """Remember a message that may be delivered, to delete it after the test."""
        self.expected.append(message.token)

    def fetch(self, message: KnownMessage, *, wait: float = WAIT) -> bytes | None:
        """The stored bytes of ``message`` (BODY.PEEK[]), waiting up to ``wait`` seconds
        for the delivery to show; None when it does not."""
        self.expect(message)
        deadline = time.monotonic() + wait
        while True:
            uids = self._search(message.token)
            if uids:
                imap = self._session()
                done = _ok(imap.command(f"UID FETCH {uids[0]} BODY.PEEK[]"), "UID FETCH")
                for data in done.of_type(FetchData):
                    item = data.item(BodySectionItem)
                    if isinstance(item, BodySectionItem) and item.data is not None:
                        return item.data
                raise AssertionError(f"UID FETCH {uids[0]} BODY.PEEK[] returned no body: "
                                     f"{done}")
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.2)

    def cleanup(self) -> None:
        """Delete every expected message that arrived; close the IMAP connection."""
        try:
            if self.expected and self.available:
                uids = [uid for token in self.expected for uid in self._search(token)]
                if uids:
                    imap = self._session()
                    uid_set = ",".join(str(uid) for uid in uids)
                    _ok(imap.command(f"UID STORE {uid_set} +FLAGS.SILENT (\\Deleted)"),
                        "UID STORE")
                    # RFC 4315 §2.1 UID EXPUNGE removes only these; without UIDPLUS a
                    # plain EXPUNGE also removes what others flagged \Deleted.
                    verb = "UID EXPUNGE " + uid_set if "UIDPLUS" in imap.capabilities \
                        else "EXPUNGE"
                    _ok(imap.command(verb), verb.split(" ")[0])
        finally:
            if self._imap is not None:
                with contextlib.suppress(DriverError, AssertionError):
                    self._imap.logout()
                self._imap.close()
                self._imap = None

    def _session(self) -> ImapDriver:
        if self._imap is None:
            assert self.spec is not None and self.spec.accounts
            account: Account = self.spec.accounts[0]
            imap = ImapDriver.connect(self.spec, self.timeout)
            self._imap = imap
            if not imap.login(account.user, account.password).ok:
                raise SetupFailed(f"IMAP LOGIN as {account.user} failed")
            if not imap.select("INBOX").ok:
                raise SetupFailed("IMAP SELECT INBOX failed")
        return self._imap

    def _search(self, token: str) -> list[int]:
        imap = self._session()
        done = _ok(imap.command(f"UID SEARCH HEADER Message-ID {quote(token)}"), "UID SEARCH")
        uids: list[int] = []
        for search in done.of_type(SearchData):
            uids.extend(search.numbers)
        for esearch in done.of_type(EsearchData):
            if esearch.all is not None:
                uids.extend(listed_numbers(esearch.all, "ESEARCH ALL"))
        for data in done.of_type(FetchData):     # not expected; harmless
            item = data.item(UidItem)
            if isinstance(item, UidItem):
                uids.append(item.uid)
        return sorted(set(uids))


def _ok(done: Completion, what: str) -> Completion:
    if not done.ok:
        raise SetupFailed(f"IMAP {what} failed: {done}")
    return done


def stored_copy(mailstore: Mailstore, message: KnownMessage, observe: Observe) -> bytes | None:
    """The stored bytes of an accepted message, or None (recorded) without IMAP. A
    message acknowledged with 250 that never shows up is a FAIL: RFC 5321 §2.1, "the
    protocol requires that a server MUST accept responsibility for either delivering the
    message or properly reporting the failure to do so"."""
    if not mailstore.available:
        observe("stored copy", "not checked: the target offers no IMAP to read it back")
        return None
    stored = mailstore.fetch(message)
    assert stored is not None, (
        f"the message {message.message_id} was accepted with 250 but is not in the first "
        "account's INBOX")
    return stored


def check_stored_as_sent(mailstore: Mailstore, message: KnownMessage,
                         observe: Observe) -> None:
    """With IMAP: the accepted ``message`` is stored as sent, behind trace fields only
    (RFC 5321 §4.4, §4.5.2); without, that it was not checked is recorded."""
    stored = stored_copy(mailstore, message, observe)
    if stored is not None:
        prepended_fields(stored, message.raw)


def sibling_spec(request: pytest.FixtureRequest, key: str) -> TargetSpec | None:
    """Another listener of the same target ("imap", "submission"), when the run started a
    named target that offers it (``--target reference``); None otherwise."""
    from conformance.plugin import _RUN  # the plugin keeps the run there

    run = request.config.stash.get(_RUN, None)
    if run is None or run.started is None:
        return None
    return run.started.spec(key)


@contextlib.contextmanager
def mailstore_for(request: pytest.FixtureRequest, timeout: float) -> Iterator[Mailstore]:
    store = Mailstore(sibling_spec(request, "imap"), timeout)
    try:
        yield store
    finally:
        store.cleanup()
