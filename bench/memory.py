"""Peak memory of a process tree, sampled: the bare child, or the emulator with its process server and jobs.

Both sides are measured the same way: every `interval` seconds (and whenever asked) the proportional set size
(PSS) of the root process and all its descendants is summed. PSS rather than RSS because job processes are
forked from a server that has XGBoost loaded: RSS would count those shared pages once per process. A peak
shorter than the interval can be missed; the bare child's own `ru_maxrss` is reported beside it as a check.
Linux only (/proc).
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

_PROC = Path("/proc")


class TreeMemory:
    def __init__(self, root_pid: int, interval: float = 0.1) -> None:
        self.root_pid = root_pid
        self.interval = interval
        self.samples: list[tuple[float, int]] = []  # (time.time(), bytes)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"memory-{root_pid}", daemon=True)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def sample(self) -> int:
        """Take one sample now (phase boundaries call this, so that short phases have samples too)."""
        total = sum(process_pss(pid) for pid in tree_pids(self.root_pid))
        with self._lock:
            self.samples.append((time.time(), total))
        return total

    def peak(self, start: float, end: float) -> int:
        """The largest sample taken between `start` and `end` (time.time() values); 0 if none."""
        with self._lock:
            return max((size for at, size in self.samples if start <= at <= end), default=0)

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


def process_pss(pid: int) -> int:
    """Bytes of PSS of `pid` (RSS where smaps_rollup is missing); 0 once it has exited."""
    try:
        for line in (_PROC / str(pid) / "smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except FileNotFoundError:
        pass
    except (ProcessLookupError, PermissionError):
        return 0
    try:
        pages = int((_PROC / str(pid) / "statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0
    return pages * os.sysconf("SC_PAGE_SIZE")


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
