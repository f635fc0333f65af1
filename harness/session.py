"""`harness.Session`: the SageMaker session methods the seed notebook uses, on every backend.

    from harness import Session, get_execution_role, get_image_uri
    session = Session()                   # HARNESS_BACKEND picks emulator (default), local or sagemaker
    role = get_execution_role()
    container = get_image_uri(session.boto_region_name, 'xgboost')

Everything else in the notebook (the request dicts, `session.sagemaker_client.create_training_job(...)`)
stays as it is.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, TextIO

from backends import Backend, create_backend
from backends.emulator.algorithms.images import image_uri

from .waiters import (
    JobFailed,
    wait_for_endpoint,
    wait_for_training_job,
    wait_for_transform_job,
    wait_for_tuning_job,
)

_default: Session | None = None


class Session:
    def __init__(self, backend: Backend | str | None = None, output: TextIO | None = None) -> None:
        if isinstance(backend, Backend):
            self.backend = backend
        else:
            self.backend = create_backend(backend)
            self.backend.start()
        self.output = output or sys.stdout
        self._transitions_printed: dict[str, int] = {}  # per training job, for logs_for_job
        global _default
        _default = self

    # -- what the seed reads ---------------------------------------------------------------------------

    @property
    def boto_region_name(self) -> str:
        return self.backend.region

    @property
    def sagemaker_client(self) -> Any:
        return self.backend.client("sagemaker")

    @property
    def s3_client(self) -> Any:
        return self.backend.client("s3")

    def default_bucket(self) -> str:
        return self.backend.default_bucket()

    def upload_data(self, path: str, bucket: str | None = None, key_prefix: str = "data") -> str:
        """Upload a file (or every file under a directory) to S3; returns its S3 URI (the prefix for a
        directory), as the SageMaker SDK does."""
        bucket = bucket or self.default_bucket()
        source = Path(path)
        if source.is_dir():
            for file in sorted(p for p in source.rglob("*") if p.is_file()):
                key = f"{key_prefix}/{file.relative_to(source).as_posix()}"
                self.s3_client.upload_file(str(file), bucket, key)
            return f"s3://{bucket}/{key_prefix}"
        key = f"{key_prefix}/{source.name}"
        self.s3_client.upload_file(str(source), bucket, key)
        return f"s3://{bucket}/{key}"

    def download_data(self, path: str, bucket: str, key_prefix: str = "") -> list[str]:
        """Download every object under `key_prefix` into `path`, keeping relative paths; returns the files."""
        target = Path(path)
        written = []
        for page in self.s3_client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key_prefix):
            for item in page.get("Contents", []):
                key = item["Key"]
                if key.endswith("/"):
                    continue
                relative = key[len(key_prefix):].lstrip("/") if key_prefix else key
                local = target / (relative or Path(key).name)
                local.parent.mkdir(parents=True, exist_ok=True)
                self.s3_client.download_file(bucket, key, str(local))
                written.append(str(local))
        return written

    def logs_for_job(self, job_name: str, wait: bool = False, poll: float | None = None) -> dict[str, Any]:
        """Print the training job's logs; with `wait`, until it ends (raising JobFailed if it fails)."""
        logs = None if self.backend.name == "local" else self.backend.client("logs")
        poll_seconds = poll if poll is not None else self.backend.poll_seconds
        if not wait:
            from .waiters import TRAINING_LOG_GROUP, LogFollower

            if logs is not None:
                for line in LogFollower(logs, TRAINING_LOG_GROUP, job_name).poll():
                    self._print(line)
            return dict(self.sagemaker_client.describe_training_job(TrainingJobName=job_name))
        description = wait_for_training_job(self.sagemaker_client, logs, job_name, poll_seconds,
                                            on_log=self._print, on_status=self._print_status)
        self._print_summary(description)
        if description["TrainingJobStatus"] == "Failed":
            raise JobFailed("Training", job_name, description)
        return description

    def wait_for_job(self, job: str, poll: float | None = None) -> dict[str, Any]:
        """Wait for a training job without printing its logs."""
        poll_seconds = poll if poll is not None else self.backend.poll_seconds
        description = wait_for_training_job(self.sagemaker_client, None, job, poll_seconds)
        if description["TrainingJobStatus"] == "Failed":
            raise JobFailed("Training", job, description)
        return description

    def wait_for_transform_job(self, job: str, poll: float | None = None) -> dict[str, Any]:
        """Wait for a transform job; returns its Describe, raising JobFailed if it fails."""
        poll_seconds = poll if poll is not None else self.backend.poll_seconds
        description = wait_for_transform_job(self.sagemaker_client, None, job, poll_seconds)
        if description["TransformJobStatus"] == "Failed":
            raise JobFailed("Transform", job, description)
        return description

    def wait_for_endpoint(self, endpoint: str, poll: float | None = None) -> dict[str, Any]:
        """Wait until the endpoint is created or updated, as the SDK's `Session.wait_for_endpoint`; returns its
        Describe, raising JobFailed (with its FailureReason) if it ends anything but InService."""
        poll_seconds = poll if poll is not None else self.backend.poll_seconds
        description = wait_for_endpoint(self.sagemaker_client, endpoint, poll_seconds)
        if description["EndpointStatus"] != "InService":
            raise JobFailed("Endpoint", endpoint, description)
        return description

    def wait_for_tuning_job(self, job: str, poll: float | None = None) -> dict[str, Any]:
        """Wait for a hyperparameter tuning job, as the SDK's `Session.wait_for_tuning_job`; returns its Describe,
        raising JobFailed if it fails."""
        poll_seconds = poll if poll is not None else self.backend.poll_seconds
        description = wait_for_tuning_job(self.sagemaker_client, job, poll_seconds)
        if description["HyperParameterTuningJobStatus"] == "Failed":
            raise JobFailed("Tuning", job, description)
        return description

    def close(self) -> None:
        self.backend.stop()

    # -- printing like the SDK ---------------------------------------------------------------------------

    def _print(self, line: str) -> None:
        print(line, file=self.output, flush=True)

    def _print_status(self, description: dict[str, Any]) -> None:
        # Every transition since the last one printed, as the SDK prints them: a job can pass a step between polls.
        transitions = description.get("SecondaryStatusTransitions") or []
        job = description.get("TrainingJobName", "")
        printed = self._transitions_printed.get(job, 0)
        for transition in transitions[printed:]:
            self._print(f"{transition['Status']} - {transition.get('StatusMessage', '')}")
        self._transitions_printed[job] = max(printed, len(transitions))

    def _print_summary(self, description: dict[str, Any]) -> None:
        if "TrainingTimeInSeconds" in description:
            count = description.get("ResourceConfig", {}).get("InstanceCount", 1)
            self._print(f"Training seconds: {description['TrainingTimeInSeconds'] * count}")
            self._print(f"Billable seconds: {description['BillableTimeInSeconds'] * count}")


def get_image_uri(region_name: str, repo_name: str = "xgboost", repo_version: str = "1") -> str:
    """The algorithm image URI, as `sagemaker.amazon.amazon_estimator.get_image_uri` (and the SDK 2.x/3.x
    `image_uris.retrieve`) give it."""
    return image_uri(region_name, repo_name, repo_version)


def get_execution_role() -> str:
    """The role jobs run with: the current Session's backend role, else $HARNESS_ROLE."""
    if _default is not None:
        return _default.backend.role_arn()
    role = os.environ.get("HARNESS_ROLE")
    if role:
        return role
    return Session().backend.role_arn()
