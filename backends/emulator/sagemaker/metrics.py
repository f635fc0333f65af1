"""Metric definitions and `FinalMetricDataList`.

For jobs on a built-in algorithm image SageMaker adds its own `MetricDefinitions` (regular expressions over
the job's log lines, where a tab shows as `#011`) and reports the last value each one matched.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import regex

_NUMBER = r"([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"

# The metrics the built-in XGBoost image declares, in the platform's order.
_XGBOOST_METRICS = (
    ("train", "mae"), ("train", "merror"), ("train", "mse"), ("train", "rmse"), ("train", "logloss"),
    ("train", "mlogloss"), ("train", "error"), ("train", "auc"), ("train", "accuracy"), ("train", "f1"),
    ("train", "aucpr"), ("train", "map"), ("train", "ndcg"), ("train", "gamma-deviance"),
    ("train", "gamma-nloglik"), ("train", "cox-nloglik"), ("train", "poisson-nloglik"),
    ("train", "tweedie-nloglik"), ("train", "rmsle"), ("train", "mphe"), ("train", "r2"),
    ("validation", "mae"), ("validation", "merror"), ("validation", "mse"), ("validation", "rmse"),
    ("validation", "logloss"), ("validation", "mlogloss"), ("validation", "error"), ("validation", "auc"),
    ("validation", "accuracy"), ("validation", "f1"), ("validation", "aucpr"), ("validation", "map"),
    ("validation", "ndcg"), ("validation", "gamma-deviance"), ("validation", "gamma-nloglik"),
    ("validation", "cox-nloglik"), ("validation", "poisson-nloglik"), ("validation", "tweedie-nloglik"),
    ("validation", "rmsle"),
)


def builtin_xgboost_metric_definitions() -> list[dict[str, str]]:
    return [
        {"Name": f"{channel}:{metric}", "Regex": rf".*\[[0-9]+\].*#011{channel}-{metric}:{_NUMBER}.*"}
        for channel, metric in _XGBOOST_METRICS
    ]


def final_metrics(definitions: Iterable[dict[str, str]], lines: Iterable[str], timestamp: float
                  ) -> list[dict[str, Any]]:
    """The last value each definition matched over the job's log lines."""
    compiled = []
    for definition in definitions:
        try:
            compiled.append((definition["Name"], regex.compile(definition["Regex"])))
        except regex.error:
            continue  # a user's regex that does not compile matches nothing, as in SageMaker
    last: dict[str, float] = {}
    for line in lines:
        for name, pattern in compiled:
            match = pattern.search(line)
            if match and match.groups():
                try:
                    last[name] = float(match.group(1))
                except ValueError:
                    continue
    return [{"MetricName": name, "Value": value, "Timestamp": timestamp} for name, value in last.items()][:40]
