"""The training-job API over real HTTP with boto3: validation, errors, describe, list, stop."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest
from botocore.exceptions import ClientError

from backends.emulator.service_model import service_model
from tests.conftest import ROLE, wait_training
from tests.integration.requests import training_request

UNKNOWN_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-algo:latest"


@pytest.fixture(scope="module")
def train_uri(s3: Any, bucket: str) -> str:
    """A small training channel, so Create's S3 check passes (a few rows: jobs on it end quickly)."""
    rows = "".join(f"{i % 7},{i},{i * 2 % 5},{i % 3}\n" for i in range(40))
    s3.put_object(Bucket=bucket, Key="api/train/train.csv", Body=rows.encode())
    return f"s3://{bucket}/api/train/train.csv"


def _error(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    response = excinfo.value.response
    return response["Error"]["Code"], response["Error"]["Message"], response["ResponseMetadata"]["HTTPStatusCode"]


def _raw_post(endpoint: str, target: str, body: bytes) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(endpoint, data=body, method="POST", headers={
        "X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1"})
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_name_pattern_is_checked_by_the_service(sagemaker: Any, bucket: str) -> None:
    request = training_request("bad_name", bucket, f"s3://{bucket}/x/train.csv")
    with pytest.raises(ClientError) as excinfo:
        sagemaker.create_training_job(**request)
    assert _error(excinfo) == (
        "ValidationException",
        "1 validation error detected: Value 'bad_name' at 'trainingJobName' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}",
        400,
    )


def test_several_violations_are_reported_together(sagemaker: Any, bucket: str, unique: Any) -> None:
    request = training_request(unique("multi"), bucket, f"s3://{bucket}/x/train.csv")
    request["ResourceConfig"]["InstanceType"] = "ml.t2.medium"
    request["AlgorithmSpecification"]["TrainingInputMode"] = "Stream"
    request["TrainingJobName"] = "a" * 64
    with pytest.raises(ClientError) as excinfo:
        sagemaker.create_training_job(**request)
    code, message, _ = _error(excinfo)
    assert code == "ValidationException"
    assert message.startswith("4 validation errors detected: ")  # the long name breaks length and pattern
    assert "at 'trainingJobName' failed to satisfy constraint: Member must have length less than or equal to 63" \
        in message
    assert "Value 'ml.t2.medium' at 'resourceConfig.instanceType' failed to satisfy constraint: " \
        "Member must satisfy enum value set: [" in message
    assert "Value 'Stream' at 'algorithmSpecification.trainingInputMode'" in message


def test_list_members_and_map_values_are_checked(sagemaker: Any, bucket: str, unique: Any) -> None:
    request = training_request(unique("hp"), bucket, f"s3://{bucket}/x/train.csv")
    request["HyperParameters"]["long"] = "x" * 2501
    request["InputDataConfig"][0]["ChannelName"] = "bad channel"
    with pytest.raises(ClientError) as excinfo:
        sagemaker.create_training_job(**request)
    _, message, _ = _error(excinfo)
    assert "at 'hyperParameters' failed to satisfy constraint: Map value must satisfy constraint: " \
        "[Member must have length less than or equal to 2500]" in message
    assert "Value 'bad channel' at 'inputDataConfig.1.member.channelName'" in message


def test_a_job_on_instances_needs_its_algorithm_and_resources(sagemaker: Any, bucket: str, unique: Any) -> None:
    request = training_request(unique("noalgo"), bucket, f"s3://{bucket}/x/train.csv")
    del request["AlgorithmSpecification"]
    del request["ResourceConfig"]["VolumeSizeInGB"]
    with pytest.raises(ClientError) as excinfo:
        sagemaker.create_training_job(**request)
    assert _error(excinfo)[1] == (
        "2 validation errors detected: Value null at 'algorithmSpecification' failed to satisfy constraint: "
        "Member must not be null; Value null at 'resourceConfig.volumeSizeInGB' failed to satisfy constraint: "
        "Member must not be null"
    )


def test_missing_job_is_a_validation_exception(sagemaker: Any) -> None:
    for call in (sagemaker.describe_training_job, sagemaker.stop_training_job):
        with pytest.raises(ClientError) as excinfo:
            call(TrainingJobName="no-such-job")
        assert _error(excinfo) == ("ValidationException", "Requested resource not found.", 400)


def test_duplicate_name_is_resource_in_use(sagemaker: Any, bucket: str, train_uri: str, unique: Any) -> None:
    name = unique("dup")
    request = training_request(name, bucket, train_uri)
    arn = sagemaker.create_training_job(**request)["TrainingJobArn"]
    with pytest.raises(sagemaker.exceptions.ResourceInUse) as excinfo:
        sagemaker.create_training_job(**request)
    assert excinfo.value.response["Error"]["Message"] == (
        "Training job names must be unique within an AWS account and region, and a training job with this name "
        f"already exists ({arn})"
    )
    # Names are case-insensitive, as in SageMaker.
    with pytest.raises(sagemaker.exceptions.ResourceInUse):
        sagemaker.create_training_job(**{**request, "TrainingJobName": name.upper()})


def test_describe_is_complete_from_the_first_call(sagemaker: Any, bucket: str, train_uri: str, unique: Any) -> None:
    name = unique("first")
    request = training_request(name, bucket, train_uri)
    sagemaker.create_training_job(**request)
    job = sagemaker.describe_training_job(TrainingJobName=name)
    assert job["TrainingJobStatus"] == "InProgress"
    assert job["ModelArtifacts"]["S3ModelArtifacts"] == (
        f"s3://{bucket}/boston-xgboost-LL/output/{name}/output/model.tar.gz")
    assert job["TrainingJobArn"] == f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{name}"
    for member in ("CreationTime", "LastModifiedTime", "SecondaryStatusTransitions", "HyperParameters",
                   "AlgorithmSpecification", "RoleArn", "InputDataConfig", "OutputDataConfig", "ResourceConfig",
                   "StoppingCondition"):
        assert member in job, member
    assert all("StatusMessage" in t for t in job["SecondaryStatusTransitions"])
    assert job["HyperParameters"] == request["HyperParameters"]
    assert any(d["Name"] == "validation:rmse" for d in job["AlgorithmSpecification"]["MetricDefinitions"])


def _no_objects(uri: str, bucket: str) -> str:
    return (f'No S3 objects found under S3 URL "{uri}" given in input data source. Please ensure that the bucket '
            'exists in the selected region (us-east-1), that objects exist under that S3 prefix, and that the role '
            f'"{ROLE}" has "s3:ListBucket" permissions on bucket "{bucket}".')


def _refused_and_not_created(sagemaker: Any, request: dict[str, Any], uri: str, bucket: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        sagemaker.create_training_job(**request)
    assert _error(excinfo) == ("ValidationException", _no_objects(uri, bucket), 400)
    name = request["TrainingJobName"]
    with pytest.raises(ClientError) as missing:
        sagemaker.describe_training_job(TrainingJobName=name)
    assert _error(missing)[1] == "Requested resource not found."
    assert sagemaker.list_training_jobs(NameContains=name)["TrainingJobSummaries"] == []


def test_an_input_with_no_objects_is_refused_at_create(sagemaker: Any, bucket: str, train_uri: str,
                                                       unique: Any) -> None:
    """As SageMaker does, CreateTrainingJob itself fails, and no job exists; every channel is checked."""
    empty = f"s3://{bucket}/nothing-here/train.csv"
    _refused_and_not_created(sagemaker, training_request(unique("nodata"), bucket, empty), empty, bucket)
    request = training_request(unique("noval"), bucket, train_uri, validation_uri=empty)
    _refused_and_not_created(sagemaker, request, empty, bucket)
    # Pipe mode reads the same S3 data, and is checked the same way.
    request = training_request(unique("pipe"), bucket, empty)
    request["AlgorithmSpecification"]["TrainingInputMode"] = "Pipe"
    _refused_and_not_created(sagemaker, request, empty, bucket)


def test_an_input_in_a_missing_bucket_is_refused_at_create(sagemaker: Any, bucket: str, unique: Any) -> None:
    uri = "s3://no-such-bucket-for-inputs/train/"
    _refused_and_not_created(sagemaker, training_request(unique("nobucket"), bucket, uri), uri,
                             "no-such-bucket-for-inputs")


def test_a_manifest_input_is_checked_for_the_manifest_object(sagemaker: Any, s3: Any, bucket: str,
                                                             train_uri: str, unique: Any) -> None:
    """A ManifestFile's URL names the manifest: it must exist at Create; its entries are read when the job runs."""
    manifest = f"s3://{bucket}/api/manifests/{unique('m')}.manifest"
    request = training_request(unique("manifest"), bucket, manifest)
    request["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3DataType"] = "ManifestFile"
    _refused_and_not_created(sagemaker, request, manifest, bucket)
    key = manifest.removeprefix(f"s3://{bucket}/")
    s3.put_object(Bucket=bucket, Key=key, Body=f'[{{"prefix": "s3://{bucket}/api/train/"}}, "train.csv"]'.encode())
    assert sagemaker.create_training_job(**request)["TrainingJobArn"].endswith(request["TrainingJobName"])


def test_unknown_image_fails_the_job_with_a_client_error(sagemaker: Any, bucket: str, train_uri: str,
                                                        unique: Any) -> None:
    name = unique("image")
    request = training_request(name, bucket, train_uri, image=UNKNOWN_IMAGE)
    sagemaker.create_training_job(**request)
    job = wait_training(sagemaker, name)
    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith("ClientError: The emulator cannot run image "
                                           "'123456789012.dkr.ecr.us-east-1.amazonaws.com/my-algo:latest'")


def test_responses_satisfy_the_output_shapes(sagemaker: Any, bucket: str, train_uri: str, unique: Any) -> None:
    """Every Describe we answer must itself pass the model's constraints (strict SDKs parse them)."""
    from botocore.validate import ParamValidator

    name = unique("shape")
    sagemaker.create_training_job(**training_request(name, bucket, train_uri, image=UNKNOWN_IMAGE))
    job = wait_training(sagemaker, name)
    job.pop("ResponseMetadata")
    shape = service_model("sagemaker").shape_for("DescribeTrainingJobResponse")
    report = ParamValidator().validate(job, shape)
    assert not report.has_errors(), report.generate_report()


def test_list_filters_sorts_and_paginates(sagemaker: Any, bucket: str, train_uri: str, unique: Any) -> None:
    stem = unique("lst")
    names = [f"{stem}-{i}" for i in range(5)]
    for name in names:  # jobs of an image the emulator cannot run: they fail at once
        sagemaker.create_training_job(**training_request(name, bucket, train_uri, image=UNKNOWN_IMAGE))
    pages = sagemaker.get_paginator("list_training_jobs").paginate(
        NameContains=stem, SortBy="Name", SortOrder="Descending", PaginationConfig={"PageSize": 2})
    listed = [s["TrainingJobName"] for page in pages for s in page["TrainingJobSummaries"]]
    assert listed == sorted(names, reverse=True)
    first = sagemaker.list_training_jobs(NameContains=stem, MaxResults=2)
    assert [s["TrainingJobName"] for s in first["TrainingJobSummaries"]] == names[:2]
    assert "NextToken" in first
    last = sagemaker.list_training_jobs(NameContains=stem, MaxResults=5)
    assert "NextToken" not in last
    for name in names:
        wait_training(sagemaker, name)
    failed = sagemaker.list_training_jobs(NameContains=stem, StatusEquals="Failed")["TrainingJobSummaries"]
    assert len(failed) == 5
    assert sagemaker.list_training_jobs(NameContains=stem, StatusEquals="Completed")["TrainingJobSummaries"] == []
    with pytest.raises(ClientError) as excinfo:
        sagemaker.list_training_jobs(NameContains="other", NextToken=first["NextToken"])
    assert _error(excinfo)[0] == "ValidationException"


def test_raw_protocol_errors_are_4xx_and_aws_shaped(emulator: Any) -> None:
    endpoint = emulator.endpoint_url
    status, body = _raw_post(endpoint, "SageMaker.DescribeTrainingJob", b"{not json")
    assert status == 400 and body["__type"] == "SerializationException"
    status, body = _raw_post(endpoint, "SageMaker.DescribeTrainingJob", b'{"TrainingJobName": 5}')
    assert status == 400 and body["__type"] == "SerializationException"
    status, body = _raw_post(endpoint, "SageMaker.NoSuchOperation", b"{}")
    assert status == 400 and body["__type"] == "UnknownOperationException"
    status, body = _raw_post(endpoint, "SageMaker.CreateProcessingJob", b"{}")
    assert status == 400 and "does not implement SageMaker.CreateProcessingJob" in body["message"]
    status, body = _raw_post(endpoint, "SageMaker.DescribeTrainingJob", b"[]")
    assert status == 400 and body["__type"] == "SerializationException"
