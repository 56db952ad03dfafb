"""What a server's process tree costs, read from Linux /proc (proc(5)).

``tree_cpu_seconds`` is finer than ``interop.providers.tools.process_tree_cpu_seconds``
(clock ticks, 10 ms): single IMAP commands take about a millisecond, so live threads are
read from ``/proc/PID/task/TID/schedstat`` in nanoseconds (a process whose threads ended
falls back to its utime + stime ticks, which still hold them). Children that exited and were
reaped are in their parent's cutime + cstime (ticks); Dovecot forks an imap process per
connection, and each one's time lands there when it ends, so nothing is counted twice.

``tree_memory`` sums RSS and PSS over the tree (PSS shares pages between Dovecot's many
processes fairly; RSS would count the shared libraries once per process) and reports the
largest peak RSS (VmHWM) of any one process: for Dovecot, the per-connection imap process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
_MIB = 1 << 20


def _stat_fields(pid: int) -> list[bytes]:
    """Fields 3.. of /proc/PID/stat (the command name may hold spaces and parentheses)."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        stat = f.read()
    return stat[stat.rindex(b")") + 2:].split()


def tree_pids(root_pid: int) -> list[int]:
    """``root_pid`` and every live descendant."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                parent = int(_stat_fields(int(entry))[1])      # field 4: ppid
            except (OSError, ValueError, IndexError):          # exited meanwhile
                continue
            children.setdefault(parent, []).append(int(entry))
    found, todo = [], [root_pid]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, ()))
    return found


def tree_cpu_seconds(root_pid: int) -> float:
    """User + system CPU of the tree so far: live threads in ns, reaped children in ticks."""
    seconds = 0.0
    for pid in tree_pids(root_pid):
        try:
            fields = _stat_fields(pid)
            thread_ns = 0
            for thread in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{thread}/schedstat", "rb") as f:
                    thread_ns += int(f.read().split()[0])       # time on the CPU, ns
        except (OSError, ValueError, IndexError):
            continue                                            # it exited: its parent has it
        # Threads that ended are gone from task/ but still in utime + stime (fields 14,
        # 15): the larger of the two sums is the closer one.
        own_ticks = int(fields[11]) + int(fields[12])
        children_ticks = int(fields[13]) + int(fields[14])      # fields 16, 17
        seconds += max(thread_ns / 1e9, own_ticks / _CLOCK_TICKS)
        seconds += children_ticks / _CLOCK_TICKS
    return seconds


@dataclass(frozen=True)
class TreeMemory:
    processes: int
    rss_mib: float                  # summed over the tree
    pss_mib: float                  # summed over the tree, shared pages split fairly
    largest_peak_rss_mib: float     # the largest VmHWM of a single process


def tree_memory(root_pid: int) -> TreeMemory:
    rss = pss = peak = 0
    pids = tree_pids(root_pid)
    for pid in pids:
        try:
            rss += int(_stat_fields(pid)[21]) * _PAGE_SIZE     # field 24: rss in pages
            pss += _kib_field(f"/proc/{pid}/smaps_rollup", b"Pss:") * 1024
            peak = max(peak, _kib_field(f"/proc/{pid}/status", b"VmHWM:") * 1024)
        except (OSError, ValueError, IndexError):
            continue
    return TreeMemory(len(pids), round(rss / _MIB, 1), round(pss / _MIB, 1),
                      round(peak / _MIB, 1))


def _kib_field(path: str, name: bytes) -> int:
    with open(path, "rb") as f:
        for line in f:
            if line.startswith(name):
                return int(line.split()[1])
    return 0


def disk_usage_mib(path: str | os.PathLike[str]) -> float:
    """Allocated size of everything under ``path`` (what the store takes on disk)."""
    total = 0
    for directory, _subdirectories, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(directory, name)).st_blocks * 512
            except OSError:
                continue
    return round(total / _MIB, 1)
