"""The SageMaker wire layer: awsJson1_1 request in, validated call to the control plane, JSON out."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from botocore.model import OperationModel

from ..errors import UnknownOperationException
from ..json_protocol import parse_body, serialize_output
from ..service_model import operation_model
from ..validation import validate_request
from .context import RequestContext

Operation = Callable[[RequestContext, dict[str, Any]], dict[str, Any]]


@runtime_checkable
class OperationHook(Protocol):
    """A component that takes part in every operation: before it runs (validated; raising refuses it) and after
    it succeeded (e.g. tags.py keeps the `Tags` of any Create* operation without the creating component)."""

    def before_operation(self, ctx: RequestContext, operation: OperationModel, params: dict[str, Any]) -> None: ...

    def after_operation(self, ctx: RequestContext, operation: OperationModel, params: dict[str, Any],
                        result: dict[str, Any]) -> None: ...


class SageMakerApi:
    """Dispatches each operation to the component that has a method of the operation's snake_case name."""

    def __init__(self, *components: object) -> None:
        self._components = components
        self._hooks = [c for c in components if isinstance(c, OperationHook)]

    def handle(self, operation: str, body: bytes, ctx: RequestContext) -> bytes:
        model = operation_model("sagemaker", operation)
        if model is None:
            raise UnknownOperationException(f"Operation SageMaker.{operation} does not exist.")
        method = self._method(operation)
        if method is None:
            raise UnknownOperationException(
                f"The emulator does not implement SageMaker.{operation}. Implemented: "
                + ", ".join(self.implemented())
            )
        params = parse_body(body)
        validate_request(model.input_shape, params)
        for hook in self._hooks:
            hook.before_operation(ctx, model, params)
        result = method(ctx, params)
        for hook in self._hooks:
            hook.after_operation(ctx, model, params, result)
        return serialize_output(model.output_shape, result)

    def implemented(self) -> list[str]:
        names = []
        for component in self._components:
            for attr in dir(component):
                if not attr.startswith("_") and callable(getattr(component, attr)):
                    operation = "".join(part.title() for part in attr.split("_"))
                    if operation_model("sagemaker", operation) is not None:
                        names.append(operation)
        return sorted(names)

    def _method(self, operation: str) -> Operation | None:
        attr = _snake(operation)
        for component in self._components:
            method = getattr(component, attr, None)
            if callable(method):
                return method
        return None


def _snake(operation: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()
