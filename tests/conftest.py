"""Shared fixtures: a real emulator on a loopback port and boto3 clients aimed at it."""

from __future__ import annotations

import functools
import io
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from backends.emulator.executor.docker_serving import free_port
from backends.emulator.server import Emulator, EmulatorConfig
from backends.localstack import LocalStack, LocalStackError

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole"
XGB_LEGACY = "811284229777.dkr.ecr.us-east-1.amazonaws.com/xgboost:1"
XGB_17 = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
BOSTON = Path(__file__).resolve().parents[1] / "fixtures" / "data" / "boston_house_prices.csv"
# The tests' LocalStack environment, in the checkout rather than the user's cache (backends/localstack.py).
LOCALSTACK_VENV = Path(__file__).resolve().parents[1] / ".venv-localstack"


@functools.lru_cache(maxsize=1)
def docker_engine_problem() -> str | None:
    """Why no Docker engine can be used here (None when one answers), asked once per session."""
    from backends.docker_engine import engine_problem

    return engine_problem()


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Tests marked `docker` need a running engine: without one they skip and say why."""
    if item.get_closest_marker("docker") is not None:
        problem = docker_engine_problem()
        if problem is not None:
            pytest.skip(f"no Docker engine: {problem}")


def make_client(service: str, endpoint: str, region: str = REGION) -> Any:
    return boto3.session.Session().client(
        service, region_name=region, endpoint_url=endpoint, aws_access_key_id="test",
        aws_secret_access_key="test", config=Config(retries={"max_attempts": 1}),
    )


@pytest.fixture(scope="session")
def localstack() -> Iterator[LocalStack]:
    """LocalStack on the host, on loopback (built on first use); a LocalStack that cannot start fails the tests."""
    try:
        instance = LocalStack(free_port(), directory=LOCALSTACK_VENV).start(timeout=300)
    except LocalStackError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield instance
    finally:
        instance.stop()


@pytest.fixture(scope="session", params=["moto", "localstack"])
def emulator(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """The emulator, twice: S3/Logs/STS from the embedded moto, then from an upstream LocalStack.

    In-process emulators share one embedded moto, so saving it at stop (persist_services) would save every
    test's data; restarts with their S3 and Logs data are tested on `harness serve` processes instead
    (test_services_snapshot.py)."""
    upstream = request.getfixturevalue("localstack").url if request.param == "localstack" else None
    state = tmp_path_factory.mktemp(f"state-{request.param}")
    with Emulator(EmulatorConfig(state_dir=state, upstream=upstream, persist_services=False)) as emu:
        yield emu


@pytest.fixture(scope="session")
def sagemaker(emulator: Emulator) -> Any:
    return make_client("sagemaker", emulator.endpoint_url)


@pytest.fixture(scope="session")
def s3(emulator: Emulator) -> Any:
    return make_client("s3", emulator.endpoint_url)


@pytest.fixture(scope="session")
def logs(emulator: Emulator) -> Any:
    return make_client("logs", emulator.endpoint_url)


@pytest.fixture(scope="session")
def bucket(s3: Any) -> str:
    name = "sagemaker-us-east-1-123456789012"
    s3.create_bucket(Bucket=name)
    return name


_counter = iter(range(1_000_000))


@pytest.fixture
def unique() -> Callable[[str], str]:
    """A fresh job name per call, so tests sharing the session emulator never collide."""
    return lambda prefix: f"{prefix}-{int(time.time())}-{next(_counter)}"


def boston_frames() -> tuple[Any, Any]:
    """Boston housing as (features, label) with the label column MEDV."""
    import pandas as pd

    frame = pd.read_csv(BOSTON, skiprows=1)
    return frame.drop(columns=["MEDV"]), frame["MEDV"]


def upload_csv(s3: Any, bucket: str, key: str, frame: Any) -> str:
    buffer = io.StringIO()
    frame.to_csv(buffer, header=False, index=False)
    s3.put_object(Bucket=bucket, Key=key, Body=buffer.getvalue().encode())
    return f"s3://{bucket}/{key}"


def wait_training(sagemaker: Any, name: str, timeout: float = 300) -> dict[str, Any]:
    return _wait(lambda: sagemaker.describe_training_job(TrainingJobName=name), "TrainingJobStatus",
                 f"training job {name}", timeout)


def wait_transform(sagemaker: Any, name: str, timeout: float = 300) -> dict[str, Any]:
    return _wait(lambda: sagemaker.describe_transform_job(TransformJobName=name), "TransformJobStatus",
                 f"transform job {name}", timeout)


def _wait(describe: Callable[[], dict[str, Any]], status_key: str, what: str, timeout: float) -> dict[str, Any]:
    deadline = time.time() + timeout
    while time.time() < deadline:
        job = describe()
        if job[status_key] in ("Completed", "Failed", "Stopped"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"{what} did not finish in {timeout} s")


TRAINING_LOGS = "/aws/sagemaker/TrainingJobs"
TRANSFORM_LOGS = "/aws/sagemaker/TransformJobs"


def job_log(logs: Any, group: str, name: str) -> list[str]:
    """The messages a job wrote to CloudWatch Logs: every stream named `<name>/...` in `group`, in order."""
    messages: list[str] = []
    for stream in logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=f"{name}/")["logStreams"]:
        events = logs.get_log_events(logGroupName=group, logStreamName=stream["logStreamName"], startFromHead=True,
                                     limit=10000)["events"]
        messages += [event["message"] for event in events]
    return messages


def process_alive(pid: int) -> bool:
    """Whether `pid` runs (Linux /proc); a zombie, exited but not yet reaped by its parent, does not."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def booster_from_artifact(s3: Any, uri: str) -> Any:
    """The `xgboost-model` inside a model.tar.gz on S3, loaded as the container loads it (pickle, else
    XGBoost's own format)."""
    import pickle
    import tarfile

    import xgboost as xgb

    bucket, key = uri.removeprefix("s3://").split("/", 1)
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        assert tar.getnames() == ["xgboost-model"]
        member = tar.extractfile("xgboost-model")
        assert member is not None
        data = member.read()
    try:
        booster = xgb.Booster()
        booster.load_model(bytearray(data))
    except xgb.core.XGBoostError:
        booster = pickle.loads(data)
    return booster


def serve(state: Path, port: int, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """`harness serve` in its own process (with `env` added to this one's), returned once it listens."""
    process = subprocess.Popen([sys.executable, "-m", "harness", "serve", "--port", str(port), "--state-dir",
                                str(state)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               env={**os.environ, **(env or {})})
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process
        except OSError:
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            time.sleep(0.1)
    raise AssertionError(f"harness serve did not listen on {endpoint}")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--all-runtimes", action="store_true", default=False,
                     help="Test every image version's XGBoost runtime (installs each into .runtimes/), not only "
                          "the default suite's 1.7-1.")
    parser.addoption("--runtimes", default=None, metavar="VERSIONS",
                     help="Test these image versions' runtimes (comma-separated, e.g. 0.90-1,1.0-1).")


@pytest.fixture(scope="session", autouse=True)
def _no_user_runtimes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Runtimes a developer installed (~/.cache/sagemaker-harness/runtimes) would change what jobs run on:
    tests see none, except the runtime tests, which name their own directory."""
    import os

    from backends.emulator.runtimes.store import ENV_VAR

    previous = os.environ.get(ENV_VAR)
    os.environ[ENV_VAR] = str(tmp_path_factory.mktemp("no-runtimes"))
    yield
    if previous is None:
        os.environ.pop(ENV_VAR, None)
    else:
        os.environ[ENV_VAR] = previous
