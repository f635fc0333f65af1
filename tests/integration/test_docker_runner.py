"""Images of one's own through the emulator's Docker runner: training with `train`, batch transform with `serve`.

Here the `docker` command is tests/byoc/fake_docker.py (no engine on these machines): the emulator, the runner,
the recorded command lines, the container contract (/opt/ml, environment, /ping, /invocations), stopping and
failures are all real; only the engine is not. The tests marked `docker` build tests/byoc as a real image and run
the same jobs through a real engine (they skip where none is running).
"""

from __future__ import annotations

import io
import json
import os
import sys
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from backends.emulator.server import Emulator, EmulatorConfig
from tests.conftest import ROLE, make_client, wait_training, wait_transform
from tests.docker_images import base_image, build

BYOC = Path(__file__).resolve().parents[1] / "byoc"
FAKE_IMAGE = "harness-test/byoc:1"
REAL_IMAGE = "harness-test/byoc:real"
BUCKET = "byoc-bucket"
TRAIN_ROWS = b"1,10\n2,20\n3,30\n6,60\n"
EMULATOR_URL: list[str] = []  # the module's emulator, for helpers


@pytest.fixture(scope="module")
def fake_docker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """$HARNESS_DOCKER pointed at the fake client for this module; yields its state directory."""
    state = tmp_path_factory.mktemp("fake-docker")
    client = state / "docker"
    client.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{BYOC / "fake_docker.py"}" "$@"\n')
    client.chmod(0o755)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HARNESS_DOCKER", str(client))
        patch.setenv("FAKE_DOCKER_STATE", str(state))
        yield state


@pytest.fixture(scope="module")
def emu(fake_docker: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    with Emulator(EmulatorConfig(state_dir=tmp_path_factory.mktemp("byoc-state"), persist_services=False)) as emulator:
        s3 = make_client("s3", emulator.endpoint_url)
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key="data/train.csv", Body=TRAIN_ROWS)
        s3.put_object(Bucket=BUCKET, Key="data/test.csv", Body=b"1\n2\n\n10\n")
        EMULATOR_URL[:] = [emulator.endpoint_url]
        yield emulator


def runs(state: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (state / "runs.jsonl").read_text().splitlines()]


def training_request(name: str, image: str, **extra: Any) -> dict[str, Any]:
    return {
        "TrainingJobName": name, "RoleArn": ROLE,
        "AlgorithmSpecification": {"TrainingImage": image, "TrainingInputMode": "File"},
        "HyperParameters": {"scale": "2"},
        "InputDataConfig": [{"ChannelName": "train", "ContentType": "text/csv", "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/data/train.csv"}}}],
        "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/output"},
        "ResourceConfig": {"InstanceType": "ml.m4.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 5},
        "StoppingCondition": {"MaxRuntimeInSeconds": 600}, **extra,
    }


def model_json(s3: Any, uri: str) -> dict[str, float]:
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    with tarfile.open(fileobj=io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read())) as tar:
        member = tar.extractfile("model.json")
        assert member is not None
        return dict(json.loads(member.read()))


def log_lines(logs: Any, group: str, name: str) -> list[str]:
    streams = logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=name)["logStreams"]
    return [event["message"] for stream in streams for event in logs.get_log_events(
        logGroupName=group, logStreamName=stream["logStreamName"], startFromHead=True)["events"]]


def deploy_and_invoke(endpoint: str, name: str, body: bytes) -> tuple[dict[str, Any], bytes]:
    """An endpoint of the model `train_and_transform` created, invoked once and deleted: its Describe and answer."""
    sagemaker = make_client("sagemaker", endpoint)
    sagemaker.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": f"{name}-model", "InitialInstanceCount": 1,
        "InstanceType": "ml.m5.large"}])
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name)
    sagemaker.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig={"Delay": 0.5, "MaxAttempts": 240})
    described: dict[str, Any] = sagemaker.describe_endpoint(EndpointName=name)
    try:
        answer: bytes = make_client("sagemaker-runtime", endpoint).invoke_endpoint(
            EndpointName=name, ContentType="text/csv", Body=body)["Body"].read()
    finally:
        sagemaker.delete_endpoint(EndpointName=name)
        sagemaker.get_waiter("endpoint_deleted").wait(EndpointName=name, WaiterConfig={"Delay": 0.5})
    return described, answer


def train_and_transform(endpoint: str, image: str, name: str) -> tuple[dict[str, Any], dict[str, Any], bytes]:
    sagemaker, s3 = make_client("sagemaker", endpoint), make_client("s3", endpoint)
    sagemaker.create_training_job(**training_request(name, image))
    training = wait_training(sagemaker, name, timeout=300)
    sagemaker.create_model(ModelName=f"{name}-model", ExecutionRoleArn=ROLE, PrimaryContainer={
        "Image": image, "ModelDataUrl": training["ModelArtifacts"]["S3ModelArtifacts"]})
    sagemaker.create_transform_job(
        TransformJobName=f"{name}-batch", ModelName=f"{name}-model", MaxConcurrentTransforms=2, MaxPayloadInMB=1,
        BatchStrategy="MultiRecord", TransformOutput={"S3OutputPath": f"s3://{BUCKET}/{name}-out/"},
        TransformInput={"ContentType": "text/csv", "SplitType": "Line", "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/data/test.csv"}}},
        TransformResources={"InstanceType": "ml.m4.xlarge", "InstanceCount": 1})
    transform = wait_transform(sagemaker, f"{name}-batch")
    output = b""
    if transform["TransformJobStatus"] == "Completed":
        output = s3.get_object(Bucket=BUCKET, Key=f"{name}-out/test.csv.out")["Body"].read()
    return training, transform, output


# -- through the fake client ---------------------------------------------------------------------------------


def test_training_and_transform_run_the_image(emu: Emulator, fake_docker: Path) -> None:
    training, transform, output = train_and_transform(emu.endpoint_url, FAKE_IMAGE, "byoc-ok")
    assert training["TrainingJobStatus"] == "Completed", training.get("FailureReason")
    assert [t["Status"] for t in training["SecondaryStatusTransitions"]] == [
        "Starting", "Downloading", "Training", "Uploading", "Completed"]
    s3 = make_client("s3", emu.endpoint_url)
    assert model_json(s3, training["ModelArtifacts"]["S3ModelArtifacts"]) == {"mean": 3.0, "scale": 2.0}
    assert transform["TransformJobStatus"] == "Completed", transform.get("FailureReason")
    # Lines become mean + scale * x; the empty line is no record, as SplitType=Line has it.
    assert output == b"5.0\n7.0\n23.0\n"

    train_run, serve_run = [run for run in runs(fake_docker) if run["image"] == FAKE_IMAGE][-2:]
    assert train_run["command"] == ["train"]
    assert train_run["options"]["--network"] == ["host"]
    assert [volume.split(":")[1] for volume in train_run["options"]["--volume"]] == ["/opt/ml"]
    assert train_run["env"]["TRAINING_JOB_NAME"] == "byoc-ok"
    assert train_run["env"]["AWS_ENDPOINT_URL"] == emu.endpoint_url
    assert serve_run["command"] == ["serve"]
    assert serve_run["options"]["--publish"][0].startswith("127.0.0.1:")
    assert serve_run["options"]["--publish"][0].endswith(":8080")
    assert [volume.split(":")[1] for volume in serve_run["options"]["--volume"]] == ["/opt/ml/model"]
    assert serve_run["env"]["SAGEMAKER_BATCH"] == "true"
    assert serve_run["env"]["SAGEMAKER_MAX_CONCURRENT_TRANSFORMS"] == "2"

    logs = make_client("logs", emu.endpoint_url)
    lines = log_lines(logs, "/aws/sagemaker/TrainingJobs", "byoc-ok")
    assert "training job byoc-ok with ['scale']" in lines
    assert "trained on 4 rows: {'mean': 3.0, 'scale': 2.0}" in lines
    assert any(line.startswith("$ ") and " run --rm " in line for line in lines)  # the command, for reproducing
    assert "Transformed test.csv: 13 bytes" in log_lines(logs, "/aws/sagemaker/TransformJobs", "byoc-ok-batch")


def test_an_endpoint_serves_the_image(emu: Emulator, fake_docker: Path) -> None:
    """A real-time endpoint of a model whose image is not built in: `<image> serve` with port 8080 published on
    loopback, `/ping` before InService, `/invocations` over HTTP, the container stopped at delete."""
    train_and_transform(emu.endpoint_url, FAKE_IMAGE, "byoc-ep")
    described, answer = deploy_and_invoke(emu.endpoint_url, "byoc-ep", b"1\n2\n10\n")
    assert described["EndpointStatus"] == "InService"
    assert answer == b"5.0\n7.0\n23.0\n"  # what the batch transform of the same model wrote
    serve_run = [run for run in runs(fake_docker) if run["command"] == ["serve"]][-1]
    assert serve_run["options"]["--publish"][0].startswith("127.0.0.1:")
    assert "SAGEMAKER_BATCH" not in serve_run["env"]  # a real-time endpoint, not a batch transform


def test_the_container_failure_file_is_the_failure_reason(emu: Emulator) -> None:
    sagemaker = make_client("sagemaker", emu.endpoint_url)
    request = training_request("byoc-fail", FAKE_IMAGE)
    request["HyperParameters"] = {"fail": "yes"}
    sagemaker.create_training_job(**request)
    job = wait_training(sagemaker, "byoc-fail", timeout=120)
    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"] == "AlgorithmError: bad hyperparameter fail=yes"


def test_network_isolation_runs_without_a_network(emu: Emulator, fake_docker: Path) -> None:
    sagemaker = make_client("sagemaker", emu.endpoint_url)
    sagemaker.create_training_job(**training_request("byoc-isolated", FAKE_IMAGE, EnableNetworkIsolation=True))
    assert wait_training(sagemaker, "byoc-isolated", timeout=120)["TrainingJobStatus"] == "Completed"
    run = [run for run in runs(fake_docker) if run["env"].get("TRAINING_JOB_NAME") == "byoc-isolated"][-1]
    assert run["options"]["--network"] == ["none"]
    assert "AWS_ENDPOINT_URL" not in run["env"]


def test_stopping_a_job_stops_its_container(emu: Emulator) -> None:
    sagemaker = make_client("sagemaker", emu.endpoint_url)
    request = training_request("byoc-stop", FAKE_IMAGE)
    request["HyperParameters"] = {"sleep": "120"}
    sagemaker.create_training_job(**request)
    deadline = time.time() + 60
    while sagemaker.describe_training_job(TrainingJobName="byoc-stop")["SecondaryStatus"] != "Training":
        assert time.time() < deadline
        time.sleep(0.05)
    time.sleep(0.5)  # let the container start
    started = time.time()
    sagemaker.stop_training_job(TrainingJobName="byoc-stop")
    job = wait_training(sagemaker, "byoc-stop", timeout=60)
    assert job["TrainingJobStatus"] == "Stopped"
    assert time.time() - started < 30  # the container got the signal: it was sleeping for 120 s


def test_an_image_docker_cannot_get_fails_with_a_client_error(emu: Emulator) -> None:
    sagemaker = make_client("sagemaker", emu.endpoint_url)
    image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/not-pulled:1"
    sagemaker.create_training_job(**training_request("byoc-nopull", image))
    job = wait_training(sagemaker, "byoc-nopull", timeout=120)
    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"] == (
        f"ClientError: The emulator cannot run image '{image}': it is not in the local Docker engine and Docker "
        f"could not pull it (Error response from daemon: pull access denied for {image}). Build or pull it first.")


def test_without_docker_jobs_of_other_images_say_docker_is_missing(emu: Emulator,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_DOCKER", "/nonexistent/docker")
    sagemaker = make_client("sagemaker", emu.endpoint_url)
    sagemaker.create_training_job(**training_request("byoc-nodocker", FAKE_IMAGE))
    job = wait_training(sagemaker, "byoc-nodocker", timeout=60)
    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"] == (
        f"ClientError: The emulator cannot run image '{FAKE_IMAGE}': it runs the built-in XGBoost images "
        "(xgboost:1 and sagemaker-xgboost:<version> in any region) natively, and any other image runs in Docker, "
        "which is not available here (the `/nonexistent/docker` command is not installed).")
    assert [t["Status"] for t in job["SecondaryStatusTransitions"]] == ["Starting", "Failed"]

    sagemaker.create_model(ModelName="byoc-nodocker-model", ExecutionRoleArn=ROLE,
                           PrimaryContainer={"Image": FAKE_IMAGE})
    sagemaker.create_transform_job(
        TransformJobName="byoc-nodocker-batch", ModelName="byoc-nodocker-model",
        TransformOutput={"S3OutputPath": f"s3://{BUCKET}/nodocker/"},
        TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                                        "S3Uri": f"s3://{BUCKET}/data/test.csv"}}},
        TransformResources={"InstanceType": "ml.m4.xlarge", "InstanceCount": 1})
    transform = wait_transform(sagemaker, "byoc-nodocker-batch", timeout=60)
    assert transform["TransformJobStatus"] == "Failed"
    assert transform["FailureReason"].startswith(
        f"ClientError: The emulator cannot run image '{FAKE_IMAGE}': it serves the built-in XGBoost images")
    assert "runs in Docker, which is not available here" in transform["FailureReason"]


def test_a_model_container_that_answers_errors_fails_the_job(emu: Emulator) -> None:
    sagemaker = make_client("sagemaker", emu.endpoint_url)
    # No ModelDataUrl (an image may carry its model): this one has none, so it answers 500.
    sagemaker.create_model(ModelName="byoc-nomodel", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": FAKE_IMAGE})
    job = transform_with("byoc-nomodel", "byoc-nomodel-batch")
    assert job["TransformJobStatus"] == "Failed"
    assert job["FailureReason"].startswith("ClientError: test.csv: input object: batch 1 ")
    assert "Model container answered 500: no model loaded" in job["FailureReason"]
    s3 = make_client("s3", emu.endpoint_url)
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix="byoc-nomodel-batch/").get("KeyCount") == 0


def test_a_model_container_that_exits_before_ping_fails_the_job(emu: Emulator) -> None:
    sagemaker = make_client("sagemaker", emu.endpoint_url)
    sagemaker.create_model(ModelName="byoc-exits", ExecutionRoleArn=ROLE,
                           PrimaryContainer={"Image": "harness-test/exits:1"})
    job = transform_with("byoc-exits", "byoc-exits-batch")
    assert job["TransformJobStatus"] == "Failed"
    assert job["FailureReason"] == ("ClientError: The model container exited with code 3 before answering /ping. "
                                    "See job logs for more information")
    logs = make_client("logs", emu.endpoint_url)
    assert "exec /usr/local/bin/serve: no such file or directory" in log_lines(
        logs, "/aws/sagemaker/TransformJobs", "byoc-exits-batch")


def transform_with(model: str, name: str) -> dict[str, Any]:
    sagemaker = make_client("sagemaker", EMULATOR_URL[0])
    sagemaker.create_transform_job(
        TransformJobName=name, ModelName=model, TransformOutput={"S3OutputPath": f"s3://{BUCKET}/{name}/"},
        TransformInput={"ContentType": "text/csv", "SplitType": "Line", "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/data/test.csv"}}},
        TransformResources={"InstanceType": "ml.m4.xlarge", "InstanceCount": 1})
    return wait_transform(sagemaker, name, timeout=120)


# -- through a real engine -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_image() -> str:
    build(REAL_IMAGE, BYOC, base_image())  # on this machine's Debian base: nothing is pulled
    return REAL_IMAGE


@pytest.mark.docker
def test_a_real_container_trains_and_serves(real_image: str, tmp_path: Path) -> None:
    os.environ.pop("HARNESS_DOCKER", None)
    with Emulator(EmulatorConfig(state_dir=tmp_path, persist_services=False)) as emulator:
        s3 = make_client("s3", emulator.endpoint_url)
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key="data/train.csv", Body=TRAIN_ROWS)
        s3.put_object(Bucket=BUCKET, Key="data/test.csv", Body=b"1\n2\n\n10\n")
        training, transform, output = train_and_transform(emulator.endpoint_url, real_image, "byoc-real")
        # The same model behind a real-time endpoint: `docker run <image> serve`, called over HTTP.
        described, answer = deploy_and_invoke(emulator.endpoint_url, "byoc-real", b"1\n2\n10\n")
    assert training["TrainingJobStatus"] == "Completed", training.get("FailureReason")
    assert transform["TransformJobStatus"] == "Completed", transform.get("FailureReason")
    assert output == b"5.0\n7.0\n23.0\n"
    assert described["EndpointStatus"] == "InService", described.get("FailureReason")
    assert answer == output
