"""Warm start over real HTTP with boto3: a tuning job that starts from its parents' results, the overall best
child across them, and the rules the API documents for parents."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.tuning_flow import RANGES, boston_channels, children_of, tuning_request, wait_tuning


@pytest.fixture(scope="module")
def channels(s3: Any, bucket: str) -> list[dict[str, Any]]:
    return boston_channels(s3, bucket)


def _objective(summary: dict[str, Any]) -> float:
    return float(summary["FinalHyperParameterTuningJobObjectiveMetric"]["Value"])


def test_warm_start_from_a_parent(sagemaker: Any, bucket: str, channels: list[dict[str, Any]], unique: Any) -> None:
    parent = unique("parent")[-32:].strip("-")
    sagemaker.create_hyper_parameter_tuning_job(**tuning_request(parent, bucket, channels, "Random", RANGES, 4, 2,
                                                                 RandomSeed=1))
    parent_job = wait_tuning(sagemaker, parent)
    assert parent_job["HyperParameterTuningJobStatus"] == "Completed"

    child = unique("warm")[-32:].strip("-")
    # eta moves from tuned to static: allowed, as long as the names (tuned plus static) stay the same.
    ranges = copy.deepcopy(RANGES)
    ranges["ContinuousParameterRanges"] = [r for r in ranges["ContinuousParameterRanges"] if r["Name"] != "eta"]
    request = tuning_request(child, bucket, channels, "Bayesian", ranges, 3, 1, RandomSeed=2)
    request["TrainingJobDefinition"]["StaticHyperParameters"]["eta"] = "0.2"
    request["WarmStartConfig"] = {"ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": parent}],
                                  "WarmStartType": "IdenticalDataAndAlgorithm"}
    sagemaker.create_hyper_parameter_tuning_job(**request)
    job = wait_tuning(sagemaker, child)
    assert job["HyperParameterTuningJobStatus"] == "Completed", job.get("FailureReason")
    assert job["WarmStartConfig"] == request["WarmStartConfig"]
    own, theirs = children_of(sagemaker, child), children_of(sagemaker, parent)
    assert len(own) == 3 and len(theirs) == 4
    assert job["BestTrainingJob"]["TrainingJobName"] == min(own, key=_objective)["TrainingJobName"]
    # "the training job with the best objective metric value of all training jobs launched by this tuning job and
    # all parent jobs" (OverallBestTrainingJob's documentation)
    assert job["OverallBestTrainingJob"]["TrainingJobName"] == min(own + theirs, key=_objective)["TrainingJobName"]

    transfer = unique("transfer")[-32:].strip("-")
    other_data = [dict(channel) for channel in channels]
    other_data[1] = channels[0] | {"ChannelName": "validation"}  # validate on the training data: new data
    request = tuning_request(transfer, bucket, other_data, "Bayesian", RANGES, 1, 1)
    request["WarmStartConfig"] = {"ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": parent},
                                                                     {"HyperParameterTuningJobName": child}],
                                  "WarmStartType": "TransferLearning"}
    sagemaker.create_hyper_parameter_tuning_job(**request)
    job = wait_tuning(sagemaker, transfer)
    assert job["HyperParameterTuningJobStatus"] == "Completed"
    assert "OverallBestTrainingJob" not in job  # documented for IdenticalDataAndAlgorithm only


def test_warm_start_rules(sagemaker: Any, bucket: str, channels: list[dict[str, Any]], unique: Any) -> None:
    def refused(request: dict[str, Any], text: str, code: str = "ValidationException") -> None:
        with pytest.raises(ClientError) as error:
            sagemaker.create_hyper_parameter_tuning_job(**request)
        assert error.value.response["Error"]["Code"] == code
        assert text in error.value.response["Error"]["Message"]

    def warm(parent: str, kind: str = "IdenticalDataAndAlgorithm", **changes: Any) -> dict[str, Any]:
        request = tuning_request(unique("w")[-32:].strip("-"), bucket, channels, "Random", RANGES, 1, 1)
        request["TrainingJobDefinition"].update(changes)
        request["WarmStartConfig"] = {"ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": parent}],
                                      "WarmStartType": kind}
        return request

    refused(warm("no-such-parent"), "can't find a tuning job called no-such-parent", code="ResourceNotFound")
    running = unique("running")[-32:].strip("-")
    slow = tuning_request(running, bucket, channels, "Random", RANGES, 3, 1)
    slow["TrainingJobDefinition"]["StaticHyperParameters"]["num_round"] = "2000"
    sagemaker.create_hyper_parameter_tuning_job(**slow)
    refused(warm(running), "a warm start takes Completed or Stopped tuning jobs only")
    sagemaker.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName=running)
    wait_tuning(sagemaker, running)
    definition = tuning_request(running, bucket, channels, "Random", RANGES, 1, 1)["TrainingJobDefinition"]
    more_static = dict(definition["StaticHyperParameters"], gamma="1")
    refused(warm(running, StaticHyperParameters=more_static),
            "The set of tunable plus static HyperParameter names is not the same across current and parent tuning "
            "jobs. Please ensure this set is constant when warm starting. Note that previously static "
            "HyperParameters can be tuned in warm start jobs and vice versa.")
    other_image = dict(definition["AlgorithmSpecification"],
                       TrainingImage="683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.5-1")
    refused(warm(running, AlgorithmSpecification=other_image), "needs the same training image and input data")
    sagemaker.create_hyper_parameter_tuning_job(**warm(running, "TransferLearning",
                                                       AlgorithmSpecification=other_image))
