"""Training jobs: CreateTrainingJob, DescribeTrainingJob, ListTrainingJobs, StopTrainingJob.

The document stored for a job is its DescribeTrainingJob response, complete from the first call. The executor
runs the job and reports each step back through `advance` / `finish`.
"""

from __future__ import annotations

import copy
import time
from typing import Any, Protocol

from ..errors import ResourceInUse, ValidationException
from ..service_model import service_model
from ..store import Store
from ..validation import constraint_violation, validation_message
from . import status
from .arns import arn
from .context import RequestContext
from .inputs import PrefixHasObjects, check_inputs_exist
from .listing import ListSpec, list_page
from .metrics import builtin_xgboost_metric_definitions

KIND = "training-job"
NOT_FOUND = "Requested resource not found."
DEFAULT_MAX_RUNTIME = 86400
# "When StatusEquals and MaxResults are set at the same time, the MaxResults number of training jobs are first
# retrieved ignoring the StatusEquals parameter and then they are filtered by the StatusEquals parameter"
# (ListTrainingJobs). Its other filters say nothing of the sort and narrow the jobs before the cut.
_LIST_SPEC = ListSpec(name_key="TrainingJobName", status_key="TrainingJobStatus", default_sort_order="Ascending",
                      filtered_after_cut=frozenset({"StatusEquals"}))
_SUMMARY_MEMBERS = ("TrainingJobName", "TrainingJobArn", "CreationTime", "TrainingEndTime", "LastModifiedTime",
                    "TrainingJobStatus", "SecondaryStatus")


class TrainingExecutor(Protocol):
    def start_training(self, region: str, name: str) -> None: ...

    def stop_training(self, region: str, name: str) -> None: ...


class TrainingJobs:
    def __init__(self, store: Store, is_builtin_image: Any, has_objects: PrefixHasObjects | None = None) -> None:
        self.store = store
        self.has_objects = has_objects  # checks each channel's S3 input at Create (see inputs.py)
        self.executor: TrainingExecutor | None = None
        # A callable telling whether an image URI is one of the built-in algorithms (for MetricDefinitions).
        self._is_builtin_image = is_builtin_image
        self._describe_members = set(
            service_model("sagemaker").shape_for("DescribeTrainingJobResponse").members
        )

    # -- operations ---------------------------------------------------------------------------------

    def create_training_job(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        check_runnable(params)
        sources = [channel["DataSource"]["S3DataSource"] for channel in params.get("InputDataConfig", [])
                   if "S3DataSource" in channel.get("DataSource", {})]
        check_inputs_exist(self.has_objects, ctx, sources, params.get("RoleArn"))
        name = params["TrainingJobName"]
        job_arn = arn(ctx, "training-job", name)
        job = self._new_document(ctx, params, job_arn)
        if not self.store.insert(KIND, ctx.region, name, job):
            raise ResourceInUse(
                "Training job names must be unique within an AWS account and region, and a training job "
                f"with this name already exists ({job_arn})"
            )
        if self.executor is not None:
            self.executor.start_training(ctx.region, name)
        return {"TrainingJobArn": job_arn}

    def describe_training_job(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self.get(ctx.region, params["TrainingJobName"])

    def list_training_jobs(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        summaries, token = list_page(self.store.list(KIND, ctx.region), params, _LIST_SPEC, _summary)
        return {"TrainingJobSummaries": summaries, "NextToken": token}

    def stop_training_job(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["TrainingJobName"]
        job = self.get(ctx.region, name)
        if status.is_terminal(job) or job["TrainingJobStatus"] == "Stopping":
            # Stopping a finished job changes nothing, and says so.
            raise ValidationException(
                f"The request was rejected because the training job is in status {job['TrainingJobStatus']}."
            )
        self.advance(ctx.region, name, "Stopping", status.STOPPING)
        if self.executor is not None:
            self.executor.stop_training(ctx.region, name)
        return {}

    # -- what the executor calls ----------------------------------------------------------------------

    def get(self, region: str, name: str) -> dict[str, Any]:
        job = self.store.get(KIND, region, name)
        if job is None:
            raise ValidationException(NOT_FOUND)
        return job

    def advance(self, region: str, name: str, secondary: str, message: str, **fields: Any) -> dict[str, Any]:
        """Record a step; a job already stopping only moves on to a terminal state."""
        now = time.time()

        def change(job: dict[str, Any]) -> None:
            if status.is_terminal(job):
                return
            target, text = secondary, message
            if job["TrainingJobStatus"] == "Stopping":
                if target == "Completed":
                    # The stop came while the model was being uploaded: the job still ends as stopped.
                    target, text = "Stopped", status.STOPPED
                elif status.PRIMARY_FOR_SECONDARY[target] not in ("Stopped", "Failed", "Stopping"):
                    return
            status.advance(job, target, text, now)
            job.update({k: v for k, v in fields.items() if v is not None})

        job = self.store.update(KIND, region, name, change)
        if job is None:
            raise ValidationException(NOT_FOUND)
        return job

    def update(self, region: str, name: str, **fields: Any) -> None:
        def change(job: dict[str, Any]) -> None:
            job.update({k: v for k, v in fields.items() if v is not None})

        self.store.update(KIND, region, name, change)

    def unfinished(self) -> list[tuple[str, dict[str, Any]]]:
        """Jobs that were running when the emulator last stopped."""
        return [(region, job) for region, job in self.store.all_of(KIND) if not status.is_terminal(job)]

    # -- helpers --------------------------------------------------------------------------------------

    def _new_document(self, ctx: RequestContext, params: dict[str, Any], job_arn: str) -> dict[str, Any]:
        now = ctx.received
        job = {k: copy.deepcopy(v) for k, v in params.items() if k in self._describe_members}
        name = params["TrainingJobName"]
        output_path = params["OutputDataConfig"]["S3OutputPath"].rstrip("/")
        job.update({
            "TrainingJobName": name,
            "TrainingJobArn": job_arn,
            "ModelArtifacts": {"S3ModelArtifacts": f"{output_path}/{name}/output/model.tar.gz"},
            "CreationTime": now,
        })
        job.setdefault("HyperParameters", {})
        # SageMaker answers an empty KmsKeyId when none was given; SDK 2.x's Estimator.attach reads it directly.
        job["OutputDataConfig"].setdefault("KmsKeyId", "")
        job.setdefault("StoppingCondition", {"MaxRuntimeInSeconds": DEFAULT_MAX_RUNTIME})
        job["StoppingCondition"].setdefault("MaxRuntimeInSeconds", DEFAULT_MAX_RUNTIME)
        for flag in ("EnableNetworkIsolation", "EnableInterContainerTrafficEncryption", "EnableManagedSpotTraining"):
            job.setdefault(flag, False)
        spec = job["AlgorithmSpecification"]
        if "MetricDefinitions" not in spec and self._is_builtin_image(spec.get("TrainingImage", "")):
            spec["MetricDefinitions"] = builtin_xgboost_metric_definitions()
        spec.setdefault("EnableSageMakerMetricsTimeSeries", False)
        status.advance(job, "Starting", status.STARTING, now)
        return job


def check_runnable(params: dict[str, Any]) -> None:
    """Members the model leaves optional (for serverless jobs) but a job on instances needs."""
    problems = []
    spec = params.get("AlgorithmSpecification")
    if spec is None:
        problems.append(constraint_violation(None, "algorithmSpecification", "Member must not be null"))
    elif not spec.get("TrainingImage") and not spec.get("AlgorithmName"):
        problems.append(constraint_violation(None, "algorithmSpecification.trainingImage",
                                             "Member must not be null"))
    resources = params.get("ResourceConfig")
    if resources is None:
        problems.append(constraint_violation(None, "resourceConfig", "Member must not be null"))
    else:
        for member in ("InstanceType", "InstanceCount", "VolumeSizeInGB"):
            if resources.get(member) is None and not resources.get("InstanceGroups"):
                path = "resourceConfig." + member[:1].lower() + member[1:]
                problems.append(constraint_violation(None, path, "Member must not be null"))
    if problems:
        raise ValidationException(validation_message(problems))


def _summary(job: dict[str, Any]) -> dict[str, Any]:
    return {k: job[k] for k in _SUMMARY_MEMBERS if k in job}
