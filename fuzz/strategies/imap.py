"""Hypothesis strategies for IMAP (RFC 9051, with IMAP4rev1 forms and the extensions the
core speaks), composed like the ABNF of RFC 9051 §9.

One public strategy per rule, in the plural (STYLE.md §E), each drawing the *typed values*
of ``reference.imap``: commands (``commands()`` for any of them, or one strategy per
command: ``logins()``, ``selects()``, ``fetches()``...) and responses (``responses()``, or
``status_responses()``, ``list_datas()``, ``fetch_datas()``...), and the values inside
them (``mailbox_names()``, ``sequence_sets()``, ``search_keys()``, ``fetch_atts()``,
``envelopes()``, ``bodies()``...). Everything drawn is valid and within the default
``ImapLimits``, so ``parse(serialize(x)) == x`` must hold for all of it; where the typed
model has two spellings of one wire form (``"inbox"`` and ``"INBOX"``, ``\\seen`` and
``\\Seen``, ``RETURN (STATUS ...)`` with ``return_options=None``) only the canonical one is
drawn.

``utf8=True`` draws what may travel in UTF-8 mode (IMAP4rev2 or ENABLE UTF8=ACCEPT,
RFC 6855 §3): non-ASCII response text, for instance, is only valid there (RFC 9051 §9
``text``). Mailbox names are Unicode in both modes: the serializer picks UTF-8 or modified
UTF-7 (RFC 9051 Appendix A.1).

Hostile inputs (``hostile_command_bytes()``, ``hostile_response_bytes()``) are wire bytes:
valid commands cut short, bad literals, huge numbers, deep nesting, bare CR/LF, random
octets. A conforming core answers each with events, NEED_DATA or a precise protocol
error, never another exception. Keyword arguments are checked when the strategy is built
(Hypothesis style guide).

The strategies live in four modules by theme, all re-exported here:
``imap_values`` (lexical rules, flags, dates, mailbox names, sequence sets, search keys,
FETCH attributes), ``imap_commands``, ``imap_responses`` and ``imap_hostile``. The
grammar's tables (character classes, flags, number bounds, response-code families,
LIST attributes, capabilities) are imported from ``reference.imap``, never repeated.

Example::

    from hypothesis import given
    from fuzz.strategies import imap
    from reference.imap.serializer_commands import write_command

    @given(imap.commands(utf8=False))
    def test_every_command_ends_with_crlf(command):
        assert b"".join(write_command(command)).endswith(b"\\r\\n")
"""

from __future__ import annotations

from fuzz.strategies.imap_commands import (
    appends,
    authenticates,
    commands,
    copies,
    creates,
    enables,
    examines,
    expunges,
    fetches,
    ids,
    lists,
    logins,
    lsubs,
    moves,
    renames,
    searches,
    selects,
    statuses,
    stores,
)
from fuzz.strategies.imap_hostile import hostile_command_bytes, hostile_response_bytes
from fuzz.strategies.imap_responses import (
    bodies,
    capability_datas,
    continuations,
    enabled_datas,
    envelopes,
    esearch_datas,
    exists_datas,
    expunge_datas,
    fetch_datas,
    fetch_items,
    flags_datas,
    id_datas,
    list_datas,
    lsub_datas,
    namespace_datas,
    recent_datas,
    response_codes,
    responses,
    search_datas,
    status_datas,
    status_responses,
    vanished_datas,
)
from fuzz.strategies.imap_values import (
    ATOM_CHARS,
    NUMBER64_MAX,
    NUMBER_MAX,
    SYSTEM_FLAGS,
    TAG_CHARS,
    astrings,
    atoms,
    capabilities,
    date_times,
    dates,
    fetch_atts,
    flag_extensions,
    flag_keywords,
    flags,
    list_mailboxes,
    mailbox_names,
    partials,
    search_keys,
    sections,
    sequence_sets,
    tags,
    texts,
    uid_sets,
)

__all__ = [
    "ATOM_CHARS",
    "NUMBER64_MAX",
    "NUMBER_MAX",
    "SYSTEM_FLAGS",
    "TAG_CHARS",
    "appends",
    "astrings",
    "atoms",
    "authenticates",
    "bodies",
    "capabilities",
    "capability_datas",
    "commands",
    "continuations",
    "copies",
    "creates",
    "date_times",
    "dates",
    "enabled_datas",
    "enables",
    "envelopes",
    "esearch_datas",
    "examines",
    "exists_datas",
    "expunge_datas",
    "expunges",
    "fetch_atts",
    "fetch_datas",
    "fetch_items",
    "fetches",
    "flag_extensions",
    "flag_keywords",
    "flags",
    "flags_datas",
    "hostile_command_bytes",
    "hostile_response_bytes",
    "id_datas",
    "ids",
    "list_datas",
    "list_mailboxes",
    "lists",
    "logins",
    "lsub_datas",
    "lsubs",
    "mailbox_names",
    "moves",
    "namespace_datas",
    "partials",
    "recent_datas",
    "renames",
    "response_codes",
    "responses",
    "search_datas",
    "search_keys",
    "searches",
    "sections",
    "selects",
    "sequence_sets",
    "status_datas",
    "status_responses",
    "statuses",
    "stores",
    "tags",
    "texts",
    "uid_sets",
    "vanished_datas",
]
