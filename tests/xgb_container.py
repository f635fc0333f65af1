"""The XGBoost image entry point (`container.py`) for the tests: an /opt/ml layout as SageMaker SDK local mode
writes it, and `serve` started as a process on a loopback port."""

from __future__ import annotations

import http.client
import json
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

ENTRY_MODULE = "backends.emulator.algorithms.xgboost.container"
# What SDK local mode writes into resourceconfig.json (sagemaker/local/image.py).
LOCAL_MODE_RESOURCES = {"current_host": "algo-1-abcde", "hosts": ["algo-1-abcde"],
                        "network_interface_name": "eth0", "current_instance_type": "local"}
FEATURES = 4


def regression_rows(rows: int, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(rows, FEATURES))
    labels = features @ np.array([1.5, -2.0, 0.5, 0.25]) + rng.normal(scale=0.1, size=rows)
    return features, labels


def csv_payload(features: np.ndarray) -> bytes:
    return "".join(",".join(repr(float(v)) for v in row) + "\n" for row in features).encode()


def libsvm_payload(features: np.ndarray) -> bytes:
    lines = (" ".join(["0"] + [f"{i}:{float(v)!r}" for i, v in enumerate(row) if v > 0]) for row in features)
    return "".join(line + "\n" for line in lines).encode()


def write_local_mode_layout(opt_ml: Path, hyperparameters: Mapping[str, str], rows: int = 200) -> None:
    """/opt/ml as SDK local mode leaves it for `train`: a csv train channel, inputdataconfig.json without
    S3DistributionType, hyperparameters.json with the request's strings, local mode's resourceconfig.json."""
    config = opt_ml / "input" / "config"
    train = opt_ml / "input" / "data" / "train"
    config.mkdir(parents=True)
    train.mkdir(parents=True)
    (opt_ml / "model").mkdir()
    (opt_ml / "output").mkdir()
    features, labels = regression_rows(rows)
    np.savetxt(train / "train.csv", np.column_stack([labels, features]), delimiter=",", fmt="%.6f")
    (config / "inputdataconfig.json").write_text(
        json.dumps({"train": {"TrainingInputMode": "File", "ContentType": "text/csv"}}))
    (config / "hyperparameters.json").write_text(json.dumps(dict(hyperparameters)))
    (config / "resourceconfig.json").write_text(json.dumps(LOCAL_MODE_RESOURCES))


class Server:
    """`serve` running as a process, answering on 127.0.0.1:`port`."""

    def __init__(self, process: subprocess.Popen[bytes], port: int) -> None:
        self.process = process
        self.port = port

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: Mapping[str, str] | None = None) -> tuple[int, bytes, dict[str, str]]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request(method, path, body=body, headers=dict(headers or {}))
            response = connection.getresponse()
            return response.status, response.read(), {k.lower(): v for k, v in response.getheaders()}
        finally:
            connection.close()

    def invoke(self, payload: bytes, content_type: str | None,
               accept: str | None = None) -> tuple[int, bytes, dict[str, str]]:
        headers = {name: value for name, value in (("Content-Type", content_type), ("Accept", accept)) if value}
        return self.request("POST", "/invocations", payload, headers)

    def stop(self) -> tuple[bytes, bytes]:
        """Stop it as `docker stop` does (SIGTERM); its stdout and stderr."""
        if self.process.poll() is None:
            self.process.terminate()
        try:
            out, err = self.process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, err = self.process.communicate()
        return out, err


def start_server(command: Sequence[str], env: Mapping[str, str], port: int, cwd: Path | None = None,
                 timeout: float = 60) -> Server:
    """Start `command` (a `serve`) and wait until `GET /ping` answers 200; fails with its output if it exits."""
    process = subprocess.Popen(list(command), env=dict(env), cwd=cwd, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    server = Server(process, port)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            out, err = server.stop()
            raise AssertionError(f"serve exited with {process.returncode}:\n{out.decode()}\n{err.decode()[-4000:]}")
        try:
            if server.request("GET", "/ping")[0] == 200:
                return server
        except OSError:
            pass
        time.sleep(0.2)
    out, err = server.stop()
    raise AssertionError(f"serve did not answer /ping within {timeout} s:\n{out.decode()}\n{err.decode()[-4000:]}")
