"""Real XGBoost training jobs through the emulator, over HTTP with boto3."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd
import pytest

from backends.emulator.server import Emulator, EmulatorConfig
from tests.conftest import XGB_17, booster_from_artifact, boston_frames, make_client, upload_csv, wait_training
from tests.integration.requests import SEED_HYPERPARAMETERS, training_request


@pytest.fixture(scope="module")
def boston_channels(s3: Any, bucket: str) -> tuple[str, str]:
    """The seed's split of Boston housing, label first, no header, uploaded like `session.upload_data`."""
    from sklearn.model_selection import train_test_split

    features, label = boston_frames()
    x_train, _, y_train, _ = train_test_split(features, label, test_size=0.33, random_state=0)
    x_train, x_val, y_train, y_val = train_test_split(x_train, y_train, test_size=0.33, random_state=0)
    train = upload_csv(s3, bucket, "boston-xgboost-LL/train.csv", pd.concat([y_train, x_train], axis=1))
    validation = upload_csv(s3, bucket, "boston-xgboost-LL/validation.csv", pd.concat([y_val, x_val], axis=1))
    return train, validation


def _log_messages(logs: Any, name: str) -> list[str]:
    streams = logs.describe_log_streams(logGroupName="/aws/sagemaker/TrainingJobs", logStreamNamePrefix=name)
    assert len(streams["logStreams"]) == 1
    stream = streams["logStreams"][0]["logStreamName"]
    assert stream.startswith(f"{name}/algo-1-")
    events = logs.get_log_events(logGroupName="/aws/sagemaker/TrainingJobs", logStreamName=stream,
                                 startFromHead=True, limit=10000)["events"]
    return [e["message"] for e in events]


def _metric_lines(logs: Any, name: str) -> list[str]:
    return [m for m in _log_messages(logs, name) if m.startswith("[") and "#011train-" in m]


def test_seed_request_trains_with_the_legacy_image(sagemaker: Any, s3: Any, logs: Any, bucket: str,
                                                   boston_channels: tuple[str, str], unique: Any) -> None:
    """The seed's exact request: legacy `xgboost:1`, ContentType `csv`, its hyperparameters."""
    name = unique("boston-xgboost")
    started = time.time()
    sagemaker.create_training_job(**training_request(name, bucket, *boston_channels))
    job = wait_training(sagemaker, name)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    assert time.time() - started < 30
    assert [t["Status"] for t in job["SecondaryStatusTransitions"]] == [
        "Starting", "Downloading", "Training", "Uploading", "Completed"]
    assert job["BillableTimeInSeconds"] >= 1 and job["TrainingTimeInSeconds"] >= 1
    lines = _metric_lines(logs, name)
    # Early stopping (validation-rmse, 10 rounds without improvement) ends training before round 200.
    assert 10 < len(lines) < 200
    assert [int(line[1:line.index("]")]) for line in lines] == list(range(len(lines)))
    assert "#011validation-rmse:" in lines[0]
    booster = booster_from_artifact(s3, job["ModelArtifacts"]["S3ModelArtifacts"])
    assert booster.num_boosted_rounds() == len(lines)
    names = {m["MetricName"] for m in job["FinalMetricDataList"]}
    assert {"train:rmse", "validation:rmse"} <= names
    # Paths read as the container's, whatever directory the emulator ran the job in.
    messages = _log_messages(logs, name)
    assert any(m.endswith("files path: /opt/ml/input/data/train") for m in messages)
    assert any(m.endswith("files path: /opt/ml/input/data/validation") for m in messages)
    assert not any("opt_ml" in m for m in messages)


def test_image_1_7_1_with_an_eval_metric_stops_early(sagemaker: Any, s3: Any, logs: Any, bucket: str,
                                                      boston_channels: tuple[str, str], unique: Any) -> None:
    name = unique("xgb17")
    hyperparameters = {**SEED_HYPERPARAMETERS, "eval_metric": "rmse"}
    sagemaker.create_training_job(**training_request(name, bucket, *boston_channels, image=XGB_17,
                                                     hyperparameters=hyperparameters))
    job = wait_training(sagemaker, name)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    lines = _metric_lines(logs, name)
    assert 10 < len(lines) < 200
    assert all(line.count("#011") == 2 for line in lines)  # [i]#011train-rmse:x#011validation-rmse:y
    booster = booster_from_artifact(s3, job["ModelArtifacts"]["S3ModelArtifacts"])
    validation_rmse = [float(line.rsplit(":", 1)[1]) for line in lines]
    best = int(np.argmin(validation_rmse))
    # 1.3+ keeps the best iteration: the saved model has exactly best + 1 rounds.
    assert booster.num_boosted_rounds() == best + 1
    final = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
    assert final["validation:rmse"] == pytest.approx(validation_rmse[-1])


def test_image_1_7_1_without_an_eval_metric_runs_every_round(sagemaker: Any, logs: Any, bucket: str,
                                                              boston_channels: tuple[str, str], unique: Any) -> None:
    """The real 1.7-1 container silently disables early stopping when no eval_metric is given."""
    name = unique("xgb17-all")
    hyperparameters = {**SEED_HYPERPARAMETERS, "num_round": "40"}
    sagemaker.create_training_job(**training_request(name, bucket, *boston_channels, image=XGB_17,
                                                     hyperparameters=hyperparameters))
    job = wait_training(sagemaker, name)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    assert len(_metric_lines(logs, name)) == 40


@pytest.mark.parametrize(("hyperparameters", "reason"), [
    ({"max_depth": "5"}, "Missing required hyperparameter: num_round"),
    ({"num_round": "10", "colour": "red"}, "Extraneous hyperparameter found: colour"),
    ({"num_round": "10", "eta": "2"}, "Hyperparameter eta: 2.0 is not in [0, 1]"),
])
def test_bad_hyperparameters_fail_with_the_container_message(sagemaker: Any, logs: Any, bucket: str,
                                                              unique: Any, boston_channels: tuple[str, str],
                                                              hyperparameters: dict[str, str], reason: str) -> None:
    name = unique("badhp")
    sagemaker.create_training_job(**training_request(name, bucket, *boston_channels, image=XGB_17,
                                                     hyperparameters=hyperparameters))
    job = wait_training(sagemaker, name)
    assert job["TrainingJobStatus"] == "Failed"
    # "AlgorithmError: " + the first 1024 characters of the failure file, cut off as SageMaker cuts it.
    assert job["FailureReason"].startswith("AlgorithmError: framework error: \nTraceback")
    assert len(job["FailureReason"]) <= 1024
    stream = logs.describe_log_streams(logGroupName="/aws/sagemaker/TrainingJobs",
                                       logStreamNamePrefix=name)["logStreams"][0]["logStreamName"]
    events = logs.get_log_events(logGroupName="/aws/sagemaker/TrainingJobs", logStreamName=stream,
                                 startFromHead=True)["events"]
    assert any(event["message"].endswith(reason) for event in events)


@pytest.fixture(scope="module")
def slow_channel(s3: Any, bucket: str) -> str:
    """Enough data that thousands of deep rounds take far longer than any test waits."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(20000, 20)))
    return upload_csv(s3, bucket, "slow/train.csv", frame)


def _slow_request(name: str, bucket: str, uri: str, max_runtime: int = 86400) -> dict[str, Any]:
    return training_request(name, bucket, uri, image=XGB_17, max_runtime=max_runtime,
                            hyperparameters={"num_round": "100000", "max_depth": "10"})


def test_stop_training_job_ends_stopped(sagemaker: Any, bucket: str, slow_channel: str, unique: Any) -> None:
    name = unique("stopme")
    sagemaker.create_training_job(**_slow_request(name, bucket, slow_channel))
    deadline = time.time() + 20
    while sagemaker.describe_training_job(TrainingJobName=name)["SecondaryStatus"] != "Training":
        assert time.time() < deadline
        time.sleep(0.05)
    sagemaker.stop_training_job(TrainingJobName=name)
    assert sagemaker.describe_training_job(TrainingJobName=name)["TrainingJobStatus"] in ("Stopping", "Stopped")
    job = wait_training(sagemaker, name, timeout=20)
    assert (job["TrainingJobStatus"], job["SecondaryStatus"]) == ("Stopped", "Stopped")
    assert [t["Status"] for t in job["SecondaryStatusTransitions"]][-2:] == ["Stopping", "Stopped"]


def test_max_runtime_ends_stopped_with_max_runtime_exceeded(sagemaker: Any, bucket: str, slow_channel: str,
                                                           unique: Any) -> None:
    name = unique("timeout")
    sagemaker.create_training_job(**_slow_request(name, bucket, slow_channel, max_runtime=1))
    job = wait_training(sagemaker, name, timeout=30)
    assert (job["TrainingJobStatus"], job["SecondaryStatus"]) == ("Stopped", "MaxRuntimeExceeded")


def test_jobs_survive_a_restart(tmp_path: Any, unique: Any) -> None:
    """A second emulator on the same state directory sees every job of the first."""
    state = tmp_path / "state"
    name = unique("durable")
    with Emulator(EmulatorConfig(state_dir=state, persist_services=False)) as first:
        client = make_client("sagemaker", first.endpoint_url)
        s3 = make_client("s3", first.endpoint_url)
        s3.create_bucket(Bucket="bkt")
        s3.put_object(Bucket="bkt", Key=f"{name}/train.csv", Body=b"1,2,3\n0,1,2\n1,0,1\n")
        client.create_training_job(**training_request(name, "bkt", f"s3://bkt/{name}/train.csv"))
        job = wait_training(client, name)
    with Emulator(EmulatorConfig(state_dir=state, persist_services=False)) as second:
        again = make_client("sagemaker", second.endpoint_url).describe_training_job(TrainingJobName=name)
    again.pop("ResponseMetadata")
    job.pop("ResponseMetadata")
    assert again == job
