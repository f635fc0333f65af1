"""A job run in its image version's runtime writes what that version's container writes: the model bytes and
attributes (against the runtime's own XGBoost doing what the container's code does), the log lines the
container's code prints (texts from the aws/sagemaker-xgboost-container branches and smdebug 1.0.29), and a
failure that reads as the container's, with none of this machine's paths."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

from backends.emulator.algorithms.images import image_uri
from backends.emulator.algorithms.xgboost.versions import VERSIONS, ModelFormat
from backends.emulator.runtimes import Runtime
from harness.requests import TrainingConfig, training_job_request
from tests.conftest import REGION, ROLE, boston_frames, wait_training
from tests.runtimes.conftest import BUCKET, RUNTIMES_DIR
from tests.runtimes.helpers import CONTAINER_MODEL, csv_bytes, run_in_runtime, training_log
from tests.runtimes.test_runtime_jobs import SEED, _artifact

# The image's Python (BRANCH:docker/<v>/final/Dockerfile.cpu `PYTHON_VERSION`).
SITE_PACKAGES = {
    "1.3-1": "/miniconda3/lib/python3.7/site-packages",
    "1.5-1": "/miniconda3/lib/python3.8/site-packages",
    "1.7-1": "/miniconda3/lib/python3.9/site-packages",
}
LINKS = "/tmp/sagemaker_xgboost_input_data"


def _files() -> dict[str, bytes]:
    features, label = boston_frames()
    frame = label.to_frame().join(features)
    return {"train": csv_bytes(frame.iloc[:300]), "validation": csv_bytes(frame.iloc[300:420])}


def _train(clients: dict[str, Any], version: str, hyperparameters: dict[str, str]) -> dict[str, Any]:
    sagemaker, s3 = clients["sagemaker"], clients["s3"]
    name = f"parity-{version.replace('.', '')}-{time.time_ns() % 10**12}"
    prefix = f"s3://{BUCKET}/parity/{name}"
    for channel, body in _files().items():
        s3.put_object(Bucket=BUCKET, Key=f"parity/{name}/{channel}/{channel}.csv", Body=body)
    sagemaker.create_training_job(**training_job_request(TrainingConfig(
        job_name=name, image=image_uri(REGION, version=version), role=ROLE, output_path=f"{prefix}/output",
        train_uri=f"{prefix}/train/", validation_uri=f"{prefix}/validation/", hyperparameters=hyperparameters)))
    return wait_training(sagemaker, name, timeout=600)


# The versions whose container code was run as the reference (the same in every test of this module).
REFERENCE_VERSIONS = pytest.mark.runtime_versions(*SITE_PACKAGES)


def _write(tmp_path: Path, name: str, content: bytes) -> str:
    (tmp_path / name).write_bytes(content)
    return str(tmp_path / name)


# Early stopping on a metric XGBoost computes (rmse and mae are the container's own, passed as feval).
STOPPING = {**SEED, "eta": "0.5", "num_round": "80", "eval_metric": "rmsle"}


@REFERENCE_VERSIONS
@pytest.mark.parametrize("hyperparameters", [SEED, STOPPING], ids=["all-rounds", "early-stopped"])
def test_the_artifact_is_the_containers_model(runtime: Runtime, rt_clients: dict[str, Any], tmp_path: Path,
                                              hyperparameters: dict[str, str]) -> None:
    version = runtime.spec.image_version
    assert VERSIONS[version].model_format is ModelFormat.JSON  # save_model's binary format, from 1.3 to 1.7
    job = _train(rt_clients, version, hyperparameters)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    model = _artifact(rt_clients["s3"], job["ModelArtifacts"]["S3ModelArtifacts"])
    path = _write(tmp_path, "xgboost-model", model)

    # What `xgb.train`'s `return bst.copy()` gives: the model serialized and loaded again, then saved.
    run_in_runtime(runtime, [str(CONTAINER_MODEL), "resave", json.dumps({"model": path, "to": path + ".copy"})])
    assert model == Path(path + ".copy").read_bytes()

    # The release's own `xgb.train` with the container's callbacks: same attributes, same bytes.
    files = {name: _write(tmp_path, f"{name}.csv", body) for name, body in _files().items()}
    request = {**files, "hyperparameters": hyperparameters, "stopping_metric": hyperparameters.get("eval_metric"),
               "model": str(tmp_path / "reference")}
    reference = run_in_runtime(runtime, [str(CONTAINER_MODEL), "train", json.dumps(request)])
    attributes = run_in_runtime(runtime, [str(CONTAINER_MODEL), "attributes", json.dumps({"model": path})])
    assert attributes == reference["attributes"]
    if hyperparameters is STOPPING:
        assert reference["rounds"] < int(STOPPING["num_round"])  # it did stop early
    assert model == (tmp_path / "reference").read_bytes()


def _expected_lines(version: str) -> list[str]:
    """The container's lines of a seed job with eval_metric=rmse, in order, as regular expressions."""
    smdebug = [
        r"\[\S+ \S+ \S+:\d+ INFO utils\.py:28\] RULE_JOB_STOP_SIGNAL_FILENAME: None",
        r"\[\S+ \S+ \S+:\d+ INFO profiler_config_parser\.py:111\] Unable to find config at "
        r"/opt/ml/input/config/profilerconfig\.json\. Profiler is disabled\.",
    ]
    info = r"\[\d{4}-\d\d-\d\d:\d\d:\d\d:\d\d:INFO\] "
    lines = [*smdebug, info + "Imported framework sagemaker_xgboost_container.training",
             info + "Running XGBoost Sagemaker in algorithm mode"]
    if version != "1.3-1":
        lines.append(info + re.escape("Determined 0 GPU(s) available on the instance."))
    for channel in ("train", "validation"):
        if version == "1.7-1":
            folder = f"/opt/ml/input/data/{channel}"
            lines += [info + f"File path {folder} of input files",
                      info + f"Making smlinks from folder {folder} to folder {LINKS}",
                      info + f"creating symlink between Path {folder}/{channel}.csv and destination "
                      f"{LINKS}/{channel}.csv-?\\d+",
                      info + f"files path: {LINKS}"]
        else:
            lines.append(info + f"files path: /opt/ml/input/data/{channel}")
    lines.append(info + "Single node training.")
    if version == "1.7-1":
        lines += [re.escape(f"{SITE_PACKAGES[version]}/xgboost/training.py:39: UserWarning: `feval` is deprecated, "
                            "use `custom_metric` instead.  They have different behavior when custom objective is "
                            "also used.See https://xgboost.readthedocs.io/en/latest/tutorials/custom_metric_obj.html "
                            "for details on the `custom_metric`."),
                  "  warnings\\.warn\\("]
    lines.append(r"\[0\]#011train-rmse:")
    return lines


@REFERENCE_VERSIONS
def test_the_log_has_the_containers_lines_in_order(runtime: Runtime, rt_clients: dict[str, Any]) -> None:
    version = runtime.spec.image_version
    job = _train(rt_clients, version, {**SEED, "eval_metric": "rmse", "num_round": "3"})
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    log = training_log(rt_clients, job["TrainingJobName"])
    position = 0
    for pattern in _expected_lines(version):
        found = next((i for i in range(position, len(log)) if re.match(pattern, log[i])), None)
        assert found is not None, f"{pattern!r} not found after line {position}:\n" + "\n".join(log)
        position = found + 1
    assert sum("Profiler is disabled" in line for line in log) == 1
    if version != "1.7-1":
        assert not any("smlinks" in line or "feval" in line for line in log)


_FOREIGN = (str(RUNTIMES_DIR.parent), "/work/", "backends/emulator", ".runtimes", "/venv/", "site-packages/backends")


# The first frame: sagemaker-containers' `_trainer.train` (v2.8.6.post2), or for an error the container re-raises
# as a UserError while handling XGBoost's, the chain's first traceback, from algorithm_mode/train.py `train_job`.
@REFERENCE_VERSIONS
@pytest.mark.parametrize("hyperparameters, message, first_frame", [
    ({"num_round": "5", "silent": "1"}, "Extraneous hyperparameter found: silent",
     "sagemaker_containers/_trainer.py"),
    ({"num_round": "5", "objective": "binary:logistic"}, "label must be in [0,1] for logistic regression",
     "sagemaker_xgboost_container/algorithm_mode/train.py"),
], ids=["hyperparameter", "inside-xgboost"])
def test_a_failure_reads_as_the_containers(runtime: Runtime, rt_clients: dict[str, Any],
                                          hyperparameters: dict[str, str], message: str, first_frame: str) -> None:
    version = runtime.spec.image_version
    job = _train(rt_clients, version, hyperparameters)
    assert job["TrainingJobStatus"] == "Failed"
    reason = job["FailureReason"]
    assert reason.startswith("AlgorithmError: framework error: \nTraceback (most recent call last):\n  File "
                             f'"{SITE_PACKAGES[version]}/{first_frame}", line '), reason
    if first_frame != "sagemaker_containers/_trainer.py":
        assert "During handling of the above exception, another exception occurred:" in "\n".join(
            training_log(rt_clients, job["TrainingJobName"]))
    assert len(reason) <= len("AlgorithmError: ") + 1024
    log = training_log(rt_clients, job["TrainingJobName"])
    text = "\n".join(log)
    for shown in (reason, text):
        assert not any(path in shown for path in _FOREIGN), shown
        assert not any(line.strip() and set(line.strip()) <= set("^~") for line in shown.splitlines()), shown
    assert message in text
    # The failure is in the log once, as the container logs it; not again after "AlgorithmError: ".
    assert not any(line.startswith("AlgorithmError") for line in log)
    assert sum(line.startswith("framework error:") or "framework error: " in line for line in log) == 1


def test_no_failure_shows_this_machines_paths(runtime: Runtime, rt_clients: dict[str, Any]) -> None:
    """Every image version, with a reference or not: a failed job's reason and log show none of the emulator's
    paths and no caret lines, and the failure text is logged once."""
    job = _train(rt_clients, runtime.spec.image_version, {"max_depth": "5", "objective": "reg:linear"})
    assert job["TrainingJobStatus"] == "Failed"
    reason = job["FailureReason"]
    assert reason.startswith(("AlgorithmError: ", "ClientError: ")), reason
    log = training_log(rt_clients, job["TrainingJobName"])
    assert any("num_round" in line for line in log), log
    for shown in (reason, "\n".join(log)):
        assert not any(path in shown for path in _FOREIGN), shown
        assert not any(line.strip() and set(line.strip()) <= set("^~") for line in shown.splitlines()), shown
    assert not any(line.startswith(("AlgorithmError", "ClientError")) for line in log), log
