"""The reference workflow in plain boto3, with the seed notebook's low-level calls and request dicts.

    python workflow_boto3.py DATA_DIR OUT_DIR ROLE_ARN

Nothing here names the emulator: run it with AWS_ENDPOINT_URL set and it runs offline, unset and it runs on
SageMaker. Prints one JSON line describing what it did.
"""

import json
import os
import sys
from time import gmtime, strftime

import boto3
from botocore.exceptions import ClientError

data_dir, out_dir, role = sys.argv[1:4]
prefix = "boston-xgboost-boto3"
region = boto3.session.Session().region_name
account = boto3.client("sts").get_caller_identity()["Account"]
bucket = f"sagemaker-{region}-{account}"
s3, sagemaker, logs = boto3.client("s3"), boto3.client("sagemaker"), boto3.client("logs")

# The default bucket, created on first use as the SageMaker SDK does.
try:
    s3.head_bucket(Bucket=bucket)
except ClientError:
    s3.create_bucket(Bucket=bucket)

locations = {}
for name in ("test", "validation", "train"):
    s3.upload_file(os.path.join(data_dir, f"{name}.csv"), bucket, f"{prefix}/{name}.csv")
    locations[name] = f"s3://{bucket}/{prefix}/{name}.csv"

container = "811284229777.dkr.ecr.us-east-1.amazonaws.com/xgboost:1"  # get_image_uri(region, 'xgboost')
training_job_name = "boston-xgboost-" + strftime("%Y-%m-%d-%H-%M-%S", gmtime())
training_params = {
    "TrainingJobName": training_job_name,
    "RoleArn": role,
    "AlgorithmSpecification": {"TrainingImage": container, "TrainingInputMode": "File"},
    "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/{prefix}/output"},
    "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m4.xlarge", "VolumeSizeInGB": 5},
    "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
    "HyperParameters": {"max_depth": "5", "eta": "0.2", "gamma": "4", "min_child_weight": "6", "subsample": "0.8",
                        "objective": "reg:linear", "early_stopping_rounds": "10", "num_round": "200"},
    "InputDataConfig": [
        {"ChannelName": channel, "ContentType": "csv", "CompressionType": "None",
         "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": locations[channel],
                                         "S3DataDistributionType": "FullyReplicated"}}}
        for channel in ("train", "validation")
    ],
}
sagemaker.create_training_job(**training_params)
sagemaker.get_waiter("training_job_completed_or_stopped").wait(
    TrainingJobName=training_job_name, WaiterConfig={"Delay": 1, "MaxAttempts": 600})
training_job_info = sagemaker.describe_training_job(TrainingJobName=training_job_name)

# The job's log, as logs_for_job shows it.
streams = logs.describe_log_streams(logGroupName="/aws/sagemaker/TrainingJobs",
                                    logStreamNamePrefix=training_job_name + "/")["logStreams"]
for stream in streams:
    for event in logs.get_log_events(logGroupName="/aws/sagemaker/TrainingJobs",
                                     logStreamName=stream["logStreamName"], startFromHead=True)["events"]:
        print(event["message"])

model_name = training_job_name + "-model"
sagemaker.create_model(ModelName=model_name, ExecutionRoleArn=role, PrimaryContainer={
    "Image": container, "ModelDataUrl": training_job_info["ModelArtifacts"]["S3ModelArtifacts"]})

transform_job_name = "boston-xgboost-batch-transform-" + strftime("%Y-%m-%d-%H-%M-%S", gmtime())
sagemaker.create_transform_job(
    TransformJobName=transform_job_name,
    ModelName=model_name,
    MaxConcurrentTransforms=1,
    MaxPayloadInMB=6,
    BatchStrategy="MultiRecord",
    TransformOutput={"S3OutputPath": f"s3://{bucket}/{prefix}/batch-transform/"},
    TransformInput={"ContentType": "text/csv", "SplitType": "Line",
                    "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": locations["test"]}}},
    TransformResources={"InstanceType": "ml.m4.xlarge", "InstanceCount": 1},
)
sagemaker.get_waiter("transform_job_completed_or_stopped").wait(
    TransformJobName=transform_job_name, WaiterConfig={"Delay": 1, "MaxAttempts": 600})
transform = sagemaker.describe_transform_job(TransformJobName=transform_job_name)

os.makedirs(out_dir, exist_ok=True)
s3.download_file(bucket, f"{prefix}/batch-transform/test.csv.out", os.path.join(out_dir, "test.csv.out"))
print(json.dumps({"training_job": training_job_name, "training_status": training_job_info["TrainingJobStatus"],
                  "model_data": training_job_info["ModelArtifacts"]["S3ModelArtifacts"], "model": model_name,
                  "transform_job": transform_job_name, "transform_status": transform["TransformJobStatus"]}))
