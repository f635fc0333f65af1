"""The machine a run happened on, for the report's header."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path


@dataclass(frozen=True)
class Machine:
    cpu: str
    cores: int
    memory_bytes: int
    system: str
    python: str
    xgboost: str
    date: str

    @classmethod
    def here(cls) -> Machine:
        return cls(
            cpu=_cpu_model(), cores=os.cpu_count() or 1, memory_bytes=_memory_bytes(),
            system=f"{platform.system()} {platform.release()}", python=platform.python_version(),
            xgboost=version("xgboost"), date=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        )


def load_average() -> float:
    """The 1-minute load average: other work on the machine competes with the benchmark for its cores."""
    return os.getloadavg()[0]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_bytes() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
