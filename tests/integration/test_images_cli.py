"""`harness images build` and `harness images list` against the real Docker engine: the image is tagged with the
ECR URI SageMaker SDKs use, a second build finds it up to date, and the image's own interpreter runs that
version's XGBoost release. (Training and serving through the images: test_local_backend.py.)"""

from __future__ import annotations

import subprocess
import sys

import pytest

from backends.emulator.algorithms.images import image_uri
from tests.runtimes.conftest import RUNTIMES_DIR

pytestmark = [pytest.mark.docker, pytest.mark.timeout(1800)]


def _harness(*arguments: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "harness", "images", *arguments], capture_output=True, text=True,
                            timeout=1500)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return result


def test_build_tags_the_ecr_uri_and_is_idempotent() -> None:
    _harness("build", "1.7-1", "--dir", str(RUNTIMES_DIR), "--region", "eu-west-1")
    again = _harness("build", "1.7-1", "--dir", str(RUNTIMES_DIR), "--region", "eu-west-1")
    assert "1.7-1: sagemaker-harness/xgboost:1.7-1 is up to date" in " ".join(again.stderr.split())
    uri = image_uri("eu-west-1", "xgboost", "1.7-1")
    ids = {subprocess.run(["docker", "image", "inspect", "--format", "{{.Id}}", name], capture_output=True,
                          text=True, check=True).stdout.strip() for name in (uri, "sagemaker-harness/xgboost:1.7-1")}
    assert len(ids) == 1  # one image, two names
    version = subprocess.run(["docker", "run", "--rm", uri, "python3.11", "-c",
                              "import xgboost, gunicorn; print(xgboost.__version__)"],
                             capture_output=True, text=True, check=True).stdout.strip()
    assert version == "1.7.4"
    for command in ("train", "serve"):
        path = subprocess.run(["docker", "run", "--rm", uri, "sh", "-c", f"command -v {command}"],
                              capture_output=True, text=True, check=True).stdout.strip()
        assert path == f"/usr/local/bin/{command}"
    listed = _harness("list").stdout
    assert "sagemaker-harness/xgboost:1.7-1" in listed


def test_unknown_versions_and_regions_are_refused() -> None:
    for arguments, text in ((["build", "9.9-9"], "unknown image version 9.9-9"),
                            (["build", "1.7-1", "--region", "mars-1"], "no XGBoost image in region mars-1")):
        result = subprocess.run([sys.executable, "-m", "harness", "images", *arguments], capture_output=True,
                                text=True, timeout=120)
        assert result.returncode == 2 and text in result.stderr, result.stderr


def test_a_framework_image_is_tagged_as_the_sklearn_image_and_runs_the_toolkit() -> None:
    built = _harness("build", "sklearn-1.2-1", "--dir", str(RUNTIMES_DIR), "--region", "eu-west-1")
    assert "sklearn-1.2-1" in built.stdout
    uri = image_uri("eu-west-1", "sklearn", "1.2-1")
    assert uri == "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
    found = subprocess.run(["docker", "run", "--rm", uri, "python3.9", "-c",
                            "import sklearn, sagemaker_training.cli.train, gunicorn; print(sklearn.__version__)"],
                           capture_output=True, text=True, check=True).stdout.strip()
    assert found == "1.2.1"
    train = subprocess.run(["docker", "run", "--rm", uri, "cat", "/usr/local/bin/train"], capture_output=True,
                           text=True, check=True).stdout
    assert "-m backends.emulator.frameworks.container train" in train
    assert "sagemaker-harness/sklearn:1.2-1" in _harness("list").stdout
