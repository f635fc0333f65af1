"""Models: CreateModel, DescribeModel, ListModels, DeleteModel.

SageMaker answers most model mistakes with a `ValidationException` whose text the SageMaker SDK matches
(`Cannot create already existing model`, `Could not find model`), so those texts are kept word for word.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from ..errors import ValidationException
from ..service_model import service_model
from ..store import Store
from ..validation import constraint_violation, validation_message
from .arns import arn
from .context import RequestContext
from .listing import ListSpec, list_page

KIND = "model"
# ListModels documents no filter as applied after the MaxResults cut; its CreationTimeAfter "returns only models
# with a creation time greater than or equal to the specified time".
_LIST_SPEC = ListSpec(name_key="ModelName", status_key=None, default_sort_order="Descending",
                      creation_time_after_inclusive=True)

# Tells whether an s3:// URI names an existing object; None when the emulator cannot check.
ObjectExists = Callable[[str, str], "bool | None"]


class Models:
    def __init__(self, store: Store, object_exists: ObjectExists | None = None) -> None:
        self.store = store
        self.object_exists = object_exists
        self._describe_members = set(service_model("sagemaker").shape_for("DescribeModelOutput").members)

    def create_model(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["ModelName"]
        model_arn = arn(ctx, "model", name)
        containers = self._containers(params)
        for container in containers:
            self._check_model_data(ctx, container)
        document = {k: copy.deepcopy(v) for k, v in params.items() if k in self._describe_members}
        document.update({"ModelName": name, "ModelArn": model_arn, "CreationTime": ctx.received})
        document.setdefault("EnableNetworkIsolation", False)
        if not self.store.insert(KIND, ctx.region, name, document):
            raise ValidationException(f'Cannot create already existing model "{model_arn}".')
        return {"ModelArn": model_arn}

    def describe_model(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self.get(ctx, params["ModelName"])

    def list_models(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        summaries, token = list_page(self.store.list(KIND, ctx.region), params, _LIST_SPEC, _summary)
        return {"Models": summaries, "NextToken": token}

    def delete_model(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["ModelName"]
        if not self.store.delete(KIND, ctx.region, name):
            raise ValidationException(f'Could not find model "{arn(ctx, "model", name)}".')
        return {}

    def get(self, ctx: RequestContext, name: str) -> dict[str, Any]:
        document = self.store.get(KIND, ctx.region, name)
        if document is None:
            raise ValidationException(f'Could not find model "{arn(ctx, "model", name)}".')
        return document

    @staticmethod
    def _containers(params: dict[str, Any]) -> list[dict[str, Any]]:
        if params.get("PrimaryContainer") and params.get("Containers"):
            raise ValidationException("PrimaryContainer and Containers cannot both be specified.")
        if params.get("PrimaryContainer"):
            return [params["PrimaryContainer"]]
        if params.get("Containers"):
            return list(params["Containers"])
        raise ValidationException(validation_message([
            constraint_violation(None, "primaryContainer", "Member must not be null")]))

    def _check_model_data(self, ctx: RequestContext, container: dict[str, Any]) -> None:
        url = container.get("ModelDataUrl")
        if not url or self.object_exists is None:
            return
        if self.object_exists(ctx.region, url) is False:
            raise ValidationException(f"Could not find model data at {url}.")


def _summary(document: dict[str, Any]) -> dict[str, Any]:
    return {k: document[k] for k in ("ModelName", "ModelArn", "CreationTime")}
