"""The tuning tests' shared parts: the Boston channels, a tuning job's request, waiting for it, its children and
what each child logged."""

from __future__ import annotations

import re
import time
from typing import Any

import pandas as pd
from sklearn.model_selection import train_test_split

from tests.conftest import ROLE, XGB_17, boston_frames, upload_csv

TERMINAL = ("Completed", "Failed", "Stopped")
RANGES = {
    "IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "3", "MaxValue": "12"}],
    "ContinuousParameterRanges": [
        {"Name": "eta", "MinValue": "0.05", "MaxValue": "0.5"},
        {"Name": "min_child_weight", "MinValue": "2", "MaxValue": "8"},
        {"Name": "subsample", "MinValue": "0.5", "MaxValue": "0.9", "ScalingType": "Logarithmic"},
    ],
}


def boston_channels(s3: Any, bucket: str) -> list[dict[str, Any]]:
    features, label = boston_frames()
    x_train, x_val, y_train, y_val = train_test_split(features, label, test_size=0.33, random_state=0)
    train = upload_csv(s3, bucket, "tune/train.csv", pd.concat([y_train, x_train], axis=1))
    validation = upload_csv(s3, bucket, "tune/validation.csv", pd.concat([y_val, x_val], axis=1))
    return [{"ChannelName": name, "ContentType": "csv", "DataSource": {"S3DataSource": {
        "S3DataType": "S3Prefix", "S3Uri": uri, "S3DataDistributionType": "FullyReplicated"}}}
        for name, uri in (("train", train), ("validation", validation))]


def tuning_request(name: str, bucket: str, channels: list[dict[str, Any]], strategy: str, ranges: dict[str, Any],
             most: int | None, parallel: int, **config: Any) -> dict[str, Any]:
    limits: dict[str, Any] = {"MaxParallelTrainingJobs": parallel}
    if most is not None:
        limits["MaxNumberOfTrainingJobs"] = most
    return {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": {
            "Strategy": strategy, "ResourceLimits": limits, "ParameterRanges": ranges,
            "HyperParameterTuningJobObjective": {"MetricName": "validation:rmse", "Type": "Minimize"}, **config},
        "TrainingJobDefinition": {
            "StaticHyperParameters": {"num_round": "40", "objective": "reg:squarederror"},
            "AlgorithmSpecification": {"TrainingImage": XGB_17, "TrainingInputMode": "File"},
            "RoleArn": ROLE, "InputDataConfig": channels,
            "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/tune/output"},
            "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m4.xlarge", "VolumeSizeInGB": 5},
            "StoppingCondition": {"MaxRuntimeInSeconds": 3600}},
    }


def wait_tuning(sagemaker: Any, name: str, timeout: float = 300) -> dict[str, Any]:
    deadline = time.time() + timeout
    while time.time() < deadline:
        job: dict[str, Any] = sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
        if job["HyperParameterTuningJobStatus"] in TERMINAL:
            return job
        time.sleep(0.3)
    raise AssertionError(f"tuning job {name} did not end in {timeout} s")


def children_of(sagemaker: Any, name: str) -> list[dict[str, Any]]:
    pages = sagemaker.get_paginator("list_training_jobs_for_hyper_parameter_tuning_job").paginate(
        HyperParameterTuningJobName=name, PaginationConfig={"PageSize": 3})
    return [summary for page in pages for summary in page["TrainingJobSummaries"]]




_ROUND = re.compile(r"\[(\d+)\]#011.*validation-rmse:([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)")


def logged_rmse(logs: Any, child: str) -> list[float]:
    """The child's validation-rmse at each round, as its CloudWatch log stream shows it."""
    group = "/aws/sagemaker/TrainingJobs"
    streams = logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=f"{child}/")["logStreams"]
    assert len(streams) == 1, streams
    values: dict[int, float] = {}
    kwargs: dict[str, Any] = {"logGroupName": group, "logStreamName": streams[0]["logStreamName"],
                              "startFromHead": True}
    while True:
        page = logs.get_log_events(**kwargs)
        for event in page["events"]:
            match = _ROUND.search(event["message"])
            if match:
                values[int(match.group(1))] = float(match.group(2))
        if not page["events"] or page.get("nextForwardToken") == kwargs.get("nextToken"):
            break
        kwargs["nextToken"] = page["nextForwardToken"]
    assert sorted(values) == list(range(len(values))), "rounds are logged in order from 0"
    return [values[round_] for round_ in sorted(values)]
