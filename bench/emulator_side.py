"""Running the emulator side: the same work as the bare side, through the API with boto3 over HTTP.

Upload both files, CreateTrainingJob and wait, CreateModel, CreateTransformJob and wait, download the
predictions. Jobs are timed from just before the Create call to the moment the emulator recorded the job's
end (`LastModifiedTime` of the Completed training job, `TransformEndTime`), both on this machine's clock, so
the figures do not include the benchmark's polling interval. Each repetition works under its own prefix and
deletes its objects afterwards, so the embedded S3 holds one repetition's data at a time.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from backends.emulator.algorithms.images import image_uri
from harness.requests import (
    TrainingConfig,
    TransformConfig,
    model_request,
    training_job_request,
    transform_job_request,
)

from .datasets import DataFiles
from .measurements import EmulatorRun, Phase
from .sampling import TreeSampler
from .server import BUCKET, REGION, ROLE, EmulatorProcess
from .workload import TransformShape, emulator_hyperparameters, image_version

_T = TypeVar("_T")
POLL_SECONDS = 0.25


class JobFailed(RuntimeError):
    pass


class EmulatorPipeline:
    def __init__(self, emulator: EmulatorProcess, sampler: TreeSampler, files: DataFiles, rounds: int,
                 shape: TransformShape, workdir: Path) -> None:
        self.sampler = sampler
        self.files = files
        self.rounds = rounds
        self.shape = shape
        self.workdir = workdir
        self.s3 = emulator.client("s3")
        self.sagemaker = emulator.client("sagemaker")
        self.image = image_uri(REGION, "xgboost", image_version())

    def run(self, repetition: int) -> EmulatorRun:
        prefix = f"bench-{repetition}-{int(time.time())}"
        try:
            return self._run(prefix)
        finally:
            self._delete_prefix(prefix)

    def output_path(self) -> Path:
        """Where the last repetition's predictions were downloaded."""
        return self.workdir / "emulator-test.csv.out"

    def _run(self, prefix: str) -> EmulatorRun:
        train_key, test_key = f"{prefix}/train/train.csv", f"{prefix}/test/test.csv"
        upload, _ = self._measure(lambda: self._upload({train_key: self.files.train, test_key: self.files.test}))
        training, job = self._measure_job(lambda: self._train(prefix, f"s3://{BUCKET}/{train_key}"))
        model, model_name = self._measure(lambda: self._create_model(job))
        transform, _ = self._measure_job(lambda: self._transform(prefix, model_name, f"s3://{BUCKET}/{test_key}"))
        output_key = f"{prefix}/batch-transform/test.csv.out"
        download, _ = self._measure(lambda: self.s3.download_file(BUCKET, output_key, str(self.output_path())))
        return EmulatorRun(upload, training, model, transform, download, self.files.test_rows,
                           training_steps=_step_seconds(job))

    # -- phases -----------------------------------------------------------------------------------------

    def _measure(self, work: Callable[[], _T]) -> tuple[Phase, _T]:
        return measure(self.sampler, work)

    def _measure_job(self, work: Callable[[], tuple[float, _T]]) -> tuple[Phase, _T]:
        return measure_job(self.sampler, work)

    def _upload(self, files: dict[str, Path]) -> None:
        for key, path in files.items():
            self.s3.upload_file(str(path), BUCKET, key)

    def _train(self, prefix: str, train_uri: str) -> tuple[float, dict[str, Any]]:
        name = f"{prefix}-training"
        request = training_job_request(TrainingConfig(
            job_name=name, image=self.image, role=ROLE, output_path=f"s3://{BUCKET}/{prefix}/output",
            train_uri=train_uri, hyperparameters=emulator_hyperparameters(self.rounds),
        ))
        start = time.time()
        self.sagemaker.create_training_job(**request)
        job = wait_for(lambda: self.sagemaker.describe_training_job(TrainingJobName=name), "TrainingJobStatus")
        return job["LastModifiedTime"].timestamp() - start, job

    def _create_model(self, job: dict[str, Any]) -> str:
        name = f"{job['TrainingJobName']}-model"
        self.sagemaker.create_model(**model_request(name, self.image, job["ModelArtifacts"]["S3ModelArtifacts"],
                                                    ROLE))
        return name

    def _transform(self, prefix: str, model_name: str, test_uri: str) -> tuple[float, dict[str, Any]]:
        name = f"{prefix}-transform"
        request = transform_job_request(TransformConfig(
            job_name=name, model_name=model_name, input_uri=test_uri,
            output_path=f"s3://{BUCKET}/{prefix}/batch-transform/", max_payload_mb=self.shape.max_payload_mb,
            max_concurrent_transforms=self.shape.max_concurrent,
        ))
        return run_transform_job(self.sagemaker, request)

    def _delete_prefix(self, prefix: str) -> None:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
        for page in pages:
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if keys:
                self.s3.delete_objects(Bucket=BUCKET, Delete={"Objects": keys})


def measure(sampler: TreeSampler, work: Callable[[], _T]) -> tuple[Phase, _T]:
    """Run `work`: its wall time, and the emulator's peak memory and CPU time meanwhile."""
    start = sampler.sample().at
    result = work()
    end = sampler.sample().at
    return Phase(end - start, sampler.peak(start, end), sampler.cpu_seconds(start, end)), result


def measure_job(sampler: TreeSampler, work: Callable[[], tuple[float, _T]]) -> tuple[Phase, _T]:
    """Like `measure`, for work that returns its own duration (a job, without the polling delay)."""
    phase, (seconds, result) = measure(sampler, work)
    return dataclasses.replace(phase, seconds=seconds), result


def run_transform_job(sagemaker: Any, request: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    """CreateTransformJob and wait: (seconds from just before the call to the recorded end, the job)."""
    return _run_job(sagemaker, "transform", request)


def run_training_job(sagemaker: Any, request: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    """CreateTrainingJob and wait: (seconds from just before the call to the recorded end, the job)."""
    return _run_job(sagemaker, "training", request)


def _run_job(sagemaker: Any, kind: str, request: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    noun = kind.capitalize()
    name = request[f"{noun}JobName"]
    start = time.time()
    getattr(sagemaker, f"create_{kind}_job")(**request)
    job = wait_for(lambda: getattr(sagemaker, f"describe_{kind}_job")(**{f"{noun}JobName": name}),
                   f"{noun}JobStatus")
    return job[f"{noun}EndTime"].timestamp() - start, job


def wait_for(describe: Callable[[], dict[str, Any]], status_key: str) -> dict[str, Any]:
    """Poll `describe` until the job ends; the Completed job, or JobFailed."""
    while True:
        job = describe()
        if job[status_key] in ("Completed", "Failed", "Stopped"):
            break
        time.sleep(POLL_SECONDS)
    if job[status_key] != "Completed":
        raise JobFailed(f"{status_key} {job[status_key]}: {job.get('FailureReason', 'no reason given')}")
    return job


def _step_seconds(job: dict[str, Any]) -> dict[str, float]:
    steps = {}
    for transition in job.get("SecondaryStatusTransitions", []):
        if "EndTime" in transition:
            steps[transition["Status"]] = (transition["EndTime"] - transition["StartTime"]).total_seconds()
    return steps
