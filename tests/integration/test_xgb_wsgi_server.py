"""`container.py serve`: the real model server (gunicorn) on a loopback port, answering byte for byte what
`serving.predict` answers in process (and so what the emulator's in-process batch transform writes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import xgboost as xgb

from backends.emulator.algorithms.xgboost.model_files import serialize
from backends.emulator.algorithms.xgboost.serving import LoadedModel, load_model, predict
from backends.emulator.algorithms.xgboost.versions import VERSIONS
from backends.emulator.algorithms.xgboost.wsgi import content_type_header
from tests.conftest import free_port
from tests.xgb_container import ENTRY_MODULE, Server, csv_payload, libsvm_payload, regression_rows, start_server

ROOT = Path(__file__).resolve().parents[2]
VERSION = "1.7-1"
FEATURES, LABELS = regression_rows(300, seed=5)
PAYLOADS = {
    "text/csv": csv_payload(FEATURES[:50]),
    "text/libsvm": libsvm_payload(FEATURES[:50]),
    "text/x-libsvm": libsvm_payload(FEATURES[50:60]),
}


def serve_env(model_dir: Path, port: int, **extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "HARNESS_IMAGE_VERSION": VERSION,
            "HARNESS_MODEL_DIR": str(model_dir), "HARNESS_BIND_HOST": "127.0.0.1",
            "SAGEMAKER_BIND_TO_PORT": str(port), **extra}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model directory as SDK local mode leaves it: the extracted model beside model.tar.gz."""
    directory = tmp_path_factory.mktemp("model")
    booster = xgb.train({"objective": "reg:squarederror", "max_depth": 4, "nthread": 1},
                        xgb.DMatrix(FEATURES, label=LABELS), 10)
    (directory / "xgboost-model").write_bytes(serialize(booster, VERSIONS[VERSION]))
    with tarfile.open(directory / "model.tar.gz", "w:gz") as archive:
        archive.add(directory / "xgboost-model", arcname="xgboost-model")
    return directory


@pytest.fixture(scope="module")
def model(model_dir: Path) -> LoadedModel:
    return load_model(model_dir, VERSION)


def _server(model_dir: Path, **extra: str) -> Iterator[Server]:
    port = free_port()
    server = start_server([sys.executable, "-m", ENTRY_MODULE, "serve"], serve_env(model_dir, port, **extra), port)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def realtime(model_dir: Path) -> Iterator[Server]:
    yield from _server(model_dir, SAGEMAKER_MODEL_SERVER_WORKERS="2")


@pytest.fixture(scope="module")
def batch(model_dir: Path) -> Iterator[Server]:
    # SDK local mode's transform starts the container with SAGEMAKER_BATCH=True.
    yield from _server(model_dir, SAGEMAKER_MODEL_SERVER_WORKERS="1", SAGEMAKER_BATCH="True")


def test_ping_and_execution_parameters(realtime: Server) -> None:
    status, body, _ = realtime.request("GET", "/ping")
    assert (status, body) == (200, b"")
    status, body, headers = realtime.request("GET", "/execution-parameters")
    assert (status, headers["content-type"]) == (200, "application/json")
    assert json.loads(body) == {"MaxConcurrentTransforms": os.cpu_count(), "BatchStrategy": "MULTI_RECORD",
                                "MaxPayloadInMB": 6}


@pytest.mark.parametrize("content_type", sorted(PAYLOADS))
@pytest.mark.parametrize("accept", [None, "text/csv", "application/json"])
def test_realtime_invocations_equal_serving(realtime: Server, model: LoadedModel, content_type: str,
                                            accept: str | None) -> None:
    payload = PAYLOADS[content_type]
    status, body, headers = realtime.invoke(payload, content_type, accept)
    expected = predict(model, payload, content_type, accept, batch=False)
    assert (status, body) == (expected.status, expected.body) and status == 200
    assert headers["content-type"] == content_type_header(expected.mimetype)


@pytest.mark.parametrize("content_type", sorted(PAYLOADS))
def test_batch_invocations_equal_the_in_process_transform(batch: Server, model: LoadedModel,
                                                          content_type: str) -> None:
    payload = PAYLOADS[content_type]
    status, body, _ = batch.invoke(payload, content_type, "text/csv")
    # transform_entry's invoke: serving.predict(..., batch=True) with the job's ContentType and Accept.
    assert (status, body) == (200, predict(model, payload, content_type, "text/csv", batch=True).body)
    assert len(body.splitlines()) == payload.count(b"\n")


def test_errors(realtime: Server, model: LoadedModel) -> None:
    payload = PAYLOADS["text/csv"]
    status, body, _ = realtime.invoke(payload, "application/octet-stream")
    expected = predict(model, payload, "application/octet-stream", None, batch=False)
    assert (status, body) == (415, expected.body)
    assert realtime.invoke(payload, "text/csv", "text/plain")[0] == 406
    assert realtime.invoke(b"", "text/csv")[0] == 204
    assert realtime.request("GET", "/models")[0] == 404
    assert realtime.request("GET", "/")[0] == 404
    assert realtime.request("GET", "/invocations")[0] == 405
    # The container's default MAX_CONTENT_LENGTH: 6 MiB.
    too_large = b"1,2,3,4\n" * (6 * 1024**2 // 8 + 1)
    assert realtime.invoke(too_large, "text/csv")[0] == 413
    assert realtime.invoke(too_large[: 6 * 1024**2], "text/csv")[0] == 200


def test_concurrent_requests_on_two_workers(realtime: Server, model: LoadedModel) -> None:
    chunks = [csv_payload(FEATURES[i: i + 30]) for i in range(0, 300, 30)] * 3
    expected = [predict(model, chunk, "text/csv", None, batch=False).body for chunk in chunks]
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda chunk: realtime.invoke(chunk, "text/csv"), chunks))
    assert [(status, body) for status, body, _ in answers] == [(200, body) for body in expected]


def test_two_workers_each_load_the_model_once(model_dir: Path) -> None:
    port = free_port()
    server = start_server([sys.executable, "-m", ENTRY_MODULE, "serve"],
                          serve_env(model_dir, port, SAGEMAKER_MODEL_SERVER_WORKERS="2"), port)
    try:
        for _ in range(4):
            assert server.invoke(PAYLOADS["text/csv"], "text/csv")[0] == 200
    finally:
        out, err = server.stop()
    assert out.decode().count("Model loaded successfully for worker : ") == 2, out.decode()
    assert err.decode().count("Booting worker with pid") == 2
    assert "Using worker: sync" in err.decode()
    assert server.process.returncode == 0  # SIGTERM is a graceful stop


def test_a_model_that_does_not_load_stops_the_server(tmp_path: Path) -> None:
    (tmp_path / "xgboost-model").write_bytes(b"not a model")
    port = free_port()
    result = subprocess.run([sys.executable, "-m", ENTRY_MODULE, "serve"],
                            env=serve_env(tmp_path, port, SAGEMAKER_MODEL_SERVER_WORKERS="1"), capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 3  # gunicorn's "Worker failed to boot."
    assert f"RuntimeError: Model {tmp_path / 'xgboost-model'} cannot be loaded:" in result.stdout
    assert "Worker failed to boot." in result.stderr
    assert str(ROOT) not in result.stdout + result.stderr  # the container's traceback, not this emulator's paths
