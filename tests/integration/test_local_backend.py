"""The reference workflow on the `local` backend: SDK local mode running AWS's XGBoost container in Docker, with
S3 on LocalStack (`docker compose up -d localstack`), compared with the same workflow on the emulator.

Needs a Docker engine (the `docker` marker skips without one), Docker Compose, the SDK (`[local]` extra), LocalStack
and the image already pulled (HARNESS_LOCAL_IMAGE_VERSION, default the seed's `1`); the backend names whichever is
missing in one line, and the test skips with it.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from backends import BackendUnavailable, create_backend
from fixtures.datasets import load_boston
from harness.workflow import Workflow, WorkflowOptions, WorkflowResult

pytestmark = [pytest.mark.docker, pytest.mark.timeout(1800)]


def run_on(backend_name: str, tmp_path: Path) -> WorkflowResult:
    options = WorkflowOptions(image_version=os.environ.get("HARNESS_LOCAL_IMAGE_VERSION", "1"),
                              data_dir=tmp_path / backend_name / "data", output_dir=tmp_path / backend_name / "out")
    backend = create_backend(backend_name)
    try:
        backend.start()
        return Workflow(backend, options).run(*load_boston())
    except BackendUnavailable as exc:
        pytest.skip(f"the {backend_name} backend cannot run here: {exc}")
    finally:
        backend.stop()


def test_reference_workflow_on_local_mode_agrees_with_the_emulator(tmp_path: Path) -> None:
    local = run_on("local", tmp_path)
    assert local.training["TrainingJobStatus"] == "Completed"
    assert local.transform["TransformJobStatus"] == "Completed"
    assert local.metrics.rmse < 6  # the seed notebook's model scores about 4 on this split
    emulator = run_on("emulator", tmp_path)
    predicted = {name: pd.read_csv(result.predictions)["predicted"].to_numpy()
                 for name, result in (("local", local), ("emulator", emulator))}
    # Same data, same hyperparameters; the container pins its own XGBoost release, so close, not identical.
    assert np.corrcoef(predicted["local"], predicted["emulator"])[0, 1] > 0.95
    assert abs(local.metrics.rmse - emulator.metrics.rmse) < 1.0
