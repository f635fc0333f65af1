"""Checks between hyperparameters, run after every value has passed its own range check.

Each rule gets the value, the already-validated values it depends on, and the container version. Like the
container's validators they are not wrapped: a KeyError they hit (eval_metric without objective on 1.2-1+)
escapes as a raw KeyError, which the job reports as a framework error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .errors import UserError
from .versions import ContainerVersion

DependencyRule = Callable[[Any, Mapping[str, Any], ContainerVersion], None]

_LINEAR_UPDATERS = ("shotgun", "coord_descent")
_UPDATE_PROCESS_UPDATERS = ("refresh", "prune")


def updater_rule(value: list[str], deps: Mapping[str, Any], version: ContainerVersion) -> None:
    if deps.get("booster") == "gblinear":
        if not (len(value) == 1 and value[0] in _LINEAR_UPDATERS):
            raise UserError(f"Linear updater should be one of these options: {_garbled_linear_options()}.")
    elif deps.get("process_type") == "update":
        if not all(x in _UPDATE_PROCESS_UPDATERS for x in value):
            raise UserError("process_type 'update' can only be used with updater 'refresh' and 'prune'")
    else:
        if not all(x in version.tree_updaters for x in value):
            raise UserError(version.tree_updater_message)
        if sum(1 for x in value if x in version.tree_grow_updaters) > 1:
            raise UserError(version.tree_grow_message)


def _garbled_linear_options() -> str:
    # The container formats a generator object instead of the option names and then joins the characters of
    # that repr with ", ". The text (including a memory address) is reproduced, since users see exactly it.
    generator = (name for name in _LINEAR_UPDATERS)
    address = hex(id(generator))
    text = f"'<generator object initialize.<locals>.updater_validator.<locals>.<genexpr> at {address}>'"
    return ", ".join(text)


def objective_rule(value: str, deps: Mapping[str, Any], version: ContainerVersion) -> None:
    # num_class with a non-multi objective is accepted: the container's opposite check can never fire.
    if value in ("multi:softmax", "multi:softprob") and deps.get("num_class") is None:
        raise UserError("Require input for parameter 'num_class' for multi-classification")


def eval_metric_rule(value: list[str], deps: Mapping[str, Any], version: ContainerVersion) -> None:
    # 1.2-1+ look the objective up first, 0.90/1.0 only for "auc"; a missing one is a raw KeyError in both.
    objective = deps["objective"] if version.eval_metric_needs_objective else deps.get("objective")
    if "auc" in value:
        objective = deps["objective"]
        if not any(objective.startswith(prefix) for prefix in ("binary:", "rank:")):
            raise UserError("Metric 'auc' can only be applied for classification and ranking problems.")
    if version.checks_aft_metric and "aft-nloglik" in value and objective not in ("survival:aft",):
        raise UserError("Metric 'aft-nloglik' can only be applied for 'survival:aft' objective.")


def monotone_constraints_rule(value: Any, deps: Mapping[str, Any], version: ContainerVersion) -> None:
    if value is not None and deps.get("tree_method") not in ("exact", "hist"):
        raise UserError(
            "monotone_constraints can be used only when the tree_method parameter is set to "
            "either 'exact' or 'hist'."
        )


def interaction_constraints_rule(value: Any, deps: Mapping[str, Any], version: ContainerVersion) -> None:
    if value is not None and deps.get("tree_method") not in ("exact", "hist", "approx"):
        raise UserError(
            "interaction_constraints can be used only when the tree_method parameter is set to "
            "either 'exact', 'hist' or 'approx'."
        )
