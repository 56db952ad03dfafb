"""Helpers of the IMAP suite: reading typed responses out of a ``Completion``, strict
assertions with messages that say what the RFC wanted and what came, and provisioning
through the protocol (scratch mailboxes in the personal namespace, known messages
APPENDed into them).

Nothing here knows a particular server: names come from NAMESPACE (or LIST "" ""),
UIDs from APPENDUID or FETCH, capabilities from what the target advertises.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

import pytest

from conformance.drivers.imap import Completion, ImapDriver, listed_numbers, quote
from conformance.suites.imap.messages import KnownMessage
from reference.imap.grammar_fetch import Section
from reference.imap.response_data import (
    BodySectionItem,
    BodyStructureItem,
    CapabilityData,
    EnvelopeItem,
    FlagsItem,
    InternalDateItem,
    Rfc822Item,
    Rfc822SizeItem,
    UidItem,
)
from reference.imap.responses import (
    Condition,
    Continuation,
    EsearchData,
    ExistsData,
    ExpungeData,
    FetchData,
    ListData,
    NamespaceData,
    Response,
    ResponseCode,
    SearchData,
    StatusData,
    StatusResponse,
)
from reference.imap.sequence_sets import SequenceSet
from reference.imap.values import Value

T = TypeVar("T")
Factory = Callable[[], ImapDriver]

# How long a test waits for something the target does on its own (an EXISTS during
# IDLE, a close after BYE): bounded, never forever.
WAIT = 10.0
SYSTEM_FLAGS = ("\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft")


# --- reading a Completion ----------------------------------------------------------------


def show(done: Completion | StatusResponse) -> str:
    """A tagged status as the wire had it, for assertion messages."""
    status = done.tagged if isinstance(done, Completion) else done
    code = ""
    if status.code is not None:
        name = status.code.value if isinstance(status.code, ResponseCode) else status.code
        code = f"[{name}] "
    return f"{status.condition.value} {code}{status.text}".strip()


def capabilities_now(driver: ImapDriver) -> frozenset[str]:
    """What a CAPABILITY command lists now (upper case): capabilities change with the
    state (RFC 9051 §6.2.3), so a test compares them by asking again."""
    done = expect_ok(driver.capability(), "CAPABILITY")
    return frozenset(c.upper() for data in done.of_type(CapabilityData)
                     for c in data.capabilities)


def expect_ok(done: Completion, what: str) -> Completion:
    assert done.tagged.condition is Condition.OK, (
        f"{what}: expected a tagged OK, got {show(done)!r}")
    return done


def expect_refused(done: Completion, what: str) -> Completion:
    """A tagged NO or BAD (RFC 9051 §3: "the server will respond with a BAD or NO")."""
    assert done.tagged.condition in (Condition.NO, Condition.BAD), (
        f"{what}: expected a tagged NO or BAD, got {show(done)!r}")
    return done


def expect_no(done: Completion, what: str) -> Completion:
    assert done.tagged.condition is Condition.NO, (
        f"{what}: expected a tagged NO, got {show(done)!r}")
    return done


def expect_bad(done: Completion, what: str) -> Completion:
    assert done.tagged.condition is Condition.BAD, (
        f"{what}: expected a tagged BAD, got {show(done)!r}")
    return done


def code_of(status: StatusResponse) -> str | None:
    if status.code is None:
        return None
    return status.code.value if isinstance(status.code, ResponseCode) else status.code.upper()


def untagged_codes(done: Completion) -> dict[str, StatusResponse]:
    """Untagged OK/NO/BAD responses with a response code, by code name."""
    found: dict[str, StatusResponse] = {}
    for response in done.of_type(StatusResponse):
        name = code_of(response)
        if response.tag is None and name is not None:
            found.setdefault(name, response)
    return found


def only(items: Sequence[T], what: str) -> T:
    assert len(items) == 1, f"expected exactly one {what}, got {len(items)}: {items!r}"
    return items[0]


def completed(driver: ImapDriver, tag: str, tagged: StatusResponse,
              untagged: list[Response]) -> Completion:
    """A Completion for a command whose responses the test read itself with
    ``read_response`` (AUTHENTICATE, IDLE); reading the tagged response has retired the
    tag in the driver."""
    assert tag not in driver.in_flight, f"{tag} is still in flight"
    return Completion(tagged, untagged, b"")


# --- FETCH --------------------------------------------------------------------------------


def section_name(section: Section) -> str:
    """A section's canonical text: "", "1.MIME", "HEADER.FIELDS (FROM SUBJECT)"..."""
    text = ".".join(str(n) for n in section.part)
    if section.text is not None:
        text = f"{text}.{section.text.value}" if text else section.text.value
    if section.header_fields:
        text += " (" + " ".join(f.upper() for f in section.header_fields) + ")"
    return text


@dataclass
class Fetched:
    """Every FETCH item a command returned for one message (several FETCH responses for
    one message are merged, later items winning, as a client would remember them)."""

    msn: int
    flags: frozenset[str] | None = None
    uid: int | None = None
    internal_date: datetime | None = None
    size: int | None = None
    envelope: Value = None
    bodystructure: Value = None
    body: Value = None               # non-extensible BODY
    sections: dict[str, tuple[bytes | None, int | None]] = field(default_factory=dict)
    rfc822: dict[str, bytes | None] = field(default_factory=dict)
    names: list[str] = field(default_factory=list)

    def section(self, name: str) -> bytes | None:
        assert name in self.sections, (
            f"message {self.msn}: the FETCH response has no BODY[{name}] item "
            f"(items: {', '.join(self.names)})")
        return self.sections[name][0]


def fetched(done: Completion) -> dict[int, Fetched]:
    """The FETCH responses of a command by message sequence number."""
    out: dict[int, Fetched] = {}
    for data in done.of_type(FetchData):
        view = out.setdefault(data.msn, Fetched(data.msn))
        for item in data.items:
            if isinstance(item, FlagsItem):
                view.flags = frozenset(item.flags)
                view.names.append("FLAGS")
            elif isinstance(item, UidItem):
                view.uid = item.uid
                view.names.append("UID")
            elif isinstance(item, InternalDateItem):
                view.internal_date = item.internal_date
                view.names.append("INTERNALDATE")
            elif isinstance(item, Rfc822SizeItem):
                view.size = item.size
                view.names.append("RFC822.SIZE")
            elif isinstance(item, EnvelopeItem):
                view.envelope = item.envelope
                view.names.append("ENVELOPE")
            elif isinstance(item, BodyStructureItem):
                if item.extensible:
                    view.bodystructure = item.body
                    view.names.append("BODYSTRUCTURE")
                else:
                    view.body = item.body
                    view.names.append("BODY")
            elif isinstance(item, BodySectionItem):
                name = section_name(item.section)
                view.sections[name] = (item.data, item.origin)
                origin = f"<{item.origin}>" if item.origin is not None else ""
                view.names.append(f"BODY[{name}]{origin}")
            elif isinstance(item, Rfc822Item):
                view.rfc822[item.name.upper()] = item.data
                view.names.append(item.name.upper())
            else:
                view.names.append(type(item).__name__)
    return out


def one_fetch(done: Completion, msn: int) -> Fetched:
    views = fetched(done)
    assert msn in views, (
        f"expected a FETCH response for message {msn}, got FETCH responses for "
        f"{sorted(views) or 'no message'}")
    return views[msn]


def without_recent(flags: Iterable[str]) -> frozenset[str]:
    """\\Recent is RFC 3501's session flag (deprecated by RFC 9051 §2.3.2): a rev1 server
    may add it to any FETCH FLAGS, so flag comparisons leave it out."""
    return frozenset(f for f in flags if f.upper() != "\\RECENT")


def flag_set(flags: Iterable[str]) -> frozenset[str]:
    """Flags compared as RFC 9051 §9 has them: system flags case-insensitively."""
    return frozenset(f.upper() if f.startswith("\\") else f for f in without_recent(flags))


# --- SEARCH / ESEARCH -----------------------------------------------------------------


def numbers_of(sequence_set: SequenceSet | None) -> set[int]:
    if sequence_set is None:
        return set()
    return set(listed_numbers(sequence_set, "a result set"))


def search_result(done: Completion, what: str) -> set[int]:
    """The numbers a SEARCH found: from its one ESEARCH (RFC 9051 §7.3.4, RFC 4731) or
    SEARCH (RFC 3501 §7.2.5) response, whichever the client's mode makes the server send."""
    expect_ok(done, what)
    esearch = done.of_type(EsearchData)
    search = done.of_type(SearchData)
    assert len(esearch) + len(search) == 1, (
        f"{what}: expected one ESEARCH or SEARCH response, got {len(esearch)} ESEARCH and "
        f"{len(search)} SEARCH")
    if esearch:
        return numbers_of(esearch[0].all)
    return set(search[0].numbers)


# --- mailboxes --------------------------------------------------------------------------


def status_values(driver: ImapDriver, mailbox: str, items: str) -> dict[str, int | None]:
    done = expect_ok(driver.command(f"STATUS {quote(mailbox)} ({items})"),
                     f"STATUS {mailbox} ({items})")
    data = [s for s in done.of_type(StatusData) if s.mailbox == mailbox]
    response = only(data, f"STATUS response for {mailbox!r} (RFC 9051 §6.3.11 REQUIRED)")
    return {att.value: value for att, value in response.attributes}


def list_names(driver: ImapDriver, reference: str, pattern: str) -> dict[str, ListData]:
    done = expect_ok(driver.command(f"LIST {quote(reference)} {quote(pattern)}"),
                     f'LIST "{reference}" "{pattern}"')
    return {item.mailbox: item for item in done.of_type(ListData)}


def exists_in(driver: ImapDriver, name: str) -> bool:
    return name in list_names(driver, "", name)


@dataclass(frozen=True)
class Namespace:
    prefix: str
    delimiter: str | None


def personal_namespace(driver: ImapDriver) -> Namespace:
    """Where this account may create mailboxes: the first personal namespace (RFC 9051
    §6.3.10: "just use the first Personal Namespace"), else the root of LIST "" ""."""
    if "NAMESPACE" in driver.capabilities or "IMAP4REV2" in driver.capabilities:
        done = driver.command("NAMESPACE")
        found = done.of_type(NamespaceData)
        if done.ok and found and found[0].personal:
            first = found[0].personal[0]
            return Namespace(first.prefix, first.delimiter)
    done = expect_ok(driver.command('LIST "" ""'), 'LIST "" "" (the hierarchy delimiter)')
    listed = done.of_type(ListData)
    delimiter = listed[0].delimiter if listed else None
    return Namespace("", delimiter)


class Scratch:
    """Mailboxes a test creates, each deleted (children first) when the test ends."""

    def __init__(self, factory: Factory) -> None:
        """``factory()`` gives a new connection, logged in, for the clean-up."""
        self._factory = factory
        self._names: list[str] = []
        self._namespace: Namespace | None = None

    def namespace(self, driver: ImapDriver) -> Namespace:
        if self._namespace is None:
            self._namespace = personal_namespace(driver)
        return self._namespace

    def name(self, driver: ImapDriver, label: str = "box") -> str:
        """A fresh name in the personal namespace (not created); removed at the end if
        the test creates it."""
        namespace = self.namespace(driver)
        name = f"{namespace.prefix}conformance-{label}-{uuid.uuid4().hex[:10]}"
        self._names.append(name)
        return name

    def child(self, driver: ImapDriver, parent: str, label: str) -> str:
        delimiter = self.namespace(driver).delimiter
        if delimiter is None:
            pytest.skip("the target's mailbox names are flat (LIST \"\" \"\" gave a NIL "
                        "delimiter): no hierarchy to test")
        name = f"{parent}{delimiter}{label}"
        self._names.append(name)
        return name

    def create(self, driver: ImapDriver, label: str = "box") -> str:
        name = self.name(driver, label)
        expect_ok(driver.create(name), f"CREATE {name} (provisioning a scratch mailbox)")
        return name

    def track(self, name: str) -> None:
        self._names.append(name)

    def cleanup(self) -> None:
        if not self._names:
            return
        with contextlib.suppress(Exception):
            driver = self._factory()
            try:
                doomed: set[str] = set()
                for name in self._names:
                    doomed.add(name)
                    doomed.update(list_names(driver, "", name + "*"))
                # Children before parents: DELETE never removes inferiors (§6.3.5).
                for name in sorted(doomed, key=len, reverse=True):
                    driver.delete(name)
                driver.logout()
            finally:
                driver.close()


@dataclass
class Loaded:
    """A scratch mailbox holding known messages, selected in ``driver``."""

    driver: ImapDriver
    name: str
    messages: list[KnownMessage | bytes]
    uids: list[int]
    uidvalidity: int
    select: Completion

    def raw(self, msn: int) -> bytes:
        message = self.messages[msn - 1]
        return message.raw if isinstance(message, KnownMessage) else message


def append_uid(done: Completion) -> int | None:
    """The UID of an APPENDUID response code (RFC 4315 §3, RFC 9051 §7.1), if any."""
    if done.tagged.code is ResponseCode.APPENDUID:
        data = done.tagged.code_data
        uids = (listed_numbers(data.uids, "APPENDUID")    # type: ignore[union-attr]
                if data is not None else [])
        return uids[0] if len(uids) == 1 else None
    return None


def load(driver: ImapDriver, name: str,
         messages: Sequence[tuple[KnownMessage | bytes, Sequence[str]]], *,
         examine: bool = False) -> Loaded:
    """APPEND ``messages`` (with their flags; a KnownMessage with its internal date) to
    ``name``, then SELECT (or EXAMINE) it and learn the UIDs."""
    for message, flags in messages:
        if isinstance(message, KnownMessage):
            done = driver.append(name, message.raw, flags=flags,
                                 date_time=message.internal_date)
        else:
            done = driver.append(name, message, flags=flags)
        expect_ok(done, f"APPEND to {name} (provisioning known messages)")
    select = driver.examine(name) if examine else driver.select(name)
    expect_ok(select, f"{'EXAMINE' if examine else 'SELECT'} {name}")
    uidvalidity = select_code(select, "UIDVALIDITY")
    assert isinstance(uidvalidity, int), "no UIDVALIDITY at SELECT"
    uids: list[int] = []
    if messages:
        done = expect_ok(driver.command("FETCH 1:* (UID)"), "FETCH 1:* (UID)")
        views = fetched(done)
        uids = [views[n].uid or 0 for n in sorted(views)]
    return Loaded(driver, name, [m for m, _ in messages], uids, uidvalidity, select)


def select_code(done: Completion, name: str) -> object:
    """The data of response code ``name`` sent with a SELECT/EXAMINE (untagged OK), or
    None when absent."""
    codes = untagged_codes(done)
    if name in codes:
        return codes[name].code_data
    if code_of(done.tagged) == name:
        return done.tagged.code_data
    return None


def exists_count(done: Completion) -> int | None:
    counts = done.of_type(ExistsData)
    return counts[-1].count if counts else None


def expunged(done: Completion) -> list[int]:
    return [r.msn for r in done.of_type(ExpungeData)]


def apply_expunges(uids: list[int], msns: Iterable[int]) -> list[int]:
    """The UIDs left after a series of EXPUNGE responses, each renumbering the rest at
    once (RFC 9051 §7.5.1)."""
    left = list(uids)
    for msn in msns:
        assert 1 <= msn <= len(left), (
            f"EXPUNGE {msn} names no message: the mailbox has {len(left)} at that point "
            "(RFC 9051 §7.5.1: each EXPUNGE decrements the numbers of those after it)")
        del left[msn - 1]
    return left


# --- waiting for unsolicited responses -------------------------------------------------


def read_until(driver: ImapDriver, wanted: Callable[[Response], bool], *,
               timeout: float = WAIT) -> tuple[list[Response], bool]:
    """Responses read (outside any command, e.g. during IDLE) until one satisfies
    ``wanted`` or ``timeout`` seconds pass: (responses, found)."""
    seen: list[Response] = []
    deadline = time.monotonic() + timeout
    saved = driver.wire.sock.gettimeout()
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return seen, False
            driver.wire.sock.settimeout(left)
            try:
                response = driver.read_response()
            except TimeoutError:
                return seen, False
            seen.append(response)
            if wanted(response):
                return seen, True
    finally:
        driver.wire.sock.settimeout(saved)


def idle_start(driver: ImapDriver) -> str:
    """IDLE (RFC 2177, RFC 9051 §6.3.13) up to the server's "+"; returns the tag."""
    tag, early = driver.start("IDLE")
    assert early is None, f"IDLE refused: {show(early)}"
    responses, found = read_until(driver, lambda r: isinstance(r, Continuation) or (
        isinstance(r, StatusResponse) and r.tag == tag))
    assert found, 'no "+" continuation request within {WAIT:g} s after IDLE'
    last = responses[-1]
    assert isinstance(last, Continuation), (
        f'IDLE: expected a "+" continuation request, got the tagged {show(last)!r}'
        if isinstance(last, StatusResponse) else f"IDLE: unexpected {last!r}")
    return tag


def idle_done(driver: ImapDriver, tag: str) -> Completion:
    driver.send(b"DONE\r\n")
    return driver.finish(tag)


def uids_of(loaded: Loaded) -> str:
    return ",".join(str(uid) for uid in loaded.uids)


def iter_pairs(values: Value) -> Iterator[tuple[str, Value]]:
    """("NAME" value "NAME" value ...) as pairs, names upper-cased."""
    if values is None:
        return
    assert isinstance(values, tuple) and len(values) % 2 == 0, (
        f"a parameter list must hold attribute/value pairs, got {values!r}")
    for index in range(0, len(values), 2):
        name = values[index]
        assert isinstance(name, str), f"parameter name {name!r} is not a string"
        yield name.upper(), values[index + 1]
