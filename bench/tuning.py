"""Hyperparameter tuning: a tuning job of `tuning_jobs` children, `tuning_parallel` at a time, against the same
trainings run bare.

The data is the reference workflow's (Boston housing, split as `harness run` splits it); its train and validation
files go to the embedded S3 once. The tuning job tunes `TUNED_RANGES` (workload.py) with the other reference
hyperparameters static, early stopping included, minimising validation:rmse, with the run's strategy
(`RandomSeed` = the run's seed: Random tunes the same points in every repetition), on the image version whose
XGBoost release is the installed one, as every row of the benchmark. Its wall time runs from just before
CreateHyperParameterTuningJob to the end the emulator recorded (`HyperParameterTuningEndTime`, this machine's
clock), so the benchmark's polling does not count; it polls as seldom as the main table's jobs do, so that its
requests take little CPU from the children.

The bare side then trains the children's tuned hyperparameters, read back with
ListTrainingJobsForHyperParameterTuningJob in launch order, with XGBoost in process (`bench.bare tuning`): one
after another in one process, and in as many forked processes as the tuning job ran children at once. Each bare
training's last validation rmse must be its child's objective (`FinalHyperParameterTuningJobObjectiveMetric`,
which the child's log printed with 5 decimals): both sides did the same work. Each repetition runs the emulator,
then the bare side on its points.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from backends.emulator.algorithms.images import image_uri
from backends.emulator.backend import EmulatorBackend
from fixtures.datasets import load_boston
from harness.requests import TrainingConfig, TuningConfig, tuning_job_request
from harness.workflow import Workflow, WorkflowOptions

from .bare_side import bare_tuning
from .emulator_side import POLL_SECONDS, JobFailed, measure_job
from .measurements import TuningRun
from .sampling import TreeSampler
from .served_model import delete_prefix
from .server import BUCKET, REGION, ROLE, EmulatorProcess
from .settings import BenchSettings
from .workload import TUNED_RANGES, TUNING_OBJECTIVE, image_version, tuning_static_hyperparameters

OBJECTIVE_TOLERANCE = 1e-5  # the child's objective is its log's value, printed with 5 decimals
_TERMINAL = ("Completed", "Failed", "Stopped")


@dataclass(frozen=True)
class TuningResults:
    strategy: str
    jobs: int  # MaxNumberOfTrainingJobs
    parallel: int  # MaxParallelTrainingJobs
    train_rows: int
    validation_rows: int
    runs: list[TuningRun]
    compared: int  # bare trainings (both bare sides, every repetition) compared with their child's objective
    differing_objectives: int  # ... whose last validation rmse is more than OBJECTIVE_TOLERANCE from it
    max_objective_difference: float


@dataclass(frozen=True)
class _Child:
    name: str
    point: dict[str, str]  # TunedHyperParameters
    objective: float


def tuning_runs(emulator: EmulatorProcess, sampler: TreeSampler, settings: BenchSettings, workdir: Path,
                say: Callable[[str], None]) -> TuningResults:
    s3, sagemaker = emulator.client("s3"), emulator.client("sagemaker")
    prefix = f"bench-tuning-{int(time.time())}"
    files, train_rows, validation_rows = _reference_data(emulator, workdir / "tuning-data")
    uris = {}
    for channel, path in files.items():
        s3.upload_file(str(path), BUCKET, f"{prefix}/{channel}/{path.name}")
        uris[channel] = f"s3://{BUCKET}/{prefix}/{channel}/"
    runs: list[TuningRun] = []
    compared = differing = 0
    worst = 0.0
    try:
        for repetition in range(settings.repeat):
            say(f"tuning repetition {repetition + 1}/{settings.repeat}: emulator, {settings.tuning_jobs} jobs "
                f"{settings.tuning_parallel} at a time ({settings.tuning_strategy})")
            name = f"{prefix}-{repetition}"
            request = tuning_request(name, settings, uris, f"s3://{BUCKET}/{prefix}/output")
            emulated, _ = measure_job(sampler, partial(run_tuning_job, sagemaker, request))
            children = _children(sagemaker, name)
            points = [child.point for child in children]
            static = request["TrainingJobDefinition"]["StaticHyperParameters"]
            say(f"tuning repetition {repetition + 1}/{settings.repeat}: bare, one after another and in "
                f"{settings.tuning_parallel} processes")
            bare, sequential_objectives = bare_tuning(files["train"], files["validation"], points, static, 1,
                                                      workdir)
            parallel, parallel_objectives = bare_tuning(files["train"], files["validation"], points, static,
                                                        settings.tuning_parallel, workdir)
            for objectives in (sequential_objectives, parallel_objectives):
                for child, objective in zip(children, objectives, strict=True):
                    difference = abs(objective - child.objective)
                    compared += 1
                    differing += difference > OBJECTIVE_TOLERANCE
                    worst = max(worst, difference)
            runs.append(TuningRun(emulated, bare, parallel, len(children),
                                  sum(_training_seconds(sagemaker, child.name) for child in children)))
    finally:
        delete_prefix(emulator, prefix)
    return TuningResults(settings.tuning_strategy, settings.tuning_jobs, settings.tuning_parallel, train_rows,
                         validation_rows, runs, compared, differing, worst)


def tuning_request(name: str, settings: BenchSettings, channels: dict[str, str], output_path: str
                   ) -> dict[str, Any]:
    """CreateHyperParameterTuningJob as `harness tune` builds it: the children's definition is the CreateTrainingJob
    request of the reference workflow (less its name), with the static hyperparameters."""
    ranges: dict[str, list[dict[str, Any]]] = {"IntegerParameterRanges": [], "ContinuousParameterRanges": []}
    for tuned in TUNED_RANGES:
        kind = "IntegerParameterRanges" if tuned.integer else "ContinuousParameterRanges"
        ranges[kind].append({"Name": tuned.name, "MinValue": tuned.low, "MaxValue": tuned.high})
    return tuning_job_request(TuningConfig(
        job_name=name,
        training=TrainingConfig(
            job_name=name, image=image_uri(REGION, "xgboost", image_version()), role=ROLE, output_path=output_path,
            train_uri=channels["train"], validation_uri=channels["validation"],
            hyperparameters=tuning_static_hyperparameters(settings.tuning_rounds)),
        parameter_ranges=ranges, objective_metric=TUNING_OBJECTIVE, objective_type="Minimize",
        strategy=settings.tuning_strategy, max_jobs=settings.tuning_jobs, max_parallel=settings.tuning_parallel,
        random_seed=settings.seed))


def run_tuning_job(sagemaker: Any, request: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    """CreateHyperParameterTuningJob and wait: (seconds from just before the call to the recorded end, the job)."""
    name = request["HyperParameterTuningJobName"]
    start = time.time()
    sagemaker.create_hyper_parameter_tuning_job(**request)
    while True:
        job: dict[str, Any] = sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
        if job["HyperParameterTuningJobStatus"] in _TERMINAL:
            break
        time.sleep(POLL_SECONDS)
    if job["HyperParameterTuningJobStatus"] != "Completed":
        raise JobFailed(f"tuning job {name} ended {job['HyperParameterTuningJobStatus']}: "
                        f"{job.get('FailureReason', 'no reason given')}")
    return job["HyperParameterTuningEndTime"].timestamp() - start, job


def _children(sagemaker: Any, name: str) -> list[_Child]:
    """The tuning job's children in launch order; each must have completed with an objective."""
    pages = sagemaker.get_paginator("list_training_jobs_for_hyper_parameter_tuning_job").paginate(
        HyperParameterTuningJobName=name)
    summaries = [summary for page in pages for summary in page["TrainingJobSummaries"]]
    children = []
    for summary in sorted(summaries, key=lambda s: s["TrainingJobName"]):  # <name>-<NNN>-<hex>: launch order
        objective = summary.get("FinalHyperParameterTuningJobObjectiveMetric")
        if summary["TrainingJobStatus"] != "Completed" or objective is None:
            raise JobFailed(f"tuning child {summary['TrainingJobName']} ended {summary['TrainingJobStatus']} "
                            f"without an objective: {summary.get('FailureReason', 'no reason given')}")
        children.append(_Child(summary["TrainingJobName"], dict(summary["TunedHyperParameters"]),
                               float(objective["Value"])))
    return children


def _training_seconds(sagemaker: Any, child: str) -> float:
    """The child's time in SecondaryStatus Training (reading its data and boosting, in its job process)."""
    job = sagemaker.describe_training_job(TrainingJobName=child)
    return sum((transition["EndTime"] - transition["StartTime"]).total_seconds()
               for transition in job.get("SecondaryStatusTransitions", [])
               if transition["Status"] == "Training" and "EndTime" in transition)


def _reference_data(emulator: EmulatorProcess, directory: Path) -> tuple[dict[str, Path], int, int]:
    """Boston's train and validation files as `harness run` splits and writes them, and their rows."""
    # The split and the files need no backend; the workflow is given the running emulator's all the same.
    workflow = Workflow(EmulatorBackend(REGION, endpoint=emulator.endpoint_url), WorkflowOptions(data_dir=directory))
    split = workflow.split(*load_boston())
    paths = workflow.write_csvs(split)
    return {"train": paths["train"], "validation": paths["validation"]}, len(split.x_train), len(split.x_val)
