"""Running one hyperparameter tuning job: real child training jobs, a strategy choosing their hyperparameters.

The tuner keeps at most `MaxParallelTrainingJobs` children running and launches at most
`MaxNumberOfTrainingJobs` in all, each a training job like any other (the executor runs it; it counts against
`--max-running-jobs`). When a child ends, its final objective (`FinalMetricDataList`'s value for the objective
metric) goes to the strategy and the tuning job's counters and best child are recorded.

While children run, with `TrainingJobEarlyStoppingType=Auto` or the `Hyperband` strategy, the tuner reads each
child's objective at every epoch from its log (`objective_series.py`) and stops a child that the median rule
(`tuning/early_stopping.py`) or Hyperband's pruner says to stop; it ends `Stopped` with the objective it had
reached. The decisions are taken as the log arrives, a fraction of a second behind the child, so a child may
train a few more rounds after the epoch that decided it, as on SageMaker, where the tuner also watches from
outside.

It ends `Completed` when every child it may launch has ended or when a `TuningJobCompletionCriteria` is met
(its running children are then stopped), `Failed` when none succeeded, and `Stopped` on a stop or when
`MaxRuntimeInSeconds` has passed (its running children are stopped). A warm start tells the strategy what the
parent jobs' children found, and with `IdenticalDataAndAlgorithm` reports the best of all of them as
`OverallBestTrainingJob`. After a restart of the emulator an unfinished tuning job goes on: children interrupted
by the crash have ended `Failed`, and the strategy is rebuilt from the children already launched.
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
from ..sagemaker.tuning_jobs import TuningJobs, child_request, hyperband_resources
from ..tuning.completion import Completion
from ..tuning.early_stopping import MedianRule
from ..tuning.space import Parameter, parse_ranges
from ..tuning.strategies import Point, Strategy, make_strategy
from .objective_series import ObjectiveSeries

log = logging.getLogger(__name__)

TERMINAL = ("Completed", "Failed", "Stopped")


class TuningRun:
    def __init__(self, region: str, name: str, tuning: TuningJobs, training: TrainingJobs, logs: Any = None,
                 poll_seconds: float = 0.2) -> None:
        self.region = region
        self.name = name
        self.tuning = tuning
        self.training = training
        self.logs = logs  # a CloudWatch Logs client, to read children's objective at each epoch
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._ctx = RequestContext(region=region)
        self._arn = ""  # the tuning job's ARN, read when it starts
        self._created = 0.0

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
        self._arn, self._created = job["HyperParameterTuningJobArn"], job["CreationTime"]
        config, definition = job["HyperParameterTuningJobConfig"], job["TrainingJobDefinition"]
        static = {k: v for k, v in (definition.get("StaticHyperParameters") or {}).items()
                  if k != "_tuning_objective_metric"}
        parameters = parse_ranges(config["ParameterRanges"], static)
        objective = config["HyperParameterTuningJobObjective"]
        maximize = objective["Type"] == "Maximize"
        limits = config["ResourceLimits"]
        most, parallel = limits["MaxNumberOfTrainingJobs"], limits["MaxParallelTrainingJobs"]
        deadline = self._created + limits["MaxRuntimeInSeconds"] if limits.get("MaxRuntimeInSeconds") else None
        launched = len(self.tuning.children(self.region, self._arn))  # after a restart, some already were
        hyperband = config["Strategy"] == "Hyperband"
        strategy = make_strategy(config["Strategy"], parameters, config.get("RandomSeed"), maximize, launched,
                                 hyperband_resources(config, static) if hyperband else None)
        progress = _Progress(strategy, MedianRule(maximize) if config.get("TrainingJobEarlyStoppingType") == "Auto"
                             else None)
        if (progress.rule is not None or hyperband) and self.logs is not None:
            pattern = next(metric["Regex"] for metric in definition["AlgorithmSpecification"]["MetricDefinitions"]
                           if metric["Name"] == objective["MetricName"])
            progress.series = ObjectiveSeries(self.logs, pattern)
        completion = Completion(config.get("TuningJobCompletionCriteria") or {}, maximize, most)
        parents_best = self._warm_start(job, parameters, strategy)
        observed: set[str] = set()
        done: str | None = None  # the completion criterion met
        exhausted = False
        while True:
            children = self.tuning.children(self.region, self._arn)
            while True:  # until a listing in which every ended child has its objective recorded
                for decided in progress.follow(children):
                    self._stop_child(decided)
                ended = [child for child in children
                         if child["TrainingJobStatus"] in TERMINAL and child["TrainingJobName"] not in observed]
                if not ended:
                    break
                for child in ended:
                    name = child["TrainingJobName"]
                    observed.add(name)
                    value = self._objective(name, objective["MetricName"])
                    strategy.observe(name, child["TunedHyperParameters"], value, progress.values.get(name, ()))
                    reason = completion.observe(value)
                    if reason and done is None:
                        done = reason
                        log.info("tuning job %s completes: %s", self.name, reason)
                children = self.tuning.children(self.region, self._arn)  # with the objectives just recorded
            running = [c["TrainingJobName"] for c in children if c["TrainingJobStatus"] not in TERMINAL]
            self._record_progress(children, maximize, completion, parents_best)
            stopping = self._stop.is_set() or (deadline is not None and time.time() >= deadline)
            if stopping or done:
                self._stop_children()
                if running:
                    time.sleep(self.poll_seconds)
                    continue
                self._end(children, launched, "Stopped" if stopping else "Completed")
                return
            while len(running) < parallel and launched < most and not exhausted:
                name = f"{self.name}-{launched + 1:03d}-{secrets.token_hex(4)}"
                point = strategy.next_point(name)
                if point is None:
                    exhausted = True
                    break
                launched += 1
                try:
                    running.append(self._launch(definition, name, point))
                except _ChildRefused as refused:
                    self._stop_children()
                    self.tuning.record(self.region, self.name, HyperParameterTuningJobStatus="Failed",
                                       FailureReason=str(refused)[:1024])
                    return
            if not running and (launched >= most or exhausted):
                self._end(children, launched, "Completed")
                return
            time.sleep(self.poll_seconds)

    def _launch(self, definition: dict[str, Any], name: str, point: Point) -> str:
        try:
            # A context of its own: a child's CreationTime is when it is launched.
            self.training.create_training_job(RequestContext(region=self.region),
                                              child_request(definition, name, point, self._arn))
        except ServiceError as error:
            raise _ChildRefused(f"ClientError: Training job {name} could not be created: {error.message}") from None
        self.training.update(self.region, name, _TunedHyperParameters=point, _TuningJobName=self.name)
        return name

    def _warm_start(self, job: dict[str, Any], parameters: list[Parameter], strategy: Strategy
                    ) -> list[dict[str, Any]]:
        """Tell the strategy what the parents' children found (those whose point lies in this job's ranges); the
        parents' best children, when they count towards OverallBestTrainingJob."""
        warm = job.get("WarmStartConfig")
        if not warm:
            return []
        bests: list[dict[str, Any]] = []
        for reference in warm["ParentHyperParameterTuningJobs"]:
            parent = self.tuning.get(self.region, reference["HyperParameterTuningJobName"])
            static = parent["TrainingJobDefinition"].get("StaticHyperParameters") or {}
            for child in self.tuning.children(self.region, parent["HyperParameterTuningJobArn"]):
                values = {**static, **child["TunedHyperParameters"]}
                point = {parameter.name: values.get(parameter.name, "") for parameter in parameters}
                if all(parameter.contains(point[parameter.name]) for parameter in parameters):
                    objective = (child.get("FinalHyperParameterTuningJobObjectiveMetric") or {}).get("Value")
                    strategy.observe(child["TrainingJobName"], point, objective)
            if warm["WarmStartType"] == "IdenticalDataAndAlgorithm":
                bests += [parent[key] for key in ("BestTrainingJob", "OverallBestTrainingJob") if parent.get(key)]
        return bests

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

    def _record_progress(self, children: list[dict[str, Any]], maximize: bool, completion: Completion,
                         parents_best: list[dict[str, Any]]) -> None:
        counters = {"Completed": 0, "InProgress": 0, "RetryableError": 0, "NonRetryableError": 0, "Stopped": 0}
        objectives = {"Succeeded": 0, "Pending": 0, "Failed": 0}
        for child in children:
            status = child["TrainingJobStatus"]
            counters["NonRetryableError" if status == "Failed" else
                     "InProgress" if status == "Stopping" else status] += 1
            objectives[child["ObjectiveStatus"]] += 1
        best = _best([c for c in children if "FinalHyperParameterTuningJobObjectiveMetric" in c], maximize)
        details: dict[str, Any] = {"NumberOfTrainingJobsObjectiveNotImproving": completion.not_improving}
        if completion.converged_at is not None:
            details["ConvergenceDetectedTime"] = completion.converged_at
        self.tuning.record(self.region, self.name, TrainingJobStatusCounters=counters,
                           ObjectiveStatusCounters=objectives, BestTrainingJob=best,
                           OverallBestTrainingJob=_best(([best] if best else []) + parents_best, maximize)
                           if parents_best else None,
                           TuningJobCompletionDetails=details, ConsumedResources=self._consumed())

    def _end(self, children: list[dict[str, Any]], launched: int, status: str) -> None:
        if status == "Completed" and not any(child["ObjectiveStatus"] == "Succeeded" for child in children):
            self.tuning.record(self.region, self.name, HyperParameterTuningJobStatus="Failed",
                               FailureReason=f"No training job succeeded after {launched} attempts. Please take a "
                                             "look at the training job failures to get more details.",
                               ConsumedResources=self._consumed())
        else:
            self.tuning.record(self.region, self.name, HyperParameterTuningJobStatus=status,
                               ConsumedResources=self._consumed())

    def _consumed(self) -> dict[str, int]:
        return {"RuntimeInSeconds": max(0, int(time.time() - self._created))}

    def _stop_child(self, name: str) -> None:
        with contextlib.suppress(ServiceError):  # it ended meanwhile
            self.training.stop_training_job(self._ctx, {"TrainingJobName": name})

    def _stop_children(self) -> None:
        for child in self.tuning.children(self.region, self._arn):
            if child["TrainingJobStatus"] == "InProgress":
                self._stop_child(child["TrainingJobName"])


class _Progress:
    """The children's objective at each epoch, as their logs arrive, told to the strategy and the early stopping
    rule; which running children they stop."""

    def __init__(self, strategy: Strategy, rule: MedianRule | None) -> None:
        self.strategy = strategy
        self.rule = rule
        self.series: ObjectiveSeries | None = None
        self.values: dict[str, list[float]] = {}
        self._drained: set[str] = set()
        self._stopped: set[str] = set()

    def follow(self, children: list[dict[str, Any]]) -> list[str]:
        """Read what the children logged since the last call; the running children to stop now."""
        if self.series is None:
            return []
        stop = []
        for child in children:
            name = child["TrainingJobName"]
            if name in self._drained:
                continue
            ended = child["TrainingJobStatus"] in TERMINAL  # its log was all shipped before it ended
            values = self.values.setdefault(name, [])  # in launch order: the children are listed so
            for value in self.series.read(name):
                values.append(value)
                decided = self.strategy.report(name, len(values), value)
                if self.rule is not None:
                    decided = self.rule.stops(name, self.values) or decided
                if decided and child["TrainingJobStatus"] == "InProgress" and name not in self._stopped:
                    self._stopped.add(name)
                    stop.append(name)
            if ended:
                self._drained.add(name)
        return stop


def _best(summaries: list[dict[str, Any]], maximize: bool) -> dict[str, Any] | None:
    scored = [s for s in summaries if "FinalHyperParameterTuningJobObjectiveMetric" in s]
    if not scored:
        return None
    return (max if maximize else min)(scored, key=lambda s: s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"])


class _ChildRefused(Exception):
    pass
