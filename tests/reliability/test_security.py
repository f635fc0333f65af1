"""Security: loopback by default, hostile keys and archives refused, bounded request bodies, no shell."""

from __future__ import annotations

import io
import re
import tarfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from backends.emulator.server import Emulator, EmulatorConfig
from harness.cli import serve
from harness.requests import TransformConfig, model_request, transform_job_request
from tests.conftest import ROLE, XGB_17, make_client, wait_training, wait_transform
from tests.integration.requests import training_request

ROOT = Path(__file__).resolve().parents[2]


def test_binds_loopback_unless_told_otherwise(tmp_path: Path) -> None:
    assert EmulatorConfig().host == "127.0.0.1"
    host_option = next(p for p in serve.params if p.name == "host")
    assert host_option.default == "127.0.0.1"
    with Emulator(EmulatorConfig(state_dir=tmp_path, persist_services=False)) as emulator:
        assert emulator._server is not None
        assert emulator._server.address[0] == "127.0.0.1"


def test_request_bodies_are_bounded(emulator: Any) -> None:
    body = b'{"TrainingJobName": "' + b"a" * (9 * 1024 * 1024) + b'"}'
    request = urllib.request.Request(emulator.endpoint_url, data=body, method="POST", headers={
        "X-Amz-Target": "SageMaker.DescribeTrainingJob", "Content-Type": "application/x-amz-json-1.1"})
    try:
        urllib.request.urlopen(request, timeout=30)
        raise AssertionError("a 9 MiB SageMaker request was accepted")
    except urllib.error.HTTPError as error:
        assert error.code == 413
        assert b"exceeds the limit" in error.read()


def test_s3_keys_cannot_escape_the_workspace(tmp_path: Path, unique: Any) -> None:
    """Run on embedded moto: it stores keys with `..` as given (LocalStack normalises them away on the way in)."""
    name = unique("escape")
    with Emulator(EmulatorConfig(state_dir=tmp_path, persist_services=False)) as emulator:
        s3, sagemaker = make_client("s3", emulator.endpoint_url), make_client("sagemaker", emulator.endpoint_url)
        s3.create_bucket(Bucket="hostile")
        s3.put_object(Bucket="hostile", Key=f"in/{name}/../../../../../../tmp/{name}-escaped.csv", Body=b"1,2\n")
        sagemaker.create_training_job(**training_request(name, "hostile", f"s3://hostile/in/{name}/", image=XGB_17,
                                                         hyperparameters={"num_round": "2"}))
        job = wait_training(sagemaker, name)
    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith("ClientError: Data download failed")
    assert "climbs out with '..'" in job["FailureReason"]
    assert not Path(f"/tmp/{name}-escaped.csv").exists()


def test_hostile_model_archives_are_refused(sagemaker: Any, s3: Any, bucket: str, unique: Any) -> None:
    name = unique("hostile")
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        info = tarfile.TarInfo("../../evil-model")
        info.size = 4
        tar.addfile(info, io.BytesIO(b"evil"))
    s3.put_object(Bucket=bucket, Key=f"hostile/{name}/model.tar.gz", Body=archive.getvalue())
    s3.put_object(Bucket=bucket, Key=f"hostile/{name}/test.csv", Body=b"1,2,3\n")
    sagemaker.create_model(**model_request(name, XGB_17, f"s3://{bucket}/hostile/{name}/model.tar.gz", ROLE))
    sagemaker.create_transform_job(**transform_job_request(TransformConfig(
        job_name=name, model_name=name, input_uri=f"s3://{bucket}/hostile/{name}/test.csv",
        output_path=f"s3://{bucket}/hostile/{name}/out/")))
    job = wait_transform(sagemaker, name)
    assert job["TransformJobStatus"] == "Failed"
    assert job["FailureReason"] == ("ClientError: model archive member '../../evil-model': refusing path "
                                    "'../../evil-model': it is empty, absolute or climbs out with '..'")


def test_nothing_goes_through_a_shell() -> None:
    """No shell anywhere in the product: subprocesses get argument lists."""
    pattern = re.compile(r"shell\s*=\s*True|os\.system\(|os\.popen\(|subprocess\.getoutput|commands\.getoutput")
    offenders = [f"{path.relative_to(ROOT)}:{number}"
                 for package in ("harness", "backends", "fixtures")
                 for path in (ROOT / package).rglob("*.py")
                 for number, line in enumerate(path.read_text().splitlines(), start=1) if pattern.search(line)]
    assert offenders == []
