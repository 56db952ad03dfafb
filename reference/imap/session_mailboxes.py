"""RFC 9051 §6.3 and §6.4.1-6.4.2: the mailbox commands of the IMAP session."""

from __future__ import annotations

import contextlib
import dataclasses
import unicodedata

from reference.imap import mailbox_list
from reference.imap.commands import (
    Close,
    Create,
    Delete,
    Examine,
    List,
    Lsub,
    Namespace,
    Rename,
    Select,
    Status,
    StatusAtt,
    Subscribe,
    Unselect,
    Unsubscribe,
)
from reference.imap.grammar_values import SYSTEM_FLAGS, flag_order
from reference.imap.mailbox_names import encode_modified_utf7
from reference.imap.response_data import ExistsData, NamespaceDescription, RecentData
from reference.imap.responses import (
    FlagsData,
    ListData,
    NamespaceData,
    ResponseCode,
    StatusData,
    StatusResponse,
    bad,
    ok,
)
from reference.imap.selected import SelectedMailbox
from reference.imap.session_core import SEEN, CommandFailed, SessionCore, failed
from reference.store.interface import (
    HIERARCHY_SEPARATOR,
    AlreadyExists,
    InboxNotDeletable,
    Mailbox,
    MailboxId,
    MailboxNotFound,
    SpecialUse,
    SpecialUseTaken,
    StoreError,
)

INBOX = "INBOX"
# RFC 9051 §5.1: "%" and "*" are wildcards in LIST; a name containing them could not be
# listed exactly, so they are refused in new names (§5.1: servers SHOULD NOT allow).
_WILDCARDS = frozenset("*%")
_SPECIAL_USES = {use.value.upper(): use for use in SpecialUse}


def checked_new_name(tag: str, name: str) -> str:
    """A name for CREATE or RENAME's target: RFC 9051 §6.3.4 "If the mailbox name is
    suffixed with the server's hierarchy separator character, this is a declaration
    that the client intends to create mailbox names under this name"; the trailing
    separator is not part of the name."""
    name = name.removesuffix(HIERARCHY_SEPARATOR)
    components = name.split(HIERARCHY_SEPARATOR)
    if not name or any(not component for component in components):
        raise failed(tag, "A mailbox name needs a non-empty name at every level",
                     ResponseCode.CANNOT)
    if _WILDCARDS.intersection(name):
        raise failed(tag, 'Mailbox names may not contain "*" or "%" (RFC 9051 §5.1)',
                     ResponseCode.CANNOT)
    if components[0].upper() == INBOX and components[0] != INBOX:
        # RFC 9051 §5.1: INBOX is case-insensitive, so is the top of its hierarchy here.
        components[0] = INBOX
    return HIERARCHY_SEPARATOR.join(components)


def superiors(name: str) -> list[str]:
    """"a/b/c" → ["a", "a/b"]."""
    components = name.split(HIERARCHY_SEPARATOR)
    return [HIERARCHY_SEPARATOR.join(components[:end]) for end in range(1, len(components))]


class MailboxCommands(SessionCore):
    """§6.3 commands; ``ImapSession`` dispatches to these."""

    def named(self, name: str) -> str:
        """A mailbox name quoted in a response text as the client spells it on the wire:
        UTF-8 after ENABLE IMAP4rev2, modified UTF-7 before (RFC 3501 §5.1.3). RFC 9051
        §9 text: "Non-ASCII text can only be returned after ENABLE IMAP4rev2 command"."""
        return repr(name if self.rev2 else encode_modified_utf7(name))

    # --- SELECT / EXAMINE (§6.3.2, §6.3.3) ----------------------------------------------

    async def select(self, command: Select | Examine) -> StatusResponse:
        read_only = isinstance(command, Examine)
        account = self.require_account()
        if command.qresync is not None:
            # RFC 7162 §3.2.5: QRESYNC without ENABLE QRESYNC is a BAD; this server does
            # not offer QRESYNC.
            return bad(command.tag, "QRESYNC is not enabled")
        if self.selected is not None:
            # RFC 9051 §6.3.2: "the server MUST return an untagged OK response with the
            # "[CLOSED]" response code when the currently selected mailbox is closed".
            self.selected = None
            self.send(ok(None, "Previous mailbox is now closed", ResponseCode.CLOSED))
        mailbox = await self.store.get_mailbox(account.id, command.mailbox)
        if mailbox is None:
            return failed(command.tag, f"No mailbox named {self.named(command.mailbox)}",
                          ResponseCode.NONEXISTENT).response
        try:
            snapshot = await self.views.snapshot(mailbox.id)
        except MailboxNotFound:
            return failed(command.tag, f"No mailbox named {self.named(command.mailbox)}",
                          ResponseCode.NONEXISTENT).response
        mailbox = snapshot.mailbox
        view = SelectedMailbox.open(
            int(mailbox.id), mailbox.uid_validity, snapshot.columns,
            read_only=read_only, highest_modseq=int(mailbox.highest_modseq),
            shared=snapshot.lease)
        self.selected = view
        self.saved_result = []          # RFC 5182 §2.1: SELECT empties the saved result
        flags = flag_order({*SYSTEM_FLAGS, *snapshot.keywords})
        self.send(FlagsData(flags))
        self.send(ExistsData(view.exists))
        if not self.rev2:
            await self.claim_recent(view)
            view.take_updates(expunges_allowed=False)    # RECENT goes out below instead
            self.send(RecentData(len(view.recent)))
            first_unseen = None if mailbox.unseen == 0 else next(
                (msn for msn in range(1, view.exists + 1)
                 if SEEN not in view.flags_at(msn)), None)
            if first_unseen is not None:
                # RFC 3501 §6.3.1: "OK [UNSEEN <n>]" the first unseen message.
                self.send(ok(None, f"Message {first_unseen} is first unseen",
                             ResponseCode.UNSEEN, first_unseen))
        # RFC 9051 §2.3.2: "\*" - new keywords may be created.
        permanent = () if read_only else (*SYSTEM_FLAGS, "\\*")
        self.send(ok(None, "Flags permitted", ResponseCode.PERMANENTFLAGS, permanent))
        self.send(ok(None, "UIDs valid", ResponseCode.UIDVALIDITY, mailbox.uid_validity))
        self.send(ok(None, "Predicted next UID", ResponseCode.UIDNEXT, int(mailbox.uid_next)))
        if self.rev2:
            # §6.3.2: "The server MUST return a LIST response with the mailbox name."
            entry = await self.list_entry(mailbox)
            if unicodedata.normalize("NFC", command.mailbox) != command.mailbox:
                # RFC 9051 §6.3.2 MUST: "If the server allows denormalized UTF-8 mailbox
                # names (see Section 5.1) and the supplied mailbox name differs from the
                # normalized version, the server MUST return LIST with the OLDNAME
                # extended data item."
                entry = dataclasses.replace(entry, old_name=command.mailbox)
            self.send(entry)
        if read_only:
            return ok(command.tag, "EXAMINE completed", ResponseCode.READ_ONLY)
        return ok(command.tag, "SELECT completed", ResponseCode.READ_WRITE)

    async def list_entry(self, mailbox: Mailbox) -> ListData:
        account = self.require_account()
        mailboxes = await self.store.list_mailboxes(account.id)
        found = mailbox_list.list_responses(
            List("", "", mailbox.name), mailboxes, [], rev2=self.rev2)
        # The name is used as a pattern: keep only the exact entry.
        exact = [data for data in found if data.mailbox == mailbox.name]
        return exact[0] if exact else ListData((), HIERARCHY_SEPARATOR, mailbox.name)

    async def close_mailbox(self, command: Close | Unselect) -> StatusResponse:
        view = self.require_selected()
        if isinstance(command, Close) and not view.read_only:
            # RFC 9051 §6.4.1: "permanently removes all messages that have the \Deleted
            # flag set ... No untagged EXPUNGE responses are sent."
            with contextlib.suppress(MailboxNotFound):      # deleted meanwhile
                await self.store.expunge(MailboxId(view.mailbox_id))
        self.selected = None
        name = "CLOSE" if isinstance(command, Close) else "UNSELECT"
        return ok(command.tag, f"{name} completed")

    # --- CREATE / DELETE / RENAME (§6.3.4-6.3.6) -------------------------------------

    async def create(self, command: Create) -> StatusResponse:
        account = self.require_account()
        name = checked_new_name(command.tag, command.mailbox)
        special_use = None
        if command.special_use:
            uses = [_SPECIAL_USES.get(use.upper()) for use in command.special_use]
            if len(uses) > 1 or uses[0] is None:
                # RFC 6154 §3 MUST: "If the server cannot create a mailbox with the
                # designated special use defined, for whatever reason, it MUST NOT create
                # the mailbox, and MUST respond to the CREATE command with a tagged NO
                # response"; SHOULD: "the server SHOULD include the new "USEATTR" response
                # code in the tagged response".
                return failed(command.tag, "One of \\Drafts \\Sent \\Trash \\Junk "
                              "\\Archive may be set on a mailbox", ResponseCode.USEATTR).response
            special_use = uses[0]
        if name == INBOX or await self.store.get_mailbox(account.id, name) is not None:
            return failed(command.tag, f"Mailbox {self.named(name)} exists",
                          ResponseCode.ALREADYEXISTS).response
        if special_use is not None and any(
                mailbox.special_use is special_use
                for mailbox in await self.store.list_mailboxes(account.id)):
            # RFC 6154 §3 MAY: "servers MAY refuse the creation, considering the
            # designation to be a conflict" (the store keeps one mailbox per special use),
            # and SHOULD "include the new "USEATTR" response code". Checked before the
            # superiors are made, so that a refused CREATE creates nothing.
            return _use_taken(command.tag, special_use)
        # RFC 9051 §6.3.4: "the server SHOULD create any superior hierarchical names that
        # are needed for the CREATE command to be successfully completed."
        await self.create_superiors(name)
        try:
            await self.store.create_mailbox(account.id, name, special_use=special_use)
        except SpecialUseTaken:
            # Taken by another session since the check above (the superiors it made
            # stay, as another session's would).
            assert special_use is not None      # only a special use can be taken
            return _use_taken(command.tag, special_use)
        except AlreadyExists:
            return failed(command.tag, f"Mailbox {self.named(name)} exists",
                          ResponseCode.ALREADYEXISTS).response
        except StoreError as error:
            return failed(command.tag, str(error), ResponseCode.CANNOT).response
        return ok(command.tag, "CREATE completed")

    async def create_superiors(self, name: str) -> None:
        account = self.require_account()
        for superior in superiors(name):
            if await self.store.get_mailbox(account.id, superior) is None:
                # Another session may make it meanwhile: that is as good.
                with contextlib.suppress(AlreadyExists):
                    await self.store.create_mailbox(account.id, superior)

    async def delete(self, command: Delete) -> StatusResponse:
        account = self.require_account()
        try:
            await self.store.delete_mailbox(account.id, command.mailbox)
        except InboxNotDeletable:
            # RFC 9051 §6.3.5: "It is an error to attempt to delete INBOX".
            return failed(command.tag, "INBOX cannot be deleted", ResponseCode.CANNOT).response
        except MailboxNotFound:
            return failed(command.tag, f"No mailbox named {self.named(command.mailbox)}",
                          ResponseCode.NONEXISTENT).response
        return ok(command.tag, "DELETE completed")

    async def rename(self, command: Rename) -> StatusResponse:
        account = self.require_account()
        new = checked_new_name(command.tag, command.new_mailbox)
        if new == INBOX:
            return failed(command.tag, "INBOX exists", ResponseCode.ALREADYEXISTS).response
        if await self.store.get_mailbox(account.id, command.existing_mailbox) is None:
            return failed(command.tag,
                          f"No mailbox named {self.named(command.existing_mailbox)}",
                          ResponseCode.NONEXISTENT).response
        if await self.store.get_mailbox(account.id, new) is not None:
            return failed(command.tag, f"Mailbox {self.named(new)} exists",
                          ResponseCode.ALREADYEXISTS).response
        if (new + HIERARCHY_SEPARATOR).startswith(command.existing_mailbox + HIERARCHY_SEPARATOR):
            return failed(command.tag, "A mailbox cannot be renamed into itself",
                          ResponseCode.CANNOT).response
        # RFC 9051 §6.3.6: "If the server's hierarchy separator character appears in the
        # name, the server SHOULD create any superior hierarchical names that are needed".
        await self.create_superiors(new)
        try:
            await self.store.rename_mailbox(account.id, command.existing_mailbox, new)
        except MailboxNotFound:
            return failed(command.tag,
                          f"No mailbox named {self.named(command.existing_mailbox)}",
                          ResponseCode.NONEXISTENT).response
        except AlreadyExists as error:
            return failed(command.tag, str(error), ResponseCode.ALREADYEXISTS).response
        except StoreError as error:
            return failed(command.tag, str(error), ResponseCode.CANNOT).response
        return ok(command.tag, "RENAME completed")

    # --- SUBSCRIBE / UNSUBSCRIBE (§6.3.7, §6.3.8) ------------------------------------

    async def subscribe(self, command: Subscribe | Unsubscribe) -> StatusResponse:
        account = self.require_account()
        if isinstance(command, Subscribe):
            # RFC 9051 §6.3.7: a server "MAY validate the mailbox argument"; names that
            # do not exist may be subscribed (LIST shows them \NonExistent).
            await self.store.subscribe(account.id, command.mailbox)
            return ok(command.tag, "SUBSCRIBE completed")
        await self.store.unsubscribe(account.id, command.mailbox)
        return ok(command.tag, "UNSUBSCRIBE completed")

    # --- LIST / LSUB / NAMESPACE / STATUS (§6.3.9-6.3.11) ----------------------------

    async def list(self, command: List) -> StatusResponse:
        account = self.require_account()
        mailboxes = await self.store.list_mailboxes(account.id)
        subscriptions = await self.store.list_subscriptions(account.id)
        try:
            found = mailbox_list.list_responses(command, mailboxes, subscriptions,
                                                rev2=self.rev2)
        except mailbox_list.ListOptionError as error:
            return bad(command.tag, str(error))
        by_name = {mailbox.name: mailbox for mailbox in mailboxes}
        for data in found:
            self.send(data)
            if command.return_status and mailbox_list.selectable(data):
                mailbox = by_name.get(data.mailbox)
                if mailbox is not None:
                    # RFC 5819 §2: the STATUS response follows its LIST response.
                    self.send(await self.status_data(mailbox, command.return_status))
        return ok(command.tag, "LIST completed")

    async def lsub(self, command: Lsub) -> StatusResponse:
        account = self.require_account()
        mailboxes = await self.store.list_mailboxes(account.id)
        subscriptions = await self.store.list_subscriptions(account.id)
        for data in mailbox_list.lsub_responses(command, mailboxes, subscriptions):
            self.send(data)
        return ok(command.tag, "LSUB completed")

    def namespace(self, command: Namespace) -> StatusResponse:
        # RFC 9051 §6.3.10: one personal namespace, the whole hierarchy; no other users'
        # or shared namespaces.
        personal = (NamespaceDescription("", HIERARCHY_SEPARATOR),)
        self.send(NamespaceData(personal, None, None))
        return ok(command.tag, "NAMESPACE completed")

    async def status(self, command: Status) -> StatusResponse:
        account = self.require_account()
        mailbox = await self.store.get_mailbox(account.id, command.mailbox)
        if mailbox is None:
            return failed(command.tag, f"No mailbox named {self.named(command.mailbox)}",
                          ResponseCode.NONEXISTENT).response
        self.send(await self.status_data(mailbox, command.attributes))
        return ok(command.tag, "STATUS completed")

    async def status_data(self, mailbox: Mailbox, attributes: tuple[StatusAtt, ...]
                          ) -> StatusData:
        values: list[tuple[StatusAtt, int | None]] = []
        for attribute in dict.fromkeys(attributes):
            match attribute:
                case StatusAtt.MESSAGES:
                    value: int | None = mailbox.messages
                case StatusAtt.UIDNEXT:
                    value = int(mailbox.uid_next)
                case StatusAtt.UIDVALIDITY:
                    value = mailbox.uid_validity
                case StatusAtt.UNSEEN:
                    value = mailbox.unseen
                case StatusAtt.DELETED:
                    value = mailbox.deleted
                case StatusAtt.SIZE:
                    value = mailbox.size            # RFC 8438 §3
                case StatusAtt.RECENT:
                    # RFC 3501 §6.3.10: looking does not claim (only SELECT does).
                    value = len(await self.store.claim_recent(mailbox.id, claim=False))
                case StatusAtt.HIGHESTMODSEQ:
                    value = int(mailbox.highest_modseq)
                case StatusAtt.APPENDLIMIT:
                    value = self.policy.limits.append_size   # RFC 7889 §3.1
            values.append((attribute, value))
        return StatusData(mailbox.name, tuple(values))


def _use_taken(tag: str, special_use: SpecialUse) -> StatusResponse:
    """CREATE refused for its USE: another mailbox has it (RFC 6154 §3 SHOULD USEATTR)."""
    return failed(tag, f"Another mailbox is {special_use.value}",
                  ResponseCode.USEATTR).response


__all__ = ["CommandFailed", "MailboxCommands", "checked_new_name", "superiors"]
