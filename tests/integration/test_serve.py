"""`harness serve` as users run it: unchanged boto3 code redirected by AWS_ENDPOINT_URL alone, and the
`jobs` / `logs` commands against it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest

from fixtures.datasets import load_boston
from tests.conftest import XGB_LEGACY, free_port, serve

# Plain boto3, no endpoint_url anywhere: what a user's existing script looks like.
USER_SCRIPT = textwrap.dedent("""
    import json, sys, boto3
    s3, sm, logs = boto3.client("s3"), boto3.client("sagemaker"), boto3.client("logs")
    bucket = "sagemaker-us-east-1-123456789012"
    s3.create_bucket(Bucket=bucket)
    s3.upload_file(sys.argv[1], bucket, "boston-xgboost-LL/train.csv")
    sm.create_training_job(
        TrainingJobName="serve-seed",
        RoleArn="arn:aws:iam::123456789012:role/SageMakerRole",
        AlgorithmSpecification={"TrainingImage": sys.argv[2], "TrainingInputMode": "File"},
        OutputDataConfig={"S3OutputPath": f"s3://{bucket}/boston-xgboost-LL/output"},
        ResourceConfig={"InstanceCount": 1, "InstanceType": "ml.m4.xlarge", "VolumeSizeInGB": 5},
        StoppingCondition={"MaxRuntimeInSeconds": 86400},
        HyperParameters={"max_depth": "5", "eta": "0.2", "objective": "reg:linear", "num_round": "20"},
        InputDataConfig=[{"ChannelName": "train", "ContentType": "csv", "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": f"s3://{bucket}/boston-xgboost-LL/train.csv",
            "S3DataDistributionType": "FullyReplicated"}}}],
    )
    sm.get_waiter("training_job_completed_or_stopped").wait(
        TrainingJobName="serve-seed", WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    job = sm.describe_training_job(TrainingJobName="serve-seed")
    identity = boto3.client("sts").get_caller_identity()
    print(json.dumps({"status": job["TrainingJobStatus"], "artifact": job["ModelArtifacts"]["S3ModelArtifacts"],
                      "account": identity["Account"],
                      "objects": [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]}))
""")


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    server = serve(tmp_path_factory.mktemp("serve-state"), port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(30)


def _env(endpoint: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "HARNESS_"))}
    env.update({"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                "AWS_DEFAULT_REGION": "us-east-1"})
    return env


@pytest.fixture(scope="module")
def outcome(endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What the user's script printed after training `serve-seed` through the endpoint."""
    features, label = load_boston()
    train = tmp_path_factory.mktemp("data") / "train.csv"
    features.insert(0, "label", label)
    features.to_csv(train, header=False, index=False)
    result = subprocess.run([sys.executable, "-c", USER_SCRIPT, str(train), XGB_LEGACY], env=_env(endpoint),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    printed: dict[str, Any] = json.loads(result.stdout)
    return printed


def test_unchanged_boto3_code_runs_against_the_endpoint(outcome: dict[str, Any]) -> None:
    assert outcome["status"] == "Completed"
    assert outcome["account"] == "123456789012"
    assert "boston-xgboost-LL/output/serve-seed/output/model.tar.gz" in outcome["objects"]


def test_jobs_and_logs_commands(endpoint: str, outcome: dict[str, Any]) -> None:
    env = _env(endpoint)
    listed = subprocess.run([sys.executable, "-m", "harness", "jobs", "list", "--endpoint", endpoint], env=env,
                            capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    assert "serve-seed" in listed.stdout and "Completed" in listed.stdout
    described = subprocess.run([sys.executable, "-m", "harness", "jobs", "describe", "serve-seed", "--endpoint",
                                endpoint], env=env, capture_output=True, text=True, timeout=60)
    assert json.loads(described.stdout)["TrainingJobStatus"] == "Completed"
    logs = subprocess.run([sys.executable, "-m", "harness", "logs", "serve-seed", "--endpoint", endpoint], env=env,
                          capture_output=True, text=True, timeout=60)
    metric_lines = [line for line in logs.stdout.splitlines() if "#011train-rmse:" in line]
    assert len(metric_lines) == 20
    missing = subprocess.run([sys.executable, "-m", "harness", "jobs", "describe", "nope", "--endpoint", endpoint],
                             env=env, capture_output=True, text=True, timeout=60)
    assert missing.returncode == 1
    assert "Requested resource not found." in missing.stderr


def test_endpoint_commands_and_session_wait(endpoint: str, outcome: dict[str, Any], tmp_path: Any) -> None:
    """`harness endpoints list|describe` and `harness invoke` on an endpoint of the trained model, and
    `harness.Session.wait_for_endpoint`."""
    from backends import create_backend
    from harness import Session
    from harness.waiters import JobFailed
    from tests.conftest import make_client

    sagemaker = make_client("sagemaker", endpoint)
    sagemaker.create_model(ModelName="serve-seed", ExecutionRoleArn="arn:aws:iam::123456789012:role/SageMakerRole",
                           PrimaryContainer={"Image": XGB_LEGACY, "ModelDataUrl": outcome["artifact"]})
    sagemaker.create_endpoint_config(EndpointConfigName="serve-seed", ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": "serve-seed", "InitialInstanceCount": 1,
        "InstanceType": "ml.m5.large"}])
    sagemaker.create_endpoint(EndpointName="serve-seed", EndpointConfigName="serve-seed")
    backend = create_backend("emulator", endpoint=endpoint)
    backend.start()
    session = Session(backend)
    assert session.wait_for_endpoint("serve-seed", poll=0.1)["EndpointStatus"] == "InService"

    env = _env(endpoint)

    def harness(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "harness", *args, "--endpoint", endpoint], env=env,
                              capture_output=True, text=True, timeout=60)

    listed = harness("endpoints", "list")
    assert listed.returncode == 0, listed.stderr
    assert "serve-seed" in listed.stdout and "InService" in listed.stdout and "AllTraffic x1" in listed.stdout
    described = json.loads(harness("endpoints", "describe", "serve-seed").stdout)
    assert described["ProductionVariants"][0]["CurrentInstanceCount"] == 1
    features, _ = load_boston()
    rows = features.head(2).to_csv(header=False, index=False)
    invoked = harness("invoke", "serve-seed", "--body", rows)
    assert invoked.returncode == 0, invoked.stderr
    expected = make_client("sagemaker-runtime", endpoint).invoke_endpoint(
        EndpointName="serve-seed", ContentType="text/csv", Body=rows)["Body"].read().decode()
    assert invoked.stdout == expected + "\n"  # the legacy image joins a real-time answer with commas
    assert len(expected.split(",")) == 2 and "variant: AllTraffic" in invoked.stderr
    body_file = tmp_path / "rows.csv"
    body_file.write_text(rows)
    assert harness("invoke", "serve-seed", "--file", str(body_file)).stdout == invoked.stdout
    missing = harness("invoke", "nope", "--body", rows)
    assert missing.returncode == 1 and "Endpoint nope of account 123456789012 not found." in missing.stderr

    # A model whose artifact is not an archive: the endpoint fails, and the wait says why.
    make_client("s3", endpoint).put_object(Bucket="sagemaker-us-east-1-123456789012", Key="broken/model.tar.gz",
                                           Body=b"not an archive")
    sagemaker.create_model(ModelName="serve-broken", ExecutionRoleArn="arn:aws:iam::123456789012:role/SageMakerRole",
                           PrimaryContainer={"Image": XGB_LEGACY, "ModelDataUrl":
                                             "s3://sagemaker-us-east-1-123456789012/broken/model.tar.gz"})
    sagemaker.create_endpoint_config(EndpointConfigName="serve-broken", ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": "serve-broken", "InitialInstanceCount": 1,
        "InstanceType": "ml.m5.large"}])
    sagemaker.create_endpoint(EndpointName="serve-broken", EndpointConfigName="serve-broken")
    with pytest.raises(JobFailed, match="Endpoint serve-broken ended Failed: Failed to extract model data archive"):
        session.wait_for_endpoint("serve-broken", poll=0.1)
    backend.stop()


def test_sigterm_while_starting_stops_once_started(tmp_path: Any) -> None:
    """A SIGTERM that arrives while `harness serve` starts (its port already accepts connections, the start goes
    on: loading the services' data, recovering jobs, the execution role) stops it cleanly once it has started:
    exit 0, and the clean stop's snapshot written, as for a SIGTERM later on."""
    import signal

    from backends.emulator.snapshot import SNAPSHOT_DIR

    state = tmp_path / "state"
    process = serve(state, free_port())  # returns as soon as the port accepts: the start is not over yet
    process.send_signal(signal.SIGTERM)
    assert process.wait(60) == 0
    assert (state / SNAPSHOT_DIR / "manifest.json").exists()
