"""Running one hyperparameter tuning job: real child training jobs, a strategy choosing their hyperparameters.

The tuner keeps at most `MaxParallelTrainingJobs` children running and launches at most
`MaxNumberOfTrainingJobs` in all, each a training job like any other (the executor runs it; it counts against
`--max-running-jobs`). When a child ends, its final objective (`FinalMetricDataList`'s value for the objective
metric) goes to the strategy and the tuning job's counters and best child are recorded. It ends `Completed`
when every child it may launch has ended, `Failed` when none succeeded, and `Stopped` on a stop or when
`MaxRuntimeInSeconds` has passed (its running children are stopped). After a restart of the emulator an
unfinished tuning job goes on: children interrupted by the crash have ended `Failed`, and the strategy is
rebuilt from the children already launched.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import threading
import time
from typing import Any

from ..errors import ServiceError
from ..sagemaker.context import RequestContext
from ..sagemaker.training_jobs import TrainingJobs
from ..sagemaker.tuning_jobs import TuningJobs, child_request
from ..tuning.space import parse_ranges
from ..tuning.strategies import Point, make_strategy

log = logging.getLogger(__name__)

TERMINAL = ("Completed", "Failed", "Stopped")


class TuningRun:
    def __init__(self, region: str, name: str, tuning: TuningJobs, training: TrainingJobs,
                 poll_seconds: float = 0.2) -> None:
        self.region = region
        self.name = name
        self.tuning = tuning
        self.training = training
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._ctx = RequestContext(region=region)
        self._arn = ""  # the tuning job's ARN, read when it starts

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        try:
            self._run()
        except Exception:
            log.exception("tuning job %s failed inside the emulator", self.name)
            self._stop_children()
            self.tuning.record(self.region, self.name, HyperParameterTuningJobStatus="Failed",
                               FailureReason="InternalServerError: We encountered an internal error. Please try "
                                             "again.")

    def _run(self) -> None:
        job = self.tuning.get(self.region, self.name)
        self._arn = job["HyperParameterTuningJobArn"]
        config, definition = job["HyperParameterTuningJobConfig"], job["TrainingJobDefinition"]
        static = dict(definition.get("StaticHyperParameters") or {})
        parameters = parse_ranges(config["ParameterRanges"], {k: v for k, v in static.items()
                                                               if k != "_tuning_objective_metric"})
        objective = config["HyperParameterTuningJobObjective"]
        maximize = objective["Type"] == "Maximize"
        strategy = make_strategy(config["Strategy"], parameters, config.get("RandomSeed"), maximize)
        limits = config["ResourceLimits"]
        most, parallel = limits["MaxNumberOfTrainingJobs"], limits["MaxParallelTrainingJobs"]
        deadline = job["CreationTime"] + limits["MaxRuntimeInSeconds"] if limits.get("MaxRuntimeInSeconds") else None
        observed: set[str] = set()
        launched = 0
        # After a restart: what the children already launched asked of the strategy, and what they found.
        for _ in self.tuning.children(self.region, self._arn):
            launched += 1
            if config["Strategy"] != "Bayesian":
                strategy.next_point()  # the same sequence of points again, past the ones already used
        exhausted = False
        while True:
            children = self.tuning.children(self.region, self._arn)
            ended = [child for child in children
                     if child["TrainingJobStatus"] in TERMINAL and child["TrainingJobName"] not in observed]
            for child in ended:
                observed.add(child["TrainingJobName"])
                value = self._objective(child["TrainingJobName"], objective["MetricName"])
                strategy.observe(child["TunedHyperParameters"], value)
            if ended:  # their objectives were just recorded on them
                children = self.tuning.children(self.region, self._arn)
            running = [c["TrainingJobName"] for c in children if c["TrainingJobStatus"] not in TERMINAL]
            self._record_progress(children, maximize)
            stopping = self._stop.is_set() or (deadline is not None and time.time() >= deadline)
            if stopping:
                self._stop_children()
                if running:
                    time.sleep(self.poll_seconds)
                    continue
                self.tuning.record(self.region, self.name, HyperParameterTuningJobStatus="Stopped")
                return
            while len(running) < parallel and launched < most and not exhausted:
                point = strategy.next_point()
                if point is None:
                    exhausted = True
                    break
                launched += 1
                try:
                    running.append(self._launch(definition, point, launched))
                except _ChildRefused as refused:
                    self._stop_children()
                    self.tuning.record(self.region, self.name, HyperParameterTuningJobStatus="Failed",
                                       FailureReason=str(refused)[:1024])
                    return
            if not running and (launched >= most or exhausted):
                self._finish(children, launched)
                return
            time.sleep(self.poll_seconds)

    def _launch(self, definition: dict[str, Any], point: Point, number: int) -> str:
        name = f"{self.name}-{number:03d}-{secrets.token_hex(4)}"
        try:
            self.training.create_training_job(self._ctx, child_request(definition, name, point, self._arn))
        except ServiceError as error:
            raise _ChildRefused(f"ClientError: Training job {name} could not be created: {error.message}") from None
        self.training.update(self.region, name, _TunedHyperParameters=point, _TuningJobName=self.name)
        return name

    def _objective(self, child: str, metric: str) -> float | None:
        """The child's final objective (recorded on the child), None when it has none."""
        job = self.training.get(self.region, child)
        if job["TrainingJobStatus"] == "Failed":
            return None
        values = [m["Value"] for m in job.get("FinalMetricDataList") or [] if m["MetricName"] == metric]
        if not values:
            return None
        self.training.update(self.region, child, _Objective={"MetricName": metric, "Value": values[-1]})
        return float(values[-1])

    def _record_progress(self, children: list[dict[str, Any]], maximize: bool) -> None:
        counters = {"Completed": 0, "InProgress": 0, "RetryableError": 0, "NonRetryableError": 0, "Stopped": 0}
        objectives = {"Succeeded": 0, "Pending": 0, "Failed": 0}
        for child in children:
            status = child["TrainingJobStatus"]
            counters["NonRetryableError" if status == "Failed" else
                     "InProgress" if status == "Stopping" else status] += 1
            objectives[child["ObjectiveStatus"]] += 1
        scored = [c for c in children if "FinalHyperParameterTuningJobObjectiveMetric" in c]
        best = None
        if scored:
            best = (max if maximize else min)(
                scored, key=lambda c: c["FinalHyperParameterTuningJobObjectiveMetric"]["Value"])
        self.tuning.record(self.region, self.name, TrainingJobStatusCounters=counters,
                           ObjectiveStatusCounters=objectives, BestTrainingJob=best)

    def _finish(self, children: list[dict[str, Any]], launched: int) -> None:
        if any(child["ObjectiveStatus"] == "Succeeded" for child in children):
            self.tuning.record(self.region, self.name, HyperParameterTuningJobStatus="Completed")
        else:
            self.tuning.record(self.region, self.name, HyperParameterTuningJobStatus="Failed",
                               FailureReason=f"No training job succeeded after {launched} attempts. Please take a "
                                             "look at the training job failures to get more details.")

    def _stop_children(self) -> None:
        for child in self.tuning.children(self.region, self._arn):
            if child["TrainingJobStatus"] == "InProgress":
                with contextlib.suppress(ServiceError):  # it ended meanwhile
                    self.training.stop_training_job(self._ctx, {"TrainingJobName": child["TrainingJobName"]})




class _ChildRefused(Exception):
    pass
