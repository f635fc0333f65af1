"""Watching a job process: ship its log as it grows, stop it on request or deadline, return its exit code."""

from __future__ import annotations

import threading
import time
from typing import Protocol

from .cloudwatch import LogShipper


class Supervised(Protocol):
    """A job's process: a forked one (`processes.JobProcess`) or a container (`docker_runner.ContainerProcess`)."""

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int | None: ...

    def terminate(self) -> None: ...

    def kill(self) -> None: ...


def supervise(process: Supervised, stop: threading.Event, deadline: float | None, shipper: LogShipper,
              grace_seconds: float, poll_seconds: float = 0.02, ship_every: float = 0.1) -> tuple[int, bool]:
    """Wait for `process`; returns (exit code, whether the deadline was hit).

    On `stop` (or the deadline) the process gets SIGTERM, then SIGKILL after `grace_seconds`.
    """
    timed_out = False
    last_ship = 0.0
    while process.poll() is None:
        now = time.time()
        if deadline is not None and now >= deadline:
            timed_out = True
            stop.set()
        if stop.is_set():
            process.terminate()
            if process.wait(grace_seconds) is None:
                process.kill()
                process.wait()
            break
        if now - last_ship >= ship_every:
            shipper.pump()
            last_ship = now
        time.sleep(poll_seconds)
    shipper.pump(final=True)
    return process.poll() or 0, timed_out


class JobSlot:
    """Holds one of the executor's running-job slots; a job waiting for one can still be stopped."""

    def __init__(self, slots: threading.Semaphore, stop: threading.Event, stopped: type[Exception]) -> None:
        self.slots = slots
        self.stop = stop
        self.stopped = stopped

    def __enter__(self) -> None:
        while not self.slots.acquire(timeout=0.1):
            if self.stop.is_set():
                raise self.stopped

    def __exit__(self, *exc: object) -> None:
        self.slots.release()
