"""A restarted `harness serve` still has its S3 objects and CloudWatch Logs: saved at a clean stop, loaded at start."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from backends.emulator.snapshot import SNAPSHOT_DIR
from tests.conftest import XGB_17, free_port, make_client, serve, wait_training
from tests.integration.requests import training_request

LARGE = os.urandom(6 * 1024 * 1024)
TRAIN = b"".join(f"{i % 7}.5,{i},{i * 2}\n".encode() for i in range(60))


@contextmanager
def _running(state: Path, crash: bool = False) -> Iterator[Callable[..., tuple[Any, Any, Any]]]:
    """`harness serve` on `state`, giving (s3, logs, sagemaker) clients per region; stopped cleanly (SIGTERM, what
    Ctrl-C, `docker stop` and service managers send) or, with `crash`, killed with SIGKILL."""
    port = free_port()
    server = serve(state, port)
    endpoint = f"http://127.0.0.1:{port}"

    def clients(region: str = "us-east-1") -> tuple[Any, Any, Any]:
        return (make_client("s3", endpoint, region), make_client("logs", endpoint, region),
                make_client("sagemaker", endpoint, region))

    try:
        yield clients
    finally:
        server.send_signal(signal.SIGKILL if crash else signal.SIGTERM)
        code = server.wait(60)
        assert code == (-signal.SIGKILL if crash else 0)


def test_objects_logs_and_model_artifacts_survive_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with _running(state) as clients:
        s3, logs, sagemaker = clients()
        s3.create_bucket(Bucket="keep-us")
        s3.put_object(Bucket="keep-us", Key="dir/sub/small.json", Body=b'{"a": 1}', ContentType="application/json",
                      Metadata={"owner": "tests"})
        s3.put_object(Bucket="keep-us", Key="large.bin", Body=LARGE)
        s3.put_object(Bucket="keep-us", Key="train/train.csv", Body=TRAIN)
        europe, _, _ = clients("eu-west-1")
        europe.create_bucket(Bucket="keep-eu", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        europe.put_object(Bucket="keep-eu", Key="empty", Body=b"")
        logs.create_log_group(logGroupName="/my/app")
        logs.create_log_stream(logGroupName="/my/app", logStreamName="s")
        now = int(time.time() * 1000)
        logs.put_log_events(logGroupName="/my/app", logStreamName="s",
                            logEvents=[{"timestamp": now + i, "message": f"line {i}"} for i in range(3)])
        sagemaker.create_training_job(**training_request("kept", "keep-us", "s3://keep-us/train/train.csv",
                                                         image=XGB_17, hyperparameters={"num_round": "3"}))
        job = wait_training(sagemaker, "kept")
        assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
        artifact = job["ModelArtifacts"]["S3ModelArtifacts"]
        model = s3.get_object(Bucket="keep-us", Key=artifact.split("/", 3)[3])["Body"].read()
    assert (state / SNAPSHOT_DIR / "manifest.json").exists()

    with _running(state) as clients:
        s3, logs, sagemaker = clients()
        small = s3.get_object(Bucket="keep-us", Key="dir/sub/small.json")
        assert small["Body"].read() == b'{"a": 1}'
        assert small["ContentType"] == "application/json" and small["Metadata"] == {"owner": "tests"}
        assert s3.get_object(Bucket="keep-us", Key="large.bin")["Body"].read() == LARGE
        assert s3.get_bucket_location(Bucket="keep-eu")["LocationConstraint"] == "eu-west-1"
        assert s3.get_object(Bucket="keep-eu", Key="empty")["Body"].read() == b""
        events = logs.get_log_events(logGroupName="/my/app", logStreamName="s", startFromHead=True)["events"]
        assert [(e["timestamp"], e["message"]) for e in events] == [(now + i, f"line {i}") for i in range(3)]
        # The job's record, its model artifact and its log, together again.
        assert sagemaker.describe_training_job(TrainingJobName="kept")["ModelArtifacts"]["S3ModelArtifacts"] == \
            artifact
        assert s3.get_object(Bucket="keep-us", Key=artifact.split("/", 3)[3])["Body"].read() == model
        stream = logs.describe_log_streams(logGroupName="/aws/sagemaker/TrainingJobs",
                                           logStreamNamePrefix="kept/")["logStreams"][0]["logStreamName"]
        messages = [e["message"] for e in logs.get_log_events(
            logGroupName="/aws/sagemaker/TrainingJobs", logStreamName=stream, startFromHead=True)["events"]]
        assert any("#011train-rmse:" in m for m in messages)


def test_a_crash_keeps_the_last_clean_stops_data(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with _running(state) as clients:
        s3, _, _ = clients()
        s3.create_bucket(Bucket="crash-keep")
        s3.put_object(Bucket="crash-keep", Key="one", Body=b"1")
    with _running(state, crash=True) as clients:  # kill -9: nothing of this run is saved
        s3, _, _ = clients()
        assert s3.get_object(Bucket="crash-keep", Key="one")["Body"].read() == b"1"
        s3.put_object(Bucket="crash-keep", Key="two", Body=b"2")
    with _running(state) as clients:
        s3, _, _ = clients()
        assert s3.get_object(Bucket="crash-keep", Key="one")["Body"].read() == b"1"
        with pytest.raises(ClientError, match="NoSuchKey"):
            s3.get_object(Bucket="crash-keep", Key="two")


def test_an_unreadable_snapshot_stops_the_start_with_one_line(tmp_path: Path) -> None:
    state = tmp_path / "state"
    (state / SNAPSHOT_DIR).mkdir(parents=True)
    (state / SNAPSHOT_DIR / "manifest.json").write_text("{not json")
    result = subprocess.run([sys.executable, "-m", "harness", "serve", "--port", str(free_port()), "--state-dir",
                             str(state)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "Error: Could not load the saved S3 and CloudWatch Logs data from" in result.stderr
    assert "Move that directory away to start without it." in result.stderr
    assert "Traceback" not in result.stderr
