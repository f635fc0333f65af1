"""What both sides compute: the same XGBoost release, the reference hyperparameters with a fixed number of
rounds, and the transform settings the emulator's batch transform uses.

The emulator's jobs run the image whose pinned XGBoost release is the one installed here, so that both sides
run the same library (an image with another release would measure that release's speed, not the emulator's).
It receives the reference workflow's hyperparameters as strings (minus early stopping, plus a fixed
`num_round`); the bare side gets the parameter dict the container hands to XGBoost for them: `reg:linear` is
trained as `reg:squarederror`, and `nthread` is every core, as the emulator sets it when the job does not.
"""

from __future__ import annotations

import os
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
class TransformShape:
    """How the emulator's batch transform cuts the test file: MultiRecord payloads of up to `max_payload_mb`,
    `max_concurrent` of them in flight."""

    max_payload_mb: int
    max_concurrent: int
