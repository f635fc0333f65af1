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


def supervise_hosts(processes: list[Supervised], stop: threading.Event, deadline: float | None,
                    shippers: list[LogShipper], grace_seconds: float, poll_seconds: float = 0.02,
                    ship_every: float = 0.1, end_others_on_failure: bool = True
                    ) -> tuple[list[int], bool, int | None]:
    """Wait for the processes of a job's hosts; returns (their exit codes, whether the deadline was hit, the index
    of the first host that failed or None).

    On `stop` or the deadline every host gets SIGTERM (SIGKILL after `grace_seconds`); when one host fails, the
    others are ended the same way (on SageMaker a job ends when any instance's algorithm fails), unless
    `end_others_on_failure` is False (a transform's instances each finish their own objects).
    """
    if len(processes) == 1:
        code, timed_out = supervise(processes[0], stop, deadline, shippers[0], grace_seconds, poll_seconds,
                                    ship_every)
        return [code], timed_out, (0 if code != 0 and not stop.is_set() else None)
    timed_out = False
    failed: int | None = None
    last_ship = 0.0
    while any(process.poll() is None for process in processes):
        now = time.time()
        if deadline is not None and now >= deadline:
            timed_out = True
            stop.set()
        if failed is None and not stop.is_set():
            failed = next((i for i, process in enumerate(processes) if process.poll() not in (None, 0)), None)
        if stop.is_set() or (failed is not None and end_others_on_failure):
            _end_all(processes, grace_seconds)
            break
        if now - last_ship >= ship_every:
            for shipper in shippers:
                shipper.pump()
            last_ship = now
        time.sleep(poll_seconds)
    if failed is None and not stop.is_set():
        failed = next((i for i, process in enumerate(processes) if process.poll() not in (None, 0)), None)
    for shipper in shippers:
        shipper.pump(final=True)
    return [process.poll() or 0 for process in processes], timed_out, failed


def _end_all(processes: list[Supervised], grace_seconds: float) -> None:
    running = [process for process in processes if process.poll() is None]
    for process in running:
        process.terminate()
    end = time.time() + grace_seconds
    for process in running:
        if process.wait(max(0.0, end - time.time())) is None:
            process.kill()
            process.wait()
