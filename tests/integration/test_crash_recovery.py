"""kill -9 of a running `harness serve`: the restarted emulator keeps every job and fails the interrupted one, and
keeps every S3 object, deletion and log event it answered, a Completed job's model artifact and logs with them."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from botocore.exceptions import ClientError

from tests.conftest import TRAINING_LOGS, XGB_17, free_port, job_log, make_client, serve, upload_csv, wait_training
from tests.integration.requests import trained_model, training_request

TRAIN = b"".join(f"{i % 7}.5,{i},{i * 2}\n".encode() for i in range(60))


def test_kill_9_loses_no_job_and_fails_the_interrupted_one(tmp_path: Path) -> None:
    state = tmp_path / "state"
    port = free_port()
    server = serve(state, port)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        sagemaker: Any = make_client("sagemaker", endpoint)
        s3: Any = make_client("s3", endpoint)
        s3.create_bucket(Bucket="crash-bucket")
        frame = pd.DataFrame(np.random.default_rng(1).normal(size=(20000, 20)))
        uri = upload_csv(s3, "crash-bucket", "data/train.csv", frame)
        sagemaker.create_training_job(**training_request(  # an image the emulator cannot run: fails at once
            "finished-before", "crash-bucket", uri, image="123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1"))
        wait_training(sagemaker, "finished-before")
        sagemaker.create_training_job(**training_request(
            "interrupted", "crash-bucket", uri, image=XGB_17,
            hyperparameters={"num_round": "100000", "max_depth": "10"}))
        deadline = time.time() + 30
        while sagemaker.describe_training_job(TrainingJobName="interrupted")["SecondaryStatus"] != "Training":
            assert time.time() < deadline
            time.sleep(0.05)
    finally:
        os.kill(server.pid, signal.SIGKILL)
        server.wait()
    # The job's process dies with the emulator instead of training on for nobody.
    job_dir = state / "jobs" / "training" / "us-east-1" / "interrupted"
    # Generous: on a machine busy with disk writes a killed process can take seconds to leave the kernel.
    deadline = time.time() + 60
    while _descendants_running(job_dir) and time.time() < deadline:
        time.sleep(0.1)
    assert [_describe(pid) for pid in _descendants_running(job_dir)] == []

    restarted = serve(state, port)
    try:
        sagemaker = make_client("sagemaker", endpoint)
        names = {s["TrainingJobName"] for s in sagemaker.list_training_jobs()["TrainingJobSummaries"]}
        assert names == {"finished-before", "interrupted"}
        job = sagemaker.describe_training_job(TrainingJobName="interrupted")
        assert job["TrainingJobStatus"] == "Failed"
        assert job["FailureReason"] == "InternalServerError: We encountered an internal error. Please try again."
        assert sagemaker.describe_training_job(TrainingJobName="finished-before")["TrainingJobStatus"] == "Failed"
    finally:
        restarted.terminate()
        restarted.wait(30)


# The default journal (handed to the operating system before the answer) and `--journal-fsync` (flushed too).
@pytest.mark.parametrize("fsync", ["0", "1"])
def test_what_was_answered_before_a_kill_9_is_there_after_the_restart(tmp_path: Path, fsync: str) -> None:
    state = tmp_path / "state"
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    large = tmp_path / "large.bin"
    large.write_bytes(os.urandom(20 * 2**20))  # a multipart upload (boto3: over 8 MiB)
    server = serve(state, port, env={"HARNESS_JOURNAL_FSYNC": fsync})
    try:
        s3: Any = make_client("s3", endpoint)
        logs: Any = make_client("logs", endpoint)
        sagemaker: Any = make_client("sagemaker", endpoint)
        s3.create_bucket(Bucket="answered")
        s3.put_object(Bucket="answered", Key="train/train.csv", Body=TRAIN)
        artifact, model = trained_model(sagemaker, s3, "answered-job", "answered")
        messages = job_log(logs, TRAINING_LOGS, "answered-job")
        assert any("#011train-rmse:" in message for message in messages)
        s3.upload_file(str(large), "answered", "large.bin")
        s3.put_object(Bucket="answered", Key="doomed", Body=b"deleted before the kill")
        s3.delete_object(Bucket="answered", Key="doomed")
        s3.copy_object(Bucket="answered", Key="copy.csv", CopySource={"Bucket": "answered", "Key": "train/train.csv"})
        logs.create_log_group(logGroupName="/my/app")
        logs.create_log_stream(logGroupName="/my/app", logStreamName="s")
        now = int(time.time() * 1000)
        logs.put_log_events(logGroupName="/my/app", logStreamName="s",
                            logEvents=[{"timestamp": now + i, "message": f"line {i}"} for i in range(3)])
        last = os.urandom(100_000)
        s3.put_object(Bucket="answered", Key="last", Body=last, ContentType="application/x-last",
                      Metadata={"answered": "yes"})
    finally:
        os.kill(server.pid, signal.SIGKILL)  # right after the last answer
        server.wait()

    restarted = serve(state, port)
    try:
        s3 = make_client("s3", endpoint)
        logs = make_client("logs", endpoint)
        sagemaker = make_client("sagemaker", endpoint)
        answered = s3.get_object(Bucket="answered", Key="last")
        assert answered["Body"].read() == last
        assert answered["ContentType"] == "application/x-last" and answered["Metadata"] == {"answered": "yes"}
        assert s3.get_object(Bucket="answered", Key="large.bin")["Body"].read() == large.read_bytes()
        assert s3.get_object(Bucket="answered", Key="copy.csv")["Body"].read() == TRAIN
        try:
            s3.head_object(Bucket="answered", Key="doomed")
            raise AssertionError("an answered DeleteObject came undone")
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "404"
        events = logs.get_log_events(logGroupName="/my/app", logStreamName="s", startFromHead=True)["events"]
        assert [(e["timestamp"], e["message"]) for e in events] == [(now + i, f"line {i}") for i in range(3)]
        # The Completed job: its record, its model artifact and its log, together again.
        job = sagemaker.describe_training_job(TrainingJobName="answered-job")
        assert job["TrainingJobStatus"] == "Completed"
        assert s3.get_object(Bucket="answered", Key=artifact.split("/", 3)[3])["Body"].read() == model
        assert job_log(logs, TRAINING_LOGS, "answered-job") == messages
    finally:
        restarted.terminate()
        restarted.wait(30)


def _describe(pid: int) -> str:
    """A process as `pid state (parent pid) command line`, for the assertion's message."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return f"{pid} (gone)"
    return f"{pid} {fields[0]} (parent {fields[1]}) {command}"


def _descendants_running(job_log_dir: Path) -> list[int]:
    """Processes still writing to a job's log (a job process that outlived its emulator)."""
    alive = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            targets = [os.readlink(fd) for fd in (proc / "fd").iterdir()]
        except OSError:
            continue
        if any(target.startswith(str(job_log_dir)) for target in targets):
            alive.append(int(proc.name))
    return alive
