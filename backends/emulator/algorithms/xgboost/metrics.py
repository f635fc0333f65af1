"""Evaluation metrics: which ones XGBoost computes, which ones the container computes itself.

Some eval_metric names (accuracy, f1, mse, and from 1.3-1 rmse and mae, ...) are not passed to XGBoost: the
container removes them from `eval_metric` and computes them in a Python `feval` with scikit-learn. XGBoost
formats feval results with `%f`, so they reach the log and early stopping rounded to 6 decimals. When every
requested metric is a container metric, XGBoost also prints its default metric, as in the container.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn import metrics as skm

from .log import ContainerLog
from .versions import ClassLabelRule, ContainerVersion


@dataclass(frozen=True)
class MetricPlan:
    xgboost_metrics: tuple[str, ...]  # passed to XGBoost as eval_metric; empty means its default
    container_metrics: tuple[str, ...]  # computed here after each round, after XGBoost's own
    early_stopping_metric: str | None  # for the 1.3+ callback: the tuning metric, else the last eval_metric


def plan_metrics(
    eval_metric: Sequence[str] | None,
    tuning_objective_metric: str | None,
    version: ContainerVersion,
    log: ContainerLog,
) -> MetricPlan:
    tuning: list[str] | None = None
    if tuning_objective_metric is not None:
        # "validation:auc" -> ["auc"]: the container splits on ":" into a (segment, name) record.
        segment_and_name = tuning_objective_metric.split(":")
        metric_name = segment_and_name[1]
        tuning = metric_name.split(",")
        log.info(f"Setting up HPO optimized metric to be : {metric_name}")

    if tuning is not None and eval_metric is not None:
        union: list[str] | None = sorted(set(tuning) | set(eval_metric))
    else:
        union = tuning if tuning is not None else (list(eval_metric) if eval_metric is not None else None)

    container: list[str] = []
    native: list[str] = []
    if union is not None:
        # The container builds the XGBoost list with set arithmetic, whose order varies between runs; the
        # user's order is kept here so that logs and early stopping are reproducible.
        container = [m for m in union if m in version.container_metrics]
        native = [m for m in union if m not in container]

    stopping_metric = None
    if tuning:
        stopping_metric = tuning[-1]
    elif eval_metric:
        stopping_metric = eval_metric[-1]
    return MetricPlan(tuple(native), tuple(container), stopping_metric)


def container_metric(name: str, predictions: np.ndarray, labels: np.ndarray, rule: ClassLabelRule) -> float:
    """One container-computed metric, as the given version's `custom_metrics.py` computes it."""
    if name in _REGRESSION:
        return _REGRESSION[name](labels, predictions)
    if rule is ClassLabelRule.SIGN_OR_ARGMAX and predictions.size == 0:
        return 0.0
    return float(_CLASSIFICATION[name](labels, _class_labels(predictions, rule)))


def _class_labels(predictions: np.ndarray, rule: ClassLabelRule) -> object:
    if rule is ClassLabelRule.SIGN_OR_ARGMAX:
        # From 1.2-1 the metric sees margins: a positive log-odds is class 1, rows of scores take the argmax.
        if isinstance(predictions[0], np.ndarray):
            return np.argmax(predictions, axis=-1)
        return (predictions > 0.0).astype(int)
    if rule is ClassLabelRule.ROUND_OR_ARGMAX:
        return [np.argmax(p) if isinstance(p, np.ndarray) else round(p) for p in predictions]
    return [round(p) for p in predictions]


def _regression_targets(labels: np.ndarray, predictions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # scikit-learn's reshaping of 1-D targets to one output column; float32 stays float32, as it did there.
    if predictions.ndim != 1:
        outputs = predictions.reshape(len(labels), -1).shape[1]
        raise ValueError(f"y_true and y_pred have different number of output (1!={outputs})")
    return labels.reshape(-1, 1), predictions.reshape(-1, 1)


def _mse(labels: np.ndarray, predictions: np.ndarray) -> float:
    y_true, y_pred = _regression_targets(labels, predictions)
    return float(np.average(np.average((y_true - y_pred) ** 2, axis=0)))


def _rmse(labels: np.ndarray, predictions: np.ndarray) -> float:
    y_true, y_pred = _regression_targets(labels, predictions)
    return float(np.average(np.sqrt(np.average((y_true - y_pred) ** 2, axis=0))))


def _mae(labels: np.ndarray, predictions: np.ndarray) -> float:
    y_true, y_pred = _regression_targets(labels, predictions)
    return float(np.average(np.average(np.abs(y_pred - y_true), axis=0)))


def _r2(labels: np.ndarray, predictions: np.ndarray) -> float:
    return float(skm.r2_score(labels, predictions))


_REGRESSION: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "mse": _mse,
    "rmse": _rmse,
    "mae": _mae,
    "r2": _r2,
}

_CLASSIFICATION: dict[str, Callable[[np.ndarray, object], float]] = {
    "accuracy": skm.accuracy_score,
    "balanced_accuracy": skm.balanced_accuracy_score,
    "f1": lambda y, p: skm.f1_score(y, p, average="macro"),
    "f1_binary": lambda y, p: skm.f1_score(y, p, average="binary"),
    "f1_macro": lambda y, p: skm.f1_score(y, p, average="macro"),
    "precision": skm.precision_score,
    "precision_macro": lambda y, p: skm.precision_score(y, p, average="macro"),
    "precision_micro": lambda y, p: skm.precision_score(y, p, average="micro"),
    "recall": skm.recall_score,
    "recall_macro": lambda y, p: skm.recall_score(y, p, average="macro"),
    "recall_micro": lambda y, p: skm.recall_score(y, p, average="micro"),
}
