"""What both sides compute: the same XGBoost release, the reference hyperparameters with a fixed number of
rounds, and the transform settings the emulator's batch transform uses.

The emulator's jobs run the image whose pinned XGBoost release is the one installed here, so that both sides
run the same library (an image with another release would measure that release's speed, not the emulator's).
It receives the reference workflow's hyperparameters as strings (minus early stopping, plus a fixed
`num_round`); the bare side gets the parameter dict the container hands to XGBoost for them: `reg:linear` is
trained as `reg:squarederror`, and `nthread` is every core, as the emulator sets it when the job does not.

The tuning measurement tunes four of the reference hyperparameters (`TUNED_RANGES`) and keeps the others static,
early stopping included; a child with tuned values `point` trains with `bare_tuning_params(point)`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from backends.emulator.algorithms.xgboost.versions import VERSIONS
from harness.requests import SEED_HYPERPARAMETERS


def installed_xgboost() -> str:
    for distribution in ("xgboost", "xgboost-cpu"):
        try:
            return version(distribution)
        except PackageNotFoundError:
            continue
    raise RuntimeError("XGBoost is not installed")


def image_version() -> str:
    """The container version whose XGBoost release is the installed one (the newest image when none is)."""
    installed = installed_xgboost()
    matching = [key for key, rules in VERSIONS.items() if rules.xgboost_release == installed]
    return matching[-1] if matching else list(VERSIONS)[-1]


def emulator_hyperparameters(rounds: int) -> dict[str, str]:
    """The reference hyperparameters with `num_round=rounds` and no early stopping (nothing to stop on)."""
    hyperparameters = {k: v for k, v in SEED_HYPERPARAMETERS.items() if k != "early_stopping_rounds"}
    hyperparameters["num_round"] = str(rounds)
    return hyperparameters


def bare_params() -> dict[str, Any]:
    """The XGBoost parameters the emulator's training trains with for `emulator_hyperparameters`."""
    return {
        "max_depth": 5,
        "eta": 0.2,
        "gamma": 4,
        "min_child_weight": 6,
        "subsample": 0.8,
        "objective": "reg:squarederror",
        "nthread": os.cpu_count() or 1,
    }


@dataclass(frozen=True)
class TunedRange:
    """One of the tuning job's ParameterRanges (ScalingType Auto, which the emulator takes as Linear)."""

    name: str
    low: str
    high: str
    integer: bool = False  # an IntegerParameterRange (else a ContinuousParameterRange)


TUNED_RANGES = (
    TunedRange("max_depth", "3", "10", integer=True),
    TunedRange("eta", "0.05", "0.5"),
    TunedRange("min_child_weight", "1", "10"),
    TunedRange("subsample", "0.5", "1"),
)
TUNING_OBJECTIVE = "validation:rmse"  # minimised


def tuning_static_hyperparameters(rounds: int | None = None) -> dict[str, str]:
    """The reference hyperparameters that are not tuned (gamma, early stopping after 10 rounds, at most 200 rounds
    or `rounds`), with `reg:squarederror` for `reg:linear`: the same training (every release trains reg:linear as
    squared error), but on XGBoost 3.2 a reg:linear model cannot be sliced (`booster[:n]` fails its objective
    check), and the 1.3-1+ containers' early stopping keeps the best iteration by slicing, so every child would
    fail."""
    tuned = {tuned_range.name for tuned_range in TUNED_RANGES}
    static = {name: value for name, value in SEED_HYPERPARAMETERS.items() if name not in tuned}
    static["objective"] = "reg:squarederror"
    if rounds is not None:
        static["num_round"] = str(rounds)
    return static


def bare_tuning_params(point: Mapping[str, str]) -> dict[str, Any]:
    """The XGBoost parameters of a tuning child with tuned values `point` (what the container parses them to:
    integers for integer ranges, floats otherwise), the metric being the objective's. The child's num_round and
    early_stopping_rounds are arguments of training, not parameters."""
    params = bare_params()
    for tuned_range in TUNED_RANGES:
        text = point[tuned_range.name]
        params[tuned_range.name] = int(text) if tuned_range.integer else float(text)
    params["eval_metric"] = TUNING_OBJECTIVE.split(":", 1)[1]
    return params


@dataclass(frozen=True)
class TransformShape:
    """How the emulator's batch transform cuts the test file: MultiRecord payloads of up to `max_payload_mb`,
    `max_concurrent` of them in flight."""

    max_payload_mb: int
    max_concurrent: int
