"""What every part of the IMAP session shares: its state, its output, the selected view
and how the view learns of the store's changes.

The session (``session.ImapSession``) is split by RFC 9051 §6's sections: this module,
``session_mailboxes`` (§6.3, mailbox commands) and ``session_messages`` (§6.3.12 APPEND
and §6.4, message commands); ``ImapSession`` combines them and adds §6.1/§6.2.
"""

from __future__ import annotations

import logging
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import chain
from typing import Protocol

from reference.directory.policy import PlaintextAuth
from reference.imap.capabilities import Modes
from reference.imap.commands import Command, Fetch, Search, Store
from reference.imap.grammar_values import RECENT, flag_order
from reference.imap.limits import ImapLimits
from reference.imap.mailbox_views import MailboxViews
from reference.imap.response_data import FlagsItem, ModSeqItem, UidItem
from reference.imap.responses import (
    ExistsData,
    ExpungeData,
    FetchData,
    FetchFlagsRun,
    RecentData,
    Response,
    ResponseCode,
    StatusResponse,
    bad,
    no,
)
from reference.imap.selected import SelectedMailbox
from reference.imap.sequence_sets import (
    SequenceSet,
    SequenceSetError,
    resolve_message_numbers,
    uid_positions,
)
from reference.message.mime import MessageLimits
from reference.net.listeners import Peer
from reference.store.interface import (
    UID_ARRAY,
    Account,
    MailboxId,
    MailboxNotFound,
    MailStore,
    ModSeq,
    Uid,
)

log = logging.getLogger("rfcmail.imap")

SEEN = "\\Seen"
DELETED = "\\Deleted"
# Responses sent between two waits for the client to read (see Output.drain).
DRAIN_EVERY = 256
# FETCH responses of flags per FetchFlagsRun (one wait for the client after each).
FLAG_RUN = 2048
_RECENT_SET = frozenset({RECENT})


@dataclass(frozen=True, slots=True)
class ImapPolicy:
    """What one IMAP listener offers."""

    hostname: str
    limits: ImapLimits = field(default_factory=ImapLimits)
    message_limits: MessageLimits = field(default_factory=MessageLimits)
    # STARTTLS is offered (a certificate is configured) on a cleartext listener.
    tls_available: bool = True
    # LOGIN and the PLAIN/LOGIN mechanisms before TLS (RFC 9051 §6.2.3 LOGINDISABLED).
    plaintext_auth: PlaintextAuth = PlaintextAuth.LOOPBACK
    auth_mechanisms: tuple[str, ...] = ("SCRAM-SHA-256", "PLAIN", "LOGIN")
    fake_credentials_key: bytes | None = None
    # RFC 9051 §5.4: an autologout timer after authentication "MUST be at least 30
    # minutes"; before it the server may be stricter.
    autologout: float = 30 * 60.0
    autologout_unauthenticated: float = 120.0
    # Messages of selected mailboxes kept in memory per process for SELECT (see
    # mailbox_views): about 100 bytes each.
    view_cache_messages: int = 500_000


class Output(Protocol):
    """Where the session's responses go: the adapter serializes them through the sans-IO
    core (which checks them and moves the state) and writes them."""

    @property
    def modes(self) -> Modes: ...

    def send(self, response: Response) -> None: ...

    async def drain(self) -> None:
        """Wait while the client is not reading (back-pressure on long FETCHes)."""
        ...


class CommandFailed(Exception):
    """Ends a command with the given tagged response (NO or BAD)."""

    def __init__(self, response: StatusResponse) -> None:
        super().__init__(response.text)
        self.response = response


def failed(tag: str, text: str, code: ResponseCode | None = None) -> CommandFailed:
    return CommandFailed(no(tag, text, code))


class SessionCore:
    """State and helpers shared by the command groups."""

    def __init__(self, store: MailStore, policy: ImapPolicy, peer: Peer, out: Output, *,
                 tls_active: bool = False, views: MailboxViews | None = None) -> None:
        self.store = store
        # The process's shared copies of selected mailboxes (a private one without).
        self.views = views if views is not None else MailboxViews(
            store, policy.view_cache_messages)
        self.policy = policy
        self.peer = peer
        self.out = out
        self.tls_active = tls_active
        self.account: Account | None = None
        self.selected: SelectedMailbox | None = None
        # RFC 9051 §6.4.4.1 (RFC 5182): the saved search result, as UIDs.
        self.saved_result: list[int] = []
        # UIDs whose flag change this session made and reported itself (STORE, FETCH's
        # implicit \\Seen): not reported again as unsolicited FETCH.
        self.own_changes: set[int] = set()
        # The MODSEQs of those writes: the refresh need not read their messages back.
        self.own_modseqs: set[int] = set()

    # --- output ---------------------------------------------------------------------

    @property
    def rev2(self) -> bool:
        return self.out.modes.rev2

    def send(self, response: Response) -> None:
        self.out.send(response)

    def require_account(self) -> Account:
        assert self.account is not None, "the state table admits this only after login"
        return self.account

    def require_selected(self) -> SelectedMailbox:
        assert self.selected is not None, "the state table admits this only when selected"
        return self.selected

    # --- the selected view and the store's changes ------------------------------------

    async def refresh(self, command: Command | None) -> None:
        """Learn what changed in the selected mailbox since the view was read and tell
        the client what may be told now (RFC 9051 §7.5.1: no EXPUNGE "while responding
        to a FETCH, STORE, or SEARCH command", the UID forms excepted)."""
        view = self.selected
        if view is None:
            return
        # Every change to a mailbox raises its HIGHESTMODSEQ (RFC 7162 §3.1.2.1): one
        # point lookup tells whether there is anything to read.
        current = await self.store.get_mailbox_by_id(MailboxId(view.mailbox_id))
        if current is not None and self._only_own_changes_since(view.highest_modseq,
                                                                current.highest_modseq):
            # Nothing to read: the view has what this session's own writes did (a
            # write's MODSEQ is its own, RFC 7162 §3.1), not what the others did.
            view.note_changes((), (), current.highest_modseq)
            self.own_changes.clear()
            self.own_modseqs.clear()
            self.send_updates(command)
            return
        try:
            changes = await self.store.mailbox_changes(
                MailboxId(view.mailbox_id), ModSeq(view.highest_modseq),
                excluding=[ModSeq(modseq) for modseq in self.own_modseqs])
        except MailboxNotFound:
            changes = None
        newest = view.max_uid
        if changes is None:
            # Deleted or renamed away by another session: every message is gone.
            view.note_changes((), list(view.uids), view.highest_modseq)
        else:
            view.note_changes(changes.changed,
                              [int(uid) for uid in changes.expunged],
                              int(changes.mailbox.highest_modseq),
                              report_own=self.own_changes)
            if not self.rev2 and view.max_uid > newest:
                await self.claim_recent(view)
        self.own_changes.clear()
        self.own_modseqs.clear()
        self.send_updates(command)

    def _only_own_changes_since(self, known: int, current: int) -> bool:
        """Whether every MODSEQ after ``known`` up to ``current`` (the mailbox's
        HIGHESTMODSEQ, RFC 7162 §3.1.2.1) is one of this session's own writes, whose
        outcome the view has already: each write takes a MODSEQ of its own from the
        account's counter, so any other write to the mailbox would be one of the others
        (a STORE on 1,000 messages then costs no read of its 1,000 rows back)."""
        return current - known <= len(self.own_modseqs) and all(
            modseq in self.own_modseqs for modseq in range(known + 1, current + 1))

    async def claim_recent(self, view: SelectedMailbox) -> None:
        """RFC 3501 §2.3.2 \\Recent (IMAP4rev1 sessions): a read-write session is the
        first to learn of these; EXAMINE only looks (RFC 3501 §6.3.2)."""
        recent = await self.store.claim_recent(MailboxId(view.mailbox_id),
                                               claim=not view.read_only)
        view.mark_recent(uid for uid in recent if view.msn(uid) is not None)

    def send_updates(self, command: Command | None) -> None:
        view = self.selected
        if view is None:
            return
        expunges_allowed = command is not None and not (
            isinstance(command, Fetch | Store | Search) and not command.uid)
        updates = view.take_updates(expunges_allowed=expunges_allowed)
        for msn in updates.expunged_msns:
            self.send(ExpungeData(msn))
        if updates.exists is not None:
            self.send(ExistsData(updates.exists))
        if updates.recent is not None and not self.rev2:
            self.send(RecentData(updates.recent))
        if self.out.modes.condstore:
            for change in updates.flag_changes:
                self.send(FetchData(change.msn, self.flag_items(
                    view, change.uid, change.flags, change.modseq)))
        elif updates.flag_changes:
            # The UID goes with the flags: clients that track messages by UID need it,
            # and RFC 9051 §7.5.2 allows any item in a FETCH.
            self.send(self.flag_run([(change.msn, change.uid, change.flags)
                                     for change in updates.flag_changes], with_uid=True))

    def flag_run(self, rows: Sequence[tuple[int, int, frozenset[str]]], *, with_uid: bool
                 ) -> FetchFlagsRun:
        """FETCH responses of ``(msn, uid, flags)`` rows, \\Recent added where it
        applies (RFC 3501 §2.3.2, IMAP4rev1 sessions only)."""
        view = self.require_selected()
        recent = view.recent
        if recent and not self.rev2:
            rows = [(msn, uid, flags | _RECENT_SET if uid in recent else flags)
                    for msn, uid, flags in rows]
        return FetchFlagsRun(tuple(rows), with_uid)

    async def send_flags(self, rows: Sequence[tuple[int, int, frozenset[str]]], *,
                         with_uid: bool) -> None:
        """STORE's answer or a FETCH of flags, in runs, waiting for the client to read
        between them (a FETCH 1:* (FLAGS) of 100,000 messages is not held at once)."""
        for start in range(0, len(rows), FLAG_RUN):
            self.send(self.flag_run(rows[start:start + FLAG_RUN], with_uid=with_uid))
            await self.out.drain()

    def flag_items(self, view: SelectedMailbox, uid: int, flags: frozenset[str],
                   modseq: int = 0) -> tuple[UidItem | FlagsItem | ModSeqItem, ...]:
        """An unsolicited FETCH of flags. The UID goes with it: clients that track
        messages by UID need it, and RFC 9051 §7.5.2 allows any item in a FETCH."""
        shown = flags | {RECENT} if (not self.rev2 and uid in view.recent) else flags
        items: tuple[UidItem | FlagsItem | ModSeqItem, ...] = (
            UidItem(uid), FlagsItem(flag_order(shown)))
        if modseq and self.out.modes.condstore:
            items += (ModSeqItem(modseq),)
        return items

    # --- naming messages --------------------------------------------------------------

    def target_msns(self, tag: str, sequence_set: SequenceSet, *, uid: bool
                    ) -> Sequence[int]:
        """The message sequence numbers a command's sequence set names, ascending: a
        range when they follow each other (the usual "1:*" or "a:b"), else an array
        (``UID_ARRAY``, they are 32-bit too). Not a list: "1:*" of 100,000 messages was
        100,000 int objects at once, and the interpreter's arenas stayed 3 MiB larger
        after them; a range is also walked faster than an array.

        UID sets ignore UIDs not in the mailbox (RFC 9051 §6.4.9); message numbers
        beyond the count are a BAD (§9 seq-number). "$" is the saved result (§6.4.4.1:
        "If the server ... has not saved a search result, "$" ... refers to an empty
        set"). Ghosts (expunged, not yet reported) are included; callers skip them.
        """
        view = self.require_selected()
        if sequence_set.last_result:
            msns = (view.msn(uid_) for uid_ in self.saved_result)
            return sorted(msn for msn in msns if msn is not None)
        try:
            ranges = list(uid_positions(sequence_set, view.uids, view.max_uid + 1)) \
                if uid else [range(low, high + 1) for low, high in resolve_message_numbers(
                    sequence_set, view.exists).pairs]
        except SequenceSetError as error:
            raise CommandFailed(bad(tag, str(error))) from error
        if len(ranges) <= 1:
            return ranges[0] if ranges else range(0)
        return array(UID_ARRAY, chain.from_iterable(ranges))

    def target_uids(self, msns: Iterable[int]) -> list[Uid]:
        """The UIDs of those messages that are not ghosts."""
        view = self.require_selected()
        uids = view.uids
        found = [Uid(uids[msn - 1]) for msn in msns]
        if view.has_ghosts:
            found = [uid for uid in found if not view.is_ghost(uid)]
        return found

