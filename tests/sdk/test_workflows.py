"""The reference workflow against a real `harness serve`, written four ways a user would write it: plain
boto3, the SageMaker Python SDK 3.x and 2.x, and the AWS CLI. Each runs as its own program, in its own
environment, with only AWS_ENDPOINT_URL (plus test credentials and a region) pointing it at the emulator; the
SDK programs also get the SDK defaults file `python -m harness.sdk config` writes (see harness/sdk.py for
why). Same data split, same hyperparameters, same image: the four `test.csv.out` files must be identical.

Then each way deploys the model it trained to a real-time endpoint, as its users write it (boto3 with its
waiters, `Estimator.attach(...).deploy()` and `Predictor.predict`, `ModelBuilder` and `Endpoint.invoke`,
`aws sagemaker-runtime invoke-endpoint`), sends it all the test rows as CSV, and deletes it: the endpoint must
answer the batch transform's predictions of the same model, string for string, and be gone afterwards.
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

from .conftest import REGION, BostonData, ScriptRun, run_script, user_env, write_sdk_defaults
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

    def attempt(self, *args: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([self.command, *args], env=self.env, capture_output=True, text=True, timeout=120)
        self.transcript.append(f"$ aws {' '.join(args)}\n{result.stdout}{result.stderr}")
        return result

    def __call__(self, *args: str) -> str:
        result = self.attempt(*args)
        assert result.returncode == 0, "\n".join(self.transcript[-3:])
        return result.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self(*args, "--output", "json"))

    def wait_for(self, *describe: str, status: str, timeout: float = 120,
                 done: tuple[str, ...] = ("Completed", "Failed", "Stopped")) -> Any:
        """Poll a describe call until the status is one of `done`; returns the last description. (The CLI's own
        `aws sagemaker wait` sleeps 30-120 s between polls; a script against a fast endpoint polls itself.)"""
        deadline = time.monotonic() + timeout
        while True:
            description = self.json(*describe)
            if description[status] in done or time.monotonic() > deadline:
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


# -- real-time endpoints: each way deploys the model it trained, invokes it with the test rows, deletes it ------

ACCOUNT = "123456789012"
# Every way deploys to one instance of this type, as the SDKs' own examples do.
ENDPOINT_INSTANCE_TYPE = "ml.m5.large"
# The 0.72 container's answer to a real-time text/csv request is text/csv as Flask writes it.
CSV_ANSWER = "text/csv; charset=utf-8"


def realtime_csv(batch_output: bytes) -> str:
    """What the `xgboost:1` (0.72) container answers a real-time text/csv request for the rows batch transform
    answered `batch_output` for: the same prediction strings, joined by commas on one line (the seed notebook
    reads it with `np.fromstring(result, sep=',')`; images from 1.2-2 on answer one prediction per line)."""
    lines = batch_output.decode().splitlines()
    assert lines and all(lines), "an empty batch transform output proves nothing"
    return ",".join(lines)


def endpoint_not_found(name: str) -> str:
    return f'Could not find endpoint "arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{name}".'


@dataclass(frozen=True)
class Deployment:
    run: ScriptRun
    summary: dict[str, Any]  # the JSON line the program printed last


def _deployment(run: ScriptRun) -> Deployment:
    return Deployment(run, json.loads(run.output.strip().splitlines()[-1]))


@pytest.fixture(scope="module")
def boto3_endpoint(endpoint: str, boston: BostonData, boto3_way: Outcome, tmp_path_factory: pytest.TempPathFactory
                   ) -> Deployment:
    work = tmp_path_factory.mktemp("boto3-endpoint")
    return _deployment(run_script(sys.executable, "endpoint_boto3.py",
                                  [str(boston.directory), boto3_way.summary["model"]],
                                  user_env(endpoint, work / "home")))


@pytest.fixture(scope="module")
def sdk2_endpoint(endpoint: str, boston: BostonData, sdk2_env: SdkEnv, sdk2_way: Outcome,
                  tmp_path_factory: pytest.TempPathFactory) -> Deployment:
    work = tmp_path_factory.mktemp("sdk2-endpoint")
    env = user_env(endpoint, work / "home")
    write_sdk_defaults(env)
    return _deployment(run_script(sdk2_env.python, "endpoint_sdk2.py",
                                  [str(boston.directory), sdk2_way.summary["training_job"]], env, fast_polling=True))


@pytest.fixture(scope="module")
def sdk3_endpoint(endpoint: str, boston: BostonData, sdk3_env: SdkEnv, sdk3_way: Outcome,
                  tmp_path_factory: pytest.TempPathFactory) -> Deployment:
    work = tmp_path_factory.mktemp("sdk3-endpoint")
    env = user_env(endpoint, work / "home")
    write_sdk_defaults(env)
    return _deployment(run_script(sdk3_env.python, "endpoint_sdk3.py",
                                  [str(boston.directory), sdk3_way.summary["training_job"], EXECUTION_ROLE_ARN],
                                  env, fast_polling=True))


def test_boto3_endpoint_with_waiters(boto3_endpoint: Deployment, boto3_way: Outcome) -> None:
    summary = boto3_endpoint.summary
    name = summary["endpoint"]
    # endpoint_in_service returned on InService, with the configuration's one variant serving.
    assert summary["status"] == "InService"
    assert summary["described_config"] == summary["endpoint_config"]
    assert summary["variants"] == [{"name": "AllTraffic", "instances": 1, "weight": 1.0}]
    # The model batch transform used, on the same rows: the same predictions.
    assert summary["model"] == boto3_way.summary["model"]
    assert summary["predictions"] == realtime_csv(boto3_way.predictions)
    assert summary["content_type"] == CSV_ANSWER
    assert summary["invoked_variant"] == "AllTraffic"
    # endpoint_deleted returned once DescribeEndpoint said the endpoint is gone; the runtime says so too.
    assert summary["describe_after_delete"] == {"code": "ValidationException", "message": endpoint_not_found(name)}
    assert summary["invoke_after_delete"] == {"code": "ValidationError",
                                              "message": f"Endpoint {name} of account {ACCOUNT} not found."}
    assert summary["describe_config_after_delete"] == {
        "code": "ValidationException",
        "message": f'Could not find endpoint configuration "arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint-config/'
                   f'{summary["endpoint_config"]}".'}


def test_sdk2_endpoint_deploy_predict_delete(sdk2_endpoint: Deployment, sdk2_way: Outcome) -> None:
    summary = sdk2_endpoint.summary
    output = sdk2_endpoint.run.output
    # Estimator.attach found the job's model; deploy() made a model of it, a configuration and the endpoint.
    assert summary["model_data"] == summary["training_job_model_data"] == sdk2_way.summary["model_data"]
    assert summary["status"] == "InService"
    assert summary["instance_type"] == ENDPOINT_INSTANCE_TYPE
    # Predictor.predict with a CSVSerializer on the test rows: the batch transform's predictions.
    assert summary["predictions"] == realtime_csv(sdk2_way.predictions)
    # delete_model() and delete_endpoint() (which deletes the configuration too): all three are gone.
    assert set(summary["statuses_while_deleting"]) <= {"Deleting"}
    assert summary["describe_after_delete"] == {"code": "ValidationException",
                                                "message": endpoint_not_found(summary["endpoint"])}
    assert summary["describe_config_after_delete"]["message"].startswith("Could not find endpoint configuration")
    assert summary["describe_model_after_delete"]["message"].startswith("Could not find model")
    assert "Traceback" not in output


def test_sdk3_endpoint_model_builder(sdk3_endpoint: Deployment, sdk3_way: Outcome) -> None:
    summary = sdk3_endpoint.summary
    output = sdk3_endpoint.run.output
    # ModelBuilder.build() made a model of the image and the job's artifacts; deploy() waited for InService.
    assert summary["image"] == XGB_LEGACY
    assert summary["model_data"] == summary["training_job_model_data"] == sdk3_way.summary["model_data"]
    assert summary["variant_model"] == summary["model"]
    assert (summary["instance_type"], summary["instance_count"]) == (ENDPOINT_INSTANCE_TYPE, 1)
    assert summary["status"] == "InService"
    assert f"Deployment successful: Endpoint '{summary['endpoint']}'" in output
    # Endpoint.invoke with the test rows as CSV: the batch transform's predictions.
    assert summary["predictions"] == realtime_csv(sdk3_way.predictions)
    assert summary["content_type"] == CSV_ANSWER
    assert summary["invoked_variant"] == "AllTraffic"
    # Endpoint.delete + wait_for_delete, then the configuration and the model: Endpoint.get no longer finds it.
    assert summary["endpoint_after_delete"] == {"error": "ClientError", "code": "ValidationException",
                                                "message": endpoint_not_found(summary["endpoint"])}
    assert summary["endpoint_config_after_delete"]["message"].startswith("Could not find endpoint configuration")
    assert summary["model_after_delete"]["message"].startswith("Could not find model")
    assert "Traceback" not in output


def test_aws_cli_invoke_endpoint(cli_way: Outcome, boston: BostonData, awscli_env: SdkEnv, endpoint: str,
                                 tmp_path: Path) -> None:
    aws = Aws(awscli_env, user_env(endpoint, tmp_path / "home"))
    stamp = time.strftime("%Y-%m-%d-%H-%M-%S", time.gmtime())
    config, name = f"boston-xgboost-cli-endpoint-config-{stamp}", f"boston-xgboost-cli-endpoint-{stamp}"
    variants = [{"VariantName": "AllTraffic", "ModelName": cli_way.summary["model"], "InitialInstanceCount": 1,
                 "InstanceType": ENDPOINT_INSTANCE_TYPE}]
    aws("sagemaker", "create-endpoint-config", "--endpoint-config-name", config,
        "--production-variants", json.dumps(variants))
    aws("sagemaker", "create-endpoint", "--endpoint-name", name, "--endpoint-config-name", config)
    described = aws.wait_for("sagemaker", "describe-endpoint", "--endpoint-name", name, status="EndpointStatus",
                             done=("InService", "Failed"))
    assert described["EndpointStatus"] == "InService", described
    listed = aws.json("sagemaker", "list-endpoints", "--name-contains", "boston-xgboost-cli-endpoint")
    assert [summary["EndpointName"] for summary in listed["Endpoints"]] == [name]

    # As a user types it: the body from a file, the answer's body to a file, the rest printed as JSON.
    out = tmp_path / "out.txt"
    printed = aws("sagemaker-runtime", "invoke-endpoint", "--endpoint-name", name,
                  "--body", f"fileb://{boston.directory / 'test.csv'}", "--content-type", "text/csv", str(out))
    assert json.loads(printed) == {"ContentType": CSV_ANSWER, "InvokedProductionVariant": "AllTraffic"}
    assert out.read_text() == realtime_csv(cli_way.predictions)

    aws("sagemaker", "delete-endpoint", "--endpoint-name", name)
    aws("sagemaker", "delete-endpoint-config", "--endpoint-config-name", config)
    # DeleteEndpoint returns at once; the endpoint is `Deleting` until its instances are gone.
    deadline = time.monotonic() + 60
    while (described_after := aws.attempt("sagemaker", "describe-endpoint", "--endpoint-name", name)).returncode == 0:
        assert json.loads(described_after.stdout)["EndpointStatus"] == "Deleting"
        assert time.monotonic() < deadline, "the endpoint was still there 60 s after DeleteEndpoint"
        time.sleep(0.2)
    assert ("An error occurred (ValidationException) when calling the DescribeEndpoint operation: "
            f"{endpoint_not_found(name)}") in described_after.stderr
    invoked_after = aws.attempt("sagemaker-runtime", "invoke-endpoint", "--endpoint-name", name,
                                "--body", f"fileb://{boston.directory / 'test.csv'}", "--content-type", "text/csv",
                                str(tmp_path / "after.txt"))
    assert invoked_after.returncode != 0
    assert ("An error occurred (ValidationError) when calling the InvokeEndpoint operation: "
            f"Endpoint {name} of account {ACCOUNT} not found.") in invoked_after.stderr
