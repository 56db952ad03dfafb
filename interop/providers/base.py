"""The Provider abstraction: one server, started as a child process on loopback in a
temporary directory, stopped with everything it forked.

Bounded everywhere: starting waits at most ``start_timeout`` for the listeners, stopping
sends SIGTERM, waits at most ``stop_timeout``, then SIGKILLs the whole process group. The
server runs in a session of its own (so a Ctrl-C in the terminal reaches the caller, which
then stops it in order) and, on Linux, gets SIGKILL should the caller die without
stopping it.
"""

from __future__ import annotations

import abc
import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import ClassVar, NamedTuple, Self

LOOPBACK = "127.0.0.1"
TEST_DOMAIN = "example.test"
TEST_PASSWORD = "secret"
# The same users on every peer, so one load profile or conformance run fits them all.
TEST_USERS: tuple[str, ...] = ("alice", "bob", *(f"user{i:04d}" for i in range(200)))

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class ProviderError(RuntimeError):
    """A server did not start, did not stop, or did something it should not have."""


class ProviderUnavailable(ProviderError):
    """The server's software is not installed here; tests skip with this message."""


class Endpoint(NamedTuple):
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port nothing listens on right now (the kernel's choice for port 0).

    Servers whose configuration needs the number before they start get it from here; the
    small window before they bind it is harmless on a test machine.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def wait_for_port(endpoint: Endpoint, *, timeout: float, pid: int | None = None) -> None:
    """Return once ``endpoint`` accepts a TCP connection; raise ProviderError after
    ``timeout`` seconds, or at once when process ``pid`` (a child of ours) has exited."""
    deadline = time.monotonic() + timeout
    while True:
        if pid is not None and has_exited(pid):
            raise ProviderError(f"process {pid} exited before listening on {endpoint}")
        try:
            with socket.create_connection(endpoint, timeout=1.0):
                return
        except OSError:
            if time.monotonic() >= deadline:
                raise ProviderError(
                    f"nothing listens on {endpoint} after {timeout:.0f} s") from None
            time.sleep(0.05)


def has_exited(pid: int) -> bool:
    """Whether child ``pid`` has exited, without reaping it: its zombie keeps the process
    group id reserved, so the group can still be killed safely afterwards."""
    try:
        status = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:      # already reaped
        return True
    return status is not None


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL when the parent dies (Linux prctl PDEATHSIG), so
    a benchmark killed with SIGKILL leaves no daemon behind."""
    pr_set_pdeathsig = 1
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(pr_set_pdeathsig, signal.SIGKILL)


class Provider(abc.ABC):
    """One server process tree. Subclasses implement ``_launch`` (spawn with ``_spawn``,
    wait for their listeners, return the endpoints) and may override ``stored_messages``.

    Use as a context manager, or call ``start()`` and ``stop()``; ``stop()`` is safe to
    call twice and after a failed start.
    """

    name: ClassVar[str]

    def __init__(self, *, start_timeout: float = 30.0, stop_timeout: float = 10.0,
                 keep_workdir: bool = False) -> None:
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.keep_workdir = keep_workdir
        self.endpoints: dict[str, Endpoint] = {}
        self._workdir: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None

    # --- what callers use -------------------------------------------------------------

    @property
    def workdir(self) -> Path:
        if self._workdir is None:
            raise ProviderError(f"{self.name} is not started")
        return self._workdir

    @property
    def pid(self) -> int:
        """The root of the server's process tree (for CPU accounting)."""
        if self._process is None:
            raise ProviderError(f"{self.name} is not running")
        return self._process.pid

    @property
    def log_path(self) -> Path:
        """The server's standard output and error."""
        return self.workdir / "server.log"

    def start(self) -> dict[str, Endpoint]:
        if self._workdir is not None:
            raise ProviderError(f"{self.name} is already started")
        self._workdir = Path(tempfile.mkdtemp(prefix=f"rfcmail-peer-{self.name}-"))
        try:
            self.endpoints = self._launch()
        except BaseException as exc:
            detail = self.log_tail()
            self.stop()
            if isinstance(exc, ProviderError) and detail:
                raise ProviderError(f"{self.name}: {exc}\n--- server log ---\n{detail}") \
                    from exc
            raise
        return self.endpoints

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            self._terminate(process)
        workdir, self._workdir = self._workdir, None
        if workdir is not None and not self.keep_workdir:
            shutil.rmtree(workdir, ignore_errors=True)

    def stored_messages(self) -> int | None:
        """How many messages the server holds now; None for a server that discards."""
        return None

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except (OSError, ProviderError):
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()

    # --- for subclasses -----------------------------------------------------------------

    @abc.abstractmethod
    def _launch(self) -> dict[str, Endpoint]:
        """Spawn the server (``_spawn``), wait for its listeners, return its endpoints."""

    def _spawn(self, argv: Sequence[str], *, env: Mapping[str, str] | None = None,
               cwd: Path | None = None) -> subprocess.Popen[bytes]:
        """Start the server process: its own session (process group = its pid), output to
        ``log_path``, working directory the temporary one unless ``cwd`` says otherwise."""
        if self._process is not None:
            raise ProviderError(f"{self.name} already has a process")
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                cwd=cwd or self.workdir, env=dict(env) if env is not None else None,
                start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None)
        return self._process

    def _wait_for(self, endpoint: Endpoint) -> None:
        wait_for_port(endpoint, timeout=self.start_timeout,
                      pid=self._process.pid if self._process else None)

    def _terminate(self, process: subprocess.Popen[bytes]) -> None:
        """SIGTERM, a bounded wait, then SIGKILL to the whole group (stragglers too)."""
        with contextlib.suppress(ProcessLookupError):
            if not has_exited(process.pid):
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout
        while not has_exited(process.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        # The unreaped leader keeps the group id ours, whether it exited or not.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=self.stop_timeout)
