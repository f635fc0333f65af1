"""Allowed values of hyperparameters, rendered in error messages exactly as the container renders them.

The container's `Interval.__str__` gives `[0, 1]`, `(0, 1]`, `[1, +inf)`; a list of choices prints as a
Python list. Membership uses plain comparisons, so a value of the wrong type raises TypeError just as there
(the validator turns that into an AlgorithmError), and NaN passes every interval, as it does there.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .errors import UserError


class ValueRange(Protocol):
    def __contains__(self, value: object) -> bool: ...

    def __str__(self) -> str: ...


@dataclass(frozen=True)
class Interval:
    min_open: float | None = None
    min_closed: float | None = None
    max_open: float | None = None
    max_closed: float | None = None

    def __contains__(self, value: Any) -> bool:
        return not (
            (self.min_open is not None and value <= self.min_open)
            or (self.min_closed is not None and value < self.min_closed)
            or (self.max_open is not None and value >= self.max_open)
            or (self.max_closed is not None and value > self.max_closed)
        )

    def __str__(self) -> str:
        if self.min_open is not None:
            low = f"({self.min_open}, "
        elif self.min_closed is not None:
            low = f"[{self.min_closed}, "
        else:
            low = "(-inf, "
        if self.max_open is not None:
            high = f"{self.max_open})"
        elif self.max_closed is not None:
            high = f"{self.max_closed}]"
        else:
            high = "+inf)"
        return low + high


@dataclass(frozen=True)
class Choices:
    """A list of allowed values; `check` runs first and may raise its own UserError (the gpu rule)."""

    values: tuple[Any, ...]
    check: Callable[[Any], None] | None = None

    def __contains__(self, value: object) -> bool:
        if self.check is not None:
            self.check(value)
        return value in self.values

    def __str__(self) -> str:
        return str(list(self.values))


def reject_gpu(value: Any) -> None:
    """0.90-x and 1.0-1 refuse any tree_method / predictor naming a GPU before the range check."""
    if "gpu" in value:
        raise UserError("GPU training is not supported yet.")


@dataclass(frozen=True)
class EvalMetricChoices:
    """eval_metric entries: a supported metric name, or `name@threshold` for error / ndcg / map."""

    metrics: tuple[str, ...]

    def __contains__(self, value: Any) -> bool:
        if "<function" in value:
            raise UserError(f"User defined evaluation metric {value} is not supported yet.")
        if "@" in value:
            name = value.split("@")[0].strip()
            threshold = value.split("@")[1].strip()
            if name not in ("error", "ndcg", "map"):
                raise UserError(
                    f"Metric '{value}' is not supported. Parameter 'eval_metric' with customized threshold "
                    "should be one of these options: 'error', 'ndcg', 'map'."
                )
            try:
                float(threshold)
            except ValueError:
                raise UserError(f"Threshold value 't' in '{name}@t' expects float input.") from None
            return True
        return value in self.metrics

    def __str__(self) -> str:
        return str(list(self.metrics))


def choices(values: Sequence[Any]) -> Choices:
    return Choices(tuple(values))
