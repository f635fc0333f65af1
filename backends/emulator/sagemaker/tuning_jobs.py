"""Hyperparameter tuning jobs: CreateHyperParameterTuningJob, DescribeHyperParameterTuningJob,
ListHyperParameterTuningJobs, StopHyperParameterTuningJob, ListTrainingJobsForHyperParameterTuningJob.

A tuning job's record is its Describe answer. The tuner (`executor/tuner.py`) launches its children as real
training jobs (named `<tuning job>-<NNN>-<8 hex>`, with `TuningJobArn` set) and records here, after each change,
the counters, the best child and the status. A child's summary (ListTrainingJobsForHyperParameterTuningJob) is
read from the child's own record, so it is never out of date.
"""

from __future__ import annotations

import copy
import time
from typing import Any, Protocol

from ..errors import ResourceInUse, ResourceNotFound, ValidationException
from ..service_model import operation_model, service_model
from ..store import Store
from ..tuning.space import combinations, parse_ranges
from ..validation import validate_request
from .arns import arn
from .context import RequestContext
from .inputs import PrefixHasObjects, check_inputs_exist
from .listing import ListSpec, list_page
from .metrics import builtin_xgboost_metric_definitions
from .training_jobs import KIND as TRAINING_KIND
from .training_jobs import check_runnable

KIND = "hyper-parameter-tuning-job"
TERMINAL = frozenset({"Completed", "Failed", "Stopped"})
# ListHyperParameterTuningJobs: "The default is Name" (SortBy) and Ascending; no filter after the cut.
_LIST_SPEC = ListSpec(name_key="HyperParameterTuningJobName", status_key="HyperParameterTuningJobStatus",
                      default_sort_order="Ascending", default_sort_by="Name")
# Real answers without SortBy list a tuning job's children newest first.
_CHILDREN_SPEC = ListSpec(name_key="TrainingJobName", status_key="TrainingJobStatus",
                          default_sort_order="Descending", default_sort_by="CreationTime",
                          extra_sort_keys=(("FinalObjectiveMetricValue", "_Objective"),))
_SUMMARY_MEMBERS = ("HyperParameterTuningJobName", "HyperParameterTuningJobArn", "HyperParameterTuningJobStatus",
                    "Strategy", "CreationTime", "HyperParameterTuningEndTime", "LastModifiedTime",
                    "TrainingJobStatusCounters", "ObjectiveStatusCounters", "ResourceLimits")
_UNSUPPORTED = {"TrainingJobDefinitions": "several training job definitions",
                "WarmStartConfig": "warm start", "Autotune": "Autotune"}


class Tuner(Protocol):
    def start_tuning(self, region: str, name: str) -> None: ...

    def stop_tuning(self, region: str, name: str) -> None: ...


class TuningJobs:
    def __init__(self, store: Store, is_builtin_image: Any, has_objects: PrefixHasObjects | None = None) -> None:
        self.store = store
        self.has_objects = has_objects  # checks the children's S3 input once, at Create
        self.tuner: Tuner | None = None
        self._is_builtin_image = is_builtin_image
        self._describe_members = set(
            service_model("sagemaker").shape_for("DescribeHyperParameterTuningJobResponse").members)

    # -- operations ---------------------------------------------------------------------------------------

    def create_hyper_parameter_tuning_job(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["HyperParameterTuningJobName"]
        job_arn = arn(ctx, "hyper-parameter-tuning-job", name)
        for member, what in _UNSUPPORTED.items():
            if params.get(member):
                raise ValidationException(f"The emulator does not run tuning jobs with {what} ({member}) yet.")
        if "TrainingJobDefinition" not in params:
            raise ValidationException("TrainingJobDefinition is required.")
        config = copy.deepcopy(params["HyperParameterTuningJobConfig"])
        definition = copy.deepcopy(params["TrainingJobDefinition"])
        self._check(config, definition)
        # What a child's CreateTrainingJob would refuse is refused now (the model's rules, and the emulator's).
        prototype = child_request(definition, f"{name}-001-00000000", {}, job_arn)
        prototype.pop("TuningJobArn")
        validate_request(operation_model("sagemaker", "CreateTrainingJob").input_shape,  # type: ignore[union-attr]
                         prototype)
        check_runnable(prototype)
        sources = [channel["DataSource"]["S3DataSource"] for channel in definition.get("InputDataConfig") or []
                   if "S3DataSource" in channel.get("DataSource", {})]
        check_inputs_exist(self.has_objects, ctx, sources, definition.get("RoleArn"))
        job = {k: copy.deepcopy(v) for k, v in params.items() if k in self._describe_members}
        job.update({
            "HyperParameterTuningJobName": name,
            "HyperParameterTuningJobArn": job_arn,
            "HyperParameterTuningJobConfig": config,
            "TrainingJobDefinition": definition,
            "HyperParameterTuningJobStatus": "InProgress",
            "CreationTime": ctx.received,
            "LastModifiedTime": ctx.received,
            "TrainingJobStatusCounters": {"Completed": 0, "InProgress": 0, "RetryableError": 0,
                                          "NonRetryableError": 0, "Stopped": 0},
            "ObjectiveStatusCounters": {"Succeeded": 0, "Pending": 0, "Failed": 0},
        })
        if not self.store.insert(KIND, ctx.region, name, job):
            raise ResourceInUse(f"A hyperparameter tuning job with the name, {name}, already exists. Choose a "
                                "different name.")
        if self.tuner is not None:
            self.tuner.start_tuning(ctx.region, name)
        return {"HyperParameterTuningJobArn": job_arn}

    def describe_hyper_parameter_tuning_job(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self.get(ctx.region, params["HyperParameterTuningJobName"])

    def list_hyper_parameter_tuning_jobs(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        summaries, token = list_page(self.store.list(KIND, ctx.region), params, _LIST_SPEC, _summary)
        return {"HyperParameterTuningJobSummaries": summaries, "NextToken": token}

    def stop_hyper_parameter_tuning_job(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["HyperParameterTuningJobName"]
        job = self.get(ctx.region, name)
        if job["HyperParameterTuningJobStatus"] != "InProgress":
            raise ValidationException(f"The request was rejected because the hyperparameter tuning job is in "
                                      f"status {job['HyperParameterTuningJobStatus']}.")
        self.record(ctx.region, name, HyperParameterTuningJobStatus="Stopping")
        if self.tuner is not None:
            self.tuner.stop_tuning(ctx.region, name)
        return {}

    def list_training_jobs_for_hyper_parameter_tuning_job(self, ctx: RequestContext, params: dict[str, Any]
                                                          ) -> dict[str, Any]:
        job = self.get(ctx.region, params["HyperParameterTuningJobName"])
        children = self.children(ctx.region, job["HyperParameterTuningJobArn"])
        documents = [{**summary, "_Objective": (summary.get("FinalHyperParameterTuningJobObjectiveMetric") or {})
                      .get("Value")} for summary in children]
        if params.get("SortBy") == "FinalObjectiveMetricValue":  # children without an objective are left out
            documents = [d for d in documents if d["_Objective"] is not None]
        summaries, token = list_page(documents, params, _CHILDREN_SPEC,
                                     lambda d: {k: v for k, v in d.items() if k != "_Objective"})
        return {"TrainingJobSummaries": summaries, "NextToken": token}

    # -- what the tuner calls -----------------------------------------------------------------------------

    def get(self, region: str, name: str) -> dict[str, Any]:
        job = self.store.get(KIND, region, name)
        if job is None:
            raise ResourceNotFound(f"Amazon SageMaker can't find a tuning job called {name}. Type another name.")
        return job

    def record(self, region: str, name: str, **fields: Any) -> dict[str, Any] | None:
        """Record fields (a terminal job changes no more; a stopping one only ends)."""
        now = time.time()

        def change(job: dict[str, Any]) -> None:
            current = job["HyperParameterTuningJobStatus"]
            new = fields.get("HyperParameterTuningJobStatus")
            if current in TERMINAL:
                return
            if current == "Stopping" and new not in (None, "Stopped", "Failed"):
                fields.pop("HyperParameterTuningJobStatus", None)
            job.update({k: v for k, v in fields.items() if v is not None})
            job["LastModifiedTime"] = now
            if job["HyperParameterTuningJobStatus"] in TERMINAL:
                job["HyperParameterTuningEndTime"] = now

        return self.store.update(KIND, region, name, change)

    def children(self, region: str, tuning_arn: str) -> list[dict[str, Any]]:
        """The summaries (HyperParameterTrainingJobSummary) of a tuning job's children, oldest first."""
        found = [child for child in self.store.list(TRAINING_KIND, region) if child.get("TuningJobArn") == tuning_arn]
        found.sort(key=lambda child: (child["CreationTime"], child["TrainingJobName"]))
        return [child_summary(child) for child in found]

    def unfinished(self) -> list[tuple[str, dict[str, Any]]]:
        return [(region, job) for region, job in self.store.all_of(KIND)
                if job["HyperParameterTuningJobStatus"] not in TERMINAL]

    # -- checks ---------------------------------------------------------------------------------------------

    def _check(self, config: dict[str, Any], definition: dict[str, Any]) -> None:
        strategy = config["Strategy"]
        if strategy == "Hyperband":
            raise ValidationException("The emulator does not run the Hyperband strategy yet: use Bayesian, Random "
                                      "or Grid.")
        if config.get("TrainingJobEarlyStoppingType", "Off") != "Off":
            raise ValidationException("The emulator does not stop training jobs early yet: set "
                                      "TrainingJobEarlyStoppingType to Off (the default).")
        if config.get("TuningJobCompletionCriteria"):
            raise ValidationException("The emulator does not take TuningJobCompletionCriteria yet: a tuning job "
                                      "runs until its ResourceLimits are met.")
        static = definition.get("StaticHyperParameters") or {}
        ranges = config.get("ParameterRanges") or {}
        parameters = parse_ranges(ranges, static)
        for member in ("IntegerParameterRanges", "ContinuousParameterRanges", "CategoricalParameterRanges"):
            ranges.setdefault(member, [])
            for spec in ranges[member]:
                if member != "CategoricalParameterRanges":
                    spec.setdefault("ScalingType", "Auto")
        config["ParameterRanges"] = ranges
        limits = config["ResourceLimits"]
        possible = combinations(parameters)
        if strategy == "Grid":
            if any(parameter.kind != "categorical" for parameter in parameters):
                raise ValidationException("The Grid strategy takes categorical parameter ranges only.")
            if limits.get("MaxNumberOfTrainingJobs") is not None:
                raise ValidationException("MaxNumberOfTrainingJobs must not be given with the Grid strategy: it is "
                                          f"the number of combinations of the ranges ({int(possible)}).")
            limits["MaxNumberOfTrainingJobs"] = int(possible)
        elif limits.get("MaxNumberOfTrainingJobs") is None:
            raise ValidationException("ResourceLimits.MaxNumberOfTrainingJobs is required with the "
                                      f"{strategy} strategy.")
        elif possible < limits["MaxNumberOfTrainingJobs"]:
            raise ValidationException(
                "You don't have enough combinations of hyperparameter ranges. The total number of hyperparameter "
                f"combinations for the provided ranges [{possible}] must be equal or greater than the value of "
                f"MaxNumberOfJobs, [{limits['MaxNumberOfTrainingJobs']}]. Provide additional ranges.")
        if limits["MaxParallelTrainingJobs"] > limits["MaxNumberOfTrainingJobs"]:
            raise ValidationException(
                f"MaxParallelTrainingJobs ({limits['MaxParallelTrainingJobs']}) must be less than or equal to "
                f"MaxNumberOfTrainingJobs ({limits['MaxNumberOfTrainingJobs']}).")
        algorithm = definition["AlgorithmSpecification"]
        if "MetricDefinitions" not in algorithm and self._is_builtin_image(algorithm.get("TrainingImage", "")):
            algorithm["MetricDefinitions"] = builtin_xgboost_metric_definitions()
        objective = config["HyperParameterTuningJobObjective"]
        defined = {metric["Name"] for metric in algorithm.get("MetricDefinitions") or []}
        if objective["MetricName"] not in defined:
            raise ValidationException("A metric is required for this hyperparameter tuning job objective. Provide a "
                                      "metric in the metric definitions.")
        definition.setdefault("StaticHyperParameters", {})
        # SageMaker adds the objective's name to the static hyperparameters it shows (and children get).
        definition["StaticHyperParameters"].setdefault("_tuning_objective_metric", objective["MetricName"])
        for flag in ("EnableNetworkIsolation", "EnableInterContainerTrafficEncryption", "EnableManagedSpotTraining"):
            definition.setdefault(flag, False)
        config.setdefault("TrainingJobEarlyStoppingType", "Off")


def child_request(definition: dict[str, Any], name: str, point: dict[str, str], tuning_arn: str
                  ) -> dict[str, Any]:
    """The CreateTrainingJob request of a child: the definition with the static and tuned hyperparameters. SDK 2.x
    sends the instances as HyperParameterTuningResourceConfig; a child gets them as its ResourceConfig."""
    request = {key: copy.deepcopy(value) for key, value in definition.items()
               if key not in ("StaticHyperParameters", "DefinitionName", "TuningObjective", "HyperParameterRanges",
                              "HyperParameterTuningResourceConfig")}
    tuning_resources = definition.get("HyperParameterTuningResourceConfig")
    if "ResourceConfig" not in request and tuning_resources:
        first = (tuning_resources.get("InstanceConfigs") or [{}])[0]
        request["ResourceConfig"] = {key: value for key, value in (
            ("InstanceType", tuning_resources.get("InstanceType", first.get("InstanceType"))),
            ("InstanceCount", tuning_resources.get("InstanceCount", first.get("InstanceCount"))),
            ("VolumeSizeInGB", tuning_resources.get("VolumeSizeInGB", first.get("VolumeSizeInGB"))),
            ("VolumeKmsKeyId", tuning_resources.get("VolumeKmsKeyId"))) if value is not None}
    request.update({"TrainingJobName": name,
                    "HyperParameters": {**(definition.get("StaticHyperParameters") or {}), **point},
                    "TuningJobArn": tuning_arn})
    return request


def child_summary(child: dict[str, Any]) -> dict[str, Any]:
    """A child training job as ListTrainingJobsForHyperParameterTuningJob and BestTrainingJob show it."""
    members = ("TrainingJobName", "TrainingJobArn", "CreationTime", "TrainingStartTime", "TrainingEndTime",
               "TrainingJobStatus", "FailureReason")
    summary: dict[str, Any] = {k: child[k] for k in members if k in child}
    summary["TuningJobName"] = child.get("_TuningJobName") or child["TuningJobArn"].rsplit("/", 1)[1]
    summary["TunedHyperParameters"] = child.get("_TunedHyperParameters", {})
    objective = child.get("_Objective")
    if objective is not None:
        summary["FinalHyperParameterTuningJobObjectiveMetric"] = objective
    status = child["TrainingJobStatus"]
    summary["ObjectiveStatus"] = ("Succeeded" if objective is not None else
                                  "Pending" if status in ("InProgress", "Stopping") else "Failed")
    return summary


def _summary(job: dict[str, Any]) -> dict[str, Any]:
    summary = {k: job[k] for k in _SUMMARY_MEMBERS if k in job}
    summary["Strategy"] = job["HyperParameterTuningJobConfig"]["Strategy"]
    summary["ResourceLimits"] = job["HyperParameterTuningJobConfig"]["ResourceLimits"]
    return summary
