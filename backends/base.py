"""The backend interface: what the workflow needs from wherever SageMaker runs."""

from __future__ import annotations

import io
import tarfile
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

from .emulator.algorithms.images import image_uri


class BackendUnavailable(Exception):
    """A backend cannot start here; the message says why in one line (no Docker, no credentials...)."""


class Backend(ABC):
    """One place SageMaker jobs can run. The workflow builds the same requests for each of them."""

    name: str
    #: The instance type jobs ask for: `ml.m4.xlarge`, or `local` for SDK local mode.
    instance_type: str = "ml.m4.xlarge"
    #: How often to poll job status and logs (seconds): fast where jobs are fast.
    poll_seconds: float = 5.0

    def __init__(self, region: str) -> None:
        self.region = region

    @abstractmethod
    def start(self) -> None:
        """Make the backend ready, or raise BackendUnavailable before any work is done."""

    def stop(self) -> None:  # noqa: B027 - optional hook: most backends hold nothing
        """Release whatever `start` acquired."""

    @abstractmethod
    def client(self, service: str) -> Any:
        """A boto3-compatible client for `sagemaker`, `s3` or `logs`."""

    @abstractmethod
    def role_arn(self) -> str:
        """The execution role jobs run with."""

    @abstractmethod
    def default_bucket(self) -> str:
        """The bucket data and artifacts go to (created if missing)."""

    def image_uri(self, framework: str = "xgboost", version: str = "1") -> str:
        """The algorithm image for this backend's region, as the SageMaker SDKs name it."""
        return image_uri(self.region, framework, version)

    def stage_source(self, files: dict[str, Path], bucket: str, prefix: str) -> str:
        """Put a script's source (name in the source -> file) where this backend's jobs fetch it from; its URI, for
        `sagemaker_submit_directory`. Here, as the SDK uploads it: `s3://bucket/prefix/sourcedir.tar.gz`."""
        key = f"{prefix}/sourcedir.tar.gz"
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
            for name, path in files.items():
                archive.add(path, arcname=name)
        self.client("s3").put_object(Bucket=bucket, Key=key, Body=buffer.getvalue())
        return f"s3://{bucket}/{key}"

    def transform_output_uri(self, output_path: str, job_name: str) -> str:
        """Where a transform job's `<input>.out` objects land: SageMaker writes them under `S3OutputPath` itself."""
        return output_path

    def describe(self) -> str:
        """One line saying where jobs run."""
        return self.name

    def __enter__(self) -> Backend:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
