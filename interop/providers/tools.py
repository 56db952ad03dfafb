"""Measuring tools: Postfix's smtp-source as the load generator, and the CPU time of a
whole process tree read from /proc.

smtp-source (C, from the postfix package; ``smtp-source(1)``) opens ``sessions`` parallel
connections and sends ``messages`` messages in total, each to one recipient, one TCP
connection per message unless ``persistent``. What it sends (seen on the wire, Postfix
3.7): ``HELO`` (``LHLO`` with ``lmtp``), never EHLO and so no ESMTP extension and no
pipelining; one command per round trip; CRLF line endings; a header of From, To, Date and
Message-Id, then a body of ``length`` bytes in lines of 78 characters (80 octets with
CRLF); QUIT after each message, or the next MAIL on the same connection with ``persistent``.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import time
from dataclasses import dataclass

from interop.providers.base import Endpoint, ProviderError, ProviderUnavailable

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# --- process-tree CPU ---------------------------------------------------------------------


def _ppid_and_ticks(pid: int) -> tuple[int, int]:
    """Parent pid and utime+stime+cutime+cstime of ``pid`` from /proc/PID/stat (proc(5))."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        stat = f.read()
    # The command name is in parentheses and may contain spaces or ")": split after the last.
    fields = stat[stat.rindex(b")") + 2:].split()
    # fields[0] is field 3 of proc(5) (state): ppid is field 4, utime..cstime 14..17.
    return int(fields[1]), sum(int(x) for x in fields[11:15])


def process_tree_cpu_seconds(root_pid: int) -> float:
    """CPU seconds (user + system) spent so far by ``root_pid``, its reaped children
    (cutime/cstime) and every live descendant.

    Read it before and after a run: the difference is the server's CPU for the run, also
    for servers that fork per connection (Dovecot), whose children come and go: a child
    that exits and is reaped moves its time into its parent's cutime, so it is counted
    exactly once either way.
    """
    children: dict[int, list[int]] = {}
    ticks: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        try:
            ppid, used = _ppid_and_ticks(pid)
        except (OSError, ValueError, IndexError):   # exited while we were reading
            continue
        children.setdefault(ppid, []).append(pid)
        ticks[pid] = used
    if root_pid not in ticks:
        raise ProviderError(f"process {root_pid} is not running")
    total, todo = 0, [root_pid]
    while todo:
        pid = todo.pop()
        total += ticks.get(pid, 0)
        todo.extend(children.get(pid, ()))
    return total / _CLOCK_TICKS


def machine_busy_seconds() -> float:
    """CPU seconds all CPUs together have spent not idle since boot (/proc/stat, proc(5)).

    Its growth during a run, minus the server's and the load generator's, is what other
    work took from the machine meanwhile: the noise in a throughput figure.
    """
    with open("/proc/stat") as f:
        fields = f.readline().split()    # "cpu  user nice system idle iowait irq ..."
    # Guest time is already inside user and nice. Steal (the hypervisor ran someone
    # else) counts as busy: it is noise for the run all the same.
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, fields[1:9])
    return (user + nice + system + irq + softirq + steal) / _CLOCK_TICKS


# --- smtp-source ----------------------------------------------------------------------------


def smtp_source_path() -> str:
    """The smtp-source executable; ProviderUnavailable when postfix is not installed."""
    path = shutil.which("smtp-source") or "/usr/sbin/smtp-source"
    if not os.access(path, os.X_OK):
        raise ProviderUnavailable(
            "smtp-source not found: install postfix (scripts/install-peers.sh)")
    return path


@dataclass(frozen=True)
class LoadSpec:
    """One smtp-source run: ``messages`` in total over ``sessions`` parallel connections."""

    messages: int
    sessions: int = 20
    length: int = 2048              # body bytes per message (smtp-source -l)
    persistent: bool = False        # -d: next message on the same connection
    lmtp: bool = False              # -L: speak LMTP (LHLO) instead of SMTP
    sender: str = "load@example.test"
    recipient: str = "user0000@example.test"
    helo_name: str = "smtp-source.localhost"

    def argv(self, executable: str, target: Endpoint) -> list[str]:
        argv = [executable, "-m", str(self.messages), "-s", str(self.sessions),
                "-l", str(self.length), "-f", self.sender, "-t", self.recipient,
                "-M", self.helo_name]
        if self.persistent:
            argv.append("-d")
        if self.lmtp:
            argv.append("-L")
        argv.append(f"inet:{target}")
        return argv


@dataclass(frozen=True)
class LoadResult:
    messages: int
    wall_seconds: float
    client_cpu_seconds: float       # smtp-source's own user + system time

    @property
    def messages_per_second(self) -> float:
        return self.messages / self.wall_seconds


class LoadError(RuntimeError):
    """smtp-source failed (a reply it did not expect, a refused connection) or timed out."""


def run_smtp_source(spec: LoadSpec, target: Endpoint, *, timeout: float) -> LoadResult:
    """Run smtp-source to completion against ``target``; at most ``timeout`` seconds.

    smtp-source stops with a non-zero status at the first reply it did not expect, so a
    zero status means the server accepted every message.
    """
    argv = spec.argv(smtp_source_path(), target)
    # RUSAGE_CHILDREN grows only when a child is reaped: during the run that is
    # smtp-source alone (the servers are reaped when they stop).
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    try:
        completed = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                                   timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise LoadError(f"smtp-source did not finish within {timeout:.0f} s: "
                        f"{' '.join(argv)}") from exc
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if completed.returncode != 0:
        output = (completed.stderr or completed.stdout).decode(errors="replace").strip()
        raise LoadError(f"smtp-source exited with status {completed.returncode}: "
                        f"{output[-1000:]}")
    client_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return LoadResult(messages=spec.messages, wall_seconds=wall,
                      client_cpu_seconds=client_cpu)
