"""The boosting rounds: update, evaluate, print one line per round, stop early the way the version does.

The loop is written out (rather than calling `xgb.train`) because the versions differ in exactly the parts
`xgb.train` hides: the evaluation line (`%g` or `.5f`, repeated or merged metric names), the precision of the
values early stopping compares, which entry early stopping watches, and whether the result keeps all trees.

* Legacy (<= 1.2-2, XGBoost's `early_stopping_rounds` argument): watches the last (data, metric) entry of the
  evaluation list, even the training set's when there is no validation channel; stops once `rounds` rounds
  passed without a strict improvement; keeps every tree and reports the best iteration for prediction.
* Callback (1.3-1+, `EarlyStopping(save_best=True)`): needs a validation set and a named metric; maximises
  only metrics in the version's maximise list; returns the model cut to the best iteration.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import xgboost as xgb

from . import library
from .log import ContainerLog
from .metrics import MetricPlan, container_metric
from .versions import ContainerVersion, EarlyStoppingStyle, MetricPredictions

# One evaluation entry: ("validation-rmse", 8.21063).
Score = tuple[str, float]


@dataclass(frozen=True)
class BoostingSetup:
    params: dict[str, Any]
    dtrain: xgb.DMatrix
    evals: list[tuple[xgb.DMatrix, str]]
    num_round: int
    plan: MetricPlan
    early_stopping_rounds: int | None
    version: ContainerVersion
    after_round: Callable[[xgb.Booster], None] | None = None
    prints_rounds: bool = True  # of several hosts, only rank 0 prints the evaluation lines (as XGBoost's monitor)
    # Of several hosts, rank 0's lines go through the tracker, which the master runs and which logs them.
    through_tracker: bool = False


@dataclass(frozen=True)
class BoostingResult:
    booster: xgb.Booster  # what is saved: cut to the best iteration for the callback style
    best_iteration: int
    best_score: float | None  # None when early stopping was not active
    rounds: int  # rounds trained


# XGBoost 1.6+ `train(feval=)` warns (training.py `_configure_custom_metric`); Python prints the warning and the
# source line of its call, `warnings.warn(` (the call's first line from Python 3.8).
FEVAL_DEPRECATION = (
    "`feval` is deprecated, use `custom_metric` instead.  They have different behavior when custom objective is "
    "also used.See https://xgboost.readthedocs.io/en/latest/tutorials/custom_metric_obj.html for details on the "
    "`custom_metric`."
)


def run_boosting(setup: BoostingSetup, log: ContainerLog) -> BoostingResult:
    relayed: set[str] = set()
    if setup.plan.container_metrics and setup.version.feval_warning_line:
        # The container passes its own metrics as `feval`; the warning comes before the Booster is made.
        source = f"{setup.version.site_packages}/xgboost/training.py:{setup.version.feval_warning_line}"
        log.line(f"{source}: UserWarning: {FEVAL_DEPRECATION}")
        log.line("  warnings.warn(")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        booster = library.booster(setup.params, [setup.dtrain] + [d for d, _ in setup.evals])
    _relay(caught, log, relayed)
    stopper = _make_stopper(setup)
    rounds = 0
    lines: list[str] = []
    for epoch in range(setup.num_round):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            booster.update(setup.dtrain, epoch)
            scores = evaluate(booster, setup.evals, epoch, setup.plan, setup.version)
        _relay(caught, log, relayed)
        rounds = epoch + 1
        lines.append(format_scores(epoch, scores, setup.version))
        if setup.prints_rounds and setup.through_tracker:
            log.tracker_line(lines[-1], native=library.HAS_COLLECTIVE_TRACKER)
        elif setup.prints_rounds:
            log.line(lines[-1])
        if setup.after_round is not None:
            setup.after_round(booster)
        if stopper is not None and stopper.update(epoch, scores):
            break

    if stopper is None:
        return BoostingResult(booster, rounds - 1, None, rounds)
    best = stopper.best_iteration
    if setup.version.early_stopping is EarlyStoppingStyle.CALLBACK:
        try:
            booster = booster[: best + 1]
        except xgb.core.XGBoostError as e:
            raise xgb.core.XGBoostError("`save_best` is not applicable to current booster") from e
    booster.set_attr(best_iteration=str(best), best_score=str(stopper.best_score))
    if setup.version.early_stopping is EarlyStoppingStyle.LEGACY and math.isfinite(stopper.best_score):
        # The legacy callback also records the best round's evaluation line, as it printed it.
        booster.set_attr(best_msg=lines[best])
    return BoostingResult(booster, best, stopper.best_score, rounds)


def evaluate(
    booster: xgb.Booster,
    evals: list[tuple[xgb.DMatrix, str]],
    epoch: int,
    plan: MetricPlan,
    version: ContainerVersion,
) -> list[Score]:
    """XGBoost's metrics (data set by data set), then the container's, as the evaluation string lists them."""
    scores: list[Score] = []
    # The image's own release prints its values itself; only a newer release's need rounding to match.
    decimals = 17 if library.is_release(version.xgboost_release) else version.native_metric_decimals
    for token in booster.eval_set(evals, epoch).split()[1:]:
        name, _, text = token.rpartition(":")
        scores.append((name, _round_decimals(float(text), decimals)))
    if plan.container_metrics:
        margin = version.metric_predictions is MetricPredictions.MARGIN
        for dmatrix, data_name in evals:
            predictions = library.predict(booster, dmatrix, output_margin=margin)
            labels = dmatrix.get_label()
            for metric in plan.container_metrics:
                score = container_metric(metric, predictions, labels, version.class_label_rule)
                # XGBoost appends feval results to the evaluation string with "%f".
                scores.append((f"{data_name}-{metric}", float(f"{score:f}")))
    return scores


def format_scores(epoch: int, scores: list[Score], version: ContainerVersion) -> str:
    if version.early_stopping is EarlyStoppingStyle.LEGACY:
        # The old print callback lists every entry, repeats included.
        return f"[{epoch}]\t" + "\t".join(f"{name}:{value:{version.metric_format}}" for name, value in scores)
    # EvaluationMonitor prints its history, keyed by data set then metric: a repeated name shows once,
    # with the value computed last (the container's own metric when it shares XGBoost's name).
    return f"[{epoch}]" + "".join(
        f"\t{name}:{value:{version.metric_format}}" for name, value in _merged(scores)
    )


def _merged(scores: list[Score]) -> list[Score]:
    by_data: dict[str, dict[str, float]] = {}
    for name, value in scores:
        data, _, metric = name.partition("-")
        by_data.setdefault(data, {})[metric] = value
    return [
        (f"{data}-{metric}", value) for data, metrics in by_data.items() for metric, value in metrics.items()
    ]


def _round_decimals(value: float, decimals: int) -> float:
    # XGBoost <= 1.5 wrote metric values with std::fixed's 6 decimals, and everything downstream (the printed
    # line, early stopping's comparisons) saw those rounded values.
    return float(f"{value:.{decimals}f}") if decimals < 17 else value


def _relay(caught: list[warnings.WarningMessage], log: ContainerLog, relayed: set[str]) -> None:
    """Warnings raised during training go to the job log, each text once (Python shows a warning once per
    place by default, and XGBoost's own messages are printed once)."""
    for warning in caught:
        text = str(warning.message).strip()
        if text in relayed:
            continue
        relayed.add(text)
        if issubclass(warning.category, UserWarning) and "WARNING:" in text:
            log.line(text)  # XGBoost's own log line, "[17:30:00] WARNING: ..."
        else:
            log.line(f"{warning.category.__name__}: {text}")


class _Stopper:
    best_iteration: int
    best_score: float

    def update(self, epoch: int, scores: list[Score]) -> bool:
        raise NotImplementedError


class _LegacyStopper(_Stopper):
    _MAXIMIZE = ("auc", "aucpr", "map", "ndcg")
    _MAXIMIZE_AT = ("auc@", "aucpr@", "map@", "ndcg@")

    def __init__(self, rounds: int) -> None:
        self.rounds = rounds
        self.maximize: bool | None = None
        self.best_iteration = 0
        self.best_score = float("nan")

    def update(self, epoch: int, scores: list[Score]) -> bool:
        label, score = scores[-1]
        if self.maximize is None:
            metric = label.split("-", 1)[-1]
            self.maximize = metric.startswith(self._MAXIMIZE_AT) or metric.split(":")[0] in self._MAXIMIZE
            self.best_score = float("-inf") if self.maximize else float("inf")
        improved = score > self.best_score if self.maximize else score < self.best_score
        if improved:
            self.best_score = score
            self.best_iteration = epoch
            return False
        return epoch - self.best_iteration >= self.rounds


class _CallbackStopper(_Stopper):
    def __init__(self, rounds: int, metric: str, maximize: bool) -> None:
        self.rounds = rounds
        self.metric = metric
        self.maximize = maximize
        self.current_rounds = 0
        self.started = False
        self.best_iteration = 0
        self.best_score = float("nan")

    def update(self, epoch: int, scores: list[Score]) -> bool:
        history = dict(_merged(scores))
        key = f"validation-{self.metric}"
        if key not in history:
            # EarlyStopping indexes the validation history by metric name; an unknown one is a KeyError there.
            raise KeyError(self.metric)
        score = history[key]
        if not self.started:
            self.started = True
            self.best_score, self.best_iteration = score, epoch
        elif not (score > self.best_score if self.maximize else self.best_score > score):
            self.current_rounds += 1
        else:
            self.best_score, self.best_iteration = score, epoch
            self.current_rounds = 0
        return self.current_rounds >= self.rounds


def _make_stopper(setup: BoostingSetup) -> _Stopper | None:
    rounds = setup.early_stopping_rounds
    if not rounds:
        return None
    if setup.version.early_stopping is EarlyStoppingStyle.LEGACY:
        return _LegacyStopper(rounds)
    has_validation = any(name == "validation" for _, name in setup.evals)
    metric = setup.plan.early_stopping_metric
    if not has_validation or metric is None:
        # 1.3-1+ silently train every round when there is no validation data or no named metric.
        return None
    return _CallbackStopper(rounds, metric, maximize=metric in setup.version.maximize_metrics)
