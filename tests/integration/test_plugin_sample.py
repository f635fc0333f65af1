"""A user's test, written only with the plugin's fixtures (docs/usage.md shows this same test)."""

from __future__ import annotations

import io
import time
from typing import Any

from fixtures.datasets import load_boston


def test_my_model_trains_and_predicts(harness_sagemaker: Any, harness_s3: Any, harness_runtime: Any,
                                      harness_bucket: str, harness_role: str, harness_image: Any) -> None:
    features, label = load_boston()
    train = io.StringIO()
    features.assign(MEDV=label)[["MEDV", *features.columns]].to_csv(train, header=False, index=False)
    harness_s3.put_object(Bucket=harness_bucket, Key="data/train.csv", Body=train.getvalue().encode())
    name = f"my-model-{int(time.time() * 1000)}"
    harness_sagemaker.create_training_job(
        TrainingJobName=name,
        RoleArn=harness_role,
        AlgorithmSpecification={"TrainingImage": harness_image("1.7-1"), "TrainingInputMode": "File"},
        HyperParameters={"objective": "reg:squarederror", "num_round": "20"},
        InputDataConfig=[{"ChannelName": "train", "ContentType": "text/csv", "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": f"s3://{harness_bucket}/data/train.csv"}}}],
        OutputDataConfig={"S3OutputPath": f"s3://{harness_bucket}/output"},
        ResourceConfig={"InstanceType": "ml.m4.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 5},
        StoppingCondition={"MaxRuntimeInSeconds": 3600},
    )
    harness_sagemaker.get_waiter("training_job_completed_or_stopped").wait(
        TrainingJobName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 600})
    job = harness_sagemaker.describe_training_job(TrainingJobName=name)
    assert job["TrainingJobStatus"] == "Completed"
    artifact = job["ModelArtifacts"]["S3ModelArtifacts"]
    assert artifact == f"s3://{harness_bucket}/output/{name}/output/model.tar.gz"
    assert harness_s3.head_object(Bucket=harness_bucket, Key=f"output/{name}/output/model.tar.gz")["ContentLength"]

    # Deploy it and ask the endpoint about the first house.
    harness_sagemaker.create_model(ModelName=name, ExecutionRoleArn=harness_role, PrimaryContainer={
        "Image": harness_image("1.7-1"), "ModelDataUrl": artifact})
    harness_sagemaker.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": name, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}])
    harness_sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name)
    harness_sagemaker.get_waiter("endpoint_in_service").wait(EndpointName=name,
                                                             WaiterConfig={"Delay": 1, "MaxAttempts": 300})
    answer = harness_runtime.invoke_endpoint(EndpointName=name, ContentType="text/csv",
                                             Body=features.head(1).to_csv(header=False, index=False))
    assert 5 < float(answer["Body"].read()) < 50  # a house price in $1000s, as the Boston data has them
    harness_sagemaker.delete_endpoint(EndpointName=name)
