"""Fixtures for the SDK compatibility tests: the SDK environments, a `harness serve` subprocess, the Boston
CSVs, and a way to run a user's script against the endpoint with nothing but the AWS settings."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from sklearn.model_selection import train_test_split

from fixtures.datasets import load_boston
from tests.conftest import free_port, serve

from .envs import SPECS, EnvBuildError, SdkEnv, ensure_all

SCRIPTS = Path(__file__).parent / "scripts"
REGION = "us-east-1"


@pytest.fixture(scope="session")
def sdk_envs(request: pytest.FixtureRequest) -> dict[str, SdkEnv | EnvBuildError]:
    """All SDK environments, built in parallel on first use (a few minutes), reused afterwards."""
    capture = request.config.pluginmanager.getplugin("capturemanager")

    def report(line: str) -> None:
        # Building takes minutes the first time: say so on the terminal, past pytest's capture.
        if capture is not None:
            with capture.global_and_fixture_disabled():
                print(f"\n[sdk-envs] {line}", flush=True)
        else:
            print(f"[sdk-envs] {line}", flush=True)

    return ensure_all(tuple(SPECS), report)


def _env_named(envs: dict[str, SdkEnv | EnvBuildError], name: str) -> SdkEnv:
    outcome = envs[name]
    if isinstance(outcome, EnvBuildError):
        raise outcome  # an error, not a skip: these environments install from PyPI on every machine we run on
    return outcome


@pytest.fixture(scope="session")
def sdk3_env(sdk_envs: dict[str, SdkEnv | EnvBuildError]) -> SdkEnv:
    return _env_named(sdk_envs, "sdk3")


@pytest.fixture(scope="session")
def sdk2_env(sdk_envs: dict[str, SdkEnv | EnvBuildError]) -> SdkEnv:
    return _env_named(sdk_envs, "sdk2")


@pytest.fixture(scope="session")
def awscli_env(sdk_envs: dict[str, SdkEnv | EnvBuildError]) -> SdkEnv:
    return _env_named(sdk_envs, "awscli")


@pytest.fixture(scope="session")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `harness serve` in its own process, as users start it."""
    port = free_port()
    server = serve(tmp_path_factory.mktemp("sdk-serve-state"), port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(30)


@dataclass(frozen=True)
class BostonData:
    directory: Path  # train.csv, validation.csv (label first), test.csv (no label); no header, no index
    y_test: pd.Series


@pytest.fixture(scope="session")
def boston(tmp_path_factory: pytest.TempPathFactory) -> BostonData:
    """The reference split (2/3 then 2/3, seeded so every way trains on the same rows), written as the seed
    notebook writes it."""
    features, label = load_boston()
    x_train, x_test, y_train, y_test = train_test_split(features, label, test_size=0.33, random_state=0)
    x_train, x_val, y_train, y_val = train_test_split(x_train, y_train, test_size=0.33, random_state=0)
    directory = tmp_path_factory.mktemp("boston")
    x_test.to_csv(directory / "test.csv", header=False, index=False)
    pd.concat([y_val, x_val], axis=1).to_csv(directory / "validation.csv", header=False, index=False)
    pd.concat([y_train, x_train], axis=1).to_csv(directory / "train.csv", header=False, index=False)
    return BostonData(directory, y_test)


def user_env(endpoint: str, home: Path, **extra: str) -> dict[str, str]:
    """A user's shell pointed at the emulator: the one setting, test credentials and a region. HOME is a fresh
    directory, so no AWS or SageMaker configuration of the machine leaks in."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("AWS_", "HARNESS_", "SAGEMAKER_", "PYTHON"))}
    home.mkdir(parents=True, exist_ok=True)
    env.update({"HOME": str(home), "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "test",
                "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": REGION})
    env.update(extra)
    return env


def write_sdk_defaults(env: dict[str, str]) -> Path:
    """`python -m harness.sdk config`, the documented offline step for SDK code, run as a user runs it."""
    result = subprocess.run([sys.executable, "-m", "harness.sdk", "config"], env=env, capture_output=True,
                            text=True, timeout=120, cwd=Path(__file__).resolve().parents[2])
    assert result.returncode == 0, result.stderr
    return Path(result.stdout.strip())


@dataclass(frozen=True)
class ScriptRun:
    output: str  # stdout and stderr, interleaved as the user saw them
    seconds: float


def run_script(python: Path | str, script: str, args: list[str], env: dict[str, str], timeout: float = 300,
               fast_polling: bool = False) -> ScriptRun:
    """Run one of scripts/ under `python`; with `fast_polling`, through the test-speed wrapper that shortens the
    SDKs' sleeps between polls (see scripts/fast_polling.py)."""
    command = [str(python)]
    if fast_polling:
        command.append(str(SCRIPTS / "fast_polling.py"))
    command += [str(SCRIPTS / script), *args]
    started = time.monotonic()
    result = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            timeout=timeout)
    seconds = time.monotonic() - started
    assert result.returncode == 0, f"{script} exited {result.returncode}:\n{result.stdout[-12000:]}"
    return ScriptRun(result.stdout, seconds)
