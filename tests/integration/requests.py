"""The seed notebook's training request, built by the harness's own request builder."""

from __future__ import annotations

from typing import Any

from harness.requests import SEED_HYPERPARAMETERS, TrainingConfig, training_job_request
from tests.conftest import ROLE, XGB_17, XGB_LEGACY, wait_training

__all__ = ["SEED_HYPERPARAMETERS", "trained_model", "training_request"]


def training_request(name: str, bucket: str, train_uri: str, validation_uri: str | None = None,
                     image: str = XGB_LEGACY, hyperparameters: dict[str, str] | None = None,
                     max_runtime: int = 86400) -> dict[str, Any]:
    """The seed's CreateTrainingJob request (its exact shape and values) for `name`."""
    return training_job_request(TrainingConfig(
        job_name=name, image=image, role=ROLE, output_path=f"s3://{bucket}/boston-xgboost-LL/output",
        train_uri=train_uri, validation_uri=validation_uri,
        hyperparameters=dict(SEED_HYPERPARAMETERS if hyperparameters is None else hyperparameters),
        max_runtime_seconds=max_runtime,
    ))


def trained_model(sagemaker: Any, s3: Any, name: str, bucket: str) -> tuple[str, bytes]:
    """A 3-round XGBoost 1.7-1 training job `name` on s3://<bucket>/train/train.csv, waited for and Completed: its
    model artifact's URI and the artifact's bytes."""
    sagemaker.create_training_job(**training_request(name, bucket, f"s3://{bucket}/train/train.csv", image=XGB_17,
                                                     hyperparameters={"num_round": "3"}))
    job = wait_training(sagemaker, name)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    artifact: str = job["ModelArtifacts"]["S3ModelArtifacts"]
    return artifact, s3.get_object(Bucket=bucket, Key=artifact.split("/", 3)[3])["Body"].read()
