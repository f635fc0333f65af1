"""Validated hyperparameters -> the parameter dict given to XGBoost 3.2.

The container hands its validated dict to `xgb.train` nearly as is. Two kinds of keys are dropped here:
the ones the container consumes itself (num_round, early_stopping_rounds, ...), and parameters that the
image's XGBoost understood but XGBoost 3.2 no longer has (silent, predictor, ...), which 3.2 would only
answer with "Parameters: { ... } are not used" warnings. eval_metric becomes the metric plan's XGBoost
part. Parameters 3.2 rejects outright (tree_method=gpu_hist, the removed updaters) are passed on, so the job
fails inside XGBoost as it does on a CPU instance of the image.

Inside a runtime (the image's own XGBoost release) none of this translation is needed: only the keys the
container consumes are dropped, exactly as the container does.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from . import library
from .log import ContainerLog
from .metrics import MetricPlan
from .versions import ContainerVersion

CONTAINER_ONLY = frozenset(
    {
        "num_round",
        "early_stopping_rounds",
        "csv_weights",
        "save_model_on_termination",
        "_tuning_objective_metric",
        "_kfold",
        "_nfold",
        "_num_cv_round",
        "use_dask_gpu_training",
        "eval_metric",  # replaced by the plan's XGBoost metrics
    }
)

RETIRED_IN_XGBOOST_3 = frozenset(
    {
        "silent",
        "predictor",
        "dsplit",
        "lambda_bias",
        "sketch_eps",
        "single_precision_histogram",
        "deterministic_histogram",
        "prob_buffer_row",
    }
)

REG_LINEAR_WARNING = "reg:linear is now deprecated in favor of reg:squarederror."


def xgboost_params(
    validated: Mapping[str, Any], plan: MetricPlan, version: ContainerVersion, log: ContainerLog
) -> dict[str, Any]:
    # On the image's own release (in its runtime) the library gets the container's dict as is, and answers
    # retired names, reg:linear and default metrics itself; a newer release needs them translated.
    native = library.is_release(version.xgboost_release)
    params = {
        name: value
        for name, value in validated.items()
        if name not in CONTAINER_ONLY and (native or name not in RETIRED_IN_XGBOOST_3)
    }
    if "updater" in params:
        params["updater"] = ",".join(params["updater"])
    for name in ("monotone_constraints", "interaction_constraints"):
        if name in params:
            # XGBoost parses these from their text form, which is what the old releases received too.
            params[name] = str(params[name]).replace(" ", "")
    if params.get("objective") == "reg:linear" and not native:
        # Every XGBoost release trains reg:linear as squared error; 0.90+ say so with a deprecation warning.
        params["objective"] = "reg:squarederror"
        if version.reg_linear_deprecated:
            log.library_warning(REG_LINEAR_WARNING)

    if plan.xgboost_metrics:
        params["eval_metric"] = list(plan.xgboost_metrics)
    elif not native:
        default = version.default_metric(_effective_objective(params))
        if default is not None:
            params["eval_metric"] = default
    params.setdefault("nthread", os.cpu_count() or 1)
    return params


def _effective_objective(params: Mapping[str, Any]) -> str:
    objective = params.get("objective")
    if objective is not None:
        return str(objective)
    # Without an objective XGBoost trains softmax when num_class > 1, squared error otherwise.
    return "multi:softmax" if params.get("num_class", 1) > 1 else "reg:squarederror"
