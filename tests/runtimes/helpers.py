"""Running a job through the emulator over HTTP, and plain XGBoost inside a runtime, for the runtime tests."""

from __future__ import annotations

import io
import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from backends.emulator.algorithms.images import image_uri
from backends.emulator.runtimes import Runtime, RuntimeInstallError, RuntimeStore
from backends.emulator.runtimes.runner_env import runner_environment, runner_path
from harness.requests import TrainingConfig, TransformConfig, model_request, training_job_request, transform_job_request
from tests.conftest import REGION, ROLE, TRAINING_LOGS, TRANSFORM_LOGS, job_log, wait_training, wait_transform

RUNTIMES_DIR = Path(__file__).resolve().parents[2] / ".runtimes"
DIRECT = Path(__file__).with_name("direct_xgboost.py")
CONTAINER_MODEL = Path(__file__).with_name("container_model.py")


def csv_bytes(frame: Any) -> bytes:
    buffer = io.StringIO()
    frame.to_csv(buffer, header=False, index=False)
    return buffer.getvalue().encode()


def emulator_predictions(clients: dict[str, Any], bucket: str, version: str, files: dict[str, bytes],
                         hyperparameters: dict[str, str]) -> tuple[dict[str, Any], list[str]]:
    """Train on files["train"] (and files["validation"]), batch-transform files["test"]; the training job and
    the output lines."""
    sagemaker, s3 = clients["sagemaker"], clients["s3"]
    name = f"rt-{version.replace('.', '')}-{time.time_ns() % 10**12}"
    prefix = f"s3://{bucket}/rt/{name}"
    for channel, body in files.items():
        key = f"rt/{name}/{channel}/{channel}.csv"
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    image = image_uri(REGION, version=version)
    sagemaker.create_training_job(**training_job_request(TrainingConfig(
        job_name=name, image=image, role=ROLE, output_path=f"{prefix}/output", train_uri=f"{prefix}/train/",
        validation_uri=f"{prefix}/validation/" if "validation" in files else None,
        hyperparameters=hyperparameters)))
    job = wait_training(sagemaker, name, timeout=120)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    sagemaker.create_model(**model_request(name, image, job["ModelArtifacts"]["S3ModelArtifacts"], ROLE))
    sagemaker.create_transform_job(**transform_job_request(TransformConfig(
        job_name=name, model_name=name, input_uri=f"{prefix}/test/", output_path=f"{prefix}/out/")))
    transform = wait_transform(sagemaker, name, timeout=120)
    assert transform["TransformJobStatus"] == "Completed", transform.get("FailureReason")
    body = s3.get_object(Bucket=bucket, Key=f"rt/{name}/out/test.csv.out")["Body"].read().decode()
    return job, body.splitlines()


def direct_predictions(runtime: Runtime, directory: Path, files: dict[str, bytes],
                       hyperparameters: dict[str, str]) -> list[str]:
    """The same training and prediction with the runtime's XGBoost called directly, in its interpreter."""
    paths = {}
    for channel, body in files.items():
        paths[channel] = directory / f"{channel}.csv"
        paths[channel].write_bytes(body)
    request = {"train": str(paths["train"]), "validation": str(paths["validation"]) if "validation" in paths else None,
               "test": str(paths["test"]), "hyperparameters": hyperparameters}
    lines: list[str] = run_in_runtime(runtime, [str(DIRECT), json.dumps(request)])
    return lines


def installed_runtime(name: str, runs_scripts: bool = False) -> Runtime:
    """The runtime `name` from `.runtimes/`, installed on first use (and reinstalled when a script-mode test needs
    the toolkit an older install lacks); the test fails (not skips) if it cannot be."""
    store = RuntimeStore(RUNTIMES_DIR)
    try:
        runtime = store.install(name)
        if runs_scripts and not runtime.runs_scripts:
            runtime = store.install(name, force=True)
        return runtime
    except RuntimeInstallError as exc:
        pytest.fail(f"the {name} runtime could not be installed: {exc}", pytrace=False)


def run_in_runtime(runtime: Runtime, arguments: list[str]) -> Any:
    """Run a script with the runtime's interpreter (isolated as its jobs are); its last stdout line as JSON."""
    result = subprocess.run([str(runtime.python), *arguments], capture_output=True, text=True,
                            env=runner_environment(runtime.root), cwd=runner_path(runtime.root), timeout=300,
                            check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def training_log(clients: dict[str, Any], name: str) -> list[str]:
    return job_log(clients["logs"], TRAINING_LOGS, name)


def transform_log(clients: dict[str, Any], name: str) -> list[str]:
    return job_log(clients["logs"], TRANSFORM_LOGS, name)
