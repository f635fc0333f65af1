"""The model the endpoint and the batch-strategy measurements serve: trained on the running emulator, with its
artifact also extracted here for the bare side.

A training job on a small CSV in the benchmark's format (label + 20 features) with the reference
hyperparameters and the run's number of rounds, so its trees are as deep and as many as the main workload's;
prediction time depends on the trees, not on how many rows trained them.
"""

from __future__ import annotations

import io
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

from backends.emulator.algorithms.images import image_uri
from harness.requests import TrainingConfig, model_request, training_job_request

from .datasets import training_csv_bytes
from .emulator_side import wait_for
from .server import BUCKET, REGION, ROLE, EmulatorProcess
from .workload import emulator_hyperparameters, image_version

TRAINING_ROWS = 10_000
MODEL_FILE = "xgboost-model"


@dataclass(frozen=True)
class ServedModel:
    name: str  # the emulator's model (CreateModel)
    model_dir: Path  # its artifact, extracted: what the bare side loads with serving.load_model
    prefix: str  # S3 prefix of its objects

    @property
    def model_file(self) -> Path:
        return self.model_dir / MODEL_FILE


def train_model(emulator: EmulatorProcess, rounds: int, workdir: Path) -> ServedModel:
    s3, sagemaker = emulator.client("s3"), emulator.client("sagemaker")
    prefix = f"bench-served-{int(time.time())}"
    s3.put_object(Bucket=BUCKET, Key=f"{prefix}/train.csv", Body=training_csv_bytes(TRAINING_ROWS))
    image = image_uri(REGION, "xgboost", image_version())
    name = f"{prefix}-training"
    sagemaker.create_training_job(**training_job_request(TrainingConfig(
        job_name=name, image=image, role=ROLE, output_path=f"s3://{BUCKET}/{prefix}/output",
        train_uri=f"s3://{BUCKET}/{prefix}/train.csv", hyperparameters=emulator_hyperparameters(rounds),
    )))
    job = wait_for(lambda: sagemaker.describe_training_job(TrainingJobName=name), "TrainingJobStatus")
    artifact = job["ModelArtifacts"]["S3ModelArtifacts"]
    sagemaker.create_model(**model_request(f"{prefix}-model", image, artifact, ROLE))
    archive = s3.get_object(Bucket=BUCKET, Key=artifact.removeprefix(f"s3://{BUCKET}/"))["Body"].read()
    model_dir = workdir / "served-model"
    model_dir.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        member = tar.extractfile(MODEL_FILE)
        if member is None:
            raise RuntimeError(f"{artifact} holds no {MODEL_FILE}")
        (model_dir / MODEL_FILE).write_bytes(member.read())
    return ServedModel(f"{prefix}-model", model_dir, prefix)


def delete_prefix(emulator: EmulatorProcess, prefix: str) -> None:
    s3 = emulator.client("s3")
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
        keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket=BUCKET, Delete={"Objects": keys})
