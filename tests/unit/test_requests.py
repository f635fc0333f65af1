"""The request builders: the seed's exact dicts, valid against the botocore model."""

from __future__ import annotations

from botocore.validate import ParamValidator

from backends.emulator.service_model import service_model
from harness.requests import (
    SEED_HYPERPARAMETERS,
    TrainingConfig,
    TransformConfig,
    model_request,
    training_job_request,
    transform_job_request,
)

IMAGE = "811284229777.dkr.ecr.us-east-1.amazonaws.com/xgboost:1"
ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"


def _valid(operation: str, request: dict[str, object]) -> None:
    shape = service_model("sagemaker").operation_model(operation).input_shape
    report = ParamValidator().validate(request, shape)
    assert not report.has_errors(), report.generate_report()


def test_training_request_is_the_seeds() -> None:
    request = training_job_request(TrainingConfig(
        job_name="boston-xgboost-2026-01-01-00-00-00", image=IMAGE, role=ROLE,
        output_path="s3://bucket/boston-xgboost-LL/output", train_uri="s3://bucket/boston-xgboost-LL/train.csv",
        validation_uri="s3://bucket/boston-xgboost-LL/validation.csv"))
    assert request == {
        "TrainingJobName": "boston-xgboost-2026-01-01-00-00-00",
        "RoleArn": ROLE,
        "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        "OutputDataConfig": {"S3OutputPath": "s3://bucket/boston-xgboost-LL/output"},
        "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m4.xlarge", "VolumeSizeInGB": 5},
        "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
        "HyperParameters": SEED_HYPERPARAMETERS,
        "InputDataConfig": [
            {"ChannelName": "train",
             "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                             "S3Uri": "s3://bucket/boston-xgboost-LL/train.csv",
                                             "S3DataDistributionType": "FullyReplicated"}},
             "ContentType": "csv", "CompressionType": "None"},
            {"ChannelName": "validation",
             "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                             "S3Uri": "s3://bucket/boston-xgboost-LL/validation.csv",
                                             "S3DataDistributionType": "FullyReplicated"}},
             "ContentType": "csv", "CompressionType": "None"},
        ],
    }
    _valid("CreateTrainingJob", request)


def test_transform_request_is_the_seeds() -> None:
    request = transform_job_request(TransformConfig(
        job_name="boston-xgboost-batch-transform-1", model_name="m", input_uri="s3://b/p/test.csv",
        output_path="s3://b/p/batch-transform/"))
    assert request == {
        "TransformJobName": "boston-xgboost-batch-transform-1",
        "ModelName": "m",
        "MaxConcurrentTransforms": 1,
        "MaxPayloadInMB": 6,
        "BatchStrategy": "MultiRecord",
        "TransformOutput": {"S3OutputPath": "s3://b/p/batch-transform/"},
        "TransformInput": {"ContentType": "text/csv", "SplitType": "Line",
                           "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/p/test.csv"}}},
        "TransformResources": {"InstanceType": "ml.m4.xlarge", "InstanceCount": 1},
    }
    _valid("CreateTransformJob", request)


def test_transform_options_appear_only_when_set() -> None:
    request = transform_job_request(TransformConfig(
        job_name="t", model_name="m", input_uri="s3://b/p/", output_path="s3://b/o/", accept="text/csv",
        assemble_with="Line", input_filter="$[1:]", join_source="Input", output_filter="$[0,-1]"))
    assert request["TransformOutput"] == {"S3OutputPath": "s3://b/o/", "Accept": "text/csv", "AssembleWith": "Line"}
    assert request["DataProcessing"] == {"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$[0,-1]"}
    _valid("CreateTransformJob", request)


def test_model_request() -> None:
    request = model_request("m-model", IMAGE, "s3://b/p/output/job/output/model.tar.gz", ROLE)
    assert request == {"ModelName": "m-model", "ExecutionRoleArn": ROLE,
                       "PrimaryContainer": {"Image": IMAGE,
                                            "ModelDataUrl": "s3://b/p/output/job/output/model.tar.gz",
                                            "Environment": {}}}
    _valid("CreateModel", request)


def test_local_differs_only_in_instance_type() -> None:
    common = {"job_name": "j", "image": IMAGE, "role": ROLE, "output_path": "s3://b/o", "train_uri": "s3://b/t"}
    cloud = training_job_request(TrainingConfig(**common))  # type: ignore[arg-type]
    local = training_job_request(TrainingConfig(**common, instance_type="local"))  # type: ignore[arg-type]
    assert {k: v for k, v in cloud.items() if k != "ResourceConfig"} == \
        {k: v for k, v in local.items() if k != "ResourceConfig"}
    assert local["ResourceConfig"]["InstanceType"] == "local"
