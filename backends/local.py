"""The `local` backend: the SageMaker SDK's local mode (Docker containers) with S3 on LocalStack."""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from typing import Any

import boto3

from .base import Backend, BackendUnavailable

DEFAULT_LOCALSTACK = "http://localhost:4566"


class LocalBackend(Backend):
    name = "local"
    instance_type = "local"  # what SDK local mode requires instead of an ml.* type
    poll_seconds = 1.0

    def __init__(self, region: str, localstack_url: str | None = None) -> None:
        super().__init__(region)
        self.localstack_url = localstack_url or os.environ.get("HARNESS_LOCALSTACK_URL", DEFAULT_LOCALSTACK)
        self._session: Any = None
        self._clients: dict[str, Any] = {}

    def start(self) -> None:
        _check_docker()
        local_session = _local_session_class()
        _check_reachable(self.localstack_url)
        boto_session = boto3.session.Session(region_name=self.region, aws_access_key_id="test",
                                             aws_secret_access_key="test")
        self._session = local_session(boto_session=boto_session, s3_endpoint_url=self.localstack_url)
        self._session.config = {"local": {"local_code": True}}

    def client(self, service: str) -> Any:
        if self._session is None:
            raise BackendUnavailable("the local backend is not started")
        if service == "sagemaker":
            return self._session.sagemaker_client
        if service not in self._clients:
            self._clients[service] = boto3.session.Session().client(
                service, region_name=self.region, endpoint_url=self.localstack_url, aws_access_key_id="test",
                aws_secret_access_key="test")
        return self._clients[service]

    def role_arn(self) -> str:
        return "arn:aws:iam::000000000000:role/SageMakerRole"  # local mode never assumes it

    def default_bucket(self) -> str:
        name = f"sagemaker-{self.region}-000000000000"
        s3 = self.client("s3")
        existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
        if name not in existing:
            s3.create_bucket(Bucket=name)
        return name

    def describe(self) -> str:
        return f"SageMaker local mode (Docker) with S3 on {self.localstack_url}"


def _check_docker() -> None:
    try:
        import docker
    except ImportError:
        raise BackendUnavailable("the local backend needs the `docker` package: "
                                 "pip install 'sagemaker-harness[local]'") from None
    try:
        docker.from_env().ping()
    except Exception as exc:
        reason = str(exc).split("\n")[0][:160]
        raise BackendUnavailable(f"no Docker engine is running ({reason}); the local backend runs the SageMaker "
                                 "containers in Docker") from None


def _local_session_class() -> Any:
    try:
        from sagemaker.local import LocalSession
    except ImportError:
        raise BackendUnavailable("SageMaker SDK local mode is not installed: "
                                 "pip install 'sagemaker-harness[local]'") from None
    return LocalSession


def _check_reachable(url: str) -> None:
    try:
        urllib.request.urlopen(url.rstrip("/") + "/_localstack/health", timeout=5).close()
    except (urllib.error.URLError, OSError) as exc:
        raise BackendUnavailable(f"LocalStack does not answer at {url} ({exc}); start it with "
                                 "`docker compose up localstack` or set HARNESS_LOCALSTACK_URL") from None
