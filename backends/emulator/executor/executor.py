"""The executor: runs jobs in the background, one thread supervising each job's process."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Protocol

from ..sagemaker import status
from .clients import AwsClients
from .processes import warm_up
from .training import INTERNAL_ERROR, RunSettings, TrainingRecorder, TrainingRun
from .transform import TransformRecorder, TransformRun
from .tuner import TuningRun


class _Run(Protocol):
    def run(self) -> None: ...

    def stop(self) -> None: ...


class Executor:
    def __init__(self, training: TrainingRecorder, transforms: TransformRecorder, clients: AwsClients, root: Path,
                 max_running_jobs: int = 4, settings: RunSettings | None = None) -> None:
        self.training = training
        self.transforms = transforms
        self.clients = clients
        self.root = root
        self.settings = settings or RunSettings()
        # Jobs beyond this many wait for a slot, so a burst of jobs cannot exhaust the machine.
        self._slots = threading.Semaphore(max(1, max_running_jobs))
        self._runs: dict[tuple[str, str, str], tuple[_Run, threading.Thread]] = {}
        self._lock = threading.Lock()
        self.tuning: Any = None  # the control plane's TuningJobs, for tuning jobs' runs

    def warm_up(self) -> None:
        """Start the warm process server in the background."""
        threading.Thread(target=warm_up, name="warm-up", daemon=True).start()

    def recover(self, training: list[tuple[str, dict[str, Any]]], transforms: list[tuple[str, dict[str, Any]]]
                ) -> None:
        """Jobs that were running when the emulator died cannot resume: they end Failed, as on SageMaker."""
        for region, job in training:
            self.training.advance(region, job["TrainingJobName"], "Failed", status.FAILED,
                                  FailureReason=INTERNAL_ERROR)
        for region, job in transforms:
            self.transforms.set_status(region, job["TransformJobName"], "Failed", FailureReason=INTERNAL_ERROR)

    def start_training(self, region: str, name: str) -> None:
        run = TrainingRun(region, name, self.training, self.clients, self.root / "training" / region / name,
                          self.settings, self._slots)
        self._start(("training", region, name.lower()), run)

    def stop_training(self, region: str, name: str) -> None:
        self._stop(("training", region, name.lower()))

    def start_transform(self, region: str, name: str) -> None:
        run = TransformRun(region, name, self.transforms, self.clients, self.root / "transform" / region / name,
                           self.settings, self._slots)
        self._start(("transform", region, name.lower()), run)

    def stop_transform(self, region: str, name: str) -> None:
        self._stop(("transform", region, name.lower()))

    def start_tuning(self, region: str, name: str) -> None:
        run = TuningRun(region, name, self.tuning, self.training,  # type: ignore[arg-type]
                        self.clients.logs(region))
        self._start(("tuning", region, name.lower()), run)

    def stop_tuning(self, region: str, name: str) -> None:
        self._stop(("tuning", region, name.lower()))

    def recover_tuning(self, jobs: list[tuple[str, dict[str, Any]]]) -> None:
        """Unfinished tuning jobs go on after a restart (their interrupted children have ended Failed)."""
        for region, job in jobs:
            self.start_tuning(region, job["HyperParameterTuningJobName"])

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop every running job and wait for each to reach a terminal state."""
        with self._lock:
            runs = list(self._runs.values())
        for run, _ in runs:
            run.stop()
        for _, thread in runs:
            thread.join(timeout)

    def _start(self, key: tuple[str, str, str], run: _Run) -> None:
        thread = threading.Thread(target=run.run, name=f"{key[0]}:{key[2]}", daemon=True)
        with self._lock:
            self._runs = {k: v for k, v in self._runs.items() if v[1].is_alive()}
            self._runs[key] = (run, thread)
        thread.start()

    def _stop(self, key: tuple[str, str, str]) -> None:
        with self._lock:
            entry = self._runs.get(key)
        if entry is not None:
            entry[0].stop()
