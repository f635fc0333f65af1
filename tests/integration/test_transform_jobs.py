"""Models and batch transform over real HTTP with boto3, on models the emulator really trained."""

from __future__ import annotations

import gzip
import io
import json
import os
import time
from typing import Any

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.requests import TransformConfig, model_request, transform_job_request
from tests.conftest import (
    ROLE,
    TRANSFORM_LOGS,
    XGB_17,
    XGB_LEGACY,
    booster_from_artifact,
    boston_frames,
    job_log,
    upload_csv,
    wait_training,
    wait_transform,
)
from tests.integration.requests import training_request

TERMINAL = ("Completed", "Failed", "Stopped")


def _get(s3: Any, uri: str) -> bytes:
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return body


def _keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []))


def _train(sagemaker: Any, bucket: str, name: str, train_uri: str, validation_uri: str | None, image: str,
           hyperparameters: dict[str, str]) -> dict[str, Any]:
    sagemaker.create_training_job(**training_request(name, bucket, train_uri, validation_uri, image=image,
                                                     hyperparameters=hyperparameters))
    job = wait_training(sagemaker, name)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    return job


@pytest.fixture(scope="module")
def seed_model(sagemaker: Any, s3: Any, bucket: str) -> dict[str, Any]:
    """The seed's trained model (legacy image, seed hyperparameters) and its test set."""
    from sklearn.model_selection import train_test_split

    from tests.integration.requests import SEED_HYPERPARAMETERS

    features, label = boston_frames()
    x_train, x_test, y_train, y_test = train_test_split(features, label, test_size=0.33, random_state=1)
    x_train, x_val, y_train, y_val = train_test_split(x_train, y_train, test_size=0.33, random_state=1)
    train = upload_csv(s3, bucket, "tr/train.csv", pd.concat([y_train, x_train], axis=1))
    validation = upload_csv(s3, bucket, "tr/validation.csv", pd.concat([y_val, x_val], axis=1))
    test = upload_csv(s3, bucket, "tr/test/test.csv", x_test)
    name = f"seed-model-{int(time.time() * 1000)}"
    job = _train(sagemaker, bucket, name, train, validation, XGB_LEGACY, SEED_HYPERPARAMETERS)
    model = f"{name}-model"
    sagemaker.create_model(**model_request(model, XGB_LEGACY, job["ModelArtifacts"]["S3ModelArtifacts"], ROLE))
    return {"model": model, "artifact": job["ModelArtifacts"]["S3ModelArtifacts"], "test_uri": test,
            "x_test": x_test, "y_test": y_test}


def _transform(sagemaker: Any, name: str, model: str, input_uri: str, output: str, **options: Any) -> dict[str, Any]:
    request = transform_job_request(TransformConfig(job_name=name, model_name=model, input_uri=input_uri,
                                                    output_path=output, **options))
    sagemaker.create_transform_job(**request)
    return wait_transform(sagemaker, name)


def test_seed_transform_matches_in_process_predictions(sagemaker: Any, s3: Any, logs: Any, bucket: str,
                                                       seed_model: dict[str, Any], unique: Any) -> None:
    name = unique("seed-transform")
    output = f"s3://{bucket}/tr/batch-transform/{name}/"
    job = _transform(sagemaker, name, seed_model["model"], seed_model["test_uri"], output)
    assert job["TransformJobStatus"] == "Completed", job.get("FailureReason")
    lines = _get(s3, f"{output}test.csv.out").decode().splitlines()
    assert len(lines) == len(seed_model["x_test"])
    booster = booster_from_artifact(s3, seed_model["artifact"])
    expected = booster.predict(xgb.DMatrix(seed_model["x_test"].to_numpy()), validate_features=False,
                               iteration_range=(0, _best_rounds(booster)))
    assert lines == [str(float(value)) for value in expected.astype(np.float32)]
    rmse = float(np.sqrt(np.mean((np.array(lines, dtype=float) - seed_model["y_test"].to_numpy()) ** 2)))
    assert rmse < 6
    streams = logs.describe_log_streams(logGroupName="/aws/sagemaker/TransformJobs", logStreamNamePrefix=name)
    assert len(streams["logStreams"]) == 1


def _best_rounds(booster: xgb.Booster) -> int:
    """Legacy-format models predict with the best iteration's trees when early stopping recorded one."""
    best = booster.attr("best_ntree_limit") or booster.attr("best_iteration")
    if booster.attr("best_ntree_limit"):
        return int(best)  # type: ignore[arg-type]
    return int(best) + 1 if best is not None else booster.num_boosted_rounds()


@pytest.fixture(scope="module")
def large_input(s3: Any, bucket: str) -> str:
    """A test file larger than a 1 MB payload (long numbers keep the row count, and SingleRecord time, low)."""
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(rng.uniform(0, 100, size=(4500, 13)))
    uri = upload_csv(s3, bucket, "tr/large/large.csv", frame)
    assert len(_get(s3, uri)) > 1024 * 1024
    return uri


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(strategy=st.sampled_from(["SingleRecord", "MultiRecord"]), payload=st.integers(1, 100),
       concurrency=st.integers(1, 8))
def test_output_does_not_depend_on_batching(sagemaker: Any, s3: Any, bucket: str, seed_model: dict[str, Any],
                                            large_input: str, strategy: str, payload: int,
                                            concurrency: int) -> None:
    payload = min(payload, 100 // concurrency)  # MaxConcurrentTransforms x MaxPayloadInMB <= 100
    uri = large_input
    reference = _reference_output(sagemaker, s3, bucket, seed_model, uri)
    name = f"batching-{strategy.lower()}-{payload}-{concurrency}-{time.time_ns() % 10**9}"
    output = f"s3://{bucket}/tr/out/{name}/"
    job = _transform(sagemaker, name, seed_model["model"], uri, output, batch_strategy=strategy,
                     max_payload_mb=payload, max_concurrent_transforms=concurrency)
    assert job["TransformJobStatus"] == "Completed", job.get("FailureReason")
    assert _get(s3, f"{output}large.csv.out") == reference


def test_model_server_workers_give_the_output_of_one_process(sagemaker: Any, s3: Any, logs: Any, bucket: str,
                                                              seed_model: dict[str, Any], large_input: str) -> None:
    """MultiRecord requests of 1 MB on a larger object run in forked model server workers when several may be in
    flight; one at a time they run in the job's process. The output is the same byte for byte."""
    outputs = {}
    for concurrency in (1, 4):
        name = f"workers-{concurrency}-{time.time_ns() % 10**9}"
        output = f"s3://{bucket}/tr/out/{name}/"
        job = _transform(sagemaker, name, seed_model["model"], large_input, output, max_payload_mb=1,
                         max_concurrent_transforms=concurrency)
        assert job["TransformJobStatus"] == "Completed", job.get("FailureReason")
        outputs[concurrency] = _get(s3, f"{output}large.csv.out")
        booted = [line for line in job_log(logs, TRANSFORM_LOGS, name)
                  if "Booting model server worker with pid" in line]
        workers = min(concurrency, os.cpu_count() or 1)
        assert len(booted) == (workers if workers > 1 else 0)
    assert outputs[1] == outputs[4] == _reference_output(sagemaker, s3, bucket, seed_model, large_input)


def test_single_record_requests_run_in_model_server_workers(sagemaker: Any, s3: Any, logs: Any, bucket: str,
                                                           seed_model: dict[str, Any], large_input: str) -> None:
    """SingleRecord on a larger object: its records go to forked model server workers (in bundles, each record
    still its own request) when several may be in flight. The output is that of one process, byte for byte."""
    name = f"single-workers-{time.time_ns() % 10**9}"
    output = f"s3://{bucket}/tr/out/{name}/"
    job = _transform(sagemaker, name, seed_model["model"], large_input, output, batch_strategy="SingleRecord",
                     max_concurrent_transforms=4)
    assert job["TransformJobStatus"] == "Completed", job.get("FailureReason")
    booted = [line for line in job_log(logs, TRANSFORM_LOGS, name) if "Booting model server worker with pid" in line]
    workers = min(4, os.cpu_count() or 1)
    assert len(booted) == (workers if workers > 1 else 0)
    assert _get(s3, f"{output}large.csv.out") == _reference_output(sagemaker, s3, bucket, seed_model, large_input)


def test_model_server_workers_follow_the_containers_setting(sagemaker: Any, s3: Any, logs: Any, bucket: str,
                                                             seed_model: dict[str, Any], large_input: str) -> None:
    """SAGEMAKER_MODEL_SERVER_WORKERS in the job's Environment sets the worker count, as in the container."""
    name = f"workers-env-{time.time_ns() % 10**9}"
    output = f"s3://{bucket}/tr/out/{name}/"
    request = transform_job_request(TransformConfig(job_name=name, model_name=seed_model["model"],
                                                    input_uri=large_input, output_path=output, max_payload_mb=1,
                                                    max_concurrent_transforms=4))
    sagemaker.create_transform_job(**request, Environment={"SAGEMAKER_MODEL_SERVER_WORKERS": "3"})
    job = wait_transform(sagemaker, name)
    assert job["TransformJobStatus"] == "Completed", job.get("FailureReason")
    booted = [line for line in job_log(logs, TRANSFORM_LOGS, name)
              if "Booting model server worker with pid" in line]
    assert len(booted) == 3
    assert _get(s3, f"{output}large.csv.out") == _reference_output(sagemaker, s3, bucket, seed_model, large_input)

    name = f"workers-bad-{time.time_ns() % 10**9}"
    request = transform_job_request(TransformConfig(job_name=name, model_name=seed_model["model"],
                                                    input_uri=large_input, output_path=f"s3://{bucket}/tr/out/{name}/"))
    sagemaker.create_transform_job(**request, Environment={"SAGEMAKER_MODEL_SERVER_WORKERS": "many"})
    job = wait_transform(sagemaker, name)
    assert job["TransformJobStatus"] == "Failed"
    assert job["FailureReason"] == ("ClientError: The model server did not start: SAGEMAKER_MODEL_SERVER_WORKERS "
                                    "must be a positive integer, got 'many'")


_references: dict[str, bytes] = {}


def _reference_output(sagemaker: Any, s3: Any, bucket: str, seed_model: dict[str, Any], uri: str) -> bytes:
    """The output at 1 MB payloads, one at a time: several requests for this > 1 MB input."""
    if uri not in _references:
        name = f"reference-{time.time_ns() % 10**9}"
        output = f"s3://{bucket}/tr/out/{name}/"
        job = _transform(sagemaker, name, seed_model["model"], uri, output, max_payload_mb=1)
        assert job["TransformJobStatus"] == "Completed", job.get("FailureReason")
        _references[uri] = _get(s3, f"{output}large.csv.out")
        booster = booster_from_artifact(s3, seed_model["artifact"])
        frame = pd.read_csv(io.BytesIO(_get(s3, uri)), header=None)
        expected = booster.predict(xgb.DMatrix(frame.to_numpy()), iteration_range=(0, _best_rounds(booster)))
        assert _references[uri].decode().splitlines() == [str(float(v)) for v in expected.astype(np.float32)]
    return _references[uri]


def test_breast_cancer_style_filters_and_join(sagemaker: Any, s3: Any, bucket: str, unique: Any) -> None:
    """`InputFilter $[1:]` drops the id, `JoinSource Input` appends the prediction, `OutputFilter $[0,-1]`
    keeps the id and the prediction."""
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    features = pd.DataFrame(data.data).round(5)
    label = pd.Series(data.target)
    train = upload_csv(s3, bucket, "bc/train.csv", pd.concat([label, features], axis=1))
    name = unique("bc")
    job = _train(sagemaker, bucket, name, train, None, XGB_17,
                 {"num_round": "20", "objective": "binary:logistic", "max_depth": "3"})
    model = f"{name}-model"
    sagemaker.create_model(**model_request(model, XGB_17, job["ModelArtifacts"]["S3ModelArtifacts"], ROLE))
    ids = pd.Series(range(1000, 1000 + len(features)))
    batch = upload_csv(s3, bucket, "bc/batch/batch.csv", pd.concat([ids, features], axis=1))
    output = f"s3://{bucket}/bc/out/{name}/"
    job = _transform(sagemaker, f"{name}-t", model, batch, output, content_type="text/csv", accept="text/csv",
                     assemble_with="Line", input_filter="$[1:]", join_source="Input", output_filter="$[0,-1]")
    assert job["TransformJobStatus"] == "Completed", job.get("FailureReason")
    rows = [line.split(",") for line in _get(s3, f"{output}batch.csv.out").decode().splitlines()]
    assert [int(row[0]) for row in rows] == ids.tolist()
    booster = booster_from_artifact(s3, job_artifact(sagemaker, name))
    expected = booster.predict(xgb.DMatrix(features.to_numpy()))
    assert [row[1] for row in rows] == [str(float(v)) for v in expected.astype(np.float32)]
    assert all(len(row) == 2 for row in rows)


def job_artifact(sagemaker: Any, name: str) -> str:
    return str(sagemaker.describe_training_job(TrainingJobName=name)["ModelArtifacts"]["S3ModelArtifacts"])


def test_many_objects_gzip_and_manifest(sagemaker: Any, s3: Any, bucket: str, seed_model: dict[str, Any],
                                        unique: Any) -> None:
    x_test = seed_model["x_test"]
    prefix = f"multi/{unique('in')}/"
    part_a = x_test.iloc[:50].to_csv(header=False, index=False).encode()
    part_b = x_test.iloc[50:].to_csv(header=False, index=False).encode()
    s3.put_object(Bucket=bucket, Key=f"{prefix}a.csv", Body=part_a)
    s3.put_object(Bucket=bucket, Key=f"{prefix}sub/b.csv", Body=part_b)
    name = unique("multi")
    output = f"s3://{bucket}/multi-out/{name}"
    job = _transform(sagemaker, name, seed_model["model"], f"s3://{bucket}/{prefix}", output)
    assert job["TransformJobStatus"] == "Completed", job.get("FailureReason")
    assert _keys(s3, bucket, f"multi-out/{name}/") == [f"multi-out/{name}/a.csv.out",
                                                        f"multi-out/{name}/sub/b.csv.out"]
    combined = _get(s3, f"{output}/a.csv.out") + _get(s3, f"{output}/sub/b.csv.out")

    # The same rows, gzip-compressed, read through a manifest.
    s3.put_object(Bucket=bucket, Key=f"{prefix}gz/a.csv.gz", Body=gzip.compress(part_a))
    s3.put_object(Bucket=bucket, Key=f"{prefix}gz/b.csv.gz", Body=gzip.compress(part_b))
    manifest = [{"prefix": f"s3://{bucket}/{prefix}gz/"}, "a.csv.gz", "b.csv.gz"]
    s3.put_object(Bucket=bucket, Key=f"{prefix}manifest.json", Body=json.dumps(manifest).encode())
    request = transform_job_request(TransformConfig(job_name=f"{name}-gz", model_name=seed_model["model"],
                                                    input_uri=f"s3://{bucket}/{prefix}manifest.json",
                                                    output_path=f"{output}-gz/"))
    request["TransformInput"]["DataSource"]["S3DataSource"]["S3DataType"] = "ManifestFile"
    request["TransformInput"]["CompressionType"] = "Gzip"
    sagemaker.create_transform_job(**request)
    job = wait_transform(sagemaker, f"{name}-gz")
    assert job["TransformJobStatus"] == "Completed", job.get("FailureReason")
    assert _get(s3, f"{output}-gz/a.csv.gz.out") + _get(s3, f"{output}-gz/b.csv.gz.out") == combined


def test_json_accept_gives_scores(sagemaker: Any, s3: Any, bucket: str, seed_model: dict[str, Any],
                                  unique: Any) -> None:
    name = unique("json")
    output = f"s3://{bucket}/json-out/{name}/"
    job = _transform(sagemaker, name, seed_model["model"], seed_model["test_uri"], output,
                     accept="application/json", batch_strategy="SingleRecord")
    assert job["TransformJobStatus"] == "Completed", job.get("FailureReason")
    # In batch mode the container answers one `str()` per line whatever the Accept (SAGEMAKER_BATCH).
    lines = _get(s3, f"{output}test.csv.out").decode().splitlines()
    booster = booster_from_artifact(s3, seed_model["artifact"])
    expected = booster.predict(xgb.DMatrix(seed_model["x_test"].to_numpy()),
                               iteration_range=(0, _best_rounds(booster)))
    assert lines == [str(float(value)) for value in expected.astype(np.float32)]


def test_record_larger_than_payload_fails_without_output(sagemaker: Any, s3: Any, bucket: str,
                                                         seed_model: dict[str, Any], unique: Any) -> None:
    key = f"big/{unique('rec')}/huge.csv"
    s3.put_object(Bucket=bucket, Key=key, Body=(",".join(["1.5"] * 400_000) + "\n").encode())
    name = unique("toolarge")
    output = f"s3://{bucket}/big-out/{name}/"
    job = _transform(sagemaker, name, seed_model["model"], f"s3://{bucket}/{key}", output, max_payload_mb=1)
    assert job["TransformJobStatus"] == "Failed"
    assert job["FailureReason"].startswith("ClientError: ")
    assert "huge.csv" in job["FailureReason"] and "MaxPayloadInMB" in job["FailureReason"]
    assert _keys(s3, bucket, f"big-out/{name}/") == []


def test_stop_transform_job_stores_no_output(sagemaker: Any, s3: Any, bucket: str, seed_model: dict[str, Any],
                                             large_input: str, unique: Any) -> None:
    name = unique("stop-t")
    output = f"s3://{bucket}/stop-out/{name}/"
    request = transform_job_request(TransformConfig(job_name=name, model_name=seed_model["model"],
                                                    input_uri=large_input, output_path=output,
                                                    batch_strategy="SingleRecord"))
    sagemaker.create_transform_job(**request)
    sagemaker.stop_transform_job(TransformJobName=name)
    job = wait_transform(sagemaker, name)
    assert job["TransformJobStatus"] == "Stopped"
    assert _keys(s3, bucket, f"stop-out/{name}/") == []


def _error(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return excinfo.value.response["Error"]["Code"], excinfo.value.response["Error"]["Message"]


def test_model_errors_use_aws_wording(sagemaker: Any, bucket: str, seed_model: dict[str, Any], unique: Any) -> None:
    arn = f"arn:aws:sagemaker:us-east-1:123456789012:model/{seed_model['model'].lower()}"
    with pytest.raises(ClientError) as excinfo:
        sagemaker.create_model(**model_request(seed_model["model"], XGB_LEGACY, seed_model["artifact"], ROLE))
    assert _error(excinfo) == ("ValidationException", f'Cannot create already existing model "{arn}".')
    missing = "no-such-model"
    missing_arn = f"arn:aws:sagemaker:us-east-1:123456789012:model/{missing}"
    for call in (sagemaker.describe_model, sagemaker.delete_model):
        with pytest.raises(ClientError) as excinfo:
            call(ModelName=missing)
        assert _error(excinfo) == ("ValidationException", f'Could not find model "{missing_arn}".')
    with pytest.raises(ClientError) as excinfo:
        sagemaker.create_transform_job(**transform_job_request(TransformConfig(
            job_name=unique("nomodel"), model_name=missing, input_uri="s3://b/x", output_path="s3://b/o/")))
    assert _error(excinfo) == ("ValidationException", f'Could not find model "{missing_arn}".')
    with pytest.raises(ClientError) as excinfo:
        sagemaker.create_model(**model_request(unique("nodata"), XGB_LEGACY, f"s3://{bucket}/nothing/model.tar.gz",
                                               ROLE))
    assert _error(excinfo) == ("ValidationException",
                               f"Could not find model data at s3://{bucket}/nothing/model.tar.gz.")


def test_model_lifecycle(sagemaker: Any, seed_model: dict[str, Any], unique: Any) -> None:
    name = unique("copy")
    sagemaker.create_model(**model_request(name, XGB_LEGACY, seed_model["artifact"], ROLE))
    described = sagemaker.describe_model(ModelName=name)
    assert described["PrimaryContainer"] == {"Image": XGB_LEGACY, "ModelDataUrl": seed_model["artifact"],
                                             "Environment": {}}
    assert described["ExecutionRoleArn"] == ROLE
    assert name in [m["ModelName"] for m in sagemaker.list_models(NameContains=name)["Models"]]
    sagemaker.delete_model(ModelName=name)
    assert sagemaker.list_models(NameContains=name)["Models"] == []


def test_transform_limits_and_duplicates(sagemaker: Any, bucket: str, seed_model: dict[str, Any],
                                         unique: Any) -> None:
    config = TransformConfig(job_name=unique("limits"), model_name=seed_model["model"],
                             input_uri=seed_model["test_uri"], output_path=f"s3://{bucket}/limits/",
                             max_payload_mb=60, max_concurrent_transforms=2)
    with pytest.raises(ClientError) as excinfo:
        sagemaker.create_transform_job(**transform_job_request(config))
    assert "The product of MaxConcurrentTransforms and MaxPayloadInMB must be less than or equal to 100" in \
        _error(excinfo)[1]
    request = transform_job_request(TransformConfig(job_name=unique("twice"), model_name=seed_model["model"],
                                                    input_uri=seed_model["test_uri"],
                                                    output_path=f"s3://{bucket}/twice/"))
    sagemaker.create_transform_job(**request)
    with pytest.raises(sagemaker.exceptions.ResourceInUse):
        sagemaker.create_transform_job(**request)
    wait_transform(sagemaker, request["TransformJobName"])
    with pytest.raises(ClientError) as excinfo:
        sagemaker.describe_transform_job(TransformJobName="no-such-transform")
    assert _error(excinfo) == ("ValidationException", "Requested resource not found.")
    listed = sagemaker.list_transform_jobs(NameContains=request["TransformJobName"])["TransformJobSummaries"]
    assert [s["TransformJobName"] for s in listed] == [request["TransformJobName"]]


def test_an_input_with_no_objects_is_refused_at_create(sagemaker: Any, s3: Any, bucket: str,
                                                       seed_model: dict[str, Any], unique: Any) -> None:
    """As SageMaker does, CreateTransformJob itself fails and no job exists. A transform job has no role of its
    own: the message names the model's execution role."""
    model = unique("reader")
    role = "arn:aws:iam::123456789012:role/service-role/TransformReader"
    sagemaker.create_model(**model_request(model, XGB_LEGACY, seed_model["artifact"], role))
    for uri, in_bucket in ((f"s3://{bucket}/tr/nothing-here/", bucket),
                           ("s3://no-such-bucket-for-inputs/test/", "no-such-bucket-for-inputs")):
        name = unique("noinput")
        with pytest.raises(ClientError) as excinfo:
            sagemaker.create_transform_job(**transform_job_request(TransformConfig(
                job_name=name, model_name=model, input_uri=uri, output_path=f"s3://{bucket}/tr/out/{name}/")))
        assert _error(excinfo) == ("ValidationException", (
            f'No S3 objects found under S3 URL "{uri}" given in input data source. Please ensure that the bucket '
            "exists in the selected region (us-east-1), that objects exist under that S3 prefix, and that the role "
            f'"{role}" has "s3:ListBucket" permissions on bucket "{in_bucket}".'))
        with pytest.raises(ClientError):
            sagemaker.describe_transform_job(TransformJobName=name)
        assert sagemaker.list_transform_jobs(NameContains=name)["TransformJobSummaries"] == []
