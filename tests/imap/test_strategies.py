"""The IMAP hypothesis strategies (fuzz/strategies/imap*.py) as a package: split by theme,
re-exported from ``fuzz.strategies.imap``, and built on the core's own tables."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from fuzz.strategies import imap
from reference.imap.grammar import NUMBER64_MAX, NUMBER_MAX, Cursor, GrammarError, parse_tag
from reference.imap.grammar import is_atom as grammar_is_atom
from reference.imap.grammar_values import SYSTEM_FLAGS

THEMES = ["imap_values", "imap_commands", "imap_responses", "imap_hostile"]


@pytest.mark.parametrize("name", ["imap", *THEMES])
def test_each_strategy_module_stays_small(name: str) -> None:
    """STYLE.md §B: "Modules stay under ~500 lines, split by command family"."""
    module = importlib.import_module(f"fuzz.strategies.{name}")
    assert module.__file__ is not None
    assert len(Path(module.__file__).read_text().splitlines()) <= 500


@pytest.mark.parametrize("name", THEMES)
def test_the_imap_module_reexports_every_themed_strategy(name: str) -> None:
    """``from fuzz.strategies import imap`` keeps working for every public strategy."""
    module = importlib.import_module(f"fuzz.strategies.{name}")
    for public in module.__all__:
        assert getattr(imap, public) is getattr(module, public), public
        assert public in imap.__all__


def _is_tag(char: str) -> bool:
    cursor = Cursor([char.encode()])
    try:
        parse_tag(cursor)
    except GrammarError:
        return False
    return cursor.at_end()


def test_tables_are_the_cores() -> None:
    """The strategies draw from the grammar's own tables (RFC 9051 §9 ATOM-CHAR, tag,
    number, number64, flag), so a grammar fix lands once."""
    ascii_chars = [chr(c) for c in range(0x80)]
    assert set(imap.ATOM_CHARS) == {c for c in ascii_chars if grammar_is_atom(c.encode())}
    assert set(imap.TAG_CHARS) == {c for c in ascii_chars if _is_tag(c)}
    assert (imap.NUMBER_MAX, imap.NUMBER64_MAX) == (NUMBER_MAX, NUMBER64_MAX)
    assert imap.SYSTEM_FLAGS is SYSTEM_FLAGS
