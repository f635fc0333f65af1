"""Hyperparameter tuning against a real `harness serve` with each SageMaker SDK major, written as its users
write it: SDK 2.x's `HyperparameterTuner` on the built-in XGBoost `Estimator` (`fit`, `wait`,
`best_training_job`, `analytics().dataframe()`, `best_estimator().deploy()`), and SDK 3.x's
`sagemaker.train.tuner.HyperparameterTuner` on a `ModelTrainer` (`tune`, `best_training_job`, `analytics()`,
the `HyperParameterTuningJob` resource), whose best model `ModelBuilder` deploys. Both tune the reference
model's XGBoost on the Boston split, Bayesian, four children two at a time, minimizing `validation:rmse`.

What must hold, as on SageMaker: one analytics row per child with its tuned hyperparameters (inside their
ranges) and its final objective; the best training job is the child with the lowest objective; and the
endpoint serves that child's model (its artifacts), whose predictions of the validation rows score that child's
objective.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from backends.emulator.sagemaker.context import EXECUTION_ROLE_ARN

from .conftest import REGION, BostonData, ScriptRun, run_script, user_env, write_sdk_defaults
from .envs import SdkEnv

pytestmark = pytest.mark.timeout(1800)  # the first run builds the SDK environments

ACCOUNT = "123456789012"
BUCKET = f"sagemaker-{REGION}-{ACCOUNT}"
MAX_JOBS, MAX_PARALLEL_JOBS = 4, 2
# The ranges both scripts tune: (low, high, integer?)
RANGES = {"max_depth": (3, 12, True), "eta": (0.05, 0.5, False), "subsample": (0.5, 0.9, False)}
# The estimator's other hyperparameters, which the tuner sends as static ones; SageMaker adds the objective's name.
STATIC_HYPERPARAMETERS = {"gamma": "4", "min_child_weight": "6", "objective": "reg:linear", "num_round": "100",
                          "_tuning_objective_metric": "validation:rmse"}
# How far the endpoint's RMSE on the validation rows may be from the child's objective. Not 0: the container
# scores validation:rmse on rows XGBoost's own CSV reader parsed, which rounds some values 1 ulp off the
# correctly rounded float32 the endpoint's request parser makes (6.72 -> 6.7200003), so a row sitting on a split
# threshold can take the other branch (seen: 0.04 %). Which child's model is served, the model's artifacts show;
# this shows the objective is that model's validation RMSE (its train:rmse is about 1, a constant's RMSE about 9).
OBJECTIVE_REL_TOL = 0.02


@dataclass(frozen=True)
class Tuning:
    run: ScriptRun
    summary: dict[str, Any]  # the JSON line the program printed last

    @property
    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.summary["dataframe"])


def _tuning(python: Path, script: str, endpoint: str, boston: BostonData, home: Path) -> Tuning:
    env = user_env(endpoint, home)
    write_sdk_defaults(env)
    run = run_script(python, script, [str(boston.directory), EXECUTION_ROLE_ARN], env, fast_polling=True)
    return Tuning(run, json.loads(run.output.strip().splitlines()[-1]))


@pytest.fixture(scope="module")
def sdk2_tuning(endpoint: str, boston: BostonData, sdk2_env: SdkEnv, tmp_path_factory: pytest.TempPathFactory
                ) -> Tuning:
    return _tuning(sdk2_env.python, "tuning_sdk2.py", endpoint, boston, tmp_path_factory.mktemp("sdk2-tuning"))


@pytest.fixture(scope="module")
def sdk3_tuning(endpoint: str, boston: BostonData, sdk3_env: SdkEnv, tmp_path_factory: pytest.TempPathFactory
                ) -> Tuning:
    return _tuning(sdk3_env.python, "tuning_sdk3.py", endpoint, boston, tmp_path_factory.mktemp("sdk3-tuning"))


def validation_rows(boston: BostonData) -> int:
    return len(pd.read_csv(boston.directory / "validation.csv", header=None))


def check_analytics(frame: pd.DataFrame, tuning_job: str, best_training_job: str,
                    best_tuned: dict[str, str]) -> pd.Series:
    """`analytics().dataframe()`: one row per child, each with its tuned hyperparameters (as floats, the way the
    SDK writes them) and its final objective; the best training job is the row with the lowest objective.
    Returns that row."""
    assert len(frame) == MAX_JOBS, frame
    assert frame["TrainingJobName"].is_unique
    for name in frame["TrainingJobName"]:
        assert re.fullmatch(rf"{re.escape(tuning_job)}-\d{{3}}-[0-9a-f]{{8}}", name), name
    assert set(frame["TrainingJobStatus"]) == {"Completed"}
    for parameter, (low, high, integer) in RANGES.items():
        values = frame[parameter]
        assert values.between(low, high).all(), (parameter, values.tolist())
        if integer:
            assert (values == values.round()).all(), (parameter, values.tolist())
    objectives = frame["FinalObjectiveValue"]
    assert objectives.notna().all() and (objectives > 0).all()
    assert (frame["TrainingElapsedTimeSeconds"] > 0).all()
    best = frame.loc[objectives.idxmin()]
    assert best["TrainingJobName"] == best_training_job
    assert {parameter: float(best[parameter]) for parameter in RANGES} == {
        parameter: float(value) for parameter, value in best_tuned.items()}
    return best


def endpoint_not_found(name: str) -> dict[str, str]:
    return {"code": "ValidationException",
            "message": f'Could not find endpoint "arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{name}".'}


def check_served_best(summary: dict[str, Any], model_data: str, best: Any, boston: BostonData) -> None:
    """The endpoint the script deployed served the best child's model, and its predictions on the validation rows
    score that child's own objective."""
    assert summary["endpoint_status"] == "InService"
    assert summary["endpoint_model_data"] == model_data
    assert summary["prediction_count"] == validation_rows(boston)
    assert math.isclose(summary["validation_rmse"], best["FinalObjectiveValue"], rel_tol=OBJECTIVE_REL_TOL)


def test_sdk2_hyperparameter_tuner(sdk2_tuning: Tuning, boston: BostonData) -> None:
    summary = sdk2_tuning.summary
    output = sdk2_tuning.run.output
    assert "Traceback" not in output
    # fit(wait=False) returned with the job running; wait() polled it to Completed, printing a character per
    # poll: "." for InProgress, "!" for Completed.
    assert summary["status_after_fit"] == "InProgress"
    assert summary["status"] == "Completed"
    assert re.search(r"^\.*!", output, re.MULTILINE), output[-4000:]
    assert summary["tuning_job"].startswith("boston-xgb-sdk2-")
    assert summary["strategy"] == "Bayesian"
    assert summary["resource_limits"]["MaxNumberOfTrainingJobs"] == MAX_JOBS
    assert summary["resource_limits"]["MaxParallelTrainingJobs"] == MAX_PARALLEL_JOBS
    assert summary["static_hyperparameters"] == STATIC_HYPERPARAMETERS
    assert summary["training_job_status_counters"] == {"Completed": MAX_JOBS, "InProgress": 0, "RetryableError": 0,
                                                       "NonRetryableError": 0, "Stopped": 0}
    assert summary["objective_status_counters"] == {"Succeeded": MAX_JOBS, "Pending": 0, "Failed": 0}

    best = check_analytics(sdk2_tuning.frame, summary["tuning_job"], summary["best_training_job"],
                           summary["best_tuned_hyperparameters"])

    # best_estimator() attached the best child: its hyperparameters are the static ones and its tuned ones.
    best_job = summary["best_training_job"]
    assert summary["attached_job"] == best_job
    assert summary["attached_hyperparameters"] == {**STATIC_HYPERPARAMETERS, **summary["best_tuned_hyperparameters"]}
    model_data = f"s3://{BUCKET}/boston-xgboost-tuning-sdk2/output/{best_job}/output/model.tar.gz"
    assert summary["attached_model_data"] == model_data
    # deploy() served that model: predict() on the validation rows scores the child's own objective.
    check_served_best(summary, model_data, best, boston)
    # delete_model() and delete_endpoint(): both are gone.
    assert summary["describe_after_delete"] == endpoint_not_found(summary["endpoint"])
    assert summary["describe_model_after_delete"]["message"].startswith("Could not find model")


def test_sdk3_hyperparameter_tuner(sdk3_tuning: Tuning, boston: BostonData) -> None:
    summary = sdk3_tuning.summary
    output = sdk3_tuning.run.output
    assert "Traceback" not in output
    # tune(wait=True) waited with the HyperParameterTuningJob resource's waiter.
    assert "Final Resource Status: [bold]Completed" in output
    assert summary["status"] == "Completed"
    assert summary["tuning_job"].startswith("boston-xgb-sdk3-")
    assert summary["strategy"] == "Bayesian"
    assert (summary["max_jobs"], summary["max_parallel_jobs"]) == (MAX_JOBS, MAX_PARALLEL_JOBS)
    assert summary["static_hyperparameters"] == STATIC_HYPERPARAMETERS
    assert summary["completed_children"] == summary["succeeded_objectives"] == MAX_JOBS

    frame = sdk3_tuning.frame
    best = check_analytics(frame, summary["tuning_job"], summary["best_training_job"],
                           summary["best_tuned_hyperparameters"])

    # HyperParameterTuningJob.get_all_training_jobs sorted by objective: the same children, best first.
    children = summary["children_by_objective"]
    assert [child["name"] for child in children] == frame.sort_values("FinalObjectiveValue")["TrainingJobName"].tolist()
    assert children[0]["name"] == summary["best_training_job"]
    by_name = frame.set_index("TrainingJobName")
    for child in children:
        assert child["objective"] == by_name.loc[child["name"], "FinalObjectiveValue"]
        assert {k: float(v) for k, v in child["tuned"].items()} == {k: by_name.loc[child["name"], k] for k in RANGES}

    # The best child trained with the static hyperparameters and its tuned ones.
    best_job = summary["best_training_job"]
    assert summary["best_hyperparameters"] == {**STATIC_HYPERPARAMETERS, **summary["best_tuned_hyperparameters"]}
    model_data = f"s3://{BUCKET}/boston-xgboost-tuning-sdk3/output/{best_job}/output/model.tar.gz"
    assert summary["best_model_data"] == model_data
    # ModelBuilder deployed that model: Endpoint.invoke on the validation rows scores the child's own objective.
    check_served_best(summary, model_data, best, boston)
    assert summary["endpoint_after_delete"] == {"error": "ClientError", **endpoint_not_found(summary["endpoint"])}
    assert summary["model_after_delete"]["message"].startswith("Could not find model")
