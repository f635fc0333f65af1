"""SageMaker local mode for real: the SDK's local mode (Docker Compose, the SDK's own /opt/ml files, its HTTP
batching against the image's gunicorn server) running the project's algorithm images, with S3 on LocalStack,
against the emulator running the same image version's runtime in process. Two different execution paths; the
predictions must agree byte for byte and the requests must differ only in the instance type.

Needs a Docker engine (the `docker` marker skips without one, saying why). Everything else is built here when
missing: the images (`harness images build`, seconds when up to date), the runtimes and LocalStack's venv.
"""

from __future__ import annotations

import copy
import csv
import functools
import json
import math
import os
import random
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from backends.base import Backend
from backends.docker_engine import container_ids
from backends.emulator.algorithms.images import image_uri
from backends.emulator.backend import EmulatorBackend
from backends.emulator.runtimes import RuntimeStore
from backends.emulator.runtimes.store import ENV_VAR as RUNTIMES_VARIABLE
from backends.images import build_algorithm_image, ensure_base_image
from backends.local import LocalBackend
from backends.localstack import LocalStack
from fixtures.strategies import Dataset, regression_datasets, xgboost_hyperparameters
from harness.workflow import Workflow, WorkflowOptions
from tests.conftest import LOCALSTACK_VENV, free_port
from tests.runtimes.conftest import RUNTIMES_DIR

pytestmark = [pytest.mark.docker, pytest.mark.timeout(1800)]
REGION = "us-east-1"
VERSIONS = ["1", "1.7-1"]
SKLEARN_VERSION = "1.2-1"
SKLEARN_RUNTIME = f"sklearn-{SKLEARN_VERSION}"
EXAMPLE_SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "sklearn_boston" / "train.py"
XGBOOST_EXAMPLE_SCRIPT = EXAMPLE_SCRIPT.parents[1] / "xgboost_boston" / "train.py"


@pytest.fixture(scope="module")
def images() -> list[str]:
    """Our algorithm images of both versions and the SKLearn framework image, tagged with their ECR URIs (built or
    found up to date)."""
    store = RuntimeStore(RUNTIMES_DIR)
    base = ensure_base_image(print)
    built = []
    for version in [*VERSIONS, SKLEARN_RUNTIME]:
        runtime = store.find(version) or store.install(version)
        uri = image_uri(REGION, runtime.spec.framework, runtime.spec.image_tag)
        built.append(build_algorithm_image(runtime, base, [uri], print).image)
    return built


@pytest.fixture(scope="module")
def localstack_url() -> Iterator[str]:
    instance = LocalStack(free_port(), directory=LOCALSTACK_VENV).start(timeout=300)
    try:
        yield instance.url
    finally:
        instance.stop()


@pytest.fixture()
def with_runtimes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The emulator's jobs run in the image versions' runtimes, as the images do."""
    monkeypatch.setenv(RUNTIMES_VARIABLE, str(RUNTIMES_DIR))


def _harness_run(tmp_path: Path, output: str, version: str, env: dict[str, str], *extra: str) -> Path:
    command = [sys.executable, "-m", "harness", "run", "--image-version", version, "--output", output, *extra]
    result = subprocess.run(command, cwd=tmp_path, env={**os.environ, **env}, capture_output=True, text=True,
                            timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return tmp_path / output / "predictions.csv"


def _rmse(predictions: Path) -> float:
    with predictions.open() as handle:
        rows = list(csv.DictReader(handle))
    return math.sqrt(sum((float(r["actual"]) - float(r["predicted"])) ** 2 for r in rows) / len(rows))


@pytest.mark.parametrize("version", VERSIONS)
def test_harness_run_on_local_mode_equals_the_emulator_byte_for_byte(images: list[str], localstack_url: str,
                                                                      tmp_path: Path, version: str) -> None:
    before = container_ids()
    local = _harness_run(tmp_path, "A", version, {"HARNESS_BACKEND": "local", "HARNESS_LOCALSTACK_URL": localstack_url})
    # Local mode's exited containers (one for training, one for the transform) are gone with the backend.
    assert container_ids() - before == set()
    emulator = _harness_run(tmp_path, "B", version, {"HARNESS_BACKEND": "emulator",
                                                     RUNTIMES_VARIABLE: str(RUNTIMES_DIR)})
    assert _rmse(local) < 6  # the seed's model scores about 4.2 to 4.4 on this split
    assert local.read_bytes() == emulator.read_bytes()


@pytest.mark.parametrize("framework", ["sklearn", "xgboost"])
def test_script_mode_on_local_mode_equals_the_emulator_byte_for_byte(images: list[str], localstack_url: str,
                                                                      tmp_path: Path, framework: str) -> None:
    """The example script in Docker (the toolkit's `train`, gunicorn serving the script's `model_fn`) on the
    SKLearn framework image, or on the XGBoost 1.7-1 image in framework mode, and in the emulator's runtime of the
    same image: the same predictions, byte for byte."""
    before = container_ids()
    if framework == "sklearn":
        version, script = "1", ("--script", str(EXAMPLE_SCRIPT), "--framework-version", SKLEARN_VERSION)
    else:
        version, script = "1.7-1", ("--script", str(XGBOOST_EXAMPLE_SCRIPT), "--framework", "xgboost")
    local = _harness_run(tmp_path, "A", version, {"HARNESS_BACKEND": "local",
                                                  "HARNESS_LOCALSTACK_URL": localstack_url}, *script)
    assert container_ids() - before == set()
    emulator = _harness_run(tmp_path, "B", version, {"HARNESS_BACKEND": "emulator",
                                                     RUNTIMES_VARIABLE: str(RUNTIMES_DIR)}, *script)
    assert _rmse(local) < 6  # both examples score about 3.7 to 3.9 on this split
    assert local.read_bytes() == emulator.read_bytes()


class Recording:
    """A backend's SageMaker client, recording every Create* request it is sent."""

    def __init__(self, client: Any, requests: list[tuple[str, dict[str, Any]]]) -> None:
        self._client = client
        self._requests = requests

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if not name.startswith("create_"):
            return attribute

        def record(**request: Any) -> Any:
            self._requests.append((name, copy.deepcopy(request)))  # local mode adds to the dicts it is given
            return attribute(**request)

        return record


def _run(backend: Backend, data: Dataset, hyperparameters: dict[str, str], version: str,
         directory: Path, script: Path | None = None) -> tuple[bytes, list[tuple[str, dict[str, Any]]], list[str]]:
    requests: list[tuple[str, dict[str, Any]]] = []
    original = functools.partial(type(backend).client, backend)  # the backend's own, not an earlier example's

    def client(service: str) -> Any:
        found = original(service)
        return Recording(found, requests) if service == "sagemaker" else found

    backend.client = client  # type: ignore[method-assign]
    options = WorkflowOptions(prefix="prop", hyperparameters=hyperparameters, image_version=version,
                              data_dir=directory / "data", output_dir=directory / "out",
                              deploy=True, script=script, framework_version=SKLEARN_VERSION)
    result = Workflow(backend, options).run(data.features, data.label)
    assert result.endpoint is not None
    # The endpoint answers the test set as the batch transform did, string for string, on each backend.
    assert result.endpoint.matches_transform, result.endpoint
    return result.predictions.read_bytes(), requests, result.endpoint.answers


def _normalized(requests: list[tuple[str, dict[str, Any]]], backend: Backend) -> str:
    """The requests with what must differ between backends named generically: job names (timestamps), the
    account's bucket and role, the image's region-specific registry, and the instance type (checked apart)."""
    text = repr(requests)
    text = re.sub(r"\d{4}(-\d\d){5}-\d{3}", "TIME", text)  # the names' timestamps
    # Script mode's source: an S3 archive on the emulator, local code (file://) in local mode.
    text = re.sub(r"(s3://[^'\\]*/source/sourcedir\.tar\.gz|file:///[^'\\]*/source)\b", "SOURCE", text)
    text = text.replace(backend.default_bucket(), "BUCKET").replace(backend.role_arn(), "ROLE")
    return text.replace(f"'{backend.instance_type}'", "'INSTANCE_TYPE'")


@pytest.fixture(scope="module")
def backends(images: list[str], localstack_url: str) -> Iterator[dict[str, Backend]]:
    previous = os.environ.get(RUNTIMES_VARIABLE)
    os.environ[RUNTIMES_VARIABLE] = str(RUNTIMES_DIR)
    started: dict[str, Backend] = {"local": LocalBackend(REGION, localstack_url=localstack_url),
                                   "emulator": EmulatorBackend(REGION)}
    try:
        for backend in started.values():
            backend.start()
        yield started
    finally:
        for backend in started.values():
            backend.stop()
        if previous is None:
            os.environ.pop(RUNTIMES_VARIABLE, None)
        else:
            os.environ[RUNTIMES_VARIABLE] = previous


# Each example trains and transforms twice, once in Docker (about 10 s): a few examples, no shrinking.
@settings(max_examples=4, deadline=None, phases=(Phase.generate,),
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=regression_datasets(min_rows=40, max_rows=200), version=st.sampled_from(VERSIONS),
       hyperparameters=xgboost_hyperparameters("reg:linear"))
def test_generated_workflows_agree_across_local_mode_and_the_emulator(
        backends: dict[str, Backend], tmp_path_factory: pytest.TempPathFactory, data: Dataset, version: str,
        hyperparameters: dict[str, str]) -> None:
    # Hypothesis seeds the `random` module the same way for every example, and SDK local mode names its
    # containers with it: without a fresh seed, an example's container names collide with the last one's.
    random.seed()
    directory = tmp_path_factory.mktemp(f"cross-{version}")
    outputs = {name: _run(backend, data, hyperparameters, version, directory / name)
               for name, backend in backends.items()}
    assert outputs["local"][0] == outputs["emulator"][0]
    assert outputs["local"][2] == outputs["emulator"][2]  # the two backends' endpoints, answer for answer
    local_requests, emulator_requests = outputs["local"][1], outputs["emulator"][1]
    assert [name for name, _ in local_requests] == ["create_training_job", "create_model", "create_transform_job",
                                                    "create_endpoint_config", "create_endpoint"]
    assert local_requests[0][1]["ResourceConfig"]["InstanceType"] == "local"
    assert emulator_requests[0][1]["ResourceConfig"]["InstanceType"].startswith("ml.")
    local_text = _normalized(local_requests, backends["local"])
    emulator_text = _normalized(emulator_requests, backends["emulator"])
    if local_text != emulator_text:
        at = next(i for i, (a, b) in enumerate(zip(local_text, emulator_text, strict=False)) if a != b)
        raise AssertionError(f"the requests differ: local ...{local_text[at - 120:at + 120]}... emulator "
                             f"...{emulator_text[at - 120:at + 120]}...")


@st.composite
def _gradient_boosting_hyperparameters(draw: st.DrawFn) -> dict[str, str]:
    """Arguments of the example script (`examples/sklearn_boston/train.py`)."""
    return {"n_estimators": str(draw(st.integers(5, 60))), "max_depth": str(draw(st.integers(1, 4))),
            "learning_rate": str(draw(st.sampled_from([0.05, 0.1, 0.3]))),
            "subsample": str(draw(st.sampled_from([1.0, 0.7]))), "random_state": str(draw(st.integers(0, 9)))}


# Each example trains, transforms and deploys twice, once in Docker (about 15 s): a few examples, no shrinking.
@settings(max_examples=3, deadline=None, phases=(Phase.generate,),
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
# Two features at least: the container's default input_fn decodes CSV with numpy's genfromtxt, which makes a 1-D
# array of a one-column body, and scikit-learn refuses that (a 500 on both backends, as in the real container).
@given(data=regression_datasets(min_rows=40, max_rows=200).filter(lambda d: d.features.shape[1] >= 2),
       hyperparameters=_gradient_boosting_hyperparameters())
def test_generated_script_mode_workflows_agree_across_local_mode_and_the_emulator(
        backends: dict[str, Backend], tmp_path_factory: pytest.TempPathFactory, data: Dataset,
        hyperparameters: dict[str, str]) -> None:
    """The example script on generated data and arguments: SDK local mode on the SKLearn framework image and the
    emulator give the same batch predictions and endpoint answers, from requests that differ only where the
    source lives (an S3 archive, or local mode's local code) and in the instance type."""
    random.seed()  # as above: local mode names its containers with `random`
    directory = tmp_path_factory.mktemp("script")
    outputs = {name: _run(backend, data, hyperparameters, "1", directory / name, script=EXAMPLE_SCRIPT)
               for name, backend in backends.items()}
    assert outputs["local"][0] == outputs["emulator"][0]
    assert outputs["local"][2] == outputs["emulator"][2]
    local_requests, emulator_requests = outputs["local"][1], outputs["emulator"][1]
    training = local_requests[0][1]
    assert training["AlgorithmSpecification"]["TrainingImage"] == image_uri(REGION, "sklearn", SKLEARN_VERSION)
    assert json.loads(training["HyperParameters"]["sagemaker_submit_directory"]).startswith("file:///")
    assert _normalized(local_requests, backends["local"]) == _normalized(emulator_requests, backends["emulator"])
