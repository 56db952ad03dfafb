"""rfcmail itself as a provider: ``rfcmail serve`` on a temporary data directory, with the
domain and accounts provisioned through the ``rfcmail`` command line beforehand, so the
server is started exactly as its users start it. Provisioning runs once per set of
accounts and process; every start copies that data directory (before the server opens it).

Endpoints: ``smtp`` (inbound, RFC 5321) and, when asked for, ``submission`` (RFC 6409,
STARTTLS) and ``imap`` (RFC 9051, plaintext on loopback). ``imap`` needs a build whose
``rfcmail serve`` has ``--imap`` (``rfcmail_has_imap()``); the IMAP flags are passed only
when ``serve --help`` lists them, so builds without IMAP still start for SMTP. The store
is ``<workdir>/data/rfcmail.sqlite3``; ``stored_messages()`` opens it read-only and
counts ``mailbox_messages``, so a test can check that what the server acknowledged was
really stored.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from interop.providers.base import (
    LOOPBACK,
    PROJECT_ROOT,
    TEST_DOMAIN,
    TEST_PASSWORD,
    TEST_USERS,
    Endpoint,
    Provider,
    ProviderError,
    ProviderUnavailable,
    free_port,
)

_CLI_TIMEOUT = 60.0
# `rfcmail serve --help`'s options, per executable: asked once per process.
_serve_options: dict[str, frozenset[str]] = {}


def rfcmail_executable() -> str:
    """The checkout's own console script first, then whatever ``rfcmail`` is on PATH."""
    for candidate in (PROJECT_ROOT / ".venv" / "bin" / "rfcmail", shutil.which("rfcmail")):
        if candidate and os.access(candidate, os.X_OK):
            return str(candidate)
    raise ProviderUnavailable("no rfcmail executable: run scripts/setup.sh")


def serve_options(executable: str | None = None) -> frozenset[str]:
    """The long options ``rfcmail serve --help`` lists (e.g. ``--imap``); empty when the
    executable is missing or fails."""
    try:
        executable = executable or rfcmail_executable()
    except ProviderUnavailable:
        return frozenset()
    if executable not in _serve_options:
        try:
            completed = subprocess.run([executable, "serve", "--help"], capture_output=True,
                                       text=True, timeout=_CLI_TIMEOUT, check=False)
            text = completed.stdout if completed.returncode == 0 else ""
        except (OSError, subprocess.TimeoutExpired):
            text = ""
        _serve_options[executable] = frozenset(re.findall(r"--[a-z][a-z0-9-]*", text))
    return _serve_options[executable]


def rfcmail_has_imap(executable: str | None = None) -> bool:
    """Whether this rfcmail can serve IMAP (``serve --imap``)."""
    return "--imap" in serve_options(executable)


def rfcmail_version(executable: str | None = None) -> str | None:
    try:
        completed = subprocess.run([executable or rfcmail_executable(), "--version"],
                                   capture_output=True, text=True, timeout=_CLI_TIMEOUT,
                                   check=False)
    except (ProviderUnavailable, OSError, subprocess.TimeoutExpired):
        return None
    return completed.stdout.strip() if completed.returncode == 0 else None


class RfcmailProvider(Provider):
    """``rfcmail serve`` with ``users`` (local parts) as accounts on ``domain``.

    ``workers`` is passed as ``--workers`` (None: the server's default); ``submission``
    adds a submission listener; ``imap`` an IMAP listener (ProviderUnavailable when this
    build has none). Other listeners the server would open by default are turned off, so
    that instances never collide on fixed ports. ``config`` is the text
    of a TOML configuration file (e.g. ``"[smtp.limits]\ntransactions = 50000\n"``);
    the flags given here take precedence over it. ``hostname`` is the name the server
    greets with (``--hostname``); by default ``mail.<domain>``, a fully qualified name
    (RFC 5321 §2.3.5 MUST NOT: "Local nicknames or unqualified names MUST NOT be
    used"), where the server's own default would be "localhost".
    """

    name = "rfcmail"

    def __init__(self, *, users: Sequence[str] = TEST_USERS, domain: str = TEST_DOMAIN,
                 password: str = TEST_PASSWORD, workers: int | None = None,
                 submission: bool = False, imap: bool = False,
                 executable: str | None = None, hostname: str | None = None,
                 config: str = "", **options: Any) -> None:
        super().__init__(**options)
        self.users = tuple(users)
        self.domain = domain
        self.password = password
        self.workers = workers
        self.submission = submission
        self.imap = imap
        self.executable = executable
        self.hostname = hostname or f"mail.{domain}"
        self.config = config

    @property
    def data_dir(self) -> Path:
        return self.workdir / "data"

    @property
    def store_path(self) -> Path:
        return self.data_dir / "rfcmail.sqlite3"

    def stored_messages(self) -> int:
        """Rows of ``mailbox_messages``: one per message in a mailbox, all accounts."""
        # mode=ro: a reader never takes the write lock from the server it watches.
        uri = f"{self.store_path.as_uri()}?mode=ro"
        try:
            with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=10.0)) as db:
                (count,) = db.execute("SELECT count(*) FROM mailbox_messages").fetchone()
        except sqlite3.Error as exc:
            raise ProviderError(f"cannot count messages in {self.store_path}: {exc}") \
                from exc
        return int(count)

    def _launch(self) -> dict[str, Endpoint]:
        executable = self.executable or rfcmail_executable()
        options = serve_options(executable)
        if self.imap and "--imap" not in options:
            raise ProviderUnavailable(
                "this rfcmail has no IMAP server yet (`rfcmail serve --help` lacks --imap)")
        template = _provisioned_data_dir(executable, self.domain, self.users, self.password)
        shutil.copytree(template, self.data_dir)

        endpoints = {"smtp": Endpoint(LOOPBACK, free_port())}
        if self.submission:
            endpoints["submission"] = Endpoint(LOOPBACK, free_port())
        if self.imap:
            endpoints["imap"] = Endpoint(LOOPBACK, free_port())
        argv = [executable, "serve", "--data-dir", str(self.data_dir),
                "--smtp", str(endpoints["smtp"]),
                "--submission", str(endpoints.get("submission", "")),   # "" = off
                "--submissions", ""]
        # Passed only where this build knows them: without IMAP, SMTP alone still starts.
        if "--imap" in options:
            argv += ["--imap", str(endpoints.get("imap", ""))]
        if "--imaps" in options:
            argv += ["--imaps", ""]
        if "--hostname" in options:
            argv += ["--hostname", self.hostname]
        if self.workers is not None:
            argv += ["--workers", str(self.workers)]
        if self.config:
            config_file = self.workdir / "rfcmail.toml"
            config_file.write_text(self.config)
            argv += ["--config", str(config_file)]
        self._spawn(argv, env=_environment(self.data_dir))
        for endpoint in endpoints.values():
            self._wait_for(endpoint)
        return endpoints


# One provisioned data directory per (executable, domain, users, password) and process:
# the CLI takes ~0.2 s per account, so 202 accounts cost 40 s once, not at every start.
_templates: dict[tuple[str, str, tuple[str, ...], str], Path] = {}


def _provisioned_data_dir(executable: str, domain: str, users: tuple[str, ...],
                          password: str) -> Path:
    key = (executable, domain, users, password)
    if key not in _templates:
        if not _templates:
            atexit.register(_remove_templates)
        data_dir = Path(tempfile.mkdtemp(prefix="rfcmail-peer-template-")) / "data"
        try:
            _run_cli(executable, data_dir, "domain", "add", domain)
            for user in users:
                _run_cli(executable, data_dir, "account", "add", f"{user}@{domain}",
                         "--password", password)
        except BaseException:
            shutil.rmtree(data_dir.parent, ignore_errors=True)
            raise
        _templates[key] = data_dir
    return _templates[key]


def _remove_templates() -> None:
    for data_dir in _templates.values():
        shutil.rmtree(data_dir.parent, ignore_errors=True)
    _templates.clear()


def _run_cli(executable: str, data_dir: Path, *arguments: str) -> None:
    argv = [executable, *arguments, "--data-dir", str(data_dir)]
    try:
        completed = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                                   text=True, cwd=data_dir.parent,
                                   env=_environment(data_dir), timeout=_CLI_TIMEOUT,
                                   check=False)
    except subprocess.TimeoutExpired as exc:
        raise ProviderError(f"`{' '.join(argv)}` took over {_CLI_TIMEOUT:.0f} s") from exc
    if completed.returncode != 0:
        output = (completed.stderr or completed.stdout).strip()
        raise ProviderError(f"`rfcmail {' '.join(arguments)}` failed "
                            f"(status {completed.returncode}): {output[-2000:]}")


def _environment(data_dir: Path) -> dict[str, str]:
    # $RFCMAIL_DATA_DIR would override --data-dir: point it at ours as well.
    return {**os.environ, "RFCMAIL_DATA_DIR": str(data_dir)}
