"""Real-time endpoints: InvokeEndpoint against the container's inference code called in process.

The served model (`served_model`) is deployed to an endpoint of one instance (the emulator's model server: the
container's inference application in one worker process per CPU, behind the emulator's gateway), and invoked with
text/csv bodies in the test file's format:

* latency: one-row requests one after another, over boto3's sagemaker-runtime client and over raw HTTP
  (`http.client` on one keep-alive connection to the gateway, an unsigned `POST /endpoints/<name>/invocations`),
  each timed from the call to the answer's last byte. The bare side (`bench.bare latency`) times
  `serving.predict` of the same row on the same model, loaded with `serving.load_model`, in one process. p50 and
  p99 of each repetition's requests.
* throughput: 100-row requests from `c` client threads at once (c = 1, 2, 4, 8), each with its own keep-alive
  connection over raw HTTP, the requests shared out evenly; the bare side (`bench.bare throughput`) answers the
  same requests with `serving.predict` from `c` processes forked after the model is loaded. Rows/s.

Each repetition runs the bare side first, then the emulator, so a change in background load touches both.
"""

from __future__ import annotations

import contextlib
import http.client
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .bare_side import bare_latencies, bare_throughput
from .datasets import features_csv_bytes, request_bodies
from .measurements import EndpointRun
from .served_model import ServedModel
from .server import EmulatorProcess
from .settings import BenchSettings

CONCURRENCY = (1, 2, 4, 8)
ROWS_PER_REQUEST = 100
INSTANCE_TYPE = "ml.m5.large"
_BODIES = 16  # distinct 100-row request bodies, sent in turn
_WARMUP = 20  # untimed one-row requests before each latency block
_POLL_SECONDS = 0.1
_START_TIMEOUT = 120.0


@dataclass(frozen=True)
class EndpointResults:
    runs: list[EndpointRun]
    start_seconds: float  # CreateEndpoint until InService
    answers: int  # one-row answers of the emulator compared with the bare side's
    differing_answers: int


def endpoint_runs(emulator: EmulatorProcess, model: ServedModel, settings: BenchSettings, workdir: Path,
                  say: Callable[[str], None]) -> EndpointResults:
    sagemaker = emulator.client("sagemaker")
    name = f"{model.prefix}-endpoint"
    rows = features_csv_bytes(ROWS_PER_REQUEST * _BODIES, seed=settings.seed + 1)
    bodies_file, row_file = workdir / "endpoint-bodies.csv", workdir / "endpoint-row.csv"
    bodies_file.write_bytes(rows)
    row = rows[: rows.index(b"\n") + 1]
    row_file.write_bytes(row)
    bodies = request_bodies(rows, ROWS_PER_REQUEST)
    sagemaker.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": model.name, "InitialInstanceCount": 1,
        "InstanceType": INSTANCE_TYPE}])
    start = time.monotonic()
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name)
    try:
        _wait_in_service(sagemaker, name)
        start_seconds = time.monotonic() - start
        client = _Client(emulator.port, name)
        runtime = emulator.client("sagemaker-runtime")
        runs: list[EndpointRun] = []
        answers = differing = 0
        try:
            for repetition in range(settings.repeat):
                say(f"endpoint repetition {repetition + 1}/{settings.repeat}: one-row latency")
                bare, expected = bare_latencies(model.model_dir, row_file, settings.latency_samples, _WARMUP)
                http_seconds, http_answers = _latencies(lambda: client.invoke(row), settings.latency_samples)
                boto3_seconds, boto3_answers = _latencies(lambda: _boto3_invoke(runtime, name, row),
                                                          settings.latency_samples)
                for answer in (*http_answers, *boto3_answers):
                    answers += 1
                    differing += answer != expected
                say(f"endpoint repetition {repetition + 1}/{settings.repeat}: throughput at concurrency "
                    f"{', '.join(map(str, CONCURRENCY))}")
                bare_rates = bare_throughput(model.model_dir, bodies_file, ROWS_PER_REQUEST,
                                             settings.throughput_requests, CONCURRENCY)
                emulator_rates = {concurrency: _http_throughput(emulator.port, name, bodies, concurrency,
                                                                settings.throughput_requests)
                                  for concurrency in CONCURRENCY}
                runs.append(EndpointRun(bare, http_seconds, boto3_seconds, bare_rates, emulator_rates))
        finally:
            client.close()
    finally:
        sagemaker.delete_endpoint(EndpointName=name)
        sagemaker.delete_endpoint_config(EndpointConfigName=name)
    return EndpointResults(runs, start_seconds, answers, differing)


class _Client:
    """Raw HTTP to the gateway: one keep-alive connection, unsigned InvokeEndpoint requests."""

    def __init__(self, port: int, endpoint: str) -> None:
        self._connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self._path = f"/endpoints/{endpoint}/invocations"

    def invoke(self, body: bytes) -> bytes:
        self._connection.request("POST", self._path, body=body, headers={"Content-Type": "text/csv"})
        response = self._connection.getresponse()
        answer = response.read()
        if response.status != 200:
            raise RuntimeError(f"InvokeEndpoint answered {response.status}: {answer[:300]!r}")
        return answer

    def close(self) -> None:
        self._connection.close()


def _boto3_invoke(runtime: Any, name: str, body: bytes) -> bytes:
    answer: bytes = runtime.invoke_endpoint(EndpointName=name, Body=body, ContentType="text/csv")["Body"].read()
    return answer


def _latencies(invoke: Callable[[], bytes], samples: int) -> tuple[list[float], list[bytes]]:
    for _ in range(_WARMUP):
        invoke()
    seconds, answers = [], []
    for _ in range(samples):
        start = time.perf_counter()
        answer = invoke()
        seconds.append(time.perf_counter() - start)
        answers.append(answer)
    return seconds, answers


def _http_throughput(port: int, endpoint: str, bodies: list[bytes], concurrency: int, requests: int) -> float:
    """Rows/s of `requests` requests sent by `concurrency` threads, each on its own connection."""
    ready = threading.Barrier(concurrency + 1)
    errors: list[BaseException] = []

    def send(worker: int) -> None:
        client = _Client(port, endpoint)
        try:
            client.invoke(bodies[worker % len(bodies)])  # connects, and warms this connection's server thread
            ready.wait()
            for index in range(worker, requests, concurrency):
                client.invoke(bodies[index % len(bodies)])
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
            ready.abort()
        finally:
            client.close()

    threads = [threading.Thread(target=send, args=(worker,), name=f"bench-client-{worker}", daemon=True)
               for worker in range(concurrency)]
    for thread in threads:
        thread.start()
    with contextlib.suppress(threading.BrokenBarrierError):  # a thread failed: reported below
        ready.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - start
    if errors:
        raise RuntimeError(f"InvokeEndpoint throughput at concurrency {concurrency} failed: {errors[0]}")
    return requests * ROWS_PER_REQUEST / seconds


def _wait_in_service(sagemaker: Any, name: str) -> None:
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        endpoint = sagemaker.describe_endpoint(EndpointName=name)
        if endpoint["EndpointStatus"] == "InService":
            return
        if endpoint["EndpointStatus"] not in ("Creating", "Updating"):
            raise RuntimeError(f"endpoint {name} is {endpoint['EndpointStatus']}: {endpoint.get('FailureReason')}")
        time.sleep(_POLL_SECONDS)
    raise RuntimeError(f"endpoint {name} was not InService within {_START_TIMEOUT:.0f} s")
