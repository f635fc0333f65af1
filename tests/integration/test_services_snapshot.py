"""A restarted `harness serve` still has its S3 objects and CloudWatch Logs: saved at a clean stop, loaded at start."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from backends.emulator.snapshot import SNAPSHOT_DIR
from tests.conftest import XGB_17, free_port, make_client, serve, wait_training
from tests.integration.requests import training_request

LARGE = os.urandom(6 * 1024 * 1024)
TRAIN = b"".join(f"{i % 7}.5,{i},{i * 2}\n".encode() for i in range(60))


def _stop(server: subprocess.Popen[bytes]) -> None:
    server.send_signal(signal.SIGTERM)  # what Ctrl-C, `docker stop` and service managers send
    assert server.wait(60) == 0


def _clients(port: int, region: str = "us-east-1") -> tuple[Any, Any, Any]:
    endpoint = f"http://127.0.0.1:{port}"
    return (make_client("s3", endpoint, region), make_client("logs", endpoint, region),
            make_client("sagemaker", endpoint, region))


def test_objects_logs_and_model_artifacts_survive_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "state"
    port = free_port()
    server = serve(state, port)
    try:
        s3, logs, sagemaker = _clients(port)
        s3.create_bucket(Bucket="keep-us")
        s3.put_object(Bucket="keep-us", Key="dir/sub/small.json", Body=b'{"a": 1}', ContentType="application/json",
                      Metadata={"owner": "tests"})
        s3.put_object(Bucket="keep-us", Key="large.bin", Body=LARGE)
        s3.put_object(Bucket="keep-us", Key="train/train.csv", Body=TRAIN)
        europe, _, _ = _clients(port, "eu-west-1")
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
    finally:
        _stop(server)
    assert (state / SNAPSHOT_DIR / "manifest.json").exists()

    port = free_port()
    server = serve(state, port)
    try:
        s3, logs, sagemaker = _clients(port)
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
    finally:
        _stop(server)


def test_a_crash_keeps_the_last_clean_stops_data(tmp_path: Path) -> None:
    state = tmp_path / "state"
    port = free_port()
    server = serve(state, port)
    try:
        s3, _, _ = _clients(port)
        s3.create_bucket(Bucket="crash-keep")
        s3.put_object(Bucket="crash-keep", Key="one", Body=b"1")
    finally:
        _stop(server)
    port = free_port()
    server = serve(state, port)
    try:
        s3, _, _ = _clients(port)
        assert s3.get_object(Bucket="crash-keep", Key="one")["Body"].read() == b"1"
        s3.put_object(Bucket="crash-keep", Key="two", Body=b"2")
    finally:
        server.kill()  # kill -9: nothing is saved
        server.wait()
    port = free_port()
    server = serve(state, port)
    try:
        s3, _, _ = _clients(port)
        assert s3.get_object(Bucket="crash-keep", Key="one")["Body"].read() == b"1"
        with pytest.raises(ClientError, match="NoSuchKey"):
            s3.get_object(Bucket="crash-keep", Key="two")
    finally:
        _stop(server)


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
