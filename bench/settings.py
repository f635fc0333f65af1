"""A benchmark run's settings: the full run's defaults, the small `--smoke` run CI executes, and which parts of the
benchmark a run measures (`--only`)."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

from .workload import TransformShape

MAX_PAYLOAD_PRODUCT = 100  # CreateTransformJob: MaxConcurrentTransforms * MaxPayloadInMB <= 100
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "RESULTS.md"
# The parts of the benchmark, each a section of RESULTS.md: "main" is the main table (training, batch transform,
# job start, the reference workflow, real-time endpoints, batch strategies), "tuning" a hyperparameter tuning job
# against the same trainings bare (tuning.py), "script" a script-mode training job and batch transform against the
# same script and predictions bare in its runtime (script_mode.py), "durability" S3 upload throughput with the
# write-through journal against without it (durability.py).
PARTS = ("main", "tuning", "script", "durability")


@dataclass(frozen=True)
class BenchSettings:
    size_mb: float = 1024  # each of train.csv and test.csv
    repeat: int = 3  # repetitions of each side
    rounds: int = 20  # boosting rounds, fixed (no early stopping)
    job_start_samples: int = 20
    workflow_runs: int = 5
    # One payload in flight per core, so the emulator's transform process keeps every core busy as the bare
    # side's XGBoost does; payloads as large as the API then allows (MaxConcurrentTransforms * MaxPayloadInMB
    # <= 100). None: that largest size.
    max_payload_mb: int | None = None
    max_concurrent_transforms: int = os.cpu_count() or 1
    # Real-time endpoint: one-row requests per side and repetition (latency), and 100-row requests per side,
    # concurrency level and repetition (throughput).
    latency_samples: int = 2000
    throughput_requests: int = 1000
    # Rows of the input that batch transforms with SingleRecord and with MultiRecord.
    strategy_rows: int = 100_000
    # Hyperparameter tuning: MaxNumberOfTrainingJobs, MaxParallelTrainingJobs and the Strategy (with RandomSeed =
    # `seed`, so Random tunes the same points in every repetition).
    tuning_jobs: int = 20
    tuning_parallel: int = 2
    tuning_strategy: str = "Random"
    tuning_rounds: int | None = None  # the children's num_round (None: the reference's)
    # Durability: 1 MiB objects put one after another, and the size of the one large object uploaded, per side and
    # repetition.
    durability_small_count: int = 200
    durability_large_mb: int = 1024
    parts: tuple[str, ...] = PARTS  # what the run measures, in PARTS order
    output: Path = DEFAULT_OUTPUT
    json_output: Path | None = None
    workdir: Path | None = None  # parent of the temporary directory for the data (default: the system's)
    seed: int = 0
    smoke: bool = False

    @property
    def transform_shape(self) -> TransformShape:
        largest = max(1, MAX_PAYLOAD_PRODUCT // self.max_concurrent_transforms)
        return TransformShape(self.max_payload_mb or largest, self.max_concurrent_transforms)

    def as_smoke(self) -> BenchSettings:
        """A few MB and few repetitions: proves every figure is produced, in seconds."""
        return dataclasses.replace(self, size_mb=4, repeat=2, rounds=5, job_start_samples=2, workflow_runs=1,
                                   max_payload_mb=1, latency_samples=50, throughput_requests=16,
                                   strategy_rows=2_000, tuning_jobs=4, tuning_parallel=min(2, self.tuning_parallel),
                                   tuning_rounds=10, durability_small_count=8, durability_large_mb=16, smoke=True)

    def measures(self, part: str) -> bool:
        return part in self.parts
