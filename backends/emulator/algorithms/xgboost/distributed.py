"""Training on several hosts with XGBoost's own collective engine, as the container's `distributed.py` does it.

The container (sagemaker_xgboost_container.distributed, read for this; its code is not used) runs on each host:

1. every host loads its own data first (a DMatrix loaded after the engine starts would be split again);
2. a first round of the engine over all hosts, in which each host tells the others whether it has data (its
   training channel and, if the job has one, its validation channel); a host without data logs a warning and
   ends with exit code 0;
3. a second round over the hosts with data only, on the next port, in which `xgb.train` runs: every boosting
   round allreduces the gradient statistics, so all hosts grow the same trees; with one host left it trains
   alone, and with none the job fails (`No hosts received training data.`);
4. the master, the alphabetically first host of the round (`sorted(hosts)[0]`, so `algo-1` before `algo-10`
   before `algo-2`), runs the tracker and is the only host that saves the model.

The engine is the release's own: `xgboost.rabit` with the Python `xgboost.tracker.RabitTracker` in 1.0 ... 1.7,
`xgboost.collective` with the native `xgboost.tracker.RabitTracker` in 2.x and 3.x. 0.72 and 0.90 ship
`rabit` but no tracker (the 0.90 container brings dmlc-core's): their workers are served by the emulator's own
tracker of the same protocol (`tracker.py`).

Here all hosts are processes on one machine: the tracker listens on the loopback address, on ports the emulator
picked free, and a host whose tracker is not up yet waits for the master's "ready" file in the job's rendezvous
directory (on SageMaker a host waits for the others' DNS names instead). A host's rank is its index in the
sorted host list (the 3.x container's `sortby="task"`; the 1.0 ... 1.5 trackers order workers by address, all
equal here, so the task id is made their sort key), so the same job gives the same ranks every time.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import library

# How long a host waits for the master's tracker (the master loads its data first, as every host does).
TRACKER_WAIT_SECONDS = 300.0


@dataclass(frozen=True)
class Cluster:
    """What a host knows of the job's hosts: resourceconfig.json's, and where the emulator put the tracker."""

    hosts: tuple[str, ...]
    current_host: str
    address: str  # the tracker's address (every host is this machine)
    ports: tuple[int, int]  # the first round's, then the training round's
    rendezvous: Path  # a directory every host of the job sees

    @classmethod
    def read(cls, path: Path | str, hosts: list[str], current_host: str) -> Cluster:
        settings = json.loads(Path(path).read_text())
        first, second = settings["ports"]
        return cls(tuple(hosts), current_host, str(settings["address"]), (int(first), int(second)),
                   Path(settings["rendezvous"]))


def master_of(hosts: list[str] | tuple[str, ...]) -> str:
    return sorted(hosts)[0]


@contextlib.contextmanager
def engine(hosts: list[str], cluster: Cluster, port: int) -> Iterator[int]:
    """XGBoost's engine started over `hosts` (the current host among them); yields this host's rank."""
    ordered = sorted(hosts)
    task = ordered.index(cluster.current_host)
    master = task == 0
    ready = cluster.rendezvous / f"tracker-{port}.ready"
    if library.HAS_COLLECTIVE_TRACKER:
        with _collective(len(ordered), task, master, cluster.address, port, ready) as rank:
            yield rank
    else:
        with _rabit(len(ordered), task, master, cluster.address, port, ready) as rank:
            yield rank


def broadcast_all(value: Any, world_size: int, rank: int) -> list[Any]:
    """Every host's `value`, in rank order (the container's `synchronize`)."""
    return [library.broadcast(value if i == rank else None, i) for i in range(world_size)]


@contextlib.contextmanager
def _collective(n: int, task: int, master: bool, address: str, port: int, ready: Path) -> Iterator[int]:
    from xgboost import collective
    from xgboost.tracker import RabitTracker

    tracker = None
    if master:
        tracker = RabitTracker(n_workers=n, host_ip=address, port=port, sortby="task")
        tracker.start()
        ready.touch()
    else:
        _wait_for(ready)
    try:
        with collective.CommunicatorContext(dmlc_tracker_uri=address, dmlc_tracker_port=port,
                                            dmlc_task_id=str(task)):
            yield int(collective.get_rank())
    finally:
        if tracker is not None:
            with contextlib.suppress(Exception):
                tracker.wait_for(5)
            with contextlib.suppress(Exception):
                tracker.free()


@contextlib.contextmanager
def _rabit(n: int, task: int, master: bool, address: str, port: int, ready: Path) -> Iterator[int]:
    rabit: Any = importlib.import_module("xgboost.rabit")  # gone from 2.0, so not in the type stubs
    tracker: Any = None
    if master:
        tracker = _start_python_tracker(n, address, port)
        ready.touch()
    else:
        _wait_for(ready)
    rabit.init([f"DMLC_NUM_WORKER={n}".encode(), f"DMLC_TRACKER_URI={address}".encode(),
                f"DMLC_TRACKER_PORT={port}".encode(), f"DMLC_TASK_ID={task}".encode()])
    try:
        yield int(rabit.get_rank())
    finally:
        rabit.finalize()
        if tracker is not None:
            tracker.join()


def _start_python_tracker(n: int, address: str, port: int) -> Any:
    """The release's own Python tracker (1.0 ... 1.7), or the emulator's for 0.72 and 0.90, started."""
    release = library.release_parts(library.RELEASE)
    if release < (1, 0):
        from .tracker import Tracker

        own = Tracker(address, port, n)
        own.start()
        return own
    tracker_module: Any = importlib.import_module("xgboost.tracker")
    if release >= (1, 7):
        tracker = tracker_module.RabitTracker(host_ip=address, n_workers=n, port=port, sortby="task")
    else:
        _order_workers_by_task(tracker_module)
        tracker = tracker_module.RabitTracker(hostIP=address, nslave=n, port=port, port_end=port + 1)
    tracker.start(n)
    return tracker


class _TaskOrdered(str):
    """A worker's address that sorts by its task id: the 1.0 ... 1.5 trackers sort pending workers by address
    only, and every host here has the same one. It is still sent to the other workers as the address."""

    task = ""

    def __lt__(self, other: object) -> bool:
        return _task_key(self) < _task_key(other)


def _task_key(value: object) -> tuple[int, str]:
    task = str(getattr(value, "task", ""))
    return (int(task), "") if task.isdigit() else (1 << 30, task)


def _order_workers_by_task(tracker_module: Any) -> None:
    entry = tracker_module.SlaveEntry
    if getattr(entry, "_orders_by_task", False):
        return

    class TaskOrderedEntry(entry):  # type: ignore[misc, valid-type]
        _orders_by_task = True

        def __init__(self, sock: Any, s_addr: Any) -> None:
            super().__init__(sock, s_addr)
            host = _TaskOrdered(getattr(self, "host"))  # noqa: B009 - set by the release's own __init__
            host.task = str(getattr(self, "jobid"))  # noqa: B009
            setattr(self, "host", host)  # noqa: B010

    tracker_module.SlaveEntry = TaskOrderedEntry


def _wait_for(ready: Path) -> None:
    deadline = time.monotonic() + TRACKER_WAIT_SECONDS
    while not ready.exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"The master host's tracker did not start within {TRACKER_WAIT_SECONDS:.0f} s.")
        time.sleep(0.01)


