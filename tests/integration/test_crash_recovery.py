"""kill -9 of a running `harness serve`: the restarted emulator keeps every job and fails the interrupted one."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tests.conftest import XGB_17, free_port, make_client, serve, upload_csv, wait_training
from tests.integration.requests import training_request


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
