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
from collections.abc import Mapping, Sequence


class MedianRule:
    def __init__(self, maximize: bool) -> None:
        self.maximize = maximize

    def stops(self, child: str, series: Mapping[str, Sequence[float]]) -> bool:
        """Whether the rule stops `child` at its latest epoch; `series` holds every child's objective per epoch so
        far, in launch order."""
        values = series[child]
        step = len(values)
        averages = []
        for name, earlier in series.items():
            if name == child:
                break
            if len(earlier) >= step:
                averages.append(sum(earlier[:step]) / step)
        if not averages:
            return False
        median = statistics.median(averages)
        return values[-1] < median if self.maximize else values[-1] > median
