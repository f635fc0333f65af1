"""Algorithm faults end the job Failed with the container's message, never a hang or an emulator error."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TRAINING_LOGS, XGB_17, job_log, wait_training
from tests.integration.requests import training_request

HYPERPARAMETERS = {"num_round": "5", "objective": "reg:squarederror"}


def _train(sagemaker: Any, s3: Any, bucket: str, name: str, files: dict[str, bytes], content_type: str = "csv",
           hyperparameters: dict[str, str] | None = None) -> dict[str, Any]:
    for relative, body in files.items():
        s3.put_object(Bucket=bucket, Key=f"faults/{name}/{relative}", Body=body)
    request = training_request(name, bucket, f"s3://{bucket}/faults/{name}/", image=XGB_17,
                               hyperparameters=hyperparameters or HYPERPARAMETERS)
    request["InputDataConfig"][0]["ContentType"] = content_type
    sagemaker.create_training_job(**request)
    return wait_training(sagemaker, name)


def _log(logs: Any, name: str) -> str:
    return "\n".join(job_log(logs, TRAINING_LOGS, name))


GOOD_ROWS = b"".join(f"{i % 7}.5,{i},{i * 2}\n".encode() for i in range(50))


@pytest.mark.parametrize(("case", "files", "content_type", "message"), [
    ("empty channel", {"train.csv": b""}, "csv", "No data in training channel path"),
    ("hidden file", {"train.csv": GOOD_ROWS, ".hidden": b"x"}, "csv",
     "Hidden file found in the data path! Remove that before training."),
    ("wrong content type", {"train.csv": GOOD_ROWS}, "application/x-image",
     "Channel configuration for 'train' channel is not supported"),
    ("libsvm that is CSV", {"train.libsvm": GOOD_ROWS}, "libsvm", "is not 'LIBSVM' format"),
])
def test_data_faults_fail_with_the_container_message(sagemaker: Any, s3: Any, logs: Any, bucket: str, unique: Any,
                                                     case: str, files: dict[str, bytes], content_type: str,
                                                     message: str) -> None:
    name = unique("fault")
    job = _train(sagemaker, s3, bucket, name, files, content_type)
    assert job["TrainingJobStatus"] == "Failed", case
    assert job["FailureReason"].startswith("AlgorithmError: "), case
    assert message in _log(logs, name), case


def test_a_header_row_trains_as_the_container_does(sagemaker: Any, s3: Any, bucket: str, unique: Any) -> None:
    """The container's CSV reader turns a header into a row of missing values with label 0; no failure."""
    job = _train(sagemaker, s3, bucket, unique("header"), {"train.csv": b"label,a,b\n" + GOOD_ROWS})
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")


def test_nan_labels_fail_inside_xgboost(sagemaker: Any, s3: Any, logs: Any, bucket: str, unique: Any) -> None:
    name = unique("nanlabel")
    job = _train(sagemaker, s3, bucket, name, {"train.csv": b"nan,1,2\n" + GOOD_ROWS})
    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith("AlgorithmError: ")
    log = _log(logs, name)
    assert "xgboost.core.XGBoostError" in log
    # XGBoost 1.7 (the image's, with its runtime) checks the labels; 3.2 fails on the base score they give.
    assert "Label contains NaN" in log or "std::isnan(v)" in log


def test_malformed_csv_without_delimiter(sagemaker: Any, s3: Any, logs: Any, bucket: str, unique: Any) -> None:
    name = unique("malformed")
    job = _train(sagemaker, s3, bucket, name, {"train.csv": b"abcdef\nghijkl\n"})
    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith("AlgorithmError: framework error: ")
    # As in the container, the sniffer picks a letter here and XGBoost's reader then fails on the file.
    assert "Determined delimiter of CSV input is 'f'" in _log(logs, name)


def test_a_training_process_that_runs_out_of_memory(sagemaker: Any, s3: Any, bucket: str, unique: Any) -> None:
    """A job process killed by the kernel (SIGKILL, as the OOM killer does) ends Failed and says so."""
    rows = b"".join(f"{i % 7}.5,{i},{i * 2}\n".encode() for i in range(20000))
    name = unique("oom")
    s3.put_object(Bucket=bucket, Key=f"faults/{name}/train.csv", Body=rows)
    request = training_request(name, bucket, f"s3://{bucket}/faults/{name}/", image=XGB_17,
                               hyperparameters={"num_round": "100000", "max_depth": "10"})
    sagemaker.create_training_job(**request)
    deadline = time.time() + 30
    while sagemaker.describe_training_job(TrainingJobName=name)["SecondaryStatus"] != "Training":
        assert time.time() < deadline
        time.sleep(0.05)
    pid = _job_pid(name)
    os.kill(pid, signal.SIGKILL)
    job = wait_training(sagemaker, name)
    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"] == ("AlgorithmError: The training process was killed by signal 9; if that was "
                                    "SIGKILL, it may have run out of memory. See the job's logs.")


def _job_pid(name: str) -> int:
    """The process writing the job's log file (the job's own process)."""
    deadline = time.time() + 10
    while time.time() < deadline:
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                if any(os.readlink(fd).endswith(f"/{name}/job.log") for fd in (proc / "fd").iterdir()):
                    return int(proc.name)
            except OSError:
                continue
        time.sleep(0.05)
    raise AssertionError(f"no process of job {name} found")
