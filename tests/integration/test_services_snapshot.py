"""A restarted `harness serve` still has its S3 objects and CloudWatch Logs: journaled as they are answered, saved
whole at a clean stop, loaded at start; a failure to journal a change is answered 500, not 200."""

from __future__ import annotations

import os
import resource
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

from backends.emulator.journal import JOURNAL_DIR
from backends.emulator.snapshot import SNAPSHOT_DIR
from tests.conftest import free_port, make_client, serve
from tests.integration.requests import trained_model

LARGE = os.urandom(6 * 1024 * 1024)
NOT_DURABLE = {"HARNESS_DURABLE_SERVICES": "0"}
TRAIN = b"".join(f"{i % 7}.5,{i},{i * 2}\n".encode() for i in range(60))


@contextmanager
def _running(state: Path, crash: bool = False, env: dict[str, str] | None = None
             ) -> Iterator[Callable[..., tuple[Any, Any, Any]]]:
    """`harness serve` on `state`, giving (s3, logs, sagemaker) clients per region; stopped cleanly (SIGTERM, what
    Ctrl-C, `docker stop` and service managers send) or, with `crash`, killed with SIGKILL."""
    port = free_port()
    server = serve(state, port, env=env)
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
        artifact, model = trained_model(sagemaker, s3, "kept", "keep-us")
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


def test_crashes_and_clean_stops_in_turn_keep_every_answered_change(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with _running(state) as clients:
        s3, _, _ = clients()
        s3.create_bucket(Bucket="crash-keep")
        s3.put_object(Bucket="crash-keep", Key="one", Body=b"1")
        s3.put_object(Bucket="crash-keep", Key="gone", Body=b"g")
    assert not list((state / JOURNAL_DIR).iterdir())  # the clean stop's snapshot holds what the journal did
    with _running(state, crash=True) as clients:  # kill -9: the journal since the snapshot keeps this run's changes
        s3, _, _ = clients()
        assert s3.get_object(Bucket="crash-keep", Key="one")["Body"].read() == b"1"
        s3.put_object(Bucket="crash-keep", Key="two", Body=b"2")
        s3.delete_object(Bucket="crash-keep", Key="gone")
        s3.put_object(Bucket="crash-keep", Key="one", Body=b"1 again")
    with _running(state, crash=True) as clients:  # the snapshot, then the journal; and again
        s3, _, _ = clients()
        s3.put_object(Bucket="crash-keep", Key="three", Body=b"3")
    with _running(state) as clients:
        s3, _, _ = clients()
        assert s3.get_object(Bucket="crash-keep", Key="one")["Body"].read() == b"1 again"
        assert s3.get_object(Bucket="crash-keep", Key="two")["Body"].read() == b"2"
        assert s3.get_object(Bucket="crash-keep", Key="three")["Body"].read() == b"3"
        with pytest.raises(ClientError, match="NoSuchKey"):
            s3.get_object(Bucket="crash-keep", Key="gone")
    with _running(state) as clients:  # from the snapshot alone
        s3, _, _ = clients()
        assert sorted(item["Key"] for item in s3.list_objects_v2(Bucket="crash-keep")["Contents"]) == \
            ["one", "three", "two"]


def test_without_durable_services_a_crash_keeps_the_last_clean_stops_data(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with _running(state) as clients:  # durable (the default): journaled, then saved at the clean stop
        s3, _, _ = clients()
        s3.create_bucket(Bucket="crash-keep")
        s3.put_object(Bucket="crash-keep", Key="one", Body=b"1")
    with _running(state, crash=True, env=NOT_DURABLE) as clients:  # kill -9: nothing of this run is saved
        s3, _, _ = clients()
        assert s3.get_object(Bucket="crash-keep", Key="one")["Body"].read() == b"1"
        s3.put_object(Bucket="crash-keep", Key="two", Body=b"2")
    assert not (state / JOURNAL_DIR).exists() or not list((state / JOURNAL_DIR).iterdir())
    with _running(state, env=NOT_DURABLE) as clients:
        s3, _, _ = clients()
        assert s3.get_object(Bucket="crash-keep", Key="one")["Body"].read() == b"1"
        with pytest.raises(ClientError, match="NoSuchKey"):
            s3.get_object(Bucket="crash-keep", Key="two")


def test_a_change_that_cannot_be_journaled_is_answered_500_and_the_journal_goes_on(tmp_path: Path) -> None:
    """A 3 MiB file size limit (what a full disk does to a write) on `harness serve`: a change whose object file
    or record does not fit is answered 500 in the service's own shape, and later changes are journaled and
    survive a kill -9."""
    state = tmp_path / "state"
    port = free_port()
    limit = 3 * 2**20  # below moto's in-memory buffer (5 MiB): only the journal's files reach it
    server = subprocess.Popen(
        [sys.executable, "-m", "harness", "serve", "--port", str(port), "--state-dir", str(state)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit)))
    endpoint = f"http://127.0.0.1:{port}"
    try:
        s3, logs = make_client("s3", endpoint), make_client("logs", endpoint)
        _wait_answering(s3)
        s3.create_bucket(Bucket="limited")
        logs.create_log_group(logGroupName="/limited")
        logs.create_log_stream(logGroupName="/limited", logStreamName="s")
        first = os.urandom(2 * 2**20)
        s3.put_object(Bucket="limited", Key="first", Body=first)
        with pytest.raises(ClientError) as excinfo:  # its journal file cannot hold it
            s3.put_object(Bucket="limited", Key="second", Body=os.urandom(4 * 2**20))
        assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
        assert excinfo.value.response["Error"] == {
            "Code": "InternalError", "Message": "We encountered an internal error. Please try again."}
        answered: list[str] = []
        for call in range(8):  # ~1 MB a call: the records file reaches the limit
            messages = [f"{call}-{index}-" + "x" * 200_000 for index in range(5)]
            try:
                logs.put_log_events(logGroupName="/limited", logStreamName="s", logEvents=[
                    {"timestamp": int(time.time() * 1000), "message": message} for message in messages])
            except ClientError as exc:
                assert exc.response["ResponseMetadata"]["HTTPStatusCode"] == 500
                assert exc.response["Error"]["Code"] == "InternalFailure"
                break
            answered += messages
        else:
            raise AssertionError("PutLogEvents past the file size limit was answered 200")
        with pytest.raises(ClientError, match="NoSuchBucket"):  # bad input: answered as ever
            s3.put_object(Bucket="no-such-bucket-here", Key="k", Body=b"x")
        s3.put_object(Bucket="limited", Key="after", Body=b"journaled after the failures")
        now = int(time.time() * 1000)
        logs.put_log_events(logGroupName="/limited", logStreamName="s", logEvents=[{"timestamp": now, "message": "ok"}])
        answered.append("ok")
    finally:
        server.kill()
        server.wait(30)
        assert server.stderr is not None
        stderr = server.stderr.read().decode()
        assert stderr.count("could not write 1 S3/CloudWatch Logs change(s) to the journal") >= 2  # logged

    with _running(state) as clients:
        s3, logs, _ = clients()
        assert s3.get_object(Bucket="limited", Key="first")["Body"].read() == first
        assert s3.get_object(Bucket="limited", Key="after")["Body"].read() == b"journaled after the failures"
        events = logs.get_log_events(logGroupName="/limited", logStreamName="s", startFromHead=True)["events"]
        assert [event["message"] for event in events] == answered


def _wait_answering(s3: Any) -> None:
    deadline = time.time() + 30
    while True:
        try:
            s3.list_buckets()
            return
        except Exception:
            assert time.time() < deadline, "harness serve did not answer"
            time.sleep(0.1)


def test_an_unreadable_snapshot_stops_the_start_with_one_line(tmp_path: Path) -> None:
    state = tmp_path / "state"
    (state / SNAPSHOT_DIR).mkdir(parents=True)
    (state / SNAPSHOT_DIR / "manifest.json").write_text("{not json")
    result = subprocess.run([sys.executable, "-m", "harness", "serve", "--port", str(free_port()), "--state-dir",
                             str(state)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "Error: Could not load the saved S3 and CloudWatch Logs data from" in result.stderr
    assert "Move those directories away to start without it." in result.stderr
    assert "Traceback" not in result.stderr
