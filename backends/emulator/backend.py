"""The `emulator` backend: the embedded emulator in this process, or one already running elsewhere."""

from __future__ import annotations

import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from ..base import Backend, BackendUnavailable
from .sagemaker.context import DEFAULT_ACCOUNT, EXECUTION_ROLE_ARN
from .server import Emulator, EmulatorConfig

# The execution role every emulator account has (created in its IAM at start-up).
EMULATOR_ROLE = EXECUTION_ROLE_ARN


class EmulatorBackend(Backend):
    name = "emulator"
    poll_seconds = 0.1

    def __init__(self, region: str, endpoint: str | None = None, state_dir: Path | None = None) -> None:
        super().__init__(region)
        self.endpoint = endpoint
        self.state_dir = state_dir
        self._emulator: Emulator | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._clients: dict[str, Any] = {}

    def start(self) -> None:
        if self.endpoint:
            _check_running(self.endpoint)
            return
        state_dir = self.state_dir
        if state_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="harness-")
            state_dir = Path(self._tmp.name)
        # A temporary state directory dies with this process: nothing to keep for a next start.
        self._emulator = Emulator(EmulatorConfig(state_dir=state_dir, region=self.region,
                                                 persist_services=self.state_dir is not None)).start()
        self.endpoint = self._emulator.endpoint_url

    def stop(self) -> None:
        if self._emulator is not None:
            self._emulator.stop()
            self._emulator = None
            self.endpoint = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
        self._clients.clear()

    def client(self, service: str) -> Any:
        if self.endpoint is None:
            raise BackendUnavailable("the emulator backend is not started")
        if service not in self._clients:
            self._clients[service] = boto3.session.Session().client(
                service, region_name=self.region, endpoint_url=self.endpoint, aws_access_key_id="test",
                aws_secret_access_key="test",
                config=Config(retries={"max_attempts": 2, "mode": "standard"}, s3={"addressing_style": "path"}),
            )
        return self._clients[service]

    def role_arn(self) -> str:
        return EMULATOR_ROLE

    def default_bucket(self) -> str:
        name = f"sagemaker-{self.region}-{DEFAULT_ACCOUNT}"
        s3 = self.client("s3")
        try:
            s3.head_bucket(Bucket=name)
        except ClientError:
            if self.region == "us-east-1":
                s3.create_bucket(Bucket=name)
            else:
                s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": self.region})
        return name

    def describe(self) -> str:
        where = "in-process" if self._emulator is not None else "running"
        return f"emulator ({where}, {self.endpoint})"


def _check_running(endpoint: str) -> None:
    try:
        with urllib.request.urlopen(endpoint.rstrip("/") + "/_harness/health", timeout=5) as response:
            if response.status == 200:
                return
    except (urllib.error.URLError, OSError) as exc:
        raise BackendUnavailable(f"no emulator answers at {endpoint} ({exc}); start one with `harness serve`"
                                 " or unset HARNESS_ENDPOINT to run one in-process") from None
    raise BackendUnavailable(f"{endpoint} is not a sagemaker-harness emulator")
