"""`TrainingJobEarlyStoppingType=Auto`: SageMaker's documented median rule.

"After each epoch of training, get the value of the objective metric. Compute the running average of the
objective metric for all previous training jobs up to the same epoch, and then compute the median of all of the
running averages. If the value of the objective metric for the current training job is worse (higher when
minimizing or lower when maximizing the objective metric) than the median value of running averages of the
objective metric for previous training jobs up to the same epoch, SageMaker stops the current training job."

An epoch is one value of the objective metric in the child's log (a boosting round for XGBoost). The previous
training jobs are the children launched before this one that have reached the same epoch, running or ended.
"""

from __future__ import annotations

import statistics


class MedianRule:
    def __init__(self, maximize: bool) -> None:
        self.maximize = maximize
        self._series: dict[str, list[float]] = {}  # every child's objective per epoch, in launch order

    def add(self, child: str) -> None:
        self._series.setdefault(child, [])

    def report(self, child: str, step: int, value: float) -> bool:
        """Record the child's objective at epoch `step` (from 1); True when the rule stops it there."""
        series = self._series.setdefault(child, [])
        if len(series) < step:
            series.extend([value] * (step - len(series)))
        series[step - 1] = value
        averages = []
        for name, earlier in self._series.items():
            if name == child:
                break
            if len(earlier) >= step:
                averages.append(sum(earlier[:step]) / step)
        if not averages:
            return False
        median = statistics.median(averages)
        return value > median if not self.maximize else value < median
