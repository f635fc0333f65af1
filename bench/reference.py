"""The reference workflow end to end (Boston housing) on the running emulator, as `harness run` does it.

`Workflow.run()` is timed whole: split, write, upload, train with early stopping, create model, transform,
download, evaluate (metrics and the plot), clean up. The backend is started once. The first run also imports
scikit-learn and matplotlib into this process; it is reported on its own and not counted.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from backends.emulator.backend import EmulatorBackend
from fixtures.datasets import load_boston
from harness.workflow import Workflow, WorkflowOptions

from .server import REGION


@dataclass(frozen=True)
class WorkflowTimes:
    first: float  # the cold run: client-side imports included
    runs: list[float]


def reference_workflow_times(endpoint_url: str, runs: int, workdir: Path) -> WorkflowTimes:
    backend = EmulatorBackend(REGION, endpoint=endpoint_url)
    backend.start()
    try:
        features, label = load_boston()
        options = WorkflowOptions(data_dir=workdir / "boston-data", output_dir=workdir / "boston-out")
        times = []
        for _ in range(runs + 1):
            start = time.perf_counter()
            Workflow(backend, options).run(features, label)
            times.append(time.perf_counter() - start)
        return WorkflowTimes(times[0], times[1:])
    finally:
        backend.stop()
