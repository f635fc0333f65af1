"""The `local` backend against the real SDK local mode of both SDK majors, as far as no Docker engine allows:
where `LocalSession` lives, how the backend builds it, and that the workflow's requests fit its client.
Local mode running the XGBoost container is tests/integration/test_local_backend.py (marked `docker`)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from .conftest import SCRIPTS
from .envs import SdkEnv

pytestmark = pytest.mark.timeout(1800)  # the first run builds the SDK environments
REPO = Path(__file__).resolve().parents[2]
LOCALSTACK_URL = "http://127.0.0.1:4599"


def probe(env: SdkEnv) -> dict[str, object]:
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith(("AWS_", "HARNESS_", "PYTHON", "SAGEMAKER_"))}
    environment.update({"PYTHONPATH": str(REPO), "SAGEMAKER_SUPPRESS_V2_WARNING": "1"})
    result = subprocess.run([str(env.python), str(SCRIPTS / "local_mode_probe.py"), LOCALSTACK_URL],
                            capture_output=True, text=True, timeout=300, env=environment, cwd=REPO)
    assert result.returncode == 0, result.stderr[-6000:]
    answer: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return answer


@pytest.mark.parametrize(("name", "module"), [("sdk3", "sagemaker.core.local.local_session"),
                                              ("sdk2", "sagemaker.local.local_session")])
def test_local_mode_of_each_sdk(name: str, module: str, request: pytest.FixtureRequest) -> None:
    env: SdkEnv = request.getfixturevalue(f"{name}_env")
    answer = probe(env)
    assert answer["module"] == module
    assert answer["client"] == "LocalSagemakerClient"
    assert answer["s3_endpoint"] == LOCALSTACK_URL
    assert answer["region"] == "us-east-1"
    assert answer["binds"] == [True] * 5
    # Local mode puts a transform job's outputs in a folder named after the job; the backend says the same.
    assert answer["transform_uploads"] == [["b", "p/batch-transform/t"]]
    assert answer["backend_transform_output"] == "s3://b/p/batch-transform/t/"
