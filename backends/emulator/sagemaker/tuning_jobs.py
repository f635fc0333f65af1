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
# The documented defaults are Name and Ascending, but real answers to a query with neither SortBy nor SortOrder list
# a tuning job's children newest first (list_training_jobs_for_hyper_parameter_tuning_job).
_CHILDREN_SPEC = ListSpec(name_key="TrainingJobName", status_key="TrainingJobStatus",
                          default_sort_order="Ascending", default_sort_by="Name",
                          extra_sort_keys=(("FinalObjectiveMetricValue", "_Objective"),))
_SUMMARY_MEMBERS = ("HyperParameterTuningJobName", "HyperParameterTuningJobArn", "HyperParameterTuningJobStatus",
                    "Strategy", "CreationTime", "HyperParameterTuningEndTime", "LastModifiedTime",
                    "TrainingJobStatusCounters", "ObjectiveStatusCounters", "ResourceLimits")
_UNSUPPORTED = {"TrainingJobDefinitions": "several training job definitions", "Autotune": "Autotune"}
# Hyperband infers MaxResource from these static hyperparameters (the API's documentation).
_EPOCH_KEYS = ("epochs", "numepochs", "n-epochs", "n_epochs", "num_epochs")
_MAX_RESOURCE = 20_000


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
        if params.get("WarmStartConfig"):
            self._check_warm_start(ctx, params["WarmStartConfig"], config, definition)
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
        if "SortBy" not in params and "SortOrder" not in params:
            params = {**params, "SortBy": "CreationTime", "SortOrder": "Descending"}
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
        static = definition.get("StaticHyperParameters") or {}
        if config.get("StrategyConfig") and strategy != "Hyperband":
            raise ValidationException("StrategyConfig can be given only with the Hyperband strategy.")
        if strategy == "Hyperband":
            if config.get("TrainingJobEarlyStoppingType", "Off") != "Off":
                raise ValidationException("Because the Hyperband strategy has its own internal early stopping "
                                          "mechanism, TrainingJobEarlyStoppingType must be Off to use Hyperband.")
            hyperband_resources(config, static)
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

    def _check_warm_start(self, ctx: RequestContext, warm: dict[str, Any], config: dict[str, Any],
                          definition: dict[str, Any]) -> None:
        """A warm start's parents: Completed or Stopped tuning jobs with the same objective metric and the same
        hyperparameters (tuned plus static); with IdenticalDataAndAlgorithm, the same image and input data."""
        names = _hyperparameter_names(config, definition)
        metric = config["HyperParameterTuningJobObjective"]["MetricName"]
        for reference in warm["ParentHyperParameterTuningJobs"]:
            parent = self.get(ctx.region, reference["HyperParameterTuningJobName"])
            name = parent["HyperParameterTuningJobName"]
            if parent["HyperParameterTuningJobStatus"] not in ("Completed", "Stopped"):
                raise ValidationException(
                    f"The parent hyperparameter tuning job {name} is {parent['HyperParameterTuningJobStatus']}: "
                    "a warm start takes Completed or Stopped tuning jobs only.")
            if parent["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]["MetricName"] != metric:
                raise ValidationException(f"The objective metric of a warm start tuning job must be the same as its "
                                          f"parents': {name} has a different one.")
            if _hyperparameter_names(parent["HyperParameterTuningJobConfig"], parent["TrainingJobDefinition"]) \
                    != names:
                raise ValidationException(
                    "The set of tunable plus static HyperParameter names is not the same across current and parent "
                    "tuning jobs. Please ensure this set is constant when warm starting. Note that previously static "
                    "HyperParameters can be tuned in warm start jobs and vice versa.")
            if warm["WarmStartType"] == "IdenticalDataAndAlgorithm":
                theirs = parent["TrainingJobDefinition"]
                if theirs["AlgorithmSpecification"].get("TrainingImage") != \
                        definition["AlgorithmSpecification"].get("TrainingImage") or \
                        _data_sources(theirs) != _data_sources(definition):
                    raise ValidationException(
                        f"A warm start of type IdenticalDataAndAlgorithm needs the same training image and input "
                        f"data as its parents: {name} has others. Use TransferLearning to change them.")


def hyperband_resources(config: dict[str, Any], static: dict[str, str]) -> tuple[int, int]:
    """Hyperband's (MinResource, MaxResource): MaxResource as given or inferred from an epochs hyperparameter."""
    given = (config.get("StrategyConfig") or {}).get("HyperbandStrategyConfig") or {}
    high = given.get("MaxResource")
    if high is None:
        inferred = [static[key] for key in _EPOCH_KEYS if key in static]
        if not inferred or not inferred[0].isdigit():
            raise ValidationException(
                "The Hyperband strategy could not infer MaxResource from the static hyperparameters (epochs, "
                "numepochs, n-epochs, n_epochs or num_epochs): give StrategyConfig.HyperbandStrategyConfig."
                "MaxResource (for XGBoost, the number of rounds).")
        high = int(inferred[0])
    low = given.get("MinResource", 1)
    if not 1 <= high <= _MAX_RESOURCE:
        raise ValidationException(f"MaxResource must be between 1 and {_MAX_RESOURCE} epochs, got {high}.")
    if low > high:
        raise ValidationException(f"MinResource ({low}) must be less than or equal to MaxResource ({high}).")
    return low, high


def _hyperparameter_names(config: dict[str, Any], definition: dict[str, Any]) -> set[str]:
    names = {spec["Name"] for ranges in (config.get("ParameterRanges") or {}).values() for spec in ranges}
    return (names | set(definition.get("StaticHyperParameters") or {})) - {"_tuning_objective_metric"}


def _data_sources(definition: dict[str, Any]) -> dict[str, Any]:
    return {channel["ChannelName"]: channel.get("DataSource") for channel in definition.get("InputDataConfig") or []}


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
