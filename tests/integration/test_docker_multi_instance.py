"""An image of one's own with InstanceCount 2: one container per host, each on its own /opt/ml with its own
resourceconfig.json, each its own log stream (through tests/byoc/fake_docker.py, as test_docker_runner.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from backends.emulator.server import Emulator
from tests.conftest import TRAINING_LOGS, make_client, wait_training
from tests.integration.test_docker_runner import FAKE_IMAGE, emu, fake_docker, runs, training_request

__all__ = ["emu", "fake_docker"]  # the fixtures, shared with test_docker_runner.py


def test_each_host_runs_its_own_container(emu: Emulator, fake_docker: Path) -> None:
    sagemaker = make_client("sagemaker", emu.endpoint_url)
    logs = make_client("logs", emu.endpoint_url)
    name = "byoc-two-hosts"
    request = training_request(name, FAKE_IMAGE)
    request["ResourceConfig"]["InstanceCount"] = 2
    sagemaker.create_training_job(**request)
    job = wait_training(sagemaker, name, timeout=120)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    assert job["BillableTimeInSeconds"] == 2 * job["TrainingTimeInSeconds"]
    mine = [run for run in runs(fake_docker) if run["env"].get("TRAINING_JOB_NAME") == name]
    assert len(mine) == 2
    configs: list[dict[str, Any]] = []
    for run in mine:
        opt_ml = next(volume.split(":")[0] for volume in run["options"]["--volume"] if ":/opt/ml" in volume)
        configs.append(json.loads((Path(opt_ml) / "input" / "config" / "resourceconfig.json").read_text()))
    assert sorted((config["current_host"], tuple(config["hosts"])) for config in configs) == [
        ("algo-1", ("algo-1", "algo-2")), ("algo-2", ("algo-1", "algo-2"))]
    streams = logs.describe_log_streams(logGroupName=TRAINING_LOGS, logStreamNamePrefix=f"{name}/")["logStreams"]
    assert sorted(stream["logStreamName"].rsplit("-", 1)[0] for stream in streams) == [
        f"{name}/algo-1", f"{name}/algo-2"]
