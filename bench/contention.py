"""How much of the machine other work used while the benchmark ran.

The benchmark's figures assume it had the machine to itself; on a shared machine they do not hold, so the
report says how far that was true: CPU time the whole machine spent busy (/proc/stat, steal included) minus the
CPU time of the benchmark and all its descendants. The emulator's process server outlives `harness serve` by a
moment and would be reparented to init, taking its CPU time with it; as a child subreaper this process
inherits and reaps it instead, so `RUSAGE_CHILDREN` covers the whole tree. Linux only.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import resource
import time
from pathlib import Path
from types import TracebackType

_PR_SET_CHILD_SUBREAPER = 36
_REAP_SECONDS = 10.0


class OtherLoad:
    def __init__(self) -> None:
        self.other_cpu_seconds = 0.0
        self.wall_seconds = 0.0
        self._start = (0.0, 0.0, 0.0)

    @property
    def share(self) -> float:
        """Other work's CPU time as a share of the machine's capacity during the run (0 to 1)."""
        capacity = self.wall_seconds * (os.cpu_count() or 1)
        return max(0.0, self.other_cpu_seconds / capacity) if capacity else 0.0

    def __enter__(self) -> OtherLoad:
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        self._start = (time.monotonic(), _machine_busy_seconds(), _own_cpu_seconds())
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        _reap_orphans()
        wall, busy, own = time.monotonic(), _machine_busy_seconds(), _own_cpu_seconds()
        self.wall_seconds = wall - self._start[0]
        self.other_cpu_seconds = max(0.0, (busy - self._start[1]) - (own - self._start[2]))


def _machine_busy_seconds() -> float:
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()
    except OSError:
        return 0.0
    # cpu user nice system idle iowait irq softirq steal ...
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _own_cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _reap_orphans() -> None:
    """Wait for descendants reparented to this process (they exit once the emulator has)."""
    deadline = time.monotonic() + _REAP_SECONDS
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.05)
