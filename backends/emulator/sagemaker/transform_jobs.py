"""Batch transform jobs: CreateTransformJob, DescribeTransformJob, ListTransformJobs, StopTransformJob."""

from __future__ import annotations

import copy
import time
from typing import Any, Protocol

from ..errors import ResourceInUse, ValidationException
from ..service_model import service_model
from ..store import Store
from ..transform.filters import validate_jsonpath
from ..validation import constraint_violation, validation_message
from .arns import arn
from .context import RequestContext
from .inputs import PrefixHasObjects, check_inputs_exist
from .listing import ListSpec, list_page
from .models import Models

KIND = "transform-job"
TERMINAL = frozenset({"Completed", "Failed", "Stopped"})
MAX_PAYLOAD_MB = 100  # documented limits the model does not carry
# ListTransformJobs documents no filter as applied after the MaxResults cut: all narrow the jobs before it.
_LIST_SPEC = ListSpec(name_key="TransformJobName", status_key="TransformJobStatus",
                      default_sort_order="Descending")
_SUMMARY_MEMBERS = ("TransformJobName", "TransformJobArn", "CreationTime", "TransformEndTime", "LastModifiedTime",
                    "TransformJobStatus", "FailureReason")


class TransformExecutor(Protocol):
    def start_transform(self, region: str, name: str) -> None: ...

    def stop_transform(self, region: str, name: str) -> None: ...


class TransformJobs:
    def __init__(self, store: Store, models: Models, has_objects: PrefixHasObjects | None = None) -> None:
        self.store = store
        self.models = models
        self.has_objects = has_objects  # checks the S3 input at Create (see inputs.py)
        self.executor: TransformExecutor | None = None
        self._describe_members = set(service_model("sagemaker").shape_for("DescribeTransformJobResponse").members)

    # -- operations ---------------------------------------------------------------------------------

    def create_transform_job(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        _check_limits(params)
        name = params["TransformJobName"]
        job_arn = arn(ctx, "transform-job", name)
        model = self.models.get(ctx, params["ModelName"])
        # A transform job has no role of its own: the message names the model's execution role (an inference: in
        # the public tracebacks found, that role was also the caller's, so they cannot tell the two apart).
        source = params["TransformInput"]["DataSource"].get("S3DataSource")
        check_inputs_exist(self.has_objects, ctx, [source] if source else [], model.get("ExecutionRoleArn"))
        job = {k: copy.deepcopy(v) for k, v in params.items() if k in self._describe_members}
        job.update({
            "TransformJobName": name,
            "TransformJobArn": job_arn,
            "TransformJobStatus": "InProgress",
            "CreationTime": ctx.received,
            "LastModifiedTime": ctx.received,
            # The job runs the model as it was when the job was created, as in SageMaker.
            "ModelSnapshot": _containers(model),
        })
        if not self.store.insert(KIND, ctx.region, name, job):
            raise ResourceInUse(
                "Transform job names must be unique within an AWS account and region, and a transform job with "
                f"this name already exists ({job_arn})"
            )
        if self.executor is not None:
            self.executor.start_transform(ctx.region, name)
        return {"TransformJobArn": job_arn}

    def describe_transform_job(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self.get(ctx.region, params["TransformJobName"])

    def list_transform_jobs(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        summaries, token = list_page(self.store.list(KIND, ctx.region), params, _LIST_SPEC, _summary)
        return {"TransformJobSummaries": summaries, "NextToken": token}

    def stop_transform_job(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["TransformJobName"]
        job = self.get(ctx.region, name)
        if job["TransformJobStatus"] in TERMINAL or job["TransformJobStatus"] == "Stopping":
            raise ValidationException(
                f"The request was rejected because the transform job is in status {job['TransformJobStatus']}."
            )
        self.set_status(ctx.region, name, "Stopping")
        if self.executor is not None:
            self.executor.stop_transform(ctx.region, name)
        return {}

    # -- what the executor calls ----------------------------------------------------------------------

    def get(self, region: str, name: str) -> dict[str, Any]:
        job = self.store.get(KIND, region, name)
        if job is None:
            raise ValidationException("Requested resource not found.")
        return job

    def set_status(self, region: str, name: str, new_status: str, **fields: Any) -> None:
        """Record a status; a terminal job never changes again, a stopping one only ends."""
        now = time.time()

        def change(job: dict[str, Any]) -> None:
            current = job["TransformJobStatus"]
            if current in TERMINAL:
                return
            target = new_status
            if current == "Stopping":
                if target == "Completed":
                    target = "Stopped"  # the stop came as the last output was written: it still ends stopped
                elif target not in ("Stopped", "Failed"):
                    return
            job["TransformJobStatus"] = target
            job["LastModifiedTime"] = now
            job.update({k: v for k, v in fields.items() if v is not None})

        self.store.update(KIND, region, name, change)

    def unfinished(self) -> list[tuple[str, dict[str, Any]]]:
        return [(region, job) for region, job in self.store.all_of(KIND)
                if job["TransformJobStatus"] not in TERMINAL]


def _containers(model: dict[str, Any]) -> list[dict[str, Any]]:
    if "PrimaryContainer" in model:
        return [model["PrimaryContainer"]]
    return list(model.get("Containers", []))


def _check_limits(params: dict[str, Any]) -> None:
    """Rules the API reference states but the service model does not encode."""
    problems = []
    payload = params.get("MaxPayloadInMB")
    concurrency = params.get("MaxConcurrentTransforms")
    if payload is not None and payload > MAX_PAYLOAD_MB:
        problems.append(constraint_violation(payload, "maxPayloadInMB",
                                             f"Member must have value less than or equal to {MAX_PAYLOAD_MB}"))
    if payload and concurrency and payload * concurrency > MAX_PAYLOAD_MB:
        problems.append(constraint_violation(
            payload * concurrency, "maxConcurrentTransforms * maxPayloadInMB",
            f"The product of MaxConcurrentTransforms and MaxPayloadInMB must be less than or equal to "
            f"{MAX_PAYLOAD_MB}"))
    processing = params.get("DataProcessing") or {}
    for member in ("InputFilter", "OutputFilter"):
        expression = processing.get(member)
        if expression is not None:
            error = validate_jsonpath(expression)
            if error:
                path = "dataProcessing." + member[:1].lower() + member[1:]
                problems.append(constraint_violation(expression, path, error))
    if problems:
        raise ValidationException(validation_message(problems))


def _summary(job: dict[str, Any]) -> dict[str, Any]:
    return {k: job[k] for k in _SUMMARY_MEMBERS if k in job}
