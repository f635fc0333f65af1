"""Memory and CPU time of a process tree, sampled: the bare child, or the emulator with its process server and
job processes.

Both sides are measured the same way: every `interval` seconds (and whenever asked) the resident set size (RSS)
of the root process and all its descendants is summed. Pages shared between processes (libraries, and the
process server's memory that its forked jobs share) count once per process, so a tree's sum is an upper bound.
RSS rather than PSS because PSS (/proc/<pid>/smaps_rollup) walks the page tables of the process under its
memory-map lock: sampling a job's gigabytes that way ten times a second slowed the job down by 10 to 30 %.
A peak shorter than the interval can be missed; the bare child's own `ru_maxrss` is reported beside it.

CPU time of the tree: each live process's own time plus that of its children it has reaped (a job's time moves
to the process server when the job ends), so nothing is counted twice. Linux only (/proc).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

_PROC = Path("/proc")
_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class Sample:
    at: float  # time.time()
    rss_bytes: int
    cpu_seconds: float


class TreeSampler:
    def __init__(self, root_pid: int, interval: float = 0.1) -> None:
        self.root_pid = root_pid
        self.interval = interval
        self.samples: list[Sample] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"memory-{root_pid}", daemon=True)

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def sample(self) -> Sample:
        """Take one sample now (phase boundaries call this, so that every phase has samples at its ends)."""
        pids = tree_pids(self.root_pid)
        taken = Sample(time.time(), sum(process_rss(pid) for pid in pids), sum(process_cpu(pid) for pid in pids))
        with self._lock:
            self.samples.append(taken)
        return taken

    def peak(self, start: float, end: float) -> int:
        """The largest summed RSS sampled between `start` and `end` (time.time() values); 0 if none."""
        return max((s.rss_bytes for s in self._between(start, end)), default=0)

    def cpu_seconds(self, start: float, end: float) -> float:
        """CPU time the tree used between the first and the last sample taken between `start` and `end`."""
        window = self._between(start, end)
        return window[-1].cpu_seconds - window[0].cpu_seconds if window else 0.0

    def _between(self, start: float, end: float) -> list[Sample]:
        with self._lock:
            return [s for s in self.samples if start <= s.at <= end]

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()


def tree_pids(root: int) -> list[int]:
    """`root` and every live descendant of it."""
    found: list[int] = []
    pending = [root]
    while pending:
        pid = pending.pop()
        found.append(pid)
        pending.extend(_children(pid))
    return found


def process_rss(pid: int) -> int:
    """Bytes of RSS of `pid`; 0 once it has exited."""
    try:
        pages = int((_PROC / str(pid) / "statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0
    return pages * _PAGE


def process_cpu(pid: int) -> float:
    """Seconds of CPU of `pid` and of its reaped children; 0 once it has exited."""
    try:
        stat = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return 0.0
    # Fields after the command (which may hold spaces), from field 3: utime is 14, stime 15, cutime 16, cstime 17.
    fields = stat[stat.rindex(")") + 2:].split()
    return sum(int(v) for v in fields[11:15]) / _TICKS


def _children(pid: int) -> list[int]:
    # Each thread lists the children it created; the emulator starts its process server from a worker thread.
    children: list[int] = []
    try:
        tasks = list((_PROC / str(pid) / "task").iterdir())
    except OSError:
        return children
    for task in tasks:
        try:
            children.extend(int(child) for child in (task / "children").read_text().split())
        except OSError:
            continue  # the thread ended meanwhile
    return children
