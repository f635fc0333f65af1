"""The reference workflow against a real `harness serve`, written four ways a user would write it: plain
boto3, the SageMaker Python SDK 3.x and 2.x, and the AWS CLI. Each runs as its own program, in its own
environment, with only AWS_ENDPOINT_URL (plus test credentials and a region) pointing it at the emulator; the
SDK programs also get the SDK defaults file `python -m harness.sdk config` writes (see harness/sdk.py for
why). Same data split, same hyperparameters, same image: the four `test.csv.out` files must be identical.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from backends.emulator.sagemaker.context import EXECUTION_ROLE_ARN

from .conftest import BostonData, ScriptRun, run_script, user_env, write_sdk_defaults
from .envs import SdkEnv

# The first run builds the SDK environments (about 3 minutes, most of it the 3.x SDK); later runs take seconds.
pytestmark = pytest.mark.timeout(1800)

XGB_LEGACY = "811284229777.dkr.ecr.us-east-1.amazonaws.com/xgboost:1"
SEED_HYPERPARAMETERS = {"max_depth": "5", "eta": "0.2", "gamma": "4", "min_child_weight": "6", "subsample": "0.8",
                        "objective": "reg:linear", "early_stopping_rounds": "10", "num_round": "200"}
BUCKET = "sagemaker-us-east-1-123456789012"


@dataclass(frozen=True)
class Outcome:
    run: ScriptRun
    summary: dict[str, Any]  # the JSON line the program printed last
    predictions: bytes  # the downloaded test.csv.out


def _outcome(run: ScriptRun, out_dir: Path) -> Outcome:
    summary = json.loads(run.output.strip().splitlines()[-1])
    return Outcome(run, summary, (out_dir / "test.csv.out").read_bytes())


@pytest.fixture(scope="module")
def boto3_way(endpoint: str, boston: BostonData, tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    work = tmp_path_factory.mktemp("boto3")
    run = run_script(sys.executable, "workflow_boto3.py", [str(boston.directory), str(work / "out"),
                                                            EXECUTION_ROLE_ARN], user_env(endpoint, work / "home"))
    return _outcome(run, work / "out")


@pytest.fixture(scope="module")
def sdk3_way(endpoint: str, boston: BostonData, sdk3_env: SdkEnv, tmp_path_factory: pytest.TempPathFactory
             ) -> Outcome:
    work = tmp_path_factory.mktemp("sdk3")
    env = user_env(endpoint, work / "home")
    write_sdk_defaults(env)
    run = run_script(sdk3_env.python, "workflow_sdk3.py", [str(boston.directory), str(work / "out"),
                                                           EXECUTION_ROLE_ARN], env, fast_polling=True)
    return _outcome(run, work / "out")


@pytest.fixture(scope="module")
def sdk2_way(endpoint: str, boston: BostonData, sdk2_env: SdkEnv, tmp_path_factory: pytest.TempPathFactory
             ) -> Outcome:
    work = tmp_path_factory.mktemp("sdk2")
    env = user_env(endpoint, work / "home")
    write_sdk_defaults(env)
    run = run_script(sdk2_env.python, "workflow_sdk2.py", [str(boston.directory), str(work / "out"),
                                                           EXECUTION_ROLE_ARN], env, fast_polling=True)
    return _outcome(run, work / "out")


class Aws:
    """The `aws` command of the CLI environment, run as a user's shell script runs it."""

    def __init__(self, env: SdkEnv, shell_env: dict[str, str]) -> None:
        self.command = str(env.bin("aws"))
        self.env = shell_env
        self.transcript: list[str] = []

    def __call__(self, *args: str) -> str:
        result = subprocess.run([self.command, *args], env=self.env, capture_output=True, text=True, timeout=120)
        self.transcript.append(f"$ aws {' '.join(args)}\n{result.stdout}{result.stderr}")
        assert result.returncode == 0, "\n".join(self.transcript[-3:])
        return result.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self(*args, "--output", "json"))

    def wait_for(self, *describe: str, status: str, timeout: float = 120) -> Any:
        """Poll a describe call until the job's status is terminal; returns the last description. (The CLI's own
        `aws sagemaker wait` sleeps 60-120 s between polls; a script against a fast endpoint polls itself.)"""
        deadline = time.monotonic() + timeout
        while True:
            description = self.json(*describe)
            if description[status] in ("Completed", "Failed", "Stopped") or time.monotonic() > deadline:
                return description
            time.sleep(0.2)


@pytest.fixture(scope="module")
def cli_way(endpoint: str, boston: BostonData, awscli_env: SdkEnv, tmp_path_factory: pytest.TempPathFactory
            ) -> Outcome:
    work = tmp_path_factory.mktemp("cli")
    aws = Aws(awscli_env, user_env(endpoint, work / "home"))
    prefix = "boston-xgboost-cli"
    started = time.monotonic()

    account = aws("sts", "get-caller-identity", "--query", "Account", "--output", "text").strip()
    bucket = f"sagemaker-us-east-1-{account}"
    if bucket not in aws("s3", "ls"):
        aws("s3", "mb", f"s3://{bucket}")
    aws("s3", "cp", "--recursive", str(boston.directory), f"s3://{bucket}/{prefix}/")

    job = f"boston-xgboost-cli-{time.strftime('%Y-%m-%d-%H-%M-%S', time.gmtime())}"
    training = {
        "TrainingJobName": job, "RoleArn": EXECUTION_ROLE_ARN,
        "AlgorithmSpecification": {"TrainingImage": XGB_LEGACY, "TrainingInputMode": "File"},
        "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/{prefix}/output"},
        "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m4.xlarge", "VolumeSizeInGB": 5},
        "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
        "HyperParameters": SEED_HYPERPARAMETERS,
        "InputDataConfig": [
            {"ChannelName": channel, "ContentType": "csv", "CompressionType": "None",
             "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{bucket}/{prefix}/{channel}.csv",
                                             "S3DataDistributionType": "FullyReplicated"}}}
            for channel in ("train", "validation")],
    }
    (work / "training.json").write_text(json.dumps(training))
    aws("sagemaker", "create-training-job", "--cli-input-json", f"file://{work / 'training.json'}")
    described = aws.wait_for("sagemaker", "describe-training-job", "--training-job-name", job,
                             status="TrainingJobStatus")
    listed = aws.json("sagemaker", "list-training-jobs", "--name-contains", "boston-xgboost-cli")
    assert job in [summary["TrainingJobName"] for summary in listed["TrainingJobSummaries"]]

    model = f"{job}-model"
    aws("sagemaker", "create-model", "--model-name", model, "--execution-role-arn", EXECUTION_ROLE_ARN,
        "--primary-container", json.dumps({"Image": XGB_LEGACY,
                                           "ModelDataUrl": described["ModelArtifacts"]["S3ModelArtifacts"]}))
    assert aws.json("sagemaker", "describe-model", "--model-name", model)["ModelName"] == model

    transform_job = f"{job}-batch-transform"
    transform = {
        "TransformJobName": transform_job, "ModelName": model, "MaxConcurrentTransforms": 1, "MaxPayloadInMB": 6,
        "BatchStrategy": "MultiRecord", "TransformOutput": {"S3OutputPath": f"s3://{bucket}/{prefix}/batch-transform/"},
        "TransformInput": {"ContentType": "text/csv", "SplitType": "Line", "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": f"s3://{bucket}/{prefix}/test.csv"}}},
        "TransformResources": {"InstanceType": "ml.m4.xlarge", "InstanceCount": 1},
    }
    (work / "transform.json").write_text(json.dumps(transform))
    aws("sagemaker", "create-transform-job", "--cli-input-json", f"file://{work / 'transform.json'}")
    transform_status = aws.wait_for("sagemaker", "describe-transform-job", "--transform-job-name", transform_job,
                                    status="TransformJobStatus")["TransformJobStatus"]
    transforms = aws.json("sagemaker", "list-transform-jobs", "--name-contains", "boston-xgboost-cli")
    assert transform_job in [summary["TransformJobName"] for summary in transforms["TransformJobSummaries"]]

    # The seed notebook's own download line: !aws s3 cp --recursive $transform_output $data_dir
    aws("s3", "cp", "--recursive", f"s3://{bucket}/{prefix}/batch-transform/", str(work / "out"))
    summary = {"training_job": job, "training_status": described["TrainingJobStatus"],
               "model_data": described["ModelArtifacts"]["S3ModelArtifacts"], "model": model,
               "transform_job": transform_job, "transform_status": transform_status}
    run = ScriptRun("\n".join(aws.transcript) + "\n" + json.dumps(summary), time.monotonic() - started)
    return _outcome(run, work / "out")


def _check_summary(outcome: Outcome, prefix: str) -> None:
    summary = outcome.summary
    assert summary["training_status"] == "Completed", outcome.run.output[-4000:]
    assert summary["transform_status"] == "Completed", outcome.run.output[-4000:]
    assert summary["model_data"] == (
        f"s3://{BUCKET}/{prefix}/output/{summary['training_job']}/output/model.tar.gz")


def test_plain_boto3(boto3_way: Outcome) -> None:
    _check_summary(boto3_way, "boston-xgboost-boto3")
    assert "#011validation-rmse:" in boto3_way.run.output


def test_sdk3_model_trainer_and_transformer(sdk3_way: Outcome) -> None:
    _check_summary(sdk3_way, "boston-xgboost-sdk3")
    output = sdk3_way.run.output
    # ModelTrainer.train(logs=True) streamed the training log; Transformer.transform(logs=True) the transform's.
    assert "#011train-rmse:" in output and "#011validation-rmse:" in output
    assert "Transformed test.csv" in output
    assert "Final Resource Status: [bold]Completed" in output
    assert "Traceback" not in output


def test_sdk2_estimator_and_transformer(sdk2_way: Outcome) -> None:
    _check_summary(sdk2_way, "boston-xgboost-sdk2")
    output = sdk2_way.run.output
    # fit(logs=True) printed the status transitions and the log, then the billing lines.
    assert "Training - Training image download completed. Training in progress." in output
    assert "Billable seconds:" in output
    # ... and logs_for_job(wait=False) printed the finished job's log a second time.
    assert output.count("#011validation-rmse:") >= 2 * output.count("Billable seconds:")
    assert "Traceback" not in output


def test_aws_cli(cli_way: Outcome) -> None:
    _check_summary(cli_way, "boston-xgboost-cli")


def test_the_four_ways_predict_the_same(boto3_way: Outcome, sdk3_way: Outcome, sdk2_way: Outcome,
                                        cli_way: Outcome, boston: BostonData) -> None:
    ways = {"boto3": boto3_way, "sdk3": sdk3_way, "sdk2": sdk2_way, "aws cli": cli_way}
    reference = boto3_way.predictions
    for name, outcome in ways.items():
        assert outcome.predictions == reference, f"{name} predicted differently from plain boto3"
    predictions = np.array([float(line) for line in reference.decode().splitlines()])
    assert len(predictions) == len(boston.y_test)
    rmse = float(np.sqrt(np.mean((predictions - boston.y_test.to_numpy()) ** 2)))
    assert rmse < 6.0  # a trained model, not a constant: the label's own standard deviation is about 9

