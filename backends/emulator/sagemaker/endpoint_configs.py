"""Endpoint configurations: CreateEndpointConfig, DescribeEndpointConfig, ListEndpointConfigs, DeleteEndpointConfig.

A configuration names the models each production variant serves and on how many instances. It is checked at
Create (the models exist, variant names are unique, the capture and async settings are usable) and never
changes afterwards; an endpoint copies what it needs when it deploys one, so deleting a configuration that an
endpoint uses is allowed, as in SageMaker.
"""

from __future__ import annotations

import copy
from typing import Any

from ..errors import ValidationException
from ..service_model import service_model
from ..store import Store
from ..validation import constraint_violation, validation_message
from .arns import arn
from .context import RequestContext
from .listing import ListSpec, list_page
from .models import Models

KIND = "endpoint-config"
DEFAULT_VARIANT_WEIGHT = 1.0
# ListEndpointConfigs documents no filter applied after the MaxResults cut, a Descending default and an inclusive
# CreationTimeAfter ("greater than or equal to").
_LIST_SPEC = ListSpec(name_key="EndpointConfigName", status_key=None, default_sort_order="Descending",
                      creation_time_after_inclusive=True)
_CAPTURE_MODES = ("Input", "Output")


class EndpointConfigs:
    def __init__(self, store: Store, models: Models) -> None:
        self.store = store
        self.models = models
        self._describe_members = set(service_model("sagemaker").shape_for("DescribeEndpointConfigOutput").members)

    def create_endpoint_config(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["EndpointConfigName"]
        config_arn = arn(ctx, "endpoint-config", name)
        variants = [dict(variant) for variant in params["ProductionVariants"]]
        _check_variants(variants)
        for variant in variants:
            self.models.get(ctx, variant["ModelName"])  # `Could not find model "<arn>".`
            variant["InitialVariantWeight"] = float(variant.get("InitialVariantWeight", DEFAULT_VARIANT_WEIGHT))
        _check_capture(params.get("DataCaptureConfig"))
        _check_async(params.get("AsyncInferenceConfig"), variants)
        document = {k: copy.deepcopy(v) for k, v in params.items() if k in self._describe_members}
        document.update({"EndpointConfigName": name, "EndpointConfigArn": config_arn, "ProductionVariants": variants,
                         "CreationTime": ctx.received})
        if not self.store.insert(KIND, ctx.region, name, document):
            raise ValidationException(f'Cannot create already existing endpoint configuration "{config_arn}".')
        return {"EndpointConfigArn": config_arn}

    def describe_endpoint_config(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self.get(ctx, params["EndpointConfigName"])

    def list_endpoint_configs(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        summaries, token = list_page(self.store.list(KIND, ctx.region), params, _LIST_SPEC, _summary)
        return {"EndpointConfigs": summaries, "NextToken": token}

    def delete_endpoint_config(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["EndpointConfigName"]
        if not self.store.delete(KIND, ctx.region, name):
            raise ValidationException(_not_found(ctx, name))
        return {}

    def get(self, ctx: RequestContext, name: str) -> dict[str, Any]:
        document = self.store.get(KIND, ctx.region, name)
        if document is None:
            raise ValidationException(_not_found(ctx, name))
        return document


def _not_found(ctx: RequestContext, name: str) -> str:
    return f'Could not find endpoint configuration "{arn(ctx, "endpoint-config", name)}".'


def _check_variants(variants: list[dict[str, Any]]) -> None:
    """What the API reference states and the service model cannot: unique names, a model, instance settings."""
    problems = []
    seen: set[str] = set()
    for index, variant in enumerate(variants, start=1):
        path = f"productionVariants.{index}"
        name = variant["VariantName"]
        if name.lower() in seen:
            raise ValidationException(f"Duplicate VariantName {name} found in ProductionVariants.")
        seen.add(name.lower())
        if not variant.get("ModelName"):
            problems.append(constraint_violation(None, f"{path}.modelName", "Member must not be null"))
        if variant.get("ServerlessConfig"):
            raise ValidationException(
                f"Production variant {name} uses ServerlessConfig: the emulator serves instance-based variants "
                "only; give InstanceType and InitialInstanceCount instead.")
        if variant.get("InitialInstanceCount") is None:
            problems.append(constraint_violation(None, f"{path}.initialInstanceCount", "Member must not be null"))
        if not variant.get("InstanceType"):
            problems.append(constraint_violation(None, f"{path}.instanceType", "Member must not be null"))
    if problems:
        raise ValidationException(validation_message(problems))


def _check_capture(capture: dict[str, Any] | None) -> None:
    if not capture:
        return
    if not capture["DestinationS3Uri"].startswith("s3://"):
        raise ValidationException(
            f"DataCaptureConfig.DestinationS3Uri must be an s3:// URI, got {capture['DestinationS3Uri']!r}.")
    modes = [option["CaptureMode"] for option in capture["CaptureOptions"]]
    if len(set(modes)) != len(modes):
        raise ValidationException("DataCaptureConfig.CaptureOptions must not repeat a CaptureMode.")
    if not set(modes) <= set(_CAPTURE_MODES):
        raise ValidationException(
            "The emulator captures the Input and Output of requests; CaptureMode "
            f"{sorted(set(modes) - set(_CAPTURE_MODES))} is not supported.")


def _check_async(config: dict[str, Any] | None, variants: list[dict[str, Any]]) -> None:
    if not config:
        return
    output = config["OutputConfig"]
    if not output.get("S3OutputPath"):
        raise ValidationException(validation_message([constraint_violation(
            None, "asyncInferenceConfig.outputConfig.s3OutputPath", "Member must not be null")]))
    if len(variants) > 1:
        raise ValidationException("Async inference endpoints support a single production variant.")


def _summary(document: dict[str, Any]) -> dict[str, Any]:
    return {k: document[k] for k in ("EndpointConfigName", "EndpointConfigArn", "CreationTime")}
