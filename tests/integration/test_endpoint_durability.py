"""Endpoints outlive `harness serve`: a clean restart and a kill -9 both bring them back InService with their
model servers started again; no model server outlives the emulator; deleting an endpoint stops its servers."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd

from harness.requests import model_request
from tests.conftest import (
    ROLE,
    XGB_17,
    boston_frames,
    free_port,
    make_client,
    process_alive,
    serve,
    upload_csv,
    wait_training,
)
from tests.integration.requests import training_request

FAST_WAIT = {"Delay": 0.2, "MaxAttempts": 300}
BUCKET = "durable-endpoints"


def _descendants(pid: int) -> set[int]:
    """Every process below `pid` (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found: set[int] = set()
    pending = [pid]
    while pending:
        for child in children.get(pending.pop(), []):
            if child not in found:
                found.add(child)
                pending.append(child)
    return found


def _gone(pids: set[int], timeout: float = 20) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if not any(process_alive(pid) for pid in pids):
            return True
        time.sleep(0.1)
    return False


def _deploy(url: str, name: str, train_uri: str) -> None:
    sagemaker = make_client("sagemaker", url)
    sagemaker.create_training_job(**training_request(name, BUCKET, train_uri, None, image=XGB_17,
                                                     hyperparameters={"num_round": "15", "max_depth": "3"}))
    job = wait_training(sagemaker, name)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    sagemaker.create_model(**model_request(name, XGB_17, job["ModelArtifacts"]["S3ModelArtifacts"], ROLE))
    sagemaker.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": name, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}])
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name)
    sagemaker.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig=FAST_WAIT)


def _invoke(url: str, name: str, body: str) -> str:
    answer: str = make_client("sagemaker-runtime", url).invoke_endpoint(
        EndpointName=name, ContentType="text/csv", Body=body)["Body"].read().decode()
    return answer


def _stop(process: subprocess.Popen[bytes], how: int) -> None:
    os.kill(process.pid, how)
    process.wait(60)


def test_endpoints_survive_restarts_and_kill_9(tmp_path: Path) -> None:
    state = tmp_path / "state"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    features, label = boston_frames()
    rows = features.head(20).to_csv(header=False, index=False)
    process = serve(state, port)
    try:
        make_client("s3", url).create_bucket(Bucket=BUCKET)
        train = upload_csv(make_client("s3", url), BUCKET, "train.csv", pd.concat([label, features], axis=1))
        _deploy(url, "before-restart", train)
        expected = _invoke(url, "before-restart", rows)
        servers = _descendants(process.pid)
        assert servers, "the endpoint's model server runs below harness serve"

        _stop(process, signal.SIGTERM)  # a clean stop: every model server ends with the emulator
        assert _gone(servers), f"left running after a clean stop: {sorted(p for p in servers if process_alive(p))}"

        process = serve(state, port)
        sagemaker = make_client("sagemaker", url)
        assert sagemaker.describe_endpoint(EndpointName="before-restart")["EndpointStatus"] == "InService"
        assert _invoke(url, "before-restart", rows) == expected  # waits for its servers to be up again
        # Deployed after the last clean stop: its S3 objects survive the crash in the journal, and the endpoint
        # also keeps its model on disk, as an instance keeps it on its volume.
        _deploy(url, "after-restart", train)
        expected_after = _invoke(url, "after-restart", rows)
        servers = _descendants(process.pid)

        _stop(process, signal.SIGKILL)
        assert _gone(servers), f"left running after kill -9: {sorted(p for p in servers if process_alive(p))}"

        process = serve(state, port)
        for name, answer in (("before-restart", expected), ("after-restart", expected_after)):
            assert sagemaker.describe_endpoint(EndpointName=name)["EndpointStatus"] == "InService"
            assert _invoke(url, name, rows) == answer

        before = _descendants(process.pid)
        sagemaker.delete_endpoint(EndpointName="after-restart")
        sagemaker.get_waiter("endpoint_deleted").wait(EndpointName="after-restart", WaiterConfig=FAST_WAIT)
        stopped = before - _descendants(process.pid)
        assert stopped and _gone(stopped), "deleting an endpoint stops its model server"
        assert _invoke(url, "before-restart", rows) == expected
    finally:
        if process.poll() is None:
            _stop(process, signal.SIGTERM)
