"""Client commands to bytes (RFC 9051 §6, §9), for ``ClientConnection``.

``write_command(command, utf8=..., literal_form=...)`` returns the command as *parts*:
the first may be sent at once, each further part only after the server's "+"
continuation (RFC 9051 §4.3 MUST: "the client MUST wait to receive a command continuation
request ... before sending the octet data"). With LITERAL+ (or LITERAL- for short
literals, RFC 7888) there is one part. A value the grammar cannot carry raises
``LocalProtocolError``.
"""

from __future__ import annotations

import base64

from reference.errors import LocalProtocolError
from reference.imap.commands import (
    Append,
    Authenticate,
    AuthenticateResponse,
    Command,
    Copy,
    Create,
    Delete,
    Enable,
    Examine,
    Expunge,
    Fetch,
    Id,
    IdleDone,
    List,
    Login,
    Lsub,
    Move,
    QresyncParameters,
    Rename,
    Search,
    Select,
    Status,
    StatusAtt,
    Store,
    Subscribe,
    Unsubscribe,
    command_name,
)
from reference.imap.grammar import (
    LiteralForm,
    WireWriter,
    is_atom,
    write_astring,
    write_quoted,
    write_string,
)
from reference.imap.grammar_fetch import FetchMacro, write_fetch_att
from reference.imap.grammar_search import write_search_key
from reference.imap.grammar_values import (
    check_flag,
    write_date_time,
    write_flag_list,
    write_list_mailbox_name,
    write_mailbox,
    write_sequence_set,
)
from reference.imap.serializer import TAG_PATTERN


def write_command(command: Command, *, utf8: bool = False,
                  literal_form: LiteralForm = LiteralForm.SYNCHRONIZING) -> list[bytes]:
    writer = WireWriter(utf8=utf8, literal_form=literal_form)
    try:
        if not TAG_PATTERN.match(command.tag):
            raise ValueError(f"not a tag: {command.tag!r}")
        writer.raw(command.tag.encode("ascii") + b" " + command_name(command).encode("ascii"))
        _write_arguments(writer, command)
    except (ValueError, UnicodeEncodeError) as exc:
        raise LocalProtocolError(f"cannot write {type(command).__name__}: {exc}") from exc
    writer.raw(b"\r\n")
    return writer.parts()


def write_continuation_line(event: AuthenticateResponse | IdleDone) -> bytes:
    """A client line that is not a command: a SASL response (RFC 9051 §6.2.2, "*" to
    cancel) or IDLE's DONE (§6.3.13)."""
    if isinstance(event, IdleDone):
        return b"DONE\r\n"
    if event.data is None:
        return b"*\r\n"
    return base64.b64encode(event.data) + b"\r\n"


def _sp_mailbox(writer: WireWriter, name: str) -> None:
    writer.raw(b" ")
    write_mailbox(writer, name)


def _write_arguments(writer: WireWriter, command: Command) -> None:
    match command:
        case Id(parameters=parameters):
            writer.raw(b" ")
            if parameters is None:
                writer.raw(b"NIL")
            else:
                writer.raw(b"(")
                for index, (key, value) in enumerate(parameters):
                    writer.raw(b" " if index else b"")
                    write_string(writer, key.encode("utf-8"))
                    writer.raw(b" ")
                    if value is None:
                        writer.raw(b"NIL")
                    else:
                        write_string(writer, value.encode("utf-8"))
                writer.raw(b")")
        case Authenticate(auth_type=auth_type, initial_response=initial):
            if not is_atom(auth_type.encode("ascii")):
                raise ValueError(f"auth-type is an atom: {auth_type!r}")
            writer.raw(b" " + auth_type.encode("ascii"))
            if initial is not None:
                # RFC 9051 §6.2.2 MUST: a zero-length initial response is "="
                writer.raw(b" " + (base64.b64encode(initial) if initial else b"="))
        case Login(userid=userid, password=password):
            writer.raw(b" ")
            write_astring(writer, userid.encode("utf-8"))
            writer.raw(b" ")
            write_astring(writer, password.encode("utf-8"))
        case Enable(capabilities=capabilities):
            if not capabilities:
                raise ValueError("ENABLE takes at least one capability")
            for capability in capabilities:
                if not is_atom(capability.encode("ascii")):
                    raise ValueError(f"not a capability: {capability!r}")
                writer.raw(b" " + capability.encode("ascii"))
        case Select() | Examine():
            _sp_mailbox(writer, command.mailbox)
            _write_select_params(writer, command.condstore, command.qresync)
        case Create(mailbox=mailbox, special_use=special_use):
            _sp_mailbox(writer, mailbox)
            if special_use is not None:
                if any(not attr.startswith("\\") for attr in special_use):
                    raise ValueError("use-attr starts with a backslash")
                writer.raw(b" (USE ")
                write_flag_list(writer, special_use)
                writer.raw(b")")
        case Delete(mailbox=mailbox) | Subscribe(mailbox=mailbox) | Unsubscribe(mailbox=mailbox):
            # delete = "DELETE" SP mailbox; subscribe = "SUBSCRIBE" SP mailbox;
            # unsubscribe = "UNSUBSCRIBE" SP mailbox (RFC 9051 §9)
            _sp_mailbox(writer, mailbox)
        case Rename(existing_mailbox=existing, new_mailbox=new):
            _sp_mailbox(writer, existing)
            _sp_mailbox(writer, new)
        case List():
            _write_list(writer, command)
        case Lsub(reference=reference, pattern=pattern):
            _sp_mailbox(writer, reference)
            writer.raw(b" ")
            write_list_mailbox_name(writer, pattern)
        case Status(mailbox=mailbox, attributes=attributes):
            _sp_mailbox(writer, mailbox)
            writer.raw(b" ")
            _write_status_atts(writer, attributes)
        case Append():
            _write_append(writer, command)
        case Expunge(sequence_set=sequence_set) if sequence_set is not None:
            writer.raw(b" ")
            write_sequence_set(writer, sequence_set)
        case Search():
            _write_search(writer, command)
        case Fetch():
            _write_fetch(writer, command)
        case Store():
            _write_store(writer, command)
        case Copy() | Move():
            writer.raw(b" ")
            write_sequence_set(writer, command.sequence_set)
            _sp_mailbox(writer, command.mailbox)
        case _:
            pass      # the commands without arguments


def _write_select_params(writer: WireWriter, condstore: bool,
                         qresync: QresyncParameters | None) -> None:
    params: list[bytes] = []
    if condstore:
        params.append(b"CONDSTORE")
    if qresync is not None:
        inner = WireWriter(utf8=False)
        inner.raw(b"QRESYNC (%d %d" % (qresync.uidvalidity, qresync.modseq))
        if qresync.known_uids is not None:
            inner.raw(b" ")
            write_sequence_set(inner, qresync.known_uids)
        if qresync.seq_match_data is not None:
            inner.raw(b" (")
            write_sequence_set(inner, qresync.seq_match_data[0])
            inner.raw(b" ")
            write_sequence_set(inner, qresync.seq_match_data[1])
            inner.raw(b")")
        inner.raw(b")")
        params.append(inner.getvalue())
    if params:
        writer.raw(b" (" + b" ".join(params) + b")")


def _write_status_atts(writer: WireWriter, attributes: tuple[StatusAtt, ...]) -> None:
    if not attributes:
        raise ValueError("at least one status-att")
    writer.raw(b"(" + b" ".join(att.value.encode("ascii") for att in attributes) + b")")


def _write_list(writer: WireWriter, command: List) -> None:
    if command.selection_options is not None:
        writer.raw(b" (" + b" ".join(o.value.encode("ascii")
                                     for o in command.selection_options) + b")")
    _sp_mailbox(writer, command.reference)
    writer.raw(b" ")
    if isinstance(command.patterns, tuple):
        if not command.patterns:
            raise ValueError("patterns hold at least one list-mailbox")
        writer.raw(b"(")
        for index, pattern in enumerate(command.patterns):
            writer.raw(b" " if index else b"")
            write_list_mailbox_name(writer, pattern)
        writer.raw(b")")
    else:
        write_list_mailbox_name(writer, command.patterns)
    if command.return_options is not None or command.return_status is not None:
        options = [o.value.encode("ascii") for o in command.return_options or ()]
        if command.return_status is not None:
            status = WireWriter(utf8=False)
            status.raw(b"STATUS ")
            _write_status_atts(status, command.return_status)
            options.append(status.getvalue())
        writer.raw(b" RETURN (" + b" ".join(options) + b")")


def _write_append(writer: WireWriter, command: Append) -> None:
    _sp_mailbox(writer, command.mailbox)
    if not command.messages:
        raise ValueError("APPEND takes at least one message")
    for message in command.messages:
        if message.flags is not None:
            writer.raw(b" ")
            write_flag_list(writer, message.flags)
        if message.date_time is not None:
            writer.raw(b" ")
            write_date_time(writer, message.date_time)
        writer.raw(b" ")
        if message.utf8:
            writer.raw(b"UTF8 (")
            writer.literal(message.message, literal8=True)
            writer.raw(b")")
        elif message.binary:
            writer.literal(message.message, literal8=True)
        else:
            if b"\x00" in message.message:
                raise ValueError("a message with NUL needs literal8 (RFC 3516)")
            writer.literal(message.message)


def _write_search(writer: WireWriter, command: Search) -> None:
    if command.return_options is not None:
        writer.raw(b" RETURN (" + b" ".join(o.value.encode("ascii")
                                            for o in command.return_options) + b")")
    if command.charset is not None:
        writer.raw(b" CHARSET ")
        octets = command.charset.encode("ascii")
        if is_atom(octets):
            writer.raw(octets)
        else:
            write_quoted(writer, octets)
    if not command.keys:
        raise ValueError("SEARCH takes at least one key")
    charset = command.charset or "utf-8"
    for key in command.keys:
        writer.raw(b" ")
        write_search_key(writer, key, lambda text: text.encode(charset))


def _write_fetch(writer: WireWriter, command: Fetch) -> None:
    writer.raw(b" ")
    write_sequence_set(writer, command.sequence_set)
    writer.raw(b" ")
    if isinstance(command.items, FetchMacro):
        writer.raw(command.items.value.encode("ascii"))
    elif len(command.items) == 1:
        write_fetch_att(writer, command.items[0])
    else:
        if not command.items:
            raise ValueError("FETCH takes at least one item")
        writer.raw(b"(")
        for index, att in enumerate(command.items):
            writer.raw(b" " if index else b"")
            write_fetch_att(writer, att)
        writer.raw(b")")
    modifiers = []
    if command.changedsince is not None:
        modifiers.append(b"CHANGEDSINCE %d" % command.changedsince)
    if command.vanished:
        if not command.uid or command.changedsince is None:
            raise ValueError("VANISHED goes with UID FETCH and CHANGEDSINCE (RFC 7162)")
        modifiers.append(b"VANISHED")
    if modifiers:
        writer.raw(b" (" + b" ".join(modifiers) + b")")


def _write_store(writer: WireWriter, command: Store) -> None:
    writer.raw(b" ")
    write_sequence_set(writer, command.sequence_set)
    if command.unchangedsince is not None:
        writer.raw(b" (UNCHANGEDSINCE %d)" % command.unchangedsince)
    writer.raw(b" " + command.action.value.encode("ascii") + b"FLAGS")
    writer.raw(b".SILENT " if command.silent else b" ")
    for flag in command.flags:
        if flag == "\\*":
            raise ValueError("\\* is not a flag to store")
        check_flag(flag)
    write_flag_list(writer, command.flags)
