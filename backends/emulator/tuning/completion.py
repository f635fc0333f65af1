"""`TuningJobCompletionCriteria`: when a tuning job has found enough and ends `Completed` early.

- `TargetObjectiveMetricValue`: a child's final objective reaches the value (at or below it when minimizing,
  at or above when maximizing).
- `BestObjectiveNotImproving.MaxNumberOfTrainingJobsNotImproving`: that many children in a row (in the order
  they ended, counting those with an objective) did not improve the best objective by more than 1%.
- `ConvergenceDetected.CompleteOnConvergence=Enabled`: SageMaker's detector is proprietary ("a lack of
  significant improvement (1% or less)"); the emulator's rule is the same count over a window of
  max(10, MaxNumberOfTrainingJobs / 5) children.

`NumberOfTrainingJobsObjectiveNotImproving` (the count since the last improvement of more than 1%) is reported
in `TuningJobCompletionDetails` whatever the criteria.
"""

from __future__ import annotations

import math
import time
from typing import Any

IMPROVEMENT = 0.01


class Completion:
    def __init__(self, criteria: dict[str, Any], maximize: bool, most_jobs: int) -> None:
        self.maximize = maximize
        self.target = criteria.get("TargetObjectiveMetricValue")
        self.patience = (criteria.get("BestObjectiveNotImproving") or {}).get("MaxNumberOfTrainingJobsNotImproving")
        enabled = (criteria.get("ConvergenceDetected") or {}).get("CompleteOnConvergence") == "Enabled"
        self.window = max(10, math.ceil(most_jobs / 5)) if enabled else None
        self.best: float | None = None
        self.not_improving = 0
        self.converged_at: float | None = None  # when convergence was detected

    def observe(self, objective: float | None) -> str | None:
        """A child ended with `objective`: the criterion met, if one is (a reason for the log), else None."""
        if objective is None:
            return None
        if self.best is None or self._improves(objective):
            self.best, self.not_improving = objective, 0
        else:
            self.not_improving += 1
            if (objective > self.best) if self.maximize else (objective < self.best):
                self.best = objective  # better, but by 1% or less
        if self.target is not None and (objective >= self.target if self.maximize else objective <= self.target):
            return f"a training job reached the target objective metric value {self.target}"
        if self.patience is not None and self.not_improving >= self.patience:
            return f"{self.not_improving} training jobs did not improve the best objective by more than 1%"
        if self.window is not None and self.not_improving >= self.window:
            self.converged_at = time.time()
            return f"convergence detected: {self.not_improving} training jobs without an improvement of more than 1%"
        return None

    def _improves(self, objective: float) -> bool:
        assert self.best is not None
        margin = abs(self.best) * IMPROVEMENT
        return objective > self.best + margin if self.maximize else objective < self.best - margin
