"""Real-time endpoints over real HTTP with boto3: the Boston "Deploy — low level" flow on models the emulator
really trained, checked against batch transforms of the same models, plus the control plane's rules and texts,
data capture, async inference and the endpoints' logs."""

from __future__ import annotations

import json
import time
from typing import Any

import pandas as pd
import pytest
from botocore.exceptions import ClientError
from sklearn.model_selection import train_test_split

from backends.emulator.server import Emulator
from harness.requests import TransformConfig, model_request, transform_job_request
from tests.conftest import (
    ROLE,
    XGB_17,
    XGB_LEGACY,
    boston_frames,
    make_client,
    process_alive,
    upload_csv,
    wait_training,
    wait_transform,
)
from tests.integration.requests import training_request

GROUP = "/aws/sagemaker/Endpoints"
FAST_WAIT = {"Delay": 0.2, "MaxAttempts": 300}


@pytest.fixture(scope="module")
def runtime(emulator: Emulator) -> Any:
    return make_client("sagemaker-runtime", emulator.endpoint_url)


def _get(s3: Any, uri: str) -> bytes:
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return body


@pytest.fixture(scope="module")
def boston(sagemaker: Any, s3: Any, bucket: str) -> dict[str, Any]:
    """Two models trained on the Boston data (1.7-1 with two settings, and the legacy image), each with its batch
    transform output of the test set: what an endpoint must answer string for string."""
    features, label = boston_frames()
    x_train, x_test, y_train, _ = train_test_split(features, label, test_size=0.33, random_state=1)
    train = upload_csv(s3, bucket, "ep/train.csv", pd.concat([y_train, x_train], axis=1))
    test = upload_csv(s3, bucket, "ep/test/test.csv", x_test)
    stamp = int(time.time() * 1000)
    models: dict[str, dict[str, Any]] = {}
    settings = {"a": (XGB_17, {"num_round": "30", "max_depth": "3", "objective": "reg:squarederror"}),
                "b": (XGB_17, {"num_round": "60", "max_depth": "6", "objective": "reg:squarederror"}),
                "legacy": (XGB_LEGACY, {"num_round": "25", "max_depth": "4", "objective": "reg:linear"})}
    for key, (image, hyperparameters) in settings.items():
        job_name = f"ep-{key}-{stamp}"
        sagemaker.create_training_job(**training_request(job_name, bucket, train, None, image=image,
                                                         hyperparameters=hyperparameters))
        models[key] = {"job": job_name, "image": image}
    for key, model in models.items():
        job = wait_training(sagemaker, model["job"])
        assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
        model["name"] = f"{model['job']}-model"
        model["artifact"] = job["ModelArtifacts"]["S3ModelArtifacts"]
        sagemaker.create_model(**model_request(model["name"], model["image"],
                                               job["ModelArtifacts"]["S3ModelArtifacts"], ROLE))
        output = f"s3://{bucket}/ep/transform/{key}-{stamp}"
        sagemaker.create_transform_job(**transform_job_request(TransformConfig(
            job_name=f"{model['job']}-tr", model_name=model["name"], input_uri=test, output_path=output)))
        model["output"] = f"{output}/test.csv.out"
    for model in models.values():
        assert wait_transform(sagemaker, f"{model['job']}-tr")["TransformJobStatus"] == "Completed"
        model["batch"] = _get(s3, model["output"]).decode().splitlines()
    return {"models": models, "x_test": x_test, "csv": x_test.to_csv(header=False, index=False)}


def _config(sagemaker: Any, name: str, variants: list[tuple[str, str, int, float]], **extra: Any) -> None:
    sagemaker.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[
        {"VariantName": variant, "ModelName": model, "InitialInstanceCount": count, "InstanceType": "ml.m5.large",
         "InitialVariantWeight": weight} for variant, model, count, weight in variants], **extra)


def _deploy(sagemaker: Any, name: str, config: str) -> dict[str, Any]:
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=config)
    sagemaker.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig=FAST_WAIT)
    endpoint: dict[str, Any] = sagemaker.describe_endpoint(EndpointName=name)
    return endpoint


def _wait_settled(sagemaker: Any, name: str) -> dict[str, Any]:
    for _ in range(600):
        endpoint: dict[str, Any] = sagemaker.describe_endpoint(EndpointName=name)
        if endpoint["EndpointStatus"] not in ("Creating", "Updating"):
            return endpoint
        time.sleep(0.1)
    raise AssertionError(f"{name} did not settle")


def _predictions(answer: dict[str, Any]) -> list[str]:
    text: str = answer["Body"].read().decode()
    return text.splitlines()


def test_boston_deploy_low_level(sagemaker: Any, runtime: Any, boston: dict[str, Any], unique: Any) -> None:
    """Deploy, invoke with the test set (= the batch transform, string for string), update to two variants and
    route with TargetVariant and weights, delete: the "Deploy — low level" notebook in boto3."""
    a, b = boston["models"]["a"], boston["models"]["b"]
    name, first, second = unique("boston-ep"), unique("boston-cfg"), unique("boston-cfg2")
    _config(sagemaker, first, [("AllTraffic", a["name"], 1, 1.0)])
    endpoint = _deploy(sagemaker, name, first)
    assert endpoint["EndpointStatus"] == "InService"
    [variant] = endpoint["ProductionVariants"]
    assert (variant["VariantName"], variant["CurrentWeight"], variant["CurrentInstanceCount"]) == ("AllTraffic", 1, 1)
    assert variant["DeployedImages"][0]["SpecifiedImage"] == XGB_17
    assert variant["DeployedImages"][0]["ResolvedImage"].split("@sha256:")[0] == XGB_17.rsplit(":", 1)[0]

    answer = runtime.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=boston["csv"])
    assert answer["ContentType"].startswith("text/csv")
    assert answer["InvokedProductionVariant"] == "AllTraffic"
    assert _predictions(answer) == a["batch"]

    _config(sagemaker, second, [("VariantA", a["name"], 1, 1.0), ("VariantB", b["name"], 2, 1.0)])
    sagemaker.update_endpoint(EndpointName=name, EndpointConfigName=second)
    updating = sagemaker.describe_endpoint(EndpointName=name)
    assert updating["EndpointStatus"] == "Updating"
    assert updating["PendingDeploymentSummary"]["EndpointConfigName"] == second
    assert updating["EndpointConfigName"] == first  # still serving the first until the switch
    endpoint = _wait_settled(sagemaker, name)
    assert "PendingDeploymentSummary" not in endpoint
    assert endpoint["EndpointStatus"] == "InService", endpoint.get("FailureReason")
    assert endpoint["EndpointConfigName"] == second
    assert {(v["VariantName"], v["CurrentInstanceCount"]) for v in endpoint["ProductionVariants"]} == {
        ("VariantA", 1), ("VariantB", 2)}
    for target, model in (("VariantA", a), ("VariantB", b)):
        answer = runtime.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=boston["csv"],
                                         TargetVariant=target)
        assert answer["InvokedProductionVariant"] == target
        assert _predictions(answer) == model["batch"]
    assert a["batch"] != b["batch"]
    seen = {runtime.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=boston["csv"].splitlines()[0]
                                    )["InvokedProductionVariant"] for _ in range(40)}
    assert seen == {"VariantA", "VariantB"}  # equal weights: both take traffic (each of 40 misses with p = 2^-40)

    sagemaker.update_endpoint_weights_and_capacities(EndpointName=name, DesiredWeightsAndCapacities=[
        {"VariantName": "VariantA", "DesiredWeight": 0.0}, {"VariantName": "VariantB", "DesiredInstanceCount": 1}])
    endpoint = _wait_settled(sagemaker, name)
    summaries = {v["VariantName"]: v for v in endpoint["ProductionVariants"]}
    assert (summaries["VariantA"]["CurrentWeight"], summaries["VariantB"]["CurrentInstanceCount"]) == (0.0, 1)
    for _ in range(10):
        answer = runtime.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=boston["csv"])
        assert answer["InvokedProductionVariant"] == "VariantB"

    sagemaker.delete_endpoint(EndpointName=name)
    sagemaker.get_waiter("endpoint_deleted").wait(EndpointName=name, WaiterConfig=FAST_WAIT)
    with pytest.raises(ClientError, match=r'Could not find endpoint "arn:aws:sagemaker:us-east-1:\d+:endpoint/'):
        sagemaker.describe_endpoint(EndpointName=name)
    with pytest.raises(ClientError) as missing:
        runtime.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=boston["csv"])
    assert missing.value.response["Error"]["Code"] == "ValidationError"
    assert missing.value.response["Error"]["Message"] == f"Endpoint {name} of account 123456789012 not found."


def test_legacy_image_endpoint_answers_as_its_container(sagemaker: Any, runtime: Any, boston: dict[str, Any],
                                                        unique: Any) -> None:
    """The xgboost:1 container joins real-time CSV predictions with commas; batch transform gets lines."""
    legacy = boston["models"]["legacy"]
    name, config = unique("legacy-ep"), unique("legacy-cfg")
    _config(sagemaker, config, [("AllTraffic", legacy["name"], 1, 1.0)])
    _deploy(sagemaker, name, config)
    try:
        answer = runtime.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=boston["csv"])
        assert answer["Body"].read().decode().split(",") == legacy["batch"]
    finally:
        sagemaker.delete_endpoint(EndpointName=name)


def test_json_accept_and_model_errors(sagemaker: Any, runtime: Any, boston: dict[str, Any], unique: Any) -> None:
    a = boston["models"]["a"]
    name, config = unique("errors-ep"), unique("errors-cfg")
    _config(sagemaker, config, [("AllTraffic", a["name"], 1, 1.0)])
    _deploy(sagemaker, name, config)
    try:
        answer = runtime.invoke_endpoint(EndpointName=name, ContentType="text/csv", Accept="application/json",
                                         Body=boston["csv"])
        assert answer["ContentType"] == "application/json"
        scores = [str(p["score"]) for p in json.loads(answer["Body"].read())["predictions"]]
        assert scores == a["batch"]

        with pytest.raises(ClientError) as bad:
            runtime.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body="not,a,number")
        error = bad.value.response
        assert bad.value.response["ResponseMetadata"]["HTTPStatusCode"] == 424
        assert error["Error"]["Code"] == "ModelError"
        assert error["OriginalStatusCode"] == 415
        assert error["Error"]["Message"].startswith('Received client error (415) from primary with message "')
        assert error["OriginalMessage"] in error["Error"]["Message"]
        assert error["LogStreamArn"] == f"arn:aws:logs:us-east-1:123456789012:log-group:{GROUP}/{name}"

        with pytest.raises(ClientError) as accept:
            runtime.invoke_endpoint(EndpointName=name, ContentType="text/csv", Accept="image/png",
                                    Body=boston["csv"])
        assert accept.value.response["OriginalStatusCode"] == 406

        with pytest.raises(ClientError) as variant:
            runtime.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=boston["csv"],
                                    TargetVariant="Nope")
        assert variant.value.response["Error"]["Code"] == "ValidationError"
        assert "Nope" in variant.value.response["Error"]["Message"]

        with pytest.raises(ClientError) as large:
            runtime.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=b"1" * (6 * 1024 * 1024 + 1))
        assert large.value.response["Error"]["Code"] == "ValidationError"
        assert large.value.response["Error"]["Message"] == "HTTP content length exceeded 6291456 bytes."
        assert large.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413
        # The endpoint still serves after the errors.
        answer = runtime.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=boston["csv"])
        assert _predictions(answer) == a["batch"]
    finally:
        sagemaker.delete_endpoint(EndpointName=name)


def test_control_plane_texts(sagemaker: Any, boston: dict[str, Any], unique: Any) -> None:
    a = boston["models"]["a"]
    config, name = unique("texts-cfg"), unique("texts-ep")
    arn = "arn:aws:sagemaker:us-east-1:123456789012"
    with pytest.raises(ClientError, match=f'Could not find model "{arn}:model/missing-model".'):
        _config(sagemaker, config, [("AllTraffic", "missing-model", 1, 1.0)])
    with pytest.raises(ClientError, match=f'Could not find endpoint configuration "{arn}:endpoint-config/{config}".'):
        sagemaker.describe_endpoint_config(EndpointConfigName=config)
    with pytest.raises(ClientError, match=f'Could not find endpoint configuration "{arn}:endpoint-config/{config}".'):
        sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=config)
    with pytest.raises(ClientError, match="Duplicate VariantName"):
        _config(sagemaker, config, [("V", a["name"], 1, 1.0), ("v", a["name"], 1, 1.0)])
    _config(sagemaker, config, [("AllTraffic", a["name"], 1, 1.0)])
    described = sagemaker.describe_endpoint_config(EndpointConfigName=config)
    assert described["ProductionVariants"][0]["InitialVariantWeight"] == 1.0
    with pytest.raises(ClientError, match=f'Cannot create already existing endpoint configuration '
                                          f'"{arn}:endpoint-config/{config}".'):
        _config(sagemaker, config, [("AllTraffic", a["name"], 1, 1.0)])
    for call in (lambda: sagemaker.describe_endpoint(EndpointName=name),
                 lambda: sagemaker.delete_endpoint(EndpointName=name),
                 lambda: sagemaker.update_endpoint(EndpointName=name, EndpointConfigName=config)):
        with pytest.raises(ClientError, match=f'Could not find endpoint "{arn}:endpoint/{name}".'):
            call()
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=config)
    try:
        with pytest.raises(ClientError, match=f'Cannot create already existing endpoint "{arn}:endpoint/{name}".'):
            sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=config)
        sagemaker.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig=FAST_WAIT)
        with pytest.raises(ClientError, match=f'The variant name\\(s\\) "Other" is/are not present within endpoint '
                                              f'configuration "{config}".'):
            sagemaker.update_endpoint_weights_and_capacities(EndpointName=name, DesiredWeightsAndCapacities=[
                {"VariantName": "Other", "DesiredWeight": 1.0}])
        listed = sagemaker.list_endpoints(NameContains=name)["Endpoints"]
        assert [(e["EndpointName"], e["EndpointStatus"]) for e in listed] == [(name, "InService")]
        configs = sagemaker.list_endpoint_configs(NameContains=config)["EndpointConfigs"]
        assert [c["EndpointConfigName"] for c in configs] == [config]
        endpoint_arn = sagemaker.describe_endpoint(EndpointName=name)["EndpointArn"]
        sagemaker.add_tags(ResourceArn=endpoint_arn, Tags=[{"Key": "team", "Value": "pricing"}])
        assert sagemaker.list_tags(ResourceArn=endpoint_arn)["Tags"] == [{"Key": "team", "Value": "pricing"}]
        config_arn = sagemaker.describe_endpoint_config(EndpointConfigName=config)["EndpointConfigArn"]
        assert sagemaker.list_tags(ResourceArn=config_arn)["Tags"] == []
        # A configuration in use can be deleted: the endpoint keeps serving what it deployed.
        sagemaker.delete_endpoint_config(EndpointConfigName=config)
        assert sagemaker.describe_endpoint(EndpointName=name)["EndpointStatus"] == "InService"
    finally:
        sagemaker.delete_endpoint(EndpointName=name)


def test_failed_endpoints_say_why(sagemaker: Any, s3: Any, bucket: str, boston: dict[str, Any],
                                  unique: Any) -> None:
    """A model whose artifact does not load never answers /ping; an image the emulator cannot run never starts."""
    broken = unique("broken-model")
    s3.put_object(Bucket=bucket, Key="ep/broken/model.tar.gz", Body=b"not a tar archive")
    sagemaker.create_model(**model_request(broken, XGB_17, f"s3://{bucket}/ep/broken/model.tar.gz", ROLE))
    foreign = unique("foreign-model")
    sagemaker.create_model(**model_request(foreign, "123456789012.dkr.ecr.us-east-1.amazonaws.com/mine:latest",
                                           boston["models"]["a"]["artifact"], ROLE))
    for model, expected in ((broken, "Please ensure that the object located at the URL is a valid tar.gz archive."),
                            (foreign, "The emulator cannot run image '123456789012.dkr.ecr.us-east-1.amazonaws.com/")):
        config, name = unique("failed-cfg"), unique("failed-ep")
        _config(sagemaker, config, [("AllTraffic", model, 1, 1.0)])
        sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=config)
        with pytest.raises(Exception, match="Failed"):
            sagemaker.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig=FAST_WAIT)
        endpoint = sagemaker.describe_endpoint(EndpointName=name)
        assert endpoint["EndpointStatus"] == "Failed"
        assert expected in endpoint["FailureReason"]
        sagemaker.delete_endpoint(EndpointName=name)


def test_unloadable_model_fails_the_ping_health_check(sagemaker: Any, s3: Any, bucket: str, unique: Any) -> None:
    import io
    import tarfile

    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        data = b"this is not a model"
        info = tarfile.TarInfo("xgboost-model")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    s3.put_object(Bucket=bucket, Key="ep/garbage/model.tar.gz", Body=archive.getvalue())
    model, config, name = unique("garbage-model"), unique("garbage-cfg"), unique("garbage-ep")
    sagemaker.create_model(**model_request(model, XGB_17, f"s3://{bucket}/ep/garbage/model.tar.gz", ROLE))
    _config(sagemaker, config, [("AllTraffic", model, 1, 1.0)])
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=config)
    endpoint = _wait_settled(sagemaker, name)
    assert endpoint["EndpointStatus"] == "Failed"
    assert endpoint["FailureReason"] == ("The primary container for production variant AllTraffic did not pass the "
                                         "ping health check. Please check CloudWatch logs for this endpoint.")
    sagemaker.delete_endpoint(EndpointName=name)


def test_logs_data_capture_and_deletion(emulator: Emulator, sagemaker: Any, runtime: Any, s3: Any, logs: Any,
                                        bucket: str, boston: dict[str, Any], unique: Any) -> None:
    a = boston["models"]["a"]
    config, name = unique("capture-cfg"), unique("capture-ep")
    destination = f"s3://{bucket}/ep/capture"
    _config(sagemaker, config, [("AllTraffic", a["name"], 2, 1.0)], DataCaptureConfig={
        "EnableCapture": True, "InitialSamplingPercentage": 100, "DestinationS3Uri": destination,
        "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        "CaptureContentTypeHeader": {"CsvContentTypes": ["text/csv"]}})
    endpoint = _deploy(sagemaker, name, config)
    assert endpoint["DataCaptureConfig"] == {"EnableCapture": True, "CaptureStatus": "Started",
                                             "CurrentSamplingPercentage": 100, "DestinationS3Uri": destination}
    rows = boston["csv"].splitlines()[:3]
    answers = []
    for index, row in enumerate(rows):
        answer = runtime.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=row,
                                         InferenceId=f"inference-{index}")
        answers.append(answer["Body"].read().decode())
    deployment = emulator.fleet.deployment("us-east-1", name) if emulator.fleet else None
    assert deployment is not None
    pids = [instance.pid for variant in deployment.variants for instance in variant.instances]
    assert len(pids) == 2 and all(pid and process_alive(pid) for pid in pids)

    sagemaker.delete_endpoint(EndpointName=name)  # flushes the capture and stops the servers
    sagemaker.get_waiter("endpoint_deleted").wait(EndpointName=name, WaiterConfig=FAST_WAIT)
    assert not any(process_alive(pid) for pid in pids if pid)

    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=f"ep/capture/{name}/")["Contents"]]
    assert all(key.split("/")[3] == "AllTraffic" and key.endswith(".jsonl") for key in keys)
    assert all(len(key.split("/")) == 9 for key in keys)  # ep/capture/<endpoint>/<variant>/yyyy/mm/dd/hh/<file>
    records = [json.loads(line) for key in keys for line in _get(s3, f"s3://{bucket}/{key}").decode().splitlines()]
    records.sort(key=lambda record: record["eventMetadata"]["inferenceId"])
    assert [r["captureData"]["endpointInput"] for r in records] == [
        {"observedContentType": "text/csv", "mode": "INPUT", "data": row, "encoding": "CSV"} for row in rows]
    assert [r["captureData"]["endpointOutput"]["data"] for r in records] == answers
    assert [r["eventMetadata"]["inferenceId"] for r in records] == ["inference-0", "inference-1", "inference-2"]

    streams = logs.describe_log_streams(logGroupName=f"{GROUP}/{name}")["logStreams"]
    assert len(streams) == 2 and all(s["logStreamName"].startswith("AllTraffic/i-") for s in streams)
    lines = [event["message"] for stream in streams for event in logs.get_log_events(
        logGroupName=f"{GROUP}/{name}", logStreamName=stream["logStreamName"])["events"]]
    assert any("Model loaded successfully for worker" in line for line in lines)
    assert sum('"POST /invocations HTTP/1.1" 200' in line for line in lines) == 3


def test_async_inference(sagemaker: Any, s3: Any, bucket: str, boston: dict[str, Any], emulator: Emulator,
                         unique: Any) -> None:
    a = boston["models"]["a"]
    runtime = make_client("sagemaker-runtime", emulator.endpoint_url)
    config, name = unique("async-cfg"), unique("async-ep")
    _config(sagemaker, config, [("AllTraffic", a["name"], 1, 1.0)], AsyncInferenceConfig={
        "OutputConfig": {"S3OutputPath": f"s3://{bucket}/ep/async-out",
                         "S3FailurePath": f"s3://{bucket}/ep/async-failed"}})
    endpoint = _deploy(sagemaker, name, config)
    assert endpoint["AsyncInferenceConfig"]["OutputConfig"]["S3OutputPath"] == f"s3://{bucket}/ep/async-out"
    s3.put_object(Bucket=bucket, Key="ep/async-in/test.csv", Body=boston["csv"].encode())
    s3.put_object(Bucket=bucket, Key="ep/async-in/bad.csv", Body=b"x,y,z")
    try:
        good = runtime.invoke_endpoint_async(EndpointName=name, ContentType="text/csv",
                                             InputLocation=f"s3://{bucket}/ep/async-in/test.csv")
        bad = runtime.invoke_endpoint_async(EndpointName=name, ContentType="text/csv",
                                            InputLocation=f"s3://{bucket}/ep/async-in/bad.csv", InferenceId="bad-1")
        assert good["OutputLocation"].startswith(f"s3://{bucket}/ep/async-out/")
        assert good["OutputLocation"].endswith(".out") and good["InferenceId"]
        assert bad["InferenceId"] == "bad-1"
        assert bad["FailureLocation"].startswith(f"s3://{bucket}/ep/async-failed/")
        assert bad["FailureLocation"].endswith("-error.out")
        output = _poll(s3, good["OutputLocation"])
        assert output.decode().splitlines() == a["batch"]
        failure = _poll(s3, bad["FailureLocation"]).decode()
        assert failure.startswith("Received client error (415) from primary with message")
        with pytest.raises(ClientError, match="is not an async inference endpoint"):
            plain, plain_config = unique("sync-ep"), unique("sync-cfg")
            _config(sagemaker, plain_config, [("AllTraffic", a["name"], 1, 1.0)])
            _deploy(sagemaker, plain, plain_config)
            try:
                runtime.invoke_endpoint_async(EndpointName=plain, InputLocation=f"s3://{bucket}/ep/async-in/test.csv")
            finally:
                sagemaker.delete_endpoint(EndpointName=plain)
    finally:
        sagemaker.delete_endpoint(EndpointName=name)


def _poll(s3: Any, uri: str, timeout: float = 60) -> bytes:
    deadline = time.time() + timeout
    while True:
        try:
            return _get(s3, uri)
        except ClientError:
            if time.time() > deadline:
                raise
            time.sleep(0.1)


def test_raw_http_invocation_needs_no_signature(emulator: Emulator, sagemaker: Any, boston: dict[str, Any],
                                                unique: Any) -> None:
    """What `curl` does: an unsigned POST to the invocations path answers like the SDK's signed one."""
    import urllib.request

    a = boston["models"]["a"]
    config, name = unique("raw-cfg"), unique("raw-ep")
    _config(sagemaker, config, [("AllTraffic", a["name"], 1, 1.0)])
    _deploy(sagemaker, name, config)
    try:
        request = urllib.request.Request(f"{emulator.endpoint_url}/endpoints/{name}/invocations",
                                         data=boston["csv"].encode(), headers={"Content-Type": "text/csv"},
                                         method="POST")
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.headers["x-Amzn-Invoked-Production-Variant"] == "AllTraffic"
            assert response.read().decode().splitlines() == a["batch"]
    finally:
        sagemaker.delete_endpoint(EndpointName=name)
