"""Reading what an SMTP target stored, to check "acknowledged ⊆ stored" and "nothing
smuggled" (issue 5; DESIGN.md principle 3).

The SMTP executor marks every message it sends with a header field ``X-Fuzz-Id: <token>.<n>``
(``<token>`` is new for every program run) and every command smuggled inside a message with
``X-Fuzz-Smuggled: <token>``. After the program, the mailbox of the recipient is read for
the messages that arrived since the last look:

- an acknowledged id (250 after the data: RFC 5321 §6.1, the server "is accepting
  responsibility for delivering or relaying the message. ... It MUST NOT lose the
  message") must be there: a ``lost`` finding otherwise;
- a refused id (4yz/5yz after the data) must not be (RFC 5321 §4.2.5: "it MUST NOT make
  any subsequent attempt to deliver the message"): ``refused_stored``;
- no message may carry the smuggled mark: ``smuggled`` (CVE-2023-51764/51765/51766).

Mailboxes (``open_mailbox``): ``imap://user:pw@host:port`` (INBOX, read-only) and
``maildir:/path`` (a maildir's new/ and cur/). A target started by name provides its own:
the reference's IMAP account, Postfix's maildir.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from conformance.drivers import DriverError, GrammarViolation
from conformance.drivers.imap import ImapDriver
from conformance.targets import StartedTarget, TargetError, TargetSpec, parse_target
from fuzz.wire.model import FindingKind

ID_FIELD = b"X-Fuzz-Id"
SMUGGLED_FIELD = b"X-Fuzz-Smuggled"
_FIELD = re.compile(rb"^(X-Fuzz-Id|X-Fuzz-Smuggled):[ \t]*([A-Za-z0-9.]+)", re.I | re.M)
_UID = re.compile(rb"\bUID ([0-9]+)")


@dataclass
class Arrivals:
    """The marks found in the messages that arrived since the last look."""

    ids: set[str] = field(default_factory=set)
    smuggled: set[str] = field(default_factory=set)

    def add(self, header: bytes) -> None:
        for name, value in _FIELD.findall(header):
            target = self.ids if name.lower() == ID_FIELD.lower() else self.smuggled
            target.add(value.decode("ascii"))


class Mailbox(Protocol):
    description: str

    def arrivals(self) -> Arrivals:
        """The marks of the messages stored since the previous call (or since opening)."""
        ...


def _header(message: bytes) -> bytes:
    """The header section (RFC 5322 §2.1: up to the first empty line)."""
    end = re.search(rb"\r?\n\r?\n", message)
    return message[:end.start()] if end else message


class ImapMailbox:
    """INBOX of an IMAP account, examined (read-only) on a new connection each look;
    messages are told apart by UID (RFC 9051 §2.3.1.1: strictly ascending)."""

    def __init__(self, spec: TargetSpec, *, timeout: float = 10.0) -> None:
        if not spec.accounts:
            raise TargetError(f"{spec.url}: reading the mailbox needs an account "
                              "(imap://user:password@host:port)")
        self.spec = spec
        self.timeout = timeout
        self.description = f"IMAP INBOX of {spec.accounts[0].user} at {spec.url}"
        self.next_uid: int | None = None
        self.arrivals()                      # the messages already there are not ours

    def arrivals(self) -> Arrivals:
        found = Arrivals()
        driver = ImapDriver.connect(self.spec, timeout=self.timeout)
        try:
            account = self.spec.accounts[0]
            if not driver.login(account.user, account.password).ok:
                raise TargetError(f"{self.spec.url}: LOGIN refused")
            if not driver.examine("INBOX").ok:
                raise TargetError(f"{self.spec.url}: EXAMINE INBOX refused")
            start = self.next_uid or 1
            done = driver.command(f"UID FETCH {start}:* (UID BODY.PEEK[HEADER.FIELDS "
                                  f"({ID_FIELD.decode()} {SMUGGLED_FIELD.decode()})])")
            # RFC 9051 §6.4.9: "n:*" with n past the last UID still returns the last
            # message; only UIDs from ``start`` on are new.
            uids = [int(u) for u in _UID.findall(done.raw)]
            new = [u for u in uids if u >= start]
            if new or self.next_uid is None:
                self.next_uid = max([*new, start - 1]) + 1
            for piece in re.split(rb"\* [0-9]+ FETCH ", done.raw)[1:]:
                match = _UID.search(piece)
                if match and int(match.group(1)) >= start:
                    found.add(piece)
        finally:
            driver.close()
        return found


class MaildirMailbox:
    """A maildir (new/ and cur/, any folder below): each file is one message."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.description = f"maildir {root}"
        self.seen: set[str] = set()
        self.arrivals()

    def arrivals(self) -> Arrivals:
        found = Arrivals()
        for directory, _, files in os.walk(self.root):
            if os.path.basename(directory) not in ("new", "cur"):
                continue
            for name in files:
                # A maildir file keeps its unique part when it moves from new/ to cur/
                # and gets ":2,<flags>" (maildir(5)).
                unique = name.split(":", 1)[0]
                if unique in self.seen:
                    continue
                try:
                    with open(os.path.join(directory, name), "rb") as handle:
                        found.add(_header(handle.read(65536)))
                except OSError:
                    continue                 # moved between listing and reading
                self.seen.add(unique)
        return found


def open_mailbox(text: str, *, timeout: float = 10.0) -> Mailbox:
    """``--mailbox``: imap://user:pw@host:port or maildir:/path."""
    if text.startswith("maildir:"):
        return MaildirMailbox(Path(text.removeprefix("maildir:")))
    spec = parse_target(text)
    if spec.protocol != "imap":
        raise TargetError(f"--mailbox takes imap://user:pw@host:port or maildir:/path, "
                          f"not {text!r}")
    return ImapMailbox(spec, timeout=timeout)


def target_mailbox(started: StartedTarget, *, timeout: float = 10.0) -> Mailbox | None:
    """The mailbox a target started for the run offers: its ``mailbox`` (Postfix's
    maildir), or its IMAP account (the reference)."""
    if started.mailbox:
        return open_mailbox(started.mailbox, timeout=timeout)
    imap = started.specs.get("imap")
    if imap is not None and imap.accounts:
        return ImapMailbox(imap, timeout=timeout)
    return None


@dataclass
class StoreCheck:
    """What one program expects of the mailbox: ids acknowledged and refused (with why
    they must not be stored), the step family that sent a smuggling payload; ``check``
    waits for the acknowledged ids."""

    token: str
    acknowledged: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)
    smuggling: str = ""
    families: dict[str, str] = field(default_factory=dict)   # id -> the step's family

    def needed(self) -> bool:
        return bool(self.acknowledged or self.refused or self.smuggling)

    def check(self, mailbox: Mailbox, wait: float) -> tuple[FindingKind, str, str] | None:
        """(kind, message, step family) when the store breaks a rule, else None. Waits
        up to ``wait`` seconds for acknowledged ids (a queueing server delivers later),
        then judges refused and smuggled ones on what arrived by then."""
        deadline = time.monotonic() + wait
        seen = Arrivals()
        while True:
            try:
                arrived = mailbox.arrivals()
            except (DriverError, GrammarViolation, TargetError, OSError) as exc:
                if not self.acknowledged:
                    return None
                return ("lost", f"the mailbox could not be read to check the acknowledged "
                        f"messages ({mailbox.description}): {exc}",
                        self.families[self.acknowledged[0]])
            seen.ids |= arrived.ids
            seen.smuggled |= arrived.smuggled
            missing = [i for i in self.acknowledged if i not in seen.ids]
            if not missing or time.monotonic() >= deadline:
                break
            time.sleep(0.05)
        if missing:
            return ("lost", f"{len(missing)} of {len(self.acknowledged)} message(s) "
                    f"acknowledged with 250 after the data not in {mailbox.description} "
                    f"after {wait:g} s: {', '.join(missing)} (RFC 5321 §6.1: \"It MUST NOT "
                    "lose the message\")", self.families[missing[0]])
        if self.token in seen.smuggled:
            return ("smuggled", "a message made of the commands smuggled inside another "
                    f"message's data was stored in {mailbox.description} (RFC 5321 "
                    "§4.1.1.4, §2.3.8: only CRLF \".\" CRLF ends the data; SMTP smuggling, "
                    "CVE-2023-51764/51765/51766)", self.smuggling)
        stored = [i for i in self.refused if i in seen.ids]
        if stored:
            return ("refused_stored", f"message(s) refused were stored in "
                    f"{mailbox.description}: " + "; ".join(f"{i} ({self.refused[i]})"
                                                           for i in stored),
                    self.families[stored[0]])
        return None
