"""Backend selection, and the one clear line a backend gives when it cannot start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from backends import BackendUnavailable, create_backend
from backends.emulator.backend import EmulatorBackend
from backends.local import LocalBackend
from backends.sagemaker import SageMakerBackend


@pytest.fixture
def no_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    """An environment with no AWS credentials anywhere (and no instance metadata to ask)."""
    for key in list(os.environ):
        if key.startswith(("AWS_", "HARNESS_")):
            monkeypatch.delenv(key)
    settings = {"AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"), "AWS_CONFIG_FILE": str(tmp_path / "none"),
                "AWS_EC2_METADATA_DISABLED": "true"}
    for key, value in settings.items():
        monkeypatch.setenv(key, value)
    return settings


def test_the_setting_picks_the_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HARNESS_BACKEND", raising=False)
    assert isinstance(create_backend(), EmulatorBackend)
    monkeypatch.setenv("HARNESS_BACKEND", "sagemaker")
    assert isinstance(create_backend(), SageMakerBackend)
    assert isinstance(create_backend("local"), LocalBackend)
    assert create_backend("local").instance_type == "local"
    assert create_backend("emulator").instance_type == "ml.m4.xlarge"


def test_unknown_backend_is_refused() -> None:
    with pytest.raises(BackendUnavailable, match="unknown backend 'cloud': choose one of emulator, local, sagemaker"):
        create_backend("cloud")


def test_sagemaker_without_credentials_says_so(no_aws: dict[str, str]) -> None:
    with pytest.raises(BackendUnavailable, match=r"^no AWS credentials found"):
        create_backend("sagemaker").start()


def test_sagemaker_without_a_role_says_so(no_aws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    with pytest.raises(BackendUnavailable, match=r"^no execution role: set HARNESS_ROLE"):
        create_backend("sagemaker").start()


def test_local_without_docker_says_so(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    with pytest.raises(BackendUnavailable, match=r"^no Docker engine is running"):
        create_backend("local").start()


def test_emulator_endpoint_that_does_not_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    backend = create_backend("emulator", endpoint="http://127.0.0.1:9")
    with pytest.raises(BackendUnavailable, match=r"^no emulator answers at http://127\.0\.0\.1:9"):
        backend.start()


def test_emulator_starts_and_stops_in_process() -> None:
    backend = create_backend("emulator")
    backend.start()
    try:
        assert backend.client("sagemaker").list_training_jobs()["TrainingJobSummaries"] == []
        bucket = backend.default_bucket()
        assert bucket == "sagemaker-us-east-1-123456789012"
        assert backend.default_bucket() == bucket  # idempotent
    finally:
        backend.stop()
    with pytest.raises(BackendUnavailable):
        backend.client("sagemaker")


def test_cli_fails_at_once_with_one_line_without_credentials(no_aws: dict[str, str], tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items()}
    result = subprocess.run([sys.executable, "-m", "harness", "run", "--backend", "sagemaker",
                             "--output", str(tmp_path)], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == ["error: backend sagemaker: no AWS credentials found: set AWS_PROFILE or AWS_ACCESS_KEY_ID "
                     "and AWS_SECRET_ACCESS_KEY (or run `aws configure`)"]
    assert not (tmp_path / "data").exists()  # nothing was done before the check
