"""The seed notebook's training request, built by the harness's own request builder."""

from __future__ import annotations

from typing import Any

from harness.requests import SEED_HYPERPARAMETERS, TrainingConfig, training_job_request
from tests.conftest import ROLE, XGB_LEGACY

__all__ = ["SEED_HYPERPARAMETERS", "training_request"]


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
