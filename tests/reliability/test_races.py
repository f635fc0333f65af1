"""Races a CI suite runs into: stops at any step, simultaneous creates, a model deleted under a transform."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from botocore.exceptions import ClientError

from bench.datasets import generate, training_csv_bytes
from bench.sampling import tree_pids
from harness.requests import TransformConfig, model_request, transform_job_request
from tests.conftest import ROLE, XGB_17, process_alive, upload_csv, wait_training, wait_transform
from tests.integration.requests import training_request


def test_stop_while_downloading(sagemaker: Any, s3: Any, bucket: str, unique: Any) -> None:
    name = unique("stop-early")
    for i in range(150):  # many objects: the download step lasts long enough to be interrupted
        s3.put_object(Bucket=bucket, Key=f"races/{name}/part-{i:03d}.csv", Body=b"1,2,3\n4,5,6\n")
    sagemaker.create_training_job(**training_request(name, bucket, f"s3://{bucket}/races/{name}/", image=XGB_17,
                                                     hyperparameters={"num_round": "5"}))
    sagemaker.stop_training_job(TrainingJobName=name)
    job = wait_training(sagemaker, name)
    assert (job["TrainingJobStatus"], job["SecondaryStatus"]) == ("Stopped", "Stopped")
    statuses = [t["Status"] for t in job["SecondaryStatusTransitions"]]
    assert "Training" not in statuses and statuses[-2:] == ["Stopping", "Stopped"]


def test_simultaneous_creates_with_one_name(sagemaker: Any, s3: Any, bucket: str, unique: Any) -> None:
    name = unique("race")
    s3.put_object(Bucket=bucket, Key=f"races/{name}/train.csv", Body=b"1,2,3\n0,1,2\n")
    request = training_request(name, bucket, f"s3://{bucket}/races/{name}/train.csv")
    barrier = threading.Barrier(8)
    outcomes: list[str] = []
    lock = threading.Lock()

    def create() -> None:
        barrier.wait()
        try:
            sagemaker.create_training_job(**request)
            outcome = "created"
        except ClientError as error:
            outcome = error.response["Error"]["Code"]
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["ResourceInUse"] * 7 + ["created"]
    wait_training(sagemaker, name)


def test_model_deleted_while_its_transform_runs(sagemaker: Any, s3: Any, bucket: str, unique: Any) -> None:
    """The job runs the model as it was at CreateTransformJob, as SageMaker does."""
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(rng.normal(size=(300, 4)))
    train = upload_csv(s3, bucket, "races/model/train.csv", frame)
    test = upload_csv(s3, bucket, "races/model/test/test.csv", frame.iloc[:, 1:])
    name = unique("deleted")
    sagemaker.create_training_job(**training_request(name, bucket, train, image=XGB_17,
                                                     hyperparameters={"num_round": "5"}))
    job = wait_training(sagemaker, name)
    sagemaker.create_model(**model_request(name, XGB_17, job["ModelArtifacts"]["S3ModelArtifacts"], ROLE))
    sagemaker.create_transform_job(**transform_job_request(TransformConfig(
        job_name=name, model_name=name, input_uri=test, output_path=f"s3://{bucket}/races/model/out/")))
    sagemaker.delete_model(ModelName=name)
    transform = wait_transform(sagemaker, name)
    assert transform["TransformJobStatus"] == "Completed", transform.get("FailureReason")
    body = s3.get_object(Bucket=bucket, Key="races/model/out/test.csv.out")["Body"].read()
    assert len(body.splitlines()) == 300


def test_stop_transform_while_it_starts(sagemaker: Any, s3: Any, bucket: str, unique: Any) -> None:
    name = unique("stop-transform")
    frame = pd.DataFrame(np.random.default_rng(4).normal(size=(100, 3)))
    train = upload_csv(s3, bucket, f"races/{name}/train.csv", frame)
    sagemaker.create_training_job(**training_request(name, bucket, train, image=XGB_17,
                                                     hyperparameters={"num_round": "3"}))
    job = wait_training(sagemaker, name)
    sagemaker.create_model(**model_request(name, XGB_17, job["ModelArtifacts"]["S3ModelArtifacts"], ROLE))
    sagemaker.create_transform_job(**transform_job_request(TransformConfig(
        job_name=name, model_name=name, input_uri=train, output_path=f"s3://{bucket}/races/{name}/out/")))
    started = time.time()
    sagemaker.stop_transform_job(TransformJobName=name)
    transform = wait_transform(sagemaker, name)
    assert transform["TransformJobStatus"] == "Stopped"
    assert time.time() - started < 30
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix=f"races/{name}/out/")


def _job_with_workers(before: set[int]) -> set[int]:
    """A process new in this test's process tree since `before` with two descendants (a transform job and its
    model server workers), with them; empty if there is none yet."""
    for pid in set(tree_pids(os.getpid())) - before:
        descendants = set(tree_pids(pid))
        if len(descendants) >= 3:
            return descendants
    return set()


def test_stop_transform_while_its_model_server_workers_run(sagemaker: Any, s3: Any, bucket: str, unique: Any,
                                                           tmp_path: Path) -> None:
    """The job's process and its forked model server workers all end with the stop; no output is stored."""
    name = unique("stop-workers")
    s3.put_object(Bucket=bucket, Key=f"races/{name}/train.csv", Body=training_csv_bytes(2000))
    # Deep trees and many rounds: predicting takes seconds, long enough to stop the job mid-way.
    sagemaker.create_training_job(**training_request(
        name, bucket, f"s3://{bucket}/races/{name}/train.csv", image=XGB_17,
        hyperparameters={"num_round": "300", "max_depth": "10", "eta": "0.1"}))
    job = wait_training(sagemaker, name)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    sagemaker.create_model(**model_request(name, XGB_17, job["ModelArtifacts"]["S3ModelArtifacts"], ROLE))
    files = generate(tmp_path, 48)
    s3.upload_file(str(files.test), bucket, f"races/{name}/test/test.csv")
    before = set(tree_pids(os.getpid()))
    request = transform_job_request(TransformConfig(
        job_name=name, model_name=name, input_uri=f"s3://{bucket}/races/{name}/test/",
        output_path=f"s3://{bucket}/races/{name}/out/", max_payload_mb=1, max_concurrent_transforms=2))
    sagemaker.create_transform_job(**request, Environment={"SAGEMAKER_MODEL_SERVER_WORKERS": "2"})
    deadline = time.monotonic() + 60
    processes: set[int] = set()
    while not processes and time.monotonic() < deadline:
        processes = _job_with_workers(before)
        time.sleep(0.02)
    assert len(processes) == 3, "the job's two model server workers never started"
    sagemaker.stop_transform_job(TransformJobName=name)
    transform = wait_transform(sagemaker, name)
    assert transform["TransformJobStatus"] == "Stopped"
    deadline = time.monotonic() + 30
    while any(map(process_alive, processes)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(map(process_alive, processes))
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix=f"races/{name}/out/")
