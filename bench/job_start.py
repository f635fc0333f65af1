"""Job-start latency: from just before CreateTrainingJob to the job's `SecondaryStatus=Training`.

Measured on a small job (a few rows, one round) with the emulator's process server already warm: the first
job is a warm-up and is not counted. The end is the `StartTime` the emulator recorded for the Training
transition, so polling does not add to it; both ends are read on this machine's clock.
"""

from __future__ import annotations

import time
from typing import Any

from backends.emulator.algorithms.images import image_uri
from harness.requests import TrainingConfig, training_job_request

from .datasets import training_csv_bytes
from .server import BUCKET, REGION, ROLE, EmulatorProcess
from .workload import emulator_hyperparameters, image_version

_POLL_SECONDS = 0.05


def job_start_latencies(emulator: EmulatorProcess, samples: int) -> list[float]:
    """`samples` latencies in seconds, after one warm-up job."""
    s3, sagemaker = emulator.client("s3"), emulator.client("sagemaker")
    prefix = f"bench-job-start-{int(time.time())}"
    s3.put_object(Bucket=BUCKET, Key=f"{prefix}/train.csv", Body=training_csv_bytes(50))
    latencies = []
    for index in range(samples + 1):
        name = f"{prefix}-{index}"
        request = training_job_request(TrainingConfig(
            job_name=name, image=image_uri(REGION, "xgboost", image_version()), role=ROLE,
            output_path=f"s3://{BUCKET}/{prefix}/output", train_uri=f"s3://{BUCKET}/{prefix}/train.csv",
            hyperparameters=emulator_hyperparameters(1),
        ))
        start = time.time()
        sagemaker.create_training_job(**request)
        job = _wait(sagemaker, name)
        if index > 0:
            latencies.append(_training_start(job) - start)
    return latencies


def _wait(sagemaker: Any, name: str) -> dict[str, Any]:
    while True:
        job: dict[str, Any] = sagemaker.describe_training_job(TrainingJobName=name)
        if job["TrainingJobStatus"] in ("Completed", "Failed", "Stopped"):
            if job["TrainingJobStatus"] != "Completed":
                raise RuntimeError(f"job-start sample {name} ended {job['TrainingJobStatus']}: "
                                   f"{job.get('FailureReason')}")
            return job
        time.sleep(_POLL_SECONDS)


def _training_start(job: dict[str, Any]) -> float:
    for transition in job["SecondaryStatusTransitions"]:
        if transition["Status"] == "Training":
            return float(transition["StartTime"].timestamp())
    raise RuntimeError(f"job {job['TrainingJobName']} never reached SecondaryStatus Training")
