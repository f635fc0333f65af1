"""Endpoints: CreateEndpoint, DescribeEndpoint, ListEndpoints, UpdateEndpoint, DeleteEndpoint,
UpdateEndpointWeightsAndCapacities, and the invocations of a deployed endpoint.

An endpoint's record is its Describe answer plus what it serves: `_Deployment`, the variants (each with the
model's container as it was when deployed, its weight and instance count) of the configuration it serves, and
`_Pending`, the deployment it is being moved to. Members with a leading underscore are never answered (the
protocol renders the output shape's members only). The fleet (`executor.endpoint_fleet`) makes the servers
match and records the outcome here:

    Creating --servers answer /ping--> InService --UpdateEndpoint / weights--> Updating --> InService
    Creating --a server does not start--> Failed (FailureReason)
    Updating --the new servers do not start--> InService, still on the old deployment, with a FailureReason
    any --DeleteEndpoint--> Deleting --servers stopped--> (gone)
"""

from __future__ import annotations

import copy
import hashlib
import time
from typing import Any, Protocol

from ..errors import ModelError, ValidationError, ValidationException
from ..store import Store
from .arns import arn
from .context import RequestContext
from .endpoint_configs import EndpointConfigs
from .listing import ListSpec, list_page
from .models import Models

KIND = "endpoint"
# ListEndpoints: Descending by default, CreationTimeAfter inclusive, no filter after the MaxResults cut.
_LIST_SPEC = ListSpec(name_key="EndpointName", status_key="EndpointStatus", default_sort_order="Descending",
                      creation_time_after_inclusive=True)
_SUMMARY_MEMBERS = ("EndpointName", "EndpointArn", "CreationTime", "LastModifiedTime", "EndpointStatus")
_CHANGING = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"})


class Fleet(Protocol):
    def apply(self, region: str, name: str) -> None: ...

    def invoke(self, region: str, name: str, request: Any) -> Any: ...


class Endpoints:
    def __init__(self, store: Store, configs: EndpointConfigs, models: Models) -> None:
        self.store = store
        self.configs = configs
        self.models = models
        self.fleet: Fleet | None = None

    # -- operations ---------------------------------------------------------------------------------------

    def create_endpoint(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["EndpointName"]
        endpoint_arn = arn(ctx, "endpoint", name)
        deployment = self._deployment(ctx, params["EndpointConfigName"], None, params)
        document: dict[str, Any] = {
            "EndpointName": name,
            "EndpointArn": endpoint_arn,
            "EndpointConfigName": deployment["EndpointConfigName"],
            "EndpointStatus": "Creating",
            "CreationTime": ctx.received,
            "LastModifiedTime": ctx.received,
            "_Pending": deployment,
            "PendingDeploymentSummary": _pending_summary(deployment, ctx.received, "Creating"),
        }
        document.update(_config_members(deployment))
        if not self.store.insert(KIND, ctx.region, name, document):
            raise ValidationException(f'Cannot create already existing endpoint "{endpoint_arn}".')
        self._apply(ctx.region, name)
        return {"EndpointArn": endpoint_arn}

    def describe_endpoint(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self.get(ctx, params["EndpointName"])

    def list_endpoints(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        summaries, token = list_page(self.store.list(KIND, ctx.region), params, _LIST_SPEC, _summary)
        return {"Endpoints": summaries, "NextToken": token}

    def update_endpoint(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["EndpointName"]
        endpoint = self._changeable(ctx, name)
        deployment = self._deployment(ctx, params["EndpointConfigName"], endpoint.get("_Deployment"), params)
        self._begin_update(ctx, name, deployment)
        return {"EndpointArn": endpoint["EndpointArn"]}

    def update_endpoint_weights_and_capacities(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["EndpointName"]
        endpoint = self._changeable(ctx, name)
        deployment = copy.deepcopy(endpoint["_Deployment"])
        variants = {variant["VariantName"].lower(): variant for variant in deployment["Variants"]}
        for desired in params["DesiredWeightsAndCapacities"]:
            variant = variants.get(desired["VariantName"].lower())
            if variant is None:
                raise ValidationException(
                    f'The variant name(s) "{desired["VariantName"]}" is/are not present within endpoint '
                    f'configuration "{deployment["EndpointConfigName"]}".')
            if "DesiredWeight" in desired:
                variant["Weight"] = float(desired["DesiredWeight"])
            if "DesiredInstanceCount" in desired:
                if desired["DesiredInstanceCount"] < 1:
                    raise ValidationException(
                        f"The desired instance count of variant {variant['VariantName']} must be at least 1.")
                variant["InstanceCount"] = desired["DesiredInstanceCount"]
        self._begin_update(ctx, name, deployment)
        return {"EndpointArn": endpoint["EndpointArn"]}

    def delete_endpoint(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["EndpointName"]
        refused: list[str] = []

        def deleting(endpoint: dict[str, Any]) -> None:
            if endpoint["EndpointStatus"] in _CHANGING - {"Deleting"}:  # SageMaker refuses it while changing
                refused.append(endpoint["EndpointArn"])
                return
            endpoint["EndpointStatus"] = "Deleting"
            endpoint["LastModifiedTime"] = time.time()

        if self.store.update(KIND, ctx.region, name, deleting) is None:
            raise ValidationException(_not_found(ctx, name))
        if refused:
            raise ValidationException(f'Cannot update in-progress endpoint "{refused[0]}".')
        if self.fleet is None:
            self.store.delete(KIND, ctx.region, name)
        else:
            self.fleet.apply(ctx.region, name)
        return {}

    # -- invocations (sagemaker-runtime) -----------------------------------------------------------------

    def invoke(self, ctx: RequestContext, name: str, request: Any) -> Any:
        """The container's answer to `request` (an `endpoint_fleet.Invocation`); ModelError when it is an error."""
        from ..executor.endpoint_fleet import InstanceError, NoSuchVariant, NotServing

        if self.fleet is None:
            raise ValidationError(f"Endpoint {name} of account {ctx.account} not found.")
        try:
            answer = self.fleet.invoke(ctx.region, name, request)
        except NotServing:
            raise ValidationError(f"Endpoint {name} of account {ctx.account} not found.") from None
        except NoSuchVariant as missing:
            raise ValidationError(
                f"The variant [{missing}] is not present in the endpoint {arn(ctx, 'endpoint', name)}.") from None
        except InstanceError as failure:
            raise ModelError(f"Received server error (0) from primary with message \"{failure}\". See "
                             f"{_log_link(ctx, name)} in account {ctx.account} for more information.",
                             original_status=0, original_message=str(failure),
                             log_stream_arn=_log_group_arn(ctx, name), kind="SERVER") from None
        if answer.status >= 400:
            kind = "client" if answer.status < 500 else "server"
            text = answer.body.decode("utf-8", errors="replace")
            raise ModelError(f"Received {kind} error ({answer.status}) from primary with message \"{text}\". See "
                             f"{_log_link(ctx, name)} in account {ctx.account} for more information.",
                             original_status=answer.status, original_message=text,
                             log_stream_arn=_log_group_arn(ctx, name), kind=kind.upper())
        return answer

    def async_output(self, ctx: RequestContext, name: str) -> dict[str, Any]:
        """The endpoint's AsyncInferenceOutputConfig; ValidationError when it is not an async endpoint."""
        endpoint = self.store.get(KIND, ctx.region, name)
        if endpoint is None or endpoint["EndpointStatus"] in ("Creating", "Failed", "Deleting"):
            raise ValidationError(f"Endpoint {name} of account {ctx.account} not found.")
        config = (endpoint.get("_Deployment") or {}).get("AsyncInferenceConfig")
        if not config:
            raise ValidationError(f"Endpoint {name} of account {ctx.account} is not an async inference endpoint.")
        output: dict[str, Any] = config["OutputConfig"]
        return output

    # -- what the fleet calls -----------------------------------------------------------------------------

    def stored(self, region: str, name: str) -> dict[str, Any] | None:
        return self.store.get(KIND, region, name)

    def mark_in_service(self, region: str, name: str, deployment: dict[str, Any], variants: list[dict[str, Any]],
                        failure: str | None) -> None:
        now = time.time()

        def serving(endpoint: dict[str, Any]) -> None:
            if endpoint["EndpointStatus"] == "Deleting":
                return
            endpoint["_Deployment"] = deployment
            endpoint.pop("_Pending", None)
            endpoint.pop("PendingDeploymentSummary", None)
            endpoint["EndpointConfigName"] = deployment["EndpointConfigName"]
            endpoint["ProductionVariants"] = _variant_summaries(deployment, variants, now)
            endpoint.update(_config_members(deployment))
            endpoint["EndpointStatus"] = "InService"
            endpoint["LastModifiedTime"] = now
            if failure:
                endpoint["FailureReason"] = failure
            else:
                endpoint.pop("FailureReason", None)

        self.store.update(KIND, region, name, serving)

    def mark_failed(self, region: str, name: str, reason: str) -> None:
        def failed(endpoint: dict[str, Any]) -> None:
            if endpoint["EndpointStatus"] == "Deleting":
                return
            endpoint.pop("_Pending", None)
            endpoint.pop("PendingDeploymentSummary", None)
            endpoint["EndpointStatus"] = "Failed"
            endpoint["FailureReason"] = reason[:1024]
            endpoint["LastModifiedTime"] = time.time()

        self.store.update(KIND, region, name, failed)

    def remove(self, region: str, name: str) -> None:
        self.store.delete(KIND, region, name)

    def recoverable(self) -> list[tuple[str, dict[str, Any]]]:
        return list(self.store.all_of(KIND))

    # -- helpers ------------------------------------------------------------------------------------------

    def get(self, ctx: RequestContext, name: str) -> dict[str, Any]:
        endpoint = self.store.get(KIND, ctx.region, name)
        if endpoint is None:
            raise ValidationException(_not_found(ctx, name))
        return endpoint

    def _changeable(self, ctx: RequestContext, name: str) -> dict[str, Any]:
        endpoint = self.get(ctx, name)
        status = endpoint["EndpointStatus"]
        if status in _CHANGING:
            raise ValidationException(f'Cannot update in-progress endpoint "{endpoint["EndpointArn"]}".')
        if status == "Failed" or "_Deployment" not in endpoint:
            raise ValidationException(
                f'Cannot update endpoint "{endpoint["EndpointArn"]}" in status Failed. Delete it and create it again.')
        return endpoint

    def _begin_update(self, ctx: RequestContext, name: str, deployment: dict[str, Any]) -> None:
        now = time.time()

        def updating(endpoint: dict[str, Any]) -> None:
            endpoint["_Pending"] = deployment
            endpoint["EndpointStatus"] = "Updating"
            endpoint["LastModifiedTime"] = now
            endpoint["PendingDeploymentSummary"] = _pending_summary(deployment, now, "Updating")

        self.store.update(KIND, ctx.region, name, updating)
        self._apply(ctx.region, name)

    def _apply(self, region: str, name: str) -> None:
        if self.fleet is not None:
            self.fleet.apply(region, name)

    def _deployment(self, ctx: RequestContext, config_name: str, current: dict[str, Any] | None,
                    params: dict[str, Any]) -> dict[str, Any]:
        """What an endpoint serves for `config_name`: its variants with the models' containers as they are now.
        On an update with RetainAllVariantProperties, variants of the same name keep their weight and count."""
        config = self.configs.get(ctx, config_name)
        retained: dict[str, dict[str, Any]] = {}
        if current is not None and params.get("RetainAllVariantProperties"):
            excluded = {p["VariantPropertyType"] for p in params.get("ExcludeRetainedVariantProperties") or []}
            for variant in current["Variants"]:
                retained[variant["VariantName"].lower()] = {
                    key: value for key, value in (("Weight", variant["Weight"]),
                                                  ("InstanceCount", variant["InstanceCount"]))
                    if ("DesiredWeight" if key == "Weight" else "DesiredInstanceCount") not in excluded}
        variants = []
        for variant in config["ProductionVariants"]:
            model = self.models.get(ctx, variant["ModelName"])
            container = copy.deepcopy(model.get("PrimaryContainer") or (model.get("Containers") or [{}])[0])
            spec = {
                "VariantName": variant["VariantName"],
                "ModelName": variant["ModelName"],
                "InstanceType": variant.get("InstanceType"),
                "InstanceCount": variant.get("InitialInstanceCount", 1),
                "Weight": float(variant.get("InitialVariantWeight", 1.0)),
                "HealthCheckTimeout": variant.get("ContainerStartupHealthCheckTimeoutInSeconds"),
                "Container": {key: container[key] for key in ("Image", "ModelDataUrl", "Environment")
                              if key in container},
            }
            spec.update(retained.get(variant["VariantName"].lower(), {}))
            variants.append(spec)
        return {"EndpointConfigName": config["EndpointConfigName"], "Variants": variants,
                "DataCapture": config.get("DataCaptureConfig"),
                "AsyncInferenceConfig": config.get("AsyncInferenceConfig")}


def _not_found(ctx: RequestContext, name: str) -> str:
    return f'Could not find endpoint "{arn(ctx, "endpoint", name)}".'


def _log_link(ctx: RequestContext, name: str) -> str:
    return (f"https://{ctx.region}.console.aws.amazon.com/cloudwatch/home?region={ctx.region}#logEventViewer:"
            f"group=/aws/sagemaker/Endpoints/{name}")


def _log_group_arn(ctx: RequestContext, name: str) -> str:
    # What SageMaker answers as a ModelError's LogStreamArn: the endpoint's log group (not one stream).
    return f"arn:aws:logs:{ctx.region}:{ctx.account}:log-group:/aws/sagemaker/Endpoints/{name}"


def _config_members(deployment: dict[str, Any]) -> dict[str, Any]:
    """DescribeEndpoint's DataCaptureConfig summary and AsyncInferenceConfig, from the deployment's config."""
    members: dict[str, Any] = {}
    capture = deployment.get("DataCapture")
    if capture:
        enabled = capture.get("EnableCapture", True)
        members["DataCaptureConfig"] = {
            "EnableCapture": enabled, "CaptureStatus": "Started" if enabled else "Stopped",
            "CurrentSamplingPercentage": capture["InitialSamplingPercentage"],
            "DestinationS3Uri": capture["DestinationS3Uri"],
            **({"KmsKeyId": capture["KmsKeyId"]} if capture.get("KmsKeyId") else {}),
        }
    if deployment.get("AsyncInferenceConfig"):
        members["AsyncInferenceConfig"] = deployment["AsyncInferenceConfig"]
    return members


def _variant_summaries(deployment: dict[str, Any], current: list[dict[str, Any]], now: float
                       ) -> list[dict[str, Any]]:
    by_name = {summary["VariantName"]: summary for summary in current}
    summaries = []
    for variant in deployment["Variants"]:
        image = variant["Container"].get("Image", "")
        summary = by_name.get(variant["VariantName"], {})
        summaries.append({
            "VariantName": variant["VariantName"],
            "DeployedImages": [{"SpecifiedImage": image, "ResolvedImage": _resolved(image), "ResolutionTime": now}],
            "CurrentWeight": summary.get("CurrentWeight", variant["Weight"]),
            "DesiredWeight": variant["Weight"],
            "CurrentInstanceCount": summary.get("CurrentInstanceCount", variant["InstanceCount"]),
            "DesiredInstanceCount": variant["InstanceCount"],
        })
    return summaries


def _pending_summary(deployment: dict[str, Any], now: float, status: str) -> dict[str, Any]:
    """DescribeEndpoint's PendingDeploymentSummary while a configuration is being deployed."""
    return {
        "EndpointConfigName": deployment["EndpointConfigName"],
        "StartTime": now,
        "ProductionVariants": [{
            "VariantName": variant["VariantName"],
            "DesiredWeight": variant["Weight"],
            "DesiredInstanceCount": variant["InstanceCount"],
            **({"InstanceType": variant["InstanceType"]} if variant.get("InstanceType") else {}),
            "VariantStatus": [{"Status": status, "StartTime": now}],
        } for variant in deployment["Variants"]],
    }


def _resolved(image: str) -> str:
    """The image by digest, as SageMaker resolves a tag at deployment. The emulator has no registry to ask: the
    digest is of the image URI itself, stable for the same URI (an emulator value, not the registry's)."""
    repository = image.split("@")[0]
    if ":" in repository.rsplit("/", 1)[-1]:
        repository = repository.rsplit(":", 1)[0]
    return f"{repository}@sha256:{hashlib.sha256(image.encode()).hexdigest()}"


def _summary(endpoint: dict[str, Any]) -> dict[str, Any]:
    return {k: endpoint[k] for k in _SUMMARY_MEMBERS if k in endpoint}
