"""RFC 9051 §6.3.12 APPEND and §6.4 (selected state): the message commands of the
IMAP session.

Before FETCH, STORE and SEARCH the view is brought up to date (without EXPUNGE, §7.5.1)
so that what they report is the store's present state; every command ends with the
updates it may carry (``SessionCore.refresh``). Ghosts, messages expunged by another
session and not yet reported, keep their numbers: FETCH and STORE naming one by number
end with ``NO [EXPUNGEISSUED]`` (RFC 2180 §4.1.2, §4.2.1), the UID forms ignore it
(§6.4.9: "A non-existent unique identifier is ignored").
"""

from __future__ import annotations

import asyncio
from array import array
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import NamedTuple

from reference.delivery.indexing import new_message
from reference.imap.commands import (
    Append,
    AppendMessage,
    Copy,
    Expunge,
    Fetch,
    Move,
    Search,
    SearchReturnOption,
    Store,
    StoreAction,
)
from reference.imap.fetch import FetchError, FetchPlan, FetchSource, fetch_items, plan_fetch
from reference.imap.grammar_fetch import FetchAttName, SimpleAtt
from reference.imap.grammar_search import SearchKey
from reference.imap.grammar_values import RECENT
from reference.imap.response_data import UidItem
from reference.imap.responses import (
    AppendUid,
    Condition,
    CopyUid,
    FetchData,
    ResponseCode,
    StatusResponse,
    bad,
    no,
    ok,
)
from reference.imap.search import (
    SearchContext,
    SearchMatch,
    SearchSubject,
    check_sequence_numbers,
    fts_substrings,
    matches,
    search_needs_message,
    search_needs_text,
    search_response,
    text_checks,
)
from reference.imap.sequence_sets import Intervals, SequenceSet, SequenceSetError
from reference.imap.session_core import DRAIN_EVERY, FLAG_RUN, SEEN, SessionCore
from reference.message.headers import scan_header
from reference.message.mime import parse_message
from reference.message.model import ParsedMessage
from reference.message.text import SearchText
from reference.store.interface import (
    UID_ARRAY,
    Delivery,
    MailboxEntry,
    MailboxId,
    MailboxNotFound,
    MessageContent,
    MessageId,
    NewMessage,
    StoreError,
    Uid,
)

_SEEN = frozenset({SEEN})
class Loaded(NamedTuple):
    """A message as FETCH or SEARCH reads it (``content_batches``)."""

    entry: MailboxEntry
    raw: bytes | None
    parsed: ParsedMessage | None
    text: SearchText | None


# Octets of message content FETCH and SEARCH read from the store at once.
CONTENT_BATCH = 4 << 20
# FETCH items the selected view answers by itself, without reading the store.
_VIEW_ITEMS = frozenset({SimpleAtt(FetchAttName.UID), SimpleAtt(FetchAttName.FLAGS)})
# SEARCH charsets (RFC 9051 §6.4.4: "US-ASCII MUST be supported"; UTF-8 is what the
# parser decodes strings as).
SEARCH_CHARSETS = ("US-ASCII", "UTF-8")


def _cancelled(command: Append) -> bool:
    """RFC 3502 §6.3.11: "A zero-length message literal argument is an error, and MUST
    return a NO. This can be used to cancel the append." """
    return any(not message.message for message in command.messages)


class MessageCommands(SessionCore):
    """APPEND and the selected-state commands; ``ImapSession`` dispatches to these."""

    # An APPEND parsed ahead (``prepare_append``), with its messages.
    _prepared_append: tuple[Append, list[NewMessage] | None] | None = None

    # --- APPEND (§6.3.12, RFC 3502 MULTIAPPEND, RFC 4315 APPENDUID) -----------------

    async def prepare_append(self, command: Append) -> None:
        """The CPU half of APPEND, done ahead: every message parsed and indexed, nothing
        stored. The connection calls it for an APPEND it has read while the command
        before it is still being stored (``ImapProtocol``), so that the parsing overlaps
        that command's COMMIT; ``append`` then takes the messages from here. Commands are
        still executed one at a time, in the order sent (RFC 9051 §5.5). The event loop
        gets a turn after each message: the store's writer runs the other command's
        job at the first, and hands its index and COMMIT to its helper thread."""
        messages: list[NewMessage] | None = None
        if not _cancelled(command):
            messages = []
            for message in command.messages:
                messages.append(self._new_message(command, message))
                await asyncio.sleep(0)
        self._prepared_append = (command, messages)

    def _new_messages(self, command: Append) -> list[NewMessage] | None:
        """The messages ``command`` stores, parsed; None when it is cancelled."""
        if _cancelled(command):
            return None
        return [self._new_message(command, message) for message in command.messages]

    def _new_message(self, command: Append, message: AppendMessage) -> NewMessage:
        flags = set(message.flags or ())
        # RFC 3501 §2.3.2: "\Recent ... cannot be altered by the client"; RFC 9051 has
        # no \Recent at all.
        flags.discard(RECENT)
        delivery = Delivery(self.require_account().id, command.mailbox,
                            keywords=frozenset(flags),
                            # §6.3.12: "MUST NOT automatically create the mailbox"
                            fallback_to_inbox=False)
        return new_message(message.message, message.date_time or datetime.now(UTC),
                           [delivery], limits=self.policy.message_limits)

    async def append(self, command: Append) -> StatusResponse:
        prepared, self._prepared_append = self._prepared_append, None
        messages = (prepared[1] if prepared is not None and prepared[0] is command
                    else self._new_messages(command))
        if messages is None:
            # RFC 3502 §6.3.11: "A zero-length message literal argument is an error, and
            # MUST return a NO. This can be used to cancel the append." Nothing stored.
            return no(command.tag, "APPEND cancelled: a message is empty")
        try:
            delivered = await self.store.store_messages(messages)
        except MailboxNotFound:
            # §6.3.12: "the server MUST send the response code "[TRYCREATE]""
            return no(command.tag, f"No mailbox named {command.mailbox!r}",
                      ResponseCode.TRYCREATE)
        except StoreError as error:
            return no(command.tag, f"APPEND failed: {error}", ResponseCode.CANNOT)
        first = delivered[0][0]
        # RFC 4315 §3 / RFC 9051 §7.1 APPENDUID; MULTIAPPEND gives a set (RFC 4315 §4).
        code_data = AppendUid(first.uid_validity,
                              SequenceSet.from_numbers(d[0].uid for d in delivered))
        if self.selected is not None and self.selected.mailbox_id == first.mailbox_id:
            # §6.3.12: "the server SHOULD notify the client immediately via an untagged
            # EXISTS response".
            await self.refresh(command)
        return ok(command.tag, "APPEND completed", ResponseCode.APPENDUID, code_data)

    # --- EXPUNGE / UID EXPUNGE (§6.4.3, RFC 4315 §2.1) --------------------------------

    async def expunge(self, command: Expunge) -> StatusResponse:
        view = self.require_selected()
        if view.read_only:
            return no(command.tag, "The mailbox is read-only", ResponseCode.READ_ONLY)
        uids = None
        if command.sequence_set is not None:
            uids = self.target_uids(self.target_msns(command.tag, command.sequence_set,
                                                     uid=True))
        await self.store.expunge(MailboxId(view.mailbox_id), uids)
        await self.refresh(command)          # the EXPUNGE responses, others' included
        return ok(command.tag, "EXPUNGE completed")

    # --- SEARCH (§6.4.4, RFC 4731 ESEARCH, RFC 5182 SEARCHRES) ------------------------

    async def search(self, command: Search) -> StatusResponse:
        response = await self.search_and_answer(command)
        if response.condition is not Condition.OK and \
                SearchReturnOption.SAVE in (command.return_options or ()):
            # RFC 9051 §6.4.4.1 (RFC 5182 §2.1): "A SEARCH command with the SAVE result
            # option that caused the server to return NO or BAD sets the value of the
            # search result variable to the empty sequence."
            self.saved_result = []
        return response

    async def search_and_answer(self, command: Search) -> StatusResponse:
        view = self.require_selected()
        if command.charset is not None and command.charset.upper() not in SEARCH_CHARSETS:
            # §6.4.4: "If the server does not support the specified [CHARSET], it MUST
            # return a tagged NO response (not a BAD)"; with BADCHARSET listing them.
            return no(command.tag, f"Unsupported charset {command.charset}",
                      ResponseCode.BADCHARSET, SEARCH_CHARSETS)
        await self.refresh(command)
        try:
            check_sequence_numbers(command.keys, view.exists)
        except SequenceSetError as error:
            return bad(command.tag, str(error))
        # An array, copied (the view may change while the search awaits the store): not
        # an int object per message at once (the interpreter's arenas stayed larger).
        live = array(UID_ARRAY, (uid for uid in view.uids if not view.is_ghost(uid))
                     ) if view.has_ghosts else array(UID_ARRAY, view.uids)
        context = SearchContext(view.exists, view.max_uid, Intervals.of(self.saved_result))
        # (UIDs, the keys they must still match): all of them, or split in two below.
        groups: list[tuple[Sequence[int], Sequence[SearchKey]]] = [(live, command.keys)]
        checks = text_checks(command.keys)
        exact = None
        if (checks.body or checks.text) and live:
            # The top-level BODY/TEXT keys are checked exactly by the store, on the texts
            # it keeps (§6.4.4 substring rules; the index narrows first); messages stored
            # without text are checked here against every key.
            exact = await self.store.search_texts_containing(
                MailboxId(view.mailbox_id), checks.body, checks.text)
        if exact is not None:
            matched, unchecked = exact
            groups = [(array(UID_ARRAY, (uid for uid in live if uid in matched)),
                       checks.rest),
                      (array(UID_ARRAY, (uid for uid in live if uid in unchecked)),
                       command.keys)]
        elif (substrings := fts_substrings(command.keys)) and live:
            # The index narrows; the exact match below decides (§6.4.4 substring rules).
            candidates = await self.store.search_candidates(MailboxId(view.mailbox_id),
                                                            substrings)
            if candidates is not None:
                groups = [(array(UID_ARRAY, (uid for uid in live if uid in candidates)),
                           command.keys)]
        found: list[SearchMatch] = []
        for uids, keys in groups:
            if not keys:
                # Nothing left to check (the store matched the text keys): no reads. A
                # MODSEQ key would be in ``keys``, so the match's MODSEQ is not used.
                found.extend(SearchMatch(msn, uid, 0) for uid in uids
                             if (msn := view.msn(uid)) is not None)
                continue
            found.extend(await self.search_among(uids, keys, context))
        found.sort(key=lambda match: match.msn)
        outcome = search_response(command, found, rev2=self.rev2)
        if outcome.saved_uids is not None:
            self.saved_result = list(outcome.saved_uids)
        for response in outcome.responses:
            self.send(response)
        return ok(command.tag, "SEARCH completed")

    async def search_among(self, uids: Sequence[int], keys: Sequence[SearchKey],
                           context: SearchContext) -> list[SearchMatch]:
        """The messages of ``uids`` that match ``keys``, read as the keys need (BODY/TEXT
        from the texts stored at delivery, where there are any)."""
        view = self.require_selected()
        found: list[SearchMatch] = []
        # (Also with no UIDs: a mailbox deleted meanwhile is then MailboxNotFound.)
        entries = await self.store.mailbox_entries(MailboxId(view.mailbox_id),
                                                   [Uid(uid) for uid in uids])
        async for batch in self.content_batches(entries, contents=search_needs_message(keys),
                                                texts=search_needs_text(keys)):
            for entry, raw, parsed, text in batch:
                uid = int(entry.uid)
                msn = view.msn(uid)
                if msn is None:
                    continue
                known = view.flags_of(uid)
                subject = SearchSubject(
                    msn=msn, uid=uid, flags=known if known is not None else entry.flags,
                    modseq=int(entry.modseq), size=entry.size,
                    internal_date=entry.internal_date, recent=uid in view.recent,
                    raw=raw, parsed=parsed, stored_text=text)
                if matches(keys, subject, context):
                    found.append(SearchMatch(msn, uid, int(entry.modseq)))
            await self.out.drain()
        return found

    async def content_batches(self, entries: list[MailboxEntry], *, contents: bool,
                              texts: bool = False, parse: bool = True,
                              read_already: dict[MessageId, MessageContent] | None = None,
                              headers_only: bool = False) -> AsyncIterator[list[Loaded]]:
        """The entries in batches, in order: at most DRAIN_EVERY entries and about
        CONTENT_BATCH octets of content each, so memory stays bounded whatever the
        count. With ``contents`` each gets its message's bytes and parsed form (stored
        beside the bytes; parsed now for a message stored without it). With ``texts``
        each gets its stored search texts, and its bytes only when none are stored (they
        are then made from the message). With ``parse`` false the contents are the bytes
        alone (``Loaded.parsed`` is None). ``read_already``: the contents of all the
        entries, read with them (``MailStore.mailbox_contents``). ``headers_only``: the
        bytes read are the messages' header sections alone (``MailStore.
        message_contents``), with no parsed form. A message expunged meanwhile is left
        out."""
        start = 0
        while start < len(entries):
            end, octets = start, 0
            while end < len(entries) and end - start < DRAIN_EVERY and (
                    end == start or not contents or octets < CONTENT_BATCH):
                octets += entries[end].size
                end += 1
            batch = entries[start:end]
            start = end
            stored = await self.store.message_texts(
                [entry.message_id for entry in batch]) if texts else {}
            wanted = [entry.message_id for entry in batch
                      if contents or (texts and entry.message_id not in stored)]
            if read_already is not None:
                read = read_already
            elif wanted:
                read = await self.store.message_contents(wanted, structure=parse,
                                                         headers_only=headers_only)
            else:
                read = {}
            loaded: list[Loaded] = []
            for entry in batch:
                text = stored.get(entry.message_id)
                if not (contents or (texts and text is None)):
                    loaded.append(Loaded(entry, None, None, text))
                    continue
                content = read.get(entry.message_id)
                if content is None:
                    continue
                raw, structure = content
                parsed = (None if not parse
                          else ParsedMessage.from_json(structure) if structure is not None
                          else parse_message(raw, self.policy.message_limits))
                loaded.append(Loaded(entry, raw, parsed, text))
            yield loaded

    # --- FETCH (§6.4.5) ----------------------------------------------------------------

    async def fetch(self, command: Fetch) -> StatusResponse:
        view = self.require_selected()
        if command.changedsince is not None or command.vanished:
            return bad(command.tag, "CHANGEDSINCE and VANISHED need CONDSTORE/QRESYNC, "
                                    "which this server does not offer")
        await self.refresh(command)
        msns = self.target_msns(command.tag, command.sequence_set, uid=command.uid)
        plan = plan_fetch(command.items, uid_command=command.uid, modseq=False)
        ghosts = [msn for msn in msns if view.is_ghost(view.uid_at(msn))] \
            if view.has_ghosts else []
        live = [msn for msn in msns if not view.is_ghost(view.uid_at(msn))] \
            if ghosts else msns
        if set(plan.atts) <= _VIEW_ITEMS:
            await self.fetch_from_view(plan, live)
        else:
            try:
                await self.fetch_from_store(plan, live,
                                            sets_seen=plan.sets_seen and not view.read_only)
            except FetchError as error:
                return no(command.tag, error.text, error.code)
        if ghosts and not command.uid:
            return no(command.tag, "Some of the requested messages were expunged",
                      ResponseCode.EXPUNGEISSUED)
        return ok(command.tag, "FETCH completed")

    async def fetch_from_view(self, plan: FetchPlan, msns: Sequence[int]) -> None:
        """UID and FLAGS: the view knows them (the FETCH (UID FLAGS) of a resync)."""
        view = self.require_selected()
        uids = view.uids
        if SimpleAtt(FetchAttName.FLAGS) not in plan.atts:      # UID alone
            for count, msn in enumerate(msns, 1):
                self.send(FetchData(msn, (UidItem(uids[msn - 1]),)))
                if count % DRAIN_EVERY == 0:
                    await self.out.drain()
            return
        flags_at = view.flags_at
        with_uid = SimpleAtt(FetchAttName.UID) in plan.atts
        # A run at a time: a UID FETCH 1:* (FLAGS) of 100,000 messages holds one run's
        # rows, not 100,000.
        for start in range(0, len(msns), FLAG_RUN):
            await self.send_flags([(msn, uids[msn - 1], flags_at(msn))
                                   for msn in msns[start:start + FLAG_RUN]],
                                  with_uid=with_uid)

    async def fetch_from_store(self, plan: FetchPlan, msns: Sequence[int], *, sets_seen: bool
                               ) -> None:
        """The answers of a batch are all built before any is sent, and only then is
        \\Seen set on its messages (§6.4.5: "The \\Seen flag is implicitly set"): a
        FETCH that fails on a message (NO [UNKNOWN-CTE], RFC 3516 §4.3 "MUST fail the
        request") leaves that batch unread."""
        view = self.require_selected()
        uids = [Uid(view.uid_at(msn)) for msn in msns]
        # The view's message numbers do not move during the command: expunges are only
        # noted (ghosts) until it ends (§7.5.1), and new messages go at the end.
        msn_of = dict(zip(uids, msns, strict=True))
        contents = plan.needs_raw or plan.needs_structure
        # In UID order, which is sequence-number order (RFC 9051 §2.3.1.2); a few
        # messages (a message list) are read with their contents, in one trip.
        read: dict[MessageId, MessageContent] | None = None
        if contents:
            # A message list's header fields alone: the headers are read, not the bodies.
            entries, read = await self.store.mailbox_contents(
                MailboxId(view.mailbox_id), uids, structure=plan.needs_structure,
                max_octets=CONTENT_BATCH, headers_only=plan.headers_only)
        else:
            entries = await self.store.mailbox_entries(MailboxId(view.mailbox_id), uids)
        # Messages expunged meanwhile are left out (reported later, §7.5.1).
        entries = [entry for entry in entries if not view.is_ghost(entry.uid)]
        show_recent = not self.rev2
        # The message's own header sections alone (a message list's BODY.PEEK[HEADER.
        # FIELDS (...)]) are answered from a scan of the header, as parse_message scans
        # it, instead of decoding the whole stored structure.
        scan_headers = plan.needs_header and not plan.needs_structure
        max_fields = self.policy.message_limits.max_header_fields
        async for batch in self.content_batches(
                entries, contents=contents, parse=plan.needs_structure, read_already=read,
                headers_only=plan.headers_only):
            answers: list[FetchData] = []
            unseen: list[Uid] = []
            for entry, raw, parsed, _ in batch:
                uid = entry.uid
                if view.is_ghost(uid):
                    continue
                msn = msn_of[uid]
                flags = view.flags_at(msn)
                marking = sets_seen and SEEN not in flags
                if marking:
                    flags = flags | _SEEN
                    unseen.append(entry.uid)
                if show_recent and uid in view.recent:
                    flags = flags | {RECENT}
                header = (scan_header(raw, 0, len(raw), max_fields)
                          if scan_headers and raw is not None else None)
                source = FetchSource(uid=uid, flags=flags,
                                     modseq=entry.modseq, size=entry.size,
                                     internal_date=entry.internal_date, raw=raw,
                                     parsed=parsed, header=header)
                answers.append(FetchData(msn, fetch_items(plan, source,
                                                          flags_changed=marking)))
            if unseen:
                await self.mark_seen(unseen)
            for answer in answers:
                self.send(answer)
            await self.out.drain()

    async def mark_seen(self, uids: list[Uid]) -> None:
        """Set \\Seen, whose new flags the FETCH answers report themselves."""
        view = self.require_selected()
        update = await self.store.update_flags(MailboxId(view.mailbox_id), uids, add=_SEEN)
        changed = [entry for entry in update.entries if entry.modseq == update.modseq]
        reported = frozenset(entry.uid for entry in changed)
        view.note_changes(changed, (), view.highest_modseq,
                          report_own=reported)
        self.own_changes.update(reported)
        if update.modseq is not None:
            self.own_modseqs.add(int(update.modseq))

    # --- STORE (§6.4.6) ----------------------------------------------------------------

    async def store_flags(self, command: Store) -> StatusResponse:
        view = self.require_selected()
        if command.unchangedsince is not None:
            return bad(command.tag, "UNCHANGEDSINCE needs CONDSTORE, which this server "
                                    "does not offer")
        if view.read_only:
            return no(command.tag, "The mailbox is read-only", ResponseCode.READ_ONLY)
        flags = frozenset(command.flags)
        if RECENT in flags:
            if self.rev2:
                # RFC 9051 has no \Recent; §9 flag does not include it.
                return bad(command.tag, "\\Recent is not a flag in IMAP4rev2")
            flags = flags - {RECENT}          # RFC 3501 §2.3.2: not alterable
        await self.refresh(command)
        msns = self.target_msns(command.tag, command.sequence_set, uid=command.uid)
        uids = self.target_uids(msns)
        ghosts = len(uids) < len(msns)
        match command.action:
            case StoreAction.ADD:
                update = await self.store.update_flags(MailboxId(view.mailbox_id), uids,
                                                       add=flags)
            case StoreAction.REMOVE:
                update = await self.store.update_flags(MailboxId(view.mailbox_id), uids,
                                                       remove=flags)
            case StoreAction.REPLACE:
                update = await self.store.update_flags(MailboxId(view.mailbox_id), uids,
                                                       replace=flags)
        own = {entry.uid for entry in update.entries}
        applied = view.note_changes(update.entries, (), view.highest_modseq, report_own=own)
        self.own_changes.update(own)
        if update.modseq is not None:
            self.own_modseqs.add(int(update.modseq))
        if not command.silent:
            # §6.4.6: the server returns "an untagged FETCH response with the new flags
            # of each message"; .SILENT: "the server SHOULD NOT" (others' changes still
            # go out, with the updates).
            await self.send_flags([(position + 1, entry.uid, entry.flags)
                                   for position, entry in applied], with_uid=command.uid)
        if ghosts and not command.uid:
            return no(command.tag, "Some of the messages were expunged; the others were "
                                   "updated", ResponseCode.EXPUNGEISSUED)
        return ok(command.tag, "STORE completed")

    # --- COPY / MOVE (§6.4.7, §6.4.8, RFC 4315 COPYUID) ------------------------------

    async def copy(self, command: Copy | Move) -> StatusResponse:
        view = self.require_selected()
        account = self.require_account()
        moving = isinstance(command, Move)
        if moving and view.read_only:
            return no(command.tag, "The mailbox is read-only", ResponseCode.READ_ONLY)
        msns = self.target_msns(command.tag, command.sequence_set, uid=command.uid)
        uids = self.target_uids(msns)
        target = await self.store.get_mailbox(account.id, command.mailbox)
        if target is None:
            # §6.4.7: "the server MUST send the response code "[TRYCREATE]""
            return no(command.tag, f"No mailbox named {command.mailbox!r}",
                      ResponseCode.TRYCREATE)
        name = "MOVE" if moving else "COPY"
        if not uids:
            if len(msns) > len(uids) and not command.uid:
                return no(command.tag, "The messages were expunged",
                          ResponseCode.EXPUNGEISSUED)
            return ok(command.tag, f"{name} completed, no messages")
        try:
            if moving:
                pairs = await self.store.move_messages(MailboxId(view.mailbox_id), uids,
                                                       target.id)
            else:
                pairs = await self.store.copy_messages(MailboxId(view.mailbox_id), uids,
                                                       target.id)
        except MailboxNotFound:
            return no(command.tag, f"No mailbox named {command.mailbox!r}",
                      ResponseCode.TRYCREATE)
        copy_uid = CopyUid(target.uid_validity,
                           SequenceSet.from_numbers(int(src) for src, _ in pairs),
                           SequenceSet.from_numbers(int(dst) for _, dst in pairs))
        if not moving:
            await self.refresh(command)
            return ok(command.tag, "COPY completed", ResponseCode.COPYUID, copy_uid)
        # RFC 6851 §4.3 / RFC 9051 §6.4.8: COPYUID in an untagged OK "before any
        # EXPUNGE or VANISHED responses", then the expunges.
        self.send(ok(None, "Moved", ResponseCode.COPYUID, copy_uid))
        view.note_changes((), [int(src) for src, _ in pairs], view.highest_modseq)
        await self.refresh(command)
        return ok(command.tag, "MOVE completed")


__all__ = ["MessageCommands"]
