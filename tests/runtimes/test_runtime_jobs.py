"""Jobs of an image version with a runtime train and predict in it: the artifact is the container's format,
loads and predicts the container's way, and a model the container's code wrote transforms in the emulator.
Without a runtime, the job's log says so in one line."""

from __future__ import annotations

import io
import json
import tarfile
import time
from pathlib import Path
from typing import Any

from backends.emulator.algorithms.images import image_uri
from backends.emulator.algorithms.xgboost.versions import VERSIONS, ModelFormat
from backends.emulator.runtimes import Runtime
from backends.emulator.server import Emulator, EmulatorConfig
from harness.requests import TransformConfig, model_request, transform_job_request
from tests.conftest import REGION, ROLE, boston_frames, make_client, wait_training, wait_transform
from tests.runtimes.conftest import BUCKET
from tests.runtimes.helpers import (
    CONTAINER_MODEL,
    csv_bytes,
    emulator_predictions,
    run_in_runtime,
    training_log,
    transform_log,
)

NOTE = "NOTE (sagemaker-harness): no runtime for image version"
SEED = {"max_depth": "5", "eta": "0.2", "gamma": "4", "min_child_weight": "6", "subsample": "0.8",
        "objective": "reg:linear", "early_stopping_rounds": "10", "num_round": "60"}


def _boston_files() -> dict[str, bytes]:
    features, label = boston_frames()
    frame = label.to_frame().join(features)
    return {"train": csv_bytes(frame.iloc[:300]), "validation": csv_bytes(frame.iloc[300:420]),
            "test": csv_bytes(features.iloc[420:])}


def _artifact(s3: Any, uri: str) -> bytes:
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    with tarfile.open(fileobj=io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read())) as tar:
        assert tar.getnames() == ["xgboost-model"]
        member = tar.extractfile("xgboost-model")
        assert member is not None
        return member.read()


def _assert_container_format(model: bytes, version: str) -> None:
    rules = VERSIONS[version]
    if rules.model_format is ModelFormat.PICKLE:
        assert model[:2] == bytes([0x80, rules.pickle_protocol])
    elif rules.model_format is ModelFormat.UBJSON:
        assert model[:1] == b"{" and model[:2] != b'{"'
    else:  # XGBoost's binary format, which XGBoost 3.2 could not have written
        assert model[:1] not in (b"{", b"\x80")


def test_a_job_trains_and_predicts_in_its_runtime(runtime: Runtime, rt_clients: dict[str, Any],
                                                  tmp_path: Path) -> None:
    version = runtime.spec.image_version
    files = _boston_files()
    job, lines = emulator_predictions(rt_clients, BUCKET, version, files, SEED)
    log = training_log(rt_clients, job["TrainingJobName"])
    assert not any(NOTE in line for line in log)
    assert any("#011validation-rmse:" in line for line in log)
    model = _artifact(rt_clients["s3"], job["ModelArtifacts"]["S3ModelArtifacts"])
    _assert_container_format(model, version)
    # The artifact, loaded and used as the image's serving code does, predicts what the transform wrote.
    (tmp_path / "xgboost-model").write_bytes(model)
    (tmp_path / "test.csv").write_bytes(files["test"])
    request = {"model": str(tmp_path / "xgboost-model"), "test": str(tmp_path / "test.csv")}
    assert lines == run_in_runtime(runtime, [str(CONTAINER_MODEL), "predict", json.dumps(request)])


def test_a_model_the_container_wrote_transforms_the_same(runtime: Runtime, rt_clients: dict[str, Any],
                                                         tmp_path: Path) -> None:
    version = runtime.spec.image_version
    files = _boston_files()
    for channel in ("train", "test"):
        (tmp_path / f"{channel}.csv").write_bytes(files[channel])
    model = tmp_path / "xgboost-model"
    hyperparameters = {k: v for k, v in SEED.items() if k not in ("early_stopping_rounds", "subsample")}
    run_in_runtime(runtime, [str(CONTAINER_MODEL), "write", json.dumps({
        "train": str(tmp_path / "train.csv"), "hyperparameters": hyperparameters, "model": str(model),
        "protocol": VERSIONS[version].pickle_protocol})])
    expected = run_in_runtime(runtime, [str(CONTAINER_MODEL), "predict", json.dumps(
        {"model": str(model), "test": str(tmp_path / "test.csv")})])

    s3, sagemaker = rt_clients["s3"], rt_clients["sagemaker"]
    name = f"rt-written-{version.replace('.', '')}-{time.time_ns() % 10**12}"
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        tar.add(model, arcname="xgboost-model")
    s3.put_object(Bucket=BUCKET, Key=f"rt/{name}/model.tar.gz", Body=archive.getvalue())
    s3.put_object(Bucket=BUCKET, Key=f"rt/{name}/test/test.csv", Body=files["test"])
    image = image_uri(REGION, version=version)
    sagemaker.create_model(**model_request(name, image, f"s3://{BUCKET}/rt/{name}/model.tar.gz", ROLE))
    sagemaker.create_transform_job(**transform_job_request(TransformConfig(
        job_name=name, model_name=name, input_uri=f"s3://{BUCKET}/rt/{name}/test/",
        output_path=f"s3://{BUCKET}/rt/{name}/out/")))
    transform = wait_transform(sagemaker, name, timeout=120)
    assert transform["TransformJobStatus"] == "Completed", transform.get("FailureReason")
    body = s3.get_object(Bucket=BUCKET, Key=f"rt/{name}/out/test.csv.out")["Body"].read().decode()
    assert body.splitlines() == expected

    # Requests of 1 MB, two in flight, answered by two forked model server workers in the runtime's interpreter.
    copies = 1024 * 1024 // len(files["test"]) + 2
    s3.put_object(Bucket=BUCKET, Key=f"rt/{name}/large/test.csv", Body=files["test"] * copies)
    request = transform_job_request(TransformConfig(
        job_name=f"{name}-workers", model_name=name, input_uri=f"s3://{BUCKET}/rt/{name}/large/",
        output_path=f"s3://{BUCKET}/rt/{name}/large-out/", max_payload_mb=1, max_concurrent_transforms=2))
    sagemaker.create_transform_job(**request, Environment={"SAGEMAKER_MODEL_SERVER_WORKERS": "2"})
    transform = wait_transform(sagemaker, f"{name}-workers", timeout=120)
    assert transform["TransformJobStatus"] == "Completed", transform.get("FailureReason")
    body = s3.get_object(Bucket=BUCKET, Key=f"rt/{name}/large-out/test.csv.out")["Body"].read().decode()
    assert body.splitlines() == expected * copies
    log = transform_log(rt_clients, f"{name}-workers")
    assert sum("Booting model server worker with pid" in line for line in log) == 2


def test_without_a_runtime_the_log_says_how_to_install_one(tmp_path: Path) -> None:
    empty = tmp_path / "runtimes"
    with Emulator(EmulatorConfig(state_dir=tmp_path / "state", runtimes_dir=empty)) as emulator:
        clients = {name: make_client(name, emulator.endpoint_url) for name in ("sagemaker", "s3", "logs")}
        clients["s3"].create_bucket(Bucket=BUCKET)
        job, lines = emulator_predictions(clients, BUCKET, "1.7-1", _boston_files(),
                                          {**SEED, "num_round": "5"})
        notes = [line for line in training_log(clients, job["TrainingJobName"]) if NOTE in line]
        assert len(notes) == 1
        assert "XGBoost 1.7.4" in notes[0] and "`harness runtimes install 1.7-1`" in notes[0]
        assert wait_training(clients["sagemaker"], job["TrainingJobName"])["TrainingJobStatus"] == "Completed"
        assert len(lines) > 0
