"""Jobs of several instances, over HTTP with boto3 against `harness serve`: training on N hosts `algo-1 ... algo-N`
with XGBoost's own distributed engine (each host its own workspace, objects and log stream), and batch transforms
whose input objects are split across N instances.

The reference for the model is XGBoost's own distributed training (its tracker and `xgb.train`, called directly
in the runtime's interpreter by `direct_distributed.py`) on the same shards."""

from __future__ import annotations

import io
import json
import os
import re
import socket
import subprocess
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from backends.emulator.algorithms.images import image_uri
from backends.emulator.runtimes.store import ENV_VAR
from harness.requests import TrainingConfig, TransformConfig, model_request, training_job_request, transform_job_request
from tests.conftest import (
    REGION,
    ROLE,
    TRAINING_LOGS,
    TRANSFORM_LOGS,
    make_client,
    serve,
    wait_training,
    wait_transform,
)
from tests.runtimes.helpers import RUNTIMES_DIR, installed_runtime, run_in_runtime

BUCKET = "multi-instance"
DIRECT = Path(__file__).with_name("direct_distributed.py")
ROWS_PER_OBJECT = 120
FEATURES = 5
HYPERPARAMETERS = {"num_round": "12", "max_depth": "4", "eta": "0.3", "objective": "reg:squarederror"}


@pytest.fixture(scope="module")
def clients(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """`harness serve` in its own process, its jobs on the runtimes of `.runtimes/`, and boto3 clients of it."""
    for version in ("1", "1.7-1"):
        installed_runtime(version)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    state = tmp_path_factory.mktemp("multi-state")
    process = serve(state, port, {ENV_VAR: str(RUNTIMES_DIR)})
    try:
        endpoint = f"http://127.0.0.1:{port}"
        made: dict[str, Any] = {name: make_client(name, endpoint) for name in ("sagemaker", "s3", "logs")}
        made["jobs"] = state / "jobs" / "training" / REGION  # the training jobs' directories
        made["transforms"] = state / "jobs" / "transform" / REGION
        made["s3"].create_bucket(Bucket=BUCKET)
        yield made
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _rows(index: int) -> np.ndarray:
    rng = np.random.default_rng(100 + index)
    features = rng.normal(size=(ROWS_PER_OBJECT, FEATURES))
    labels = features @ np.array([1.5, -2.0, 0.5, 0.25, 3.0]) + rng.normal(scale=0.3, size=ROWS_PER_OBJECT)
    return np.column_stack([labels, features])


def _csv(rows: np.ndarray) -> bytes:
    return "".join(",".join(f"{value:.6f}" for value in row) + "\n" for row in rows).encode()


def _upload(s3: Any, prefix: str, count: int) -> dict[str, bytes]:
    objects = {f"part-{index}.csv": _csv(_rows(index)) for index in range(count)}
    for name, body in objects.items():
        s3.put_object(Bucket=BUCKET, Key=f"{prefix}/{name}", Body=body)
    return objects


def _train(clients: dict[str, Any], name: str, version: str, count: int, distribution: str, objects: int,
           hyperparameters: dict[str, str] | None = None, max_runtime: int = 600, wait: bool = True
           ) -> tuple[dict[str, Any], dict[str, bytes]]:
    prefix = f"jobs/{name}"
    files = _upload(clients["s3"], f"{prefix}/train", objects)
    request = training_job_request(TrainingConfig(
        job_name=name, image=image_uri(REGION, version=version), role=ROLE, output_path=f"s3://{BUCKET}/{prefix}/out",
        train_uri=f"s3://{BUCKET}/{prefix}/train/", hyperparameters=dict(hyperparameters or HYPERPARAMETERS),
        instance_count=count, max_runtime_seconds=max_runtime, content_type="text/csv"))
    for channel in request["InputDataConfig"]:
        channel["DataSource"]["S3DataSource"]["S3DataDistributionType"] = distribution
    clients["sagemaker"].create_training_job(**request)
    if not wait:
        return {}, files
    return wait_training(clients["sagemaker"], name, timeout=300), files


def _streams(logs: Any, group: str, name: str) -> dict[str, list[str]]:
    """Each log stream of the job, by name, with its messages."""
    found = {}
    for stream in logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=f"{name}/")["logStreams"]:
        events = logs.get_log_events(logGroupName=group, logStreamName=stream["logStreamName"], startFromHead=True,
                                     limit=10000)["events"]
        found[stream["logStreamName"]] = [event["message"] for event in events]
    return found


def _by_host(streams: dict[str, list[str]], name: str) -> dict[str, list[str]]:
    hosts = {}
    for stream, messages in streams.items():
        match = re.fullmatch(rf"{re.escape(name)}/(algo-\d+)-\d+", stream)
        assert match is not None, stream
        hosts[match.group(1)] = messages
    return hosts


def _read_objects(messages: list[str]) -> list[str]:
    """The channel files a 1.7-1 host read: the container logs a symlink line for each."""
    return sorted(re.findall(r"creating symlink between Path /opt/ml/input/data/train/(\S+) and", "\n".join(messages)))


def _predictions(clients: dict[str, Any], job: dict[str, Any], name: str, version: str, test: bytes,
                 count: int = 1) -> list[str]:
    sagemaker, s3 = clients["sagemaker"], clients["s3"]
    image = image_uri(REGION, version=version)
    model = f"{name}-m{count}"
    sagemaker.create_model(**model_request(model, image, job["ModelArtifacts"]["S3ModelArtifacts"], ROLE))
    s3.put_object(Bucket=BUCKET, Key=f"test/{model}/test.csv", Body=test)
    sagemaker.create_transform_job(**transform_job_request(TransformConfig(
        job_name=model, model_name=model, input_uri=f"s3://{BUCKET}/test/{model}/",
        output_path=f"s3://{BUCKET}/test-out/{model}/", instance_count=count)))
    transform = wait_transform(sagemaker, model, timeout=300)
    assert transform["TransformJobStatus"] == "Completed", transform.get("FailureReason")
    body: bytes = s3.get_object(Bucket=BUCKET, Key=f"test-out/{model}/test.csv.out")["Body"].read()
    return body.decode().splitlines()


def _test_features() -> bytes:
    features = np.random.default_rng(7).normal(size=(60, FEATURES))
    return "".join(",".join(f"{value:.6f}" for value in row) + "\n" for row in features).encode()


def _hyperparameters(version: str) -> dict[str, str]:
    # XGBoost 0.72 does not know reg:squarederror (its name for it was reg:linear).
    return {**HYPERPARAMETERS, "objective": "reg:linear"} if version == "1" else dict(HYPERPARAMETERS)


def _direct(tmp_path: Path, shards: list[list[bytes]], test: bytes, version: str = "1.7-1",
            hyperparameters: dict[str, str] | None = None) -> list[str]:
    """XGBoost's own distributed training on `shards` (one list of object bodies per worker), in the runtime of
    image `version` (0.72 and 0.90, which ship no tracker, with XGBoost 1.7's); its predictions of `test`."""
    paths = []
    for worker, bodies in enumerate(shards):
        names = []
        for index, body in enumerate(bodies):
            path = tmp_path / f"w{worker}-{index}.csv"
            path.write_bytes(body)
            names.append(str(path))
        paths.append(names)
    (tmp_path / "test.csv").write_bytes(test)
    request = {"shards": paths, "test": str(tmp_path / "test.csv"),
               "hyperparameters": hyperparameters or HYPERPARAMETERS,
               "tracker_python": str(installed_runtime("1.7-1").python)}
    result = run_in_runtime(installed_runtime(version), [str(DIRECT), json.dumps(request)])
    predictions: list[str] = result["predictions"]
    return predictions


@pytest.mark.default_runtimes("1", "1.7-1")
def test_sharded_by_s3_key_trains_on_two_hosts(clients: dict[str, Any], tmp_path: Path, runtime_version: str
                                                ) -> None:
    """The issue's "done when": InstanceCount=2 and ShardedByS3Key over 4 objects run two hosts, each with its
    own log stream and only its own objects; the job completes and is billed for both instances; the model is
    the one XGBoost's own distributed training gives on the same shards."""
    version = runtime_version
    installed_runtime(version)
    name = f"multi-sharded-{version.replace('.', '')}-{time.time_ns() % 10**12}"
    hyperparameters = _hyperparameters(version)
    job, files = _train(clients, name, version, 2, "ShardedByS3Key", 4, hyperparameters)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    assert job["ResourceConfig"]["InstanceCount"] == 2
    assert job["BillableTimeInSeconds"] == 2 * job["TrainingTimeInSeconds"]

    hosts = _by_host(_streams(clients["logs"], TRAINING_LOGS, name), name)
    assert sorted(hosts) == ["algo-1", "algo-2"]
    if version in ("1.7-1", "3.0-5", "3.2-0"):  # the images that log each channel file they read
        # Object i goes to algo-(i mod 2 + 1), in key order.
        assert _read_objects(hosts["algo-1"]) == ["part-0.csv", "part-2.csv"]
        assert _read_objects(hosts["algo-2"]) == ["part-1.csv", "part-3.csv"]
    for messages in hosts.values():
        assert "Distributed node training with 2 hosts: ['algo-1', 'algo-2']" in "\n".join(messages)
        assert any(f"Train matrix has {2 * ROWS_PER_OBJECT} rows" in m for m in messages)
    # Rank 0 prints the evaluation lines (the metrics are the whole cluster's) through the tracker, which the
    # master (algo-1) runs: the container's Python tracker logs them with its logger (1.x); XGBoost's native
    # one (2.0 on) as its console log.
    rounds = [m for m in hosts["algo-1"] if "#011train-rmse:" in m]
    assert len(rounds) == int(hyperparameters["num_round"])
    stamp = r"\[\d\d:\d\d:\d\d\]" if version.startswith("3.") else r"\[\d{4}-\d\d-\d\d:\d\d:\d\d:\d\d:INFO\]"
    assert re.fullmatch(stamp + r" \[0\]#011train-rmse:[0-9.]+", rounds[0]), rounds[0]
    assert not [m for m in hosts["algo-2"] if "#011train-rmse:" in m]

    test = _test_features()
    predictions = _predictions(clients, job, name, version, test)
    reference = _direct(tmp_path, [[files["part-0.csv"], files["part-2.csv"]],
                                   [files["part-1.csv"], files["part-3.csv"]]], test, version, hyperparameters)
    assert predictions == reference


def test_fully_replicated_gives_every_host_every_object(clients: dict[str, Any], tmp_path: Path) -> None:
    name = f"multi-replicated-{time.time_ns() % 10**12}"
    job, files = _train(clients, name, "1.7-1", 2, "FullyReplicated", 2)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    hosts = _by_host(_streams(clients["logs"], TRAINING_LOGS, name), name)
    assert sorted(hosts) == ["algo-1", "algo-2"]
    for messages in hosts.values():
        assert _read_objects(messages) == ["part-0.csv", "part-1.csv"]
    test = _test_features()
    everything = [files["part-0.csv"], files["part-1.csv"]]
    assert _predictions(clients, job, name, "1.7-1", test) == _direct(tmp_path, [everything, everything], test)


def test_a_host_without_data_leaves_the_cluster(clients: dict[str, Any], tmp_path: Path) -> None:
    """Three hosts and two objects: algo-3 gets none, says so and ends; the other two train together, as the
    container's `rabit_run` does."""
    name = f"multi-nodata-{time.time_ns() % 10**12}"
    job, files = _train(clients, name, "1.7-1", 3, "ShardedByS3Key", 2)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    assert job["BillableTimeInSeconds"] == 3 * job["TrainingTimeInSeconds"]
    hosts = _by_host(_streams(clients["logs"], TRAINING_LOGS, name), name)
    assert sorted(hosts) == ["algo-1", "algo-2", "algo-3"]
    idle = "\n".join(hosts["algo-3"])
    assert "WARNING] Host algo-3 does not have training data." in idle
    assert "WARNING] Host algo-3 not being used for distributed training." in idle
    assert _read_objects(hosts["algo-3"]) == []
    test = _test_features()
    assert _predictions(clients, job, name, "1.7-1", test) == _direct(
        tmp_path, [[files["part-0.csv"]], [files["part-1.csv"]]], test)


def test_a_failing_host_fails_the_job_with_its_reason(clients: dict[str, Any]) -> None:
    """algo-2's share holds a hidden file: that host fails as the container does, the job fails with its reason,
    and algo-1 (waiting for it to join the engine) is ended."""
    name = f"multi-fail-{time.time_ns() % 10**12}"
    prefix = f"jobs/{name}"
    started = time.time()
    _upload(clients["s3"], f"{prefix}/train", 1)
    # Listing order: part-0.csv (algo-1), then part-1/.hidden.csv (algo-2).
    clients["s3"].put_object(Bucket=BUCKET, Key=f"{prefix}/train/part-1/.hidden.csv", Body=_csv(_rows(1)))
    request = training_job_request(TrainingConfig(
        job_name=name, image=image_uri(REGION, version="1.7-1"), role=ROLE, output_path=f"s3://{BUCKET}/{prefix}/o",
        train_uri=f"s3://{BUCKET}/{prefix}/train/", hyperparameters=dict(HYPERPARAMETERS), instance_count=2,
        content_type="text/csv"))
    request["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3DataDistributionType"] = "ShardedByS3Key"
    clients["sagemaker"].create_training_job(**request)
    job = wait_training(clients["sagemaker"], name, timeout=120)
    assert job["TrainingJobStatus"] == "Failed"
    assert time.time() - started < 60
    assert job["FailureReason"].startswith("AlgorithmError: ")
    assert 'raise UserError("Hidden file found in the data path! Remove that before training.")' in \
        job["FailureReason"]
    hosts = _by_host(_streams(clients["logs"], TRAINING_LOGS, name), name)
    assert "Hidden file found in the data path!" in "\n".join(hosts["algo-2"])
    assert "Hidden file found in the data path!" not in "\n".join(hosts["algo-1"])
    assert not [m for m in hosts["algo-1"] if "#011train-rmse:" in m]


def _writing_hosts(jobs: Path, name: str) -> set[str]:
    """The hosts of job `name` whose process runs: a host's process holds its log open as stdout (Linux /proc)."""
    logs = {str(jobs / name / host / "job.log"): host for host in ("algo-1", "algo-2")}
    found = set()
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        try:
            targets = [os.readlink(fd) for fd in fd_dir.iterdir()]
        except OSError:
            continue  # gone, or not ours
        found |= {logs[target] for target in targets if target in logs}
    return found


def test_stop_ends_every_host(clients: dict[str, Any]) -> None:
    name = f"multi-stop-{time.time_ns() % 10**12}"
    long = {**HYPERPARAMETERS, "num_round": "100000", "max_depth": "8"}
    _train(clients, name, "1.7-1", 2, "ShardedByS3Key", 2, hyperparameters=long, wait=False)
    sagemaker = clients["sagemaker"]
    deadline = time.time() + 120
    while sagemaker.describe_training_job(TrainingJobName=name)["SecondaryStatus"] != "Training":
        assert time.time() < deadline
        time.sleep(0.05)
    # Both hosts' processes run (the runtime's process server may still be starting when the status says Training).
    while _writing_hosts(clients["jobs"], name) != {"algo-1", "algo-2"}:
        assert time.time() < deadline
        time.sleep(0.05)
    time.sleep(0.5)
    stopped = time.time()
    sagemaker.stop_training_job(TrainingJobName=name)
    job = wait_training(sagemaker, name, timeout=60)
    assert job["TrainingJobStatus"] == "Stopped"
    assert time.time() - stopped < 15
    assert _writing_hosts(clients["jobs"], name) == set()
    assert job["BillableTimeInSeconds"] == 2 * job["TrainingTimeInSeconds"]
    assert sorted(_by_host(_streams(clients["logs"], TRAINING_LOGS, name), name)) == ["algo-1", "algo-2"]


def test_max_runtime_counts_the_job_once(clients: dict[str, Any]) -> None:
    """MaxRuntimeInSeconds is the job's, not each host's: two hosts stop together when it passes."""
    name = f"multi-deadline-{time.time_ns() % 10**12}"
    long = {**HYPERPARAMETERS, "num_round": "100000", "max_depth": "8"}
    started = time.time()
    job, _ = _train(clients, name, "1.7-1", 2, "ShardedByS3Key", 2, hyperparameters=long, max_runtime=4)
    assert job["TrainingJobStatus"] == "Stopped" and job["SecondaryStatus"] == "MaxRuntimeExceeded"
    assert time.time() - started < 40
    assert job["TrainingTimeInSeconds"] in range(4, 10)


def test_transform_on_two_instances_gives_the_same_bytes(clients: dict[str, Any]) -> None:
    """Five input objects split across two instances (each its own log stream): every output object is
    byte-identical to a transform on one instance."""
    name = f"multi-transform-{time.time_ns() % 10**12}"
    job, _ = _train(clients, name, "1.7-1", 1, "FullyReplicated", 2)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    sagemaker, s3 = clients["sagemaker"], clients["s3"]
    image = image_uri(REGION, version="1.7-1")
    sagemaker.create_model(**model_request(name, image, job["ModelArtifacts"]["S3ModelArtifacts"], ROLE))
    rng = np.random.default_rng(11)
    keys = ["a.csv", "b.csv", "c/d.csv", "e.csv", "f.csv"]
    for index, key in enumerate(keys):
        body = "".join(",".join(f"{v:.5f}" for v in row) + "\n" for row in rng.normal(size=(40 + index, FEATURES)))
        s3.put_object(Bucket=BUCKET, Key=f"tin/{name}/{key}", Body=body.encode())
    outputs = {}
    for count in (1, 2):
        transform = f"{name}-t{count}"
        sagemaker.create_transform_job(**transform_job_request(TransformConfig(
            job_name=transform, model_name=name, input_uri=f"s3://{BUCKET}/tin/{name}/",
            output_path=f"s3://{BUCKET}/tout/{transform}/", instance_count=count)))
        described = wait_transform(sagemaker, transform, timeout=300)
        assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
        outputs[count] = {key: s3.get_object(Bucket=BUCKET, Key=f"tout/{transform}/{key}.out")["Body"].read()
                          for key in keys}
        assert len(_streams(clients["logs"], TRANSFORM_LOGS, transform)) == count
        if count == 2:  # each instance had its own directory, and its inputs and outputs are gone with the job
            instances = sorted(path.name for path in (clients["transforms"] / transform).glob("instance-*"))
            assert instances == ["instance-1", "instance-2"]
            assert not list((clients["transforms"] / transform).glob("instance-*/input"))
            # The objects, in key order, dealt out to the instances as ShardedByS3Key deals a channel's.
            shares = [json.loads((clients["transforms"] / transform / instance / "inputs.json").read_text())
                      for instance in instances]
            assert shares == [["a.csv", "c/d.csv", "f.csv"], ["b.csv", "e.csv"]]
    assert outputs[2] == outputs[1]
    assert all(outputs[1].values())


HOSTS_SCRIPT = b'''import json, os
channel = os.environ["SM_CHANNEL_TRAIN"]
print("host=%s hosts=%s files=%s" % (os.environ["SM_CURRENT_HOST"], json.loads(os.environ["SM_HOSTS"]),
                                     sorted(os.listdir(channel))), flush=True)
with open(os.path.join(os.environ["SM_MODEL_DIR"], "host.txt"), "w") as out:
    out.write(os.environ["SM_CURRENT_HOST"])
'''


def test_script_mode_runs_one_script_per_host(clients: dict[str, Any]) -> None:
    """A script-mode job (the SKLearn image) of two instances runs the user's script on each host, each told its
    own SM_CURRENT_HOST and SM_HOSTS by the toolkit, with its own share of a ShardedByS3Key channel; the model
    uploaded is algo-1's."""
    from tests.runtimes.test_script_mode import SKLEARN, sdk_hyperparameters, source_archive

    installed_runtime("sklearn-1.2-1", runs_scripts=True)
    name = f"multi-script-{time.time_ns() % 10**12}"
    s3, sagemaker = clients["s3"], clients["sagemaker"]
    s3.put_object(Bucket=BUCKET, Key=f"{name}/source/sourcedir.tar.gz", Body=source_archive({"train.py": HOSTS_SCRIPT}))
    _upload(s3, f"{name}/train", 3)
    sagemaker.create_training_job(
        TrainingJobName=name, RoleArn=ROLE,
        AlgorithmSpecification={"TrainingImage": SKLEARN, "TrainingInputMode": "File"},
        HyperParameters=sdk_hyperparameters(f"s3://{BUCKET}/{name}/source/sourcedir.tar.gz"),
        InputDataConfig=[{"ChannelName": "train", "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/{name}/train/",
            "S3DataDistributionType": "ShardedByS3Key"}}}],
        OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/{name}/output"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 2, "VolumeSizeInGB": 5},
        StoppingCondition={"MaxRuntimeInSeconds": 600})
    job = wait_training(sagemaker, name, timeout=300)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    assert job["BillableTimeInSeconds"] == 2 * job["TrainingTimeInSeconds"]
    hosts = _by_host(_streams(clients["logs"], TRAINING_LOGS, name), name)
    assert "host=algo-1 hosts=['algo-1', 'algo-2'] files=['part-0.csv', 'part-2.csv']" in hosts["algo-1"]
    assert "host=algo-2 hosts=['algo-1', 'algo-2'] files=['part-1.csv']" in hosts["algo-2"]
    bucket, key = job["ModelArtifacts"]["S3ModelArtifacts"].removeprefix("s3://").split("/", 1)
    with tarfile.open(fileobj=io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read())) as tar:
        member = tar.extractfile("host.txt")
        assert member is not None and member.read() == b"algo-1"
