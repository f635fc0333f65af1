"""Batching never changes an answer, in any runtime: a batch transform of 20,000+ rows gives, byte for byte,
the predictions of the image's XGBoost release called directly (in the runtime's interpreter, as the
container's serving code calls it), whatever the BatchStrategy, MaxConcurrentTransforms and MaxPayloadInMB.

Old XGBoost releases (0.72 among them) return wrong values when one Booster predicts from several threads at
once; the container never does that (each model server worker answers one request at a time). SingleRecord
with several requests in flight is the case that exposed it: 86 of 20,040 lines were wrong.
"""

from __future__ import annotations

import io
import json
import math
import tarfile
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from backends.emulator.algorithms.images import image_uri
from backends.emulator.runtimes import Runtime
from harness.requests import TransformConfig, model_request, transform_job_request
from tests.conftest import REGION, ROLE, boston_frames, wait_transform
from tests.runtimes.conftest import BUCKET
from tests.runtimes.helpers import CONTAINER_MODEL, csv_bytes, emulator_predictions, run_in_runtime

ROWS = 20_000
# The seed image's 0.72 is the release that predicted wrong values from concurrent threads: tested by default.
pytestmark = pytest.mark.default_runtimes("1", "1.7-1")
SEED = {"max_depth": "5", "eta": "0.2", "gamma": "4", "min_child_weight": "6", "subsample": "0.8",
        "objective": "reg:linear", "early_stopping_rounds": "10", "num_round": "60"}


class Served:
    """A seed model trained in the runtime, its test object in S3, and the release's own predictions of it."""

    def __init__(self, model_name: str, input_uri: str, prefix: str, expected: bytes) -> None:
        self.model_name = model_name
        self.input_uri = input_uri
        self.prefix = prefix
        self.expected = expected


@pytest.fixture(scope="session")
def served(runtime: Runtime, rt_clients: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Served:
    version = runtime.spec.image_version
    features, label = boston_frames()
    frame = label.to_frame().join(features)
    files = {"train": csv_bytes(frame.iloc[:330]), "validation": csv_bytes(frame.iloc[330:420]),
             "test": csv_bytes(features.iloc[420:])}
    job, _ = emulator_predictions(rt_clients, BUCKET, version, files, SEED)
    name = job["TrainingJobName"]
    artifact = job["ModelArtifacts"]["S3ModelArtifacts"]
    rt_clients["sagemaker"].create_model(**model_request(f"{name}-m", image_uri(REGION, version=version), artifact,
                                                         ROLE))
    # The whole Boston feature set repeated past 20,000 rows: one object larger than a 1 MB payload.
    rows = csv_bytes(features)
    body = rows * (ROWS // len(features) + 1)
    prefix = f"rt/{name}/batching"
    rt_clients["s3"].put_object(Bucket=BUCKET, Key=f"{prefix}/in/rows.csv", Body=body)

    directory = tmp_path_factory.mktemp(f"batching-{version}")
    bucket_key = artifact.removeprefix(f"s3://{BUCKET}/")
    archive = rt_clients["s3"].get_object(Bucket=BUCKET, Key=bucket_key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        member = tar.extractfile("xgboost-model")
        assert member is not None
        (directory / "xgboost-model").write_bytes(member.read())
    (directory / "rows.csv").write_bytes(body)
    expected = run_in_runtime(runtime, [str(CONTAINER_MODEL), "predict", json.dumps(
        {"model": str(directory / "xgboost-model"), "test": str(directory / "rows.csv")})])
    assert len(expected) >= ROWS
    return Served(f"{name}-m", f"s3://{BUCKET}/{prefix}/in/", prefix, ("\n".join(expected) + "\n").encode())


def _transform(clients: dict[str, Any], served: Served, strategy: str, concurrency: int, payload: int) -> bytes:
    name = f"b-{strategy[:1]}{concurrency}-{payload}-{time.time_ns() % 10**10}"
    output = f"{served.prefix}/out-{name}/"
    clients["sagemaker"].create_transform_job(**transform_job_request(TransformConfig(
        job_name=name, model_name=served.model_name, input_uri=served.input_uri,
        output_path=f"s3://{BUCKET}/{output}", batch_strategy=strategy, max_concurrent_transforms=concurrency,
        max_payload_mb=payload, assemble_with="Line")))
    job = wait_transform(clients["sagemaker"], name, timeout=600)
    assert job["TransformJobStatus"] == "Completed", job.get("FailureReason")
    body: bytes = clients["s3"].get_object(Bucket=BUCKET, Key=f"{output}rows.csv.out")["Body"].read()
    return body


def _check(runtime: Runtime, clients: dict[str, Any], served: Served, strategy: str, concurrency: int,
           payload: int) -> None:
    payload = min(payload, 100 // concurrency)  # MaxConcurrentTransforms x MaxPayloadInMB <= 100
    output = _transform(clients, served, strategy, concurrency, payload)
    if output != served.expected:
        got, want = output.decode().splitlines(), served.expected.decode().splitlines()
        wrong = [i for i, (a, b) in enumerate(zip(got, want, strict=False)) if a != b]
        raise AssertionError(f"{strategy} x{concurrency} ({payload} MB) on {runtime.spec.image_version}: "
                             f"{len(got)} lines for {len(want)}, {len(wrong)} differ, first at {wrong[:5]}")


@pytest.mark.parametrize("concurrency", range(1, 9))
@pytest.mark.parametrize("strategy", ["SingleRecord", "MultiRecord"])
def test_every_strategy_and_concurrency_gives_the_releases_output(runtime: Runtime, rt_clients: dict[str, Any],
                                                                  served: Served, strategy: str,
                                                                  concurrency: int) -> None:
    # 1 MB requests for MultiRecord: the 20,000 rows need several, answered by forked model server workers.
    _check(runtime, rt_clients, served, strategy, concurrency, 1 if strategy == "MultiRecord" else 6)


# Each example is one transform of 20,000+ rows (seconds): no shrinking, the failing example is printed as drawn.
@settings(max_examples=3, deadline=None, phases=(Phase.generate,),
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(strategy=st.sampled_from(["SingleRecord", "MultiRecord"]), concurrency=st.integers(1, 8),
       payload=st.integers(1, 100))
def test_any_payload_limit_gives_the_releases_output(runtime: Runtime, rt_clients: dict[str, Any], served: Served,
                                                     strategy: str, concurrency: int, payload: int) -> None:
    _check(runtime, rt_clients, served, strategy, concurrency, payload)


def test_the_expected_output_is_one_line_per_row(served: Served) -> None:
    lines = served.expected.decode().splitlines()
    assert len(lines) >= ROWS and all(math.isfinite(float(line)) for line in lines)
    assert len(set(lines)) > 100  # a model that predicts something, not one constant



def test_endpoint_answers_the_releases_predictions(runtime: Runtime, rt_clients: dict[str, Any],
                                                   served: Served) -> None:
    """A real-time endpoint of the same model serves from the runtime's own model server (gunicorn in the release's
    interpreter) and answers, request for request, the release's predictions, with 8 requests in flight."""
    from concurrent.futures import ThreadPoolExecutor

    from tests.conftest import make_client

    sagemaker = rt_clients["sagemaker"]
    runtime_client = make_client("sagemaker-runtime", sagemaker.meta.endpoint_url)
    name = f"ep-{served.model_name}"[:63]
    sagemaker.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": served.model_name, "InitialInstanceCount": 2,
        "InstanceType": "ml.m5.large"}])
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name)
    sagemaker.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig={"Delay": 0.2})
    rows = rt_clients["s3"].get_object(Bucket=BUCKET, Key=f"{served.prefix}/in/rows.csv")["Body"].read()
    lines = rows.decode().splitlines()
    chunks = ["\n".join(lines[start:start + 100]) for start in range(0, 4000, 100)]
    version = runtime.spec.image_version
    separator = "," if version == "1" else "\n"  # xgboost:1 joins real-time CSV answers with commas

    def invoke(chunk: str) -> list[str]:
        answer = runtime_client.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=chunk)
        return [value for value in answer["Body"].read().decode().split(separator) if value]

    try:
        with ThreadPoolExecutor(8) as pool:
            got = [value for answer in pool.map(invoke, chunks) for value in answer]
    finally:
        sagemaker.delete_endpoint(EndpointName=name)
        sagemaker.get_waiter("endpoint_deleted").wait(EndpointName=name, WaiterConfig={"Delay": 0.2})
    assert got == served.expected.decode().splitlines()[:4000]
    streams = rt_clients["logs"].describe_log_streams(logGroupName=f"/aws/sagemaker/Endpoints/{name}")["logStreams"]
    lines_logged = [event["message"] for stream in streams for event in rt_clients["logs"].get_log_events(
        logGroupName=f"/aws/sagemaker/Endpoints/{name}", logStreamName=stream["logStreamName"])["events"]]
    assert not any("NOTE (sagemaker-harness): no runtime" in line for line in lines_logged)
    assert any("Booting worker with pid" in line for line in lines_logged)
