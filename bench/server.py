"""The emulator under test: `harness serve` in its own process, and boto3 clients that talk to it over HTTP.

A separate process keeps the emulator's memory (and CPU) apart from the benchmark's own, and is how users run
it (`harness serve`, then `AWS_ENDPOINT_URL`). Its image runtimes directory is an empty one of the benchmark's:
jobs then run on the emulator's own XGBoost, the library the bare side runs, whatever runtimes
(`harness runtimes install`) this machine has.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import boto3
from botocore.config import Config

REGION = "us-east-1"
BUCKET = "sagemaker-us-east-1-123456789012"
ROLE = "arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole-bench"


class EmulatorProcess:
    """`with EmulatorProcess(state_dir) as emulator:` serves on `emulator.endpoint_url` until the block ends."""

    def __init__(self, state_dir: Path, start_timeout: float = 60.0, env: dict[str, str] | None = None) -> None:
        self.state_dir = state_dir
        self.env = env or {}  # added to the process's environment (e.g. HARNESS_DURABLE_SERVICES=0)
        self.runtimes_dir = state_dir / "no-runtimes"
        self.start_timeout = start_timeout
        self.port = _free_port()
        self.endpoint_url = f"http://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def pid(self) -> int:
        if self._process is None:
            raise RuntimeError("the emulator process is not started")
        return self._process.pid

    def __enter__(self) -> EmulatorProcess:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.runtimes_dir.mkdir(exist_ok=True)
        self._log = open(self.state_dir / "serve.log", "wb")  # closed in __exit__
        self._process = subprocess.Popen(
            [sys.executable, "-m", "harness", "serve", "--port", str(self.port), "--state-dir", str(self.state_dir)],
            stdout=self._log, stderr=subprocess.STDOUT,
            env={**os.environ, "HARNESS_RUNTIMES_DIR": str(self.runtimes_dir), **self.env},
        )
        self._wait_until_healthy()
        self.client("s3").create_bucket(Bucket=BUCKET)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._process is not None:
            self._process.terminate()  # `harness serve` stops its jobs and exits on SIGTERM
            try:
                self._process.wait(30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._log is not None:
            self._log.close()

    def client(self, service: str) -> Any:
        return boto3.session.Session().client(
            service, region_name=REGION, endpoint_url=self.endpoint_url, aws_access_key_id="test",
            aws_secret_access_key="test", config=Config(retries={"max_attempts": 2, "mode": "standard"}),
        )

    def _wait_until_healthy(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                log = (self.state_dir / "serve.log").read_text(errors="replace")
                raise RuntimeError(f"harness serve exited with code {self._process.returncode}:\n{log}")
            with contextlib.suppress(OSError), urllib.request.urlopen(
                f"{self.endpoint_url}/_harness/health", timeout=1
            ) as response:
                if response.status == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"harness serve did not answer on {self.endpoint_url} within {self.start_timeout} s")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
