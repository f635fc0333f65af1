"""A job's workspace, laid out like the `/opt/ml` contract of a SageMaker container."""

from __future__ import annotations

import json
import shutil
from pathlib import Path, PurePosixPath
from typing import Any


class UnsafePath(ValueError):
    """A relative path (from an S3 key or an archive member) that would leave its directory."""


def safe_join(base: Path, relative: str) -> Path:
    """`base / relative`, refusing absolute paths and `..` so no key or member escapes `base`."""
    parts = PurePosixPath(relative.replace("\\", "/")).parts
    if not parts or relative.startswith("/") or any(part in ("..", "") for part in parts):
        raise UnsafePath(f"refusing path {relative!r}: it is empty, absolute or climbs out with '..'")
    return base.joinpath(*parts)


class TrainingWorkspace:
    """`opt_ml/` for one training job, plus the job's own log file beside it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.opt_ml = root / "opt_ml"
        self.config = self.opt_ml / "input" / "config"
        self.data = self.opt_ml / "input" / "data"
        self.model = self.opt_ml / "model"
        self.output = self.opt_ml / "output"
        self.failure = self.output / "failure"
        self.log = root / "job.log"

    def create(self) -> None:
        if self.root.exists():
            shutil.rmtree(self.root)
        for directory in (self.config, self.data, self.model, self.output / "data"):
            directory.mkdir(parents=True)
        self.log.touch()

    def channel(self, name: str) -> Path:
        return safe_join(self.data, name)

    def write_config(self, job: dict[str, Any], current_host: str = "algo-1", hosts: list[str] | None = None
                     ) -> None:
        """The three files SageMaker writes before the container starts, for host `current_host` of `hosts`."""
        hyperparameters = {k: str(v) for k, v in job.get("HyperParameters", {}).items()}
        input_mode = job["AlgorithmSpecification"].get("TrainingInputMode", "File")
        channels = {}
        for channel in job.get("InputDataConfig", []):
            source = channel["DataSource"].get("S3DataSource", {})
            entry = {
                "TrainingInputMode": channel.get("InputMode", input_mode),
                "S3DistributionType": source.get("S3DataDistributionType", "FullyReplicated"),
                "RecordWrapperType": channel.get("RecordWrapperType", "None"),
            }
            if "ContentType" in channel:
                entry["ContentType"] = channel["ContentType"]
            if "CompressionType" in channel:
                entry["CompressionType"] = channel["CompressionType"]
            channels[channel["ChannelName"]] = entry
        resource = {"current_host": current_host, "current_instance_type": job["ResourceConfig"].get("InstanceType"),
                    "hosts": list(hosts or [current_host]), "network_interface_name": "eth0"}
        _write_json(self.config / "hyperparameters.json", hyperparameters)
        _write_json(self.config / "inputdataconfig.json", channels)
        _write_json(self.config / "resourceconfig.json", resource)

    def failure_message(self) -> str | None:
        if not self.failure.exists():
            return None
        return self.failure.read_text(errors="replace")

    def remove_inputs(self) -> None:
        """Input data can be large; the config, failure file and log stay for inspection."""
        shutil.rmtree(self.data, ignore_errors=True)


def _write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value))
