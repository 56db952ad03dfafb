"""IMAP hostile inputs: wire bytes a core must survive (valid commands and responses cut
or mutated, known attacks, random octets). A conforming core answers each with events,
NEED_DATA or a precise protocol error, never another exception. Import through
``fuzz.strategies.imap``.
"""

from __future__ import annotations

from hypothesis import strategies as st

from fuzz.strategies.imap_commands import commands
from fuzz.strategies.imap_values import _cached
from reference.imap.commands import Command

__all__ = ["hostile_command_bytes", "hostile_response_bytes"]


_HOSTILE_COMMANDS = (
    b"a1 LOGIN {5}\r\nal",                             # literal cut short
    b"a1 LOGIN {99999999999999999999999}\r\n",          # a size beyond number64
    b"a1 LOGIN {5+}\r\nalice {3+}\r\npw1\r\n",
    b"a1 LOGIN ~{3}\r\nabc xyz\r\n",                   # literal8 where a literal goes
    b"a1 APPEND INBOX {-1}\r\n",
    b"a1 APPEND INBOX {5000+}\r\n",                     # non-sync over 4096 (LITERAL-)
    b"a1 FETCH 99999999999999999999 FLAGS\r\n",
    b"a1 FETCH 1:* BODY[1.2.3.4294967296]\r\n",
    b"a1 FETCH 1 BODY[]<0.0>\r\n",
    b"a1 SEARCH " + b"(" * 200 + b"ALL" + b")" * 200 + b"\r\n",
    b"a1 SEARCH " + b"NOT " * 200 + b"ALL\r\n",
    b"a1 SEARCH " + b"OR ALL " * 100 + b"ALL\r\n",
    b"a1 SEARCH CHARSET KOI9-X TEXT abc\r\n",
    b'a1 LOGIN "unterminated\r\n',
    b'a1 LOGIN "a\\x" b\r\n',
    b"a1 SELECT INBOX\rX\r\n",
    b"a1 NOOP\n",
    b"\x00\xff\xfe\r\n",
    b"* OK\r\n",
    b"+ x\r\n",
    b"a1 UID NOOP\r\n",
    b"a1 STORE 1 FLAGS.LOUD (\\Seen)\r\n",
    b"a1 AUTHENTICATE PLAIN ====\r\n",
    b"a1 ID (" + b'"k" "v" ' * 40 + b")\r\n",
    # zones beyond +-2359 (RFC 9051 §9 zone = ("+" / "-") 4DIGIT) and instants beyond
    # the years 1..9999 (an OverflowError if unchecked)
    b'a1 APPEND INBOX "17-Jul-1996 02:44:25 +9959" {1+}\r\nx\r\n',
    b'a1 APPEND INBOX "01-Jan-0001 00:00:00 +0001" {1+}\r\nx\r\n',
    b'a1 APPEND INBOX "31-Dec-9999 23:59:59 -9959" {1+}\r\nx\r\n',
    b"a1 NOOP " + b"x" * 70_000 + b"\r\n",               # over the command_line limit
)


@_cached
def hostile_command_bytes() -> st.SearchStrategy[bytes]:
    """Client bytes a server core must survive: valid commands cut or mutated, known
    attacks (deep nesting, huge numbers, bad literals) and random octets."""
    valid = commands().map(lambda c: _wire(c))
    cut = st.tuples(valid, st.integers(0, 200)).map(lambda p: p[0][:p[1]])
    mutated = st.tuples(valid, st.integers(0, 200), st.binary(min_size=1, max_size=4)).map(
        lambda p: p[0][:p[1]] + p[2] + p[0][p[1] + 1:])
    return st.one_of(st.sampled_from(_HOSTILE_COMMANDS), cut, mutated,
                     st.binary(max_size=200),
                     st.lists(st.sampled_from((*_HOSTILE_COMMANDS, b"a2 NOOP\r\n")),
                              max_size=4).map(b"".join))


def _wire(command: Command) -> bytes:
    from reference.imap.grammar import LiteralForm
    from reference.imap.serializer_commands import write_command

    return b"".join(write_command(command, utf8=True, literal_form=LiteralForm.LITERAL_PLUS))


_HOSTILE_RESPONSES = (
    b"* 1 FETCH (BODY[] {5}\r\nab",
    b'* 1 FETCH (INTERNALDATE "01-Jan-0001 00:00:00 +9959")\r\n',
    b"* 1 FETCH (BINARY[1]<4294967296> {1}\r\nx)\r\n",
    b'* LIST () "/" x (X (((((()))))) CHILDINFO ("a b"))\r\n',
    b"a1 OK [MODIFIED 1:*,$] x\r\n",
    b'* ESEARCH (TAG "a b") MODSEQ 0\r\n',
    b"* 1 FETCH (BODY[] {5+}\r\nabcde)\r\n",
    b"* 99999999999999999999 EXISTS\r\n",
    b"* 1 FETCH (BODYSTRUCTURE " + b"(" * 300 + b")\r\n",
    b"* OK [UIDNEXT 0] x\r\n",
    b"* CAPABILITY IMAP2\r\n",
    b"* 0 EXPUNGE\r\n",
    b"* LIST (\\Noselect \\Marked) \"/\" x\r\n",
    b"+\r\n",
    b"* BYE\r\n",
)


@_cached
def hostile_response_bytes() -> st.SearchStrategy[bytes]:
    """Server bytes a client core must survive (same families as for commands)."""
    return st.one_of(st.sampled_from(_HOSTILE_RESPONSES), st.binary(max_size=200),
                     st.lists(st.sampled_from(_HOSTILE_RESPONSES), max_size=3).map(b"".join))
