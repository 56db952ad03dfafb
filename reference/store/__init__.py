"""Mail storage: the ``MailStore`` interface (``interface``) and its backends.

``open_store`` picks the backend from where the data lives:

- ``/var/lib/rfcmail/mail.db`` or ``data/mail.db``: a SQLite file (embedded, the default);
- ``sqlite:///var/lib/rfcmail/mail.db``: the same, as a URL. The path is the URL's path,
  as in ``file:`` URLs: three slashes then an absolute path; ``sqlite:data/mail.db`` is
  relative. (SQLAlchemy's ``sqlite:////abs`` spelling also works: "//abs" is "/abs".)
- ``postgresql://...``: the PostgreSQL backend, for several machines (not available yet).
"""

from __future__ import annotations

import os
from urllib.parse import unquote, urlsplit

from reference.store.interface import MailStore, StoreError
from reference.store.sqlite import (
    DEFAULT_BUSY_TIMEOUT_MS,
    DEFAULT_READ_THREADS,
    SqliteStore,
)
from reference.store.sqlite_commit import DEFAULT_MAX_BATCH
from reference.store.sqlite_watch import DEFAULT_WATCH_INTERVAL

__all__ = ["MailStore", "SqliteStore", "StoreError", "open_store"]


async def open_store(path_or_url: str | os.PathLike[str], *,
                     busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
                     max_batch: int = DEFAULT_MAX_BATCH,
                     read_threads: int = DEFAULT_READ_THREADS,
                     watch_interval: float = DEFAULT_WATCH_INTERVAL) -> MailStore:
    """Open the store at ``path_or_url`` (see the module docstring for the forms).
    The keyword options tune the SQLite backend."""
    target = os.fspath(path_or_url)
    scheme = target.partition(":")[0].lower()
    if "://" not in target and scheme != "sqlite":
        scheme = ""                 # a plain file path (even "C:\\mail.db")
    if scheme in ("postgresql", "postgres"):
        # The PostgreSQL backend (reference/store/postgres.py, psycopg 3) goes here.
        raise StoreError("the PostgreSQL store backend is not available yet")
    if scheme == "sqlite":
        parts = urlsplit(target)
        if parts.netloc or parts.query or parts.fragment:
            raise StoreError(f"a sqlite URL is sqlite:///path, got {target!r}")
        target = unquote(parts.path)
    elif scheme:
        raise StoreError(f"unknown store URL scheme {scheme!r} in {target!r}")
    return await SqliteStore.open(target, busy_timeout_ms=busy_timeout_ms,
                                  max_batch=max_batch, read_threads=read_threads,
                                  watch_interval=watch_interval)
