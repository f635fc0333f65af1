"""A tuning job that stops children early and ends early, over real HTTP with boto3, checked against the rules
as SageMaker documents them, recomputed here from what each child logged to CloudWatch:

- `TrainingJobEarlyStoppingType=Auto`: the median rule over the running averages of earlier children;
- `Hyperband`: no child stopped before `MinResource`, every child stopped once it reaches `MaxResource`;
- `TuningJobCompletionCriteria`: `TargetObjectiveMetricValue` and `BestObjectiveNotImproving`.
"""

from __future__ import annotations

import statistics
from typing import Any

import pytest

from tests.integration.tuning_flow import boston_channels, children_of, logged_rmse, tuning_request, wait_tuning

# eta from 0.003 to 0.5: slow learners fall behind the earlier children's running averages.
ETA = {"ContinuousParameterRanges": [{"Name": "eta", "MinValue": "0.003", "MaxValue": "0.5",
                                      "ScalingType": "Logarithmic"}]}
ROUNDS = 1500  # long enough (a second or more) for the tuner to act while a child trains


@pytest.fixture(scope="module")
def channels(s3: Any, bucket: str) -> list[dict[str, Any]]:
    return boston_channels(s3, bucket)


def _request(name: str, bucket: str, channels: list[dict[str, Any]], strategy: str, ranges: dict[str, Any],
             most: int, parallel: int, **config: Any) -> dict[str, Any]:
    request = tuning_request(name, bucket, channels, strategy, ranges, most, parallel, **config)
    request["TrainingJobDefinition"]["StaticHyperParameters"]["num_round"] = str(ROUNDS)
    return request


def _in_launch_order(children: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(children, key=lambda child: int(child["TrainingJobName"].rsplit("-", 2)[1]))


def _first_round_worse_than_median(series: list[float], earlier: list[list[float]]) -> int | None:
    """The documented rule, minimizing: the first epoch (from 1) at which the child's objective is worse than the
    median of the earlier children's running averages up to that epoch."""
    for step, value in enumerate(series, start=1):
        averages = [sum(other[:step]) / step for other in earlier if len(other) >= step]
        if averages and value > statistics.median(averages):
            return step
    return None


def test_early_stopping_follows_the_median_rule(sagemaker: Any, logs: Any, bucket: str,
                                                channels: list[dict[str, Any]], unique: Any) -> None:
    name = unique("early")[-32:].strip("-")
    # One child at a time: every earlier child has ended when the next one runs, so the rule's inputs are the
    # earlier children's whole logs, and this test can recompute each decision exactly.
    sagemaker.create_hyper_parameter_tuning_job(**_request(name, bucket, channels, "Random", ETA, 5, 1,
                                                           RandomSeed=3, TrainingJobEarlyStoppingType="Auto"))
    job = wait_tuning(sagemaker, name)
    assert job["HyperParameterTuningJobStatus"] == "Completed", job.get("FailureReason")
    assert job["HyperParameterTuningJobConfig"]["TrainingJobEarlyStoppingType"] == "Auto"
    children = _in_launch_order(children_of(sagemaker, name))
    assert len(children) == 5
    seen: list[list[float]] = []
    stopped = 0
    for child in children:
        series = logged_rmse(logs, child["TrainingJobName"])
        decided = _first_round_worse_than_median(series, seen)
        if decided is None:  # never behind the median: trained every round
            assert child["TrainingJobStatus"] == "Completed", (child, len(series))
            assert len(series) == ROUNDS
        else:
            assert child["TrainingJobStatus"] == "Stopped", (child, decided)
            assert decided <= len(series) < ROUNDS
            stopped += 1
        # A stopped child's objective is the last value it logged.
        assert child["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == pytest.approx(series[-1], rel=1e-6)
        assert child["ObjectiveStatus"] == "Succeeded"
        seen.append(series)
    assert stopped >= 1, "no child fell behind: the test's points do not exercise the rule"
    assert job["TrainingJobStatusCounters"]["Stopped"] == stopped
    assert job["TrainingJobStatusCounters"]["Completed"] == 5 - stopped
    best = min(children, key=lambda c: c["FinalHyperParameterTuningJobObjectiveMetric"]["Value"])
    assert job["BestTrainingJob"]["TrainingJobName"] == best["TrainingJobName"]


def test_hyperband_stops_children_between_min_and_max_resource(sagemaker: Any, logs: Any, bucket: str,
                                                               channels: list[dict[str, Any]], unique: Any) -> None:
    name = unique("hyperband")[-32:].strip("-")
    low, high = 9, 300
    sagemaker.create_hyper_parameter_tuning_job(**_request(
        name, bucket, channels, "Hyperband", ETA, 6, 2, RandomSeed=5,
        StrategyConfig={"HyperbandStrategyConfig": {"MinResource": low, "MaxResource": high}}))
    job = wait_tuning(sagemaker, name)
    assert job["HyperParameterTuningJobStatus"] == "Completed", job.get("FailureReason")
    children = children_of(sagemaker, name)
    assert len(children) == 6
    for child in children:
        series = logged_rmse(logs, child["TrainingJobName"])
        # MaxResource (300 rounds) is far below num_round: every child is stopped, none before MinResource.
        assert child["TrainingJobStatus"] == "Stopped", child
        assert low <= len(series) < ROUNDS
        assert child["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == pytest.approx(series[-1], rel=1e-6)
    best = min(children, key=lambda c: c["FinalHyperParameterTuningJobObjectiveMetric"]["Value"])
    assert job["BestTrainingJob"]["TrainingJobName"] == best["TrainingJobName"]


def test_target_objective_completes_the_tuning_job(sagemaker: Any, bucket: str, channels: list[dict[str, Any]],
                                                   unique: Any) -> None:
    name = unique("target")[-32:].strip("-")
    target = 5.0
    request = tuning_request(name, bucket, channels, "Random", ETA, 10, 1, RandomSeed=11,
                             TuningJobCompletionCriteria={"TargetObjectiveMetricValue": target})
    sagemaker.create_hyper_parameter_tuning_job(**request)
    job = wait_tuning(sagemaker, name)
    assert job["HyperParameterTuningJobStatus"] == "Completed"
    children = _in_launch_order(children_of(sagemaker, name))
    values = [c["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for c in children]
    # One child at a time: the job ends with the first child that reaches the target, and launches no other.
    assert values[-1] <= target and all(value > target for value in values[:-1]), values
    assert len(children) < 10


@pytest.mark.parametrize(("criteria", "children"), [
    ({"BestObjectiveNotImproving": {"MaxNumberOfTrainingJobsNotImproving": 3}}, 4),
    # The emulator's convergence rule: max(10, MaxNumberOfTrainingJobs / 5) children without a 1% improvement.
    ({"ConvergenceDetected": {"CompleteOnConvergence": "Enabled"}}, 11),
], ids=["not-improving", "convergence"])
def test_a_plateau_completes_the_tuning_job(sagemaker: Any, bucket: str, channels: list[dict[str, Any]],
                                            unique: Any, criteria: dict[str, Any], children: int) -> None:
    name = unique("plateau")[-32:].strip("-")
    # gamma this small changes no split: every child scores within 1% of the first.
    flat = {"ContinuousParameterRanges": [{"Name": "gamma", "MinValue": "0", "MaxValue": "0.000001"}]}
    request = tuning_request(name, bucket, channels, "Random", flat, 20, 1, RandomSeed=1,
                             TuningJobCompletionCriteria=criteria)
    request["TrainingJobDefinition"]["StaticHyperParameters"]["num_round"] = "10"
    sagemaker.create_hyper_parameter_tuning_job(**request)
    job = wait_tuning(sagemaker, name)
    assert job["HyperParameterTuningJobStatus"] == "Completed"
    values = [c["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
              for c in _in_launch_order(children_of(sagemaker, name))]
    assert len(values) == children, values
    assert all(abs(value - values[0]) <= 0.01 * abs(values[0]) for value in values)
    details = job["TuningJobCompletionDetails"]
    assert details["NumberOfTrainingJobsObjectiveNotImproving"] == children - 1
    assert ("ConvergenceDetectedTime" in details) == ("ConvergenceDetected" in criteria)
    # The job's wall-clock runtime, in whole seconds.
    elapsed = (job["HyperParameterTuningEndTime"] - job["CreationTime"]).total_seconds()
    assert abs(job["ConsumedResources"]["RuntimeInSeconds"] - elapsed) <= 1
