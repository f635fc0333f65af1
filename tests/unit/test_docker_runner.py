"""The Docker runner's command lines, built by pure functions: what `docker run` would get, exactly."""

from __future__ import annotations

from pathlib import Path

import pytest

from backends.emulator.executor.docker_runner import (
    ContainerSpec,
    Mount,
    container_name,
    run_argv,
    serving_spec,
    training_spec,
)

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-algo:1"


def training_job(**extra: object) -> dict[str, object]:
    return {"TrainingJobName": "byoc-1",
            "TrainingJobArn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/byoc-1",
            "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"}, **extra}


def test_run_argv_is_exact_and_keeps_values_out_of_the_command_line() -> None:
    spec = ContainerSpec(image="img:1", name="c-1", args=("train",), mounts=(Mount(Path("/w/opt_ml"), "/opt/ml"),),
                         env={"B": "secret", "A": "1"}, network="host", labels={"job": "j"})
    assert run_argv(spec) == ["docker", "run", "--rm", "--name", "c-1", "--label", "job=j", "--network", "host",
                              "--volume", "/w/opt_ml:/opt/ml", "--env", "A", "--env", "B", "img:1", "train"]
    assert "secret" not in " ".join(run_argv(spec))


def test_run_argv_with_ports_read_only_mounts_and_another_client() -> None:
    spec = ContainerSpec(image="img", name="n", args=("serve",), mounts=(Mount(Path("/m"), "/opt/ml/model", True),),
                         publish=(("127.0.0.1", 40123, 8080),), entrypoint="python")
    assert run_argv(spec, "podman") == ["podman", "run", "--rm", "--name", "n", "--publish", "127.0.0.1:40123:8080",
                                        "--volume", "/m:/opt/ml/model:ro", "--entrypoint", "python", "img", "serve"]


def test_training_runs_train_with_the_workspace_at_opt_ml_on_the_host_network() -> None:
    spec = training_spec(training_job(Environment={"MY_SETTING": "x"}), Path("/state/jobs/byoc-1/opt_ml"),
                         "eu-west-1", "http://127.0.0.1:8765")
    assert spec.image == IMAGE
    assert spec.args == ("train",)
    assert spec.entrypoint is None
    assert spec.mounts == (Mount(Path("/state/jobs/byoc-1/opt_ml"), "/opt/ml"),)
    # The host network, so the container reaches the loopback-bound emulator at the URL this process uses.
    assert spec.network == "host"
    assert spec.env == {
        "MY_SETTING": "x", "TRAINING_JOB_NAME": "byoc-1",
        "TRAINING_JOB_ARN": "arn:aws:sagemaker:us-east-1:123456789012:training-job/byoc-1",
        "AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-1", "AWS_ENDPOINT_URL": "http://127.0.0.1:8765",
        "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
    }
    assert spec.labels == {"sagemaker-harness.training-job": "byoc-1"}
    assert spec.name.startswith("sagemaker-harness-training-byoc-1-")


def test_network_isolation_means_no_network_and_no_endpoint() -> None:
    spec = training_spec(training_job(EnableNetworkIsolation=True), Path("/w"), "us-east-1", "http://127.0.0.1:1")
    assert spec.network == "none"
    assert "AWS_ENDPOINT_URL" not in spec.env
    assert "AWS_ACCESS_KEY_ID" not in spec.env


@pytest.mark.parametrize(("entrypoint", "arguments", "expected"), [
    (None, None, (None, ("train",))),
    (None, ["--epochs", "3"], (None, ("train", "--epochs", "3"))),
    (["python", "-m", "algo"], None, ("python", ("-m", "algo"))),
    (["python", "-m", "algo"], ["--epochs", "3"], ("python", ("-m", "algo", "--epochs", "3"))),
])
def test_container_entrypoint_and_arguments(entrypoint: list[str] | None, arguments: list[str] | None,
                                            expected: tuple[str | None, tuple[str, ...]]) -> None:
    algorithm: dict[str, object] = {"TrainingImage": IMAGE}
    if entrypoint:
        algorithm["ContainerEntrypoint"] = entrypoint
    if arguments:
        algorithm["ContainerArguments"] = arguments
    spec = training_spec(training_job(AlgorithmSpecification=algorithm), Path("/w"), "us-east-1", None)
    assert (spec.entrypoint, spec.args) == expected


def test_serving_runs_serve_with_the_model_and_batch_settings() -> None:
    job = {"TransformJobName": "t-1", "MaxPayloadInMB": 3, "BatchStrategy": "SingleRecord",
           "MaxConcurrentTransforms": 2, "Environment": {"JOB": "j", "SHARED": "job"}}
    container = {"Image": IMAGE, "Environment": {"MODEL": "m", "SHARED": "model"}}
    spec = serving_spec(job, container, Path("/state/t-1/model"), 40123, "us-east-1")
    assert spec.args == ("serve",)
    assert spec.mounts == (Mount(Path("/state/t-1/model"), "/opt/ml/model"),)
    assert spec.publish == (("127.0.0.1", 40123, 8080),)  # the host's loopback only
    assert spec.network is None  # publishing needs the bridge network
    assert spec.env == {"MODEL": "m", "JOB": "j", "SHARED": "job", "SAGEMAKER_BATCH": "true",
                        "SAGEMAKER_MAX_PAYLOAD_IN_MB": "3", "SAGEMAKER_BATCH_STRATEGY": "SINGLE_RECORD",
                        "SAGEMAKER_MAX_CONCURRENT_TRANSFORMS": "2", "AWS_REGION": "us-east-1",
                        "AWS_DEFAULT_REGION": "us-east-1"}


def test_serving_defaults_follow_sagemaker() -> None:
    spec = serving_spec({"TransformJobName": "t"}, {"Image": IMAGE}, Path("/m"), 1, "us-east-1")
    assert spec.env["SAGEMAKER_MAX_PAYLOAD_IN_MB"] == "6"
    assert spec.env["SAGEMAKER_BATCH_STRATEGY"] == "MULTI_RECORD"
    assert spec.env["SAGEMAKER_MAX_CONCURRENT_TRANSFORMS"] == "1"


def test_container_names_are_valid_and_unique() -> None:
    first, second = container_name("training", "a/b c" + "x" * 100), container_name("training", "a/b c")
    assert first != second
    for name in (first, second):
        assert name.startswith("sagemaker-harness-training-a-b-c")
        assert all(ch.isalnum() or ch in "_.-" for ch in name)
        assert len(name) < 128
