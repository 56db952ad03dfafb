"""Client commands, parsed on the server side (RFC 9051 §6, §9 ``command``).

    command         = tag SP (command-any / command-auth /
                      command-nonauth / command-select) CRLF

``parse_command(segments, context)`` takes one framed command (its lines and literal
data, see grammar.Cursor) and returns the typed command, or raises
``ImapRemoteProtocolError`` whose ``response`` answers it: an untagged BAD when no tag
can be read (RFC 9051 §7.1.3: "the associated command can not be determined"), a tagged
BAD naming what was expected at which octet otherwise (§2.2.2: "Any client command with
a protocol syntax error ... SHOULD be rejected and the client given a BAD server
completion response"), a tagged NO [BADCHARSET] for an unknown SEARCH charset (§6.4.4
MUST). Per-command parsers live in parser_commands.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from reference.imap.capabilities import Modes
from reference.imap.commands import Command
from reference.imap.grammar import Cursor, GrammarError, parse_tag
from reference.imap.limits import ImapLimits
from reference.imap.responses import ImapRemoteProtocolError, StatusResponse, bad

# RFC 9051 §7.1.3 gives no bound on the text; keep error texts to one short line.
_MAX_ERROR_TEXT = 300


@dataclass(frozen=True, slots=True)
class ParseContext:
    """What the parser must know about the connection to read a command."""

    modes: Modes = field(default_factory=Modes)
    limits: ImapLimits = field(default_factory=ImapLimits)

    @property
    def utf8(self) -> bool:
        return self.modes.utf8


def clip(text: str) -> str:
    """The core's own response text, sendable in every mode: RFC 9051 §9 text: "Non-ASCII
    text can only be returned after ENABLE IMAP4rev2", and TEXT-CHAR excludes CR and LF
    (the octets an error quotes may be anything, NUL included). Printable US-ASCII only,
    never starting with "[" (a response code) nor ending like a literal header."""
    text = text.replace("§", "section ")
    text = "".join(char if " " <= char <= "~" else char.encode("unicode_escape").decode("ascii")
                   for char in text)
    if len(text) > _MAX_ERROR_TEXT:
        text = text[:_MAX_ERROR_TEXT - 3] + "..."
    if text.startswith("["):
        text = " " + text
    if text.endswith("}"):
        text += "."
    return text


def untagged_bad(text: str) -> ImapRemoteProtocolError:
    text = clip(text)
    return ImapRemoteProtocolError(text, bad(None, text))


def tagged_error(response: StatusResponse) -> ImapRemoteProtocolError:
    response = replace(response, text=clip(response.text))
    return ImapRemoteProtocolError(response.text, response)


def tagged_bad(tag: str, text: str) -> ImapRemoteProtocolError:
    text = clip(text)
    return ImapRemoteProtocolError(text, bad(tag, text))


def read_tag(line: bytes) -> str | None:
    """The tag of a command line, or ``None`` if the line does not start with one
    followed by SP (then only an untagged BAD can answer it)."""
    cursor = Cursor([line])
    try:
        tag = parse_tag(cursor)
        cursor.sp()
    except GrammarError:
        return None
    return tag


def read_command_name(line: bytes) -> tuple[str, str] | None:
    """(tag, command name) of a first command line, "UID FETCH" for the UID forms."""
    cursor = Cursor([line])
    try:
        tag = parse_tag(cursor)
        cursor.sp()
        name = cursor.keyword("a command name")
        if name == "UID" and cursor.accept(b" "):
            name = "UID " + cursor.keyword("a command name")
    except GrammarError:
        return None
    return tag, name


def parse_command(segments: Sequence[bytes], context: ParseContext) -> Command:
    from reference.imap.parser_commands import COMMAND_PARSERS, parse_uid

    cursor = Cursor(segments, max_depth=context.limits.nesting)
    if not segments[0]:
        # RFC 9051 §7.1.3 example: "S: * BAD Empty command line"
        raise untagged_bad("Empty command line")
    try:
        tag = parse_tag(cursor)
        cursor.sp()
    except GrammarError as exc:
        raise untagged_bad(f"Command line does not start with a tag and SP (RFC 9051 §9 "
                           f"command): {exc}") from exc
    name = ""
    try:
        name = cursor.keyword("a command name")
        if name == "UID":
            command = parse_uid(cursor, tag, context)
        else:
            handler = COMMAND_PARSERS.get(name)
            if handler is None:
                raise tagged_bad(tag, f"Unknown command {name}")
            command = handler(cursor, tag, context)
        cursor.end()
    except GrammarError as exc:
        what = f"{name}: " if name else ""
        raise tagged_bad(tag, f"Syntax error in {what}{exc}") from exc
    return command
