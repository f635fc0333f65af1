"""Hyperparameter tuning jobs over real HTTP with boto3: the Boston "Hyperparameter Tuning — low level" flow,
whose children are real training jobs the emulator trains, Grid and Random search, a stop, and the rules."""

from __future__ import annotations

import itertools
import re
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.tuning_flow import RANGES, TERMINAL, boston_channels, children_of, tuning_request, wait_tuning


@pytest.fixture(scope="module")
def channels(s3: Any, bucket: str) -> list[dict[str, Any]]:
    return boston_channels(s3, bucket)


def test_boston_bayesian_tuning_low_level(sagemaker: Any, bucket: str, channels: list[dict[str, Any]],
                                          unique: Any) -> None:
    name = unique("bayes")[-32:].strip("-")
    sagemaker.create_hyper_parameter_tuning_job(**tuning_request(name, bucket, channels, "Bayesian", RANGES, 7, 3,
                                                           RandomSeed=7))
    job = wait_tuning(sagemaker, name)
    assert job["HyperParameterTuningJobStatus"] == "Completed", job.get("FailureReason")
    assert job["TrainingJobStatusCounters"]["Completed"] == 7
    assert job["ObjectiveStatusCounters"] == {"Succeeded": 7, "Pending": 0, "Failed": 0}
    assert job["TrainingJobDefinition"]["StaticHyperParameters"]["_tuning_objective_metric"] == "validation:rmse"
    children = children_of(sagemaker, name)
    assert len(children) == 7
    numbers = sorted(int(re.fullmatch(rf"{name}-(\d{{3}})-[0-9a-f]{{8}}", c["TrainingJobName"]).group(1))  # type: ignore[union-attr]
                     for c in children)
    assert numbers == list(range(1, 8))
    # Each child is created when it is launched: in launch order, the fourth once one of the first three ended.
    by_number = sorted(children, key=lambda c: c["TrainingJobName"].rsplit("-", 2)[1])
    created = [c["CreationTime"] for c in by_number]
    assert created == sorted(created) and len(set(created)) == 7
    assert by_number[3]["CreationTime"] >= min(c["TrainingEndTime"] for c in by_number[:3])
    for child in children:
        described = sagemaker.describe_training_job(TrainingJobName=child["TrainingJobName"])
        assert described["TuningJobArn"] == job["HyperParameterTuningJobArn"]
        tuned = child["TunedHyperParameters"]
        assert described["HyperParameters"] == {**job["TrainingJobDefinition"]["StaticHyperParameters"], **tuned}
        assert 3 <= int(tuned["max_depth"]) <= 12
        assert 0.05 <= float(tuned["eta"]) <= 0.5 and 2 <= float(tuned["min_child_weight"]) <= 8
        assert 0.5 <= float(tuned["subsample"]) <= 0.9
        # The objective is the child's own last validation:rmse, as its FinalMetricDataList reports it.
        final = {m["MetricName"]: m["Value"] for m in described["FinalMetricDataList"]}
        assert child["FinalHyperParameterTuningJobObjectiveMetric"] == {"MetricName": "validation:rmse",
                                                                       "Value": final["validation:rmse"]}
    best = min(children, key=lambda c: c["FinalHyperParameterTuningJobObjectiveMetric"]["Value"])
    assert job["BestTrainingJob"]["TrainingJobName"] == best["TrainingJobName"]
    assert job["BestTrainingJob"]["TunedHyperParameters"] == best["TunedHyperParameters"]
    listed = sagemaker.list_hyper_parameter_tuning_jobs(NameContains=name)["HyperParameterTuningJobSummaries"]
    assert [(s["HyperParameterTuningJobName"], s["Strategy"]) for s in listed] == [(name, "Bayesian")]
    by_objective = sagemaker.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name, SortBy="FinalObjectiveMetricValue", SortOrder="Ascending")
    assert by_objective["TrainingJobSummaries"][0]["TrainingJobName"] == best["TrainingJobName"]


def test_grid_covers_every_combination(sagemaker: Any, bucket: str, channels: list[dict[str, Any]],
                                       unique: Any) -> None:
    name = unique("grid")[-32:].strip("-")
    ranges = {"CategoricalParameterRanges": [{"Name": "max_depth", "Values": ["2", "4", "6"]},
                                             {"Name": "eta", "Values": ["0.1", "0.3"]}]}
    sagemaker.create_hyper_parameter_tuning_job(**tuning_request(name, bucket, channels, "Grid", ranges, None, 2))
    job = wait_tuning(sagemaker, name)
    assert job["HyperParameterTuningJobStatus"] == "Completed"
    assert job["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxNumberOfTrainingJobs"] == 6
    points = sorted((c["TunedHyperParameters"]["max_depth"], c["TunedHyperParameters"]["eta"])
                    for c in children_of(sagemaker, name))
    assert points == sorted(itertools.product(["2", "4", "6"], ["0.1", "0.3"]))


def test_random_search_is_reproducible_with_its_seed(sagemaker: Any, bucket: str, channels: list[dict[str, Any]],
                                                     unique: Any) -> None:
    runs = []
    for _ in range(2):
        name = unique("rand")[-32:].strip("-")
        sagemaker.create_hyper_parameter_tuning_job(**tuning_request(name, bucket, channels, "Random", RANGES, 4, 2,
                                                               RandomSeed=42))
        assert wait_tuning(sagemaker, name)["HyperParameterTuningJobStatus"] == "Completed"
        children = sorted(children_of(sagemaker, name), key=lambda c: c["TrainingJobName"].rsplit("-", 2)[1])
        runs.append([c["TunedHyperParameters"] for c in children])
    assert runs[0] == runs[1]
    assert len({tuple(sorted(point.items())) for point in runs[0]}) == 4


def test_stop_stops_every_running_child(sagemaker: Any, bucket: str, channels: list[dict[str, Any]],
                                        unique: Any) -> None:
    name = unique("stop")[-32:].strip("-")
    request = tuning_request(name, bucket, channels, "Random", RANGES, 50, 2)
    request["TrainingJobDefinition"]["StaticHyperParameters"]["num_round"] = "3000"
    sagemaker.create_hyper_parameter_tuning_job(**request)
    deadline = time.time() + 60
    while not any(c["TrainingJobStatus"] == "InProgress" for c in children_of(sagemaker, name)):
        assert time.time() < deadline
        time.sleep(0.1)
    sagemaker.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    assert sagemaker.describe_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name)["HyperParameterTuningJobStatus"] in ("Stopping", "Stopped")
    job = wait_tuning(sagemaker, name)
    assert job["HyperParameterTuningJobStatus"] == "Stopped"
    children = children_of(sagemaker, name)
    assert children and len(children) < 50
    assert all(c["TrainingJobStatus"] in TERMINAL for c in children)
    assert any(c["TrainingJobStatus"] == "Stopped" for c in children)
    with pytest.raises(ClientError, match="in status Stopped"):
        sagemaker.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)


def test_the_rules_and_their_texts(sagemaker: Any, bucket: str, channels: list[dict[str, Any]], unique: Any) -> None:
    def refused(request: dict[str, Any], text: str, code: str = "ValidationException") -> None:
        with pytest.raises(ClientError) as error:
            sagemaker.create_hyper_parameter_tuning_job(**request)
        assert error.value.response["Error"]["Code"] == code
        assert text in error.value.response["Error"]["Message"]

    name = unique("rules")[-32:].strip("-")
    inverted = {"IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "9", "MaxValue": "3"}]}
    refused(tuning_request(name, bucket, channels, "Random", inverted, 2, 1),
            "The MinValue (9) of hyperparameter max_depth must be less than or equal to its MaxValue (3).")
    static = {"IntegerParameterRanges": [{"Name": "num_round", "MinValue": "3", "MaxValue": "9"}]}
    refused(tuning_request(name, bucket, channels, "Random", static, 2, 1), "are both tuned")
    request = tuning_request(name, bucket, channels, "Random", RANGES, 2, 1)
    request["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]["MetricName"] = "validation:nope"
    refused(request, "A metric is required for this hyperparameter tuning job objective. Provide a metric in the "
                     "metric definitions.")
    refused(tuning_request(name, bucket, channels, "Grid", RANGES, None, 1), "The Grid strategy takes categorical")
    refused(tuning_request(name, bucket, channels, "Random", RANGES, 2, 3), "MaxParallelTrainingJobs (3) must be")
    small = {"CategoricalParameterRanges": [{"Name": "max_depth", "Values": ["2", "4", "6"]}]}
    refused(tuning_request(name, bucket, channels, "Bayesian", small, 10, 1),
            "You don't have enough combinations of hyperparameter ranges. The total number of hyperparameter "
            "combinations for the provided ranges [3.0] must be equal or greater than the value of MaxNumberOfJobs, "
            "[10]. Provide additional ranges.")
    log_zero = {"ContinuousParameterRanges": [{"Name": "eta", "MinValue": "0", "MaxValue": "1",
                                               "ScalingType": "Logarithmic"}]}
    refused(tuning_request(name, bucket, channels, "Random", log_zero, 2, 1), "its MinValue must be greater than 0")
    # XGBoost's rounds are num_round, which Hyperband does not infer MaxResource from (the API's documentation).
    refused(tuning_request(name, bucket, channels, "Hyperband", RANGES, 2, 1), "could not infer MaxResource")
    refused(tuning_request(name, bucket, channels, "Hyperband", RANGES, 2, 1, TrainingJobEarlyStoppingType="Auto",
                     StrategyConfig={"HyperbandStrategyConfig": {"MaxResource": 10}}),
            "TrainingJobEarlyStoppingType must be Off to use Hyperband")
    refused(tuning_request(name, bucket, channels, "Random", RANGES, 2, 1,
                     StrategyConfig={"HyperbandStrategyConfig": {"MaxResource": 10}}), "only with the Hyperband")
    missing = [dict(channels[0], DataSource={"S3DataSource": {"S3DataType": "S3Prefix",
                                                              "S3Uri": f"s3://{bucket}/tune/nothing-here/"}})]
    refused(tuning_request(name, bucket, missing, "Random", RANGES, 2, 1), "No S3 objects found under S3 URL")
    no_instances = tuning_request(name, bucket, channels, "Random", RANGES, 2, 1)
    del no_instances["TrainingJobDefinition"]["ResourceConfig"]
    refused(no_instances, "resourceConfig")
    sagemaker.create_hyper_parameter_tuning_job(**tuning_request(name, bucket, channels, "Random", RANGES, 1, 1))
    refused(tuning_request(name, bucket, channels, "Random", RANGES, 1, 1),
            f"A hyperparameter tuning job with the name, {name}, already exists. Choose a different name.",
            code="ResourceInUse")
    wait_tuning(sagemaker, name)
    with pytest.raises(ClientError) as error:
        sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="no-such-tuning-job")
    assert error.value.response["Error"]["Code"] == "ResourceNotFound"
    assert error.value.response["Error"]["Message"] == ("Amazon SageMaker can't find a tuning job called "
                                                        "no-such-tuning-job. Type another name.")


def test_session_waits_for_a_tuning_job(emulator: Any, bucket: str, channels: list[dict[str, Any]],
                                        unique: Any) -> None:
    from backends import create_backend
    from harness import Session

    backend = create_backend("emulator", endpoint=emulator.endpoint_url)
    backend.start()
    session = Session(backend)
    name = unique("session")[-32:].strip("-")
    request = tuning_request(name, bucket, channels, "Random", RANGES, 2, 2)
    # As SDK 2.x sends the instances: HyperParameterTuningResourceConfig instead of ResourceConfig.
    request["TrainingJobDefinition"]["HyperParameterTuningResourceConfig"] = request["TrainingJobDefinition"].pop(
        "ResourceConfig")
    session.sagemaker_client.create_hyper_parameter_tuning_job(**request)
    described = session.wait_for_tuning_job(name, poll=0.2)
    assert described["HyperParameterTuningJobStatus"] == "Completed"
    assert described["BestTrainingJob"]["TrainingJobName"].startswith(f"{name}-00")
    backend.stop()
