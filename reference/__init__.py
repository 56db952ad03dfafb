"""rfcmail's reference mail server: spec-faithful SMTP on an embedded store.

Each protocol package keeps three rings (../DESIGN.md, STYLE.md §A): a sans-IO core
(grammar, commands, replies, state table, connection), a session that maps events to
store calls, and a thin asyncio adapter.
"""

__version__ = "0.1.0"
