"""Batch transform's two BatchStrategy values on the same input: SingleRecord against MultiRecord.

One input object of `strategy_rows` rows in the test file's format is transformed by the served model with
each strategy, everything else as the main workload's transform (MaxPayloadInMB, MaxConcurrentTransforms,
SplitType Line); the bare side transforms the same file as its main transform does (`bench.bare transform`).
With SingleRecord every row is a request of its own to the model: its own parse, prediction and answer. Both
outputs must be the same bytes; the count of lines that differ is reported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from harness.requests import TransformConfig, transform_job_request

from .bare_side import bare_transform
from .datasets import features_csv_bytes
from .emulator_side import measure_job, run_transform_job
from .measurements import StrategyRun
from .sampling import TreeSampler
from .served_model import ServedModel, delete_prefix
from .server import BUCKET, EmulatorProcess
from .settings import BenchSettings

STRATEGIES = ("SingleRecord", "MultiRecord")


@dataclass(frozen=True)
class StrategyResults:
    rows: int
    runs: list[StrategyRun]
    differing_lines: int  # lines of the SingleRecord output that differ from the MultiRecord output
    differing_bare_lines: int  # ... of the MultiRecord output from the bare side's


def strategy_runs(emulator: EmulatorProcess, sampler: TreeSampler, model: ServedModel, settings: BenchSettings,
                  workdir: Path, say: Callable[[str], None]) -> StrategyResults:
    s3, sagemaker = emulator.client("s3"), emulator.client("sagemaker")
    shape = settings.transform_shape
    prefix = f"{model.prefix}-strategies"
    source = workdir / "strategy-input.csv"
    source.write_bytes(features_csv_bytes(settings.strategy_rows, seed=settings.seed + 2))
    s3.upload_file(str(source), BUCKET, f"{prefix}/in/rows.csv")
    bare_out = workdir / "strategy-bare.csv.out"
    runs: list[StrategyRun] = []
    outputs: dict[str, bytes] = {}
    try:
        for repetition in range(settings.repeat):
            say(f"batch strategies repetition {repetition + 1}/{settings.repeat}: bare, "
                f"{', '.join(STRATEGIES)} on {settings.strategy_rows:,} rows")
            bare = bare_transform(model.model_file, source, bare_out)
            phases = {}
            for strategy in STRATEGIES:
                name = f"{prefix}-{repetition}-{strategy}"
                output = f"{prefix}/out-{name}/"
                request = transform_job_request(TransformConfig(
                    job_name=name, model_name=model.name, input_uri=f"s3://{BUCKET}/{prefix}/in/",
                    output_path=f"s3://{BUCKET}/{output}", batch_strategy=strategy,
                    max_payload_mb=shape.max_payload_mb, max_concurrent_transforms=shape.max_concurrent,
                ))
                phases[strategy], _ = measure_job(sampler, partial(run_transform_job, sagemaker, request))
                outputs[strategy] = s3.get_object(Bucket=BUCKET, Key=f"{output}rows.csv.out")["Body"].read()
            runs.append(StrategyRun(phases["SingleRecord"], phases["MultiRecord"], bare))
    finally:
        delete_prefix(emulator, prefix)
    single, multi = outputs["SingleRecord"].split(b"\n"), outputs["MultiRecord"].split(b"\n")
    expected = bare_out.read_bytes().split(b"\n")
    return StrategyResults(settings.strategy_rows, runs, _differing(multi, single), _differing(expected, multi))


def _differing(expected: list[bytes], actual: list[bytes]) -> int:
    return sum(a != b for a, b in zip(expected, actual, strict=False)) + abs(len(expected) - len(actual))
