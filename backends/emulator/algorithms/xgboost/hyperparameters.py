"""Hyperparameter validation, in the container's order and with its messages.

hyperparameters.json holds strings (SageMaker writes every value as a string and the container reads the
file with json.load), so each value goes through the container's pipeline:

0. aliases (learning_rate -> eta, ...) where the version has them;
1. `Missing required hyperparameter: num_round` (the only required one);
2. parsing in the user's order: unknown names give `Extraneous hyperparameter found: x`, int()/float()
   failures give `Hyperparameter x: could not parse value (caused by ValueError)`;
3. range checks in the user's order (`Hyperparameter eta: 2.0 is not in [0, 1]`); an unexpected exception here
   becomes an AlgorithmError;
4. dependency rules in dependency order (objective before eval_metric, ...), unwrapped.

The first failure stops validation, as there.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from . import dependency_rules as rules
from .errors import AlgorithmError, UserError
from .ranges import Choices, EvalMetricChoices, Interval, ValueRange, choices, reject_gpu
from .versions import ContainerVersion, get_version


class Kind(Enum):
    INTEGER = "integer"
    CONTINUOUS = "continuous"
    CATEGORICAL = "categorical"
    COMMA_LIST = "comma-separated list"
    NESTED_LIST = "nested list"
    TUPLE = "tuple"


@dataclass(frozen=True)
class Hyperparameter:
    name: str
    kind: Kind
    allowed: ValueRange
    required: bool = False
    depends_on: tuple[str, ...] = ()
    rule: rules.DependencyRule | None = None

    def parse(self, raw: Any) -> Any:
        if self.kind is Kind.INTEGER:
            return int(raw)
        if self.kind is Kind.CONTINUOUS:
            return float(raw)
        if self.kind is Kind.COMMA_LIST:
            return raw.split(",")
        if self.kind in (Kind.NESTED_LIST, Kind.TUPLE):
            # The container eval()s tuple values. Evaluating user input is not done here: literal_eval accepts
            # every literal eval would, and rejects anything else as a ValueError ("could not parse value").
            if isinstance(raw, str):
                return ast.literal_eval(raw)
            return raw if isinstance(raw, (list, tuple)) else None  # a tuple, not X | Y: runs on Python 3.9 too
        return raw

    def check_range(self, value: Any) -> None:
        if self.kind in (Kind.INTEGER, Kind.CONTINUOUS, Kind.CATEGORICAL):
            if value not in self.allowed:
                raise UserError(f"Hyperparameter {self.name}: {value} is not in {self.allowed}")
            return
        if self.kind is Kind.NESTED_LIST:
            # A list (not a generator) on purpose: every element is tested, as in the container.
            outside = [element not in self.allowed for outer in value for element in outer]
        else:
            outside = [element not in self.allowed for element in value]
        if any(outside):
            raise UserError(f"Hyperparameter {self.name}: value {value} not in range {self.allowed}")


def _int(name: str, allowed: ValueRange, **extra: Any) -> Hyperparameter:
    return Hyperparameter(name, Kind.INTEGER, allowed, **extra)


def _float(name: str, allowed: ValueRange) -> Hyperparameter:
    return Hyperparameter(name, Kind.CONTINUOUS, allowed)


def _cat(name: str, allowed: ValueRange, **extra: Any) -> Hyperparameter:
    return Hyperparameter(name, Kind.CATEGORICAL, allowed, **extra)


_UNIT = Interval(min_closed=0, max_closed=1)
_NON_NEGATIVE = Interval(min_closed=0)
_FRACTION = Interval(min_open=0, max_closed=1)
_TRUE_FALSE = choices(["true", "false"])


def _definitions(version: ContainerVersion) -> list[Hyperparameter]:
    """Every hyperparameter any version declares, in the container's declaration order."""
    gpu_check = reject_gpu if version.rejects_gpu else None
    return [
        _int("num_round", Interval(min_closed=1), required=True),
        _int("csv_weights", _UNIT),
        _int("early_stopping_rounds", Interval(min_closed=1)),
        _cat("booster", choices(["gbtree", "gblinear", "dart"])),
        _int("silent", _UNIT),
        _int("verbosity", Interval(min_closed=0, max_closed=3)),
        _int("nthread", Interval(min_closed=1)),
        _int("_nfold", Interval(min_closed=2)),
        _float("eta", _UNIT),
        _float("gamma", _NON_NEGATIVE),
        _int("max_depth", _NON_NEGATIVE),
        _float("min_child_weight", _NON_NEGATIVE),
        _float("max_delta_step", _NON_NEGATIVE),
        _float("subsample", _FRACTION),
        _float("colsample_bytree", _FRACTION),
        _float("colsample_bylevel", _FRACTION),
        _float("colsample_bynode", _FRACTION),
        _float("lambda", _NON_NEGATIVE),
        _float("alpha", _NON_NEGATIVE),
        _cat("tree_method", Choices(version.tree_methods, gpu_check)),
        _float("sketch_eps", Interval(min_open=0, max_open=1)),
        _float("scale_pos_weight", Interval(min_open=0)),
        Hyperparameter(
            "updater",
            Kind.COMMA_LIST,
            choices(version.updater_range),
            depends_on=("booster", "process_type"),
            rule=rules.updater_rule,
        ),
        _cat("dsplit", choices(["row", "col"])),
        _int("refresh_leaf", _UNIT),
        _cat("process_type", choices(["default", "update"])),
        _cat("grow_policy", choices(["depthwise", "lossguide"])),
        _int("max_leaves", _NON_NEGATIVE),
        _int("max_bin", _NON_NEGATIVE),
        _cat("predictor", Choices(version.predictors, gpu_check)),
        Hyperparameter(
            "monotone_constraints",
            Kind.TUPLE,
            choices([-1, 0, 1]),
            depends_on=("tree_method",),
            rule=rules.monotone_constraints_rule,
        ),
        Hyperparameter(
            "interaction_constraints",
            Kind.NESTED_LIST,
            Interval(min_closed=1),
            depends_on=("tree_method",),
            rule=rules.interaction_constraints_rule,
        ),
        _cat("sample_type", choices(["uniform", "weighted"])),
        _cat("normalize_type", choices(["tree", "forest"])),
        _float("rate_drop", _UNIT),
        _int("one_drop", _UNIT),
        _float("skip_drop", _UNIT),
        _float("lambda_bias", _UNIT),
        _float("tweedie_variance_power", Interval(min_open=1, max_open=2)),
        _cat("objective", choices(version.objectives), depends_on=("num_class",), rule=rules.objective_rule),
        _int("num_class", Interval(min_closed=2)),
        _float("base_score", _NON_NEGATIVE),
        _int("_kfold", Interval(min_closed=2)),
        _int("_num_cv_round", Interval(min_closed=1)),
        _cat("_tuning_objective_metric", choices(version.tuning_metric_names)),
        Hyperparameter(
            "eval_metric",
            Kind.COMMA_LIST,
            EvalMetricChoices(version.metrics),
            depends_on=("objective",),
            rule=rules.eval_metric_rule,
        ),
        _int("seed", Interval(min_open=-(2**31), max_open=2**31 - 1)),
        _int("num_parallel_tree", Interval(min_closed=1)),
        _cat("save_model_on_termination", _TRUE_FALSE),
        _cat("aft_loss_distribution", choices(["normal", "logistic", "extreme"])),
        _float("aft_loss_distribution_scale", _NON_NEGATIVE),
        _cat("deterministic_histogram", _TRUE_FALSE),
        _cat("single_precision_histogram", _TRUE_FALSE),
        _cat("sampling_method", choices(["uniform", "gradient_based"])),
        _int("prob_buffer_row", Interval(min_open=1.0)),
        _cat("use_dask_gpu_training", _TRUE_FALSE),
    ]


def hyperparameter_table(version: str | ContainerVersion) -> dict[str, Hyperparameter]:
    """The hyperparameters the given container version declares, by name."""
    rules_ = get_version(version)
    return {hp.name: hp for hp in _definitions(rules_) if hp.name in rules_.hyperparameters}


def validate_hyperparameters(raw: Mapping[str, str], version: str | ContainerVersion) -> dict[str, Any]:
    """Validate hyperparameters.json the way the given container version does; returns the parsed values."""
    rules_ = get_version(version)
    table = hyperparameter_table(rules_)

    aliases = rules_.alias_map
    values: dict[str, Any] = {aliases.get(name, name): value for name, value in raw.items()}

    for name, hp in table.items():
        if hp.required and name not in values:
            raise UserError(f"Missing required hyperparameter: {name}")

    parsed: dict[str, Any] = {}
    for name, value in values.items():
        hp_or_none = table.get(name)
        if hp_or_none is None:
            raise UserError(f"Extraneous hyperparameter found: {name}")
        try:
            parsed[name] = hp_or_none.parse(value)
        except ValueError as e:
            raise UserError(f"Hyperparameter {name}: could not parse value", caused_by=e) from e

    for name, value in parsed.items():
        try:
            table[name].check_range(value)
        except UserError:
            raise
        except Exception as e:
            raise AlgorithmError(
                f"Hyperparameter {name}: unexpected failure when validating {value}", caused_by=e
            ) from e

    validated: dict[str, Any] = {}
    for name in _dependency_order(list(parsed), table):
        hp = table[name]
        if hp.rule is not None:
            deps = {dep: validated[dep] for dep in hp.depends_on if dep in validated}
            hp.rule(parsed[name], deps, rules_)
        validated[name] = parsed[name]
    return validated


def _dependency_order(names: list[str], table: Mapping[str, Hyperparameter]) -> list[str]:
    """The container's order: a depth-first sort over the given names, dependencies before dependents.

    Names without dependencies keep the user's order, which decides which of two failing rules reports.
    """
    visited = dict.fromkeys(names, False)
    stack: list[str] = []

    def visit(name: str) -> None:
        visited[name] = True
        for dep in table[name].depends_on:
            if dep in visited and not visited[dep]:
                visit(dep)
        stack.insert(0, name)

    for name in names:
        if not visited[name]:
            visit(name)
    return stack[::-1]
